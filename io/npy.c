#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

struct npy_descr {
	const char *code; /* kind + item size, as in '<f4' */
	enum dtype dtype;
	size_t size;
};

static const struct npy_descr npy_descrs[] = {
        {"f2", DTYPE_F16, 2}, {"f4", DTYPE_F32, 4}, {"f8", DTYPE_F64, 8}, {"i1", DTYPE_I8, 1},
        {"u1", DTYPE_U8, 1},  {"i2", DTYPE_I16, 2}, {"u2", DTYPE_U16, 2}, {"i4", DTYPE_I32, 4},
        {"u4", DTYPE_U32, 4}, {"i8", DTYPE_I64, 8}, {"u8", DTYPE_U64, 8}, {"b1", DTYPE_BOOL, 1},
};

/* Why a descr kind we do not read is refused, by its kind letter. */
static const struct {
	char kind;
	const char *why;
} npy_refused[] = {
        {'O', "object arrays hold pickles; not supported"},
        {'V', "void/structured dtypes are not supported"},
        {'S', "byte-string arrays are not supported"},
        {'a', "byte-string arrays are not supported"},
        {'U', "unicode string arrays are not supported"},
        {'c', "complex arrays are not supported"},
        {'M', "datetime arrays are not supported"},
        {'m', "timedelta arrays are not supported"},
};

static const struct npy_descr *descr_by_dtype(enum dtype t)
{
	for (size_t i = 0; i < sizeof npy_descrs / sizeof npy_descrs[0]; i++)
		if (npy_descrs[i].dtype == t)
			return &npy_descrs[i];
	return NULL;
}

bool npy_dtype_supported(enum dtype t)
{
	return descr_by_dtype(t) != NULL;
}

/* ---- header dict parser ------------------------------------------------ */

struct hparse {
	const char *s;
	size_t n, i;
	size_t base; /* file offset of s[0] */
	const char *label;
	struct qs_error *err;
};

static int hp_fail(struct hparse *p, enum qs_status code, const char *what)
{
	return qs_error_set(p->err, code, "%s: header at offset %zu: %s", p->label, p->base + p->i,
	                    what);
}

static void hp_ws(struct hparse *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
	                       p->s[p->i] == '\r'))
		p->i++;
}

static bool hp_peek(struct hparse *p, char c)
{
	hp_ws(p);
	return p->i < p->n && p->s[p->i] == c;
}

static int hp_expect(struct hparse *p, char c)
{
	char msg[64];

	if (hp_peek(p, c)) {
		p->i++;
		return 0;
	}
	snprintf(msg, sizeof msg, "expected '%c'", c);
	return hp_fail(p, QS_ERR_FORMAT, msg);
}

/* A quoted Python string without escapes (all keys and descrs qualify). */
static int hp_string(struct hparse *p, char *out, size_t cap)
{
	size_t len = 0;
	char q;

	hp_ws(p);
	if (p->i >= p->n || (p->s[p->i] != '\'' && p->s[p->i] != '"'))
		return hp_fail(p, QS_ERR_FORMAT, "expected a quoted string");
	q = p->s[p->i++];
	while (p->i < p->n && p->s[p->i] != q) {
		if (p->s[p->i] == '\\' || len + 1 >= cap)
			return hp_fail(p, QS_ERR_FORMAT, "unexpected string (escape or too long)");
		out[len++] = p->s[p->i++];
	}
	if (p->i >= p->n)
		return hp_fail(p, QS_ERR_FORMAT, "unterminated string");
	p->i++;
	out[len] = '\0';
	return 0;
}

static int hp_bool(struct hparse *p, bool *out)
{
	hp_ws(p);
	if (p->n - p->i >= 4 && memcmp(p->s + p->i, "True", 4) == 0) {
		p->i += 4;
		*out = true;
		return 0;
	}
	if (p->n - p->i >= 5 && memcmp(p->s + p->i, "False", 5) == 0) {
		p->i += 5;
		*out = false;
		return 0;
	}
	return hp_fail(p, QS_ERR_FORMAT, "'fortran_order' is not True or False");
}

static int hp_int(struct hparse *p, int64_t *out)
{
	uint64_t v = 0;
	size_t start;

	hp_ws(p);
	start = p->i;
	while (p->i < p->n && isdigit((unsigned char)p->s[p->i])) {
		unsigned d = (unsigned)(p->s[p->i] - '0');
		if (v > ((uint64_t)INT64_MAX - d) / 10)
			return hp_fail(p, QS_ERR_FORMAT, "shape dimension too large");
		v = v * 10 + d;
		p->i++;
	}
	if (p->i == start)
		return hp_fail(p, QS_ERR_FORMAT,
		               "'shape' holds something other than "
		               "non-negative integers");
	if (p->i < p->n && p->s[p->i] == 'L') /* Python 2 long literal */
		p->i++;
	*out = (int64_t)v;
	return 0;
}

static int hp_shape(struct hparse *p, struct npy_array *a)
{
	int rc = hp_expect(p, '(');

	a->ndim = 0;
	while (rc == 0 && !hp_peek(p, ')')) {
		if (a->ndim == QS_MAX_DIMS)
			return hp_fail(p, QS_ERR_UNSUPPORTED,
			               "'shape' has more dimensions than "
			               "qscope supports (8)");
		rc = hp_int(p, &a->shape[a->ndim++]);
		if (rc == 0 && !hp_peek(p, ')'))
			rc = hp_expect(p, ',');
	}
	return rc ? rc : hp_expect(p, ')');
}

static int hp_descr(struct hparse *p, struct npy_array *a)
{
	char d[32], msg[160];
	const char *code = d;

	if (hp_peek(p, '['))
		return hp_fail(p, QS_ERR_UNSUPPORTED,
		               "'descr' is a list (structured dtypes are "
		               "not supported)");
	if (hp_string(p, d, sizeof d))
		return p->err->code;
	a->big_endian = false;
	if (*code == '<' || *code == '>' || *code == '|' || *code == '=')
		a->big_endian = *code++ == '>';
	for (size_t i = 0; i < sizeof npy_descrs / sizeof npy_descrs[0]; i++)
		if (strcmp(code, npy_descrs[i].code) == 0) {
			a->dtype = npy_descrs[i].dtype;
			return 0;
		}
	for (size_t i = 0; i < sizeof npy_refused / sizeof npy_refused[0]; i++)
		if (*code == npy_refused[i].kind) {
			snprintf(msg, sizeof msg, "'descr' is '%s' (%s)", d, npy_refused[i].why);
			return hp_fail(p, QS_ERR_UNSUPPORTED, msg);
		}
	snprintf(msg, sizeof msg, "'descr' is '%s' (unsupported dtype)", d);
	return hp_fail(p, QS_ERR_UNSUPPORTED, msg);
}

enum {
	KEY_DESCR = 1,
	KEY_FORTRAN = 2,
	KEY_SHAPE = 4
};

static int hp_entry(struct hparse *p, struct npy_array *a, unsigned *seen)
{
	char key[32], msg[96];
	unsigned bit;
	int rc;

	if (hp_string(p, key, sizeof key) || hp_expect(p, ':'))
		return p->err->code;
	if (strcmp(key, "descr") == 0)
		bit = KEY_DESCR;
	else if (strcmp(key, "fortran_order") == 0)
		bit = KEY_FORTRAN;
	else if (strcmp(key, "shape") == 0)
		bit = KEY_SHAPE;
	else {
		snprintf(msg, sizeof msg, "unexpected key '%s'", key);
		return hp_fail(p, QS_ERR_FORMAT, msg);
	}
	if (*seen & bit) {
		snprintf(msg, sizeof msg, "key '%s' given twice", key);
		return hp_fail(p, QS_ERR_FORMAT, msg);
	}
	*seen |= bit;
	if (bit == KEY_DESCR)
		rc = hp_descr(p, a);
	else if (bit == KEY_FORTRAN)
		rc = hp_bool(p, &a->fortran_order);
	else
		rc = hp_shape(p, a);
	return rc;
}

static int hp_dict(struct hparse *p, struct npy_array *a)
{
	unsigned seen = 0;

	if (hp_expect(p, '{'))
		return p->err->code;
	while (!hp_peek(p, '}')) {
		if (hp_entry(p, a, &seen))
			return p->err->code;
		if (!hp_peek(p, '}') && hp_expect(p, ','))
			return p->err->code;
	}
	p->i++;
	hp_ws(p);
	if (p->i != p->n)
		return hp_fail(p, QS_ERR_FORMAT, "text after the closing '}'");
	if (seen != (KEY_DESCR | KEY_FORTRAN | KEY_SHAPE)) {
		p->i = 0;
		return hp_fail(p, QS_ERR_FORMAT,
		               !(seen & KEY_DESCR)     ? "key 'descr' missing"
		               : !(seen & KEY_FORTRAN) ? "key 'fortran_order' missing"
		                                       : "key 'shape' missing");
	}
	return 0;
}

/* ---- the image --------------------------------------------------------- */

static const char *shape_text(const struct npy_array *a, char *buf, size_t cap)
{
	size_t o = 0;

	o += (size_t)snprintf(buf + o, cap - o, "(");
	for (int k = 0; k < a->ndim && o < cap; k++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%" PRId64, k ? ", " : "", a->shape[k]);
	if (o < cap)
		snprintf(buf + o, cap - o, a->ndim == 1 ? ",)" : ")");
	return buf;
}

static int npy_preamble(const uint8_t *buf, size_t len, const char *label, struct npy_array *a,
                        size_t *hstart, size_t *hlen, struct qs_error *err)
{
	if (len < 10)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: file is %zu bytes, shorter than the 10-byte .npy preamble",
		                    label, len);
	if (memcmp(buf, npy_magic, sizeof npy_magic) != 0)
		return qs_error_set(
		        err, QS_ERR_FORMAT,
		        "%s: bad magic at offset 0 (not a .npy file: expects \\x93NUMPY)", label);
	a->version = buf[6];
	if (a->version < 1 || a->version > 3)
		return qs_error_set(err, QS_ERR_UNSUPPORTED,
		                    "%s: format version %u.%u at offset 6 is not 1.0, 2.0 or 3.0",
		                    label, buf[6], buf[7]);
	if (a->version == 1) {
		*hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
		*hstart = 10;
	} else {
		if (len < 12)
			return qs_error_set(err, QS_ERR_FORMAT,
			                    "%s: file is %zu bytes, shorter than the 12-byte "
			                    "version %d preamble",
			                    label, len, a->version);
		*hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
		        (size_t)buf[11] << 24;
		*hstart = 12;
	}
	if (*hlen > NPY_MAX_HEADER)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: header length %zu at offset 8 exceeds the %u-byte limit",
		                    label, *hlen, NPY_MAX_HEADER);
	if (*hlen > len - *hstart)
		return qs_error_set(
		        err, QS_ERR_FORMAT,
		        "%s: header of %zu bytes at offset %zu runs past the end of the "
		        "file (%zu bytes; truncated?)",
		        label, *hlen, *hstart, len);
	return 0;
}

static int npy_sizes(const char *label, struct npy_array *a, size_t len, struct qs_error *err)
{
	const struct npy_descr *d = descr_by_dtype(a->dtype);
	char sh[160];
	uint64_t n = 1, bytes;

	for (int k = 0; k < a->ndim; k++)
		if (__builtin_mul_overflow(n, (uint64_t)a->shape[k], &n))
			return qs_error_set(err, QS_ERR_FORMAT,
			                    "%s: header: shape %s: element count overflows", label,
			                    shape_text(a, sh, sizeof sh));
	if (__builtin_mul_overflow(n, (uint64_t)d->size, &bytes) || bytes > SIZE_MAX)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: header: shape %s: byte count overflows", label,
		                    shape_text(a, sh, sizeof sh));
	a->nelem = n;
	a->nbytes = (size_t)bytes;
	if (len - a->data_offset != a->nbytes)
		return qs_error_set(
		        err, QS_ERR_FORMAT,
		        "%s: header: shape %s of %s needs %zu bytes at offset %zu, file "
		        "has %zu%s",
		        label, shape_text(a, sh, sizeof sh), dtype_name(a->dtype), a->nbytes,
		        a->data_offset, len - a->data_offset,
		        len - a->data_offset < a->nbytes ? " (truncated?)" : "");
	return 0;
}

int npy_parse(const uint8_t *buf, size_t len, const char *label, struct npy_array *out,
              struct qs_error *err)
{
	struct npy_array a = {0};
	size_t hstart = 0, hlen = 0;
	struct hparse p;
	int rc = npy_preamble(buf, len, label, &a, &hstart, &hlen, err);

	if (rc)
		return rc;
	p = (struct hparse){(const char *)buf + hstart, hlen, 0, hstart, label, err};
	if ((rc = hp_dict(&p, &a)) != 0)
		return rc;
	a.data_offset = hstart + hlen;
	if ((rc = npy_sizes(label, &a, len, err)) != 0)
		return rc;
	*out = a;
	return 0;
}

/* ---- model reader ------------------------------------------------------ */

struct npy_impl {
	const uint8_t *map;
	size_t len;
};

static bool npy_sniff(const uint8_t *head, size_t len, const char *path)
{
	(void)path;
	return len >= 6 && memcmp(head, npy_magic, 6) == 0;
}

static char *npy_stem(const char *path)
{
	const char *b = model_path_base(path);
	size_t n = strlen(b);

	if (n > 4 && strcmp(b + n - 4, ".npy") == 0)
		n -= 4;
	return strndup(b, n);
}

void npy_tensor_fill(struct model_tensor *t, const struct npy_array *a, const uint8_t *img)
{
	t->dtype = a->dtype;
	t->ndim = a->ndim;
	memcpy(t->shape, a->shape, sizeof a->shape);
	t->nelem = a->nelem;
	t->data = img + a->data_offset;
	t->nbytes = a->nbytes;
	t->big_endian = a->big_endian;
	t->fortran_order = a->fortran_order;
	t->facts.out_axis = -1;
}

static int npy_load(const char *path, struct model *m, struct qs_error *err)
{
	struct npy_impl *im = calloc(1, sizeof *im);
	const char *label = model_path_base(path);
	struct npy_array a;
	int rc;

	if (!im)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	m->impl = im;
	if ((rc = model_map_file(path, &im->map, &im->len, err)) != 0)
		return rc;
	if ((rc = npy_parse(im->map, im->len, label, &a, err)) != 0)
		return rc;
	m->tensors = calloc(1, sizeof *m->tensors);
	if (!m->tensors || !(m->tensors[0].name = npy_stem(path)))
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	m->ntensors = 1;
	npy_tensor_fill(&m->tensors[0], &a, im->map);
	return 0;
}

static void npy_unload(struct model *m)
{
	struct npy_impl *im = m->impl;

	if (im)
		model_unmap_file(im->map, im->len);
	free(im);
	m->impl = NULL;
}

/* ---- writer ------------------------------------------------------------ */

size_t npy_header_format(char *buf, size_t cap, enum dtype t, bool big_endian, bool fortran_order,
                         const int64_t *shape, int ndim)
{
	const struct npy_descr *d = descr_by_dtype(t);
	char dict[512];
	size_t o, pre, total;
	char order = d && d->size == 1 ? '|' : big_endian ? '>' : '<';

	if (!d || ndim < 0 || ndim > QS_MAX_DIMS)
		return 0;
	o = (size_t)snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': %s, 'shape': (",
	                     order, d->code, fortran_order ? "True" : "False");
	for (int k = 0; k < ndim; k++)
		o += (size_t)snprintf(dict + o, sizeof dict - o, "%" PRId64 ",%s", shape[k],
		                      k + 1 < ndim ? " " : "");
	if (ndim > 1)
		o--; /* numpy writes "(3, 4)" but "(3,)" */
	o += (size_t)snprintf(dict + o, sizeof dict - o, "), }");
	pre = o + 1 + 10 > 65535 + 10 ? 12 : 10;
	total = (pre + o + 1 + 63) / 64 * 64;
	if (total > cap)
		return 0;
	memcpy(buf, npy_magic, 6);
	buf[6] = pre == 10 ? 1 : 2;
	buf[7] = 0;
	for (size_t k = 0; k < pre - 8; k++)
		buf[8 + k] = (char)(((total - pre) >> (8 * k)) & 0xff);
	memcpy(buf + pre, dict, o);
	memset(buf + pre + o, ' ', total - pre - o - 1);
	buf[total - 1] = '\n';
	return total;
}

int npy_write_array(FILE *f, const struct npy_out *a, const char *label, struct qs_error *err)
{
	char hdr[640];
	size_t hl = npy_header_format(hdr, sizeof hdr, a->dtype, a->big_endian, a->fortran_order,
	                              a->shape, a->ndim);

	if (!hl)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "%s: array '%s': no .npy dtype for %s",
		                    label, a->name, dtype_name(a->dtype));
	if (fwrite(hdr, 1, hl, f) != hl || fwrite(a->data, 1, a->nbytes, f) != a->nbytes)
		return qs_error_set(err, QS_ERR_IO, "%s: write failed: %s", label, strerror(errno));
	return 0;
}

void npy_outs_free(struct npy_out *o, size_t n)
{
	for (size_t i = 0; o && i < n; i++) {
		free(o[i].name);
		free(o[i].owned);
	}
	free(o);
}

static int out_add(struct npy_out **v, size_t *n, const char *name, const char *suffix,
                   enum dtype t, const int64_t *shape, int ndim, void *owned, size_t nbytes)
{
	struct npy_out *nv = realloc(*v, (*n + 1) * sizeof **v);
	struct npy_out *o;
	size_t ln = strlen(name), ls = strlen(suffix);

	if (!nv) {
		free(owned);
		return QS_ERR_NOMEM;
	}
	*v = nv;
	o = &nv[*n];
	*o = (struct npy_out){
	        .dtype = t, .ndim = ndim, .data = owned, .owned = owned, .nbytes = nbytes};
	if (ndim > 0)
		memcpy(o->shape, shape, (size_t)ndim * sizeof *shape);
	if (!(o->name = malloc(ln + ls + 1))) {
		free(owned);
		return QS_ERR_NOMEM;
	}
	memcpy(o->name, name, ln);
	memcpy(o->name + ln, suffix, ls + 1);
	(*n)++;
	return 0;
}

static int out_floats(struct npy_out **v, size_t *n, const struct model_tensor *t, float *vals)
{
	return out_add(v, n, t->name, "", DTYPE_F32, t->shape, t->ndim, vals,
	               t->nelem * sizeof(float));
}

static int out_keep(const struct model *src, const struct model_tensor *t, struct npy_out **v,
                    size_t *n, struct qs_error *err)
{
	float *x;
	int rc;

	if (npy_dtype_supported(t->dtype) && !t->block && !t->quant) {
		if ((rc = out_add(v, n, t->name, "", t->dtype, t->shape, t->ndim, NULL, 0)) != 0)
			return qs_error_set(err, rc, "out of memory");
		(*v)[*n - 1].data = t->data;
		(*v)[*n - 1].nbytes = t->nbytes;
		(*v)[*n - 1].big_endian = t->big_endian;
		(*v)[*n - 1].fortran_order = t->fortran_order;
		return 0;
	}
	if (!(x = malloc(t->nelem ? t->nelem * sizeof *x : 1)))
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", t->name);
	if ((rc = model_tensor_to_f32(src, t, x, err)) != 0) {
		free(x);
		return rc;
	}
	if ((rc = out_floats(v, n, t, x)) != 0)
		return qs_error_set(err, rc, "out of memory");
	return 0;
}

/* Smallest .npy integer type that holds [qmin, qmax]. */
static enum dtype code_dtype(int32_t qmin, int32_t qmax)
{
	if (qmin >= INT8_MIN && qmax <= INT8_MAX)
		return DTYPE_I8;
	if (qmin >= 0 && qmax <= UINT8_MAX)
		return DTYPE_U8;
	if (qmin >= INT16_MIN && qmax <= INT16_MAX)
		return DTYPE_I16;
	if (qmin >= 0 && qmax <= UINT16_MAX)
		return DTYPE_U16;
	return DTYPE_I32;
}

/* Shape of the scale/zero-point arrays (npz.h): () per tensor; the tensor's
 * rank with 1 except on the axis per channel; the axis cut to nblk per group. */
static int param_shape(const struct model_tensor *t, const struct layout *l, int64_t *shape)
{
	if (l->gran == GRAN_TENSOR || t->ndim == 0)
		return 0;
	for (int k = 0; k < t->ndim; k++)
		shape[k] = l->gran == GRAN_CHANNEL ? (k == l->axis ? t->shape[k] : 1) : t->shape[k];
	if (l->gran == GRAN_GROUP)
		shape[l->axis] = (int64_t)l->nblk;
	return t->ndim;
}

static int out_quant_arrays(const struct model_tensor *t, const struct quantized_tensor *q,
                            struct npy_out **v, size_t *n)
{
	uint64_t ng = q->layout.ngroups;
	enum dtype ct = code_dtype(q->qmin, q->qmax);
	size_t cw = dtype_info(ct)->bits / 8;
	int64_t pshape[QS_MAX_DIMS], one = 5;
	int pnd = param_shape(t, &q->layout, pshape);
	void *codes = malloc(t->nelem ? t->nelem * cw : 1);
	float *sc = malloc(ng * sizeof *sc);
	int32_t *zp = malloc(ng * sizeof *zp);
	int64_t *info = malloc(5 * sizeof *info);
	int rc;

	if (!codes || !sc || !zp || !info) {
		free(codes), free(sc), free(zp), free(info);
		return QS_ERR_NOMEM;
	}
	for (uint64_t i = 0; i < t->nelem; i++)
		dtype_set_int(ct, codes, i, q->codes[i], NIBBLE_LOW_FIRST);
	for (uint64_t g = 0; g < ng; g++) {
		sc[g] = q->params[g].scale;
		zp[g] = q->params[g].zero_point;
	}
	info[0] = q->bits;
	info[1] = q->qmin;
	info[2] = q->qmax;
	info[3] = q->layout.gran == GRAN_TENSOR ? -1 : q->layout.axis;
	info[4] = q->layout.gran == GRAN_GROUP ? (int64_t)q->layout.block : 0;
	rc = out_add(v, n, t->name, ".q", ct, t->shape, t->ndim, codes, t->nelem * cw);
	if (rc)
		free(sc), free(zp), free(info);
	else if ((rc = out_add(v, n, t->name, ".scale", DTYPE_F32, pshape, pnd, sc,
	                       ng * sizeof *sc)) != 0)
		free(zp), free(info);
	else if ((rc = out_add(v, n, t->name, ".zero_point", DTYPE_I32, pshape, pnd, zp,
	                       ng * sizeof *zp)) != 0)
		free(info);
	else
		rc = out_add(v, n, t->name, ".qinfo", DTYPE_I64, &one, 1, info, 5 * sizeof *info);
	return rc;
}

static int out_quantized(const struct model *src, const struct model_tensor *t,
                         const struct tensor_plan *plan, bool fake_quant, struct npy_out **v,
                         size_t *n, struct qs_error *err)
{
	struct quantized_tensor q;
	int rc = model_tensor_quantize(src, t, &plan->spec, &q, err);

	if (rc)
		return rc;
	rc = out_floats(v, n, t, q.xhat);
	q.xhat = NULL; /* owned by the output now (freed on error too) */
	if (rc == 0 && !fake_quant && q.codes)
		rc = out_quant_arrays(t, &q, v, n);
	quantized_tensor_free(&q);
	return rc ? qs_error_set(err, rc, "tensor '%s': out of memory", t->name) : 0;
}

int npy_outputs_for_tensor(const struct model *src, size_t i, const struct tensor_plan *plan,
                           bool fake_quant, struct npy_out **out, size_t *n, struct qs_error *err)
{
	const struct model_tensor *t = &src->tensors[i];
	int rc;

	*out = NULL;
	*n = 0;
	if (plan && plan->quantize)
		rc = out_quantized(src, t, plan, fake_quant, out, n, err);
	else
		rc = out_keep(src, t, out, n, err);
	if (rc) {
		npy_outs_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static int npy_write(const struct model *src, const struct write_opts *o, FILE *out,
                     const char *out_path, struct qs_error *err)
{
	const char *label = model_path_base(out_path);
	struct npy_out *v;
	size_t n;
	int rc;

	if (src->ntensors != 1)
		return qs_error_set(err, QS_ERR_USAGE,
		                    "%s: a .npy file holds one array, the model has %zu tensors "
		                    "(write an .npz)",
		                    label, src->ntensors);
	rc = npy_outputs_for_tensor(src, 0, o->plan, true, &v, &n, err);
	if (rc == 0)
		rc = npy_write_array(out, &v[0], label, err);
	npy_outs_free(v, n);
	return rc;
}

const struct model_format_ops npy_format_ops = {
        .format = FMT_NPY,
        .name = "npy",
        .extensions = ".npy",
        .sniff = npy_sniff,
        .load = npy_load,
        .unload = npy_unload,
        .write = npy_write,
};
