/* safetensors reader/writer: files built byte by byte here with hand-worked
 * values (every dtype, unaligned data), the reference reader's validation,
 * the quantized naming conventions (compressed-tensors int8 and packed int4,
 * GPTQ, AWQ), sharded checkpoints and the compressed-tensors int8 writer.
 *
 * Helper modes for the interop scripts (run instead of the cmocka suite):
 *   QS_ST_DUMP=FILE          print "name v0 v1 ..." (%.17g) for every tensor
 *   QS_PAIR_METRICS=F:Q      load both (any format), pair them with
 *                            model_pair and print CSV float_tensor,rmse,sqnr_db
 *                            from the engine's metrics over to_f32 values
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_fixture.h"
#include "qs_test.h"
#include "safetensors.h"

/* ---- a byte-level safetensors builder ---------------------------------- */

struct tin {
	const char *name, *dtype, *shape; /* shape as JSON, e.g. "[2,3]" */
	const void *data;
	size_t nbytes;
};

/* Header JSON written in the given order, data in the same order. extra is
 * appended inside the header object (e.g. a __metadata__ entry). */
static uint8_t *build(const struct tin *t, size_t n, const char *extra, size_t *len)
{
	char hdr[8192];
	size_t h = 0, off = 0;

	h += (size_t)snprintf(hdr + h, sizeof hdr - h, "{");
	for (size_t i = 0; i < n; i++) {
		h += (size_t)snprintf(
		        hdr + h, sizeof hdr - h,
		        "%s\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}",
		        i ? "," : "", t[i].name, t[i].dtype, t[i].shape, off, off + t[i].nbytes);
		off += t[i].nbytes;
	}
	if (extra)
		h += (size_t)snprintf(hdr + h, sizeof hdr - h, "%s%s", n ? "," : "", extra);
	h += (size_t)snprintf(hdr + h, sizeof hdr - h, "}");
	while (h % 8)
		hdr[h++] = ' ';
	*len = 8 + h + off;
	uint8_t *b = malloc(*len);
	uint64_t hl = h;
	memcpy(b, &hl, 8);
	memcpy(b + 8, hdr, h);
	off = 8 + h;
	for (size_t i = 0; i < n; i++) {
		memcpy(b + off, t[i].data, t[i].nbytes);
		off += t[i].nbytes;
	}
	return b;
}

static char *save(const char *dir, const char *name, const void *b, size_t n)
{
	char *p = strdup(qs_path(dir, name));

	qs_write_file(p, b, n);
	return p;
}

/* Build the tensors into a fresh folder's file and load it; the file is
 * mapped, so the folder goes at once. */
static struct model *load_built(const struct tin *t, size_t nt, const char *file)
{
	size_t n;
	uint8_t *b = build(t, nt, NULL, &n);
	char *dir = qs_tmpdir(), *p = save(dir, file, b, n);
	struct model *m;
	struct qs_error err;

	if (load_with(&safetensors_format_ops, p, &m, &err))
		fail_msg("%s: %s", file, err.msg);
	free(p);
	free(b);
	qs_rmtree(dir);
	return m;
}

static void check_values(const struct model *m, const char *name, const double *want, size_t n)
{
	const struct model_tensor *t = find(m, name);
	float y[16];
	struct qs_error err;

	assert_int_equal(t->nelem, n);
	assert_int_equal(model_tensor_to_f32(m, t, y, &err), 0);
	for (size_t i = 0; i < n; i++)
		assert_close(y[i], want[i], 0, 0);
}

/* ---- every dtype -------------------------------------------------------- */

static const int8_t v_i8[] = {-128, 127};
static const double v_f64[] = {1.5, -2.25};
static const float v_f32[] = {0.5f, 1, 2, 3};
static const uint16_t v_f16[] = {0x3C00, 0xC000, 0x7BFF};
static const uint16_t v_bf16[] = {0x3FC0, 0xC080};
static const uint8_t v_e4m3[] = {0x38, 0x7E, 0xB0};
static const uint8_t v_e5m2[] = {0x3C, 0xC2};
static const uint8_t v_u8[] = {0, 255};
static const int16_t v_i16[] = {-32768, 1000};
static const int32_t v_i32[] = {-5, 1 << 30};
static const int64_t v_i64[] = {-(1ll << 40), 7};
static const uint8_t v_bool[] = {0, 1};

static const struct tin all_dtypes[] = {
        {"i8", "I8", "[2]", v_i8, 2},          {"f64", "F64", "[2]", v_f64, 16},
        {"f32", "F32", "[2,2]", v_f32, 16},    {"f16", "F16", "[3]", v_f16, 6},
        {"bf16", "BF16", "[2]", v_bf16, 4},    {"e4m3", "F8_E4M3", "[3]", v_e4m3, 3},
        {"e5m2", "F8_E5M2", "[2]", v_e5m2, 2}, {"u8", "U8", "[2,1]", v_u8, 2},
        {"i16", "I16", "[2]", v_i16, 4},       {"i32", "I32", "[2]", v_i32, 8},
        {"i64", "I64", "[1,2]", v_i64, 16},    {"bool", "BOOL", "[2]", v_bool, 2},
        {"scalar", "F32", "[]", v_f32, 4},     {"empty", "F32", "[0,3]", v_f32, 0},
};
#define N_ALL (sizeof all_dtypes / sizeof all_dtypes[0])

static void check_all_dtypes(const struct model *m)
{
	check_values(m, "f64", v_f64, 2);
	check_values(m, "f32", (double[]){0.5, 1, 2, 3}, 4);
	check_values(m, "f16", (double[]){1, -2, 65504}, 3);
	check_values(m, "bf16", (double[]){1.5, -4}, 2);
	check_values(m, "e4m3", (double[]){1, 448, -0.5}, 3);
	check_values(m, "e5m2", (double[]){1, -3}, 2);
	const struct model_tensor *t = find(m, "i64");
	assert_int_equal(t->dtype, DTYPE_I64);
	assert_int_equal(dtype_get_int(t->dtype, t->data, 0, NIBBLE_LOW_FIRST), -(1ll << 40));
	t = find(m, "i32");
	assert_int_equal(dtype_get_int(t->dtype, t->data, 1, NIBBLE_LOW_FIRST), 1 << 30);
	t = find(m, "i16");
	assert_int_equal(dtype_get_int(t->dtype, t->data, 0, NIBBLE_LOW_FIRST), -32768);
	t = find(m, "i8");
	assert_int_equal(dtype_get_int(t->dtype, t->data, 0, NIBBLE_LOW_FIRST), -128);
	t = find(m, "u8");
	assert_int_equal(t->ndim, 2);
	assert_int_equal(dtype_get_int(t->dtype, t->data, 1, NIBBLE_LOW_FIRST), 255);
	assert_int_equal(find(m, "bool")->dtype, DTYPE_BOOL);
	assert_int_equal(find(m, "scalar")->ndim, 0);
	assert_int_equal(find(m, "scalar")->nelem, 1);
	assert_int_equal(find(m, "empty")->nelem, 0);
}

static void test_every_dtype_round_trip(void **state)
{
	(void)state;
	size_t n;
	uint8_t *b =
	        build(all_dtypes, N_ALL, "\"__metadata__\":{\"format\":\"pt\",\"note\":\"x\"}", &n);
	char *dir = qs_tmpdir(), *in = save(dir, "all.safetensors", b, n), out[4096];
	struct model *m, *w;
	struct qs_error err;

	assert_int_equal(load_with(&safetensors_format_ops, in, &m, &err), 0);
	assert_int_equal(m->ntensors, N_ALL);
	check_all_dtypes(m);
	/* written back unplanned: same dtypes, shapes, bytes and metadata */
	snprintf(out, sizeof out, "%s/out.safetensors", dir);
	FILE *f = fopen(out, "wb");
	struct write_opts o = {0};
	assert_int_equal(safetensors_format_ops.write(m, &o, f, out, &err), 0);
	fclose(f);
	assert_int_equal(load_with(&safetensors_format_ops, out, &w, &err), 0);
	assert_int_equal(w->ntensors, N_ALL);
	check_all_dtypes(w);
	for (size_t i = 0; i < N_ALL; i++) {
		const struct model_tensor *a = find(m, all_dtypes[i].name),
		                          *c = find(w, all_dtypes[i].name);
		assert_int_equal(a->dtype, c->dtype);
		assert_int_equal(a->nbytes, c->nbytes);
		assert_memory_equal(a->data, c->data, a->nbytes);
	}
	json_error_t je;
	FILE *g = fopen(out, "rb");
	uint64_t hl;
	assert_int_equal(fread(&hl, 8, 1, g), 1);
	assert_int_equal(hl % 8, 0);
	char *h = malloc(hl + 1);
	assert_int_equal(fread(h, 1, hl, g), hl);
	fclose(g);
	json_t *root = json_loadb(h, hl, 0, &je);
	assert_non_null(root);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(root, "__metadata__"), "note")),
	        "x");
	json_decref(root);
	free(h);
	model_free(w);
	model_free(m);
	free(in);
	free(b);
	qs_rmtree(dir);
}

/* ---- malformed files ---------------------------------------------------- */

static void expect_bad_bytes(const uint8_t *b, size_t n, const char *needle)
{
	char *dir = qs_tmpdir(), *p = save(dir, "bad.safetensors", b, n);
	struct model *m;
	struct qs_error err;
	int rc = load_with(&safetensors_format_ops, p, &m, &err);

	if (rc != QS_ERR_FORMAT || !strstr(err.msg, needle) ||
	    !strstr(err.msg, "bad.safetensors") || strchr(err.msg, '\n'))
		fail_msg("expected a format error containing '%s', got rc %d: %s", needle, rc,
		         rc ? err.msg : "(accepted)");
	free(p);
	qs_rmtree(dir);
}

/* A file whose header is exactly `json` (padded) followed by ndata bytes. */
static void expect_bad_header(const char *json, size_t ndata, const char *needle)
{
	size_t h = strlen(json), n = 8 + h + ndata;
	uint8_t *b = calloc(1, n);
	uint64_t hl = h;

	memcpy(b, &hl, 8);
	memcpy(b + 8, json, h);
	expect_bad_bytes(b, n, needle);
	free(b);
}

static void test_malformed(void **state)
{
	(void)state;
	uint8_t b[64] = {0};
	uint64_t hl;

	expect_bad_bytes(b, 5, "shorter than the 8-byte header length");
	hl = 100000001;
	memcpy(b, &hl, 8);
	b[8] = '{';
	expect_bad_bytes(b, 16, "exceeds the limit of 100000000");
	hl = 1000;
	memcpy(b, &hl, 8);
	expect_bad_bytes(b, 16, "runs past the end of the file");
	expect_bad_header("[1]     ", 0, "does not start with '{'");
	expect_bad_header("{\"a\":   ", 0, "header JSON");
	expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
	                  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
	                  8, "duplicate");
	expect_bad_header("{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
	                  "unknown dtype Q4");
	expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
	                  "non-negative");
	expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
	                  "\"data_offsets\":[0,4]}}",
	                  4, "overflows");
	expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
	                  "need 12 bytes, data_offsets span 8");
	expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
	                  "two non-negative integers");
	expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
	                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
	                  12, "hole");
	expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
	                  8, "overlap");
	expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 5,
	                  "tensors cover 4 data bytes, the file has 5");
	expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 2,
	                  "tensors cover 4 data bytes, the file has 2");
	expect_bad_header("{\"__metadata__\":{\"k\":1}}", 0, "is not a string");
	expect_bad_header("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2,
	                  "whole number of bytes");
}

/* ---- quantized conventions --------------------------------------------- */

static void test_compressed_tensors_int8(void **state)
{
	(void)state;
	static const int8_t w[] = {1, -2, 3, 4, 5, -6};
	static const float s[] = {0.5f, 0.25f};
	static const float fw[] = {0.4f, -1, 1.6f, 1, 1.2f, -1.5f};
	const struct tin qt[] = {{"m.weight", "I8", "[2,3]", w, 6},
	                         {"m.weight_scale", "F32", "[2,1]", s, 8}};
	const struct tin ft[] = {{"m.weight", "F32", "[2,3]", fw, 24}};
	size_t nq, nf;
	uint8_t *bq = build(qt, 2, NULL, &nq), *bf = build(ft, 1, NULL, &nf);
	char *dir = qs_tmpdir(), *pq = save(dir, "q.safetensors", bq, nq),
	     *pf = save(dir, "f.safetensors", bf, nf);
	struct model *mq, *mf;
	struct qs_error err;
	struct pairing pr;

	assert_int_equal(load_with(&safetensors_format_ops, pq, &mq, &err), 0);
	assert_int_equal(load_with(&safetensors_format_ops, pf, &mf, &err), 0);
	const struct model_tensor *t = find(mq, "m.weight");
	assert_non_null(t->quant);
	assert_string_equal(t->quant->float_name, "m.weight");
	assert_int_equal(t->quant->layout.gran, GRAN_CHANNEL);
	assert_true(find(mq, "m.weight_scale")->is_aux);
	check_values(mq, "m.weight", (double[]){0.5, -1, 1.5, 1, 1.25, -1.5}, 6);
	assert_int_equal(model_pair(mf, mq, &pr, &err), 0);
	size_t paired = 0;
	for (size_t i = 0; i < pr.n; i++)
		if (pr.pairs[i].f >= 0 && pr.pairs[i].q >= 0) {
			paired++;
			assert_string_equal(mf->tensors[pr.pairs[i].f].name, "m.weight");
			assert_string_equal(mq->tensors[pr.pairs[i].q].name, "m.weight");
		}
	assert_int_equal(paired, 1);
	pairing_free(&pr);
	model_free(mq);
	model_free(mf);
	free(pq);
	free(pf);
	free(bq);
	free(bf);
	qs_rmtree(dir);
}

/* compressed-tensors pack-quantized int4: out 2, in 3, one word per row,
 * stored u = q + 8 at bits 4j. Row 0 q = (−8, 0, 7), row 1 q = (1, −1, 2);
 * per-channel scales 0.5 and 2. */
static void test_compressed_tensors_packed(void **state)
{
	(void)state;
	static const int32_t packed[] = {0x0 | (0x8 << 4) | (0xF << 8),
	                                 0x9 | (0x7 << 4) | (0xA << 8)};
	static const int32_t shape[] = {2, 3};
	static const uint16_t scale[] = {0x3800, 0x4000}; /* fp16 0.5, 2 */
	const struct tin qt[] = {{"l.weight_packed", "I32", "[2,1]", packed, 8},
	                         {"l.weight_shape", "I32", "[2]", shape, 8},
	                         {"l.weight_scale", "F16", "[2,1]", scale, 4}};
	struct model *m = load_built(qt, 3, "p.safetensors");
	const struct model_tensor *t = find(m, "l.weight_packed");
	assert_non_null(t->quant);
	assert_string_equal(t->quant->float_name, "l.weight");
	assert_int_equal(t->quant->bits, 4);
	assert_int_equal(t->shape[0], 2);
	assert_int_equal(t->shape[1], 3);
	check_values(m, "l.weight_packed", (double[]){-4, 0, 3.5, 2, -2, 4}, 6);
	model_free(m);
}

/* GPTQ 4-bit: in 8, out 2, 2 groups of 4. qweight [1, 2]: column o holds
 * the 8 codes of output o (code k in bits 4k). Output 0 codes 0..7, output 1
 * codes 15..8. qzeros [2, 1] stores zero − 1: group 0 nibbles (7, 3) → zeros
 * 8, 4; group 1 nibbles (0, 15) → zeros 1, 16. scales [2, 2] fp16:
 * group 0 (1, 0.5), group 1 (2, 0.25). */
static void test_gptq(void **state)
{
	(void)state;
	static const uint32_t qw[] = {0x76543210u, 0x89ABCDEFu};
	static const int32_t qz[] = {0x37, 0xF0};
	static const uint16_t sc[] = {0x3C00, 0x3800, 0x4000, 0x3400};
	static const int32_t gi[] = {0, 0, 0, 0, 1, 1, 1, 1};
	const struct tin qt[] = {{"x.qweight", "I32", "[1,2]", qw, 8},
	                         {"x.qzeros", "I32", "[2,1]", qz, 8},
	                         {"x.scales", "F16", "[2,2]", sc, 8},
	                         {"x.g_idx", "I32", "[8]", gi, 32}};
	struct model *m = load_built(qt, 4, "g.safetensors");
	const struct model_tensor *t = find(m, "x.qweight");
	assert_non_null(t->quant);
	assert_string_equal(t->quant->float_name, "x.weight");
	assert_int_equal(t->shape[0], 2);
	assert_int_equal(t->shape[1], 8);
	/* out 0: k<4: 1·(k − 8); k≥4: 2·(k − 1).  out 1: codes 15−k;
	 * k<4: 0.5·(15−k − 4); k≥4: 0.25·(15−k − 16) */
	double want[16];
	for (int k = 0; k < 8; k++) {
		want[k] = k < 4 ? (k - 8) : 2.0 * (k - 1);
		want[8 + k] = k < 4 ? 0.5 * (15 - k - 4) : 0.25 * (15 - k - 16);
	}
	check_values(m, "x.qweight", want, 16);
	assert_true(find(m, "x.scales")->is_aux);
	model_free(m);
}

/* AWQ 4-bit: in 2, out 8, one group. Row 0's word has nibble p = p, and
 * nibble p holds column [0,2,4,6,1,3,5,7][p], so columns 0..7 get codes
 * 0,4,1,5,2,6,3,7. Row 1 all 9. Zeros 1 (all nibbles), scale 0.5. */
static void test_awq(void **state)
{
	(void)state;
	static const uint32_t qw[] = {0x76543210u, 0x99999999u};
	static const uint32_t qz[] = {0x11111111u};
	static const uint16_t sc[] = {0x3800, 0x3800, 0x3800, 0x3800,
	                              0x3800, 0x3800, 0x3800, 0x3800};
	const struct tin qt[] = {{"y.qweight", "I32", "[2,1]", qw, 8},
	                         {"y.qzeros", "I32", "[1,1]", qz, 4},
	                         {"y.scales", "F16", "[1,8]", sc, 16}};
	struct model *m = load_built(qt, 3, "a.safetensors");
	static const int code[8] = {0, 4, 1, 5, 2, 6, 3, 7};
	double want[16];
	for (int o = 0; o < 8; o++) {
		want[2 * o] = 0.5 * (code[o] - 1);
		want[2 * o + 1] = 0.5 * (9 - 1);
	}
	check_values(m, "y.qweight", want, 16);
	model_free(m);
}

/* bitsandbytes LLM.int8: x = q·SCB/127; SCB (2.54, 1.27): row 0 codes
 * (127, −50) → 2.54, −1; row 1 codes (10, −127) → 0.1, −1.27. */
static void test_bnb_int8(void **state)
{
	(void)state;
	static const int8_t w[] = {127, -50, 10, -127};
	static const float scb[] = {2.54f, 1.27f};
	const struct tin qt[] = {{"z.weight", "I8", "[2,2]", w, 4},
	                         {"z.SCB", "F32", "[2]", scb, 8}};
	struct model *m = load_built(qt, 2, "b.safetensors");
	struct qs_error err;
	float y[4];
	const struct model_tensor *t = find(m, "z.weight");
	assert_non_null(t->quant);
	assert_true(find(m, "z.SCB")->is_aux);
	assert_int_equal(model_tensor_to_f32(m, t, y, &err), 0);
	static const double want[] = {2.54, -1, 0.1, -1.27};
	for (int i = 0; i < 4; i++)
		assert_close(y[i], want[i], 1e-6, 0);
	model_free(m);
}

/* ---- sharded checkpoints ------------------------------------------------ */

static void test_sharded(void **state)
{
	(void)state;
	const struct tin s1[] = {{"a", "F32", "[2]", v_f32, 8}};
	const struct tin s2[] = {{"b", "F16", "[3]", v_f16, 6}, {"c", "I8", "[2]", v_i8, 2}};
	size_t n1, n2;
	uint8_t *b1 = build(s1, 1, NULL, &n1), *b2 = build(s2, 2, NULL, &n2);
	char *dir = qs_tmpdir();
	char *p1 = save(dir, "model-00001-of-00002.safetensors", b1, n1);
	char *p2 = save(dir, "model-00002-of-00002.safetensors", b2, n2);
	const char *idx = "{\"metadata\":{\"total_size\":16},\"weight_map\":{"
	                  "\"a\":\"model-00001-of-00002.safetensors\","
	                  "\"b\":\"model-00002-of-00002.safetensors\","
	                  "\"c\":\"model-00002-of-00002.safetensors\"}}";
	char *pi = save(dir, "model.safetensors.index.json", idx, strlen(idx));
	const char *bad = "{\"weight_map\":{\"a\":\"../x.safetensors\"}}";
	char *pb = save(dir, "bad.safetensors.index.json", bad, strlen(bad));
	struct model *m;
	struct qs_error err;

	assert_int_equal(load_with(&safetensors_format_ops, pi, &m, &err), 0);
	assert_int_equal(m->ntensors, 3);
	check_values(m, "a", (double[]){0.5, 1}, 2);
	check_values(m, "b", (double[]){1, -2, 65504}, 3);
	model_free(m);
	assert_int_equal(load_with(&safetensors_format_ops, p2, &m, &err),
	                 0); /* any shard: all of them */
	assert_int_equal(m->ntensors, 3);
	model_free(m);
	assert_int_equal(load_with(&safetensors_format_ops, pb, &m, &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "not a file name in the same folder"));
	free(p1);
	free(p2);
	free(pi);
	free(pb);
	free(b1);
	free(b2);
	qs_rmtree(dir);
}

/* ---- writing int8 compressed-tensors ----------------------------------- */

static void test_write_int8_per_channel(void **state)
{
	(void)state;
	static const float w[] = {1, -2, 0.5f, 4, 2, -1};
	static const float bias[] = {1, 2};
	const struct tin ft[] = {{"m.weight", "F32", "[2,3]", w, 24},
	                         {"m.bias", "F32", "[2]", bias, 8}};
	size_t n;
	uint8_t *b = build(ft, 2, NULL, &n);
	char *dir = qs_tmpdir(), *p = save(dir, "f.safetensors", b, n), out[4096];
	struct model *m, *q;
	struct qs_error err;
	struct tensor_plan plan[2] = {{0}};

	assert_int_equal(load_with(&safetensors_format_ops, p, &m, &err), 0);
	plan[0].quantize = true;
	plan[0].spec.scheme = scheme_default(); /* int8 sym per-channel axis 0 */
	plan[0].spec.method.kind = METHOD_MINMAX;
	struct write_opts o = {.plan = plan};
	snprintf(out, sizeof out, "%s/q.safetensors", dir);
	FILE *f = fopen(out, "wb");
	assert_int_equal(safetensors_format_ops.write(m, &o, f, out, &err), 0);
	fclose(f);
	assert_int_equal(load_with(&safetensors_format_ops, out, &q, &err), 0);
	const struct model_tensor *t = find(q, "m.weight");
	assert_int_equal(t->dtype, DTYPE_I8);
	assert_non_null(t->quant);
	const struct model_tensor *s = find(q, "m.weight_scale");
	assert_int_equal(s->ndim, 2);
	assert_int_equal(s->shape[0], 2);
	assert_int_equal(s->shape[1], 1);
	/* row 0: s = fl(2/127.5) = 0.015686275 (float32, a little above the
	 * exact value), so x/s in float32 = 63.749996, −127.49999, 31.874998 →
	 * 64, −127, 32; row 1: s = fl(4/127.5): 127.49999, 63.749996, −31.874998
	 * → 127, 64, −32 (numpy float32 agrees) */
	static const int want[] = {64, -127, 32, 127, 64, -32};
	for (int i = 0; i < 6; i++)
		assert_int_equal(dtype_get_int(DTYPE_I8, t->data, (uint64_t)i, NIBBLE_LOW_FIRST),
		                 want[i]);
	float sc[2];
	memcpy(sc, s->data, 8);
	assert_close(sc[0], 2.0 / 127.5, 1e-7, 0);
	assert_close(sc[1], 4.0 / 127.5, 1e-7, 0);
	check_values(q, "m.bias", (double[]){1, 2}, 2);
	model_free(q);
	/* fake quant keeps the name and dtype, values x̂ */
	o.fake_quant = true;
	f = fopen(out, "wb");
	assert_int_equal(safetensors_format_ops.write(m, &o, f, out, &err), 0);
	fclose(f);
	assert_int_equal(load_with(&safetensors_format_ops, out, &q, &err), 0);
	assert_int_equal(q->ntensors, 2);
	assert_int_equal(find(q, "m.weight")->dtype, DTYPE_F32);
	check_values(q, "m.weight",
	             (double[]){64 * (2 / 127.5f), -127 * (2 / 127.5f), 32 * (2 / 127.5f),
	                        127 * (4 / 127.5f), 64 * (4 / 127.5f), -32 * (4 / 127.5f)},
	             6);
	model_free(q);
	model_free(m);
	free(p);
	free(b);
	qs_rmtree(dir);
}

/* ---- helper modes ------------------------------------------------------- */

static int mode_dump(const char *path)
{
	struct model *m;
	struct qs_error err;

	if (model_load(path, &m, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	for (size_t i = 0; i < m->ntensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		printf("%s", t->name);
		if (dtype_info(t->dtype)->is_float || t->quant) {
			float *x = malloc(t->nelem * sizeof *x + 4);
			model_tensor_to_f32(m, t, x, &err);
			for (uint64_t k = 0; k < t->nelem; k++)
				printf(" %.17g", x[k]);
			free(x);
		} else {
			for (uint64_t k = 0; k < t->nelem; k++)
				printf(" %lld", (long long)dtype_get_int(t->dtype, t->data, k,
				                                         NIBBLE_LOW_FIRST));
		}
		printf("\n");
	}
	model_free(m);
	return 0;
}

static int mode_pair_metrics(const char *spec)
{
	char a[4096], *b;
	struct model *mf, *mq;
	struct qs_error err;
	struct pairing pr;

	snprintf(a, sizeof a, "%s", spec);
	if (!(b = strchr(a, ':')))
		return 2;
	*b++ = 0;
	if (model_load(a, &mf, &err) || model_load(b, &mq, &err) || model_pair(mf, mq, &pr, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	printf("tensor,rmse,sqnr_db\n");
	for (size_t i = 0; i < pr.n; i++) {
		if (pr.pairs[i].f < 0 || pr.pairs[i].q < 0)
			continue;
		const struct model_tensor *tf = &mf->tensors[pr.pairs[i].f],
		                          *tq = &mq->tensors[pr.pairs[i].q];
		float *x = malloc(tf->nelem * 4 + 4), *y = malloc(tq->nelem * 4 + 4);
		struct err_acc acc;
		struct err_metrics em;
		err_acc_init(&acc);
		if (tf->nelem == tq->nelem && !model_tensor_to_f32(mf, tf, x, &err) &&
		    !model_tensor_to_f32(mq, tq, y, &err)) {
			for (uint64_t k = 0; k < tf->nelem; k++)
				err_acc_add(&acc, x[k], y[k], false);
			metrics_finish(&acc, NULL, 0, NAN, &em);
			printf("%s,%.17g,%.17g\n", tf->name, em.rmse, em.sqnr_db);
		}
		free(x);
		free(y);
	}
	pairing_free(&pr);
	model_free(mf);
	model_free(mq);
	return 0;
}

int main(void)
{
	const char *d = getenv("QS_ST_DUMP"), *p = getenv("QS_PAIR_METRICS");

	if (d)
		return mode_dump(d);
	if (p)
		return mode_pair_metrics(p);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_dtype_round_trip),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_compressed_tensors_int8),
	        cmocka_unit_test(test_compressed_tensors_packed),
	        cmocka_unit_test(test_gptq),
	        cmocka_unit_test(test_awq),
	        cmocka_unit_test(test_bnb_int8),
	        cmocka_unit_test(test_sharded),
	        cmocka_unit_test(test_write_int8_per_channel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
