/* qs_test.h — helpers shared by the cmocka tests.
 *
 * cmocka 1.1.5 has assert_float_equal but no assert_double_equal:
 * assert_close(a, b, rel, abs) passes when |a − b| ≤ max(abs, rel·|b|)
 * (b is the independent reference value), treating two NaNs and equal
 * infinities as equal, and fails with both values printed otherwise.
 */
#ifndef QS_TEST_H
#define QS_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

void qs_assert_close(double a, double b, double rel, double abs, const char *expr,
		     const char *file, int line);
#define assert_close(a, b, rel, abs) qs_assert_close((a), (b), (rel), (abs), #a, __FILE__, __LINE__)

/* Deterministic generator (SplitMix64) so tests never depend on libc rand. */
struct qs_rng {
	uint64_t s;
};
uint64_t qs_rng_next(struct qs_rng *r);
double qs_rng_uniform(struct qs_rng *r);  /* [0, 1) */
double qs_rng_gauss(struct qs_rng *r);    /* N(0, 1), Box–Muller */
double qs_rng_laplace(struct qs_rng *r);  /* Laplace(0, 1) */

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); the caller
 * removes it with qs_rmtree. Returns a static buffer per call slot. */
char *qs_tmpdir(void);
void qs_rmtree(const char *path);

#endif
