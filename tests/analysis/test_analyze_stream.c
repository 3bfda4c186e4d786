/* analyze_simulate_src on tensors large enough to be cut in two halves and
 * read in many chunks: every figure against a reference quantizer written
 * here in plain C (scale = amax / ((qmax − qmin)/2) in float, q = rint(x/s)
 * clamped, x̂ = q·s; sums in double; quantiles from a sorted copy with
 * numpy's linear interpolation), for channels along axis 0 (contiguous),
 * axis 1 (strided) and groups along the last axis; NaN/inf; the light
 * options; one and two threads giving the same bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "qs_test.h"

enum {
	R = 96,
	C = 1100 /* R·C > 65536: two halves; C not a multiple of the chunk */
};

struct reader {
	const float *x;
	uint64_t n, calls, maxcount;
};

static int read_cb(void *ctx, uint64_t first, uint64_t count, float *dst, struct qs_error *err)
{
	struct reader *r = ctx;

	(void)err;
	if (first + count > r->n)
		return QS_ERR_USAGE;
	memcpy(dst, r->x + first, count * sizeof *dst);
	__atomic_add_fetch(&r->calls, 1, __ATOMIC_RELAXED);
	if (count > r->maxcount)
		r->maxcount = count; /* racy max is fine: both halves read chunks */
	return 0;
}

static float *make_tensor(uint64_t n, unsigned seed)
{
	struct qs_rng g = {.s = seed};
	float *x = malloc(n * sizeof *x);

	for (uint64_t i = 0; i < n; i++)
		x[i] = (float)(i % 7 == 0 ? 3.0 * qs_rng_laplace(&g) : qs_rng_gauss(&g));
	x[5 * C + 17] = 40.0f; /* an outlier row */
	return x;
}

static struct qspec spec_minmax(void)
{
	struct qspec s = {0};
	s.scheme = scheme_default();
	s.method.kind = METHOD_MINMAX;
	return s;
}

/* The reference: symmetric int8 −128..127 per group; group of element i by
 * gidx, channel by cidx. */
struct ref {
	double mse, sqnr, cosine, mae, maxe, entropy;
	uint64_t levels, nfinite;
	double ch_mse[C], ch_levels[C];
	double xq[5], hq[5], xmean, xstd;
};

static void reference(const float *x, uint64_t n, uint64_t ng, uint64_t (*gidx)(uint64_t),
                      uint64_t nch, uint64_t (*cidx)(uint64_t), struct ref *rf)
{
	float *amax = calloc(ng, sizeof *amax);
	double se = 0, sx2 = 0, sy2 = 0, sxy = 0, sae = 0, maxe = 0, sum = 0;
	uint64_t hist[256] = {0}, *chh = calloc(nch * 256, sizeof *chh), m = 0;
	double *ch_se = calloc(nch, sizeof *ch_se), *ch_n = calloc(nch, sizeof *ch_n);
	double *xs = malloc(n * sizeof *xs), *hs = malloc(n * sizeof *hs);
	const double ps[5] = {0.01, 0.25, 0.5, 0.75, 0.99};

	for (uint64_t i = 0; i < n; i++)
		if (isfinite(x[i]) && fabsf(x[i]) > amax[gidx(i)])
			amax[gidx(i)] = fabsf(x[i]);
	for (uint64_t i = 0; i < n; i++) {
		float s = amax[gidx(i)] / 127.5f;
		if (!(s >= 1.17549435e-38f))
			s = 1.0f;
		if (!isfinite(x[i])) {
			hs[i] = 0.0; /* NaN takes the zero point; inf is not used below */
			if (isinf(x[i]))
				hs[i] = (double)((x[i] > 0 ? 127.0f : -128.0f) * s);
			continue;
		}
		double q = rint((double)(x[i] / s));
		q = q < -128 ? -128 : q > 127 ? 127 : q;
		double xh = (double)((float)q * s), e = x[i] - xh;
		se += e * e;
		sx2 += (double)x[i] * x[i];
		sy2 += xh * xh;
		sxy += x[i] * xh;
		sae += fabs(e);
		maxe = fabs(e) > maxe ? fabs(e) : maxe;
		hist[(int)q + 128]++;
		chh[cidx(i) * 256 + (uint64_t)((int)q + 128)]++;
		ch_se[cidx(i)] += e * e;
		ch_n[cidx(i)]++;
		xs[m++] = x[i];
		sum += x[i];
		hs[i] = xh;
	}
	rf->nfinite = m;
	rf->mse = se / (double)m;
	rf->sqnr = 10 * log10(sx2 / se);
	rf->cosine = sxy / sqrt(sx2 * sy2);
	rf->mae = sae / (double)m;
	rf->maxe = maxe;
	rf->levels = 0;
	rf->entropy = 0;
	for (int k = 0; k < 256; k++)
		if (hist[k]) {
			double p = (double)hist[k] / (double)m;
			rf->levels++;
			rf->entropy -= p * log2(p);
		}
	for (uint64_t c = 0; c < nch && c < C; c++) {
		rf->ch_mse[c] = ch_se[c] / ch_n[c];
		rf->ch_levels[c] = 0;
		for (int k = 0; k < 256; k++)
			rf->ch_levels[c] += chh[c * 256 + (uint64_t)k] != 0;
	}
	rf->xmean = sum / (double)m;
	double v = 0;
	for (uint64_t k = 0; k < m; k++)
		v += (xs[k] - rf->xmean) * (xs[k] - rf->xmean);
	rf->xstd = sqrt(v / (double)(m - 1));
	qs_sort_doubles(xs, m);
	qs_sort_doubles(hs, n);
	for (int k = 0; k < 5; k++) {
		rf->xq[k] = qs_quantile_sorted(xs, m, ps[k]);
		rf->hq[k] = qs_quantile_sorted(hs, n, ps[k]);
	}
	free(amax);
	free(chh);
	free(ch_se);
	free(ch_n);
	free(xs);
	free(hs);
}

static uint64_t by_row(uint64_t i)
{
	return i / C;
}

static uint64_t by_col(uint64_t i)
{
	return i % C;
}

static uint64_t by_block32(uint64_t i) /* 35 blocks per row, the last of 12 */
{
	return (i / C) * ((C + 31) / 32) + (i % C) / 32;
}

static void check(const struct tensor_result *r, const struct ref *rf, uint64_t nch, bool stats)
{
	assert_close(r->m.mse, rf->mse, 1e-11, 0);
	assert_close(r->m.sqnr_db, rf->sqnr, 1e-11, 0);
	assert_close(r->m.cosine, rf->cosine, 1e-13, 0);
	assert_close(r->m.mae, rf->mae, 1e-11, 0);
	assert_close(r->m.max_abs_err, rf->maxe, 1e-13, 0);
	assert_int_equal(r->m.levels_used, rf->levels);
	assert_close(r->m.entropy_bits, rf->entropy, 1e-11, 0);
	assert_int_equal(r->m.n, rf->nfinite);
	assert_int_equal(r->nchannels, nch);
	for (uint64_t c = 0; c < nch && c < C; c++) {
		assert_close(r->ch[c].m.mse, rf->ch_mse[c], 1e-10, 0);
		assert_int_equal(r->ch[c].m.levels_used, (uint64_t)rf->ch_levels[c]);
	}
	if (!stats)
		return;
	assert_close(r->xs.mean, rf->xmean, 1e-11, 1e-15);
	assert_close(r->xs.std, rf->xstd, 1e-11, 0);
	const double *xq[5] = {&r->xs.p01, &r->xs.p25, &r->xs.p50, &r->xs.p75, &r->xs.p99};
	const double *hq[5] = {&r->xhs.p01, &r->xhs.p25, &r->xhs.p50, &r->xhs.p75, &r->xhs.p99};
	for (int k = 0; k < 5; k++) {
		assert_close(*xq[k], rf->xq[k], 1e-12, 1e-15);
		assert_close(*hq[k], rf->hq[k], 1e-12, 1e-15);
	}
}

static void run(const float *x, const int64_t *shape, int ndim, const struct qspec *s,
                const struct analyze_opts *o, struct tensor_result *r, struct reader *rd)
{
	struct float_src src = {.read = read_cb, .ctx = rd};
	struct qs_error err = {0};
	int rc = analyze_simulate_src(&src, shape, ndim, s, NULL, o, r, &err);

	(void)x;
	if (rc)
		print_message("analyze_simulate_src: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_true(rd->calls > 2);
	assert_true(rd->maxcount < (uint64_t)R * C); /* never the whole tensor */
}

static void test_rows(void **state)
{
	(void)state;
	const int64_t shape[2] = {R, C};
	float *x = make_tensor((uint64_t)R * C, 11);
	struct qspec s = spec_minmax();
	struct analyze_opts o = {.threads = 2};
	struct reader rd = {.x = x, .n = (uint64_t)R * C};
	struct tensor_result r;
	static struct ref rf;

	reference(x, rd.n, R, by_row, R, by_row, &rf);
	run(x, shape, 2, &s, &o, &r, &rd);
	check(&r, &rf, R, true);
	assert_close(r.ch[5].max, 40.0, 0, 0);
	tensor_result_free(&r);
	free(x);
}

static void test_columns_strided(void **state)
{
	(void)state;
	const int64_t shape[2] = {R, C};
	float *x = make_tensor((uint64_t)R * C, 12);
	struct qspec s = spec_minmax();
	struct analyze_opts o = {.threads = 2};
	struct reader rd = {.x = x, .n = (uint64_t)R * C};
	struct tensor_result r;
	static struct ref rf;

	s.scheme.axis = 1;
	reference(x, rd.n, C, by_col, C, by_col, &rf);
	run(x, shape, 2, &s, &o, &r, &rd);
	check(&r, &rf, C, true);
	tensor_result_free(&r);
	free(x);
}

static void test_groups_nonfinite(void **state)
{
	(void)state;
	const int64_t shape[2] = {R, C};
	float *x = make_tensor((uint64_t)R * C, 13);
	struct qspec s = spec_minmax();
	struct analyze_opts o = {.threads = 2};
	struct reader rd = {.x = x, .n = (uint64_t)R * C};
	struct tensor_result r;
	static struct ref rf;

	x[3] = NAN;
	x[70001] = INFINITY;
	x[70033] = -INFINITY;
	s.scheme.gran = GRAN_GROUP;
	s.scheme.group_size = 32;
	s.scheme.axis = -1;
	reference(x, rd.n, (uint64_t)R * ((C + 31) / 32), by_block32, R, by_row, &rf);
	run(x, shape, 2, &s, &o, &r, &rd);
	assert_int_equal(r.xs.n_nan, 1);
	assert_int_equal(r.xs.n_inf, 2);
	check(&r, &rf, R, false);
	assert_non_null(r.find);
	tensor_result_free(&r);
	free(x);
}

/* The light options leave out exactly what they say; one thread and two,
 * read and in place, give the same bits; mse per row (fused) is
 * never worse than minmax. */
static void test_options_threads_mse(void **state)
{
	(void)state;
	const int64_t shape[2] = {R, C};
	float *x = make_tensor((uint64_t)R * C, 14);
	struct qspec s = spec_minmax();
	struct analyze_opts light = {.threads = 2, .no_quantiles = true, .no_xhat_stats = true};
	struct analyze_opts one = {.threads = 1};
	struct reader rd = {.x = x, .n = (uint64_t)R * C};
	struct tensor_result a, b, c;
	struct qs_error err = {0};
	static struct ref rf;

	reference(x, rd.n, R, by_row, R, by_row, &rf);
	run(x, shape, 2, &s, &light, &a, &rd);
	check(&a, &rf, R, false);
	assert_true(isnan(a.xs.p50) && isnan(a.xhs.mean));
	assert_int_equal(a.xhs.n, 0);
	assert_close(a.xs.std, rf.xstd, 1e-11, 0);
	tensor_result_free(&a);
	light.no_moments = true;
	run(x, shape, 2, &s, &light, &a, &rd);
	check(&a, &rf, R, false);
	assert_true(isnan(a.xs.std) && isnan(a.xs.skew) && isnan(a.xs.kurtosis));
	assert_close(a.xs.mean, rf.xmean, 1e-11, 1e-15);
	/* no code counts (the retune preview): the error figures stay, Σx̂²
	 * now from the values; levels 0 and entropy NAN, tensor and channels */
	light.no_codes = true;
	run(x, shape, 2, &s, &light, &b, &rd);
	assert_close(b.m.mse, rf.mse, 1e-11, 0);
	assert_close(b.m.sqnr_db, a.m.sqnr_db, 0, 0);
	assert_close(b.m.max_abs_err, a.m.max_abs_err, 0, 0);
	assert_close(b.m.clipped_pct, a.m.clipped_pct, 0, 0);
	assert_close(b.m.cosine, rf.cosine, 1e-12, 0);
	assert_int_equal(b.m.levels_used, 0);
	assert_true(isnan(b.m.entropy_bits));
	for (int k = 0; k < R; k++) {
		assert_close(b.ch[k].m.mse, a.ch[k].m.mse, 0, 0);
		assert_int_equal(b.ch[k].m.levels_used, 0);
		assert_true(isnan(b.ch[k].m.entropy_bits));
	}
	assert_int_equal(b.risk, a.risk);
	tensor_result_free(&a);
	tensor_result_free(&b);

	s.method.kind = METHOD_MSE;
	run(x, shape, 2, &s, &(struct analyze_opts){.threads = 2}, &a, &rd);
	struct float_src in_place = {.data = x};
	assert_int_equal(analyze_simulate_src(&in_place, shape, 2, &s, NULL, &one, &b, &err), 0);
	assert_memory_equal(&a.m, &b.m, sizeof a.m);
	assert_memory_equal(&a.xs, &b.xs, sizeof a.xs);
	assert_memory_equal(a.ch, b.ch, R * sizeof *a.ch);
	assert_true(a.m.mse <= rf.mse);
	for (int k = 0; k < R; k++)
		assert_true(a.ch[k].m.mse <= rf.ch_mse[k] * (1 + 1e-12));
	s.method.kind = METHOD_MINMAX;
	assert_int_equal(analyze_simulate_src(&in_place, shape, 2, &s, NULL, &one, &c, &err), 0);
	check(&c, &rf, R, true);
	tensor_result_free(&a);
	tensor_result_free(&b);
	tensor_result_free(&c);
	free(x);
}

/* mse on groups of 32 along the rows (the range pass, group by group, then
 * the measure pass): one and two threads, read and in place, give the same
 * bits, and no group does worse than minmax's (the reference quantizer). */
static void test_groups_mse(void **state)
{
	(void)state;
	const int64_t shape[2] = {R, C};
	float *x = make_tensor((uint64_t)R * C, 17);
	struct qspec s = spec_minmax();
	struct reader rd = {.x = x, .n = (uint64_t)R * C};
	struct float_src in_place = {.data = x};
	struct analyze_opts one = {.threads = 1};
	struct tensor_result a, b;
	struct qs_error err = {0};
	static struct ref rf;

	reference(x, rd.n, (uint64_t)R * ((C + 31) / 32), by_block32, R, by_row, &rf);
	s.scheme.gran = GRAN_GROUP;
	s.scheme.group_size = 32;
	s.scheme.axis = -1;
	s.method.kind = METHOD_MSE;
	run(x, shape, 2, &s, &(struct analyze_opts){.threads = 2}, &a, &rd);
	assert_int_equal(analyze_simulate_src(&in_place, shape, 2, &s, NULL, &one, &b, &err), 0);
	assert_memory_equal(&a.m, &b.m, sizeof a.m);
	assert_memory_equal(a.ch, b.ch, R * sizeof *a.ch);
	assert_true(a.m.mse < rf.mse);
	for (int k = 0; k < R; k++)
		assert_true(a.ch[k].m.mse <= rf.ch_mse[k] * (1 + 1e-12));
	tensor_result_free(&a);
	tensor_result_free(&b);
	free(x);
}

/* A clipping method on rows with outliers far beyond the clip range (the
 * runs whose x − x̂ is not exact in float): the figures against the same
 * quantizer written here with the scales the engine chose. */
static void test_clipped_outliers(void **state)
{
	(void)state;
	const int64_t shape[2] = {R, C};
	float *x = make_tensor((uint64_t)R * C, 15);
	struct qspec s = spec_minmax();
	struct analyze_opts o = {.threads = 2, .no_quantiles = true, .no_xhat_stats = true};
	struct reader rd = {.x = x, .n = (uint64_t)R * C};
	struct tensor_result r;
	struct qs_error err = {0};
	double se = 0, sx2 = 0, sy2 = 0, sxy = 0, maxe = 0;
	uint64_t clipped = 0;

	for (int k = 0; k < R; k += 3)
		x[(uint64_t)k * C + 100] = 80.0f * (k % 2 ? 1 : -1);
	assert_int_equal(method_parse("percentile:99", &s.method, &err), 0);
	run(x, shape, 2, &s, &o, &r, &rd);
	for (uint64_t i = 0; i < rd.n; i++) {
		float sc = r.ch[i / C].scale;
		double q = rint((double)(x[i] / sc));
		q = q < -128 ? -128 : q > 127 ? 127 : q;
		double xh = (double)((float)q * sc), e = x[i] - xh;
		se += e * e;
		sx2 += (double)x[i] * x[i];
		sy2 += xh * xh;
		sxy += x[i] * xh;
		maxe = fabs(e) > maxe ? fabs(e) : maxe;
		clipped += x[i] < -128.0f * sc || x[i] > 127.0f * sc;
	}
	assert_true(clipped > R); /* the clip range is narrower than the data */
	assert_close(r.m.mse, se / (double)rd.n, 1e-11, 0);
	assert_close(r.m.sqnr_db, 10 * log10(sx2 / se), 1e-11, 0);
	assert_close(r.m.cosine, sxy / sqrt(sx2 * sy2), 1e-13, 0);
	assert_close(r.m.max_abs_err, maxe, 1e-13, 0);
	assert_close(r.m.clipped_pct, 100.0 * (double)clipped / (double)rd.n, 1e-12, 0);
	tensor_result_free(&r);
	/* with x's statistics given (the preview) a row holding NaN/inf is
	 * found by the method's own scan: the same figures either way */
	x[3 * C + 5] = NAN;
	x[60 * C + 9] = -INFINITY;
	struct tensor_result a, b;
	run(x, shape, 2, &s, &o, &a, &rd);
	struct analyze_opts known = o;
	known.xs = &a.xs;
	run(x, shape, 2, &s, &known, &b, &rd);
	assert_int_equal(a.m.n_nan, 1);
	assert_int_equal(a.m.n_inf, 1);
	assert_memory_equal(&a.m, &b.m, sizeof a.m);
	assert_memory_equal(a.ch, b.ch, R * sizeof *a.ch);
	tensor_result_free(&a);
	tensor_result_free(&b);
	free(x);
}

/* Channels along the last axis (values straight into their channels, no
 * runs) with NaN and inf in some rows, an odd row count so that the two
 * halves meet inside a row, and C not a multiple of the eight-channel
 * kernel: the reference's figures, and the portable kernel's bits. */
static void test_columns_nonfinite(void **state)
{
	(void)state;
	enum {
		RO = R + 1
	};
	const int64_t shape[2] = {RO, C};
	uint64_t n = (uint64_t)RO * C;
	float *x = make_tensor(n, 17);
	struct qspec s = spec_minmax();
	struct analyze_opts o = {.threads = 2};
	struct reader rd = {.x = x, .n = n};
	struct float_src src = {.data = x};
	struct tensor_result r, a;
	struct qs_error err = {0};
	static struct ref rf;

	assert_true((n / 2) % C != 0);
	x[3 * C + 9] = NAN;
	x[60 * C + 1099] = -INFINITY;
	x[61 * C + 4] = INFINITY;
	s.scheme.axis = 1;
	reference(x, n, C, by_col, C, by_col, &rf);
	run(x, shape, 2, &s, &o, &r, &rd);
	check(&r, &rf, C, false);
	assert_int_equal(r.m.n_nan, 1);
	assert_int_equal(r.m.n_inf, 2);
	assert_int_equal(r.ch[9].m.n_nan, 1);
	assert_int_equal(r.ch[1099].m.n_inf, 1);
	analyze_set_simd(false);
	int rc = analyze_simulate_src(&src, shape, 2, &s, NULL, &o, &a, &err);
	analyze_set_simd(true);
	assert_int_equal(rc, 0);
	assert_memory_equal(&a.m, &r.m, sizeof a.m);
	assert_memory_equal(a.ch, r.ch, C * sizeof *a.ch);
	tensor_result_free(&a);
	tensor_result_free(&r);
	free(x);
}

/* A range method other than minmax over channels along the last axis
 * (ranges from the tensor read whole, the measure streamed): the same
 * parameters as analyze_simulate chooses in memory, the same figures up to
 * the order of sums, and mse never worse than minmax per channel. */
static void test_columns_methods(void **state)
{
	(void)state;
	const int64_t shape[2] = {R, C};
	uint64_t n = (uint64_t)R * C;
	float *x = make_tensor(n, 18);
	struct analyze_opts o = {.threads = 2};
	struct reader rd = {.x = x, .n = n};
	struct tensor_result a, b;
	struct qs_error err = {0};
	static struct ref rf;
	const char *methods[] = {"mse", "percentile:99", "aciq"};
	float *xh = malloc(n * sizeof *xh);

	reference(x, n, C, by_col, C, by_col, &rf); /* minmax, before NaN/inf go in */
	for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
		struct qspec s = spec_minmax();
		s.scheme.axis = 1;
		assert_int_equal(method_parse(methods[k], &s.method, &err), 0);
		if (k == 2) {
			x[7 * C + 3] = NAN;
			x[9 * C + 1000] = INFINITY;
		}
		struct float_src src = {.read = read_cb, .ctx = &rd};
		assert_int_equal(analyze_simulate_src(&src, shape, 2, &s, NULL, &o, &a, &err), 0);
		/* with an x̂ buffer analyze_simulate works in memory, not through
		 * analyze_simulate_src: an independent path */
		assert_int_equal(analyze_simulate(x, shape, 2, &s, NULL, &b, xh, NULL, &err), 0);
		assert_int_equal(a.m.n, b.m.n);
		assert_int_equal(a.m.n_nan + a.m.n_inf, k == 2 ? 2 : 0);
		assert_close(a.m.mse, b.m.mse, 1e-12, 0);
		assert_close(a.m.sqnr_db, b.m.sqnr_db, 1e-12, 0);
		assert_close(a.m.max_abs_err, b.m.max_abs_err, 0, 0);
		assert_int_equal(a.m.levels_used, b.m.levels_used);
		for (int c = 0; c < C; c++) {
			assert_close(a.ch[c].scale, b.ch[c].scale, 0, 0);
			assert_close(a.ch[c].m.mse, b.ch[c].m.mse, 1e-12, 0);
			assert_int_equal(a.ch[c].m.levels_used, b.ch[c].m.levels_used);
			if (k == 0)
				assert_true(a.ch[c].m.mse <= rf.ch_mse[c] * (1 + 1e-12));
		}
		tensor_result_free(&a);
		tensor_result_free(&b);
	}
	free(xh);
	free(x);
}

/* The portable kernel gives the bits the AVX2 one gives (rows, groups with
 * NaN/inf, a clipping method with outliers beyond twice the clip range),
 * and the reference's figures. */
static void test_portable_kernel(void **state)
{
	(void)state;
	const int64_t shape[2] = {R, C};
	float *x = make_tensor((uint64_t)R * C, 16);
	struct qspec s = spec_minmax();
	struct analyze_opts o = {.threads = 2};
	struct float_src src = {.data = x};
	struct tensor_result a, b;
	struct qs_error err = {0};
	static struct ref rf;

	reference(x, (uint64_t)R * C, R, by_row, R, by_row, &rf);
	for (int k = 0; k < R; k += 5)
		x[(uint64_t)k * C + 7] = k % 2 ? 300.0f : -300.0f;
	x[2 * C + 9] = NAN;
	x[40 * C + 1] = INFINITY;
	for (int v = 0; v < 3; v++) {
		if (v == 1) {
			s.scheme.gran = GRAN_GROUP;
			s.scheme.group_size = 32;
			s.scheme.axis = -1;
		} else if (v == 2) {
			s = spec_minmax();
			assert_int_equal(method_parse("percentile:99", &s.method, &err), 0);
		}
		analyze_set_simd(false);
		int rc = analyze_simulate_src(&src, shape, 2, &s, NULL, &o, &a, &err);
		analyze_set_simd(true);
		assert_int_equal(rc, 0);
		assert_int_equal(analyze_simulate_src(&src, shape, 2, &s, NULL, &o, &b, &err), 0);
		assert_memory_equal(&a.m, &b.m, sizeof a.m);
		assert_memory_equal(&a.xs, &b.xs, sizeof a.xs);
		assert_memory_equal(&a.xhs, &b.xhs, sizeof a.xhs);
		assert_memory_equal(a.ch, b.ch, R * sizeof *a.ch);
		tensor_result_free(&a);
		tensor_result_free(&b);
	}
	free(x);
	/* and the portable figures against the reference quantizer */
	x = make_tensor((uint64_t)R * C, 16);
	src.data = x;
	s = spec_minmax();
	analyze_set_simd(false);
	assert_int_equal(analyze_simulate_src(&src, shape, 2, &s, NULL, &o, &a, &err), 0);
	analyze_set_simd(true);
	check(&a, &rf, R, true);
	tensor_result_free(&a);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rows),
	        cmocka_unit_test(test_columns_strided),
	        cmocka_unit_test(test_columns_nonfinite),
	        cmocka_unit_test(test_columns_methods),
	        cmocka_unit_test(test_groups_nonfinite),
	        cmocka_unit_test(test_options_threads_mse),
	        cmocka_unit_test(test_clipped_outliers),
	        cmocka_unit_test(test_portable_kernel),
	        cmocka_unit_test(test_groups_mse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
