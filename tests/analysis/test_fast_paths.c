/* The engine's vectorised fast paths against plain definitions.
 *
 * quant_tensor takes four values at a time (SSE2, the 1.5·2^23 rounding
 * trick) for groups with one parameter set and half-to-even rounding. The
 * reference here is the definition written out: code = clamp(rint(x / s) +
 * z) with the float32 quotient rounded half to even in double by the C
 * library (nearbyint), NaN → z, x̂ = (code − z)·s in float32. Inputs cover
 * exact halves, the 2^22 edge of the trick, huge values, ±inf, NaN, ±0,
 * denormals, every code range from 2 to 16 bits, signed/unsigned, narrow,
 * zero points at both ends, lengths that leave a scalar tail, and channels
 * with their own parameters. */
#include "layout.h"
#include "qs_test.h"
#include "quant.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int32_t ref_code(float x, float s, int32_t z, int32_t qmin, int32_t qmax)
{
	if (isnan(x))
		return z;
	double v = nearbyint((double)(x / s)) + z;
	if (!(v > qmin))
		return qmin;
	return v > qmax ? qmax : (int32_t)v;
}

/* n values x for scale s: halves, the 2^22 edge, extremes, random. */
static void fill(float *x, size_t n, float s, struct qs_rng *rng)
{
	static const float special[] = {0.0f,     -0.0f,  NAN,     INFINITY, -INFINITY, FLT_MAX,
	                                -FLT_MAX, 1e-40f, -1e-40f, FLT_MIN,  1e30f,     -1e30f};
	size_t ns = sizeof special / sizeof special[0];

	for (size_t i = 0; i < n; i++) {
		double k = (double)(int64_t)(qs_rng_next(rng) % 600) - 300.0;
		switch (i % 8) {
		case 0:
			x[i] = (float)((k + 0.5) * s);
			break;
		case 1:
			x[i] = (float)((k * 4096.0 + 0.5) * s);
			break;
		case 2:
			x[i] = (float)(ldexp(1.0, 22) + (k / 8.0)) * (k < 0 ? -s : s);
			break;
		case 3:
			x[i] = special[i / 8 % ns];
			break;
		case 4:
			x[i] = (float)(qs_rng_gauss(rng) * 40.0 * s);
			break;
		case 5:
			x[i] = (float)(qs_rng_laplace(rng) * 30000.0 * s);
			break;
		case 6:
			x[i] = nextafterf((float)((k + 0.5) * s), k < 0 ? -INFINITY : INFINITY);
			break;
		default:
			x[i] = (float)(qs_rng_uniform(rng) * 70000.0 - 35000.0) * s;
		}
	}
}

static void check_run(const struct scheme *sc, const struct layout *l, const struct qparam *p,
                      const float *x, size_t per)
{
	int32_t qmin, qmax;
	int32_t *codes = malloc(l->n * sizeof *codes);
	float *xhat = malloc(l->n * sizeof *xhat);

	scheme_code_range(sc, &qmin, &qmax);
	quant_tensor(sc, l, p, x, codes, xhat);
	for (size_t i = 0; i < l->n; i++) {
		const struct qparam *pi = &p[i / per];
		int32_t want = ref_code(x[i], pi->scale, pi->zero_point, qmin, qmax);
		float want_hat = (float)(want - pi->zero_point) * pi->scale;
		if (codes[i] != want || memcmp(&xhat[i], &want_hat, sizeof want_hat) != 0)
			fail_msg("element %zu: x %.9g scale %.9g z %d bits %d: code %d (want %d), "
			         "x̂ %.9g (want %.9g)",
			         i, (double)x[i], (double)pi->scale, pi->zero_point, sc->bits,
			         codes[i], want, (double)xhat[i], (double)want_hat);
	}
	/* codes alone and x̂ alone take the same path */
	int32_t *c2 = malloc(l->n * sizeof *c2);
	quant_tensor(sc, l, p, x, c2, NULL);
	assert_memory_equal(c2, codes, l->n * sizeof *c2);
	free(c2);
	free(codes);
	free(xhat);
}

static void test_per_tensor_every_code_range(void **state)
{
	static const float scales[] = {0.25f, 1.0f, 0.0123f, 3.0f, 1e-30f, 7e-4f};
	struct qs_rng rng = {.s = 2026};
	(void)state;
	for (int bits = 2; bits <= 16; bits++)
		for (int kind = 0; kind < 4; kind++)
			for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
				struct scheme sc = scheme_default();
				struct layout l;
				const char *why = NULL;
				int32_t qmin, qmax;
				int64_t n = 1001 + 2 * bits + kind; /* odd lengths: a tail */
				float *x = malloc((size_t)n * sizeof *x);

				sc.bits = bits;
				sc.is_signed = kind < 2;
				sc.narrow = kind % 2;
				sc.gran = GRAN_TENSOR;
				scheme_code_range(&sc, &qmin, &qmax);
				assert_true(layout_init(&l, &n, 1, GRAN_TENSOR, 0, 0, &why));
				fill(x, (size_t)n, scales[si], &rng);
				int32_t zs[] = {0, qmin, qmax, (qmin + qmax) / 2};
				for (size_t zi = 0; zi < 4; zi++) {
					struct qparam p = {.scale = scales[si],
					                   .zero_point = zs[zi]};
					check_run(&sc, &l, &p, x, (size_t)n);
				}
				free(x);
			}
}

static void test_per_channel_params(void **state)
{
	struct qs_rng rng = {.s = 7};
	int64_t shape[2] = {37, 23}; /* rows of 23: a scalar tail in each */
	struct scheme sc = scheme_default();
	struct layout l;
	const char *why = NULL;
	struct qparam p[37];
	float *x = malloc(37 * 23 * sizeof *x);
	(void)state;

	sc.symmetric = false;
	sc.is_signed = false;
	assert_true(layout_init(&l, shape, 2, GRAN_CHANNEL, 0, 0, &why));
	for (int c = 0; c < 37; c++) {
		p[c].scale = (float)(0.001 * (c + 1));
		p[c].zero_point = (c * 7) % 256;
		fill(x + c * 23, 23, p[c].scale, &rng);
	}
	check_run(&sc, &l, p, x, 23);
	free(x);
}

static void test_half_away_unchanged(void **state)
{
	/* The fast path is for half to even only: half away keeps round(). */
	int64_t n = 9;
	float x[9] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, -127.5f, 3.49f};
	int32_t want[9] = {1, 2, 3, -1, -2, -3, 127, -128, 3};
	int32_t codes[9];
	struct scheme sc = scheme_default();
	struct layout l;
	const char *why = NULL;
	struct qparam p = {.scale = 1.0f, .zero_point = 0};
	(void)state;

	sc.rounding = ROUND_HALF_AWAY;
	sc.gran = GRAN_TENSOR;
	assert_true(layout_init(&l, &n, 1, GRAN_TENSOR, 0, 0, &why));
	quant_tensor(&sc, &l, &p, x, codes, NULL);
	assert_memory_equal(codes, want, sizeof want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_per_tensor_every_code_range),
	        cmocka_unit_test(test_per_channel_params),
	        cmocka_unit_test(test_half_away_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
