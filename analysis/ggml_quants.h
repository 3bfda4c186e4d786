/* ggml_quants.h — ggml block quantization formats as engine qtypes (one
 * table indexed like ggml's type traits): block layouts of formats.md §3.3,
 * dequantizers for every readable type, and reference quantizers equal to
 * llama.cpp's quantize_row_*_ref for the writable ones.
 *
 * ggml_type ids are GGUF's (0 F32, 1 F16, 2 Q4_0, ... 30 BF16).
 *
 * Readable: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K,
 * Q5_K, Q6_K, Q8_K. Writable (quantize_ref): F32, F16, BF16 (plain casts,
 * round to nearest even), Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q4_K, Q5_K,
 * Q6_K (not Q3_K, Q8_K).
 * The K-quant quantizers follow llama.cpp's published reference algorithm
 * (formats.md §3.5, no imatrix): Q4_K/Q5_K fit (scale, min) per 32 by a
 * weighted affine search (weights mean|x|-like: sqrt(mean x²) + |x|), then
 * store them in 6 bits against d = max scale/63, dmin = max min/63; Q6_K fits
 * a symmetric scale per 16 (weights x², 19 trial steps) and stores it as int8
 * against d = max scale/−128; Q2_K fits (scale, min) per 16 with weights |x|
 * minimising the weighted |error|, stored in 4 bits against max/15; codes
 * are re-rounded with the stored scales.
 * Ties round to even (ggml's nearest_int). They have no quantize_method.
 *
 * Element codes (qtype.codes), one int32 per element:
 *   Q4_0 nibble−8 (−8..7), Q5_0 q−16 (−16..15), Q8_0 int8 (−127..127),
 *   Q4_1 nibble (0..15), Q5_1 q (0..31), Q2_K 0..3, Q3_K −4..3, Q4_K 0..15,
 *   Q5_K 0..31, Q6_K −32..31, Q8_K int8.
 * Block scales (qtype.block_scales), one float per block: the step |d|
 * (fp16 → float; the super-block d for K-quants; the fp32 d of Q8_K). The
 * reference Q4_0/Q5_0 quantizers store a negative d to put the block's
 * extreme at code −8/−16; that sign belongs to the code mapping (x̂ =
 * code·d) and is not part of the reported scale.
 *
 * quantize_method (range methods inside the same block format, so files stay
 * readable by llama.cpp):
 *   minmax  the reference quantizer (bit-identical to llama.cpp).
 *   mse     per block, the scale d (and min m for Q4_1/Q5_1) minimising the
 *           block's squared error Σ(x − x̂)² where x̂ is computed exactly as
 *           the dequantizer does with the fp16-rounded d and m: a grid of clip
 *           ratios of both signs (symmetric types) or of (lo, hi) shrinks
 *           (affine types), each refined by least squares (d = Σx·q/Σq², or
 *           the regression of x on q) with nearest-code rounding, plus the
 *           reference block itself — so never worse than the reference.
 *   others  range_choose (range.h) on each block with the matching linear
 *           scheme (Q4_0: 4-bit signed symmetric, Q4_1: 4-bit unsigned affine,
 *           ...), the resulting scale (and clip_lo as m) rounded to fp16, codes
 *           by nearest rounding; the reference block is kept when it is better.
 * Q8_0 codes stay in −127..127 (llama.cpp's SIMD dot products assume it).
 */
#ifndef QS_GGML_QUANTS_H
#define QS_GGML_QUANTS_H

#include <stddef.h>
#include <stdint.h>

#include "qtype.h"

enum ggml_type_id {
	GGML_ID_F32 = 0,
	GGML_ID_F16 = 1,
	GGML_ID_Q4_0 = 2,
	GGML_ID_Q4_1 = 3,
	GGML_ID_Q5_0 = 6,
	GGML_ID_Q5_1 = 7,
	GGML_ID_Q8_0 = 8,
	GGML_ID_Q2_K = 10,
	GGML_ID_Q3_K = 11,
	GGML_ID_Q4_K = 12,
	GGML_ID_Q5_K = 13,
	GGML_ID_Q6_K = 14,
	GGML_ID_Q8_K = 15,
	GGML_ID_BF16 = 30,
};

/* The table of ggml-backed qtypes (float and block types); *n gets its size. */
const struct qtype *ggml_qtypes(size_t *n);

/* The qtype of a ggml_type id, or NULL when qscope cannot read it. */
const struct qtype *ggml_qtype_by_id(int ggml_type);
/* Whether the K-quant reference quantizers may search eight sub-blocks at
 * once with AVX2 (default: when the CPU has it). Either way the blocks are
 * the same bytes; for tests. */
void ggml_quants_set_simd(bool on);
/* The sub-block search of one Q4_K or Q5_K super-block (x: 256 values)
 * before its scales are quantized: per sub-block of 32 the scale sc[j], the
 * negated min neg_min[j] and the codes l[32·j ..]. −1 for other types. */
int ggml_kquant_search(int ggml_type, const float *x, float *sc, float *neg_min, uint8_t *l);

/* The ggml name of any ggml_type id known to GGUF (also the ones qscope
 * cannot read, e.g. "IQ2_XXS"), or NULL for ids never assigned. */
const char *ggml_type_name(int ggml_type);

/* Block size and bytes per block of any assigned ggml_type id (also the
 * unreadable ones, so a reader can still check sizes); false when unknown. */
bool ggml_type_size(int ggml_type, uint32_t *block_elems, uint32_t *block_bytes);

/* Can the writers produce this type (quantize_ref != NULL)? */
bool ggml_qtype_writable(const struct qtype *qt);

/* Squared error Σ(x − x̂)² of n elements (a multiple of the block) against
 * the dequantized blocks, in double. For tests and the mse search. */
double ggml_sq_error(const struct qtype *qt, const float *x, const void *blocks, int64_t n);

#endif
