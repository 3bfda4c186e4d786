#include "npz.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#include "npy.h"

struct npz_impl {
	const uint8_t *map;
	size_t len;
	size_t nbufs;
	uint8_t **bufs; /* inflated members */
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* A ZIP whose first member is a .npy (when its name fits in head), or any
 * ZIP named .npz: other zip-based formats are not claimed by magic alone. */
static bool npz_sniff(const uint8_t *head, size_t len, const char *path)
{
	size_t pl = path ? strlen(path) : 0, nl;

	if (len < 4 || head[0] != 'P' || head[1] != 'K')
		return false;
	if (pl >= 4 && strcasecmp(path + pl - 4, ".npz") == 0)
		return (head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6);
	if (head[2] != 3 || head[3] != 4 || len < 30)
		return false;
	nl = rd16(head + 26);
	return nl > 4 && 30 + nl <= len && memcmp(head + 30 + nl - 4, ".npy", 4) == 0;
}

/* ---- central directory: where each member's local header is ------------ */

struct cd_cursor {
	const uint8_t *map;
	size_t len, pos, end;
};

static int find_eocd(const uint8_t *map, size_t len, size_t *at)
{
	size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;

	for (size_t p = len >= 22 ? len - 22 + 1 : 0; p-- > lo;)
		if (rd32(map + p) == 0x06054b50u) {
			*at = p;
			return 0;
		}
	return -1;
}

static int cd_open(const uint8_t *map, size_t len, const char *label, struct cd_cursor *c,
                   struct qs_error *err)
{
	size_t e;
	uint64_t off, size;

	if (find_eocd(map, len, &e))
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: no ZIP end-of-central-directory record", label);
	off = rd32(map + e + 16);
	size = rd32(map + e + 12);
	if ((off == 0xffffffffu || size == 0xffffffffu) && e >= 20 &&
	    rd32(map + e - 20) == 0x07064b50u) {
		uint64_t z = rd64(map + e - 20 + 8);
		if (z > len || len - z < 56 || rd32(map + z) != 0x06064b50u)
			return qs_error_set(err, QS_ERR_FORMAT,
			                    "%s: bad ZIP64 end record at offset %llu", label,
			                    (unsigned long long)z);
		size = rd64(map + z + 40);
		off = rd64(map + z + 48);
	}
	if (off > len || size > len - off)
		return qs_error_set(
		        err, QS_ERR_FORMAT,
		        "%s: central directory at offset %llu (%llu bytes) lies past the "
		        "end of the file (%zu bytes)",
		        label, (unsigned long long)off, (unsigned long long)size, len);
	*c = (struct cd_cursor){map, len, (size_t)off, (size_t)(off + size)};
	return 0;
}

/* The local header offset of the next central entry (ZIP64 extra when the
 * 32-bit field is saturated). */
static int cd_next(struct cd_cursor *c, const char *label, uint64_t *local, struct qs_error *err)
{
	const uint8_t *p = c->map + c->pos;
	size_t nl, el, cl;

	if (c->end - c->pos < 46 || rd32(p) != 0x02014b50u)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: bad central directory entry at offset %zu", label, c->pos);
	nl = rd16(p + 28), el = rd16(p + 30), cl = rd16(p + 32);
	if (46 + nl + el + cl > c->end - c->pos)
		return qs_error_set(
		        err, QS_ERR_FORMAT,
		        "%s: central directory entry at offset %zu overruns the directory", label,
		        c->pos);
	*local = rd32(p + 42);
	if (*local == 0xffffffffu) {
		const uint8_t *x = p + 46 + nl, *xe = x + el;
		while (xe - x >= 4 && rd16(x) != 1)
			x += 4 + rd16(x + 2);
		size_t skip = (rd32(p + 24) == 0xffffffffu) * 8 + (rd32(p + 20) == 0xffffffffu) * 8;
		if (xe - x < 4 || rd16(x + 2) < skip + 8 || (size_t)(xe - x) < 4 + skip + 8)
			return qs_error_set(err, QS_ERR_FORMAT,
			                    "%s: ZIP64 offset missing in entry at offset %zu",
			                    label, c->pos);
		*local = rd64(x + 4 + skip);
	}
	c->pos += 46 + nl + el + cl;
	return 0;
}

/* Data of a stored member from its local header, checked against libzip. */
static int stored_data(const uint8_t *map, size_t len, uint64_t off, const zip_stat_t *st,
                       const char *label, const uint8_t **data, struct qs_error *err)
{
	const uint8_t *p = map + off;
	size_t nl, el;
	uint64_t start;

	if (off > len || len - off < 30 || rd32(p) != 0x04034b50u)
		return qs_error_set(err, QS_ERR_FORMAT, "%s: no local file header at offset %llu",
		                    label, (unsigned long long)off);
	nl = rd16(p + 26), el = rd16(p + 28);
	start = off + 30 + nl + el;
	if (rd16(p + 8) != ZIP_CM_STORE || nl != strlen(st->name) || 30 + nl > len - off ||
	    memcmp(p + 30, st->name, nl) != 0 || (!(rd16(p + 6) & 8) && rd32(p + 14) != st->crc))
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: local header at offset %llu disagrees with the central "
		                    "directory (name, method or CRC)",
		                    label, (unsigned long long)off);
	if (start > len || st->size > len - start)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: %llu bytes of data at offset %llu run past the end of the "
		                    "file (%zu bytes; truncated?)",
		                    label, (unsigned long long)st->size, (unsigned long long)start,
		                    len);
	*data = map + start;
	return 0;
}

static int inflate_member(zip_t *za, zip_uint64_t i, const zip_stat_t *st, const char *label,
                          struct npz_impl *im, const uint8_t **data, struct qs_error *err)
{
	uint8_t **nb = realloc(im->bufs, (im->nbufs + 1) * sizeof *nb), *buf;
	zip_file_t *zf;
	zip_int64_t got;

	if (!nb)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	im->bufs = nb;
	/* deflate cannot expand more than about 1032:1 */
	if (st->size / 1032 > st->comp_size + 1024)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: claims %llu bytes inflated from %llu compressed (corrupt)",
		                    label, (unsigned long long)st->size,
		                    (unsigned long long)st->comp_size);
	if (st->size > SIZE_MAX || !(buf = malloc(st->size ? (size_t)st->size : 1)))
		return qs_error_set(err, QS_ERR_NOMEM,
		                    "%s: cannot allocate %llu bytes to inflate the member", label,
		                    (unsigned long long)st->size);
	im->bufs[im->nbufs++] = buf;
	if (!(zf = zip_fopen_index(za, i, 0)))
		return qs_error_set(err, QS_ERR_FORMAT, "%s: cannot open member: %s", label,
		                    zip_error_strerror(zip_get_error(za)));
	got = st->size ? zip_fread(zf, buf, st->size) : 0;
	if (got < 0 || (zip_uint64_t)got != st->size) {
		qs_error_set(err, QS_ERR_FORMAT, "%s: member data is corrupt or truncated: %s",
		             label, got < 0 ? zip_error_strerror(zip_file_get_error(zf)) : "short");
		zip_fclose(zf);
		return QS_ERR_FORMAT;
	}
	zip_fclose(zf);
	*data = buf;
	return 0;
}

static bool is_npy_name(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && strcmp(name + n - 4, ".npy") == 0;
}

static int add_member(struct model *m, const char *name, const struct npy_array *a,
                      const uint8_t *img, const char *label, struct qs_error *err)
{
	struct model_tensor *t = &m->tensors[m->ntensors];

	*t = (struct model_tensor){0};
	if (!(t->name = strndup(name, strlen(name) - 4))) /* without ".npy" */
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	m->ntensors++;
	npy_tensor_fill(t, a, img);
	return 0;
}

static int load_member(zip_t *za, zip_uint64_t i, uint64_t local, const char *file, struct model *m,
                       struct qs_error *err)
{
	struct npz_impl *im = m->impl;
	char label[600];
	const uint8_t *data = NULL;
	struct npy_array a;
	zip_stat_t st;
	int rc;

	if (zip_stat_index(za, i, 0, &st) != 0)
		return qs_error_set(err, QS_ERR_FORMAT, "%s: member %llu: %s", file,
		                    (unsigned long long)i, zip_error_strerror(zip_get_error(za)));
	if (!is_npy_name(st.name))
		return 0;
	snprintf(label, sizeof label, "%s:%s", file, st.name);
	if (st.encryption_method != ZIP_EM_NONE)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "%s: encrypted member", label);
	if (st.comp_method == ZIP_CM_STORE)
		rc = stored_data(im->map, im->len, local, &st, label, &data, err);
	else
		rc = inflate_member(za, i, &st, label, im, &data, err);
	if (rc || (rc = npy_parse(data, (size_t)st.size, label, &a, err)) != 0)
		return rc;
	return add_member(m, st.name, &a, data, label, err);
}

static int zip_fail(const char *label, zip_error_t *ze, struct qs_error *err)
{
	int rc = qs_error_set(err, QS_ERR_FORMAT, "%s: not a readable ZIP archive: %s", label,
	                      zip_error_strerror(ze));
	zip_error_fini(ze);
	return rc;
}

static int load_members(zip_t *za, const char *label, struct model *m, struct qs_error *err)
{
	struct npz_impl *im = m->impl;
	zip_int64_t n = zip_get_num_entries(za, 0);
	struct cd_cursor c = {0};
	int rc = cd_open(im->map, im->len, label, &c, err);

	if (rc)
		return rc;
	if (n < 0 || (uint64_t)n > im->len / 46 + 1)
		return qs_error_set(err, QS_ERR_FORMAT, "%s: bad member count %lld", label,
		                    (long long)n);
	if (!(m->tensors = calloc((size_t)n + 1, sizeof *m->tensors)))
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	for (zip_int64_t i = 0; i < n; i++) {
		uint64_t local;
		if ((rc = cd_next(&c, label, &local, err)) != 0 ||
		    (rc = load_member(za, (zip_uint64_t)i, local, label, m, err)) != 0)
			return rc;
	}
	if (n > 0 && m->ntensors == 0)
		return qs_error_set(err, QS_ERR_FORMAT, "%s: a ZIP archive without .npy members",
		                    label);
	return 0;
}

static int npz_load(const char *path, struct model *m, struct qs_error *err)
{
	const char *label = model_path_base(path);
	struct npz_impl *im = calloc(1, sizeof *im);
	zip_source_t *src;
	zip_error_t ze;
	zip_t *za;
	int rc;

	if (!im)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	m->impl = im;
	if ((rc = model_map_file(path, &im->map, &im->len, err)) != 0)
		return rc;
	zip_error_init(&ze);
	/* libzip reads the same bytes we borrow from: no second open. */
	if (!(src = zip_source_buffer_create(im->map, im->len, 0, &ze)))
		return zip_fail(label, &ze, err);
	if (!(za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze))) {
		zip_source_free(src);
		return zip_fail(label, &ze, err);
	}
	zip_error_fini(&ze);
	rc = load_members(za, label, m, err);
	zip_discard(za);
	return rc ? rc : npz_link_quant(m, label, err);
}

static void npz_unload(struct model *m)
{
	struct npz_impl *im = m->impl;

	if (!im)
		return;
	model_unmap_file(im->map, im->len);
	for (size_t i = 0; i < im->nbufs; i++)
		free(im->bufs[i]);
	free(im->bufs);
	free(im);
	m->impl = NULL;
}

/* ---- the quantized-arrays convention ----------------------------------- */

struct qarrays {
	struct model_tensor *q, *scale, *zp, *info, *xhat;
	char *base; /* "T" */
};

static struct model_tensor *find_suffix(struct model *m, const struct model_names *ix,
                                        const char *base, const char *suffix)
{
	char name[1024];
	int64_t i;

	if ((size_t)snprintf(name, sizeof name, "%s%s", base, suffix) >= sizeof name)
		return NULL;
	i = model_names_find(ix, name);
	return i >= 0 ? &m->tensors[i] : NULL;
}

static int read_floats(struct model *m, struct model_tensor *t, float **out, struct qs_error *err)
{
	*out = malloc((t->nelem ? t->nelem : 1) * sizeof **out);
	if (!*out)
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	return model_tensor_to_f32(m, t, *out, err);
}

/* Layout from X.scale's shape when there is no X.qinfo (see npz.h). */
static bool infer_layout(const struct model_tensor *q, const struct model_tensor *s,
                         enum granularity *g, int *axis, uint64_t *block)
{
	int diff = -1, ndiff = 0;

	*g = GRAN_TENSOR, *axis = 0, *block = 0;
	if (s->nelem == 1)
		return true;
	if (s->ndim == 1) {
		for (int k = 0; k < q->ndim; k++)
			if (q->shape[k] == s->shape[0])
				diff = k, ndiff++;
		*g = GRAN_CHANNEL, *axis = diff;
		return ndiff == 1;
	}
	if (s->ndim != q->ndim)
		return false;
	for (int k = 0; k < q->ndim; k++)
		if (s->shape[k] != q->shape[k] && s->shape[k] != 1)
			diff = k, ndiff++;
	if (ndiff == 1 && s->shape[diff] > 0) {
		*g = GRAN_GROUP, *axis = diff;
		uint64_t qd = (uint64_t)q->shape[diff], sd = (uint64_t)s->shape[diff];
		*block = qd / sd + (qd % sd != 0);
		return true;
	}
	for (int k = 0; k < q->ndim; k++)
		if (s->shape[k] != 1)
			diff = k, ndiff++;
	*g = GRAN_CHANNEL, *axis = diff;
	return ndiff == 1;
}

static int read_qinfo(struct model *m, const struct qarrays *a, struct tensor_quant *tq,
                      enum granularity *g, int *axis, uint64_t *block, const char *label,
                      struct qs_error *err)
{
	float *v;
	int rc;

	if (a->info->nelem != 5)
		return qs_error_set(err, QS_ERR_FORMAT, "%s: %s.qinfo has %llu elements, not 5",
		                    label, a->base, (unsigned long long)a->info->nelem);
	if ((rc = read_floats(m, a->info, &v, err)) != 0) {
		free(v);
		return rc;
	}
	/* whole numbers in int32's range only: NaN, ±inf or 1e30 would not
	 * convert to the int fields */
	bool whole = true;
	for (int k = 0; k < 5; k++)
		whole &= v[k] >= -2147483648.0f && v[k] < 2147483648.0f && v[k] == truncf(v[k]);
	if (whole) {
		tq->bits = (int)v[0], tq->qmin = (int32_t)v[1], tq->qmax = (int32_t)v[2];
		*axis = (int)v[3], *block = v[4] > 0 ? (uint64_t)v[4] : 0;
		*g = v[3] < 0 ? GRAN_TENSOR : *block ? GRAN_GROUP : GRAN_CHANNEL;
		if (*axis < 0)
			*axis = 0;
	}
	rc = (!whole || tq->bits < 1 || tq->bits > 32 || tq->qmin > tq->qmax || v[3] >= a->q->ndim)
	             ? qs_error_set(err, QS_ERR_FORMAT,
	                            "%s: %s.qinfo [%g, %g, %g, %g, %g] is inconsistent", label,
	                            a->base, v[0], v[1], v[2], v[3], v[4])
	             : 0;
	free(v);
	return rc;
}

static int read_params(struct model *m, const struct qarrays *a, struct tensor_quant *tq,
                       const char *label, struct qs_error *err)
{
	uint64_t ng = tq->layout.ngroups;
	float *z = NULL;
	int rc;

	if (a->scale->nelem != ng || (a->zp && a->zp->nelem != ng))
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: %s.scale/.zero_point hold %llu/%llu values, the layout "
		                    "needs %llu",
		                    label, a->base, (unsigned long long)a->scale->nelem,
		                    (unsigned long long)(a->zp ? a->zp->nelem : ng),
		                    (unsigned long long)ng);
	if ((rc = read_floats(m, a->scale, &tq->scale, err)) != 0)
		return rc;
	if (!(tq->zero_point = calloc(ng ? ng : 1, sizeof *tq->zero_point)))
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	if (a->zp && (rc = read_floats(m, a->zp, &z, err)) == 0)
		for (uint64_t g = 0; g < ng; g++) {
			if (z[g] != nearbyintf(z[g]) ||
			    !(z[g] >= -2147483648.0f && z[g] < 2147483648.0f)) {
				rc = qs_error_set(
				        err, QS_ERR_FORMAT,
				        "%s: %s.zero_point[%llu] = %g is not an int32 integer",
				        label, a->base, (unsigned long long)g, z[g]);
				break;
			}
			tq->zero_point[g] = (int32_t)z[g];
		}
	free(z);
	return rc;
}

static int build_quant(struct model *m, struct qarrays *a, const char *label, struct qs_error *err)
{
	const struct dtype_info *d = dtype_info(a->q->dtype);
	struct tensor_quant *tq = calloc(1, sizeof *tq);
	enum granularity g = GRAN_TENSOR;
	const char *why = "";
	uint64_t block = 0;
	int axis = 0, rc = 0;

	if (!tq)
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	a->q->quant = tq;
	if (d->is_float || a->q->dtype == DTYPE_BOOL)
		return qs_error_set(err, QS_ERR_FORMAT, "%s: %s.q holds %s, not integer codes",
		                    label, a->base, dtype_name(a->q->dtype));
	if (d->int_min < INT32_MIN || d->int_max > INT32_MAX)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: %s.q holds %s, wider than the int32 codes qscope reads",
		                    label, a->base, dtype_name(a->q->dtype));
	tq->bits = (int)d->bits, tq->qmin = (int32_t)d->int_min, tq->qmax = (int32_t)d->int_max;
	if (a->info)
		rc = read_qinfo(m, a, tq, &g, &axis, &block, label, err);
	else if (!infer_layout(a->q, a->scale, &g, &axis, &block))
		rc = qs_error_set(err, QS_ERR_FORMAT,
		                  "%s: %s.scale's shape does not tell the quantization axis (add "
		                  "%s.qinfo)",
		                  label, a->base, a->base);
	if (rc)
		return rc;
	if (!layout_init(&tq->layout, a->q->shape, a->q->ndim, g, axis, block, &why))
		return qs_error_set(err, QS_ERR_FORMAT, "%s: %s: %s", label, a->base, why);
	if ((rc = read_params(m, a, tq, label, err)) != 0)
		return rc;
	if (!(tq->float_name = strdup(a->base)))
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	return 0;
}

static void mark_aux(struct qarrays *a)
{
	struct model_tensor *aux[] = {a->scale, a->zp, a->info, a->xhat};

	for (size_t k = 0; k < sizeof aux / sizeof aux[0]; k++)
		if (aux[k])
			aux[k]->is_aux = true;
}

static int link_one(struct model *m, const struct model_names *ix, struct model_tensor *t,
                    const char *label, struct qs_error *err)
{
	size_t n = strlen(t->name);
	struct qarrays a = {.q = t};
	int rc;

	if (n < 3 || strcmp(t->name + n - 2, ".q") != 0 || t->quant)
		return 0;
	if (!(a.base = strndup(t->name, n - 2)))
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	a.scale = find_suffix(m, ix, a.base, ".scale");
	a.zp = find_suffix(m, ix, a.base, ".zero_point");
	a.info = find_suffix(m, ix, a.base, ".qinfo");
	a.xhat = find_suffix(m, ix, a.base, "");
	rc = a.scale ? build_quant(m, &a, label, err) : 0;
	if (rc == 0 && a.scale)
		mark_aux(&a);
	free(a.base);
	return rc;
}

int npz_link_quant(struct model *m, const char *label, struct qs_error *err)
{
	struct model_names ix;
	int rc = 0;

	if (model_names_build(m, false, &ix))
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	for (size_t i = 0; rc == 0 && i < m->ntensors; i++)
		rc = link_one(m, &ix, &m->tensors[i], label, err);
	model_names_free(&ix);
	return rc;
}

/* ---- writer ------------------------------------------------------------ */

/* The archive goes straight into the output stream through a writable
 * libzip source, and each member's bytes are produced when libzip asks for
 * them, one source tensor at a time, so memory stays at one tensor's
 * arrays however large the model. */
struct zsink {
	FILE *f;
	off_t base;
	zip_error_t ze;
};

static zip_int64_t sink_seek(struct zsink *s, void *data, zip_uint64_t len)
{
	zip_source_args_seek_t *a = ZIP_SOURCE_GET_ARGS(zip_source_args_seek_t, data, len, &s->ze);
	off_t to;

	if (!a)
		return -1;
	to = a->whence == SEEK_SET ? s->base + a->offset : a->offset;
	if (fseeko(s->f, to, a->whence) != 0) {
		zip_error_set(&s->ze, ZIP_ER_SEEK, errno);
		return -1;
	}
	return 0;
}

static zip_int64_t sink_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	struct zsink *s = ud;

	switch (cmd) {
	case ZIP_SOURCE_STAT:
		zip_stat_init(data);
		((zip_stat_t *)data)->valid = ZIP_STAT_SIZE; /* size 0: a new archive */
		return sizeof(zip_stat_t);
	case ZIP_SOURCE_BEGIN_WRITE:
		s->base = ftello(s->f);
		return s->base < 0 ? -1 : 0;
	case ZIP_SOURCE_WRITE:
		if (fwrite(data, 1, len, s->f) != len) {
			zip_error_set(&s->ze, ZIP_ER_WRITE, errno);
			return -1;
		}
		return (zip_int64_t)len;
	case ZIP_SOURCE_SEEK_WRITE:
		return sink_seek(s, data, len);
	case ZIP_SOURCE_TELL_WRITE:
		return ftello(s->f) - s->base;
	case ZIP_SOURCE_COMMIT_WRITE:
		return fseeko(s->f, 0, SEEK_END) == 0 && fflush(s->f) == 0 ? 0 : -1;
	case ZIP_SOURCE_ERROR:
		return zip_error_to_data(&s->ze, data, len);
	case ZIP_SOURCE_SUPPORTS:
		return ZIP_SOURCE_SUPPORTS_WRITABLE;
	case ZIP_SOURCE_OPEN:
	case ZIP_SOURCE_READ:
	case ZIP_SOURCE_CLOSE:
	case ZIP_SOURCE_SEEK:
	case ZIP_SOURCE_TELL:
	case ZIP_SOURCE_ROLLBACK_WRITE:
	case ZIP_SOURCE_REMOVE:
	case ZIP_SOURCE_FREE:
		return 0;
	default:
		zip_error_set(&s->ze, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

/* The arrays of one source tensor, computed on first use. */
struct member_cache {
	const struct model *src;
	const struct write_opts *o;
	int64_t tensor; /* whose arrays are in outs; −1: none */
	struct npy_out *outs;
	size_t nouts;
	int rc;
	struct qs_error err;
};

struct member {
	struct member_cache *c;
	size_t tensor, k;
	char hdr[640];
	size_t hl, pos;
	zip_error_t ze;
};

static const struct npy_out *member_array(struct member *m)
{
	struct member_cache *c = m->c;

	if (c->tensor != (int64_t)m->tensor) {
		npy_outs_free(c->outs, c->nouts);
		c->outs = NULL, c->nouts = 0, c->tensor = -1;
		c->rc = npy_outputs_for_tensor(c->src, m->tensor,
		                               c->o->plan ? &c->o->plan[m->tensor] : NULL,
		                               c->o->fake_quant, &c->outs, &c->nouts, &c->err);
		if (c->rc)
			return NULL;
		c->tensor = (int64_t)m->tensor;
	}
	if (m->k >= c->nouts) {
		c->rc = qs_error_set(&c->err, QS_ERR_FORMAT, "tensor '%s': array %zu missing",
		                     c->src->tensors[m->tensor].name, m->k);
		return NULL;
	}
	return &c->outs[m->k];
}

static zip_int64_t member_open(struct member *m, zip_stat_t *st)
{
	const struct npy_out *a = member_array(m);

	if (!a) {
		zip_error_set(&m->ze, ZIP_ER_INTERNAL, 0);
		return -1;
	}
	m->hl = npy_header_format(m->hdr, sizeof m->hdr, a->dtype, a->big_endian, a->fortran_order,
	                          a->shape, a->ndim);
	if (!m->hl) {
		m->c->rc = qs_error_set(&m->c->err, QS_ERR_UNSUPPORTED,
		                        "array '%s': no .npy dtype for %s", a->name,
		                        dtype_name(a->dtype));
		zip_error_set(&m->ze, ZIP_ER_INTERNAL, 0);
		return -1;
	}
	m->pos = 0;
	if (st) {
		zip_stat_init(st);
		st->size = m->hl + a->nbytes;
		st->valid = ZIP_STAT_SIZE;
		return sizeof *st;
	}
	return 0;
}

static zip_int64_t member_read(struct member *m, uint8_t *dst, zip_uint64_t len)
{
	const struct npy_out *a = member_array(m);
	size_t done = 0;

	if (!a) {
		zip_error_set(&m->ze, ZIP_ER_INTERNAL, 0);
		return -1;
	}
	while (done < len && m->pos < m->hl + a->nbytes) {
		const uint8_t *from = m->pos < m->hl ? (const uint8_t *)m->hdr + m->pos
		                                     : (const uint8_t *)a->data + (m->pos - m->hl);
		size_t avail = m->pos < m->hl ? m->hl - m->pos : m->hl + a->nbytes - m->pos;
		size_t n = avail < len - done ? avail : len - done;
		memcpy(dst + done, from, n);
		done += n, m->pos += n;
	}
	return (zip_int64_t)done;
}

static zip_int64_t member_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	struct member *m = ud;

	switch (cmd) {
	case ZIP_SOURCE_STAT:
		return member_open(m, data);
	case ZIP_SOURCE_OPEN:
		return member_open(m, NULL);
	case ZIP_SOURCE_READ:
		return member_read(m, data, len);
	case ZIP_SOURCE_CLOSE:
		return 0;
	case ZIP_SOURCE_ERROR:
		return zip_error_to_data(&m->ze, data, len);
	case ZIP_SOURCE_FREE:
		free(m);
		return 0;
	case ZIP_SOURCE_SUPPORTS:
		return ZIP_SOURCE_SUPPORTS_READABLE;
	default:
		zip_error_set(&m->ze, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

/* Names of tensor i's arrays (npy_outputs_for_tensor makes them in this
 * order): T, and T.q, T.scale, T.zero_point, T.qinfo for linear quantized
 * tensors unless fake_quant. */
static size_t member_names(const struct model *src, size_t i, const struct write_opts *o,
                           const char **suffix)
{
	static const char *const quant_suffix[] = {"", ".q", ".scale", ".zero_point", ".qinfo"};
	const struct tensor_plan *p = o->plan ? &o->plan[i] : NULL;
	bool arrays = p && p->quantize && !o->fake_quant &&
	              (!p->spec.qt || p->spec.qt->family == QTYPE_LINEAR);

	(void)src;
	for (size_t k = 0; k < 5; k++)
		suffix[k] = quant_suffix[k];
	return arrays ? 5 : 1;
}

static int add_zip_member(zip_t *za, struct member_cache *c, size_t i, size_t k, const char *suffix,
                          const char *label, struct qs_error *err)
{
	struct member *m = calloc(1, sizeof *m);
	char name[1100];
	zip_source_t *s;
	zip_int64_t idx;

	if (!m)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	*m = (struct member){.c = c, .tensor = i, .k = k};
	zip_error_init(&m->ze);
	if ((size_t)snprintf(name, sizeof name, "%s%s.npy", c->src->tensors[i].name, suffix) >=
	    sizeof name) {
		free(m);
		return qs_error_set(err, QS_ERR_USAGE, "%s: tensor name too long: %.40s...", label,
		                    c->src->tensors[i].name);
	}
	if (!(s = zip_source_function(za, member_cb, m))) {
		free(m);
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	}
	if ((idx = zip_file_add(za, name, s, ZIP_FL_ENC_UTF_8)) < 0) {
		zip_source_free(s);
		return qs_error_set(err, QS_ERR_USAGE, "%s: cannot add array '%s': %s", label, name,
		                    zip_error_strerror(zip_get_error(za)));
	}
	zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
	return 0;
}

static int add_members(zip_t *za, struct member_cache *c, const char *label, struct qs_error *err)
{
	const char *suffix[5];

	for (size_t i = 0; i < c->src->ntensors; i++) {
		size_t n = member_names(c->src, i, c->o, suffix);
		for (size_t k = 0; k < n; k++) {
			int rc = add_zip_member(za, c, i, k, suffix[k], label, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int write_empty(FILE *out, const char *label, struct qs_error *err)
{
	static const uint8_t eocd[22] = {'P', 'K', 5, 6};

	if (fwrite(eocd, 1, sizeof eocd, out) != sizeof eocd)
		return qs_error_set(err, QS_ERR_IO, "%s: write failed: %s", label, strerror(errno));
	return 0;
}

static int npz_close(zip_t *za, struct member_cache *c, const char *label, struct qs_error *err)
{
	int rc = 0;

	if (zip_close(za) != 0) {
		if (c->rc && err)
			*err = c->err;
		rc = c->rc ? c->rc
		           : qs_error_set(err, QS_ERR_IO, "%s: %s", label,
		                          zip_error_strerror(zip_get_error(za)));
		zip_discard(za);
	}
	return rc;
}

static int npz_write(const struct model *src, const struct write_opts *o, FILE *out,
                     const char *out_path, struct qs_error *err)
{
	const char *label = model_path_base(out_path);
	struct member_cache c = {.src = src, .o = o, .tensor = -1};
	struct zsink sink = {.f = out};
	zip_source_t *s;
	zip_error_t ze;
	zip_t *za;
	int rc;

	if (src->ntensors == 0)
		return write_empty(out, label, err);
	zip_error_init(&ze);
	zip_error_init(&sink.ze);
	if (!(s = zip_source_function_create(sink_cb, &sink, &ze)) ||
	    !(za = zip_open_from_source(s, ZIP_TRUNCATE, &ze))) {
		rc = qs_error_set(err, QS_ERR_IO, "%s: %s", label, zip_error_strerror(&ze));
		zip_source_free(s);
		zip_error_fini(&ze);
		return rc;
	}
	zip_error_fini(&ze);
	rc = add_members(za, &c, label, err);
	if (rc)
		zip_discard(za);
	else
		rc = npz_close(za, &c, label, err);
	npy_outs_free(c.outs, c.nouts);
	zip_error_fini(&sink.ze);
	return rc;
}

const struct model_format_ops npz_format_ops = {
        .format = FMT_NPZ,
        .name = "npz",
        .extensions = ".npz",
        .sniff = npz_sniff,
        .load = npz_load,
        .unload = npz_unload,
        .write = npz_write,
};
