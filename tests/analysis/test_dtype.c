/* dtype conversions against independent references: gcc's _Float16 for f16,
 * the bit definition and exact nearest-neighbour distances for bf16, the
 * formats.md §1.3 table and a brute-force nearest search for fp8. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "qs_test.h"

static uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static uint16_t half_bits(_Float16 h)
{
	uint16_t u;
	memcpy(&u, &h, sizeof u);
	return u;
}

static bool same_float(float a, float b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return f32_bits(a) == f32_bits(b);
}

static void test_f16_decode_all(void **state)
{
	(void)state;
	for (uint32_t h = 0; h < 65536; h++) {
		_Float16 r;
		uint16_t hh = (uint16_t)h;
		memcpy(&r, &hh, sizeof r);
		if (!same_float(f16_to_f32(hh), (float)r))
			fail_msg("f16 %04x: got %g, _Float16 says %g", h, f16_to_f32(hh),
			         (double)r);
	}
}

/* Every f16 value, every midpoint between neighbours (ties to even) and the
 * floats one ulp either side of each midpoint, against gcc's conversion. */
static void check_f16_encode(float v)
{
	uint16_t want = half_bits((_Float16)v), got = f32_to_f16(v);
	if (got != want)
		fail_msg("f32_to_f16(%.9g): got %04x, _Float16 says %04x", (double)v, got, want);
}

static void test_f16_encode(void **state)
{
	(void)state;
	for (uint32_t h = 0; h < 65536; h++) {
		float v = f16_to_f32((uint16_t)h);
		if (isnan(v))
			continue;
		check_f16_encode(v);
		if ((h & 0x7FFF) >= 0x7C00)
			continue;
		float next = f16_to_f32((uint16_t)(h + 1));
		if (isinf(next))
			next = 65536.0f * (v < 0 ? -1 : 1); /* the value past 65504 */
		float mid = (float)(((double)v + next) / 2);
		check_f16_encode(mid);
		check_f16_encode(nextafterf(mid, INFINITY));
		check_f16_encode(nextafterf(mid, -INFINITY));
	}
	struct qs_rng rng = {42};
	for (int k = 0; k < 200000; k++) {
		float v = bits_f32((uint32_t)qs_rng_next(&rng));
		if (!isnan(v))
			check_f16_encode(v);
	}
	assert_int_equal(f32_to_f16(1e6f), 0x7C00);
	assert_int_equal(f32_to_f16(-1e6f), 0xFC00);
	assert_true(isnan(f16_to_f32(f32_to_f16(NAN))));
}

static void test_bf16_decode_all(void **state)
{
	(void)state;
	for (uint32_t h = 0; h < 65536; h++) {
		float v = bf16_to_f32((uint16_t)h);
		assert_int_equal(f32_bits(v), h << 16);
	}
}

/* Nearest bf16 by exact distance (ties: even last bit), without the
 * bias-and-shift trick the code uses. */
static uint16_t bf16_nearest(float v)
{
	uint32_t u = f32_bits(v);
	uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
	double a = bf16_to_f32(lo), b;
	if ((u & 0xFFFF) == 0)
		return lo;
	b = ((hi & 0x7FFF) == 0x7F80) ? copysign(ldexp(1.0, 128), a) : bf16_to_f32(hi);
	double da = fabs((double)v - a), db = fabs((double)v - b);
	if (da < db)
		return lo;
	if (db < da)
		return hi;
	return (lo & 1) ? hi : lo;
}

static void test_bf16_encode(void **state)
{
	(void)state;
	struct qs_rng rng = {7};
	for (uint32_t h = 0; h < 65536; h++) {
		float v = bf16_to_f32((uint16_t)h);
		if (isnan(v))
			continue;
		assert_int_equal(f32_to_bf16(v), h);
		if ((h & 0x7FFF) >= 0x7F80)
			continue;
		uint32_t base = h << 16;
		uint32_t probes[] = {base + 0x8000, base + 0x7FFF,
		                     base + 0x8001, base + 1,
		                     base + 0xFFFF, base + (uint32_t)(qs_rng_next(&rng) & 0xFFFF)};
		for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
			float p = bits_f32(probes[k]);
			if (isnan(p))
				continue;
			if (f32_to_bf16(p) != bf16_nearest(p))
				fail_msg("f32_to_bf16(%08x) = %04x, nearest is %04x", probes[k],
				         f32_to_bf16(p), bf16_nearest(p));
		}
	}
	uint16_t qn = f32_to_bf16(bits_f32(0x7F800001));
	assert_true(isnan(bf16_to_f32(qn)));
	assert_true((qn & 0x40) != 0); /* quiet */
	assert_int_equal(f32_to_bf16(1.0f), 0x3F80);
}

/* fp8 values from the format definition (formats.md §1.3): sign, e bits,
 * m bits, bias; e4m3fn has no inf and only S.1111.111 as NaN. */
static double fp8_value(uint8_t b, int ebits, int mbits, int bias, bool fn)
{
	int s = b >> 7, e = (b >> mbits) & ((1 << ebits) - 1), m = b & ((1 << mbits) - 1);
	double v;
	if (fn && e == (1 << ebits) - 1 && m == (1 << mbits) - 1)
		return NAN;
	if (!fn && e == (1 << ebits) - 1)
		return m ? NAN : (s ? -INFINITY : INFINITY);
	if (e == 0)
		v = m * pow(2, 1 - bias - mbits);
	else
		v = (1 + m / (double)(1 << mbits)) * pow(2, e - bias);
	return s ? -v : v;
}

static void test_fp8_table(void **state)
{
	(void)state;
	for (int b = 0; b < 256; b++) {
		double e4 = fp8_value((uint8_t)b, 4, 3, 7, true);
		double e5 = fp8_value((uint8_t)b, 5, 2, 15, false);
		assert_true(same_float(f8e4m3fn_to_f32((uint8_t)b), (float)e4));
		assert_true(same_float(f8e5m2_to_f32((uint8_t)b), (float)e5));
	}
	/* formats.md §1.3 and hand-worked codes */
	assert_close(f8e4m3fn_to_f32(0x7E), 448, 0, 0);
	assert_true(isnan(f8e4m3fn_to_f32(0x7F)));
	assert_true(isnan(f8e4m3fn_to_f32(0xFF)));
	assert_close(f8e4m3fn_to_f32(0x38), 1.0, 0, 0);         /* 0 0111 000 */
	assert_close(f8e4m3fn_to_f32(0x3C), 1.5, 0, 0);         /* 0 0111 100 */
	assert_close(f8e4m3fn_to_f32(0xC0), -2.0, 0, 0);        /* 1 1000 000 */
	assert_close(f8e4m3fn_to_f32(0x01), 0.001953125, 0, 0); /* 2^-9 */
	assert_close(f8e4m3fn_to_f32(0x08), 0.015625, 0, 0);    /* 2^-6 */
	assert_close(f8e5m2_to_f32(0x7B), 57344, 0, 0);
	assert_true(isinf(f8e5m2_to_f32(0x7C)) && f8e5m2_to_f32(0xFC) < 0);
	assert_true(isnan(f8e5m2_to_f32(0x7D)));
	assert_close(f8e5m2_to_f32(0x3C), 1.0, 0, 0);
	assert_close(f8e5m2_to_f32(0x01), ldexp(1, -16), 0, 0);
}

/* Brute-force nearest finite fp8 code (ties to the even code). */
static int fp8_nearest(float v, bool e4)
{
	int best = -1;
	double bd = INFINITY;
	for (int b = 0; b < 256; b++) {
		double c = e4 ? fp8_value((uint8_t)b, 4, 3, 7, true)
		              : fp8_value((uint8_t)b, 5, 2, 15, false);
		if (!isfinite(c) || (c == 0 && !signbit(c) != !signbit(v)))
			continue;
		double d = fabs(c - v);
		if (d < bd || (d == bd && (b & 1) == 0)) {
			bd = d;
			best = b;
		}
	}
	return best;
}

static void test_fp8_encode(void **state)
{
	(void)state;
	struct qs_rng rng = {3};
	for (int k = 0; k < 20000; k++) {
		float v = (float)((qs_rng_uniform(&rng) * 2 - 1) * 400 *
		                  pow(2, -20 * qs_rng_uniform(&rng)));
		assert_int_equal(f32_to_f8e4m3fn(v, true), fp8_nearest(v, true));
		assert_int_equal(f32_to_f8e5m2(v, true), fp8_nearest(v, false));
	}
	/* ties, hand-worked: 1.0625 between 1.0 (000) and 1.125 (001) → 1.0;
	 * 1.1875 between 1.125 (001) and 1.25 (010) → 1.25. */
	assert_int_equal(f32_to_f8e4m3fn(1.0625f, false), 0x38);
	assert_int_equal(f32_to_f8e4m3fn(1.1875f, false), 0x3A);
	/* subnormal ties: 2^-10 → 0, 3·2^-10 → 2·2^-9 (code 2) */
	assert_int_equal(f32_to_f8e4m3fn(0x1p-10f, false), 0x00);
	assert_int_equal(f32_to_f8e4m3fn(0x3p-10f, false), 0x02);
	/* overflow: 449 rounds to 448; 470 is past the last midpoint 464 */
	assert_int_equal(f32_to_f8e4m3fn(449.0f, false), 0x7E);
	assert_int_equal(f32_to_f8e4m3fn(470.0f, false), 0x7F);
	assert_int_equal(f32_to_f8e4m3fn(470.0f, true), 0x7E);
	assert_int_equal(f32_to_f8e4m3fn(-INFINITY, true), 0xFE);
	assert_true(isnan(f8e4m3fn_to_f32(f32_to_f8e4m3fn(INFINITY, false))));
	/* e5m2: the value past 57344 = 1.75·2^15 is 2^16 (inf), so the last
	 * midpoint is 61440 */
	assert_int_equal(f32_to_f8e5m2(61000.0f, false), 0x7B);
	assert_int_equal(f32_to_f8e5m2(62000.0f, false), 0x7C);
	assert_int_equal(f32_to_f8e5m2(-62000.0f, true), 0xFB);
	assert_true(isnan(f8e5m2_to_f32(f32_to_f8e5m2(NAN, false))));
}

/* 4-bit packing: elements 0..6 = -8, 7, -1, 0, 3, -4, 5 (odd count). */
static void test_int4_packing(void **state)
{
	(void)state;
	const int64_t v[7] = {-8, 7, -1, 0, 3, -4, 5};
	unsigned char lo[4] = {0}, hi[4] = {0};
	size_t nb = 0;
	assert_true(dtype_nbytes(DTYPE_I4, 7, &nb));
	assert_int_equal(nb, 4);
	for (int i = 0; i < 7; i++) {
		dtype_set_int(DTYPE_I4, lo, (uint64_t)i, v[i], NIBBLE_LOW_FIRST);
		dtype_set_int(DTYPE_I4, hi, (uint64_t)i, v[i], NIBBLE_HIGH_FIRST);
	}
	/* by hand: -8 = 0x8, 7 = 0x7, -1 = 0xF, 0, 3, -4 = 0xC, 5 */
	const unsigned char want_lo[4] = {0x78, 0x0F, 0xC3, 0x05};
	const unsigned char want_hi[4] = {0x87, 0xF0, 0x3C, 0x50};
	assert_memory_equal(lo, want_lo, 4);
	assert_memory_equal(hi, want_hi, 4);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(dtype_get_int(DTYPE_I4, lo, (uint64_t)i, NIBBLE_LOW_FIRST), v[i]);
		assert_int_equal(dtype_get_int(DTYPE_I4, hi, (uint64_t)i, NIBBLE_HIGH_FIRST), v[i]);
	}
	float f[5];
	dtype_to_f32(DTYPE_I4, lo, 1, 5, false, NIBBLE_LOW_FIRST, f); /* odd start */
	assert_close(f[0], 7, 0, 0);
	assert_close(f[1], -1, 0, 0);
	assert_close(f[4], -4, 0, 0);
	/* u4 reads the same nibbles unsigned */
	assert_int_equal(dtype_get_int(DTYPE_U4, lo, 0, NIBBLE_LOW_FIRST), 8);
	assert_int_equal(dtype_get_int(DTYPE_U4, lo, 2, NIBBLE_LOW_FIRST), 15);
	dtype_to_f32(DTYPE_U4, hi, 6, 1, false, NIBBLE_HIGH_FIRST, f);
	assert_close(f[0], 5, 0, 0);
	/* setting a nibble keeps its neighbour */
	dtype_set_int(DTYPE_U4, lo, 3, 9, NIBBLE_LOW_FIRST);
	assert_int_equal(lo[1], 0x9F);
}

static void test_ints_and_endianness(void **state)
{
	(void)state;
	const unsigned char le16[4] = {0x34, 0x12, 0xFF, 0xFF};
	float f[2];
	dtype_to_f32(DTYPE_I16, le16, 0, 2, false, NIBBLE_LOW_FIRST, f);
	assert_close(f[0], 0x1234, 0, 0);
	assert_close(f[1], -1, 0, 0);
	dtype_to_f32(DTYPE_U16, le16, 0, 2, true, NIBBLE_LOW_FIRST, f);
	assert_close(f[0], 0x3412, 0, 0);
	assert_close(f[1], 65535, 0, 0);
	const unsigned char be_f32[4] = {0x3F, 0xC0, 0x00, 0x00}; /* 1.5 big-endian */
	dtype_to_f32(DTYPE_F32, be_f32, 0, 1, true, NIBBLE_LOW_FIRST, f);
	assert_close(f[0], 1.5, 0, 0);
	const unsigned char le_f64[8] = {0, 0, 0, 0, 0, 0, 0xF8, 0xBF}; /* -1.5 */
	dtype_to_f32(DTYPE_F64, le_f64, 0, 1, false, NIBBLE_LOW_FIRST, f);
	assert_close(f[0], -1.5, 0, 0);
	const unsigned char f16le[4] = {0x00, 0x3E, 0x00, 0xC0}; /* 1.5, -2 */
	dtype_to_f32(DTYPE_F16, f16le, 0, 2, false, NIBBLE_LOW_FIRST, f);
	assert_close(f[0], 1.5, 0, 0);
	assert_close(f[1], -2, 0, 0);
	unsigned char buf[8] = {0};
	dtype_set_int(DTYPE_I32, buf, 1, -2, NIBBLE_LOW_FIRST);
	assert_int_equal(buf[4], 0xFE);
	assert_int_equal(buf[7], 0xFF);
	assert_int_equal(dtype_get_int(DTYPE_I32, buf, 1, NIBBLE_LOW_FIRST), -2);
	dtype_set_int(DTYPE_I64, buf, 0, INT64_MIN, NIBBLE_LOW_FIRST);
	assert_true(dtype_get_int(DTYPE_I64, buf, 0, NIBBLE_LOW_FIRST) == INT64_MIN);
	const unsigned char bools[3] = {0, 1, 7};
	assert_int_equal(dtype_get_int(DTYPE_BOOL, bools, 2, NIBBLE_LOW_FIRST), 1);
	const unsigned char i8[2] = {0x80, 0x7F};
	assert_int_equal(dtype_get_int(DTYPE_I8, i8, 0, NIBBLE_LOW_FIRST), -128);
	assert_int_equal(dtype_get_int(DTYPE_U8, i8, 0, NIBBLE_LOW_FIRST), 128);
}

static void test_table(void **state)
{
	(void)state;
	size_t nb = 0;
	assert_int_equal(dtype_from_name("BF16"), DTYPE_BF16);
	assert_int_equal(dtype_from_name("f8e4m3fn"), DTYPE_F8E4M3FN);
	assert_int_equal(dtype_from_name("nope"), -1);
	for (int t = 0; t < DTYPE_COUNT; t++)
		assert_int_equal(dtype_from_name(dtype_name(t)), t);
	assert_int_equal(dtype_info(DTYPE_I4)->int_min, -8);
	assert_int_equal(dtype_info(DTYPE_U16)->int_max, 65535);
	assert_true(dtype_nbytes(DTYPE_F32, 10, &nb) && nb == 40);
	assert_true(dtype_nbytes(DTYPE_U4, 0, &nb) && nb == 0);
	assert_false(dtype_nbytes(DTYPE_F64, UINT64_MAX / 4, &nb));
	assert_null(dtype_info(DTYPE_COUNT));
}

/* The f16 bits the IEEE definition gives for pattern h, NaNs included:
 * sign, exponent rebiased by 127 − 15 (all ones stays all ones), mantissa
 * << 13; subnormals through _Float16 (gcc's exact conversion). */
static uint32_t f16_reference_bits(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16, m = h & 0x3FFu;
	_Float16 r;

	if ((h & 0x7C00u) == 0x7C00u)
		return sign | 0x7F800000u | (m << 13);
	memcpy(&r, &h, sizeof r);
	return f32_bits((float)r);
}

/* All 65536 patterns, stored little-endian one byte past an aligned address
 * (unaligned loads), through both bulk paths and dtype_to_f32 with every
 * start offset mod 16 and tail lengths 0..17 (SIMD body + scalar tail). */
static void check_half_bulk(enum dtype t)
{
	unsigned char *raw = malloc(2 * 65536 + 1), *p = raw + 1;
	float *got = malloc(65536 * sizeof *got);

	assert_non_null(raw);
	assert_non_null(got);
	for (uint32_t h = 0; h < 65536; h++) {
		p[2 * h] = (unsigned char)(h & 0xFF);
		p[2 * h + 1] = (unsigned char)(h >> 8);
	}
	for (int simd = 0; simd < 2; simd++) {
		memset(got, 0xA5, 65536 * sizeof *got);
		dtype_half_to_f32(t, p, 65536, got, simd);
		for (uint32_t h = 0; h < 65536; h++) {
			uint32_t want = t == DTYPE_F16 ? f16_reference_bits((uint16_t)h) : h << 16;
			float scalar =
			        t == DTYPE_F16 ? f16_to_f32((uint16_t)h) : bf16_to_f32((uint16_t)h);
			if (f32_bits(got[h]) != want || f32_bits(scalar) != want)
				fail_msg(
				        "%s %04x (simd %d): bulk %08x, scalar %08x, reference %08x",
				        dtype_name(t), h, simd, f32_bits(got[h]), f32_bits(scalar),
				        want);
		}
	}
	for (uint64_t first = 0; first < 16; first++)
		for (size_t n = 0; n < 18; n++) {
			float out[20];
			out[n] = -1.0f; /* must stay: nothing written past n */
			dtype_to_f32(t, p, 30000 + first, n, false, NIBBLE_LOW_FIRST, out);
			for (size_t k = 0; k < n; k++) {
				uint16_t h = (uint16_t)(30000 + first + k);
				float scalar = t == DTYPE_F16 ? f16_to_f32(h) : bf16_to_f32(h);
				assert_int_equal(f32_bits(out[k]), f32_bits(scalar));
			}
			assert_true(out[n] == -1.0f);
		}
	free(raw);
	free(got);
}

static void test_f16_bulk_all(void **state)
{
	(void)state;
	check_half_bulk(DTYPE_F16);
	/* a signalling NaN keeps its payload (F16C alone would quiet it) */
	uint16_t snan = 0x7C01;
	float f;
	dtype_half_to_f32(DTYPE_F16, &snan, 1, &f, true);
	assert_int_equal(f32_bits(f), 0x7F802000u);
}

static void test_bf16_bulk_all(void **state)
{
	(void)state;
	check_half_bulk(DTYPE_BF16);
}

/* Types other than f16/bf16 write nothing. */
static void test_half_bulk_other_types(void **state)
{
	uint16_t h[8] = {0x3C00, 0x3C00, 0x3C00, 0x3C00, 0x3C00, 0x3C00, 0x3C00, 0x3C00};
	float out[8] = {7, 7, 7, 7, 7, 7, 7, 7};

	(void)state;
	dtype_half_to_f32(DTYPE_I16, h, 8, out, true);
	dtype_half_to_f32(DTYPE_F32, h, 4, out, false);
	for (int k = 0; k < 8; k++)
		assert_true(out[k] == 7.0f);
		/* on x86-64 with AVX2 and F16C the bulk path must be the vector one */
#if defined(__x86_64__)
	if (__builtin_cpu_supports("avx2"))
		assert_true(dtype_half_simd_available());
#endif
}

/* Element k of random little-endian bytes p as type t, worked out here
 * from the bytes (fp8 through the scalar decoders the table test checks). */
static float whole_byte_reference(enum dtype t, const unsigned char *p, uint64_t k)
{
	uint64_t u = 0;
	unsigned w = dtype_info(t)->bits / 8;
	double d;

	for (unsigned b = 0; b < w; b++)
		u |= (uint64_t)p[k * w + b] << (8 * b);
	switch (t) {
	case DTYPE_F64:
		memcpy(&d, &u, sizeof d);
		return (float)d;
	case DTYPE_F8E4M3FN:
		return f8e4m3fn_to_f32((uint8_t)u);
	case DTYPE_F8E5M2:
		return f8e5m2_to_f32((uint8_t)u);
	case DTYPE_I8:
		return (float)(int8_t)u;
	case DTYPE_I16:
		return (float)(int16_t)u;
	case DTYPE_I32:
		return (float)(int32_t)u;
	case DTYPE_BOOL:
		return u != 0;
	default: /* u8, u16, u32 */
		return (float)u;
	}
}

/* dtype_to_f32's bulk paths for whole-byte types against the bytes, at odd
 * starts, and (1-byte types) the same with big_endian set. */
static void test_bulk_whole_byte_types(void **state)
{
	static const enum dtype types[] = {DTYPE_F64, DTYPE_F8E4M3FN, DTYPE_F8E5M2, DTYPE_I8,
	                                   DTYPE_U8,  DTYPE_I16,      DTYPE_U16,    DTYPE_I32,
	                                   DTYPE_U32, DTYPE_BOOL};
	enum {
		N = 4099
	};
	unsigned char *p = malloc(8 * N);
	float *out = malloc(N * sizeof *out);
	struct qs_rng rng = {5};

	(void)state;
	assert_non_null(p);
	assert_non_null(out);
	for (size_t i = 0; i < 8 * N; i++)
		p[i] = (unsigned char)qs_rng_next(&rng);
	for (size_t i = 0; i < 256; i++)
		p[i] = (unsigned char)i; /* every byte value for the 1-byte types */
	for (size_t j = 0; j < sizeof types / sizeof types[0]; j++) {
		enum dtype t = types[j];
		for (uint64_t first = 0; first < 4; first++) {
			for (int be = 0; be < (dtype_info(t)->bits == 8 ? 2 : 1); be++) {
				size_t n = N - first;
				dtype_to_f32(t, p, first, n, be, NIBBLE_LOW_FIRST, out);
				for (size_t k = 0; k < n; k++) {
					float want = whole_byte_reference(t, p, first + k);
					if (f32_bits(out[k]) != f32_bits(want))
						fail_msg("%s element %zu: %08x, want %08x",
						         dtype_name(t), (size_t)first + k,
						         f32_bits(out[k]), f32_bits(want));
				}
			}
		}
	}
	free(p);
	free(out);
}

/* Every byte, signed and unsigned, both paths, at an odd length and an
 * odd offset; codes to x̂ against (float)(q − z)·s worked in long double
 * (the difference of two int32 is exact there, one rounding to float, then
 * the float product rounded once: what float multiplication gives). */
static void test_widen_and_dequant(void **state)
{
	(void)state;
	unsigned char b[259];
	int32_t q[259];
	float y[259];

	for (int i = 0; i < 259; i++)
		b[i] = (unsigned char)(i * 7 + 3);
	for (int simd = 0; simd < 2; simd++)
		for (int sg = 0; sg < 2; sg++) {
			memset(q, 0x55, sizeof q);
			dtype_widen_8(b + 1, 257, sg, q, simd);
			for (int i = 0; i < 257; i++)
				assert_int_equal(q[i], sg ? (int32_t)(int8_t)b[i + 1]
				                          : (int32_t)b[i + 1]);
			assert_int_equal(q[257], 0x55555555);
		}
	const int32_t z = -37;
	const float s = 0.0123456789f;
	for (int i = 0; i < 259; i++)
		q[i] = (i % 2 ? 1 : -1) * (i * 8191 % 40000);
	q[5] = INT32_MAX;
	q[6] = INT32_MIN + 100;
	for (int simd = 0; simd < 2; simd++) {
		dtype_dequant_codes(q, 259, z, s, y, simd);
		for (int i = 0; i < 259; i++) {
			float d = (float)((long double)q[i] - z);
			assert_close(y[i], (double)(d * s), 0, 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_f16_decode_all),
	        cmocka_unit_test(test_f16_encode),
	        cmocka_unit_test(test_bf16_decode_all),
	        cmocka_unit_test(test_bf16_encode),
	        cmocka_unit_test(test_fp8_table),
	        cmocka_unit_test(test_fp8_encode),
	        cmocka_unit_test(test_int4_packing),
	        cmocka_unit_test(test_ints_and_endianness),
	        cmocka_unit_test(test_table),
	        cmocka_unit_test(test_f16_bulk_all),
	        cmocka_unit_test(test_bf16_bulk_all),
	        cmocka_unit_test(test_half_bulk_other_types),
	        cmocka_unit_test(test_bulk_whole_byte_types),
	        cmocka_unit_test(test_widen_and_dequant),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
