/* onnx_demo.c — the bundled demo: a small CNN-like float model with
 * realistic weights and its int8 QDQ version, made by qscope's own code.
 *
 *   image[1,3,32,32] → Conv 3→16 3×3 (Gaussian σ 0.15) → Relu
 *     → Conv 16→32 3×3 stride 2 (Laplace b 0.04; channels 5 and 11 carry one
 *       outlier weight each) → Relu
 *     → depthwise Conv 32 3×3 (Gaussian σ 0.3; channel 7's weights ~1e-30,
 *       its bias −1.2156529426574707) → Relu
 *     → GlobalAveragePool → Flatten → Gemm 32→10 (transB, Laplace b 0.1)
 *     → logits[1,10]
 *
 * demo_int8.onnx is that graph with uint8 activation QuantizeLinear /
 * DequantizeLinear pairs before every Conv and Gemm (fixed scales), written
 * through the ONNX writer: weights int8 symmetric per-channel minmax, except
 * the outlier layer (percentile:98, so it clips) and the Gemm (per-tensor);
 * biases int32 with scale s_in·s_w. So its report shows clipping, a tiny
 * scale, a bias overflow and a poor per-channel SQNR.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "onnx_impl.h"

struct demo_rng {
	uint64_t s;
};

static uint64_t rng_next(struct demo_rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double rng_uniform(struct demo_rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_gauss(struct demo_rng *r)
{
	double u = rng_uniform(r), v = rng_uniform(r);
	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

static double rng_laplace(struct demo_rng *r)
{
	double u = rng_uniform(r) - 0.5;
	return u < 0 ? log(1.0 + 2.0 * u) : -log(1.0 - 2.0 * u);
}

enum dist {
	D_GAUSS,
	D_LAPLACE
};

static Onnx__TensorProto *weights(struct demo_rng *r, const char *name, const int64_t *dims, int nd,
                                  enum dist d, double scale, float **vals)
{
	uint64_t n = 1;
	for (int i = 0; i < nd; i++)
		n *= (uint64_t)dims[i];
	float *x = onnx_xmalloc(n * sizeof *x);
	for (uint64_t i = 0; i < n; i++)
		x[i] = (float)(scale * (d == D_GAUSS ? rng_gauss(r) : rng_laplace(r)));
	Onnx__TensorProto *t = onnx_pb_tensor(name, 1, dims, nd, x, n * sizeof *x);
	if (vals)
		*vals = x;
	else
		free(x);
	return t;
}

/* Retouch values of an already built float tensor. */
static void tensor_set(Onnx__TensorProto *t, uint64_t i, float v)
{
	memcpy(t->raw_data.data + 4 * i, &v, 4);
}

static void add_node(Onnx__GraphProto *g, const char *op, const char *name, const char *const *in,
                     size_t nin, const char *out)
{
	onnx_pb_graph_insert_node(g, g->n_node, onnx_pb_node(op, name, in, nin, &out, 1));
}

static Onnx__NodeProto *last(Onnx__GraphProto *g)
{
	return g->node[g->n_node - 1];
}

/* With act: x → QuantizeLinear → DequantizeLinear (uint8, scale s, zp z);
 * returns the name the consumer reads. */
static const char *act_qdq(Onnx__GraphProto *g, bool act, const char *x, float s, uint8_t z,
                           char *buf, size_t len)
{
	if (!act)
		return x;
	char sn[96], zn[96], qn[96];
	snprintf(sn, sizeof sn, "%s_scale", x);
	snprintf(zn, sizeof zn, "%s_zero_point", x);
	snprintf(qn, sizeof qn, "%s_QuantizeLinear_Output", x);
	snprintf(buf, len, "%s_DequantizeLinear_Output", x);
	onnx_pb_graph_add_init(g, onnx_pb_tensor(sn, 1, NULL, 0, &s, 4));
	onnx_pb_graph_add_init(g, onnx_pb_tensor(zn, 2, NULL, 0, &z, 1));
	const char *qin[] = {x, sn, zn}, *dqin[] = {qn, sn, zn};
	char nn[128];
	snprintf(nn, sizeof nn, "%s_QuantizeLinear", x);
	add_node(g, "QuantizeLinear", nn, qin, 3, qn);
	snprintf(nn, sizeof nn, "%s_DequantizeLinear", x);
	add_node(g, "DequantizeLinear", nn, dqin, 3, buf);
	return buf;
}

static void conv(Onnx__GraphProto *g, const char *name, const char *x, const char *w, const char *b,
                 const char *y, int64_t k, int64_t stride, int64_t group)
{
	const char *in[] = {x, w, b};
	add_node(g, "Conv", name, in, 3, y);
	int64_t ks[] = {k, k}, pads[] = {k / 2, k / 2, k / 2, k / 2}, st[] = {stride, stride};
	onnx_pb_attr_ints(last(g), "kernel_shape", ks, 2);
	onnx_pb_attr_ints(last(g), "pads", pads, 4);
	onnx_pb_attr_ints(last(g), "strides", st, 2);
	if (group > 1)
		onnx_pb_attr_int(last(g), "group", group);
}

static void relu(Onnx__GraphProto *g, const char *name, const char *x, const char *y)
{
	add_node(g, "Relu", name, &x, 1, y);
}

static void demo_weights(Onnx__GraphProto *g)
{
	struct demo_rng r = {.s = 20240601};
	int64_t d1[] = {16, 3, 3, 3}, d2[] = {32, 16, 3, 3}, d3[] = {32, 1, 3, 3}, d4[] = {10, 32};
	int64_t b16 = 16, b32 = 32, b10 = 10;
	onnx_pb_graph_add_init(g, weights(&r, "conv1.weight", d1, 4, D_GAUSS, 0.15, NULL));
	onnx_pb_graph_add_init(g, weights(&r, "conv1.bias", &b16, 1, D_GAUSS, 0.05, NULL));
	Onnx__TensorProto *w2 = weights(&r, "conv2.weight", d2, 4, D_LAPLACE, 0.04, NULL);
	tensor_set(w2, 5 * 144 + 40, 2.5f);
	tensor_set(w2, 11 * 144 + 7, -1.8f);
	onnx_pb_graph_add_init(g, w2);
	onnx_pb_graph_add_init(g, weights(&r, "conv2.bias", &b32, 1, D_GAUSS, 0.05, NULL));
	Onnx__TensorProto *w3 = weights(&r, "dw3.weight", d3, 4, D_GAUSS, 0.3, NULL);
	for (int i = 0; i < 9; i++)
		tensor_set(w3, 7 * 9 + (uint64_t)i, (float)(1e-30 * rng_gauss(&r)));
	onnx_pb_graph_add_init(g, w3);
	Onnx__TensorProto *b3 = weights(&r, "dw3.bias", &b32, 1, D_GAUSS, 0.05, NULL);
	tensor_set(b3, 7, -1.2156529426574707f);
	onnx_pb_graph_add_init(g, b3);
	onnx_pb_graph_add_init(g, weights(&r, "fc.weight", d4, 2, D_LAPLACE, 0.1, NULL));
	onnx_pb_graph_add_init(g, weights(&r, "fc.bias", &b10, 1, D_GAUSS, 0.05, NULL));
}

static Onnx__ModelProto *demo_model(bool act)
{
	Onnx__ModelProto *mp = onnx_xmalloc(sizeof *mp);
	onnx__model_proto__init(mp);
	mp->has_ir_version = 1;
	mp->ir_version = 7;
	mp->producer_name = onnx_strdup("qscope");
	mp->producer_version = onnx_strdup("demo");
	onnx_pb_set_opset(mp, "", 13);
	Onnx__GraphProto *g = onnx_xmalloc(sizeof *g);
	onnx__graph_proto__init(g);
	g->name = onnx_strdup(act ? "qscope_demo_act" : "qscope_demo");
	mp->graph = g;
	demo_weights(g);
	char b1[96], b2[96], b3[96], b4[96];
	const char *x = act_qdq(g, act, "image", 2.0f / 255, 128, b1, sizeof b1);
	conv(g, "conv1", x, "conv1.weight", "conv1.bias", "conv1.out", 3, 1, 1);
	relu(g, "relu1", "conv1.out", "relu1.out");
	x = act_qdq(g, act, "relu1.out", 4.0f / 255, 0, b2, sizeof b2);
	conv(g, "conv2", x, "conv2.weight", "conv2.bias", "conv2.out", 3, 2, 1);
	relu(g, "relu2", "conv2.out", "relu2.out");
	x = act_qdq(g, act, "relu2.out", 4.0f / 255, 0, b3, sizeof b3);
	conv(g, "dw3", x, "dw3.weight", "dw3.bias", "dw3.out", 3, 1, 32);
	relu(g, "relu3", "dw3.out", "relu3.out");
	const char *p = "relu3.out";
	add_node(g, "GlobalAveragePool", "pool", &p, 1, "pool.out");
	p = "pool.out";
	add_node(g, "Flatten", "flatten", &p, 1, "flat");
	x = act_qdq(g, act, "flat", 2.0f / 255, 0, b4, sizeof b4);
	const char *gin[] = {x, "fc.weight", "fc.bias"};
	add_node(g, "Gemm", "fc", gin, 3, "logits");
	onnx_pb_attr_int(last(g), "transB", 1);
	int64_t din[] = {1, 3, 32, 32}, dout[] = {1, 10};
	g->n_input = 1;
	g->input = onnx_xmalloc(sizeof *g->input);
	g->input[0] = onnx_pb_value_info("image", 1, din, NULL, 4);
	g->n_output = 1;
	g->output = onnx_xmalloc(sizeof *g->output);
	g->output[0] = onnx_pb_value_info("logits", 1, dout, NULL, 2);
	return mp;
}

static int save_model(Onnx__ModelProto *mp, const char *path, struct qs_error *err)
{
	size_t n = onnx__model_proto__get_packed_size(mp);
	uint8_t *buf = onnx_xmalloc(n);
	struct atomic_file af;
	int rc;

	onnx__model_proto__pack(mp, buf);
	if ((rc = atomic_open(&af, path, err)) == 0) {
		if (fwrite(buf, 1, n, af.f) != n) {
			rc = qs_error_set(err, QS_ERR_IO, "%s: write failed: %s", path,
			                  strerror(errno));
			atomic_abort(&af);
		} else {
			rc = atomic_commit(&af, err);
		}
	}
	free(buf);
	return rc;
}

static struct qspec demo_spec(const struct model_tensor *t)
{
	struct qspec s = {.qt = qtype_find("int8"), .scheme = scheme_default()};
	s.method.kind = METHOD_MINMAX;
	if (t->facts.out_axis >= 0)
		s.scheme.axis = t->facts.out_axis;
	if (!strcmp(t->name, "conv2.weight")) {
		s.method.kind = METHOD_PERCENTILE;
		s.method.percentile = 98.0;
	}
	if (!strcmp(t->name, "fc.weight"))
		s.scheme.gran = GRAN_TENSOR;
	return s;
}

static int write_int8(const char *act_path, const char *out, struct qs_error *err)
{
	struct model *m;
	int rc = model_load(act_path, &m, err);
	if (rc)
		return rc;
	struct tensor_plan *plan = onnx_xmalloc((m->ntensors + 1) * sizeof *plan);
	for (size_t i = 0; i < m->ntensors; i++) {
		plan[i].quantize = model_tensor_analysable(&m->tensors[i]) && !m->tensors[i].quant;
		plan[i].spec = demo_spec(&m->tensors[i]);
	}
	struct write_opts o = {.plan = plan};
	rc = model_write(m, &o, out, err);
	free(plan);
	model_free(m);
	return rc;
}

int onnx_demo_write(const char *dir, struct qs_error *err)
{
	size_t len = strlen(dir) + 32;
	char *fpath = onnx_xmalloc(len), *apath = onnx_xmalloc(len), *qpath = onnx_xmalloc(len);
	snprintf(fpath, len, "%s/demo_float.onnx", dir);
	snprintf(apath, len, "%s/.demo_act.onnx", dir);
	snprintf(qpath, len, "%s/demo_int8.onnx", dir);
	Onnx__ModelProto *f = demo_model(false), *a = demo_model(true);
	int rc = save_model(f, fpath, err);
	if (!rc)
		rc = save_model(a, apath, err);
	if (!rc) {
		rc = write_int8(apath, qpath, err);
		unlink(apath);
	}
	onnx__model_proto__free_unpacked(f, NULL);
	onnx__model_proto__free_unpacked(a, NULL);
	free(fpath);
	free(apath);
	free(qpath);
	return rc;
}
