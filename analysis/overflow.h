/* overflow.h — overflow and numeric-risk findings of a quantized tensor.
 *
 * Each finding has a level (ok / warn / risk), the channel it concerns (−1 for
 * the whole tensor), the number that triggered it and a one-line reason.
 *
 *   int32 accumulator  worst case Σ_k |w_q[k]|·max|x_q| over an output
 *                      channel's K weights, against 2³¹−1 (risk above,
 *                      warn above half).
 *   int16 pair         a·b + c·d of two int8 products, the VNNI/pmaddubsw
 *                      intermediate: its worst case is 2·max|a|·max|b|, which
 *                      reaches 32768 > 32767 only when both operand ranges
 *                      include −128 — why symmetric int8 weights use −127..127.
 *   bias               q_bias = round(b / (s_in·s_w)) outside the bias type's
 *                      range (int32 unless stated): the INT64_MIN-bias failure
 *                      of tiny weight scales.
 *   tiny scale         s < floor: 1e-5 for ≤ 8-bit codes, 1e-9 for 16-bit, and
 *                      s_in·s_w < 1e-15 for a combined 16-bit scale.
 *   zero channel       a channel whose float weights are all 0.
 *   saturation         clipped_pct above 1 % (warn) or 10 % (risk).
 *   non-finite         any NaN or ±inf weight (risk); denormals (warn).
 */
#ifndef QS_OVERFLOW_H
#define QS_OVERFLOW_H

#include <stdint.h>

enum risk_level {
	RISK_OK,
	RISK_WARN,
	RISK_RISK
};

enum finding_kind {
	FIND_NONFINITE,
	FIND_DENORMAL,
	FIND_EMPTY,
	FIND_CONSTANT,
	FIND_ZERO_CHANNEL,
	FIND_TINY_SCALE,
	FIND_SATURATION,
	FIND_ACC_INT32,
	FIND_ACC_INT16_PAIR,
	FIND_BIAS_OVERFLOW,
	FIND_COUNT
};

struct finding {
	enum finding_kind kind;
	enum risk_level level;
	int64_t channel; /* −1: the whole tensor */
	double value;    /* the figure the reason quotes */
	char reason[160];
};

const char *risk_level_name(enum risk_level l); /* "ok", "warn", "risk" */
const char *finding_kind_name(enum finding_kind k);

/* Tiny-scale floor for a code width in bits (1e-5 up to 8 bits, 1e-9 above). */
double overflow_scale_floor(int bits);

/* Worst-case |Σ_k w_q[k]·x_q| of one output channel: sum_abs_wq = Σ|w_q[k]|,
 * x_absmax = max |x_q − z_x| of the input codes. Fills f (channel ch). */
enum risk_level overflow_acc_int32(double sum_abs_wq, double x_absmax, int64_t ch,
                                   struct finding *f);

/* The int16 pair accumulator for weight codes [wmin, wmax] and input codes
 * [xmin, xmax] (zero points already subtracted): the sum reaches 2·max and
 * 2·min of the endpoint products; risk when outside −32768..32767. */
enum risk_level overflow_int16_pair(int32_t wmin, int32_t wmax, int32_t xmin, int32_t xmax,
                                    struct finding *f);

/* The quantized bias of one channel: q = round(bias / (s_in·s_w)) against
 * [bias_min, bias_max] (int32: INT32_MIN..INT32_MAX). Also flags a combined
 * scale below 1e-15 as tiny. */
enum risk_level overflow_bias(double bias, double s_in, double s_w, int64_t bias_min,
                              int64_t bias_max, int64_t ch, struct finding *f);

/* A scale s with 0 < |s| < overflow_scale_floor(bits): warn. (A zero scale,
 * an all-zero block, is exact and not flagged.) */
enum risk_level overflow_tiny_scale(double scale, int bits, int64_t ch, struct finding *f);

/* clipped_pct above 1 (warn) or 10 (risk). */
enum risk_level overflow_saturation(double clipped_pct, int64_t ch, struct finding *f);

#endif
