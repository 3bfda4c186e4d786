#include "qs_test.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void qs_assert_close(double a, double b, double rel, double abs, const char *expr, const char *file,
                     int line)
{
	double tol = fmax(abs, rel * fabs(b));

	if (isnan(a) && isnan(b))
		return;
	if (isinf(a) || isinf(b)) {
		if (a == b)
			return;
	} else if (fabs(a - b) <= tol) {
		return;
	}
	print_error("%s = %.17g, expected %.17g (tolerance %.3g)\n", expr, a, b, tol);
	_fail(file, line);
}

uint64_t qs_rng_next(struct qs_rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

double qs_rng_uniform(struct qs_rng *r)
{
	return (double)(qs_rng_next(r) >> 11) * 0x1.0p-53;
}

double qs_rng_gauss(struct qs_rng *r)
{
	double u1 = qs_rng_uniform(r), u2 = qs_rng_uniform(r);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double qs_rng_laplace(struct qs_rng *r)
{
	double u = qs_rng_uniform(r) - 0.5;
	double a = 1.0 - 2.0 * fabs(u);
	if (a < 1e-300)
		a = 1e-300;
	return (u < 0 ? 1.0 : -1.0) * log(a);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void qs_sort_doubles(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
}

double qs_quantile_sorted(const double *v, size_t n, double p)
{
	double h = (double)(n - 1) * p, f = floor(h);
	size_t i = (size_t)f;
	return i + 1 < n ? v[i] + (h - f) * (v[i + 1] - v[i]) : v[i];
}

char *qs_tmpdir(void)
{
	static char bufs[8][256];
	static int slot;
	char *b = bufs[slot++ % 8];
	const char *t = getenv("TMPDIR");

	snprintf(b, 256, "%s/qscope-test-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(b);
}

void qs_rmtree(const char *path)
{
	char cmd[512];

	if (!path || !*path || strchr(path, '\''))
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", path);
}

int qs_group_rmtree(void **state)
{
	qs_rmtree(*state);
	return 0;
}

char *qs_path(const char *dir, const char *name)
{
	static char bufs[8][512];
	static int slot;
	char *b = bufs[slot++ % 8];

	snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
	return b;
}

void *qs_read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	long len = -1;
	char *b = NULL;

	if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
		b = malloc((size_t)len + 1);
	if (!b || fread(b, 1, (size_t)len, f) != (size_t)len) {
		fail_msg("%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	fclose(f);
	b[len] = 0;
	*n = (size_t)len;
	return b;
}

void qs_write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	if (fwrite(p, 1, n, f) != n || fclose(f) != 0)
		fail_msg("%s: write failed", path);
}

void qs_write_text(const char *path, const char *text)
{
	qs_write_file(path, text, strlen(text));
}

double *qs_read_f64(const char *path, size_t *n)
{
	double *v = qs_read_file(path, n);

	*n /= sizeof *v;
	return v;
}

void qs_assert_f32_equal(const char *what, const float *got, const double *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float w = (float)want[i];
		if (!(isnan(w) && isnan(got[i])) && memcmp(&w, &got[i], sizeof w) != 0)
			fail_msg("%s[%zu] = %.9g, numpy says %.17g", what, i, got[i], want[i]);
	}
}

int qs_run_py(const char *dir, const char *code)
{
	const char *py = getenv("PY");
	char cmd[1200];

	qs_write_file(qs_path(dir, "gen.py"), code, strlen(code));
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' gen.py", dir,
	         py && *py ? py : "/usr/bin/python3");
	return system(cmd);
}
