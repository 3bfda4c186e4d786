/* Layouts checked against index decompositions written out by hand. */
#include <math.h>
#include <stdlib.h>

#include "layout.h"
#include "qs_test.h"

/* shape [2,3,4], axis 1: element i = (o·3 + c)·4 + r. */
static void test_per_channel(void **state)
{
	(void)state;
	const int64_t shape[3] = {2, 3, 4};
	struct layout l;
	assert_true(layout_init(&l, shape, 3, GRAN_CHANNEL, 1, 0, NULL));
	assert_int_equal(l.outer, 2);
	assert_int_equal(l.dim, 3);
	assert_int_equal(l.inner, 4);
	assert_int_equal(l.n, 24);
	assert_int_equal(l.ngroups, 3);
	/* element 13 = (1·3 + 0)·4 + 1 → channel 0; 22 = (1·3+2)·4+2 → 2 */
	assert_int_equal(layout_group(&l, 13), 0);
	assert_int_equal(layout_group(&l, 22), 2);
	assert_int_equal(layout_group(&l, 5), 1);
	assert_int_equal(layout_group_size(&l, 1), 8);
	float x[24], g[8];
	for (int i = 0; i < 24; i++)
		x[i] = (float)i;
	layout_gather(&l, x, 1, g);
	const float want[8] = {4, 5, 6, 7, 16, 17, 18, 19};
	for (int k = 0; k < 8; k++)
		assert_close(g[k], want[k], 0, 0);
	assert_int_equal(layout_nchannels(&l), 3);
	assert_int_equal(layout_channel_of_group(&l, 2), 2);
	assert_int_equal(layout_channel_of_elem(&l, 22), 2);
}

/* shape [2,5], blocks of 2 along axis 1 (last): nblk 3, last block partial.
 * group = o·3 + c/2; channels are the rows. */
static void test_group_partial_last_axis(void **state)
{
	(void)state;
	const int64_t shape[2] = {2, 5};
	struct layout l;
	assert_true(layout_init(&l, shape, 2, GRAN_GROUP, -1, 2, NULL));
	assert_int_equal(l.axis, 1);
	assert_int_equal(l.nblk, 3);
	assert_int_equal(l.ngroups, 6);
	const uint64_t want_group[10] = {0, 0, 1, 1, 2, 3, 3, 4, 4, 5};
	for (uint64_t i = 0; i < 10; i++) {
		assert_int_equal(layout_group(&l, i), want_group[i]);
		assert_int_equal(layout_channel_of_elem(&l, i), i / 5);
	}
	assert_int_equal(layout_group_size(&l, 1), 2);
	assert_int_equal(layout_group_size(&l, 2), 1);
	assert_int_equal(layout_group_size(&l, 5), 1);
	float x[10], g[2];
	for (int i = 0; i < 10; i++)
		x[i] = (float)i;
	layout_gather(&l, x, 4, g);
	assert_close(g[0], 7, 0, 0);
	assert_close(g[1], 8, 0, 0);
	layout_gather(&l, x, 5, g);
	assert_close(g[0], 9, 0, 0);
	assert_int_equal(layout_nchannels(&l), 2);
	assert_int_equal(layout_channel_of_group(&l, 4), 1);
}

/* ONNX blocked layout: W[5,3] with blocks of 2 along axis 0: scale shape
 * [3,3]; group = (c/2)·3 + r; channels are the 3 columns. */
static void test_group_axis0(void **state)
{
	(void)state;
	const int64_t shape[2] = {5, 3};
	struct layout l;
	assert_true(layout_init(&l, shape, 2, GRAN_GROUP, 0, 2, NULL));
	assert_int_equal(l.ngroups, 9);
	for (uint64_t i = 0; i < 15; i++) {
		uint64_t c = i / 3, r = i % 3;
		assert_int_equal(layout_group(&l, i), (c / 2) * 3 + r);
		assert_int_equal(layout_channel_of_elem(&l, i), r);
	}
	assert_int_equal(layout_group_size(&l, 7), 1); /* block 2 = row 4 only */
	float x[15], g[2];
	for (int i = 0; i < 15; i++)
		x[i] = (float)i;
	layout_gather(&l, x, 4, g); /* block 1, column 1: rows 2,3 → 7, 10 */
	assert_close(g[0], 7, 0, 0);
	assert_close(g[1], 10, 0, 0);
	assert_int_equal(layout_channel_of_group(&l, 5), 2);
}

static void test_tensor_and_edges(void **state)
{
	(void)state;
	const int64_t shape[2] = {3, 4};
	const char *why = NULL;
	struct layout l;
	assert_true(layout_init(&l, shape, 2, GRAN_TENSOR, -1, 0, NULL));
	assert_int_equal(l.ngroups, 1);
	assert_int_equal(l.axis, 1);
	assert_int_equal(layout_group(&l, 11), 0);
	assert_int_equal(layout_group_size(&l, 0), 12);
	assert_int_equal(layout_nchannels(&l), 4);
	assert_int_equal(layout_channel_of_elem(&l, 6), 2);
	/* per-tensor accepts an axis out of range (it only names channels) */
	assert_true(layout_init(&l, shape, 2, GRAN_TENSOR, 5, 0, NULL));
	assert_int_equal(l.axis, 0);
	assert_false(layout_init(&l, shape, 2, GRAN_CHANNEL, 2, 0, &why));
	assert_non_null(why);
	assert_false(layout_init(&l, shape, 2, GRAN_CHANNEL, -3, 0, &why));
	assert_false(layout_init(&l, shape, 2, GRAN_GROUP, 1, 0, &why));
	/* scalar = shape [1] */
	assert_true(layout_init(&l, NULL, 0, GRAN_CHANNEL, 0, 0, NULL));
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ngroups, 1);
	/* empty */
	const int64_t empty[2] = {0, 4};
	assert_true(layout_init(&l, empty, 2, GRAN_CHANNEL, 1, 0, NULL));
	assert_int_equal(l.n, 0);
	assert_int_equal(l.ngroups, 4);
	assert_int_equal(layout_group_size(&l, 3), 0);
	/* overflow */
	const int64_t huge[3] = {INT64_MAX, INT64_MAX, 4};
	assert_false(layout_init(&l, huge, 3, GRAN_TENSOR, 0, 0, &why));
	const int64_t neg[2] = {3, -1};
	assert_false(layout_init(&l, neg, 2, GRAN_TENSOR, 0, 0, &why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_per_channel),
	        cmocka_unit_test(test_group_partial_last_axis),
	        cmocka_unit_test(test_group_axis0),
	        cmocka_unit_test(test_tensor_and_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
