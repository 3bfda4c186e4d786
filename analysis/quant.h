/* quant.h — linear (affine/symmetric) integer quantization schemes.
 *
 *   q  = clamp(round(x / s) + z, qmin, qmax)      (ONNX QuantizeLinear)
 *   x̂  = (q − z) · s                              (ONNX DequantizeLinear)
 *
 * Code ranges for b bits: signed [−2^(b−1), 2^(b−1)−1]; unsigned [0, 2^b−1].
 * narrow: signed drops −2^(b−1) (int8 → −127..127); unsigned drops 2^b−1.
 * reduce_range: one bit fewer (int8 → −64..63 signed, 0..127 unsigned),
 * as ONNX Runtime's reduce_range option.
 * Symmetric: z = round_half_even((qmin + qmax) / 2) — 0 for signed ranges,
 * 128 for uint8 [0,255], 127 for uint8 narrow [0,254] (ONNX Runtime's value) —
 * and s = max(|lo|, |hi|) / ((qmax − qmin) / 2).
 * Affine: lo' = min(lo, 0), hi' = max(hi, 0), s = (hi' − lo') / (qmax − qmin),
 * z = round(qmin − lo'/s) clamped to [qmin, qmax]. The float range always
 * includes 0 so that 0 is exactly representable.
 * A scale below scale_floor becomes scale_floor; a scale that is not finite
 * or below FLT_MIN (an all-zero group) becomes scale_floor, or 1 when no
 * floor is set (ONNX Runtime's rule), so q is never NaN. The affine zero
 * point is computed from the final scale.
 * Division is done in float32 with the float32 scale, as the runtimes do, so
 * simulated codes equal the codes a runtime would produce.
 */
#ifndef QS_QUANT_H
#define QS_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

enum rounding {
	ROUND_HALF_EVEN, /* ONNX QuantizeLinear, numpy.round (default) */
	ROUND_HALF_AWAY, /* C roundf, ggml Q8_0 */
};

struct scheme {
	int bits; /* 2..16 */
	bool is_signed;
	bool symmetric;
	bool narrow;
	bool reduce_range;
	enum granularity gran;
	int axis;            /* channel / block axis; negative counts from the end */
	uint64_t group_size; /* GRAN_GROUP */
	enum rounding rounding;
	double scale_floor; /* 0 = none */
};

/* The defaults of the CLI: 8-bit signed symmetric per-channel axis 0,
 * half-even rounding, no floor. */
struct scheme scheme_default(void);

/* Check ranges (bits 2..16, group_size > 0 for GRAN_GROUP); false with *why. */
bool scheme_valid(const struct scheme *s, const char **why);

void scheme_code_range(const struct scheme *s, int32_t *qmin, int32_t *qmax);

/* Per-group quantization parameters. clip_lo/clip_hi are the float values of
 * qmin and qmax: (qmin − z)·s and (qmax − z)·s. no_range: the group's range
 * gave no usable scale (all zeros, only denormals below the smallest normal
 * step, or empty), so scale is the fallback (the floor, or 1) and says
 * nothing of the data; a tensor's scale and clip extremes leave such groups
 * out. */
struct qparam {
	float scale;
	int32_t zero_point;
	float clip_lo, clip_hi;
	bool no_range;
};

/* Scale and zero point that map the float range [lo, hi] onto the scheme's
 * codes (rules above). lo > hi is treated as an empty range (scale floor/1). */
struct qparam quant_param_from_range(const struct scheme *s, double lo, double hi);

/* Round one value per the rounding mode. */
double quant_round(double v, enum rounding r);

/* Quantize one value / dequantize one code. NaN quantizes to z; ±inf to the
 * range ends. */
int32_t quant_one(float x, const struct qparam *p, int32_t qmin, int32_t qmax, enum rounding r);
static inline float quant_deq(int32_t q, const struct qparam *p)
{
	return (float)(q - p->zero_point) * p->scale;
}

/* Quantize a whole tensor: group params p[layout.ngroups]; writes codes
 * (may be NULL) and dequantized values xhat (may be NULL). */
/* n elements of one group p: codes and/or x̂ (either may be NULL), exactly as
 * quant_one/quant_deq give them. */
void quant_span(const struct qparam *p, int32_t qmin, int32_t qmax, enum rounding r, const float *x,
                int32_t *codes, float *xhat, uint64_t n);

void quant_tensor(const struct scheme *s, const struct layout *l, const struct qparam *p,
                  const float *x, int32_t *codes, float *xhat);

#endif
