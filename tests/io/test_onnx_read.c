/* test_onnx_read.c — the ONNX reader against independent references:
 * python3-onnx's tensor counts of Debian's libonnx-testdata models, the
 * stored expected outputs of ONNX's QuantizeLinear / DequantizeLinear /
 * DynamicQuantizeLinear backend tests (bit for bit), values worked out by
 * hand for typed fields, external data and subgraphs, and malformed files
 * that must give one clear error naming the file. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "onnx.h"
#include "onnx_fixture.h"
#include "onnx_impl.h"
#include "qs_test.h"

#define TESTDATA "/usr/share/libonnx-testdata/data/node"

/* ---- building small models ---- */

static Onnx__TensorProto *f32_tensor(const char *name, const int64_t *dims, int nd, const float *v,
                                     size_t n)
{
	return onnx_pb_tensor(name, 1, dims, nd, v, n * sizeof *v);
}

/* t without raw_data, for the typed fields (float_data, int32_data, ...) or
 * external data. */
static Onnx__TensorProto *no_raw(Onnx__TensorProto *t)
{
	t->has_raw_data = 0;
	free(t->raw_data.data);
	t->raw_data.data = NULL;
	t->raw_data.len = 0;
	return t;
}

/* ---- 1. libonnx-testdata models with quantization ops ---- */

static const char *const quant_ops[] = {"QuantizeLinear",       "DequantizeLinear", "QLinearConv",
                                        "QLinearMatMul",        "MatMulInteger",    "ConvInteger",
                                        "DynamicQuantizeLinear"};

static bool uses_quant_op(Onnx__GraphProto *g, int depth)
{
	for (size_t i = 0; g && depth < 64 && i < g->n_node; i++) {
		Onnx__NodeProto *n = g->node[i];
		for (size_t k = 0; k < sizeof quant_ops / sizeof quant_ops[0]; k++)
			if (!strcmp(n->op_type, quant_ops[k]))
				return true;
		for (size_t a = 0; a < n->n_attribute; a++)
			if (uses_quant_op(n->attribute[a]->g, depth + 1))
				return true;
	}
	return false;
}

static size_t float_count(const struct model *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->ntensors; i++) {
		enum dtype d = m->tensors[i].dtype;
		n += d == DTYPE_F32 || d == DTYPE_F16 || d == DTYPE_BF16 || d == DTYPE_F64;
	}
	return n;
}

static void test_testdata_quant_models(void **state)
{
	(void)state;
	DIR *d = opendir(TESTDATA);
	if (!d)
		skip();
	const char *py = getenv("PY") ? getenv("PY") : "/usr/bin/python3";
	char *cmd = malloc(1 << 16);
	size_t len =
	        (size_t)snprintf(cmd, 1 << 16, "%s %s/tests/interop/onnx_count.py", py, QSCOPE_SRC);
	struct dirent *e;
	int found = 0;
	while ((e = readdir(d))) {
		char path[600];
		snprintf(path, sizeof path, "%s/%s/model.onnx", TESTDATA, e->d_name);
		size_t n;
		if (access(path, R_OK))
			continue;
		char *b = qs_read_file(path, &n);
		Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, n, (uint8_t *)b);
		free(b);
		bool q = mp && uses_quant_op(mp->graph, 0);
		if (mp)
			onnx__model_proto__free_unpacked(mp, NULL);
		if (!q)
			continue;
		len += (size_t)snprintf(cmd + len, (1 << 16) - len, " %s", path);
		found++;
	}
	closedir(d);
	assert_true(found >= 17); /* the package's README counts 17 */
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[700];
	int checked = 0;
	while (fgets(line, sizeof line, p)) {
		size_t want;
		char path[600];
		assert_int_equal(sscanf(line, "%zu %599s", &want, path), 2);
		struct model *m = load_ok(path);
		if (float_count(m) != want)
			fail_msg("%s: %zu float tensors, python3-onnx finds %zu", path,
			         float_count(m), want);
		model_free(m);
		checked++;
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(checked, found);
	free(cmd);
}

/* ---- 2. QuantizeLinear / DequantizeLinear bit for bit ---- */

static void load_pb(const char *test, const char *file, struct onnx_tensor_file *t)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s/test_data_set_0/%s", TESTDATA, test, file);
	struct qs_error e = {0};
	if (onnx_tensor_file_load(path, t, &e))
		fail_msg("%s", e.msg);
}

/* Channel of element i along axis 1 (the ONNX default). */
static uint64_t chan_axis1(const struct onnx_tensor_file *x, uint64_t i, uint64_t nch)
{
	if (nch == 1)
		return 0;
	uint64_t inner = 1;
	for (int d = 2; d < x->ndim; d++)
		inner *= (uint64_t)x->shape[d];
	return (i / inner) % nch;
}

static void check_quantize(const char *test)
{
	struct onnx_tensor_file x, s, z, y;
	load_pb(test, "input_0.pb", &x);
	load_pb(test, "input_1.pb", &s);
	load_pb(test, "input_2.pb", &z);
	load_pb(test, "output_0.pb", &y);
	const struct dtype_info *di = dtype_info(z.dtype);
	for (uint64_t i = 0; i < x.nelem; i++) {
		uint64_t c = chan_axis1(&x, i, s.nelem);
		struct qparam p = {.scale = (float)s.v[c], .zero_point = (int32_t)z.v[c]};
		int32_t q = quant_one((float)x.v[i], &p, (int32_t)di->int_min, (int32_t)di->int_max,
		                      ROUND_HALF_EVEN);
		if (q != (int32_t)y.v[i])
			fail_msg("%s[%llu]: x %g → %d, expected %g", test, (unsigned long long)i,
			         x.v[i], q, y.v[i]);
	}
	onnx_tensor_file_free(&x);
	onnx_tensor_file_free(&s);
	onnx_tensor_file_free(&z);
	onnx_tensor_file_free(&y);
}

static void check_dequantize(const char *test)
{
	struct onnx_tensor_file x, s, z, y;
	load_pb(test, "input_0.pb", &x);
	load_pb(test, "input_1.pb", &s);
	load_pb(test, "input_2.pb", &z);
	load_pb(test, "output_0.pb", &y);
	for (uint64_t i = 0; i < x.nelem; i++) {
		uint64_t c = chan_axis1(&x, i, s.nelem);
		struct qparam p = {.scale = (float)s.v[c], .zero_point = (int32_t)z.v[c]};
		float v = quant_deq((int32_t)x.v[i], &p);
		float want = (float)y.v[i];
		if (memcmp(&v, &want, sizeof v))
			fail_msg("%s[%llu]: %.9g, expected %.9g", test, (unsigned long long)i, v,
			         want);
	}
	onnx_tensor_file_free(&x);
	onnx_tensor_file_free(&s);
	onnx_tensor_file_free(&z);
	onnx_tensor_file_free(&y);
}

/* DynamicQuantizeLinear is the affine uint8 scheme over [min(0,x), max(0,x)]. */
static void check_dynamic(const char *test)
{
	struct onnx_tensor_file x, y, s, z;
	load_pb(test, "input_0.pb", &x);
	load_pb(test, "output_0.pb", &y);
	load_pb(test, "output_1.pb", &s);
	load_pb(test, "output_2.pb", &z);
	struct scheme sc = scheme_default();
	sc.is_signed = false;
	sc.symmetric = false;
	sc.gran = GRAN_TENSOR;
	double lo = INFINITY, hi = -INFINITY;
	for (uint64_t i = 0; i < x.nelem; i++) {
		lo = fmin(lo, x.v[i]);
		hi = fmax(hi, x.v[i]);
	}
	struct qparam p = quant_param_from_range(&sc, lo, hi);
	float want_s = (float)s.v[0];
	if (memcmp(&p.scale, &want_s, 4))
		fail_msg("%s: scale %.9g, expected %.9g", test, p.scale, want_s);
	assert_int_equal(p.zero_point, (int32_t)z.v[0]);
	for (uint64_t i = 0; i < x.nelem; i++)
		assert_int_equal(quant_one((float)x.v[i], &p, 0, 255, ROUND_HALF_EVEN),
		                 (int32_t)y.v[i]);
	onnx_tensor_file_free(&x);
	onnx_tensor_file_free(&y);
	onnx_tensor_file_free(&s);
	onnx_tensor_file_free(&z);
}

static void test_testdata_qdq_bitexact(void **state)
{
	(void)state;
	if (access(TESTDATA "/test_quantizelinear", R_OK))
		skip();
	check_quantize("test_quantizelinear");
	check_quantize("test_quantizelinear_axis");
	check_dequantize("test_dequantizelinear");
	check_dequantize("test_dequantizelinear_axis");
	check_dynamic("test_dynamicquantizelinear");
	check_dynamic("test_dynamicquantizelinear_max_adjusted");
	check_dynamic("test_dynamicquantizelinear_min_adjusted");
}

/* ---- 3. typed fields, Constant nodes, subgraphs, external data ---- */

static void test_typed_fields(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), path[512];
	snprintf(path, sizeof path, "%s/typed.onnx", dir);
	Onnx__ModelProto *mp = model_new(7, 13);
	Onnx__GraphProto *g = mp->graph;
	int64_t d2 = 2, d3 = 3;
	/* float_data */
	Onnx__TensorProto *t = no_raw(onnx_pb_tensor("f", 1, &d2, 1, NULL, 0));
	t->n_float_data = 2;
	t->float_data = onnx_xmalloc(2 * sizeof(float));
	t->float_data[0] = 1.5f;
	t->float_data[1] = -2.0f;
	onnx_pb_graph_add_init(g, t);
	/* fp16 as int32 bit patterns: 1.5 → 15872, -2 → 49152 */
	t = no_raw(onnx_pb_tensor("h", 10, &d2, 1, NULL, 0));
	t->n_int32_data = 2;
	t->int32_data = onnx_xmalloc(2 * sizeof(int32_t));
	t->int32_data[0] = 15872;
	t->int32_data[1] = 49152;
	onnx_pb_graph_add_init(g, t);
	/* int4 [3, -8, 7] packed two per int32 entry: 0x83, 0x07 */
	t = no_raw(onnx_pb_tensor("i4", 22, &d3, 1, NULL, 0));
	t->n_int32_data = 2;
	t->int32_data = onnx_xmalloc(2 * sizeof(int32_t));
	t->int32_data[0] = 0x83;
	t->int32_data[1] = 0x07;
	onnx_pb_graph_add_init(g, t);
	/* double_data and uint64_data (uint32) */
	t = no_raw(onnx_pb_tensor("d", 11, &d2, 1, NULL, 0));
	t->n_double_data = 2;
	t->double_data = onnx_xmalloc(2 * sizeof(double));
	t->double_data[0] = 0.25;
	t->double_data[1] = -1e10;
	onnx_pb_graph_add_init(g, t);
	t = no_raw(onnx_pb_tensor("u32", 12, &d2, 1, NULL, 0));
	t->n_uint64_data = 2;
	t->uint64_data = onnx_xmalloc(2 * sizeof(uint64_t));
	t->uint64_data[0] = 7;
	t->uint64_data[1] = 4000000000u;
	onnx_pb_graph_add_init(g, t);
	/* bf16 raw: 1.0 = 0x3f80; Constant node holding it */
	uint16_t bf[2] = {0x3f80, 0xc040};
	const char *none[] = {NULL};
	Onnx__NodeProto *c = node(g, "Constant", none, 0, "cbf");
	onnx_pb_attr_tensor(c, "value", onnx_pb_tensor("", 16, &d2, 1, bf, sizeof bf));
	/* an If whose branches hold a Constant and an initializer */
	const char *cond[] = {"cond"};
	Onnx__NodeProto *ifn = node(g, "If", cond, 1, "ifout");
	for (int k = 0; k < 2; k++) {
		Onnx__GraphProto *sg = onnx_xmalloc(sizeof *sg);
		onnx__graph_proto__init(sg);
		float v = k ? 3.0f : 4.0f;
		onnx_pb_graph_add_init(sg, f32_tensor(k ? "then_w" : "else_w", NULL, 0, &v, 1));
		Onnx__AttributeProto *a = onnx_xmalloc(sizeof *a);
		onnx__attribute_proto__init(a);
		a->name = onnx_strdup(k ? "then_branch" : "else_branch");
		a->has_type = 1;
		a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
		a->g = sg;
		ifn->attribute = realloc(ifn->attribute, (ifn->n_attribute + 1) * sizeof *a);
		ifn->attribute[ifn->n_attribute++] = a;
	}
	save(mp, path);

	struct model *m = load_ok(path);
	float v[3];
	const struct model_tensor *x = find(m, "f");
	assert_int_equal(x->dtype, DTYPE_F32);
	model_tensor_to_f32(m, x, v, NULL);
	assert_close(v[0], 1.5, 0, 0);
	assert_close(v[1], -2.0, 0, 0);
	x = find(m, "h");
	assert_int_equal(x->dtype, DTYPE_F16);
	model_tensor_to_f32(m, x, v, NULL);
	assert_close(v[0], 1.5, 0, 0);
	assert_close(v[1], -2.0, 0, 0);
	x = find(m, "i4");
	assert_int_equal(x->dtype, DTYPE_I4);
	assert_int_equal(dtype_get_int(x->dtype, x->data, 0, x->nibbles), 3);
	assert_int_equal(dtype_get_int(x->dtype, x->data, 1, x->nibbles), -8);
	assert_int_equal(dtype_get_int(x->dtype, x->data, 2, x->nibbles), 7);
	x = find(m, "d");
	model_tensor_to_f32(m, x, v, NULL);
	assert_close(v[0], 0.25, 0, 0);
	assert_close(v[1], -1e10, 0, 0);
	x = find(m, "u32");
	assert_int_equal(x->dtype, DTYPE_U32);
	assert_int_equal(dtype_get_int(x->dtype, x->data, 1, x->nibbles), 4000000000LL);
	x = find(m, "cbf");
	assert_int_equal(x->dtype, DTYPE_BF16);
	model_tensor_to_f32(m, x, v, NULL);
	assert_close(v[0], 1.0, 0, 0);
	assert_close(v[1], -3.0, 0, 0);
	x = find(m, "then_w");
	model_tensor_to_f32(m, x, v, NULL);
	assert_close(v[0], 3.0, 0, 0);
	find(m, "else_w");
	model_free(m);
	qs_rmtree(dir);
}

static void add_external(Onnx__TensorProto *t, const char *loc, const char *off, const char *len)
{
	const char *kv[][2] = {{"location", loc}, {"offset", off}, {"length", len}};
	no_raw(t);
	t->has_data_location = 1;
	t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	for (size_t i = 0; i < 3; i++) {
		if (!kv[i][1])
			continue;
		Onnx__StringStringEntryProto *e = onnx_xmalloc(sizeof *e);
		onnx__string_string_entry_proto__init(e);
		e->key = onnx_strdup(kv[i][0]);
		e->value = onnx_strdup(kv[i][1]);
		t->external_data = realloc(t->external_data, (t->n_external_data + 1) * sizeof e);
		t->external_data[t->n_external_data++] = e;
	}
}

static void ext_model(const char *path, const char *loc, const char *off, const char *len)
{
	Onnx__ModelProto *mp = model_new(7, 13);
	int64_t d = 4;
	float v[4] = {0};
	Onnx__TensorProto *t = f32_tensor("w", &d, 1, v, 4);
	add_external(t, loc, off, len);
	onnx_pb_graph_add_init(mp->graph, t);
	save(mp, path);
}

static void expect_error(const char *path, const char *file, const char *what)
{
	struct model *m = NULL;
	struct qs_error e = {0};
	int rc = model_load(path, &m, &e);
	if (rc == 0)
		fail_msg("%s loaded; expected an error about %s", path, what);
	assert_null(m);
	if (!strstr(e.msg, file) || !strstr(e.msg, what))
		fail_msg("message '%s' lacks '%s' or '%s'", e.msg, file, what);
	assert_null(strchr(e.msg, '\n'));
}

static void test_external_data(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), path[512], sub[512], data[512];
	snprintf(sub, sizeof sub, "%s/m", dir);
	mkdir(sub, 0755);
	float v[6] = {9, 9, 1.25f, -2.5f, 3.0f, 4.5f};
	snprintf(data, sizeof data, "%s/m/w.bin", dir);
	qs_write_file(data, v, sizeof v);
	snprintf(path, sizeof path, "%s/m/ok.onnx", dir);
	ext_model(path, "w.bin", "8", "16");
	struct model *m = load_ok(path);
	float got[4];
	model_tensor_to_f32(m, find(m, "w"), got, NULL);
	assert_close(got[0], 1.25, 0, 0);
	assert_close(got[3], 4.5, 0, 0);
	model_free(m);

	snprintf(path, sizeof path, "%s/m/past.onnx", dir);
	ext_model(path, "w.bin", "16", "16");
	expect_error(path, "past.onnx", "past its end");
	snprintf(path, sizeof path, "%s/m/dotdot.onnx", dir);
	ext_model(path, "../m/w.bin", "0", "16");
	expect_error(path, "dotdot.onnx", "leaves the model's folder");
	snprintf(path, sizeof path, "%s/m/abs.onnx", dir);
	ext_model(path, data, "0", "16");
	expect_error(path, "abs.onnx", "leaves the model's folder");
	/* a symlink inside the folder that points outside it */
	char outside[512], link[512];
	snprintf(outside, sizeof outside, "%s/secret.bin", dir);
	qs_write_file(outside, v, sizeof v);
	snprintf(link, sizeof link, "%s/m/link.bin", dir);
	assert_int_equal(symlink(outside, link), 0);
	snprintf(path, sizeof path, "%s/m/sym.onnx", dir);
	ext_model(path, "link.bin", "0", "16");
	expect_error(path, "sym.onnx", "outside the model's folder");
	snprintf(path, sizeof path, "%s/m/len.onnx", dir);
	ext_model(path, "w.bin", "0", "12");
	expect_error(path, "len.onnx", "need 16 bytes");
	qs_rmtree(dir);
}

/* ---- 4. malformed files ---- */

static void test_malformed(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), path[512];
	/* a valid model, then truncated in the middle of its raw_data */
	snprintf(path, sizeof path, "%s/good.onnx", dir);
	Onnx__ModelProto *mp = model_new(7, 13);
	int64_t d = 64;
	float v[64] = {0};
	onnx_pb_graph_add_init(mp->graph, f32_tensor("w", &d, 1, v, 64));
	save(mp, path);
	size_t n;
	char *b = qs_read_file(path, &n);
	snprintf(path, sizeof path, "%s/trunc.onnx", dir);
	qs_write_file(path, b, n - 100);
	expect_error(path, "trunc.onnx", "truncated");
	/* field 7 (graph) sent as a varint: wrong wire type */
	uint8_t wire[] = {0x08, 0x07, 0x38, 0x05};
	snprintf(path, sizeof path, "%s/wire.onnx", dir);
	qs_write_file(path, wire, sizeof wire);
	expect_error(path, "wire.onnx", "wrong wire type");
	free(b);
	/* dims say 64 floats, raw_data has 60 */
	mp = model_new(7, 13);
	onnx_pb_graph_add_init(mp->graph, f32_tensor("w", &d, 1, v, 60));
	snprintf(path, sizeof path, "%s/size.onnx", dir);
	save(mp, path);
	expect_error(path, "size.onnx", "raw_data has 240");
	/* absurd dims */
	mp = model_new(7, 13);
	int64_t huge[] = {1LL << 40, 1LL << 40};
	onnx_pb_graph_add_init(mp->graph, onnx_pb_tensor("w", 1, huge, 2, v, 4));
	snprintf(path, sizeof path, "%s/absurd.onnx", dir);
	save(mp, path);
	expect_error(path, "absurd.onnx", "absurd dims");
	/* negative dim */
	mp = model_new(7, 13);
	int64_t neg = -4;
	onnx_pb_graph_add_init(mp->graph, onnx_pb_tensor("w", 1, &neg, 1, v, 16));
	snprintf(path, sizeof path, "%s/neg.onnx", dir);
	save(mp, path);
	expect_error(path, "neg.onnx", "negative dim");
	/* typed field count mismatch */
	mp = model_new(7, 13);
	Onnx__TensorProto *t = no_raw(onnx_pb_tensor("w", 1, &d, 1, NULL, 0));
	t->n_float_data = 3;
	t->float_data = onnx_xmalloc(3 * sizeof(float));
	onnx_pb_graph_add_init(mp->graph, t);
	snprintf(path, sizeof path, "%s/typed.onnx", dir);
	save(mp, path);
	expect_error(path, "typed.onnx", "float_data has 3 entries");
	/* subgraphs nested 70 deep */
	mp = model_new(7, 13);
	Onnx__GraphProto *g = mp->graph;
	for (int k = 0; k < 70; k++) {
		const char *in[] = {"c"};
		Onnx__NodeProto *ifn = node(g, "If", in, 1, "o");
		Onnx__AttributeProto *a = onnx_xmalloc(sizeof *a);
		onnx__attribute_proto__init(a);
		a->name = onnx_strdup("then_branch");
		a->has_type = 1;
		a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
		a->g = onnx_xmalloc(sizeof *a->g);
		onnx__graph_proto__init(a->g);
		ifn->attribute = onnx_xmalloc(sizeof *ifn->attribute);
		ifn->attribute[0] = a;
		ifn->n_attribute = 1;
		g = a->g;
	}
	snprintf(path, sizeof path, "%s/deep.onnx", dir);
	save(mp, path);
	expect_error(path, "deep.onnx", "nested deeper than 64");
	/* an empty file and a model without a graph */
	snprintf(path, sizeof path, "%s/empty.onnx", dir);
	qs_write_file(path, "", 0);
	expect_error(path, "empty.onnx", "empty");
	uint8_t nograph[] = {0x08, 0x07};
	snprintf(path, sizeof path, "%s/nograph.onnx", dir);
	qs_write_file(path, nograph, sizeof nograph);
	expect_error(path, "nograph.onnx", "no graph");
	qs_rmtree(dir);
}

/* ---- 5. quantized graphs and graph facts ---- */

static void test_qoperator_and_facts(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), path[512];
	snprintf(path, sizeof path, "%s/q.onnx", dir);
	Onnx__ModelProto *mp = model_new(7, 13);
	Onnx__GraphProto *g = mp->graph;
	/* QLinearConv, weight int8 [2,3,1,1] per channel, bias int32 */
	int64_t dw[] = {2, 3, 1, 1}, d2 = 2;
	int8_t w[6] = {1, -2, 3, 4, 5, -6};
	float ws[2] = {0.5f, 0.25f}, xs = 0.1f, ys = 0.2f;
	int8_t wz[2] = {0, 0};
	uint8_t xz = 128, yz = 0;
	int32_t bias[2] = {100, -40};
	onnx_pb_graph_add_init(g, onnx_pb_tensor("W_quantized", 3, dw, 4, w, 6));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("W_scale", 1, &d2, 1, ws, 8));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("W_zero_point", 3, &d2, 1, wz, 2));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("x_scale", 1, NULL, 0, &xs, 4));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("x_zero_point", 2, NULL, 0, &xz, 1));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("y_scale", 1, NULL, 0, &ys, 4));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("y_zero_point", 2, NULL, 0, &yz, 1));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("B_quantized", 6, &d2, 1, bias, 8));
	const char *in[] = {"x",           "x_scale",      "x_zero_point",
	                    "W_quantized", "W_scale",      "W_zero_point",
	                    "y_scale",     "y_zero_point", "B_quantized"};
	node(g, "QLinearConv", in, 9, "y");
	/* DequantizeLinear with the default axis (1) on a [2,3] weight feeding MatMul */
	int64_t dm[] = {2, 3}, d3 = 3;
	uint8_t m8[6] = {0, 10, 20, 30, 40, 255};
	float ms[3] = {1.0f, 2.0f, 4.0f};
	uint8_t mz[3] = {10, 20, 30};
	onnx_pb_graph_add_init(g, onnx_pb_tensor("M_quantized", 2, dm, 2, m8, 6));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("M_scale", 1, &d3, 1, ms, 12));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("M_zero_point", 2, &d3, 1, mz, 3));
	const char *dq[] = {"M_quantized", "M_scale", "M_zero_point"};
	node(g, "DequantizeLinear", dq, 3, "M");
	const char *mm[] = {"a", "M"};
	node(g, "MatMul", mm, 2, "mmout");
	/* blocked int4 DequantizeLinear, axis 0, block 2, on a [4,2] weight */
	int64_t db[] = {4, 2}, dbs[] = {2, 2};
	uint8_t b4[4] = {0x21, 0x43, 0x65, 0x87}; /* 1,2,3,4,5,6,7,-8 */
	float bs[4] = {1, 2, 3, 4};
	onnx_pb_graph_add_init(g, onnx_pb_tensor("K_q", 22, db, 2, b4, 4));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("K_s", 1, dbs, 2, bs, 16));
	const char *dk[] = {"K_q", "K_s"};
	Onnx__NodeProto *n = node(g, "DequantizeLinear", dk, 2, "K_DequantizeLinear_Output");
	onnx_pb_attr_int(n, "axis", 0);
	onnx_pb_attr_int(n, "block_size", 2);
	/* a float Gemm with transB and bias */
	int64_t dg[] = {5, 7}, d5 = 5;
	float gw[35] = {0}, gb[5] = {1, 2, 3, 4, 5};
	onnx_pb_graph_add_init(g, f32_tensor("G", dg, 2, gw, 35));
	onnx_pb_graph_add_init(g, f32_tensor("Gb", &d5, 1, gb, 5));
	const char *gi[] = {"h", "G", "Gb"};
	n = node(g, "Gemm", gi, 3, "gout");
	onnx_pb_attr_int(n, "transB", 1);
	save(mp, path);

	struct model *m = load_ok(path);
	const struct model_tensor *t = find(m, "W_quantized");
	assert_non_null(t->quant);
	assert_int_equal(t->quant->bits, 8);
	assert_int_equal(t->quant->layout.gran, GRAN_CHANNEL);
	assert_int_equal(t->quant->layout.axis, 0);
	assert_close(t->quant->scale[1], 0.25, 0, 0);
	assert_string_equal(t->quant->float_name, "W");
	assert_int_equal(t->facts.role, ROLE_WEIGHT);
	assert_string_equal(t->facts.op_type, "QLinearConv");
	assert_int_equal(t->facts.out_axis, 0);
	assert_int_equal(t->facts.reduce_k, 3);
	assert_true(t->facts.has_input);
	assert_close(t->facts.s_in, 0.1f, 0, 0);
	assert_int_equal(t->facts.x_qmin, -128);
	assert_int_equal(t->facts.x_qmax, 127);
	/* bias dequantized with x_scale·w_scale: 100·0.05, −40·0.025 */
	assert_int_equal(t->facts.nbias, 2);
	assert_close(t->facts.bias[0], 100 * (0.1f * 0.5f), 1e-6, 0);
	assert_close(t->facts.bias[1], -40 * (0.1f * 0.25f), 1e-6, 0);
	assert_true(find(m, "W_scale")->is_aux);
	assert_true(find(m, "W_zero_point")->is_aux);
	assert_true(find(m, "x_scale")->is_aux);
	assert_int_equal(find(m, "B_quantized")->facts.role, ROLE_BIAS);

	t = find(m, "M_quantized");
	assert_non_null(t->quant);
	assert_int_equal(t->quant->layout.gran, GRAN_CHANNEL);
	assert_int_equal(t->quant->layout.axis, 1); /* the default axis */
	assert_string_equal(t->quant->float_name, "M");
	assert_string_equal(t->facts.op_type, "MatMul");
	assert_int_equal(t->facts.out_axis, 1);
	assert_int_equal(t->facts.reduce_k, 2);
	float x[6];
	model_tensor_to_f32(m, t, x, NULL);
	/* (q − zp[c])·s[c], c = column: (0−10)·1, (10−20)·2, (20−30)·4, (30−10)·1 ... */
	assert_close(x[0], -10, 0, 0);
	assert_close(x[1], -20, 0, 0);
	assert_close(x[2], -40, 0, 0);
	assert_close(x[3], 20, 0, 0);
	assert_close(x[5], (255 - 30) * 4.0, 0, 0);

	t = find(m, "K_q");
	assert_non_null(t->quant);
	assert_int_equal(t->quant->layout.gran, GRAN_GROUP);
	assert_int_equal(t->quant->layout.block, 2);
	assert_int_equal(t->quant->qmin, -8);
	assert_string_equal(t->quant->float_name, "K");
	float k[8];
	model_tensor_to_f32(m, t, k, NULL);
	/* rows 0–1 use scales [1, 2], rows 2–3 use [3, 4] */
	assert_close(k[0], 1, 0, 0);
	assert_close(k[1], 4, 0, 0);
	assert_close(k[4], 15, 0, 0);
	assert_close(k[7], -32, 0, 0);

	t = find(m, "G");
	assert_int_equal(t->facts.role, ROLE_WEIGHT);
	assert_int_equal(t->facts.out_axis, 0);
	assert_int_equal(t->facts.reduce_k, 7);
	assert_int_equal(t->facts.nbias, 5);
	assert_close(t->facts.bias[4], 5, 0, 0);
	assert_int_equal(find(m, "Gb")->facts.role, ROLE_BIAS);
	model_free(m);
	qs_rmtree(dir);
}

/* A float weight quantized at run time: W → QuantizeLinear(axis 0) →
 * DequantizeLinear → Conv. The reader lists the codes QuantizeLinear makes,
 * worked out here: w/s = 2, −1.5, 0.6 (s 0.5) and 0.8, 0.5, −160 (s 0.25)
 * → round half to even, saturate → 2, −2, 1, 1, 0, −128. */
static void test_runtime_quantize(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), path[512];
	snprintf(path, sizeof path, "%s/qdq.onnx", dir);
	Onnx__ModelProto *mp = model_new(7, 13);
	Onnx__GraphProto *g = mp->graph;
	int64_t dw[] = {2, 3, 1, 1}, d2 = 2;
	float w[6] = {1.0f, -0.75f, 0.3f, 0.2f, 0.125f, -40.0f}, s[2] = {0.5f, 0.25f};
	int8_t z[2] = {0, 0};
	onnx_pb_graph_add_init(g, f32_tensor("W", dw, 4, w, 6));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("W_s", 1, &d2, 1, s, sizeof s));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("W_z", 3, &d2, 1, z, sizeof z));
	const char *qi[] = {"W", "W_s", "W_z"}, *di[] = {"Wq", "W_s", "W_z"}, *ci[] = {"x", "Wd"};
	onnx_pb_attr_int(node(g, "QuantizeLinear", qi, 3, "Wq"), "axis", 0);
	onnx_pb_attr_int(node(g, "DequantizeLinear", di, 3, "Wd"), "axis", 0);
	node(g, "Conv", ci, 2, "y");
	save(mp, path);
	struct model *m = load_ok(path);
	const struct model_tensor *t = find(m, "W_quantized");
	assert_int_equal(t->dtype, DTYPE_I8);
	assert_non_null(t->quant);
	assert_string_equal(t->quant->float_name, "W");
	assert_int_equal(t->quant->layout.gran, GRAN_CHANNEL);
	const int want[6] = {2, -2, 1, 1, 0, -128};
	for (int i = 0; i < 6; i++)
		assert_int_equal(dtype_get_int(t->dtype, t->data, (uint64_t)i, t->nibbles),
		                 want[i]);
	assert_int_equal(t->facts.role, ROLE_WEIGHT);
	assert_string_equal(t->facts.op_type, "Conv");
	assert_int_equal(t->facts.reduce_k, 3);
	assert_true(find(m, "W")->is_aux);
	assert_true(find(m, "W_s")->is_aux);
	assert_true(model_tensor_analysable(t));
	model_free(m);
	qs_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_testdata_quant_models),
	        cmocka_unit_test(test_testdata_qdq_bitexact),
	        cmocka_unit_test(test_typed_fields),
	        cmocka_unit_test(test_external_data),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_qoperator_and_facts),
	        cmocka_unit_test(test_runtime_quantize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
