/* GGUF reader/writer: synthetic files built byte by byte here (values worked
 * by hand), every malformation the reader must refuse, the real models in
 * ../shared/models, and the writer's layout rules.
 *
 * Helper modes for the interop scripts (tests/interop/gguf_*.sh), chosen by
 * environment variables, run instead of the cmocka suite:
 *   QS_GGUF_EQUAL=A.gguf:B.gguf   every tensor of A dequantized by qscope must
 *                                 equal B's (F32) bit for bit; exit 1 if not.
 *   QS_GGUF_QUANTIZE=IN:OUT:QTYPE[:METHOD]   write IN quantized (2-D tensors
 *                                 whose rows fit the block) with gguf.write.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml_quants.h"
#include "gguf.h"
#include "io_fixture.h"
#include "qs_test.h"

/* ---- a byte-level GGUF builder ---------------------------------------- */

struct gb {
	uint8_t *p;
	size_t n, cap;
};

static void gb_put(struct gb *b, const void *v, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, v, n);
	b->n += n;
}

static void gb_u32(struct gb *b, uint32_t v)
{
	gb_put(b, &v, 4);
}

static void gb_u64(struct gb *b, uint64_t v)
{
	gb_put(b, &v, 8);
}

static void gb_str(struct gb *b, const char *s)
{
	gb_u64(b, strlen(s));
	gb_put(b, s, strlen(s));
}

static void gb_pad(struct gb *b, size_t align)
{
	while (b->n % align)
		gb_put(b, "", 1);
}

/* A valid v3 file: KVs of every type (and two arrays), then tensors
 *   a  F32  dims [3, 2]   = numpy [2, 3], values 0..5
 *   q  Q8_0 dims [32, 1]  = numpy [1, 32], d = 0.5, qs[j] = j − 16
 *   h  F16  dims [4]      = 1.5, −2, 0, 65504
 * with the given alignment KV (0 = none). */
static struct gb build_valid(uint32_t align)
{
	struct gb b = {0};
	uint32_t al = align ? align : 32;
	uint64_t nkv = 14 + (align != 0);

	gb_put(&b, "GGUF", 4);
	gb_u32(&b, 3);
	gb_u64(&b, 3);
	gb_u64(&b, nkv);
	gb_str(&b, "general.architecture");
	gb_u32(&b, GGUF_T_STRING);
	gb_str(&b, "test");
	gb_str(&b, "k.u8");
	gb_u32(&b, GGUF_T_U8);
	gb_put(&b, (uint8_t[]){200}, 1);
	gb_str(&b, "k.i8");
	gb_u32(&b, GGUF_T_I8);
	gb_put(&b, (int8_t[]){-5}, 1);
	gb_str(&b, "k.u16");
	gb_u32(&b, GGUF_T_U16);
	gb_put(&b, (uint16_t[]){65535}, 2);
	gb_str(&b, "k.i16");
	gb_u32(&b, GGUF_T_I16);
	gb_put(&b, (int16_t[]){-300}, 2);
	gb_str(&b, "k.u32");
	gb_u32(&b, GGUF_T_U32);
	gb_u32(&b, 4000000000u);
	gb_str(&b, "k.i32");
	gb_u32(&b, GGUF_T_I32);
	gb_put(&b, (int32_t[]){-7}, 4);
	gb_str(&b, "k.f32");
	gb_u32(&b, GGUF_T_F32);
	gb_put(&b, (float[]){0.25f}, 4);
	gb_str(&b, "k.bool");
	gb_u32(&b, GGUF_T_BOOL);
	gb_put(&b, (uint8_t[]){1}, 1);
	gb_str(&b, "k.u64");
	gb_u32(&b, GGUF_T_U64);
	gb_u64(&b, 1ull << 40);
	gb_str(&b, "k.i64");
	gb_u32(&b, GGUF_T_I64);
	gb_put(&b, (int64_t[]){-(1ll << 40)}, 8);
	gb_str(&b, "k.f64");
	gb_u32(&b, GGUF_T_F64);
	gb_put(&b, (double[]){-0.125}, 8);
	gb_str(&b, "k.arr_i32");
	gb_u32(&b, GGUF_T_ARRAY);
	gb_u32(&b, GGUF_T_I32);
	gb_u64(&b, 3);
	gb_put(&b, (int32_t[]){1, 2, 3}, 12);
	gb_str(&b, "k.arr_str");
	gb_u32(&b, GGUF_T_ARRAY);
	gb_u32(&b, GGUF_T_STRING);
	gb_u64(&b, 2);
	gb_str(&b, "ab");
	gb_str(&b, "");
	if (align) {
		gb_str(&b, "general.alignment");
		gb_u32(&b, GGUF_T_U32);
		gb_u32(&b, align);
	}
	/* tensor infos: a (24 bytes), q (34 bytes), h (8 bytes) */
	uint64_t off_q = (24 + al - 1) / al * al, off_h = off_q + (34 + al - 1) / al * al;
	gb_str(&b, "a");
	gb_u32(&b, 2);
	gb_u64(&b, 3);
	gb_u64(&b, 2);
	gb_u32(&b, 0);
	gb_u64(&b, 0);
	gb_str(&b, "q");
	gb_u32(&b, 2);
	gb_u64(&b, 32);
	gb_u64(&b, 1);
	gb_u32(&b, 8);
	gb_u64(&b, off_q);
	gb_str(&b, "h");
	gb_u32(&b, 1);
	gb_u64(&b, 4);
	gb_u32(&b, 1);
	gb_u64(&b, off_h);
	gb_pad(&b, al);
	for (int i = 0; i < 6; i++)
		gb_put(&b, (float[]){(float)i}, 4);
	gb_pad(&b, al);
	gb_put(&b, (uint16_t[]){0x3800}, 2); /* fp16 0.5 */
	for (int j = 0; j < 32; j++)
		gb_put(&b, (int8_t[]){(int8_t)(j - 16)}, 1);
	gb_pad(&b, al);
	gb_put(&b, (uint16_t[]){0x3E00, 0xC000, 0x0000, 0x7BFF}, 8);
	return b;
}

static char *write_tmp(const char *dir, const char *name, const struct gb *b)
{
	char *path = strdup(qs_path(dir, name));

	qs_write_file(path, b->p, b->n);
	return path;
}

/* ---- valid files -------------------------------------------------------- */

static void test_parse_all_value_types(void **state)
{
	(void)state;
	struct gb b = build_valid(0);
	struct gguf_file *g;
	struct qs_error err;
	char txt[64];
	const char *s;
	size_t n;
	uint32_t u;

	assert_int_equal(gguf_parse(b.p, b.n, "valid.gguf", &g, &err), 0);
	assert_int_equal(g->version, 3);
	assert_int_equal(g->nkv, 14);
	assert_int_equal(g->ntensors, 3);
	assert_int_equal(g->alignment, 32);
	assert_true(gguf_kv_get_str(g, b.p, "general.architecture", &s, &n));
	assert_int_equal(n, 4);
	assert_memory_equal(s, "test", 4);
	assert_true(gguf_kv_get_u32(g, b.p, "k.u32", &u));
	assert_int_equal(u, 4000000000u);
	static const struct {
		const char *key, *text;
	} want[] = {
	        {"k.u8", "200"},
	        {"k.i8", "-5"},
	        {"k.u16", "65535"},
	        {"k.i16", "-300"},
	        {"k.i32", "-7"},
	        {"k.f32", "0.25"},
	        {"k.bool", "true"},
	        {"k.u64", "1099511627776"},
	        {"k.i64", "-1099511627776"},
	        {"k.f64", "-0.125"},
	        {"k.arr_i32", "[INT32 x 3]"},
	        {"k.arr_str", "[STRING x 2]"},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct gguf_kv *kv = gguf_kv_find(g, want[i].key);
		assert_non_null(kv);
		gguf_kv_format(kv, b.p, txt, sizeof txt);
		assert_string_equal(txt, want[i].text);
	}
	assert_int_equal(g->ti[1].type, 8);
	assert_int_equal(g->ti[1].nbytes, 34);
	assert_int_equal(g->ti[1].offset, 32);
	assert_int_equal(g->ti[2].offset, 96);
	gguf_file_free(g);
	free(b.p);
}

static void test_model_tensors(void **state)
{
	(void)state;
	struct gb b = build_valid(64);
	char *dir = qs_tmpdir(), *path = write_tmp(dir, "m.gguf", &b);
	struct model *m;
	struct qs_error err;
	float y[32];

	assert_int_equal(load_with(&gguf_format_ops, path, &m, &err), 0);
	assert_int_equal(m->ntensors, 3);
	/* dims [3, 2] → numpy shape [2, 3] */
	assert_int_equal(m->tensors[0].ndim, 2);
	assert_int_equal(m->tensors[0].shape[0], 2);
	assert_int_equal(m->tensors[0].shape[1], 3);
	assert_int_equal(m->tensors[0].dtype, DTYPE_F32);
	assert_null(m->tensors[0].block);
	assert_int_equal(model_tensor_to_f32(m, &m->tensors[0], y, &err), 0);
	for (int i = 0; i < 6; i++)
		assert_close(y[i], i, 0, 0);
	/* Q8_0: y = (j − 16)·0.5 */
	assert_non_null(m->tensors[1].block);
	assert_string_equal(m->tensors[1].block->name, "Q8_0");
	assert_int_equal(m->tensors[1].shape[0], 1);
	assert_int_equal(m->tensors[1].shape[1], 32);
	assert_int_equal(m->tensors[1].facts.role, ROLE_WEIGHT);
	assert_int_equal(model_tensor_to_f32(m, &m->tensors[1], y, &err), 0);
	for (int j = 0; j < 32; j++)
		assert_close(y[j], (j - 16) * 0.5, 0, 0);
	int32_t q[32];
	assert_int_equal(model_tensor_codes(m, &m->tensors[1], q, &err), 0);
	assert_int_equal(q[0], -16);
	assert_int_equal(q[31], 15);
	/* F16 1.5, −2, 0, 65504 */
	assert_int_equal(m->tensors[2].dtype, DTYPE_F16);
	assert_int_equal(model_tensor_to_f32(m, &m->tensors[2], y, &err), 0);
	assert_close(y[0], 1.5, 0, 0);
	assert_close(y[1], -2, 0, 0);
	assert_close(y[2], 0, 0, 0);
	assert_close(y[3], 65504, 0, 0);
	model_free(m);
	free(path);
	qs_rmtree(dir);
	free(b.p);
}

/* ---- malformed files ---------------------------------------------------- */

/* A version 2 file with one F32 tensor [1] = {1} named name, no KVs. */
static struct gb one_f32_v2(const char *name)
{
	struct gb b = {0};

	gb_put(&b, "GGUF", 4);
	gb_u32(&b, 2);
	gb_u64(&b, 1);
	gb_u64(&b, 0);
	gb_str(&b, name);
	gb_u32(&b, 1);
	gb_u64(&b, 1);
	gb_u32(&b, 0);
	gb_u64(&b, 0);
	gb_pad(&b, 32);
	gb_put(&b, (float[]){1}, 4);
	return b;
}

static void expect_bad(const struct gb *b, const char *needle)
{
	struct gguf_file *g = NULL;
	struct qs_error err;
	int rc = gguf_parse(b->p, b->n, "bad.gguf", &g, &err);

	if (rc != QS_ERR_FORMAT || !strstr(err.msg, needle) || !strstr(err.msg, "bad.gguf") ||
	    strchr(err.msg, '\n'))
		fail_msg("expected a format error containing '%s', got rc %d: %s", needle, rc,
		         rc ? err.msg : "(accepted)");
	assert_null(g);
}

/* Byte offset of the first occurrence of a string in the image. */
static size_t find_bytes(const struct gb *b, const void *s, size_t n)
{
	for (size_t i = 0; i + n <= b->n; i++)
		if (!memcmp(b->p + i, s, n))
			return i;
	fail_msg("pattern not found");
	return 0;
}

static void patch_u32(struct gb *b, size_t at, uint32_t v)
{
	memcpy(b->p + at, &v, 4);
}

static void patch_u64(struct gb *b, size_t at, uint64_t v)
{
	memcpy(b->p + at, &v, 8);
}

/* Offset of tensor info `name` (its string length field). */
static size_t info_at(const struct gb *b, const char *name)
{
	uint8_t pat[9];
	uint64_t n = 1;

	memcpy(pat, &n, 8);
	pat[8] = (uint8_t)name[0];
	/* the last match is the tensor info (keys come first) */
	size_t at = 0;
	for (size_t i = 0; i + 9 <= b->n; i++)
		if (!memcmp(b->p + i, pat, 9))
			at = i;
	return at;
}

static void test_bad_headers(void **state)
{
	(void)state;
	struct gb b = build_valid(0);

	b.p[0] = 'X';
	expect_bad(&b, "not a GGUF file");
	b.p[0] = 'G';
	patch_u32(&b, 4, 1);
	expect_bad(&b, "version 1 not supported");
	patch_u32(&b, 4, 0x03000000);
	expect_bad(&b, "big-endian");
	patch_u32(&b, 4, 3);
	patch_u64(&b, 8, 1ull << 60);
	expect_bad(&b, "tensors cannot fit");
	patch_u64(&b, 8, 3);
	patch_u64(&b, 16, 1ull << 58);
	expect_bad(&b, "KVs cannot fit");
	free(b.p);
}

static void test_truncated_everywhere(void **state)
{
	(void)state;
	struct gb b = build_valid(0);
	size_t full = b.n;

	/* every proper prefix must be refused without reading past it */
	for (size_t n = 0; n < full; n++) {
		struct gb t = {malloc(n ? n : 1), n, n};
		struct gguf_file *g = NULL;
		struct qs_error err;
		memcpy(t.p, b.p, n);
		int rc = gguf_parse(t.p, n, "cut.gguf", &g, &err);
		if (rc != QS_ERR_FORMAT)
			fail_msg("prefix of %zu bytes accepted (rc %d)", n, rc);
		free(t.p);
	}
	free(b.p);
}

static void test_bad_kvs(void **state)
{
	(void)state;
	struct gb b = build_valid(0);
	size_t k = find_bytes(&b, "k.u8", 4) + 4; /* the type field of k.u8 */

	patch_u32(&b, k, 13);
	expect_bad(&b, "unknown value type 13");
	patch_u32(&b, k, GGUF_T_U8);
	size_t kb = find_bytes(&b, "k.bool", 6) + 6 + 4;
	b.p[kb] = 2;
	expect_bad(&b, "BOOL value is not 0 or 1");
	b.p[kb] = 1;
	size_t ka = find_bytes(&b, "k.arr_i32", 9) + 9 + 4;
	patch_u32(&b, ka, GGUF_T_ARRAY);
	expect_bad(&b, "arrays of arrays");
	patch_u32(&b, ka, GGUF_T_I32);
	patch_u64(&b, ka + 4, 1ull << 62);
	expect_bad(&b, "cannot fit");
	patch_u64(&b, ka + 4, 3);
	size_t ks = find_bytes(&b, "general.architecture", 20) + 20 + 4;
	patch_u64(&b, ks, 1ull << 40);
	expect_bad(&b, "string length 1099511627776 runs past the end");
	patch_u64(&b, ks, 4);
	/* duplicate key: rename k.i8 to k.u8 */
	size_t ki = find_bytes(&b, "k.i8", 4);
	memcpy(b.p + ki, "k.u8", 4);
	expect_bad(&b, "duplicate metadata key \"k.u8\"");
	free(b.p);
}

static void test_bad_alignment(void **state)
{
	(void)state;
	struct gb b = build_valid(64);
	size_t ka = find_bytes(&b, "general.alignment", 17) + 17;

	patch_u32(&b, ka + 4, 48);
	expect_bad(&b, "not a power of two");
	patch_u32(&b, ka + 4, 64);
	patch_u32(&b, ka, GGUF_T_I32);
	expect_bad(&b, "must be of type UINT32");
	free(b.p);
}

static void test_bad_tensor_infos(void **state)
{
	(void)state;
	struct gb b = build_valid(0);
	size_t q = info_at(&b, "q"), a = info_at(&b, "a");
	/* q: len 8, 'q', n_dims 4, dims 8+8, type 4, offset 8 */
	size_t q_ndim = q + 9, q_d0 = q_ndim + 4, q_type = q_d0 + 16, q_off = q_type + 4;

	patch_u32(&b, q_type, 99);
	expect_bad(&b, "unknown ggml type 99");
	patch_u32(&b, q_type, 8);
	patch_u64(&b, q_d0, 33);
	expect_bad(&b, "not a multiple of Q8_0's block 32");
	patch_u64(&b, q_d0, 32);
	patch_u32(&b, q_ndim, 5);
	expect_bad(&b, "n_dims 5");
	patch_u32(&b, q_ndim, 2);
	patch_u64(&b, q_d0 + 8, 1ull << 62);
	expect_bad(&b, "overflows");
	patch_u64(&b, q_d0 + 8, 1ull << 40);
	expect_bad(&b, "runs past the end of the file");
	patch_u64(&b, q_d0 + 8, 1);
	patch_u64(&b, q_off, 16);
	expect_bad(&b, "is not a multiple of 32");
	patch_u64(&b, q_off, 1ull << 40);
	expect_bad(&b, "runs past the end of the file");
	patch_u64(&b, q_off, 0);
	expect_bad(&b, "overlaps another tensor");
	patch_u64(&b, q_off, 32);
	b.p[a + 8] = 'q';
	expect_bad(&b, "duplicate tensor name \"q\"");
	b.p[a + 8] = 'a';
	free(b.p);

	/* a 64-byte name */
	char name[65];
	memset(name, 'n', 64);
	name[64] = 0;
	struct gb c = one_f32_v2(name);
	expect_bad(&c, "64 bytes or longer");
	/* the same with a 63-byte name parses (version 2) */
	name[63] = 0;
	struct gb d = one_f32_v2(name);
	struct gguf_file *g;
	struct qs_error err;
	assert_int_equal(gguf_parse(d.p, d.n, "ok.gguf", &g, &err), 0);
	assert_int_equal(g->version, 2);
	gguf_file_free(g);
	free(c.p);
	free(d.p);
}

/* ---- writing ------------------------------------------------------------ */

static void check_layout(const char *path, uint32_t want_ftype, bool quantized)
{
	FILE *f = fopen(path, "rb");
	struct gb b = {0};
	uint8_t buf[4096];
	size_t n;
	struct gguf_file *g;
	struct qs_error err;
	uint32_t v;

	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		gb_put(&b, buf, n);
	fclose(f);
	assert_int_equal(gguf_parse(b.p, b.n, path, &g, &err), 0);
	/* offsets exactly sequential in info order (ggml's strict rule) */
	uint64_t off = 0;
	for (uint64_t i = 0; i < g->ntensors; i++) {
		assert_int_equal(g->ti[i].offset, off);
		off = (off + g->ti[i].nbytes + g->alignment - 1) / g->alignment * g->alignment;
	}
	assert_int_equal(g->data_start + off, b.n);
	assert_true(gguf_kv_get_u32(g, b.p, "general.file_type", &v));
	assert_int_equal(v, want_ftype);
	assert_int_equal(gguf_kv_get_u32(g, b.p, "general.quantization_version", &v), quantized);
	if (quantized)
		assert_int_equal(v, 2);
	gguf_file_free(g);
	free(b.p);
}

static void test_write_q8_0(void **state)
{
	(void)state;
	struct gb b = build_valid(64);
	char *dir = qs_tmpdir(), *path = write_tmp(dir, "in.gguf", &b);
	char out[4096];
	struct model *m, *w;
	struct qs_error err;
	struct tensor_plan plan[3];
	struct write_opts o = {.plan = plan};
	float y[32];

	assert_int_equal(load_with(&gguf_format_ops, path, &m, &err), 0);
	for (int i = 0; i < 3; i++)
		plan[i] = (struct tensor_plan){.quantize = true,
		                               .spec = {.qt = ggml_qtype_by_id(GGML_ID_Q8_0),
		                                        .method = {.kind = METHOD_MINMAX}}};
	snprintf(out, sizeof out, "%s/out.gguf", dir);
	FILE *f = fopen(out, "wb");
	assert_int_equal(gguf_format_ops.write(m, &o, f, out, &err), 0);
	fclose(f);
	check_layout(out, 7, true);
	assert_int_equal(load_with(&gguf_format_ops, out, &w, &err), 0);
	/* a: rows of 3 cannot take Q8_0 → kept F32; q: Q8_0 of (j−16)/2 is exact
	 * (amax 8, d = 8/127, q = round(x·127/8)); h: 1-D → kept F16 */
	assert_int_equal(w->tensors[0].dtype, DTYPE_F32);
	assert_null(w->tensors[0].block);
	assert_string_equal(w->tensors[1].block->name, "Q8_0");
	assert_int_equal(w->tensors[2].dtype, DTYPE_F16);
	int32_t q[32];
	assert_int_equal(model_tensor_codes(w, &w->tensors[1], q, &err), 0);
	for (int j = 0; j < 32; j++)
		assert_int_equal(q[j], (int)lround((j - 16) * 0.5 * 127.0 / 8.0));
	assert_int_equal(model_tensor_to_f32(w, &w->tensors[1], y, &err), 0);
	assert_close(y[0], -8.0, 1e-3, 0);
	/* the source KVs are carried over */
	const uint8_t *buf;
	const struct gguf_file *g = gguf_model_file(w, &buf);
	assert_non_null(gguf_kv_find(g, "k.arr_str"));
	assert_non_null(gguf_kv_find(g, "general.alignment"));
	assert_int_equal(g->alignment, 64);
	model_free(w);
	model_free(m);
	free(path);
	qs_rmtree(dir);
	free(b.p);
}

/* ---- real models -------------------------------------------------------- */

static const char *const real_types[] = {"F32", "F16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"};

static void test_real_models_parse(void **state)
{
	(void)state;
	char path[4096];
	int found = 0;

	for (size_t i = 0; i < sizeof real_types / sizeof real_types[0]; i++) {
		struct model *m;
		struct qs_error err;
		snprintf(path, sizeof path, "%s/models/silero_vad_legacy.%s.gguf", QSCOPE_SHARED,
		         real_types[i]);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		fclose(f);
		found++;
		if (load_with(&gguf_format_ops, path, &m, &err))
			fail_msg("%s", err.msg);
		assert_int_equal(m->ntensors, 68);
		size_t nblock = 0;
		for (size_t t = 0; t < m->ntensors; t++) {
			float *x = malloc(m->tensors[t].nelem * sizeof *x);
			nblock += m->tensors[t].block != NULL;
			assert_int_equal(model_tensor_to_f32(m, &m->tensors[t], x, &err), 0);
			for (uint64_t k = 0; k < m->tensors[t].nelem; k++)
				assert_true(isfinite(x[k]));
			free(x);
		}
		/* the README: 16 two-dimensional tensors are block-quantized */
		assert_int_equal(nblock, i < 2 ? 0 : 16);
		model_free(m);
	}
	if (!found)
		skip();
}

/* ---- helper modes for the interop scripts ------------------------------ */

static int mode_equal(const char *spec)
{
	char a[4096], *b;
	struct model *ma, *mb;
	struct qs_error err;
	int bad = 0;

	snprintf(a, sizeof a, "%s", spec);
	b = strchr(a, ':');
	if (!b)
		return 2;
	*b++ = 0;
	if (load_with(&gguf_format_ops, a, &ma, &err) ||
	    load_with(&gguf_format_ops, b, &mb, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	for (size_t i = 0; i < ma->ntensors; i++) {
		const struct model_tensor *t = &ma->tensors[i];
		int64_t j = model_find(mb, t->name);
		if (j < 0 || mb->tensors[j].nelem != t->nelem) {
			fprintf(stderr, "%s: missing or different size in %s\n", t->name, b);
			bad++;
			continue;
		}
		float *x = malloc(t->nelem * 4 + 4), *y = malloc(t->nelem * 4 + 4);
		model_tensor_to_f32(ma, t, x, &err);
		model_tensor_to_f32(mb, &mb->tensors[j], y, &err);
		uint64_t diff = 0;
		for (uint64_t k = 0; k < t->nelem; k++)
			diff += memcmp(&x[k], &y[k], 4) != 0;
		if (diff) {
			fprintf(stderr, "%s (%s): %llu of %llu values differ\n", t->name,
			        t->block ? t->block->name : dtype_name(t->dtype),
			        (unsigned long long)diff, (unsigned long long)t->nelem);
			bad++;
		}
		free(x);
		free(y);
	}
	printf("%zu tensors compared, %d differ\n", ma->ntensors, bad);
	model_free(ma);
	model_free(mb);
	return bad ? 1 : 0;
}

static int mode_quantize(const char *spec)
{
	char s[4096], *out, *qt, *meth;
	struct model *m;
	struct qs_error err;
	struct method method = {.kind = METHOD_MINMAX};

	snprintf(s, sizeof s, "%s", spec);
	if (!(out = strchr(s, ':')) || !(qt = strchr(out + 1, ':')))
		return 2;
	*out++ = 0;
	*qt++ = 0;
	if ((meth = strchr(qt, ':'))) {
		*meth++ = 0;
		if (method_parse(meth, &method, &err)) {
			fprintf(stderr, "%s\n", err.msg);
			return 2;
		}
	}
	const struct qtype *q = qtype_find(qt);
	if (!q || load_with(&gguf_format_ops, s, &m, &err)) {
		fprintf(stderr, "%s\n", q ? err.msg : "unknown qtype");
		return 2;
	}
	struct tensor_plan *plan = calloc(m->ntensors, sizeof *plan);
	for (size_t i = 0; i < m->ntensors; i++)
		plan[i] =
		        (struct tensor_plan){.quantize = true, .spec = {.qt = q, .method = method}};
	struct write_opts o = {.plan = plan};
	FILE *f = fopen(out, "wb");
	int rc = f ? gguf_format_ops.write(m, &o, f, out, &err) : 2;
	if (f && fclose(f))
		rc = 2;
	if (rc)
		fprintf(stderr, "%s\n", err.msg);
	free(plan);
	model_free(m);
	return rc ? 2 : 0;
}

int main(void)
{
	const char *e = getenv("QS_GGUF_EQUAL"), *q = getenv("QS_GGUF_QUANTIZE");

	if (e)
		return mode_equal(e);
	if (q)
		return mode_quantize(q);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_all_value_types),
	        cmocka_unit_test(test_model_tensors),
	        cmocka_unit_test(test_bad_headers),
	        cmocka_unit_test(test_truncated_everywhere),
	        cmocka_unit_test(test_bad_kvs),
	        cmocka_unit_test(test_bad_alignment),
	        cmocka_unit_test(test_bad_tensor_infos),
	        cmocka_unit_test(test_write_q8_0),
	        cmocka_unit_test(test_real_models_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
