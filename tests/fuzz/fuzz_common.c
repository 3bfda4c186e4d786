/* memmem, O_TMPFILE */
#define _GNU_SOURCE

#include "fuzz_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../analysis/analyze.h"

/* Caps that keep one input fast: decode tensors up to this many elements,
 * and analyse the first few small ones (the analysis is not what is being
 * fuzzed; it only has to survive what the readers let through). */
#define FUZZ_DECODE_MAX      (1u << 16)
#define FUZZ_ANALYSE_MAX     1024u
#define FUZZ_ANALYSE_TENSORS 2
#define FUZZ_FIND_MAX        256u /* tensors whose model_find is checked */

static char scratch[PATH_MAX];
static size_t scratch_len;
static bool guard; /* a reader is running: check the files it opens */

_Noreturn void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static void scratch_remove(void)
{
	if (scratch[0]) {
		fuzz_clear();
		rmdir(scratch);
	}
}

const char *fuzz_dir(void)
{
	if (!scratch[0]) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		char tmpl[PATH_MAX];

		snprintf(tmpl, sizeof tmpl, "%s/qsfuzz.XXXXXX", base);
		if (!mkdtemp(tmpl))
			fuzz_fail("mkdtemp %s: %s", tmpl, strerror(errno));
		if (!realpath(tmpl, scratch))
			fuzz_fail("realpath %s: %s", tmpl, strerror(errno));
		scratch_len = strlen(scratch);
		atexit(scratch_remove);
	}
	return scratch;
}

const char *fuzz_write(const char *name, const uint8_t *data, size_t len)
{
	static char paths[4][PATH_MAX];
	static int slot;
	char *path = paths[slot++ % 4];
	FILE *f;

	snprintf(path, PATH_MAX, "%s/%s", fuzz_dir(), name);
	f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		fuzz_fail("writing %s: %s", path, strerror(errno));
	return path;
}

static void remove_tree(const char *dir, bool self)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (unlink(path) != 0 && (errno == EISDIR || errno == EPERM))
			remove_tree(path, true);
	}
	closedir(d);
	if (self)
		rmdir(dir);
}

void fuzz_clear(void)
{
	remove_tree(fuzz_dir(), false);
}

size_t fuzz_split(const uint8_t *data, size_t len, const uint8_t **part, size_t *plen,
                  size_t maxparts)
{
	size_t n = 0;

	while (n + 1 < maxparts) {
		const uint8_t *sep = memmem(data, len, FUZZ_SEP, FUZZ_SEP_LEN);

		if (!sep)
			break;
		part[n] = data;
		plen[n++] = (size_t)(sep - data);
		len -= (size_t)(sep - data) + FUZZ_SEP_LEN;
		data = sep + FUZZ_SEP_LEN;
	}
	part[n] = data;
	plen[n++] = len;
	return n;
}

/* ---- file mappings (linked with -Wl,--wrap=mmap,--wrap=munmap) --------- */

/* A read-only file mapping is replaced by a copy whose last byte sits right
 * before an inaccessible guard page (and with one before its first byte):
 * a reader that reads even one byte past the end of the file, or before its
 * start, faults at once instead of reading the zeros that pad a real
 * mapping's last page. The copy is not page aligned, so a reader that
 * loads multi-byte values through casts instead of memcpy trips UBSan's
 * alignment check as it would on a real file with an odd offset. */
struct mapping {
	const uint8_t *base; /* what the reader got */
	size_t valid;        /* bytes backed by the file */
	uint8_t *region;     /* guard + copy + guard, NULL for a real mapping */
	size_t region_len;
};

static struct mapping maps[256];

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static struct mapping *map_slot(void)
{
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
		if (!maps[i].base)
			return &maps[i];
	fuzz_fail("more than %zu file mappings at once", sizeof maps / sizeof maps[0]);
}

static void *guarded_copy(int fd, off_t off, size_t n, struct mapping *m)
{
	size_t pg = page_size(), body = (n + pg - 1) / pg * pg;
	uint8_t *r =
	        __real_mmap(NULL, body + 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *base;

	if (r == MAP_FAILED)
		return MAP_FAILED;
	if (mprotect(r + pg, body, PROT_READ | PROT_WRITE) != 0)
		fuzz_fail("mprotect: %s", strerror(errno));
	base = r + pg + body - n;
	for (size_t got = 0; got < n;) {
		ssize_t k = pread(fd, base + got, n - got, off + (off_t)got);

		if (k <= 0)
			fuzz_fail("pread: %s", k ? strerror(errno) : "short file");
		got += (size_t)k;
	}
	mprotect(r + pg, body, PROT_READ);
	*m = (struct mapping){.base = base, .valid = n, .region = r, .region_len = body + 2 * pg};
	return base;
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct stat st;
	struct mapping *m;
	void *p;

	if (fd < 0 || (flags & MAP_ANONYMOUS) || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return __real_mmap(addr, len, prot, flags, fd, off);
	m = map_slot();
	if (!addr && prot == PROT_READ && off >= 0 && st.st_size > off)
		return guarded_copy(
		        fd, off,
		        len < (size_t)(st.st_size - off) ? len : (size_t)(st.st_size - off), m);
	p = __real_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED)
		*m = (struct mapping){.base = p,
		                      .valid = st.st_size > off ? (size_t)(st.st_size - off) : 0};
	return p;
}

int __wrap_munmap(void *addr, size_t len)
{
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
		struct mapping *m = &maps[i];

		if (!m->base || m->base != addr)
			continue;
		m->base = NULL;
		if (m->region)
			return __real_munmap(m->region, m->region_len);
	}
	return __real_munmap(addr, len);
}

static void check_in_file(const char *what, const char *name, const void *ptr, size_t n)
{
	const uint8_t *p = ptr;

	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
		const struct mapping *m = &maps[i];
		size_t span = (m->valid + page_size() - 1) / page_size() * page_size();

		if (!m->base || p < m->base || p >= m->base + span)
			continue;
		if ((size_t)(p - m->base) > m->valid || n > m->valid - (size_t)(p - m->base))
			fuzz_fail("tensor '%s': %s [%zu, +%zu) runs past the file's %zu bytes",
			          name, what, (size_t)(p - m->base), n, m->valid);
		return;
	}
}

/* ---- opened paths (linked with --wrap=open,open64,openat,fopen,fopen64) - */

int __real_open(const char *path, int flags, ...);
int __real_open64(const char *path, int flags, ...);
int __real_openat(int dirfd, const char *path, int flags, ...);
FILE *__real_fopen(const char *path, const char *mode);
FILE *__real_fopen64(const char *path, const char *mode);

static void check_path(int dirfd, const char *path)
{
	char real[PATH_MAX];

	if (!guard || !path)
		return;
	if (path[0] != '/' && dirfd == AT_FDCWD)
		fuzz_fail("a reader opened '%s', relative to the working folder, not the model's",
		          path);
	if (path[0] != '/')
		return; /* relative to a folder the reader opened itself */
	if (!realpath(path, real))
		return; /* does not exist: nothing read */
	if (!strncmp(real, "/proc/", 6) || !strncmp(real, "/sys/", 5))
		return;
	if (strncmp(real, scratch, scratch_len) != 0 || real[scratch_len] != '/')
		fuzz_fail("a reader opened '%s' (%s), outside the model's folder", path, real);
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	check_path(AT_FDCWD, path);
	return __real_open(path, flags, mode);
}

int __wrap_open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	check_path(AT_FDCWD, path);
	return __real_open64(path, flags, mode);
}

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	check_path(dirfd, path);
	return __real_openat(dirfd, path, flags, mode);
}

FILE *__wrap_fopen(const char *path, const char *mode)
{
	check_path(AT_FDCWD, path);
	return __real_fopen(path, mode);
}

FILE *__wrap_fopen64(const char *path, const char *mode)
{
	check_path(AT_FDCWD, path);
	return __real_fopen64(path, mode);
}

/* ---- the model walk ---------------------------------------------------- */

static void check_error(int rc, const struct qs_error *err, const char *what)
{
	if (rc >= 0)
		fuzz_fail("%s: status %d is not an error", what, rc);
	if (!err->msg[0])
		fuzz_fail("%s failed (%d) with an empty message", what, rc);
	if (strchr(err->msg, '\n'))
		fuzz_fail("%s: message is not one line: %s", what, err->msg);
}

static uint64_t check_shape(const struct model_tensor *t)
{
	uint64_t n = 1;
	bool empty = false;

	if (t->ndim < 0 || t->ndim > QS_MAX_DIMS)
		fuzz_fail("tensor '%s': ndim %d", t->name, t->ndim);
	for (int d = 0; d < t->ndim; d++) {
		if (t->shape[d] < 0)
			fuzz_fail("tensor '%s': dim %d is %lld", t->name, d,
			          (long long)t->shape[d]);
		empty |= t->shape[d] == 0;
	}
	/* an empty tensor may have other huge dims; its product is 0 */
	for (int d = 0; d < t->ndim && !empty; d++)
		if (__builtin_mul_overflow(n, (uint64_t)t->shape[d], &n))
			fuzz_fail("tensor '%s': shape product overflows", t->name);
	if (empty)
		n = 0;
	if (n != t->nelem)
		fuzz_fail("tensor '%s': nelem %llu but the shape holds %llu", t->name,
		          (unsigned long long)t->nelem, (unsigned long long)n);
	return n;
}

static void check_bytes(const struct model_tensor *t)
{
	size_t need;

	if (!t->data)
		return;
	if (t->block) {
		uint64_t be = t->block->block_elems ? t->block->block_elems : 1;
		uint64_t nb = (t->nelem + be - 1) / be;

		if (__builtin_mul_overflow(nb, (uint64_t)t->block->block_bytes, &need))
			fuzz_fail("tensor '%s': block bytes overflow", t->name);
	} else if (!dtype_nbytes(t->dtype, t->nelem, &need)) {
		fuzz_fail("tensor '%s': %llu elements overflow size_t", t->name,
		          (unsigned long long)t->nelem);
	}
	if (t->nbytes < need)
		fuzz_fail("tensor '%s': nbytes %zu < %zu needed for %llu %s elements", t->name,
		          t->nbytes, need, (unsigned long long)t->nelem, dtype_name(t->dtype));
	check_in_file("data", t->name, t->data, t->nbytes);
}

static void check_quant(const struct model_tensor *t)
{
	const struct tensor_quant *q = t->quant;
	volatile float sink = 0;

	if (!q)
		return;
	if (q->layout.n != t->nelem)
		fuzz_fail("tensor '%s': quant layout covers %llu of %llu elements", t->name,
		          (unsigned long long)q->layout.n, (unsigned long long)t->nelem);
	if (q->layout.ngroups && (!q->scale || !q->zero_point))
		fuzz_fail("tensor '%s': %llu groups without scales", t->name,
		          (unsigned long long)q->layout.ngroups);
	if (q->layout.ngroups) {
		sink += q->scale[q->layout.ngroups - 1];
		sink += (float)q->zero_point[q->layout.ngroups - 1];
	}
	if (q->qmin > q->qmax)
		fuzz_fail("tensor '%s': qmin %d > qmax %d", t->name, q->qmin, q->qmax);
	(void)sink;
}

static void check_facts(const struct model_tensor *t)
{
	volatile float sink = 0;

	if (t->facts.op_type)
		sink += (float)strlen(t->facts.op_type);
	if (t->facts.bias && t->facts.nbias) {
		check_in_file("bias", t->name, t->facts.bias, t->facts.nbias * sizeof(float));
		sink += t->facts.bias[0] + t->facts.bias[t->facts.nbias - 1];
	}
	(void)sink;
}

static void analyse(const struct model_tensor *t, const float *x)
{
	struct qspec spec = {.qt = NULL, .scheme = scheme_default()};
	struct tensor_result r;
	struct qs_error err = {0};

	memset(&r, 0, sizeof r);
	spec.method.kind = METHOD_MINMAX;
	if (analyze_simulate(x, t->shape, t->ndim, &spec, &t->facts, &r, NULL, NULL, &err) == 0)
		tensor_result_free(&r);
}

static void decode(const struct model *m, const struct model_tensor *t, uint64_t *budget,
                   int *analyses)
{
	struct qs_error err = {0};
	float *x;
	int rc;

	if (t->nelem == 0 || t->nelem > FUZZ_DECODE_MAX || t->nelem > *budget)
		return;
	*budget -= t->nelem;
	x = malloc(t->nelem * sizeof *x);
	if (!x)
		fuzz_fail("out of memory");
	guard = true;
	rc = model_tensor_to_f32(m, t, x, &err);
	guard = false;
	if (rc != 0)
		check_error(rc, &err, "model_tensor_to_f32");
	else if (model_tensor_analysable(t) && t->nelem <= FUZZ_ANALYSE_MAX &&
	         (*analyses)++ < FUZZ_ANALYSE_TENSORS)
		analyse(t, x);
	if (t->quant || t->block) {
		int32_t *q = malloc(t->nelem * sizeof *q);

		if (!q)
			fuzz_fail("out of memory");
		rc = model_tensor_codes(m, t, q, &err);
		if (rc != 0)
			check_error(rc, &err, "model_tensor_codes");
		free(q);
	}
	free(x);
}

static void walk(const struct model *m)
{
	uint64_t budget = 1u << 20;
	int analyses = 0;

	if (m->ntensors && !m->tensors)
		fuzz_fail("%zu tensors but no array", m->ntensors);
	for (size_t i = 0; i < m->ntensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		int64_t at;

		if (!t->name)
			fuzz_fail("tensor %zu has no name", i);
		if ((unsigned)t->dtype >= DTYPE_COUNT)
			fuzz_fail("tensor '%s': dtype %d", t->name, (int)t->dtype);
		check_shape(t);
		check_bytes(t);
		check_quant(t);
		check_facts(t);
		/* model_find is a linear scan: checking it for every tensor of an
		 * input with 10^4 tensors would time the harness out, not the reader */
		at = i < FUZZ_FIND_MAX ? model_find(m, t->name) : (int64_t)i;
		if (at < 0 || (size_t)at >= m->ntensors || strcmp(m->tensors[at].name, t->name))
			fuzz_fail("model_find('%s') = %lld", t->name, (long long)at);
		decode(m, t, &budget, &analyses);
	}
}

void fuzz_model(const char *path)
{
	struct model *m = NULL;
	struct qs_error err = {0};
	struct pairing pr = {0};
	int rc;

	guard = true;
	rc = model_load(path, &m, &err);
	guard = false;
	if (getenv("QS_FUZZ_VERBOSE"))
		fprintf(stderr, "fuzz: %s: %s (%zu tensors)\n", path, rc ? err.msg : "loaded",
		        m ? m->ntensors : 0);
	if (rc != 0) {
		check_error(rc, &err, "model_load");
		if (m)
			fuzz_fail("model_load failed but returned a model");
		return;
	}
	if (!m)
		fuzz_fail("model_load succeeded without a model");
	walk(m);
	rc = model_pair(m, m, &pr, &err);
	if (rc == 0)
		pairing_free(&pr);
	else
		check_error(rc, &err, "model_pair");
	model_free(m);
}
