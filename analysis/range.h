/* range.h — range (clipping) methods: how scale and zero point are chosen
 * for one group of values.
 *
 *   minmax        lo = min x, hi = max x.
 *   percentile:P  symmetric: clip at the P-th percentile of |x|; affine: lo/hi
 *                 at the (100−P)/2-th and (100+P)/2-th percentiles... see
 *                 range.c for the exact interpolation (gsl_stats_quantile).
 *   mse           the scale minimising Σ(x − x̂)² over the group: for symmetric
 *                 schemes alternate rounding q = round(x/s) and the
 *                 least-squares scale s = Σx·q / Σq², started from minmax and
 *                 from a grid of clip ratios, keeping the best; affine
 *                 schemes search (lo, hi) likewise. Never worse than minmax.
 *   aciq-laplace  clip at α·b̂ where b̂ = mean|x − mean| and α minimises the
 *                 analytic expected MSE of a Laplace(0, b) source at b bits
 *                 (Banner et al., ACIQ), α found with gsl_min.
 *   aciq-gauss    clip at α·σ̂, α from the Gaussian expected MSE likewise.
 *   aciq          whichever of the two predicts the lower MSE for this data.
 *   kl            TensorRT entropy calibration: 2048-bin histogram of |x|,
 *                 the threshold whose quantized distribution has the least
 *                 KL divergence from the reference distribution.
 *
 * Every method returns a range that includes 0 and never widens past
 * [min x, max x]; the scheme then turns it into scale/zero point
 * (quant_param_from_range), and --scale-floor applies last.
 */
#ifndef QS_RANGE_H
#define QS_RANGE_H

#include <stddef.h>

#include "error.h"
#include "quant.h"

enum method_kind {
	METHOD_MINMAX,
	METHOD_PERCENTILE,
	METHOD_MSE,
	METHOD_ACIQ,
	METHOD_ACIQ_LAPLACE,
	METHOD_ACIQ_GAUSS,
	METHOD_KL,
	METHOD_COUNT
};

struct method {
	enum method_kind kind;
	double percentile; /* METHOD_PERCENTILE: 0 < P ≤ 100 */
};

/* Parse "minmax", "percentile:99.9", "mse", "aciq", ... Returns 0 or
 * QS_ERR_USAGE with a message listing the accepted names. */
int method_parse(const char *s, struct method *m, struct qs_error *err);
/* Write the canonical name ("percentile:99.9") into buf. */
const char *method_format(const struct method *m, char *buf, size_t len);
/* Names of the method kinds, for help text and completion. */
const char *method_kind_name(enum method_kind k);

/* Choose the parameters of one group: x holds the group's n finite values
 * contiguous (NaN/Inf removed by the caller). scratch must hold n floats
 * (methods that sort or reorder use it; x is not modified).
 * n == 0 gives the floor/unit scale. Returns 0, or QS_ERR_NUMERIC when a
 * GSL routine fails. */
int range_choose(const struct method *m, const struct scheme *s, const float *x, size_t n,
		 float *scratch, struct qparam *out, struct qs_error *err);

/* ACIQ's optimal clip factor α for b bits: Laplace (in units of b, the
 * Laplace scale) or Gaussian (in units of σ), minimising the closed-form
 * expected MSE with gsl_min. Exposed for tests and for the help screen. */
int aciq_alpha_laplace(int bits, double *alpha, struct qs_error *err);
int aciq_alpha_gauss(int bits, double *alpha, struct qs_error *err);

#endif
