#include "tflite.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../analysis/ggml_quants.h"
#include "mem_release.h"

/* ---- FlatBuffers by hand ------------------------------------------------ */

struct fb {
	const uint8_t *b;
	size_t len;
	const char *path;
	struct qs_error *err;
	uint64_t budget; /* vector elements still allowed to be visited */
};

struct fbt { /* a table */
	size_t pos, vt;
	uint16_t vsize, tsize;
};

struct fbv { /* a vector: n elements from pos */
	size_t pos;
	uint32_t n;
};

static uint16_t rd_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd_u64(const uint8_t *p)
{
	return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32;
}

static float rd_f32(const uint8_t *p)
{
	uint32_t u = rd_u32(p);
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static void wr_u32(uint8_t *p, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> 8 * k);
}

static void wr_u64(uint8_t *p, uint64_t v)
{
	for (int k = 0; k < 8; k++)
		p[k] = (uint8_t)(v >> 8 * k);
}

__attribute__((format(printf, 4, 5))) static int fb_fail(struct fb *f, uint64_t at,
                                                         const char *what, const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	return qs_error_set(f->err, QS_ERR_FORMAT, "%s: offset %" PRIu64 ": %s: %s", f->path, at,
	                    what, detail);
}

static int fb_table(struct fb *f, uint64_t pos, const char *what, struct fbt *t)
{
	int64_t vt;

	if (pos > f->len || f->len - pos < 4)
		return fb_fail(f, pos, what, "table runs past the end of the file (%zu bytes)",
		               f->len);
	vt = (int64_t)pos - (int32_t)rd_u32(f->b + pos);
	if (vt < 0 || (uint64_t)vt > f->len - 4)
		return fb_fail(f, pos, what, "vtable at %" PRId64 " lies outside the file", vt);
	t->pos = (size_t)pos;
	t->vt = (size_t)vt;
	t->vsize = rd_u16(f->b + vt);
	t->tsize = rd_u16(f->b + vt + 2);
	if (t->vsize < 4 || t->vsize > f->len - t->vt)
		return fb_fail(f, (uint64_t)vt, what,
		               "vtable size %u is invalid or runs past the end", t->vsize);
	if (t->tsize < 4 || t->tsize > f->len - t->pos)
		return fb_fail(f, pos, what, "table size %u runs past the end of the file",
		               t->tsize);
	return 0;
}

/* Field id of t, size bytes inline: 1 present (*addr), 0 absent, < 0 error. */
static int fb_field(struct fb *f, const struct fbt *t, unsigned id, unsigned size, const char *what,
                    size_t *addr)
{
	unsigned slot = 4 + 2 * id;
	uint16_t off;

	if (slot + 2u > t->vsize || !(off = rd_u16(f->b + t->vt + slot)))
		return 0;
	if (off < 4 || (unsigned)off + size > t->tsize)
		return fb_fail(f, t->pos, what,
		               "field at +%u (%u bytes) lies outside its %u-byte table", off, size,
		               t->tsize);
	*addr = t->pos + off;
	return 1;
}

static int fb_scalar(struct fb *f, const struct fbt *t, unsigned id, unsigned size,
                     const char *what, uint64_t def, uint64_t *v)
{
	size_t a = 0;
	int rc = fb_field(f, t, id, size, what, &a);

	*v = def;
	if (rc <= 0)
		return rc;
	*v = size == 1 ? f->b[a] : size == 4 ? rd_u32(f->b + a) : rd_u64(f->b + a);
	return 1;
}

/* Follow the uoffset at addr: a target with at least 4 bytes. */
static int fb_deref(struct fb *f, size_t addr, const char *what, size_t *target)
{
	uint64_t to = (uint64_t)addr + rd_u32(f->b + addr);

	if (to > f->len - 4)
		return fb_fail(f, addr, what,
		               "offset to %" PRIu64 " points past the end of the file", to);
	*target = (size_t)to;
	return 0;
}

/* Vector field id of esize-byte elements; counted: charge its elements to
 * the visit budget. 1 present, 0 absent (v->n = 0), < 0 error. */
static int fb_vec(struct fb *f, const struct fbt *t, unsigned id, unsigned esize, bool counted,
                  const char *what, struct fbv *v)
{
	size_t a = 0, to = 0;
	int rc = fb_field(f, t, id, 4, what, &a);

	v->pos = 0;
	v->n = 0;
	if (rc <= 0)
		return rc;
	if (fb_deref(f, a, what, &to))
		return QS_ERR_FORMAT;
	v->n = rd_u32(f->b + to);
	v->pos = to + 4;
	if (v->n > (f->len - v->pos) / esize)
		return fb_fail(f, to, what,
		               "vector of %" PRIu32
		               " elements of %u bytes runs past the end of the "
		               "file",
		               v->n, esize);
	if (counted) {
		if (v->n > f->budget)
			return fb_fail(f, to, what,
			               "more vector elements than a file of %zu bytes can hold "
			               "(vectors shared between tables?)",
			               f->len);
		f->budget -= v->n;
	}
	return 1;
}

static int fb_vec_table(struct fb *f, const struct fbv *v, uint32_t i, const char *what,
                        struct fbt *t)
{
	size_t to = 0;

	if (fb_deref(f, v->pos + 4 * (size_t)i, what, &to))
		return QS_ERR_FORMAT;
	return fb_table(f, to, what, t);
}

static int fb_table_field(struct fb *f, const struct fbt *t, unsigned id, const char *what,
                          struct fbt *out)
{
	size_t a = 0, to = 0;
	int rc = fb_field(f, t, id, 4, what, &a);

	if (rc <= 0)
		return rc;
	if (fb_deref(f, a, what, &to) || fb_table(f, to, what, out))
		return QS_ERR_FORMAT;
	return 1;
}

static int32_t vec_i32(const struct fb *f, const struct fbv *v, uint32_t i)
{
	return (int32_t)rd_u32(f->b + v->pos + 4 * (size_t)i);
}

/* ---- the model's state --------------------------------------------------- */

/* Where a listed tensor's bytes and quantization vectors are in the file. */
struct tfl_ref {
	size_t data_off;
	size_t scale_off, zp_off; /* first element; 0: no vector */
	uint32_t nscale, nzp;
	int32_t qdim;
	int64_t bias;   /* model index of its bias (weights), −1 */
	int64_t weight; /* model index of its weight (biases), −1 */
	bool has_in;    /* the weight's input activation scale is known */
	double s_in;
};

struct tfl_impl {
	const uint8_t *map;
	size_t len;
	bool circle;
	struct tfl_ref *refs; /* per model tensor */
	char **owned;         /* op names and bias floats freed on unload */
	size_t nowned, capowned;
};

static bool keep(struct tfl_impl *im, void *p)
{
	if (!p)
		return false;
	if (im->nowned == im->capowned) {
		size_t cap = im->capowned ? 2 * im->capowned : 16;
		char **q = realloc(im->owned, cap * sizeof *q);
		if (!q) {
			free(p);
			return false;
		}
		im->owned = q;
		im->capowned = cap;
	}
	im->owned[im->nowned++] = p;
	return true;
}

/* ---- types --------------------------------------------------------------- */

enum {
	TT_SKIP = -1,
	TT_BLOCK = -2
};

struct tt_map {
	int8_t tt;
	int dt; /* enum dtype, TT_SKIP or TT_BLOCK */
	int ggml;
};

static const struct tt_map tt_tflite[] = {
        {0, DTYPE_F32, 0},     {1, DTYPE_F16, 0},   {2, DTYPE_I32, 0},  {3, DTYPE_U8, 0},
        {4, DTYPE_I64, 0},     {6, DTYPE_BOOL, 0},  {7, DTYPE_I16, 0},  {9, DTYPE_I8, 0},
        {10, DTYPE_F64, 0},    {12, DTYPE_U64, 0},  {15, DTYPE_U32, 0}, {16, DTYPE_U16, 0},
        {17, DTYPE_I4, 0},     {18, DTYPE_BF16, 0}, {20, DTYPE_U4, 0},  {21, DTYPE_F8E4M3FN, 0},
        {22, DTYPE_F8E5M2, 0},
};

static const struct tt_map tt_circle[] = {
        {0, DTYPE_F32, 0},
        {1, DTYPE_F16, 0},
        {2, DTYPE_I32, 0},
        {3, DTYPE_U8, 0},
        {4, DTYPE_I64, 0},
        {6, DTYPE_BOOL, 0},
        {7, DTYPE_I16, 0},
        {9, DTYPE_I8, 0},
        {10, DTYPE_F64, 0},
        {12, DTYPE_U64, 0},
        {15, DTYPE_U32, 0},
        {16, DTYPE_U16, 0},
        {17, DTYPE_I4, 0},
        {-1, DTYPE_U4, 0},
        {-2, TT_BLOCK, GGML_ID_Q4_0},
        {-3, TT_BLOCK, GGML_ID_Q4_1},
        {-4, TT_BLOCK, GGML_ID_Q8_0},
};

static struct tt_map tt_lookup(bool circle, int8_t tt)
{
	const struct tt_map *tab = circle ? tt_circle : tt_tflite;
	size_t n = circle ? sizeof tt_circle / sizeof *tt_circle
	                  : sizeof tt_tflite / sizeof *tt_tflite;

	for (size_t i = 0; i < n; i++)
		if (tab[i].tt == tt)
			return tab[i];
	return (struct tt_map){tt, TT_SKIP, 0};
}

/* ---- operators ------------------------------------------------------------ */

enum {
	OP_CONV_2D = 3,
	OP_DEPTHWISE_CONV_2D = 4,
	OP_DEQUANTIZE = 6,
	OP_FULLY_CONNECTED = 9,
	OP_CUSTOM = 32,
	OP_TRANSPOSE_CONV = 67,
};

/* BuiltinOperator names by value (schema order, 0..119). */
/* clang-format off */
static const char *const op_names[] = {
        "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
        "DEPTH_TO_SPACE", "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED",
        "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION",
        "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1",
        "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF",
        "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE",
        "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND",
        "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
        "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP",
        "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST",
        "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER",
        "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV",
        "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT",
        "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK",
        "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN",
        "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE",
        "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS",
        "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK",
        "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND",
        "HARD_SWISH", "IF", "WHILE",
};
/* clang-format on */

/* What an op's weight input looks like (see tflite.h). */
struct weight_op {
	int32_t code;
	uint32_t w, b, x; /* input positions of weight, bias, activation */
	bool last;        /* output axis is the last one (depthwise) */
};

static const struct weight_op weight_ops[] = {
        {OP_CONV_2D, 1, 2, 0, false},
        {OP_DEPTHWISE_CONV_2D, 1, 2, 0, true},
        {OP_FULLY_CONNECTED, 1, 2, 0, false},
        {OP_TRANSPOSE_CONV, 1, 3, 2, false},
};

struct opcode {
	int32_t code;
	const char *name; /* static or owned by the impl; NULL unknown */
};

/* ---- loading ---------------------------------------------------------------- */

/* Facts of a subgraph tensor, listed or not. */
struct sg_tensor {
	int64_t mi;  /* model tensor index, −1 when not listed */
	int64_t deq; /* input of the DEQUANTIZE op writing it, −1 */
	bool act_q;  /* per-tensor quantized (activations' s_in) */
	int8_t tt;
	float s;
	int64_t z;
};

struct ld {
	struct fb f;
	struct model *m;
	struct tfl_impl *im;
	struct fbv bufs;
	struct opcode *ops;
	uint32_t nops;
	uint64_t names; /* name bytes still allowed to be copied */
	size_t cap;     /* m->tensors capacity */
};

static int nomem(struct ld *l)
{
	return qs_error_set(l->f.err, QS_ERR_NOMEM, "%s: out of memory", l->f.path);
}

/* Names are copied: strings shared between many tables must not make a
 * small file cost quadratic memory. */
static int charge_name(struct ld *l, const struct fbv *s, const char *what)
{
	if (s->n > l->names)
		return fb_fail(&l->f, s->pos, what,
		               "more name bytes than a file of %zu bytes can hold (strings shared "
		               "between tables?)",
		               l->f.len);
	l->names -= s->n;
	return 0;
}

static int read_opcodes(struct ld *l, const struct fbt *model)
{
	struct fbv v;
	int rc = fb_vec(&l->f, model, 1, 4, true, "Model.operator_codes", &v);

	if (rc < 0)
		return rc;
	l->nops = v.n;
	if (!(l->ops = calloc(v.n ? v.n : 1, sizeof *l->ops)))
		return nomem(l);
	for (uint32_t i = 0; i < v.n; i++) {
		struct fbt t;
		uint64_t dep, code;
		if (fb_vec_table(&l->f, &v, i, "OperatorCode", &t) ||
		    fb_scalar(&l->f, &t, 0, 1, "OperatorCode.deprecated_builtin_code", 0, &dep) <
		            0 ||
		    fb_scalar(&l->f, &t, 3, 4, "OperatorCode.builtin_code", 0, &code) < 0)
			return QS_ERR_FORMAT;
		int32_t c = (int32_t)(uint32_t)code, d = (int8_t)(uint8_t)dep;
		l->ops[i].code = c > d ? c : d;
		if (l->ops[i].code >= 0 &&
		    (size_t)l->ops[i].code < sizeof op_names / sizeof *op_names &&
		    l->ops[i].code != OP_CUSTOM) {
			l->ops[i].name = op_names[l->ops[i].code];
			continue;
		}
		struct fbv s;
		char *name;
		if (fb_vec(&l->f, &t, 1, 1, false, "OperatorCode.custom_code", &s) < 0)
			return QS_ERR_FORMAT;
		if (charge_name(l, &s, "OperatorCode.custom_code"))
			return QS_ERR_FORMAT;
		if (l->ops[i].code == OP_CUSTOM && s.n)
			name = strndup((const char *)l->f.b + s.pos, s.n);
		else if ((name = malloc(32)))
			snprintf(name, 32, "BUILTIN_%" PRId32, l->ops[i].code);
		if (!keep(l->im, name))
			return nomem(l);
		l->ops[i].name = name;
	}
	return 0;
}

static struct model_tensor *add_tensor(struct ld *l)
{
	if (l->m->ntensors == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct model_tensor *t = realloc(l->m->tensors, cap * sizeof *t);
		struct tfl_ref *r = realloc(l->im->refs, cap * sizeof *r);
		if (t)
			l->m->tensors = t;
		if (r)
			l->im->refs = r;
		if (!t || !r)
			return NULL;
		l->cap = cap;
	}
	struct model_tensor *t = &l->m->tensors[l->m->ntensors];
	*t = (struct model_tensor){.facts.out_axis = -1};
	l->im->refs[l->m->ntensors] = (struct tfl_ref){.bias = -1, .weight = -1, .qdim = 0};
	l->m->ntensors++;
	return t;
}

/* The bytes of buffer b: *n == 0 when it has none. */
static int buffer_data(struct ld *l, uint32_t b, const char *tname, size_t *off, size_t *n)
{
	struct fbt t;
	struct fbv d;
	uint64_t o, s;

	*n = 0;
	if (b >= l->bufs.n)
		return fb_fail(&l->f, l->bufs.pos, "Model.buffers",
		               "tensor '%s' uses buffer %" PRIu32 " of %" PRIu32, tname, b,
		               l->bufs.n);
	if (fb_vec_table(&l->f, &l->bufs, b, "Buffer", &t) ||
	    fb_vec(&l->f, &t, 0, 1, false, "Buffer.data", &d) < 0 ||
	    fb_scalar(&l->f, &t, 1, 8, "Buffer.offset", 0, &o) < 0 ||
	    fb_scalar(&l->f, &t, 2, 8, "Buffer.size", 0, &s) < 0)
		return QS_ERR_FORMAT;
	if (d.n) {
		*off = d.pos;
		*n = d.n;
	} else if (o > 1 && s) {
		if (o > l->f.len || s > l->f.len - o)
			return fb_fail(&l->f, t.pos, "Buffer.offset",
			               "tensor '%s': %" PRIu64 " bytes at offset %" PRIu64
			               " run past the end of the file (%zu bytes)",
			               tname, s, o, l->f.len);
		*off = (size_t)o;
		*n = (size_t)s;
	}
	return 0;
}

static int tensor_name(struct ld *l, const struct fbt *t, uint32_t sg, uint32_t j, char **out)
{
	struct fbv s;
	char buf[48], *name;

	*out = NULL;
	if (fb_vec(&l->f, t, 3, 1, false, "Tensor.name", &s) < 0 ||
	    charge_name(l, &s, "Tensor.name"))
		return QS_ERR_FORMAT;
	if (s.n) {
		name = strndup((const char *)l->f.b + s.pos, s.n);
	} else {
		snprintf(buf, sizeof buf, "tensor%" PRIu32, j);
		name = strdup(buf);
	}
	if (name && sg) {
		size_t k = strlen(name) + 32;
		if ((*out = malloc(k)))
			snprintf(*out, k, "subgraph%" PRIu32 ":%s", sg, name);
		free(name);
	} else {
		*out = name;
	}
	return *out ? 0 : nomem(l);
}

static int tensor_shape(struct ld *l, const struct fbt *t, struct model_tensor *mt)
{
	struct fbv v;
	uint64_t n = 1;

	if (fb_vec(&l->f, t, 0, 4, true, "Tensor.shape", &v) < 0)
		return QS_ERR_FORMAT;
	if (v.n > QS_MAX_DIMS)
		return fb_fail(&l->f, v.pos, "Tensor.shape",
		               "tensor '%s' has %" PRIu32 " dims, qscope handles at most %d",
		               mt->name, v.n, QS_MAX_DIMS);
	mt->ndim = (int)v.n;
	for (uint32_t k = 0; k < v.n; k++) {
		int32_t d = vec_i32(&l->f, &v, k);
		if (d < 0 || __builtin_mul_overflow(n, (uint64_t)d, &n) || n > INT64_MAX)
			return fb_fail(&l->f, v.pos + 4 * (size_t)k, "Tensor.shape",
			               "tensor '%s': dim %" PRIu32 " is %" PRId32
			               " (negative or too many elements)",
			               mt->name, k, d);
		mt->shape[k] = d;
	}
	mt->nelem = n;
	return 0;
}

static void set_aux_bytes(struct model_tensor *mt)
{
	mt->dtype = DTYPE_U8;
	mt->block = NULL;
	mt->ndim = 1;
	mt->shape[0] = (int64_t)mt->nbytes;
	mt->nelem = mt->nbytes;
	mt->is_aux = true;
}

/* dtype or block type, and the byte count check. */
static int tensor_type(struct ld *l, struct model_tensor *mt, int8_t tt, size_t at)
{
	struct tt_map m = tt_lookup(l->im->circle, tt);
	size_t need = 0;

	if (m.dt == TT_SKIP || (m.dt == TT_BLOCK && !ggml_qtype_by_id(m.ggml))) {
		set_aux_bytes(mt);
		return 0;
	}
	if (m.dt == TT_BLOCK) {
		const struct qtype *q = ggml_qtype_by_id(m.ggml);
		uint64_t last = mt->ndim ? (uint64_t)mt->shape[mt->ndim - 1] : 1;
		mt->dtype = DTYPE_U8;
		mt->block = q;
		if (last % q->block_elems ||
		    mt->nelem / q->block_elems * q->block_bytes != mt->nbytes)
			return fb_fail(&l->f, at, "Tensor.type",
			               "tensor '%s': %" PRIu64
			               " elements of %s (rows of whole %u-element "
			               "blocks) do not fit its %zu bytes",
			               mt->name, mt->nelem, q->name, q->block_elems, mt->nbytes);
		return 0;
	}
	mt->dtype = (enum dtype)m.dt;
	if (!dtype_nbytes(mt->dtype, mt->nelem, &need) || need != mt->nbytes)
		return fb_fail(&l->f, at, "Tensor.buffer",
		               "tensor '%s': %" PRIu64 " elements of %s need %zu bytes, its buffer "
		               "has %zu",
		               mt->name, mt->nelem, dtype_name(mt->dtype), need, mt->nbytes);
	return 0;
}

struct qp {
	bool present, details;
	struct fbv scale, zp;
	int32_t qdim;
	size_t at;
};

static int read_qp(struct ld *l, const struct fbt *t, struct qp *q)
{
	struct fbt p;
	uint64_t dt, qd;
	int rc = fb_table_field(&l->f, t, 4, "Tensor.quantization", &p);

	*q = (struct qp){0};
	if (rc <= 0)
		return rc;
	q->present = true;
	q->at = p.pos;
	if (fb_scalar(&l->f, &p, 4, 1, "QuantizationParameters.details_type", 0, &dt) < 0 ||
	    fb_vec(&l->f, &p, 2, 4, true, "QuantizationParameters.scale", &q->scale) < 0 ||
	    fb_vec(&l->f, &p, 3, 8, true, "QuantizationParameters.zero_point", &q->zp) < 0 ||
	    fb_scalar(&l->f, &p, 6, 4, "QuantizationParameters.quantized_dimension", 0, &qd) < 0)
		return QS_ERR_FORMAT;
	q->details = dt != 0;
	q->qdim = (int32_t)(uint32_t)qd;
	return 0;
}

/* Integer codes whose whole range fits tensor_quant's int32 qmin/qmax
 * (int64, uint32 and uint64 tensors stay plain integers). */
static bool is_code_dtype(enum dtype d)
{
	return !dtype_info(d)->is_float && d != DTYPE_BOOL && d != DTYPE_I64 && d != DTYPE_U32 &&
	       d != DTYPE_U64;
}

static int set_quant(struct ld *l, struct model_tensor *mt, struct tfl_ref *r, const struct qp *q)
{
	uint32_t ns = q->scale.n;
	const char *why = NULL;
	struct tensor_quant *tq;

	if (ns > 1 && (q->qdim < 0 || q->qdim >= mt->ndim || (uint64_t)mt->shape[q->qdim] != ns))
		return fb_fail(&l->f, q->at, "QuantizationParameters.quantized_dimension",
		               "tensor '%s': %" PRIu32 " scales along dimension %" PRId32
		               " of a %d-dim tensor",
		               mt->name, ns, q->qdim, mt->ndim);
	if (q->zp.n && q->zp.n != ns)
		return fb_fail(&l->f, q->zp.pos, "QuantizationParameters.zero_point",
		               "tensor '%s': %" PRIu32 " zero points for %" PRIu32 " scales",
		               mt->name, q->zp.n, ns);
	if (!(tq = calloc(1, sizeof *tq)))
		return nomem(l);
	mt->quant = tq;
	if (!layout_init(&tq->layout, mt->shape, mt->ndim, ns > 1 ? GRAN_CHANNEL : GRAN_TENSOR,
	                 ns > 1 ? q->qdim : 0, 0, &why))
		return fb_fail(&l->f, q->at, "QuantizationParameters", "tensor '%s': %s", mt->name,
		               why);
	tq->scale = malloc(ns * sizeof *tq->scale);
	tq->zero_point = calloc(ns, sizeof *tq->zero_point);
	if (!tq->scale || !tq->zero_point)
		return nomem(l);
	for (uint32_t g = 0; g < ns; g++) {
		int64_t z = q->zp.n ? (int64_t)rd_u64(l->f.b + q->zp.pos + 8 * (size_t)g) : 0;
		if (z < INT32_MIN || z > INT32_MAX)
			return fb_fail(&l->f, q->zp.pos + 8 * (size_t)g,
			               "QuantizationParameters.zero_point",
			               "tensor '%s': zero point %" PRId64 " does not fit int32",
			               mt->name, z);
		tq->scale[g] = rd_f32(l->f.b + q->scale.pos + 4 * (size_t)g);
		tq->zero_point[g] = (int32_t)z;
	}
	const struct dtype_info *di = dtype_info(mt->dtype);
	tq->bits = (int)di->bits;
	tq->qmin = (int32_t)di->int_min;
	tq->qmax = (int32_t)di->int_max;
	r->scale_off = q->scale.pos;
	r->nscale = ns;
	r->zp_off = q->zp.n ? q->zp.pos : 0;
	r->nzp = q->zp.n;
	r->qdim = ns > 1 ? q->qdim : 0;
	return 0;
}

/* One subgraph tensor: listed when it has data. */
static int read_tensor(struct ld *l, const struct fbt *t, uint32_t sg, uint32_t j,
                       struct sg_tensor *st)
{
	uint64_t tt, b;
	size_t off = 0, n = 0;
	struct qp q;

	if (fb_scalar(&l->f, t, 1, 1, "Tensor.type", 0, &tt) < 0 ||
	    fb_scalar(&l->f, t, 2, 4, "Tensor.buffer", 0, &b) < 0 || read_qp(l, t, &q))
		return QS_ERR_FORMAT;
	st->tt = (int8_t)(uint8_t)tt;
	if (q.present && !q.details && q.scale.n == 1) {
		st->act_q = true;
		st->s = rd_f32(l->f.b + q.scale.pos);
		st->z = q.zp.n ? (int64_t)rd_u64(l->f.b + q.zp.pos) : 0;
	}
	char *name;
	int rc = tensor_name(l, t, sg, j, &name);
	if (rc)
		return rc;
	if (b && buffer_data(l, (uint32_t)b, name, &off, &n)) {
		free(name);
		return QS_ERR_FORMAT;
	}
	if (n == 0) {
		free(name);
		return 0;
	}
	struct model_tensor *mt = add_tensor(l);
	if (!mt) {
		free(name);
		return nomem(l);
	}
	st->mi = (int64_t)(l->m->ntensors - 1);
	mt->name = name;
	mt->data = l->f.b + off;
	mt->nbytes = n;
	l->im->refs[st->mi].data_off = off;
	if (tensor_shape(l, t, mt) || tensor_type(l, mt, st->tt, t->pos))
		return QS_ERR_FORMAT;
	if (mt->is_aux || mt->block || !q.present || !q.scale.n || !is_code_dtype(mt->dtype))
		return 0;
	if (q.details) {
		mt->is_aux = true; /* blockwise/custom quantization: not decoded */
		return 0;
	}
	return set_quant(l, mt, &l->im->refs[st->mi], &q);
}

/* ---- graph facts ------------------------------------------------------------ */

struct sg_ctx {
	struct ld *l;
	uint32_t sg;
	struct sg_tensor *st;
	uint32_t nt;
	struct fbv opv;
};

struct op_io {
	const struct opcode *code;
	struct fbv in, out;
	size_t at;
};

static int read_op(struct sg_ctx *c, uint32_t k, struct op_io *op)
{
	struct fbt t;
	uint64_t idx;

	if (fb_vec_table(&c->l->f, &c->opv, k, "Operator", &t) ||
	    fb_scalar(&c->l->f, &t, 0, 4, "Operator.opcode_index", 0, &idx) < 0 ||
	    fb_vec(&c->l->f, &t, 1, 4, true, "Operator.inputs", &op->in) < 0 ||
	    fb_vec(&c->l->f, &t, 2, 4, true, "Operator.outputs", &op->out) < 0)
		return QS_ERR_FORMAT;
	op->at = t.pos;
	if (idx >= c->l->nops)
		return fb_fail(&c->l->f, t.pos, "Operator.opcode_index",
		               "opcode %" PRIu64 " of %" PRIu32 " operator codes (subgraph %" PRIu32
		               ", operator %" PRIu32 ")",
		               idx, c->l->nops, c->sg, k);
	op->code = &c->l->ops[idx];
	for (int pass = 0; pass < 2; pass++) {
		const struct fbv *v = pass ? &op->out : &op->in;
		for (uint32_t i = 0; i < v->n; i++) {
			int32_t x = vec_i32(&c->l->f, v, i);
			if (x < -1 || (x >= 0 && (uint32_t)x >= c->nt))
				return fb_fail(&c->l->f, v->pos + 4 * (size_t)i,
				               pass ? "Operator.outputs" : "Operator.inputs",
				               "tensor %" PRId32 " of %" PRIu32
				               " (subgraph %" PRIu32 ", operator %" PRIu32 ")",
				               x, c->nt, c->sg, k);
		}
	}
	return 0;
}

/* Subgraph tensor at input position i (through DEQUANTIZE), or −1. */
static int64_t input_at(const struct sg_ctx *c, const struct op_io *op, uint32_t i, bool through)
{
	int64_t x = i < op->in.n ? vec_i32(&c->l->f, &op->in, i) : -1;

	for (int hop = 0; through && x >= 0 && c->st[x].deq >= 0 && hop < 4; hop++)
		x = c->st[x].deq;
	return x;
}

static int64_t prod_dims(const struct model_tensor *t, int from, int to)
{
	int64_t p = 1;
	for (int k = from; k < to && k < t->ndim; k++)
		p *= t->shape[k];
	return p;
}

static void set_input_facts(struct sg_ctx *c, struct graph_facts *f, int64_t x, struct tfl_ref *r)
{
	const struct sg_tensor *s = x >= 0 ? &c->st[x] : NULL;
	struct tt_map m = s ? tt_lookup(c->l->im->circle, s->tt) : (struct tt_map){0, TT_SKIP, 0};

	if (!s || !s->act_q || m.dt < 0 || !is_code_dtype((enum dtype)m.dt))
		return;
	const struct dtype_info *di = dtype_info((enum dtype)m.dt);
	int64_t lo, hi;
	if (__builtin_sub_overflow(di->int_min, s->z, &lo) ||
	    __builtin_sub_overflow(di->int_max, s->z, &hi) || lo < INT32_MIN || hi > INT32_MAX)
		return;
	f->has_input = true;
	f->s_in = s->s;
	f->x_qmin = (int32_t)lo;
	f->x_qmax = (int32_t)hi;
	r->has_in = true;
	r->s_in = s->s;
}

static int set_bias_facts(struct sg_ctx *c, int64_t wi, int64_t bi, uint64_t nout)
{
	struct model *m = c->l->m;
	struct model_tensor *w = &m->tensors[wi], *b = &m->tensors[bi];
	float *v;

	if (b->nelem != nout || nout == 0 || b->is_aux || b->block || b->facts.role == ROLE_WEIGHT)
		return 0;
	b->facts.role = ROLE_BIAS;
	b->facts.op_type = w->facts.op_type;
	b->facts.out_axis = 0;
	c->l->im->refs[wi].bias = bi;
	c->l->im->refs[bi].weight = wi;
	/* a bias shared by many weights is decoded once per weight: charged */
	if ((!dtype_info(b->dtype)->is_float && !b->quant) || nout > c->l->f.budget)
		return 0;
	c->l->f.budget -= nout;
	if (!(v = malloc(nout * sizeof *v)) || !keep(c->l->im, v))
		return nomem(c->l);
	if (model_tensor_to_f32(m, b, v, NULL))
		return 0;
	w->facts.bias = v;
	w->facts.nbias = nout;
	w->facts.bias_min = INT32_MIN;
	w->facts.bias_max = INT32_MAX;
	return 0;
}

static int weight_facts(struct sg_ctx *c, const struct op_io *op, const struct weight_op *wo)
{
	int64_t wi = input_at(c, op, wo->w, true);
	int64_t mi = wi >= 0 ? c->st[wi].mi : -1;
	struct model *m = c->l->m;

	if (mi < 0 || m->tensors[mi].is_aux || m->tensors[mi].facts.role == ROLE_WEIGHT)
		return 0;
	struct model_tensor *w = &m->tensors[mi];
	struct graph_facts *f = &w->facts;
	if (w->ndim < 2)
		return 0;
	f->role = ROLE_WEIGHT;
	f->op_type = op->code->name;
	f->out_axis = wo->last ? w->ndim - 1 : 0;
	f->reduce_k = wo->last ? prod_dims(w, 1, w->ndim - 1) : prod_dims(w, 1, w->ndim);
	set_input_facts(c, f, input_at(c, op, wo->x, false), &c->l->im->refs[mi]);
	int64_t bi = input_at(c, op, wo->b, true);
	if (bi >= 0 && c->st[bi].mi >= 0)
		return set_bias_facts(c, mi, c->st[bi].mi, (uint64_t)w->shape[f->out_axis]);
	return 0;
}

static int op_facts(struct sg_ctx *c, const struct op_io *op)
{
	struct model *m = c->l->m;

	if (op->code->code == OP_DEQUANTIZE)
		return 0;
	for (size_t k = 0; k < sizeof weight_ops / sizeof *weight_ops; k++)
		if (weight_ops[k].code == op->code->code) {
			int rc = weight_facts(c, op, &weight_ops[k]);
			if (rc)
				return rc;
		}
	for (uint32_t i = 0; i < op->in.n; i++) {
		int64_t x = input_at(c, op, i, true);
		if (x >= 0 && c->st[x].mi >= 0 && !m->tensors[c->st[x].mi].facts.op_type)
			m->tensors[c->st[x].mi].facts.op_type = op->code->name;
	}
	return 0;
}

/* DEQUANTIZE output → input; a quantized input's float_name is the output's
 * name. */
static int dequant_links(struct sg_ctx *c, const struct op_io *op)
{
	if (op->code->code != OP_DEQUANTIZE || op->in.n < 1 || op->out.n < 1)
		return 0;
	int32_t x = vec_i32(&c->l->f, &op->in, 0), y = vec_i32(&c->l->f, &op->out, 0);
	if (x < 0 || y < 0 || x == y)
		return 0;
	c->st[y].deq = x;
	return 0;
}

static int float_names(struct sg_ctx *c, const struct fbv *tv)
{
	for (uint32_t y = 0; y < c->nt; y++) {
		int64_t x = c->st[y].deq;
		struct model_tensor *mt =
		        x >= 0 && c->st[x].mi >= 0 ? &c->l->m->tensors[c->st[x].mi] : NULL;
		struct fbt t;
		if (!mt || !mt->quant || mt->quant->float_name)
			continue;
		if (fb_vec_table(&c->l->f, tv, y, "Tensor", &t))
			return QS_ERR_FORMAT;
		int rc = tensor_name(c->l, &t, c->sg, y, &mt->quant->float_name);
		if (rc)
			return rc;
	}
	for (uint32_t j = 0; j < c->nt; j++) {
		struct model_tensor *mt = c->st[j].mi >= 0 ? &c->l->m->tensors[c->st[j].mi] : NULL;
		if (mt && mt->quant && !mt->quant->float_name &&
		    !(mt->quant->float_name = strdup(mt->name)))
			return nomem(c->l);
	}
	return 0;
}

static int read_ops(struct sg_ctx *c, const struct fbt *sgt)
{
	struct op_io op;
	int rc = 0;

	if (fb_vec(&c->l->f, sgt, 3, 4, true, "SubGraph.operators", &c->opv) < 0)
		return QS_ERR_FORMAT;
	for (int pass = 0; pass < 2 && !rc; pass++) {
		if (pass == 1 && c->opv.n > c->l->f.budget)
			return fb_fail(&c->l->f, c->opv.pos, "SubGraph.operators",
			               "more operators than a file of %zu bytes can hold",
			               c->l->f.len);
		for (uint32_t k = 0; k < c->opv.n && !rc; k++)
			if (!(rc = read_op(c, k, &op)))
				rc = pass ? op_facts(c, &op) : dequant_links(c, &op);
	}
	return rc;
}

static int read_subgraph(struct ld *l, const struct fbt *sgt, uint32_t sg)
{
	struct fbv tv;
	struct sg_ctx c = {.l = l, .sg = sg};
	int rc;

	if (fb_vec(&l->f, sgt, 0, 4, true, "SubGraph.tensors", &tv) < 0)
		return QS_ERR_FORMAT;
	c.nt = tv.n;
	if (!(c.st = malloc((tv.n ? tv.n : 1) * sizeof *c.st)))
		return nomem(l);
	for (uint32_t j = 0; j < tv.n; j++)
		c.st[j] = (struct sg_tensor){.mi = -1, .deq = -1};
	rc = 0;
	for (uint32_t j = 0; j < tv.n && !rc; j++) {
		struct fbt t;
		rc = fb_vec_table(&l->f, &tv, j, "Tensor", &t)
		             ? QS_ERR_FORMAT
		             : read_tensor(l, &t, sg, j, &c.st[j]);
	}
	if (!rc)
		rc = read_ops(&c, sgt);
	if (!rc)
		rc = float_names(&c, &tv);
	free(c.st);
	return rc;
}

static bool has_ext(const char *path, const char *ext)
{
	size_t n = strlen(path), k = strlen(ext);
	return n >= k && strcasecmp(path + n - k, ext) == 0;
}

static int tfl_parse(struct ld *l)
{
	struct fbt model, sgt;
	struct fbv sgs;
	uint64_t root;

	if (l->f.len < 8)
		return fb_fail(&l->f, 0, "header", "%zu bytes is too short for a FlatBuffer",
		               l->f.len);
	root = rd_u32(l->f.b);
	if (fb_table(&l->f, root, "Model", &model))
		return QS_ERR_FORMAT;
	int rc = read_opcodes(l, &model);
	if (rc)
		return rc;
	if (fb_vec(&l->f, &model, 4, 4, true, "Model.buffers", &l->bufs) < 0 ||
	    fb_vec(&l->f, &model, 2, 4, true, "Model.subgraphs", &sgs) < 0)
		return QS_ERR_FORMAT;
	for (uint32_t s = 0; s < sgs.n; s++) {
		rc = fb_vec_table(&l->f, &sgs, s, "SubGraph", &sgt) ? QS_ERR_FORMAT
		                                                    : read_subgraph(l, &sgt, s);
		if (rc)
			return rc;
	}
	return 0;
}

static int tfl_load(const char *path, struct model *m, struct qs_error *err)
{
	struct tfl_impl *im = calloc(1, sizeof *im);
	struct ld l = {.m = m, .im = im};
	int rc;

	if (!im)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	m->impl = im;
	if ((rc = model_map_file(path, &im->map, &im->len, err)) != 0)
		return rc;
	im->circle = (im->len >= 8 && !memcmp(im->map + 4, "CIR0", 4)) ||
	             ((im->len < 8 || memcmp(im->map + 4, "TFL3", 4)) && has_ext(path, ".circle"));
	l.f = (struct fb){im->map, im->len, path, err, 2 * (uint64_t)im->len + 4096};
	l.names = 2 * (uint64_t)im->len + 65536;
	if (err)
		qs_error_clear(err);
	rc = tfl_parse(&l);
	free(l.ops);
	return rc;
}

static void tfl_unload(struct model *m)
{
	struct tfl_impl *im = m->impl;

	if (!im)
		return;
	for (size_t i = 0; i < im->nowned; i++)
		free(im->owned[i]);
	free(im->owned);
	free(im->refs);
	model_unmap_file(im->map, im->len);
	free(im);
	m->impl = NULL;
}

static bool tfl_sniff(const uint8_t *head, size_t len, const char *path)
{
	(void)path;
	return len >= 8 && (!memcmp(head + 4, "TFL3", 4) || !memcmp(head + 4, "CIR0", 4));
}

/* ---- writing: requantize in place ------------------------------------------- */

struct span {
	size_t off, len;
	size_t tensor;
};

struct wr {
	FILE *f;
	const char *path;
	struct qs_error *err;
	const struct model *src;
	const struct tfl_impl *im;
	struct span *spans;
	size_t nspans, capspans;
};

static int wr_nomem(struct wr *w)
{
	return qs_error_set(w->err, QS_ERR_NOMEM, "%s: out of memory", w->path);
}

/* First span starting at or after off (spans are sorted and disjoint). */
static size_t span_lower(const struct wr *w, size_t off)
{
	size_t lo = 0, hi = w->nspans;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->spans[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Record bytes [off, off+len) as written for tensor i; refuse bytes written
 * before (by another tensor, or by i itself for another of its fields). */
static int claim(struct wr *w, size_t i, size_t off, size_t len)
{
	size_t k = span_lower(w, off);
	const struct span *s = k > 0 && w->spans[k - 1].off + w->spans[k - 1].len > off
	                               ? &w->spans[k - 1]
	                       : k < w->nspans && w->spans[k].off < off + len ? &w->spans[k]
	                                                                      : NULL;

	if (s)
		return qs_error_set(w->err, QS_ERR_USAGE,
		                    "%s: tensor '%s' shares bytes at offset %zu with tensor "
		                    "'%s'; qscope cannot requantize them separately in place",
		                    w->path, w->src->tensors[i].name, off,
		                    w->src->tensors[s->tensor].name);
	if (w->nspans == w->capspans) {
		size_t cap = w->capspans ? 2 * w->capspans : 64;
		struct span *p = realloc(w->spans, cap * sizeof *p);
		if (!p)
			return wr_nomem(w);
		w->spans = p;
		w->capspans = cap;
	}
	memmove(w->spans + k + 1, w->spans + k, (w->nspans - k) * sizeof *w->spans);
	w->spans[k] = (struct span){off, len, i};
	w->nspans++;
	return 0;
}

static int put(struct wr *w, size_t i, size_t off, const void *p, size_t n)
{
	int rc = n ? claim(w, i, off, n) : 0;

	if (rc || !n)
		return rc;
	if (fseeko(w->f, (off_t)off, SEEK_SET) != 0 || fwrite(p, 1, n, w->f) != n)
		return qs_error_set(w->err, QS_ERR_IO, "%s: write failed at offset %zu", w->path,
		                    off);
	return 0;
}

static int copy_source(struct wr *w)
{
	const size_t chunk = (size_t)1 << 22;

	for (size_t off = 0; off < w->im->len; off += chunk) {
		size_t n = w->im->len - off < chunk ? w->im->len - off : chunk;
		if (fwrite(w->im->map + off, 1, n, w->f) != n)
			return qs_error_set(w->err, QS_ERR_IO, "%s: write failed", w->path);
		mem_release_mapped(w->im->map + off, n);
	}
	return 0;
}

static void f32_to_type(enum dtype d, const float *x, size_t n, uint8_t *out)
{
	for (size_t k = 0; k < n; k++) {
		uint16_t h;
		double v = x[k];
		switch (d) {
		case DTYPE_F16:
			h = f32_to_f16(x[k]);
			memcpy(out + 2 * k, &h, 2);
			break;
		case DTYPE_BF16:
			h = f32_to_bf16(x[k]);
			memcpy(out + 2 * k, &h, 2);
			break;
		case DTYPE_F64:
			memcpy(out + 8 * k, &v, 8);
			break;
		case DTYPE_F8E4M3FN:
			out[k] = f32_to_f8e4m3fn(x[k], true);
			break;
		case DTYPE_F8E5M2:
			out[k] = f32_to_f8e5m2(x[k], true);
			break;
		default:
			memcpy(out + 4 * k, &x[k], 4);
			break;
		}
	}
}

/* A float tensor written before with the same bytes (a shared buffer). */
static bool written_same(const struct wr *w, size_t i)
{
	const struct tfl_ref *r = &w->im->refs[i];
	size_t k = span_lower(w, r->data_off);

	return k < w->nspans && w->spans[k].off == r->data_off &&
	       w->spans[k].len == w->src->tensors[i].nbytes &&
	       !w->src->tensors[w->spans[k].tensor].quant;
}

static int write_float(struct wr *w, size_t i, const struct qspec *spec)
{
	const struct model_tensor *t = &w->src->tensors[i];
	struct quantized_tensor q;
	uint8_t *buf;
	int rc;

	if (written_same(w, i))
		return 0;
	if ((rc = model_tensor_quantize(w->src, t, spec, &q, w->err)) != 0)
		return rc;
	if (!(buf = malloc(t->nbytes ? t->nbytes : 1))) {
		quantized_tensor_free(&q);
		return wr_nomem(w);
	}
	f32_to_type(t->dtype, q.xhat, (size_t)t->nelem, buf);
	quantized_tensor_free(&q);
	rc = put(w, i, w->im->refs[i].data_off, buf, t->nbytes);
	free(buf);
	return rc;
}

/* Why the plan's layout cannot go into t's vectors, or NULL. */
static const char *layout_misfit(const struct quantized_tensor *q, const struct tfl_ref *r,
                                 const struct model_tensor *t, char *why, size_t cap)
{
	const struct dtype_info *di = dtype_info(t->dtype);

	if (!q->codes || !q->params)
		return "the plan is not a linear scheme with scale and zero point";
	if (q->qmin < di->int_min || q->qmax > di->int_max) {
		snprintf(why, cap,
		         "codes %" PRId32 "..%" PRId32
		         " do not fit its %s storage (choose a scheme "
		         "that fits, e.g. --qtype %s, or keep it with a recipe row "
		         "'<name>,keep-float')",
		         q->qmin, q->qmax, dtype_name(t->dtype),
		         di->is_signed ? (di->bits <= 4   ? "int4"
		                          : di->bits <= 8 ? "int8"
		                                          : "int16")
		                       : (di->bits <= 4   ? "uint4"
		                          : di->bits <= 8 ? "uint8"
		                                          : "uint16"));
		return why;
	}
	if (q->layout.ngroups > 1 && q->layout.gran == GRAN_GROUP)
		return "per-group (blockwise) scales have no place in a TFLite tensor";
	if (q->layout.ngroups != r->nscale) {
		snprintf(why, cap,
		         "the plan gives %" PRIu64 " scales, the file has room for %" PRIu32
		         " (choose the tensor's granularity: %s)",
		         q->layout.ngroups, r->nscale,
		         r->nscale > 1 ? "--granularity channel" : "--granularity tensor");
		return why;
	}
	if (r->nscale > 1 && q->layout.axis != r->qdim) {
		snprintf(why, cap,
		         "the plan's channel axis %d is not its quantized_dimension %" PRId32,
		         q->layout.axis, r->qdim);
		return why;
	}
	for (uint64_t g = 0; r->nzp == 0 && g < q->layout.ngroups; g++)
		if (q->params[g].zero_point != 0)
			return "the plan has non-zero zero points and the file has no zero_point "
			       "vector";
	return NULL;
}

static int put_params(struct wr *w, size_t i, const struct tfl_ref *r, const float *s,
                      const int64_t *z, uint32_t n)
{
	uint8_t *buf = calloc(n ? n : 1, 8);
	int rc;

	if (!buf)
		return wr_nomem(w);
	for (uint32_t g = 0; g < n; g++) {
		uint32_t u;
		memcpy(&u, &s[g], 4);
		wr_u32(buf + 4 * (size_t)g, u);
	}
	rc = put(w, i, r->scale_off, buf, 4 * (size_t)n);
	for (uint32_t g = 0; !rc && r->nzp && g < n; g++)
		wr_u64(buf + 8 * (size_t)g, (uint64_t)z[g]);
	if (!rc && r->nzp)
		rc = put(w, i, r->zp_off, buf, 8 * (size_t)n);
	free(buf);
	return rc;
}

/* codes[k] into a copy of t's bytes, then the copy into the output. */
static int put_codes(struct wr *w, size_t i, const int64_t *codes)
{
	const struct model_tensor *t = &w->src->tensors[i];
	uint8_t *buf = malloc(t->nbytes ? t->nbytes : 1);
	int rc;

	if (!buf)
		return wr_nomem(w);
	memcpy(buf, t->data, t->nbytes);
	for (uint64_t k = 0; k < t->nelem; k++)
		dtype_set_int(t->dtype, buf, k, codes[k], t->nibbles);
	rc = put(w, i, w->im->refs[i].data_off, buf, t->nbytes);
	free(buf);
	return rc;
}

static int64_t round_sat(double v, int64_t lo, int64_t hi)
{
	double r = nearbyint(v); /* the default rounding mode: half to even */
	if (!(r >= (double)lo))
		return lo;
	if (r >= (double)hi)
		return hi;
	return (int64_t)r;
}

/* The int32 bias of weight wi after its scales became s_w (n groups). */
static int write_bias(struct wr *w, size_t wi, const float *s_w, uint64_t n)
{
	const struct tfl_ref *rw = &w->im->refs[wi];
	const struct model_tensor *b = rw->bias >= 0 ? &w->src->tensors[rw->bias] : NULL;
	const struct tfl_ref *rb = b ? &w->im->refs[rw->bias] : NULL;

	if (!b || dtype_info(b->dtype)->is_float)
		return 0;
	if (!b->quant || !rw->has_in)
		return qs_error_set(
		        w->err, QS_ERR_USAGE,
		        "%s: tensor '%s': its %s bias '%s' cannot follow the new scales "
		        "(%s); keep the tensor with a recipe row '<name>,keep-float'",
		        w->path, w->src->tensors[wi].name, dtype_name(b->dtype), b->name,
		        !b->quant ? "qscope does not rescale codes of this type"
		                  : "the input activation's scale is not known");
	if (rb->nscale != b->nelem && !(rb->nscale == 1 && n == 1))
		return qs_error_set(w->err, QS_ERR_USAGE,
		                    "%s: bias '%s' of tensor '%s' has %" PRIu32
		                    " scales, the weight's new scales need %" PRIu64,
		                    w->path, b->name, w->src->tensors[wi].name, rb->nscale,
		                    b->nelem);
	float *x = malloc(b->nelem * sizeof *x), *s = malloc(rb->nscale * sizeof *s);
	int64_t *q = malloc(b->nelem * sizeof *q), *z = calloc(rb->nscale, sizeof *z);
	const struct dtype_info *di = dtype_info(b->dtype);
	int rc = !x || !s || !q || !z ? wr_nomem(w) : model_tensor_to_f32(w->src, b, x, w->err);
	for (uint64_t c = 0; !rc && c < b->nelem; c++) {
		float sc = (float)(rw->s_in * (double)s_w[n == 1 ? 0 : c]);
		if (c < rb->nscale)
			s[c] = sc;
		q[c] = sc > 0 ? round_sat((double)x[c] / (double)sc, di->int_min, di->int_max) : 0;
	}
	if (!rc)
		rc = put_codes(w, (size_t)rw->bias, q);
	if (!rc)
		rc = put_params(w, (size_t)rw->bias, rb, s, z, rb->nscale);
	free(x);
	free(s);
	free(q);
	free(z);
	return rc;
}

static int write_quant(struct wr *w, size_t i, const struct qspec *spec)
{
	const struct model_tensor *t = &w->src->tensors[i];
	const struct tfl_ref *r = &w->im->refs[i];
	struct quantized_tensor q;
	char buf[256];
	const char *why;
	int rc;

	if ((rc = model_tensor_quantize(w->src, t, spec, &q, w->err)) != 0)
		return rc;
	if ((why = layout_misfit(&q, r, t, buf, sizeof buf))) {
		quantized_tensor_free(&q);
		return qs_error_set(w->err, QS_ERR_USAGE, "%s: tensor '%s': %s", w->path, t->name,
		                    why);
	}
	uint64_t ng = q.layout.ngroups;
	int64_t *codes = malloc((t->nelem ? t->nelem : 1) * sizeof *codes);
	float *s = malloc(ng * sizeof *s);
	int64_t *z = malloc(ng * sizeof *z);
	rc = !codes || !s || !z ? wr_nomem(w) : 0;
	for (uint64_t k = 0; !rc && k < t->nelem; k++)
		codes[k] = q.codes[k];
	for (uint64_t g = 0; !rc && g < ng; g++) {
		s[g] = q.params[g].scale;
		z[g] = q.params[g].zero_point;
	}
	quantized_tensor_free(&q);
	if (!rc)
		rc = put_codes(w, i, codes);
	if (!rc)
		rc = put_params(w, i, r, s, z, (uint32_t)ng);
	if (!rc)
		rc = write_bias(w, i, s, ng);
	free(codes);
	free(s);
	free(z);
	return rc;
}

static int write_one(struct wr *w, size_t i, const struct tensor_plan *p)
{
	const struct model_tensor *t = &w->src->tensors[i];
	const struct tfl_ref *r = &w->im->refs[i];

	if (!p->quantize || t->is_aux || t->block)
		return 0;
	if (t->quant && r->weight >= 0 && t->dtype == DTYPE_I32)
		return 0; /* a quantized bias follows its weight */
	if (t->quant)
		return write_quant(w, i, &p->spec);
	if (dtype_info(t->dtype)->is_float)
		return write_float(w, i, &p->spec);
	return 0;
}

static int tfl_write(const struct model *src, const struct write_opts *o, FILE *out,
                     const char *out_path, struct qs_error *err)
{
	const struct tfl_impl *im = src->ops == &tflite_format_ops ? src->impl : NULL;
	struct wr w = {.f = out, .path = out_path, .err = err, .src = src, .im = im};
	int rc;

	if (!im)
		return qs_error_set(
		        err, QS_ERR_UNSUPPORTED,
		        "%s: qscope writes TFLite/circle only as a requantized copy of a "
		        "TFLite/circle input (%s is not one)",
		        out_path, src->path);
	if (has_ext(out_path, im->circle ? ".tflite" : ".circle"))
		return qs_error_set(
		        err, QS_ERR_USAGE,
		        "%s: the input %s is a %s model; write it with the %s extension", out_path,
		        src->path, im->circle ? "circle" : "TFLite",
		        im->circle ? ".circle" : ".tflite");
	/* the copy is patched in place: a pipe or terminal would get the input
	 * unchanged before the first patch fails */
	struct stat st;
	if (fstat(fileno(out), &st) != 0 || !S_ISREG(st.st_mode))
		return qs_error_set(err, QS_ERR_USAGE,
		                    "%s: a TFLite/circle model is written to a regular file only "
		                    "(it is patched in place)",
		                    out_path);
	rc = copy_source(&w);
	for (size_t i = 0; !rc && o->plan && i < src->ntensors; i++) {
		rc = write_one(&w, i, &o->plan[i]);
		model_tensor_release(&src->tensors[i]);
	}
	if (!rc && fseeko(out, 0, SEEK_END) != 0)
		rc = qs_error_set(err, QS_ERR_IO, "%s: seek failed", out_path);
	free(w.spans);
	return rc;
}

const struct model_format_ops tflite_format_ops = {
        .format = FMT_TFLITE,
        .name = "tflite",
        .extensions = ".tflite .circle",
        .sniff = tfl_sniff,
        .load = tfl_load,
        .unload = tfl_unload,
        .write = tfl_write,
};
