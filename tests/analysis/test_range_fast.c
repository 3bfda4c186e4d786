/* The fast range searches against exact searches written here: mse against
 * a brute-force scale scan (every zero point for affine), kl against the
 * exhaustive all-candidates KL written from range.h's description, and
 * percentile against the quantile of a sorted copy. Gaussian, Laplace,
 * outlier and skewed groups of 32..16384 values, 2..8 bits, symmetric and
 * affine. The bounds are the measured worst cases plus a small margin
 * (range.h states them). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "qs_test.h"
#include "range.h"

/* mse error / brute-force error, worst allowed (measured worst in range.h:
 * 1.0005 on values, 1.0022 on histograms, 1.076 on 32 values at 8 bits,
 * where the best scales are isolated dips narrower than 0.1 % of s) */
#define MSE_BOUND_EXACT 1.003 /* groups searched on their values (n ≤ 1024) */
#define MSE_BOUND_HIST  1.003 /* histogram model + refinement (n > 1024) */
#define MSE_BOUND_TINY  1.10  /* n ≤ 64 at 7..8 bits */
#define KL_BOUND        1e-9  /* relative excess over the exhaustive minimum */

static double gen_gauss(struct qs_rng *r)
{
	return qs_rng_gauss(r);
}

static double gen_laplace(struct qs_rng *r)
{
	return qs_rng_laplace(r);
}

static double gen_outlier(struct qs_rng *r)
{
	double u = qs_rng_uniform(r);
	return u < 0.01 ? 30.0 * (u < 0.005 ? -1 : 1) + qs_rng_gauss(r) : qs_rng_gauss(r);
}

static double gen_skewed(struct qs_rng *r)
{
	return 0.3 + fabs(qs_rng_laplace(r));
}

struct gen {
	const char *name;
	double (*f)(struct qs_rng *);
};

static const struct gen gens[] = {{"gauss", gen_gauss},
                                  {"laplace", gen_laplace},
                                  {"outlier", gen_outlier},
                                  {"skewed", gen_skewed}};

enum {
	NGEN = sizeof gens / sizeof *gens
};

static float *fill(size_t n, uint64_t seed, double (*f)(struct qs_rng *))
{
	struct qs_rng r = {seed};
	float *x = malloc(n * sizeof *x);

	assert_non_null(x);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)f(&r);
	return x;
}

static struct scheme make_scheme(int bits, bool symmetric)
{
	struct scheme s = scheme_default();
	s.bits = bits;
	s.gran = GRAN_TENSOR;
	s.symmetric = symmetric;
	s.is_signed = symmetric;
	return s;
}

static struct qparam choose(const struct method *m, const struct scheme *s, const float *x,
                            size_t n)
{
	struct qparam p;
	struct qs_error err = {0};
	float *scratch = malloc(n * sizeof *scratch);

	assert_non_null(scratch);
	assert_int_equal(range_choose(m, s, x, n, scratch, &p, &err), 0);
	free(scratch);
	return p;
}

/* ---- mse ------------------------------------------------------------------- */

/* Squared error at float scale sc and zero point z, quantized by the quant.h
 * contract (float32 x/s, half to even, clamp, float32 (q − z)·s); stops once
 * past `stop`. */
static double sse_at(const float *x, size_t n, float sc, int32_t z, int32_t qmin, int32_t qmax,
                     double stop)
{
	double e = 0.0;

	for (size_t i = 0; i < n && e < stop; i++) {
		float q = nearbyintf(x[i] / sc) + (float)z;
		q = q < qmin ? (float)qmin : q > qmax ? (float)qmax : q;
		double d = (double)x[i] - (double)((q - (float)z) * sc);
		e += d * d;
	}
	return e;
}

/* Best error over zero points [zlo, zhi] and `steps` scales in
 * (0, 1.5·smax]. */
static double brute_sse(const float *x, size_t n, int32_t qmin, int32_t qmax, int32_t zlo,
                        int32_t zhi, double smax, int steps)
{
	double best = DBL_MAX;

	for (int32_t z = zlo; z <= zhi; z++)
		for (int k = 1; k <= steps; k++) {
			double e =
			        sse_at(x, n, (float)(1.5 * smax * k / steps), z, qmin, qmax, best);
			best = e < best ? e : best;
		}
	return best;
}

struct worst {
	double exact, hist;
};

static void mse_case(const struct gen *g, size_t n, int bits, bool symmetric, int steps,
                     struct worst *w)
{
	float *x = fill(n, 7000 + 31 * n + bits, g->f);
	struct scheme s = make_scheme(bits, symmetric);
	struct method mm = {.kind = METHOD_MINMAX}, me = {.kind = METHOD_MSE};
	struct qparam pm = choose(&mm, &s, x, n), pe = choose(&me, &s, x, n);
	int32_t qmin, qmax;

	scheme_code_range(&s, &qmin, &qmax);
	int32_t z0 = symmetric ? pm.zero_point : qmin, z1 = symmetric ? pm.zero_point : qmax;
	double eb = brute_sse(x, n, qmin, qmax, z0, z1, pm.scale, steps);
	double ee = range_sse(&s, &pe, x, n);
	double r = ee / eb, bound = n <= 1024 ? MSE_BOUND_EXACT : MSE_BOUND_HIST;
	if (n <= 64 && bits >= 7)
		bound = MSE_BOUND_TINY;
	double *slot = n <= 1024 ? &w->exact : &w->hist;

	*slot = r > *slot ? r : *slot;
	if (r > bound)
		print_error("mse %s n=%zu %d-bit %s: %.9g vs brute force %.9g (ratio %.5f)\n",
		            g->name, n, bits, symmetric ? "sym" : "affine", ee, eb, r);
	assert_true(r <= bound);
	free(x);
}

static void test_mse_symmetric(void **state)
{
	static const size_t sizes[] = {32, 128, 1024, 4096, 16384};
	struct worst w = {0};

	(void)state;
	for (size_t g = 0; g < NGEN; g++)
		for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
			for (int bits = 2; bits <= 8; bits++)
				mse_case(&gens[g], sizes[k], bits, true,
				         sizes[k] > 1024 ? 600 : 3000, &w);
	print_message("mse symmetric worst ratio: values %.5f, histogram %.5f\n", w.exact, w.hist);
}

/* Affine: every zero point, so fewer scales and bits. */
static void test_mse_affine(void **state)
{
	static const size_t sizes[] = {32, 128, 1024, 4096, 16384};
	struct worst w = {0};

	(void)state;
	for (size_t g = 0; g < NGEN; g++)
		for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
			for (int bits = 2; bits <= (sizes[k] > 1024 ? 4 : 5); bits++)
				mse_case(&gens[g], sizes[k], bits, false,
				         sizes[k] > 1024  ? 150
				         : sizes[k] > 128 ? 300
				                          : 1500,
				         &w);
	/* 8 bits on one large size, with a coarser scan */
	for (size_t g = 0; g < NGEN; g++)
		mse_case(&gens[g], 4096, 8, false, 100, &w);
	print_message("mse affine worst ratio: values %.5f, histogram %.5f\n", w.exact, w.hist);
}

/* ---- kl -------------------------------------------------------------------- */

/* Histogram bins per range.h: n/4, at least 2 per target bin, at most
 * 2048. */
static size_t kl_bins_ref(size_t n, size_t t)
{
	size_t b = n / 4;
	b = b > 2 * t ? b : 2 * t;
	return b < 2048 ? b : 2048;
}

/* KL(P‖Q) of candidate i, built bin by bin as range.h describes. */
static double kl_of(const double *h, size_t bins, size_t i, size_t t)
{
	double *pv = calloc(i, sizeof *pv), *qv = calloc(i, sizeof *qv), ps = 0.0, qs = 0.0,
	       d = 0.0;
	size_t per = i / t;

	assert_true(pv && qv);
	for (size_t k = 0; k < i; k++)
		pv[k] = h[k];
	for (size_t k = i; k < bins; k++)
		pv[i - 1] += h[k];
	for (size_t b = 0; b < t; b++) {
		size_t a = b * per, e = b + 1 == t ? i : (b + 1) * per;
		double cnt = 0.0, nnz = 0.0;
		for (size_t k = a; k < e; k++) {
			cnt += h[k];
			nnz += pv[k] > 0.0;
		}
		for (size_t k = a; k < e; k++)
			if (pv[k] > 0.0)
				qv[k] = cnt > 0.0 ? cnt / nnz : 1e-4;
	}
	for (size_t k = 0; k < i; k++) {
		ps += pv[k];
		qs += qv[k];
	}
	for (size_t k = 0; k < i; k++)
		if (pv[k] > 0.0)
			d += pv[k] / ps * log((pv[k] / ps) / (qv[k] / qs));
	free(pv);
	free(qv);
	return d;
}

static void kl_case(const struct gen *g, size_t n, int bits, double *worst)
{
	float *x = fill(n, 9000 + n + bits, g->f);
	struct scheme s = make_scheme(bits, true);
	struct method m = {.kind = METHOD_KL};
	struct qparam p = choose(&m, &s, x, n);
	int32_t qmin, qmax;
	double amax = 0.0, total = (double)n;

	scheme_code_range(&s, &qmin, &qmax);
	size_t t = (size_t)(qmax - qmin + 1) / 2, bins = kl_bins_ref(n, t);
	for (size_t i = 0; i < n; i++)
		amax = fmax(amax, fabs(x[i]));
	if (t >= bins) {
		free(x);
		return;
	}
	double *h = calloc(bins, sizeof *h);
	assert_non_null(h);
	for (size_t i = 0; i < n; i++) {
		size_t k = (size_t)(fabs((double)x[i]) / amax * (double)bins);
		h[k < bins ? k : bins - 1] += 1.0;
	}
	double best = DBL_MAX, below = 0.0;
	for (size_t k = 0; k < t; k++)
		below += h[k];
	for (size_t i = t; i <= bins; i++) {
		if (i > t)
			below += h[i - 1];
		if (below < 0.5 * total)
			continue;
		double d = kl_of(h, bins, i, t);
		best = d < best ? d : best;
	}
	/* the chosen threshold's bin, from scale = T / ((qmax − qmin)/2) */
	double thr = (double)p.scale * (qmax - qmin) / 2.0;
	size_t ic = (size_t)llround(thr / amax * (double)bins);
	assert_true(ic >= t && ic <= bins);
	double dc = kl_of(h, bins, ic, t), ex = (dc - best) / fmax(best, 1e-300);
	*worst = ex > *worst ? ex : *worst;
	if (ex > KL_BOUND)
		print_error("kl %s n=%zu %d-bit: bin %zu KL %.12g, exhaustive minimum %.12g\n",
		            g->name, n, bits, ic, dc, best);
	assert_true(ex <= KL_BOUND);
	free(h);
	free(x);
}

static void test_kl_exhaustive(void **state)
{
	static const size_t sizes[] = {32, 128, 1024, 4096, 16384};
	double worst = 0.0;

	(void)state;
	for (size_t g = 0; g < NGEN; g++)
		for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
			for (int bits = 2; bits <= 8; bits += 2)
				kl_case(&gens[g], sizes[k], bits, &worst);
	print_message("kl worst relative excess over the exhaustive minimum: %.3g\n", worst);
}

/* ---- percentile -------------------------------------------------------------- */

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* numpy's default ("linear") quantile of a sorted copy. */
static double quantile_sorted(const float *x, size_t n, double f, bool absval)
{
	float *v = malloc(n * sizeof *v);

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = absval ? fabsf(x[i]) : x[i];
	qsort(v, n, sizeof *v, cmp_float);
	double h = (double)(n - 1) * f, lo = v[(size_t)h];
	size_t i = (size_t)h;
	double q = i + 1 < n ? lo + (h - (double)i) * ((double)v[i + 1] - lo) : lo;
	free(v);
	return q;
}

static void test_percentile_sorted(void **state)
{
	static const size_t sizes[] = {32, 128, 1024, 4096, 16384};
	static const double pcts[] = {50.0, 99.0, 99.9, 99.99};

	(void)state;
	for (size_t g = 0; g < NGEN; g++)
		for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
			for (size_t q = 0; q < sizeof pcts / sizeof *pcts; q++) {
				size_t n = sizes[k];
				float *x = fill(n, 500 + n, gens[g].f);
				struct method m = {.kind = METHOD_PERCENTILE,
				                   .percentile = pcts[q]};
				struct scheme sy = make_scheme(8, true), af = make_scheme(8, false);
				double f = pcts[q] / 100.0;
				double a = quantile_sorted(x, n, f, true);
				struct qparam p = choose(&m, &sy, x, n);
				assert_close(p.scale, (float)(a / 127.5), 1e-6, 0.0);
				double lo =
				        fmin(quantile_sorted(x, n, (1.0 - f) / 2.0, false), 0.0);
				double hi =
				        fmax(quantile_sorted(x, n, (1.0 + f) / 2.0, false), 0.0);
				p = choose(&m, &af, x, n);
				assert_close(p.scale, (float)((hi - lo) / 255.0), 1e-6, 0.0);
				free(x);
			}
}

/* Large groups with degenerate spreads: one value a float step above the
 * rest, a denormal among zeros, and a mix of tiny and ordinary values. */
static void test_percentile_edges(void **state)
{
	enum {
		N = 2000
	};
	float *x = malloc(N * sizeof *x);
	struct method m = {.kind = METHOD_PERCENTILE, .percentile = 99.0};
	struct scheme sy = make_scheme(8, true), af = make_scheme(8, false);

	(void)state;
	assert_non_null(x);
	for (int c = 0; c < 3; c++) {
		for (size_t i = 0; i < N; i++)
			x[i] = c == 0   ? 1.0f
			       : c == 1 ? 0.0f
			                : (i % 3 ? 1e-30f * (float)i : -(float)i);
		if (c == 0)
			x[7] = nextafterf(1.0f, 2.0f);
		if (c == 1)
			x[3] = 1e-44f;
		/* an empty range gets scale 1 (no floor in this scheme) */
		double a = quantile_sorted(x, N, 0.99, true);
		struct qparam p = choose(&m, &sy, x, N);
		assert_close(p.scale, a > 0.0 ? (float)(a / 127.5) : 1.0f, 1e-6, 0.0);
		double lo = fmin(quantile_sorted(x, N, 0.005, false), 0.0);
		double hi = fmax(quantile_sorted(x, N, 0.995, false), 0.0);
		p = choose(&m, &af, x, N);
		assert_close(p.scale, hi > lo ? (float)((hi - lo) / 255.0) : 1.0f, 1e-6, 0.0);
	}
	free(x);
}

/* Every method on large groups with degenerate spreads (a float step above
 * a constant, denormals among zeros, one denormal among zeros, a spread
 * wider than FLT_MAX): a finite positive scale, and mse no worse than
 * minmax. */
static void test_degenerate_large(void **state)
{
	enum {
		N = 3000
	};
	float *x = malloc(N * sizeof *x);

	(void)state;
	assert_non_null(x);
	for (int c = 0; c < 4; c++) {
		for (size_t i = 0; i < N; i++)
			x[i] = c == 0   ? 1.0f
			       : c == 1 ? (i % 5 ? 0.0f : 1e-44f * (float)(i % 7))
			       : c == 2 ? 0.0f
			                : 3e38f * ((float)((int)(i % 201) - 100) / 100.0f);
		if (c == 0)
			x[7] = nextafterf(1.0f, 2.0f);
		if (c == 2)
			x[11] = 1e-40f;
		for (int sym = 0; sym < 2; sym++) {
			struct scheme s = make_scheme(4, sym);
			double emm = 0.0;
			for (int k = 0; k < METHOD_COUNT; k++) {
				struct method m = {.kind = (enum method_kind)k, .percentile = 99.0};
				struct qparam p = choose(&m, &s, x, N);
				assert_true(p.scale > 0.0f && isfinite(p.scale));
				double e = range_sse(&s, &p, x, N);
				if (k == METHOD_MINMAX)
					emm = e;
				if (k == METHOD_MSE)
					assert_true(e <= emm);
			}
		}
	}
	free(x);
}

/* range_sse against sse_at (the quant.h contract written out) at scales
 * that are not powers of two, so x̂ = (q − z)·s is rounded: blocks where
 * no code is clamped (range_sse takes x − x̂ in float there, exact by
 * Sterbenz) and blocks with clamped outliers, symmetric and affine, every
 * length 1..40 for the tails and 4096 for the vector passes. */
static void test_sse_scales(void **state)
{
	enum {
		N = 4096
	};
	float *x = fill(N, 4242, gen_outlier);
	struct qs_rng r = {77};

	(void)state;
	for (int t = 0; t < 60; t++) {
		bool sym = t % 2 == 0;
		int bits = 2 + t % 7;
		struct scheme s = make_scheme(bits, sym);
		int32_t qmin, qmax;
		scheme_code_range(&s, &qmin, &qmax);
		/* from a fifth of the minmax scale (many clamped) to twice it */
		double span = 60.0 / (qmax - qmin);
		struct qparam p = {.scale = (float)(span * (0.2 + 1.8 * qs_rng_uniform(&r)))};
		p.zero_point = sym ? 0 : qmin + (int32_t)((qmax - qmin) * qs_rng_uniform(&r));
		for (size_t n = 1; n <= 40; n++) {
			double e = range_sse(&s, &p, x + 7 * t, n);
			assert_close(
			        e, sse_at(x + 7 * t, n, p.scale, p.zero_point, qmin, qmax, DBL_MAX),
			        1e-12, 1e-300);
		}
		double e = range_sse(&s, &p, x, N);
		assert_close(e, sse_at(x, N, p.scale, p.zero_point, qmin, qmax, DBL_MAX), 1e-12,
		             0.0);
	}
	free(x);
}

/* The comparisons that pick between two candidates, against sse_at: aciq
 * returns whichever of aciq-laplace's and aciq-gauss's parameters has the
 * lower squared error (ties: Laplace), and mse is never worse than minmax,
 * on every generator, 32..16384 values, 2..8 bits, symmetric and affine. */
static void test_candidate_choice(void **state)
{
	static const size_t sizes[] = {32, 300, 4096, 16384};

	(void)state;
	for (size_t g = 0; g < NGEN; g++)
		for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
			for (int bits = 2; bits <= 8; bits += 3)
				for (int sym = 0; sym < 2; sym++) {
					size_t n = sizes[k];
					float *x = fill(n, 1234 + n + 7 * bits + sym, gens[g].f);
					struct scheme s = make_scheme(bits, sym);
					struct method ma = {.kind = METHOD_ACIQ},
					              ml = {.kind = METHOD_ACIQ_LAPLACE},
					              mg = {.kind = METHOD_ACIQ_GAUSS},
					              mm = {.kind = METHOD_MINMAX},
					              me = {.kind = METHOD_MSE};
					int32_t qmin, qmax;
					scheme_code_range(&s, &qmin, &qmax);
					struct qparam pa = choose(&ma, &s, x, n),
					              pl = choose(&ml, &s, x, n),
					              pg = choose(&mg, &s, x, n);
					double el = sse_at(x, n, pl.scale, pl.zero_point, qmin,
					                   qmax, DBL_MAX);
					double eg = sse_at(x, n, pg.scale, pg.zero_point, qmin,
					                   qmax, DBL_MAX);
					struct qparam want = eg < el ? pg : pl;
					assert_true(pa.scale == want.scale &&
					            pa.zero_point == want.zero_point);
					struct qparam pm = choose(&mm, &s, x, n),
					              pe = choose(&me, &s, x, n);
					assert_true(sse_at(x, n, pe.scale, pe.zero_point, qmin,
					                   qmax, DBL_MAX) <=
					            sse_at(x, n, pm.scale, pm.zero_point, qmin,
					                   qmax, DBL_MAX));
					free(x);
				}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_mse_symmetric),    cmocka_unit_test(test_mse_affine),
	        cmocka_unit_test(test_kl_exhaustive),    cmocka_unit_test(test_percentile_sorted),
	        cmocka_unit_test(test_percentile_edges), cmocka_unit_test(test_degenerate_large),
	        cmocka_unit_test(test_sse_scales),       cmocka_unit_test(test_candidate_choice),
	};

	gsl_set_error_handler_off();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
