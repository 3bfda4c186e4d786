/* ggml block formats: table geometry against formats.md §3.3, reference
 * quantizers on blocks worked by hand (formats.md §3.5: fp16 d, roundf ties
 * away, truncation = round half up, nibble placement), K-quant dequantizers
 * on hand-made blocks (§3.4), and the mse method never worse than the
 * reference block by block. Bit-exactness against llama.cpp's gguf-py on real
 * weights is tests/interop/gguf_*.sh. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ggml_quants.h"
#include "qs_test.h"
#include "range.h"

static const struct qtype *qt_of(int id)
{
	const struct qtype *q = ggml_qtype_by_id(id);
	assert_non_null(q);
	return q;
}

static void test_table_geometry(void **state)
{
	(void)state;
	static const struct {
		int id;
		const char *name;
		uint32_t elems, bytes;
	} want[] = {
	        {0, "F32", 1, 4},       {1, "F16", 1, 2},       {30, "BF16", 1, 2},
	        {2, "Q4_0", 32, 18},    {3, "Q4_1", 32, 20},    {6, "Q5_0", 32, 22},
	        {7, "Q5_1", 32, 24},    {8, "Q8_0", 32, 34},    {10, "Q2_K", 256, 84},
	        {11, "Q3_K", 256, 110}, {12, "Q4_K", 256, 144}, {13, "Q5_K", 256, 176},
	        {14, "Q6_K", 256, 210}, {15, "Q8_K", 256, 292},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct qtype *q = qt_of(want[i].id);
		assert_string_equal(q->name, want[i].name);
		assert_int_equal(q->block_elems, want[i].elems);
		assert_int_equal(q->block_bytes, want[i].bytes);
		assert_non_null(q->dequantize);
		uint32_t e, b;
		assert_true(ggml_type_size(want[i].id, &e, &b));
		assert_int_equal(e, want[i].elems);
		assert_int_equal(b, want[i].bytes);
	}
	assert_null(ggml_qtype_by_id(16)); /* IQ2_XXS: known, not decoded */
	assert_string_equal(ggml_type_name(16), "IQ2_XXS");
	assert_false(ggml_type_size(4, &(uint32_t){0}, &(uint32_t){0})); /* removed id */
	assert_true(ggml_qtype_writable(qt_of(GGML_ID_Q5_1)));
	assert_true(ggml_qtype_writable(qt_of(GGML_ID_Q4_K)));
	assert_false(ggml_qtype_writable(qt_of(GGML_ID_Q3_K)));
}

/* Q4_0 of x_j = j − 16: the largest magnitude is −16, so d = −16/−8 = 2,
 * q = trunc(x/2 + 8.5) ≤ 15, y = 2(q − 8): y = min(2·floor((x+17)/2) − 16, 14). */
static void test_q4_0_by_hand(void **state)
{
	(void)state;
	const struct qtype *q = qt_of(GGML_ID_Q4_0);
	float x[32], y[32];
	uint8_t b[18];
	int32_t c[32];

	for (int j = 0; j < 32; j++)
		x[j] = (float)(j - 16);
	q->quantize_ref(x, b, 32);
	assert_int_equal(b[0], 0x00); /* fp16 2.0 = 0x4000, little-endian */
	assert_int_equal(b[1], 0x40);
	/* byte 2: element 0 (q 0) low nibble, element 16 (x 0 → q 8) high */
	assert_int_equal(b[2], 0x80);
	q->dequantize(b, y, 32);
	q->codes(b, c, 32);
	for (int j = 0; j < 32; j++) {
		double want = fmin(2 * floor((x[j] + 17) / 2) - 16, 14);
		assert_close(y[j], want, 0, 0);
		assert_int_equal(c[j], (int)want / 2);
	}
	float s;
	q->block_scales(b, &s, 1);
	assert_close(s, 2, 0, 0);
	/* the largest magnitude positive: d = 16/−8 = −2 is stored, the step
	 * reported is 2 */
	for (int j = 0; j < 32; j++)
		x[j] = (float)(16 - j);
	q->quantize_ref(x, b, 32);
	assert_int_equal(b[1], 0xC0); /* fp16 −2.0 = 0xC000 */
	q->block_scales(b, &s, 1);
	assert_close(s, 2, 0, 0);
	q->dequantize(b, y, 32);
	assert_close(y[0], 16, 0, 0);
}

/* Q8_0 of x_j = j − 16: d = 16/127, stored as fp16 0.1259765625 (mantissa
 * 0.007874·1024 = 8.06 → 8); q = roundf(x·127/16): x = 1 → 7.9375 → 8,
 * x = 2 → 15.875 → 16, x = −16 → −127. */
static void test_q8_0_by_hand(void **state)
{
	(void)state;
	const struct qtype *q = qt_of(GGML_ID_Q8_0);
	float x[32], y[32];
	uint8_t b[34];

	for (int j = 0; j < 32; j++)
		x[j] = (float)(j - 16);
	q->quantize_ref(x, b, 32);
	q->dequantize(b, y, 32);
	assert_close(y[17], 8 * 0.1259765625, 0, 0);
	assert_close(y[18], 16 * 0.1259765625, 0, 0);
	assert_close(y[0], -127 * 0.1259765625, 0, 0);
	/* ties go away from zero: amax 127 → d = 1, 2.5 → 3, −2.5 → −3 */
	memset(x, 0, sizeof x);
	x[0] = 127;
	x[1] = 2.5f;
	x[2] = -2.5f;
	x[3] = 0.5f;
	x[4] = nextafterf(0.5f, 0.0f);   /* just below a tie: 0 */
	x[5] = -126.5f;                  /* → −127 */
	x[6] = nextafterf(126.5f, 0.0f); /* → 126 */
	x[7] = -0.5f;
	q->quantize_ref(x, b, 32);
	assert_int_equal((int8_t)b[2 + 1], 3);
	assert_int_equal((int8_t)b[2 + 2], -3);
	assert_int_equal((int8_t)b[2 + 3], 1);
	assert_int_equal((int8_t)b[2 + 4], 0);
	assert_int_equal((int8_t)b[2 + 5], -127);
	assert_int_equal((int8_t)b[2 + 6], 126);
	assert_int_equal((int8_t)b[2 + 7], -1);
}

/* Q4_1: min 0, max 15 → d 1, m 0; q = trunc(x − min + 0.5): 0.5 → 1,
 * 1.5 → 2, 2.49 → 2, 14.6 → 15. */
static void test_q4_1_by_hand(void **state)
{
	(void)state;
	const struct qtype *q = qt_of(GGML_ID_Q4_1);
	float x[32] = {0, 0.5f, 1.5f, 2.49f, 14.6f, 15}, y[32];
	uint8_t b[20];

	q->quantize_ref(x, b, 32);
	q->dequantize(b, y, 32);
	static const double want[6] = {0, 1, 2, 2, 15, 15};
	for (int j = 0; j < 6; j++)
		assert_close(y[j], want[j], 0, 0);
	assert_close(y[31], 0, 0, 0);
}

/* Q5_0 of x_j = j − 16: d = −16/−16 = 1, q = x + 16 = j, so y = x and the
 * high bits (q ≥ 16) are set for elements 16..31: qh = 0xFFFF0000.
 * Q5_1 of x_j = j/2: d = 15.5/31 = 0.5, m = 0, y = x. */
static void test_q5_by_hand(void **state)
{
	(void)state;
	const struct qtype *q0 = qt_of(GGML_ID_Q5_0), *q1 = qt_of(GGML_ID_Q5_1);
	float x[32], y[32];
	uint8_t b[24];
	uint32_t qh;

	for (int j = 0; j < 32; j++)
		x[j] = (float)(j - 16);
	q0->quantize_ref(x, b, 32);
	memcpy(&qh, b + 2, 4);
	assert_int_equal(qh, 0xFFFF0000u);
	q0->dequantize(b, y, 32);
	for (int j = 0; j < 32; j++)
		assert_close(y[j], x[j], 0, 0);
	for (int j = 0; j < 32; j++)
		x[j] = j * 0.5f;
	q1->quantize_ref(x, b, 32);
	q1->dequantize(b, y, 32);
	for (int j = 0; j < 32; j++)
		assert_close(y[j], x[j], 0, 0);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

/* Hand-made K blocks; values from formats.md §3.4. */
static void test_kquants_by_hand(void **state)
{
	(void)state;
	float y[256];
	int32_t c[256];

	/* Q4_K: d 1, dmin 0.5; sub-block 0 sc 2 m 3; sub-block 5 sc = (b[9]&15)
	 * | (b[1]>>6)<<4 = 1 | 16 = 17, m = b[9]>>4 | (b[5]>>6)<<4 = 2.
	 * element 0: q 5 → 2·5 − 0.5·3 = 8.5; element 160 (chunk 2, high
	 * nibble of qs[64]) q 3 → 17·3 − 0.5·2 = 50; element 128 (sub-block 4,
	 * sc 0 m 0) → 0. */
	uint8_t k4[144] = {0};
	put16(k4, 0x3C00);
	put16(k4 + 2, 0x3800);
	k4[4 + 0] = 2;
	k4[4 + 4] = 3;
	k4[4 + 9] = 0x21;
	k4[4 + 1] = 0x40;
	k4[16 + 0] = 0x05;
	k4[16 + 64] = 0x30;
	qt_of(GGML_ID_Q4_K)->dequantize(k4, y, 256);
	assert_close(y[0], 8.5, 0, 0);
	assert_close(y[160], 50, 0, 0);
	assert_close(y[128], 0, 0, 0);
	/* Q5_K: the same plus qh[0] bit 0 → element 0 q 21 → 2·21 − 1.5 = 40.5 */
	uint8_t k5[176] = {0};
	memcpy(k5, k4, 16);
	k5[16] = 1;
	k5[48 + 0] = 0x05;
	qt_of(GGML_ID_Q5_K)->dequantize(k5, y, 256);
	assert_close(y[0], 40.5, 0, 0);
	qt_of(GGML_ID_Q5_K)->codes(k5, c, 256);
	assert_int_equal(c[0], 21);
	/* Q6_K: d 0.5; element 0: ql[0] low 10, qh[0] bits 0-1 = 2 → q 42 − 32
	 * = 10, scale[0] −3 → −15; element 64: ql[0] high 0, qh[0] bits 4-5 0 →
	 * −32, scale[4] 1 → −16. */
	uint8_t k6[210] = {0};
	k6[0] = 0x0A;
	k6[128] = 0x02;
	k6[192 + 0] = (uint8_t)-3;
	k6[192 + 4] = 1;
	put16(k6 + 208, 0x3800);
	qt_of(GGML_ID_Q6_K)->dequantize(k6, y, 256);
	assert_close(y[0], -15, 0, 0);
	assert_close(y[64], -16, 0, 0);
	/* Q2_K: scales[0] 0x21 (sc 1, min 2), d 1, dmin 0.25; qs[0] 3: element
	 * 0 q 3 → 3 − 0.5 = 2.5; element 32 (q 0, sub-block 2 all zero) → 0. */
	uint8_t k2[84] = {0};
	k2[0] = 0x21;
	k2[16] = 0x03;
	put16(k2 + 80, 0x3C00);
	put16(k2 + 82, 0x3400);
	qt_of(GGML_ID_Q2_K)->dequantize(k2, y, 256);
	assert_close(y[0], 2.5, 0, 0);
	assert_close(y[32], 0, 0, 0);
	/* Q3_K: d 1; scale 0 = (b[0]&15 | (b[8]&3)<<4) − 32 = 5 | 32 − 32 = 5;
	 * element 0 low 1, hmask bit 0 clear → 1 − 4 = −3 → −15. */
	uint8_t k3[110] = {0};
	k3[32] = 1;
	k3[96 + 0] = 0x05;
	k3[96 + 8] = 0x02;
	put16(k3 + 108, 0x3C00);
	qt_of(GGML_ID_Q3_K)->dequantize(k3, y, 256);
	assert_close(y[0], -15, 0, 0);
	qt_of(GGML_ID_Q3_K)->codes(k3, c, 256);
	assert_int_equal(c[0], -3);
	/* Q8_K: fp32 d 0.25, qs[3] −7 → −1.75 */
	uint8_t k8[292] = {0};
	float d = 0.25f;
	memcpy(k8, &d, 4);
	k8[4 + 3] = (uint8_t)-7;
	qt_of(GGML_ID_Q8_K)->dequantize(k8, y, 256);
	assert_close(y[3], -1.75, 0, 0);
	float s;
	qt_of(GGML_ID_Q8_K)->block_scales(k8, &s, 1);
	assert_close(s, 0.25, 0, 0);
}

/* mse: per block never worse than the reference, in total clearly better. */
static void test_mse_never_worse(void **state)
{
	(void)state;
	static const int ids[] = {GGML_ID_Q4_0, GGML_ID_Q4_1, GGML_ID_Q5_0, GGML_ID_Q5_1,
	                          GGML_ID_Q8_0};
	enum {
		NB = 256,
		N = NB * 32
	};
	float *x = malloc(N * sizeof *x);
	struct qs_rng r = {12345};
	struct method m = {.kind = METHOD_MSE};

	for (int i = 0; i < N; i++)
		x[i] = (float)(i % 3 ? qs_rng_gauss(&r) : qs_rng_laplace(&r));
	for (size_t t = 0; t < sizeof ids / sizeof ids[0]; t++) {
		const struct qtype *q = qt_of(ids[t]);
		uint8_t *a = malloc(NB * q->block_bytes), *b = malloc(NB * q->block_bytes);
		double ea = 0, eb = 0;
		q->quantize_ref(x, a, N);
		q->quantize_method(x, b, N, &m);
		for (int k = 0; k < NB; k++) {
			double e1 = ggml_sq_error(q, x + 32 * k, a + k * q->block_bytes, 32);
			double e2 = ggml_sq_error(q, x + 32 * k, b + k * q->block_bytes, 32);
			if (e2 > e1)
				fail_msg("%s block %d: mse %g > reference %g", q->name, k, e2, e1);
			ea += e1;
			eb += e2;
		}
		assert_true(eb < 0.95 * ea);
		/* minmax is the reference, bit for bit */
		struct method mm = {.kind = METHOD_MINMAX};
		q->quantize_method(x, b, N, &mm);
		assert_memory_equal(a, b, NB * q->block_bytes);
		free(a);
		free(b);
	}
	free(x);
}

/* K-quant writers by hand: a sub-block of one constant c > 0 (Q2_K/Q4_K/Q5_K: range
 * [0, c], top code 2^b−1 with scale c/(2^b−1) and min 0, stored as 6-bit
 * scale 63 against d = scale/63 (4-bit 15, d = scale/15 for Q2_K); Q6_K: symmetric, the 6-bit scale −128 of
 * d = scale/−128) comes back as c up to fp16 rounding of d (2^−11 relative);
 * all zeros stay zero; NaN/±inf/denormal blocks neither crash nor leak into
 * the finite blocks. */
static void test_kquant_writers_by_hand(void **state)
{
	(void)state;
	static const int ids[] = {GGML_ID_Q2_K, GGML_ID_Q4_K, GGML_ID_Q5_K, GGML_ID_Q6_K};
	float x[512], y[512];
	uint8_t b[2 * 210];

	for (size_t t = 0; t < sizeof ids / sizeof ids[0]; t++) {
		const struct qtype *q = qt_of(ids[t]);
		assert_true(ggml_qtype_writable(q));
		for (int i = 0; i < 256; i++)
			x[i] = 0.75f;
		for (int i = 256; i < 512; i++)
			x[i] = 0;
		q->quantize_ref(x, b, 512);
		q->dequantize(b, y, 512);
		for (int i = 0; i < 256; i++)
			assert_close(y[i], 0.75, 0.75 / 2048, 0);
		for (int i = 256; i < 512; i++)
			assert_close(y[i], 0, 0, 0);
		for (int i = 0; i < 256; i++)
			x[i] = i % 3 ? NAN : (i % 2 ? INFINITY : -INFINITY);
		for (int i = 256; i < 512; i++)
			x[i] = 1e-42f * (float)(i - 300);
		q->quantize_ref(x, b, 512);
		q->dequantize(b, y, 512);
		for (int i = 256; i < 512; i++)
			assert_true(isfinite(y[i]));
	}
}

/* NaN, ±inf, zeros and denormals neither crash nor poison other blocks. */
static void test_non_finite(void **state)
{
	(void)state;
	float x[64] = {0}, y[64];
	struct method m = {.kind = METHOD_MSE};

	x[0] = NAN;
	x[1] = INFINITY;
	x[2] = -INFINITY;
	for (int j = 32; j < 64; j++)
		x[j] = 1e-42f * (float)(j - 40); /* denormals */
	for (int id = 0; id < 64; id++) {
		const struct qtype *q = ggml_qtype_by_id(id);
		if (!q || !q->quantize_method)
			continue;
		uint8_t b[2 * 34];
		q->quantize_method(x, b, 64, &m);
		q->dequantize(b, y, 64);
		for (int j = 32; j < 64; j++)
			assert_true(isfinite(y[j]));
		q->quantize_ref(x, b, 64);
	}
	memset(x, 0, sizeof x);
	const struct qtype *q = qt_of(GGML_ID_Q4_0);
	uint8_t b[36];
	q->quantize_method(x, b, 64, &m);
	q->dequantize(b, y, 64);
	for (int j = 0; j < 64; j++)
		assert_close(y[j], 0, 0, 0);
}

/* F16/BF16 rows are round-to-nearest-even casts. */
static void test_float_rows(void **state)
{
	(void)state;
	float x[3] = {1.0f + 0x1p-11f, 1.0f + 0x3p-11f, 65520.0f}, y[3];
	uint8_t b[12];

	qt_of(GGML_ID_F16)->quantize_ref(x, b, 3);
	qt_of(GGML_ID_F16)->dequantize(b, y, 3);
	assert_close(y[0], 1.0, 0, 0);          /* tie to even */
	assert_close(y[1], 1.0 + 0x1p-9, 0, 0); /* tie to even (up) */
	assert_true(isinf(y[2]));
	float z[2] = {1.0f + 0x1p-8f, NAN};
	qt_of(GGML_ID_BF16)->quantize_ref(z, b, 2);
	qt_of(GGML_ID_BF16)->dequantize(b, y, 2);
	assert_close(y[0], 1.0, 0, 0);
	assert_true(isnan(y[1]));
}

/* Q4_K and Q5_K quantize to the same bytes with the eight-lane search and
 * the scalar one (the scalar follows llama.cpp's make_qkx2_quants step by
 * step), and the searches give the same scales, mins and codes to the bit:
 * Gaussian and Laplace sub-blocks, a constant one, all-positive ones, signed
 * zeros, tiny and huge scales. */
static void test_kquant_lanes(void **state)
{
	(void)state;
	enum {
		NB = 64
	};
	static float x[NB * 256];
	static uint8_t a[NB * 176], b[NB * 176];
	struct qs_rng g = {.s = 99};

	for (int i = 0; i < NB * 256; i++) {
		int blk = i / 256, sub = (i / 32) % 8;
		double v = blk % 3 ? qs_rng_gauss(&g) : qs_rng_laplace(&g);
		if (sub == 1)
			v = 0.75; /* constant */
		else if (sub == 2)
			v = fabs(v) + 0.5; /* all positive */
		else if (sub == 3)
			v = i % 2 ? 0.0 : -0.0;
		x[i] = (float)(v * (blk % 4 == 0 ? 1e-6 : blk % 4 == 1 ? 1e4 : 1.0));
	}
	for (int id = 0; id < 2; id++) {
		int ty = id ? GGML_ID_Q5_K : GGML_ID_Q4_K;
		const struct qtype *q = qt_of(ty);
		assert_true(q->block_bytes * NB <= sizeof a);
		ggml_quants_set_simd(false);
		q->quantize_ref(x, a, NB * 256);
		ggml_quants_set_simd(true);
		q->quantize_ref(x, b, NB * 256);
		assert_memory_equal(a, b, q->block_bytes * NB);
		for (int k = 0; k < NB; k++) { /* the searches themselves, to the bit */
			float sc[2][8], mn[2][8];
			uint8_t l[2][256];
			for (int v = 0; v < 2; v++) {
				ggml_quants_set_simd(v);
				assert_int_equal(
				        ggml_kquant_search(ty, x + 256 * k, sc[v], mn[v], l[v]), 0);
			}
			assert_memory_equal(sc[0], sc[1], sizeof sc[0]);
			assert_memory_equal(mn[0], mn[1], sizeof mn[0]);
			assert_memory_equal(l[0], l[1], sizeof l[0]);
		}
	}
	assert_int_equal(ggml_kquant_search(GGML_ID_Q8_0, x, NULL, NULL, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_table_geometry),
	        cmocka_unit_test(test_q4_0_by_hand),
	        cmocka_unit_test(test_q8_0_by_hand),
	        cmocka_unit_test(test_q4_1_by_hand),
	        cmocka_unit_test(test_q5_by_hand),
	        cmocka_unit_test(test_kquants_by_hand),
	        cmocka_unit_test(test_mse_never_worse),
	        cmocka_unit_test(test_kquant_lanes),
	        cmocka_unit_test(test_non_finite),
	        cmocka_unit_test(test_float_rows),
	        cmocka_unit_test(test_kquant_writers_by_hand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
