/* TFLite / circle reader and in-place writer on small models that flatc
 * (Debian's flatbuffers-compiler, Google's own FlatBuffers implementation)
 * builds from JSON with tests/io/tflite_subset.fbs; every expected value is
 * worked by hand in the comments. Hostile files are made by patching bytes
 * found by their distinctive contents. Tests skip when flatc is missing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io_fixture.h"
#include "qs_test.h"
#include "tflite.h"

#define SCHEMA QSCOPE_SRC "/tests/io/tflite_subset.fbs"

static bool have_flatc(void)
{
	return system("flatc --version >/dev/null 2>&1") == 0;
}

/* flatc -b DIR/NAME.json → DIR/NAME.tflite (its schema's file_extension). */
static char *build(const char *dir, const char *name, const char *json)
{
	char cmd[1024], jname[128];

	snprintf(jname, sizeof jname, "%s.json", name);
	qs_write_text(qs_path(dir, jname), json);
	snprintf(cmd, sizeof cmd, "flatc -b -o '%s' '%s' '%s/%s' 2>&1", dir, SCHEMA, dir, jname);
	assert_int_equal(system(cmd), 0);
	snprintf(jname, sizeof jname, "%s.tflite", name);
	return qs_path(dir, jname);
}

static const struct model_tensor *tensor(const struct model *m, const char *name)
{
	int64_t i = model_find(m, name);
	if (i < 0)
		fail_msg("no tensor '%s'", name);
	return &m->tensors[i];
}

static void assert_values(const struct model *m, const char *name, const float *want, size_t n)
{
	const struct model_tensor *t = tensor(m, name);
	float got[64];
	struct qs_error e = {0};

	assert_int_equal(t->nelem, n);
	if (model_tensor_to_f32(m, t, got, &e))
		fail_msg("%s: %s", name, e.msg);
	for (size_t i = 0; i < n; i++)
		assert_close(got[i], want[i], 0, 0);
}

/* The main fixture. Operators: DEQUANTIZE(dw/w16) → dw/w; CONV_2D(x, conv/w,
 * conv/b); FULLY_CONNECTED (builtin_code 9, no deprecated code) (conv/y, fc/w);
 * DEPTHWISE_CONV_2D(x, dw/w); CUSTOM "MyOp"(u8, big, str, tensor 11).
 * Buffer 6 is given by offset/size (the >2 GB layout), filled in by
 * build_main; buffer 9 has offset 1 (the placeholder: no data). */
static const char main_json[] =
        "{\"version\": 3,\n"
        " \"operator_codes\": [{\"deprecated_builtin_code\": 3},\n"
        "   {\"builtin_code\": 9},\n"
        "   {\"deprecated_builtin_code\": 4, \"version\": 2},\n"
        "   {\"deprecated_builtin_code\": 6},\n"
        "   {\"deprecated_builtin_code\": 32, \"custom_code\": \"MyOp\"}],\n"
        " \"subgraphs\": [{\"name\": \"main\", \"tensors\": [\n"
        "   {\"name\": \"x\", \"type\": \"INT8\", \"shape\": [1, 2, 2, 3],\n"
        "    \"quantization\": {\"scale\": [0.25], \"zero_point\": [3]}},\n"
        "   {\"name\": \"conv/w\", \"type\": \"INT8\", \"shape\": [2, 1, 1, 3], \"buffer\": 1,\n"
        "    \"quantization\": {\"scale\": [0.5, 0.25], \"zero_point\": [0, 0]}},\n"
        "   {\"name\": \"conv/b\", \"type\": \"INT32\", \"shape\": [2], \"buffer\": 2,\n"
        "    \"quantization\": {\"scale\": [0.125, 0.0625], \"zero_point\": [0, 0]}},\n"
        "   {\"name\": \"conv/y\", \"type\": \"INT8\", \"shape\": [1, 2, 2, 2]},\n"
        "   {\"name\": \"fc/w\", \"type\": \"INT4\", \"shape\": [2, 3], \"buffer\": 3,\n"
        "    \"quantization\": {\"scale\": [0.1]}},\n"
        "   {\"name\": \"fc/y\", \"type\": \"INT8\", \"shape\": [1, 2]},\n"
        "   {\"name\": \"dw/w16\", \"type\": \"FLOAT16\", \"shape\": [1, 1, 1, 2], \"buffer\": "
        "4},\n"
        "   {\"name\": \"dw/w\", \"shape\": [1, 1, 1, 2]},\n"
        "   {\"name\": \"u8\", \"type\": \"UINT8\", \"shape\": [3], \"buffer\": 5,\n"
        "    \"quantization\": {\"scale\": [0.5], \"zero_point\": [128]}},\n"
        "   {\"name\": \"big\", \"shape\": [2], \"buffer\": 6},\n"
        "   {\"name\": \"str\", \"type\": \"STRING\", \"shape\": [1], \"buffer\": 7},\n"
        "   {\"shape\": [1], \"buffer\": 8},\n"
        "   {\"name\": \"placeholder\", \"shape\": [2], \"buffer\": 9},\n"
        "   {\"name\": \"dw/y\", \"shape\": [1, 2, 2, 2]},\n"
        "   {\"name\": \"c/y\", \"shape\": [1]}],\n"
        "  \"inputs\": [0], \"outputs\": [3],\n"
        "  \"operators\": [\n"
        "   {\"opcode_index\": 3, \"inputs\": [6], \"outputs\": [7]},\n"
        "   {\"opcode_index\": 0, \"inputs\": [0, 1, 2], \"outputs\": [3]},\n"
        "   {\"opcode_index\": 1, \"inputs\": [3, 4, -1], \"outputs\": [5]},\n"
        "   {\"opcode_index\": 2, \"inputs\": [0, 7, -1], \"outputs\": [13]},\n"
        "   {\"opcode_index\": 4, \"inputs\": [8, 9, 10, 11], \"outputs\": [14]}]},\n"
        "  {\"name\": \"sub\", \"tensors\": [{\"name\": \"w\", \"shape\": [2], \"buffer\": "
        "10}]}],\n"
        " \"buffers\": [{},\n"
        "   {\"data\": [1, 254, 3, 252, 5, 129]},\n"
        "   {\"data\": [100, 0, 0, 0, 206, 255, 255, 255]},\n"
        "   {\"data\": [225, 131, 7]},\n"
        "   {\"data\": [0, 60, 0, 193]},\n"
        "   {\"data\": [0, 128, 255]},\n"
        "   {\"offset\": %lu, \"size\": 8},\n"
        "   {\"data\": [97, 98, 99]},\n"
        "   {\"data\": [0, 0, 128, 63]},\n"
        "   {\"offset\": 1, \"size\": 8},\n"
        "   {\"data\": [0, 0, 0, 64, 0, 0, 64, 64]}]}\n";

/* big = [2.0, -0.75] as little-endian float32, appended after the
 * FlatBuffer at a 16-aligned offset. */
static const uint8_t big_bytes[8] = {0, 0, 0, 64, 0, 0, 64, 191};

static char *build_main(const char *dir)
{
	char json[sizeof main_json + 32];
	size_t n, off;
	uint8_t *p;
	char *path;

	/* the offset is a ulong field: its value does not change the layout */
	snprintf(json, sizeof json, main_json, 2ul);
	path = build(dir, "main", json);
	p = qs_read_file(path, &n);
	free(p);
	off = (n + 15) / 16 * 16;
	snprintf(json, sizeof json, main_json, (unsigned long)off);
	path = build(dir, "main", json);
	p = qs_read_file(path, &n);
	assert_true(n <= off);
	p = realloc(p, off + 8);
	assert_non_null(p);
	memset(p + n, 0, off - n);
	memcpy(p + off, big_bytes, 8);
	qs_write_file(path, p, off + 8);
	free(p);
	return path;
}

static int setup(void **state)
{
	*state = qs_tmpdir();
	return 0;
}

static void test_read_fixture(void **state)
{
	const char *dir = *state;
	if (!have_flatc())
		skip();
	struct model *m = load_ok(build_main(dir));
	const char *names[] = {"conv/w", "conv/b", "big",      "fc/w",       "dw/w16",
	                       "u8",     "str",    "tensor11", "subgraph1:w"};

	assert_int_equal(m->format, FMT_TFLITE);
	/* 14 tensors in subgraph 0 of which 8 have data, 1 in subgraph 1 */
	assert_int_equal(m->ntensors, 9);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		assert_true(model_find(m, names[i]) >= 0);
	assert_int_equal(model_find(m, "placeholder"), -1);

	/* int8 per-axis: codes [1,-2,3 | -4,5,-127], scales 0.5 and 0.25 */
	const struct model_tensor *w = tensor(m, "conv/w");
	assert_int_equal(w->dtype, DTYPE_I8);
	assert_int_equal(w->ndim, 4);
	assert_int_equal(w->shape[0], 2);
	assert_int_equal(w->shape[3], 3);
	assert_non_null(w->quant);
	assert_int_equal(w->quant->layout.gran, GRAN_CHANNEL);
	assert_int_equal(w->quant->layout.axis, 0);
	assert_int_equal(w->quant->layout.ngroups, 2);
	assert_close(w->quant->scale[1], 0.25, 0, 0);
	assert_int_equal(w->quant->zero_point[0], 0);
	assert_string_equal(w->quant->float_name, "conv/w");
	assert_values(m, "conv/w", (const float[]){0.5f, -1, 1.5f, -1, 1.25f, -31.75f}, 6);
	/* graph facts: CONV_2D [O,H,W,I] axis 0, K = 1·1·3; input x int8 with
	 * zero point 3 → codes −131..124; bias [100·0.125, −50·0.0625] */
	assert_int_equal(w->facts.role, ROLE_WEIGHT);
	assert_string_equal(w->facts.op_type, "CONV_2D");
	assert_int_equal(w->facts.out_axis, 0);
	assert_int_equal(w->facts.reduce_k, 3);
	assert_true(w->facts.has_input);
	assert_close(w->facts.s_in, 0.25, 0, 0);
	assert_int_equal(w->facts.x_qmin, -131);
	assert_int_equal(w->facts.x_qmax, 124);
	assert_int_equal(w->facts.nbias, 2);
	assert_close(w->facts.bias[0], 12.5, 0, 0);
	assert_close(w->facts.bias[1], -3.125, 0, 0);
	assert_true(w->facts.bias_max == INT32_MAX);

	const struct model_tensor *b = tensor(m, "conv/b");
	assert_int_equal(b->dtype, DTYPE_I32);
	assert_int_equal(b->facts.role, ROLE_BIAS);
	assert_string_equal(b->facts.op_type, "CONV_2D");
	assert_values(m, "conv/b", (const float[]){12.5f, -3.125f}, 2);

	/* int4, element 0 in the low nibble: bytes E1 83 07 → 1,-2,3,-8,7,0;
	 * per-tensor scale 0.1, zero point absent → 0. FULLY_CONNECTED came
	 * from builtin_code alone (the deprecated code absent, 0): axis 0, K 3, input not quantized */
	const struct model_tensor *fc = tensor(m, "fc/w");
	assert_int_equal(fc->dtype, DTYPE_I4);
	assert_int_equal(fc->nbytes, 3);
	assert_int_equal(fc->quant->layout.gran, GRAN_TENSOR);
	int32_t codes[6];
	struct qs_error e = {0};
	assert_int_equal(model_tensor_codes(m, fc, codes, &e), 0);
	const int32_t want_codes[6] = {1, -2, 3, -8, 7, 0};
	assert_memory_equal(codes, want_codes, sizeof codes);
	assert_values(m, "fc/w", (const float[]){0.1f, -0.2f, 0.3f, -0.8f, 0.7f, 0}, 6);
	assert_string_equal(fc->facts.op_type, "FULLY_CONNECTED");
	assert_int_equal(fc->facts.out_axis, 0);
	assert_int_equal(fc->facts.reduce_k, 3);
	assert_false(fc->facts.has_input);

	/* fp16 weight read through DEQUANTIZE by DEPTHWISE_CONV_2D [1,H,W,O]:
	 * axis 3, K = H·W = 1; 0x3C00 = 1, 0xC100 = −2.5 */
	const struct model_tensor *dw = tensor(m, "dw/w16");
	assert_int_equal(dw->dtype, DTYPE_F16);
	assert_null(dw->quant);
	assert_string_equal(dw->facts.op_type, "DEPTHWISE_CONV_2D");
	assert_int_equal(dw->facts.out_axis, 3);
	assert_int_equal(dw->facts.reduce_k, 1);
	assert_values(m, "dw/w16", (const float[]){1, -2.5f}, 2);

	/* uint8 per-tensor, zero point 128: (0−128)·0.5, 0, (255−128)·0.5 */
	const struct model_tensor *u8 = tensor(m, "u8");
	assert_int_equal(u8->dtype, DTYPE_U8);
	assert_int_equal(u8->quant->zero_point[0], 128);
	assert_values(m, "u8", (const float[]){-64, 0, 63.5f}, 3);
	assert_string_equal(u8->facts.op_type, "MyOp");

	/* Buffer.offset/size: the bytes after the FlatBuffer */
	assert_values(m, "big", (const float[]){2, -0.75f}, 2);
	/* STRING: listed as auxiliary bytes; nameless tensor 11: "tensor11" */
	const struct model_tensor *s = tensor(m, "str");
	assert_true(s->is_aux);
	assert_int_equal(s->nelem, 3);
	assert_false(model_tensor_analysable(s));
	assert_values(m, "tensor11", (const float[]){1}, 1);
	assert_values(m, "subgraph1:w", (const float[]){2, 3}, 2);
	model_free(m);
}

/* Position of field id of the table at t, or 0 when absent. */
static size_t field_pos(const uint8_t *p, size_t t, unsigned id)
{
	int32_t so;
	uint16_t vs, off;
	memcpy(&so, p + t, 4);
	size_t vt = t - (size_t)(int64_t)so;
	memcpy(&vs, p + vt, 2);
	if (4 + 2 * id >= vs)
		return 0;
	memcpy(&off, p + vt + 4 + 2 * id, 2);
	return off ? t + off : 0;
}

static size_t deref(const uint8_t *p, size_t at)
{
	uint32_t u;
	memcpy(&u, p + at, 4);
	return at + u;
}

static size_t vtable_of(const uint8_t *p, size_t t)
{
	int32_t so;
	memcpy(&so, p + t, 4);
	return t - (size_t)(int64_t)so;
}

/* flatc shares one vtable between tables with the same fields: conv/w and
 * conv/b (tensors 1 and 2), and their QuantizationParameters (the default
 * quantized_dimension 0 is not written, so it is absent and read as 0). */
static void test_shared_vtables_and_defaults(void **state)
{
	const char *dir = *state;
	if (!have_flatc())
		skip();
	const char *path = build_main(dir);
	size_t n;
	uint8_t *p = qs_read_file(path, &n);
	size_t model = deref(p, 0);
	size_t sgs = deref(p, field_pos(p, model, 2));
	size_t sg0 = deref(p, sgs + 4);
	size_t tv = deref(p, field_pos(p, sg0, 0));
	size_t t1 = deref(p, tv + 4 + 4), t2 = deref(p, tv + 4 + 8);

	assert_int_equal(vtable_of(p, t1), vtable_of(p, t2));
	size_t q1 = deref(p, field_pos(p, t1, 4)), q2 = deref(p, field_pos(p, t2, 4));
	assert_int_equal(vtable_of(p, q1), vtable_of(p, q2));
	assert_int_equal(field_pos(p, q1, 6), 0); /* quantized_dimension absent */
	free(p);

	struct model *m = load_ok(path);
	assert_int_equal(tensor(m, "conv/w")->quant->layout.axis, 0);
	assert_int_equal(tensor(m, "conv/b")->quant->layout.ngroups, 2);
	/* Tensor.type absent → FLOAT32 (big, tensor11) */
	assert_int_equal(tensor(m, "big")->dtype, DTYPE_F32);
	model_free(m);
}

/* Circle: negative TensorTypes. q8: GGML_Q8_0 [1,32], d = fp16 0x3800 = 0.5,
 * q_i = i − 16 → x_i = 0.5·(i − 16); u4: CIRCLE_UINT4 nibbles 1,2,15 with
 * scale 2 and zero point 8 → −14, −12, 14; q81: GGML_Q8_1 (no decoder in
 * qscope) → auxiliary bytes. The same file marked TFL3 knows none of them. */
static void test_circle(void **state)
{
	const char *dir = *state;
	if (!have_flatc())
		skip();
	char json[2048];
	int k = snprintf(
	        json, sizeof json,
	        "{\"version\": 3, \"subgraphs\": [{\"tensors\": [\n"
	        " {\"name\": \"q8\", \"type\": \"CIRCLE_GGML_Q8_0\", \"shape\": [1, 32], "
	        "\"buffer\": 1},\n"
	        " {\"name\": \"u4\", \"type\": \"CIRCLE_UINT4\", \"shape\": [3], \"buffer\": "
	        "2,\n"
	        "  \"quantization\": {\"scale\": [2.0], \"zero_point\": [8]}},\n"
	        " {\"name\": \"q81\", \"type\": \"CIRCLE_GGML_Q8_1\", \"shape\": [32], "
	        "\"buffer\": 3}]}],\n"
	        " \"buffers\": [{}, {\"data\": [0, 56");
	for (int i = 0; i < 32; i++)
		k += snprintf(json + k, sizeof json - (size_t)k, ", %d", (i - 16) & 0xff);
	k += snprintf(json + k, sizeof json - (size_t)k, "]}, {\"data\": [33, 15]}, {\"data\": [0");
	for (int i = 1; i < 36; i++)
		k += snprintf(json + k, sizeof json - (size_t)k, ", %d", i);
	snprintf(json + k, sizeof json - (size_t)k, "]}]}\n");
	const char *tfl = build(dir, "circ", json);
	size_t n;
	uint8_t *p = qs_read_file(tfl, &n);
	memcpy(p + 4, "CIR0", 4);
	const char *cpath = qs_path(dir, "circ.circle");
	qs_write_file(cpath, p, n);
	free(p);

	struct model *m = load_ok(cpath);
	const struct model_tensor *q8 = tensor(m, "q8");
	assert_non_null(q8->block);
	assert_string_equal(q8->block->name, "Q8_0");
	float want[32];
	for (int i = 0; i < 32; i++)
		want[i] = 0.5f * (float)(i - 16);
	assert_values(m, "q8", want, 32);
	assert_int_equal(tensor(m, "u4")->dtype, DTYPE_U4);
	assert_values(m, "u4", (const float[]){-14, -12, 14}, 3);
	assert_true(tensor(m, "q81")->is_aux);
	assert_int_equal(tensor(m, "q81")->nelem, 36);

	/* writing back: u4 with an unsigned symmetric narrow 4-bit plan,
	 * q ∈ 0..14, z = 7, s = 14/7 = 2 → codes 0, 1, 14 (nibbles 10 0E);
	 * a circle model keeps its extension */
	struct tensor_plan plan[3] = {{0}};
	struct qs_error e = {0};
	struct qspec u = {0};
	u.scheme = scheme_default();
	u.scheme.is_signed = false;
	u.scheme.narrow = true;
	u.scheme.bits = 4;
	u.scheme.gran = GRAN_TENSOR;
	u.method.kind = METHOD_MINMAX;
	plan[model_find(m, "u4")] = (struct tensor_plan){.quantize = true, .spec = u};
	struct write_opts o = {.plan = plan};
	assert_int_equal(model_write(m, &o, qs_path(dir, "c_out.tflite"), &e), QS_ERR_USAGE);
	assert_non_null(strstr(e.msg, ".circle extension"));
	if (model_write(m, &o, qs_path(dir, "c_out.circle"), &e))
		fail_msg("%s", e.msg);
	model_free(m);
	m = load_ok(qs_path(dir, "c_out.circle"));
	const struct model_tensor *u4 = tensor(m, "u4");
	assert_memory_equal(u4->data, ((const uint8_t[]){0x10, 0x0e}), 2);
	assert_close(u4->quant->scale[0], 2, 0, 0);
	assert_int_equal(u4->quant->zero_point[0], 7);
	model_free(m);

	m = load_ok(tfl); /* TFL3: the negative types are unknown */
	assert_true(tensor(m, "q8")->is_aux);
	assert_true(tensor(m, "u4")->is_aux);
	model_free(m);
}

/* ---- hostile files ----------------------------------------------------- */

static void expect_format_error(const char *path, const char *needle)
{
	struct model *m = NULL;
	struct qs_error e = {0};

	assert_int_equal(model_load(path, &m, &e), QS_ERR_FORMAT);
	assert_null(m);
	if (!strstr(e.msg, path) || !strstr(e.msg, needle))
		fail_msg("message '%s' lacks '%s' or the path", e.msg, needle);
	assert_null(strchr(e.msg, '\n'));
}

static void patch_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	qs_write_file(qs_path(dir, name), p, n);
}

/* The one place pat occurs in p (fails the test otherwise). */
static uint8_t *find_once(uint8_t *p, size_t n, const void *pat, size_t k)
{
	uint8_t *hit = NULL;

	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(p + i, pat, k)) {
			if (hit)
				fail_msg("pattern of %zu bytes found twice", k);
			hit = p + i;
		}
	assert_non_null(hit);
	return hit;
}

static void test_hostile(void **state)
{
	const char *dir = *state;
	if (!have_flatc())
		skip();
	const char *path = build_main(dir);
	size_t n;
	uint8_t *orig = qs_read_file(path, &n), *p = malloc(n);

	/* every truncation of the FlatBuffer part fails cleanly */
	for (size_t cut = 0; cut < n - 8; cut += 7) {
		patch_write(dir, "cut.tflite", orig, cut < 8 ? 8 : cut);
		struct model *m = NULL;
		struct qs_error e = {0};
		int rc = model_load(qs_path(dir, "cut.tflite"), &m, &e);
		if (rc == 0)
			fail_msg("truncated at %zu loaded", cut);
		assert_true(rc == QS_ERR_FORMAT || rc == QS_ERR_UNSUPPORTED);
	}
	/* root offset past the end */
	memcpy(p, orig, n);
	memcpy(p, (const uint8_t[]){0xf0, 0xff, 0xff, 0x7f}, 4);
	patch_write(dir, "root.tflite", p, n);
	expect_format_error(qs_path(dir, "root.tflite"), "Model");
	/* a huge vector length: the count before conv/w's bytes */
	memcpy(p, orig, n);
	uint8_t *d = find_once(p, n, (const uint8_t[]){1, 254, 3, 252, 5, 129}, 6);
	memcpy(d - 4, (const uint8_t[]){0xff, 0xff, 0xff, 0x7f}, 4);
	patch_write(dir, "vec.tflite", p, n);
	expect_format_error(qs_path(dir, "vec.tflite"), "runs past the end");
	/* 2 scales for conv/w along dim 0, its shape made [3,1,1,2] */
	memcpy(p, orig, n);
	d = find_once(p, n, (const uint8_t[]){4, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3},
	              17);
	d[4] = 3;
	d[16] = 2;
	patch_write(dir, "qdim.tflite", p, n);
	expect_format_error(qs_path(dir, "qdim.tflite"), "quantized_dimension");
	/* a vtable offset pointing before the file: the root table's soffset */
	memcpy(p, orig, n);
	uint32_t root;
	memcpy(&root, p, 4);
	memcpy(p + root, (const uint8_t[]){0xff, 0xff, 0xff, 0x7f}, 4);
	patch_write(dir, "vt.tflite", p, n);
	expect_format_error(qs_path(dir, "vt.tflite"), "vtable");
	free(p);
	free(orig);

	/* buffer index, opcode index and operator inputs out of range, zero
	 * points not matching the scales */
	static const char *const bad[][2] = {
	        {"{\"subgraphs\": [{\"tensors\": [{\"shape\": [1], \"buffer\": 5}]}], "
	         "\"buffers\": [{}]}",
	         "buffer 5 of 1"},
	        {"{\"operator_codes\": [{}], \"subgraphs\": [{\"tensors\": [{\"shape\": [1]}], "
	         "\"operators\": [{\"opcode_index\": 3, \"inputs\": [0]}]}]}",
	         "opcode_index"},
	        {"{\"operator_codes\": [{}], \"subgraphs\": [{\"tensors\": [{\"shape\": [1]}], "
	         "\"operators\": [{\"inputs\": [0, 7]}]}]}",
	         "Operator.inputs"},
	        {"{\"subgraphs\": [{\"tensors\": [{\"type\": \"INT8\", \"shape\": [2], \"buffer\": "
	         "1, \"quantization\": {\"scale\": [1, 2], \"zero_point\": [0, 0, 0], "
	         "\"quantized_dimension\": 0}}]}], \"buffers\": [{}, {\"data\": [1, 2]}]}",
	         "zero points"},
	        {"{\"subgraphs\": [{\"tensors\": [{\"type\": \"INT16\", \"shape\": [3], "
	         "\"buffer\": "
	         "1}]}], \"buffers\": [{}, {\"data\": [1, 2, 3, 4]}]}",
	         "need 6 bytes"},
	        {"{\"subgraphs\": [{\"tensors\": [{\"shape\": [2], \"buffer\": 1}]}], "
	         "\"buffers\": [{}, {\"offset\": 4096, \"size\": 8}]}",
	         "Buffer.offset"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char name[16];
		snprintf(name, sizeof name, "bad%zu", i);
		expect_format_error(build(dir, name, bad[i][0]), bad[i][1]);
	}
}

/* ---- writing ------------------------------------------------------------- */

static struct qspec spec_narrow(enum granularity g, int bits)
{
	struct qspec s = {0};
	s.scheme = scheme_default();
	s.scheme.narrow = true;
	s.scheme.gran = g;
	s.scheme.bits = bits;
	s.method.kind = METHOD_MINMAX;
	return s;
}

static void put_f32(uint8_t *p, float v)
{
	memcpy(p, &v, 4);
}

/* Plan conv/w (per channel), dw/w16 and big (per tensor), 8-bit symmetric
 * narrow minmax: s = amax/127, q = round_half_even(x/s), x̂ = q·s.
 *   conv/w ch0 [0.5,−1,1.5]: s = 1.5/127, q = 42.33→42, −84.67→−85, 127;
 *          ch1 [−1,1.25,−31.75]: s = 0.25, q = −4, 5, −127;
 *   conv/b (int32, follows its weight): scale s_in·s_w = 0.25·s, codes
 *          round(12.5/(0.25·1.5/127)) = round(4233.33) = 4233 and
 *          round(−3.125/0.0625) = −50;
 *   dw/w16 [1, −2.5]: s = 2.5/127, q = 50.8→51, −127; x̂ = 51·s = 1.0039370
 *          → fp16 1.00390625 (0x3C04), −2.5 (0xC100);
 *   big [2, −0.75]: s = 2/127, q = 127, −47.625→−48, x̂ = 127·s, −48·s.
 * Every other byte of the file stays as it was. */
static void test_write_requantize(void **state)
{
	const char *dir = *state;
	if (!have_flatc())
		skip();
	const char *in = build_main(dir);
	char out[512];
	snprintf(out, sizeof out, "%s", qs_path(dir, "out.tflite"));
	struct model *m = load_ok(in);
	struct tensor_plan plan[16] = {{0}};
	struct qs_error e = {0};

	plan[model_find(m, "conv/w")] =
	        (struct tensor_plan){.quantize = true, .spec = spec_narrow(GRAN_CHANNEL, 8)};
	plan[model_find(m, "conv/b")] =
	        (struct tensor_plan){.quantize = true, .spec = spec_narrow(GRAN_TENSOR, 4)};
	plan[model_find(m, "dw/w16")] =
	        (struct tensor_plan){.quantize = true, .spec = spec_narrow(GRAN_TENSOR, 8)};
	plan[model_find(m, "big")] =
	        (struct tensor_plan){.quantize = true, .spec = spec_narrow(GRAN_TENSOR, 8)};
	struct write_opts o = {.plan = plan};
	if (model_write(m, &o, out, &e))
		fail_msg("%s", e.msg);
	model_free(m);

	size_t n, n2;
	uint8_t *a = qs_read_file(in, &n), *want = malloc(n);
	uint8_t *b = qs_read_file(out, &n2);
	assert_int_equal(n, n2);
	memcpy(want, a, n);
	const float s0 = 1.5f / 127.0f, sb = 2.0f / 127.0f;
	memcpy(find_once(want, n, (const uint8_t[]){1, 254, 3, 252, 5, 129}, 6),
	       (const int8_t[]){42, -85, 127, -4, 5, -127}, 6);
	uint8_t *sc = find_once(want, n,
	                        (const uint8_t[]){2, 0, 0, 0, 0, 0, 0, 0x3f, 0, 0, 0x80, 0x3e}, 12);
	put_f32(sc + 4, s0);
	put_f32(sc + 8, 0.25f);
	memcpy(find_once(want, n, (const uint8_t[]){100, 0, 0, 0, 206, 255, 255, 255}, 8),
	       (const int32_t[]){4233, -50}, 8);
	sc = find_once(want, n, (const uint8_t[]){2, 0, 0, 0, 0, 0, 0, 0x3e, 0, 0, 0x80, 0x3d}, 12);
	put_f32(sc + 4, (float)(0.25 * (double)s0));
	put_f32(sc + 8, (float)(0.25 * 0.25));
	memcpy(find_once(want, n, (const uint8_t[]){0, 60, 0, 193}, 4),
	       (const uint8_t[]){4, 60, 0, 193}, 4);
	put_f32(want + n - 8, 127.0f * sb);
	put_f32(want + n - 4, -48.0f * sb);
	for (size_t i = 0; i < n; i++)
		if (b[i] != want[i])
			fail_msg("byte %zu: got %u, want %u (input %u)", i, b[i], want[i], a[i]);

	/* and the written file reads back with those values */
	m = load_ok(out);
	assert_values(m, "conv/w", (const float[]){42 * s0, -85 * s0, 127 * s0, -1, 1.25f, -31.75f},
	              6);
	assert_values(m, "dw/w16", (const float[]){1.00390625f, -2.5f}, 2);
	assert_close(tensor(m, "conv/b")->quant->scale[0], 0.25 * s0, 1e-7, 0);
	model_free(m);
	free(a);
	free(b);
	free(want);
}

static void expect_write_error(const char *in, const char *tname, struct qspec spec,
                               const char *needle)
{
	struct model *m = load_ok(in);
	struct tensor_plan plan[16] = {{0}};
	struct qs_error e = {0};
	char out[512];
	struct stat st;

	snprintf(out, sizeof out, "%s.err.tflite", in);
	plan[model_find(m, tname)] = (struct tensor_plan){.quantize = true, .spec = spec};
	struct write_opts o = {.plan = plan};
	assert_int_equal(model_write(m, &o, out, &e), QS_ERR_USAGE);
	if (!strstr(e.msg, tname) || !strstr(e.msg, needle))
		fail_msg("message '%s' lacks '%s' or '%s'", e.msg, tname, needle);
	assert_int_not_equal(stat(out, &st), 0); /* nothing written */
	model_free(m);
}

static void test_write_refusals(void **state)
{
	const char *dir = *state;
	if (!have_flatc())
		skip();
	const char *in = build_main(dir);
	/* fc/w has one scale: a per-channel plan has no room */
	expect_write_error(in, "fc/w", spec_narrow(GRAN_CHANNEL, 4), "room for 1");
	/* conv/w has two: per tensor does not fit either */
	expect_write_error(in, "conv/w", spec_narrow(GRAN_TENSOR, 8), "room for 2");
	/* signed codes −127..127 into uint8 */
	expect_write_error(in, "u8", spec_narrow(GRAN_TENSOR, 8), "do not fit");
	/* 16-bit codes into int4 */
	expect_write_error(in, "fc/w", spec_narrow(GRAN_TENSOR, 16), "do not fit");
	/* blocks have no place */
	struct qspec g = spec_narrow(GRAN_GROUP, 8);
	g.scheme.group_size = 1;
	g.scheme.axis = 3;
	expect_write_error(in, "conv/w", g, "blockwise");

	/* biases that cannot follow new weight scales: int64 (int16 activations)
	 * and an int32 bias whose input has no scale (x16 is float) */
	static const char bias_json[] =
	        "{\"operator_codes\": [{\"deprecated_builtin_code\": 9}],\n"
	        " \"subgraphs\": [{\"tensors\": [\n"
	        "  {\"name\": \"x\", \"type\": \"INT16\", \"shape\": [1, 2],\n"
	        "   \"quantization\": {\"scale\": [0.5], \"zero_point\": [0]}},\n"
	        "  {\"name\": \"w\", \"type\": \"INT8\", \"shape\": [1, 2], \"buffer\": 1,\n"
	        "   \"quantization\": {\"scale\": [0.5], \"zero_point\": [0]}},\n"
	        "  {\"name\": \"b\", \"type\": \"INT64\", \"shape\": [1], \"buffer\": 2,\n"
	        "   \"quantization\": {\"scale\": [0.25], \"zero_point\": [0]}},\n"
	        "  {\"name\": \"y\", \"type\": \"INT16\", \"shape\": [1, 1]},\n"
	        "  {\"name\": \"x16\", \"shape\": [1, 2]},\n"
	        "  {\"name\": \"w2\", \"type\": \"INT8\", \"shape\": [1, 2], \"buffer\": 3,\n"
	        "   \"quantization\": {\"scale\": [0.5], \"zero_point\": [0]}},\n"
	        "  {\"name\": \"b2\", \"type\": \"INT32\", \"shape\": [1], \"buffer\": 4,\n"
	        "   \"quantization\": {\"scale\": [0.25], \"zero_point\": [0]}},\n"
	        "  {\"name\": \"y2\", \"shape\": [1, 1]}],\n"
	        "  \"operators\": [{\"inputs\": [0, 1, 2], \"outputs\": [3]},\n"
	        "   {\"inputs\": [4, 5, 6], \"outputs\": [7]}]}],\n"
	        " \"buffers\": [{}, {\"data\": [3, 250]}, {\"data\": [5, 0, 0, 0, 0, 0, 0, 0]},\n"
	        "  {\"data\": [7, 9]}, {\"data\": [5, 0, 0, 0]}]}\n";
	const char *bin = build(dir, "bias", bias_json);
	expect_write_error(bin, "w", spec_narrow(GRAN_TENSOR, 8), "i64 bias 'b'");
	expect_write_error(bin, "w2", spec_narrow(GRAN_TENSOR, 8), "input activation's scale");
}

/* fc/w per tensor, 4-bit narrow: x = [.1,−.2,.3,−.8,.7,0], s = 0.8/7,
 * q = .875→1, −1.75→−2, 2.625→3, −7, 6.125→6, 0 → nibbles E1 93 06. */
static void test_write_int4(void **state)
{
	const char *dir = *state;
	if (!have_flatc())
		skip();
	const char *in = build_main(dir);
	struct model *m = load_ok(in);
	struct tensor_plan plan[16] = {{0}};
	struct qs_error e = {0};
	const char *out = qs_path(dir, "int4.tflite");

	plan[model_find(m, "fc/w")] =
	        (struct tensor_plan){.quantize = true, .spec = spec_narrow(GRAN_TENSOR, 4)};
	struct write_opts o = {.plan = plan};
	if (model_write(m, &o, out, &e))
		fail_msg("%s", e.msg);
	model_free(m);
	size_t n;
	uint8_t *b = qs_read_file(out, &n);
	find_once(b, n, (const uint8_t[]){0xe1, 0x93, 0x06}, 3);
	float s = 0.8f / 7.0f;
	uint8_t pat[8] = {1, 0, 0, 0};
	put_f32(pat + 4, s);
	find_once(b, n, pat, 8);
	free(b);
}

/* conv/w per channel, 8-bit asymmetric minmax: s = (max − min)/255,
 * z = round(−128 − min/s), q = round(x/s) + z:
 *   ch0 [0.5,−1,1.5]: s = 2.5/255, z = round(−128 + 102) = −26,
 *       q = 51 − 26 = 25, −102 − 26 = −128, 153 − 26 = 127;
 *   ch1 [−1,1.25,−31.75]: s = 33/255, z = round(−128 + 245.34) = 117,
 *       q = −8 + 117 = 109, 10 + 117 = 127, −245 + 117 = −128.
 * The zero points go into the int64 zero_point vector. */
static void test_write_asymmetric(void **state)
{
	const char *dir = *state;
	if (!have_flatc())
		skip();
	const char *in = build_main(dir);
	struct model *m = load_ok(in);
	struct tensor_plan plan[16] = {{0}};
	struct qs_error e = {0};
	const char *out = qs_path(dir, "asym.tflite");
	struct qspec a = spec_narrow(GRAN_CHANNEL, 8);

	a.scheme.symmetric = false;
	a.scheme.narrow = false;
	plan[model_find(m, "conv/w")] = (struct tensor_plan){.quantize = true, .spec = a};
	struct write_opts o = {.plan = plan};
	if (model_write(m, &o, out, &e))
		fail_msg("%s", e.msg);
	model_free(m);
	size_t n;
	uint8_t *b = qs_read_file(out, &n);
	find_once(b, n, (const int8_t[]){25, -128, 127, 109, 127, -128}, 6);
	find_once(b, n, (const int64_t[]){-26, 117}, 16);
	free(b);
	m = load_ok(out);
	const struct model_tensor *w = tensor(m, "conv/w");
	assert_int_equal(w->quant->zero_point[0], -26);
	assert_int_equal(w->quant->zero_point[1], 117);
	assert_close(w->quant->scale[0], 2.5f / 255.0f, 0, 0);
	assert_close(w->quant->scale[1], 33.0f / 255.0f, 0, 0);
	model_free(m);
}

/* Tensors sharing a buffer: float tensors a and b ([1.5, −2]) are written
 * once, with a's plan (s = 2/127, q = 95.25→95, −127); int8 qa and qb (own
 * scale vectors, one buffer) cannot be requantized separately: refused. */
static void test_write_shared(void **state)
{
	const char *dir = *state;
	if (!have_flatc())
		skip();
	const char *in =
	        build(dir, "shared",
	              "{\"subgraphs\": [{\"tensors\": [\n"
	              " {\"name\": \"a\", \"shape\": [2], \"buffer\": 1},\n"
	              " {\"name\": \"b\", \"shape\": [2], \"buffer\": 1},\n"
	              " {\"name\": \"qa\", \"type\": \"INT8\", \"shape\": [2], \"buffer\": 2, "
	              "\"quantization\": {\"scale\": [0.5]}},\n"
	              " {\"name\": \"qb\", \"type\": \"INT8\", \"shape\": [2], \"buffer\": 2, "
	              "\"quantization\": {\"scale\": [0.25]}}]}],\n"
	              " \"buffers\": [{}, {\"data\": [0, 0, 192, 63, 0, 0, 0, 192]}, {\"data\": "
	              "[1, 2]}]}\n");
	struct model *m = load_ok(in);
	struct tensor_plan plan[4] = {{0}};
	struct qs_error e = {0};
	const char *out = qs_path(dir, "shared_out.tflite");

	assert_int_equal(m->ntensors, 4);
	plan[0] = plan[1] =
	        (struct tensor_plan){.quantize = true, .spec = spec_narrow(GRAN_TENSOR, 8)};
	plan[1].spec.scheme.bits = 4; /* b's own plan is not used: a's bytes stay */
	struct write_opts o = {.plan = plan};
	if (model_write(m, &o, out, &e))
		fail_msg("%s", e.msg);
	plan[2] = plan[3] = plan[0];
	assert_int_equal(model_write(m, &o, qs_path(dir, "shared_q.tflite"), &e), QS_ERR_USAGE);
	if (!strstr(e.msg, "'qb' shares bytes") || !strstr(e.msg, "'qa'"))
		fail_msg("%s", e.msg);
	model_free(m);
	m = load_ok(out);
	const float s = 2.0f / 127.0f;
	assert_values(m, "a", (const float[]){95 * s, -127 * s}, 2);
	assert_values(m, "b", (const float[]){95 * s, -127 * s}, 2);
	model_free(m);
}

/* An int8 weight read through DEQUANTIZE by CONV_2D: its float_name is the
 * DEQUANTIZE output's name and its facts are CONV_2D's (axis 0, K = 2·2·1);
 * an op code of 150 (deprecated 127, the placeholder) is named BUILTIN_150;
 * a tensor with BlockwiseQuantization details is listed, not analysed. */
static void test_dequantize_names(void **state)
{
	const char *dir = *state;
	if (!have_flatc())
		skip();
	const char *in = build(
	        dir, "dq",
	        "{\"operator_codes\": [{\"deprecated_builtin_code\": 6},\n"
	        "  {\"deprecated_builtin_code\": 3},\n"
	        "  {\"deprecated_builtin_code\": 127, \"builtin_code\": 150}],\n"
	        " \"subgraphs\": [{\"tensors\": [\n"
	        "  {\"name\": \"x\", \"shape\": [1, 2, 2, 1]},\n"
	        "  {\"name\": \"wq\", \"type\": \"INT8\", \"shape\": [3, 2, 2, 1], \"buffer\": 1,\n"
	        "   \"quantization\": {\"scale\": [0.5]}},\n"
	        "  {\"name\": \"w_float\", \"shape\": [3, 2, 2, 1]},\n"
	        "  {\"name\": \"y\", \"shape\": [1, 1, 1, 3]},\n"
	        "  {\"name\": \"k\", \"shape\": [1], \"buffer\": 2},\n"
	        "  {\"name\": \"bw\", \"type\": \"INT8\", \"shape\": [2], \"buffer\": 3,\n"
	        "   \"quantization\": {\"scale\": [1.0], \"details_type\": "
	        "\"BlockwiseQuantization\",\n"
	        "    \"details\": {\"scales\": 4, \"block_size\": 32}}}],\n"
	        "  \"operators\": [{\"inputs\": [1], \"outputs\": [2]},\n"
	        "   {\"opcode_index\": 1, \"inputs\": [0, 2, -1], \"outputs\": [3]},\n"
	        "   {\"opcode_index\": 2, \"inputs\": [3, 4], \"outputs\": [0]}]}],\n"
	        " \"buffers\": [{}, {\"data\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]},\n"
	        "  {\"data\": [0, 0, 128, 63]}, {\"data\": [1, 2]}]}\n");
	struct model *m = load_ok(in);
	const struct model_tensor *w = tensor(m, "wq");

	assert_non_null(w->quant);
	assert_string_equal(w->quant->float_name, "w_float");
	assert_string_equal(w->facts.op_type, "CONV_2D");
	assert_int_equal(w->facts.out_axis, 0);
	assert_int_equal(w->facts.reduce_k, 4);
	assert_false(w->facts.has_input);
	assert_string_equal(tensor(m, "k")->facts.op_type, "BUILTIN_150");
	/* blockwise quantization details: not decoded, listed as auxiliary */
	assert_true(tensor(m, "bw")->is_aux);
	assert_null(tensor(m, "bw")->quant);
	assert_false(model_tensor_analysable(tensor(m, "bw")));
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_read_fixture),
	        cmocka_unit_test(test_shared_vtables_and_defaults),
	        cmocka_unit_test(test_circle),
	        cmocka_unit_test(test_hostile),
	        cmocka_unit_test(test_write_requantize),
	        cmocka_unit_test(test_write_refusals),
	        cmocka_unit_test(test_write_int4),
	        cmocka_unit_test(test_write_asymmetric),
	        cmocka_unit_test(test_write_shared),
	        cmocka_unit_test(test_dequantize_names),
	};
	return cmocka_run_group_tests(tests, setup, qs_group_rmtree);
}
