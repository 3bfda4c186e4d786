/* Metrics on small vectors worked by hand, the Gaussian entropy closed form,
 * and distribution statistics against GSL's own gsl_stats_* routines. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_sort_float.h>
#include <gsl/gsl_statistics_float.h>

#include "metrics.h"
#include "qs_test.h"
#include "quant.h"

static void finish(const float *x, const float *xh, const bool *clip, size_t n,
                   struct err_metrics *m)
{
	struct err_acc a;
	err_acc_init(&a);
	for (size_t i = 0; i < n; i++)
		err_acc_add(&a, x[i], xh[i], clip ? clip[i] : false);
	metrics_finish(&a, NULL, 0, 0.5, m);
}

/* x = [1,2,3,4], x̂ = [1,2,2,5]: e = [0,0,1,-1]
 *   Σe² = 2 → MSE 0.5, RMSE √0.5 = 0.70710678, MAE 2/4 = 0.5, max 1
 *   Σx² = 30 → SQNR 10·log10(30/2) = 11.7609126 dB
 *   Σx·x̂ = 1+4+6+20 = 31, Σx̂² = 1+4+4+25 = 34 → cos 31/√1020 = 31/31.93744 = 0.970648
 *   one of four clipped → 25 %; RMSE / scale 0.5 = 1.41421356 */
static void test_hand_vector(void **state)
{
	(void)state;
	const float x[4] = {1, 2, 3, 4}, xh[4] = {1, 2, 2, 5};
	const bool clip[4] = {false, false, false, true};
	struct err_metrics m;
	finish(x, xh, clip, 4, &m);
	assert_int_equal(m.n, 4);
	assert_close(m.mse, 0.5, 1e-15, 0);
	assert_close(m.rmse, 0.70710678118654752, 1e-15, 0);
	assert_close(m.mae, 0.5, 1e-15, 0);
	assert_close(m.max_abs_err, 1, 0, 0);
	assert_close(m.sqnr_db, 11.760912590556813, 1e-12, 0);
	assert_close(m.cosine, 31 / sqrt(1020.0), 1e-12, 0);
	assert_close(m.cosine, 0.970648, 0, 1e-6);
	assert_close(m.clipped_pct, 25, 0, 0);
	assert_close(m.rmse_over_scale, 1.4142135623730951, 1e-12, 0);
}

/* Exact, all-zero, sign-flipped and non-finite cases. */
static void test_special_cases(void **state)
{
	(void)state;
	struct err_metrics m;
	const float x[3] = {1, -2, 0.5f};
	finish(x, x, NULL, 3, &m);
	assert_true(isinf(m.sqnr_db) && m.sqnr_db > 0);
	assert_close(m.cosine, 1, 1e-15, 0);
	assert_close(m.mse, 0, 0, 0);

	const float z[2] = {0, 0}, e[2] = {0.5f, 0};
	finish(z, e, NULL, 2, &m); /* Σx² = 0, error 0.25 */
	assert_true(isinf(m.sqnr_db) && m.sqnr_db < 0);
	assert_close(m.cosine, 0, 0, 0);
	finish(z, z, NULL, 2, &m);
	assert_close(m.cosine, 1, 0, 0);
	assert_true(isinf(m.sqnr_db) && m.sqnr_db > 0);

	const float neg[2] = {-1, -2};
	finish(x, neg, NULL, 2, &m); /* x=[1,-2], x̂=[-1,-2]: Σxy = 3, Σx²=5, Σy²=5 */
	assert_close(m.cosine, 0.6, 1e-15, 0);

	/* NaN/inf counted and left out: the rest is [1,2] vs [1,3] */
	const float xb[4] = {1, NAN, INFINITY, 2}, hb[4] = {1, 0, 0, 3};
	finish(xb, hb, NULL, 4, &m);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.n_nan, 1);
	assert_int_equal(m.n_inf, 1);
	assert_close(m.mse, 0.5, 1e-15, 0);
	assert_close(m.sqnr_db, 10 * log10(5.0), 1e-12, 0);

	struct err_acc a;
	err_acc_init(&a);
	metrics_finish(&a, NULL, 0, NAN, &m); /* empty */
	assert_int_equal(m.n, 0);
	assert_close(m.mse, 0, 0, 0);
	assert_true(isinf(m.sqnr_db) && m.sqnr_db > 0);
	assert_true(isnan(m.rmse_over_scale));
}

static void test_merge(void **state)
{
	(void)state;
	const float x[6] = {1, -2, 3, 0.5f, 7, -1}, h[6] = {1.5f, -2, 2, 0.5f, 6, -1.25f};
	struct err_acc all, a, b;
	err_acc_init(&all);
	err_acc_init(&a);
	err_acc_init(&b);
	for (int i = 0; i < 6; i++) {
		err_acc_add(&all, x[i], h[i], i == 4);
		err_acc_add(i < 3 ? &a : &b, x[i], h[i], i == 4);
	}
	err_acc_merge(&a, &b);
	assert_int_equal(a.n, all.n);
	assert_int_equal(a.clipped, 1);
	assert_close(a.se2, all.se2, 1e-15, 0);
	assert_close(a.max_ae, 1.0, 0, 0);
	assert_close(a.sxy, all.sxy, 1e-15, 0);
}

/* Entropy by hand: counts [1,1,2] → p = ¼,¼,½ → 1.5 bits; one level → 0. */
static void test_entropy_levels(void **state)
{
	(void)state;
	const uint64_t c[5] = {1, 0, 1, 2, 0};
	assert_close(metrics_entropy_bits(c, 5), 1.5, 1e-15, 0);
	const uint64_t one[3] = {0, 9, 0};
	assert_close(metrics_entropy_bits(one, 3), 0, 0, 0);
	assert_close(metrics_entropy_bits(NULL, 0), 0, 0, 0);
	const uint64_t u[8] = {3, 3, 3, 3, 3, 3, 3, 3};
	assert_close(metrics_entropy_bits(u, 8), 3, 1e-15, 0);
	struct err_acc a;
	struct err_metrics m;
	err_acc_init(&a);
	metrics_finish(&a, c, 5, NAN, &m);
	assert_int_equal(m.levels_used, 3);
	assert_close(m.entropy_bits, 1.5, 1e-15, 0);
}

/* Gaussian σ = 1 quantized with a fine step Δ: H ≈ h(X) − log2 Δ with
 * h(X) = ½·log2(2πe). */
static void test_gaussian_entropy(void **state)
{
	(void)state;
	enum {
		N = 1000000
	};
	const double delta = 0.01;
	struct scheme s = scheme_default();
	s.bits = 16;
	s.gran = GRAN_TENSOR;
	struct qparam p = quant_param_from_range(&s, -delta * 32767.5, delta * 32767.5);
	int32_t qmin, qmax;
	scheme_code_range(&s, &qmin, &qmax);
	uint64_t *counts = calloc(65536, sizeof *counts);
	struct qs_rng rng = {5};
	assert_non_null(counts);
	assert_close(p.scale, delta, 1e-6, 0);
	for (int i = 0; i < N; i++) {
		int32_t q = quant_one((float)qs_rng_gauss(&rng), &p, qmin, qmax, s.rounding);
		counts[q - qmin]++;
	}
	double h = metrics_entropy_bits(counts, 65536);
	double want = 0.5 * log2(2 * M_PI * M_E) - log2(p.scale);
	print_message("gaussian entropy %.5f bits, closed form %.5f\n", h, want);
	assert_close(h, want, 0, 0.02);
	free(counts);
}

/* Distribution statistics against GSL's float routines on a sorted copy. */
static void test_dist_stats_vs_gsl(void **state)
{
	(void)state;
	enum {
		N = 10001
	};
	float *x = malloc(N * sizeof *x), *s = malloc(N * sizeof *s),
	      *ref = malloc(N * sizeof *ref);
	struct qs_rng rng = {9};
	struct dist_stats d;
	assert_true(x && s && ref);
	for (int i = 0; i < N; i++)
		x[i] = ref[i] = (float)(qs_rng_laplace(&rng) * 0.3 + 0.1);
	metrics_dist_stats(x, N, s, &d);
	double mean = gsl_stats_float_mean(ref, 1, N);
	double sd = gsl_stats_float_sd_m(ref, 1, N, mean);
	assert_int_equal(d.n, N);
	assert_close(d.mean, mean, 1e-9, 0);
	assert_close(d.std, sd, 1e-9, 0);
	assert_close(d.skew, gsl_stats_float_skew_m_sd(ref, 1, N, mean, sd), 1e-7, 0);
	assert_close(d.kurtosis, gsl_stats_float_kurtosis_m_sd(ref, 1, N, mean, sd), 1e-7, 0);
	gsl_sort_float(ref, 1, N);
	assert_close(d.min, ref[0], 0, 0);
	assert_close(d.max, ref[N - 1], 0, 0);
	assert_close(d.p01, gsl_stats_float_quantile_from_sorted_data(ref, 1, N, 0.01), 1e-6, 0);
	assert_close(d.p25, gsl_stats_float_quantile_from_sorted_data(ref, 1, N, 0.25), 1e-6, 0);
	assert_close(d.p50, gsl_stats_float_median_from_sorted_data(ref, 1, N), 1e-6, 0);
	assert_close(d.p75, gsl_stats_float_quantile_from_sorted_data(ref, 1, N, 0.75), 1e-6, 0);
	assert_close(d.p99, gsl_stats_float_quantile_from_sorted_data(ref, 1, N, 0.99), 1e-6, 0);
	assert_close(d.absmax, fmax(fabs(ref[0]), fabs(ref[N - 1])), 0, 0);
	free(x);
	free(s);
	free(ref);
}

/* More than 4096 finite values take the histogram path: Laplace data with NaN/inf
 * mixed in, then the same values rounded to a coarse grid (few distinct
 * values, so the wanted buckets are crowded), against GSL on a sorted copy. */
static void test_dist_stats_large(void **state)
{
	(void)state;
	enum {
		N = 200003
	};
	float *x = malloc(N * sizeof *x), *s = malloc(N * sizeof *s),
	      *ref = malloc(N * sizeof *ref);
	struct qs_rng rng = {17};
	assert_true(x && s && ref);
	for (int pass = 0; pass < 2; pass++) {
		size_t m = 0;
		for (int i = 0; i < N; i++) {
			double v = qs_rng_laplace(&rng);
			x[i] = pass ? (float)(round(v * 4) / 4) : (float)v;
			if (i % 10007 == 3)
				x[i] = i % 2 ? NAN : -INFINITY;
			if (isfinite(x[i]))
				ref[m++] = x[i];
		}
		struct dist_stats d;
		metrics_dist_stats(x, N, s, &d);
		double mean = gsl_stats_float_mean(ref, 1, m);
		double sd = gsl_stats_float_sd_m(ref, 1, m, mean);
		assert_int_equal(d.n, m);
		assert_int_equal(d.n_nan + d.n_inf, N - m);
		assert_close(d.mean, mean, 1e-9, 1e-12);
		assert_close(d.std, sd, 1e-9, 0);
		assert_close(d.kurtosis, gsl_stats_float_kurtosis_m_sd(ref, 1, m, mean, sd), 1e-6,
		             0);
		gsl_sort_float(ref, 1, m);
		const double ps[5] = {0.01, 0.25, 0.5, 0.75, 0.99};
		const double got[5] = {d.p01, d.p25, d.p50, d.p75, d.p99};
		for (int j = 0; j < 5; j++)
			assert_close(got[j],
			             gsl_stats_float_quantile_from_sorted_data(ref, 1, m, ps[j]),
			             1e-12, 0);
		assert_close(d.min, ref[0], 0, 0);
		assert_close(d.max, ref[m - 1], 0, 0);
	}
	free(x);
	free(s);
	free(ref);
}

/* [1,2,3,4] plus NaN, inf, a zero's absence and a denormal, by hand:
 * finite values [4,1,3,2,1e-40]: n 5, mean (10+1e-40)/5 = 2,
 * p50 = 2, p25 = 1 (h = 1), p75 = 3 (h = 3), p01: h = 0.04 → 1e-40 + 0.04·(1 − 1e-40). */
static void test_dist_stats_hand(void **state)
{
	(void)state;
	const float x[8] = {4, NAN, 1, 3, INFINITY, 2, 1e-40f, -INFINITY};
	float s[8];
	struct dist_stats d;
	metrics_dist_stats(x, 8, s, &d);
	assert_int_equal(d.n, 5);
	assert_int_equal(d.n_nan, 1);
	assert_int_equal(d.n_inf, 2);
	assert_int_equal(d.n_denormal, 1);
	assert_int_equal(d.n_zero, 0);
	assert_close(d.mean, 2, 1e-12, 0);
	assert_close(d.std, sqrt(10 / 4.0), 1e-7, 0); /* Σ(x−2)² = 4+1+1+0+4 = 10 */
	assert_close(d.p50, 2, 0, 0);
	assert_close(d.p25, 1, 0, 0);
	assert_close(d.p75, 3, 0, 0);
	assert_close(d.p01, 0.04, 1e-6, 0);
	assert_close(d.min, 1e-40f, 0, 0);
	assert_close(d.absmax, 4, 0, 0);

	const float one[1] = {-3};
	metrics_dist_stats(one, 1, s, &d);
	assert_close(d.mean, -3, 0, 0);
	assert_close(d.std, 0, 0, 0);
	assert_true(isnan(d.skew) && isnan(d.kurtosis));
	assert_close(d.p01, -3, 0, 0);
	assert_close(d.p99, -3, 0, 0);

	const float cst[3] = {0, 0, 0};
	metrics_dist_stats(cst, 3, s, &d);
	assert_int_equal(d.n_zero, 3);
	assert_close(d.std, 0, 0, 0);
	assert_true(isnan(d.kurtosis));

	metrics_dist_stats(NULL, 0, s, &d);
	assert_int_equal(d.n, 0);
	assert_true(isnan(d.mean) && isnan(d.p50) && isnan(d.min));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hand_vector),
	        cmocka_unit_test(test_special_cases),
	        cmocka_unit_test(test_merge),
	        cmocka_unit_test(test_entropy_levels),
	        cmocka_unit_test(test_gaussian_entropy),
	        cmocka_unit_test(test_dist_stats_vs_gsl),
	        cmocka_unit_test(test_dist_stats_hand),
	        cmocka_unit_test(test_dist_stats_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
