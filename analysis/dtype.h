/* dtype.h — element types of stored tensors and exact conversions to float.
 *
 * One table (dtype_info) indexed by enum dtype gives each type's name, width
 * and kind; formats map their own type codes onto this enum. All stored data
 * is little-endian unless a caller says otherwise (npy may be big-endian).
 *
 * Conversions are exact where the target can hold the value: every f16, bf16,
 * fp8 and integer value up to 2^24 converts to float exactly; f64 and large
 * int32/int64 values round to nearest float. float → f16/bf16/fp8 round to
 * nearest even (bf16: NaN keeps a quiet NaN; fp8 e4m3fn saturates to NaN per
 * the ONNX "saturate" = 0 rules only when asked, see dtype_from_f32).
 */
#ifndef QS_DTYPE_H
#define QS_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dtype {
	DTYPE_F32,
	DTYPE_F64,
	DTYPE_F16,
	DTYPE_BF16,
	DTYPE_F8E4M3FN,
	DTYPE_F8E5M2,
	DTYPE_I8,
	DTYPE_U8,
	DTYPE_I16,
	DTYPE_U16,
	DTYPE_I32,
	DTYPE_U32,
	DTYPE_I64,
	DTYPE_U64,
	DTYPE_I4, /* packed two per byte, see enum nibble_order */
	DTYPE_U4,
	DTYPE_BOOL,
	DTYPE_COUNT
};

/* Which half of a byte holds the even-numbered element of a 4-bit tensor.
 * ONNX, TFLite and GGUF use LOW_FIRST; bitsandbytes uses HIGH_FIRST. */
enum nibble_order {
	NIBBLE_LOW_FIRST,
	NIBBLE_HIGH_FIRST
};

struct dtype_info {
	const char *name; /* "f32", "bf16", "f8e4m3fn", "i4", ... */
	unsigned bits;    /* storage bits per element (4 for I4/U4) */
	bool is_float;
	bool is_signed;
	int64_t int_min, int_max; /* code range for integer types */
};

const struct dtype_info *dtype_info(enum dtype t);
const char *dtype_name(enum dtype t);
/* Parse a name from dtype_info (case-insensitive); -1 when unknown. */
int dtype_from_name(const char *name);

/* Bytes needed for n elements (4-bit types round up). Returns false when
 * the product overflows size_t. */
bool dtype_nbytes(enum dtype t, uint64_t n, size_t *out);

/* Scalar conversions. */
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f); /* round to nearest even; overflow → ±inf */
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f); /* round to nearest even; NaN stays NaN */
float f8e4m3fn_to_f32(uint8_t b);
uint8_t f32_to_f8e4m3fn(float f, bool saturate); /* saturate: ±448, else NaN */
float f8e5m2_to_f32(uint8_t b);
uint8_t f32_to_f8e5m2(float f, bool saturate); /* saturate: ±57344, else ±inf */

/* Convert n elements starting at element index `first` of src (type t,
 * little-endian unless big_endian) to float. For 4-bit types `first` may be
 * odd; order gives the nibble order. Never reads past element first+n-1. */
void dtype_to_f32(enum dtype t, const void *src, uint64_t first, size_t n, bool big_endian,
                  enum nibble_order order, float *dst);

/* Bulk little-endian f16 or bf16 (t is DTYPE_F16 or DTYPE_BF16; other types
 * write nothing) → n floats, src at any alignment. simd = true uses
 * F16C/AVX2 code when the running CPU has both (x86-64, checked once at run
 * time; plain C elsewhere), simd = false always the plain C loop. Every path
 * gives the bits of f16_to_f32/bf16_to_f32 for each of the 65536 patterns,
 * NaN payloads and signs included (f16 NaN: sign, all-ones exponent,
 * payload << 13 — never quieted). dtype_to_f32 uses it (simd = true) for
 * little-endian f16/bf16. */
void dtype_half_to_f32(enum dtype t, const void *src, size_t n, float *dst, bool simd);
/* Does dtype_half_to_f32(..., true) run the F16C/AVX2 code on this CPU? */
bool dtype_half_simd_available(void);

/* n int8 (is_signed) or uint8 bytes → int32, and codes → x̂ = (float)(q − z)·s
 * with q − z taken in double (exact for int32 q, z) and one rounding to
 * float, as the scalar form computes it. simd = true uses AVX2 when the CPU
 * has it (same bits), false the plain loops (for tests). */
void dtype_widen_8(const void *src, size_t n, bool is_signed, int32_t *dst, bool simd);
void dtype_dequant_codes(const int32_t *q, size_t n, double z, float s, float *dst, bool simd);

/* Read one element as a signed 64-bit integer (integer types only). */
int64_t dtype_get_int(enum dtype t, const void *src, uint64_t i, enum nibble_order order);
/* Store integer v (already in range) as element i of dst. */
void dtype_set_int(enum dtype t, void *dst, uint64_t i, int64_t v, enum nibble_order order);

#endif
