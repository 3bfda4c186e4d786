#include "metrics.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort_float.h>
#include <gsl/gsl_statistics_float.h>

void err_acc_merge(struct err_acc *into, const struct err_acc *from)
{
	into->n += from->n;
	into->n_nan += from->n_nan;
	into->n_inf += from->n_inf;
	into->clipped += from->clipped;
	into->sx2 += from->sx2;
	into->se2 += from->se2;
	into->sae += from->sae;
	into->sxy += from->sxy;
	into->sy2 += from->sy2;
	if (from->max_ae > into->max_ae)
		into->max_ae = from->max_ae;
}

double metrics_entropy_bits(const uint64_t *counts, size_t ncodes)
{
	double total = 0.0, h = 0.0;

	if (!counts)
		return 0.0;
	for (size_t k = 0; k < ncodes; k++)
		total += (double)counts[k];
	if (total <= 0.0)
		return 0.0;
	for (size_t k = 0; k < ncodes; k++) {
		if (counts[k] == 0)
			continue;
		double p = (double)counts[k] / total;
		h -= p * log2(p);
	}
	return h > 0.0 ? h : 0.0;
}

static double sqnr_db(double sx2, double se2)
{
	if (se2 == 0.0)
		return INFINITY;
	if (sx2 == 0.0)
		return -INFINITY;
	return 10.0 * log10(sx2 / se2);
}

static double cosine(double sxy, double sx2, double sy2)
{
	if (sx2 == 0.0 && sy2 == 0.0)
		return 1.0;
	if (sx2 == 0.0 || sy2 == 0.0)
		return 0.0;
	double c = sxy / (sqrt(sx2) * sqrt(sy2));
	return c > 1.0 ? 1.0 : c < -1.0 ? -1.0 : c;
}

void metrics_finish(const struct err_acc *a, const uint64_t *counts, size_t ncodes,
                    double mean_scale, struct err_metrics *out)
{
	double n = (double)a->n;

	*out = (struct err_metrics){.n = a->n, .n_nan = a->n_nan, .n_inf = a->n_inf};
	out->mse = a->n ? a->se2 / n : 0.0;
	out->rmse = sqrt(out->mse);
	out->mae = a->n ? a->sae / n : 0.0;
	out->max_abs_err = a->max_ae;
	out->sqnr_db = sqnr_db(a->sx2, a->se2);
	out->cosine = cosine(a->sxy, a->sx2, a->sy2);
	out->clipped_pct = a->n ? 100.0 * (double)a->clipped / n : 0.0;
	out->levels_used = 0;
	for (size_t k = 0; counts && k < ncodes; k++)
		out->levels_used += counts[k] != 0;
	out->entropy_bits = metrics_entropy_bits(counts, ncodes);
	out->rmse_over_scale =
	        isfinite(mean_scale) && mean_scale > 0.0 ? out->rmse / mean_scale : NAN;
}

/* Quantiles by a two-level radix selection on the float's order-preserving
 * 32-bit key: pass 1 counts the top 16 bits, pass 2 copies out only the
 * values of the buckets that hold a wanted rank, and the low 16 bits of
 * those settle each rank exactly. Both passes are also the moment passes,
 * so the statistics read x twice and never copy or sort all of it (a
 * quickselect on 16M floats took ~1 s of branch mispredictions). */
#define RADIX      65536u
#define SMALL_SORT 2048u
#define NQ         5

static inline uint32_t float_key(float v)
{
	uint32_t u;
	memcpy(&u, &v, sizeof u);
	return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline float key_float(uint32_t k)
{
	uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

struct qsel {
	uint64_t *hist;        /* RADIX counts */
	uint16_t *slot;        /* bucket → 1 + target index, 0 = none */
	uint64_t rank[2 * NQ]; /* wanted ranks, ascending */
	uint32_t bucket[2 * NQ];
	uint64_t within[2 * NQ]; /* rank inside its bucket */
	float value[2 * NQ];
	size_t nrank;
	uint32_t tb[2 * NQ]; /* distinct target buckets */
	uint64_t toff[2 * NQ + 1], tpos[2 * NQ];
	size_t nt;
};

/* Pass 1: classify, sum, min, max, top-16-bit histogram. */
static size_t stats_pass1(const float *x, size_t n, struct dist_stats *o, double *sum,
                          uint64_t *hist)
{
	float lo = INFINITY, hi = -INFINITY;
	double s = 0.0;
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		if (v != v) {
			o->n_nan++;
			continue;
		}
		if (v - v != 0.0f) {
			o->n_inf++;
			continue;
		}
		float a = fabsf(v);
		o->n_zero += a == 0.0f;
		o->n_denormal += a != 0.0f && a < FLT_MIN;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
		s += v;
		m++;
		if (hist)
			hist[float_key(v) >> 16]++;
	}
	o->min = lo;
	o->max = hi;
	*sum = s;
	return m;
}

/* The ranks the quantiles need (h = (m−1)·p: floor(h) and the next one), the
 * bucket of each, and scratch offsets for the distinct buckets. */
static void qsel_plan(struct qsel *q, size_t m, const double *ps)
{
	q->nrank = 0;
	for (size_t j = 0; j < NQ; j++) {
		uint64_t k = (uint64_t)floor((double)(m - 1) * ps[j]);
		for (uint64_t r = k; r <= k + 1 && r < m; r++)
			if (q->nrank == 0 || q->rank[q->nrank - 1] < r)
				q->rank[q->nrank++] = r;
	}
	uint64_t cum = 0;
	size_t t = 0;
	for (uint32_t b = 0; b < RADIX && t < q->nrank; b++) {
		while (t < q->nrank && q->rank[t] < cum + q->hist[b]) {
			q->bucket[t] = b;
			q->within[t] = q->rank[t] - cum;
			t++;
		}
		cum += q->hist[b];
	}
	q->nt = 0;
	q->toff[0] = 0;
	for (size_t r = 0; r < q->nrank; r++) {
		if (q->nt && q->tb[q->nt - 1] == q->bucket[r])
			continue;
		q->tb[q->nt] = q->bucket[r];
		q->toff[q->nt + 1] = q->toff[q->nt] + q->hist[q->bucket[r]];
		q->tpos[q->nt] = q->toff[q->nt];
		q->slot[q->bucket[r]] = (uint16_t)(q->nt + 1);
		q->nt++;
	}
}

/* Pass 2: central moments about the mean (GSL's definitions: the sample
 * standard deviation σ, skew = Σ((x−m)/σ)³/n, kurtosis = Σ((x−m)/σ)⁴/n − 3)
 * and the values of the target buckets into scratch. */
static void stats_pass2(const float *x, size_t n, size_t m, struct dist_stats *o, struct qsel *q,
                        float *scratch)
{
	double s2 = 0.0, s3 = 0.0, s4 = 0.0, mean = o->mean;

	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		if (!isfinite(v))
			continue;
		double d = (double)v - mean, d2 = d * d;
		s2 += d2;
		s3 += d2 * d;
		s4 += d2 * d2;
		if (q) {
			uint16_t sl = q->slot[float_key(v) >> 16];
			if (sl)
				scratch[q->tpos[sl - 1]++] = v;
		}
	}
	o->std = m > 1 ? sqrt(s2 / (double)(m - 1)) : 0.0;
	if (o->std > 0.0) {
		double sd2 = o->std * o->std;
		o->skew = s3 / (double)m / (sd2 * o->std);
		o->kurtosis = s4 / (double)m / (sd2 * sd2) - 3.0;
	}
}

/* Rank `within` of the c values of one bucket: sort when few, else count
 * the low 16 bits of the keys (hist is reused, zeroed here). */
static float bucket_rank(float *c, uint64_t cnt, uint64_t within, uint32_t b, uint64_t *hist,
                         bool *sorted)
{
	if (cnt <= SMALL_SORT) {
		if (!*sorted)
			gsl_sort_float(c, 1, cnt);
		*sorted = true;
		return c[within];
	}
	memset(hist, 0, RADIX * sizeof *hist);
	for (uint64_t i = 0; i < cnt; i++)
		hist[float_key(c[i]) & 0xFFFFu]++;
	uint64_t cum = 0;
	uint32_t lo = 0;
	while (cum + hist[lo] <= within)
		cum += hist[lo++];
	return key_float((b << 16) | lo);
}

static void qsel_finish(struct qsel *q, float *scratch)
{
	size_t t = 0;
	bool sorted = false;

	for (size_t r = 0; r < q->nrank; r++) {
		while (q->tb[t] != q->bucket[r]) {
			t++;
			sorted = false;
		}
		q->value[r] = bucket_rank(scratch + q->toff[t], q->toff[t + 1] - q->toff[t],
		                          q->within[r], q->bucket[r], q->hist, &sorted);
	}
}

static float qsel_value(const struct qsel *q, uint64_t rank)
{
	for (size_t r = 0; r < q->nrank; r++)
		if (q->rank[r] == rank)
			return q->value[r];
	return NAN;
}

/* Linear interpolation between order statistics (numpy's default, GSL's
 * gsl_stats_quantile_from_sorted_data). */
static double qsel_quantile(const struct qsel *q, size_t m, double p)
{
	double h = (double)(m - 1) * p;
	uint64_t k = (uint64_t)floor(h);
	double delta = h - (double)k, a = qsel_value(q, k);

	if (delta > 0.0 && k + 1 < m)
		return (1.0 - delta) * a + delta * qsel_value(q, k + 1);
	return a;
}

/* Small tensors (biases, norms) are the many: a sorted copy and GSL's
 * quantile beat zeroing the radix tables for each of them. */
#define SMALL_N 65536u

static void quantiles_sorted(const float *x, size_t n, size_t m, float *scratch,
                             struct dist_stats *o, const double *ps)
{
	double *outs[NQ] = {&o->p01, &o->p25, &o->p50, &o->p75, &o->p99};
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]))
			scratch[k++] = x[i];
	gsl_sort_float(scratch, 1, m);
	for (size_t j = 0; j < NQ; j++)
		*outs[j] = gsl_stats_float_quantile_from_sorted_data(scratch, 1, m, ps[j]);
}

static void quantiles_radix(const float *x, size_t n, size_t m, float *scratch,
                            struct dist_stats *o, struct qsel *q, const double *ps)
{
	double *outs[NQ] = {&o->p01, &o->p25, &o->p50, &o->p75, &o->p99};

	qsel_plan(q, m, ps);
	stats_pass2(x, n, m, o, q, scratch);
	qsel_finish(q, scratch);
	for (size_t j = 0; j < NQ; j++)
		*outs[j] = qsel_quantile(q, m, ps[j]);
}

void metrics_dist_stats(const float *x, size_t n, float *scratch, struct dist_stats *out)
{
	static const double ps[NQ] = {0.01, 0.25, 0.50, 0.75, 0.99};
	struct dist_stats *o = out;
	struct qsel q = {0};
	double sum;

	if (n > SMALL_N) {
		q.hist = calloc(RADIX, sizeof(uint64_t));
		q.slot = calloc(RADIX, sizeof(uint16_t));
	}
	bool radix = q.hist && q.slot;
	*o = (struct dist_stats){.mean = NAN, .std = NAN, .skew = NAN, .kurtosis = NAN};
	o->p01 = o->p25 = o->p50 = o->p75 = o->p99 = NAN;
	size_t m = stats_pass1(x, n, o, &sum, radix ? q.hist : NULL);
	o->n = m;
	if (m == 0) {
		o->min = o->max = o->absmax = NAN;
	} else {
		o->absmax = fmax(fabs(o->min), fabs(o->max));
		o->mean = sum / (double)m;
		if (radix) {
			quantiles_radix(x, n, m, scratch, o, &q, ps);
		} else {
			stats_pass2(x, n, m, o, NULL, NULL);
			quantiles_sorted(x, n, m, scratch, o, ps);
		}
	}
	free(q.hist);
	free(q.slot);
}
