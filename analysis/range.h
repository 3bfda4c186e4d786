/* range.h — range (clipping) methods: how scale and zero point are chosen
 * for one group of values.
 *
 * Notation: n values x, codes [qmin, qmax] of the scheme, L = qmax − qmin + 1
 * levels, M = log2 L effective bits (so narrow and reduce-range schemes get
 * the resolution they really have), a = max|x|.
 *
 *   minmax        [min x, max x] (symmetric: [−a, a]).
 *   percentile:P  symmetric: a_P = the P-th percentile of |x|, range [−a_P, a_P];
 *                 affine: [Q((100−P)/2), Q((100+P)/2)] of x. Q is GSL's (and
 *                 numpy's default "linear") quantile: h = (n−1)·f, i = ⌊h⌋,
 *                 Q = (1−(h−i))·x₍ᵢ₎ + (h−i)·x₍ᵢ₊₁₎ over the sorted values;
 *                 found by selection (O(n)), not a full sort.
 *   mse           the scale (and, affine, zero point) minimising
 *                 E = Σ(x − x̂)². With codes c = clamp(round(x/s), −hn, hp)
 *                 (hn = z − qmin, hp = qmax − z for the zero point z),
 *                 E(s) = Σx² − 2s·Σx·c + s²·Σc² is piecewise quadratic in s
 *                 with breakpoints s = |x|/(k + ½). A sweep visits the
 *                 breakpoints in order (heap merge) and minimises each
 *                 parabola (s = Σx·c / Σc² clipped to its piece): the exact
 *                 minimum over an interval of s.
 *                 Points: the exact values, or for n ≥ 2·B a histogram of B
 *                 bins (B = 32 per code step, 256..4096; count, Σx, Σx² per
 *                 bin; a bin inside one code is exact, a wider straddling bin
 *                 costs w·s²/12).
 *                 Small groups (n·(L−1) ≤ 4096, or (L−1)·log2 n ≤ 150): one
 *                 sweep over all s > 0, the exact global minimum.
 *                 Otherwise, with s_max the scale that puts the largest value
 *                 on the last code: a coarse grid (23 geometric steps from
 *                 s_max·2⁻¹² to s_max, plus 1.5·s_max; clipping pays off far
 *                 below the max with outliers), then the cell around its best
 *                 point, swept exactly when its breakpoints are affordable
 *                 (exact values; up to 64·n/log2 n, or for ragged groups with
 *                 n ≤ 8·L up to max(32·n, 65536)), else a fine grid of 24 and
 *                 Brent (gsl_min) in the best fine cell (ragged: plus an exact
 *                 ±6 % window around it); exact values also get an exact ±6 %
 *                 window around s_max when affordable (with few values per code
 *                 the optimum often sits next to it). Last, on all values,
 *                 alternate c = round(x/s) and s = Σx·c / Σc² (each step lowers
 *                 E) until the gain is below 1e-5.
 *                 Affine: every zero point (or 16 evenly spread ones, and the
 *                 minmax one) is ranked by its coarse-grid error on a 256-bin
 *                 histogram; the minmax one and the best two are searched as
 *                 above; then coordinate descent: the exact best z for the
 *                 scale (per-code sums of one pass, every z priced in O(1) by
 *                 prefix sums; up to 12 bits) and the best scale for it, until
 *                 z stays; ragged groups also try z ± 1, ± 2.
 *                 Finally the candidate and minmax are both quantized as the
 *                 runtime does (float32, scale floor) and the better is
 *                 returned: mse is never worse than minmax. mse alone may
 *                 return a range wider than [min x, max x]: with few values
 *                 the best scale can exceed max|x|/qmax (8-bit on 16 values).
 *                 Measured against a 4000-step brute-force scale scan (all z
 *                 for affine) on Gaussian/Laplace/outlier/skewed data, 50 to
 *                 30000 values, 2..8 bits: within 0.07 % on exact values and
 *                 0.3 % on histograms (tests/analysis/test_range.c bounds
 *                 0.1 % on 400 values).
 *   aciq-laplace  clip at α·b̂ around the mean, b̂ = mean|x − mean|, α
 *                 minimising the expected MSE of a Laplace(0, b) source with
 *                 uniform quantization of [−α, α] into 2^M levels (Banner et
 *                 al., "ACIQ" / "Post-training 4-bit quantization"), per b²:
 *                     f_L(α) = 2·e^(−α) + α²/(3·4^M)
 *                 (clipping noise 2∫_α^∞ (x−α)² e^(−x)/2 dx, rounding noise
 *                 Δ²/12 with Δ = 2α/2^M). Optimum: α·e^α = 3·4^M.
 *   aciq-gauss    clip at α·σ̂ (σ̂ the sample standard deviation), per σ²:
 *                     f_G(α) = (1+α²)·erfc(α/√2) − α·√(2/π)·e^(−α²/2) + α²/(3·4^M)
 *                 (clipping noise 2∫_α^∞ (x−α)² φ(x) dx). Optimum:
 *                 α·erfc(α/√2) − √(2/π)·e^(−α²/2) + α/(3·4^M) = 0.
 *                 Both α are found by minimising f with gsl_min (Brent) after
 *                 a bracketing scan, using gsl_sf_exp / gsl_sf_erfc; M = 2..8
 *                 give Laplace 2.83 3.90 5.03 6.20 7.41 8.65 9.90 and Gaussian
 *                 1.71 2.15 2.56 2.94 3.29 3.62 3.92 (Banner et al.'s table
 *                 to ±0.01). Range: symmetric [−a', a'] with
 *                 a' = min(a, |mean| + α·spread); affine
 *                 [max(min x, mean − α·spread), min(max x, mean + α·spread)].
 *   aciq          both priors' ranges are quantized on the data and the one
 *                 with the lower measured squared error wins (ties: Laplace).
 *                 Chosen over "lower predicted MSE" because the prediction
 *                 compares the models, not the data: on 2·10⁵ Laplace samples
 *                 at 4 bits the predictions are 0.046 (Laplace) and 0.021
 *                 (Gaussian), so it would pick the Gaussian clip, whose
 *                 measured MSE is 0.085 against the Laplace clip's 0.051 (the
 *                 same holds at 2..8 bits). Measuring costs one pass and picks
 *                 the prior that fits the data.
 *   kl            entropy calibration, TensorRT style: histogram of |x| in
 *                 2048 bins over [0, a] (gsl_histogram); target bins t = L/2
 *                 (128 for 8-bit), or L for affine one-sided data (min ≥ 0 or
 *                 max ≤ 0). For each candidate i = t..2048: P = bins [0, i)
 *                 with the outliers of [i, 2048) added to bin i−1; Q = bins
 *                 [0, i) merged into t groups of ⌊i/t⌋ bins (the last takes the
 *                 rest), each group's count spread evenly over its bins where
 *                 P > 0 (a group with no count but P > 0 gives those bins
 *                 1e-4 each); KL(P‖Q) = Σ p·ln(p/q) on the normalised
 *                 distributions; candidates that clip more than half the
 *                 values are skipped (otherwise P collapses to one spike that
 *                 Q matches exactly, KL = 0: on 16 values at 4 bits the plain
 *                 algorithm clips everything but the smallest value). Threshold T = a·i/2048 for the least KL (first on
 *                 ties): symmetric [−T, T], affine [max(min x, −T), min(max x, T)].
 *
 * Every method except mse returns a range inside [min(min x, 0), max(max x, 0)]
 * (symmetric: [−a, a]), and every range includes 0; the scheme then turns it
 * into scale/zero point with quant_param_from_range, which applies the scale
 * floor (scheme.scale_floor) last. Groups with n = 0 or all zeros get the
 * floor, or scale 1 without a floor.
 *
 * Cost (callgrind, gcc -O2, instructions per value): minmax 12; percentile
 * 32–40; aciq-laplace/-gauss ~49; aciq ~115 (both clips measured); kl ~70 plus
 * ~0.45M per group (the 2048-bin histogram); mse 155 (10⁶ values, symmetric
 * 8-bit) / 280 (affine), ~2000 / ~5400 for 4096-value groups, ~1500–5800
 * for 32-value groups. For scale: one quant_one pass costs ~70.
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
/* One-line description of a method kind (help screen, --help); NULL when
 * k is out of range. */
const char *method_kind_help(enum method_kind k);

/* Choose the parameters of one group: x holds the group's n finite values
 * contiguous (NaN/Inf removed by the caller). scratch must hold n floats
 * (methods that sort or reorder use it; x is not modified).
 * n == 0 gives the floor/unit scale. Returns 0, or QS_ERR_NUMERIC when a
 * GSL routine fails. */
int range_choose(const struct method *m, const struct scheme *s, const float *x, size_t n,
                 float *scratch, struct qparam *out, struct qs_error *err);

/* Σ(x − x̂)² of one group under p, with x̂ exactly as quant_one/quant_deq
 * give it (float32 division, the scheme's rounding), in one inlined pass.
 * x holds n finite values. */
double range_sse(const struct scheme *s, const struct qparam *p, const float *x, size_t n);

/* ACIQ's optimal clip factor α for b bits: Laplace (in units of b, the
 * Laplace scale) or Gaussian (in units of σ), minimising the closed-form
 * expected MSE with gsl_min. Exposed for tests and for the help screen. */
int aciq_alpha_laplace(int bits, double *alpha, struct qs_error *err);
int aciq_alpha_gauss(int bits, double *alpha, struct qs_error *err);

#endif
