#include "range.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
/* AVX2 (with FMA) versions of the per-value passes, chosen at run time.
 * FMA only where written out: the build is ISO C (-std=c11), where GCC
 * does not contract a·b + c on its own. */
#define RANGE_AVX2 1
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2,fma")))
#endif

#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_sf_exp.h>
#include <gsl/gsl_sort_float.h>

/* Everything a method needs about one group, computed once. */
struct range_job {
	const struct method *m;
	const struct scheme *s;
	const float *x;
	size_t n;
	float *scratch;
	const float *bounds; /* mse: each MSE_BLOCK block's least and greatest value, or NULL */
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

/* Σ(x − x̂)² under p from element i on, scalar. */
static double sse_tail(const struct qparam *p, int32_t qmin, int32_t qmax, enum rounding r,
                       const float *x, size_t i, size_t n)
{
	double e = 0.0;

	for (; i < n; i++) {
		double d = (double)x[i] - quant_deq(fast_code(x[i], p, qmin, qmax, r), p);
		e += d * d;
	}
	return e;
}

#ifdef RANGE_AVX2
static bool range_avx2(void)
{
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

AVX2_FN static double hsum_pd256(__m256d a, __m256d b)
{
	double f[8];
	_mm256_storeu_pd(f, a);
	_mm256_storeu_pd(f + 4, b);
	return ((f[0] + f[4]) + (f[1] + f[5])) + ((f[2] + f[6]) + (f[3] + f[7]));
}

/* Constants of one candidate for the eight-wide exact pass. */
struct sse8 {
	__m256 s, zp, lo, hi;
};

AVX2_FN static void sse8_init(struct sse8 *c, const struct qparam *p, int32_t qmin, int32_t qmax)
{
	c->s = _mm256_set1_ps(p->scale);
	c->zp = _mm256_set1_ps((float)p->zero_point);
	c->lo = _mm256_set1_ps((float)qmin);
	c->hi = _mm256_set1_ps((float)qmax);
}

/* x̂ of eight values exactly as quant_one/quant_deq give them (float32
 * division, 1.5·2²³ rounding; the clamped code k is an integer in float,
 * so (k − z)·s is the float of the integer code times s); *clamped gets
 * the lanes whose code was clamped. */
AVX2_FN static inline __m256 sse_xhat8(__m256 v, const struct sse8 *c, __m256 *clamped)
{
	const __m256 magic = _mm256_set1_ps(12582912.0f);
	__m256 r = _mm256_add_ps(_mm256_sub_ps(_mm256_add_ps(_mm256_div_ps(v, c->s), magic), magic),
	                         c->zp);
	__m256 k = _mm256_min_ps(_mm256_max_ps(r, c->lo), c->hi);
	*clamped = _mm256_cmp_ps(k, r, _CMP_NEQ_UQ);
	return _mm256_mul_ps(_mm256_sub_ps(k, c->zp), c->s);
}

/* (x − x̂)² of eight values added in double to e0 (low four) and e1.
 * Where no code was clamped, x − x̂ is exact in float: x̂ = q·s with
 * |x − q·s| ≤ s/2, so for q ≠ 0 x lies within [x̂/2, 2x̂] (Sterbenz) and
 * for q = 0 the difference is x; its square is exact in double, so the
 * fused multiply-add rounds as the multiply and add did. The same sums as
 * the double difference, with half the conversions; clamped lanes
 * (outliers far from x̂) take the double difference. */
AVX2_FN static inline void sse8_add(__m256 v, __m256 xh, __m256 clamped, __m256d *e0, __m256d *e1)
{
	if (_mm256_testz_ps(clamped, clamped)) {
		__m256 d = _mm256_sub_ps(v, xh);
		__m256d d0 = _mm256_cvtps_pd(_mm256_castps256_ps128(d));
		__m256d d1 = _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1));
		*e0 = _mm256_fmadd_pd(d0, d0, *e0);
		*e1 = _mm256_fmadd_pd(d1, d1, *e1);
		return;
	}
	__m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
	                           _mm256_cvtps_pd(_mm256_castps256_ps128(xh)));
	__m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)),
	                           _mm256_cvtps_pd(_mm256_extractf128_ps(xh, 1)));
	*e0 = _mm256_add_pd(*e0, _mm256_mul_pd(d0, d0));
	*e1 = _mm256_add_pd(*e1, _mm256_mul_pd(d1, d1));
}

/* sse_exact's half-to-even pass eight at a time; returns the sum over the
 * first *done elements. */
AVX2_FN static double sse_exact_avx2(const struct qparam *p, int32_t qmin, int32_t qmax,
                                     const float *x, size_t n, size_t *done)
{
	struct sse8 c;
	__m256d e0 = _mm256_setzero_pd(), e1 = e0;
	size_t i = 0;

	sse8_init(&c, p, qmin, qmax);
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i), cl;
		__m256 xh = sse_xhat8(v, &c, &cl);
		sse8_add(v, xh, cl, &e0, &e1);
	}
	*done = i;
	return hsum_pd256(e0, e1);
}

/* The same for two candidates in one pass (each summed as alone). */
AVX2_FN static size_t sse_exact2_avx2(const struct qparam *pa, const struct qparam *pb,
                                      int32_t qmin, int32_t qmax, const float *x, size_t n,
                                      double e[2])
{
	struct sse8 ca, cb;
	__m256d a0 = _mm256_setzero_pd(), a1 = a0, b0 = a0, b1 = a0;
	size_t i = 0;

	sse8_init(&ca, pa, qmin, qmax);
	sse8_init(&cb, pb, qmin, qmax);
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i), cla, clb;
		__m256 xa = sse_xhat8(v, &ca, &cla), xb = sse_xhat8(v, &cb, &clb);
		sse8_add(v, xa, cla, &a0, &a1);
		sse8_add(v, xb, clb, &b0, &b1);
	}
	e[0] = hsum_pd256(a0, a1);
	e[1] = hsum_pd256(b0, b1);
	return i;
}
#endif

/* Σ(x − x̂)² exactly as quant_one/quant_deq quantize: for half-to-even
 * rounding four at a time with quant.c's SSE2 recipe (float division,
 * (v + 1.5·2^23) − 1.5·2^23 rounds half to even for |v| < 2^22 and leaves
 * larger |v| beyond the codes on their own side), x − x̂ in double; e is
 * the sum so far, of the elements before i. */
static double sse_rest(const struct qparam *p, int32_t qmin, int32_t qmax, enum rounding r,
                       const float *x, size_t i, size_t n, double e)
{
#ifdef __SSE2__
	if (r == ROUND_HALF_EVEN) {
		const __m128 magic = _mm_set1_ps(12582912.0f), s = _mm_set1_ps(p->scale);
		const __m128 zp = _mm_set1_ps((float)p->zero_point);
		const __m128 lo = _mm_set1_ps((float)qmin), hi = _mm_set1_ps((float)qmax);
		const __m128i zpi = _mm_set1_epi32(p->zero_point);
		__m128d e0 = _mm_setzero_pd(), e1 = e0;
		for (; i + 4 <= n; i += 4) {
			__m128 v = _mm_loadu_ps(x + i);
			__m128 c = _mm_sub_ps(_mm_add_ps(_mm_div_ps(v, s), magic), magic);
			c = _mm_min_ps(_mm_max_ps(_mm_add_ps(c, zp), lo), hi);
			__m128i q = _mm_sub_epi32(_mm_cvttps_epi32(c), zpi);
			__m128 xh = _mm_mul_ps(_mm_cvtepi32_ps(q), s);
			__m128d d0 = _mm_sub_pd(_mm_cvtps_pd(v), _mm_cvtps_pd(xh));
			__m128d d1 = _mm_sub_pd(_mm_cvtps_pd(_mm_movehl_ps(v, v)),
			                        _mm_cvtps_pd(_mm_movehl_ps(xh, xh)));
			e0 = _mm_add_pd(e0, _mm_mul_pd(d0, d0));
			e1 = _mm_add_pd(e1, _mm_mul_pd(d1, d1));
		}
		double f[4];
		_mm_storeu_pd(f, e0);
		_mm_storeu_pd(f + 2, e1);
		e += (f[0] + f[2]) + (f[1] + f[3]);
	}
#endif
	return e + sse_tail(p, qmin, qmax, r, x, i, n);
}

static double sse_exact(const struct qparam *p, int32_t qmin, int32_t qmax, enum rounding r,
                        const float *x, size_t n)
{
	size_t i = 0;
	double e = 0.0;

#ifdef RANGE_AVX2
	if (r == ROUND_HALF_EVEN && range_avx2())
		e = sse_exact_avx2(p, qmin, qmax, x, n, &i);
#endif
	return sse_rest(p, qmin, qmax, r, x, i, n, e);
}

double range_sse(const struct scheme *s, const struct qparam *p, const float *x, size_t n)
{
	int32_t qmin, qmax;

	scheme_code_range(s, &qmin, &qmax);
	return sse_exact(p, qmin, qmax, s->rounding, x, n);
}

/* Exact squared errors of the group under two candidates, as the runtimes
 * quantize, so comparisons between candidates are comparisons of what the
 * user will measure. */
static void job_sse2(const struct range_job *j, const struct qparam *a, const struct qparam *b,
                     double *ea, double *eb)
{
	enum rounding r = j->s->rounding;
	double e[2] = {0.0, 0.0};
	size_t i = 0;

#ifdef RANGE_AVX2
	if (r == ROUND_HALF_EVEN && range_avx2())
		i = sse_exact2_avx2(a, b, j->qmin, j->qmax, j->x, j->n, e);
#endif
	*ea = sse_rest(a, j->qmin, j->qmax, r, j->x, i, j->n, e[0]);
	*eb = sse_rest(b, j->qmin, j->qmax, r, j->x, i, j->n, e[1]);
}

static bool job_better(const struct range_job *j, const struct qparam *a, const struct qparam *b);

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
 * selection instead of a full sort. The neighbour comes from the short side
 * of the partition: in the lower half select x₍ᵢ₊₁₎ and take x₍ᵢ₎ as the
 * largest value before it, in the upper half select x₍ᵢ₎ and take x₍ᵢ₊₁₎
 * as the smallest after it. */
static double quantile_select(float *v, size_t n, double f)
{
	double h = (double)(n - 1) * f;
	size_t i = (size_t)h;
	double d = h - (double)i;

	if (i >= n - 1)
		return select_kth(v, n, n - 1);
	if (d == 0.0)
		return select_kth(v, n, i);
	float lo, next;
	if (i < n / 2) {
		next = select_kth(v, n, i + 1);
		lo = v[0];
		for (size_t k = 1; k <= i; k++)
			lo = v[k] > lo ? v[k] : lo;
	} else {
		lo = select_kth(v, n, i);
		next = v[i + 1];
		for (size_t k = i + 2; k < n; k++)
			next = v[k] < next ? v[k] : next;
	}
	return (1.0 - d) * lo + d * (double)next;
}

/* Larger groups: a count per bin (bin = ⌊(v − lo)·inv⌋ in float, monotonic
 * in v, so ranks map to bins in order) locates the bins holding x₍ᵢ₎ and
 * x₍ᵢ₊₁₎; only their values are gathered (branch-free) and selected. The
 * same values as selecting on everything, without its mispredicted
 * branches on every element. */
enum {
	PCT_VALUES_PER_BIN = 8, /* bins: n/8, up to 8192 */
	PCT_BINS_MAX = 8192,
	PCT_SELECT_MAX = 256, /* groups up to this size select directly */
	PCT_TABLES = 4,       /* interleaved count tables */
	PCT_BLOCK = 512,      /* values whose bins are computed before they are counted */
};

struct pct_hist {
	float lo, inv;
	int32_t last;
	bool absval;
	uint32_t *cum; /* cum[k] = values in bins below k (last + 3 entries) */
};

static inline int32_t pct_bin(const struct pct_hist *h, float v)
{
	int32_t k = (int32_t)((v - h->lo) * h->inv);
	return k < h->last ? k : h->last;
}

static inline float pct_val(const struct pct_hist *h, float x)
{
	return h->absval ? fabsf(x) : x;
}

#ifdef RANGE_AVX2
/* pct_bin of eight values (the same float operations). */
#define PCT_BIN8(v, lo, inv, last)                                                                 \
	_mm256_min_epi32(_mm256_cvttps_epi32(_mm256_mul_ps(_mm256_sub_ps(v, lo), inv)), last)

/* Add one to t[k[i]] for i < m (m a multiple of 8), eight per step. */
static inline void count_keys(uint32_t *t, const uint32_t *k, size_t m)
{
	for (size_t b = 0; b < m; b += 8) {
		t[k[b]]++;
		t[k[b + 1]]++;
		t[k[b + 2]]++;
		t[k[b + 3]]++;
		t[k[b + 4]]++;
		t[k[b + 5]]++;
		t[k[b + 6]]++;
		t[k[b + 7]]++;
	}
}

/* Counts of the values per bin eight at a time, value i into table i mod 4
 * (stride `stride`), the bins of a block computed before its increments;
 * returns how many values it counted. */
AVX2_FN static size_t pct_count_avx2(const float *x, size_t n, const struct pct_hist *h,
                                     uint32_t *t, size_t stride)
{
	const __m256 lo = _mm256_set1_ps(h->lo), inv = _mm256_set1_ps(h->inv);
	const __m256 mag = _mm256_castsi256_ps(_mm256_set1_epi32(h->absval ? 0x7fffffff : -1));
	const __m256i last = _mm256_set1_epi32(h->last);
	const int32_t s = (int32_t)stride;
	const __m256i off = _mm256_setr_epi32(0, s, 2 * s, 3 * s, 0, s, 2 * s, 3 * s);
	uint32_t k[PCT_BLOCK];
	size_t i = 0;

	while (i + 8 <= n) {
		size_t m = n - i < PCT_BLOCK ? (n - i) & ~(size_t)7 : PCT_BLOCK;
		for (size_t b = 0; b < m; b += 8) {
			__m256 v = _mm256_and_ps(_mm256_loadu_ps(x + i + b), mag);
			_mm256_storeu_si256((__m256i *)(k + b),
			                    _mm256_add_epi32(PCT_BIN8(v, lo, inv, last), off));
		}
		count_keys(t, k, m);
		i += m;
	}
	return i;
}

/* The values (|x| when absval) in bins b1..b2 appended to g, eight tested
 * at a time: blocks without one cost a compare (the bins of an extreme
 * percentile hold a few values). Returns how many values it went through. */
AVX2_FN static size_t pct_gather_avx2(const float *x, size_t n, const struct pct_hist *h,
                                      int32_t b1, int32_t b2, float *g, size_t *ng)
{
	const __m256 lo = _mm256_set1_ps(h->lo), inv = _mm256_set1_ps(h->inv);
	const __m256 mag = _mm256_castsi256_ps(_mm256_set1_epi32(h->absval ? 0x7fffffff : -1));
	const __m256i last = _mm256_set1_epi32(h->last);
	const __m256i below = _mm256_set1_epi32(b1 - 1), above = _mm256_set1_epi32(b2 + 1);
	size_t i = 0, m = *ng;

	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_and_ps(_mm256_loadu_ps(x + i), mag);
		__m256i k = PCT_BIN8(v, lo, inv, last);
		__m256i in = _mm256_and_si256(_mm256_cmpgt_epi32(k, below),
		                              _mm256_cmpgt_epi32(above, k));
		unsigned bits = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(in));
		if (!bits)
			continue;
		float f[8];
		_mm256_storeu_ps(f, v);
		for (; bits; bits &= bits - 1)
			g[m++] = f[__builtin_ctz(bits)];
	}
	*ng = m;
	return i;
}
#endif

/* out[k] = the sum of the four count tables (stride bins) at k, four bins
 * at a time (out may be the first table). */
static void tables_fold(const uint32_t *t, size_t bins, uint32_t *out)
{
	typedef uint32_t v4u __attribute__((vector_size(16)));
	size_t k = 0;

	for (; k + 4 <= bins; k += 4) {
		v4u a, b, c, d;
		memcpy(&a, t + k, sizeof a);
		memcpy(&b, t + bins + k, sizeof b);
		memcpy(&c, t + 2 * bins + k, sizeof c);
		memcpy(&d, t + 3 * bins + k, sizeof d);
		a += b + c + d;
		memcpy(out + k, &a, sizeof a);
	}
	for (; k < bins; k++)
		out[k] = t[k] + t[bins + k] + t[2 * bins + k] + t[3 * bins + k];
}

/* Counts of the values per pct_bin into out[0..bins) (bins = h->last + 1):
 * four interleaved tables so that repeats of a bin (most values sit in a
 * few bins) do not wait on each other's increment. */
static int bin_counts(const float *x, size_t n, const struct pct_hist *h, size_t bins,
                      uint32_t *out)
{
	uint32_t *t = calloc(PCT_TABLES * bins, sizeof *t);
	size_t i = 0;

	if (!t)
		return -1;
#ifdef RANGE_AVX2
	if (range_avx2())
		i = pct_count_avx2(x, n, h, t, bins);
#endif
	for (; i < n; i++)
		t[(i % PCT_TABLES) * bins + (size_t)pct_bin(h, pct_val(h, x[i]))]++;
	tables_fold(t, bins, out);
	free(t);
	return 0;
}

/* Counts per bin into cum[1..bins], prefix-summed (cum[0] = 0). */
static int pct_counts(const struct range_job *j, struct pct_hist *h, size_t bins)
{
	if (bin_counts(j->x, j->n, h, bins, h->cum + 1))
		return -1;
	h->cum[0] = 0;
	for (size_t k = 1; k <= bins; k++)
		h->cum[k] += h->cum[k - 1];
	h->cum[bins + 1] = h->cum[bins];
	return 0;
}

/* The quantile at f of the group's values (|x| when absval). */
static double pct_quantile(const struct range_job *j, const struct pct_hist *h, double f)
{
	double hh = (double)(j->n - 1) * f;
	size_t r = (size_t)hh, rr;
	double d = hh - (double)r;

	if (r >= j->n - 1)
		return h->absval ? j->amax : j->max;
	rr = d > 0.0 ? r + 1 : r;
	/* b1: the first bin with more than r values at or below it */
	int32_t b1 = 0, b2, top = h->last;
	while (b1 < top) {
		int32_t mid = b1 + (top - b1) / 2;
		if (h->cum[mid + 1] <= r)
			b1 = mid + 1;
		else
			top = mid;
	}
	for (b2 = b1; h->cum[b2 + 1] <= rr; b2++)
		;
	float *g = j->scratch;
	size_t ng = 0, i = 0;
#ifdef RANGE_AVX2
	if (range_avx2())
		i = pct_gather_avx2(j->x, j->n, h, b1, b2, g, &ng);
#endif
	for (; i < j->n; i++) {
		float v = pct_val(h, j->x[i]);
		int32_t k = pct_bin(h, v);
		g[ng] = v;
		ng += k >= b1 && k <= b2;
	}
	size_t k = r - h->cum[b1];
	double lo = select_kth(g, ng, k);
	if (d == 0.0)
		return lo;
	float next = g[k + 1];
	for (size_t i = k + 2; i < ng; i++)
		next = g[i] < next ? g[i] : next;
	return (1.0 - d) * lo + d * (double)next;
}

static int choose_percentile(const struct range_job *j, double *lo, double *hi,
                             struct qs_error *err)
{
	float *v = j->scratch;
	double f = j->m->percentile / 100.0;
	bool sym = j->s->symmetric;
	double bottom = sym ? 0.0 : j->min, top = sym ? j->amax : j->max;

	/* the float bin arithmetic must stay finite (not for a range of a few
	 * denormals, nor for one wider than FLT_MAX) */
	if (j->n > PCT_SELECT_MAX && top > bottom &&
	    (double)(j->n / PCT_VALUES_PER_BIN) / (top - bottom) < 0x1p100 &&
	    (float)(top - bottom) < FLT_MAX) {
		size_t bins = j->n / PCT_VALUES_PER_BIN;
		bins = bins < PCT_BINS_MAX ? bins : PCT_BINS_MAX;
		struct pct_hist h = {.lo = (float)bottom,
		                     .inv = (float)((double)bins / (top - bottom)),
		                     .last = (int32_t)bins - 1,
		                     .absval = sym,
		                     .cum = calloc(bins + 2, sizeof *h.cum)};
		if (!h.cum || pct_counts(j, &h, bins)) {
			free(h.cum);
			return qs_error_set(err, QS_ERR_NOMEM, "percentile: out of memory");
		}
		if (sym) {
			*hi = pct_quantile(j, &h, f);
			*lo = -*hi;
		} else {
			*lo = pct_quantile(j, &h, (1.0 - f) / 2.0);
			*hi = pct_quantile(j, &h, (1.0 + f) / 2.0);
		}
		free(h.cum);
		return 0;
	}
	if (sym) {
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
 * sample standard deviation (Gaussian). Two passes in double: the mean,
 * then Σ|x − mean| and Σ(x − mean)² together (GSL's float statistics keep
 * a running mean with a division per value, the dearest part of aciq).
 * Each sum runs in 16 lanes (lane l takes the values i ≡ l mod 16, so no
 * add waits on the one before), folded in a fixed order, then the tail in
 * order: GCC vector code for the base target and the same in AVX2
 * intrinsics, the same operations per lane, so the same bits either way. */
struct aciq_stats {
	double mean, spread[PRIOR_COUNT];
};

typedef float aciq_v4f __attribute__((vector_size(16)));
typedef double aciq_v4d __attribute__((vector_size(32)));
typedef long long aciq_v4l __attribute__((vector_size(32)));

/* Four floats widened (through a pointer: a 32-byte vector returned by
 * value from a function without AVX changes the ABI). */
static inline __attribute__((always_inline)) void aciq_load4(aciq_v4d *out, const float *x)
{
	aciq_v4f f;
	memcpy(&f, x, sizeof f);
	*out = __builtin_convertvector(f, aciq_v4d);
}

/* The 16 lanes of four vectors, summed in a fixed tree (inlined into each
 * instruction-set version: a call would reload the AVX2 version's
 * accumulators through the stack). */
static inline __attribute__((always_inline)) double aciq_fold16_lanes(const double l[16])
{
	double r[8];
	for (int k = 0; k < 8; k++)
		r[k] = l[k] + l[k + 8];
	return ((r[0] + r[4]) + (r[1] + r[5])) + ((r[2] + r[6]) + (r[3] + r[7]));
}

static inline __attribute__((always_inline)) double aciq_fold16(const aciq_v4d v[4])
{
	double l[16];
	memcpy(l, v, sizeof l);
	return aciq_fold16_lanes(l);
}

/* The last values x[m..n) by the scalar formula; out = mean, Σ|d|, Σd². */
static void aciq_tail(const float *x, size_t m, size_t n, double mean, double ad, double sq,
                      double *out)
{
	for (size_t i = m; i < n; i++) {
		double d = x[i] - mean;
		ad += fabs(d);
		sq += d * d;
	}
	out[0] = mean;
	out[1] = ad;
	out[2] = sq;
}

/* Four vectors of lanes i, i + 4, i + 8, i + 12 (accumulators in named
 * variables, so that they stay in registers). */
#define ACIQ_LOAD16(x, v0, v1, v2, v3)                                                             \
	do {                                                                                       \
		aciq_load4(&v0, x);                                                                \
		aciq_load4(&v1, (x) + 4);                                                          \
		aciq_load4(&v2, (x) + 8);                                                          \
		aciq_load4(&v3, (x) + 12);                                                         \
	} while (0)

static inline __attribute__((always_inline)) void aciq_sums_body(const float *x, size_t n,
                                                                 double out[3])
{
	const aciq_v4d zero = {0.0, 0.0, 0.0, 0.0};
	const aciq_v4l mag = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
	aciq_v4d s0 = zero, s1 = zero, s2 = zero, s3 = zero, v0, v1, v2, v3;
	size_t i, m = n & ~(size_t)15;

	for (i = 0; i < m; i += 16) {
		ACIQ_LOAD16(x + i, v0, v1, v2, v3);
		s0 += v0;
		s1 += v1;
		s2 += v2;
		s3 += v3;
	}
	aciq_v4d acc[4] = {s0, s1, s2, s3};
	double sum = aciq_fold16(acc);
	for (i = m; i < n; i++)
		sum += x[i];
	double mean = sum / (double)n;
	const aciq_v4d mv = {mean, mean, mean, mean};
	aciq_v4d a0 = zero, a1 = zero, a2 = zero, a3 = zero;
	aciq_v4d q0 = zero, q1 = zero, q2 = zero, q3 = zero;
	for (i = 0; i < m; i += 16) {
		ACIQ_LOAD16(x + i, v0, v1, v2, v3);
		v0 -= mv;
		v1 -= mv;
		v2 -= mv;
		v3 -= mv;
		a0 += (aciq_v4d)((aciq_v4l)v0 & mag);
		a1 += (aciq_v4d)((aciq_v4l)v1 & mag);
		a2 += (aciq_v4d)((aciq_v4l)v2 & mag);
		a3 += (aciq_v4d)((aciq_v4l)v3 & mag);
		q0 += v0 * v0;
		q1 += v1 * v1;
		q2 += v2 * v2;
		q3 += v3 * v3;
	}
	aciq_v4d av[4] = {a0, a1, a2, a3}, qv[4] = {q0, q1, q2, q3};
	double ad = aciq_fold16(av), sq = aciq_fold16(qv);
	aciq_tail(x, m, n, mean, ad, sq, out);
}

#ifdef RANGE_AVX2
/* aciq_sums_body in AVX2 intrinsics (GCC widens vector-extension floats
 * half by half): the same lanes, operations and fold. */
AVX2_FN static void aciq_sums_avx2(const float *x, size_t n, double out[3])
{
	const __m256d sign = _mm256_set1_pd(-0.0);
	__m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
	size_t i, m = n & ~(size_t)15;
	double l[16];

#define ACIQ_CVT(k) _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * (k)))
	for (i = 0; i < m; i += 16) {
		s0 = _mm256_add_pd(s0, ACIQ_CVT(0));
		s1 = _mm256_add_pd(s1, ACIQ_CVT(1));
		s2 = _mm256_add_pd(s2, ACIQ_CVT(2));
		s3 = _mm256_add_pd(s3, ACIQ_CVT(3));
	}
#define ACIQ_FOLD(v0, v1, v2, v3, r)                                                               \
	do {                                                                                       \
		_mm256_storeu_pd(l, v0);                                                           \
		_mm256_storeu_pd(l + 4, v1);                                                       \
		_mm256_storeu_pd(l + 8, v2);                                                       \
		_mm256_storeu_pd(l + 12, v3);                                                      \
		r = aciq_fold16_lanes(l);                                                          \
	} while (0)
	double sum, ad, sq;
	ACIQ_FOLD(s0, s1, s2, s3, sum);
	for (i = m; i < n; i++)
		sum += x[i];
	double mean = sum / (double)n;
	const __m256d mv = _mm256_set1_pd(mean);
	__m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0, q0 = a0, q1 = a0, q2 = a0,
	        q3 = a0;
	for (i = 0; i < m; i += 16) {
		__m256d d0 = _mm256_sub_pd(ACIQ_CVT(0), mv), d1 = _mm256_sub_pd(ACIQ_CVT(1), mv);
		__m256d d2 = _mm256_sub_pd(ACIQ_CVT(2), mv), d3 = _mm256_sub_pd(ACIQ_CVT(3), mv);
		a0 = _mm256_add_pd(a0, _mm256_andnot_pd(sign, d0));
		a1 = _mm256_add_pd(a1, _mm256_andnot_pd(sign, d1));
		a2 = _mm256_add_pd(a2, _mm256_andnot_pd(sign, d2));
		a3 = _mm256_add_pd(a3, _mm256_andnot_pd(sign, d3));
		q0 = _mm256_add_pd(q0, _mm256_mul_pd(d0, d0));
		q1 = _mm256_add_pd(q1, _mm256_mul_pd(d1, d1));
		q2 = _mm256_add_pd(q2, _mm256_mul_pd(d2, d2));
		q3 = _mm256_add_pd(q3, _mm256_mul_pd(d3, d3));
	}
#undef ACIQ_CVT
	ACIQ_FOLD(a0, a1, a2, a3, ad);
	ACIQ_FOLD(q0, q1, q2, q3, sq);
#undef ACIQ_FOLD
	aciq_tail(x, m, n, mean, ad, sq, out);
}
#endif

static void aciq_sums(const float *x, size_t n, double out[3])
{
#ifdef RANGE_AVX2
	if (range_avx2()) {
		aciq_sums_avx2(x, n, out);
		return;
	}
#endif
	aciq_sums_body(x, n, out);
}

static struct aciq_stats aciq_stats_of(const struct range_job *j)
{
	double r[3];
	size_t n = j->n;

	aciq_sums(j->x, n, r);
	struct aciq_stats st = {.mean = r[0]};
	st.spread[PRIOR_LAPLACE] = r[1] / (double)n;
	st.spread[PRIOR_GAUSS] = n > 1 ? sqrt(r[2] / (double)(n - 1)) : 0.0;
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
	double l[PRIOR_COUNT], h[PRIOR_COUNT];

	struct qparam q[PRIOR_COUNT];
	struct aciq_stats st = aciq_stats_of(j);

	for (int p = 0; p < PRIOR_COUNT; p++) {
		int rc = aciq_range(j, &st, (enum aciq_prior)p, &l[p], &h[p], err);
		if (rc)
			return rc;
		q[p] = quant_param_from_range(j->s, l[p], h[p]);
	}
	int w = job_better(j, &q[PRIOR_GAUSS], &q[PRIOR_LAPLACE]) ? PRIOR_GAUSS : PRIOR_LAPLACE;
	*lo = l[w];
	*hi = h[w];
	return 0;
}

/* ---- KL (entropy calibration) --------------------------------------------- */

enum {
	KL_BINS = 2048,
	KL_VALUES_PER_BIN = 4,  /* groups under 8192 values: n/4 bins, */
	KL_BINS_PER_TARGET = 2, /* ... and at least 2 per target bin */
	KL_LN_TABLE = 16384,
};

/* Bins of the |x| histogram: 2048 from 8192 values up, n/4 below (at least
 * two per target bin), so small groups do not pay for a mostly empty
 * histogram. */
static size_t kl_bins(size_t n, size_t target)
{
	size_t b = n / KL_VALUES_PER_BIN;

	b = b > KL_BINS_PER_TARGET * target ? b : KL_BINS_PER_TARGET * target;
	return b < KL_BINS ? b : KL_BINS;
}

/* ln k of the counts (integers) from a table filled once with log. */
static double kl_ln_table[KL_LN_TABLE];
static once_flag kl_ln_once = ONCE_FLAG_INIT;

/* Count given to a source bin where P > 0 but the target bin it falls in is
 * empty (outliers folded into an empty tail); without it every clip that
 * folds outliers past a gap would have infinite divergence. */
#define KL_EPS 1e-4

static double kl_ln_eps; /* ln KL_EPS */

static void kl_ln_fill(void)
{
	for (int k = 1; k < KL_LN_TABLE; k++)
		kl_ln_table[k] = log(k);
	kl_ln_eps = log(KL_EPS);
}

static inline double kl_lnk(double k)
{
	return k < KL_LN_TABLE ? kl_ln_table[(int32_t)k] : log(k);
}

/* Counts of |x| in `bins` equal bins over [0, top] (the top value itself
 * goes to the last bin): bin ⌊|x|·bins/top⌋ in double. Integer counts in
 * KL_TABLES interleaved tables, value i into table i mod KL_TABLES, so
 * neighbouring values that hit the same bin do not wait on each other's
 * increment; the tables are folded into h every KL_CHUNK values (no count
 * can wrap). */
enum {
	KL_TABLES = 4,
	KL_BLOCK = 512, /* values whose bins are computed before they are counted */
};
#define KL_CHUNK ((size_t)1 << 30)

#ifdef RANGE_AVX2
/* Bin indices eight at a time (the same double arithmetic as the scalar
 * loop), each already offset into its table, for a block of values, then
 * the increments; returns how many values it counted. */
AVX2_FN static size_t kl_count_avx2(const float *x, size_t n, double inv, int32_t last, uint32_t *h,
                                    size_t stride)
{
	const __m256d vinv = _mm256_set1_pd(inv);
	const __m256 mag = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	const __m128i vlast = _mm_set1_epi32(last);
	const __m128i off =
	        _mm_setr_epi32(0, (int32_t)stride, 2 * (int32_t)stride, 3 * (int32_t)stride);
	uint32_t k[KL_BLOCK];
	size_t i = 0;

	while (i + 8 <= n) {
		size_t m = n - i < KL_BLOCK ? (n - i) & ~(size_t)7 : KL_BLOCK;
		for (size_t b = 0; b < m; b += 8) {
			__m256 v = _mm256_and_ps(_mm256_loadu_ps(x + i + b), mag);
			__m256d lo =
			        _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), vinv);
			__m256d hi =
			        _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), vinv);
			__m128i klo = _mm_min_epi32(_mm256_cvttpd_epi32(lo), vlast);
			__m128i khi = _mm_min_epi32(_mm256_cvttpd_epi32(hi), vlast);
			_mm_storeu_si128((__m128i *)(k + b), _mm_add_epi32(klo, off));
			_mm_storeu_si128((__m128i *)(k + b + 4), _mm_add_epi32(khi, off));
		}
		count_keys(h, k, m);
		i += m;
	}
	return i;
}
#endif

static void kl_count(const float *x, size_t n, double inv, int32_t last, uint32_t *h, size_t stride)
{
	size_t i = 0;

#ifdef RANGE_AVX2
	if (range_avx2())
		i = kl_count_avx2(x, n, inv, last, h, stride);
#endif
	for (; i < n; i++) {
		int32_t k = (int32_t)(fabs((double)x[i]) * inv);
		h[(i % KL_TABLES) * stride + (size_t)(k < last ? k : last)]++;
	}
}

/* Counts of n ≤ KL_CHUNK values in the KL_TABLES tables of tab. */
static void kl_count_tables(const float *x, size_t n, double inv, size_t bins, uint32_t *tab)
{
	memset(tab, 0, KL_TABLES * bins * sizeof *tab);
	kl_count(x, n, inv, (int32_t)bins - 1, tab, bins);
}

static void kl_histogram(const struct range_job *j, double top, size_t bins, uint32_t *tab,
                         double *h)
{
	double inv = (double)bins / top;

	for (size_t k = 0; k < bins; k++)
		h[k] = 0.0;
	for (size_t at = 0; at < j->n; at += KL_CHUNK) {
		size_t len = j->n - at < KL_CHUNK ? j->n - at : KL_CHUNK;
		kl_count_tables(j->x + at, len, inv, bins, tab);
		tables_fold(tab, bins, tab);
		for (size_t k = 0; k < bins; k++)
			h[k] += (double)tab[k];
	}
}

/* Prefix sums over the histogram so each candidate costs O(target bins):
 * cnt = Σh, nz = #(h > 0), hlh = Σ h·ln h (bins + 1 entries each); ci and ni
 * the same counts as int32 when the total is below KL_LN_TABLE (the vector
 * candidate loop indexes the ln table with them), else NULL. */
struct kl_prefix {
	size_t bins;
	double *cnt, *nz, *hlh;
	int32_t *ci, *ni;
};

static void kl_prefix_fill(const double *h, struct kl_prefix *p)
{
	p->cnt[0] = p->nz[0] = p->hlh[0] = 0.0;
	for (size_t k = 0; k < p->bins; k++) {
		double v = h[k];
		p->cnt[k + 1] = p->cnt[k] + v;
		p->nz[k + 1] = p->nz[k] + (v > 0.0);
		p->hlh[k + 1] = p->hlh[k] + (v > 0.0 ? v * kl_lnk(v) : 0.0);
	}
}

/* Running sums of kl_prefix_fill_small. */
struct kl_fill {
	int32_t ci, ni;
	double hlh;
};

#ifdef RANGE_AVX2
/* Prefix sums of four int32 lanes, plus the carry in every lane. */
#define KL_PREFIX4(v, carry)                                                                       \
	_mm_add_epi32(                                                                             \
	        _mm_add_epi32(v, _mm_slli_si128(v, 4)),                                            \
	        _mm_add_epi32(_mm_slli_si128(v, 8), _mm_add_epi32(_mm_slli_si128(v, 12), carry)))

/* kl_prefix_fill_small four bins at a time: the counts' prefix sums (ci, ni
 * and their doubles; integers, so any order of adds gives them) in vectors,
 * the terms c·ln c by the same multiply, added to hlh in order (its adds
 * are the one chain). Returns how many bins it did, f the sums so far. */
AVX2_FN static size_t kl_fill_avx2(const uint32_t *tab, struct kl_prefix *p, struct kl_fill *f)
{
	const __m128i zero = _mm_setzero_si128();
	__m128i cc = _mm_set1_epi32(f->ci), cn = _mm_set1_epi32(f->ni);
	/* the pointers in registers (the vector stores may alias *p) */
	int32_t *ci = p->ci, *ni = p->ni;
	double *cnt = p->cnt, *nz = p->nz, *hlh = p->hlh, h = f->hlh;
	size_t k = 0;

	for (; k + 4 <= p->bins; k += 4) {
		__m128i c = _mm_loadu_si128((const __m128i *)(tab + k));
		cc = KL_PREFIX4(c, cc);
		cn = KL_PREFIX4(_mm_sub_epi32(zero, _mm_cmpgt_epi32(c, zero)), cn);
		_mm_storeu_si128((__m128i *)(ci + k + 1), cc);
		_mm_storeu_si128((__m128i *)(ni + k + 1), cn);
		_mm256_storeu_pd(cnt + k + 1, _mm256_cvtepi32_pd(cc));
		_mm256_storeu_pd(nz + k + 1, _mm256_cvtepi32_pd(cn));
		cc = _mm_shuffle_epi32(cc, 0xff);
		cn = _mm_shuffle_epi32(cn, 0xff);
		__m256d t = _mm256_mul_pd(_mm256_cvtepi32_pd(c),
		                          _mm256_i32gather_pd(kl_ln_table, c, 8));
		__m128d lo = _mm256_castpd256_pd128(t), hi = _mm256_extractf128_pd(t, 1);
		h += _mm_cvtsd_f64(lo);
		hlh[k + 1] = h;
		h += _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo));
		hlh[k + 2] = h;
		h += _mm_cvtsd_f64(hi);
		hlh[k + 3] = h;
		h += _mm_cvtsd_f64(_mm_unpackhi_pd(hi, hi));
		hlh[k + 4] = h;
	}
	f->ci = _mm_cvtsi128_si32(cc);
	f->ni = _mm_cvtsi128_si32(cn);
	f->hlh = h;
	return k;
}
#endif

/* The same from the count tables of a group under KL_LN_TABLE values (folded
 * into the first), in integers (every count indexes the ln table; ln
 * table[0] = 0 makes an empty bin add 0·0, as above), with ci and ni. */
static void kl_prefix_fill_small(uint32_t *tab, struct kl_prefix *p)
{
	struct kl_fill f = {0};
	size_t k = 0;

	tables_fold(tab, p->bins, tab);
	p->cnt[0] = p->nz[0] = p->hlh[0] = 0.0;
	p->ci[0] = p->ni[0] = 0;
#ifdef RANGE_AVX2
	if (range_avx2())
		k = kl_fill_avx2(tab, p, &f);
#endif
	int32_t ci = f.ci, ni = f.ni;
	double hlh = f.hlh; /* running sums in registers: the arrays may alias */
	for (; k < p->bins; k++) {
		int32_t c = (int32_t)tab[k];
		ci += c;
		ni += c > 0;
		/* an empty bin adds 0·ln table[0] = +0, which leaves hlh as it
		 * is: no branch to mispredict where empty bins are scattered */
		hlh += (double)c * kl_ln_table[c];
		p->ci[k + 1] = ci;
		p->ni[k + 1] = ni;
		p->hlh[k + 1] = hlh;
		p->cnt[k + 1] = ci;
		p->nz[k + 1] = ni;
	}
}

/* KL(P‖Q) for threshold bin i: P = h[0..i) with the outliers h[i..) added to
 * bin i−1; Q = h[0..i) merged into t target bins (i/t source bins each, the
 * last takes the rest), each spread evenly over the source bins where P is
 * nonzero (KL_EPS each when the target bin is empty). Per target bin with
 * H = Σh, nnz source bins and S = Σ P·ln P, Σ P·ln(P/q) = S − ΣP·ln(H/nnz);
 * normalising, KL = Σ/ΣP − ln ΣP + ln Σq. Σq = qint + KL_EPS·eps, kept
 * apart so that its ln is a table lookup while eps = 0. */
struct kl_sum {
	double s;    /* Σ P·ln(P/q) with q unnormalised */
	double qint; /* Σ q of the nonempty target bins (an integer) */
	double eps;  /* source bins given KL_EPS */
};

/* A target bin before the last, source bins [a, e): nothing folded in, so
 * P = h there and an empty target bin has P = 0 throughout. */
static inline void kl_head_bin(const struct kl_prefix *p, size_t a, size_t e, struct kl_sum *acc)
{
	double hs = p->cnt[e] - p->cnt[a];

	if (hs == 0.0)
		return;
	acc->s += (p->hlh[e] - p->hlh[a]) - hs * (kl_lnk(hs) - kl_lnk(p->nz[e] - p->nz[a]));
	acc->qint += hs;
}

/* One run's head sum over the int32 counts, target bin by target bin: each
 * bin's start is the previous one's end, kept from it rather than loaded
 * again; an empty target bin adds +0 (hlh equal at both ends, hs = nnz =
 * 0), which leaves the sums as they are: no branch to mispredict. */
struct kl_head_run {
	size_t per, e;
	int32_t ca, na;
	double ha, s, q;
};

static inline __attribute__((always_inline)) void kl_head_start(const struct kl_prefix *p,
                                                                size_t per, struct kl_head_run *r)
{
	*r = (struct kl_head_run){
	        .per = per, .e = per, .ca = p->ci[0], .na = p->ni[0], .ha = p->hlh[0]};
}

static inline __attribute__((always_inline)) void kl_head_step(const struct kl_prefix *p,
                                                               struct kl_head_run *r)
{
	int32_t ce = p->ci[r->e], ne = p->ni[r->e], hs = ce - r->ca;
	double he = p->hlh[r->e];
	r->s += (he - r->ha) - hs * (kl_ln_table[hs] - kl_ln_table[ne - r->na]);
	r->q += hs;
	r->ca = ce;
	r->na = ne;
	r->ha = he;
	r->e += r->per;
}

static inline void kl_head_end(const struct kl_head_run *r, struct kl_sum *acc)
{
	*acc = (struct kl_sum){.s = r->s, .qint = r->q};
}

/* The target bins 0..t−2 of a run: ⌊i/t⌋ = per source bins each (the int32
 * counts, when there, save the conversions; the same sums). */
static void kl_head(const struct kl_prefix *p, size_t t, size_t per, struct kl_sum *acc)
{
	*acc = (struct kl_sum){0};
	if (!p->ci) {
		for (size_t b = 0; b + 1 < t; b++)
			kl_head_bin(p, b * per, (b + 1) * per, acc);
		return;
	}
	struct kl_head_run r;
	kl_head_start(p, per, &r);
	for (size_t b = 0; b + 1 < t; b++)
		kl_head_step(p, &r);
	kl_head_end(&r, acc);
}

/* kl_head of runs per and per + 1 (int32 counts, (per + 1)·t ≤ bins) side
 * by side: each sum its own chain of adds in the same order, so the same
 * bits, without one waiting on the other's adds. */
static void kl_head2(const struct kl_prefix *p, size_t t, size_t per, struct kl_sum acc[2])
{
	struct kl_head_run r0, r1;

	kl_head_start(p, per, &r0);
	kl_head_start(p, per + 1, &r1);
	for (size_t b = 0; b + 1 < t; b++) {
		kl_head_step(p, &r0);
		kl_head_step(p, &r1);
	}
	kl_head_end(&r0, &acc[0]);
	kl_head_end(&r1, &acc[1]);
}

/* The last target bin of candidate e, source bins [a, e), with the `out`
 * outliers folded into source bin e − 1 (h·ln h of one source bin is a
 * difference of the hlh prefix). */
static inline void kl_last_bin(const struct kl_prefix *p, size_t a, size_t e, double out,
                               struct kl_sum *acc)
{
	double hs = p->cnt[e] - p->cnt[a], ps = hs, nnz = p->nz[e] - p->nz[a];
	double s = p->hlh[e] - p->hlh[a];

	if (out > 0.0) {
		double last = p->cnt[e] - p->cnt[e - 1], pl = last + out;
		s += pl * kl_lnk(pl) - (p->hlh[e] - p->hlh[e - 1]);
		nnz += last > 0.0 ? 0.0 : 1.0;
		ps += out;
	}
	if (ps == 0.0)
		return;
	if (hs == 0.0) {
		acc->s += s - ps * kl_ln_eps;
		acc->eps += nnz;
		return;
	}
	acc->s += s - ps * (kl_lnk(hs) - kl_lnk(nnz));
	acc->qint += hs;
}

/* The candidates of one per = ⌊i/t⌋: the target bins before the last
 * (head) are the same for all of them, the last starts at a = (t − 1)·per.
 * ln Σq with KL_EPS in it is kept for the last (qint, eps) seen: an empty
 * last target bin leaves qint at the head's. */
struct kl_run {
	const struct kl_prefix *p;
	double total, ln_total;
	struct kl_sum head;
	size_t i0, a; /* the run's first candidate */
	double eps_q, eps_n, eps_ln;
	double best;
	size_t best_i;
};

static double kl_ln_q(struct kl_run *r, const struct kl_sum *acc)
{
	if (acc->eps == 0.0)
		return kl_lnk(acc->qint);
	if (acc->qint != r->eps_q || acc->eps != r->eps_n) {
		r->eps_q = acc->qint;
		r->eps_n = acc->eps;
		r->eps_ln = log(acc->qint + KL_EPS * acc->eps);
	}
	return r->eps_ln;
}

/* Candidates that clip more than half the values are skipped: folding most
 * of the mass into the last bin makes P a spike that Q matches trivially
 * (KL → 0), the algorithm's known collapse on small groups; calibration
 * clips outliers, not the bulk. The first least KL wins, so a candidate i
 * with source bins i − 2 and i − 1 empty is not evaluated either: it has
 * the same counts, sums and folded bin as i − 1 in the same run, hence the
 * same KL bit for bit, and cannot win (the empty tails beyond the bulk are
 * most of the candidates). */
static void kl_run_scalar(struct kl_run *r, size_t i0, size_t i1)
{
	const struct kl_prefix *p = r->p;

	for (size_t i = i0; i < i1; i++) {
		if (p->cnt[i] < 0.5 * r->total || (i > r->i0 && p->cnt[i] == p->cnt[i - 2]))
			continue;
		struct kl_sum acc = r->head;
		kl_last_bin(p, r->a, i, r->total - p->cnt[i], &acc);
		double d = acc.s / r->total - r->ln_total + kl_ln_q(r, &acc);
		if (d < r->best) {
			r->best = d;
			r->best_i = i;
		}
	}
}

#ifdef RANGE_AVX2
/* kl_run_scalar four candidates at a time, the same double operations in
 * the same order (both branches of kl_last_bin computed, then blended), the
 * ln table gathered with int32 counts. Needs ps = total − cnt[a] > 0 and
 * ci/ni; returns where the scalar loop takes over. */
AVX2_FN static size_t kl_run_avx2(struct kl_run *r, size_t i0, size_t i1)
{
	const struct kl_prefix *p = r->p;
	const __m128i ca = _mm_set1_epi32(p->ci[r->a]), na = _mm_set1_epi32(p->ni[r->a]);
	const __m128i tot = _mm_set1_epi32((int32_t)r->total), zero = _mm_setzero_si128();
	const __m128i qh = _mm_set1_epi32((int32_t)r->head.qint);
	const __m256d ha = _mm256_set1_pd(p->hlh[r->a]),
	              ps = _mm256_set1_pd(r->total - p->cnt[r->a]);
	const __m256d head = _mm256_set1_pd(r->head.s), total = _mm256_set1_pd(r->total);
	const __m256d ln_total = _mm256_set1_pd(r->ln_total), ln_eps = _mm256_set1_pd(kl_ln_eps);
	const __m256d half = _mm256_set1_pd(0.5 * r->total), inf = _mm256_set1_pd(GSL_POSINF);
	size_t i = i0;

	for (; i + 4 <= i1; i += 4) {
		if (i > r->i0 && p->ci[i + 3] == p->ci[i - 2])
			continue;
		__m128i c = _mm_loadu_si128((const __m128i *)(p->ci + i));
		__m128i cm = _mm_loadu_si128((const __m128i *)(p->ci + i - 1));
		__m128i hs = _mm_sub_epi32(c, ca), out = _mm_sub_epi32(tot, c);
		__m128i last = _mm_sub_epi32(c, cm), pl = _mm_add_epi32(last, out);
		__m128i fold = _mm_cmpgt_epi32(out, zero), empty = _mm_cmpeq_epi32(hs, zero);
		__m128i nnz = _mm_sub_epi32(_mm_loadu_si128((const __m128i *)(p->ni + i)), na);
		nnz = _mm_sub_epi32(nnz, _mm_and_si128(fold, _mm_cmpeq_epi32(last, zero)));
		__m256d h = _mm256_loadu_pd(p->hlh + i), hm = _mm256_loadu_pd(p->hlh + i - 1);
		__m256d f = _mm256_sub_pd(_mm256_mul_pd(_mm256_cvtepi32_pd(pl),
		                                        _mm256_i32gather_pd(kl_ln_table, pl, 8)),
		                          _mm256_sub_pd(h, hm));
		f = _mm256_and_pd(f, _mm256_castsi256_pd(_mm256_cvtepi32_epi64(fold)));
		__m256d s = _mm256_add_pd(_mm256_sub_pd(h, ha), f);
		__m256d lr = _mm256_sub_pd(_mm256_i32gather_pd(kl_ln_table, hs, 8),
		                           _mm256_i32gather_pd(kl_ln_table, nnz, 8));
		__m256d lq = _mm256_i32gather_pd(kl_ln_table, _mm_add_epi32(qh, hs), 8);
		if (_mm_movemask_epi8(empty)) {
			struct kl_sum acc = {.qint = r->head.qint, .eps = 1.0};
			__m256d e = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(empty));
			lr = _mm256_blendv_pd(lr, ln_eps, e);
			lq = _mm256_blendv_pd(lq, _mm256_set1_pd(kl_ln_q(r, &acc)), e);
		}
		__m256d d = _mm256_add_pd(
		        _mm256_sub_pd(
		                _mm256_div_pd(
		                        _mm256_add_pd(head,
		                                      _mm256_sub_pd(s, _mm256_mul_pd(ps, lr))),
		                        total),
		                ln_total),
		        lq);
		d = _mm256_blendv_pd(d, inf,
		                     _mm256_cmp_pd(_mm256_cvtepi32_pd(c), half, _CMP_LT_OQ));
		if (!_mm256_movemask_pd(_mm256_cmp_pd(d, _mm256_set1_pd(r->best), _CMP_LT_OQ)))
			continue;
		double dv[4];
		_mm256_storeu_pd(dv, d);
		for (size_t l = 0; l < 4; l++) {
			if (dv[l] < r->best) {
				r->best = dv[l];
				r->best_i = i + l;
			}
		}
	}
	return i;
}
#endif

/* All candidates i = t..bins, run by run of the same per = ⌊i/t⌋ (every
 * candidate of a run clipping more than half the values: skipped whole). */
static size_t kl_best_bin(const struct kl_prefix *p, size_t t)
{
	struct kl_run r = {.p = p, .total = p->cnt[p->bins], .best = GSL_POSINF, .best_i = p->bins};

	struct kl_sum heads[2];
	size_t next = 0; /* the run whose head is heads[1] */

	r.ln_total = log(r.total);
	r.eps_q = -1.0;
	for (size_t per = 1; per * t <= p->bins; per++) {
		size_t i0 = per * t, i1 = i0 + t < p->bins + 1 ? i0 + t : p->bins + 1, i = i0;
		if (p->cnt[i1 - 1] < 0.5 * r.total)
			continue;
		r.i0 = i0;
		r.a = (t - 1) * per;
		if (per == next) {
			r.head = heads[1];
		} else if (p->ci && (per + 1) * t <= p->bins) {
			kl_head2(p, t, per, heads);
			r.head = heads[0];
			next = per + 1;
		} else {
			kl_head(p, t, per, &r.head);
		}
#ifdef RANGE_AVX2
		if (p->ci && r.total - p->cnt[r.a] > 0.0 && range_avx2())
			i = kl_run_avx2(&r, i0, i1);
#endif
		kl_run_scalar(&r, i, i1);
	}
	return r.best_i;
}

/* The threshold on |x|, given the number of target bins (levels on one side). */
static int kl_threshold(const struct range_job *j, size_t target, double *thr, struct qs_error *err)
{
	size_t bins = kl_bins(j->n, target);

	if (target >= bins || j->amax == 0.0) {
		*thr = j->amax;
		return 0;
	}
	call_once(&kl_ln_once, kl_ln_fill);
	/* one block: h and three prefixes (double), the count tables, ci/ni */
	bool small = j->n < KL_LN_TABLE;
	double *buf = malloc(4 * (bins + 1) * sizeof *buf + KL_TABLES * bins * sizeof(uint32_t) +
	                     (small ? 2 * (bins + 1) * sizeof(int32_t) : 0));
	if (!buf)
		return qs_error_set(err, QS_ERR_NOMEM, "kl: out of memory");
	uint32_t *tab = (uint32_t *)(buf + 4 * (bins + 1));
	int32_t *ci = small ? (int32_t *)(tab + KL_TABLES * bins) : NULL;
	struct kl_prefix p = {.bins = bins, .cnt = buf + bins + 1, .ci = ci};
	p.nz = p.cnt + bins + 1;
	p.hlh = p.nz + bins + 1;
	p.ni = ci ? ci + bins + 1 : NULL;
	if (ci) {
		kl_count_tables(j->x, j->n, (double)bins / j->amax, bins, tab);
		kl_prefix_fill_small(tab, &p);
	} else {
		kl_histogram(j, j->amax, bins, tab, buf);
		kl_prefix_fill(buf, &p);
	}
	*thr = j->amax * (double)kl_best_bin(&p, target) / (double)bins;
	free(buf);
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
 * the zero point z and use hn = z − qmin, hp = qmax − z). range.h has the
 * algorithm; the constants below set its sizes and cost limits. */
enum {
	MSE_EXACT_MAX = 1024, /* groups up to this size are searched on their values */
	MSE_BINS_MIN = 64,    /* histogram of larger groups: n/4 bins, 64..2048 */
	MSE_BINS_MAX = 2048,
	MSE_SMOOTH_SPAN = 64,    /* more codes: rounding noise modelled as s²/12 */
	MSE_SWEEP_EVENTS = 4096, /* full exact sweep while n·(hn + hp) ≤ this */
	MSE_SWEEP_N = 16,        /* ... and n ≤ this */
	MSE_GRID = 21,     /* geometric grid from s_max·2⁻¹⁰ to s_max, and 1.25·s_max */
	MSE_GOLDEN = 10,   /* golden-section steps in the best grid cell */
	MSE_GRID_FEW = 21, /* ... the same on exact values (n ≤ MSE_EXACT_MAX) */
	MSE_GOLDEN_FEW = 10,
	MSE_SIDE_GRID_FEW = 9,
	MSE_AFFINE_TINY = 64,   /* affine groups this small: one dense scan, around the best, */
	MSE_SIDE_GRID_TINY = 6, /* ... coarser clip-end searches */
	MSE_GOLDEN_TINY = 6,
	MSE_SIDE_GRID = 13, /* affine: grid per clip end, 2⁻⁶ .. 1 of the end */
	MSE_SIDE_ROUNDS = 1,
	MSE_LOCAL = 32, /* exact values: scan of ±MSE_LOCAL_SPAN around the best */
	MSE_DENSE = 24, /* points of a dense scan (even) */
	MSE_PROBES = 3,
	MSE_PROBE_LLOYD = 2, /* refinement passes after a winning probe */
	MSE_PROBE_SPAN = 31, /* probes from 6 bits up: coarser codes wobble less */
	MSE_LLOYD = 3,       /* alternating refinement passes, at most */
	MSE_ZERO_ROUNDS = 1, /* affine: exact best zero point, re-refined */
	MSE_ZERO_SPAN_MAX = 4096,
	MSE_ZERO_NEAR_SPAN = 63, /* up to 6 bits: also search z ± 1 */
	MSE_BLOCK = 256,         /* float partial sums flushed to double every so many values */
};
#define MSE_NEAR       0.15 /* affine on values: z ± 1 searched within ±15 % of the scale */
#define MSE_PROBE_STEP 0.008
#define MSE_WINDOW     0.06               /* relative half-width of the dense scans */
#define MSE_GOLD       0.3819660112501051 /* 2 − φ */

struct mse_codes {
	int hn, hp;
};

/* Nearest code, ties up (the final comparison goes through the runtime's
 * rounding). The shift makes truncation a floor for |v| ≤ 2^16. */
static inline double mse_code(double v, const struct mse_codes *c)
{
	double lo = -c->hn, hi = c->hp;

	v = v > lo ? v : lo; /* NaN lands on lo */
	v = v < hi ? v : hi;
	return (double)(int32_t)(v + 65536.5) - 65536.0;
}

/* One pass over the values at scale s: e = Σ(x − s·c)², a = Σx·c, b = Σc²
 * (c the nearest code). Float arithmetic four at a time, partial sums
 * flushed to double every MSE_BLOCK values: d = x − s·c is small and
 * accurate in float, so e keeps ~1e-6 relative accuracy; a/b only steer. */
struct mse_acc {
	double e, a, b;
};

static void mse_acc_scalar(const float *x, size_t n, double s, const struct mse_codes *c,
                           struct mse_acc *acc)
{
	double inv = 1.0 / s;

	for (size_t i = 0; i < n; i++) {
		double q = mse_code(x[i] * inv, c), d = x[i] - s * q;
		acc->e += d * d;
		acc->a += x[i] * q;
		acc->b += q * q;
	}
}

#ifdef __SSE2__
static double hsum_ps(__m128 v)
{
	float f[4];
	_mm_storeu_ps(f, v);
	return ((double)f[0] + f[1]) + ((double)f[2] + f[3]);
}

/* Nearest codes of four values (round half to even by 1.5·2^23, clamped). */
static inline __m128 mse_q4(__m128 v, __m128 inv, __m128 lo, __m128 hi)
{
	const __m128 magic = _mm_set1_ps(12582912.0f);
	__m128 q = _mm_sub_ps(_mm_add_ps(_mm_mul_ps(v, inv), magic), magic);
	return _mm_min_ps(_mm_max_ps(q, lo), hi);
}
#endif

#ifdef RANGE_AVX2
/* The eight floats of v in double as ((f0 + f1) + (f2 + f3)) + ((f4 + f5) +
 * (f6 + f7)), paired by horizontal adds: [f0+f1, f4+f5, f2+f3, f6+f7]. */
#define HSUM_PAIRS(v)                                                                              \
	_mm256_hadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),                                 \
	               _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)))

AVX2_FN static inline __attribute__((always_inline)) double hsum_ps256(__m256 v)
{
	__m256d p = HSUM_PAIRS(v);
	__m128d q = _mm_add_pd(_mm256_castpd256_pd128(p), _mm256_extractf128_pd(p, 1));
	return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}

/* hsum_ps256 of a and b (the same additions), added to *ra and *rb. */
AVX2_FN static inline __attribute__((always_inline)) void hsum2_ps256(__m256 a, __m256 b,
                                                                      double *ra, double *rb)
{
	__m256d pa = HSUM_PAIRS(a), pb = HSUM_PAIRS(b);
	__m256d q = _mm256_add_pd(_mm256_permute2f128_pd(pa, pb, 0x20),
	                          _mm256_permute2f128_pd(pa, pb, 0x31));
	__m128d r = _mm_hadd_pd(_mm256_castpd256_pd128(q), _mm256_extractf128_pd(q, 1));
	*ra += _mm_cvtsd_f64(r);
	*rb += _mm_cvtsd_f64(_mm_unpackhi_pd(r, r));
}

/* Nearest codes of eight values: v·inv + 1.5·2²³ in one rounding (a tie
 * of v·inv itself can round the other way than the SSE2 pass's; the
 * search only steers by these sums); clamped to the codes when `clamp`
 * (a block whose extremes need no clamp has no value that does). */
AVX2_FN static inline __attribute__((always_inline)) __m256 mse_q8(__m256 v, __m256 inv, __m256 lo,
                                                                   __m256 hi, bool clamp)
{
	const __m256 magic = _mm256_set1_ps(12582912.0f);
	__m256 q = _mm256_sub_ps(_mm256_fmadd_ps(v, inv, magic), magic);
	return clamp ? _mm256_min_ps(_mm256_max_ps(q, lo), hi) : q;
}

/* The constants of one scale for the eight-wide passes. */
struct mse8 {
	__m256 inv, s, lo, hi;
	float finv, flo, fhi;
};

AVX2_FN static void mse8_init(struct mse8 *k, double s, const struct mse_codes *c)
{
	k->finv = (float)(1.0 / s);
	k->flo = (float)-c->hn;
	k->fhi = (float)c->hp;
	k->inv = _mm256_set1_ps(k->finv);
	k->s = _mm256_set1_ps((float)s);
	k->lo = _mm256_set1_ps(k->flo);
	k->hi = _mm256_set1_ps(k->fhi);
}

/* Whether a block with extremes bd[0] ≤ bd[1] (mse_bounds) has a value
 * whose code mse_q8 clamps: v·inv + 1.5·2²³ rounded once is monotonic in
 * v, so the extremes' codes bound every other's. No bounds: it may; nor
 * is a NaN code trusted (0·inv when 1/s overflowed the float: the clamp
 * turns it into a code). */
AVX2_FN static inline bool mse8_clamps(const struct mse8 *k, const float *bd)
{
	const float magic = 12582912.0f;

	return !bd || !(__builtin_fmaf(bd[0], k->finv, magic) - magic >= k->flo) ||
	       !(__builtin_fmaf(bd[1], k->finv, magic) - magic <= k->fhi);
}

/* One MSE_BLOCK block of mse_pass_avx2 (inlined into one loop per case). */
AVX2_FN static inline __attribute__((always_inline)) void
mse_block_avx2(const float *x, const struct mse8 *k, bool clamp, bool sums, struct mse_acc *acc)
{
	__m256 e0 = _mm256_setzero_ps(), e1 = e0, a0 = e0, a1 = e0, b0 = e0, b1 = e0;

	for (size_t i = 0; i < MSE_BLOCK; i += 16) {
		__m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
		__m256 q0 = mse_q8(v0, k->inv, k->lo, k->hi, clamp);
		__m256 q1 = mse_q8(v1, k->inv, k->lo, k->hi, clamp);
		__m256 d0 = _mm256_fnmadd_ps(q0, k->s, v0), d1 = _mm256_fnmadd_ps(q1, k->s, v1);
		e0 = _mm256_fmadd_ps(d0, d0, e0);
		e1 = _mm256_fmadd_ps(d1, d1, e1);
		if (sums) {
			a0 = _mm256_fmadd_ps(v0, q0, a0);
			a1 = _mm256_fmadd_ps(v1, q1, a1);
			b0 = _mm256_fmadd_ps(q0, q0, b0);
			b1 = _mm256_fmadd_ps(q1, q1, b1);
		}
	}
	if (!sums) {
		acc->e += hsum_ps256(_mm256_add_ps(e0, e1));
		return;
	}
	hsum2_ps256(_mm256_add_ps(e0, e1), _mm256_add_ps(a0, a1), &acc->e, &acc->a);
	acc->b += hsum_ps256(_mm256_add_ps(b0, b1));
}

/* mse_pass, mse_err_values (a = b = 0 wanted) and mse_pass2 eight values at
 * a time over whole blocks (bd: the blocks' extremes, or NULL); return how
 * many values they did. */
AVX2_FN static size_t mse_pass_avx2(const float *x, size_t n, const float *bd, double s,
                                    const struct mse_codes *c, bool sums, struct mse_acc *acc)
{
	struct mse8 k;
	size_t i = 0;

	mse8_init(&k, s, c);
	for (; i + MSE_BLOCK <= n; i += MSE_BLOCK, bd = bd ? bd + 2 : NULL) {
		bool clamp = mse8_clamps(&k, bd);
		if (clamp && sums)
			mse_block_avx2(x + i, &k, true, true, acc);
		else if (clamp)
			mse_block_avx2(x + i, &k, true, false, acc);
		else if (sums)
			mse_block_avx2(x + i, &k, false, true, acc);
		else
			mse_block_avx2(x + i, &k, false, false, acc);
	}
	return i;
}

/* One block of mse_pass2_avx2. */
AVX2_FN static inline __attribute__((always_inline)) void mse_block2_avx2(const float *x,
                                                                          const struct mse8 *k0,
                                                                          const struct mse8 *k1,
                                                                          bool clamp, double e[2])
{
	__m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;

	for (size_t i = 0; i < MSE_BLOCK; i += 16) {
		__m256 v = _mm256_loadu_ps(x + i), w = _mm256_loadu_ps(x + i + 8);
		__m256 d0 = _mm256_fnmadd_ps(mse_q8(v, k0->inv, k0->lo, k0->hi, clamp), k0->s, v);
		__m256 d1 = _mm256_fnmadd_ps(mse_q8(v, k1->inv, k1->lo, k1->hi, clamp), k1->s, v);
		__m256 f0 = _mm256_fnmadd_ps(mse_q8(w, k0->inv, k0->lo, k0->hi, clamp), k0->s, w);
		__m256 f1 = _mm256_fnmadd_ps(mse_q8(w, k1->inv, k1->lo, k1->hi, clamp), k1->s, w);
		a0 = _mm256_fmadd_ps(d0, d0, a0);
		a1 = _mm256_fmadd_ps(d1, d1, a1);
		b0 = _mm256_fmadd_ps(f0, f0, b0);
		b1 = _mm256_fmadd_ps(f1, f1, b1);
	}
	hsum2_ps256(_mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1), &e[0], &e[1]);
}

AVX2_FN static size_t mse_pass2_avx2(const float *x, size_t n, const float *bd, const double s[2],
                                     const struct mse_codes *c, double e[2])
{
	struct mse8 k0, k1;
	size_t i = 0;

	mse8_init(&k0, s[0], c);
	mse8_init(&k1, s[1], c);
	for (; i + MSE_BLOCK <= n; i += MSE_BLOCK, bd = bd ? bd + 2 : NULL) {
		if (mse8_clamps(&k0, bd) || mse8_clamps(&k1, bd))
			mse_block2_avx2(x + i, &k0, &k1, true, e);
		else
			mse_block2_avx2(x + i, &k0, &k1, false, e);
	}
	return i;
}

/* The least and greatest value of each whole MSE_BLOCK block of x, in
 * bd[2k] and bd[2k + 1] (the values are finite). */
AVX2_FN static void mse_bounds_avx2(const float *x, size_t n, float *bd)
{
	for (size_t b = 0; b + MSE_BLOCK <= n; b += MSE_BLOCK, bd += 2) {
		__m256 lo0 = _mm256_loadu_ps(x + b), hi0 = lo0, lo1 = _mm256_loadu_ps(x + b + 8),
		       hi1 = lo1;
		for (size_t i = b + 16; i < b + MSE_BLOCK; i += 16) {
			__m256 v = _mm256_loadu_ps(x + i), w = _mm256_loadu_ps(x + i + 8);
			lo0 = _mm256_min_ps(lo0, v);
			hi0 = _mm256_max_ps(hi0, v);
			lo1 = _mm256_min_ps(lo1, w);
			hi1 = _mm256_max_ps(hi1, w);
		}
		float l[8], h[8];
		_mm256_storeu_ps(l, _mm256_min_ps(lo0, lo1));
		_mm256_storeu_ps(h, _mm256_max_ps(hi0, hi1));
		bd[0] = l[0];
		bd[1] = h[0];
		for (int k = 1; k < 8; k++) {
			bd[0] = l[k] < bd[0] ? l[k] : bd[0];
			bd[1] = h[k] > bd[1] ? h[k] : bd[1];
		}
	}
}
#endif

/* (Without `sums` a and b may be left out: the AVX2 blocks skip them.) */
static struct mse_acc mse_pass(const float *x, size_t n, const float *bd, double s,
                               const struct mse_codes *c, bool sums)
{
	struct mse_acc acc = {0};
	size_t i = 0;

#ifdef RANGE_AVX2
	if (n >= MSE_BLOCK && range_avx2())
		i = mse_pass_avx2(x, n, bd, s, c, sums, &acc);
#endif
#ifdef __SSE2__
	/* two accumulator sets: the adds' latency, not their number, bounds it */
	const __m128 inv = _mm_set1_ps((float)(1.0 / s)), sv = _mm_set1_ps((float)s);
	const __m128 lo = _mm_set1_ps((float)-c->hn), hi = _mm_set1_ps((float)c->hp);
	while (i + 4 <= n) {
		__m128 e0 = _mm_setzero_ps(), a0 = e0, b0 = e0, e1 = e0, a1 = e0, b1 = e0;
		size_t end = i + MSE_BLOCK < n ? i + MSE_BLOCK : n;
		for (; i + 8 <= end; i += 8) {
			__m128 v0 = _mm_loadu_ps(x + i), v1 = _mm_loadu_ps(x + i + 4);
			__m128 q0 = mse_q4(v0, inv, lo, hi), q1 = mse_q4(v1, inv, lo, hi);
			__m128 d0 = _mm_sub_ps(v0, _mm_mul_ps(q0, sv)),
			       d1 = _mm_sub_ps(v1, _mm_mul_ps(q1, sv));
			e0 = _mm_add_ps(e0, _mm_mul_ps(d0, d0));
			e1 = _mm_add_ps(e1, _mm_mul_ps(d1, d1));
			a0 = _mm_add_ps(a0, _mm_mul_ps(v0, q0));
			a1 = _mm_add_ps(a1, _mm_mul_ps(v1, q1));
			b0 = _mm_add_ps(b0, _mm_mul_ps(q0, q0));
			b1 = _mm_add_ps(b1, _mm_mul_ps(q1, q1));
		}
		for (; i + 4 <= end; i += 4) {
			__m128 v = _mm_loadu_ps(x + i), q = mse_q4(v, inv, lo, hi);
			__m128 d = _mm_sub_ps(v, _mm_mul_ps(q, sv));
			e0 = _mm_add_ps(e0, _mm_mul_ps(d, d));
			a0 = _mm_add_ps(a0, _mm_mul_ps(v, q));
			b0 = _mm_add_ps(b0, _mm_mul_ps(q, q));
		}
		acc.e += hsum_ps(_mm_add_ps(e0, e1));
		acc.a += hsum_ps(_mm_add_ps(a0, a1));
		acc.b += hsum_ps(_mm_add_ps(b0, b1));
	}
#endif
	mse_acc_scalar(x + i, n - i, s, c, &acc);
	return acc;
}

/* Σ(x − s·c)² alone, same arithmetic as mse_pass (the search's
 * evaluations on exact values). */
static double mse_err_values(const float *x, size_t n, const float *bd, double s,
                             const struct mse_codes *c)
{
	double e = 0.0;
	size_t i = 0;

#ifdef RANGE_AVX2
	if (n >= MSE_BLOCK && range_avx2()) {
		struct mse_acc acc = {0};
		i = mse_pass_avx2(x, n, bd, s, c, false, &acc);
		e = acc.e;
	}
#endif
#ifdef __SSE2__
	const __m128 inv = _mm_set1_ps((float)(1.0 / s)), sv = _mm_set1_ps((float)s);
	const __m128 lo = _mm_set1_ps((float)-c->hn), hi = _mm_set1_ps((float)c->hp);
	while (i + 4 <= n) {
		__m128 a = _mm_setzero_ps(), b = a;
		size_t end = i + MSE_BLOCK < n ? i + MSE_BLOCK : n;
		for (; i + 8 <= end; i += 8) {
			__m128 v = _mm_loadu_ps(x + i), w = _mm_loadu_ps(x + i + 4);
			__m128 d = _mm_sub_ps(v, _mm_mul_ps(mse_q4(v, inv, lo, hi), sv));
			__m128 f = _mm_sub_ps(w, _mm_mul_ps(mse_q4(w, inv, lo, hi), sv));
			a = _mm_add_ps(a, _mm_mul_ps(d, d));
			b = _mm_add_ps(b, _mm_mul_ps(f, f));
		}
		for (; i + 4 <= end; i += 4) {
			__m128 v = _mm_loadu_ps(x + i);
			__m128 d = _mm_sub_ps(v, _mm_mul_ps(mse_q4(v, inv, lo, hi), sv));
			a = _mm_add_ps(a, _mm_mul_ps(d, d));
		}
		e += hsum_ps(_mm_add_ps(a, b));
	}
#endif
	if (i < n) {
		struct mse_acc acc = {0};
		mse_acc_scalar(x + i, n - i, s, c, &acc);
		e += acc.e;
	}
	return e;
}

/* Σ(x − s·c)² at two scales in one pass (the probes), same arithmetic as
 * mse_pass. */
static void mse_pass2(const float *x, size_t n, const float *bd, const double s[2],
                      const struct mse_codes *c, double e[2])
{
	size_t i = 0;

	e[0] = e[1] = 0.0;
#ifdef RANGE_AVX2
	if (n >= MSE_BLOCK && range_avx2())
		i = mse_pass2_avx2(x, n, bd, s, c, e);
#endif
#ifdef __SSE2__
	const __m128 inv0 = _mm_set1_ps((float)(1.0 / s[0])), sv0 = _mm_set1_ps((float)s[0]);
	const __m128 inv1 = _mm_set1_ps((float)(1.0 / s[1])), sv1 = _mm_set1_ps((float)s[1]);
	const __m128 lo = _mm_set1_ps((float)-c->hn), hi = _mm_set1_ps((float)c->hp);
	while (i + 8 <= n) {
		__m128 a0 = _mm_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
		size_t end = i + MSE_BLOCK < n ? i + MSE_BLOCK : n;
		for (; i + 8 <= end; i += 8) {
			__m128 v = _mm_loadu_ps(x + i), w = _mm_loadu_ps(x + i + 4);
			__m128 d0 = _mm_sub_ps(v, _mm_mul_ps(mse_q4(v, inv0, lo, hi), sv0));
			__m128 d1 = _mm_sub_ps(v, _mm_mul_ps(mse_q4(v, inv1, lo, hi), sv1));
			__m128 f0 = _mm_sub_ps(w, _mm_mul_ps(mse_q4(w, inv0, lo, hi), sv0));
			__m128 f1 = _mm_sub_ps(w, _mm_mul_ps(mse_q4(w, inv1, lo, hi), sv1));
			a0 = _mm_add_ps(a0, _mm_mul_ps(d0, d0));
			a1 = _mm_add_ps(a1, _mm_mul_ps(d1, d1));
			b0 = _mm_add_ps(b0, _mm_mul_ps(f0, f0));
			b1 = _mm_add_ps(b1, _mm_mul_ps(f1, f1));
		}
		e[0] += hsum_ps(_mm_add_ps(a0, b0));
		e[1] += hsum_ps(_mm_add_ps(a1, b1));
	}
#endif
	for (int k = 0; k < 2; k++) {
		struct mse_acc acc = {0};
		mse_acc_scalar(x + i, n - i, s[k], c, &acc);
		e[k] += acc.e;
	}
}

/* Whether a has a strictly lower exact squared error (job_sse2) than b.
 * With one zero point, mse's float pass at both float scales decides when
 * the two differ by more than SSE_MARGIN: per value the pass's term
 * differs from the exact one only by the rounding of x̂ = c·s (at most
 * 2⁻²⁴·|c|·s, summed ≤ 2⁻²³·s·√(E·Σc²), ~1e-5 of E) and, where v·(1/s)
 * and v/s round to neighbouring codes (within a few ulp of a tie), by at
 * most 2s times that distance (≤ 2⁻²¹·s·Σ|x|, under 3e-4 of E even if
 * every value sat on a tie); its float partial sums of 32 positive terms
 * add at most 2e-6. Nearer than SSE_MARGIN (1e-3, over twice the sum of
 * those bounds), both are computed exactly: the same choice as always
 * computing them, for a third of the cost. Groups under MSE_BLOCK values
 * go straight to the exact sums (cheap there, and closer calls). */
#define SSE_MARGIN 1e-3

/* job_better with a's float-pass error already known (*ea_pass: exactly
 * what mse_pass2 gives for a), or NULL. */
static bool job_better_e(const struct range_job *j, const struct qparam *a, const double *ea_pass,
                         const struct qparam *b)
{
	if (a->zero_point == b->zero_point && j->n >= MSE_BLOCK) {
		struct mse_codes c = {.hn = (int)(a->zero_point - j->qmin),
		                      .hp = (int)(j->qmax - a->zero_point)};
		double sv[2] = {a->scale, b->scale}, e[2];
		if (ea_pass) {
			e[0] = *ea_pass;
			e[1] = mse_err_values(j->x, j->n, j->bounds, sv[1], &c);
		} else {
			mse_pass2(j->x, j->n, j->bounds, sv, &c, e);
		}
		if (e[0] * (1.0 + SSE_MARGIN) < e[1])
			return true;
		if (e[1] * (1.0 + SSE_MARGIN) < e[0])
			return false;
	}
	double ea, eb;
	job_sse2(j, a, b, &ea, &eb);
	return ea < eb;
}

static bool job_better(const struct range_job *j, const struct qparam *a, const struct qparam *b)
{
	return job_better_e(j, a, NULL, b);
}

/* The group for the scale search: its values (small groups), or a uniform
 * histogram over [min, max] kept as prefix sums of count, Σx, Σx² at the
 * bin edges; inside a bin the sums are interpolated linearly. */
/* The next breakpoint of one value: at scale s its code drops from q to
 * q − 1 (|x|/s passes q − ½). */
struct mse_event {
	double s, m; /* m = |x| */
	int32_t q;
};

struct mse_model {
	const float *x;       /* exact values when cum is NULL */
	const float *bd;      /* their blocks' extremes (range_job.bounds) */
	struct mse_event *ev; /* tiny groups: the sweep's heap (n entries) */
	size_t n, m;
	double *cum; /* 3·(m + 1) */
	double lo, inv, tot[3];
};

#ifdef RANGE_AVX2
/* mse_model_init's running sums over the bins' counts n (below 2³¹) four
 * bins at a time: the terms n, n·mid and n·(mid² + w²/12) of four bins by
 * the same double operations in vectors, then added in order (those adds
 * are the chain; an empty bin adds ±0, which changes no sum). From and
 * into c[3]; returns how many bins it did. */
AVX2_FN static size_t mse_cum_avx2(const uint32_t *cnt, size_t m, double lo, double w, double *cum,
                                   double c[3])
{
	const __m256d vlo = _mm256_set1_pd(lo), vw = _mm256_set1_pd(w),
	              w12 = _mm256_set1_pd(w * w / 12.0), four = _mm256_set1_pd(4.0);
	__m256d kh = _mm256_setr_pd(0.5, 1.5, 2.5, 3.5); /* k + ½ */
	double c0 = c[0], c1 = c[1], c2 = c[2];
	size_t k = 0;

	for (; k + 4 <= m; k += 4, kh = _mm256_add_pd(kh, four)) {
		__m256d n = _mm256_cvtepi32_pd(_mm_loadu_si128((const __m128i *)(cnt + k)));
		__m256d mid = _mm256_add_pd(vlo, _mm256_mul_pd(kh, vw));
		__m256d t1 = _mm256_mul_pd(n, mid);
		__m256d t2 = _mm256_mul_pd(n, _mm256_add_pd(_mm256_mul_pd(mid, mid), w12));
		/* the terms from the registers (a stack copy's reloads wait on
		 * store forwarding) */
		__m128d n_lo = _mm256_castpd256_pd128(n), n_hi = _mm256_extractf128_pd(n, 1);
		__m128d a_lo = _mm256_castpd256_pd128(t1), a_hi = _mm256_extractf128_pd(t1, 1);
		__m128d b_lo = _mm256_castpd256_pd128(t2), b_hi = _mm256_extractf128_pd(t2, 1);
		double *e = cum + 3 * k;
#define MSE_CUM_ADD(nv, av, bv, hi, at)                                                            \
	do {                                                                                       \
		c0 += _mm_cvtsd_f64(hi ? _mm_unpackhi_pd(nv, nv) : nv);                            \
		c1 += _mm_cvtsd_f64(hi ? _mm_unpackhi_pd(av, av) : av);                            \
		c2 += _mm_cvtsd_f64(hi ? _mm_unpackhi_pd(bv, bv) : bv);                            \
		(at)[3] = c0;                                                                      \
		(at)[4] = c1;                                                                      \
		(at)[5] = c2;                                                                      \
	} while (0)
		MSE_CUM_ADD(n_lo, a_lo, b_lo, 0, e);
		MSE_CUM_ADD(n_lo, a_lo, b_lo, 1, e + 3);
		MSE_CUM_ADD(n_hi, a_hi, b_hi, 0, e + 6);
		MSE_CUM_ADD(n_hi, a_hi, b_hi, 1, e + 9);
#undef MSE_CUM_ADD
	}
	c[0] = c0;
	c[1] = c1;
	c[2] = c2;
	return k;
}
#endif

/* Counts only (one increment per value); Σx and Σx² of a bin are taken as
 * those of values spread evenly over it, which the refinement on the
 * values corrects. */
static int mse_model_init(struct mse_model *md, const struct range_job *j)
{
	*md = (struct mse_model){.x = j->x, .bd = j->bounds, .n = j->n};
	/* exact values also when the float bin arithmetic would not be finite
	 * (a spread of a few denormals, or one wider than FLT_MAX) */
	if (j->n <= MSE_EXACT_MAX || !((double)MSE_BINS_MAX / (j->max - j->min) < 0x1p100) ||
	    !((float)(j->max - j->min) < FLT_MAX)) {
		if (j->n > MSE_SWEEP_N)
			return 0;
		md->ev = malloc(j->n * sizeof(struct mse_event));
		return md->ev ? 0 : -1;
	}
	size_t m = j->n / 4;
	m = m < MSE_BINS_MIN ? MSE_BINS_MIN : m > MSE_BINS_MAX ? MSE_BINS_MAX : m;
	uint32_t *cnt = malloc((m + 2) * sizeof *cnt); /* rounding can reach bin m + 1 */
	double *cum = malloc(3 * (m + 1) * sizeof *cum);
	double w = (j->max - j->min) / (double)m;
	/* x − min ≥ 0, so k = ⌊(x − lo)·inv⌋ in float ∈ [0, m] (m, m + 1 only
	 * by rounding): pct_bin with no clamp short of m + 1 */
	struct pct_hist h = {.lo = (float)j->min,
	                     .inv = (float)((double)m / (j->max - j->min)),
	                     .last = (int32_t)m + 1};
	if (!cnt || !cum || bin_counts(j->x, j->n, &h, m + 2, cnt)) {
		free(cnt);
		free(cum);
		return -1;
	}
	cnt[m - 1] += cnt[m] + cnt[m + 1];
	double c[3] = {0.0, 0.0, 0.0};
	size_t k = 0;
	cum[0] = cum[1] = cum[2] = 0.0;
#ifdef RANGE_AVX2
	if (j->n <= INT32_MAX && range_avx2())
		k = mse_cum_avx2(cnt, m, j->min, w, cum, c);
#endif
	/* running sums in registers; an empty bin would add (±)0 to each,
	 * which leaves them as they are, so it adds nothing */
	double c0 = c[0], c1 = c[1], c2 = c[2];
	for (; k < m; k++) {
		if (cnt[k]) {
			double n = cnt[k], mid = j->min + ((double)k + 0.5) * w;
			c0 += n;
			c1 += n * mid;
			c2 += n * (mid * mid + w * w / 12.0);
		}
		double *e = cum + 3 * k;
		e[3] = c0;
		e[4] = c1;
		e[5] = c2;
	}
	free(cnt);
	md->cum = cum;
	md->m = m;
	md->lo = j->min;
	md->inv = (double)m / (j->max - j->min);
	memcpy(md->tot, cum + 3 * m, sizeof md->tot);
	return 0;
}

/* Count, Σx, Σx² of the values below u. */
static void mse_cum(const struct mse_model *md, double u, double out[3])
{
	double t = (u - md->lo) * md->inv;

	if (!(t > 0.0)) {
		out[0] = out[1] = out[2] = 0.0;
		return;
	}
	if (t >= (double)md->m) {
		memcpy(out, md->tot, sizeof md->tot);
		return;
	}
	size_t k = (size_t)t;
	double f = t - (double)k;
	const double *a = md->cum + 3 * k;
	for (int i = 0; i < 3; i++)
		out[i] = a[i] + f * (a[i + 3] - a[i]);
}

/* Squared error of values with sums m[3] all rounded to code q at scale s. */
static inline double mse_code_err(const double m[3], double q, double s)
{
	return m[2] - 2.0 * q * s * m[1] + q * q * s * s * m[0];
}

/* Many codes: exact clipping error, s²/12 per value inside the range. */
static double mse_hist_smooth(const struct mse_model *md, double s, const struct mse_codes *c)
{
	double below[3], upto[3], above[3];

	mse_cum(md, -(c->hn + 0.5) * s, below);
	mse_cum(md, (c->hp + 0.5) * s, upto);
	for (int i = 0; i < 3; i++)
		above[i] = md->tot[i] - upto[i];
	return (upto[0] - below[0]) * s * s / 12.0 + mse_code_err(below, -c->hn, s) +
	       mse_code_err(above, c->hp, s);
}

/* Few codes: every code's share of the histogram, exact up to the
 * interpolation inside the bins that hold a code boundary. */
static double mse_hist_codes(const struct mse_model *md, double s, const struct mse_codes *c)
{
	double lo = md->lo, hi = lo + (double)md->m / md->inv;
	double k0 = fmin(fmax(-c->hn, floor(lo / s + 0.5)), c->hp);
	double k1 = fmax(fmin(c->hp, floor(hi / s + 0.5)), -c->hn);
	double t = ((k0 + 0.5) * s - lo) * md->inv, dt = s * md->inv, sc = 0.0, s1 = 0.0;
	size_t top = md->m - 1;
	double tmax = (double)md->m;

	/* by parts: Σ_k k·ΔS = k1·S_tot − Σ_{k<k1} S(b_k), and
	 * Σ_k k²·ΔC = k1²·C_tot − Σ_{k<k1} (2k + 1)·C(b_k), with b_k the upper
	 * boundary of code k; Σx² needs no boundary at all */
	for (double k = k0; k < k1; k++, t += dt) {
		double tt = t > 0.0 ? (t < tmax ? t : tmax) : 0.0;
		size_t i = (size_t)tt < top ? (size_t)tt : top;
		double f = tt - (double)i;
		const double *e = md->cum + 3 * i;
		s1 += e[1] + f * (e[4] - e[1]);
		sc += (2.0 * k + 1.0) * (e[0] + f * (e[3] - e[0]));
	}
	return md->tot[2] - 2.0 * s * (k1 * md->tot[1] - s1) + s * s * (k1 * k1 * md->tot[0] - sc);
}

static double mse_model_err(const struct mse_model *md, double s, const struct mse_codes *c)
{
	if (!md->cum)
		return mse_err_values(md->x, md->n, md->bd, s, c);
	if (c->hn + c->hp > MSE_SMOOTH_SPAN)
		return mse_hist_smooth(md, s, c);
	return mse_hist_codes(md, s, c);
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

/* Minimum of f over [a, b] around the interior point x (f(x) = fx): golden
 * section, keeping the best point seen (E(s) is ragged on few values). */
typedef double (*mse_fn)(const void *ctx, double s);

static double mse_golden(mse_fn f, const void *ctx, double a, double b, double *x_io, double fx,
                         int steps)
{
	double x = *x_io, best = fx;

	for (int it = 0; it < steps; it++) {
		bool right = b - x > x - a;
		double u = right ? x + MSE_GOLD * (b - x) : x - MSE_GOLD * (x - a), fu = f(ctx, u);
		if (fu < fx) {
			if (right)
				a = x;
			else
				b = x;
			x = u;
			fx = fu;
		} else if (right) {
			b = u;
		} else {
			a = u;
		}
		if (fx < best) {
			best = fx;
			*x_io = x;
		}
	}
	return best;
}

/* Minimum over a geometric grid of n points from top·2^(−octaves) to top
 * (plus `extra`·top when extra > 0), then golden section in the cell
 * around the best grid point. */
static double mse_grid_search(mse_fn f, const void *ctx, double top, int n, double octaves,
                              double extra, int steps, double *best_x)
{
	double xv[MSE_GRID + 1], fv[MSE_GRID + 1];
	int m = n + (extra > 0.0), kb = 0;

	double ratio = exp2(octaves / (n - 1));
	xv[n - 1] = top;
	for (int k = n - 1; k-- > 0;)
		xv[k] = xv[k + 1] / ratio;
	if (extra > 0.0)
		xv[n] = extra * top;
	for (int k = 0; k < m; k++) {
		fv[k] = f(ctx, xv[k]);
		if (fv[k] < fv[kb])
			kb = k;
	}
	*best_x = xv[kb];
	double a = xv[kb > 0 ? kb - 1 : 0], b = xv[kb + 1 < m ? kb + 1 : kb];
	if (kb == 0)
		a = xv[0] * 0.5;
	return mse_golden(f, ctx, a, b, best_x, fv[kb], steps);
}

/* ---- exact sweep (tiny groups) ---- */

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

/* Exact minimum over s in [lo, hi] (lo = 0, hi = ∞: over all s > 0):
 * E(s) = Σx² − 2sA + s²B with A = Σ|x|·c, B = Σc² piecewise constant
 * between the scales s = |x|/(q − ½) where a code changes; each piece is a
 * parabola minimised at A/B clipped to the piece. A heap holding each
 * value's next breakpoint merges them in order. Improves (*best_s, *err)
 * when it finds a lower error. */
static void mse_sweep(const float *x, size_t n, struct mse_event *ev, const struct mse_codes *c,
                      double lo, double hi, double *best_s, double *err)
{
	double a = 0.0, b = 0.0, sum2 = 0.0, prev = lo;
	size_t ne = 0;

	for (size_t k = 0; k < n; k++) {
		double v = x[k], m = fabs(v);
		int h = v > 0.0 ? c->hp : v < 0.0 ? c->hn : 0;
		int q = lo > 0.0 && m / lo + 0.5 < h ? (int)(m / lo + 0.5) : h;
		sum2 += v * v;
		a += m * q;
		b += (double)q * q;
		if (q > 0)
			ev[ne++] = (struct mse_event){m / (q - 0.5), m, q};
	}
	for (size_t i = ne / 2; i-- > 0;)
		mse_heap_down(ev, ne, i);
	for (;;) {
		bool last = ne == 0 || ev[0].s > hi;
		double end = last ? hi : ev[0].s;
		if (b > 0.0) {
			double s = a / b < prev ? prev : a / b > end ? end : a / b;
			double v = sum2 - 2.0 * s * a + s * s * b;
			if (v < *err && s > 0.0) {
				*err = v;
				*best_s = s;
			}
		}
		if (last)
			break;
		struct mse_event *e = &ev[0];
		prev = e->s;
		a -= e->m;
		b -= 2.0 * e->q - 1.0;
		if (--e->q > 0)
			e->s = e->m / (e->q - 0.5);
		else
			ev[0] = ev[--ne];
		mse_heap_down(ev, ne, 0);
	}
}

struct mse_line_ctx {
	const struct mse_model *md;
	const struct mse_codes *c;
};

static double mse_line_fn(const void *v, double s)
{
	const struct mse_line_ctx *l = v;
	return mse_model_err(l->md, s, l->c);
}

/* Dense scan of s0·(1 ± MSE_WINDOW) on exact values, two scales a pass. */
static void mse_window(const struct mse_model *md, const struct mse_codes *c, double s0, double *s,
                       double *e)
{
	for (int k = 0; k < MSE_DENSE; k += 2) {
		double sv[2], ev[2];
		for (int h = 0; h < 2; h++)
			sv[h] = s0 * (1.0 + MSE_WINDOW * (2.0 * (k + h) / (MSE_DENSE - 1) - 1.0));
		mse_pass2(md->x, md->n, md->bd, sv, c, ev);
		for (int h = 0; h < 2; h++) {
			if (ev[h] < *e) {
				*e = ev[h];
				*s = sv[h];
			}
		}
	}
}

/* Best scale on the model for fixed codes: grid and golden section; for
 * exact values then dense scans around the best and around s_max (E(s)
 * has many narrow dips, and with few values per code the deepest is often
 * next to s_max). */
static double mse_line(const struct mse_model *md, const struct mse_codes *c, double smax,
                       double *s, bool dense)
{
	struct mse_line_ctx l = {md, c};
	bool few = !md->cum; /* exact values: coarser, the dense scans follow */
	double e = mse_grid_search(mse_line_fn, &l, smax, few ? MSE_GRID_FEW : MSE_GRID, 10.0, 1.25,
	                           few ? MSE_GOLDEN_FEW : MSE_GOLDEN, s);

	if (dense && !md->cum) {
		mse_window(md, c, *s, s, &e);
		mse_window(md, c, smax, s, &e);
	}
	return e;
}

/* Alternate the nearest codes for s and the least-squares s = Σx·c / Σc²
 * for those codes, on the values; keeps the best scale seen. */
static double mse_lloyd_n(const struct range_job *j, const struct mse_codes *c, double *s_io,
                          int iters)
{
	double s = *s_io, best = GSL_POSINF;

	for (int it = 0; it < iters && s > 0.0; it++) {
		/* the last pass's Σx·c and Σc² would steer nothing */
		struct mse_acc acc = mse_pass(j->x, j->n, j->bounds, s, c, it + 1 < iters);
		if (!(acc.e < best))
			break;
		bool small_gain = best - acc.e < 1e-4 * acc.e;
		best = acc.e;
		*s_io = s;
		if (small_gain || acc.b == 0.0 || acc.a / acc.b == s)
			break;
		s = acc.a / acc.b;
	}
	return best;
}

static double mse_lloyd(const struct range_job *j, const struct mse_codes *c, double *s_io)
{
	return mse_lloyd_n(j, c, s_io, MSE_LLOYD);
}

static bool mse_use_sweep(const struct range_job *j, const struct mse_codes *c)
{
	double events = (double)j->n * (c->hn + c->hp);
	return j->n <= MSE_SWEEP_N && events <= MSE_SWEEP_EVENTS;
}

/* ---- zero points (affine) ---- */

static struct mse_codes mse_codes_for_zero(const struct range_job *j, int32_t z)
{
	return (struct mse_codes){.hn = (int)(z - j->qmin), .hp = (int)(j->qmax - z)};
}

/* Exact best zero point for a fixed scale. r = round(x/s) does not depend on
 * z, only the clamp to [qmin − z, qmax − z] does, so one pass builds per-r
 * sums (count, Σx, Σx², over the r the group reaches) and prefix sums price
 * every z in O(1):
 *   E(z) = Σ_{r<−hn} (x + s·hn)² + Σ_{−hn≤r≤hp} (x − s·r)² + Σ_{r>hp} (x − s·hp)².
 * Keeps *z unless another zero point is strictly better. */
static int mse_best_zero(const struct range_job *j, double s, int32_t *z)
{
	int32_t span = j->qmax - j->qmin;
	double rl = fmax(floor(j->min / s + 0.5), -span), rh = fmin(floor(j->max / s + 0.5), span);
	int32_t rlo = (int32_t)rl, len = (int32_t)(rh - rl) + 1;
	double *buf = calloc(4 * ((size_t)len + 1), sizeof *buf);

	if (!buf)
		return -1;
	/* per r: count, Σx, Σx² interleaved at 3·(r − rlo + 1); then prefixes */
	float finv = (float)(1.0 / s), foff = (float)(0.5 - rl);
	float top = (float)(len - 1);
	for (size_t i = 0; i < j->n; i++) {
		float t = j->x[i] * finv + foff; /* clamped before the conversion */
		t = t > 0.0f ? t : 0.0f;
		int32_t k = (int32_t)(t < top ? t : top);
		double v = j->x[i], *e = buf + 3 * ((size_t)k + 1);
		e[0] += 1.0;
		e[1] += v;
		e[2] += v * v;
	}
	double *pin = buf + 3 * ((size_t)len + 1); /* Σ (x − s·r)² below each r */
	pin[0] = 0.0;
	for (int32_t k = 1; k <= len; k++) {
		double r = (double)(rlo + k - 1), *e = buf + 3 * (size_t)k;
		pin[k] = pin[k - 1] + e[2] - 2.0 * s * r * e[1] + s * s * r * r * e[0];
		for (int c = 0; c < 3; c++)
			e[c] += e[c - 3];
	}
	const double *tot = buf + 3 * (size_t)len;
	int32_t bz = *z;
	double best = GSL_POSINF;
	for (int32_t zz = j->qmin; zz <= j->qmax; zz++) {
		double hn = zz - j->qmin, hp = j->qmax - zz;
		/* index of the first r inside [−hn, hp] and one past the last */
		int32_t a = (int32_t)fmin(fmax(-hn - rlo, 0.0), len);
		int32_t b = (int32_t)fmin(fmax(hp - rlo + 1, 0.0), len);
		const double *ea = buf + 3 * (size_t)a, *eb = buf + 3 * (size_t)b;
		double e = ea[2] + 2.0 * s * hn * ea[1] + s * s * hn * hn * ea[0] +
		           (pin[b] - pin[a]) + (tot[2] - eb[2]) - 2.0 * s * hp * (tot[1] - eb[1]) +
		           s * s * hp * hp * (tot[0] - eb[0]);
		if (e < best || (e <= best && zz == *z)) {
			best = e;
			bz = zz;
		}
	}
	*z = bz;
	free(buf);
	return 0;
}

/* Affine clip range [lo, hi] → scale, zero point and codes, as
 * quant_param_from_range forms them (in double). */
struct mse_side_ctx {
	const struct range_job *j;
	const struct mse_model *md;
	double lo, hi; /* the fixed end is read from here */
	bool upper;    /* which end varies */
};

static double mse_affine_err(const struct mse_side_ctx *x, double lo, double hi, double *s,
                             int32_t *z)
{
	const struct range_job *j = x->j;
	double span = (double)j->qmax - j->qmin, zz;

	*s = (hi - lo) / span;
	zz = nearbyint(j->qmin - lo / *s);
	*z = (int32_t)(zz < j->qmin ? j->qmin : zz > j->qmax ? j->qmax : zz);
	struct mse_codes c = mse_codes_for_zero(j, *z);
	return mse_model_err(x->md, *s, &c);
}

static double mse_side_fn(const void *v, double end)
{
	const struct mse_side_ctx *x = v;
	double s;
	int32_t z;

	return x->upper ? mse_affine_err(x, x->lo, end, &s, &z)
	                : mse_affine_err(x, -end, x->hi, &s, &z);
}

struct mse_best {
	int32_t z;
	double s, e;
};

/* Affine: coordinate descent on the clip ends [lo, hi] on the model (each
 * end over a geometric grid and golden section), which fixes z; then the
 * best scale for that z. */
static void mse_affine_model(const struct range_job *j, const struct mse_model *md,
                             struct mse_best *best)
{
	struct mse_side_ctx x = {
	        .j = j, .md = md, .lo = fmin(j->min, 0.0), .hi = fmax(j->max, 0.0)};

	for (int r = 0; r < MSE_SIDE_ROUNDS; r++) {
		for (int side = 1; side >= 0; side--) {
			double full = side ? fmax(j->max, 0.0) : -fmin(j->min, 0.0), end;
			if (full == 0.0)
				continue;
			x.upper = side;
			bool tiny = j->n <= MSE_AFFINE_TINY;
			mse_grid_search(mse_side_fn, &x, full,
			                md->cum ? MSE_SIDE_GRID
			                : tiny  ? MSE_SIDE_GRID_TINY
			                        : MSE_SIDE_GRID_FEW,
			                6.0, 0.0,
			                md->cum ? MSE_GOLDEN
			                : tiny  ? MSE_GOLDEN_TINY
			                        : MSE_GOLDEN_FEW,
			                &end);
			if (side)
				x.hi = end;
			else
				x.lo = -end;
		}
	}
	double s;
	mse_affine_err(&x, x.lo, x.hi, &s, &best->z);
	struct mse_codes c = mse_codes_for_zero(j, best->z);
	double smax = mse_scale_max(j, &c);
	best->s = 0.0;
	if (smax > 0.0)
		best->e = mse_line(md, &c, smax, &best->s, false);
}

/* The exact error on many values still wobbles by a few per cent from
 * scale to scale (each value's rounding): probe the values at
 * s·(1 ± k·MSE_PROBE_STEP) and refine from the best probe. */
static void mse_probe(const struct range_job *j, const struct mse_codes *c, struct mse_best *best)
{
	double s0 = best->s, sb = s0, eb = best->e;

	for (int k = 1; k <= MSE_PROBES; k++) {
		double sv[2] = {s0 * (1.0 - k * MSE_PROBE_STEP), s0 * (1.0 + k * MSE_PROBE_STEP)},
		       e[2];
		mse_pass2(j->x, j->n, j->bounds, sv, c, e);
		for (int h = 0; h < 2; h++) {
			if (e[h] < eb) {
				eb = e[h];
				sb = sv[h];
			}
		}
	}
	if (sb == s0)
		return;
	double e = mse_lloyd_n(j, c, &sb, MSE_PROBE_LLOYD);
	if (e < best->e) {
		best->e = e;
		best->s = sb;
	}
}

/* Scale (and zero point) on the model, then refined on the values. */
static int mse_best_params(const struct range_job *j, const struct mse_model *md,
                           struct mse_best *best)
{
	best->s = 0.0;
	best->e = GSL_POSINF;
	if (j->s->symmetric) {
		best->z = symmetric_zero(j);
		struct mse_codes c = mse_codes_for_zero(j, best->z);
		double smax = mse_scale_max(j, &c);
		if (smax == 0.0)
			return 0;
		if (mse_use_sweep(j, &c)) {
			mse_sweep(j->x, j->n, md->ev, &c, 0.0, GSL_POSINF, &best->s, &best->e);
			return 0;
		}
		mse_line(md, &c, smax, &best->s, true);
		best->e = mse_lloyd(j, &c, &best->s);
		if (md->cum && c.hn + c.hp > MSE_PROBE_SPAN)
			mse_probe(j, &c, best);
		return 0;
	}
	mse_affine_model(j, md, best);
	if (!(best->s > 0.0))
		return 0;
	/* few codes or values: the model's zero point can be one off; the
	 * neighbours are ranked on the model, the best refined on the values */
	int32_t z0 = best->z;
	for (int d = -1; d <= 1 && (j->qmax - j->qmin <= MSE_ZERO_NEAR_SPAN || !md->cum); d += 2) {
		if (z0 + d < j->qmin || z0 + d > j->qmax)
			continue;
		struct mse_best next = {.z = z0 + d};
		struct mse_codes cn = mse_codes_for_zero(j, next.z);
		double smax = mse_scale_max(j, &cn);
		if (smax == 0.0)
			continue;
		if (md->cum) {
			next.e = mse_line(md, &cn, smax, &next.s, false);
		} else {
			/* on values a z one off moves the best scale little: golden
			 * section around the current one is enough */
			struct mse_line_ctx l = {md, &cn};
			next.s = best->s;
			next.e = mse_golden(mse_line_fn, &l, (1.0 - MSE_NEAR) * best->s,
			                    (1.0 + MSE_NEAR) * best->s, &next.s,
			                    mse_line_fn(&l, best->s), MSE_GOLDEN);
		}
		if (next.s > 0.0 && next.e < best->e)
			*best = next;
	}
	struct mse_codes c = mse_codes_for_zero(j, best->z);
	best->e = mse_lloyd(j, &c, &best->s);
	if (!md->cum) {
		c = mse_codes_for_zero(j, best->z);
		double s = best->s, e = best->e;
		mse_window(md, &c, s, &s, &e);
		if (j->n > MSE_AFFINE_TINY)
			mse_window(md, &c, mse_scale_max(j, &c), &s, &e);
		e = mse_lloyd(j, &c, &s);
		if (e < best->e) {
			best->e = e;
			best->s = s;
		}
	}
	for (int r = 0; md->cum && r < MSE_ZERO_ROUNDS && j->qmax - j->qmin <= MSE_ZERO_SPAN_MAX;
	     r++) {
		int32_t z = best->z;
		if (mse_best_zero(j, best->s, &z))
			return -1;
		if (z == best->z)
			break;
		struct mse_best next = {.z = z, .s = best->s};
		c = mse_codes_for_zero(j, z);
		next.e = mse_lloyd(j, &c, &next.s);
		if (!(next.e < best->e))
			break;
		*best = next;
	}
	return 0;
}

/* Whether b->e, the float pass's error at (b->s, b->z) (every search on
 * MSE_BLOCK values up ends with a refinement on the values, which leaves
 * it there), is exactly what job_better's pass would give for cand: the
 * same float scale, reciprocal and codes, and every value in an AVX2 block
 * (the passes' SSE2 and scalar tails differ from each other). */
static bool mse_error_known(const struct range_job *j, const struct mse_best *b,
                            const struct qparam *cand)
{
#ifdef RANGE_AVX2
	return j->n >= MSE_BLOCK && j->n % MSE_BLOCK == 0 && range_avx2() && isfinite(b->e) &&
	       cand->zero_point == b->z && cand->scale == (float)b->s &&
	       (float)(1.0 / b->s) == (float)(1.0 / (double)cand->scale);
#else
	(void)j;
	(void)b;
	(void)cand;
	return false;
#endif
}

static int mse_search(const struct range_job *j, double *lo, double *hi, struct qs_error *err)
{
	struct mse_model md;
	struct mse_best best = {0};

	*lo = j->min;
	*hi = j->max;
	if (j->amax == 0.0)
		return 0;
	int rc = mse_model_init(&md, j);
	if (rc == 0)
		rc = mse_best_params(j, &md, &best);
	free(md.cum);
	free(md.ev);
	if (rc)
		return qs_error_set(err, QS_ERR_NOMEM, "mse: out of memory");
	if (!(best.s > 0.0))
		return 0;
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
	if (job_better_e(j, &cand, mse_error_known(j, &best, &cand) ? &best.e : NULL, &mm)) {
		*lo = l;
		*hi = h;
	}
	return 0;
}

enum {
	MSE_BOUNDS_STACK = 64 /* blocks whose extremes fit on the stack */
};

/* The passes skip the clamp in blocks that cannot need it (most of them:
 * only the clipped values do), so they are found first. */
static int choose_mse(const struct range_job *j, double *lo, double *hi, struct qs_error *err)
{
	struct range_job jb = *j;
	int rc;

#ifdef RANGE_AVX2
	size_t blocks = j->n / MSE_BLOCK;
	float stack[2 * MSE_BOUNDS_STACK], *bd = NULL;
	if (blocks > 0 && range_avx2()) {
		bd = blocks <= MSE_BOUNDS_STACK ? stack : malloc(2 * blocks * sizeof *bd);
		if (bd)
			mse_bounds_avx2(j->x, j->n, bd);
		jb.bounds = bd; /* without them (no memory) every block is clamped */
	}
	rc = mse_search(&jb, lo, hi, err);
	if (bd != stack)
		free(bd);
#else
	rc = mse_search(&jb, lo, hi, err);
#endif
	return rc;
}

/* ---- entry point ---------------------------------------------------------- */

/* Shorter groups: the SSE2 loop (the AVX2 one's setup costs more). */
enum {
	SCAN_AVX2_MIN = 128
};

#ifdef RANGE_AVX2
/* job_scan sixteen at a time (two sets of min/max lanes); n ≥ 16. A NaN in
 * either of two vectors makes one unordered compare true; an infinity (with
 * no NaN) ends up as the least or greatest value. Returns how many it
 * scanned. */
AVX2_FN static size_t job_scan_avx2(const float *x, size_t n, float *mn, float *mx, bool *finite)
{
	__m256 a0 = _mm256_loadu_ps(x), a1 = a0, b0 = a0, b1 = a0, nan = _mm256_setzero_ps();
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m256 v = _mm256_loadu_ps(x + i), w = _mm256_loadu_ps(x + i + 8);
		a0 = _mm256_min_ps(a0, v);
		a1 = _mm256_min_ps(a1, w);
		b0 = _mm256_max_ps(b0, v);
		b1 = _mm256_max_ps(b1, w);
		nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, w, _CMP_UNORD_Q));
	}
	float a[8], b[8];
	_mm256_storeu_ps(a, _mm256_min_ps(a0, a1));
	_mm256_storeu_ps(b, _mm256_max_ps(b0, b1));
	bool inf = false;
	for (int k = 0; k < 8; k++) {
		*mn = a[k] < *mn ? a[k] : *mn;
		*mx = b[k] > *mx ? b[k] : *mx;
		inf |= a[k] == -INFINITY || b[k] == INFINITY;
	}
	*finite = _mm256_testz_ps(nan, nan) && !inf;
	return i;
}
#endif

/* Returns false when a NaN or Inf slipped through (0·Inf and 0·NaN are NaN).
 * Four lanes at a time where SSE2 is there (a NaN can make min/max lanes
 * meaningless, but then the probe rejects the group anyway). */
static bool job_scan(struct range_job *j)
{
	float mn = j->x[0], mx = j->x[0], probe = 0.0f;
	size_t i = 0;
	bool finite = true;

#ifdef RANGE_AVX2
	if (j->n >= SCAN_AVX2_MIN && range_avx2())
		i = job_scan_avx2(j->x, j->n, &mn, &mx, &finite);
#endif
#ifdef __SSE2__
	if (i == 0 && j->n >= 8) {
		__m128 vmn = _mm_loadu_ps(j->x), vmx = vmn, pr = _mm_setzero_ps();
		const __m128 zero = _mm_setzero_ps();
		for (i = 4; i + 4 <= j->n; i += 4) {
			__m128 v = _mm_loadu_ps(j->x + i);
			vmn = _mm_min_ps(vmn, v);
			vmx = _mm_max_ps(vmx, v);
			pr = _mm_add_ps(pr, _mm_mul_ps(zero, v));
		}
		float a[4], b[4], c[4];
		_mm_storeu_ps(a, vmn);
		_mm_storeu_ps(b, vmx);
		_mm_storeu_ps(c, pr);
		for (int k = 0; k < 4; k++) {
			mn = a[k] < mn ? a[k] : mn;
			mx = b[k] > mx ? b[k] : mx;
			probe += c[k];
		}
	}
#endif
	for (; i < j->n; i++) {
		float v = j->x[i];
		mn = v < mn ? v : mn;
		mx = v > mx ? v : mx;
		probe += 0.0f * v;
	}
	j->min = mn;
	j->max = mx;
	j->amax = fmax(fabs(j->min), fabs(j->max));
	return finite && probe == 0.0f;
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
