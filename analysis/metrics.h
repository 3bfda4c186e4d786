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

/* The figures of dist_acc (below) over x[0..n): one add pass, and a refine
 * pass when the quantiles need one. std is the sample std (n − 1), 0 for one
 * value; skew = Σ((x−m)/σ)³/n and kurtosis = Σ((x−m)/σ)⁴/n − 3 as
 * gsl_stats_skew/kurtosis define them, NAN when σ = 0. Quantiles p01..p99
 * interpolate linearly between order statistics (h = (n−1)·p, as numpy's
 * default and gsl_stats_quantile_from_sorted_data: (1−δ)·x[⌊h⌋] + δ·x[⌊h⌋+1],
 * δ = h − ⌊h⌋), exact. n_zero counts ±0, n_denormal the finite non-zero
 * |x| < FLT_MIN. No finite values: everything but the counts is NAN. When the
 * accumulator's tables cannot be allocated the quantiles of more than 4096
 * finite values are NAN and the rest is still right. scratch is no longer used and may be NULL (the
 * parameter stays for the callers). */
void metrics_dist_stats(const float *x, size_t n, float *scratch, struct dist_stats *out);

/* Streaming distribution statistics: the figures of metrics_dist_stats from
 * values fed in chunks, in any order, split over threads, with memory
 * independent of n (bounded tables only). Pass 1: dist_acc_add/_add_repeat
 * on per-thread accumulators, dist_acc_merge them. Then
 * dist_acc_refine_begin: when it returns true the quantiles need a second
 * pass over the same values (same multiset, any order/chunking): each thread
 * takes dist_acc_refine_clone(main), feeds dist_acc_refine/_refine_repeat,
 * and dist_acc_refine_merge(main, clone). Last dist_acc_finish.
 *
 * How: the finite values are classified and summed per chunk of ≤ 4096
 * (two-pass central moments of the chunk in double, joined to the running
 * ones with Chan's/Pébay's exact pairwise formulas for the mean, M2, M3, M4).
 * Quantiles: up to 4096 finite values are kept and sorted at refine_begin
 * (no second pass). Beyond, pass 1 counts the top 16 bits of each value's
 * order-preserving 32-bit key; refine_begin finds the buckets that hold the
 * wanted ranks (⌊h⌋ and ⌊h⌋+1 of each quantile) and pass 2 counts the low
 * 16 bits of the values in those buckets, which settles each order
 * statistic exactly (bit-identical to a sorted copy). Ranks settled by the
 * extremes (a constant tensor, a rank at min or max) need no pass 2.
 *
 * Memory: an accumulator holds ~530 KiB (the 65536-entry top histogram,
 * zeroed only once more than 4096 finite values came, and a 4096-value
 * buffer). refine_begin adds to the main accumulator and to each refine
 * clone a 64 KiB bucket map and, per distinct wanted bucket (≤ 10, usually
 * ≤ 5), a list of its values' low 16 bits (2 bytes a value, buckets of ≤ 131072
 * values) or a 512 KiB count table: ≤ 5.7 MiB, whatever n.
 * Cost per value, 1 thread, values streamed from RAM (Xeon 4th gen VM,
 * ~2.3 GHz, shared; tests/bench/dist_acc.bash, 64M values): dist_acc_add
 * ≈ 1.3 ns (portable C loops ≈ 3.2 ns); dist_acc_refine ≈ 0.6 ns on N(0,1)
 * floats, ≈ 1.2 ns on int8-level values (crowded wanted buckets);
 * metrics_dist_stats ≈ 2.0 ns (the code before dist_acc: 6.9 ns). The
 * 65536-bucket histogram increment is most of add. AVX2 code is chosen at
 * run time (__builtin_cpu_supports); plain x86-64 and other CPUs run the C
 * loops.
 *
 * Rules: not thread-safe per accumulator (one per thread); dist_acc_add after
 * refine_begin is not allowed; dist_acc_refine* before refine_begin (or after
 * it returned false) are ignored; dist_acc_merge takes pass-1 accumulators
 * only; a refine clone serves only dist_acc_refine*, dist_acc_refine_merge
 * (as from) and dist_acc_free. refine_begin is idempotent; it returns false
 * when no pass 2 is needed and also when its tables cannot be allocated: the
 * quantiles are then NAN. Without refine_begin, or when pass 2 did not see
 * exactly the values pass 1 counted in a wanted bucket (incomplete, or not
 * the same multiset), finish gives NAN for the quantiles concerned. Zeros
 * order as −0 < +0 (a sorted copy leaves their order open, so only the sign
 * of a zero quantile can differ from it). Merged results do not depend on
 * chunking or order except for the last bits of the moments. */
struct dist_acc;                        /* opaque */
struct dist_acc *dist_acc_new(void);    /* NULL when out of memory */
void dist_acc_free(struct dist_acc *a); /* NULL-safe */
void dist_acc_add(struct dist_acc *a, const float *v, size_t n);
/* dist_acc_add, and the finite extremes of these n values into *lo, *hi
 * (each kept when the values do not pass it); returns how many of them are
 * NaN or ±inf. */
uint64_t dist_acc_add_extremes(struct dist_acc *a, const float *v, size_t n, float *lo, float *hi);
/* Before any add: keep no central moments (one loop over each chunk fewer);
 * finish gives std, skew and kurtosis NAN, the mean and the rest as usual.
 * Merging such an accumulator passes this on. */
void dist_acc_no_moments(struct dist_acc *a);
/* Before any add: keep neither values nor the histogram (no table touched
 * per value); refine_begin returns false and the quantiles are NAN. Merging
 * such an accumulator passes this on. */
void dist_acc_no_quantiles(struct dist_acc *a);
void dist_acc_add_repeat(struct dist_acc *a, float v, uint64_t count); /* count copies of v */
void dist_acc_merge(struct dist_acc *into, const struct dist_acc *from);
bool dist_acc_refine_begin(struct dist_acc *a);
struct dist_acc *dist_acc_refine_clone(const struct dist_acc *a); /* NULL when out of memory */
void dist_acc_refine(struct dist_acc *a, const float *v, size_t n);
void dist_acc_refine_repeat(struct dist_acc *a, float v, uint64_t count);
void dist_acc_refine_merge(struct dist_acc *into, const struct dist_acc *from);
void dist_acc_finish(const struct dist_acc *a, struct dist_stats *out);

/* For tests and benchmarks: false makes every accumulator use the portable C
 * loops instead of the AVX2 ones (process-wide; set it before any use). */
void dist_acc_set_simd(bool on);

#endif
