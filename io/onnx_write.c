/* onnx_write.c — writing ONNX models: weight QDQ, fake-quant, --like.
 *
 * onnx_write_model(src, o, out, out_path, err):
 *   The source file is unpacked again (a private copy), edited, packed and
 *   written to out; everything qscope does not touch (unknown fields,
 *   metadata, other domains, doc strings) is carried over by protobuf-c.
 *   For each tensor with plan[i].quantize (a float tensor, not auxiliary):
 *   - QDQ: the float tensor is replaced by `<w>_quantized` (codes in the
 *     storage type: int4/uint4 ≤ 4 bits, int8/uint8 ≤ 8, int16/uint16 ≤ 16),
 *     `<w>_scale` (float32: scalar, [D[axis]] per channel, or the input's
 *     shape with D[axis] → ceil(D[axis]/block) when blocked), `<w>_zero_point`
 *     (storage type, scale's shape) and a DequantizeLinear node named
 *     `<w>_DequantizeLinear` whose output keeps the name `<w>`, so every
 *     consumer (in subgraphs too) now reads the dequantized value. axis is
 *     written explicitly; block_size when blocked. A Constant node holding
 *     the weight is replaced in place by the DequantizeLinear.
 *   - Per-channel axis: the graph's output-channel axis when known, else
 *     the spec's; blocks run along the reduction axis (Conv 1, MatMul 0,
 *     Gemm the non-output axis) when known.
 *   - Bias: when the weight of a Conv/ConvTranspose/Gemm is quantized and
 *     its input activation scale s_in is known (a DequantizeLinear feeds
 *     it), the float bias b becomes int32 `<b>_quantized` = round_half_even(
 *     b / (s_in·s_w[c])) clamped to int32, with `<b>_quantized_scale` =
 *     s_in·s_w[c] (float32), dequantized by a DequantizeLinear (axis 0), as
 *     ONNX Runtime's QDQ quantizer does.
 *   - Kept float whatever the plan says: scales, zero points, codes,
 *     non-float tensors, single-element operands of non-weight inputs
 *     (exponents, epsilons, clip bounds) and the inputs of shape-defining
 *     ops (Resize, Upsample, ConstantOfShape, Range).
 *   - float8e4m3fn / float8e5m2: the weight cast to the type (saturated,
 *     non-finite → 0) behind a DequantizeLinear with scale 1 (opset 19).
 *   - fake_quant: float tensors keep their place and type but hold the
 *     dequantized values (bias likewise).
 *   - Opset: the default-domain opset is raised only as far as the types
 *     need (int8/uint8 per-tensor 10, per-axis 13, float8 19,
 *     int16/uint16/int4/uint4 or blocked 21; an int32 per-channel bias 13), converting older ops
 *     (onnx_opset_raise); ir_version follows.
 *   - External data (onnx_extdata.c): written to OUT.data when asked
 *     (o->external_data), when the source used it, or when the inline
 *     result would pass ONNX_EXT_THRESHOLD; otherwise the source's external
 *     tensors are read and written inline. A result over protobuf's 2 GiB
 *     limit even so is refused (QS_ERR_UNSUPPORTED).
 *   - like: src is the float model and o->like an existing quantized ONNX
 *     model; the output is like's file with, for each of its quantized
 *     tensors paired with a float tensor of src, new codes, scales and zero
 *     points chosen by the plan's method (bits, type, layout, axis, block
 *     and symmetry — read from like's zero points — kept). The int32 bias
 *     of the op the weight feeds (QDQ `<b>_quantized` + scale, or
 *     QLinearConv's input 8) is re-quantized with the new s_in·s_w.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mem_release.h"
#include "onnx_impl.h"

/* ---- the TensorProtos of a fresh copy, in model tensor order ---- */

struct cp_src {
	Onnx__TensorProto *tp;
	Onnx__GraphProto *g;
	Onnx__NodeProto *cn;
};

struct cp {
	Onnx__ModelProto *mp;
	struct cp_src *s;
	size_t n, cap;
};

static void cp_add(struct cp *c, Onnx__TensorProto *tp, Onnx__GraphProto *g, Onnx__NodeProto *cn)
{
	if (onnx_dtype_to_qs(tp->data_type) < 0)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->s = realloc(c->s, c->cap * sizeof *c->s);
		if (!c->s)
			abort();
	}
	c->s[c->n++] = (struct cp_src){tp, g, cn};
}

static void cp_graph(struct cp *c, Onnx__GraphProto *g, int depth)
{
	if (depth > ONNX_MAX_DEPTH)
		return;
	for (size_t i = 0; i < g->n_initializer; i++)
		cp_add(c, g->initializer[i], g, NULL);
	for (size_t i = 0; i < g->n_node; i++) {
		Onnx__NodeProto *n = g->node[i];
		if (n->op_type && !strcmp(n->op_type, "Constant") &&
		    (!n->domain || !n->domain[0]) && n->n_output >= 1) {
			const Onnx__AttributeProto *a = onnx_attr(n, "value");
			if (a && a->t)
				cp_add(c, a->t, g, n);
		}
		for (size_t k = 0; k < n->n_attribute; k++) {
			Onnx__AttributeProto *a = n->attribute[k];
			if (a->g)
				cp_graph(c, a->g, depth + 1);
			for (size_t j = 0; j < a->n_graphs; j++)
				cp_graph(c, a->graphs[j], depth + 1);
		}
	}
}

static int cp_open(const struct model *m, struct cp *c, struct qs_error *err)
{
	const struct onnx_model *om = m->impl;
	const char *file = model_path_base(m->path ? m->path : "model.onnx");
	*c = (struct cp){0};
	size_t deep_at = 0; /* onnx_load has checked the depth already */
	onnx_unpack_lean(om, 3 * ONNX_MAX_DEPTH + 32, &c->mp, &deep_at);
	mem_release_mapped(om->map, om->map_len); /* as onnx_load */
	if (!c->mp || !c->mp->graph)
		return qs_error_set(err, QS_ERR_FORMAT, "%s: cannot unpack the model again", file);
	cp_graph(c, c->mp->graph, 0);
	if (c->n != om->nreal)
		return qs_error_set(err, QS_ERR_FORMAT, "%s: tensor list changed (%zu vs %zu)",
		                    file, c->n, om->nreal);
	return 0;
}

static void cp_close(struct cp *c)
{
	if (c->mp)
		onnx__model_proto__free_unpacked(c->mp, onnx_allocator());
	free(c->s);
	*c = (struct cp){0};
}

/* ---- tensor data edits ---- */

static void tp_clear_data(Onnx__TensorProto *tp)
{
	free(tp->float_data);
	free(tp->int32_data);
	free(tp->int64_data);
	free(tp->double_data);
	free(tp->uint64_data);
	tp->float_data = NULL;
	tp->int32_data = NULL;
	tp->int64_data = NULL;
	tp->double_data = NULL;
	tp->uint64_data = NULL;
	tp->n_float_data = tp->n_int32_data = tp->n_int64_data = 0;
	tp->n_double_data = tp->n_uint64_data = 0;
	for (size_t i = 0; i < tp->n_external_data; i++)
		onnx__string_string_entry_proto__free_unpacked(tp->external_data[i],
		                                               onnx_allocator());
	free(tp->external_data);
	tp->external_data = NULL;
	tp->n_external_data = 0;
	tp->has_data_location = 0;
	tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
	onnx_lean_free(tp->raw_data.data);
	tp->raw_data.data = NULL;
	tp->raw_data.len = 0;
	tp->has_raw_data = 0;
}

static void tp_set_raw(Onnx__TensorProto *tp, const void *raw, size_t n)
{
	tp_clear_data(tp);
	tp->has_raw_data = 1;
	tp->raw_data.len = n;
	tp->raw_data.data = onnx_xmalloc(n);
	if (n)
		memcpy(tp->raw_data.data, raw, n);
}

/* Floats in a float dtype's little-endian bytes (nbytes via dtype_nbytes). */
static uint8_t *floats_to_bytes(enum dtype t, const float *x, uint64_t n, size_t *nbytes)
{
	dtype_nbytes(t, n, nbytes);
	uint8_t *b = onnx_xmalloc(*nbytes);
	for (uint64_t i = 0; i < n; i++) {
		if (t == DTYPE_F32) {
			memcpy(b + 4 * i, &x[i], 4);
		} else if (t == DTYPE_F64) {
			double d = x[i];
			memcpy(b + 8 * i, &d, 8);
		} else if (t == DTYPE_F16 || t == DTYPE_BF16) {
			uint16_t h = t == DTYPE_F16 ? f32_to_f16(x[i]) : f32_to_bf16(x[i]);
			memcpy(b + 2 * i, &h, 2);
		} else if (t == DTYPE_F8E4M3FN) {
			b[i] = f32_to_f8e4m3fn(x[i], true);
		} else if (t == DTYPE_F8E5M2) {
			b[i] = f32_to_f8e5m2(x[i], true);
		}
	}
	return b;
}

static uint8_t *ints_to_bytes(enum dtype t, const int32_t *q, uint64_t n, size_t *nbytes)
{
	dtype_nbytes(t, n, nbytes);
	uint8_t *b = onnx_xmalloc(*nbytes);
	for (uint64_t i = 0; i < n; i++)
		dtype_set_int(t, b, i, q[i], NIBBLE_LOW_FIRST);
	return b;
}

/* ---- choosing parameters per group ---- */

struct qres {
	struct scheme s;
	struct layout l;
	enum dtype storage;
	struct qparam *p; /* l.ngroups */
	int32_t *codes;   /* n */
	float *xhat;      /* n */
	uint8_t *raw;     /* float8 casts: the stored bytes (codes NULL) */
	uint8_t *packed;  /* after qres_pack: the codes as stored (codes NULL) */
	size_t npacked;
};

static void qres_free(struct qres *r)
{
	free(r->p);
	free(r->codes);
	free(r->xhat);
	free(r->raw);
	free(r->packed);
	*r = (struct qres){0};
}

static enum dtype storage_of(const struct scheme *s)
{
	if (s->bits <= 4)
		return s->is_signed ? DTYPE_I4 : DTYPE_U4;
	if (s->bits <= 8)
		return s->is_signed ? DTYPE_I8 : DTYPE_U8;
	return s->is_signed ? DTYPE_I16 : DTYPE_U16;
}

/* Range method per group, then the codes and x̂ of the whole tensor. */
static int quantize_groups(const float *x, const struct method *meth, struct qres *r,
                           struct qs_error *err)
{
	r->p = calloc(r->l.ngroups ? r->l.ngroups : 1, sizeof *r->p);
	r->codes = malloc((r->l.n ? r->l.n : 1) * sizeof *r->codes);
	r->xhat = malloc((r->l.n ? r->l.n : 1) * sizeof *r->xhat);
	int rc = !r->p || !r->codes || !r->xhat
	                 ? qs_error_set(err, QS_ERR_NOMEM, "out of memory")
	                 : range_choose_groups(meth, &r->s, &r->l, x, r->p, err);
	if (!rc)
		quant_tensor(&r->s, &r->l, r->p, x, r->codes, r->xhat);
	return rc;
}

/* The axis blocks run along: the reduction axis the graph tells. */
static int block_axis(const struct model_tensor *t, int dflt)
{
	int oa = t->facts.out_axis;
	if (oa < 0 || t->ndim < 2)
		return dflt;
	if (t->ndim == 2)
		return 1 - oa;
	return oa == 0 ? 1 : 0;
}

static int scheme_for(const struct model_tensor *t, const struct qspec *spec, struct scheme *s,
                      struct qs_error *err)
{
	*s = spec->scheme;
	if (spec->qt) {
		if (spec->qt->family != QTYPE_LINEAR)
			return qs_error_set(err, QS_ERR_UNSUPPORTED,
			                    "tensor '%s': qtype %s cannot be stored in ONNX (use "
			                    "int8, uint8, int16, uint16, int4, uint4 or float8)",
			                    t->name, spec->qt->name);
		s->bits = spec->qt->bits;
		s->is_signed = spec->qt->is_signed;
	}
	if (s->bits > 16 || s->bits < 2)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "tensor '%s': %d bits", t->name,
		                    s->bits);
	if (t->ndim == 0 || t->nelem <= 1)
		s->gran = GRAN_TENSOR;
	if (s->gran == GRAN_CHANNEL && t->facts.out_axis >= 0 && t->facts.out_axis < t->ndim)
		s->axis = t->facts.out_axis;
	else if (s->gran == GRAN_GROUP)
		s->axis = block_axis(t, s->axis);
	if (s->gran != GRAN_TENSOR && (s->axis < -t->ndim || s->axis >= t->ndim))
		s->axis = 0;
	return 0;
}

/* float8 qtypes: the value cast to the type (saturated, non-finite → 0, as
 * the engine simulates it), stored behind a DequantizeLinear with scale 1. */
static int cast_tensor(const struct model *m, const struct model_tensor *t,
                       const struct qspec *spec, struct qres *r, struct qs_error *err)
{
	enum dtype st = spec->qt->storage;
	if (st != DTYPE_F8E4M3FN && st != DTYPE_F8E5M2)
		return qs_error_set(
		        err, QS_ERR_UNSUPPORTED,
		        "tensor '%s': qtype %s cannot be stored in ONNX (use int8, "
		        "uint8, int16, uint16, int4, uint4, float8e4m3fn or float8e5m2)",
		        t->name, spec->qt->name);
	const char *why;
	r->storage = st;
	r->s = spec->scheme;
	r->s.gran = GRAN_TENSOR;
	layout_init(&r->l, t->shape, t->ndim, GRAN_TENSOR, 0, 0, &why);
	r->p = calloc(1, sizeof *r->p);
	r->xhat = malloc((t->nelem ? t->nelem : 1) * sizeof *r->xhat);
	r->raw = malloc(t->nelem ? t->nelem : 1);
	if (!r->p || !r->xhat || !r->raw)
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", t->name);
	r->p[0].scale = 1.0f;
	int rc = model_tensor_to_f32(m, t, r->xhat, err);
	float lim = st == DTYPE_F8E4M3FN ? 448.0f : 57344.0f;
	for (uint64_t i = 0; !rc && i < t->nelem; i++) {
		float v = isfinite(r->xhat[i]) ? r->xhat[i] : 0.0f;
		v = v > lim ? lim : v < -lim ? -lim : v;
		r->raw[i] =
		        st == DTYPE_F8E4M3FN ? f32_to_f8e4m3fn(v, true) : f32_to_f8e5m2(v, true);
		r->xhat[i] = st == DTYPE_F8E4M3FN ? f8e4m3fn_to_f32(r->raw[i])
		                                  : f8e5m2_to_f32(r->raw[i]);
	}
	return rc;
}

static int quantize_tensor(const struct model *m, const struct model_tensor *t,
                           const struct qspec *spec, struct qres *r, struct qs_error *err)
{
	*r = (struct qres){0};
	if (spec->qt && spec->qt->family == QTYPE_FLOAT) {
		int rc = cast_tensor(m, t, spec, r, err);
		if (rc)
			qres_free(r);
		return rc;
	}
	int rc = scheme_for(t, spec, &r->s, err);
	if (rc)
		return rc;
	const char *why = "";
	if (!layout_init(&r->l, t->shape, t->ndim, r->s.gran, r->s.axis, r->s.group_size, &why))
		return qs_error_set(err, QS_ERR_USAGE, "tensor '%s': %s", t->name, why);
	r->storage = storage_of(&r->s);
	/* One group is per-tensor to the runtimes (ONNX Runtime refuses a
	 * block_size with a one-element scale). */
	if (r->l.ngroups == 1 && r->s.gran != GRAN_TENSOR) {
		r->s.gran = GRAN_TENSOR;
		layout_init(&r->l, t->shape, t->ndim, GRAN_TENSOR, 0, 0, &why);
	}
	float *x = malloc((t->nelem ? t->nelem : 1) * sizeof *x);
	if (!x)
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", t->name);
	rc = model_tensor_to_f32(m, t, x, err);
	if (!rc)
		rc = quantize_groups(x, &spec->method, r, err);
	free(x);
	if (rc)
		qres_free(r);
	return rc;
}

/* Opset a quantized tensor needs. */
static int64_t opset_needed(const struct qres *r)
{
	if (r->raw)
		return 19;
	if (r->storage != DTYPE_I8 && r->storage != DTYPE_U8)
		return 21;
	if (r->l.gran == GRAN_GROUP)
		return 21;
	return r->l.gran == GRAN_CHANNEL ? 13 : 10;
}

/* ---- graph edits ---- */

static void remove_graph_input(Onnx__GraphProto *g, const char *name)
{
	for (size_t i = 0; i < g->n_input; i++) {
		if (!g->input[i]->name || strcmp(g->input[i]->name, name))
			continue;
		onnx__value_info_proto__free_unpacked(g->input[i], onnx_allocator());
		memmove(&g->input[i], &g->input[i + 1], (g->n_input - i - 1) * sizeof *g->input);
		g->n_input--;
		return;
	}
}

static void remove_init(Onnx__GraphProto *g, Onnx__TensorProto *tp)
{
	for (size_t i = 0; i < g->n_initializer; i++) {
		if (g->initializer[i] != tp)
			continue;
		onnx__tensor_proto__free_unpacked(tp, onnx_allocator());
		memmove(&g->initializer[i], &g->initializer[i + 1],
		        (g->n_initializer - i - 1) * sizeof *g->initializer);
		g->n_initializer--;
		return;
	}
}

static char *cat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = onnx_xmalloc(la + lb + 1);
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

/* Replace the float tensor of src entry cs (named name) by a
 * DequantizeLinear of q (+ scale s, zp z, all new initializers). */
static void install_dq(struct cp_src *cs, const char *name, Onnx__TensorProto *q,
                       Onnx__TensorProto *s, Onnx__TensorProto *z, const struct layout *l)
{
	Onnx__GraphProto *g = cs->g;
	const char *in[3] = {q->name, s->name, z ? z->name : ""};
	char *nodename = cat(name, "_DequantizeLinear");
	Onnx__NodeProto *dq = onnx_pb_node("DequantizeLinear", nodename, in, z ? 3 : 2, &name, 1);
	free(nodename);
	if (l->gran != GRAN_TENSOR)
		onnx_pb_attr_int(dq, "axis", l->axis);
	if (l->gran == GRAN_GROUP)
		onnx_pb_attr_int(dq, "block_size", (int64_t)l->block);
	onnx_pb_graph_add_init(g, q);
	onnx_pb_graph_add_init(g, s);
	if (z)
		onnx_pb_graph_add_init(g, z);
	if (cs->cn) {
		for (size_t i = 0; i < g->n_node; i++)
			if (g->node[i] == cs->cn) {
				onnx_pb_graph_remove_node(g, i);
				onnx_pb_graph_insert_node(g, i, dq);
				break;
			}
	} else {
		remove_graph_input(g, name);
		remove_init(g, cs->tp);
		onnx_pb_graph_insert_node(g, 0, dq);
	}
	cs->tp = NULL;
	cs->cn = NULL;
}

static void scale_dims(const struct model_tensor *t, const struct layout *l, int64_t *dims,
                       int *ndim)
{
	if (l->gran == GRAN_TENSOR) {
		*ndim = 0;
	} else if (l->gran == GRAN_CHANNEL) {
		*ndim = 1;
		dims[0] = (int64_t)l->dim;
	} else {
		*ndim = t->ndim;
		memcpy(dims, t->shape, (size_t)t->ndim * sizeof *dims);
		dims[l->axis] = (int64_t)l->nblk;
	}
}

/* A tensor written as QDQ keeps only its stored bytes until then: x̂ and
 * the int32 codes go as soon as it is quantized (8 bytes an element
 * against 1 for int8), so a model is not held several times over. */
static void qres_pack(struct qres *r, uint64_t n)
{
	if (r->codes) {
		r->packed = ints_to_bytes(r->storage, r->codes, n, &r->npacked);
		free(r->codes);
		r->codes = NULL;
	}
	free(r->xhat);
	r->xhat = NULL;
}

static void write_qdq(struct cp_src *cs, const struct model_tensor *t, const struct qres *r)
{
	size_t nb = r->raw ? t->nelem : r->npacked;
	int32_t ot = onnx_dtype_from_qs(r->storage);
	char *qn = cat(t->name, "_quantized"), *sn = cat(t->name, "_scale"),
	     *zn = cat(t->name, "_zero_point");
	Onnx__TensorProto *q =
	        onnx_pb_tensor(qn, ot, t->shape, t->ndim, r->raw ? r->raw : r->packed, nb);
	uint64_t ng = r->l.ngroups;
	float *sc = onnx_xmalloc(ng * sizeof *sc);
	int32_t *zp = onnx_xmalloc(ng * sizeof *zp);
	for (uint64_t g = 0; g < ng; g++) {
		sc[g] = r->p[g].scale;
		zp[g] = r->p[g].zero_point;
	}
	int64_t dims[QS_MAX_DIMS];
	int nd;
	scale_dims(t, &r->l, dims, &nd);
	Onnx__TensorProto *s = onnx_pb_tensor(sn, 1, dims, nd, sc, ng * sizeof *sc);
	uint8_t *zb = r->raw ? onnx_xmalloc(nb = 1) /* float8 0 is 0x00 */
	                     : ints_to_bytes(r->storage, zp, ng, &nb);
	Onnx__TensorProto *z = onnx_pb_tensor(zn, ot, dims, nd, zb, nb);
	free(zb);
	free(sc);
	free(zp);
	free(qn);
	free(sn);
	free(zn);
	install_dq(cs, t->name, q, s, z, &r->l);
}

static void write_fake(struct cp_src *cs, const struct model_tensor *t, const float *xhat)
{
	size_t nb;
	uint8_t *b = floats_to_bytes(t->dtype, xhat, t->nelem, &nb);
	tp_set_raw(cs->tp, b, nb);
	free(b);
}

/* ---- the bias of a quantized weight ---- */

struct wctx {
	const struct model *m;
	const struct write_opts *o;
	struct cp *c;
	struct qres *res; /* per tensor; res[i].p != NULL when quantized */
	bool *done;       /* tensors already rewritten */
	int64_t opset;
	struct qs_error *err;
	int rc;
};

static bool bias_op(const Onnx__NodeProto *n)
{
	static const char *const ops[] = {"Conv", "ConvTranspose", "Gemm"};
	for (size_t i = 0; i < 3; i++)
		if (n->op_type && !strcmp(n->op_type, ops[i]))
			return true;
	return false;
}

static void bias_node(Onnx__GraphProto *g, Onnx__NodeProto *n, void *ctx)
{
	(void)g;
	struct wctx *w = ctx;
	if (w->rc || !bias_op(n) || n->n_input < 3 || !n->input[2][0])
		return;
	int64_t wi = model_find(w->m, n->input[1]), bi = model_find(w->m, n->input[2]);
	if (wi < 0 || bi < 0 || (size_t)bi >= w->c->n || !w->res[wi].p || w->done[bi])
		return;
	const struct model_tensor *wt = &w->m->tensors[wi], *bt = &w->m->tensors[bi];
	const struct qres *r = &w->res[wi];
	if (!wt->facts.has_input || r->raw || r->l.gran == GRAN_GROUP || bt->ndim != 1 ||
	    !dtype_info(bt->dtype)->is_float || !w->c->s[bi].tp ||
	    (r->l.gran == GRAN_CHANNEL &&
	     (r->l.axis != wt->facts.out_axis || r->l.dim != bt->nelem)))
		return;
	float *b = malloc(bt->nelem * sizeof *b);
	int32_t *q = malloc(bt->nelem * sizeof *q);
	float *bs = malloc(bt->nelem * sizeof *bs);
	if (!b || !q || !bs || model_tensor_to_f32(w->m, bt, b, NULL)) {
		free(b);
		free(q);
		free(bs);
		return;
	}
	uint64_t ns = r->l.gran == GRAN_CHANNEL ? bt->nelem : 1;
	for (uint64_t c = 0; c < bt->nelem; c++) {
		float s = (float)wt->facts.s_in * r->p[ns > 1 ? c : 0].scale;
		double v = quant_round((double)b[c] / (double)s, ROUND_HALF_EVEN);
		q[c] = v >= 2147483647.0 ? INT32_MAX : v <= -2147483648.0 ? INT32_MIN : (int32_t)v;
		bs[c] = s;
		b[c] = (float)((double)q[c] * (double)s);
	}
	struct cp_src *cs = &w->c->s[bi];
	if (w->o->fake_quant) {
		write_fake(cs, bt, b);
	} else {
		int64_t d = (int64_t)ns;
		char *qn = cat(bt->name, "_quantized"), *sn = cat(bt->name, "_quantized_scale");
		Onnx__TensorProto *qt =
		        onnx_pb_tensor(qn, 6, bt->shape, 1, q, bt->nelem * sizeof *q);
		Onnx__TensorProto *st =
		        onnx_pb_tensor(sn, 1, &d, ns > 1 ? 1 : 0, bs, ns * sizeof *bs);
		struct layout l = {.gran = ns > 1 ? GRAN_CHANNEL : GRAN_TENSOR, .axis = 0};
		install_dq(cs, bt->name, qt, st, NULL, &l);
		free(qn);
		free(sn);
		if (ns > 1 && w->opset < 13)
			w->opset = 13;
		if (w->opset < 10)
			w->opset = 10;
	}
	w->done[bi] = true;
	free(b);
	free(q);
	free(bs);
}

/* ---- packing ---- */

static int inline_external(const struct model *m, struct cp *c, struct qs_error *err)
{
	(void)err;
	for (size_t i = 0; i < c->n; i++) {
		Onnx__TensorProto *tp = c->s[i].tp;
		if (!tp || !tp->has_data_location ||
		    tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
			continue;
		const struct model_tensor *t = &m->tensors[i];
		tp_set_raw(tp, t->data, t->nbytes);
	}
	return 0;
}

/* Inline, or external data when onnx_ext_wanted says so. m: the model
 * whose tensors c lists (the source, or like's). */
static int finish(const struct model *m, struct cp *c, const struct write_opts *o,
                  const struct model *const *inputs, size_t ninputs, FILE *out,
                  const char *out_path, struct qs_error *err)
{
	struct onnx_ext_src *es = onnx_xmalloc((c->n + 1) * sizeof *es);
	size_t ne = 0;
	for (size_t i = 0; i < c->n; i++) {
		Onnx__TensorProto *tp = c->s[i].tp;
		if (tp && tp->has_data_location &&
		    tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
			es[ne++] =
			        (struct onnx_ext_src){tp, m->tensors[i].data, m->tensors[i].nbytes};
	}
	bool used = false; /* did an input keep tensors in external files? */
	for (size_t k = 0; k < ninputs; k++)
		if (inputs[k] && inputs[k]->format == FMT_ONNX && inputs[k]->impl)
			used = used || ((const struct onnx_model *)inputs[k]->impl)->next > 0;
	int rc;
	if (onnx_ext_wanted(c->mp, o->external_data || used, ne, out_path)) {
		rc = onnx_ext_write(c->mp, es, ne, inputs, ninputs, out, out_path, err);
	} else {
		rc = inline_external(m, c, err);
		if (!rc)
			rc = onnx_pack_write(c->mp, out, out_path, err);
	}
	free(es);
	return rc;
}

/* protobuf-c's output buffer writing straight to a FILE: the model is never
 * packed whole in memory. */
struct file_buf {
	ProtobufCBuffer base;
	FILE *f;
	bool failed;
};

static void file_buf_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	struct file_buf *fb = (struct file_buf *)b;

	if (!fb->failed && len && fwrite(data, 1, len, fb->f) != len)
		fb->failed = true;
}

int onnx_pack_write(Onnx__ModelProto *mp, FILE *out, const char *out_path, struct qs_error *err)
{
	size_t n = onnx__model_proto__get_packed_size(mp);
	if (n > (size_t)INT32_MAX)
		return qs_error_set(err, QS_ERR_UNSUPPORTED,
		                    "%s: the model would be %zu bytes, over protobuf's 2 GiB limit",
		                    out_path, n);
	struct file_buf fb = {.base = {.append = file_buf_append}, .f = out};
	if (onnx__model_proto__pack_to_buffer(mp, &fb.base) != n || fb.failed || fflush(out) != 0 ||
	    ferror(out))
		return qs_error_set(err, QS_ERR_IO, "%s: write failed: %s", out_path,
		                    strerror(errno));
	return 0;
}

static bool skip_tensor(const struct model_tensor *t)
{
	static const char *const shape_ops[] = {"Resize", "Upsample", "ConstantOfShape", "Range"};
	if (t->is_aux || t->quant || t->block || !dtype_info(t->dtype)->is_float || t->nelem == 0)
		return true;
	/* A lone constant (an exponent, epsilon or clip bound) is an operand
	 * whose exact value matters (Pow(x, 2.0000002) of a negative x is NaN),
	 * not a weight. */
	if (t->facts.role == ROLE_OTHER && t->nelem == 1)
		return true;
	for (size_t i = 0; i < sizeof shape_ops / sizeof shape_ops[0]; i++)
		if (t->facts.role == ROLE_OTHER && t->facts.op_type &&
		    !strcmp(t->facts.op_type, shape_ops[i]))
			return true;
	return false;
}

static int write_plain(const struct model *src, const struct write_opts *o, FILE *out,
                       const char *out_path, struct qs_error *err)
{
	struct cp c;
	int rc = cp_open(src, &c, err);
	struct wctx w = {.m = src, .o = o, .c = &c, .err = err};
	w.res = calloc(src->ntensors + 1, sizeof *w.res);
	w.done = calloc(src->ntensors + 1, sizeof *w.done);
	if (!rc && (!w.res || !w.done))
		rc = qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; !rc && i < src->ntensors; i++) {
		const struct model_tensor *t = &src->tensors[i];
		if (!o->plan || !o->plan[i].quantize || skip_tensor(t))
			continue;
		rc = quantize_tensor(src, t, &o->plan[i].spec, &w.res[i], err);
		if (!rc && o->fake_quant && i < c.n) { /* x̂ written now, not kept */
			write_fake(&c.s[i], t, w.res[i].xhat);
			free(w.res[i].xhat);
			free(w.res[i].codes);
			w.res[i].xhat = NULL;
			w.res[i].codes = NULL;
		}
		if (!rc && !o->fake_quant) {
			qres_pack(&w.res[i], t->nelem);
			if (opset_needed(&w.res[i]) > w.opset)
				w.opset = opset_needed(&w.res[i]);
		}
		model_tensor_release(t);
	}
	if (!rc)
		onnx_walk_nodes(c.mp->graph, 0, bias_node, &w);
	rc = rc ? rc : w.rc;
	for (size_t i = 0; !rc && i < c.n; i++) {
		if (!w.res[i].p || w.done[i])
			continue;
		if (o->fake_quant) {
			if (w.res[i].xhat) /* else written above */
				write_fake(&c.s[i], &src->tensors[i], w.res[i].xhat);
		} else
			write_qdq(&c.s[i], &src->tensors[i], &w.res[i]);
	}
	if (!rc && w.opset > onnx_default_opset(c.mp))
		rc = onnx_opset_raise(c.mp, w.opset, err);
	if (!rc)
		rc = finish(src, &c, o, &src, 1, out, out_path, err);
	for (size_t i = 0; w.res && i < src->ntensors; i++)
		qres_free(&w.res[i]);
	free(w.res);
	free(w.done);
	cp_close(&c);
	return rc;
}

/* ---- --like ---- */

/* Scale and zero-point TensorProto names of quantized tensor `name` in the
 * like model's graph: the node that consumes it says where they are. */
struct find_qp {
	const char *name;
	const char *s, *z;
};

static void find_qp_node(Onnx__GraphProto *g, Onnx__NodeProto *n, void *ctx)
{
	(void)g;
	struct find_qp *f = ctx;
	if (f->s || !n->op_type)
		return;
	static const struct {
		const char *op;
		size_t x, s, z;
	} tab[] = {{"DequantizeLinear", 0, 1, 2},
	           {"QLinearConv", 3, 4, 5},
	           {"QLinearMatMul", 3, 4, 5}};
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(n->op_type, tab[i].op) || n->n_input <= tab[i].s ||
		    strcmp(n->input[tab[i].x], f->name))
			continue;
		f->s = n->input[tab[i].s];
		f->z = n->n_input > tab[i].z && n->input[tab[i].z][0] ? n->input[tab[i].z] : NULL;
	}
}

static int64_t find_named(const struct model *m, const char *name, const char *suffix_of,
                          const char *suffix)
{
	if (name)
		return model_find(m, name);
	size_t n = strlen(suffix_of);
	if (n <= 10 || strcmp(suffix_of + n - 10, "_quantized"))
		return -1;
	char *s = onnx_xmalloc(n + strlen(suffix) + 1);
	memcpy(s, suffix_of, n - 10);
	strcpy(s + n - 10, suffix);
	int64_t i = model_find(m, s);
	free(s);
	return i;
}

/* The scheme like's zero points show: all at the middle code (0 signed;
 * 128, or 127 with a narrow range, unsigned) is symmetric, else affine. */
static void like_symmetry(const struct tensor_quant *tq, struct scheme *s)
{
	bool sym = true, narrow = true;
	for (uint64_t g = 0; g < tq->layout.ngroups; g++) {
		int32_t z = tq->zero_point ? tq->zero_point[g] : 0;
		if (s->is_signed ? z != 0 : (z != 128 && z != 127))
			sym = false;
		if (z != 127)
			narrow = false;
	}
	s->symmetric = sym;
	if (!s->is_signed && tq->bits == 8)
		s->narrow = sym && narrow;
}

/* The int32 bias of the op a re-quantized weight feeds, whose scale is
 * s_in·s_w: the QDQ form (Conv/Gemm input 2 from a DequantizeLinear of
 * `<b>_quantized` with `<b>_quantized_scale`) or QLinearConv's input 8. */
struct find_bias {
	const char *w;
	const char *wout; /* DequantizeLinear output of the weight */
	const char *bout; /* the bias input of the consumer */
	const char *bq, *bs;
};

static void find_bias_node(Onnx__GraphProto *g, Onnx__NodeProto *n, void *ctx)
{
	(void)g;
	struct find_bias *f = ctx;
	const char *op = n->op_type ? n->op_type : "";
	if (!strcmp(op, "DequantizeLinear") && n->n_input >= 2 && n->n_output) {
		if (!strcmp(n->input[0], f->w))
			f->wout = n->output[0];
		if (f->bout && !strcmp(n->output[0], f->bout)) {
			f->bq = n->input[0];
			f->bs = n->input[1];
		}
	} else if (!strcmp(op, "QLinearConv") && n->n_input > 8 && !strcmp(n->input[3], f->w)) {
		f->bq = n->input[8];
	} else if (f->wout && bias_op(n) && n->n_input > 2 && !strcmp(n->input[1], f->wout)) {
		f->bout = n->input[2];
	}
}

static void like_bias(const struct model *src, const struct model *like, struct cp *c,
                      const struct model_tensor *wt, const float *sw, uint64_t ns)
{
	struct find_bias fb = {.w = wt->name};
	for (int pass = 0; pass < 3 && !fb.bq; pass++) /* producers may follow consumers */
		onnx_walk_nodes(c->mp->graph, 0, find_bias_node, &fb);
	int64_t bi = fb.bq ? model_find(like, fb.bq) : -1;
	int64_t si = fb.bs ? model_find(like, fb.bs) : -1;
	if (bi < 0 || (size_t)bi >= c->n || (si >= 0 && (size_t)si >= c->n) ||
	    !wt->facts.has_input || !c->s[bi].tp || (fb.bs && (si < 0 || !c->s[si].tp)))
		return;
	const struct model_tensor *bt = &like->tensors[bi];
	if (bt->dtype != DTYPE_I32 || (ns != 1 && ns != bt->nelem))
		return;
	float *b = onnx_xmalloc(bt->nelem * sizeof *b), *bs = onnx_xmalloc(bt->nelem * sizeof *bs);
	int32_t *q = onnx_xmalloc(bt->nelem * sizeof *q);
	int64_t fi =
	        bt->quant && bt->quant->float_name ? model_find(src, bt->quant->float_name) : -1;
	if (fi < 0 || src->tensors[fi].nelem != bt->nelem ||
	    model_tensor_to_f32(src, &src->tensors[fi], b, NULL))
		model_tensor_to_f32(like, bt, b, NULL);
	for (uint64_t k = 0; k < bt->nelem; k++) {
		bs[k] = (float)wt->facts.s_in * sw[ns > 1 ? k : 0];
		double v = quant_round((double)b[k] / (double)bs[k], ROUND_HALF_EVEN);
		q[k] = v >= 2147483647.0 ? INT32_MAX : v <= -2147483648.0 ? INT32_MIN : (int32_t)v;
	}
	tp_set_raw(c->s[bi].tp, q, bt->nelem * sizeof *q);
	if (si >= 0) {
		const struct model_tensor *st = &like->tensors[si];
		size_t nb;
		uint8_t *sb = floats_to_bytes(st->dtype, bs, st->nelem, &nb);
		if (st->nelem == bt->nelem || st->nelem == 1)
			tp_set_raw(c->s[si].tp, sb, nb);
		free(sb);
	}
	free(b);
	free(bs);
	free(q);
}

static int like_one(const struct model *src, const struct model *like, struct cp *c, int64_t f,
                    int64_t q, const struct qspec *spec, struct qs_error *err)
{
	const struct model_tensor *ft = &src->tensors[f], *qt = &like->tensors[q];
	const struct tensor_quant *tq = qt->quant;
	if (ft->nelem != qt->nelem || tq->bits > 16)
		return 0;
	struct find_qp fq = {.name = qt->name};
	onnx_walk_nodes(c->mp->graph, 0, find_qp_node, &fq);
	int64_t si = find_named(like, fq.s, qt->name, "_scale");
	int64_t zi = fq.s ? (fq.z ? model_find(like, fq.z) : -1)
	                  : find_named(like, NULL, qt->name, "_zero_point");
	if (si < 0 || (size_t)si >= c->n || (size_t)q >= c->n || (zi >= 0 && (size_t)zi >= c->n) ||
	    !c->s[si].tp || !c->s[q].tp)
		return 0; /* virtual (run-time Q) tensors have no TensorProto to edit */
	struct qres r = {0};
	r.s = spec->scheme;
	r.s.bits = (int)dtype_info(qt->dtype)->bits;
	r.s.is_signed = dtype_info(qt->dtype)->is_signed;
	r.s.gran = tq->layout.gran;
	r.s.axis = tq->layout.axis;
	r.s.group_size = tq->layout.block;
	r.l = tq->layout;
	r.storage = qt->dtype;
	like_symmetry(tq, &r.s);
	float *x = malloc((ft->nelem ? ft->nelem : 1) * sizeof *x);
	if (!x)
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	int rc = model_tensor_to_f32(src, ft, x, err);
	if (!rc)
		rc = quantize_groups(x, &spec->method, &r, err);
	free(x);
	if (rc) {
		qres_free(&r);
		return rc;
	}
	size_t nb;
	uint8_t *b = ints_to_bytes(qt->dtype, r.codes, qt->nelem, &nb);
	tp_set_raw(c->s[q].tp, b, nb);
	free(b);
	uint64_t ng = r.l.ngroups;
	float *sc = onnx_xmalloc(ng * sizeof *sc);
	int32_t *zp = onnx_xmalloc(ng * sizeof *zp);
	for (uint64_t g = 0; g < ng; g++) {
		sc[g] = r.p[g].scale;
		zp[g] = r.p[g].zero_point;
	}
	const struct model_tensor *st = &like->tensors[si];
	b = floats_to_bytes(st->dtype, sc, ng, &nb);
	tp_set_raw(c->s[si].tp, b, nb);
	free(b);
	if (zi >= 0 && c->s[zi].tp) {
		b = ints_to_bytes(like->tensors[zi].dtype, zp, ng, &nb);
		tp_set_raw(c->s[zi].tp, b, nb);
		free(b);
	}
	like_bias(src, like, c, qt, sc, ng);
	free(sc);
	free(zp);
	qres_free(&r);
	return 0;
}

static int write_like(const struct model *src, const struct write_opts *o, FILE *out,
                      const char *out_path, struct qs_error *err)
{
	const struct model *like = o->like;
	if (like->format != FMT_ONNX)
		return qs_error_set(err, QS_ERR_USAGE, "%s: --like needs an ONNX model",
		                    like->path ? like->path : "?");
	struct pairing pr = {0};
	int rc = model_pair(src, like, &pr, err);
	if (rc)
		return rc;
	struct cp c;
	rc = cp_open(like, &c, err);
	for (size_t i = 0; !rc && i < pr.n; i++) {
		int64_t f = pr.pairs[i].f, q = pr.pairs[i].q;
		if (f < 0 || q < 0 || !like->tensors[q].quant || !o->plan || !o->plan[f].quantize)
			continue;
		rc = like_one(src, like, &c, f, q, &o->plan[f].spec, err);
	}
	const struct model *inputs[2] = {src, like};
	if (!rc)
		rc = finish(like, &c, o, inputs, 2, out, out_path, err);
	cp_close(&c);
	pairing_free(&pr);
	return rc;
}

int onnx_write_model(const struct model *src, const struct write_opts *o, FILE *out,
                     const char *out_path, struct qs_error *err)
{
	if (!src->impl || src->format != FMT_ONNX)
		return qs_error_set(err, QS_ERR_USAGE, "%s: not an ONNX model", out_path);
	if (o->like)
		return write_like(src, o, out, out_path, err);
	return write_plain(src, o, out, out_path, err);
}
