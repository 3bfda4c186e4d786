/* qs_test.h — helpers shared by the cmocka tests.
 *
 * cmocka 1.1.5 has assert_float_equal but no assert_double_equal:
 * assert_close(a, b, rel, abs) passes when |a − b| ≤ max(abs, rel·|b|)
 * (b is the independent reference value), treating two NaNs and equal
 * infinities as equal, and fails with both values printed otherwise.
 *
 * Fixture files: the helpers below fail the running test (cmocka fail_msg)
 * on any I/O error, so callers need not check them.
 */
#ifndef QS_TEST_H
#define QS_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

void qs_assert_close(double a, double b, double rel, double abs, const char *expr, const char *file,
                     int line);
#define assert_close(a, b, rel, abs) qs_assert_close((a), (b), (rel), (abs), #a, __FILE__, __LINE__)

/* Deterministic generator (SplitMix64) so tests never depend on libc rand. */
struct qs_rng {
	uint64_t s;
};
uint64_t qs_rng_next(struct qs_rng *r);
double qs_rng_uniform(struct qs_rng *r); /* [0, 1) */
double qs_rng_gauss(struct qs_rng *r);   /* N(0, 1), Box–Muller */
double qs_rng_laplace(struct qs_rng *r); /* Laplace(0, 1) */

/* Reference quantiles: sort v ascending (qsort), then the p-th quantile of
 * the sorted values by numpy's default linear interpolation, h = (n − 1)·p. */
void qs_sort_doubles(double *v, size_t n);
double qs_quantile_sorted(const double *v, size_t n, double p);

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); the caller
 * removes it with qs_rmtree. Returns a static buffer per call slot. */
char *qs_tmpdir(void);
void qs_rmtree(const char *path);

/* cmocka group teardown removing the folder a group setup left in *state. */
int qs_group_rmtree(void **state);

/* "dir/name" in one of 8 rotating static buffers (overwritten by the 8th
 * later call). */
char *qs_path(const char *dir, const char *name);

/* The whole of path in a malloc'd buffer (the caller frees) with a NUL byte
 * after its *n bytes. */
void *qs_read_file(const char *path, size_t *n);

/* Write the n bytes at p to path (created or truncated). */
void qs_write_file(const char *path, const void *p, size_t n);
void qs_write_text(const char *path, const char *text); /* strlen(text) bytes */

/* Raw native-endian f64 values (numpy's a.astype('<f8').tofile on this
 * little-endian host): malloc'd, *n values. */
double *qs_read_f64(const char *path, size_t *n);

/* Fail unless got[i] equals (float)want[i] bit for bit (so -0.0 and
 * denormals count) or both are NaN; what names the array in the message. */
void qs_assert_f32_equal(const char *what, const float *got, const double *want, size_t n);

/* Write code to dir/gen.py and run it in dir with $PY (else /usr/bin/python3);
 * returns system()'s status (0 when the script succeeded). */
int qs_run_py(const char *dir, const char *code);

#endif
