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
 *                 found by selection (O(n)), not a full sort, the neighbour
 *                 x₍ᵢ₊₁₎ (or x₍ᵢ₎) from the short side of the partition.
 *                 Groups over 256 values first count the values in n/8 bins
 *                 (up to 8192; the bin a monotonic function of the value;
 *                 four interleaved count tables, bins computed eight at a
 *                 time with AVX2), find the bins holding x₍ᵢ₎ and x₍ᵢ₊₁₎
 *                 by binary search over the cumulative counts and select
 *                 only among their values, gathered eight tested at a time
 *                 (blocks without one cost a compare). Exact either
 *                 way: tests/analysis/test_range_fast.c compares it with the
 *                 quantile of a sorted copy on 32..16384 values.
 *   mse           the scale (and, affine, zero point) minimising
 *                 E = Σ(x − x̂)². With codes c = clamp(round(x/s), −hn, hp)
 *                 (hn = z − qmin, hp = qmax − z for the zero point z),
 *                 E(s) = Σx² − 2s·Σx·c + s²·Σc² is piecewise quadratic in s
 *                 with breakpoints s = |x|/(k + ½).
 *                 Search model: groups up to 1024 values are searched on the
 *                 values themselves (E exact); larger groups on a histogram
 *                 of n/4 bins (64..2048) over [min x, max x], counts only,
 *                 each bin's Σx and Σx² taken as those of values spread
 *                 evenly over it, kept as prefix sums: while hn + hp ≤ 64 E
 *                 sums every code's share (one interpolated prefix lookup per
 *                 code boundary), with more codes E = the exact clipping
 *                 error of the values beyond the end codes + s²/12 per value
 *                 inside (two lookups).
 *                 Scale search on the model: a geometric grid of 21 scales
 *                 from s_max·2⁻¹⁰ to s_max (s_max puts the largest value on
 *                 the last code; clipping pays off far below it with
 *                 outliers) and 1.25·s_max, then 10 golden-section steps in
 *                 the cell around the best grid point. On exact values then
 *                 24-point scans of ±6 % around the result and around s_max
 *                 (E(s) has many narrow dips; with few values per code the
 *                 deepest is often next to s_max).
 *                 Refinement on the values (SIMD, float partial sums flushed
 *                 to double every 256 values): up to 3 alternations of
 *                 c = round(x/s) and s = Σx·c / Σc² (each step lowers E;
 *                 stops when the gain is below 1e-4); symmetric histogram
 *                 groups with more than 32 codes (6 bits up) then probe the
 *                 values at s·(1 ± 0.008·k), k = 1..3 (the exact
 *                 E still wobbles by a few per cent from scale to scale) and
 *                 refine again from the best probe.
 *                 Groups of at most 16 values with n·(hn + hp) ≤ 4096: one
 *                 exact sweep over all s > 0 instead (a heap merges the
 *                 breakpoints in order, each piece's parabola is minimised:
 *                 the exact global minimum).
 *                 Affine: the clip ends [lo, hi] (s = (hi − lo)/(qmax − qmin),
 *                 z = round(qmin − lo/s)) by one round of coordinate descent
 *                 on the model (each end over a geometric grid of 13 points,
 *                 9 on exact values, 6 up to 64 values, down to 2⁻⁶ of
 *                 min x / max x, and golden section, 6 steps up to 64
 *                 values), which fixes z; the scale search above for z; for
 *                 up to 64 codes or exact values also z ± 1 (on exact values
 *                 by golden section within ±15 % of that scale), ranked on
 *                 the model; the best refined on the values (exact values:
 *                 after the dense scans, only the one around the best up to
 *                 64 values); histogram groups then take the
 *                 exact best z for that scale (one pass of per-code sums,
 *                 every z priced in O(1) by prefix sums, up to 12 bits) and
 *                 refine again if it moved.
 *                 Finally the candidate and minmax are both quantized as the
 *                 runtime does (float32, scale floor) and the better is
 *                 returned: mse is never worse than minmax (see "Choosing
 *                 between two candidates" below). mse alone may
 *                 return a range wider than [min x, max x]: with few values
 *                 the best scale can exceed max|x|/qmax (8-bit on 16 values).
 *                 Measured against a brute-force float32 scale scan (every z
 *                 for affine) on Gaussian, Laplace, outlier and skewed groups
 *                 (tests/analysis/test_range_fast.c: 32..16384 values, 2..8
 *                 bits symmetric, 2..5 (≤ 1024 values) / 2..4 and 8 (4096,
 *                 16384) bits affine): within 0.05 % on values, 0.2 % on
 *                 histograms, except 32 values at 8 bits, 7.6 % (the best
 *                 scales there are isolated dips narrower than 0.1 % of s,
 *                 which only an exhaustive sweep finds); test_range.c's
 *                 400-value cases within 0.07 %.
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
 *                 the prior that fits the data (see "Choosing between two
 *                 candidates" below).
 *   kl            entropy calibration, TensorRT style: histogram of |x| in
 *                 B bins over [0, a]: B = 2048 (TensorRT's) from 8192 values
 *                 up, n/4 below, at least 2·t, at most 2048 (a 32-value
 *                 group does not pay for 2048 mostly empty bins); target bins
 *                 t = L/2 (128 for 8-bit), or L for affine one-sided data
 *                 (min ≥ 0 or max ≤ 0); no search when t ≥ B (T = a). For
 *                 every candidate i = t..B: P = bins [0, i) with the outliers
 *                 of [i, B) added to bin i−1; Q = bins [0, i) merged into t
 *                 groups of ⌊i/t⌋ bins (the last takes the rest), each group's
 *                 count spread evenly over its bins where P > 0 (a group with
 *                 no count but P > 0 gives those bins 1e-4 each);
 *                 KL(P‖Q) = Σ p·ln(p/q) on the normalised distributions,
 *                 priced in O(1) per target bin from prefix sums of count,
 *                 nonzero bins and h·ln h (ln of counts from a table);
 *                 candidates that clip more than half the values are
 *                 skipped (otherwise P collapses to one spike that Q matches
 *                 exactly, KL = 0: on 16 values at 4 bits the plain algorithm
 *                 clips everything but the smallest value). Threshold
 *                 T = a·i/B for the least KL (first on ties): symmetric
 *                 [−T, T], affine [max(min x, −T), min(max x, T)]. Every
 *                 candidate is evaluated (four at a time with AVX2 below
 *                 16384 values, the ln table gathered), except one whose
 *                 source bins i−2 and i−1 are both empty: it has the same
 *                 counts, sums and folded bin as i−1 (same ⌊i/t⌋), so the
 *                 same KL bit for bit, and cannot be the first minimum (the
 *                 empty stretches past the bulk of data with outliers are
 *                 most candidates). test_range_fast.c checks the chosen one
 *                 against an all-candidates KL written from this text
 *                 (relative excess 0 measured, 1e-9 allowed).
 *
 * Every method except mse returns a range inside [min(min x, 0), max(max x, 0)]
 * (symmetric: [−a, a]), and every range includes 0; the scheme then turns it
 * into scale/zero point with quant_param_from_range, which applies the scale
 * floor (scheme.scale_floor) last. Groups with n = 0 or all zeros get the
 * floor, or scale 1 without a floor.
 *
 * Choosing between two candidates (aciq's two priors; mse's candidate
 * against minmax): the exact squared errors under the runtime's arithmetic
 * decide, ties to the first. From 256 values, with one zero point, mse's
 * float pass at both float scales is read first: its error against the
 * exact sum is bounded (x̂ = c·s rounding, ~1e-5 of E; neighbouring codes
 * within a few ulp of a tie, under 3e-4 of E even if every value sat on
 * one; float partial sums, 2e-6), so a difference over 0.1 % decides the
 * same; closer calls are summed exactly. test_range_fast.c checks aciq's
 * choice and "mse never worse than minmax" against the contract written
 * out in the test.
 *
 * Cost (tests/bench/range.bash, ns per value on a shared 2-core AVX2
 * machine, spreads of repeated runs; 4096-value 8-bit symmetric groups,
 * Gaussian / Laplace with 1 % outliers): minmax 0.2; percentile 1.3-1.4 /
 * 1.3-2.1; aciq-laplace, aciq-gauss 0.5-0.8; aciq 1.6-1.8 / 0.9-1.1; kl
 * 4.5-6.3 / 3.5-5.6; mse 4.9-6.2 / 4.4-6.6 (affine 9-14); one exact
 * squared-error pass 0.7-1.1. Before the AVX2 counting, candidate and
 * squared-error passes (same machine, same runs): minmax 0.45, percentile
 * 3.9-6.8, aciq-laplace 1.7-2.2, aciq 3-4.2, kl 6.3-10.5, mse 6.8-9.1 /
 * 13-18 affine. Where the time goes: histogram counting (kl, percentile,
 * mse's model; a scattered increment per value, ~1 ns/value here), kl's
 * candidate loop and prefix sums, mse's ~11 float passes (three
 * least-squares refinements, six probes, the final choice) against ~5 in
 * aciq. 32-value groups: minmax 2-3, percentile 18-50, aciq 6-13, kl
 * 77-135 (8-bit) / 11-22 (4-bit), mse 90-210.
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

/* range_choose for every group of x (a whole tensor in layout l) into
 * p[l->ngroups], each group's non-finite values left out; channels along
 * the last axis are gathered 64 at a time in one sweep over the rows.
 * Returns 0 or range_choose's status (QS_ERR_NOMEM when out of memory). */
int range_choose_groups(const struct method *m, const struct scheme *s, const struct layout *l,
                        const float *x, struct qparam *p, struct qs_error *err);

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
