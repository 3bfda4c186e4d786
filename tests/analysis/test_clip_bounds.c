/* minmax never clips: the largest |x| defines the range. With a float scale
 * s = fl(amax/127) the bound fl(127·s) can fall one ulp below amax (numpy
 * float32 arithmetic finds amax = 0.12436121702194214 to be such a value);
 * that element must not be counted as clipped. */
#include <math.h>

#include "qs_test.h"

#include "analyze.h"

static void minmax_bound_one_ulp_low(void **state)
{
	(void)state;
	const float amax = 0.12436121702194214f;
	const float x[4] = {amax, -0.05f, 0.01f, 0.0f};
	const int64_t shape[1] = {4};
	struct qspec spec = {.scheme = scheme_default(), .method = {.kind = METHOD_MINMAX}};
	struct tensor_result r = {0};
	struct qs_error err = {0};

	spec.scheme.gran = GRAN_TENSOR;
	spec.scheme.narrow = true;
	/* The case exists: the float bound lies below the value itself. */
	struct qparam p = quant_param_from_range(&spec.scheme, -0.05, amax);
	assert_true(p.clip_hi < amax);

	assert_int_equal(analyze_simulate(x, shape, 1, &spec, NULL, &r, NULL, NULL, &err), 0);
	assert_close(r.m.clipped_pct, 0.0, 0, 0);
	/* amax/s rounds to code 127 exactly, so its error is below half a step. */
	assert_true(r.m.max_abs_err <= p.scale / 2);
	tensor_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(minmax_bound_one_ulp_low),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
