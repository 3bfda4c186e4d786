/* Overflow findings against bounds worked by hand. */
#include <math.h>
#include <string.h>

#include "overflow.h"
#include "qs_test.h"

/* Σ|w_q| · max|x_q| against 2^31 − 1 = 2147483647 (half: 1073741823.5). */
static void test_acc_int32(void **state)
{
	(void)state;
	struct finding f;
	/* K = 1000 weights at 127, inputs 128: 127·1000·128 = 16 256 000 */
	assert_int_equal(overflow_acc_int32(127000, 128, 3, &f), RISK_OK);
	assert_close(f.value, 16256000, 0, 0);
	assert_int_equal(f.channel, 3);
	assert_int_equal(f.kind, FIND_ACC_INT32);
	/* K = 100 000: 127·100000·128 = 1 625 600 000 > half → warn */
	assert_int_equal(overflow_acc_int32(12700000, 128, 0, &f), RISK_WARN);
	/* K = 200 000: 3 251 200 000 > 2^31 − 1 → risk */
	assert_int_equal(overflow_acc_int32(25400000, 128, 0, &f), RISK_RISK);
	assert_true(strlen(f.reason) > 0);
	/* exactly 2^31 − 1 is still representable */
	assert_int_equal(overflow_acc_int32(2147483647, 1, 0, NULL), RISK_WARN);
	assert_int_equal(overflow_acc_int32(2147483648.0, 1, 0, NULL), RISK_RISK);
}

/* a·b + c·d: int8 × int8 full range reaches 2·(−128)·(−128) = 32768. */
static void test_int16_pair(void **state)
{
	(void)state;
	struct finding f;
	assert_int_equal(overflow_int16_pair(-128, 127, -128, 127, &f), RISK_RISK);
	assert_close(f.value, 32768, 0, 0);
	/* narrow weights: max 2·127·128 = 32512, min 2·(−127)·127... = −32512 */
	assert_int_equal(overflow_int16_pair(-127, 127, -128, 127, &f), RISK_OK);
	assert_close(fabs(f.value), 32512, 0, 0);
	/* u8 × s8 (pmaddubsw): 2·255·127 = 64770 */
	assert_int_equal(overflow_int16_pair(-128, 127, 0, 255, &f), RISK_RISK);
	assert_close(f.value, -65280, 0, 0); /* 2·255·(−128) is the larger magnitude */
	/* 7-bit inputs (reduce range): 2·127·128... weights [−128,127] × [0,127] */
	assert_int_equal(overflow_int16_pair(-128, 127, 0, 127, &f), RISK_OK);
	assert_close(f.value, -32512, 0, 0);
}

/* q = round(b / (s_in·s_w)) against int32. */
static void test_bias(void **state)
{
	(void)state;
	struct finding f;
	/* 0.5 / (0.02·0.001) = 25 000 */
	assert_int_equal(overflow_bias(0.5, 0.02, 0.001, INT32_MIN, INT32_MAX, 7, &f), RISK_OK);
	assert_close(f.value, 25000, 0, 0);
	assert_int_equal(f.channel, 7);
	/* 1.0 / (1e-3·1e-8) = 1e11 > 2^31 − 1 */
	assert_int_equal(overflow_bias(1.0, 1e-3, 1e-8, INT32_MIN, INT32_MAX, 0, &f), RISK_RISK);
	assert_close(f.value, 1e11, 1e-12, 0);
	/* tiny combined scale, small bias: 1e-17 / (1e-8·1e-8) = 10, but warn */
	assert_int_equal(overflow_bias(1e-17, 1e-8, 1e-8, INT32_MIN, INT32_MAX, 0, &f), RISK_WARN);
	/* zero scale: any non-zero bias is unrepresentable */
	assert_int_equal(overflow_bias(-1.0, 0.0, 0.5, INT32_MIN, INT32_MAX, 0, &f), RISK_RISK);
	assert_int_equal(overflow_bias(0.0, 0.0, 0.5, INT32_MIN, INT32_MAX, 0, &f), RISK_WARN);
	/* int16 bias type: 0.5/(0.01·0.001) = 50 000 > 32767 */
	assert_int_equal(overflow_bias(0.5, 0.01, 0.001, INT16_MIN, INT16_MAX, 0, &f), RISK_RISK);
}

static void test_scale_and_saturation(void **state)
{
	(void)state;
	struct finding f;
	assert_close(overflow_scale_floor(8), 1e-5, 0, 0);
	assert_close(overflow_scale_floor(4), 1e-5, 0, 0);
	assert_close(overflow_scale_floor(16), 1e-9, 0, 0);
	assert_int_equal(overflow_tiny_scale(1e-6, 8, 2, &f), RISK_WARN);
	assert_int_equal(f.kind, FIND_TINY_SCALE);
	assert_int_equal(overflow_tiny_scale(1e-6, 16, 2, &f), RISK_OK);
	assert_int_equal(overflow_tiny_scale(0.0, 8, 2, &f), RISK_OK);
	assert_int_equal(overflow_tiny_scale(-1e-6, 8, 2, &f), RISK_WARN);
	assert_int_equal(overflow_saturation(0.5, -1, &f), RISK_OK);
	assert_int_equal(overflow_saturation(1.5, -1, &f), RISK_WARN);
	assert_int_equal(overflow_saturation(10.5, -1, &f), RISK_RISK);
	assert_string_equal(risk_level_name(RISK_WARN), "warn");
	assert_string_equal(risk_level_name(RISK_OK), "ok");
	assert_string_equal(risk_level_name(RISK_RISK), "risk");
	for (int k = 0; k < FIND_COUNT; k++)
		assert_true(strcmp(finding_kind_name(k), "?") != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_acc_int32),
	        cmocka_unit_test(test_int16_pair),
	        cmocka_unit_test(test_bias),
	        cmocka_unit_test(test_scale_and_saturation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
