/* Block formats simulated streaming (analyze_simulate_src with a GGUF
 * qtype): a tensor read chunk by chunk through a callback that fails on any
 * read of the whole tensor, against a reference measured here in double on
 * the whole tensor quantized by the format's quantizer (x̂ from its
 * dequantizer, codes for levels and entropy; NaN/inf x quantized as 0 and
 * left out of the figures). One and two threads give the same bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "ggml_quants.h"
#include "qs_test.h"

enum {
	R = 260,
	C = 4096 /* R·C ≥ 2^20: the quantize pass runs on two threads */
};
#define N ((uint64_t)R * C)

struct reader {
	const float *x;
	uint64_t calls, maxcount;
};

static int read_cb(void *ctx, uint64_t first, uint64_t count, float *dst, struct qs_error *err)
{
	struct reader *r = ctx;

	(void)err;
	if (first + count > N)
		return QS_ERR_USAGE;
	memcpy(dst, r->x + first, count * sizeof *dst);
	__atomic_add_fetch(&r->calls, 1, __ATOMIC_RELAXED);
	if (count > r->maxcount)
		r->maxcount = count;
	return 0;
}

struct ref {
	double mse, sqnr, cosine, maxe, entropy, row_mse[R];
	uint64_t levels, nan, inf;
};

static void reference(const struct qtype *qt, const float *x, struct ref *rf)
{
	float *clean = malloc(N * sizeof *clean), *xh = malloc(N * sizeof *xh);
	int32_t *q = malloc(N * sizeof *q);
	uint8_t *blk = malloc(N / qt->block_elems * qt->block_bytes);
	long double se = 0, sx2 = 0, sy2 = 0, sxy = 0, rse[R] = {0}; /* a reference sum */
	uint64_t m = 0, hist[1 << 10] = {0}, rn[R] = {0};
	int32_t lo = qt->is_signed ? -(1 << (qt->bits - 1)) : 0;

	assert_true(clean && xh && q && blk);
	*rf = (struct ref){0};
	for (uint64_t i = 0; i < N; i++)
		clean[i] = isfinite(x[i]) ? x[i] : 0.0f;
	qt->quantize_ref(clean, blk, (int64_t)N);
	qt->dequantize(blk, xh, (int64_t)N);
	qt->codes(blk, q, (int64_t)N);
	for (uint64_t i = 0; i < N; i++) {
		if (isnan(x[i])) {
			rf->nan++;
			continue;
		}
		if (isinf(x[i])) {
			rf->inf++;
			continue;
		}
		long double e = (long double)x[i] - xh[i];
		se += e * e;
		sx2 += (long double)x[i] * x[i];
		sy2 += (long double)xh[i] * xh[i];
		sxy += (long double)x[i] * xh[i];
		rf->maxe = fabs((double)e) > rf->maxe ? fabs((double)e) : rf->maxe;
		rse[i / C] += e * e;
		rn[i / C]++;
		hist[q[i] - lo]++;
		m++;
	}
	rf->mse = (double)(se / m);
	rf->sqnr = 10 * log10((double)(sx2 / se));
	rf->cosine = (double)(sxy / sqrtl(sx2 * sy2));
	for (int k = 0; k < R; k++)
		rf->row_mse[k] = (double)(rse[k] / rn[k]);
	for (size_t b = 0; b < sizeof hist / sizeof *hist; b++) {
		if (!hist[b])
			continue;
		double p = (double)hist[b] / (double)m;
		rf->levels++;
		rf->entropy -= p * log2(p);
	}
	free(clean);
	free(xh);
	free(q);
	free(blk);
}

static void check_type(int ggml_id)
{
	const struct qtype *qt = ggml_qtype_by_id(ggml_id);
	const int64_t shape[2] = {R, C};
	float *x = malloc(N * sizeof *x);
	struct qs_rng g = {.s = 7 + (unsigned)ggml_id};
	struct qspec s = {0};
	struct reader rd = {0};
	struct float_src src = {.read = read_cb, .ctx = &rd};
	struct tensor_result a, b;
	struct qs_error err = {0};
	static struct ref rf;

	assert_non_null(qt);
	assert_non_null(x);
	for (uint64_t i = 0; i < N; i++)
		x[i] = (float)(i % 9 == 0 ? 2.0 * qs_rng_laplace(&g) : qs_rng_gauss(&g));
	x[5] = NAN;
	x[3 * C + 1000] = INFINITY;
	x[200 * C + 7] = -INFINITY;
	x[100 * C + 33] = 60.0f; /* an outlier block */
	rd.x = x;
	s.scheme = scheme_default();
	s.method.kind = METHOD_MINMAX;
	s.qt = qt;
	reference(qt, x, &rf);

	struct analyze_opts one = {.threads = 1}, two = {.threads = 2};
	assert_int_equal(analyze_simulate_src(&src, shape, 2, &s, NULL, &one, &a, &err), 0);
	assert_true(rd.calls > 2 && rd.maxcount < N);
	assert_int_equal(analyze_simulate_src(&src, shape, 2, &s, NULL, &two, &b, &err), 0);
	assert_memory_equal(&a.m, &b.m, sizeof a.m);
	assert_memory_equal(a.ch, b.ch, R * sizeof *a.ch);

	assert_int_equal(a.m.n_nan, rf.nan);
	assert_int_equal(a.m.n_inf, rf.inf);
	assert_close(a.m.mse, rf.mse, 1e-12, 0);
	assert_close(a.m.sqnr_db, rf.sqnr, 1e-12, 0);
	assert_close(a.m.cosine, rf.cosine, 1e-12, 0);
	assert_close(a.m.max_abs_err, rf.maxe, 0, 0);
	assert_int_equal(a.m.levels_used, rf.levels);
	assert_close(a.m.entropy_bits, rf.entropy, 1e-12, 0);
	assert_int_equal(a.nchannels, R);
	for (int k = 0; k < R; k++)
		assert_close(a.ch[k].m.mse, rf.row_mse[k], 1e-12, 0);
	assert_int_equal(a.bits, qt->bits);
	tensor_result_free(&a);
	tensor_result_free(&b);
	free(x);
}

static void test_q8_0(void **state)
{
	(void)state;
	check_type(GGML_ID_Q8_0);
}

static void test_q4_k(void **state)
{
	(void)state;
	check_type(GGML_ID_Q4_K);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_q8_0),
	        cmocka_unit_test(test_q4_k),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
