#include "metrics.h"

#include <float.h>
#include <math.h>

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

/* Pass 1: classify, copy the finite values to scratch, sum, min, max. */
static size_t stats_pass1(const float *x, size_t n, float *scratch, struct dist_stats *o,
                          double *sum)
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
		scratch[m++] = v;
	}
	o->min = lo;
	o->max = hi;
	*sum = s;
	return m;
}

/* Pass 2: central moments about the mean (GSL's definitions: the sample
 * standard deviation σ, skew = Σ((x−m)/σ)³/n, kurtosis = Σ((x−m)/σ)⁴/n − 3). */
static void stats_moments(const float *v, size_t m, struct dist_stats *o)
{
	double s2 = 0.0, s3 = 0.0, s4 = 0.0;

	for (size_t i = 0; i < m; i++) {
		double d = (double)v[i] - o->mean, d2 = d * d;
		s2 += d2;
		s3 += d2 * d;
		s4 += d2 * d2;
	}
	o->std = m > 1 ? sqrt(s2 / (double)(m - 1)) : 0.0;
	if (o->std > 0.0) {
		double sd2 = o->std * o->std;
		o->skew = s3 / (double)m / (sd2 * o->std);
		o->kurtosis = s4 / (double)m / (sd2 * sd2) - 3.0;
	}
}

static float min_of(const float *v, size_t m)
{
	float lo = v[0];
	for (size_t i = 1; i < m; i++)
		lo = v[i] < lo ? v[i] : lo;
	return lo;
}

/* Quantiles with linear interpolation between order statistics (numpy's
 * default, GSL's gsl_stats_quantile_from_sorted_data), found by repeated
 * selection (gsl_stats_float_select partitions around the k-th element), so
 * no full sort. ps ascending. */
static void stats_quantiles(float *v, size_t m, const double *ps, double **outs, size_t nq)
{
	size_t base = 0;

	for (size_t j = 0; j < nq; j++) {
		double h = (double)(m - 1) * ps[j];
		size_t k = (size_t)floor(h);
		double delta = h - (double)k;
		if (k >= base)
			(void)gsl_stats_float_select(v + base, 1, m - base, k - base);
		double a = v[k], b = k + 1 < m ? min_of(v + k + 1, m - k - 1) : a;
		*outs[j] = delta > 0.0 ? (1.0 - delta) * a + delta * b : a;
		base = k + 1;
	}
}

void metrics_dist_stats(const float *x, size_t n, float *scratch, struct dist_stats *out)
{
	struct dist_stats *o = out;
	double sum;

	*o = (struct dist_stats){.mean = NAN, .std = NAN, .skew = NAN, .kurtosis = NAN};
	size_t m = stats_pass1(x, n, scratch, o, &sum);
	o->n = m;
	if (m == 0) {
		o->min = o->max = o->absmax = NAN;
		o->p01 = o->p25 = o->p50 = o->p75 = o->p99 = NAN;
		return;
	}
	o->absmax = fmax(fabs(o->min), fabs(o->max));
	o->mean = sum / (double)m;
	stats_moments(scratch, m, o);
	const double ps[] = {0.01, 0.25, 0.50, 0.75, 0.99};
	double *outs[] = {&o->p01, &o->p25, &o->p50, &o->p75, &o->p99};
	stats_quantiles(scratch, m, ps, outs, 5);
}
