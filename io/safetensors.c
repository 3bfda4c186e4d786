#include "safetensors.h"

#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mem_release.h"

/* ---- dtypes ------------------------------------------------------------- */

struct st_dtype {
	const char *name;
	int dt; /* enum dtype, or −1: listed as auxiliary bytes */
	unsigned bits;
};

static const struct st_dtype st_dtypes[] = {
        {"F64", DTYPE_F64, 64},
        {"F32", DTYPE_F32, 32},
        {"F16", DTYPE_F16, 16},
        {"BF16", DTYPE_BF16, 16},
        {"F8_E4M3", DTYPE_F8E4M3FN, 8},
        {"F8_E5M2", DTYPE_F8E5M2, 8},
        {"I8", DTYPE_I8, 8},
        {"U8", DTYPE_U8, 8},
        {"I16", DTYPE_I16, 16},
        {"U16", DTYPE_U16, 16},
        {"I32", DTYPE_I32, 32},
        {"U32", DTYPE_U32, 32},
        {"I64", DTYPE_I64, 64},
        {"U64", DTYPE_U64, 64},
        {"BOOL", DTYPE_BOOL, 8},
        {"F8_E8M0", -1, 8},
        {"F8_E4M3FNUZ", -1, 8},
        {"F8_E5M2FNUZ", -1, 8},
        {"F4", -1, 4},
        {"F6_E2M3", -1, 6},
        {"F6_E3M2", -1, 6},
        {"C64", -1, 64},
};

#define N_ST_DTYPES (sizeof st_dtypes / sizeof st_dtypes[0])

static const struct st_dtype *st_dtype_by_name(const char *s)
{
	for (size_t i = 0; i < N_ST_DTYPES; i++)
		if (!strcmp(st_dtypes[i].name, s))
			return &st_dtypes[i];
	return NULL;
}

static const struct st_dtype *st_dtype_of(enum dtype t)
{
	for (size_t i = 0; i < N_ST_DTYPES; i++)
		if (st_dtypes[i].dt == (int)t)
			return &st_dtypes[i];
	return NULL;
}

/* ---- state -------------------------------------------------------------- */

struct st_file {
	char *path;
	const uint8_t *map;
	size_t len;
	json_t *root; /* the parsed header (owns the metadata) */
};

/* A tensor exactly as stored, for byte-for-byte copies when writing. */
struct st_raw {
	const struct st_dtype *dtype;
	int ndim;
	int64_t shape[QS_MAX_DIMS];
	const uint8_t *data;
	size_t nbytes;
	void *owned; /* unpacked codes replacing the model tensor's data */
};

struct st_impl {
	size_t nfiles;
	struct st_file *files;
	struct st_raw *raw; /* one per model tensor */
	size_t cap;
	struct model_names names; /* sorted names while the conventions are applied */
};

static void impl_free(struct st_impl *im)
{
	if (!im)
		return;
	for (size_t i = 0; i < im->nfiles; i++) {
		model_unmap_file(im->files[i].map, im->files[i].len);
		json_decref(im->files[i].root);
		free(im->files[i].path);
	}
	for (size_t i = 0; im->raw && i < im->cap; i++)
		free(im->raw[i].owned);
	free(im->files);
	free(im->raw);
	free(im);
}

/* ---- parsing one file --------------------------------------------------- */

struct entry {
	const char *name; /* borrowed from the JSON */
	const struct st_dtype *dtype;
	int ndim;
	int64_t shape[QS_MAX_DIMS];
	uint64_t nelem, begin, end;
};

static int fail(struct qs_error *err, const char *path, const char *fmt, const char *name,
                const char *detail)
{
	char msg[300];

	snprintf(msg, sizeof msg, fmt, name, detail);
	return qs_error_set(err, QS_ERR_FORMAT, "%s: %s", path, msg);
}

static int parse_shape(const char *path, const char *name, json_t *js, struct entry *e,
                       struct qs_error *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(js))
		return fail(err, path, "tensor '%s': %s", name, "shape is not an array");
	if (json_array_size(js) > QS_MAX_DIMS)
		return fail(err, path, "tensor '%s': %s", name, "shape has more than 8 dims");
	e->ndim = (int)json_array_size(js);
	e->nelem = 1;
	json_array_foreach(js, i, v)
	{
		json_int_t d = json_is_integer(v) ? json_integer_value(v) : -1;
		if (d < 0)
			return fail(err, path, "tensor '%s': %s", name,
			            "shape entry is not a non-negative integer");
		e->shape[i] = (int64_t)d;
		if (d && e->nelem > (uint64_t)INT64_MAX / (uint64_t)d)
			return fail(err, path, "tensor '%s': %s", name, "element count overflows");
		e->nelem *= (uint64_t)d;
	}
	return 0;
}

static int parse_offsets(const char *path, const char *name, json_t *js, struct entry *e,
                         struct qs_error *err)
{
	json_t *b = json_array_get(js, 0), *x = json_array_get(js, 1);

	if (!json_is_array(js) || json_array_size(js) != 2 || !json_is_integer(b) ||
	    !json_is_integer(x) || json_integer_value(b) < 0 || json_integer_value(x) < 0)
		return fail(err, path, "tensor '%s': %s", name,
		            "data_offsets must be two non-negative integers");
	e->begin = (uint64_t)json_integer_value(b);
	e->end = (uint64_t)json_integer_value(x);
	if (e->end < e->begin)
		return fail(err, path, "tensor '%s': %s", name, "data_offsets END < BEGIN");
	if (e->nelem > UINT64_MAX / e->dtype->bits || (e->nelem * e->dtype->bits) % 8)
		return fail(err, path, "tensor '%s': %s", name,
		            "size is not a whole number of bytes");
	if ((e->nelem * e->dtype->bits) / 8 != e->end - e->begin) {
		char d[160];
		snprintf(d, sizeof d,
		         "shape and %s need %" PRIu64 " bytes, data_offsets span %" PRIu64,
		         e->dtype->name, e->nelem * e->dtype->bits / 8, e->end - e->begin);
		return fail(err, path, "tensor '%s': %s", name, d);
	}
	return 0;
}

static int parse_entry(const char *path, const char *name, json_t *v, struct entry *e,
                       struct qs_error *err)
{
	json_t *dt = json_object_get(v, "dtype");

	if (!json_is_object(v))
		return fail(err, path, "tensor '%s': %s", name, "entry is not an object");
	e->name = name;
	if (!json_is_string(dt))
		return fail(err, path, "tensor '%s': %s", name, "dtype missing");
	if (!(e->dtype = st_dtype_by_name(json_string_value(dt))))
		return fail(err, path, "tensor '%s': unknown dtype %s", name,
		            json_string_value(dt));
	if (parse_shape(path, name, json_object_get(v, "shape"), e, err))
		return QS_ERR_FORMAT;
	return parse_offsets(path, name, json_object_get(v, "data_offsets"), e, err);
}

static int check_metadata(const char *path, json_t *meta, struct qs_error *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(meta))
		return fail(err, path, "%s: %s", "__metadata__", "is not an object");
	json_object_foreach(meta, k, v) if (!json_is_string(v)) return fail(
	        err, path, "__metadata__: value of '%s' %s", k, "is not a string");
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Sorted by BEGIN: start at 0, no hole, no overlap, end at the file's end. */
static int check_spans(const char *path, struct entry *e, size_t n, uint64_t data_len,
                       struct qs_error *err)
{
	uint64_t at = 0;
	char d[160];

	qsort(e, n, sizeof *e, entry_cmp);
	for (size_t i = 0; i < n; i++) {
		if (e[i].begin != at) {
			snprintf(d, sizeof d,
			         "data starts at %" PRIu64 ", expected %" PRIu64 " (%s)",
			         e[i].begin, at, e[i].begin > at ? "hole" : "overlap");
			return fail(err, path, "tensor '%s': %s", e[i].name, d);
		}
		at = e[i].end;
	}
	if (at != data_len) {
		snprintf(d, sizeof d, "tensors cover %" PRIu64 " data bytes, the file has %" PRIu64,
		         at, data_len);
		return fail(err, path, "%s%s", "", d);
	}
	return 0;
}

static int read_header(struct st_file *f, uint64_t *hlen, struct qs_error *err)
{
	json_error_t je;

	if (f->len < 8)
		return fail(err, f->path, "%s%s", "", "shorter than the 8-byte header length");
	memcpy(hlen, f->map, 8);
	if (*hlen > SAFETENSORS_MAX_HEADER) {
		char d[96];
		snprintf(d, sizeof d, "header length %" PRIu64 " exceeds the limit of %llu", *hlen,
		         SAFETENSORS_MAX_HEADER);
		return fail(err, f->path, "%s%s", "", d);
	}
	if (*hlen > f->len - 8) {
		char d[96];
		snprintf(d, sizeof d, "header length %" PRIu64 " runs past the end of the file",
		         *hlen);
		return fail(err, f->path, "%s%s", "", d);
	}
	if (*hlen == 0 || f->map[8] != '{')
		return fail(err, f->path, "%s%s", "", "header does not start with '{'");
	f->root = json_loadb((const char *)f->map + 8, (size_t)*hlen, JSON_REJECT_DUPLICATES, &je);
	if (!f->root) {
		char d[240];
		snprintf(d, sizeof d, "header JSON: %s at byte %d", je.text, je.position + 8);
		return fail(err, f->path, "%s%s", "", d);
	}
	if (!json_is_object(f->root))
		return fail(err, f->path, "%s%s", "", "header is not a JSON object");
	return 0;
}

/* Parse and check one mapped file; *entries (sorted by offset) borrow names
 * from f->root. */
static int parse_file(struct st_file *f, struct entry **entries, size_t *n, size_t *data_start,
                      struct qs_error *err)
{
	uint64_t hlen;
	const char *k;
	json_t *v;
	int rc;

	*entries = NULL;
	*n = 0;
	if ((rc = read_header(f, &hlen, err)))
		return rc;
	*data_start = (size_t)(8 + hlen);
	struct entry *e = calloc(json_object_size(f->root) + 1, sizeof *e);
	if (!e)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", f->path);
	json_object_foreach(f->root, k, v)
	{
		if (!strcmp(k, "__metadata__"))
			rc = check_metadata(f->path, v, err);
		else
			rc = parse_entry(f->path, k, v, &e[(*n)++], err);
		if (rc)
			break;
	}
	if (!rc)
		rc = check_spans(f->path, e, *n, f->len - *data_start, err);
	if (rc) {
		free(e);
		*n = 0;
		return rc;
	}
	*entries = e;
	return 0;
}

/* ---- building the model ------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

static int grow(struct model *m, struct st_impl *im, size_t need, struct qs_error *err)
{
	if (need <= im->cap)
		return 0;
	size_t cap = need * 2;
	struct model_tensor *t = realloc(m->tensors, cap * sizeof *t);
	if (t)
		m->tensors = t;
	struct st_raw *r = t ? realloc(im->raw, cap * sizeof *r) : NULL;
	if (!t || !r)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", m->path);
	im->raw = r;
	memset(m->tensors + im->cap, 0, (cap - im->cap) * sizeof *t);
	memset(im->raw + im->cap, 0, (cap - im->cap) * sizeof *r);
	im->cap = cap;
	return 0;
}

static void set_facts(struct model_tensor *t)
{
	t->facts.out_axis = -1;
	if (t->ndim >= 2 && t->shape[0] > 0) {
		t->facts.role = ROLE_WEIGHT;
		t->facts.out_axis = 0;
		t->facts.reduce_k = (int64_t)(t->nelem / (uint64_t)t->shape[0]);
	} else if (ends_with(t->name, ".bias")) {
		t->facts.role = ROLE_BIAS;
	}
}

static int add_entry(struct model *m, struct st_impl *im, const struct entry *e,
                     const uint8_t *data, struct qs_error *err)
{
	size_t i = m->ntensors;
	int rc = grow(m, im, i + 1, err);

	if (rc)
		return rc;
	struct model_tensor *t = &m->tensors[i];
	struct st_raw *r = &im->raw[i];
	if (!(t->name = strdup(e->name)))
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", m->path);
	m->ntensors = i + 1;
	r->dtype = e->dtype;
	r->ndim = e->ndim;
	memcpy(r->shape, e->shape, sizeof r->shape);
	r->data = data;
	r->nbytes = (size_t)(e->end - e->begin);
	t->data = data;
	t->nbytes = r->nbytes;
	if (e->dtype->dt < 0) {
		t->dtype = DTYPE_U8;
		t->ndim = 1;
		t->shape[0] = (int64_t)t->nbytes;
		t->nelem = t->nbytes;
		t->is_aux = true;
		return 0;
	}
	t->dtype = (enum dtype)e->dtype->dt;
	t->ndim = e->ndim;
	memcpy(t->shape, e->shape, sizeof t->shape);
	t->nelem = e->nelem;
	set_facts(t);
	return 0;
}

static int load_file(struct model *m, struct st_impl *im, const char *path, struct qs_error *err)
{
	struct st_file *f;
	struct entry *e;
	size_t n, start;
	int rc;

	f = realloc(im->files, (im->nfiles + 1) * sizeof *f);
	if (!f)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	im->files = f;
	f = &im->files[im->nfiles];
	memset(f, 0, sizeof *f);
	if (!(f->path = strdup(path)))
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	im->nfiles++;
	if ((rc = model_map_file(path, &f->map, &f->len, err)))
		return rc;
	if ((rc = parse_file(f, &e, &n, &start, err)))
		return rc;
	for (size_t i = 0; i < n && !rc; i++)
		rc = add_entry(m, im, &e[i], f->map + start + e[i].begin, err);
	free(e);
	return rc;
}

/* ---- sharded checkpoints ------------------------------------------------ */

static char *sibling(const char *path, const char *name)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path + 1) : 0;
	char *p = malloc(dl + strlen(name) + 1);

	if (p) {
		memcpy(p, path, dl);
		strcpy(p + dl, name);
	}
	return p;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct shard names of an index.json weight_map, sorted. */
static int index_shards(const char *path, char ***out, size_t *n, struct qs_error *err)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *wm, *v;
	const char *k;
	char **s = NULL;
	size_t cnt = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!root)
		return qs_error_set(err, QS_ERR_FORMAT, "%s: index JSON: %s (line %d)", path,
		                    je.text, je.line);
	wm = json_object_get(root, "weight_map");
	if (!json_is_object(wm)) {
		json_decref(root);
		return qs_error_set(err, QS_ERR_FORMAT, "%s: index has no weight_map object", path);
	}
	s = calloc(json_object_size(wm) + 1, sizeof *s);
	json_object_foreach(wm, k, v)
	{
		const char *f = json_string_value(v);
		if (!s || !f || !*f || strchr(f, '/') || !strcmp(f, "..") || !strcmp(f, ".")) {
			rc = qs_error_set(
			        err, QS_ERR_FORMAT,
			        "%s: weight_map['%s'] is not a file name in the same folder", path,
			        k);
			break;
		}
		s[cnt++] = strdup(f);
	}
	json_decref(root);
	if (!rc) {
		qsort(s, cnt, sizeof *s, name_cmp);
		size_t u = 0;
		for (size_t i = 0; i < cnt; i++) {
			if (u && !strcmp(s[u - 1], s[i]))
				free(s[i]);
			else
				s[u++] = s[i];
		}
		cnt = u;
	}
	*out = s;
	*n = cnt;
	return rc;
}

/* "…-00002-of-00004.safetensors" → k = 2, n = 4 and the prefix length. */
static bool shard_pattern(const char *path, unsigned *k, unsigned *n, size_t *prefix)
{
	const char *base = model_path_base(path);
	size_t bl = strlen(base);
	const char *tail = "-00000-of-00000.safetensors";
	size_t tl = strlen(tail);
	char extra;

	if (bl < tl)
		return false;
	const char *s = base + bl - tl;
	if (sscanf(s, "-%5u-of-%5u.safetensor%c", k, n, &extra) != 3 || extra != 's' || *k == 0 ||
	    *k > *n)
		return false;
	*prefix = (size_t)(s - path);
	return true;
}

static int load_shards(struct model *m, struct st_impl *im, const char *path, unsigned n,
                       size_t prefix, struct qs_error *err)
{
	enum {
		TAIL = 40
	}; /* "-%05u-of-%05u.safetensors" for any two unsigned */
	char *p = malloc(prefix + TAIL);
	int rc = 0;

	if (!p)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	for (unsigned k = 1; k <= n && !rc; k++) {
		memcpy(p, path, prefix);
		snprintf(p + prefix, TAIL, "-%05u-of-%05u.safetensors", k, n);
		rc = load_file(m, im, p, err);
	}
	free(p);
	return rc;
}

/* Every tensor the index names must be in the shard it names: shard i of the
 * sorted names holds tensors [first[i], first[i + 1]). */
static int check_index_map(const struct model *m, const char *path, char **names, size_t n,
                           const size_t *first, struct qs_error *err)
{
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	json_t *wm = json_object_get(root, "weight_map"), *v;
	const char *k;
	struct model_names ix;
	int rc = 0;

	/* a sorted index, not model_find per entry: quadratic for an index of
	 * 10^4 tensors (a name held twice is refused by check_unique anyway) */
	if (model_names_build(m, false, &ix)) {
		json_decref(root);
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	}
	json_object_foreach(wm, k, v)
	{
		const char *f = json_string_value(v);
		int64_t t = model_names_find(&ix, k);
		size_t i = 0;
		while (i < n && strcmp(names[i], f))
			i++;
		if (i == n || t < 0 || (size_t)t < first[i] || (size_t)t >= first[i + 1]) {
			rc = qs_error_set(
			        err, QS_ERR_FORMAT,
			        "%s: weight_map['%s'] names shard %s, which does not hold it", path,
			        k, f);
			break;
		}
	}
	model_names_free(&ix);
	json_decref(root);
	return rc;
}

static int load_index(struct model *m, struct st_impl *im, const char *path, struct qs_error *err)
{
	char **names;
	size_t n, *first = NULL;
	int rc = index_shards(path, &names, &n, err);

	if (!rc && !(first = malloc((n + 1) * sizeof *first)))
		rc = qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	for (size_t i = 0; i < n; i++) {
		char *p = rc ? NULL : sibling(path, names[i]);
		if (!rc) {
			first[i] = m->ntensors;
			rc = p ? load_file(m, im, p, err)
			       : qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
		}
		free(p);
	}
	if (!rc) {
		first[n] = m->ntensors;
		rc = check_index_map(m, path, names, n, first, err);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(first);
	return rc;
}

/* Tensor names must be unique across shards. */
static int check_unique(struct model *m, struct qs_error *err)
{
	char **s = malloc((m->ntensors + 1) * sizeof *s);
	int rc = 0;

	if (!s)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", m->path);
	for (size_t i = 0; i < m->ntensors; i++)
		s[i] = m->tensors[i].name;
	qsort(s, m->ntensors, sizeof *s, name_cmp);
	for (size_t i = 1; i < m->ntensors && !rc; i++)
		if (!strcmp(s[i - 1], s[i]))
			rc = qs_error_set(err, QS_ERR_FORMAT,
			                  "%s: tensor '%s' appears in two shards", m->path, s[i]);
	free(s);
	return rc;
}

/* ---- quantized conventions ---------------------------------------------- */

static struct model_tensor *find_t(struct model *m, const char *prefix, const char *suffix)
{
	char name[1024];

	if (snprintf(name, sizeof name, "%s%s", prefix, suffix) >= (int)sizeof name)
		return NULL;
	/* names are unique (check_unique); a linear model_find per lookup made
	 * a header of many int8 tensors quadratic */
	const struct st_impl *im = m->impl;
	int64_t i = im->names.refs ? model_names_find(&im->names, name) : model_find(m, name);
	return i < 0 ? NULL : &m->tensors[i];
}

static bool is_int(const struct model_tensor *t)
{
	return t && !t->is_aux && !dtype_info(t->dtype)->is_float && t->dtype != DTYPE_BOOL;
}

static bool is_float(const struct model_tensor *t)
{
	return t && !t->is_aux && dtype_info(t->dtype)->is_float;
}

static int64_t get_int(const struct model_tensor *t, uint64_t i)
{
	return dtype_get_int(t->dtype, t->data, i, NIBBLE_LOW_FIRST);
}

static uint32_t get_u32(const struct model_tensor *t, uint64_t i)
{
	return (uint32_t)get_int(t, i);
}

static float *floats_of(const struct model_tensor *t)
{
	float *f = malloc((t->nelem ? t->nelem : 1) * sizeof *f);

	if (f)
		dtype_to_f32(t->dtype, t->data, 0, (size_t)t->nelem, false, NIBBLE_LOW_FIRST, f);
	return f;
}

static int quant_new(struct model_tensor *t, const char *float_name, int bits, int32_t qmin,
                     int32_t qmax, struct qs_error *err)
{
	if (!(t->quant = calloc(1, sizeof *t->quant)) ||
	    !(t->quant->float_name = strdup(float_name)))
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", t->name);
	t->quant->bits = bits;
	t->quant->qmin = qmin;
	t->quant->qmax = qmax;
	return 0;
}

/* Scale shape → layout on the weight: one element per tensor; (out, 1) per
 * channel of axis 0 (compressed-tensors, any weight rank); otherwise the
 * weight's rank with exactly one axis a differing: s[a] = w[a] and 1
 * elsewhere per channel of a, or s[a] = ceil(w[a]/block) and w elsewhere
 * per group along a (compressed-tensors (out, G), qscope's own files). */
static bool scale_layout(const struct model_tensor *w, const struct model_tensor *s,
                         struct layout *l)
{
	const char *why;
	int axis = -1, nd = w->ndim;
	bool chan = true, group = true;

	if (s->nelem == 1)
		return layout_init(l, w->shape, nd, GRAN_TENSOR, 0, 0, &why);
	if (nd >= 2 && s->ndim == 2 && s->shape[0] == w->shape[0] && s->shape[1] == 1)
		return layout_init(l, w->shape, nd, GRAN_CHANNEL, 0, 0, &why);
	if (s->ndim != nd)
		return false;
	for (int d = 0; d < nd; d++) {
		if (s->shape[d] == w->shape[d] && w->shape[d] > 1 && axis < 0 && chan)
			axis = d;
		else if (s->shape[d] != 1)
			chan = false;
	}
	if (chan && axis >= 0)
		return layout_init(l, w->shape, nd, GRAN_CHANNEL, axis, 0, &why);
	axis = -1;
	for (int d = 0; d < nd; d++) {
		if (s->shape[d] == w->shape[d])
			continue;
		if (axis >= 0 || s->shape[d] < 1 || s->shape[d] > w->shape[d])
			group = false;
		axis = d;
	}
	if (!group || axis < 0)
		return false;
	uint64_t dim = (uint64_t)w->shape[axis], g = (uint64_t)s->shape[axis];
	return layout_init(l, w->shape, nd, GRAN_GROUP, axis, (dim + g - 1) / g, &why) &&
	       l->nblk == g;
}

static int attach_params(struct model_tensor *w, const struct model_tensor *s,
                         const struct model_tensor *z, int64_t zoff, struct qs_error *err)
{
	struct tensor_quant *q = w->quant;

	if (!scale_layout(w, s, &q->layout) || s->nelem != q->layout.ngroups ||
	    (z && z->nelem < q->layout.ngroups))
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "tensor '%s': scale shape does not fit the weight", w->name);
	q->scale = floats_of(s);
	q->zero_point = calloc(q->layout.ngroups, sizeof *q->zero_point);
	if (!q->scale || !q->zero_point)
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", w->name);
	for (uint64_t g = 0; z && g < q->layout.ngroups; g++)
		q->zero_point[g] = (int32_t)(get_int(z, g) - zoff);
	return 0;
}

static int ct_int8(struct model_tensor *w, struct model_tensor *s, struct model_tensor *z,
                   struct qs_error *err)
{
	int rc;

	if (w->quant || !is_float(s) || (z && !is_int(z)))
		return 0;
	bool u = w->dtype == DTYPE_U8;
	if ((rc = quant_new(w, w->name, 8, u ? 0 : -128, u ? 255 : 127, err)))
		return rc;
	if ((rc = attach_params(w, s, z, 0, err)))
		return rc;
	s->is_aux = true;
	if (z)
		z->is_aux = true;
	return 0;
}

/* bitsandbytes LLM.int8: `<m>.weight` I8 [out, ...] + `<m>.SCB` F32 [out]
 * (row absmax), x = q·SCB/127: per-channel scale SCB/127. */
static int bnb_int8(struct model *m, struct model_tensor *w, struct qs_error *err)
{
	char base[1024];
	size_t n = strlen(w->name);
	struct model_tensor *scb;
	int rc;

	if (w->quant || w->dtype != DTYPE_I8 || w->ndim < 2 || !ends_with(w->name, ".weight") ||
	    n - 7 >= sizeof base)
		return 0;
	snprintf(base, sizeof base, "%.*s", (int)(n - 7), w->name);
	scb = find_t(m, base, ".SCB");
	if (!is_float(scb) || scb->nelem != (uint64_t)w->shape[0])
		return 0;
	if ((rc = quant_new(w, w->name, 8, -128, 127, err)))
		return rc;
	struct tensor_quant *q = w->quant;
	const char *why;
	layout_init(&q->layout, w->shape, w->ndim, GRAN_CHANNEL, 0, 0, &why);
	q->scale = floats_of(scb);
	q->zero_point = calloc(q->layout.ngroups, sizeof *q->zero_point);
	if (!q->scale || !q->zero_point)
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", w->name);
	for (uint64_t c = 0; c < q->layout.ngroups; c++)
		q->scale[c] /= 127.0f;
	scb->is_aux = true;
	return 0;
}

/* Replace t's data by an owned code buffer of shape [out, in]. */
static int set_codes(struct model_tensor *t, struct st_raw *r, int8_t *codes, uint64_t out,
                     uint64_t in, enum dtype dt)
{
	free(r->owned);
	r->owned = codes;
	t->data = (const uint8_t *)codes;
	t->dtype = dt;
	t->ndim = 2;
	t->shape[0] = (int64_t)out;
	t->shape[1] = (int64_t)in;
	t->nelem = out * in;
	t->nbytes = (size_t)t->nelem;
	set_facts(t);
	return 0;
}

static int ct_packed(struct model *m, struct st_impl *im, size_t i, const char *base,
                     struct qs_error *err)
{
	struct model_tensor *p = &m->tensors[i], *shp = find_t(m, base, ".weight_shape"),
	                    *s = find_t(m, base, ".weight_scale"),
	                    *z = find_t(m, base, ".weight_zero_point");
	char fname[1040];
	int rc;

	if (!is_int(shp) || shp->nelem != 2 || !is_float(s) || p->ndim != 2 ||
	    p->dtype != DTYPE_I32)
		return 0;
	int64_t out = get_int(shp, 0), in = get_int(shp, 1);
	int b = 0;
	for (int c = 0; c < 3 && !b; c++) {
		int cb = (int[]){4, 8, 2}[c];
		if (in > 0 && out == p->shape[0] && (in - 1) / (32 / cb) + 1 == p->shape[1])
			b = cb;
	}
	if (!b || (uint64_t)out * (uint64_t)in > (1ull << 40))
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "tensor '%s': packed shape does not match weight_shape",
		                    p->name);
	int8_t *codes = malloc((size_t)(out * in));
	if (!codes)
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", p->name);
	int per = 32 / b, off = 1 << (b - 1);
	uint32_t mask = (1u << b) - 1;
	for (int64_t o = 0; o < out; o++)
		for (int64_t k = 0; k < in; k++) {
			uint32_t wd = get_u32(p, (uint64_t)(o * p->shape[1] + k / per));
			codes[o * in + k] = (int8_t)((int)((wd >> (b * (k % per))) & mask) - off);
		}
	set_codes(p, &im->raw[i], codes, (uint64_t)out, (uint64_t)in, DTYPE_I8);
	snprintf(fname, sizeof fname, "%s.weight", base);
	if ((rc = quant_new(p, fname, b, -off, off - 1, err)))
		return rc;
	/* an asymmetric zero point is packed along dim 0: unpack it to (out, G) */
	if ((rc = attach_params(p, s, NULL, 0, err)))
		return rc;
	if (z && is_int(z) && z->ndim == 2) {
		uint64_t g = out ? p->quant->layout.ngroups / (uint64_t)out : 0;
		for (uint64_t r = 0; r < (uint64_t)out; r++)
			for (uint64_t c = 0; c < g && c < (uint64_t)z->shape[1]; c++) {
				uint64_t wi = (r / per) * (uint64_t)z->shape[1] + c;
				if (wi >= z->nelem)
					continue;
				uint32_t wd = get_u32(z, wi);
				p->quant->zero_point[r * g + c] =
				        (int32_t)((wd >> (b * (r % per))) & mask) - off;
			}
		z->is_aux = true;
	}
	shp->is_aux = s->is_aux = true;
	struct model_tensor *gi = find_t(m, base, ".weight_g_idx");
	if (gi)
		gi->is_aux = true;
	return 0;
}

/* GPTQ/AWQ group of input row k: g_idx[k], or k / group size. */
struct gq {
	struct model_tensor *qw, *qz, *sc, *gi;
	int b;
	bool awq;
	uint64_t in, out, ngroups;
};

static uint32_t gq_zero(const struct gq *q, uint64_t g, uint64_t o)
{
	static const int awq_pos[8] = {0, 4, 1, 5, 2, 6, 3, 7}; /* nibble of column k */
	int per = 32 / q->b;
	uint32_t mask = (1u << q->b) - 1;
	uint64_t cols = (uint64_t)q->qz->shape[1];
	int pos = q->awq ? awq_pos[o % 8] : (int)(o % (uint64_t)per);
	uint32_t wd = get_u32(q->qz, g * cols + o / (uint64_t)per);

	return ((wd >> (q->b * pos)) & mask) + (q->awq ? 0 : 1);
}

static uint8_t gq_code(const struct gq *q, uint64_t k, uint64_t o)
{
	static const int awq_pos[8] = {0, 4, 1, 5, 2, 6, 3, 7};
	uint64_t per = (uint64_t)(32 / q->b);
	uint32_t mask = (1u << q->b) - 1;
	uint64_t cols = (uint64_t)q->qw->shape[1];
	uint32_t wd;
	int pos;

	if (q->awq) {
		wd = get_u32(q->qw, k * cols + o / per);
		pos = awq_pos[o % 8];
	} else {
		wd = get_u32(q->qw, (k / per) * cols + o);
		pos = (int)(k % per);
	}
	return (uint8_t)((wd >> (q->b * pos)) & mask);
}

static bool gq_shape(struct gq *q)
{
	int64_t r = q->qw->shape[0], c = q->qw->shape[1];

	q->out = (uint64_t)q->sc->shape[1];
	q->ngroups = (uint64_t)q->sc->shape[0];
	if (!q->awq) {
		if (q->out != (uint64_t)c)
			return false;
		q->b = 4;
		if (q->gi && q->gi->nelem && (uint64_t)r * 32 % q->gi->nelem == 0)
			q->b = (int)((uint64_t)r * 32 / q->gi->nelem);
		q->in = (uint64_t)r * 32 / (uint64_t)q->b;
	} else {
		/* AWQ packs 4-bit codes only (awq_pos is its nibble order) */
		if (!c || !q->out || q->out * 32 % (uint64_t)c || (uint64_t)c * 32 / q->out != 4)
			return false;
		q->b = 4;
		q->in = (uint64_t)r;
	}
	if ((q->b != 2 && q->b != 4 && q->b != 8) || !q->ngroups || q->in % q->ngroups ||
	    q->in * q->out > (1ull << 40))
		return false;
	uint64_t zc = (q->out * (uint64_t)q->b + 31) / 32;
	return q->qz->ndim == 2 && (uint64_t)q->qz->shape[0] == q->ngroups &&
	       (uint64_t)q->qz->shape[1] == zc && (!q->gi || q->gi->nelem == q->in);
}

static int gq_params(struct gq *q, struct model_tensor *t, struct qs_error *err)
{
	struct tensor_quant *tq = t->quant;
	uint64_t gs = q->in / q->ngroups;
	bool trivial = true;
	const char *why;
	float *s = floats_of(q->sc);

	for (uint64_t k = 0; q->gi && k < q->in && trivial; k++)
		trivial = (uint64_t)get_int(q->gi, k) == k / gs;
	for (uint64_t k = 0; q->gi && k < q->in; k++)
		if ((uint64_t)get_int(q->gi, k) >= q->ngroups) {
			free(s);
			return qs_error_set(err, QS_ERR_FORMAT,
			                    "tensor '%s': g_idx[%llu] out of range", q->gi->name,
			                    (unsigned long long)k);
		}
	layout_init(&tq->layout, t->shape, 2, GRAN_GROUP, 1, trivial ? gs : 1, &why);
	tq->scale = malloc(tq->layout.ngroups * sizeof *tq->scale);
	tq->zero_point = malloc(tq->layout.ngroups * sizeof *tq->zero_point);
	if (!s || !tq->scale || !tq->zero_point) {
		free(s);
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", t->name);
	}
	uint64_t per_row = tq->layout.nblk;
	for (uint64_t o = 0; o < q->out; o++)
		for (uint64_t c = 0; c < per_row; c++) {
			uint64_t g = trivial ? c : (uint64_t)get_int(q->gi, c);
			tq->scale[o * per_row + c] = s[g * q->out + o];
			tq->zero_point[o * per_row + c] = (int32_t)gq_zero(q, g, o);
		}
	free(s);
	return 0;
}

static int gptq_awq(struct model *m, struct st_impl *im, size_t i, const char *base,
                    struct qs_error *err)
{
	struct gq q = {.qw = &m->tensors[i]};
	char fname[1040];
	int rc;

	q.qz = find_t(m, base, ".qzeros");
	q.sc = find_t(m, base, ".scales");
	q.gi = find_t(m, base, ".g_idx");
	if (!is_int(q.qz) || !is_float(q.sc) || q.qw->ndim != 2 || q.sc->ndim != 2 ||
	    q.qw->dtype != DTYPE_I32 || (q.gi && !is_int(q.gi)))
		return 0;
	q.awq = !q.gi && (uint64_t)q.qw->shape[1] != (uint64_t)q.sc->shape[1];
	if (!gq_shape(&q))
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "tensor '%s': qweight/qzeros/scales/g_idx shapes disagree "
		                    "(2-, 4- and 8-bit GPTQ and 4-bit AWQ are read)",
		                    q.qw->name);
	uint8_t *codes = malloc((size_t)(q.in * q.out));
	if (!codes)
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", q.qw->name);
	for (uint64_t o = 0; o < q.out; o++)
		for (uint64_t k = 0; k < q.in; k++)
			codes[o * q.in + k] = gq_code(&q, k, o);
	snprintf(fname, sizeof fname, "%s.weight", base);
	set_codes(&m->tensors[i], &im->raw[i], (int8_t *)codes, q.out, q.in, DTYPE_U8);
	if ((rc = quant_new(&m->tensors[i], fname, q.b, 0, (1 << q.b) - 1, err)))
		return rc;
	if ((rc = gq_params(&q, &m->tensors[i], err)))
		return rc;
	q.qz->is_aux = q.sc->is_aux = true;
	if (q.gi)
		q.gi->is_aux = true;
	return 0;
}

static int apply_conventions(struct model *m, struct st_impl *im, struct qs_error *err)
{
	char base[1024];
	int rc = 0;

	if (model_names_build(m, false, &im->names))
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", m->path);
	for (size_t i = 0; i < m->ntensors && !rc; i++) {
		struct model_tensor *t = &m->tensors[i];
		size_t n = strlen(t->name);
		if (t->is_aux || t->quant || n >= sizeof base)
			continue;
		if (ends_with(t->name, ".weight_packed")) {
			snprintf(base, sizeof base, "%.*s", (int)(n - 14), t->name);
			rc = ct_packed(m, im, i, base, err);
		} else if (ends_with(t->name, ".qweight")) {
			snprintf(base, sizeof base, "%.*s", (int)(n - 8), t->name);
			rc = gptq_awq(m, im, i, base, err);
		} else if (t->dtype == DTYPE_I8 || t->dtype == DTYPE_U8) {
			rc = ct_int8(t, find_t(m, t->name, "_scale"),
			             find_t(m, t->name, "_zero_point"), err);
			if (!rc)
				rc = bnb_int8(m, t, err);
		}
	}
	model_names_free(&im->names);
	im->names = (struct model_names){0};
	return rc;
}

/* ---- format ops --------------------------------------------------------- */

static int st_load(const char *path, struct model *m, struct qs_error *err)
{
	struct st_impl *im = calloc(1, sizeof *im);
	unsigned k, n;
	size_t prefix;
	int rc;

	if (!im)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	m->impl = im;
	if (ends_with(path, ".json"))
		rc = load_index(m, im, path, err);
	else if (shard_pattern(path, &k, &n, &prefix))
		rc = load_shards(m, im, path, n, prefix, err);
	else
		rc = load_file(m, im, path, err);
	if (!rc)
		rc = check_unique(m, err);
	if (!rc)
		rc = apply_conventions(m, im, err);
	return rc;
}

static void st_unload(struct model *m)
{
	impl_free(m->impl);
	m->impl = NULL;
}

static bool st_sniff(const uint8_t *head, size_t len, const char *path)
{
	uint64_t n;

	if (path && ends_with(path, ".safetensors.index.json"))
		return true;
	if (len < 9)
		return false;
	memcpy(&n, head, 8);
	return head[8] == '{' && n >= 2 && n <= SAFETENSORS_MAX_HEADER;
}

/* ---- writing ------------------------------------------------------------ */

enum out_kind {
	OUT_COPY,
	OUT_CONVERT,
	OUT_FAKE,
	OUT_CODES,
	OUT_SCALE,
	OUT_ZP
};

/* One entry of the written file. */
struct out_entry {
	char *name;
	enum out_kind kind;
	size_t src; /* source tensor */
	const struct st_dtype *dtype;
	int ndim;
	int64_t shape[QS_MAX_DIMS];
	uint64_t nbytes;
};

struct plan_out {
	struct out_entry *e;
	size_t n, cap;
};

static struct out_entry *out_add(struct plan_out *p, const char *name, const char *suffix)
{
	if (p->n == p->cap) {
		size_t cap = p->cap * 2 + 16;
		struct out_entry *e = realloc(p->e, cap * sizeof *e);
		if (!e)
			return NULL;
		p->e = e;
		p->cap = cap;
	}
	struct out_entry *e = &p->e[p->n];
	memset(e, 0, sizeof *e);
	size_t len = strlen(name) + strlen(suffix) + 1;
	if (!(e->name = malloc(len)))
		return NULL;
	snprintf(e->name, len, "%s%s", name, suffix);
	p->n++;
	return e;
}

static uint64_t shape_nelem(const int64_t *shape, int ndim)
{
	uint64_t n = 1;

	for (int d = 0; d < ndim; d++)
		n *= (uint64_t)shape[d];
	return n;
}

static void entry_set(struct out_entry *e, enum out_kind k, size_t src, const struct st_dtype *dt,
                      const int64_t *shape, int ndim)
{
	e->kind = k;
	e->src = src;
	e->dtype = dt;
	e->ndim = ndim;
	memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
	e->nbytes = shape_nelem(shape, ndim) * dt->bits / 8;
}

static struct scheme resolved_scheme(const struct qspec *spec)
{
	struct scheme s = spec->scheme;

	if (spec->qt && spec->qt->family == QTYPE_LINEAR) {
		s.bits = spec->qt->bits;
		s.is_signed = spec->qt->is_signed;
	}
	return s;
}

/* Codes + scale (+ zero point) entries for a quantized tensor. */
static int plan_quantized(struct plan_out *p, const struct model_tensor *t, size_t i,
                          const struct qspec *spec, const char *path, struct qs_error *err)
{
	struct scheme s = resolved_scheme(spec);
	struct layout l;
	const char *why = NULL;
	int64_t sshape[QS_MAX_DIMS];
	int sndim = t->ndim;

	if ((spec->qt && spec->qt->family != QTYPE_LINEAR) || !s.is_signed || s.bits > 8)
		return qs_error_set(err, QS_ERR_USAGE,
		                    "%s: tensor %s: safetensors stores signed codes of at most 8 "
		                    "bits (int8, compressed-tensors); use --scheme sym or a signed "
		                    "--qtype",
		                    path, t->name);
	if (!layout_init(&l, t->shape, t->ndim, s.gran, s.axis, s.group_size, &why))
		return qs_error_set(err, QS_ERR_USAGE, "%s: tensor %s: %s", path, t->name, why);
	for (int d = 0; d < t->ndim; d++)
		sshape[d] = l.gran == GRAN_TENSOR  ? 1
		            : d == l.axis          ? (int64_t)l.nblk
		            : l.gran == GRAN_GROUP ? t->shape[d]
		                                   : 1;
	if (l.gran == GRAN_TENSOR || t->ndim == 0) {
		sndim = 1;
		sshape[0] = 1;
	}
	struct out_entry *e = out_add(p, t->name, "");
	if (!e)
		return QS_ERR_NOMEM;
	entry_set(e, OUT_CODES, i, st_dtype_of(DTYPE_I8), t->shape, t->ndim);
	if (!(e = out_add(p, t->name, "_scale")))
		return QS_ERR_NOMEM;
	entry_set(e, OUT_SCALE, i, st_dtype_of(DTYPE_F32), sshape, sndim);
	if (!s.symmetric) {
		if (!(e = out_add(p, t->name, "_zero_point")))
			return QS_ERR_NOMEM;
		entry_set(e, OUT_ZP, i, st_dtype_of(DTYPE_I8), sshape, sndim);
	}
	return 0;
}

static int plan_tensor(struct plan_out *p, const struct model *src, size_t i,
                       const struct write_opts *o, const char *path, struct qs_error *err)
{
	const struct model_tensor *t = &src->tensors[i];
	const struct st_impl *im = src->ops == &safetensors_format_ops ? src->impl : NULL;
	bool q = o->plan && o->plan[i].quantize && !t->is_aux;
	struct out_entry *e;

	if (q && !o->fake_quant)
		return plan_quantized(p, t, i, &o->plan[i].spec, path, err);
	if (!(e = out_add(p, t->name, "")))
		return QS_ERR_NOMEM;
	if (q) {
		const struct st_dtype *dt = st_dtype_of(t->dtype);
		bool keep = !t->quant && !t->block && dtype_info(t->dtype)->is_float && dt;
		entry_set(e, OUT_FAKE, i, keep ? dt : st_dtype_of(DTYPE_F32), t->shape, t->ndim);
	} else if (im) {
		const struct st_raw *r = &im->raw[i];
		entry_set(e, OUT_COPY, i, r->dtype, r->shape, r->ndim);
		e->nbytes = r->nbytes;
	} else if (!t->quant && !t->block && st_dtype_of(t->dtype) && t->dtype != DTYPE_I4 &&
	           t->dtype != DTYPE_U4 && !t->big_endian && !t->fortran_order) {
		entry_set(e, OUT_COPY, i, st_dtype_of(t->dtype), t->shape, t->ndim);
		e->nbytes = t->nbytes;
	} else {
		entry_set(e, OUT_CONVERT, i, st_dtype_of(DTYPE_F32), t->shape, t->ndim);
	}
	return 0;
}

static json_t *header_json(const struct model *src, const struct plan_out *p)
{
	const struct st_impl *im = src->ops == &safetensors_format_ops ? src->impl : NULL;
	json_t *root = json_object(), *meta = NULL;
	uint64_t off = 0;

	for (size_t f = 0; im && f < im->nfiles && !meta; f++)
		meta = json_object_get(im->files[f].root, "__metadata__");
	json_object_set_new(root, "__metadata__",
	                    meta ? json_deep_copy(meta) : json_pack("{s:s}", "format", "pt"));
	for (size_t i = 0; i < p->n; i++) {
		const struct out_entry *e = &p->e[i];
		json_t *shape = json_array();
		for (int d = 0; d < e->ndim; d++)
			json_array_append_new(shape, json_integer(e->shape[d]));
		json_object_set_new(root, e->name,
		                    json_pack("{s:s,s:o,s:[I,I]}", "dtype", e->dtype->name, "shape",
		                              shape, "data_offsets", (json_int_t)off,
		                              (json_int_t)(off + e->nbytes)));
		off += e->nbytes;
	}
	return root;
}

struct wr {
	FILE *f;
	const char *path;
	struct qs_error *err;
	int rc;
};

static void wr_bytes(struct wr *w, const void *p, size_t n)
{
	if (!w->rc && n && fwrite(p, 1, n, w->f) != n)
		w->rc = qs_error_set(w->err, QS_ERR_IO, "%s: write failed", w->path);
}

static int write_header(struct wr *w, json_t *root)
{
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t n, pad;
	uint64_t hl;

	if (!s)
		return qs_error_set(w->err, QS_ERR_NOMEM, "%s: out of memory", w->path);
	n = strlen(s);
	pad = (8 - n % 8) % 8;
	hl = n + pad;
	wr_bytes(w, &hl, 8);
	wr_bytes(w, s, n);
	wr_bytes(w, "        ", pad);
	free(s);
	return w->rc;
}

static void write_floats(struct wr *w, const float *x, uint64_t n, const struct st_dtype *dt)
{
	uint8_t buf[4096];
	unsigned sz = dt->bits / 8;
	uint64_t per = sizeof buf / 8;

	for (uint64_t i = 0; i < n && !w->rc; i += per) {
		uint64_t k = n - i < per ? n - i : per;
		for (uint64_t j = 0; j < k; j++) {
			float v = x[i + j];
			double d = v;
			uint16_t h;
			switch (dt->dt) {
			case DTYPE_F64:
				memcpy(buf + j * sz, &d, 8);
				break;
			case DTYPE_F16:
				h = f32_to_f16(v);
				memcpy(buf + j * sz, &h, 2);
				break;
			case DTYPE_BF16:
				h = f32_to_bf16(v);
				memcpy(buf + j * sz, &h, 2);
				break;
			case DTYPE_F8E4M3FN:
				buf[j] = f32_to_f8e4m3fn(v, true);
				break;
			case DTYPE_F8E5M2:
				buf[j] = f32_to_f8e5m2(v, true);
				break;
			default:
				memcpy(buf + j * sz, &v, 4);
				break;
			}
		}
		wr_bytes(w, buf, (size_t)(k * sz));
	}
}

static void write_quantized(struct wr *w, const struct model *src, const struct out_entry *e,
                            const struct write_opts *o)
{
	const struct model_tensor *t = &src->tensors[e->src];
	struct quantized_tensor q;

	if ((w->rc = model_tensor_quantize(src, t, &o->plan[e->src].spec, &q, w->err)))
		return;
	uint64_t ng = shape_nelem(e[1].shape, e[1].ndim);
	if (q.layout.ngroups != ng || !q.codes || !q.params) {
		w->rc = qs_error_set(w->err, QS_ERR_USAGE, "%s: tensor %s: unexpected layout",
		                     w->path, t->name);
	} else {
		int8_t *c = malloc((t->nelem ? t->nelem : 1));
		float *s = malloc(ng * sizeof *s);
		int8_t *z = malloc(ng);
		if (!c || !s || !z) {
			w->rc = qs_error_set(w->err, QS_ERR_NOMEM, "%s: out of memory", w->path);
		} else {
			for (uint64_t i = 0; i < t->nelem; i++)
				c[i] = (int8_t)q.codes[i];
			for (uint64_t g = 0; g < ng; g++) {
				s[g] = q.params[g].scale;
				z[g] = (int8_t)q.params[g].zero_point;
			}
			wr_bytes(w, c, (size_t)t->nelem);
			wr_bytes(w, s, (size_t)ng * 4);
			if (e[2].kind == OUT_ZP && e[2].src == e->src)
				wr_bytes(w, z, (size_t)ng);
		}
		free(c);
		free(s);
		free(z);
	}
	quantized_tensor_free(&q);
}

static void write_entry(struct wr *w, const struct model *src, const struct plan_out *p, size_t i,
                        const struct write_opts *o)
{
	const struct out_entry *e = &p->e[i];
	const struct model_tensor *t = &src->tensors[e->src];
	const struct st_impl *im = src->ops == &safetensors_format_ops ? src->impl : NULL;

	if (e->kind == OUT_COPY) {
		wr_bytes(w, im ? im->raw[e->src].data : t->data, (size_t)e->nbytes);
	} else if (e->kind == OUT_CODES) {
		/* a zero-point entry may follow the scale: give write_quantized room */
		struct out_entry tail[3] = {*e, p->e[i + 1], {.kind = OUT_COPY}};
		if (i + 2 < p->n)
			tail[2] = p->e[i + 2];
		write_quantized(w, src, tail, o);
	} else if (e->kind == OUT_CONVERT || e->kind == OUT_FAKE) {
		float *x = malloc((t->nelem ? t->nelem : 1) * sizeof *x);
		if (!x) {
			w->rc = qs_error_set(w->err, QS_ERR_NOMEM, "%s: out of memory", w->path);
			return;
		}
		if (e->kind == OUT_FAKE) {
			struct quantized_tensor q;
			if (!(w->rc = model_tensor_quantize(src, t, &o->plan[e->src].spec, &q,
			                                    w->err)))
				memcpy(x, q.xhat, t->nelem * sizeof *x);
			if (!w->rc)
				quantized_tensor_free(&q);
		} else {
			w->rc = model_tensor_to_f32(src, t, x, w->err);
		}
		if (!w->rc)
			write_floats(w, x, t->nelem, e->dtype);
		free(x);
	}
}

static int st_write(const struct model *src, const struct write_opts *o, FILE *out,
                    const char *out_path, struct qs_error *err)
{
	struct plan_out p = {0};
	struct wr w = {out, out_path, err, 0};
	json_t *root = NULL;

	for (size_t i = 0; i < src->ntensors && !w.rc; i++)
		if ((w.rc = plan_tensor(&p, src, i, o, out_path, err)) == QS_ERR_NOMEM)
			qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", out_path);
	if (!w.rc && !(root = header_json(src, &p)))
		w.rc = qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", out_path);
	if (!w.rc)
		write_header(&w, root);
	for (size_t i = 0; i < p.n && !w.rc; i++) {
		write_entry(&w, src, &p, i, o);
		size_t k = p.e[i].src;
		if (i + 1 < p.n && p.e[i + 1].src == k)
			continue;
		/* the source tensor is written: its mapped pages can go */
		model_tensor_release(&src->tensors[k]);
		if (src->ops == &safetensors_format_ops) {
			const struct st_raw *r = &((const struct st_impl *)src->impl)->raw[k];
			mem_release_mapped(r->data, r->nbytes);
		}
	}
	json_decref(root);
	for (size_t i = 0; i < p.n; i++)
		free(p.e[i].name);
	free(p.e);
	return w.rc;
}

const struct model_format_ops safetensors_format_ops = {
        .format = FMT_SAFETENSORS,
        .name = "safetensors",
        .extensions = ".safetensors .safetensors.index.json",
        .sniff = st_sniff,
        .load = st_load,
        .unload = st_unload,
        .write = st_write,
};
