/* Streaming distribution statistics (dist_acc) against independent
 * references: GSL's gsl_stats_float_* moments and quantiles of a sorted copy
 * (gsl_sort_float), numpy (mean, std ddof=1, skew/kurtosis from float64
 * central moments, np.quantile linear), and closed forms from count tables.
 * Every case runs with the AVX2 loops and with the portable C loops, fed
 * whole, in chunks of 4096 (and of 1 and 7 up to 10000 values), and split
 * over several accumulators merged in shuffled order with pass 2 over a
 * reversed copy in two clones; sizes straddle the 4096-value buffer. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_sort_float.h>
#include <gsl/gsl_statistics_float.h>

#include "metrics.h"
#include "qs_test.h"

static const double ps[5] = {0.01, 0.25, 0.50, 0.75, 0.99};

static void quantiles_of(const struct dist_stats *d, double *q)
{
	q[0] = d->p01;
	q[1] = d->p25;
	q[2] = d->p50;
	q[3] = d->p75;
	q[4] = d->p99;
}

/* The reference figures: counts by hand, moments by GSL on the finite
 * values, quantiles from GSL on a sorted copy. */
static void reference(const float *x, size_t n, struct dist_stats *r)
{
	float *f = malloc((n ? n : 1) * sizeof *f);
	size_t m = 0;

	assert_non_null(f);
	*r = (struct dist_stats){0};
	for (size_t i = 0; i < n; i++) {
		if (isnan(x[i]))
			r->n_nan++;
		else if (isinf(x[i]))
			r->n_inf++;
		else
			f[m++] = x[i];
		if (isfinite(x[i]) && x[i] == 0)
			r->n_zero++;
		if (isfinite(x[i]) && x[i] != 0 && fabsf(x[i]) < FLT_MIN)
			r->n_denormal++;
	}
	r->n = m;
	r->mean = r->std = r->skew = r->kurtosis = NAN;
	if (m == 0) {
		r->min = r->max = r->absmax = NAN;
		r->p01 = r->p25 = r->p50 = r->p75 = r->p99 = NAN;
		free(f);
		return;
	}
	r->mean = gsl_stats_float_mean(f, 1, m);
	r->std = m > 1 ? gsl_stats_float_sd_m(f, 1, m, r->mean) : 0.0;
	if (r->std > 0) {
		r->skew = gsl_stats_float_skew_m_sd(f, 1, m, r->mean, r->std);
		r->kurtosis = gsl_stats_float_kurtosis_m_sd(f, 1, m, r->mean, r->std);
	}
	gsl_sort_float(f, 1, m);
	r->min = f[0];
	r->max = f[m - 1];
	r->absmax = fmax(fabs(r->min), fabs(r->max));
	double *q[5] = {&r->p01, &r->p25, &r->p50, &r->p75, &r->p99};
	for (int j = 0; j < 5; j++)
		*q[j] = gsl_stats_float_quantile_from_sorted_data(f, 1, m, ps[j]);
	free(f);
}

/* Moments to ~1e-12 of the spread (GSL sums in long double, we in double
 * per chunk); min, max and quantiles exactly. */
static void check_stats(const struct dist_stats *d, const struct dist_stats *r)
{
	assert_int_equal(d->n, r->n);
	assert_int_equal(d->n_nan, r->n_nan);
	assert_int_equal(d->n_inf, r->n_inf);
	assert_int_equal(d->n_zero, r->n_zero);
	assert_int_equal(d->n_denormal, r->n_denormal);
	double scale = isfinite(r->std) ? r->std + fabs(r->mean) : 0;
	assert_close(d->mean, r->mean, 1e-12, 1e-13 * scale);
	assert_close(d->std, r->std, 1e-12, 1e-300);
	assert_close(d->skew, r->skew, 1e-10, 1e-11);
	assert_close(d->kurtosis, r->kurtosis, 1e-10, 1e-11);
	assert_close(d->min, r->min, 0, 0);
	assert_close(d->max, r->max, 0, 0);
	assert_close(d->absmax, r->absmax, 0, 0);
	double a[5], b[5];
	quantiles_of(d, a);
	quantiles_of(r, b);
	for (int j = 0; j < 5; j++)
		assert_close(a[j], b[j], 0, 0);
}

/* Pass 2 for acc a over x in chunks of `chunk`, split over two clones. */
static void refine_all(struct dist_acc *a, const float *x, size_t n, size_t chunk)
{
	if (!dist_acc_refine_begin(a))
		return;
	struct dist_acc *c1 = dist_acc_refine_clone(a), *c2 = dist_acc_refine_clone(a);
	assert_true(c1 && c2);
	for (size_t off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;
		dist_acc_refine((off / chunk) % 2 ? c1 : c2, x + off, k);
	}
	dist_acc_refine_merge(a, c2);
	dist_acc_refine_merge(a, c1);
	dist_acc_free(c1);
	dist_acc_free(c2);
}

static void stats_chunked(const float *x, size_t n, size_t chunk, struct dist_stats *d)
{
	struct dist_acc *a = dist_acc_new();
	assert_non_null(a);
	for (size_t off = 0; off < n; off += chunk)
		dist_acc_add(a, x + off, n - off < chunk ? n - off : chunk);
	refine_all(a, x, n, chunk);
	dist_acc_finish(a, d);
	dist_acc_free(a);
}

/* k accumulators over random cuts of x, merged in shuffled order; pass 2
 * over a reversed copy in chunks of 1000. */
static void stats_split(const float *x, size_t n, size_t k, struct qs_rng *rng,
                        struct dist_stats *d)
{
	struct dist_acc *acc[8];
	size_t cut[9], order[8];
	assert_true(k <= 8);
	cut[0] = 0;
	cut[k] = n;
	for (size_t i = 1; i < k; i++)
		cut[i] = (size_t)(qs_rng_uniform(rng) * (double)(n + 1));
	for (size_t i = 1; i < k; i++) /* sort the cuts */
		for (size_t j = i; j > 1 && cut[j - 1] > cut[j]; j--) {
			size_t t = cut[j];
			cut[j] = cut[j - 1];
			cut[j - 1] = t;
		}
	for (size_t i = 0; i < k; i++) {
		acc[i] = dist_acc_new();
		assert_non_null(acc[i]);
		dist_acc_add(acc[i], x + cut[i], cut[i + 1] - cut[i]);
		order[i] = i;
	}
	for (size_t i = k - 1; i > 0; i--) {
		size_t j = (size_t)(qs_rng_uniform(rng) * (double)(i + 1)), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 1; i < k; i++)
		dist_acc_merge(acc[order[0]], acc[order[i]]);
	float *rev = malloc((n ? n : 1) * sizeof *rev);
	assert_non_null(rev);
	for (size_t i = 0; i < n; i++)
		rev[i] = x[n - 1 - i];
	refine_all(acc[order[0]], rev, n, 1000);
	dist_acc_finish(acc[order[0]], d);
	for (size_t i = 0; i < k; i++)
		dist_acc_free(acc[i]);
	free(rev);
}

/* All feeding modes against the reference, with and without AVX2. */
static void check_all_ways(const float *x, size_t n, unsigned seed)
{
	struct dist_stats r, d;
	struct qs_rng rng = {seed};
	const size_t chunks[4] = {1, 7, 4096, n ? n : 1};

	reference(x, n, &r);
	for (int simd = 0; simd < 2; simd++) {
		dist_acc_set_simd(simd);
		for (int c = 0; c < 4; c++) {
			if (chunks[c] < 4096 && n > 10000)
				continue; /* a few values a call: kept to smaller n */
			stats_chunked(x, n, chunks[c], &d);
			check_stats(&d, &r);
		}
		for (size_t k = 2; k <= 5; k += 3) {
			stats_split(x, n, k, &rng, &d);
			check_stats(&d, &r);
		}
		metrics_dist_stats(x, n, NULL, &d);
		check_stats(&d, &r);
	}
	dist_acc_set_simd(true);
}

enum kind {
	GAUSS,
	LAPLACE,
	SPECIAL,
	TIES,
	CONSTANT,
	ZEROS
};

/* N(0, 1) draws made once (Box–Muller is the slow part of these tests);
 * each data set reads them from its own offset. */
#define POOL 400009u
static double pool[POOL];

static double pool_gauss(size_t i, unsigned seed)
{
	if (pool[POOL - 1] == 0) {
		struct qs_rng rng = {12345};
		for (size_t j = 0; j < POOL; j++)
			pool[j] = qs_rng_gauss(&rng);
	}
	return pool[(i + (size_t)seed * 7919u) % POOL];
}

static float *make(enum kind kind, size_t n, unsigned seed)
{
	float *x = malloc((n ? n : 1) * sizeof *x);
	struct qs_rng rng = {seed};

	assert_non_null(x);
	for (size_t i = 0; i < n; i++) {
		double g = kind == LAPLACE || kind == CONSTANT ? 0 : pool_gauss(i, seed);
		switch (kind) {
		case GAUSS:
			x[i] = (float)(0.02 * g + 0.001);
			break;
		case LAPLACE:
			x[i] = (float)(qs_rng_laplace(&rng) * 3.0 - 1.0);
			break;
		case SPECIAL: {
			static const float sp[8] = {NAN,     INFINITY, -INFINITY, 1e-40f,
			                            -3e-42f, 0.0f,     FLT_MIN,   -FLT_MAX};
			x[i] = i % 97 == 5 ? sp[(i / 97) % 8] : (float)g;
			break;
		}
		case TIES:
			x[i] = (float)(round(g * 4) / 4);
			break;
		case CONSTANT:
			x[i] = -0.375f;
			break;
		case ZEROS:
			x[i] = i % 3 == 0 ? -0.0f : i % 3 == 1 ? 0.0f : (float)g;
			break;
		}
	}
	return x;
}

static void check_kind(enum kind kind, const size_t *sizes, size_t nsizes)
{
	for (size_t s = 0; s < nsizes; s++) {
		float *x = make(kind, sizes[s], 100 + (unsigned)s);
		check_all_ways(x, sizes[s], 7 + (unsigned)s);
		free(x);
	}
}

/* Sizes around the 4096-value buffer and the 4096-value chunk, and large. */
static const size_t sizes[] = {1, 2, 3, 100, 4095, 4096, 4097, 8193, 200003};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void test_gauss(void **state)
{
	(void)state;
	check_kind(GAUSS, sizes, NSIZES);
}

static void test_laplace(void **state)
{
	(void)state;
	check_kind(LAPLACE, sizes, NSIZES);
}

/* NaN, ±inf, denormals of both signs, zeros, FLT_MIN and −FLT_MAX mixed in. */
static void test_special_values(void **state)
{
	(void)state;
	check_kind(SPECIAL, sizes, NSIZES);
}

/* Few distinct values: the wanted buckets are crowded. */
static void test_ties(void **state)
{
	(void)state;
	check_kind(TIES, sizes, NSIZES);
}

static void test_constant(void **state)
{
	(void)state;
	check_kind(CONSTANT, sizes, NSIZES);
	struct dist_stats d;
	float *x = make(CONSTANT, 10000, 1);
	metrics_dist_stats(x, 10000, NULL, &d);
	assert_close(d.std, 0, 0, 0);
	assert_true(isnan(d.skew) && isnan(d.kurtosis));
	assert_close(d.p50, -0.375, 0, 0);
	free(x);
}

/* Two thirds ±0: the zero quantiles come out as zeros. */
static void test_signed_zeros(void **state)
{
	(void)state;
	check_kind(ZEROS, sizes, NSIZES);
}

/* Empty, only non-finite, one value: by hand. */
static void test_degenerate(void **state)
{
	(void)state;
	struct dist_stats d;
	struct dist_acc *a = dist_acc_new();
	assert_non_null(a);
	assert_false(dist_acc_refine_begin(a));
	dist_acc_finish(a, &d);
	assert_int_equal(d.n, 0);
	assert_true(isnan(d.mean) && isnan(d.std) && isnan(d.p50) && isnan(d.min) &&
	            isnan(d.absmax));
	dist_acc_free(a);
	dist_acc_free(NULL);

	const float bad[4] = {NAN, INFINITY, -INFINITY, NAN};
	a = dist_acc_new();
	dist_acc_add(a, bad, 4);
	dist_acc_add_repeat(a, NAN, 10);
	dist_acc_add_repeat(a, -INFINITY, 5);
	assert_false(dist_acc_refine_begin(a));
	dist_acc_finish(a, &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(d.n_nan, 12);
	assert_int_equal(d.n_inf, 7);
	assert_true(isnan(d.mean) && isnan(d.p99));
	dist_acc_free(a);

	const float one[3] = {NAN, 2.5f, INFINITY};
	a = dist_acc_new();
	dist_acc_add(a, one, 3);
	assert_false(dist_acc_refine_begin(a));
	dist_acc_finish(a, &d);
	assert_int_equal(d.n, 1);
	assert_close(d.mean, 2.5, 0, 0);
	assert_close(d.std, 0, 0, 0);
	assert_true(isnan(d.skew) && isnan(d.kurtosis));
	assert_close(d.p01, 2.5, 0, 0);
	assert_close(d.p99, 2.5, 0, 0);
	assert_close(d.absmax, 2.5, 0, 0);
	dist_acc_free(a);
}

/* Without refine_begin, or with pass 2 not fed, no quantile is made up. */
static void test_quantiles_need_pass2(void **state)
{
	(void)state;
	float *x = make(GAUSS, 50000, 3);
	struct dist_stats d;
	struct dist_acc *a = dist_acc_new();
	assert_non_null(a);
	dist_acc_add(a, x, 50000);
	dist_acc_finish(a, &d);
	assert_true(isnan(d.p50) && !isnan(d.mean));
	assert_true(dist_acc_refine_begin(a));
	assert_true(dist_acc_refine_begin(a)); /* idempotent */
	dist_acc_refine(a, x, 25000);          /* half of pass 2 */
	dist_acc_finish(a, &d);
	assert_true(isnan(d.p01) || isnan(d.p99));
	dist_acc_refine(a, x + 25000, 25000);
	dist_acc_finish(a, &d);
	struct dist_stats r;
	reference(x, 50000, &r);
	check_stats(&d, &r);
	dist_acc_free(a);
	free(x);
}

/* A histogram of (value, count) pairs through add_repeat/refine_repeat equals
 * the expanded array (GSL reference), mixed with plain adds. */
static void test_repeat_histogram(void **state)
{
	(void)state;
	enum {
		NV = 300
	};
	struct qs_rng rng = {77};
	float v[NV];
	uint64_t cnt[NV], total = 0;
	for (int i = 0; i < NV; i++) {
		v[i] = i % 50 == 7 ? NAN : (float)(qs_rng_laplace(&rng) * 0.1);
		cnt[i] = i % 40 == 0 ? 5000 : 1 + (uint64_t)(qs_rng_uniform(&rng) * 700);
		total += cnt[i];
	}
	float *x = malloc(total * sizeof *x);
	size_t k = 0;
	assert_non_null(x);
	for (int i = 0; i < NV; i++)
		for (uint64_t c = 0; c < cnt[i]; c++)
			x[k++] = v[i];
	struct dist_stats r, d;
	reference(x, total, &r);
	for (int simd = 0; simd < 2; simd++) {
		dist_acc_set_simd(simd);
		struct dist_acc *a = dist_acc_new(), *b = dist_acc_new();
		assert_true(a && b);
		/* a: pairs of the first half; b: the expanded second half */
		size_t half = 0;
		for (int i = 0; i < NV / 2; i++) {
			dist_acc_add_repeat(a, v[i], cnt[i]);
			half += cnt[i];
		}
		dist_acc_add(b, x + half, total - half);
		dist_acc_merge(b, a);
		if (dist_acc_refine_begin(b)) {
			struct dist_acc *c = dist_acc_refine_clone(b);
			assert_non_null(c);
			for (int i = NV - 1; i >= 0; i--)
				dist_acc_refine_repeat(i % 2 ? c : b, v[i], cnt[i]);
			dist_acc_refine_merge(b, c);
			dist_acc_free(c);
		}
		dist_acc_finish(b, &d);
		check_stats(&d, &r);
		dist_acc_free(a);
		dist_acc_free(b);
	}
	dist_acc_set_simd(true);
	free(x);
}

/* Resident memory now, KiB (/proc/self/statm). */
static long rss_kib(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &size, &res), 2);
	fclose(f);
	return res * 4;
}

/* n = 2^24 + 5 values 1 + j·2⁻²³ (j = 0..127, all in the bucket of 1.0),
 * fed from a 1 MiB buffer: counts per j are known, so mean, M2 and every
 * order statistic follow from the count table. Peak memory stays far below
 * the 64 MiB the values would take. */
static void test_one_bucket_beyond_2p24(void **state)
{
	(void)state;
	enum {
		B = 1 << 18,
		REP = 64
	};
	float *buf = malloc(B * sizeof *buf);
	uint64_t cnt[128] = {0};
	assert_non_null(buf);
	for (size_t i = 0; i < B; i++) {
		unsigned j = (unsigned)((i * 37u + i / 128u) % 128u);
		buf[i] = 1.0f + (float)j * 0x1p-23f;
		cnt[j] += REP;
	}
	const float extra[5] = {1.0f + 5 * 0x1p-23f, 1.0f + 5 * 0x1p-23f, 1.0f, NAN,
	                        1.0f + 127 * 0x1p-23f};
	cnt[5] += 2;
	cnt[0] += 1;
	cnt[127] += 1;
	uint64_t n = (uint64_t)B * REP + 4;
	assert_true(n > (1u << 24));

	long rss0 = rss_kib();
	struct dist_acc *a = dist_acc_new(), *t = dist_acc_new();
	assert_true(a && t);
	for (int r = 0; r < REP; r++)
		dist_acc_add(r % 2 ? a : t, buf, B);
	dist_acc_add(t, extra, 5);
	dist_acc_merge(a, t);
	assert_true(dist_acc_refine_begin(a));
	for (int r = 0; r < REP; r++)
		dist_acc_refine(a, buf, B);
	dist_acc_refine(a, extra, 5);
	struct dist_stats d;
	dist_acc_finish(a, &d);
	long grew = rss_kib() - rss0;
	print_message("one bucket, n = %llu: RSS grew %ld KiB\n", (unsigned long long)n, grew);
	assert_true(grew < 16 * 1024);

	/* the references from the count table, in long double */
	long double s = 0, s2 = 0;
	for (int j = 0; j < 128; j++)
		s += (long double)cnt[j] * (1.0L + j * 0x1p-23L);
	long double mean = s / n;
	for (int j = 0; j < 128; j++) {
		long double dd = 1.0L + j * 0x1p-23L - mean;
		s2 += (long double)cnt[j] * dd * dd;
	}
	assert_int_equal(d.n, n);
	assert_int_equal(d.n_nan, 1);
	assert_close(d.mean, (double)mean, 1e-15, 0);
	assert_close(d.std, sqrtl(s2 / (n - 1)), 1e-11, 0);
	assert_close(d.min, 1.0, 0, 0);
	assert_close(d.max, 1.0 + 127 * 0x1p-23, 0, 0);
	double q[5];
	quantiles_of(&d, q);
	for (int jq = 0; jq < 5; jq++) {
		double h = (double)(n - 1) * ps[jq];
		uint64_t k = (uint64_t)h, cum = 0;
		double delta = h - (double)k, lo = 0, hi = 0;
		for (int j = 0; j < 128; j++) {
			if (k >= cum && k < cum + cnt[j])
				lo = 1.0 + j * 0x1p-23;
			if (k + 1 >= cum && k + 1 < cum + cnt[j])
				hi = 1.0 + j * 0x1p-23;
			cum += cnt[j];
		}
		assert_close(q[jq], delta > 0 ? (1 - delta) * lo + delta * hi : lo, 0, 0);
	}
	dist_acc_free(a);
	dist_acc_free(t);
	free(buf);
}

#if !defined(__SANITIZE_ADDRESS__)
/* Address space now, bytes (/proc/self/statm). */
static size_t vm_bytes(void)
{
	long size = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%ld", &size) != 1)
		size = 0;
	if (f)
		fclose(f);
	return (size_t)size * (size_t)sysconf(_SC_PAGESIZE);
}

/* In a child under an address-space limit: refine_begin's 512 KiB table
 * (a bucket of 2^20 values) cannot be had, so it returns false and the
 * quantiles are NAN while mean, std, min and max stay right; then
 * metrics_dist_stats, whose accumulator cannot be had either, gives the
 * same. Exit status 0 when all held. */
static int oom_child(void)
{
	enum {
		N = 1 << 20
	};
	float *x = malloc(N * sizeof *x);
	struct dist_acc *a = dist_acc_new();
	struct dist_stats d;
	if (!x || !a)
		return 10;
	for (size_t i = 0; i < N; i++) /* 1 + j·2⁻²³, j = i mod 128: mean 1 + 63.5·2⁻²³ */
		x[i] = 1.0f + (float)(i % 128) * 0x1p-23f;
	dist_acc_add(a, x, N);
	struct rlimit rl = {vm_bytes() + 128 * 1024, RLIM_INFINITY};
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		return 11;
	if (dist_acc_refine_begin(a))
		return 12;
	dist_acc_refine(a, x, N); /* ignored */
	dist_acc_finish(a, &d);
	double mean = 1.0 + 63.5 * 0x1p-23;
	if (!isnan(d.p50) || !isnan(d.p01) || fabs(d.mean - mean) > 1e-15 || d.min != 1.0f ||
	    d.n != N)
		return 13;
	metrics_dist_stats(x, N, NULL, &d);
	if (!isnan(d.p50) || fabs(d.mean - mean) > 1e-15 || d.max != 1.0f + 127 * 0x1p-23f ||
	    !(d.std > 0))
		return 14;
	return 0;
}

#endif

static void test_out_of_memory(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	skip(); /* ASan's shadow memory does not live under RLIMIT_AS */
#else
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(oom_child());
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
#endif
}

/* numpy computes the same figures from the same float32 files. */
static const char *numpy_code =
        "import numpy as np\n"
        "for k in range(3):\n"
        "    x = np.fromfile('x%d.f32' % k, dtype='<f4')\n"
        "    f = x[np.isfinite(x)].astype(np.float64)\n"
        "    m = f.mean(); sd = f.std(ddof=1); d = (f - m) / sd\n"
        "    out = [len(f), np.isnan(x).sum(), np.isinf(x).sum(), (f == 0).sum(),\n"
        "           ((f != 0) & (np.abs(f) < np.finfo(np.float32).tiny)).sum(),\n"
        "           f.min(), f.max(), m, sd, (d**3).mean(), (d**4).mean() - 3]\n"
        "    out += list(np.quantile(f, [0.01, 0.25, 0.5, 0.75, 0.99]))\n"
        "    np.array(out, dtype='<f8').tofile('ref%d.f64' % k)\n";

static void test_vs_numpy(void **state)
{
	(void)state;
	enum {
		N = 300007
	};
	const enum kind kinds[3] = {LAPLACE, SPECIAL, TIES};
	float *x[3];
	char *dir = qs_tmpdir(), name[32];
	assert_non_null(dir);
	for (int k = 0; k < 3; k++) {
		x[k] = make(kinds[k], N, 40 + (unsigned)k);
		snprintf(name, sizeof name, "x%d.f32", k);
		qs_write_file(qs_path(dir, name), x[k], N * sizeof *x[k]);
	}
	assert_int_equal(qs_run_py(dir, numpy_code), 0);
	for (int k = 0; k < 3; k++) {
		struct dist_stats d;
		size_t nref = 0;
		snprintf(name, sizeof name, "ref%d.f64", k);
		double *ref = qs_read_f64(qs_path(dir, name), &nref);
		assert_int_equal(nref, 16);
		struct dist_acc *a = dist_acc_new();
		assert_non_null(a);
		for (size_t off = 0; off < N; off += 10007)
			dist_acc_add(a, x[k] + off, N - off < 10007 ? N - off : 10007);
		if (dist_acc_refine_begin(a))
			dist_acc_refine(a, x[k], N);
		dist_acc_finish(a, &d);
		dist_acc_free(a);
		assert_int_equal(d.n, (uint64_t)ref[0]);
		assert_int_equal(d.n_nan, (uint64_t)ref[1]);
		assert_int_equal(d.n_inf, (uint64_t)ref[2]);
		assert_int_equal(d.n_zero, (uint64_t)ref[3]);
		assert_int_equal(d.n_denormal, (uint64_t)ref[4]);
		assert_close(d.min, ref[5], 0, 0);
		assert_close(d.max, ref[6], 0, 0);
		assert_close(d.mean, ref[7], 1e-12, 1e-14 * ref[8]);
		assert_close(d.std, ref[8], 1e-12, 0);
		assert_close(d.skew, ref[9], 1e-10, 1e-12);
		assert_close(d.kurtosis, ref[10], 1e-10, 1e-12);
		double q[5];
		quantiles_of(&d, q);
		for (int j = 0; j < 5; j++) /* numpy's lerp rounds differently: 1 ulp */
			assert_close(q[j], ref[11 + j], 4e-16, 1e-300);
		free(ref);
		free(x[k]);
	}
	qs_rmtree(dir);
}

/* dist_acc_add_extremes: per call, the finite extremes and the NaN/inf
 * count, found here by a scan; an accumulator without moments: the same
 * counts, mean, extremes and quantiles as the reference, std, skew and
 * kurtosis NAN, also after merging into one that had them; one without
 * quantiles, merged into a full one: quantiles NAN, the rest as the
 * reference. */
static void test_extremes_no_moments(void **state)
{
	(void)state;
	for (int simd = 0; simd < 2; simd++) {
		dist_acc_set_simd(simd);
		const size_t n = 20011, cut = 7003;
		float *x = make(SPECIAL, n, 41);
		struct dist_acc *a = dist_acc_new(), *b = dist_acc_new();
		struct dist_stats d, r;
		assert_true(a && b);
		dist_acc_no_moments(a);
		for (int part = 0; part < 2; part++) {
			size_t lo = part ? cut : 0, hi = part ? n : cut;
			float mn = INFINITY, mx = -INFINITY, emn = INFINITY, emx = -INFINITY;
			uint64_t bad = 0;
			for (size_t i = lo; i < hi; i++) {
				if (!isfinite(x[i])) {
					bad++;
					continue;
				}
				emn = x[i] < emn ? x[i] : emn;
				emx = x[i] > emx ? x[i] : emx;
			}
			assert_true(bad > 0);
			uint64_t got =
			        dist_acc_add_extremes(part ? b : a, x + lo, hi - lo, &mn, &mx);
			assert_int_equal(got, bad);
			assert_close(mn, emn, 0, 0);
			assert_close(mx, emx, 0, 0);
		}
		dist_acc_merge(a, b);
		refine_all(a, x, n, 4096);
		dist_acc_finish(a, &d);
		reference(x, n, &r);
		assert_true(isnan(d.std) && isnan(d.skew) && isnan(d.kurtosis));
		assert_true(isfinite(r.std) && isfinite(r.kurtosis));
		d.std = r.std;
		d.skew = r.skew;
		d.kurtosis = r.kurtosis;
		check_stats(&d, &r);
		dist_acc_free(a);
		dist_acc_free(b);
		/* no quantiles: the rest as the reference, merged into a full one */
		a = dist_acc_new();
		b = dist_acc_new();
		assert_true(a && b);
		dist_acc_no_quantiles(b);
		dist_acc_add(a, x, cut);
		dist_acc_add(b, x + cut, n - cut);
		dist_acc_add_repeat(b, 2.5f, 5000);
		dist_acc_merge(a, b);
		assert_false(dist_acc_refine_begin(a));
		dist_acc_finish(a, &d);
		float *y = malloc((n + 5000) * sizeof *y);
		assert_non_null(y);
		memcpy(y, x, n * sizeof *y);
		for (size_t i = n; i < n + 5000; i++)
			y[i] = 2.5f;
		reference(y, n + 5000, &r);
		assert_true(isnan(d.p01) && isnan(d.p50) && isnan(d.p99));
		assert_true(isfinite(r.p50));
		d.p01 = r.p01;
		d.p25 = r.p25;
		d.p50 = r.p50;
		d.p75 = r.p75;
		d.p99 = r.p99;
		check_stats(&d, &r);
		dist_acc_free(a);
		dist_acc_free(b);
		free(y);
		free(x);
	}
	dist_acc_set_simd(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_gauss),
	        cmocka_unit_test(test_laplace),
	        cmocka_unit_test(test_special_values),
	        cmocka_unit_test(test_ties),
	        cmocka_unit_test(test_constant),
	        cmocka_unit_test(test_signed_zeros),
	        cmocka_unit_test(test_degenerate),
	        cmocka_unit_test(test_quantiles_need_pass2),
	        cmocka_unit_test(test_repeat_histogram),
	        cmocka_unit_test(test_one_bucket_beyond_2p24),
	        cmocka_unit_test(test_out_of_memory),
	        cmocka_unit_test(test_extremes_no_moments),
	        cmocka_unit_test(test_vs_numpy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
