/* test_onnx_write.c — the ONNX QDQ writer: structure (opset, axis,
 * block_size, names), codes against the closed-form bound |x − x̂| ≤ s/2,
 * the int32 bias against round(b / (s_in·s_w)) worked out here from the
 * written scales, the Samsung/ONE bias-overflow case, opset conversions,
 * fake-quant, --like, unknown fields, and the committed demo bytes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "onnx.h"
#include "onnx_fixture.h"
#include "onnx_impl.h"
#include "qs_test.h"

static Onnx__ModelProto *unpack_file(const char *path)
{
	size_t n;
	uint8_t *b = qs_read_file(path, &n);
	Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, n, b);
	free(b);
	assert_non_null(mp);
	return mp;
}

static const Onnx__NodeProto *find_node(const Onnx__GraphProto *g, const char *op, const char *out)
{
	for (size_t i = 0; i < g->n_node; i++)
		if (!strcmp(g->node[i]->op_type, op) &&
		    (!out || !strcmp(g->node[i]->output[0], out)))
			return g->node[i];
	return NULL;
}

static struct qspec spec_of(const char *qt, enum granularity g, uint64_t group)
{
	struct qspec s = {.qt = qtype_find(qt), .scheme = scheme_default()};
	assert_non_null(s.qt);
	s.scheme.gran = g;
	s.scheme.group_size = group;
	s.scheme.is_signed = s.qt->is_signed;
	s.scheme.symmetric = s.qt->is_signed;
	s.method.kind = METHOD_MINMAX;
	return s;
}

/* Write m with every analysable float tensor quantized per spec. */
static int write_all(const struct model *m, const struct qspec *s, bool fake, const char *out,
                     struct qs_error *e)
{
	struct tensor_plan *plan = calloc(m->ntensors + 1, sizeof *plan);
	for (size_t i = 0; i < m->ntensors; i++) {
		plan[i].quantize = model_tensor_analysable(&m->tensors[i]) && !m->tensors[i].quant;
		plan[i].spec = *s;
	}
	struct write_opts o = {.plan = plan, .fake_quant = fake};
	int rc = model_write(m, &o, out, e);
	free(plan);
	return rc;
}

static void write_ok(const struct model *m, const struct qspec *s, bool fake, const char *out)
{
	struct qs_error e = {0};
	if (write_all(m, s, fake, out, &e))
		fail_msg("%s: %s", out, e.msg);
}

static void seeded(float *x, size_t n, uint64_t seed, double sigma)
{
	struct qs_rng r = {seed};
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(sigma * qs_rng_gauss(&r));
}

/* A float model: x → Conv(W[4,3,3,3], B[4]) → MatMul(M[?]) chain at the
 * given opset, W held by a Constant node, M an initializer. */
static void conv_matmul_model(const char *path, int64_t opset)
{
	Onnx__ModelProto *mp = model_new(4, opset);
	Onnx__GraphProto *g = mp->graph;
	int64_t dw[] = {4, 3, 3, 3}, db = 4, dm[] = {64, 8};
	float w[108], b[4] = {0.1f, -0.2f, 0.3f, 0.05f}, mm[512];
	seeded(w, 108, 1, 0.3);
	seeded(mm, 512, 2, 0.1);
	const char *none[] = {NULL};
	Onnx__NodeProto *c = node(g, "Constant", none, 0, "W");
	onnx_pb_attr_tensor(c, "value", onnx_pb_tensor("", 1, dw, 4, w, sizeof w));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("B", 1, &db, 1, b, sizeof b));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("M", 1, dm, 2, mm, sizeof mm));
	const char *ci[] = {"x", "W", "B"};
	node(g, "Conv", ci, 3, "c");
	const char *ri[] = {"c", "shape"};
	node(g, "Reshape", ri, 2, "r");
	const char *mi[] = {"r", "M"};
	node(g, "MatMul", mi, 2, "y");
	save(mp, path);
}

static void check_bound(const struct model *fm, const struct model *qm, const char *name)
{
	const struct model_tensor *ft = find(fm, name);
	char qn[128];
	snprintf(qn, sizeof qn, "%s_quantized", name);
	const struct model_tensor *qt = find(qm, qn);
	assert_non_null(qt->quant);
	assert_string_equal(qt->quant->float_name, name);
	assert_true(find(qm, "M_scale")->is_aux);
	float *x = malloc(ft->nelem * sizeof *x), *xh = malloc(ft->nelem * sizeof *xh);
	model_tensor_to_f32(fm, ft, x, NULL);
	model_tensor_to_f32(qm, qt, xh, NULL);
	for (uint64_t i = 0; i < ft->nelem; i++) {
		double s = qt->quant->scale[layout_group(&qt->quant->layout, i)];
		/* minmax never clips beyond the half step at the range end */
		if (fabs(x[i] - xh[i]) >
		    s * 0.5 + 2.4e-7 * fabs(x[i]) + 1e-12) /* + float rounding */
			fail_msg("%s[%llu]: |%g − %g| > s/2 = %g", name, (unsigned long long)i,
			         x[i], xh[i], s / 2);
	}
	free(x);
	free(xh);
}

static void test_write_qdq(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), fpath[512], qpath[512];
	snprintf(fpath, sizeof fpath, "%s/f.onnx", dir);
	conv_matmul_model(fpath, 9);
	struct model *fm = load_ok(fpath);
	assert_int_equal(find(fm, "W")->facts.out_axis, 0);
	assert_int_equal(find(fm, "M")->facts.out_axis, 1);

	/* int8 per-channel: opset 9 → 13, axis explicit, Constant replaced */
	snprintf(qpath, sizeof qpath, "%s/c8.onnx", dir);
	struct qspec s = spec_of("int8", GRAN_CHANNEL, 0);
	write_ok(fm, &s, false, qpath);
	Onnx__ModelProto *mp = unpack_file(qpath);
	assert_int_equal(onnx_default_opset(mp), 13);
	assert_int_equal(mp->ir_version, 7);
	assert_null(find_node(mp->graph, "Constant", "W"));
	const Onnx__NodeProto *dq = find_node(mp->graph, "DequantizeLinear", "W");
	assert_non_null(dq);
	assert_string_equal(dq->input[0], "W_quantized");
	assert_int_equal(onnx_attr_int(dq, "axis", -99), 0);
	dq = find_node(mp->graph, "DequantizeLinear", "M");
	assert_non_null(dq);
	assert_int_equal(onnx_attr_int(dq, "axis", -99), 1);
	onnx__model_proto__free_unpacked(mp, NULL);
	struct model *qm = load_ok(qpath);
	assert_int_equal(find(qm, "W_quantized")->dtype, DTYPE_I8);
	assert_int_equal(find(qm, "W_quantized")->quant->layout.ngroups, 4);
	assert_int_equal(find(qm, "M_quantized")->quant->layout.ngroups, 8);
	check_bound(fm, qm, "W");
	check_bound(fm, qm, "M");
	/* B has no activation scale here: quantized as a tensor of its own */
	assert_non_null(find(qm, "B_quantized")->quant);
	model_free(qm);

	/* uint8 per-tensor: opset 10 is enough */
	snprintf(qpath, sizeof qpath, "%s/t8.onnx", dir);
	s = spec_of("uint8", GRAN_TENSOR, 0);
	write_ok(fm, &s, false, qpath);
	mp = unpack_file(qpath);
	assert_int_equal(onnx_default_opset(mp), 10);
	assert_int_equal(mp->ir_version, 5);
	dq = find_node(mp->graph, "DequantizeLinear", "M");
	assert_null(onnx_attr(dq, "axis"));
	onnx__model_proto__free_unpacked(mp, NULL);
	qm = load_ok(qpath);
	assert_int_equal(find(qm, "M_quantized")->dtype, DTYPE_U8);
	check_bound(fm, qm, "M");
	model_free(qm);

	/* int4 blocked (32): opset 21, blocks along K (axis 0 of M[64,8]) */
	snprintf(qpath, sizeof qpath, "%s/b4.onnx", dir);
	s = spec_of("int4", GRAN_GROUP, 32);
	write_ok(fm, &s, false, qpath);
	mp = unpack_file(qpath);
	assert_int_equal(onnx_default_opset(mp), 21);
	assert_int_equal(mp->ir_version, 10);
	dq = find_node(mp->graph, "DequantizeLinear", "M");
	assert_int_equal(onnx_attr_int(dq, "axis", -99), 0);
	assert_int_equal(onnx_attr_int(dq, "block_size", -99), 32);
	onnx__model_proto__free_unpacked(mp, NULL);
	qm = load_ok(qpath);
	const struct model_tensor *t = find(qm, "M_quantized");
	assert_int_equal(t->dtype, DTYPE_I4);
	assert_int_equal(t->quant->layout.gran, GRAN_GROUP);
	assert_int_equal(t->quant->layout.ngroups, 2 * 8);
	check_bound(fm, qm, "M");
	model_free(qm);

	/* fake-quant: the same x̂ in float, in place, opset untouched */
	char fk[512];
	snprintf(fk, sizeof fk, "%s/fake.onnx", dir);
	s = spec_of("int8", GRAN_CHANNEL, 0);
	write_ok(fm, &s, true, fk);
	snprintf(qpath, sizeof qpath, "%s/c8.onnx", dir);
	qm = load_ok(qpath);
	struct model *km = load_ok(fk);
	assert_int_equal(km->ntensors, fm->ntensors);
	const struct model_tensor *a = find(km, "M"), *b = find(qm, "M_quantized");
	assert_int_equal(a->dtype, DTYPE_F32);
	float xa[512], xb[512];
	model_tensor_to_f32(km, a, xa, NULL);
	model_tensor_to_f32(qm, b, xb, NULL);
	assert_memory_equal(xa, xb, sizeof xa);
	mp = unpack_file(fk);
	assert_int_equal(onnx_default_opset(mp), 9);
	onnx__model_proto__free_unpacked(mp, NULL);
	model_free(km);
	model_free(qm);
	model_free(fm);
	qs_rmtree(dir);
}

/* Opset 9 → 13 converts Clip/Slice/Squeeze attributes into inputs. */
static void test_opset_conversion(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), fpath[512], qpath[512];
	snprintf(fpath, sizeof fpath, "%s/f.onnx", dir);
	Onnx__ModelProto *mp = model_new(4, 9);
	Onnx__GraphProto *g = mp->graph;
	int64_t dm[] = {4, 4};
	float mm[16];
	seeded(mm, 16, 3, 1.0);
	onnx_pb_graph_add_init(g, onnx_pb_tensor("M", 1, dm, 2, mm, sizeof mm));
	const char *mi[] = {"x", "M"};
	node(g, "MatMul", mi, 2, "y");
	const char *ci[] = {"y"};
	Onnx__NodeProto *n = node(g, "Clip", ci, 1, "c");
	onnx_pb_attr_float(n, "min", 0.0f);
	onnx_pb_attr_float(n, "max", 6.0f);
	const char *si[] = {"c"};
	n = node(g, "Slice", si, 1, "s");
	int64_t st[] = {0}, en[] = {2}, ax[] = {1};
	onnx_pb_attr_ints(n, "starts", st, 1);
	onnx_pb_attr_ints(n, "ends", en, 1);
	onnx_pb_attr_ints(n, "axes", ax, 1);
	const char *qi[] = {"s"};
	n = node(g, "Unsqueeze", qi, 1, "u");
	onnx_pb_attr_ints(n, "axes", st, 1);
	save(mp, fpath);
	struct model *fm = load_ok(fpath);
	snprintf(qpath, sizeof qpath, "%s/q.onnx", dir);
	struct qspec s = spec_of("int8", GRAN_CHANNEL, 0);
	struct qs_error e = {0};
	write_ok(fm, &s, false, qpath);
	mp = unpack_file(qpath);
	assert_int_equal(onnx_default_opset(mp), 13);
	const Onnx__NodeProto *c = find_node(mp->graph, "Clip", NULL);
	assert_int_equal(c->n_input, 3);
	assert_int_equal(c->n_attribute, 0);
	const Onnx__NodeProto *sl = find_node(mp->graph, "Slice", NULL);
	assert_int_equal(sl->n_input, 4);
	assert_int_equal(sl->n_attribute, 0);
	const Onnx__NodeProto *u = find_node(mp->graph, "Unsqueeze", NULL);
	assert_int_equal(u->n_input, 2);
	onnx__model_proto__free_unpacked(mp, NULL);
	mp = NULL;
	struct model *qm = load_ok(qpath);
	float v;
	mp = unpack_file(qpath);
	const struct model_tensor *mx = find(qm, find_node(mp->graph, "Clip", NULL)->input[2]);
	onnx__model_proto__free_unpacked(mp, NULL);
	model_tensor_to_f32(qm, mx, &v, NULL);
	assert_close(v, 6.0, 0, 0);
	model_free(qm);
	/* a Softmax of unknown rank cannot be raised to 13 safely: refused */
	mp = model_new(4, 9);
	onnx_pb_graph_add_init(mp->graph, onnx_pb_tensor("M", 1, dm, 2, mm, sizeof mm));
	node(mp->graph, "MatMul", mi, 2, "y");
	const char *smi[] = {"y"};
	node(mp->graph, "Softmax", smi, 1, "p");
	save(mp, fpath);
	model_free(fm);
	fm = load_ok(fpath);
	int rc = write_all(fm, &s, false, qpath, &e);
	assert_int_equal(rc, QS_ERR_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "Softmax"));
	model_free(fm);
	qs_rmtree(dir);
}

/* The Samsung/ONE case: channel 3 of an int16 Conv has weights ~1e-30 and
 * bias −1.2156529426574707; int16 activations with scale 1e-4. */
static void samsung_model(const char *path)
{
	Onnx__ModelProto *mp = model_new(4, 21);
	Onnx__GraphProto *g = mp->graph;
	int64_t dw[] = {4, 2, 1, 1}, d4 = 4;
	float w[8], b[4] = {0.1f, -0.2f, 0.3f, -1.2156529426574707f}, sx = 1e-4f;
	int16_t zx = 0;
	seeded(w, 8, 7, 0.5);
	w[6] = 1.3e-30f;
	w[7] = -0.7e-30f;
	onnx_pb_graph_add_init(g, onnx_pb_tensor("W", 1, dw, 4, w, sizeof w));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("B", 1, &d4, 1, b, sizeof b));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("x_scale", 1, NULL, 0, &sx, 4));
	onnx_pb_graph_add_init(g, onnx_pb_tensor("x_zero_point", 5, NULL, 0, &zx, 2));
	const char *q[] = {"x", "x_scale", "x_zero_point"};
	node(g, "QuantizeLinear", q, 3, "xq");
	const char *d[] = {"xq", "x_scale", "x_zero_point"};
	node(g, "DequantizeLinear", d, 3, "xd");
	const char *c[] = {"xd", "W", "B"};
	node(g, "Conv", c, 3, "y");
	save(mp, path);
}

static float written_bias(const char *path, uint64_t ch)
{
	struct model *m = load_ok(path);
	const struct model_tensor *t = find(m, "B_quantized");
	assert_int_equal(t->dtype, DTYPE_I32);
	assert_non_null(t->quant);
	float v[4];
	model_tensor_to_f32(m, t, v, NULL);
	/* independently: q · (s_in · s_w[c]) from the written tensors */
	int32_t q = (int32_t)dtype_get_int(t->dtype, t->data, ch, t->nibbles);
	const struct model_tensor *ws = find(m, "W_scale");
	float sw[4];
	model_tensor_to_f32(m, ws, sw, NULL);
	float s = 1e-4f * sw[ch];
	assert_close(v[ch], (double)q * s, 1e-6, 0);
	model_free(m);
	return v[ch];
}

static void test_samsung_bias_overflow(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), fpath[512], qpath[512];
	snprintf(fpath, sizeof fpath, "%s/one.onnx", dir);
	samsung_model(fpath);
	struct model *m = load_ok(fpath);
	const struct model_tensor *w = find(m, "W");
	assert_true(w->facts.has_input);
	assert_close(w->facts.s_in, 1e-4f, 0, 0);
	assert_int_equal(w->facts.x_qmin, -32768);
	assert_int_equal(w->facts.nbias, 4);
	assert_close(w->facts.bias[3], -1.2156529426574707f, 0, 0);
	struct qspec s = spec_of("int16", GRAN_CHANNEL, 0);
	float x[8];
	model_tensor_to_f32(m, w, x, NULL);
	struct tensor_result r = {0};
	struct qs_error e = {0};
	if (analyze_simulate(x, w->shape, w->ndim, &s, &w->facts, &r, NULL, NULL, &e))
		fail_msg("%s", e.msg);
	bool found = false;
	for (uint64_t i = 0; i < r.nfind; i++)
		if (r.find[i].kind == FIND_BIAS_OVERFLOW && r.find[i].channel == 3 &&
		    r.find[i].level == RISK_RISK) {
			found = true;
			assert_non_null(strstr(r.find[i].reason, "outside"));
		}
	assert_true(found);
	assert_int_equal(r.ch[3].risk, RISK_RISK);
	tensor_result_free(&r);

	/* without a floor the written bias is clamped to int32: far off */
	snprintf(qpath, sizeof qpath, "%s/nofloor.onnx", dir);
	write_ok(m, &s, false, qpath);
	assert_true(fabs(written_bias(qpath, 3) - -1.2156529426574707) > 1.0);
	/* with --scale-floor 1e-5 it is within 1e-4 */
	s.scheme.scale_floor = 1e-5;
	snprintf(qpath, sizeof qpath, "%s/floor.onnx", dir);
	write_ok(m, &s, false, qpath);
	assert_close(written_bias(qpath, 3), -1.2156529426574707, 0, 1e-4);
	assert_close(written_bias(qpath, 0), 0.1, 0, 1e-4);
	model_free(m);
	qs_rmtree(dir);
}

/* --like keeps the quantized model's structure and replaces its numbers. */
static void test_like(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), fpath[512], lpath[512], opath[512];
	snprintf(fpath, sizeof fpath, "%s/f.onnx", dir);
	conv_matmul_model(fpath, 13);
	struct model *fm = load_ok(fpath);
	snprintf(lpath, sizeof lpath, "%s/like.onnx", dir);
	struct qspec s = spec_of("uint8", GRAN_TENSOR, 0);
	struct qs_error e = {0};
	write_ok(fm, &s, false, lpath);
	struct model *lm = load_ok(lpath);
	struct tensor_plan *plan = calloc(fm->ntensors, sizeof *plan);
	for (size_t i = 0; i < fm->ntensors; i++) {
		plan[i].quantize = true;
		plan[i].spec = spec_of("int8", GRAN_CHANNEL, 0);
		plan[i].spec.method.kind = METHOD_MSE;
	}
	struct write_opts o = {.plan = plan, .like = lm};
	snprintf(opath, sizeof opath, "%s/out.onnx", dir);
	if (model_write(fm, &o, opath, &e))
		fail_msg("%s", e.msg);
	struct model *om = load_ok(opath);
	/* same tensors, names, types and layout as like */
	assert_int_equal(om->ntensors, lm->ntensors);
	for (size_t i = 0; i < om->ntensors; i++) {
		assert_string_equal(om->tensors[i].name, lm->tensors[i].name);
		assert_int_equal(om->tensors[i].dtype, lm->tensors[i].dtype);
	}
	const struct model_tensor *a = find(om, "M_quantized"), *b = find(lm, "M_quantized");
	assert_int_equal(a->quant->layout.gran, GRAN_TENSOR);
	/* mse never does worse than minmax (and here picks another scale) */
	float x[512], xa[512], xb[512];
	model_tensor_to_f32(fm, find(fm, "M"), x, NULL);
	model_tensor_to_f32(om, a, xa, NULL);
	model_tensor_to_f32(lm, b, xb, NULL);
	double ea = 0, eb = 0;
	for (int i = 0; i < 512; i++) {
		ea += (x[i] - xa[i]) * (x[i] - xa[i]);
		eb += (x[i] - xb[i]) * (x[i] - xb[i]);
	}
	assert_true(ea <= eb);
	assert_true(a->quant->scale[0] != b->quant->scale[0]);
	free(plan);
	model_free(om);
	model_free(lm);
	model_free(fm);
	qs_rmtree(dir);
}

/* --like on the demo pair (QDQ with int32 biases): the biases follow the
 * new weight scales, q_b = round(b / (s_in·s_w)) — checked here as
 * |q_b·s_b − b| ≤ s_b/2 with s_b read from the written model. */
static void test_like_bias(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), fpath[512], qpath[512], opath[512];
	struct qs_error e = {0};
	if (onnx_demo_write(dir, &e))
		fail_msg("%s", e.msg);
	snprintf(fpath, sizeof fpath, "%s/demo_float.onnx", dir);
	snprintf(qpath, sizeof qpath, "%s/demo_int8.onnx", dir);
	snprintf(opath, sizeof opath, "%s/like.onnx", dir);
	struct model *fm = load_ok(fpath), *lm = load_ok(qpath);
	struct tensor_plan *plan = calloc(fm->ntensors, sizeof *plan);
	for (size_t i = 0; i < fm->ntensors; i++) {
		plan[i].quantize = true;
		plan[i].spec = spec_of("int8", GRAN_CHANNEL, 0);
		plan[i].spec.method.kind = METHOD_MSE;
	}
	struct write_opts o = {.plan = plan, .like = lm};
	if (model_write(fm, &o, opath, &e))
		fail_msg("%s", e.msg);
	struct model *om = load_ok(opath);
	const char *biases[] = {"conv1.bias", "conv2.bias", "fc.bias"};
	for (int k = 0; k < 3; k++) {
		char qn[64], sn[64];
		snprintf(qn, sizeof qn, "%s_quantized", biases[k]);
		snprintf(sn, sizeof sn, "%s_quantized_scale", biases[k]);
		const struct model_tensor *ft = find(fm, biases[k]), *qt = find(om, qn),
		                          *st = find(om, sn), *old = find(lm, sn);
		float b[32], sb[32], so[32];
		model_tensor_to_f32(fm, ft, b, NULL);
		model_tensor_to_f32(om, st, sb, NULL);
		model_tensor_to_f32(lm, old, so, NULL);
		bool changed = false;
		for (uint64_t c = 0; c < ft->nelem; c++) {
			double q = (double)dtype_get_int(qt->dtype, qt->data, c, qt->nibbles);
			uint64_t sc = st->nelem > 1 ? c : 0; /* fc's weight is per-tensor */
			if (fabs(q * sb[sc] - b[c]) > 0.5 * sb[sc] * (1 + 1e-6))
				fail_msg("%s[%llu]: q %g · s %g = %g, float bias %g", biases[k],
				         (unsigned long long)c, q, sb[sc], q * sb[sc], b[c]);
			changed |= sb[sc] != so[sc];
		}
		assert_true(changed); /* mse moved the weight scales, the bias followed */
	}
	free(plan);
	model_free(om);
	model_free(lm);
	model_free(fm);
	qs_rmtree(dir);
}

/* float8e4m3fn: the weight cast to the type behind DequantizeLinear with
 * scale 1 at opset 19; bytes checked against the E4M3FN encoding by hand:
 * 1.0 = 0 0111 000 = 0x38, 0.5 = 0x30, −2 = 1 1000 000 = 0xC0,
 * 448 = 0 1111 110 = 0x7E, 1000 saturates to 448, NaN becomes 0. */
static void test_float8(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), fpath[512], qpath[512];
	snprintf(fpath, sizeof fpath, "%s/f.onnx", dir);
	Onnx__ModelProto *mp = model_new(4, 13);
	int64_t dm[] = {2, 3};
	float w[6] = {1.0f, 0.5f, -2.0f, 448.0f, 1000.0f, NAN};
	onnx_pb_graph_add_init(mp->graph, onnx_pb_tensor("M", 1, dm, 2, w, sizeof w));
	const char *mi[] = {"x", "M"};
	node(mp->graph, "MatMul", mi, 2, "y");
	save(mp, fpath);
	struct model *fm = load_ok(fpath);
	struct qspec s = {.qt = qtype_find("float8e4m3fn"), .scheme = scheme_default()};
	assert_non_null(s.qt);
	snprintf(qpath, sizeof qpath, "%s/q.onnx", dir);
	write_ok(fm, &s, false, qpath);
	mp = unpack_file(qpath);
	assert_int_equal(onnx_default_opset(mp), 19);
	const Onnx__NodeProto *dq = find_node(mp->graph, "DequantizeLinear", "M");
	assert_non_null(dq);
	onnx__model_proto__free_unpacked(mp, NULL);
	struct model *qm = load_ok(qpath);
	const struct model_tensor *t = find(qm, "M_quantized");
	assert_int_equal(t->dtype, DTYPE_F8E4M3FN);
	const uint8_t want[6] = {0x38, 0x30, 0xC0, 0x7E, 0x7E, 0x00};
	assert_memory_equal(t->data, want, 6);
	float sc;
	model_tensor_to_f32(qm, find(qm, "M_scale"), &sc, NULL);
	assert_close(sc, 1.0, 0, 0);
	model_free(qm);
	model_free(fm);
	qs_rmtree(dir);
}

/* Fields qscope does not know (here field 100 of ModelProto, a varint)
 * survive a round trip. */
static void test_unknown_fields(void **state)
{
	(void)state;
	char *dir = qs_tmpdir(), fpath[512], qpath[512];
	snprintf(fpath, sizeof fpath, "%s/f.onnx", dir);
	conv_matmul_model(fpath, 13);
	size_t n;
	uint8_t *b = qs_read_file(fpath, &n);
	uint8_t extra[] = {0xa0, 0x06, 0x2a}; /* tag (100 << 3 | 0), value 42 */
	b = realloc(b, n + sizeof extra);
	memcpy(b + n, extra, sizeof extra);
	qs_write_file(fpath, b, n + sizeof extra);
	free(b);
	struct model *fm = load_ok(fpath);
	snprintf(qpath, sizeof qpath, "%s/q.onnx", dir);
	struct qspec s = spec_of("int8", GRAN_CHANNEL, 0);
	write_ok(fm, &s, false, qpath);
	b = qs_read_file(qpath, &n);
	bool seen = false;
	for (size_t i = 0; i + 3 <= n; i++)
		seen |= !memcmp(b + i, extra, sizeof extra);
	assert_true(seen);
	free(b);
	model_free(fm);
	qs_rmtree(dir);
}

/* share/demo holds exactly what onnx_demo_write produces. */
static void test_demo_bytes(void **state)
{
	(void)state;
	char *dir = qs_tmpdir();
	struct qs_error e = {0};
	if (onnx_demo_write(dir, &e))
		fail_msg("%s", e.msg);
	const char *names[] = {"demo_float.onnx", "demo_int8.onnx"};
	for (int i = 0; i < 2; i++) {
		char a[512], b[512];
		snprintf(a, sizeof a, "%s/%s", dir, names[i]);
		snprintf(b, sizeof b, "%s/share/demo/%s", QSCOPE_SRC, names[i]);
		size_t na, nb;
		uint8_t *x = qs_read_file(a, &na), *y = qs_read_file(b, &nb);
		assert_int_equal(na, nb);
		assert_memory_equal(x, y, na);
		assert_true(na < 200 * 1024);
		free(x);
		free(y);
	}
	/* the int8 model pairs completely with the float one */
	char a[512], b[512];
	snprintf(a, sizeof a, "%s/demo_float.onnx", dir);
	snprintf(b, sizeof b, "%s/demo_int8.onnx", dir);
	struct model *fm = load_ok(a), *qm = load_ok(b);
	struct pairing p = {0};
	assert_int_equal(model_pair(fm, qm, &p, &e), 0);
	for (size_t i = 0; i < p.n; i++)
		assert_true(p.pairs[i].f >= 0 && p.pairs[i].q >= 0);
	assert_int_equal(p.n, 8);
	pairing_free(&p);
	model_free(fm);
	model_free(qm);
	qs_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_write_qdq),
	        cmocka_unit_test(test_opset_conversion),
	        cmocka_unit_test(test_samsung_bias_overflow),
	        cmocka_unit_test(test_like),
	        cmocka_unit_test(test_like_bias),
	        cmocka_unit_test(test_float8),
	        cmocka_unit_test(test_unknown_fields),
	        cmocka_unit_test(test_demo_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
