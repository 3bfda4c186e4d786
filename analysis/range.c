#include "range.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_histogram.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_sf_exp.h>
#include <gsl/gsl_sort_float.h>
#include <gsl/gsl_statistics_float.h>

/* Everything a method needs about one group, computed once. */
struct range_job {
	const struct method *m;
	const struct scheme *s;
	const float *x;
	size_t n;
	float *scratch;
	double min, max, amax;
	int32_t qmin, qmax;
};

typedef int (*range_choose_fn)(const struct range_job *j, double *lo, double *hi,
                               struct qs_error *err);

struct method_info {
	const char *name;
	bool takes_arg;
	bool may_widen; /* the range may exceed [min, max] (mse only) */
	range_choose_fn choose;
	const char *help;
};

static int choose_minmax(const struct range_job *j, double *lo, double *hi, struct qs_error *err);
static int choose_percentile(const struct range_job *j, double *lo, double *hi,
                             struct qs_error *err);
static int choose_mse(const struct range_job *j, double *lo, double *hi, struct qs_error *err);
static int choose_aciq(const struct range_job *j, double *lo, double *hi, struct qs_error *err);
static int choose_aciq_laplace(const struct range_job *j, double *lo, double *hi,
                               struct qs_error *err);
static int choose_aciq_gauss(const struct range_job *j, double *lo, double *hi,
                             struct qs_error *err);
static int choose_kl(const struct range_job *j, double *lo, double *hi, struct qs_error *err);

static const struct method_info method_table[METHOD_COUNT] = {
        [METHOD_MINMAX] = {.name = "minmax",
                           .choose = choose_minmax,
                           .help = "the group's min and max"},
        [METHOD_PERCENTILE] = {.name = "percentile",
                               .takes_arg = true,
                               .choose = choose_percentile,
                               .help = "clip at the P-th percentile (percentile:P, 0 < P <= 100)"},
        [METHOD_MSE] = {.name = "mse",
                        .may_widen = true,
                        .choose = choose_mse,
                        .help = "the scale with the least squared error"},
        [METHOD_ACIQ] =
                {.name = "aciq",
                 .choose = choose_aciq,
                 .help = "analytic clipping, the better of the Laplace and Gaussian priors"},
        [METHOD_ACIQ_LAPLACE] = {.name = "aciq-laplace",
                                 .choose = choose_aciq_laplace,
                                 .help = "analytic clipping for a Laplace prior"},
        [METHOD_ACIQ_GAUSS] = {.name = "aciq-gauss",
                               .choose = choose_aciq_gauss,
                               .help = "analytic clipping for a Gaussian prior"},
        [METHOD_KL] = {.name = "kl",
                       .choose = choose_kl,
                       .help = "entropy calibration (least KL divergence, TensorRT style)"},
};

/* ---- names ---------------------------------------------------------------- */

const char *method_kind_name(enum method_kind k)
{
	if ((unsigned)k >= METHOD_COUNT)
		return NULL;
	return method_table[k].name;
}

const char *method_kind_help(enum method_kind k)
{
	if ((unsigned)k >= METHOD_COUNT)
		return NULL;
	return method_table[k].help;
}

/* P is read and written without the C library's locale-dependent number
 * routines (the TUI sets LC_ALL from the environment): digits with an
 * optional '.', at most 15 significant digits, so P = N / 10^k with N and
 * 10^k exact doubles and one correctly rounded division. */
enum {
	PCT_DIGITS_MAX = 15
};

static double pow10_exact(int k)
{
	double v = 1.0;
	while (k-- > 0)
		v *= 10.0;
	return v;
}

static int parse_percentile(const char *arg, double *p)
{
	long long num = 0;
	int digits = 0, frac = -1;

	for (const char *c = arg; *c; c++) {
		if (*c == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (*c < '0' || *c > '9' || digits == PCT_DIGITS_MAX)
			return -1;
		num = num * 10 + (*c - '0');
		digits += num > 0;
		frac += frac >= 0;
	}
	if (digits == 0 && !strpbrk(arg, "0123456789"))
		return -1;
	*p = (double)num / pow10_exact(frac > 0 ? frac : 0);
	return *p > 0.0 && *p <= 100.0 ? 0 : -1;
}

/* Fewest decimals that read back (through parse_percentile) as the same
 * double, so 99.9 is "99.9" and 100 is "100". */
static void format_percentile(char *buf, size_t len, double v)
{
	long long num = 0;
	int k = 0;

	for (; k <= PCT_DIGITS_MAX - 3; k++) {
		num = llround(v * pow10_exact(k));
		if ((double)num / pow10_exact(k) == v)
			break;
	}
	if (k > PCT_DIGITS_MAX - 3)
		k = PCT_DIGITS_MAX - 3;
	long long scale = (long long)pow10_exact(k);
	if (k == 0)
		snprintf(buf, len, "%lld", num);
	else
		snprintf(buf, len, "%lld.%0*lld", num / scale, k, num % scale);
}

/* "minmax, percentile:P, ..." from the table, for messages. */
static const char *method_names(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int k = 0; k < METHOD_COUNT && used < len; k++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s%s", k ? ", " : "",
		                         method_table[k].name,
		                         method_table[k].takes_arg ? ":P" : "");
	return buf;
}

int method_parse(const char *s, struct method *m, struct qs_error *err)
{
	char accepted[160];

	for (int k = 0; s && k < METHOD_COUNT; k++) {
		const struct method_info *mi = &method_table[k];
		size_t len = strlen(mi->name);

		if (strncmp(s, mi->name, len) != 0)
			continue;
		if (!mi->takes_arg && s[len] == '\0') {
			*m = (struct method){.kind = (enum method_kind)k};
			return 0;
		}
		if (mi->takes_arg && s[len] == ':') {
			struct method r = {.kind = (enum method_kind)k};
			if (parse_percentile(s + len + 1, &r.percentile) == 0) {
				*m = r;
				return 0;
			}
			return qs_error_set(err, QS_ERR_USAGE,
			                    "method \"%s\": P must be a number in (0, 100]", s);
		}
	}
	return qs_error_set(err, QS_ERR_USAGE, "unknown method \"%s\" (accepted: %s)", s ? s : "",
	                    method_names(accepted, sizeof accepted));
}

const char *method_format(const struct method *m, char *buf, size_t len)
{
	char num[40];

	if (!buf || len == 0)
		return buf;
	if (!m || (unsigned)m->kind >= METHOD_COUNT) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (!method_table[m->kind].takes_arg) {
		snprintf(buf, len, "%s", method_table[m->kind].name);
		return buf;
	}
	format_percentile(num, sizeof num, m->percentile);
	snprintf(buf, len, "%s:%s", method_table[m->kind].name, num);
	return buf;
}

/* ---- shared helpers ------------------------------------------------------- */

/* Code of one value exactly as quant_one computes it (float32 division by
 * the float32 scale, then the scheme's rounding), inlined for the passes
 * that compare candidates; tests check it against quant_one. */
static inline int32_t fast_code(float x, const struct qparam *p, int32_t qmin, int32_t qmax,
                                enum rounding r)
{
	double v = (double)(x / p->scale);
	double q = (r == ROUND_HALF_EVEN ? nearbyint(v) : round(v)) + p->zero_point;

	if (!(q > qmin))
		return qmin;
	return q > qmax ? qmax : (int32_t)q;
}

double range_sse(const struct scheme *s, const struct qparam *p, const float *x, size_t n)
{
	int32_t qmin, qmax;
	double e = 0.0;

	scheme_code_range(s, &qmin, &qmax);
	for (size_t i = 0; i < n; i++) {
		double d = (double)x[i] - quant_deq(fast_code(x[i], p, qmin, qmax, s->rounding), p);
		e += d * d;
	}
	return e;
}

/* Exact squared errors of the group under two candidates, as the runtimes
 * quantize, so comparisons between candidates are comparisons of what the
 * user will measure. One pass. */
static void job_sse2(const struct range_job *j, const struct qparam *a, const struct qparam *b,
                     double *ea, double *eb)
{
	double sa = 0.0, sb = 0.0;
	enum rounding r = j->s->rounding;

	for (size_t i = 0; i < j->n; i++) {
		float v = j->x[i];
		double da = (double)v - quant_deq(fast_code(v, a, j->qmin, j->qmax, r), a);
		double db = (double)v - quant_deq(fast_code(v, b, j->qmin, j->qmax, r), b);
		sa += da * da;
		sb += db * db;
	}
	*ea = sa;
	*eb = sb;
}

static int32_t symmetric_zero(const struct range_job *j)
{
	return (int32_t)quant_round(((double)j->qmin + j->qmax) / 2.0, ROUND_HALF_EVEN);
}

static int choose_minmax(const struct range_job *j, double *lo, double *hi, struct qs_error *err)
{
	(void)err;
	*lo = j->min;
	*hi = j->max;
	return 0;
}

/* ---- percentile ----------------------------------------------------------- */

/* k-th smallest of v[0..n) (0-based), partly reordering v so that every
 * element after k is ≥ it: Hoare partitioning around a median of three, and
 * GSL's sort on what is left if partitioning keeps going badly. */
static float select_kth(float *v, size_t n, size_t k)
{
	ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
	int budget = 2 * (int)log2((double)n + 1.0) + 16;

	while (lo < hi) {
		if (budget-- == 0) {
			gsl_sort_float(v + lo, 1, (size_t)(hi - lo + 1));
			break;
		}
		float a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi];
		float pv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		ptrdiff_t i = lo, jj = hi;
		while (i <= jj) {
			while (v[i] < pv)
				i++;
			while (v[jj] > pv)
				jj--;
			if (i <= jj) {
				float t = v[i];
				v[i++] = v[jj];
				v[jj--] = t;
			}
		}
		if (kk <= jj)
			hi = jj;
		else if (kk >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

/* GSL's (and numpy's default) quantile: with h = (n − 1)·f, i = ⌊h⌋,
 * q = (1 − (h − i))·x₍ᵢ₎ + (h − i)·x₍ᵢ₊₁₎ over the sorted values; found by
 * selection instead of a full sort. */
static double quantile_select(float *v, size_t n, double f)
{
	double h = (double)(n - 1) * f;
	size_t i = (size_t)h;
	double d = h - (double)i, lo;

	if (i >= n - 1)
		return select_kth(v, n, n - 1);
	lo = select_kth(v, n, i);
	if (d == 0.0)
		return lo;
	float next = v[i + 1];
	for (size_t k = i + 2; k < n; k++)
		next = v[k] < next ? v[k] : next;
	return (1.0 - d) * lo + d * (double)next;
}

static int choose_percentile(const struct range_job *j, double *lo, double *hi,
                             struct qs_error *err)
{
	float *v = j->scratch;
	double f = j->m->percentile / 100.0;

	(void)err;
	if (j->s->symmetric) {
		for (size_t i = 0; i < j->n; i++)
			v[i] = fabsf(j->x[i]);
		*hi = quantile_select(v, j->n, f);
		*lo = -*hi;
		return 0;
	}
	memcpy(v, j->x, j->n * sizeof *v);
	*lo = quantile_select(v, j->n, (1.0 - f) / 2.0);
	*hi = quantile_select(v, j->n, (1.0 + f) / 2.0);
	return 0;
}

/* ---- ACIQ ----------------------------------------------------------------- */

enum aciq_prior {
	PRIOR_LAPLACE,
	PRIOR_GAUSS,
	PRIOR_COUNT
};

/* Expected MSE per unit variance-scale (b = 1 or σ = 1) at clip a, M bits. */
static double aciq_mse_laplace(double a, void *params)
{
	double m = *(const double *)params;
	return 2.0 * gsl_sf_exp(-a) + a * a / (3.0 * pow(4.0, m));
}

static double aciq_mse_gauss(double a, void *params)
{
	double m = *(const double *)params;
	double clip = (1.0 + a * a) * gsl_sf_erfc(a / M_SQRT2) -
	              a * M_SQRT2 / sqrt(M_PI) * gsl_sf_exp(-a * a / 2.0);
	return clip + a * a / (3.0 * pow(4.0, m));
}

struct aciq_prior_info {
	const char *name;
	double (*mse)(double a, void *params);
	double upper; /* search interval (0, upper]: beyond the optimum for 16 bits */
};

static const struct aciq_prior_info aciq_priors[PRIOR_COUNT] = {
        [PRIOR_LAPLACE] = {.name = "Laplace", .mse = aciq_mse_laplace, .upper = 40.0},
        [PRIOR_GAUSS] = {.name = "Gaussian", .mse = aciq_mse_gauss, .upper = 12.0},
};

/* Scan for a bracket, then polish with Brent. The scan guarantees
 * f(guess) < f(lower), f(upper), which gsl_min_fminimizer_set insists on. */
#define ACIQ_SCAN 400

static int aciq_alpha_search(enum aciq_prior prior, double bits, double *alpha,
                             struct qs_error *err)
{
	const struct aciq_prior_info *pi = &aciq_priors[prior];
	gsl_function f = {.function = pi->mse, .params = &bits};
	double step = pi->upper / ACIQ_SCAN, best = GSL_POSINF;
	int k_best = 1, status = GSL_CONTINUE;

	for (int k = 1; k < ACIQ_SCAN; k++) {
		double v = pi->mse(k * step, &bits);
		if (v < best) {
			best = v;
			k_best = k;
		}
	}
	*alpha = k_best * step;
	if (k_best == 1 || k_best == ACIQ_SCAN - 1 || !(best < pi->mse(*alpha - step, &bits)) ||
	    !(best < pi->mse(*alpha + step, &bits)))
		return 0;
	gsl_min_fminimizer *mz = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
	if (!mz)
		return qs_error_set(err, QS_ERR_NOMEM, "aciq: cannot allocate the minimiser");
	status = gsl_min_fminimizer_set(mz, &f, *alpha, *alpha - step, *alpha + step);
	for (int it = 0; status == GSL_SUCCESS && it < 100; it++) {
		status = gsl_min_fminimizer_iterate(mz);
		if (status != GSL_SUCCESS)
			break;
		status = gsl_min_test_interval(gsl_min_fminimizer_x_lower(mz),
		                               gsl_min_fminimizer_x_upper(mz), 1e-10, 0.0);
		if (status == GSL_SUCCESS)
			break;
		status = GSL_SUCCESS;
	}
	*alpha = gsl_min_fminimizer_x_minimum(mz);
	gsl_min_fminimizer_free(mz);
	if (status != GSL_SUCCESS)
		return qs_error_set(err, QS_ERR_NUMERIC, "aciq: %s clip search failed: %s",
		                    pi->name, gsl_strerror(status));
	return 0;
}

/* Groups of one tensor share the scheme, so the last α per prior is kept
 * (per thread: workers quantize tensors in parallel). */
static int aciq_alpha(enum aciq_prior prior, double bits, double *alpha, struct qs_error *err)
{
	static _Thread_local struct {
		double bits, alpha;
		bool valid;
	} memo[PRIOR_COUNT];
	int rc;

	if (memo[prior].valid && memo[prior].bits == bits) {
		*alpha = memo[prior].alpha;
		return 0;
	}
	rc = aciq_alpha_search(prior, bits, alpha, err);
	if (rc == 0) {
		memo[prior].bits = bits;
		memo[prior].alpha = *alpha;
		memo[prior].valid = true;
	}
	return rc;
}

int aciq_alpha_laplace(int bits, double *alpha, struct qs_error *err)
{
	if (bits < 1 || bits > 16)
		return qs_error_set(err, QS_ERR_USAGE, "aciq: bits must be 1..16, not %d", bits);
	return aciq_alpha(PRIOR_LAPLACE, bits, alpha, err);
}

int aciq_alpha_gauss(int bits, double *alpha, struct qs_error *err)
{
	if (bits < 1 || bits > 16)
		return qs_error_set(err, QS_ERR_USAGE, "aciq: bits must be 1..16, not %d", bits);
	return aciq_alpha(PRIOR_GAUSS, bits, alpha, err);
}

/* Effective bits: log2 of the number of codes, so narrow and reduced
 * ranges get the resolution they really have. */
static double job_bits(const struct range_job *j)
{
	return log2((double)j->qmax - j->qmin + 1.0);
}

/* Centre and spread of the group: b̂ = mean |x − mean| (Laplace), σ̂ the
 * sample standard deviation (Gaussian). */
struct aciq_stats {
	double mean, spread[PRIOR_COUNT];
};

static struct aciq_stats aciq_stats_of(const struct range_job *j)
{
	struct aciq_stats st = {.mean = gsl_stats_float_mean(j->x, 1, j->n)};

	st.spread[PRIOR_LAPLACE] = gsl_stats_float_absdev_m(j->x, 1, j->n, st.mean);
	st.spread[PRIOR_GAUSS] = j->n > 1 ? gsl_stats_float_sd_m(j->x, 1, j->n, st.mean) : 0.0;
	return st;
}

static int aciq_range(const struct range_job *j, const struct aciq_stats *st, enum aciq_prior prior,
                      double *lo, double *hi, struct qs_error *err)
{
	double alpha, spread = st->spread[prior];
	int rc = aciq_alpha(prior, job_bits(j), &alpha, err);

	if (rc)
		return rc;
	if (j->s->symmetric) {
		*hi = fmin(j->amax, fabs(st->mean) + alpha * spread);
		*lo = -*hi;
	} else {
		*lo = fmax(j->min, st->mean - alpha * spread);
		*hi = fmin(j->max, st->mean + alpha * spread);
	}
	return 0;
}

static int choose_aciq_laplace(const struct range_job *j, double *lo, double *hi,
                               struct qs_error *err)
{
	struct aciq_stats st = aciq_stats_of(j);
	return aciq_range(j, &st, PRIOR_LAPLACE, lo, hi, err);
}

static int choose_aciq_gauss(const struct range_job *j, double *lo, double *hi,
                             struct qs_error *err)
{
	struct aciq_stats st = aciq_stats_of(j);
	return aciq_range(j, &st, PRIOR_GAUSS, lo, hi, err);
}

/* The prior that fits: both clips are tried on the data and the one with the
 * lower measured squared error wins (ties: Laplace). */
static int choose_aciq(const struct range_job *j, double *lo, double *hi, struct qs_error *err)
{
	double l[PRIOR_COUNT], h[PRIOR_COUNT], e[PRIOR_COUNT];

	struct qparam q[PRIOR_COUNT];
	struct aciq_stats st = aciq_stats_of(j);

	for (int p = 0; p < PRIOR_COUNT; p++) {
		int rc = aciq_range(j, &st, (enum aciq_prior)p, &l[p], &h[p], err);
		if (rc)
			return rc;
		q[p] = quant_param_from_range(j->s, l[p], h[p]);
	}
	job_sse2(j, &q[PRIOR_LAPLACE], &q[PRIOR_GAUSS], &e[PRIOR_LAPLACE], &e[PRIOR_GAUSS]);
	int w = e[PRIOR_GAUSS] < e[PRIOR_LAPLACE] ? PRIOR_GAUSS : PRIOR_LAPLACE;
	*lo = l[w];
	*hi = h[w];
	return 0;
}

/* ---- KL (entropy calibration) --------------------------------------------- */

enum {
	KL_BINS = 2048
};

static int kl_histogram(const struct range_job *j, double top, gsl_histogram **out,
                        struct qs_error *err)
{
	gsl_histogram *h = gsl_histogram_alloc(KL_BINS);
	double last_lo, last_hi;

	if (!h)
		return qs_error_set(err, QS_ERR_NOMEM, "kl: cannot allocate the histogram");
	gsl_histogram_set_ranges_uniform(h, 0.0, top);
	gsl_histogram_get_range(h, KL_BINS - 1, &last_lo, &last_hi);
	for (size_t i = 0; i < j->n; i++) {
		double v = fabs((double)j->x[i]);
		/* the top value itself lies on the exclusive upper edge */
		if (gsl_histogram_increment(h, v < last_hi ? v : last_lo) != GSL_SUCCESS) {
			gsl_histogram_free(h);
			return qs_error_set(err, QS_ERR_NUMERIC, "kl: value %g outside [0, %g]", v,
			                    top);
		}
	}
	*out = h;
	return 0;
}

/* Prefix sums over the histogram so each candidate costs O(target bins):
 * cnt = Σh, nz = #(h > 0), hlh = Σ h·ln h. */
struct kl_prefix {
	double cnt[KL_BINS + 1], nz[KL_BINS + 1], hlh[KL_BINS + 1];
};

static void kl_prefix_fill(const gsl_histogram *h, struct kl_prefix *p)
{
	p->cnt[0] = p->nz[0] = p->hlh[0] = 0.0;
	for (size_t k = 0; k < KL_BINS; k++) {
		double v = gsl_histogram_get(h, k);
		p->cnt[k + 1] = p->cnt[k] + v;
		p->nz[k + 1] = p->nz[k] + (v > 0.0);
		p->hlh[k + 1] = p->hlh[k] + (v > 0.0 ? v * log(v) : 0.0);
	}
}

/* Count given to a source bin where P > 0 but the target bin it falls in is
 * empty (outliers folded into an empty tail); without it every clip that
 * folds outliers past a gap would have infinite divergence. */
#define KL_EPS 1e-4

/* KL(P‖Q) for threshold bin i: P = h[0..i) with the outliers h[i..) added to
 * bin i−1; Q = h[0..i) merged into t target bins (i/t source bins each, the
 * last takes the rest), each spread evenly over the source bins where P is
 * nonzero (KL_EPS each when the target bin is empty). Per target bin with
 * H = Σh, nnz source bins and S = Σ P·ln P, Σ P·ln(P/q) = S − ΣP·ln(H/nnz);
 * normalising, KL = Σ/ΣP − ln ΣP + ln Σq. */
struct kl_sum {
	double s;    /* Σ P·ln(P/q) with q unnormalised */
	double qsum; /* Σ q */
};

/* ln of the last argument again: consecutive candidates of sparse
 * histograms mostly repeat the same counts, and ln dominates the cost. */
struct kl_log {
	double arg, val;
};

static double kl_ln(struct kl_log *m, double v)
{
	if (v != m->arg) {
		m->arg = v;
		m->val = log(v);
	}
	return m->val;
}

struct kl_logs {
	struct kl_log pl, q, qsum;
};

/* One target bin covering source bins [a, e); out > 0 only for the last
 * target bin of candidate i = e (the outliers fold into source bin e − 1).
 * h·ln h of one source bin is a difference of the hlh prefix. */
static void kl_target_bin(const struct kl_prefix *p, size_t a, size_t e, double out,
                          struct kl_logs *lg, struct kl_sum *acc)
{
	double hs = p->cnt[e] - p->cnt[a], ps = hs, nnz = p->nz[e] - p->nz[a];
	double s = p->hlh[e] - p->hlh[a];

	if (out > 0.0) {
		double last = p->cnt[e] - p->cnt[e - 1], pl = last + out;
		s += pl * kl_ln(&lg->pl, pl) - (p->hlh[e] - p->hlh[e - 1]);
		nnz += last > 0.0 ? 0.0 : 1.0;
		ps += out;
	}
	if (ps == 0.0)
		return;
	if (hs == 0.0) {
		acc->s += s - ps * log(KL_EPS);
		acc->qsum += KL_EPS * nnz;
		return;
	}
	acc->s += s - ps * kl_ln(&lg->q, hs / nnz);
	acc->qsum += hs;
}

/* All candidates i = t..KL_BINS. Target bins 0..t−2 only depend on
 * per = ⌊i/t⌋, so their sum is reused while per stays; only the last target
 * bin changes with i. Candidates that clip more than half the values are
 * skipped: folding most of the mass into the last bin makes P a spike that
 * Q matches trivially (KL → 0), the algorithm's known collapse on small
 * groups; calibration clips outliers, not the bulk. */
static size_t kl_best_bin(const struct kl_prefix *p, size_t t)
{
	double total = p->cnt[KL_BINS], best = GSL_POSINF, ln_total = log(total);
	size_t best_i = KL_BINS, per = 0;
	struct kl_sum head = {0};
	struct kl_logs lg = {{-1.0, 0.0}, {-1.0, 0.0}, {-1.0, 0.0}};
	struct kl_logs hl = lg;

	for (size_t i = t; i <= KL_BINS; i++) {
		if (i / t != per) {
			per = i / t;
			head = (struct kl_sum){0};
			for (size_t b = 0; b + 1 < t; b++)
				kl_target_bin(p, b * per, (b + 1) * per, 0.0, &hl, &head);
		}
		if (p->cnt[i] < 0.5 * total)
			continue;
		struct kl_sum acc = head;
		kl_target_bin(p, (t - 1) * per, i, total - p->cnt[i], &lg, &acc);
		double d = acc.s / total - ln_total + kl_ln(&lg.qsum, acc.qsum);
		if (d < best) {
			best = d;
			best_i = i;
		}
	}
	return best_i;
}

/* The threshold on |x|, given the number of target bins (levels on one side). */
static int kl_threshold(const struct range_job *j, size_t target, double *thr, struct qs_error *err)
{
	gsl_histogram *h = NULL;
	struct kl_prefix *p;
	int rc;

	if (target >= KL_BINS || j->amax == 0.0) {
		*thr = j->amax;
		return 0;
	}
	rc = kl_histogram(j, j->amax, &h, err);
	if (rc)
		return rc;
	p = malloc(sizeof *p);
	if (!p) {
		gsl_histogram_free(h);
		return qs_error_set(err, QS_ERR_NOMEM, "kl: out of memory");
	}
	kl_prefix_fill(h, p);
	*thr = j->amax * (double)kl_best_bin(p, target) / KL_BINS;
	free(p);
	gsl_histogram_free(h);
	return 0;
}

/* Symmetric schemes and two-sided affine data spread the codes over both
 * signs (half the levels per side); one-sided affine data gets them all. */
static int choose_kl(const struct range_job *j, double *lo, double *hi, struct qs_error *err)
{
	size_t levels = (size_t)(j->qmax - j->qmin) + 1;
	bool one_sided = !j->s->symmetric && (j->min >= 0.0 || j->max <= 0.0);
	double t = 0.0;
	int rc = kl_threshold(j, one_sided ? levels : levels / 2, &t, err);

	if (rc)
		return rc;
	if (j->s->symmetric) {
		*lo = -t;
		*hi = t;
	} else {
		*lo = fmax(j->min, -t);
		*hi = fmin(j->max, t);
	}
	return 0;
}

/* ---- MSE ------------------------------------------------------------------ */

/* The search works on codes c ∈ [−hn, hp] with x̂ = s·c (affine schemes fix
 * the zero point z and use hn = z − qmin, hp = qmax − z). The group is seen
 * either as its exact values (weight 1 each) or, for large groups, as a
 * uniform histogram keeping count, Σx and Σx² per bin. range.h has the
 * search; the constants below set its sizes and cost limits. */
#define MSE_WINDOW 0.06 /* relative half-width of the polishing window */

enum {
	MSE_BINS_PER_CODE = 32, /* histogram bins per code step, 256..4096 bins */
	MSE_BINS_MIN = 256,
	MSE_BINS_MAX = 4096,
	MSE_EXACT_FACTOR = 2, /* exact values while n < this many values per bin */
	/* The sweep costs about n·levels·log2(n) heap steps, the grid search
	 * about 150·n evaluations of similar price: sweep when cheaper, or when
	 * it is cheap anyway (n·levels small). */
	MSE_SWEEP_COST = 150,
	MSE_SWEEP_EVENTS = 4096,
	MSE_HEAP_COST = 64,
	MSE_GRID = 24,
	MSE_FINE = 24,
	MSE_DENSE = 64,       /* scan of a window too dear to sweep */
	MSE_ZERO_SCREEN = 16, /* zero points screened, at most */
	MSE_RAGGED = 8,       /* E(s) is ragged while n ≤ this many values per code */
	/* windowed sweeps visit at most 32 breakpoints per value, or 65536 */
	MSE_WINDOW_EVENTS = 32,
	MSE_WINDOW_EVENTS_MIN = 65536,
	MSE_REFINE_ITERS = 8,
	MSE_ZERO_ITERS = 8,
	MSE_ZERO_SPAN_MAX = 4096,
};

struct mse_pts {
	size_t m;
	double *w, *sx, *sxx, *mean; /* mean = sx / w, the representative */
	double lo, width;            /* histogram bin edges; width 0: exact weighted points */
	double sum2;
};

struct mse_codes {
	int hn, hp;
};

/* Nearest code, ties up: the search never sits on an exact tie in a way that
 * matters, and the final comparison goes through quant_one. The shift makes
 * truncation a floor for every in-range value (|v| ≤ 2^16). */
static inline double mse_code(double v, const struct mse_codes *c)
{
	double lo = -c->hn, hi = c->hp;

	v = v > lo ? v : lo; /* NaN lands on lo */
	v = v < hi ? v : hi;
	return (double)(int32_t)(v + 65536.5) - 65536.0;
}

static void mse_pts_free(struct mse_pts *p)
{
	free(p->w);
	free(p->sx);
	free(p->sxx);
	free(p->mean);
	*p = (struct mse_pts){0};
}

static int mse_pts_alloc(struct mse_pts *p, size_t m)
{
	*p = (struct mse_pts){.m = m};
	p->w = calloc(m, sizeof *p->w);
	p->sx = calloc(m, sizeof *p->sx);
	p->sxx = calloc(m, sizeof *p->sxx);
	p->mean = calloc(m, sizeof *p->mean);
	if (p->w && p->sx && p->sxx && p->mean)
		return 0;
	mse_pts_free(p);
	return -1;
}

static size_t mse_bins(const struct range_job *j)
{
	size_t m = MSE_BINS_PER_CODE * (size_t)(j->qmax - j->qmin);
	return m < MSE_BINS_MIN ? MSE_BINS_MIN : m > MSE_BINS_MAX ? MSE_BINS_MAX : m;
}

/* The group as weighted points: its values (bins = 0 and small groups) or a
 * histogram of `bins` bins. */
static int mse_pts_build(const struct range_job *j, size_t bins, struct mse_pts *p)
{
	bool exact = bins == 0 || j->min == j->max;
	size_t m = j->min == j->max ? 1 : exact ? j->n : bins;

	if (mse_pts_alloc(p, m))
		return -1;
	p->lo = j->min;
	p->width = exact ? 0.0 : (j->max - j->min) / (double)m;
	p->sum2 = 0.0;
	double inv = exact ? 0.0 : 1.0 / p->width;
	for (size_t i = 0; i < j->n; i++) {
		double v = j->x[i];
		size_t k = m == 1 ? 0 : exact ? i : (size_t)((v - p->lo) * inv);
		if (k >= m)
			k = m - 1;
		p->w[k] += 1.0;
		p->sx[k] += v;
		p->sxx[k] += v * v;
		p->sum2 += v * v;
	}
	for (size_t k = 0; k < m; k++)
		p->mean[k] = p->w[k] > 0.0 ? p->sx[k] / p->w[k] : 0.0;
	return 0;
}

/* Squared error at scale s: exact for exact points and for bins inside one
 * code; bins that straddle codes and are wider than a step get the uniform
 * rounding noise w·s²/12. Only the candidate search uses the estimate. */
static double mse_pts_err_exact(const struct mse_pts *p, double s, const struct mse_codes *c)
{
	double e = 0.0, inv = 1.0 / s;

	if (p->m > 1) { /* the values themselves: unit weights */
		for (size_t k = 0; k < p->m; k++) {
			double d = p->mean[k] - s * mse_code(p->mean[k] * inv, c);
			e += d * d;
		}
		return e;
	}
	for (size_t k = 0; k < p->m; k++) {
		double d = p->mean[k] - s * mse_code(p->mean[k] * inv, c);
		e += p->w[k] * d * d;
	}
	return e;
}

static double mse_pts_err(const struct mse_pts *p, double s, const struct mse_codes *c)
{
	double e = 0.0, inv = 1.0 / s;

	if (p->width == 0.0)
		return mse_pts_err_exact(p, s, c);
	for (size_t k = 0; k < p->m; k++) {
		if (p->w[k] == 0.0)
			continue;
		double mean = p->mean[k], q = mse_code(mean * inv, c);
		if (q > -c->hn && q < c->hp && p->width >= s) {
			double e0 = p->lo + (double)k * p->width;
			if (mse_code(e0 * inv, c) != mse_code((e0 + p->width) * inv, c)) {
				e += p->w[k] * s * s / 12.0;
				continue;
			}
		}
		e += p->sxx[k] - 2.0 * s * q * p->sx[k] + s * s * q * q * p->w[k];
	}
	return e;
}

/* The scale where the largest value of either sign lands on the last code. */
static double mse_scale_max(const struct range_job *j, const struct mse_codes *c)
{
	double s = 0.0;

	if (c->hp > 0 && j->max > 0.0)
		s = fmax(s, j->max / c->hp);
	if (c->hn > 0 && j->min < 0.0)
		s = fmax(s, -j->min / c->hn);
	return s;
}

/* The next breakpoint of one point: at scale s its code drops from q to
 * q − 1 (|x|/s passes q − ½). */
struct mse_event {
	double s, m; /* m = |x| of the point */
	uint32_t k;
	int32_t q;
};

static void mse_heap_down(struct mse_event *h, size_t n, size_t i)
{
	struct mse_event v = h[i];

	for (size_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && h[c + 1].s < h[c].s)
			c++;
		if (!(h[c].s < v.s))
			break;
		h[i] = h[c];
	}
	h[i] = v;
}

/* Exact minimum over s in [lo, hi] for exact points (lo = 0, hi = ∞: over
 * all s > 0): E(s) = C − 2sA + s²B with A = Σx·c, B = Σw·c², piecewise
 * constant between the scales where some |x|/s crosses a half-integer
 * (s = |x|/(q − ½)). Each piece is a parabola minimised at A/B clipped to
 * the piece. Each point's breakpoints come in increasing order, so a heap of
 * one pending breakpoint per point merges them (ev holds p->m entries).
 * Returns the error (C, with *best_s = 0, if nothing beats all-zero codes). */
static double mse_sweep(const struct mse_pts *p, const struct mse_codes *c, struct mse_event *ev,
                        double lo, double hi, double *best_s)
{
	double a = 0.0, b = 0.0, best = p->sum2, prev = lo;
	size_t ne = 0;

	*best_s = 0.0;
	for (size_t k = 0; k < p->m; k++) {
		int h = p->mean[k] > 0.0 ? c->hp : p->mean[k] < 0.0 ? c->hn : 0;
		double m = fabs(p->mean[k]);
		int q = lo > 0.0 && m / lo + 0.5 < h ? (int)(m / lo + 0.5) : h;
		a += m * p->w[k] * q;
		b += p->w[k] * q * q;
		if (q > 0)
			ev[ne++] = (struct mse_event){m / (q - 0.5), m, (uint32_t)k, q};
	}
	for (size_t i = ne / 2; i-- > 0;)
		mse_heap_down(ev, ne, i);
	for (;;) {
		bool last = ne == 0 || ev[0].s > hi;
		double end = last ? hi : ev[0].s;
		if (b > 0.0) {
			double s = a / b < prev ? prev : a / b > end ? end : a / b;
			double v = p->sum2 - 2.0 * s * a + s * s * b;
			if (v < best && s > 0.0) {
				best = v;
				*best_s = s;
			}
		}
		if (last)
			break;
		struct mse_event *e = &ev[0];
		prev = e->s;
		a -= e->m * p->w[e->k];
		b -= p->w[e->k] * (2.0 * e->q - 1.0);
		if (--e->q > 0)
			e->s = e->m / (e->q - 0.5);
		else
			ev[0] = ev[--ne];
		mse_heap_down(ev, ne, 0);
	}
	return best;
}

struct mse_fn_ctx {
	const struct mse_pts *p;
	const struct mse_codes *c;
};

static double mse_fn(double s, void *v)
{
	const struct mse_fn_ctx *ctx = v;
	return mse_pts_err(ctx->p, s, ctx->c);
}

static double mse_brent(gsl_function *f, double lo, double guess, double hi, double fg)
{
	gsl_min_fminimizer *mz = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
	int status;

	if (!mz)
		return guess;
	status = gsl_min_fminimizer_set_with_values(mz, f, guess, fg, lo, GSL_FN_EVAL(f, lo), hi,
	                                            GSL_FN_EVAL(f, hi));
	for (int it = 0; status == GSL_SUCCESS && it < 40; it++) {
		status = gsl_min_fminimizer_iterate(mz);
		if (status == GSL_SUCCESS &&
		    gsl_min_test_interval(gsl_min_fminimizer_x_lower(mz),
		                          gsl_min_fminimizer_x_upper(mz), 0.0, 1e-5) == GSL_SUCCESS)
			break;
	}
	guess = gsl_min_fminimizer_x_minimum(mz);
	gsl_min_fminimizer_free(mz);
	return guess;
}

/* Breakpoints a sweep over [lo, hi] visits. */
static double mse_window_breaks(const struct mse_pts *p, double lo, double hi)
{
	double b = 0.0;

	for (size_t k = 0; k < p->m; k++)
		b += fabs(p->mean[k]) * (1.0 / lo - 1.0 / hi);
	return b;
}

/* Whether a sweep over [lo, hi] is affordable at all (ragged groups), or
 * not much dearer than the fine grid and Brent (some 60 evaluations of every point,
 * against ~ log2(m) heap steps of about three times the price per
 * breakpoint). */
static bool mse_window_cheap(const struct mse_pts *p, double lo, double hi, bool ragged)
{
	double b = mse_window_breaks(p, lo, hi), m = (double)p->m;

	if (!ragged)
		return b * log2(m + 1.0) <= MSE_HEAP_COST * m;
	return b <= fmax(MSE_WINDOW_EVENTS * m, MSE_WINDOW_EVENTS_MIN);
}

/* Exact minimum over [lo, hi] by a windowed sweep when its breakpoints are
 * few (exact points only), else a dense scan; improves (*s, e) in place. */
static double mse_window(const struct mse_pts *p, const struct mse_codes *c, struct mse_event *ev,
                         double lo, double hi, double *s_io, double e)
{
	if (ev && mse_window_cheap(p, lo, hi, true)) {
		double s, v = mse_sweep(p, c, ev, lo, hi, &s);
		if (v < e && s > 0.0) {
			*s_io = s;
			e = v;
		}
		return e;
	}
	for (int k = 0; k < MSE_DENSE; k++) {
		double s = lo + (hi - lo) * k / (MSE_DENSE - 1);
		double v = mse_pts_err(p, s, c);
		if (v < e) {
			e = v;
			*s_io = s;
		}
	}
	return e;
}

/* Argmin of n evaluations at sv[] into ev[]. */
static int mse_scan(const struct mse_pts *p, const struct mse_codes *c, const double *sv,
                    double *ev, int n)
{
	int kb = 0;

	for (int k = 0; k < n; k++) {
		ev[k] = mse_pts_err(p, sv[k], c);
		if (ev[k] < ev[kb])
			kb = k;
	}
	return kb;
}

/* Coarse geometric grid of scales from s_max·2⁻¹² to s_max (clipping can pay
 * off far below the max when there are outliers), and 1.5·s_max; returns the
 * best error and its grid neighbours in *lo, *hi. */
static double mse_coarse(const struct mse_pts *p, const struct mse_codes *c, double smax,
                         double *lo, double *best_s, double *hi)
{
	double sv[MSE_GRID], ev[MSE_GRID];

	for (int k = 0; k < MSE_GRID - 1; k++)
		sv[k] = smax * exp2(-12.0 * (MSE_GRID - 2 - k) / (MSE_GRID - 2));
	sv[MSE_GRID - 1] = 1.5 * smax;
	int kb = mse_scan(p, c, sv, ev, MSE_GRID);
	*lo = sv[kb > 0 ? kb - 1 : 0];
	*hi = sv[kb < MSE_GRID - 1 ? kb + 1 : kb];
	*best_s = sv[kb];
	return ev[kb];
}

/* The coarse grid, then the whole cell around its best point [lo, hi]
 * (E(s) can have several dips there): swept exactly for exact points when
 * affordable, else a fine linear grid and Brent (gsl_min) in its best cell.
 * Ragged exact points also get the window ±MSE_WINDOW around s_max (with few
 * values the best scale often sits next to it) and around the result. */
static double mse_search(const struct mse_pts *p, const struct mse_codes *c, struct mse_event *heap,
                         bool ragged, double smax, double *best_s)
{
	struct mse_fn_ctx ctx = {p, c};
	gsl_function f = {.function = mse_fn, .params = &ctx};
	double sv[MSE_FINE], ev[MSE_FINE], lo, hi;
	double e = mse_coarse(p, c, smax, &lo, best_s, &hi);

	if (heap && p->width == 0.0 && mse_window_cheap(p, lo, hi, ragged)) {
		e = mse_window(p, c, heap, lo, hi, best_s, e);
	} else {
		for (int k = 0; k < MSE_FINE; k++)
			sv[k] = lo + (hi - lo) * k / (MSE_FINE - 1);
		int kb = mse_scan(p, c, sv, ev, MSE_FINE);
		if (ev[kb] < e) {
			e = ev[kb];
			*best_s = sv[kb];
		}
		if (kb > 0 && kb < MSE_FINE - 1 && ev[kb] < ev[kb - 1] && ev[kb] < ev[kb + 1]) {
			double s = mse_brent(&f, sv[kb - 1], sv[kb], sv[kb + 1], ev[kb]);
			double v = mse_pts_err(p, s, c);
			if (v < e) {
				e = v;
				*best_s = s;
			}
		}
		if (p->width == 0.0 && ragged)
			e = mse_window(p, c, heap, (1.0 - MSE_WINDOW) * *best_s,
			               (1.0 + MSE_WINDOW) * *best_s, best_s, e);
	}
	double wlo = (1.0 - MSE_WINDOW) * smax, whi = (1.0 + MSE_WINDOW) * smax;
	if (heap && p->width == 0.0 && mse_window_cheap(p, wlo, whi, ragged))
		e = mse_window(p, c, heap, wlo, whi, best_s, e);
	return e;
}

struct mse_ctx {
	const struct range_job *j;
	const struct mse_pts *p;      /* the group: exact values or a fine histogram */
	const struct mse_pts *screen; /* a coarse histogram to screen zero points (or p) */
	struct mse_event *heap;       /* sweep heap, exact values only */
	bool sweep;                   /* sweep over all s (small groups) */
	bool ragged;                  /* few values per code: extra exact windows */
};

/* Best scale for the code range c on the points. Returns the error; *s = 0
 * when no scale beats quantizing everything to zero. */
static double mse_solve(const struct mse_ctx *x, const struct mse_codes *c, double *s)
{
	double smax = mse_scale_max(x->j, c);

	*s = 0.0;
	if (smax == 0.0)
		return x->p->sum2;
	if (x->sweep)
		return mse_sweep(x->p, c, x->heap, 0.0, GSL_POSINF, s);
	return mse_search(x->p, c, x->heap, x->ragged, smax, s);
}

/* Alternate optimal codes for s and the least-squares s = Σx·c / Σc² for
 * those codes; every half-step lowers the exact error, so it stops at a
 * fixed point no worse than the start (or when the gain is negligible). */
static double mse_refine(const struct range_job *j, double sum2, const struct mse_codes *c,
                         double *s_io)
{
	double s = *s_io, best = GSL_POSINF;

	for (int it = 0; it < MSE_REFINE_ITERS && s > 0.0; it++) {
		double a = 0.0, b = 0.0, inv = 1.0 / s;
		for (size_t i = 0; i < j->n; i++) {
			double q = mse_code(j->x[i] * inv, c);
			a += j->x[i] * q;
			b += q * q;
		}
		double e = sum2 - 2.0 * s * a + s * s * b;
		if (!(e < best))
			break;
		bool negligible = best - e < 1e-5 * e;
		best = e;
		*s_io = s;
		if (negligible || b == 0.0 || a / b == s)
			break;
		s = a / b;
	}
	return best;
}

static struct mse_codes mse_codes_for_zero(const struct range_job *j, int32_t z)
{
	return (struct mse_codes){.hn = (int)(z - j->qmin), .hp = (int)(j->qmax - z)};
}

/* Whether the full sweep is cheaper than the grid search (or cheap anyway). */
static bool mse_use_sweep(const struct range_job *j, const struct mse_pts *p)
{
	double span = (double)j->qmax - j->qmin;

	return p->width == 0.0 && (span * log2((double)p->m + 1.0) <= MSE_SWEEP_COST ||
	                           span * (double)p->m <= MSE_SWEEP_EVENTS);
}

/* Exact best zero point for a fixed scale. r = round(x/s) does not depend on
 * z, only the clamp to [qmin − z, qmax − z] does, so one pass builds per-r
 * sums and prefix sums price every z in O(1):
 *   E(z) = Σ_{r<−hn} (x + s·hn)² + Σ_{−hn≤r≤hp} (x − s·r)² + Σ_{r>hp} (x − s·hp)².
 * Keeps *z unless another zero point is strictly better. */
static int mse_best_zero(const struct range_job *j, double s, int32_t *z)
{
	int32_t span = j->qmax - j->qmin;
	size_t len = 2 * (size_t)span + 1;
	double *buf = calloc(4 * (len + 1), sizeof *buf), inv = 1.0 / s;
	struct mse_codes wide = {span, span};

	if (!buf)
		return -1;
	double *pc = buf, *psx = pc + len + 1, *psxx = psx + len + 1, *pin = psxx + len + 1;
	for (size_t i = 0; i < j->n; i++) {
		double v = j->x[i];
		size_t k = (size_t)(mse_code(v * inv, &wide) + span) + 1;
		pc[k] += 1.0;
		psx[k] += v;
		psxx[k] += v * v;
	}
	for (size_t k = 1; k <= len; k++) {
		double r = (double)k - 1.0 - span;
		pin[k] = pin[k - 1] + psxx[k] - 2.0 * s * r * psx[k] + s * s * r * r * pc[k];
		pc[k] += pc[k - 1];
		psx[k] += psx[k - 1];
		psxx[k] += psxx[k - 1];
	}
	int32_t bz = *z;
	double best = GSL_POSINF;
	for (int32_t zz = j->qmin; zz <= j->qmax; zz++) {
		double hn = zz - j->qmin, hp = j->qmax - zz;
		size_t a = (size_t)(span - hn), b = (size_t)(span + hp) + 1;
		double e = psxx[a] + 2.0 * s * hn * psx[a] + s * s * hn * hn * pc[a] +
		           (pin[b] - pin[a]) + (psxx[len] - psxx[b]) -
		           2.0 * s * hp * (psx[len] - psx[b]) + s * s * hp * hp * (pc[len] - pc[b]);
		if (e < best || (e <= best && zz == *z)) {
			best = e;
			bz = zz;
		}
	}
	*z = bz;
	free(buf);
	return 0;
}

struct mse_best {
	int32_t z;
	double s, e;
};

static void mse_try_zero(const struct mse_ctx *x, int32_t z, struct mse_best *best)
{
	struct mse_codes c = mse_codes_for_zero(x->j, z);
	double s, e = mse_solve(x, &c, &s);

	if (s > 0.0 && e < best->e)
		*best = (struct mse_best){.z = z, .s = s, .e = e};
}

/* Coordinate descent for affine schemes: best zero point for the scale,
 * best scale for the zero point, until the zero point stays. */
static int mse_descend_zero(const struct mse_ctx *x, struct mse_best *best)
{
	const struct range_job *j = x->j;

	for (int it = 0; it < MSE_ZERO_ITERS && j->qmax - j->qmin <= MSE_ZERO_SPAN_MAX; it++) {
		int32_t z = best->z;
		if (mse_best_zero(j, best->s, &z))
			return -1;
		if (z == best->z)
			break;
		struct mse_best next = {.z = z, .e = GSL_POSINF};
		mse_try_zero(x, z, &next);
		if (!(next.s > 0.0))
			break;
		*best = next;
	}
	return 0;
}

/* Affine schemes: rank the minmax zero point and every zero point (up to
 * MSE_ZERO_SCREEN evenly spread ones) by their coarse-grid error on the
 * screening points, then search the minmax one and the best two fully. */
static void mse_screen_zero(const struct mse_ctx *x, int32_t z0, struct mse_best *best)
{
	const struct range_job *j = x->j;
	int32_t z1 = z0, z2 = z0;
	double e1 = GSL_POSINF, e2 = GSL_POSINF;

	int32_t span = j->qmax - j->qmin, nz = span < MSE_ZERO_SCREEN ? span + 1 : MSE_ZERO_SCREEN;

	for (int k = -1; k < nz; k++) {
		int32_t z = k < 0 ? z0 : j->qmin + (int32_t)lround((double)k * span / (nz - 1));
		struct mse_codes c = mse_codes_for_zero(j, z);
		double smax = mse_scale_max(j, &c), lo, s, hi;
		if (smax == 0.0 || (k >= 0 && z == z0))
			continue;
		double e = mse_coarse(x->screen, &c, smax, &lo, &s, &hi);
		if (e < e1) {
			z2 = z1;
			e2 = e1;
			z1 = z;
			e1 = e;
		} else if (e < e2) {
			z2 = z;
			e2 = e;
		}
	}
	mse_try_zero(x, z0, best);
	if (z1 != z0)
		mse_try_zero(x, z1, best);
	if (z2 != z1 && z2 != z0)
		mse_try_zero(x, z2, best);
}

static int mse_best_params(const struct mse_ctx *x, struct mse_best *best)
{
	const struct range_job *j = x->j;

	best->e = GSL_POSINF;
	best->s = 0.0;
	if (j->s->symmetric) {
		best->z = symmetric_zero(j);
		mse_try_zero(x, best->z, best);
		return 0;
	}
	best->z = quant_param_from_range(j->s, j->min, j->max).zero_point;
	mse_screen_zero(x, best->z, best);
	if (best->s <= 0.0 || mse_descend_zero(x, best))
		return best->s <= 0.0 ? 0 : -1;
	/* ragged errors: the best (s, z) can sit one or two codes off the
	 * descent's fixed point */
	int32_t zc = best->z;
	for (int d = -2; x->ragged && d <= 2; d++)
		if (d != 0 && zc + d >= j->qmin && zc + d <= j->qmax)
			mse_try_zero(x, zc + d, best);
	return 0;
}

/* Fills x (points, screening histogram, heap) for the group. */
static int mse_ctx_init(struct mse_ctx *x, const struct range_job *j, struct mse_pts *p,
                        struct mse_pts *screen)
{
	size_t bins = mse_bins(j), span = (size_t)(j->qmax - j->qmin);
	bool exact = j->n < MSE_EXACT_FACTOR * bins;

	*x = (struct mse_ctx){.j = j, .p = p, .screen = p};
	*screen = (struct mse_pts){0};
	if (mse_pts_build(j, exact ? 0 : bins, p))
		return -1;
	if (!j->s->symmetric && p->m > MSE_BINS_MIN) {
		if (mse_pts_build(j, MSE_BINS_MIN, screen))
			return -1;
		x->screen = screen;
	}
	if (p->width == 0.0 && !(x->heap = malloc(p->m * sizeof *x->heap)))
		return -1;
	x->sweep = mse_use_sweep(j, p);
	x->ragged = p->width == 0.0 && j->n <= MSE_RAGGED * (span + 1);
	return 0;
}

static void mse_ctx_free(struct mse_ctx *x, struct mse_pts *p, struct mse_pts *screen)
{
	mse_pts_free(p);
	mse_pts_free(screen);
	free(x->heap);
}

static int choose_mse(const struct range_job *j, double *lo, double *hi, struct qs_error *err)
{
	struct mse_pts p, screen;
	struct mse_ctx x;
	struct mse_best best;

	*lo = j->min;
	*hi = j->max;
	if (j->amax == 0.0)
		return 0;
	int rc = mse_ctx_init(&x, j, &p, &screen);
	if (rc == 0)
		rc = mse_best_params(&x, &best);
	double sum2 = p.sum2;
	mse_ctx_free(&x, &p, &screen);
	if (rc)
		return qs_error_set(err, QS_ERR_NOMEM, "mse: out of memory");
	if (best.s <= 0.0)
		return 0;
	struct mse_codes c = mse_codes_for_zero(j, best.z);
	mse_refine(j, sum2, &c, &best.s);
	double l, h;
	if (j->s->symmetric) {
		h = best.s * ((double)j->qmax - j->qmin) / 2.0;
		l = -h;
	} else {
		l = ((double)j->qmin - best.z) * best.s;
		h = ((double)j->qmax - best.z) * best.s;
	}
	/* the final word is the runtime's float32 arithmetic and the floor */
	struct qparam cand = quant_param_from_range(j->s, l, h);
	struct qparam mm = quant_param_from_range(j->s, j->min, j->max);
	double ec, em;
	job_sse2(j, &cand, &mm, &ec, &em);
	if (ec < em) {
		*lo = l;
		*hi = h;
	}
	return 0;
}

/* ---- entry point ---------------------------------------------------------- */

/* Returns false when a NaN or Inf slipped through (0·Inf and 0·NaN are NaN). */
static bool job_scan(struct range_job *j)
{
	float mn = j->x[0], mx = j->x[0], probe = 0.0f;

	for (size_t i = 0; i < j->n; i++) {
		float v = j->x[i];
		mn = v < mn ? v : mn;
		mx = v > mx ? v : mx;
		probe += 0.0f * v;
	}
	j->min = mn;
	j->max = mx;
	j->amax = fmax(fabs(j->min), fabs(j->max));
	return probe == 0.0f;
}

/* Symmetric ranges are [−a, a]; all ranges include 0 and, except where the
 * method may widen, stay inside [min x, max x] (or [−max|x|, max|x|]). */
static void range_finish(const struct range_job *j, bool may_widen, double *lo, double *hi)
{
	double l = *lo, h = *hi;

	if (j->s->symmetric) {
		double a = fmax(fabs(l), fabs(h));
		if (!may_widen)
			a = fmin(a, j->amax);
		l = -a;
		h = a;
	} else if (!may_widen) {
		l = fmax(l, j->min);
		h = fmin(h, j->max);
	}
	*lo = fmin(l, 0.0);
	*hi = fmax(h, 0.0);
}

int range_choose(const struct method *m, const struct scheme *s, const float *x, size_t n,
                 float *scratch, struct qparam *out, struct qs_error *err)
{
	struct range_job j = {.m = m, .s = s, .x = x, .n = n, .scratch = scratch};
	double lo, hi;
	int rc;

	if (!m || (unsigned)m->kind >= METHOD_COUNT)
		return qs_error_set(err, QS_ERR_USAGE, "range: unknown method");
	if (n == 0) {
		*out = quant_param_from_range(s, 1.0, 0.0);
		return 0;
	}
	scheme_code_range(s, &j.qmin, &j.qmax);
	if (!job_scan(&j))
		return qs_error_set(err, QS_ERR_NUMERIC, "range: group has NaN or Inf values");
	rc = method_table[m->kind].choose(&j, &lo, &hi, err);
	if (rc)
		return rc;
	range_finish(&j, method_table[m->kind].may_widen, &lo, &hi);
	*out = quant_param_from_range(s, lo, hi);
	return 0;
}
