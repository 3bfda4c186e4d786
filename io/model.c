#include "model.h"

#include "mem_release.h"
#include "name_check.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "gguf.h"
#include "npy.h"
#include "npz.h"
#include "onnx.h"
#include "safetensors.h"
#include "tflite.h"

/* The format registry: one row per format, sniffed in this order, then
 * matched by extension. Each format's engineer adds its one row here, with
 * the ops declared extern in its own header (io/onnx.h, io/gguf.h, ...). */
static const struct model_format_ops *const model_formats[] = {
        &npy_format_ops,
        &npz_format_ops,
        /* ---- other formats: add one row each below this line ---- */
        &gguf_format_ops,
        &safetensors_format_ops,
        &onnx_format_ops,
        &tflite_format_ops,
};

#define NFORMATS (sizeof model_formats / sizeof model_formats[0])

const struct model_format_ops *model_format_by_name(const char *name)
{
	for (size_t i = 0; name && i < NFORMATS; i++)
		if (strcasecmp(model_formats[i]->name, name) == 0)
			return model_formats[i];
	return NULL;
}

static bool ext_matches(const char *exts, const char *path)
{
	size_t pl = strlen(path);
	const char *e = exts;

	while (e && *e) {
		size_t el = strcspn(e, " ");
		if (el && el <= pl && strncasecmp(path + pl - el, e, el) == 0)
			return true;
		e += el;
		e += strspn(e, " ");
	}
	return false;
}

const struct model_format_ops *model_format_by_path(const char *path)
{
	for (size_t i = 0; path && i < NFORMATS; i++)
		if (ext_matches(model_formats[i]->extensions, path))
			return model_formats[i];
	return NULL;
}

/* ---- files ------------------------------------------------------------- */

const char *model_path_base(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The live mappings of model_map_file, for model_map_holds. */
struct live_map {
	const uint8_t *p;
	size_t len;
};
static struct {
	pthread_mutex_t lock;
	struct live_map *m;
	size_t n, cap;
} maps = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void maps_add(const uint8_t *p, size_t len)
{
	pthread_mutex_lock(&maps.lock);
	if (maps.n == maps.cap) {
		size_t cap = maps.cap ? 2 * maps.cap : 16;
		struct live_map *m = realloc(maps.m, cap * sizeof *m);
		if (m) {
			maps.m = m;
			maps.cap = cap;
		}
	}
	if (maps.n < maps.cap) /* else unlisted: onnx_unpack_lean then borrows nothing */
		maps.m[maps.n++] = (struct live_map){p, len};
	pthread_mutex_unlock(&maps.lock);
}

static void maps_remove(const uint8_t *p)
{
	pthread_mutex_lock(&maps.lock);
	for (size_t k = 0; k < maps.n; k++)
		if (maps.m[k].p == p) {
			maps.m[k] = maps.m[--maps.n];
			break;
		}
	pthread_mutex_unlock(&maps.lock);
}

bool model_map_holds(const void *p)
{
	const uint8_t *q = p;
	bool in = false;

	pthread_mutex_lock(&maps.lock);
	for (size_t k = 0; k < maps.n && !in; k++)
		in = q >= maps.m[k].p && q < maps.m[k].p + maps.m[k].len;
	pthread_mutex_unlock(&maps.lock);
	return in;
}

int model_map_file(const char *path, const uint8_t **data, size_t *len, struct qs_error *err)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*data = NULL;
	*len = 0;
	if (fd < 0)
		return qs_error_set(err, QS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return qs_error_set(err, QS_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return qs_error_set(err, QS_ERR_IO, "%s: not a regular file", path);
	}
	if (st.st_size == 0) {
		close(fd);
		return qs_error_set(err, QS_ERR_FORMAT, "%s: file is empty", path);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return qs_error_set(err, QS_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
	madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	*data = p;
	*len = (size_t)st.st_size;
	maps_add(p, *len);
	return 0;
}

void model_unmap_file(const uint8_t *data, size_t len)
{
	if (data && len) {
		maps_remove(data);
		munmap((void *)data, len);
	}
}

static int read_head(const char *path, uint8_t *head, size_t cap, size_t *got, struct qs_error *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	if (!f)
		return qs_error_set(err, QS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
		fclose(f);
		return qs_error_set(err, QS_ERR_IO, "%s: is a directory", path);
	}
	*got = fread(head, 1, cap, f);
	fclose(f);
	return 0;
}

/* ---- load / free ------------------------------------------------------- */

void tensor_quant_free(struct tensor_quant *q)
{
	if (!q)
		return;
	free(q->scale);
	free(q->zero_point);
	free(q->float_name);
	free(q);
}

void model_free(struct model *m)
{
	if (!m)
		return;
	if (m->ops && m->ops->unload)
		m->ops->unload(m);
	for (size_t i = 0; m->tensors && i < m->ntensors; i++) {
		free(m->tensors[i].name);
		tensor_quant_free(m->tensors[i].quant);
	}
	free(m->tensors);
	free(m->path);
	free(m);
}

static const struct model_format_ops *choose_format(const char *path, struct qs_error *err)
{
	uint8_t head[64];
	size_t got = 0;

	if (read_head(path, head, sizeof head, &got, err))
		return NULL;
	for (size_t i = 0; i < NFORMATS; i++)
		if (model_formats[i]->sniff && model_formats[i]->sniff(head, got, path))
			return model_formats[i];
	if (model_format_by_path(path))
		return model_format_by_path(path);
	qs_error_set(err, QS_ERR_UNSUPPORTED,
	             "%s: unknown model format (neither its first bytes nor its extension match "
	             "a supported format)",
	             path);
	return NULL;
}

int model_load(const char *path, struct model **out, struct qs_error *err)
{
	const struct model_format_ops *ops;
	struct model *m;
	int rc;

	*out = NULL;
	if (!(ops = choose_format(path, err)))
		return err ? err->code : QS_ERR_UNSUPPORTED;
	if (!(m = calloc(1, sizeof *m)) || !(m->path = strdup(path))) {
		free(m);
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	}
	m->format = ops->format;
	m->ops = ops;
	if ((rc = ops->load(path, m, err)) != 0 || (rc = name_check_model(m, path, err)) != 0) {
		model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int64_t model_find(const struct model *m, const char *name)
{
	for (size_t i = 0; m && name && i < m->ntensors; i++)
		if (m->tensors[i].name && strcmp(m->tensors[i].name, name) == 0)
			return (int64_t)i;
	return -1;
}

/* ---- decoding ---------------------------------------------------------- */

/* Does Fortran order differ from C order for this shape (more than one
 * dimension longer than 1)? */
static bool layout_is_transposed(const struct model_tensor *t)
{
	int big = 0;

	if (!t->fortran_order)
		return false;
	for (int k = 0; k < t->ndim; k++)
		big += t->shape[k] > 1;
	return big > 1;
}

/* Fortran data is walked in memory order, one run of shape[0] elements at a
 * time; each run is scattered into C order with stride Π shape[1..]. */
struct fortran_walk {
	uint64_t run, stride0, nruns;
	int64_t idx[QS_MAX_DIMS];
	uint64_t cstride[QS_MAX_DIMS];
};

static void fortran_walk_init(struct fortran_walk *w, const struct model_tensor *t)
{
	uint64_t s = 1;

	for (int k = t->ndim - 1; k >= 0; k--) {
		w->cstride[k] = s;
		s *= (uint64_t)t->shape[k];
		w->idx[k] = 0;
	}
	w->run = (uint64_t)t->shape[0];
	w->stride0 = w->cstride[0];
	w->nruns = w->run ? t->nelem / w->run : 0;
}

/* C index of element 0 of the current run; then advance to the next run. */
static uint64_t fortran_walk_next(struct fortran_walk *w, const struct model_tensor *t)
{
	uint64_t base = 0;

	for (int k = 1; k < t->ndim; k++)
		base += (uint64_t)w->idx[k] * w->cstride[k];
	for (int k = 1; k < t->ndim; k++) {
		if (++w->idx[k] < t->shape[k])
			break;
		w->idx[k] = 0;
	}
	return base;
}

/* Runs are decoded FORTRAN_TILE at a time and scattered element by element
 * across the tile, so the writes into C order land in short contiguous
 * stretches instead of one element per cache line. */
#define FORTRAN_TILE 32

static int raw_to_f32(const struct model_tensor *t, float *dst)
{
	struct fortran_walk w;
	uint64_t base[FORTRAN_TILE], tile;
	float *buf;

	if (!layout_is_transposed(t)) {
		dtype_to_f32(t->dtype, t->data, 0, t->nelem, t->big_endian, t->nibbles, dst);
		return 0;
	}
	fortran_walk_init(&w, t);
	/* at most about 4 MiB of scratch, however long a run is */
	tile = w.run >= (1u << 20) ? 1 : (1u << 20) / w.run;
	tile = tile > FORTRAN_TILE ? FORTRAN_TILE : tile;
	if (!(buf = malloc(tile * w.run * sizeof *buf)))
		return QS_ERR_NOMEM;
	for (uint64_t r0 = 0; r0 < w.nruns; r0 += tile) {
		uint64_t nb = w.nruns - r0 < tile ? w.nruns - r0 : tile;
		for (uint64_t b = 0; b < nb; b++)
			base[b] = fortran_walk_next(&w, t);
		dtype_to_f32(t->dtype, t->data, r0 * w.run, (size_t)(nb * w.run), t->big_endian,
		             t->nibbles, buf);
		for (uint64_t i = 0; i < w.run; i++)
			for (uint64_t b = 0; b < nb; b++)
				dst[base[b] + i * w.stride0] = buf[b * w.run + i];
	}
	free(buf);
	return 0;
}

/* dtype_get_int reads little-endian; big-endian npy integers are swapped. */
static int64_t get_int(const struct model_tensor *t, uint64_t i)
{
	unsigned bytes = dtype_info(t->dtype)->bits / 8;
	uint8_t tmp[8];

	if (!t->big_endian || bytes <= 1)
		return dtype_get_int(t->dtype, t->data, i, t->nibbles);
	for (unsigned b = 0; b < bytes; b++)
		tmp[b] = t->data[i * bytes + bytes - 1 - b];
	return dtype_get_int(t->dtype, tmp, 0, t->nibbles);
}

/* Shared with range decoding (below): codes of storage elements, the checks
 * of a quant tensor, and x = (q − z)·s over C-order elements. */
static void codes_run(const struct model_tensor *t, uint64_t pos, uint64_t n, int32_t *dst);
static int check_quant(const struct model_tensor *t, struct qs_error *err);
static void quant_range(const struct model_tensor *t, uint64_t first, uint64_t count, float *dst);

static void raw_codes(const struct model_tensor *t, int32_t *dst)
{
	struct fortran_walk w;

	if (!layout_is_transposed(t)) {
		codes_run(t, 0, t->nelem, dst);
		return;
	}
	fortran_walk_init(&w, t);
	for (uint64_t r = 0; r < w.nruns; r++) {
		uint64_t base = fortran_walk_next(&w, t);
		for (uint64_t i = 0; i < w.run; i++)
			dst[base + i * w.stride0] = (int32_t)get_int(t, r * w.run + i);
	}
}

static int check_block(const struct model_tensor *t, struct qs_error *err)
{
	const struct qtype *q = t->block;
	uint64_t nb = q->block_elems ? t->nelem / q->block_elems : 0, need;

	if (!q->block_elems || t->nelem % q->block_elems ||
	    __builtin_mul_overflow(nb, (uint64_t)q->block_bytes, &need) || need != t->nbytes)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "tensor '%s': %llu elements of %s need %llu bytes, has %zu",
		                    t->name, (unsigned long long)t->nelem, q->name,
		                    (unsigned long long)nb * q->block_bytes, t->nbytes);
	return 0;
}

static int check_int_type(const struct model_tensor *t, struct qs_error *err)
{
	const struct dtype_info *d = dtype_info(t->dtype);

	if (d->is_float || t->dtype == DTYPE_BOOL)
		return qs_error_set(
		        err, QS_ERR_FORMAT,
		        "tensor '%s': quantized codes stored as %s, not an integer type", t->name,
		        dtype_name(t->dtype));
	return 0;
}

int model_tensor_codes(const struct model *m, const struct model_tensor *t, int32_t *dst,
                       struct qs_error *err)
{
	int rc;

	(void)m;
	if (t->block) {
		if ((rc = check_block(t, err)) != 0)
			return rc;
		if (!t->block->codes)
			return qs_error_set(err, QS_ERR_UNSUPPORTED,
			                    "tensor '%s': %s has no integer codes", t->name,
			                    t->block->name);
		t->block->codes(t->data, dst, (int64_t)t->nelem);
		return 0;
	}
	if (!t->quant)
		return qs_error_set(err, QS_ERR_USAGE, "tensor '%s' is not quantized", t->name);
	if ((rc = check_int_type(t, err)) != 0)
		return rc;
	raw_codes(t, dst);
	return 0;
}

static int quant_to_f32(const struct model *m, const struct model_tensor *t, float *dst,
                        struct qs_error *err)
{
	int rc;

	(void)m;
	if (t->dtype >= DTYPE_COUNT)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "tensor '%s': unknown element type",
		                    t->name);
	if ((rc = check_quant(t, err)) != 0)
		return rc;
	quant_range(t, 0, t->nelem, dst);
	return 0;
}

int model_tensor_to_f32(const struct model *m, const struct model_tensor *t, float *dst,
                        struct qs_error *err)
{
	int rc;

	if (t->block) {
		if ((rc = check_block(t, err)) != 0)
			return rc;
		if (!t->block->dequantize)
			return qs_error_set(err, QS_ERR_UNSUPPORTED,
			                    "tensor '%s': %s cannot be decoded", t->name,
			                    t->block->name);
		t->block->dequantize(t->data, dst, (int64_t)t->nelem);
		return 0;
	}
	if (t->quant)
		return quant_to_f32(m, t, dst, err);
	if (t->dtype >= DTYPE_COUNT)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "tensor '%s': unknown element type",
		                    t->name);
	if (raw_to_f32(t, dst))
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", t->name);
	return 0;
}

/* ---- streaming access -------------------------------------------------- */

static bool host_little_endian(void)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return true;
#else
	return false;
#endif
}

/* Do t's bytes hold all t->nelem elements of t->dtype? Readers check this on
 * load; range decoding checks again because it promises never to read past
 * the tensor, whatever a reader left in t. */
static int check_storage(const struct model_tensor *t, struct qs_error *err)
{
	size_t need;

	if (!dtype_nbytes(t->dtype, t->nelem, &need) || need > t->nbytes || (need && !t->data))
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "tensor '%s': %llu elements of %s need more than its %zu bytes",
		                    t->name, (unsigned long long)t->nelem, dtype_name(t->dtype),
		                    t->nbytes);
	return 0;
}

const float *model_tensor_f32_view(const struct model *m, const struct model_tensor *t)
{
	(void)m;
	if (!t || t->block || t->quant || t->dtype != DTYPE_F32 || t->big_endian || !t->data ||
	    t->nelem == 0 || !host_little_endian() || layout_is_transposed(t) ||
	    (uintptr_t)t->data % _Alignof(float) != 0 || t->nbytes / sizeof(float) < t->nelem)
		return NULL;
	return (const float *)(const void *)t->data;
}

uint64_t model_tensor_range_align(const struct model_tensor *t)
{
	return t && t->block && t->block->block_elems ? t->block->block_elems : 1;
}

void model_tensor_prefetch(const struct model_tensor *t)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t a, b;

	if (!t || !t->data || !t->nbytes || pg <= 0)
		return;
	a = (uintptr_t)t->data & ~((uintptr_t)pg - 1);
	b = (uintptr_t)t->data + t->nbytes;
	madvise((void *)a, b - a, MADV_WILLNEED); /* a hint: failure changes nothing */
}

void model_tensor_release(const struct model_tensor *t)
{
	if (t)
		mem_release_mapped(t->data, t->nbytes);
}

/* Storage position of C-order element i, walked one element at a time: for
 * Fortran data the C index is split into per-axis indices, the memory
 * position is Σ idx[k]·fstride[k] with fstride[0] = 1. */
struct elem_walk {
	bool transposed;
	uint64_t pos;
	int64_t idx[QS_MAX_DIMS];
	uint64_t fstride[QS_MAX_DIMS];
};

static void elem_walk_init(struct elem_walk *w, const struct model_tensor *t, uint64_t first)
{
	uint64_t s = 1, rem = first;

	w->transposed = layout_is_transposed(t);
	w->pos = first;
	if (!w->transposed)
		return;
	for (int k = 0; k < t->ndim; k++) {
		w->fstride[k] = s;
		s *= (uint64_t)t->shape[k];
	}
	w->pos = 0;
	for (int k = t->ndim - 1; k >= 0; k--) {
		w->idx[k] = (int64_t)(rem % (uint64_t)t->shape[k]);
		rem /= (uint64_t)t->shape[k];
		w->pos += (uint64_t)w->idx[k] * w->fstride[k];
	}
}

static void elem_walk_next(struct elem_walk *w, const struct model_tensor *t)
{
	if (!w->transposed) {
		w->pos++;
		return;
	}
	for (int k = t->ndim - 1; k >= 0; k--) {
		if (++w->idx[k] < t->shape[k]) {
			w->pos += w->fstride[k];
			return;
		}
		w->pos -= (uint64_t)(t->shape[k] - 1) * w->fstride[k];
		w->idx[k] = 0;
	}
}

static void raw_range(const struct model_tensor *t, uint64_t first, uint64_t count, float *dst)
{
	struct elem_walk w;

	elem_walk_init(&w, t, first);
	if (!w.transposed) {
		dtype_to_f32(t->dtype, t->data, first, (size_t)count, t->big_endian, t->nibbles,
		             dst);
		return;
	}
	for (uint64_t k = 0; k < count; k++, elem_walk_next(&w, t))
		dtype_to_f32(t->dtype, t->data, w.pos, 1, t->big_endian, t->nibbles, &dst[k]);
}

/* The groups of elements i, i+1, ... come in runs: *run elements from i on
 * either share group g (*step 0) or have groups g, g+1, ... (*step 1: channels
 * along the last axis, and blocks whose axis is not the last, where the
 * group follows the inner index). */
static uint64_t group_run(const struct layout *l, uint64_t i, uint64_t *run, unsigned *step)
{
	*step = 0;
	if (l->ngroups == 1 || l->gran == GRAN_TENSOR) {
		*run = l->n - i;
		return 0;
	}
	if (l->inner > 1) {
		*run = l->inner - i % l->inner;
		*step = l->gran == GRAN_GROUP;
		return layout_group(l, i);
	}
	uint64_t c = i % l->dim;
	if (l->gran == GRAN_CHANNEL) {
		*run = l->dim - c;
		*step = 1;
		return c;
	}
	uint64_t to_block = l->block - c % l->block;
	*run = to_block < l->dim - c ? to_block : l->dim - c;
	return layout_group(l, i);
}

/* Codes of storage elements [pos, pos+n): 8-bit codes and nibbles read
 * directly, other widths and byte orders through get_int. */
static void codes_run(const struct model_tensor *t, uint64_t pos, uint64_t n, int32_t *dst)
{
	const uint8_t *p = t->data;

	if (t->dtype == DTYPE_I8 || t->dtype == DTYPE_U8) {
		dtype_widen_8(p + pos, n, t->dtype == DTYPE_I8, dst, true);
	} else if (t->dtype == DTYPE_I4 || t->dtype == DTYPE_U4) {
		unsigned even_shift = t->nibbles == NIBBLE_LOW_FIRST ? 0 : 4;
		int32_t sign = t->dtype == DTYPE_I4 ? 8 : 0;
		for (uint64_t k = 0; k < n; k++) {
			uint64_t i = pos + k;
			int32_t v = (p[i / 2] >> (even_shift ^ (unsigned)(i & 1) * 4)) & 0xF;
			dst[k] = (v ^ sign) - sign;
		}
	} else {
		for (uint64_t k = 0; k < n; k++)
			dst[k] = (int32_t)get_int(t, pos + k);
	}
}

/* x = (q − z)·s as quant_to_f32 computed it, (float)((int64_t)q − z)·s: q and
 * z are int32, so q − z is exact in double and the one rounding to float is
 * the same; the double form vectorises. step 0: one group; step 1: group k
 * for element k. */
static void params_apply(const int32_t *codes, uint64_t n, const int32_t *z, const float *s,
                         unsigned step, float *dst)
{
	if (step == 0) {
		dtype_dequant_codes(codes, n, z[0], s[0], dst, true);
		return;
	}
	for (uint64_t k = 0; k < n; k++)
		dst[k] = (float)((double)codes[k] - (double)z[k]) * s[k];
}

/* Codes are taken one chunk at a time so the parameter loop runs over a
 * plain array. */
#define QUANT_CHUNK 1024

static void quant_range(const struct model_tensor *t, uint64_t first, uint64_t count, float *dst)
{
	const struct tensor_quant *q = t->quant;
	int32_t codes[QUANT_CHUNK];
	struct elem_walk w;

	elem_walk_init(&w, t, first);
	for (uint64_t k0 = 0; k0 < count; k0 += QUANT_CHUNK) {
		uint64_t n = count - k0 < QUANT_CHUNK ? count - k0 : QUANT_CHUNK, run, g;
		unsigned step;
		if (w.transposed) {
			for (uint64_t k = 0; k < n; k++, elem_walk_next(&w, t))
				codes[k] = (int32_t)get_int(t, w.pos);
		} else {
			codes_run(t, first + k0, n, codes);
		}
		for (uint64_t k = 0; k < n; k += run) {
			g = group_run(&q->layout, first + k0 + k, &run, &step);
			run = run < n - k ? run : n - k;
			params_apply(codes + k, run, q->zero_point + g, q->scale + g, step,
			             dst + k0 + k);
		}
	}
}

static int check_quant(const struct model_tensor *t, struct qs_error *err)
{
	int rc = check_int_type(t, err);

	if (rc)
		return rc;
	if (t->quant->layout.n != t->nelem)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "tensor '%s': quantization layout covers %llu elements, tensor "
		                    "has %llu",
		                    t->name, (unsigned long long)t->quant->layout.n,
		                    (unsigned long long)t->nelem);
	return 0;
}

/* Block types decode to float values (dequantize) or to int32 codes: both
 * four bytes an element, so one walk serves both. */
_Static_assert(sizeof(float) == sizeof(int32_t), "block outputs are 4-byte elements");

static void block_decode(const struct qtype *q, const uint8_t *src, void *dst, uint64_t n,
                         bool codes)
{
	if (codes)
		q->codes(src, dst, (int64_t)n);
	else
		q->dequantize(src, dst, (int64_t)n);
}

/* Decode the one block holding element e and copy n of its outputs from e. */
static int block_partial(const struct model_tensor *t, uint64_t e, uint64_t n, char *dst,
                         bool codes, struct qs_error *err)
{
	const struct qtype *q = t->block;
	float stack[256];
	void *buf = stack;

	if (q->block_elems > sizeof stack / sizeof stack[0] &&
	    !(buf = malloc(q->block_elems * sizeof(float))))
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", t->name);
	block_decode(q, t->data + e / q->block_elems * q->block_bytes, buf, q->block_elems, codes);
	memcpy(dst, (const char *)buf + e % q->block_elems * sizeof(float), n * sizeof(float));
	if (buf != stack)
		free(buf);
	return 0;
}

/* Elements [first, first + count) of a block type: whole blocks straight from
 * the data, ragged ends through one block. */
static int block_range(const struct model_tensor *t, uint64_t first, uint64_t count, void *out,
                       bool codes, struct qs_error *err)
{
	const struct qtype *q = t->block;
	uint64_t be = q->block_elems, head, whole;
	char *dst = out;
	int rc;

	if ((rc = check_block(t, err)) != 0)
		return rc;
	if (!codes && !q->dequantize)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "tensor '%s': %s cannot be decoded",
		                    t->name, q->name);
	if (codes && !q->codes)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "tensor '%s': %s has no integer codes",
		                    t->name, q->name);
	if (count == 0)
		return 0;
	head = first % be ? be - first % be : 0;
	head = head < count ? head : count;
	if (head && (rc = block_partial(t, first, head, dst, codes, err)) != 0)
		return rc;
	first += head;
	count -= head;
	dst += head * sizeof(float);
	whole = count / be * be;
	if (whole)
		block_decode(q, t->data + first / be * q->block_bytes, dst, whole, codes);
	if (count > whole)
		return block_partial(t, first + whole, count - whole, dst + whole * sizeof(float),
		                     codes, err);
	return 0;
}

int model_tensor_to_f32_range(const struct model *m, const struct model_tensor *t, uint64_t first,
                              uint64_t count, float *dst, struct qs_error *err)
{
	int rc;

	(void)m;
	if (first > t->nelem || count > t->nelem - first)
		return qs_error_set(err, QS_ERR_USAGE,
		                    "tensor '%s': %llu elements from element %llu asked, it has "
		                    "%llu",
		                    t->name, (unsigned long long)count, (unsigned long long)first,
		                    (unsigned long long)t->nelem);
	if (count == 0)
		return 0;
	if (t->block)
		return block_range(t, first, count, dst, false, err);
	if (t->dtype >= DTYPE_COUNT)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "tensor '%s': unknown element type",
		                    t->name);
	if (t->quant && (rc = check_quant(t, err)) != 0)
		return rc;
	if ((rc = check_storage(t, err)) != 0)
		return rc;
	if (t->quant)
		quant_range(t, first, count, dst);
	else
		raw_range(t, first, count, dst);
	return 0;
}

int model_tensor_codes_range(const struct model *m, const struct model_tensor *t, uint64_t first,
                             uint64_t count, int32_t *dst, struct qs_error *err)
{
	struct elem_walk w;
	int rc;

	(void)m;
	if (first > t->nelem || count > t->nelem - first)
		return qs_error_set(err, QS_ERR_USAGE,
		                    "tensor '%s': %llu codes from element %llu asked, it has %llu",
		                    t->name, (unsigned long long)count, (unsigned long long)first,
		                    (unsigned long long)t->nelem);
	if (t->block)
		return block_range(t, first, count, dst, true, err);
	if (!t->quant)
		return qs_error_set(err, QS_ERR_USAGE, "tensor '%s' is not quantized", t->name);
	if (t->dtype >= DTYPE_COUNT)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "tensor '%s': unknown element type",
		                    t->name);
	if ((rc = check_int_type(t, err)) != 0 || (rc = check_storage(t, err)) != 0)
		return rc;
	if (count == 0)
		return 0;
	elem_walk_init(&w, t, first);
	if (!w.transposed) {
		codes_run(t, first, count, dst);
		return 0;
	}
	for (uint64_t k = 0; k < count; k++, elem_walk_next(&w, t))
		dst[k] = (int32_t)get_int(t, w.pos);
	return 0;
}

bool model_tensor_analysable(const struct model_tensor *t)
{
	if (!t || t->is_aux || t->nelem == 0)
		return false;
	if (t->quant || t->block)
		return true;
	return t->dtype < DTYPE_COUNT && dtype_info(t->dtype)->is_float;
}

/* ---- name index -------------------------------------------------------- */

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const struct model_name_ref *)a)->name,
	              ((const struct model_name_ref *)b)->name);
}

int model_names_build(const struct model *m, bool analysable_only, struct model_names *out)
{
	out->n = 0;
	out->refs = malloc((m->ntensors ? m->ntensors : 1) * sizeof *out->refs);
	if (!out->refs)
		return QS_ERR_NOMEM;
	for (size_t i = 0; i < m->ntensors; i++)
		if (m->tensors[i].name &&
		    (!analysable_only || model_tensor_analysable(&m->tensors[i])))
			out->refs[out->n++] = (struct model_name_ref){m->tensors[i].name, i};
	qsort(out->refs, out->n, sizeof *out->refs, cmp_ref);
	return 0;
}

int64_t model_names_find(const struct model_names *ix, const char *name)
{
	struct model_name_ref key = {name, 0};
	const struct model_name_ref *r =
	        ix->n ? bsearch(&key, ix->refs, ix->n, sizeof key, cmp_ref) : NULL;

	return r ? (int64_t)r->i : -1;
}

const char *model_names_duplicate(const struct model_names *ix)
{
	for (size_t k = 1; k < ix->n; k++)
		if (strcmp(ix->refs[k - 1].name, ix->refs[k].name) == 0)
			return ix->refs[k].name;
	return NULL;
}

void model_names_free(struct model_names *ix)
{
	if (!ix)
		return;
	free(ix->refs);
	ix->refs = NULL;
	ix->n = 0;
}

/* ---- pairing ----------------------------------------------------------- */

static bool same_shape(const struct model_tensor *a, const struct model_tensor *b)
{
	if (a->ndim != b->ndim)
		return false;
	for (int k = 0; k < a->ndim; k++)
		if (a->shape[k] != b->shape[k])
			return false;
	return true;
}

struct pair_state {
	const struct model *fm, *qm;
	int64_t *f_of_q; /* per qm tensor: paired float index or −1 */
	int64_t *q_of_f;
	const char **how_of_f;
};

static void pair_set(struct pair_state *s, int64_t f, int64_t q, const char *how)
{
	s->f_of_q[q] = f;
	s->q_of_f[f] = q;
	s->how_of_f[f] = how;
}

static void pair_by_names(struct pair_state *s, const struct model_names *fi, bool convention)
{
	for (size_t q = 0; q < s->qm->ntensors; q++) {
		const struct model_tensor *t = &s->qm->tensors[q];
		const char *want = convention ? (t->quant ? t->quant->float_name : NULL) : t->name;
		int64_t f;

		if (!want || s->f_of_q[q] >= 0 || !model_tensor_analysable(t))
			continue;
		f = model_names_find(fi, want);
		if (f >= 0 && s->q_of_f[f] < 0)
			pair_set(s, f, (int64_t)q, convention ? "convention" : "name");
	}
}

/* Remaining tensors in order: each quantized tensor takes the next unpaired
 * float tensor of the same shape after the previous position match. */
static void pair_by_position(struct pair_state *s)
{
	size_t next_f = 0;

	for (size_t q = 0; q < s->qm->ntensors; q++) {
		const struct model_tensor *t = &s->qm->tensors[q];

		if (s->f_of_q[q] >= 0 || !model_tensor_analysable(t))
			continue;
		for (size_t f = next_f; f < s->fm->ntensors; f++) {
			const struct model_tensor *ft = &s->fm->tensors[f];
			if (s->q_of_f[f] < 0 && model_tensor_analysable(ft) && same_shape(ft, t)) {
				pair_set(s, (int64_t)f, (int64_t)q, "position");
				next_f = f + 1;
				break;
			}
		}
	}
}

static int pairs_emit(const struct pair_state *s, struct pairing *out)
{
	size_t cap = s->fm->ntensors + (s->qm ? s->qm->ntensors : 0), n = 0;

	out->pairs = malloc((cap ? cap : 1) * sizeof *out->pairs);
	if (!out->pairs)
		return QS_ERR_NOMEM;
	for (size_t f = 0; f < s->fm->ntensors; f++)
		if (model_tensor_analysable(&s->fm->tensors[f]))
			out->pairs[n++] =
			        (struct pair){(int64_t)f, s->q_of_f[f],
			                      s->q_of_f[f] >= 0 ? s->how_of_f[f] : "unpaired"};
	for (size_t q = 0; s->qm && q < s->qm->ntensors; q++)
		if (s->f_of_q[q] < 0 && model_tensor_analysable(&s->qm->tensors[q]))
			out->pairs[n++] = (struct pair){-1, (int64_t)q, "unpaired"};
	out->n = n;
	return 0;
}

int model_pair(const struct model *fm, const struct model *qm, struct pairing *out,
               struct qs_error *err)
{
	struct pair_state s = {fm, qm, NULL, NULL, NULL};
	struct model_names fi = {0};
	size_t nq = qm ? qm->ntensors : 0;
	int rc = QS_ERR_NOMEM;

	*out = (struct pairing){0};
	s.f_of_q = malloc((nq ? nq : 1) * sizeof *s.f_of_q);
	s.q_of_f = malloc((fm->ntensors ? fm->ntensors : 1) * sizeof *s.q_of_f);
	s.how_of_f = calloc(fm->ntensors ? fm->ntensors : 1, sizeof *s.how_of_f);
	if (s.f_of_q && s.q_of_f && s.how_of_f && model_names_build(fm, true, &fi) == 0) {
		for (size_t i = 0; i < nq; i++)
			s.f_of_q[i] = -1;
		for (size_t i = 0; i < fm->ntensors; i++)
			s.q_of_f[i] = -1;
		if (qm) {
			pair_by_names(&s, &fi, true);
			pair_by_names(&s, &fi, false);
			pair_by_position(&s);
		}
		rc = pairs_emit(&s, out);
	}
	model_names_free(&fi);
	free(s.f_of_q);
	free(s.q_of_f);
	free(s.how_of_f);
	return rc ? qs_error_set(err, rc, "%s: pairing: out of memory", fm->path) : 0;
}

void pairing_free(struct pairing *p)
{
	if (!p)
		return;
	free(p->pairs);
	p->pairs = NULL;
	p->n = 0;
}

/* ---- quantize for writing ---------------------------------------------- */

void quantized_tensor_free(struct quantized_tensor *q)
{
	if (!q)
		return;
	free(q->params);
	free(q->xhat);
	free(q->codes);
	free(q->blocks);
	*q = (struct quantized_tensor){0};
}

/* As analyze_simulate does, so a written model matches its report: a
 * LINEAR qtype fixes bits/signedness, the graph's output axis wins. */
static struct scheme resolve_scheme(const struct qspec *spec, const struct graph_facts *g)
{
	struct scheme s = spec->scheme;

	if (spec->qt && spec->qt->family == QTYPE_LINEAR) {
		s.bits = spec->qt->bits;
		s.is_signed = spec->qt->is_signed;
	}
	if (g && g->out_axis >= 0 && s.gran != GRAN_GROUP)
		s.axis = g->out_axis;
	return s;
}

static int quantize_linear(const struct model_tensor *t, const float *x, const struct qspec *spec,
                           struct quantized_tensor *q, struct qs_error *err)
{
	const char *why = NULL;
	int rc = 0;

	q->scheme = resolve_scheme(spec, &t->facts);
	if (!scheme_valid(&q->scheme, &why) ||
	    !layout_init(&q->layout, t->shape, t->ndim, q->scheme.gran, q->scheme.axis,
	                 q->scheme.group_size, &why))
		return qs_error_set(err, QS_ERR_USAGE, "tensor '%s': %s", t->name,
		                    why ? why : "invalid scheme");
	scheme_code_range(&q->scheme, &q->qmin, &q->qmax);
	q->bits = q->scheme.bits;
	q->params = malloc((q->layout.ngroups ? q->layout.ngroups : 1) * sizeof *q->params);
	q->codes = malloc((t->nelem ? t->nelem : 1) * sizeof *q->codes);
	if (!q->params || !q->codes)
		rc = qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", t->name);
	else
		rc = range_choose_groups(&spec->method, &q->scheme, &q->layout, x, q->params, err);
	if (rc == 0)
		quant_tensor(&q->scheme, &q->layout, q->params, x, q->codes, q->xhat);
	return rc;
}

static int quantize_block(const struct model_tensor *t, float *x, const struct qspec *spec,
                          struct quantized_tensor *q, struct qs_error *err)
{
	const struct qtype *qt = spec->qt;
	uint64_t nb;

	if (!qt->quantize_ref || !qt->dequantize)
		return qs_error_set(err, QS_ERR_UNSUPPORTED,
		                    "tensor '%s': qscope cannot quantize to %s", t->name, qt->name);
	if (t->nelem % qt->block_elems || (t->ndim && t->shape[t->ndim - 1] % qt->block_elems))
		return qs_error_set(err, QS_ERR_USAGE,
		                    "tensor '%s': %s needs rows that are a multiple of %u elements",
		                    t->name, qt->name, qt->block_elems);
	nb = t->nelem / qt->block_elems;
	q->nbytes_blocks = nb * qt->block_bytes;
	if (!(q->blocks = malloc(q->nbytes_blocks ? q->nbytes_blocks : 1)))
		return qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", t->name);
	for (uint64_t i = 0; i < t->nelem; i++)
		if (!isfinite(x[i]))
			x[i] = 0.0f; /* as analyze_simulate: one NaN must not poison a block */
	if (qt->quantize_method && spec->method.kind != METHOD_MINMAX)
		qt->quantize_method(x, q->blocks, (int64_t)t->nelem, &spec->method);
	else
		qt->quantize_ref(x, q->blocks, (int64_t)t->nelem);
	qt->dequantize(q->blocks, q->xhat, (int64_t)t->nelem);
	q->bits = qt->bits;
	return 0;
}

/* Float casts saturate and map NaN/Inf exactly as the report's simulation:
 * take x̂ from the analysis itself (analyze_quantize: analyze_simulate's x̂
 * without its measuring). */
static int quantize_cast(const struct model_tensor *t, const float *x, const struct qspec *spec,
                         struct quantized_tensor *q, struct qs_error *err)
{
	q->bits = (int)dtype_info(spec->qt->storage)->bits;
	return analyze_quantize(x, t->shape, t->ndim, spec, &t->facts, q->xhat, NULL, err);
}

int model_tensor_quantize(const struct model *m, const struct model_tensor *t,
                          const struct qspec *spec, struct quantized_tensor *out,
                          struct qs_error *err)
{
	float *x = malloc((t->nelem ? t->nelem : 1) * sizeof *x);
	int rc;

	*out = (struct quantized_tensor){.qt = spec->qt};
	out->xhat = malloc((t->nelem ? t->nelem : 1) * sizeof *out->xhat);
	if (!x || !out->xhat)
		rc = qs_error_set(err, QS_ERR_NOMEM, "tensor '%s': out of memory", t->name);
	else if ((rc = model_tensor_to_f32(m, t, x, err)) != 0)
		;
	else if (!spec->qt || spec->qt->family == QTYPE_LINEAR)
		rc = quantize_linear(t, x, spec, out, err);
	else if (spec->qt->family == QTYPE_BLOCK)
		rc = quantize_block(t, x, spec, out, err);
	else
		rc = quantize_cast(t, x, spec, out, err);
	free(x);
	if (rc)
		quantized_tensor_free(out);
	return rc;
}

/* ---- writing ----------------------------------------------------------- */

static int check_target(const struct model *src, const struct write_opts *o, const char *path,
                        struct qs_error *err)
{
	if (atomic_same_file(path, src->path) || (o->like && atomic_same_file(path, o->like->path)))
		return qs_error_set(err, QS_ERR_USAGE,
		                    "%s: refusing to overwrite an input model (choose another "
		                    "output name)",
		                    path);
	if (strcmp(path, "-") == 0)
		return qs_error_set(err, QS_ERR_USAGE,
		                    "-: models are written to a file (writers seek back), not to "
		                    "stdout");
	return 0;
}

int model_write(const struct model *src, const struct write_opts *o, const char *path,
                struct qs_error *err)
{
	const struct model_format_ops *ops =
	        o->to ? model_format_by_name(o->to) : model_format_by_path(path);
	struct atomic_file af;
	int rc;

	if (!ops)
		return qs_error_set(
		        err, QS_ERR_USAGE,
		        o->to ? "%s: unknown output format '%s'"
		              : "%s: cannot tell the output format from the extension%s",
		        path, o->to ? o->to : "");
	if (!ops->write)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "%s: qscope cannot write %s files",
		                    path, ops->name);
	if ((rc = check_target(src, o, path, err)) != 0 || (rc = atomic_open(&af, path, err)) != 0)
		return rc;
	if ((rc = ops->write(src, o, af.f, path, err)) != 0) {
		atomic_abort(&af);
		return rc;
	}
	return atomic_commit(&af, err);
}
