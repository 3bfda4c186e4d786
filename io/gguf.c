#include "gguf.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../analysis/ggml_quants.h"

/* ---- reading ------------------------------------------------------------ */

struct cur {
	const uint8_t *buf;
	size_t len, pos;
	const char *label;
	struct qs_error *err;
};

static int cur_fail(struct cur *c, size_t at, const char *what, const char *detail)
{
	return qs_error_set(c->err, QS_ERR_FORMAT, "%s: offset %zu: %s: %s", c->label, at, what,
	                    detail);
}

static bool cur_has(const struct cur *c, uint64_t n)
{
	return n <= c->len - c->pos;
}

static int cur_bytes(struct cur *c, void *dst, size_t n, const char *what)
{
	if (!cur_has(c, n))
		return cur_fail(c, c->pos, what, "file ends here (truncated)");
	memcpy(dst, c->buf + c->pos, n);
	c->pos += n;
	return 0;
}

static int cur_u32(struct cur *c, uint32_t *v, const char *what)
{
	return cur_bytes(c, v, 4, what);
}

static int cur_u64(struct cur *c, uint64_t *v, const char *what)
{
	return cur_bytes(c, v, 8, what);
}

/* A gguf_string: u64 length then bytes; *s points into the buffer. */
static int cur_str(struct cur *c, const char **s, uint64_t *n, const char *what)
{
	size_t at = c->pos;
	char msg[96];

	if (cur_u64(c, n, what))
		return QS_ERR_FORMAT;
	if (!cur_has(c, *n)) {
		snprintf(msg, sizeof msg, "string length %" PRIu64 " runs past the end of the file",
		         *n);
		return cur_fail(c, at, what, msg);
	}
	*s = (const char *)c->buf + c->pos;
	c->pos += *n;
	return 0;
}

static const uint8_t vtype_size[GGUF_T_COUNT] = {
        [GGUF_T_U8] = 1,  [GGUF_T_I8] = 1,  [GGUF_T_U16] = 2, [GGUF_T_I16] = 2,
        [GGUF_T_U32] = 4, [GGUF_T_I32] = 4, [GGUF_T_F32] = 4, [GGUF_T_BOOL] = 1,
        [GGUF_T_U64] = 8, [GGUF_T_I64] = 8, [GGUF_T_F64] = 8,
};

static const char *const vtype_name[GGUF_T_COUNT] = {
        "UINT8", "INT8",   "UINT16", "INT16",  "UINT32", "INT32",   "FLOAT32",
        "BOOL",  "STRING", "ARRAY",  "UINT64", "INT64",  "FLOAT64",
};

/* Skip count values of a scalar or string type, checking BOOLs. */
static int skip_values(struct cur *c, uint32_t t, uint64_t count, const char *what)
{
	char msg[128];

	if (t == GGUF_T_STRING) {
		/* each string needs at least its 8-byte length */
		if (count > (c->len - c->pos) / 8) {
			snprintf(msg, sizeof msg,
			         "%" PRIu64 " strings cannot fit in the %zu bytes left", count,
			         c->len - c->pos);
			return cur_fail(c, c->pos, what, msg);
		}
		for (uint64_t i = 0; i < count; i++) {
			const char *s;
			uint64_t n;
			if (cur_str(c, &s, &n, what))
				return QS_ERR_FORMAT;
		}
		return 0;
	}
	uint64_t sz = vtype_size[t];
	if (count > (c->len - c->pos) / sz) {
		snprintf(msg, sizeof msg,
		         "%" PRIu64 " values of %s cannot fit in the %zu bytes left", count,
		         vtype_name[t], c->len - c->pos);
		return cur_fail(c, c->pos, what, msg);
	}
	if (t == GGUF_T_BOOL)
		for (uint64_t i = 0; i < count; i++)
			if (c->buf[c->pos + i] > 1)
				return cur_fail(c, c->pos + i, what, "BOOL value is not 0 or 1");
	c->pos += count * sz;
	return 0;
}

static int parse_value(struct cur *c, struct gguf_kv *kv)
{
	uint32_t t;
	size_t at = c->pos;
	char msg[64];

	if (cur_u32(c, &t, kv->key))
		return QS_ERR_FORMAT;
	if (t >= GGUF_T_COUNT) {
		snprintf(msg, sizeof msg, "unknown value type %" PRIu32, t);
		return cur_fail(c, at, kv->key, msg);
	}
	kv->type = t;
	kv->val_off = c->pos;
	if (t != GGUF_T_ARRAY)
		return skip_values(c, t, 1, kv->key);
	at = c->pos;
	if (cur_u32(c, &t, kv->key) || cur_u64(c, &kv->arr_count, kv->key))
		return QS_ERR_FORMAT;
	if (t == GGUF_T_ARRAY)
		return cur_fail(c, at, kv->key, "arrays of arrays are not supported (as in ggml)");
	if (t >= GGUF_T_COUNT) {
		snprintf(msg, sizeof msg, "unknown array element type %" PRIu32, t);
		return cur_fail(c, at, kv->key, msg);
	}
	kv->arr_type = t;
	return skip_values(c, t, kv->arr_count, kv->key);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* QS_ERR_FORMAT naming the first name that occurs twice among n entries of
 * stride bytes, each holding a char * at byte name_at (sorted copy). */
static int check_unique(struct cur *c, const void *entries, uint64_t n, size_t stride,
                        size_t name_at, const char *what)
{
	char **s = malloc((n ? n : 1) * sizeof *s);
	int rc = 0;

	if (!s)
		return qs_error_set(c->err, QS_ERR_NOMEM, "%s: out of memory", c->label);
	for (uint64_t i = 0; i < n; i++)
		memcpy(&s[i], (const char *)entries + i * stride + name_at, sizeof *s);
	qsort(s, n, sizeof *s, name_cmp);
	for (uint64_t i = 1; i < n && !rc; i++)
		if (!strcmp(s[i - 1], s[i]))
			rc = qs_error_set(c->err, QS_ERR_FORMAT, "%s: duplicate %s \"%s\"",
			                  c->label, what, s[i]);
	free(s);
	return rc;
}

/* A zeroed table of count entries, after checking that count entries of at
 * least min_each bytes fit in what is left (the field at offset at counted
 * them); NULL with *rc set on failure. */
static void *alloc_table(struct cur *c, uint64_t count, size_t min_each, size_t at,
                         const char *field, const char *what, size_t size, int *rc)
{
	void *p;

	if (count > (c->len - c->pos) / min_each) {
		char msg[96];
		snprintf(msg, sizeof msg, "%" PRIu64 " %s cannot fit in the %zu bytes left", count,
		         what, c->len - c->pos);
		*rc = cur_fail(c, at, field, msg);
		return NULL;
	}
	if (!(p = calloc(count ? count : 1, size)))
		*rc = qs_error_set(c->err, QS_ERR_NOMEM, "%s: out of memory", c->label);
	return p;
}

static int parse_kvs(struct cur *c, struct gguf_file *g)
{
	int rc;

	/* every KV takes at least 8 (key length) + 4 (type) + 1 bytes */
	if (!(g->kv = alloc_table(c, g->nkv, 13, 16, "metadata_kv_count", "KVs", sizeof *g->kv,
	                          &rc)))
		return rc;
	for (uint64_t i = 0; i < g->nkv; i++) {
		struct gguf_kv *kv = &g->kv[i];
		const char *k;
		uint64_t n;
		kv->off = c->pos;
		if (cur_str(c, &k, &n, "metadata key"))
			return QS_ERR_FORMAT;
		if (!(kv->key = strndup(k, n)))
			return qs_error_set(c->err, QS_ERR_NOMEM, "%s: out of memory", c->label);
		if (strlen(kv->key) != n)
			return cur_fail(c, kv->off, "metadata key", "contains a NUL byte");
		if (parse_value(c, kv))
			return QS_ERR_FORMAT;
		kv->len = c->pos - kv->off;
	}
	return check_unique(c, g->kv, g->nkv, sizeof *g->kv, offsetof(struct gguf_kv, key),
	                    "metadata key");
}

static int parse_alignment(struct cur *c, struct gguf_file *g)
{
	const struct gguf_kv *kv = gguf_kv_find(g, "general.alignment");
	uint32_t a;

	g->alignment = GGUF_DEFAULT_ALIGN;
	if (!kv)
		return 0;
	if (kv->type != GGUF_T_U32)
		return cur_fail(c, kv->off, "general.alignment", "must be of type UINT32");
	memcpy(&a, c->buf + kv->val_off, 4);
	if (a == 0 || (a & (a - 1)))
		return cur_fail(c, kv->val_off, "general.alignment", "not a power of two");
	g->alignment = a;
	return 0;
}

static int tensor_fail(struct cur *c, size_t at, uint64_t i, const char *name, const char *msg)
{
	return qs_error_set(c->err, QS_ERR_FORMAT, "%s: offset %zu: tensor %" PRIu64 " (%s): %s",
	                    c->label, at, i, name ? name : "?", msg);
}

static int parse_dims(struct cur *c, struct gguf_tensor_info *ti, uint64_t i)
{
	size_t at = c->pos;
	char msg[96];

	if (cur_u32(c, &ti->ndim, "n_dims"))
		return QS_ERR_FORMAT;
	if (ti->ndim == 0 || ti->ndim > GGUF_MAX_DIMS) {
		snprintf(msg, sizeof msg, "n_dims %" PRIu32 " (must be 1..%d)", ti->ndim,
		         GGUF_MAX_DIMS);
		return tensor_fail(c, at, i, ti->name, msg);
	}
	ti->nelem = 1;
	for (uint32_t d = 0; d < ti->ndim; d++) {
		at = c->pos;
		if (cur_u64(c, &ti->ne[d], "dims"))
			return QS_ERR_FORMAT;
		if (ti->ne[d] > INT64_MAX ||
		    (ti->ne[d] && ti->nelem > (uint64_t)INT64_MAX / ti->ne[d])) {
			snprintf(msg, sizeof msg, "dims[%" PRIu32 "] = %" PRIu64 " overflows", d,
			         ti->ne[d]);
			return tensor_fail(c, at, i, ti->name, msg);
		}
		ti->nelem *= ti->ne[d];
	}
	return 0;
}

static int parse_type(struct cur *c, struct gguf_tensor_info *ti, uint64_t i)
{
	size_t at = c->pos;
	uint32_t be, bb;
	char msg[128];

	if (cur_u32(c, &ti->type, "type") || cur_u64(c, &ti->offset, "offset"))
		return QS_ERR_FORMAT;
	if (!ggml_type_size((int)ti->type, &be, &bb)) {
		snprintf(msg, sizeof msg, "unknown ggml type %" PRIu32, ti->type);
		return tensor_fail(c, at, i, ti->name, msg);
	}
	if (ti->ne[0] % be) {
		snprintf(msg, sizeof msg,
		         "dims[0] = %" PRIu64 " is not a multiple of %s's block %u", ti->ne[0],
		         ggml_type_name((int)ti->type), be);
		return tensor_fail(c, at, i, ti->name, msg);
	}
	/* nelem < 2^63 and bb ≤ 292: the byte count fits when divided first */
	if (ti->nelem / be > UINT64_MAX / bb)
		return tensor_fail(c, at, i, ti->name, "byte size overflows");
	ti->nbytes = ti->nelem / be * bb;
	return 0;
}

static int parse_infos(struct cur *c, struct gguf_file *g)
{
	int rc;

	/* name length 8 + n_dims 4 + one dim 8 + type 4 + offset 8 */
	if (!(g->ti = alloc_table(c, g->ntensors, 32, 8, "tensor_count", "tensors", sizeof *g->ti,
	                          &rc)))
		return rc;
	for (uint64_t i = 0; i < g->ntensors; i++) {
		struct gguf_tensor_info *ti = &g->ti[i];
		size_t at = c->pos;
		const char *s;
		uint64_t n;
		if (cur_str(c, &s, &n, "tensor name"))
			return QS_ERR_FORMAT;
		if (!(ti->name = strndup(s, n)))
			return qs_error_set(c->err, QS_ERR_NOMEM, "%s: out of memory", c->label);
		if (n >= GGUF_MAX_NAME || strlen(ti->name) != n)
			return tensor_fail(c, at, i, ti->name,
			                   "name is 64 bytes or longer, or contains NUL");
		if (parse_dims(c, ti, i) || parse_type(c, ti, i))
			return QS_ERR_FORMAT;
	}
	return 0;
}

struct span {
	uint64_t off, end;
	uint64_t i;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int check_data(struct cur *c, struct gguf_file *g)
{
	uint64_t start = ((uint64_t)c->pos + g->alignment - 1) / g->alignment * g->alignment;
	struct span *sp;
	char msg[160];
	int rc = 0;

	if (g->ntensors && start > c->len)
		return cur_fail(c, c->pos, "data section", "starts past the end of the file");
	g->data_start = start > c->len ? c->len : (size_t)start;
	sp = malloc((g->ntensors ? g->ntensors : 1) * sizeof *sp);
	if (!sp)
		return qs_error_set(c->err, QS_ERR_NOMEM, "%s: out of memory", c->label);
	uint64_t room = c->len - g->data_start;
	for (uint64_t i = 0; i < g->ntensors && !rc; i++) {
		const struct gguf_tensor_info *ti = &g->ti[i];
		if (ti->offset % g->alignment) {
			snprintf(msg, sizeof msg, "data offset %" PRIu64 " is not a multiple of %u",
			         ti->offset, g->alignment);
			rc = tensor_fail(c, g->data_start, i, ti->name, msg);
		} else if (ti->offset > room || ti->nbytes > room - ti->offset) {
			snprintf(msg, sizeof msg,
			         "data [%" PRIu64 ", +%" PRIu64 ") runs past the end of the file "
			         "(%" PRIu64 " data bytes)",
			         ti->offset, ti->nbytes, room);
			rc = tensor_fail(c, g->data_start, i, ti->name, msg);
		}
		sp[i] = (struct span){ti->offset, ti->offset + ti->nbytes, i};
	}
	if (!rc) {
		qsort(sp, g->ntensors, sizeof *sp, span_cmp);
		for (uint64_t i = 1; i < g->ntensors && !rc; i++)
			if (sp[i].off < sp[i - 1].end && sp[i].end > sp[i].off &&
			    sp[i - 1].end > sp[i - 1].off)
				rc = tensor_fail(c, g->data_start + sp[i].off, sp[i].i,
				                 g->ti[sp[i].i].name,
				                 "data overlaps another tensor");
	}
	free(sp);
	return rc;
}

static int parse_header(struct cur *c, struct gguf_file *g)
{
	uint8_t magic[4];
	char msg[64];

	if (cur_bytes(c, magic, 4, "magic"))
		return QS_ERR_FORMAT;
	if (memcmp(magic, "GGUF", 4))
		return cur_fail(c, 0, "magic", "not a GGUF file (expected \"GGUF\")");
	if (cur_u32(c, &g->version, "version"))
		return QS_ERR_FORMAT;
	if ((g->version & 0xFFFF) == 0)
		return cur_fail(c, 4, "version", "big-endian GGUF files are not supported");
	if (g->version < 2 || g->version > 3) {
		snprintf(msg, sizeof msg, "version %" PRIu32 " not supported (2 or 3)", g->version);
		return cur_fail(c, 4, "version", msg);
	}
	if (cur_u64(c, &g->ntensors, "tensor_count") || cur_u64(c, &g->nkv, "metadata_kv_count"))
		return QS_ERR_FORMAT;
	return 0;
}

int gguf_parse(const uint8_t *buf, size_t len, const char *label, struct gguf_file **out,
               struct qs_error *err)
{
	struct cur c = {buf, len, 0, label, err};
	struct gguf_file *g = calloc(1, sizeof *g);
	int rc;

	*out = NULL;
	if (!g)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	rc = parse_header(&c, g);
	if (!rc)
		rc = parse_kvs(&c, g);
	if (!rc)
		rc = parse_alignment(&c, g);
	if (!rc)
		rc = parse_infos(&c, g);
	if (!rc)
		rc = check_unique(&c, g->ti, g->ntensors, sizeof *g->ti,
		                  offsetof(struct gguf_tensor_info, name), "tensor name");
	if (!rc)
		rc = check_data(&c, g);
	if (rc) {
		gguf_file_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

void gguf_file_free(struct gguf_file *g)
{
	if (!g)
		return;
	for (uint64_t i = 0; g->kv && i < g->nkv; i++)
		free(g->kv[i].key);
	for (uint64_t i = 0; g->ti && i < g->ntensors; i++)
		free(g->ti[i].name);
	free(g->kv);
	free(g->ti);
	free(g);
}

const struct gguf_kv *gguf_kv_find(const struct gguf_file *g, const char *key)
{
	for (uint64_t i = 0; g->kv && i < g->nkv; i++)
		if (g->kv[i].key && !strcmp(g->kv[i].key, key))
			return &g->kv[i];
	return NULL;
}

bool gguf_kv_get_u32(const struct gguf_file *g, const uint8_t *buf, const char *key, uint32_t *v)
{
	const struct gguf_kv *kv = gguf_kv_find(g, key);

	if (!kv || kv->type != GGUF_T_U32)
		return false;
	memcpy(v, buf + kv->val_off, 4);
	return true;
}

bool gguf_kv_get_str(const struct gguf_file *g, const uint8_t *buf, const char *key, const char **s,
                     size_t *len)
{
	const struct gguf_kv *kv = gguf_kv_find(g, key);
	uint64_t n;

	if (!kv || kv->type != GGUF_T_STRING)
		return false;
	memcpy(&n, buf + kv->val_off, 8);
	*s = (const char *)buf + kv->val_off + 8;
	*len = (size_t)n;
	return true;
}

static void format_scalar(enum gguf_vtype t, const uint8_t *p, char *out, size_t cap)
{
	union {
		uint8_t u8;
		int8_t i8;
		uint16_t u16;
		int16_t i16;
		uint32_t u32;
		int32_t i32;
		float f32;
		uint64_t u64;
		int64_t i64;
		double f64;
	} v;

	memcpy(&v, p, vtype_size[t]);
	switch (t) {
	case GGUF_T_U8:
		snprintf(out, cap, "%u", v.u8);
		break;
	case GGUF_T_I8:
		snprintf(out, cap, "%d", v.i8);
		break;
	case GGUF_T_U16:
		snprintf(out, cap, "%u", v.u16);
		break;
	case GGUF_T_I16:
		snprintf(out, cap, "%d", v.i16);
		break;
	case GGUF_T_U32:
		snprintf(out, cap, "%" PRIu32, v.u32);
		break;
	case GGUF_T_I32:
		snprintf(out, cap, "%" PRId32, v.i32);
		break;
	case GGUF_T_F32:
		snprintf(out, cap, "%.9g", v.f32);
		break;
	case GGUF_T_BOOL:
		snprintf(out, cap, "%s", v.u8 ? "true" : "false");
		break;
	case GGUF_T_U64:
		snprintf(out, cap, "%" PRIu64, v.u64);
		break;
	case GGUF_T_I64:
		snprintf(out, cap, "%" PRId64, v.i64);
		break;
	default:
		snprintf(out, cap, "%.17g", v.f64);
		break;
	}
}

void gguf_kv_format(const struct gguf_kv *kv, const uint8_t *buf, char *out, size_t cap)
{
	if (kv->type == GGUF_T_ARRAY) {
		snprintf(out, cap, "[%s x %" PRIu64 "]", vtype_name[kv->arr_type], kv->arr_count);
	} else if (kv->type == GGUF_T_STRING) {
		uint64_t n;
		memcpy(&n, buf + kv->val_off, 8);
		int shown = n > 200 ? 200 : (int)n;
		snprintf(out, cap, "\"%.*s%s\"", shown, (const char *)buf + kv->val_off + 8,
		         n > 200 ? "..." : "");
	} else {
		format_scalar(kv->type, buf + kv->val_off, out, cap);
	}
}

/* ---- the model ---------------------------------------------------------- */

struct gguf_impl {
	const uint8_t *map;
	size_t len;
	struct gguf_file *g;
};

struct plain_type {
	int ggml;
	enum dtype dt;
};

static const struct plain_type plain_types[] = {
        {GGML_ID_F32, DTYPE_F32}, {GGML_ID_F16, DTYPE_F16}, {GGML_ID_BF16, DTYPE_BF16},
        {24, DTYPE_I8},           {25, DTYPE_I16},          {26, DTYPE_I32},
        {27, DTYPE_I64},          {28, DTYPE_F64},
};

static int plain_dtype(int ggml_type)
{
	for (size_t i = 0; i < sizeof plain_types / sizeof plain_types[0]; i++)
		if (plain_types[i].ggml == ggml_type)
			return (int)plain_types[i].dt;
	return -1;
}

static int plain_ggml(enum dtype dt)
{
	for (size_t i = 0; i < sizeof plain_types / sizeof plain_types[0]; i++)
		if (plain_types[i].dt == dt)
			return plain_types[i].ggml;
	return -1;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

static void tensor_fill(struct model_tensor *t, const struct gguf_tensor_info *ti,
                        const uint8_t *data)
{
	int dt = plain_dtype((int)ti->type);

	t->data = data;
	t->nbytes = (size_t)ti->nbytes;
	t->facts.out_axis = -1;
	if (dt < 0 && !ggml_qtype_by_id((int)ti->type)) {
		/* a ggml type qscope cannot decode: keep it listed as bytes */
		t->dtype = DTYPE_U8;
		t->ndim = 1;
		t->shape[0] = (int64_t)ti->nbytes;
		t->nelem = ti->nbytes;
		t->is_aux = true;
		return;
	}
	t->dtype = dt < 0 ? DTYPE_U8 : (enum dtype)dt;
	t->block = dt < 0 ? ggml_qtype_by_id((int)ti->type) : NULL;
	t->ndim = (int)ti->ndim;
	for (uint32_t d = 0; d < ti->ndim; d++)
		t->shape[ti->ndim - 1 - d] = (int64_t)ti->ne[d];
	t->nelem = ti->nelem;
	if (ti->ndim >= 2) {
		t->facts.role = ROLE_WEIGHT;
		t->facts.out_axis = 0;
		t->facts.reduce_k =
		        (int64_t)(ti->nelem / (ti->ne[ti->ndim - 1] ? ti->ne[ti->ndim - 1] : 1));
	} else if (ends_with(ti->name, ".bias")) {
		t->facts.role = ROLE_BIAS;
	}
}

static int gguf_load(const char *path, struct model *m, struct qs_error *err)
{
	struct gguf_impl *im = calloc(1, sizeof *im);
	int rc;

	if (!im)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	m->impl = im;
	rc = model_map_file(path, &im->map, &im->len, err);
	if (rc)
		return rc;
	rc = gguf_parse(im->map, im->len, path, &im->g, err);
	if (rc)
		return rc;
	m->tensors = calloc(im->g->ntensors ? im->g->ntensors : 1, sizeof *m->tensors);
	if (!m->tensors)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	for (uint64_t i = 0; i < im->g->ntensors; i++) {
		const struct gguf_tensor_info *ti = &im->g->ti[i];
		struct model_tensor *t = &m->tensors[i];
		if (!(t->name = strdup(ti->name)))
			return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
		m->ntensors = i + 1;
		tensor_fill(t, ti, im->map + im->g->data_start + ti->offset);
	}
	return 0;
}

static void gguf_unload(struct model *m)
{
	struct gguf_impl *im = m->impl;

	if (!im)
		return;
	gguf_file_free(im->g);
	model_unmap_file(im->map, im->len);
	free(im);
	m->impl = NULL;
}

const struct gguf_file *gguf_model_file(const struct model *m, const uint8_t **buf)
{
	const struct gguf_impl *im = m && m->ops == &gguf_format_ops ? m->impl : NULL;

	if (!im)
		return NULL;
	if (buf)
		*buf = im->map;
	return im->g;
}

static bool gguf_sniff(const uint8_t *head, size_t len, const char *path)
{
	(void)path;
	return len >= 4 && !memcmp(head, "GGUF", 4);
}

/* ---- writing ------------------------------------------------------------ */

struct ftype_map {
	int ggml, ftype;
};

static const struct ftype_map ftypes[] = {
        {GGML_ID_F32, 0},   {GGML_ID_F16, 1},   {GGML_ID_Q4_0, 2},  {GGML_ID_Q4_1, 3},
        {GGML_ID_Q8_0, 7},  {GGML_ID_Q5_0, 8},  {GGML_ID_Q5_1, 9},  {GGML_ID_Q2_K, 10},
        {GGML_ID_Q3_K, 12}, {GGML_ID_Q4_K, 15}, {GGML_ID_Q5_K, 17}, {GGML_ID_Q6_K, 18},
        {GGML_ID_BF16, 32},
};

int gguf_ftype_of(int ggml_type)
{
	for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++)
		if (ftypes[i].ggml == ggml_type)
			return ftypes[i].ftype;
	return -1;
}

/* What one output tensor becomes. */
struct out_tensor {
	const struct qtype *qt; /* quantize to this ggml qtype; NULL: keep/convert */
	int type;               /* ggml type written */
	bool copy;              /* bytes copied from the GGUF source */
	uint64_t nbytes, offset;
};

struct writer {
	FILE *f;
	const char *path;
	struct qs_error *err;
	int rc;
	uint64_t pos; /* bytes written so far */
};

static void w_bytes(struct writer *w, const void *p, size_t n)
{
	if (w->rc || n == 0)
		return;
	if (fwrite(p, 1, n, w->f) != n)
		w->rc = qs_error_set(w->err, QS_ERR_IO, "%s: write failed", w->path);
	w->pos += n;
}

static void w_u32(struct writer *w, uint32_t v)
{
	w_bytes(w, &v, 4);
}

static void w_u64(struct writer *w, uint64_t v)
{
	w_bytes(w, &v, 8);
}

static void w_str(struct writer *w, const char *s)
{
	w_u64(w, strlen(s));
	w_bytes(w, s, strlen(s));
}

static void w_zeros(struct writer *w, size_t n)
{
	static const uint8_t z[64];

	while (n > 0 && !w->rc) {
		size_t k = n < sizeof z ? n : sizeof z;
		w_bytes(w, z, k);
		n -= k;
	}
}

static const struct qtype *qtype_from_bits(const struct scheme *s)
{
	int id = s->bits == 8   ? GGML_ID_Q8_0
	         : s->bits == 5 ? (s->symmetric ? GGML_ID_Q5_0 : GGML_ID_Q5_1)
	         : s->bits == 4 ? (s->symmetric ? GGML_ID_Q4_0 : GGML_ID_Q4_1)
	                        : -1;
	return id < 0 ? NULL : ggml_qtype_by_id(id);
}

static int plan_qtype(const struct model_tensor *t, const struct tensor_plan *p, const char *path,
                      const struct qtype **out, struct qs_error *err)
{
	const struct qtype *qt = p->spec.qt;

	*out = NULL;
	if (qt && !ggml_qtype_writable(qt))
		return qs_error_set(
		        err, QS_ERR_USAGE,
		        "%s: tensor %s: qtype %s cannot be written to GGUF (use F32, F16, "
		        "BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q4_K, Q5_K or Q6_K)",
		        path, t->name, qt->name);
	if (!qt && !(qt = qtype_from_bits(&p->spec.scheme)))
		return qs_error_set(err, QS_ERR_USAGE,
		                    "%s: tensor %s: %d-bit linear quantization has no GGUF type "
		                    "(use --qtype Q8_0, Q4_0, ...)",
		                    path, t->name, p->spec.scheme.bits);
	/* a block type needs rows of whole blocks, and llama.cpp leaves 1-D
	 * tensors (norms, biases) in their float type, F16 files included */
	if (t->ndim < 2 || t->shape[t->ndim - 1] % (int64_t)qt->block_elems)
		return 0;
	*out = qt;
	return 0;
}

static int plan_tensor(const struct model *src, size_t i, const struct write_opts *o,
                       const char *path, struct out_tensor *ot, struct qs_error *err)
{
	const struct model_tensor *t = &src->tensors[i];
	const struct gguf_file *g = gguf_model_file(src, NULL);
	int rc;

	memset(ot, 0, sizeof *ot);
	if (t->ndim > GGUF_MAX_DIMS || strlen(t->name) >= GGUF_MAX_NAME)
		return qs_error_set(err, QS_ERR_UNSUPPORTED,
		                    "%s: tensor %s: GGUF allows at most 4 dims and names under 64 "
		                    "bytes",
		                    path, t->name);
	if (o->plan && o->plan[i].quantize && !t->is_aux) {
		if ((rc = plan_qtype(t, &o->plan[i], path, &ot->qt, err)))
			return rc;
	}
	if (ot->qt && o->fake_quant) {
		ot->type = GGML_ID_F32;
	} else if (ot->qt) {
		ot->type = ot->qt->ggml_type;
	} else if (g) {
		ot->type = (int)g->ti[i].type;
		ot->copy = true;
	} else {
		int id = plain_ggml(t->dtype);
		ot->type = t->quant || t->block || id < 0 ? GGML_ID_F32 : id;
		ot->copy = !(t->quant || t->block || id < 0);
	}
	uint32_t be, bb;
	ggml_type_size(ot->type, &be, &bb);
	ot->nbytes = ot->copy ? t->nbytes : t->nelem / be * bb;
	return 0;
}

static bool is_replaced_key(const char *k)
{
	return !strcmp(k, "general.file_type") || !strcmp(k, "general.quantization_version");
}

/* The most used block type decides general.file_type. */
static int file_ftype(const struct model *src, const struct out_tensor *ot, bool *any_block)
{
	uint64_t best = 0;
	int type = GGML_ID_F32;

	*any_block = false;
	for (size_t i = 0; i < src->ntensors; i++) {
		const struct qtype *q = ggml_qtype_by_id(ot[i].type);
		if (q && q->family == QTYPE_BLOCK)
			*any_block = true;
	}
	for (size_t i = 0; i < src->ntensors; i++) {
		uint64_t n = 0;
		if (!ot[i].qt)
			continue;
		for (size_t j = 0; j < src->ntensors; j++)
			if (ot[j].type == ot[i].type)
				n += src->tensors[j].nelem;
		if (n > best) {
			best = n;
			type = ot[i].type;
		}
	}
	int ft = gguf_ftype_of(type);
	return ft < 0 ? 0 : ft;
}

static void write_header(struct writer *w, const struct model *src, const struct out_tensor *ot)
{
	const uint8_t *buf = NULL;
	const struct gguf_file *g = gguf_model_file(src, &buf);
	bool any_block;
	uint32_t ftype = (uint32_t)file_ftype(src, ot, &any_block);
	uint64_t nkv = 0;

	for (uint64_t i = 0; g && i < g->nkv; i++)
		nkv += !is_replaced_key(g->kv[i].key);
	nkv += g ? 1 : 2; /* file_type (+ architecture for foreign sources) */
	nkv += any_block;
	w_bytes(w, "GGUF", 4);
	w_u32(w, 3);
	w_u64(w, src->ntensors);
	w_u64(w, nkv);
	if (!g) {
		w_str(w, "general.architecture");
		w_u32(w, GGUF_T_STRING);
		w_str(w, "unknown");
	}
	for (uint64_t i = 0; g && i < g->nkv; i++)
		if (!is_replaced_key(g->kv[i].key))
			w_bytes(w, buf + g->kv[i].off, g->kv[i].len);
	w_str(w, "general.file_type");
	w_u32(w, GGUF_T_U32);
	w_u32(w, ftype);
	if (any_block) {
		w_str(w, "general.quantization_version");
		w_u32(w, GGUF_T_U32);
		w_u32(w, 2);
	}
}

static uint64_t align_up(uint64_t v, uint32_t a)
{
	return (v + a - 1) / a * a;
}

static void write_infos(struct writer *w, const struct model *src, struct out_tensor *ot,
                        uint32_t align)
{
	const struct gguf_file *g = gguf_model_file(src, NULL);
	uint64_t off = 0;

	for (size_t i = 0; i < src->ntensors; i++) {
		const struct model_tensor *t = &src->tensors[i];
		int nd = g ? (int)g->ti[i].ndim : t->ndim > 0 ? t->ndim : 1;
		w_str(w, t->name);
		w_u32(w, (uint32_t)nd);
		for (int d = 0; d < nd; d++)
			w_u64(w, g             ? g->ti[i].ne[d]
			         : t->ndim > 0 ? (uint64_t)t->shape[t->ndim - 1 - d]
			                       : 1);
		w_u32(w, (uint32_t)ot[i].type);
		ot[i].offset = off;
		w_u64(w, off);
		off = align_up(off + ot[i].nbytes, align);
	}
}

static void quantize_into(const struct qtype *qt, const float *x, void *blocks, int64_t n,
                          const struct method *m)
{
	if (qt->quantize_method && m && m->kind != METHOD_MINMAX)
		qt->quantize_method(x, blocks, n, m);
	else
		qt->quantize_ref(x, blocks, n);
}

/* Convert, quantize and write tensor i (one tensor in memory at a time). */
static void write_data(struct writer *w, const struct model *src, size_t i,
                       const struct out_tensor *ot, const struct write_opts *o)
{
	const struct model_tensor *t = &src->tensors[i];
	size_t qb = ot->qt ? t->nelem / ot->qt->block_elems * ot->qt->block_bytes : 0;
	float *x;
	void *blocks = NULL;

	if (ot->copy) {
		w_bytes(w, t->data, t->nbytes);
		return;
	}
	x = malloc((t->nelem ? t->nelem : 1) * sizeof *x);
	if (ot->qt)
		blocks = malloc(qb ? qb : 1);
	if (!x || (ot->qt && !blocks)) {
		w->rc = qs_error_set(w->err, QS_ERR_NOMEM, "%s: tensor %s: out of memory", w->path,
		                     t->name);
	} else if (!(w->rc = model_tensor_to_f32(src, t, x, w->err))) {
		if (!ot->qt) {
			w_bytes(w, x, t->nelem * sizeof *x);
		} else {
			quantize_into(ot->qt, x, blocks, (int64_t)t->nelem,
			              &o->plan[i].spec.method);
			if (ot->type == GGML_ID_F32 && ot->qt->ggml_type != GGML_ID_F32) {
				ot->qt->dequantize(blocks, x, (int64_t)t->nelem);
				w_bytes(w, x, t->nelem * sizeof *x);
			} else {
				w_bytes(w, blocks, qb);
			}
		}
	}
	free(x);
	free(blocks);
}

static int gguf_write(const struct model *src, const struct write_opts *o, FILE *out,
                      const char *out_path, struct qs_error *err)
{
	struct writer w = {out, out_path, err, 0, 0};
	struct out_tensor *ot = calloc(src->ntensors ? src->ntensors : 1, sizeof *ot);
	const struct gguf_file *g = gguf_model_file(src, NULL);
	uint32_t align = g ? g->alignment : GGUF_DEFAULT_ALIGN;

	if (!ot)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", out_path);
	for (size_t i = 0; i < src->ntensors && !w.rc; i++)
		w.rc = plan_tensor(src, i, o, out_path, &ot[i], err);
	if (!w.rc) {
		write_header(&w, src, ot);
		write_infos(&w, src, ot, align);
	}
	w_zeros(&w, (size_t)(align_up(w.pos, align) - w.pos));
	for (size_t i = 0; i < src->ntensors && !w.rc; i++) {
		write_data(&w, src, i, &ot[i], o);
		model_tensor_release(&src->tensors[i]); /* written: its mapped pages can go */
		w_zeros(&w, (size_t)(align_up(ot[i].nbytes, align) - ot[i].nbytes));
	}
	free(ot);
	return w.rc;
}

const struct model_format_ops gguf_format_ops = {
        .format = FMT_GGUF,
        .name = "gguf",
        .extensions = ".gguf",
        .sniff = gguf_sniff,
        .load = gguf_load,
        .unload = gguf_unload,
        .write = gguf_write,
};
