#include "npz.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
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

static bool npz_sniff(const uint8_t *head, size_t len, const char *path)
{
	(void)path;
	/* Any ZIP starts so; the .npz extension decides between zip-based
	 * formats, and an empty archive starts with the end record. */
	return len >= 4 && head[0] == 'P' && head[1] == 'K' &&
	       ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6));
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
		if (xe - x < 4 || rd16(x + 2) < skip + 8)
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
	size_t n = strlen(name) - 4;

	*t = (struct model_tensor){0};
	if (!(t->name = malloc(n + 1)))
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	memcpy(t->name, name, n);
	t->name[n] = '\0';
	m->ntensors++;
	t->dtype = a->dtype;
	t->ndim = a->ndim;
	memcpy(t->shape, a->shape, sizeof a->shape);
	t->nelem = a->nelem;
	t->data = img + a->data_offset;
	t->nbytes = a->nbytes;
	t->big_endian = a->big_endian;
	t->fortran_order = a->fortran_order;
	t->facts.out_axis = -1;
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
	if (model_find(m, st.name) >= 0)
		return qs_error_set(err, QS_ERR_FORMAT, "%s: member name repeated", label);
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
	const char *label = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
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

static struct model_tensor *find_suffix(struct model *m, const char *base, const char *suffix)
{
	char name[1024];
	int64_t i;

	if ((size_t)snprintf(name, sizeof name, "%s%s", base, suffix) >= sizeof name)
		return NULL;
	i = model_find(m, name);
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
		*block = (uint64_t)((q->shape[diff] + s->shape[diff] - 1) / s->shape[diff]);
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
	tq->bits = (int)v[0], tq->qmin = (int32_t)v[1], tq->qmax = (int32_t)v[2];
	*axis = (int)v[3], *block = v[4] > 0 ? (uint64_t)v[4] : 0;
	*g = v[3] < 0 ? GRAN_TENSOR : *block ? GRAN_GROUP : GRAN_CHANNEL;
	if (*axis < 0)
		*axis = 0;
	rc = (tq->bits < 1 || tq->bits > 32 || tq->qmin > tq->qmax || v[3] >= a->q->ndim)
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
			if (z[g] != nearbyintf(z[g]) || fabsf(z[g]) > 2147483647.0f) {
				rc = qs_error_set(err, QS_ERR_FORMAT,
				                  "%s: %s.zero_point[%llu] = %g is not an integer",
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

int npz_link_quant(struct model *m, const char *label, struct qs_error *err)
{
	for (size_t i = 0; i < m->ntensors; i++) {
		struct model_tensor *t = &m->tensors[i];
		size_t n = strlen(t->name);
		struct qarrays a = {.q = t};
		int rc;

		if (n < 3 || strcmp(t->name + n - 2, ".q") != 0 || t->quant)
			continue;
		if (!(a.base = strndup(t->name, n - 2)))
			return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
		a.scale = find_suffix(m, a.base, ".scale");
		a.zp = find_suffix(m, a.base, ".zero_point");
		a.info = find_suffix(m, a.base, ".qinfo");
		a.xhat = find_suffix(m, a.base, "");
		rc = a.scale ? build_quant(m, &a, label, err) : 0;
		if (rc == 0 && a.scale)
			mark_aux(&a);
		free(a.base);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- writer ------------------------------------------------------------ */

static int add_array(zip_t *za, const struct npy_out *a, const char *label, struct qs_error *err)
{
	char hdr[640], name[1100];
	size_t hl = npy_header_format(hdr, sizeof hdr, a->dtype, a->big_endian, a->fortran_order,
	                              a->shape, a->ndim);
	uint8_t *img;
	zip_source_t *s;
	zip_int64_t idx;

	if (!hl)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "%s: array '%s': no .npy dtype for %s",
		                    label, a->name, dtype_name(a->dtype));
	if ((size_t)snprintf(name, sizeof name, "%s.npy", a->name) >= sizeof name)
		return qs_error_set(err, QS_ERR_USAGE, "%s: array name too long: %.40s...", label,
		                    a->name);
	if (!(img = malloc(hl + a->nbytes)))
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", label);
	memcpy(img, hdr, hl);
	if (a->nbytes)
		memcpy(img + hl, a->data, a->nbytes);
	if (!(s = zip_source_buffer(za, img, hl + a->nbytes, 1))) {
		free(img);
		return qs_error_set(err, QS_ERR_NOMEM, "%s: %s", label,
		                    zip_error_strerror(zip_get_error(za)));
	}
	if ((idx = zip_file_add(za, name, s, ZIP_FL_ENC_UTF_8)) < 0) {
		zip_source_free(s);
		return qs_error_set(err, QS_ERR_USAGE, "%s: cannot add array '%s': %s", label,
		                    a->name, zip_error_strerror(zip_get_error(za)));
	}
	zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
	return 0;
}

static int add_tensors(zip_t *za, const struct model *src, const struct write_opts *o,
                       const char *label, struct qs_error *err)
{
	for (size_t i = 0; i < src->ntensors; i++) {
		struct npy_out *v;
		size_t n;
		int rc = npy_outputs_for_tensor(src, i, o->plan ? &o->plan[i] : NULL, o->fake_quant,
		                                &v, &n, err);
		for (size_t k = 0; rc == 0 && k < n; k++)
			rc = add_array(za, &v[k], label, err);
		npy_outs_free(v, n);
		if (rc)
			return rc;
	}
	return 0;
}

static int copy_source(zip_source_t *s, FILE *out, const char *label, struct qs_error *err)
{
	uint8_t buf[1 << 16];
	zip_int64_t got;

	if (zip_source_open(s) < 0)
		return qs_error_set(err, QS_ERR_IO, "%s: %s", label,
		                    zip_error_strerror(zip_source_error(s)));
	while ((got = zip_source_read(s, buf, sizeof buf)) > 0)
		if (fwrite(buf, 1, (size_t)got, out) != (size_t)got) {
			zip_source_close(s);
			return qs_error_set(err, QS_ERR_IO, "%s: write failed: %s", label,
			                    strerror(errno));
		}
	zip_source_close(s);
	return got < 0 ? qs_error_set(err, QS_ERR_IO, "%s: %s", label,
	                              zip_error_strerror(zip_source_error(s)))
	               : 0;
}

static int npz_write(const struct model *src, const struct write_opts *o, FILE *out,
                     const char *out_path, struct qs_error *err)
{
	const char *label = strrchr(out_path, '/') ? strrchr(out_path, '/') + 1 : out_path;
	zip_error_t ze;
	zip_source_t *s;
	zip_t *za;
	int rc;

	zip_error_init(&ze);
	if (!(s = zip_source_buffer_create(NULL, 0, 0, &ze)) ||
	    !(za = zip_open_from_source(s, ZIP_TRUNCATE, &ze))) {
		rc = qs_error_set(err, QS_ERR_NOMEM, "%s: %s", label, zip_error_strerror(&ze));
		zip_source_free(s);
		zip_error_fini(&ze);
		return rc;
	}
	zip_error_fini(&ze);
	zip_source_keep(s);
	if ((rc = add_tensors(za, src, o, label, err)) != 0) {
		zip_discard(za);
		zip_source_free(s);
		return rc;
	}
	if (zip_close(za) != 0) {
		rc = qs_error_set(err, QS_ERR_IO, "%s: %s", label,
		                  zip_error_strerror(zip_get_error(za)));
		zip_discard(za);
	} else {
		rc = copy_source(s, out, label, err);
	}
	zip_source_free(s);
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
