/* analyze_measure_src on tensors large enough to be cut in two halves and
 * read in many chunks, through read callbacks that fail the test on any
 * range out of bounds or covering the whole tensor. The reference is
 * written here: known codes q with per-group s, z give x̂ = (q − z)·s in
 * float; x = x̂ plus noise bounded away from 0, outliers beyond the clip
 * range, NaN/±inf; x̂ NaN/inf at some finite x. Metrics in double over the
 * finite x with finite x̂, levels/entropy from the codes (per channel: the
 * codes of every finite x), x̂ statistics from a sorted copy (numpy's
 * linear quantile). Layouts: per-channel axis 0 (contiguous channels) and
 * axis 1 (strided), per-tensor, GGUF-style blocks of 32 along the last
 * axis. One and two threads, AVX2 and the portable kernels give the same
 * bits; every other figure and finding equals analyze_measure's on the same
 * tensor (graph facts with the accumulator and bias checks too); the
 * whole-tensor fallbacks (no codes, a code outside the table) give
 * analyze_measure's result. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "qs_test.h"

enum {
	R = 96,
	C = 1100 /* R·C > 65536: two halves; C not a multiple of the chunk */
};
#define N ((uint64_t)R * C)
enum {
	BC = 1408 /* blocks: rows of 44 blocks of 32, N / BC = 75 rows */
};

enum mode {
	M_AXIS0,
	M_AXIS1,
	M_TENSOR,
	M_BLOCK
};

struct tcase {
	enum mode mode;
	float *x, *xh;
	int32_t *q;
	struct qparam *p;
	uint64_t ngroups, nch;
	int32_t qmin, qmax;
	uint64_t reads, maxcount;
	bool whole_seen;
};

static uint64_t group_of(const struct tcase *t, uint64_t i)
{
	switch (t->mode) {
	case M_AXIS0:
		return i / C;
	case M_AXIS1:
		return i % C;
	case M_TENSOR:
		return 0;
	default:
		return i / 32;
	}
}

static uint64_t chan_of(const struct tcase *t, uint64_t i)
{
	if (t->mode == M_BLOCK)
		return i / BC;
	return t->mode == M_AXIS1 ? i % C : i / C; /* per-tensor: slices along axis 0 */
}

static void note_read(struct tcase *t, uint64_t first, uint64_t count)
{
	if (first > N || count > N - first)
		fail_msg("read of %llu from %llu out of bounds", (unsigned long long)count,
		         (unsigned long long)first);
	if (count == N)
		t->whole_seen = true;
	__atomic_add_fetch(&t->reads, 1, __ATOMIC_RELAXED);
	if (count > t->maxcount)
		t->maxcount = count;
}

static int read_x(void *ctx, uint64_t first, uint64_t count, float *dst, struct qs_error *err)
{
	struct tcase *t = ctx;
	(void)err;
	note_read(t, first, count);
	memcpy(dst, t->x + first, count * sizeof *dst);
	return 0;
}

static int read_xh(void *ctx, uint64_t first, uint64_t count, float *dst, struct qs_error *err)
{
	struct tcase *t = ctx;
	(void)err;
	note_read(t, first, count);
	memcpy(dst, t->xh + first, count * sizeof *dst);
	return 0;
}

static int read_q(void *ctx, uint64_t first, uint64_t count, int32_t *dst, struct qs_error *err)
{
	struct tcase *t = ctx;
	(void)err;
	note_read(t, first, count);
	memcpy(dst, t->q + first, count * sizeof *dst);
	return 0;
}

/* Codes, parameters, x̂ = (q − z)·s, x around x̂ with the specials. */
static void make_case(struct tcase *t, enum mode mode, unsigned seed)
{
	struct qs_rng g = {.s = seed};

	memset(t, 0, sizeof *t);
	t->mode = mode;
	t->ngroups = mode == M_AXIS0 ? R : mode == M_AXIS1 ? C : mode == M_TENSOR ? 1 : N / 32;
	t->nch = mode == M_AXIS1 ? C : mode == M_BLOCK ? N / BC : R;
	t->qmin = mode == M_BLOCK ? -8 : -128;
	t->qmax = mode == M_BLOCK ? 7 : 127;
	t->x = malloc(N * sizeof *t->x);
	t->xh = malloc(N * sizeof *t->xh);
	t->q = malloc(N * sizeof *t->q);
	t->p = malloc(t->ngroups * sizeof *t->p);
	for (uint64_t k = 0; k < t->ngroups; k++) {
		float s = 0.01f * (float)(1 + k % 7);
		int32_t z = mode == M_BLOCK ? 0 : (int32_t)(k % 5) - 2;
		if (mode == M_BLOCK && k % 11 == 3)
			s = -s; /* a negative block scale d */
		float a = (float)(t->qmin - z) * s, b = (float)(t->qmax - z) * s;
		t->p[k] = (struct qparam){.scale = fabsf(s), /* |d| for blocks */
		                          .zero_point = z,
		                          .clip_lo = fminf(a, b),
		                          .clip_hi = fmaxf(a, b)};
	}
	for (uint64_t i = 0; i < N; i++) {
		uint64_t k = group_of(t, i);
		float s = mode == M_BLOCK && k % 11 == 3 ? -t->p[k].scale : t->p[k].scale;
		int32_t z = t->p[k].zero_point, span = t->qmax - t->qmin;
		double gq = qs_rng_gauss(&g) * (double)span / 6.0 + z;
		int32_t q = (int32_t)lround(gq);
		q = q < t->qmin ? t->qmin : q > t->qmax ? t->qmax : q;
		double u = qs_rng_uniform(&g);
		float noise = (float)((0.05 + 0.4 * u) * (qs_rng_uniform(&g) < 0.5 ? -1 : 1));
		t->q[i] = q;
		t->xh[i] = (float)(q - z) * s;
		t->x[i] = t->xh[i] + noise * fabsf(s);
		if (i % 997 == 5)
			t->x[i] = t->xh[i] + (i % 2 ? 300.0f : -300.0f) * fabsf(s); /* saturates */
		if (i % 4099 == 3)
			t->x[i] = NAN;
		if (i % 5003 == 7)
			t->x[i] = i % 2 ? INFINITY : -INFINITY;
		if (i % 3001 == 11)
			t->xh[i] = NAN; /* bad x̂ at a finite x */
		if (i % 7001 == 13)
			t->xh[i] = -INFINITY;
	}
}

static void free_case(struct tcase *t)
{
	free(t->x);
	free(t->xh);
	free(t->q);
	free(t->p);
}

static struct quantized quantized_of(const struct tcase *t, int64_t *shape)
{
	shape[0] = t->mode == M_BLOCK ? (int64_t)(N / BC) : R;
	shape[1] = t->mode == M_BLOCK ? BC : C;
	struct quantized q = {.params = t->p,
	                      .bits = t->mode == M_BLOCK ? 4 : 8,
	                      .qmin = t->qmin,
	                      .qmax = t->qmax,
	                      .shape = shape,
	                      .ndim = 2};
	const char *why = NULL;
	bool ok = t->mode == M_AXIS0   ? layout_init(&q.layout, shape, 2, GRAN_CHANNEL, 0, 0, &why)
	          : t->mode == M_AXIS1 ? layout_init(&q.layout, shape, 2, GRAN_CHANNEL, 1, 0, &why)
	          : t->mode == M_TENSOR
	                  ? layout_init(&q.layout, shape, 2, GRAN_TENSOR, 0, 0, &why)
	                  : layout_init(&q.layout, shape, 2, GRAN_GROUP, -1, 32, &why);
	assert_true(ok);
	return q;
}

static double entropy_of(const uint64_t *h, size_t span, uint64_t tot, uint64_t *levels)
{
	double e = 0.0;
	*levels = 0;
	for (size_t k = 0; k < span; k++)
		if (h[k]) {
			double p = (double)h[k] / (double)tot;
			e -= p * log2(p);
			(*levels)++;
		}
	return e;
}

/* The reference figures, checked against r. */
static void check_reference(const struct tcase *t, const struct tensor_result *r)
{
	size_t span = (size_t)(t->qmax - t->qmin + 1);
	uint64_t *hist = calloc(span, sizeof *hist), *chh = calloc(t->nch * span, sizeof *chh);
	double *ch_se = calloc(t->nch, sizeof *ch_se), *ch_n = calloc(t->nch, sizeof *ch_n);
	double *ch_min = malloc(t->nch * sizeof *ch_min), *ch_max = malloc(t->nch * sizeof *ch_max);
	double *hs = malloc(N * sizeof *hs), se = 0, sx2 = 0, sy2 = 0, sxy = 0, sae = 0, maxe = 0;
	double hsum = 0;
	uint64_t n = 0, nnan = 0, ninf = 0, bad = 0, clipped = 0, nh = 0;

	for (uint64_t c = 0; c < t->nch; c++) {
		ch_min[c] = INFINITY;
		ch_max[c] = -INFINITY;
	}
	for (uint64_t i = 0; i < N; i++) {
		const struct qparam *p = &t->p[group_of(t, i)];
		uint64_t c = chan_of(t, i), b = (uint64_t)(t->q[i] - t->qmin);
		double x = t->x[i], y = t->xh[i];
		if (isfinite(y)) {
			hs[nh++] = y;
			hsum += y;
		}
		if (isnan(x)) {
			nnan++;
			continue;
		}
		if (isinf(x)) {
			ninf++;
			continue;
		}
		chh[c * span + b]++; /* per channel: every finite x */
		if (!isfinite(y)) {
			bad++;
			continue;
		}
		double e = x - y;
		n++;
		se += e * e;
		sx2 += x * x;
		sy2 += y * y;
		sxy += x * y;
		sae += fabs(e);
		maxe = fabs(e) > maxe ? fabs(e) : maxe;
		clipped += x < p->clip_lo || x > p->clip_hi;
		hist[b]++;
		ch_se[c] += e * e;
		ch_n[c]++;
		ch_min[c] = x < ch_min[c] ? x : ch_min[c];
		ch_max[c] = x > ch_max[c] ? x : ch_max[c];
	}
	assert_int_equal(r->m.n, n);
	assert_int_equal(r->m.n_nan, nnan);
	assert_int_equal(r->m.n_inf, ninf);
	assert_close(r->m.mse, se / (double)n, 1e-12, 0);
	assert_close(r->m.mae, sae / (double)n, 1e-12, 0);
	assert_close(r->m.max_abs_err, maxe, 0, 0);
	assert_close(r->m.sqnr_db, 10 * log10(sx2 / se), 1e-12, 0);
	assert_close(r->m.cosine, sxy / sqrt(sx2 * sy2), 1e-12, 0);
	assert_close(r->m.clipped_pct, 100.0 * (double)clipped / (double)n, 1e-12, 0);
	uint64_t lev;
	double ent = entropy_of(hist, span, n, &lev);
	assert_int_equal(r->m.levels_used, lev);
	assert_close(r->m.entropy_bits, ent, 1e-12, 0);
	assert_int_equal(r->nchannels, t->nch);
	for (uint64_t c = 0; c < t->nch; c++) {
		const struct channel_result *cr = &r->ch[c];
		uint64_t tot = 0;
		for (size_t k = 0; k < span; k++)
			tot += chh[c * span + k];
		double ce = entropy_of(chh + c * span, span, tot, &lev);
		assert_int_equal(cr->n, (uint64_t)ch_n[c]);
		assert_close(cr->m.mse, ch_se[c] / ch_n[c], 1e-12, 0);
		assert_close(cr->min, ch_min[c], 0, 0);
		assert_close(cr->max, ch_max[c], 0, 0);
		if (t->nch > 1) {
			assert_int_equal(cr->m.levels_used, lev);
			assert_close(cr->m.entropy_bits, ce, 1e-12, 1e-15);
		}
	}
	/* x̂ statistics over every finite x̂ */
	qs_sort_doubles(hs, nh);
	assert_int_equal(r->xhs.n, nh);
	assert_close(r->xhs.mean, hsum / (double)nh, 1e-12, 1e-15);
	assert_close(r->xhs.min, hs[0], 0, 0);
	assert_close(r->xhs.max, hs[nh - 1], 0, 0);
	assert_close(r->xhs.p50, qs_quantile_sorted(hs, nh, 0.5), 1e-12, 0);
	assert_close(r->xhs.p99, qs_quantile_sorted(hs, nh, 0.99), 1e-12, 0);
	/* the bad x̂ are reported */
	bool seen = false;
	for (uint64_t k = 0; k < r->nfind; k++)
		if (r->find[k].kind == FIND_NONFINITE && r->find[k].value == (double)bad)
			seen = true;
	assert_true(seen);
	free(hist);
	free(chh);
	free(ch_se);
	free(ch_n);
	free(ch_min);
	free(ch_max);
	free(hs);
}

static void same_metrics(const struct err_metrics *a, const struct err_metrics *b, double rel)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->n_nan, b->n_nan);
	assert_int_equal(a->n_inf, b->n_inf);
	assert_int_equal(a->levels_used, b->levels_used);
	assert_close(a->mse, b->mse, rel, 0);
	assert_close(a->mae, b->mae, rel, 0);
	assert_close(a->max_abs_err, b->max_abs_err, 0, 0);
	assert_close(a->sqnr_db, b->sqnr_db, rel, 0);
	assert_close(a->cosine, b->cosine, rel, 0);
	assert_close(a->clipped_pct, b->clipped_pct, rel, 0);
	assert_close(a->entropy_bits, b->entropy_bits, rel, 1e-15);
	assert_close(a->rmse_over_scale, b->rmse_over_scale, rel, 0);
}

/* Every figure and finding of a against b (rel = 0: bit for bit). */
static void same_result(const struct tensor_result *a, const struct tensor_result *b, double rel)
{
	same_metrics(&a->m, &b->m, rel);
	assert_int_equal(a->xs.n, b->xs.n);
	assert_close(a->xs.mean, b->xs.mean, rel, 1e-15);
	assert_close(a->xs.std, b->xs.std, rel, 0);
	assert_close(a->xs.p25, b->xs.p25, 0, 0);
	assert_int_equal(a->xhs.n, b->xhs.n);
	assert_int_equal(a->xhs.n_nan, b->xhs.n_nan);
	assert_int_equal(a->xhs.n_inf, b->xhs.n_inf);
	assert_close(a->xhs.mean, b->xhs.mean, rel, 1e-15);
	assert_close(a->xhs.kurtosis, b->xhs.kurtosis, rel + 1e-13, 0);
	assert_close(a->xhs.p01, b->xhs.p01, 0, 0);
	assert_close(a->xhs.p75, b->xhs.p75, 0, 0);
	assert_int_equal(a->bits, b->bits);
	assert_close(a->scale_min, b->scale_min, 0, 0);
	assert_close(a->scale_max, b->scale_max, 0, 0);
	assert_int_equal(a->zero_point, b->zero_point);
	assert_close(a->clip_min, b->clip_min, 0, 0);
	assert_close(a->clip_max, b->clip_max, 0, 0);
	assert_int_equal(a->nchannels, b->nchannels);
	for (uint64_t c = 0; c < a->nchannels; c++) {
		same_metrics(&a->ch[c].m, &b->ch[c].m, rel);
		assert_int_equal(a->ch[c].n, b->ch[c].n);
		assert_close(a->ch[c].min, b->ch[c].min, 0, 0);
		assert_close(a->ch[c].max, b->ch[c].max, 0, 0);
		assert_close(a->ch[c].scale, b->ch[c].scale, 0, 0);
		assert_int_equal(a->ch[c].zero_point, b->ch[c].zero_point);
		assert_int_equal(a->ch[c].risk, b->ch[c].risk);
	}
	assert_int_equal(a->nfind, b->nfind);
	for (uint64_t k = 0; k < a->nfind; k++) {
		assert_int_equal(a->find[k].kind, b->find[k].kind);
		assert_int_equal(a->find[k].level, b->find[k].level);
		assert_int_equal(a->find[k].channel, b->find[k].channel);
		assert_close(a->find[k].value, b->find[k].value, rel + 1e-13, 0);
	}
	assert_int_equal(a->risk, b->risk);
}

/* Stream case t on 1 and 2 threads, through callbacks; check the reference,
 * analyze_measure's result, and that the reads stayed chunk-sized. */
static void run_case(enum mode mode, const struct graph_facts *g, unsigned seed)
{
	int64_t shape[2] = {R, C};
	struct tcase t;
	struct tensor_result r1, r2, ref;
	struct qs_error err = {0};

	make_case(&t, mode, seed);
	struct quantized q = quantized_of(&t, shape);
	struct float_src xs = {.read = read_x, .ctx = &t}, hs = {.read = read_xh, .ctx = &t};
	struct code_src cs = {.read = read_q, .ctx = &t, .lo = 1, .hi = 0};
	struct analyze_opts o1 = {.threads = 1}, o2 = {.threads = 2};

	/* chunks of 8192 elements, or of 64 whole rows when the channels run
	 * along the last axis (analyze.h) */
	uint64_t chunk = mode == M_AXIS1 ? 64 * C : 8192;
	assert_int_equal(analyze_measure_src(&xs, &hs, &cs, &q, g, &o1, &r1, &err), 0);
	assert_false(t.whole_seen);
	assert_true(t.maxcount <= chunk && t.maxcount < N);
	assert_true(t.reads >= 3 * (N / chunk));
	assert_int_equal(analyze_measure_src(&xs, &hs, &cs, &q, g, &o2, &r2, &err), 0);
	assert_false(t.whole_seen);
	check_reference(&t, &r1);
	if (g) { /* the graph checks ran: the int16 pair is always listed */
		bool pair = false, bias = false;
		for (uint64_t k = 0; k < r1.nfind; k++) {
			pair |= r1.find[k].kind == FIND_ACC_INT16_PAIR;
			bias |= r1.find[k].kind == FIND_BIAS_OVERFLOW;
		}
		assert_true(pair);
		assert_true(bias == (g->nbias != 0));
	}
	same_result(&r1, &r2, 0); /* the halves do not depend on the threads */
	tensor_result_free(&r2);
	analyze_set_simd(false); /* the portable kernels: the same bits */
	int rc = analyze_measure_src(&xs, &hs, &cs, &q, g, &o2, &r2, &err);
	analyze_set_simd(true);
	assert_int_equal(rc, 0);
	same_result(&r1, &r2, 0);
	q.xhat = t.xh;
	q.codes = t.q;
	assert_int_equal(analyze_measure(t.x, &q, g, &ref, &err), 0);
	same_result(&r1, &ref, 1e-12);
	tensor_result_free(&r1);
	tensor_result_free(&r2);
	tensor_result_free(&ref);
	free_case(&t);
}

static void test_axis0(void **state)
{
	(void)state;
	run_case(M_AXIS0, NULL, 11);
}

static void test_axis1(void **state)
{
	(void)state;
	run_case(M_AXIS1, NULL, 12);
}

static void test_per_tensor(void **state)
{
	(void)state;
	run_case(M_TENSOR, NULL, 13);
}

static void test_blocks(void **state)
{
	(void)state;
	run_case(M_BLOCK, NULL, 14);
}

/* Graph facts: the int16-pair and accumulator checks from Σ|q − z| per
 * output channel (axis 0 = the scheme's channels, and axis 1 across them),
 * the bias check against the per-channel scales. */
static void test_graph_facts(void **state)
{
	static float bias[R];
	struct graph_facts g = {.role = ROLE_WEIGHT,
	                        .op_type = "MatMul",
	                        .out_axis = 0,
	                        .reduce_k = C,
	                        .has_input = true,
	                        .s_in = 1e-6,
	                        .x_qmin = -128,
	                        .x_qmax = 127,
	                        .bias = bias,
	                        .nbias = R};
	(void)state;
	for (int k = 0; k < R; k++)
		bias[k] = k % 3 ? 0.5f : 5e4f; /* some overflow int32 at s_in·s_w */
	run_case(M_AXIS0, &g, 21);
	g.out_axis = 1;
	g.nbias = 0;
	run_case(M_AXIS0, &g, 22);
	run_case(M_BLOCK, &g, 23);
}

/* Fallbacks: no codes (levels from x̂ values) and a code outside the
 * table; both must equal analyze_measure. */
static void fallbacks(enum mode mode)
{
	int64_t shape[2] = {R, C};
	struct tcase t;
	struct tensor_result r, ref;
	struct qs_error err = {0};

	make_case(&t, mode, 31);
	struct quantized q = quantized_of(&t, shape);
	struct float_src xs = {.data = t.x}, hs = {.read = read_xh, .ctx = &t};
	struct code_src cs = {.read = read_q, .ctx = &t, .lo = 1, .hi = 0};
	struct quantized qr = q;
	qr.xhat = t.xh;
	assert_int_equal(analyze_measure_src(&xs, &hs, NULL, &q, NULL, NULL, &r, &err), 0);
	assert_int_equal(analyze_measure(t.x, &qr, NULL, &ref, &err), 0);
	same_result(&r, &ref, 0);
	tensor_result_free(&r);
	tensor_result_free(&ref);
	q.qmax = 100; /* codes up to 127 lie outside the table */
	assert_int_equal(analyze_measure_src(&xs, &hs, &cs, &q, NULL, NULL, &r, &err), 0);
	qr = q;
	qr.xhat = t.xh;
	qr.codes = t.q;
	assert_int_equal(analyze_measure(t.x, &qr, NULL, &ref, &err), 0);
	same_result(&r, &ref, 0);
	assert_int_equal(r.m.levels_used, ref.m.levels_used);
	tensor_result_free(&r);
	tensor_result_free(&ref);
	/* the source's promise widens the table: streamed again */
	cs.lo = -128;
	cs.hi = 127;
	t.whole_seen = false;
	assert_int_equal(analyze_measure_src(&xs, &hs, &cs, &q, NULL, NULL, &r, &err), 0);
	assert_false(t.whole_seen);
	assert_int_equal(analyze_measure(t.x, &qr, NULL, &ref, &err), 0);
	same_result(&r, &ref, 1e-12);
	tensor_result_free(&r);
	tensor_result_free(&ref);
	free_case(&t);
}

static void test_fallbacks(void **state)
{
	(void)state;
	fallbacks(M_AXIS0);
	fallbacks(M_AXIS1); /* channels along the last axis: their own loop */
}

/* A failing source's status comes back. */
static int read_fail(void *ctx, uint64_t first, uint64_t count, float *dst, struct qs_error *err)
{
	struct tcase *t = ctx;
	if (first < 70000) {
		memcpy(dst, t->xh + first, count * sizeof *dst);
		return 0;
	}
	return qs_error_set(err, QS_ERR_FORMAT, "bad bytes at %llu", (unsigned long long)first);
}

static void test_source_error(void **state)
{
	int64_t shape[2] = {R, C};
	struct tcase t;
	struct tensor_result r;
	struct qs_error err = {0};
	(void)state;

	make_case(&t, M_AXIS0, 41);
	struct quantized q = quantized_of(&t, shape);
	struct float_src xs = {.data = t.x}, hs = {.read = read_fail, .ctx = &t};
	struct code_src cs = {.read = read_q, .ctx = &t, .lo = 1, .hi = 0};
	assert_int_equal(analyze_measure_src(&xs, &hs, &cs, &q, NULL, NULL, &r, &err),
	                 QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "bad bytes"));
	assert_null(r.ch);
	free_case(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_axis0),        cmocka_unit_test(test_axis1),
	        cmocka_unit_test(test_per_tensor),   cmocka_unit_test(test_blocks),
	        cmocka_unit_test(test_graph_facts),  cmocka_unit_test(test_fallbacks),
	        cmocka_unit_test(test_source_error),
	};
	analysis_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
