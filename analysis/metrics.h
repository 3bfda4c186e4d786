/* metrics.h — error metrics of a float tensor x against its dequantized
 * approximation x̂ over n elements, accumulated in one pass (double sums).
 *
 *   MSE          = Σ(x − x̂)² / n
 *   RMSE         = √MSE
 *   MAE          = Σ|x − x̂| / n
 *   max_abs_err  = max |x − x̂|
 *   SQNR_dB      = 10·log10(Σx² / Σ(x − x̂)²); +inf when Σ(x − x̂)² = 0 (written
 *                  "inf"); −inf when Σx² = 0 but the error is not zero
 *   cosine       = Σx·x̂ / (‖x‖·‖x̂‖); 1 when both are all zero, 0 when one is
 *   clipped_pct  = 100 · #(x < clip_lo or x > clip_hi) / n (bounds of the
 *                  element's own group)
 *   levels_used  = number of distinct integer codes used
 *   entropy_bits = −Σ p_k log2 p_k over the code histogram (bits/element)
 *   rmse_over_scale = RMSE / mean scale (≈ 1/√12 ≈ 0.289 for healthy uniform
 *                  rounding; TFLite's debugger flags > 0.7)
 *
 * Non-finite x (NaN, ±inf) are counted in n_nan / n_inf and left out of every
 * sum, so one bad weight never turns the other figures into NaN; n counts the
 * finite elements only. With n = 0 the error figures are 0, SQNR +inf and
 * cosine 1 (nothing was lost), clipped_pct 0.
 */
#ifndef QS_METRICS_H
#define QS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err_acc {
	uint64_t n, n_nan, n_inf, clipped;
	double sx2, se2, sae, max_ae, sxy, sy2;
};

struct err_metrics {
	uint64_t n, n_nan, n_inf;
	double mse, rmse, mae, max_abs_err, sqnr_db, cosine, clipped_pct;
	uint64_t levels_used;
	double entropy_bits;
	double rmse_over_scale; /* NAN when there is no scale */
};

static inline void err_acc_init(struct err_acc *a)
{
	*a = (struct err_acc){0};
}

/* Add one pair; clipped says whether x lay outside its group's clip range. */
static inline void err_acc_add(struct err_acc *a, float x, float xh, bool clipped)
{
	if (x != x) {
		a->n_nan++;
		return;
	}
	if (x - x != 0.0f) {
		a->n_inf++;
		return;
	}
	double dx = x, dy = xh, e = dx - dy, ae = e < 0 ? -e : e;
	a->n++;
	a->sx2 += dx * dx;
	a->se2 += e * e;
	a->sae += ae;
	a->sxy += dx * dy;
	a->sy2 += dy * dy;
	if (ae > a->max_ae)
		a->max_ae = ae;
	a->clipped += clipped;
}

void err_acc_merge(struct err_acc *into, const struct err_acc *from);

/* Finish the metrics from an accumulator. counts/ncodes is the code histogram
 * for levels_used and entropy_bits (may be NULL: both then 0); mean_scale
 * gives rmse_over_scale (pass NAN when not applicable). */
void metrics_finish(const struct err_acc *a, const uint64_t *counts, size_t ncodes,
                    double mean_scale, struct err_metrics *out);

/* Shannon entropy in bits of a histogram of counts. */
double metrics_entropy_bits(const uint64_t *counts, size_t ncodes);

/* Distribution statistics of the finite values of x (GSL gsl_stats_*):
 * mean, sample std, skewness, excess kurtosis, min/max, quantiles. */
struct dist_stats {
	uint64_t n, n_nan, n_inf, n_zero, n_denormal;
	double min, max, mean, std, skew, kurtosis;
	double p01, p25, p50, p75, p99, absmax;
};

/* Up to 65536 values: two passes (classify, sum, min, max; moments), then a
 * sorted copy of the finite values and gsl_stats_float_quantile_from_sorted_
 * data. More: the same two passes over x also build a histogram of the top
 * 16 bits of each value's order-preserving key and copy out only the values
 * of the buckets that hold the wanted ranks, whose low 16 bits then give each
 * order statistic exactly (no sort, no full copy; the sorted path again if
 * the 576 KiB of tables cannot be allocated).
 * std is the sample std (n − 1), 0 for one value; skew = Σ((x−m)/σ)³/n and
 * kurtosis = Σ((x−m)/σ)⁴/n − 3 as gsl_stats_skew/kurtosis define them, NAN
 * when σ = 0. Quantiles p01..p99 interpolate linearly between order
 * statistics (h = (n−1)·p, as numpy's default and
 * gsl_stats_quantile_from_sorted_data). n_zero counts ±0, n_denormal the
 * finite non-zero |x| < FLT_MIN. No finite values: everything but the
 * counts is NAN. scratch: n floats (the sorted copy, or the candidates). */
void metrics_dist_stats(const float *x, size_t n, float *scratch, struct dist_stats *out);

#endif
