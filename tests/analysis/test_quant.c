/* Linear quantization: code ranges, scale/zero point and rounding worked by
 * hand, the seed vector, and the uniform-noise closed form for SQNR. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "metrics.h"
#include "qs_test.h"
#include "quant.h"

static struct scheme sch(int bits, bool is_signed, bool sym, bool narrow)
{
	struct scheme s = scheme_default();
	s.bits = bits;
	s.is_signed = is_signed;
	s.symmetric = sym;
	s.narrow = narrow;
	s.gran = GRAN_TENSOR;
	return s;
}

static void range_is(struct scheme s, int32_t lo, int32_t hi)
{
	int32_t a, b;
	scheme_code_range(&s, &a, &b);
	assert_int_equal(a, lo);
	assert_int_equal(b, hi);
}

static void test_code_ranges(void **state)
{
	(void)state;
	range_is(sch(8, true, true, false), -128, 127);
	range_is(sch(8, true, true, true), -127, 127);
	range_is(sch(8, false, true, false), 0, 255);
	range_is(sch(8, false, true, true), 0, 254);
	range_is(sch(4, true, true, true), -7, 7);
	range_is(sch(2, true, true, false), -2, 1);
	range_is(sch(16, false, false, false), 0, 65535);
	range_is(sch(16, true, false, false), -32768, 32767);
	struct scheme r = sch(8, true, true, false);
	r.reduce_range = true;
	range_is(r, -64, 63);
	r.is_signed = false;
	range_is(r, 0, 127);
}

static void test_scheme_valid(void **state)
{
	(void)state;
	const char *why = NULL;
	struct scheme s = scheme_default();
	assert_true(scheme_valid(&s, &why));
	assert_int_equal(s.bits, 8);
	assert_true(s.is_signed && s.symmetric && s.gran == GRAN_CHANNEL && s.axis == 0);
	assert_int_equal(s.rounding, ROUND_HALF_EVEN);
	s.bits = 1;
	assert_false(scheme_valid(&s, &why));
	assert_non_null(why);
	s.bits = 17;
	assert_false(scheme_valid(&s, &why));
	s.bits = 4;
	s.gran = GRAN_GROUP;
	s.group_size = 0;
	assert_false(scheme_valid(&s, &why));
	s.group_size = 32;
	assert_true(scheme_valid(&s, &why));
	s.scale_floor = -1;
	assert_false(scheme_valid(&s, &why));
}

static void param_is(struct scheme s, double lo, double hi, double scale, int32_t z)
{
	struct qparam p = quant_param_from_range(&s, lo, hi);
	int32_t qmin, qmax;
	scheme_code_range(&s, &qmin, &qmax);
	assert_close(p.scale, scale, 1e-7, 0);
	assert_int_equal(p.zero_point, z);
	assert_close(p.clip_lo, (qmin - z) * (double)p.scale, 1e-6, 0);
	assert_close(p.clip_hi, (qmax - z) * (double)p.scale, 1e-6, 0);
	assert_true(p.clip_lo <= 0 && p.clip_hi >= 0);
}

/* Hand-worked scale and zero point (quant.h rules). */
static void test_param_from_range(void **state)
{
	(void)state;
	param_is(sch(8, true, true, false), -1, 0.5, 1 / 127.5, 0);
	param_is(sch(8, true, true, true), -1, 0.5, 1 / 127.0, 0);
	param_is(sch(8, false, true, false), -1, 0.5, 1 / 127.5, 128); /* zp = rhe(127.5) */
	param_is(sch(8, false, true, true), -1, 0.5, 1 / 127.0, 127);
	/* affine uint8 [-1,3]: s = 4/255, z = round(0 + 1/s) = round(63.75) = 64 */
	param_is(sch(8, false, false, false), -1, 3, 4 / 255.0, 64);
	/* affine uint8 [2,4]: the range widens to [0,4] → z = 0 */
	param_is(sch(8, false, false, false), 2, 4, 4 / 255.0, 0);
	/* affine int8 [-3,-1] → [-3,0]: s = 3/255, z = round(-128 + 255) = 127 */
	param_is(sch(8, true, false, false), -3, -1, 3 / 255.0, 127);
	/* 4-bit signed narrow, [-0.7, 0.35]: s = 0.7/7 = 0.1 */
	param_is(sch(4, true, true, true), -0.7, 0.35, 0.1, 0);
	struct scheme r = sch(8, true, true, false);
	r.reduce_range = true;
	param_is(r, -1, 1, 1 / 63.5, 0);
	/* all zeros, NaN bounds, reversed range: scale 1, exact zero */
	param_is(sch(8, true, true, false), 0, 0, 1.0, 0);
	param_is(sch(8, false, false, false), 0, 0, 1.0, 0);
	param_is(sch(8, true, true, true), NAN, 1, 1.0, 0);
	param_is(sch(8, true, true, true), 1, -1, 1.0, 0);
	/* scale floor: 1e-7/127 would be 7.9e-10 */
	struct scheme f = sch(8, true, true, true);
	param_is(f, -1e-7, 1e-7, 1e-7 / 127, 0);
	f.scale_floor = 1e-5;
	param_is(f, -1e-7, 1e-7, 1e-5, 0);
	param_is(f, 0, 0, 1e-5, 0);
	/* denormal range: scale below FLT_MIN → 1 (ONNX Runtime) */
	param_is(sch(8, true, true, true), -1e-40, 1e-40, 1.0, 0);
	/* huge range: no overflow to inf */
	param_is(sch(8, false, false, false), -3e38, 3e38, 6e38 / 255, 128);
}

static void test_rounding(void **state)
{
	(void)state;
	const double v[] = {2.5, 3.5, -2.5, -0.5, 0.5, 1.5, 2.4, 2.6, -2.6};
	const double even[] = {2, 4, -2, 0, 0, 2, 2, 3, -3};
	const double away[] = {3, 4, -3, -1, 1, 2, 2, 3, -3};
	for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
		assert_close(quant_round(v[k], ROUND_HALF_EVEN), even[k], 0, 0);
		assert_close(quant_round(v[k], ROUND_HALF_AWAY), away[k], 0, 0);
	}
	struct qparam p = {.scale = 0.5f, .zero_point = 0};
	assert_int_equal(quant_one(1.25f, &p, -8, 7, ROUND_HALF_EVEN), 2);
	assert_int_equal(quant_one(1.25f, &p, -8, 7, ROUND_HALF_AWAY), 3);
	assert_int_equal(quant_one(100.0f, &p, -8, 7, ROUND_HALF_EVEN), 7);
	assert_int_equal(quant_one(-100.0f, &p, -8, 7, ROUND_HALF_EVEN), -8);
	assert_int_equal(quant_one(INFINITY, &p, -8, 7, ROUND_HALF_EVEN), 7);
	assert_int_equal(quant_one(-INFINITY, &p, -8, 7, ROUND_HALF_EVEN), -8);
	assert_int_equal(quant_one(NAN, &p, -8, 7, ROUND_HALF_EVEN), 0);
	struct qparam a = {.scale = 0.5f, .zero_point = 3};
	assert_int_equal(quant_one(0.0f, &a, 0, 15, ROUND_HALF_EVEN), 3);
	assert_int_equal(quant_one(NAN, &a, 0, 15, ROUND_HALF_EVEN), 3);
	assert_close(quant_deq(5, &a), 1.0, 0, 0);
}

/* shape [2,3]: per-channel axis 0 and per-group along axis 1 (block 2,
 * partial last block), codes worked by hand. */
static void test_quant_tensor(void **state)
{
	(void)state;
	const int64_t shape[2] = {2, 3};
	const float x[6] = {0.12f, -0.26f, 0.3f, 1.4f, -2.6f, 3.5f};
	int32_t q[6];
	float xh[6];
	struct layout l;
	struct scheme s = sch(8, true, true, false);
	s.gran = GRAN_CHANNEL;
	struct qparam pc[2] = {{.scale = 0.1f}, {.scale = 1.0f}};
	assert_true(layout_init(&l, shape, 2, GRAN_CHANNEL, 0, 0, NULL));
	quant_tensor(&s, &l, pc, x, q, xh);
	const int32_t want_c[6] = {1, -3, 3, 1, -3, 4}; /* 3.5 → 4 (half to even) */
	for (int i = 0; i < 6; i++)
		assert_int_equal(q[i], want_c[i]);
	assert_close(xh[1], -0.3, 1e-6, 0);
	assert_close(xh[5], 4.0, 0, 0);

	const float y[6] = {0.12f, -0.26f, 3.5f, 1.4f, -2.6f, 3.5f};
	struct qparam pg[4] = {{.scale = 0.1f}, {.scale = 1.0f}, {.scale = 0.5f}, {.scale = 2.0f}};
	s.gran = GRAN_GROUP;
	s.group_size = 2;
	assert_true(layout_init(&l, shape, 2, GRAN_GROUP, -1, 2, NULL));
	quant_tensor(&s, &l, pg, y, q, NULL);
	const int32_t want_g[6] = {1, -3, 4, 3, -5, 2};
	for (int i = 0; i < 6; i++)
		assert_int_equal(q[i], want_g[i]);
	s.rounding = ROUND_HALF_AWAY;
	quant_tensor(&s, &l, pg, y, NULL, xh);
	assert_close(xh[5], 4.0, 0, 0); /* 1.75 → 2 either way */
}

static const float seed[16] = {
        0.0027225911617279053f, 0.18983474373817444f,  0.41336789727211f,     -0.18240013718605042f,
        0.2007804811000824f,    -0.19718044996261597f, -0.06138917803764343f, -0.12958911061286926f,
        -0.12484398484230042f,  -0.4296090304851532f,  -0.3490271270275116f,  0.3468421995639801f,
        0.3684578835964203f,    0.18269559741020203f,  0.23875799775123596f,  -0.2323986440896988f};

static double rmse_of(const struct scheme *s, const struct qparam *p, const float *x, size_t n)
{
	int32_t qmin, qmax;
	struct err_acc a;
	struct err_metrics m;
	scheme_code_range(s, &qmin, &qmax);
	err_acc_init(&a);
	for (size_t i = 0; i < n; i++)
		err_acc_add(&a, x[i], quant_deq(quant_one(x[i], p, qmin, qmax, s->rounding), p),
		            false);
	metrics_finish(&a, NULL, 0, p->scale, &m);
	return m.rmse;
}

/* The seed vector, per-tensor symmetric narrow range from its min/max. */
static void test_seed_vector(void **state)
{
	(void)state;
	const double lo = -0.4296090304851532, hi = 0.41336789727211;
	struct scheme s4 = sch(4, true, true, true), s8 = sch(8, true, true, true);
	struct qparam p4 = quant_param_from_range(&s4, lo, hi);
	struct qparam p8 = quant_param_from_range(&s8, lo, hi);
	assert_close(p4.scale, 0.4296090304851532 / 7, 1e-7, 0);
	assert_close(p8.scale, 0.4296090304851532 / 127, 1e-7, 0);
	assert_close(rmse_of(&s4, &p4, seed, 16), 0.010758, 0, 5e-7);
	assert_close(rmse_of(&s8, &p8, seed, 16), 0.00082632, 0, 5e-9);
}

/* Uniform data on [-1, 1], symmetric narrow minmax at b bits: the rounding
 * error is uniform on ±Δ/2 with Δ = 1/(2^(b−1) − 1), so
 * SQNR = (1/3) / (Δ²/12) = 4·(2^(b−1) − 1)². */
static void test_uniform_sqnr(void **state)
{
	(void)state;
	enum {
		N = 200000
	};
	float *x = malloc(N * sizeof *x);
	struct qs_rng rng = {11};
	float lo = INFINITY, hi = -INFINITY;
	assert_non_null(x);
	for (int i = 0; i < N; i++) {
		x[i] = (float)(2 * qs_rng_uniform(&rng) - 1);
		lo = fminf(lo, x[i]);
		hi = fmaxf(hi, x[i]);
	}
	const int bits[] = {4, 8, 12};
	for (int k = 0; k < 3; k++) {
		struct scheme s = sch(bits[k], true, true, true);
		struct qparam p = quant_param_from_range(&s, lo, hi);
		int32_t qmin, qmax;
		struct err_acc a;
		struct err_metrics m;
		scheme_code_range(&s, &qmin, &qmax);
		err_acc_init(&a);
		for (int i = 0; i < N; i++)
			err_acc_add(&a, x[i],
			            quant_deq(quant_one(x[i], &p, qmin, qmax, s.rounding), &p),
			            false);
		metrics_finish(&a, NULL, 0, p.scale, &m);
		double q = ldexp(1, bits[k] - 1) - 1;
		double want = 10 * log10(4 * q * q);
		print_message("uniform b=%d: SQNR %.4f dB, closed form %.4f dB, rmse/scale %.4f\n",
		              bits[k], m.sqnr_db, want, m.rmse_over_scale);
		assert_close(m.sqnr_db, want, 0, 0.1);
		assert_close(m.rmse_over_scale, 1 / sqrt(12.0), 0, 0.005);
	}
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_code_ranges),      cmocka_unit_test(test_scheme_valid),
	        cmocka_unit_test(test_param_from_range), cmocka_unit_test(test_rounding),
	        cmocka_unit_test(test_quant_tensor),     cmocka_unit_test(test_seed_vector),
	        cmocka_unit_test(test_uniform_sqnr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
