#include "dtype.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define DTYPE_X86_SIMD 1
#endif

static const struct dtype_info dtype_table[DTYPE_COUNT] = {
        [DTYPE_F32] = {.name = "f32", .bits = 32, .is_float = true, .is_signed = true},
        [DTYPE_F64] = {.name = "f64", .bits = 64, .is_float = true, .is_signed = true},
        [DTYPE_F16] = {.name = "f16", .bits = 16, .is_float = true, .is_signed = true},
        [DTYPE_BF16] = {.name = "bf16", .bits = 16, .is_float = true, .is_signed = true},
        [DTYPE_F8E4M3FN] = {.name = "f8e4m3fn", .bits = 8, .is_float = true, .is_signed = true},
        [DTYPE_F8E5M2] = {.name = "f8e5m2", .bits = 8, .is_float = true, .is_signed = true},
        [DTYPE_I8] = {.name = "i8",
                      .bits = 8,
                      .is_signed = true,
                      .int_min = INT8_MIN,
                      .int_max = INT8_MAX},
        [DTYPE_U8] = {.name = "u8", .bits = 8, .int_min = 0, .int_max = UINT8_MAX},
        [DTYPE_I16] = {.name = "i16",
                       .bits = 16,
                       .is_signed = true,
                       .int_min = INT16_MIN,
                       .int_max = INT16_MAX},
        [DTYPE_U16] = {.name = "u16", .bits = 16, .int_min = 0, .int_max = UINT16_MAX},
        [DTYPE_I32] = {.name = "i32",
                       .bits = 32,
                       .is_signed = true,
                       .int_min = INT32_MIN,
                       .int_max = INT32_MAX},
        [DTYPE_U32] = {.name = "u32", .bits = 32, .int_min = 0, .int_max = UINT32_MAX},
        [DTYPE_I64] = {.name = "i64",
                       .bits = 64,
                       .is_signed = true,
                       .int_min = INT64_MIN,
                       .int_max = INT64_MAX},
        /* int_max of u64 is clipped to what int64_t can say. */
        [DTYPE_U64] = {.name = "u64", .bits = 64, .int_min = 0, .int_max = INT64_MAX},
        [DTYPE_I4] = {.name = "i4", .bits = 4, .is_signed = true, .int_min = -8, .int_max = 7},
        [DTYPE_U4] = {.name = "u4", .bits = 4, .int_min = 0, .int_max = 15},
        [DTYPE_BOOL] = {.name = "bool", .bits = 8, .int_min = 0, .int_max = 1},
};

const struct dtype_info *dtype_info(enum dtype t)
{
	if ((unsigned)t >= DTYPE_COUNT)
		return NULL;
	return &dtype_table[t];
}

const char *dtype_name(enum dtype t)
{
	const struct dtype_info *d = dtype_info(t);
	return d ? d->name : "?";
}

int dtype_from_name(const char *name)
{
	if (!name)
		return -1;
	for (int t = 0; t < DTYPE_COUNT; t++)
		if (strcasecmp(name, dtype_table[t].name) == 0)
			return t;
	return -1;
}

bool dtype_nbytes(enum dtype t, uint64_t n, size_t *out)
{
	const struct dtype_info *d = dtype_info(t);
	uint64_t bytes;

	if (!d)
		return false;
	if (d->bits == 4) {
		bytes = n / 2 + (n & 1);
	} else {
		uint64_t w = d->bits / 8;
		if (n > UINT64_MAX / w)
			return false;
		bytes = n * w;
	}
	if (bytes > SIZE_MAX)
		return false;
	*out = (size_t)bytes;
	return true;
}

/* Small binary floats (f16, fp8) share one encoder/decoder: the codes of
 * non-negative values are contiguous and monotone, so rounding the value to
 * an integer count of the local step gives the code directly, carries into
 * the exponent included. */
struct minifloat {
	int ebits, mbits, bias;
	bool has_inf;     /* all-ones exponent = inf/NaN (IEEE style) */
	uint32_t maxcode; /* largest finite magnitude code */
};

static const struct minifloat mf_e4m3fn = {4, 3, 7, false, 0x7E};
static const struct minifloat mf_e5m2 = {5, 2, 15, true, 0x7B};

static double minifloat_decode_mag(const struct minifloat *m, uint32_t mag)
{
	uint32_t e = mag >> m->mbits, f = mag & ((1u << m->mbits) - 1);

	if (e == 0)
		return ldexp((double)f, 1 - m->bias - m->mbits);
	return ldexp((double)((1u << m->mbits) | f), (int)e - m->bias - m->mbits);
}

static bool minifloat_is_nan(const struct minifloat *m, uint32_t mag)
{
	uint32_t emax = (1u << m->ebits) - 1;

	if (m->has_inf)
		return (mag >> m->mbits) == emax && (mag & ((1u << m->mbits) - 1)) != 0;
	return mag > m->maxcode;
}

static bool minifloat_is_inf(const struct minifloat *m, uint32_t mag)
{
	return m->has_inf && mag == ((1u << m->ebits) - 1) << m->mbits;
}

static float minifloat_to_f32(const struct minifloat *m, uint32_t code)
{
	uint32_t sign = code >> (m->ebits + m->mbits);
	uint32_t mag = code & ((1u << (m->ebits + m->mbits)) - 1);
	double v;

	if (minifloat_is_nan(m, mag))
		return sign ? -NAN : NAN;
	v = minifloat_is_inf(m, mag) ? INFINITY : minifloat_decode_mag(m, mag);
	return (float)(sign ? -v : v);
}

static double round_half_even(double v)
{
	double f = floor(v), d = v - f;

	if (d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0.0))
		return f + 1.0;
	return f;
}

/* Magnitude code of finite a ≥ 0, rounded to nearest even; may exceed
 * maxcode (the caller decides overflow). */
static uint32_t minifloat_encode_mag(const struct minifloat *m, double a)
{
	int emin = 1 - m->bias, e;

	if (a == 0.0)
		return 0;
	frexp(a, &e);
	e -= 1; /* a = 1.f · 2^e */
	if (e < emin)
		return (uint32_t)round_half_even(ldexp(a, m->mbits - emin));
	if (e > m->bias + 2)
		return UINT32_MAX;                          /* far beyond every finite code */
	double q = round_half_even(ldexp(a, m->mbits - e)); /* in [2^M, 2^(M+1)] */
	return ((uint32_t)(e + m->bias) << m->mbits) + (uint32_t)q - (1u << m->mbits);
}

static uint32_t minifloat_from_f32(const struct minifloat *m, float f, bool saturate)
{
	uint32_t sign = signbit(f) ? 1u << (m->ebits + m->mbits) : 0;
	uint32_t nan = ((1u << (m->ebits + m->mbits)) - 1); /* all ones */
	uint32_t inf = ((1u << m->ebits) - 1) << m->mbits;
	uint32_t mag;

	if (isnan(f))
		return m->has_inf ? (inf | (1u << (m->mbits - 1))) : nan;
	if (isinf(f))
		mag = UINT32_MAX;
	else
		mag = minifloat_encode_mag(m, fabs((double)f));
	if (mag > m->maxcode) {
		if (saturate)
			mag = m->maxcode;
		else
			return sign | (m->has_inf ? inf : nan);
	}
	return sign | mag;
}

static float f32_of_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* f16 is on every hot path (GGUF scales, F16 tensors), so it gets direct
 * bit arithmetic; the generic minifloat code is the fp8 path. */
float f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;

	if (e == 0x1F)
		return f32_of_bits(sign | 0x7F800000u | (m << 13));
	if (e != 0)
		return f32_of_bits(sign | ((e + 112) << 23) | (m << 13));
	float v = (float)m * 0x1p-24f; /* subnormal: m units of 2^-24, exact */
	return sign ? -v : v;
}

/* Normal results: drop 13 mantissa bits with round-to-nearest-even by adding
 * 0xFFF plus the lowest kept bit before the shift; subnormal results: adding
 * 0.5f makes the float's ulp 2^-24 = the f16 subnormal unit, so the FPU
 * rounds and the low bits of the sum are the code. */
uint16_t f32_to_f16(float f)
{
	uint32_t u, sign;

	memcpy(&u, &f, sizeof u);
	sign = (u >> 16) & 0x8000u;
	u &= 0x7FFFFFFFu;
	if (u > 0x7F800000u)
		return (uint16_t)(sign | 0x7E00u | ((u >> 13) & 0x1FFu));
	if (u >= 0x477FF000u) /* ≥ 65520, the midpoint past 65504 */
		return (uint16_t)(sign | 0x7C00u);
	if (u < 0x38800000u) { /* below 2^-14 */
		float t = f32_of_bits(u) + 0.5f;
		uint32_t tb;
		memcpy(&tb, &t, sizeof tb);
		return (uint16_t)(sign | (tb - 0x3F000000u));
	}
	u -= 112u << 23;
	u += 0xFFFu + ((u >> 13) & 1u);
	return (uint16_t)(sign | (u >> 13));
}

float bf16_to_f32(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;

	memcpy(&f, &u, sizeof f);
	return f;
}

uint16_t f32_to_bf16(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof u);
	if ((u & 0x7FFFFFFFu) > 0x7F800000u)
		return (uint16_t)((u >> 16) | 0x40); /* quiet NaN, sign kept */
	return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float f8e4m3fn_to_f32(uint8_t b)
{
	return minifloat_to_f32(&mf_e4m3fn, b);
}

uint8_t f32_to_f8e4m3fn(float f, bool saturate)
{
	return (uint8_t)minifloat_from_f32(&mf_e4m3fn, f, saturate);
}

float f8e5m2_to_f32(uint8_t b)
{
	return minifloat_to_f32(&mf_e5m2, b);
}

uint8_t f32_to_f8e5m2(float f, bool saturate)
{
	return (uint8_t)minifloat_from_f32(&mf_e5m2, f, saturate);
}

/* Load a w-byte little- or big-endian unsigned word from p. */
static uint64_t load_word(const unsigned char *p, unsigned w, bool big_endian)
{
	uint64_t v = 0;

	for (unsigned k = 0; k < w; k++)
		v |= (uint64_t)p[big_endian ? k : w - 1 - k] << (8 * (w - 1 - k));
	return v;
}

static void store_word(unsigned char *p, unsigned w, uint64_t v)
{
	for (unsigned k = 0; k < w; k++)
		p[k] = (unsigned char)(v >> (8 * k));
}

static unsigned nibble_at(const unsigned char *p, uint64_t i, enum nibble_order order)
{
	unsigned b = p[i / 2];
	bool low = ((i & 1) == 0) == (order == NIBBLE_LOW_FIRST);
	return low ? (b & 0xFu) : (b >> 4);
}

static int64_t sign_extend(uint64_t v, unsigned bits)
{
	if (bits >= 64)
		return (int64_t)v;
	uint64_t m = 1ull << (bits - 1);
	v &= (m << 1) - 1;
	return (int64_t)((v ^ m) - m);
}

static int64_t get_int(enum dtype t, const unsigned char *p, uint64_t i, bool be,
                       enum nibble_order order)
{
	const struct dtype_info *d = &dtype_table[t];

	if (d->bits == 4) {
		unsigned v = nibble_at(p, i, order);
		return d->is_signed ? sign_extend(v, 4) : (int64_t)v;
	}
	unsigned w = d->bits / 8;
	uint64_t v = load_word(p + i * w, w, be);
	if (t == DTYPE_BOOL)
		return v != 0;
	return d->is_signed ? sign_extend(v, d->bits) : (int64_t)v;
}

static float get_float(enum dtype t, const unsigned char *p, uint64_t i, bool be)
{
	switch (t) {
	case DTYPE_F32: {
		uint32_t u = (uint32_t)load_word(p + i * 4, 4, be);
		float f;
		memcpy(&f, &u, sizeof f);
		return f;
	}
	case DTYPE_F64: {
		uint64_t u = load_word(p + i * 8, 8, be);
		double d;
		memcpy(&d, &u, sizeof d);
		return (float)d;
	}
	case DTYPE_F16:
		return f16_to_f32((uint16_t)load_word(p + i * 2, 2, be));
	case DTYPE_BF16:
		return bf16_to_f32((uint16_t)load_word(p + i * 2, 2, be));
	case DTYPE_F8E4M3FN:
		return f8e4m3fn_to_f32(p[i]);
	case DTYPE_F8E5M2:
		return f8e5m2_to_f32(p[i]);
	default:
		return 0.0f;
	}
}

/* ---- bulk f16/bf16 ------------------------------------------------------ */

static uint16_t load16le(const unsigned char *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static void f16_bulk_c(const unsigned char *p, size_t n, float *dst)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = f16_to_f32(load16le(p + 2 * k));
}

static void bf16_bulk_c(const unsigned char *p, size_t n, float *dst)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = bf16_to_f32(load16le(p + 2 * k));
}

#ifdef DTYPE_X86_SIMD
/* VCVTPH2PS converts finite values and infinities exactly but sets the quiet
 * bit of a signalling NaN; f16_to_f32 keeps the payload as it is, so lanes
 * with an all-ones exponent take the bits sign | 0x7F800000 | mag << 13
 * (mag << 13 puts the exponent at 0x0F800000; OR 0x70000000 completes it). */
__attribute__((target("f16c,avx2"))) static void f16_bulk_f16c(const unsigned char *p, size_t n,
                                                               float *dst)
{
	const __m256i emask = _mm256_set1_epi32(0x7C00), mag = _mm256_set1_epi32(0x7FFF);
	const __m256i sgn = _mm256_set1_epi32(0x8000), top = _mm256_set1_epi32(0x70000000);
	size_t k = 0;

	for (; k + 8 <= n; k += 8) {
		__m128i h = _mm_loadu_si128((const __m128i *)(const void *)(p + 2 * k));
		__m256i w = _mm256_cvtepu16_epi32(h);
		__m256i special = _mm256_cmpeq_epi32(_mm256_and_si256(w, emask), emask);
		__m256i bits = _mm256_or_si256(
		        _mm256_slli_epi32(_mm256_and_si256(w, sgn), 16),
		        _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(w, mag), 13), top));
		__m256 f = _mm256_blendv_ps(_mm256_cvtph_ps(h), _mm256_castsi256_ps(bits),
		                            _mm256_castsi256_ps(special));
		_mm256_storeu_ps(dst + k, f);
	}
	f16_bulk_c(p + 2 * k, n - k, dst + k);
}

__attribute__((target("avx2"))) static void bf16_bulk_avx2(const unsigned char *p, size_t n,
                                                           float *dst)
{
	size_t k = 0;

	for (; k + 8 <= n; k += 8) {
		__m128i h = _mm_loadu_si128((const __m128i *)(const void *)(p + 2 * k));
		__m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
		_mm256_storeu_si256((__m256i *)(void *)(dst + k), w);
	}
	bf16_bulk_c(p + 2 * k, n - k, dst + k);
}

/* cpuid traps to the hypervisor in a VM, so ask once: 0 unknown, 1 no, 2 yes.
 * (clang 14's __builtin_cpu_supports does not know "f16c": read the bit.) */
static atomic_int half_simd_state;

bool dtype_half_simd_available(void)
{
	int s = atomic_load_explicit(&half_simd_state, memory_order_relaxed);

	if (s == 0) {
		unsigned a, b, c = 0, d;
		bool f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
		s = f16c && __builtin_cpu_supports("avx2") ? 2 : 1;
		atomic_store_explicit(&half_simd_state, s, memory_order_relaxed);
	}
	return s == 2;
}
#else
bool dtype_half_simd_available(void)
{
	return false;
}
#endif

#ifdef DTYPE_X86_SIMD
__attribute__((target("avx2"))) static size_t widen_8_avx2(const unsigned char *p, size_t n,
                                                           bool is_signed, int32_t *dst)
{
	size_t k = 0;

	for (; k + 8 <= n; k += 8) {
		__m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(p + k));
		__m256i v = is_signed ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
		_mm256_storeu_si256((__m256i *)(void *)(dst + k), v);
	}
	return k;
}

__attribute__((target("avx2"))) static size_t dequant_avx2(const int32_t *q, size_t n, double z,
                                                           float s, float *dst)
{
	const __m256d zd = _mm256_set1_pd(z);
	const __m128 sf = _mm_set1_ps(s);
	size_t k = 0;

	for (; k + 4 <= n; k += 4) {
		__m256d c =
		        _mm256_cvtepi32_pd(_mm_loadu_si128((const __m128i *)(const void *)(q + k)));
		_mm_storeu_ps(dst + k, _mm_mul_ps(_mm256_cvtpd_ps(_mm256_sub_pd(c, zd)), sf));
	}
	return k;
}
#endif

void dtype_widen_8(const void *src, size_t n, bool is_signed, int32_t *dst, bool simd)
{
	const unsigned char *p = src;
	size_t k = 0;

#ifdef DTYPE_X86_SIMD
	if (simd && __builtin_cpu_supports("avx2"))
		k = widen_8_avx2(p, n, is_signed, dst);
#else
	(void)simd;
#endif
	for (; k < n; k++)
		dst[k] = is_signed ? (int32_t)(int8_t)p[k] : (int32_t)p[k];
}

void dtype_dequant_codes(const int32_t *q, size_t n, double z, float s, float *dst, bool simd)
{
	size_t k = 0;

#ifdef DTYPE_X86_SIMD
	if (simd && __builtin_cpu_supports("avx2"))
		k = dequant_avx2(q, n, z, s, dst);
#else
	(void)simd;
#endif
	for (; k < n; k++)
		dst[k] = (float)((double)q[k] - z) * s;
}

void dtype_half_to_f32(enum dtype t, const void *src, size_t n, float *dst, bool simd)
{
	const unsigned char *p = src;

	if (t != DTYPE_F16 && t != DTYPE_BF16)
		return;
#ifdef DTYPE_X86_SIMD
	if (simd && n >= 8 && dtype_half_simd_available()) {
		if (t == DTYPE_F16)
			f16_bulk_f16c(p, n, dst);
		else
			bf16_bulk_avx2(p, n, dst);
		return;
	}
#else
	(void)simd;
#endif
	if (t == DTYPE_F16)
		f16_bulk_c(p, n, dst);
	else
		bf16_bulk_c(p, n, dst);
}

/* ---- bulk paths for whole-byte types ------------------------------------
 * Each gives exactly what the per-element get_float/get_int path gives: the
 * same integer or double converted once to float, fp8 from a 256-entry table
 * filled by the scalar decoders. */

static float f8_table[2][256];
static pthread_once_t f8_once = PTHREAD_ONCE_INIT;

static void f8_table_fill(void)
{
	for (unsigned b = 0; b < 256; b++) {
		f8_table[0][b] = f8e4m3fn_to_f32((uint8_t)b);
		f8_table[1][b] = f8e5m2_to_f32((uint8_t)b);
	}
}

static void f8_bulk(const float *table, const unsigned char *p, size_t n, float *dst)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = table[p[k]];
}

static void e4m3_bulk(const unsigned char *p, size_t n, float *dst)
{
	pthread_once(&f8_once, f8_table_fill);
	f8_bulk(f8_table[0], p, n, dst);
}

static void e5m2_bulk(const unsigned char *p, size_t n, float *dst)
{
	pthread_once(&f8_once, f8_table_fill);
	f8_bulk(f8_table[1], p, n, dst);
}

static void f16_bulk(const unsigned char *p, size_t n, float *dst)
{
	dtype_half_to_f32(DTYPE_F16, p, n, dst, true);
}

static void bf16_bulk(const unsigned char *p, size_t n, float *dst)
{
	dtype_half_to_f32(DTYPE_BF16, p, n, dst, true);
}

static void f64_bulk(const unsigned char *p, size_t n, float *dst)
{
	for (size_t k = 0; k < n; k++) {
		uint64_t u = load_word(p + 8 * k, 8, false);
		double d;
		memcpy(&d, &u, sizeof d);
		dst[k] = (float)d;
	}
}

static void i8_bulk(const unsigned char *p, size_t n, float *dst)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = (float)(int8_t)p[k];
}

static void u8_bulk(const unsigned char *p, size_t n, float *dst)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = (float)p[k];
}

static void bool_bulk(const unsigned char *p, size_t n, float *dst)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = p[k] != 0;
}

static void i16_bulk(const unsigned char *p, size_t n, float *dst)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = (float)(int16_t)load16le(p + 2 * k);
}

static void u16_bulk(const unsigned char *p, size_t n, float *dst)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = (float)load16le(p + 2 * k);
}

static uint32_t load32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void i32_bulk(const unsigned char *p, size_t n, float *dst)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = (float)(int32_t)load32le(p + 4 * k);
}

static void u32_bulk(const unsigned char *p, size_t n, float *dst)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = (float)load32le(p + 4 * k);
}

/* Little-endian bulk converters (1-byte types: any byte order). */
static void (*const bulk_le[DTYPE_COUNT])(const unsigned char *p, size_t n, float *dst) = {
        [DTYPE_F64] = f64_bulk,       [DTYPE_F16] = f16_bulk,     [DTYPE_BF16] = bf16_bulk,
        [DTYPE_F8E4M3FN] = e4m3_bulk, [DTYPE_F8E5M2] = e5m2_bulk, [DTYPE_I8] = i8_bulk,
        [DTYPE_U8] = u8_bulk,         [DTYPE_I16] = i16_bulk,     [DTYPE_U16] = u16_bulk,
        [DTYPE_I32] = i32_bulk,       [DTYPE_U32] = u32_bulk,     [DTYPE_BOOL] = bool_bulk,
};

void dtype_to_f32(enum dtype t, const void *src, uint64_t first, size_t n, bool big_endian,
                  enum nibble_order order, float *dst)
{
	const unsigned char *p = src;
	const struct dtype_info *d = dtype_info(t);

	if (!d || n == 0)
		return;
	if (t == DTYPE_F32 && !big_endian) {
		memcpy(dst, p + first * 4, n * sizeof *dst);
		return;
	}
	if (bulk_le[t] && (!big_endian || d->bits == 8)) {
		bulk_le[t](p + first * (d->bits / 8), n, dst);
		return;
	}
	if (d->is_float) {
		for (size_t k = 0; k < n; k++)
			dst[k] = get_float(t, p, first + k, big_endian);
		return;
	}
	for (size_t k = 0; k < n; k++)
		dst[k] = (float)get_int(t, p, first + k, big_endian, order);
}

int64_t dtype_get_int(enum dtype t, const void *src, uint64_t i, enum nibble_order order)
{
	const struct dtype_info *d = dtype_info(t);

	if (!d || d->is_float)
		return 0;
	return get_int(t, src, i, false, order);
}

void dtype_set_int(enum dtype t, void *dst, uint64_t i, int64_t v, enum nibble_order order)
{
	const struct dtype_info *d = dtype_info(t);
	unsigned char *p = dst;

	if (!d || d->is_float)
		return;
	if (d->bits == 4) {
		unsigned char *b = p + i / 2;
		bool low = ((i & 1) == 0) == (order == NIBBLE_LOW_FIRST);
		unsigned nib = (unsigned)v & 0xFu;
		*b = low ? (unsigned char)((*b & 0xF0u) | nib)
		         : (unsigned char)((*b & 0x0Fu) | (nib << 4));
		return;
	}
	unsigned w = d->bits / 8;
	store_word(p + i * w, w, (uint64_t)v);
}
