/* analyze_simulate / analyze_measure on tensors whose results are worked by
 * hand (2-bit narrow codes {−1, 0, 1} make x̂ easy to write down), the seed
 * vector, an independent Q8_0 reference (llama.cpp's formula with gcc's
 * _Float16) and the edge cases of issue 2. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "qs_test.h"

static struct qspec spec_of(int bits, bool narrow, enum granularity g, int axis, uint64_t gs)
{
	struct qspec s = {0};
	s.scheme = scheme_default();
	s.scheme.bits = bits;
	s.scheme.narrow = narrow;
	s.scheme.gran = g;
	s.scheme.axis = axis;
	s.scheme.group_size = gs;
	s.method.kind = METHOD_MINMAX;
	return s;
}

static int sim(const float *x, const int64_t *shape, int ndim, const struct qspec *s,
               const struct graph_facts *g, struct tensor_result *r, float *xh)
{
	struct qs_error err = {0};
	int rc = analyze_simulate(x, shape, ndim, s, g, r, xh, NULL, &err);
	if (rc)
		print_message("analyze_simulate: %s\n", err.msg);
	return rc;
}

static const struct finding *find_kind(const struct tensor_result *r, enum finding_kind k,
                                       int64_t ch)
{
	for (uint64_t i = 0; i < r->nfind; i++)
		if (r->find[i].kind == k && (ch == -2 || r->find[i].channel == ch))
			return &r->find[i];
	return NULL;
}

static const float seed[16] = {
        0.0027225911617279053f, 0.18983474373817444f,  0.41336789727211f,     -0.18240013718605042f,
        0.2007804811000824f,    -0.19718044996261597f, -0.06138917803764343f, -0.12958911061286926f,
        -0.12484398484230042f,  -0.4296090304851532f,  -0.3490271270275116f,  0.3468421995639801f,
        0.3684578835964203f,    0.18269559741020203f,  0.23875799775123596f,  -0.2323986440896988f};

static void test_seed_vector(void **state)
{
	(void)state;
	const int64_t shape[1] = {16};
	struct tensor_result r;
	struct qspec s4 = spec_of(4, true, GRAN_TENSOR, 0, 0),
	             s8 = spec_of(8, true, GRAN_TENSOR, 0, 0);
	assert_int_equal(sim(seed, shape, 1, &s4, NULL, &r, NULL), 0);
	assert_close(r.scale_min, 0.4296090304851532 / 7, 1e-7, 0);
	assert_close(r.m.rmse, 0.010758, 0, 5e-7);
	print_message("seed 4-bit: scale %.9g rmse %.8g sqnr %.4f dB\n", r.scale_min, r.m.rmse,
	              r.m.sqnr_db);
	assert_int_equal(r.zero_point, 0);
	assert_int_equal(r.bits, 4);
	tensor_result_free(&r);
	assert_int_equal(sim(seed, shape, 1, &s8, NULL, &r, NULL), 0);
	assert_close(r.scale_max, 0.4296090304851532 / 127, 1e-7, 0);
	assert_close(r.m.rmse, 0.00082632, 0, 5e-9);
	print_message("seed 8-bit: scale %.9g rmse %.8g sqnr %.4f dB\n", r.scale_min, r.m.rmse,
	              r.m.sqnr_db);
	assert_int_equal(r.nchannels, 16); /* per-tensor reports the 16 slices of axis 0 */
	tensor_result_free(&r);
	tensor_result_free(NULL);
}

/* Per-tensor 2-bit narrow (codes −1,0,1, scale = absmax = 1), channels along
 * axis 0: x = [[1, −1, 0.4], [0.6, 0, −0.2]] → x̂ = [[1, −1, 0], [1, 0, 0]].
 * ch0: e = (0, 0, 0.4): MSE 0.16/3, SQNR 10·log10(2.16/0.16) = 11.3033 dB
 * ch1: e = (−0.4, 0, −0.2): MSE 0.2/3; tensor MSE 0.36/6 = 0.06 */
static void test_per_tensor_channel_table(void **state)
{
	(void)state;
	const int64_t shape[2] = {2, 3};
	const float x[6] = {1, -1, 0.4f, 0.6f, 0, -0.2f};
	float xh[6];
	struct tensor_result r;
	struct qspec s = spec_of(2, true, GRAN_TENSOR, 0, 0);
	assert_int_equal(sim(x, shape, 2, &s, NULL, &r, xh), 0);
	const float want[6] = {1, -1, 0, 1, 0, 0};
	for (int i = 0; i < 6; i++)
		assert_close(xh[i], want[i], 0, 0);
	assert_close(r.m.mse, 0.06, 1e-6, 0);
	assert_int_equal(r.nchannels, 2);
	assert_close(r.ch[0].m.mse, 0.16 / 3, 1e-6, 0);
	assert_close(r.ch[0].m.sqnr_db, 11.30333768, 1e-6, 0);
	assert_close(r.ch[1].m.mse, 0.2 / 3, 1e-6, 0);
	assert_close(r.ch[1].scale, 1, 0, 0);
	assert_close(r.ch[1].min, -0.2, 1e-7, 0);
	assert_close(r.ch[1].max, 0.6, 1e-7, 0);
	assert_int_equal(r.m.levels_used, 3);
	/* codes: 1, −1, 0, 1, 0, 0 → p = 2/6, 1/6, 3/6 */
	assert_close(r.m.entropy_bits,
	             -(2 / 6.0 * log2(2 / 6.0) + 1 / 6.0 * log2(1 / 6.0) + 0.5 * log2(0.5)), 1e-12,
	             0);
	assert_int_equal(r.ch[0].m.levels_used, 3);
	assert_int_equal(r.ch[1].m.levels_used, 2);
	assert_close(r.ch[1].m.entropy_bits, -(1 / 3.0 * log2(1 / 3.0) + 2 / 3.0 * log2(2 / 3.0)),
	             1e-12, 0);
	tensor_result_free(&r);
}

/* Per-group along the last axis, blocks of 2 over 5 columns (last block
 * partial), 2-bit narrow: each block's scale is its absmax and
 * x̂ = ±scale where |x| > scale/2, else 0 (a tie rounds to 0).
 * row0 [1, −2 | 0.5, 0.25 | 4]  → scales 2, 0.5, 4 → x̂ [0, −2, 0.5, 0, 4]
 * row1 [−3, 0 | 0.1, −0.3 | −1] → scales 3, 0.3, 1 → x̂ [−3, 0, 0, −0.3, −1]
 * errors 1, 0.25 (row0) and 0.1 (row1): MSE 1.0725/10; channels = rows. */
static void test_per_group_partial(void **state)
{
	(void)state;
	const int64_t shape[2] = {2, 5};
	const float x[10] = {1, -2, 0.5f, 0.25f, 4, -3, 0, 0.1f, -0.3f, -1};
	float xh[10];
	struct tensor_result r;
	struct qspec s = spec_of(2, true, GRAN_GROUP, -1, 2);
	assert_int_equal(sim(x, shape, 2, &s, NULL, &r, xh), 0);
	const float want[10] = {0, -2, 0.5f, 0, 4, -3, 0, 0, -0.3f, -1};
	for (int i = 0; i < 10; i++)
		assert_close(xh[i], want[i], 1e-7, 0);
	assert_close(r.m.mse, 0.10725, 1e-6, 0);
	assert_close(r.scale_min, 0.3, 1e-7, 0);
	assert_close(r.scale_max, 4, 0, 0);
	assert_int_equal(r.nchannels, 2);
	assert_close(r.ch[0].m.mse, 1.0625 / 5, 1e-6, 0);
	assert_close(r.ch[1].m.mse, 0.01 / 5, 1e-6, 0);
	assert_close(r.ch[0].scale, 6.5 / 3, 1e-6, 0);
	assert_close(r.ch[1].scale, 4.3 / 3, 1e-6, 0);
	assert_int_equal(r.ch[0].m.levels_used, 3); /* codes 0 −1 | 1 0 | 1 */
	assert_int_equal(r.ch[1].m.levels_used, 2); /* codes −1 0 | 0 −1 | −1 */
	assert_null(r.grp);
	tensor_result_free(&r);

	/* per-group results: block errors (1, 0), (0, 0.25), (0), (0, 0),
	 * (0.1, 0), (0); block 4 = [0.1, −0.3]: SQNR 10·log10(0.1/0.01) = 10 dB */
	s.per_group = true;
	assert_int_equal(sim(x, shape, 2, &s, NULL, &r, xh), 0);
	assert_int_equal(r.ngroups, 6);
	const double mse[6] = {0.5, 0.03125, 0, 0, 0.005, 0};
	for (int g = 0; g < 6; g++)
		assert_close(r.grp[g].mse, mse[g], 1e-6, 1e-12);
	assert_int_equal(r.grp[2].n, 1);
	assert_close(r.grp[4].sqnr_db, 10, 1e-5, 0);
	assert_close(r.grp[4].scale, 0.3, 1e-7, 0);
	assert_close(r.grp[0].max_abs_err, 1, 0, 0);
	assert_true(isinf(r.grp[5].sqnr_db));
	tensor_result_free(&r);
	assert_null(r.grp);
}

/* Blocks of 2 along axis 0 of [4, 3] (the ONNX blocked layout; channels
 * are the 3 columns), 2-bit narrow. Groups g = block·3 + column:
 *   block 0: {1, −4} → 4, {2, 0.5} → 2, {3, 0.1} → 3
 *   block 1: {0.2, 0} → 0.2, {−0.3, 0} → 0.3, {8, −1} → 8
 * x̂ columns: [0, −4, 0.2, 0], [2, 0, −0.3, 0], [3, 0, 8, 0]
 * column MSE: 1/4, 0.25/4, (0.01 + 1)/4; codes per column:
 * [0, −1, 1, 0], [1, 0, −1, 0], [1, 0, 1, 0] → 3, 3, 2 levels. */
static void test_per_group_axis0(void **state)
{
	(void)state;
	const int64_t shape[2] = {4, 3};
	const float x[12] = {1, 2, 3, -4, 0.5f, 0.1f, 0.2f, -0.3f, 8, 0, 0, -1};
	float xh[12];
	struct tensor_result r;
	struct qspec s = spec_of(2, true, GRAN_GROUP, 0, 2);
	s.per_group = true;
	assert_int_equal(sim(x, shape, 2, &s, NULL, &r, xh), 0);
	const float want[12] = {0, 2, 3, -4, 0, 0, 0.2f, -0.3f, 8, 0, 0, 0};
	for (int i = 0; i < 12; i++)
		assert_close(xh[i], want[i], 1e-7, 0);
	const double scale[6] = {4, 2, 3, 0.2, 0.3, 8};
	assert_int_equal(r.ngroups, 6);
	for (int g = 0; g < 6; g++)
		assert_close(r.grp[g].scale, scale[g], 1e-7, 0);
	assert_int_equal(r.nchannels, 3);
	assert_close(r.ch[0].m.mse, 0.25, 1e-6, 0);
	assert_close(r.ch[1].m.mse, 0.0625, 1e-6, 0);
	assert_close(r.ch[2].m.mse, 0.2525, 1e-6, 0);
	assert_int_equal(r.ch[0].m.levels_used, 3);
	assert_int_equal(r.ch[1].m.levels_used, 3);
	assert_int_equal(r.ch[2].m.levels_used, 2);
	assert_close(r.ch[2].m.entropy_bits, 1, 1e-12, 0);
	tensor_result_free(&r);
}

/* Per-channel on the last axis, given as −1 and as 1: x = [[1, −2, 3],
 * [−4, 0.5, 0.25]] → column absmax 4, 2, 3 = the 2-bit narrow scales. */
static void test_axis_last_and_negative(void **state)
{
	(void)state;
	const int64_t shape[2] = {2, 3};
	const float x[6] = {1, -2, 3, -4, 0.5f, 0.25f};
	const double want[3] = {4, 2, 3};
	for (int axis = -1; axis <= 1; axis += 2) {
		struct tensor_result r;
		struct qspec s = spec_of(2, true, GRAN_CHANNEL, axis, 0);
		assert_int_equal(sim(x, shape, 2, &s, NULL, &r, NULL), 0);
		assert_int_equal(r.nchannels, 3);
		for (int c = 0; c < 3; c++)
			assert_close(r.ch[c].scale, want[c], 0, 0);
		assert_close(r.scale_min, 2, 0, 0);
		tensor_result_free(&r);
	}
	struct tensor_result r;
	struct qspec bad = spec_of(8, false, GRAN_CHANNEL, 2, 0);
	struct qs_error err = {0};
	assert_int_not_equal(analyze_simulate(x, shape, 2, &bad, NULL, &r, NULL, NULL, &err), 0);
	assert_true(strlen(err.msg) > 0);
	assert_null(r.ch);
}

static void test_empty_one_constant(void **state)
{
	(void)state;
	struct tensor_result r;
	struct qspec s = spec_of(8, true, GRAN_TENSOR, 0, 0);
	const int64_t e[1] = {0};
	assert_int_equal(sim(NULL, e, 1, &s, NULL, &r, NULL), 0);
	assert_int_equal(r.m.n, 0);
	assert_non_null(find_kind(&r, FIND_EMPTY, -1));
	assert_close(r.scale_min, 1, 0, 0); /* the unit scale of an empty range */
	assert_true(isinf(r.m.sqnr_db) && r.m.sqnr_db > 0);
	assert_int_equal(r.risk, RISK_OK);
	tensor_result_free(&r);

	const int64_t one[1] = {1};
	const float v = 0.3f;
	float xh;
	assert_int_equal(sim(&v, one, 1, &s, NULL, &r, &xh), 0);
	assert_close(r.scale_min, 0.3 / 127, 1e-7, 0);
	assert_close(xh, 0.3, 1e-7, 0);
	assert_false(isnan(r.m.sqnr_db));
	assert_true(isnan(r.xs.skew));
	tensor_result_free(&r);

	/* constant 2: scale 2/127, every code 127 → one level, entropy 0 */
	const int64_t four[1] = {4};
	const float c[4] = {2, 2, 2, 2};
	assert_int_equal(sim(c, four, 1, &s, NULL, &r, NULL), 0);
	assert_non_null(find_kind(&r, FIND_CONSTANT, -1));
	assert_close(r.scale_min, 2.0 / 127, 1e-7, 0);
	assert_int_equal(r.m.levels_used, 1);
	assert_close(r.m.entropy_bits, 0, 0, 0);
	assert_close(r.m.rmse, 0, 0, 1e-6);
	tensor_result_free(&r);

	/* all zeros: scale 1, exact */
	const float z[4] = {0, 0, 0, 0};
	assert_int_equal(sim(z, four, 1, &s, NULL, &r, NULL), 0);
	assert_close(r.scale_max, 1, 0, 0);
	assert_true(isinf(r.m.sqnr_db));
	assert_close(r.m.cosine, 1, 0, 0);
	tensor_result_free(&r);
}

/* NaN/inf are left out and reported: the finite values [1, −0.5, 0.25] give
 * scale 1/127 (8-bit narrow); x̂ of the bad elements is 0, never NaN. */
static void test_nonfinite_and_denormal(void **state)
{
	(void)state;
	const int64_t shape[1] = {5};
	const float x[5] = {1, NAN, -0.5f, INFINITY, 0.25f};
	float xh[5];
	struct tensor_result r;
	struct qspec s = spec_of(8, true, GRAN_TENSOR, 0, 0);
	s.scheme.narrow = true;
	assert_int_equal(sim(x, shape, 1, &s, NULL, &r, xh), 0);
	const struct finding *f = find_kind(&r, FIND_NONFINITE, -1);
	assert_non_null(f);
	assert_int_equal(f->level, RISK_RISK);
	assert_close(f->value, 2, 0, 0);
	assert_int_equal(r.risk, RISK_RISK);
	assert_int_equal(r.m.n, 3);
	assert_int_equal(r.m.n_nan, 1);
	assert_int_equal(r.m.n_inf, 1);
	assert_close(r.scale_min, 1.0 / 127, 1e-7, 0);
	assert_true(isfinite(r.m.mse) && isfinite(r.m.sqnr_db) && isfinite(r.xs.mean));
	for (int i = 0; i < 5; i++)
		assert_true(isfinite(xh[i]));
	assert_close(xh[1], 0, 0, 0);
	tensor_result_free(&r);

	/* the same per group (blocks of 2), so a gathered group holds a NaN */
	struct qspec g = spec_of(8, true, GRAN_GROUP, 0, 2);
	assert_int_equal(sim(x, shape, 1, &g, NULL, &r, xh), 0);
	assert_close(r.m.mse, r.m.mse, 0, 0);
	assert_true(isfinite(r.m.mse));
	assert_close(xh[0], 1, 1e-7, 0); /* block {1, NaN}: scale 1/127 */
	tensor_result_free(&r);

	/* per-channel on the last axis (columns gathered group by group):
	 * [1, NaN, 2; −1, 0.5, inf] → column absmax 1, 0.5, 2 → scale /127 */
	const int64_t s23[2] = {2, 3};
	const float y[6] = {1, NAN, 2, -1, 0.5f, INFINITY};
	struct qspec c = spec_of(8, true, GRAN_CHANNEL, -1, 0);
	float yh[6];
	assert_int_equal(sim(y, s23, 2, &c, NULL, &r, yh), 0);
	assert_close(r.ch[0].scale, 1.0 / 127, 1e-7, 0);
	assert_close(r.ch[1].scale, 0.5 / 127, 1e-7, 0);
	assert_close(r.ch[2].scale, 2.0 / 127, 1e-7, 0);
	assert_int_equal(r.ch[1].m.n_nan, 1);
	assert_int_equal(r.ch[2].m.n_inf, 1);
	assert_int_equal(r.m.n, 4); /* each finite value is its column's absmax: exact */
	assert_true(isinf(r.m.sqnr_db));
	tensor_result_free(&r);

	const float d[3] = {1e-40f, 1, -1};
	const int64_t three[1] = {3};
	assert_int_equal(sim(d, three, 1, &s, NULL, &r, NULL), 0);
	f = find_kind(&r, FIND_DENORMAL, -1);
	assert_non_null(f);
	assert_int_equal(f->level, RISK_WARN);
	tensor_result_free(&r);
}

/* Per-channel axis 0 on [3, 4] with row 1 all zeros: a zero-channel warning
 * on channel 1, whose scale is 1 and whose error is 0. */
static void test_zero_channel(void **state)
{
	(void)state;
	const int64_t shape[2] = {3, 4};
	const float x[12] = {1, 2, 3, 4, 0, 0, 0, 0, -1, 0.5f, 0.25f, 2};
	struct tensor_result r;
	struct qspec s = spec_of(8, true, GRAN_CHANNEL, 0, 0);
	assert_int_equal(sim(x, shape, 2, &s, NULL, &r, NULL), 0);
	const struct finding *f = find_kind(&r, FIND_ZERO_CHANNEL, 1);
	assert_non_null(f);
	assert_int_equal(f->level, RISK_WARN);
	assert_null(find_kind(&r, FIND_ZERO_CHANNEL, 0));
	assert_int_equal(r.ch[1].risk, RISK_WARN);
	assert_close(r.ch[1].scale, 1, 0, 0);
	assert_true(isinf(r.ch[1].m.sqnr_db));
	assert_close(r.ch[0].scale, 4 / 127.0, 1e-7, 0); /* narrow */
	assert_int_equal(r.zero_point, 0);
	/* The tensor's scale and clip extremes and its mean scale leave the
	 * zero row's fallback scale 1 (clip ±127) out: rows 0 and 2 have
	 * max |x| 4 and 2, so scales 4/127 and 2/127. */
	assert_close(r.scale_min, 2 / 127.0, 1e-7, 0);
	assert_close(r.scale_max, 4 / 127.0, 1e-7, 0);
	assert_close(r.clip_min, -4, 1e-6, 0);
	assert_close(r.clip_max, 4, 1e-6, 0);
	assert_close(r.m.rmse_over_scale, r.m.rmse / (3 / 127.0), 1e-6, 0);
	tensor_result_free(&r);

	/* All rows zero: the fallback is all there is, and is reported. */
	const float z[12] = {0};
	assert_int_equal(sim(z, shape, 2, &s, NULL, &r, NULL), 0);
	assert_close(r.scale_min, 1, 0, 0);
	assert_close(r.scale_max, 1, 0, 0);
	assert_close(r.clip_max, 127, 0, 0);
	tensor_result_free(&r);

	/* Groups of 2 along rows: row 0's second group {3, 4} and row 2's
	 * {0.25, 2} set the extremes, row 1's zero groups do not. */
	struct qspec sg = spec_of(8, true, GRAN_GROUP, 1, 2);
	assert_int_equal(sim(x, shape, 2, &sg, NULL, &r, NULL), 0);
	assert_close(r.scale_max, 4 / 127.0, 1e-7, 0);
	assert_close(r.scale_min, 1 / 127.0, 1e-7, 0); /* row 2's {-1, 0.5} */
	assert_close(r.ch[1].scale, 1, 0, 0);          /* a row of zeros only */
	assert_close(r.ch[0].scale, (2 / 127.0 + 4 / 127.0) / 2, 1e-7, 0);
	tensor_result_free(&r);
}

/* Tiny scales: a channel of ±1e-7 quantizes with 1e-7/127 < 1e-5. */
static void test_tiny_scale(void **state)
{
	(void)state;
	const int64_t shape[2] = {2, 2};
	const float x[4] = {1, -1, 1e-7f, -1e-7f};
	struct tensor_result r;
	struct qspec s = spec_of(8, true, GRAN_CHANNEL, 0, 0);
	assert_int_equal(sim(x, shape, 2, &s, NULL, &r, NULL), 0);
	const struct finding *f = find_kind(&r, FIND_TINY_SCALE, 1);
	assert_non_null(f);
	assert_int_equal(r.ch[1].risk, RISK_WARN);
	assert_null(find_kind(&r, FIND_TINY_SCALE, 0));
	tensor_result_free(&r);
	s.scheme.scale_floor = 1e-5;
	assert_int_equal(sim(x, shape, 2, &s, NULL, &r, NULL), 0);
	assert_null(find_kind(&r, FIND_TINY_SCALE, 1));
	assert_close(r.scale_min, 1e-5, 1e-6, 0);
	tensor_result_free(&r);
}

/* Graph facts: W [2, 3], output axis 0, inputs int8 with s_in = 1e-3,
 * full-range symmetric int8 weights (scale = absmax/127.5).
 * Row 0 = [−127.5, 64, 1] → s_w = 1, codes −128, 64, 1; bias 0.5 → 500.
 * Row 1 = [1000, 0, 0] → s_w = 1000/127.5; bias 1e9 → q = 1e9 / (1e-3·7.843)
 * = 1.275e11 outside int32: risk on channel 1. The int16 pair of weight
 * codes down to −128 with int8 inputs reaches 2·(−128)·(−128) = 32768;
 * narrow weights (−127..127) stop at 2·127·128 = 32512. */
static void test_graph_bias_and_pair(void **state)
{
	(void)state;
	const int64_t shape[2] = {2, 3};
	const float w[6] = {-127.5f, 64, 1, 1000, 0, 0};
	const float bias[2] = {0.5f, 1e9f};
	struct graph_facts g = {.role = ROLE_WEIGHT,
	                        .out_axis = 0,
	                        .reduce_k = 3,
	                        .has_input = true,
	                        .s_in = 1e-3,
	                        .x_qmin = -128,
	                        .x_qmax = 127,
	                        .bias = bias,
	                        .nbias = 2};
	struct tensor_result r;
	struct qspec s = spec_of(8, false, GRAN_CHANNEL, 1, 0); /* graph axis 0 wins */
	assert_int_equal(sim(w, shape, 2, &s, &g, &r, NULL), 0);
	assert_int_equal(r.nchannels, 2);
	const struct finding *b1 = find_kind(&r, FIND_BIAS_OVERFLOW, 1);
	assert_non_null(b1);
	assert_int_equal(b1->level, RISK_RISK);
	assert_close(b1->value, 1e9 / (1e-3 * (1000 / 127.5)), 1e-6, 0);
	assert_int_equal(r.ch[1].risk, RISK_RISK);
	assert_null(find_kind(&r, FIND_BIAS_OVERFLOW, 0)); /* 500 is fine */
	assert_close(r.ch[0].scale, 1, 0, 0);
	const struct finding *p = find_kind(&r, FIND_ACC_INT16_PAIR, -1);
	assert_non_null(p);
	assert_int_equal(p->level, RISK_RISK);
	assert_close(p->value, 32768, 0, 0);
	assert_int_equal(r.risk, RISK_RISK);
	tensor_result_free(&r);

	/* narrow weights: no pair overflow */
	s.scheme.narrow = true;
	g.bias = NULL;
	assert_int_equal(sim(w, shape, 2, &s, &g, &r, NULL), 0);
	p = find_kind(&r, FIND_ACC_INT16_PAIR, -1);
	assert_non_null(p);
	assert_int_equal(p->level, RISK_OK);
	assert_close(fabs(p->value), 32512, 0, 0);
	tensor_result_free(&r);
}

/* int32 accumulator: one output row of K = 140 000 weights all 1 quantized
 * to 127, inputs up to 128: 127·140000·128 = 2 275 840 000 > 2^31 − 1. */
static void test_graph_acc_int32(void **state)
{
	(void)state;
	enum {
		K = 140000
	};
	const int64_t shape[2] = {1, K};
	float *w = malloc(K * sizeof *w);
	struct graph_facts g = {.role = ROLE_WEIGHT,
	                        .out_axis = 0,
	                        .reduce_k = K,
	                        .has_input = true,
	                        .s_in = 0.1,
	                        .x_qmin = -128,
	                        .x_qmax = 127};
	struct tensor_result r;
	struct qspec s = spec_of(8, true, GRAN_CHANNEL, 0, 0);
	assert_non_null(w);
	for (int i = 0; i < K; i++)
		w[i] = 1;
	assert_int_equal(sim(w, shape, 2, &s, &g, &r, NULL), 0);
	const struct finding *f = find_kind(&r, FIND_ACC_INT32, 0);
	assert_non_null(f);
	assert_int_equal(f->level, RISK_RISK);
	assert_close(f->value, 127.0 * K * 128, 1e-12, 0);
	tensor_result_free(&r);
	free(w);
}

/* Per-channel uint8 affine minmax on a [6, 50] tensor built from integers
 * (so C and numpy see the same float32 values), against numpy 1.24 doing
 * ONNX Runtime's arithmetic in float32 (Debian's python3):
 *   i = arange(300); k = (i*7919) % 2001 − 1000
 *   x = (float32(k) / float32(1000)) * float32(1 + i % 5), reshaped [6, 50]
 *   per row: rmin = min(x.min(), 0), rmax = max(x.max(), 0),
 *   scale = float32((rmax − rmin) / 255), zp = round(0 − rmin/scale),
 *   q = clip(round(x/scale) + zp, 0, 255), x̂ = float32((q − zp)·scale)
 *   metrics in float64; np.percentile (linear) for the quantiles; clipped =
 *   x outside [float32((0 − zp)·scale), float32((255 − zp)·scale)]. */
static void test_numpy_per_channel_affine(void **state)
{
	(void)state;
	enum {
		R = 6,
		C = 50
	};
	const int64_t shape[2] = {R, C};
	float x[R * C];
	for (int i = 0; i < R * C; i++) {
		int k = (int)(((long)i * 7919) % 2001) - 1000;
		x[i] = ((float)k / 1000.0f) * (float)(1 + i % 5);
	}
	struct qspec s = spec_of(8, false, GRAN_CHANNEL, 0, 0);
	s.scheme.is_signed = false;
	s.scheme.symmetric = false;
	struct tensor_result r;
	assert_int_equal(sim(x, shape, 2, &s, NULL, &r, NULL), 0);
	const double scale[R] = {0.03382745012640953,  0.03333333507180214, 0.03333333507180214,
	                         0.036803923547267914, 0.03333333507180214, 0.03396470472216606};
	const int32_t zp[R] = {113, 148, 121, 127, 132, 108};
	for (int c = 0; c < R; c++) {
		assert_close(r.ch[c].scale, scale[c], 1e-15, 0);
		assert_int_equal(r.ch[c].zero_point, zp[c]);
	}
	assert_int_equal(r.zero_point, INT32_MIN); /* the rows differ */
	assert_close(r.m.mse, 9.7016294993281681e-05, 1e-12, 0);
	assert_close(r.m.sqnr_db, 45.702093583961272, 1e-12, 0);
	assert_close(r.m.cosine, 0.99998654886974558, 1e-14, 0);
	assert_close(r.m.mae, 0.0085474356853713594, 1e-12, 0);
	assert_close(r.m.max_abs_err, 0.01807856559753418, 1e-12, 0);
	assert_int_equal(r.m.levels_used, 152);
	assert_close(r.m.entropy_bits, 7.0222661188829214, 1e-12, 0);
	assert_close(r.ch[2].m.mse, 6.9597566433377909e-05, 1e-12, 0);
	assert_close(r.ch[2].m.sqnr_db, 47.026378026193576, 1e-12, 0);
	/* the rounded zero point shifts [(0 − z)·s, (255 − z)·s] by up to s/2,
	 * so 5 extremes lie outside it (numpy: x < lo or x > hi per row) */
	assert_close(r.m.clipped_pct, 100.0 * 5 / 300, 1e-12, 0);
	assert_null(find_kind(&r, FIND_SATURATION, -2)); /* none moved by the clamp */
	assert_close(r.xs.mean, 0.048160000825300815, 1e-12, 0);
	assert_close(r.xs.std, 1.9015701421903106, 1e-12, 0);
	assert_close(r.xs.p01, -4.3108999443054197, 1e-12, 0);
	assert_close(r.xs.p25, -1.0532499849796295, 1e-12, 0);
	assert_close(r.xs.p50, 0.037500000558793545, 1e-12, 0);
	assert_close(r.xs.p75, 1.198500007390976, 1e-12, 0);
	assert_close(r.xs.p99, 4.45764992713928, 1e-12, 0);
	assert_close(r.xhs.p01, -4.3010001897811891, 1e-12, 0);
	assert_close(r.xhs.p50, 0.033580392599105835, 1e-12, 0);
	assert_close(r.xhs.p99, 4.4691090536117528, 1e-12, 0);
	tensor_result_free(&r);
}

/* Q8_0 against llama.cpp's formula written here: d = amax/127,
 * q = roundf(x·(1/d)), stored fp16(d), x̂ = q·fp16(d). */
static void test_block_q8_0(void **state)
{
	(void)state;
	const struct qtype *qt = qtype_find("Q8_0");
	if (!qt || !qt->quantize_ref)
		skip();
	enum {
		R = 3,
		C = 64
	};
	const int64_t shape[2] = {R, C};
	float x[R * C], xh[R * C];
	struct qs_rng rng = {21};
	for (int i = 0; i < R * C; i++)
		x[i] = (float)qs_rng_gauss(&rng) * (i < C ? 0.01f : 1.0f);
	struct qspec s = spec_of(8, true, GRAN_TENSOR, 0, 0);
	s.qt = qt;
	struct tensor_result r;
	assert_int_equal(sim(x, shape, 2, &s, NULL, &r, xh), 0);
	double se2 = 0, dmin = INFINITY, dmax = 0;
	int outside = 0; /* x beyond the codes' range [−128·fp16(d), 127·fp16(d)] */
	for (int b = 0; b < R * C / 32; b++) {
		float amax = 0;
		for (int j = 0; j < 32; j++)
			amax = fmaxf(amax, fabsf(x[b * 32 + j]));
		float d = amax / 127, id = d ? 1.0f / d : 0.0f;
		float dh = (float)(_Float16)d;
		dmin = fmin(dmin, dh);
		dmax = fmax(dmax, dh);
		for (int j = 0; j < 32; j++) {
			float want = roundf(x[b * 32 + j] * id) * dh;
			assert_close(xh[b * 32 + j], want, 0, 0);
			se2 += ((double)x[b * 32 + j] - want) * ((double)x[b * 32 + j] - want);
			outside += x[b * 32 + j] > 127 * dh || x[b * 32 + j] < -128 * dh;
		}
	}
	assert_close(r.m.mse, se2 / (R * C), 1e-12, 0);
	assert_close(r.scale_min, dmin, 0, 0);
	assert_close(r.scale_max, dmax, 0, 0);
	assert_int_equal(r.nchannels, R); /* rows */
	assert_int_equal(r.zero_point, 0);
	assert_true(r.m.levels_used > 100 && r.m.levels_used <= 255);
	assert_close(r.m.clipped_pct, 100.0 * outside / (R * C), 1e-12, 0);
	assert_null(find_kind(&r, FIND_SATURATION, -2)); /* nothing beyond half a step */
	print_message("Q8_0 gaussian rows: %d of %d just past 127·fp16(d)\n", outside, R * C);
	print_message("Q8_0 gaussian rows: sqnr %.3f dB, levels %llu, entropy %.3f bits\n",
	              r.m.sqnr_db, (unsigned long long)r.m.levels_used, r.m.entropy_bits);
	tensor_result_free(&r);

	const int64_t odd[2] = {2, 48};
	struct qs_error err = {0};
	assert_int_equal(analyze_simulate(x, odd, 2, &s, NULL, &r, NULL, NULL, &err), QS_ERR_USAGE);
}

/* Q4_0's reference quantizer (formats.md §3.5): d = (the signed extreme)/−8,
 * code = min(15, trunc(x/d + 8.5)) − 8. Block [−1, 0.99, 0 ×30]: d = 0.125,
 * 0.99 → min(15, 16.42) = 15 → 7 → x̂ = 0.875, beyond the top of the block's
 * range [−8·d, 7·d] = [−1, 0.875] by more than half a step (0.0625): clipped
 * and saturated, 1 of 32 = 3.125 % (a saturation warning).
 * Measuring the same blocks with analyze_block_params gives the same. */
static void test_block_q4_0_clip(void **state)
{
	(void)state;
	const struct qtype *qt = qtype_find("Q4_0");
	if (!qt || !qt->quantize_ref || !qt->codes || !qt->block_scales)
		skip();
	const int64_t shape[1] = {32};
	float x[32] = {-1, 0.99f}, xh[32];
	int32_t codes[32];
	struct qspec s = spec_of(4, false, GRAN_TENSOR, 0, 0);
	s.qt = qt;
	s.per_group = true;
	struct tensor_result r, m;
	struct qs_error err = {0};
	assert_int_equal(analyze_simulate(x, shape, 1, &s, NULL, &r, xh, codes, &err), 0);
	assert_close(xh[0], -1, 0, 0);
	assert_close(xh[1], 0.875, 0, 0);
	assert_int_equal(codes[1], 7);
	assert_close(r.m.clipped_pct, 100.0 / 32, 1e-12, 0);
	assert_close(r.scale_max, 0.125, 0, 0);
	assert_close(r.clip_max, 0.875, 0, 0);
	assert_close(r.clip_min, -1, 0, 0);
	assert_non_null(find_kind(&r, FIND_SATURATION, -1));
	assert_close(r.m.max_abs_err, 0.115, 1e-6, 0);
	assert_int_equal(r.ngroups, 1);

	struct quantized q = {
	        .xhat = xh, .codes = codes, .bits = 4, .qmin = -8, .qmax = 7, .per_group = true};
	struct qparam p;
	float d = 0;
	unsigned char blk[64];
	assert_true(qt->block_bytes <= sizeof blk);
	qt->quantize_ref(x, blk, 32);
	qt->block_scales(blk, &d, 1);
	assert_true(layout_init(&q.layout, shape, 1, GRAN_GROUP, -1, 32, NULL));
	analyze_block_params(qt, &q.layout, xh, codes, &d, &p);
	q.params = &p;
	assert_int_equal(analyze_measure(x, &q, NULL, &m, &err), 0);
	assert_close(m.m.mse, r.m.mse, 0, 0);
	assert_close(m.m.clipped_pct, r.m.clipped_pct, 0, 0);
	assert_close(m.grp[0].clip_hi, 0.875, 0, 0);
	tensor_result_free(&r);
	tensor_result_free(&m);
}

/* F16 cast: x̂ = (_Float16)x; 70000 saturates at 65504 and counts as clipped. */
static void test_float_cast(void **state)
{
	(void)state;
	const struct qtype *qt = qtype_find("F16");
	assert_non_null(qt);
	const int64_t shape[1] = {4};
	const float x[4] = {0.1f, -3.14159f, 70000, 1e-8f};
	float xh[4];
	struct qspec s = spec_of(8, true, GRAN_TENSOR, 0, 0);
	s.qt = qt;
	struct tensor_result r;
	assert_int_equal(sim(x, shape, 1, &s, NULL, &r, xh), 0);
	for (int i = 0; i < 4; i++)
		assert_close(xh[i], i == 2 ? 65504.0f : (float)(_Float16)x[i], 0, 0);
	assert_close(r.m.clipped_pct, 25, 0, 0);
	assert_int_equal(r.m.levels_used, 4);
	assert_close(r.m.entropy_bits, 2, 1e-12, 0);
	assert_int_equal(r.bits, 16);
	tensor_result_free(&r);
	assert_non_null(qtype_find("int4"));
	assert_int_equal(qtype_find("UINT8")->family, QTYPE_LINEAR);
	/* float8e4m3fn by hand: 1.0625 is the tie between 1 and 1.125 → 1;
	 * 500 saturates at 448 (clipped); −0.001 = −0.512 units of 2^−9 → −2^−9 */
	const float y[4] = {1.0625f, 500, -0.001f, 3};
	s.qt = qtype_find("float8e4m3fn");
	assert_int_equal(sim(y, shape, 1, &s, NULL, &r, xh), 0);
	assert_close(xh[0], 1, 0, 0);
	assert_close(xh[1], 448, 0, 0);
	assert_close(xh[2], -0.001953125, 0, 0);
	assert_close(xh[3], 3, 0, 0);
	assert_close(r.m.clipped_pct, 25, 0, 0);
	assert_close(r.clip_max, 448, 0, 0);
	tensor_result_free(&r);
	assert_null(qtype_find("int3"));
	assert_ptr_equal(qtype_find("f16"), qt); /* ggml's F16, case-insensitive */
	/* F32 has no codes: codes_out stays untouched; x̂ = x */
	int32_t codes[4] = {-5, -5, -5, -5};
	s.qt = qtype_find("F32");
	assert_non_null(s.qt);
	struct qs_error err = {0};
	assert_int_equal(analyze_simulate(x, shape, 1, &s, NULL, &r, xh, codes, &err), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(codes[i], -5);
		assert_close(xh[i], x[i], 0, 0);
	}
	assert_true(isinf(r.m.sqnr_db));
	assert_int_equal(r.m.levels_used, 4);
	tensor_result_free(&r);
	assert_int_equal(qtype_find("float8e4m3fn")->storage, DTYPE_F8E4M3FN);
	if (qtype_find("Q4_0"))
		assert_ptr_equal(qtype_find("q4_0"), qtype_find("Q4_0"));
	assert_true(qtype_count() >= 11);
	assert_non_null(qtype_at(qtype_count() - 1));
	assert_null(qtype_at(qtype_count()));
}

/* Measure mode on the hand vector of test_metrics: x = [1,2,3,4],
 * x̂ = codes = [1,2,2,5] (scale 1, zp 0, clip [−8, 7] at 4 bits):
 * MSE 0.5, SQNR 11.7609 dB, levels 3, entropy 1.5 bits. */
static void test_measure(void **state)
{
	(void)state;
	const int64_t shape[1] = {4};
	const float x[4] = {1, 2, 3, 4}, xh[4] = {1, 2, 2, 5};
	const int32_t codes[4] = {1, 2, 2, 5};
	struct quantized q = {.xhat = xh, .codes = codes, .bits = 4, .qmin = -8, .qmax = 7};
	struct qparam p = {.scale = 1, .zero_point = 0, .clip_lo = -8, .clip_hi = 7};
	struct tensor_result r;
	struct qs_error err = {0};
	assert_true(layout_init(&q.layout, shape, 1, GRAN_TENSOR, 0, 0, NULL));
	q.params = &p;
	assert_int_equal(analyze_measure(x, &q, NULL, &r, &err), 0);
	assert_close(r.m.mse, 0.5, 1e-15, 0);
	assert_close(r.m.sqnr_db, 11.760912590556813, 1e-12, 0);
	assert_int_equal(r.m.levels_used, 3);
	assert_close(r.m.entropy_bits, 1.5, 1e-15, 0);
	assert_close(r.m.rmse_over_scale, sqrt(0.5), 1e-12, 0);
	assert_close(r.xhs.max, 5, 0, 0);
	assert_int_equal(r.nchannels, 4);
	tensor_result_free(&r);
	q.codes = NULL; /* levels from the distinct x̂ values */
	assert_int_equal(analyze_measure(x, &q, NULL, &r, &err), 0);
	assert_int_equal(r.m.levels_used, 3);
	tensor_result_free(&r);

	/* clip [−2, 2] (scale 1, codes −2..2): x = [0, 2.3, 3, 10, −1, −2.4]
	 * → x̂ = [0, 2, 2, 2, −1, −2]; outside the range: 2.3, 3, 10, −2.4
	 * (4 of 6 clipped); beyond half a step (2.5): 3 and 10, 2 of 6 = 33 %
	 * saturated → risk. */
	const int64_t six[1] = {6};
	const float y[6] = {0, 2.3f, 3, 10, -1, -2.4f}, yh[6] = {0, 2, 2, 2, -1, -2};
	const int32_t yc[6] = {0, 2, 2, 2, -1, -2};
	struct qparam p2 = {.scale = 1, .zero_point = 0, .clip_lo = -2, .clip_hi = 2};
	struct quantized q2 = {
	        .xhat = yh, .codes = yc, .params = &p2, .bits = 3, .qmin = -2, .qmax = 2};
	assert_true(layout_init(&q2.layout, six, 1, GRAN_TENSOR, 0, 0, NULL));
	assert_int_equal(analyze_measure(y, &q2, NULL, &r, &err), 0);
	assert_close(r.m.clipped_pct, 400.0 / 6, 1e-12, 0);
	const struct finding *f = find_kind(&r, FIND_SATURATION, -1);
	assert_non_null(f);
	assert_close(f->value, 200.0 / 6, 1e-12, 0);
	assert_int_equal(f->level, RISK_RISK);
	tensor_result_free(&r);
}

/* Measure without parameters or codes (a float16 copy of x): no scale, no
 * clipping, levels = distinct x̂ values; and graph facts without the shape:
 * W [2, 2] per-channel axis 0 = out_axis, K = 2, bias [0, 1e9] with
 * s_in = 1e-3 and s_w = 1/127 → q = 1.27e14 for channel 1: risk. */
static void test_measure_no_params_and_graph(void **state)
{
	(void)state;
	const int64_t shape[2] = {2, 2};
	const float x[4] = {0.1f, -0.2f, 0.3f, 1.0f};
	float xh[4];
	for (int i = 0; i < 4; i++)
		xh[i] = (float)(_Float16)x[i];
	struct quantized q = {.xhat = xh, .bits = 16};
	struct tensor_result r;
	struct qs_error err = {0};
	assert_true(layout_init(&q.layout, shape, 2, GRAN_TENSOR, 0, 0, NULL));
	assert_int_equal(analyze_measure(x, &q, NULL, &r, &err), 0);
	assert_true(isnan(r.scale_min) && isnan(r.m.rmse_over_scale));
	assert_int_equal(r.m.levels_used, 4);
	assert_close(r.m.clipped_pct, 0, 0, 0);
	double se2 = 0;
	for (int i = 0; i < 4; i++)
		se2 += ((double)x[i] - xh[i]) * ((double)x[i] - xh[i]);
	assert_close(r.m.mse, se2 / 4, 1e-12, 0);
	tensor_result_free(&r);

	const float w[4] = {1, -1, 1, 0.5f}, wh[4] = {1, -1, 1, 0.5f};
	const int32_t wc[4] = {127, -127, 127, 64};
	const float bias[2] = {0, 1e9f};
	struct qparam p[2] = {{.scale = 1 / 127.0f, .clip_lo = -1, .clip_hi = 1},
	                      {.scale = 1 / 127.0f, .clip_lo = -1, .clip_hi = 1}};
	struct graph_facts g = {.role = ROLE_WEIGHT,
	                        .out_axis = 0,
	                        .reduce_k = 2,
	                        .has_input = true,
	                        .s_in = 1e-3,
	                        .x_qmin = -127,
	                        .x_qmax = 127,
	                        .bias = bias,
	                        .nbias = 2};
	struct quantized qw = {
	        .xhat = wh, .codes = wc, .params = p, .bits = 8, .qmin = -127, .qmax = 127};
	assert_true(layout_init(&qw.layout, shape, 2, GRAN_CHANNEL, 0, 0, NULL));
	assert_int_equal(analyze_measure(w, &qw, &g, &r, &err), 0);
	const struct finding *b = find_kind(&r, FIND_BIAS_OVERFLOW, 1);
	assert_non_null(b);
	assert_int_equal(b->level, RISK_RISK);
	assert_close(b->value, 1e9 / (1e-3 / 127.0), 1e-6, 0);
	assert_null(find_kind(&r, FIND_BIAS_OVERFLOW, 0));
	/* Σ|w_q|·max|x_q| = (127 + 64)·127 is far from 2^31: ok, not listed */
	assert_null(find_kind(&r, FIND_ACC_INT32, -2));
	assert_int_equal(r.ch[1].risk, RISK_RISK);
	assert_int_equal(r.risk, RISK_RISK);
	tensor_result_free(&r);
}

/* A stored x̂ with NaN/inf where x is finite: those elements are left out
 * (the rest, x = [1, 2] vs x̂ = [1, 2.5], gives MSE 0.125) and reported. */
static void test_measure_bad_xhat(void **state)
{
	(void)state;
	const int64_t shape[1] = {4};
	const float x[4] = {1, 3, 2, 4}, xh[4] = {1, NAN, 2.5f, INFINITY};
	struct quantized q = {.xhat = xh, .bits = 8};
	struct tensor_result r;
	struct qs_error err = {0};
	assert_true(layout_init(&q.layout, shape, 1, GRAN_TENSOR, 0, 0, NULL));
	assert_int_equal(analyze_measure(x, &q, NULL, &r, &err), 0);
	assert_int_equal(r.m.n, 2);
	assert_close(r.m.mse, 0.125, 1e-15, 0);
	assert_true(isfinite(r.m.sqnr_db));
	const struct finding *f = find_kind(&r, FIND_NONFINITE, -1);
	assert_non_null(f);
	assert_close(f->value, 2, 0, 0);
	assert_int_equal(r.risk, RISK_RISK);
	tensor_result_free(&r);
}

/* A per-channel finding on more than 16 channels is folded into a summary. */
static void test_findings_folded(void **state)
{
	(void)state;
	enum {
		R = 40,
		C = 2
	};
	const int64_t shape[2] = {R, C};
	float x[R * C];
	for (int i = 0; i < R * C; i++)
		x[i] = (i / C) % 2 ? 0.0f : 1.0f; /* odd rows all zero: 20 channels */
	struct tensor_result r;
	struct qspec s = spec_of(8, true, GRAN_CHANNEL, 0, 0);
	assert_int_equal(sim(x, shape, 2, &s, NULL, &r, NULL), 0);
	int listed = 0;
	const struct finding *sum = NULL;
	for (uint64_t k = 0; k < r.nfind; k++) {
		if (r.find[k].kind != FIND_ZERO_CHANNEL)
			continue;
		if (r.find[k].channel >= 0)
			listed++;
		else
			sum = &r.find[k];
	}
	assert_int_equal(listed, 16);
	assert_non_null(sum);
	assert_close(sum->value, 4, 0, 0);
	assert_int_equal(r.ch[39].risk, RISK_WARN);
	tensor_result_free(&r);
}

static int setup(void **state)
{
	(void)state;
	analysis_init();
	return 0;
}

/* analyze_quantize gives analyze_simulate's x̂ and codes to the bit, for
 * linear schemes (per tensor, per channel on either axis, groups), range
 * methods that search, a ggml block type and a float cast, on x holding NaN,
 * inf, zeros and an outlier column. */
static void test_quantize_only(void **state)
{
	enum {
		R = 24,
		C = 64,
		N = R * C
	};
	float x[N], xh[N], ref[N];
	int32_t q[N], qref[N];
	struct qs_rng rng = {11};
	struct qs_error err = {0};
	(void)state;

	for (size_t i = 0; i < N; i++)
		x[i] = (float)qs_rng_gauss(&rng) * (i % C == 3 ? 9.0f : 1.0f);
	x[5] = NAN;
	x[70] = INFINITY;
	x[200] = 0.0f;
	struct qspec specs[7];
	specs[0] = spec_of(8, false, GRAN_TENSOR, 0, 0);
	specs[1] = spec_of(8, false, GRAN_CHANNEL, 0, 0);
	specs[2] = spec_of(4, true, GRAN_CHANNEL, 1, 0);
	specs[3] = spec_of(4, false, GRAN_GROUP, 1, 32);
	specs[3].method.kind = METHOD_MSE;
	specs[4] = spec_of(8, false, GRAN_CHANNEL, 0, 0);
	specs[4].method.kind = METHOD_KL;
	specs[5] = spec_of(8, false, GRAN_TENSOR, 0, 0);
	specs[5].qt = qtype_find("Q4_K");
	specs[6] = spec_of(8, false, GRAN_TENSOR, 0, 0);
	specs[6].qt = qtype_find("F16");
	for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++) {
		struct tensor_result r;
		/* Q4_K: blocks of 256 along the last axis */
		const int64_t sh[2] = {k == 5 ? N / 256 : R, k == 5 ? 256 : C};
		const float *xv = x;
		memset(q, 0, sizeof q);
		memset(qref, 0, sizeof qref);
		assert_int_equal(analyze_simulate(xv, sh, 2, &specs[k], NULL, &r, ref, qref, &err),
		                 0);
		tensor_result_free(&r);
		assert_int_equal(analyze_quantize(xv, sh, 2, &specs[k], NULL, xh, q, &err), 0);
		assert_memory_equal(xh, ref, sizeof xh);
		assert_memory_equal(q, qref, sizeof q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_seed_vector),
	        cmocka_unit_test(test_per_tensor_channel_table),
	        cmocka_unit_test(test_per_group_partial),
	        cmocka_unit_test(test_per_group_axis0),
	        cmocka_unit_test(test_axis_last_and_negative),
	        cmocka_unit_test(test_empty_one_constant),
	        cmocka_unit_test(test_nonfinite_and_denormal),
	        cmocka_unit_test(test_zero_channel),
	        cmocka_unit_test(test_tiny_scale),
	        cmocka_unit_test(test_graph_bias_and_pair),
	        cmocka_unit_test(test_graph_acc_int32),
	        cmocka_unit_test(test_numpy_per_channel_affine),
	        cmocka_unit_test(test_block_q8_0),
	        cmocka_unit_test(test_block_q4_0_clip),
	        cmocka_unit_test(test_float_cast),
	        cmocka_unit_test(test_measure),
	        cmocka_unit_test(test_measure_no_params_and_graph),
	        cmocka_unit_test(test_measure_bad_xhat),
	        cmocka_unit_test(test_findings_folded),
	        cmocka_unit_test(test_quantize_only),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
