/* onnx_graph.c — what an ONNX graph says about its tensors: quantization
 * parameters (QDQ, QOperator, ONNX Runtime naming) and graph facts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_impl.h"

/* ---- a small string → int64 map (open addressing, FNV-1a) ---- */

struct smap {
	const char **key;
	int64_t *val;
	size_t cap, n;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return h;
}

static bool smap_init(struct smap *m, size_t n)
{
	m->cap = 16;
	m->n = 0;
	while (m->cap < 2 * n + 16)
		m->cap *= 2;
	m->key = calloc(m->cap, sizeof *m->key);
	m->val = calloc(m->cap, sizeof *m->val);
	return m->key && m->val;
}

static void smap_free(struct smap *m)
{
	free(m->key);
	free(m->val);
}

static int64_t smap_get(const struct smap *m, const char *k)
{
	if (!k || !*k)
		return -1;
	for (size_t i = fnv(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->key[i])
			return -1;
		if (!strcmp(m->key[i], k))
			return m->val[i];
	}
}

static void smap_put(struct smap *m, const char *k, int64_t v);

static void smap_grow(struct smap *m)
{
	struct smap old = *m;
	if (!smap_init(m, old.cap)) {
		free(m->key);
		free(m->val);
		*m = old;
		return;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.key[i])
			smap_put(m, old.key[i], old.val[i]);
	smap_free(&old);
}

/* First insert wins: a name defined twice keeps its first definition. */
static void smap_put(struct smap *m, const char *k, int64_t v)
{
	if (!k || !*k)
		return;
	if (2 * (m->n + 1) > m->cap)
		smap_grow(m);
	if (m->n + 1 >= m->cap)
		return;
	size_t i = fnv(k) & (m->cap - 1);
	while (m->key[i]) {
		if (!strcmp(m->key[i], k))
			return;
		i = (i + 1) & (m->cap - 1);
	}
	m->key[i] = k;
	m->val[i] = v;
	m->n++;
}

/* ---- node helpers ---- */

const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name)
{
	for (size_t i = 0; i < n->n_attribute; i++)
		if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name))
			return n->attribute[i];
	return NULL;
}

int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt)
{
	const Onnx__AttributeProto *a = onnx_attr(n, name);
	return a ? a->i : dflt;
}

static void walk(Onnx__GraphProto *g, int depth,
                 void (*fn)(Onnx__GraphProto *, Onnx__NodeProto *, void *), void *ctx)
{
	if (depth > ONNX_MAX_DEPTH)
		return;
	for (size_t i = 0; i < g->n_node; i++) {
		Onnx__NodeProto *n = g->node[i];
		fn(g, n, ctx);
		for (size_t k = 0; k < n->n_attribute; k++) {
			Onnx__AttributeProto *a = n->attribute[k];
			if (a->g)
				walk(a->g, depth + 1, fn, ctx);
			for (size_t j = 0; j < a->n_graphs; j++)
				walk(a->graphs[j], depth + 1, fn, ctx);
		}
	}
}

void onnx_walk_nodes(Onnx__GraphProto *g, int depth,
                     void (*fn)(Onnx__GraphProto *g, Onnx__NodeProto *n, void *ctx), void *ctx)
{
	walk(g, depth, fn, ctx);
}

static bool op_is(const Onnx__NodeProto *n, const char *op)
{
	return n->op_type && !strcmp(n->op_type, op);
}

static const char *in_at(const Onnx__NodeProto *n, size_t i)
{
	return i < n->n_input && n->input[i] && n->input[i][0] ? n->input[i] : NULL;
}

/* ---- the analysis state ---- */

struct virt {
	int64_t x, s, zp; /* tensor indices (zp −1 when absent) */
	int64_t axis, block;
	int64_t t; /* the virtual tensor, once added */
};

struct act {
	double s;
	int32_t qmin, qmax; /* minus the zero point */
};

struct ga {
	struct model *m;
	struct onnx_model *om;
	const char *file;
	struct qs_error *err;
	int rc;
	struct smap tensor;   /* tensor name → index */
	struct smap alias;    /* value name → tensor index through Q/DQ/Identity */
	struct smap actmap;   /* activation value → index in acts */
	struct smap consumer; /* value name → index in nodes of its first consumer */
	struct smap mul_out;  /* output[0] of a Mul → its index in nodes (first wins) */
	struct act *acts;
	size_t nacts, capacts;
	Onnx__NodeProto **nodes;
	size_t nnodes, capnodes;
	struct virt *virt; /* QuantizeLinear of float weights */
	size_t nvirt, capvirt;
};

static int64_t value_tensor(const struct ga *a, const char *name)
{
	int64_t i = smap_get(&a->tensor, name);
	return i >= 0 ? i : smap_get(&a->alias, name);
}

static struct model_tensor *tensor_of(const struct ga *a, const char *name)
{
	int64_t i = value_tensor(a, name);
	return i >= 0 ? &a->m->tensors[i] : NULL;
}

static int fail(struct ga *a, enum qs_status code, const char *msg, const Onnx__NodeProto *n)
{
	if (!a->rc)
		a->rc = qs_error_set(a->err, code, "%s: node '%s' (%s): %s", a->file,
		                     n->name ? n->name : "", n->op_type ? n->op_type : "?", msg);
	return a->rc;
}

/* Float values of a small tensor (scales, biases), owned by the model. */
static float *tensor_floats(struct ga *a, const struct model_tensor *t)
{
	float *f = onnx_own(a->om, (t->nelem ? t->nelem : 1) * sizeof *f);
	if (!f)
		return NULL;
	if (dtype_info(t->dtype)->is_float)
		dtype_to_f32(t->dtype, t->data, 0, t->nelem, false, t->nibbles, f);
	else if (t->quant)
		model_tensor_to_f32(a->m, t, f, NULL);
	else
		for (uint64_t i = 0; i < t->nelem; i++)
			f[i] = (float)dtype_get_int(t->dtype, t->data, i, t->nibbles);
	return f;
}

/* ---- quantization parameters ---- */

struct qsrc {
	struct model_tensor *x, *s, *zp;
	int64_t axis, block;
};

static bool is_int(enum dtype d)
{
	return !dtype_info(d)->is_float && d != DTYPE_BOOL;
}

/* Codes and zero points are int32 (tensor_quant, struct act): a 64-bit or
 * u32 type's range does not fit, so such a tensor is no quantized one. */
static bool is_code_type(enum dtype d)
{
	return is_int(d) && dtype_info(d)->int_min >= INT32_MIN &&
	       dtype_info(d)->int_max <= INT32_MAX;
}

static char *strip_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	if (n > k && !strcmp(s + n - k, suffix))
		return strndup(s, n - k);
	return NULL;
}

static int set_quant(struct ga *a, const struct qsrc *q, const char *float_name,
                     const Onnx__NodeProto *n)
{
	struct model_tensor *x = q->x;
	if (!x || !q->s || !is_code_type(x->dtype) || x->quant)
		return 0;
	uint64_t ns = q->s->nelem;
	if (ns == 0 || (q->zp && q->zp->nelem != ns))
		return fail(a, QS_ERR_FORMAT, "scale and zero point differ in size", n);
	enum granularity g = GRAN_TENSOR;
	int64_t axis = q->axis;
	if (ns > 1 || q->block > 0) {
		if (x->ndim == 0)
			return fail(a, QS_ERR_FORMAT, "per-axis scale on a scalar", n);
		if (axis < -x->ndim || axis >= x->ndim)
			return fail(a, QS_ERR_FORMAT, "axis out of range", n);
		g = q->block > 0 ? GRAN_GROUP : GRAN_CHANNEL;
	}
	struct layout l;
	const char *why = "";
	if (!layout_init(&l, x->shape, x->ndim, g, (int)axis, (uint64_t)q->block, &why))
		return fail(a, QS_ERR_FORMAT, why, n);
	if (l.ngroups != ns) {
		char msg[160];
		snprintf(msg, sizeof msg, "scale has %llu elements, the layout of '%s' needs %llu",
		         (unsigned long long)ns, x->name, (unsigned long long)l.ngroups);
		return fail(a, QS_ERR_FORMAT, msg, n);
	}
	struct tensor_quant *tq = calloc(1, sizeof *tq);
	float *sc = malloc(ns * sizeof *sc);
	int32_t *zp = calloc(ns, sizeof *zp);
	if (!tq || !sc || !zp) {
		free(tq);
		free(sc);
		free(zp);
		return fail(a, QS_ERR_NOMEM, "out of memory", n);
	}
	dtype_to_f32(q->s->dtype, q->s->data, 0, ns, false, q->s->nibbles, sc);
	if (q->zp && is_code_type(q->zp->dtype))
		for (uint64_t i = 0; i < ns; i++)
			zp[i] = (int32_t)dtype_get_int(q->zp->dtype, q->zp->data, i,
			                               q->zp->nibbles);
	const struct dtype_info *di = dtype_info(x->dtype);
	tq->bits = (int)di->bits;
	tq->qmin = (int32_t)di->int_min;
	tq->qmax = (int32_t)di->int_max;
	tq->layout = l;
	tq->scale = sc;
	tq->zero_point = zp;
	tq->float_name = float_name ? strdup(float_name) : strip_suffix(x->name, "_quantized");
	if (!tq->float_name)
		tq->float_name = strdup(x->name);
	x->quant = tq;
	q->s->is_aux = true;
	if (q->zp)
		q->zp->is_aux = true;
	return 0;
}

/* ---- pass 1: aliases through Q/DQ/Identity, activation scales ---- */

static void act_from_dq(struct ga *a, const Onnx__NodeProto *n)
{
	struct model_tensor *s = tensor_of(a, in_at(n, 1));
	struct model_tensor *zp = tensor_of(a, in_at(n, 2));
	if (!s || s->nelem != 1 || !n->n_output ||
	    (zp && is_int(zp->dtype) && !is_code_type(zp->dtype)))
		return;
	float sv;
	dtype_to_f32(s->dtype, s->data, 0, 1, false, s->nibbles, &sv);
	enum dtype zt = zp && is_int(zp->dtype) ? zp->dtype : DTYPE_U8;
	int64_t z = zp && is_int(zp->dtype) && zp->nelem == 1
	                    ? dtype_get_int(zp->dtype, zp->data, 0, zp->nibbles)
	                    : 0;
	if (a->nacts == a->capacts) {
		size_t cap = a->capacts ? 2 * a->capacts : 32;
		struct act *p = realloc(a->acts, cap * sizeof *p);
		if (!p)
			return;
		a->acts = p;
		a->capacts = cap;
	}
	const struct dtype_info *di = dtype_info(zt);
	a->acts[a->nacts] = (struct act){
	        .s = sv,
	        .qmin = (int32_t)(di->int_min - z),
	        .qmax = (int32_t)(di->int_max - z),
	};
	smap_put(&a->actmap, n->output[0], (int64_t)a->nacts);
	a->nacts++;
	s->is_aux = true;
	if (zp)
		zp->is_aux = true;
}

static void pass_alias(Onnx__GraphProto *g, Onnx__NodeProto *n, void *ctx)
{
	(void)g;
	struct ga *a = ctx;
	if (a->nnodes == a->capnodes) {
		size_t cap = a->capnodes ? 2 * a->capnodes : 256;
		Onnx__NodeProto **p = realloc(a->nodes, cap * sizeof *p);
		if (!p)
			return;
		a->nodes = p;
		a->capnodes = cap;
	}
	int64_t self = (int64_t)a->nnodes;
	a->nodes[a->nnodes++] = n;
	for (size_t i = 0; i < n->n_input; i++)
		smap_put(&a->consumer, n->input[i], self);
	if (op_is(n, "Mul") && n->n_output)
		smap_put(&a->mul_out, n->output[0], self);
	if (!n->n_output)
		return;
	bool pass =
	        op_is(n, "DequantizeLinear") || op_is(n, "QuantizeLinear") || op_is(n, "Identity");
	if (!pass)
		return;
	int64_t t = value_tensor(a, in_at(n, 0));
	if (t >= 0)
		smap_put(&a->alias, n->output[0], t);
	else if (op_is(n, "DequantizeLinear"))
		act_from_dq(a, n);
	else if (op_is(n, "QuantizeLinear")) {
		struct model_tensor *s = tensor_of(a, in_at(n, 1));
		struct model_tensor *zp = tensor_of(a, in_at(n, 2));
		if (s)
			s->is_aux = true;
		if (zp)
			zp->is_aux = true;
	}
}

/* ---- pass 2: quantization parameters ---- */

static const Onnx__NodeProto *consumer_of(const struct ga *a, const char *name)
{
	int64_t i = smap_get(&a->consumer, name);
	return i >= 0 ? a->nodes[i] : NULL;
}

/* ConvInteger/MatMulInteger: output → Cast → Mul(·, scale) where scale is
 * W_scale or Mul(x_scale, W_scale); the weight scale is the initializer. */
static struct model_tensor *integer_op_scale(struct ga *a, const Onnx__NodeProto *n,
                                             const struct model_tensor *w)
{
	const Onnx__NodeProto *c = n->n_output ? consumer_of(a, n->output[0]) : NULL;
	if (c && op_is(c, "Cast") && c->n_output)
		c = consumer_of(a, c->output[0]);
	if (c && op_is(c, "Mul")) {
		for (size_t i = 0; i < c->n_input && i < 2; i++) {
			struct model_tensor *s = tensor_of(a, c->input[i]);
			if (s && dtype_info(s->dtype)->is_float)
				return s;
			/* a map, not a scan of every node: one scan per integer op
			 * made many of them quadratic (30000 took minutes) */
			int64_t k = s ? -1 : smap_get(&a->mul_out, c->input[i]);
			const Onnx__NodeProto *p = k >= 0 ? a->nodes[k] : NULL;
			for (size_t j = 0; p && j < p->n_input && j < 2; j++) {
				struct model_tensor *s2 = tensor_of(a, p->input[j]);
				if (s2 && dtype_info(s2->dtype)->is_float)
					return s2;
			}
		}
	}
	char *base = strip_suffix(w->name, "_quantized");
	struct model_tensor *s = NULL;
	if (base) {
		size_t len = strlen(base) + 8;
		char *sn = malloc(len);
		if (sn) {
			snprintf(sn, len, "%s_scale", base);
			s = tensor_of(a, sn);
		}
		free(sn);
		free(base);
	}
	return s;
}

static void pass_quant(Onnx__GraphProto *g, Onnx__NodeProto *n, void *ctx)
{
	(void)g;
	struct ga *a = ctx;
	if (a->rc)
		return;
	struct qsrc q = {0};
	if (op_is(n, "DequantizeLinear")) {
		q = (struct qsrc){
		        .x = tensor_of(a, in_at(n, 0)),
		        .s = tensor_of(a, in_at(n, 1)),
		        .zp = tensor_of(a, in_at(n, 2)),
		        .axis = onnx_attr_int(n, "axis", 1),
		        .block = onnx_attr_int(n, "block_size", 0),
		};
		char *fname = NULL, *base = q.x ? strip_suffix(q.x->name, "_quantized") : NULL;
		if (q.x && !base && n->n_output)
			fname = strip_suffix(n->output[0], "_DequantizeLinear_Output");
		free(base);
		if (q.x && smap_get(&a->tensor, in_at(n, 0)) >= 0)
			set_quant(a, &q, fname, n);
		free(fname);
	} else if (op_is(n, "QuantizeLinear")) {
		int64_t xi = smap_get(&a->tensor, in_at(n, 0)), si = value_tensor(a, in_at(n, 1));
		if (xi < 0 || si < 0 || !dtype_info(a->m->tensors[xi].dtype)->is_float ||
		    a->m->tensors[xi].nelem == 0)
			return;
		if (a->nvirt == a->capvirt) {
			size_t cap = a->capvirt ? 2 * a->capvirt : 8;
			struct virt *v = realloc(a->virt, cap * sizeof *v);
			if (!v) {
				fail(a, QS_ERR_NOMEM, "out of memory", n);
				return;
			}
			a->virt = v;
			a->capvirt = cap;
		}
		a->virt[a->nvirt++] = (struct virt){
		        .x = xi,
		        .s = si,
		        .zp = value_tensor(a, in_at(n, 2)),
		        .axis = onnx_attr_int(n, "axis", 1),
		        .block = onnx_attr_int(n, "block_size", 0),
		        .t = -1,
		};
	} else if (op_is(n, "QLinearConv") || op_is(n, "QLinearMatMul")) {
		bool conv = op_is(n, "QLinearConv");
		q = (struct qsrc){
		        .x = tensor_of(a, in_at(n, 3)),
		        .s = tensor_of(a, in_at(n, 4)),
		        .zp = tensor_of(a, in_at(n, 5)),
		        .axis = conv ? 0 : 1,
		};
		set_quant(a, &q, NULL, n);
		struct model_tensor *xs = tensor_of(a, in_at(n, 1));
		struct model_tensor *xz = tensor_of(a, in_at(n, 2));
		struct model_tensor *ys = tensor_of(a, in_at(n, 6));
		struct model_tensor *yz = tensor_of(a, in_at(n, 7));
		struct model_tensor *aux[] = {xs, xz, ys, yz};
		for (size_t i = 0; i < 4; i++)
			if (aux[i])
				aux[i]->is_aux = true;
	} else if (op_is(n, "ConvInteger") || op_is(n, "MatMulInteger")) {
		struct model_tensor *w = tensor_of(a, in_at(n, 1));
		if (!w)
			return;
		q = (struct qsrc){
		        .x = w,
		        .s = integer_op_scale(a, n, w),
		        .zp = tensor_of(a, in_at(n, 3)),
		        .axis = op_is(n, "ConvInteger") ? 0 : 1,
		};
		set_quant(a, &q, NULL, n);
	}
}

/* QLinearConv's int32 bias: scale x_scale·w_scale per channel, zp 0. */
static void qlinear_bias(struct ga *a, const Onnx__NodeProto *n)
{
	struct model_tensor *b = tensor_of(a, in_at(n, 8));
	struct model_tensor *w = tensor_of(a, in_at(n, 3));
	struct model_tensor *xs = tensor_of(a, in_at(n, 1));
	if (!b || !w || !w->quant || !xs || b->quant || b->dtype != DTYPE_I32 || b->ndim != 1 ||
	    xs->nelem != 1)
		return;
	float sx;
	dtype_to_f32(xs->dtype, xs->data, 0, 1, false, xs->nibbles, &sx);
	uint64_t nb = b->nelem, nw = w->quant->layout.ngroups;
	struct layout l;
	const char *why;
	if (!layout_init(&l, b->shape, 1, nw > 1 ? GRAN_CHANNEL : GRAN_TENSOR, 0, 0, &why) ||
	    (nw > 1 && nw != nb))
		return;
	struct tensor_quant *tq = calloc(1, sizeof *tq);
	float *sc = malloc(l.ngroups * sizeof *sc);
	int32_t *zp = calloc(l.ngroups, sizeof *zp);
	if (!tq || !sc || !zp) {
		free(tq);
		free(sc);
		free(zp);
		return;
	}
	for (uint64_t i = 0; i < l.ngroups; i++)
		sc[i] = sx * w->quant->scale[nw > 1 ? i : 0];
	*tq = (struct tensor_quant){.bits = 32,
	                            .qmin = INT32_MIN,
	                            .qmax = INT32_MAX,
	                            .layout = l,
	                            .scale = sc,
	                            .zero_point = zp};
	tq->float_name = strip_suffix(b->name, "_quantized");
	if (!tq->float_name)
		tq->float_name = strdup(b->name);
	b->quant = tq;
}

/* ONNX Runtime naming without a recognised op: X_quantized + X_scale
 * (+ X_zero_point). */
static int naming_quant(struct ga *a)
{
	for (size_t i = 0; i < a->m->ntensors && !a->rc; i++) {
		struct model_tensor *t = &a->m->tensors[i];
		char *base = t->quant ? NULL : strip_suffix(t->name, "_quantized");
		if (!base)
			continue;
		size_t len = strlen(base) + 16;
		char *sn = malloc(len), *zn = malloc(len);
		if (sn && zn) {
			snprintf(sn, len, "%s_scale", base);
			snprintf(zn, len, "%s_zero_point", base);
			struct qsrc q = {.x = t, .s = tensor_of(a, sn), .zp = tensor_of(a, zn)};
			if (q.s && q.s->nelem > 1)
				for (int d = 0; d < t->ndim; d++)
					if ((uint64_t)t->shape[d] == q.s->nelem) {
						q.axis = d;
						break;
					}
			Onnx__NodeProto dummy = ONNX__NODE_PROTO__INIT;
			dummy.name = base;
			dummy.op_type = "(naming)";
			if (q.s)
				set_quant(a, &q, base, &dummy);
		}
		free(sn);
		free(zn);
		free(base);
	}
	return a->rc;
}

/* Room for every virtual tensor at once (add_virtual writes into it):
 * growing the tables by one per tensor copied them each time, quadratic
 * for thousands of fake-quantized weights. */
static int reserve_virtual(struct ga *a)
{
	size_t n = a->m->ntensors + a->nvirt;
	struct model_tensor *t = realloc(a->m->tensors, n * sizeof *t);
	if (t)
		a->m->tensors = t;
	struct onnx_src *src = realloc(a->om->src, n * sizeof *src);
	if (src)
		a->om->src = src;
	if (!t || !src)
		return a->rc = qs_error_set(a->err, QS_ERR_NOMEM, "%s: out of memory", a->file);
	return 0;
}

/* A float weight quantized at run time (QuantizeLinear → DequantizeLinear,
 * as fake-quant exports write it) becomes a virtual tensor `<w>_quantized`
 * holding the codes QuantizeLinear produces, q = saturate(round_half_even(
 * w / s) + zp), with the Q node's parameters; w itself is then auxiliary (the
 * virtual tensor is what the graph computes with). */
static int add_virtual(struct ga *a, struct virt *v)
{
	struct model *m = a->m;
	struct onnx_model *om = a->om;
	if (v->zp >= 0 && is_int(m->tensors[v->zp].dtype) && !is_code_type(m->tensors[v->zp].dtype))
		return 0;
	struct model_tensor *t, *x = &m->tensors[v->x], *s = &m->tensors[v->s];
	struct model_tensor *zp = v->zp >= 0 ? &m->tensors[v->zp] : NULL;
	t = &m->tensors[m->ntensors];
	om->src[m->ntensors] = (struct onnx_src){0};
	*t = (struct model_tensor){.dtype = zp && is_int(zp->dtype) ? zp->dtype : DTYPE_U8,
	                           .ndim = x->ndim,
	                           .nelem = x->nelem,
	                           .nibbles = NIBBLE_LOW_FIRST};
	t->facts.out_axis = -1;
	memcpy(t->shape, x->shape, sizeof t->shape);
	size_t len = strlen(x->name) + 16, nb;
	t->name = malloc(len);
	float *xs = malloc(x->nelem * sizeof *xs);
	uint8_t *codes = dtype_nbytes(t->dtype, t->nelem, &nb) ? onnx_own(om, nb) : NULL;
	if (!t->name || !xs || !codes) {
		free(t->name);
		free(xs);
		return a->rc = qs_error_set(a->err, QS_ERR_NOMEM, "%s: out of memory", a->file);
	}
	snprintf(t->name, len, "%s_quantized", x->name);
	if (smap_get(&a->tensor, t->name) >= 0)
		snprintf(t->name, len, "%s_runtime_q", x->name);
	t->data = codes;
	t->nbytes = nb;
	v->t = (int64_t)m->ntensors++;
	smap_put(&a->tensor, t->name, v->t);
	Onnx__NodeProto dummy = ONNX__NODE_PROTO__INIT;
	dummy.name = x->name;
	dummy.op_type = "QuantizeLinear";
	struct qsrc q = {.x = t, .s = s, .zp = zp, .axis = v->axis, .block = v->block};
	if (set_quant(a, &q, x->name, &dummy) == 0 && t->quant) {
		model_tensor_to_f32(m, x, xs, NULL);
		const struct tensor_quant *tq = t->quant;
		for (uint64_t i = 0; i < t->nelem; i++) {
			uint64_t g = layout_group(&tq->layout, i);
			struct qparam p = {.scale = tq->scale[g], .zero_point = tq->zero_point[g]};
			dtype_set_int(t->dtype, codes, i,
			              quant_one(xs[i], &p, tq->qmin, tq->qmax, ROUND_HALF_EVEN),
			              t->nibbles);
		}
		x->is_aux = true;
	}
	free(xs);
	return a->rc;
}

/* ---- pass 3: graph facts ---- */

/* a·b, or 0 (unknown) when it overflows: an empty tensor's other dims
 * may be huge, and attributes are anything. */
static int64_t mul0(int64_t a, int64_t b)
{
	int64_t p;
	return __builtin_mul_overflow(a, b, &p) ? 0 : p;
}

static int64_t prod(const struct model_tensor *t, int from, int to)
{
	int64_t p = 1;
	for (int i = from; i < to && i < t->ndim; i++)
		p = mul0(p, t->shape[i]);
	return p;
}

static void set_input(struct ga *a, struct graph_facts *f, const char *x)
{
	int64_t i = smap_get(&a->actmap, x);
	if (i < 0)
		return;
	f->has_input = true;
	f->s_in = a->acts[i].s;
	f->x_qmin = a->acts[i].qmin;
	f->x_qmax = a->acts[i].qmax;
}

static void set_bias(struct ga *a, struct model_tensor *w, const char *bname, uint64_t nout)
{
	struct model_tensor *b = tensor_of(a, bname);
	if (!b || b->nelem != nout || nout == 0)
		return;
	b->facts.role = ROLE_BIAS;
	if (!b->facts.op_type)
		b->facts.op_type = w->facts.op_type;
	b->facts.out_axis = 0;
	w->facts.bias = tensor_floats(a, b);
	w->facts.nbias = w->facts.bias ? nout : 0;
	w->facts.bias_min = INT32_MIN;
	w->facts.bias_max = INT32_MAX;
}

/* The bias of MatMul: a following Add whose other input is a 1-D tensor. */
static const char *matmul_bias(const struct ga *a, const Onnx__NodeProto *n)
{
	const Onnx__NodeProto *c = n->n_output ? consumer_of(a, n->output[0]) : NULL;
	if (!c || !op_is(c, "Add") || c->n_input != 2)
		return NULL;
	return strcmp(c->input[0], n->output[0]) ? c->input[0] : c->input[1];
}

static void weight_facts(struct ga *a, const Onnx__NodeProto *n, struct model_tensor *w)
{
	struct graph_facts *f = &w->facts;
	bool qlin = op_is(n, "QLinearConv") || op_is(n, "QLinearMatMul");
	f->role = ROLE_WEIGHT;
	f->op_type = n->op_type;
	int64_t group = onnx_attr_int(n, "group", 1);
	uint64_t nout = 0;
	const char *bias = NULL;
	if (op_is(n, "Conv") || op_is(n, "QLinearConv") || op_is(n, "ConvInteger")) {
		f->out_axis = 0;
		f->reduce_k = prod(w, 1, w->ndim);
		nout = w->ndim ? (uint64_t)w->shape[0] : 0;
		bias = in_at(n, op_is(n, "QLinearConv") ? 8 : 2);
	} else if (op_is(n, "ConvTranspose")) {
		f->out_axis = 1;
		f->reduce_k =
		        w->ndim ? mul0(w->shape[0] / (group > 0 ? group : 1), prod(w, 2, w->ndim))
		                : 0;
		nout = w->ndim > 1 ? (uint64_t)mul0(w->shape[1], group) : 0;
		bias = in_at(n, 2);
	} else if (op_is(n, "Gemm")) {
		bool tb = onnx_attr_int(n, "transB", 0) != 0;
		f->out_axis = w->ndim == 2 ? (tb ? 0 : 1) : -1;
		f->reduce_k = w->ndim == 2 ? w->shape[tb ? 1 : 0] : 0;
		nout = w->ndim == 2 ? (uint64_t)w->shape[tb ? 0 : 1] : 0;
		bias = in_at(n, 2);
	} else if (w->ndim >= 2) { /* MatMul, QLinearMatMul, MatMulInteger, LSTM/GRU/RNN */
		bool rnn = op_is(n, "LSTM") || op_is(n, "GRU") || op_is(n, "RNN");
		f->out_axis = rnn ? 1 : w->ndim - 1;
		f->reduce_k = rnn ? w->shape[2 < w->ndim ? 2 : 1] : w->shape[w->ndim - 2];
		nout = (uint64_t)w->shape[f->out_axis];
		if (!rnn)
			bias = matmul_bias(a, n);
	}
	set_input(a, f, in_at(n, 0));
	if (qlin) {
		struct model_tensor *xs = tensor_of(a, in_at(n, 1));
		struct model_tensor *xz = tensor_of(a, in_at(n, 2));
		if (xs && xs->nelem == 1 &&
		    !(xz && is_int(xz->dtype) && !is_code_type(xz->dtype))) {
			float s;
			dtype_to_f32(xs->dtype, xs->data, 0, 1, false, xs->nibbles, &s);
			enum dtype zt = xz ? xz->dtype : DTYPE_U8;
			int64_t z = xz && is_int(zt) && xz->nelem == 1
			                    ? dtype_get_int(zt, xz->data, 0, xz->nibbles)
			                    : 0;
			f->has_input = true;
			f->s_in = s;
			f->x_qmin = (int32_t)(dtype_info(zt)->int_min - z);
			f->x_qmax = (int32_t)(dtype_info(zt)->int_max - z);
		}
	}
	if (op_is(n, "QLinearConv"))
		qlinear_bias(a, n);
	if (bias)
		set_bias(a, w, bias, nout);
}

static size_t weight_input(const Onnx__NodeProto *n)
{
	static const struct {
		const char *op;
		size_t in;
	} tab[] = {
	        {"Conv", 1},        {"ConvTranspose", 1}, {"MatMul", 1},      {"Gemm", 1},
	        {"QLinearConv", 3}, {"QLinearMatMul", 3}, {"ConvInteger", 1}, {"MatMulInteger", 1},
	        {"LSTM", 1},        {"GRU", 1},           {"RNN", 1},
	};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (op_is(n, tab[i].op))
			return tab[i].in;
	return SIZE_MAX;
}

static void pass_facts(Onnx__GraphProto *g, Onnx__NodeProto *n, void *ctx)
{
	(void)g;
	struct ga *a = ctx;
	if (a->rc || op_is(n, "DequantizeLinear") || op_is(n, "QuantizeLinear") ||
	    op_is(n, "Identity"))
		return;
	size_t wi = weight_input(n);
	for (size_t i = 0; i < n->n_input; i++) {
		struct model_tensor *t = tensor_of(a, in_at(n, i));
		if (!t)
			continue;
		bool rnn_r = i == 2 && (op_is(n, "LSTM") || op_is(n, "GRU") || op_is(n, "RNN"));
		if ((i == wi || rnn_r) && t->facts.role != ROLE_WEIGHT)
			weight_facts(a, n, t);
		else if (!t->facts.op_type)
			t->facts.op_type = n->op_type;
	}
}

int onnx_graph_analyse(struct model *m, struct qs_error *err)
{
	struct onnx_model *om = m->impl;
	struct ga a = {.m = m,
	               .om = om,
	               .file = model_path_base(m->path ? m->path : "model.onnx"),
	               .err = err};
	size_t nn = om->mp->graph->n_node;
	bool ok = smap_init(&a.tensor, m->ntensors) && smap_init(&a.alias, m->ntensors) &&
	          smap_init(&a.actmap, nn + 64) && smap_init(&a.consumer, 4 * nn + 64) &&
	          smap_init(&a.mul_out, nn + 64);
	if (ok) {
		for (size_t i = 0; i < m->ntensors; i++)
			smap_put(&a.tensor, m->tensors[i].name, (int64_t)i);
		walk(om->mp->graph, 0, pass_alias, &a);
	}
	if (!ok) {
		a.rc = qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", a.file);
	} else {
		walk(om->mp->graph, 0, pass_quant, &a);
		if (!a.rc && a.nvirt)
			reserve_virtual(&a);
		for (size_t i = 0; !a.rc && i < a.nvirt; i++)
			if (!m->tensors[a.virt[i].x].is_aux)
				add_virtual(&a, &a.virt[i]);
		if (!a.rc)
			naming_quant(&a);
		if (!a.rc)
			walk(om->mp->graph, 0, pass_facts, &a);
		for (size_t i = 0; !a.rc && i < a.nvirt; i++)
			if (a.virt[i].t >= 0)
				m->tensors[a.virt[i].t].facts = m->tensors[a.virt[i].x].facts;
	}
	smap_free(&a.tensor);
	smap_free(&a.alias);
	smap_free(&a.actmap);
	smap_free(&a.consumer);
	smap_free(&a.mul_out);
	free(a.acts);
	free(a.nodes);
	free(a.virt);
	return a.rc;
}
