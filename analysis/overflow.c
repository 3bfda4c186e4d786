#include "overflow.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

static const char *const level_names[] = {
        [RISK_OK] = "ok",
        [RISK_WARN] = "warn",
        [RISK_RISK] = "risk",
};

static const char *const kind_names[FIND_COUNT] = {
        [FIND_NONFINITE] = "non-finite",
        [FIND_DENORMAL] = "denormal",
        [FIND_EMPTY] = "empty",
        [FIND_CONSTANT] = "constant",
        [FIND_ZERO_CHANNEL] = "zero-channel",
        [FIND_TINY_SCALE] = "tiny-scale",
        [FIND_SATURATION] = "saturation",
        [FIND_ACC_INT32] = "acc-int32",
        [FIND_ACC_INT16_PAIR] = "acc-int16-pair",
        [FIND_BIAS_OVERFLOW] = "bias-overflow",
};

const char *risk_level_name(enum risk_level l)
{
	return (unsigned)l <= RISK_RISK ? level_names[l] : "?";
}

const char *finding_kind_name(enum finding_kind k)
{
	return (unsigned)k < FIND_COUNT ? kind_names[k] : "?";
}

double overflow_scale_floor(int bits)
{
	return bits <= 8 ? 1e-5 : 1e-9;
}

static enum risk_level fill(struct finding *f, enum finding_kind k, enum risk_level l, int64_t ch,
                            double value)
{
	if (f) {
		f->kind = k;
		f->level = l;
		f->channel = ch;
		f->value = value;
		f->reason[0] = '\0';
	}
	return l;
}

enum risk_level overflow_acc_int32(double sum_abs_wq, double x_absmax, int64_t ch,
                                   struct finding *f)
{
	const double lim = 2147483647.0;
	double worst = sum_abs_wq * x_absmax;
	enum risk_level l = worst > lim ? RISK_RISK : worst > lim / 2 ? RISK_WARN : RISK_OK;

	fill(f, FIND_ACC_INT32, l, ch, worst);
	if (f)
		snprintf(f->reason, sizeof f->reason,
		         "int32 accumulator worst case %.0f (sum|w_q| %.0f x max|x_q| %.0f) "
		         "%s 2^31-1",
		         worst, sum_abs_wq, x_absmax, l == RISK_RISK ? "exceeds" : "is within");
	return l;
}

static void product_bounds(int32_t a0, int32_t a1, int32_t b0, int32_t b1, double *lo, double *hi)
{
	double p[4] = {(double)a0 * b0, (double)a0 * b1, (double)a1 * b0, (double)a1 * b1};

	*lo = *hi = p[0];
	for (int k = 1; k < 4; k++) {
		*lo = fmin(*lo, p[k]);
		*hi = fmax(*hi, p[k]);
	}
}

/* The pair sum a·b + c·d reaches 2·max(products) and 2·min(products); int16
 * holds −32768..32767, so only a positive 32768 (−128·−128 twice) or a more
 * negative sum than −32768 overflows. */
enum risk_level overflow_int16_pair(int32_t wmin, int32_t wmax, int32_t xmin, int32_t xmax,
                                    struct finding *f)
{
	double lo, hi;

	product_bounds(wmin, wmax, xmin, xmax, &lo, &hi);
	double top = 2 * hi, bottom = 2 * lo;
	bool over = top > 32767.0 || bottom < -32768.0;
	double worst = top > -bottom ? top : bottom;
	enum risk_level l = over ? RISK_RISK : RISK_OK;

	fill(f, FIND_ACC_INT16_PAIR, l, -1, worst);
	if (f)
		snprintf(f->reason, sizeof f->reason,
		         "int16 pair a*b+c*d of codes w [%d, %d] and x [%d, %d] reaches %.0f%s",
		         wmin, wmax, xmin, xmax, worst,
		         over ? ": overflows int16 (use narrow-range weights)" : "");
	return l;
}

enum risk_level overflow_bias(double bias, double s_in, double s_w, int64_t bias_min,
                              int64_t bias_max, int64_t ch, struct finding *f)
{
	double s = s_in * s_w;
	double q = s > 0.0 ? nearbyint(bias / s) : (bias == 0.0 ? 0.0 : copysign(INFINITY, bias));
	bool out = !(q >= (double)bias_min && q <= (double)bias_max);
	bool tiny = s < 1e-15;
	enum risk_level l = out ? RISK_RISK : tiny ? RISK_WARN : RISK_OK;

	fill(f, FIND_BIAS_OVERFLOW, l, ch, q);
	if (f)
		snprintf(f->reason, sizeof f->reason,
		         "bias %.6g / (s_in %.3g * s_w %.3g) = %.6g %s [%lld, %lld]%s", bias, s_in,
		         s_w, q, out ? "outside" : "within", (long long)bias_min,
		         (long long)bias_max, tiny ? "; combined scale below 1e-15" : "");
	return l;
}

enum risk_level overflow_tiny_scale(double scale, int bits, int64_t ch, struct finding *f)
{
	double floor_ = overflow_scale_floor(bits);
	double a = fabs(scale);
	/* Compared in float: a scale floored at 1e-5 is stored as the float
	 * just below 1e-5 and must not be flagged. */
	enum risk_level l = a > 0.0 && (float)a < (float)floor_ ? RISK_WARN : RISK_OK;

	fill(f, FIND_TINY_SCALE, l, ch, scale);
	if (f)
		snprintf(f->reason, sizeof f->reason, "scale %.3g %s %.0e for %d-bit codes", scale,
		         l ? "below" : "not below", floor_, bits);
	return l;
}

enum risk_level overflow_saturation(double clipped_pct, int64_t ch, struct finding *f)
{
	enum risk_level l = clipped_pct > 10.0  ? RISK_RISK
	                    : clipped_pct > 1.0 ? RISK_WARN
	                                        : RISK_OK;

	fill(f, FIND_SATURATION, l, ch, clipped_pct);
	if (f)
		snprintf(f->reason, sizeof f->reason, "%.3g%% of the values clipped", clipped_pct);
	return l;
}
