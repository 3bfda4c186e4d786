#include "metrics.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* dist_acc: see the contract in metrics.h. */
#define DA_RADIX 65536u
#define DA_CHUNK 4096u
#define DA_SMALL 4096u
#define DA_NQ    5
#define DA_NRANK (2 * DA_NQ)
#define DA_LIST  131072u /* 256 KiB of list, half a table */
/* The buckets of finite keys: −FLT_MAX … FLT_MAX. The others count only the
 * non-finite values that pass 1 lets through. */
#define DA_FINITE_LO 0x0080u
#define DA_FINITE_HI 0xFF7Fu

static const double da_ps[DA_NQ] = {0.01, 0.25, 0.50, 0.75, 0.99};

enum da_state {
	DA_ADDING,
	DA_REFINING,
	DA_SETTLED,
	DA_FAILED
};

struct da_rank {
	uint64_t rank, within; /* within: rank inside its bucket */
	uint32_t bucket;
	int target; /* index into tg, −1 when value is known */
	float value;
};

/* Pass 2 of one bucket that holds `count` values: their low 16 key bits
 * listed when few (sequential writes, no table to clear), else counted. */
struct da_target {
	uint32_t bucket;
	uint64_t count, seen; /* seen: values pass 2 found in the bucket */
	uint16_t *list;       /* count entries when count ≤ DA_LIST */
	uint64_t *table;      /* DA_RADIX counts otherwise */
};

struct dist_acc {
	uint64_t n, n_nan, n_inf, n_zero, n_denormal;
	float min, max;
	double mean, m2, m3, m4; /* central sums over the n finite values */
	uint64_t *hist;          /* DA_RADIX counts of key >> 16; NULL in clones */
	bool hist_live;          /* small overflowed: hist counts, small is stale */
	bool lost;               /* a histogram could not be kept: no quantiles */
	bool no_moments;         /* m2..m4 not kept: std, skew, kurtosis NAN */
	bool no_quantiles;       /* no values kept, no histogram: quantiles NAN */
	uint32_t nsmall;
	enum da_state state;
	size_t nrank, nt;
	struct da_rank r[DA_NRANK];
	struct da_target tg[DA_NRANK]; /* distinct buckets to refine */
	uint8_t *slot;                 /* DA_RADIX: bucket → 1 + index into tg, 0 none */
	float small[DA_SMALL];         /* the finite values while n ≤ DA_SMALL */
};

static inline uint32_t float_bits(float v)
{
	uint32_t u;
	memcpy(&u, &v, sizeof u);
	return u;
}

/* Order-preserving key: unsigned comparison of keys = float comparison
 * (−0 just below +0). */
static inline uint32_t float_key(float v)
{
	uint32_t u = float_bits(v);
	return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline float key_float(uint32_t k)
{
	uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static bool da_no_simd;

void dist_acc_set_simd(bool on)
{
	da_no_simd = !on;
}

/* Per-chunk figures of pass 1 over finite values. */
struct chunk1 {
	float lo, hi;
	double sum;
	uint64_t nzero, nsub; /* nsub: |x| < FLT_MIN including zeros */
};

/* Pass 1 over k values: classify, min, max, sum, and when hist is not NULL
 * count every value's bucket there (non-finite ones too: their buckets hold
 * no finite value and are never read). false when some value is not finite:
 * c is then not filled but hist is. */
static inline void pass1_one(float v, uint64_t *hist, float *lo, float *hi, double *s, uint64_t *nz,
                             uint64_t *nsub, bool *bad)
{
	uint32_t ab = float_bits(v) & 0x7FFFFFFFu;

	*bad |= ab > 0x7F7FFFFFu;
	*nz += ab == 0;
	*nsub += ab < 0x00800000u;
	*lo = v < *lo ? v : *lo;
	*hi = v > *hi ? v : *hi;
	*s += v;
	if (hist)
		hist[float_key(v) >> 16]++;
}

static bool pass1_c(const float *x, size_t k, uint64_t *hist, struct chunk1 *c)
{
	/* two of each running figure, even and odd values: the chains of
	 * dependent min, max and add set the pace */
	float lo0 = INFINITY, lo1 = INFINITY, hi0 = -INFINITY, hi1 = -INFINITY;
	double s0 = 0.0, s1 = 0.0;
	uint64_t nz = 0, nsub = 0;
	bool bad = false;
	size_t i = 0;

	for (; i + 2 <= k; i += 2) {
		pass1_one(x[i], hist, &lo0, &hi0, &s0, &nz, &nsub, &bad);
		pass1_one(x[i + 1], hist, &lo1, &hi1, &s1, &nz, &nsub, &bad);
	}
	if (i < k)
		pass1_one(x[i], hist, &lo0, &hi0, &s0, &nz, &nsub, &bad);
	*c = (struct chunk1){.lo = lo1 < lo0 ? lo1 : lo0,
	                     .hi = hi1 > hi0 ? hi1 : hi0,
	                     .sum = s0 + s1,
	                     .nzero = nz,
	                     .nsub = nsub};
	return !bad;
}

/* Σd², Σd³, Σd⁴ with d = x − mean, over k finite values. */
static void pass2_c(const float *x, size_t k, double mean, double *s)
{
	/* four sums of each: the chains of dependent adds set the pace */
	double a2[4] = {0}, a3[4] = {0}, a4[4] = {0};
	size_t i = 0;

	for (; i + 4 <= k; i += 4)
		for (int j = 0; j < 4; j++) {
			double d = (double)x[i + j] - mean, d2 = d * d;
			a2[j] += d2;
			a3[j] += d2 * d;
			a4[j] += d2 * d2;
		}
	for (; i < k; i++) {
		double d = (double)x[i] - mean, d2 = d * d;
		a2[0] += d2;
		a3[0] += d2 * d;
		a4[0] += d2 * d2;
	}
	s[0] = (a2[0] + a2[1]) + (a2[2] + a2[3]);
	s[1] = (a3[0] + a3[1]) + (a3[2] + a3[3]);
	s[2] = (a4[0] + a4[1]) + (a4[2] + a4[3]);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DA_AVX2 __attribute__((target("avx2,fma,popcnt")))

static bool da_simd(void)
{
	return !da_no_simd && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
	       __builtin_cpu_supports("popcnt");
}

DA_AVX2 static inline __m256i key_top_avx2(__m256i b)
{
	const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
	return _mm256_srli_epi32(
	        _mm256_xor_si256(b, _mm256_or_si256(_mm256_srai_epi32(b, 31), sign)), 16);
}

DA_AVX2 static int64_t hsum_epi32(__m256i v)
{
	int32_t t[8];
	int64_t s = 0;
	_mm256_storeu_si256((__m256i *)t, v);
	for (int i = 0; i < 8; i++)
		s += t[i];
	return s;
}

/* The zeros and the |x| < FLT_MIN among k finite values. */
DA_AVX2 static void count_small_avx2(const float *x, size_t k, struct chunk1 *c)
{
	const __m256i absm = _mm256_set1_epi32(0x7FFFFFFF), minnorm = _mm256_set1_epi32(0x00800000);
	__m256i cz = _mm256_setzero_si256(), csub = cz;
	size_t i = 0;

	for (; i + 8 <= k; i += 8) {
		__m256i a = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i)), absm);
		cz = _mm256_sub_epi32(cz, _mm256_cmpeq_epi32(a, _mm256_setzero_si256()));
		csub = _mm256_sub_epi32(csub, _mm256_cmpgt_epi32(minnorm, a));
	}
	c->nzero = (uint64_t)hsum_epi32(cz);
	c->nsub = (uint64_t)hsum_epi32(csub);
	for (; i < k; i++) {
		uint32_t ab = float_bits(x[i]) & 0x7FFFFFFFu;
		c->nzero += ab == 0;
		c->nsub += ab < 0x00800000u;
	}
}

#define HIST_INC4(h, w)                                                                            \
	do {                                                                                       \
		(h)[(w)&0xFFFFu]++;                                                                \
		(h)[((w) >> 16) & 0xFFFFu]++;                                                      \
		(h)[((w) >> 32) & 0xFFFFu]++;                                                      \
		(h)[(w) >> 48]++;                                                                  \
	} while (0)

/* pass1_c with AVX2. The smallest and largest |x| bits of the chunk tell
 * whether it holds zeros or denormals (counted then by a second loop over the
 * cached chunk) or non-finite values, so the common chunk pays for neither.
 * The histogram is counted here, not in a loop of its own, so that the
 * increments overlap the loads from memory. */
DA_AVX2 static bool pass1_avx2(const float *x, size_t k, uint64_t *hist, struct chunk1 *c)
{
	const __m256i absm = _mm256_set1_epi32(0x7FFFFFFF);
	__m256 lo = _mm256_set1_ps(INFINITY), hi = _mm256_set1_ps(-INFINITY);
	__m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
	__m256i amin = absm, amax = _mm256_setzero_si256();
	size_t i = 0;

	for (; i + 16 <= k; i += 16) {
		__m256 va = _mm256_loadu_ps(x + i), vb = _mm256_loadu_ps(x + i + 8);
		__m256i ba = _mm256_castps_si256(va), bb = _mm256_castps_si256(vb);
		__m256i aa = _mm256_and_si256(ba, absm), ab = _mm256_and_si256(bb, absm);
		amin = _mm256_min_epu32(amin, _mm256_min_epu32(aa, ab));
		amax = _mm256_max_epu32(amax, _mm256_max_epu32(aa, ab));
		lo = _mm256_min_ps(lo, _mm256_min_ps(va, vb));
		hi = _mm256_max_ps(hi, _mm256_max_ps(va, vb));
		s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(va)));
		s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(va, 1)));
		s2 = _mm256_add_pd(s2, _mm256_cvtps_pd(_mm256_castps256_ps128(vb)));
		s3 = _mm256_add_pd(s3, _mm256_cvtps_pd(_mm256_extractf128_ps(vb, 1)));
		if (hist) {
			uint64_t w[4];
			_mm256_storeu_si256((__m256i *)w, _mm256_packus_epi32(key_top_avx2(ba),
			                                                      key_top_avx2(bb)));
			HIST_INC4(hist, w[0]);
			HIST_INC4(hist, w[1]);
			HIST_INC4(hist, w[2]);
			HIST_INC4(hist, w[3]);
		}
	}
	struct chunk1 t = {INFINITY, -INFINITY, 0.0, 0, 0};
	uint32_t mn[8], mx[8];
	_mm256_storeu_si256((__m256i *)mn, amin);
	_mm256_storeu_si256((__m256i *)mx, amax);
	bool tiny = false, ok = pass1_c(x + i, k - i, hist, &t); /* the tail, counted either way */
	for (int j = 0; j < 8; j++) {
		ok &= mx[j] <= 0x7F7FFFFFu;
		tiny |= mn[j] < 0x00800000u;
	}
	if (!ok)
		return false;
	if (tiny) {
		struct chunk1 z;
		count_small_avx2(x, i, &z);
		t.nzero += z.nzero;
		t.nsub += z.nsub;
	}
	float l[8], h[8];
	double s[4];
	_mm256_storeu_ps(l, lo);
	_mm256_storeu_ps(h, hi);
	_mm256_storeu_pd(s, _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
	for (int j = 0; j < 8; j++) {
		t.lo = l[j] < t.lo ? l[j] : t.lo;
		t.hi = h[j] > t.hi ? h[j] : t.hi;
	}
	t.sum += (s[0] + s[1]) + (s[2] + s[3]);
	*c = t;
	return true;
}

/* pass2_c with AVX2; meanwhile the next chunk, ahead[0..nahead), is fetched
 * (a line per 16 values) so that memory works while this one is in cache. */
DA_AVX2 static void pass2_avx2(const float *x, size_t k, double mean, double *s, const float *ahead,
                               size_t nahead)
{
	const __m256d m = _mm256_set1_pd(mean);
	__m256d a2[4], a3[4], a4[4];
	size_t i = 0;

	for (int g = 0; g < 4; g++)
		a2[g] = a3[g] = a4[g] = _mm256_setzero_pd();
	for (; i + 16 <= k; i += 16) {
		if (i < nahead)
			_mm_prefetch((const char *)(ahead + i), _MM_HINT_T0);
		for (int g = 0; g < 4; g++) {
			__m256d d = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * g)), m);
			__m256d d2 = _mm256_mul_pd(d, d);
			a2[g] = _mm256_add_pd(a2[g], d2);
			a3[g] = _mm256_fmadd_pd(d2, d, a3[g]);
			a4[g] = _mm256_fmadd_pd(d2, d2, a4[g]);
		}
	}
	double t[3], v[3][4];
	pass2_c(x + i, k - i, mean, t);
	_mm256_storeu_pd(v[0],
	                 _mm256_add_pd(_mm256_add_pd(a2[0], a2[1]), _mm256_add_pd(a2[2], a2[3])));
	_mm256_storeu_pd(v[1],
	                 _mm256_add_pd(_mm256_add_pd(a3[0], a3[1]), _mm256_add_pd(a3[2], a3[3])));
	_mm256_storeu_pd(v[2],
	                 _mm256_add_pd(_mm256_add_pd(a4[0], a4[1]), _mm256_add_pd(a4[2], a4[3])));
	for (int j = 0; j < 3; j++)
		s[j] = t[j] + ((v[j][0] + v[j][1]) + (v[j][2] + v[j][3]));
}

#else
static bool da_simd(void)
{
	return false;
}

/* Never called (da_simd is false): the portable loops under the names. */
static bool pass1_avx2(const float *x, size_t k, uint64_t *hist, struct chunk1 *c)
{
	return pass1_c(x, k, hist, c);
}

static void pass2_avx2(const float *x, size_t k, double mean, double *s, const float *ahead,
                       size_t nahead)
{
	(void)ahead;
	(void)nahead;
	pass2_c(x, k, mean, s);
}
#endif

static void da_init(struct dist_acc *a, uint64_t *hist)
{
	memset(a, 0, offsetof(struct dist_acc, small));
	a->min = INFINITY;
	a->max = -INFINITY;
	a->hist = hist;
}

struct dist_acc *dist_acc_new(void)
{
	struct dist_acc *a = malloc(sizeof *a);
	/* Not zeroed until the small buffer overflows: small tensors never
	 * touch it. */
	uint64_t *hist = malloc(DA_RADIX * sizeof *hist);

	if (!a || !hist) {
		free(a);
		free(hist);
		return NULL;
	}
	da_init(a, hist);
	return a;
}

static void da_release(struct dist_acc *a)
{
	for (size_t t = 0; t < DA_NRANK; t++) {
		free(a->tg[t].list);
		free(a->tg[t].table);
	}
	free(a->slot);
	free(a->hist);
}

void dist_acc_free(struct dist_acc *a)
{
	if (!a)
		return;
	da_release(a);
	free(a);
}

/* Switch from the small buffer to the histogram. */
static void da_spill(struct dist_acc *a)
{
	a->hist_live = true;
	if (!a->hist) {
		a->lost = true;
		return;
	}
	memset(a->hist, 0, DA_RADIX * sizeof *a->hist);
	for (uint32_t i = 0; i < a->nsmall; i++)
		a->hist[float_key(a->small[i]) >> 16]++;
}

/* Join nb values of mean mb and central sums m2b..m4b to a (Chan et al. for
 * M2, Pébay 2008 for M3 and M4), before a->n grows by nb. */
static void da_join(struct dist_acc *a, double nb, double mb, double m2b, double m3b, double m4b)
{
	if (a->n == 0) {
		a->mean = mb;
		a->m2 = m2b;
		a->m3 = m3b;
		a->m4 = m4b;
		return;
	}
	double na = (double)a->n, n = na + nb, d = mb - a->mean, dn = d / n, nanb = na * nb;
	double m2a = a->m2, m3a = a->m3;

	a->m4 += m4b + d * dn * dn * dn * nanb * (na * na - nanb + nb * nb) +
	         6.0 * dn * dn * (na * na * m2b + nb * nb * m2a) + 4.0 * dn * (na * m3b - nb * m3a);
	a->m3 += m3b + d * dn * dn * nanb * (na - nb) + 3.0 * dn * (na * m2b - nb * m2a);
	a->m2 += m2b + d * dn * nanb;
	a->mean += dn * nb;
}

/* The k finite values x while the small buffer is in use. */
static void da_small_add(struct dist_acc *a, const float *x, size_t k)
{
	if (a->nsmall + k <= DA_SMALL) {
		memcpy(a->small + a->nsmall, x, k * sizeof *x);
		a->nsmall += (uint32_t)k;
		return;
	}
	da_spill(a);
	for (size_t i = 0; a->hist && i < k; i++)
		a->hist[float_key(x[i]) >> 16]++;
}

/* Non-finite values counted and dropped: the finite ones into buf. */
static size_t da_compact(struct dist_acc *a, const float *x, size_t k, float *buf)
{
	size_t m = 0;

	for (size_t i = 0; i < k; i++) {
		float v = x[i];
		if (v != v)
			a->n_nan++;
		else if (v - v != 0.0f)
			a->n_inf++;
		else
			buf[m++] = v;
	}
	return m;
}

/* One chunk into a; the finite extremes of its values also into *lo, *hi. */
static void da_chunk(struct dist_acc *a, const float *x, size_t k, bool simd, const float *ahead,
                     size_t nahead, float *lo, float *hi)
{
	float buf[DA_CHUNK];
	struct chunk1 c;
	double s[3];
	uint64_t *hist = a->hist_live && !a->no_quantiles ? a->hist : NULL;

	if (!(simd ? pass1_avx2 : pass1_c)(x, k, hist, &c)) {
		k = da_compact(a, x, k, buf);
		x = buf;
		if (k == 0)
			return;
		(simd ? pass1_avx2 : pass1_c)(x, k, NULL, &c);
	}
	a->n_zero += c.nzero;
	a->n_denormal += c.nsub - c.nzero;
	a->min = c.lo < a->min ? c.lo : a->min;
	a->max = c.hi > a->max ? c.hi : a->max;
	*lo = c.lo < *lo ? c.lo : *lo;
	*hi = c.hi > *hi ? c.hi : *hi;
	if (!a->hist_live && !a->no_quantiles)
		da_small_add(a, x, k);
	double mean = c.sum / (double)k;
	if (a->no_moments)
		s[0] = s[1] = s[2] = 0.0;
	else if (simd)
		pass2_avx2(x, k, mean, s, ahead, nahead);
	else
		pass2_c(x, k, mean, s);
	da_join(a, (double)k, mean, s[0], s[1], s[2]);
	a->n += k;
}

uint64_t dist_acc_add_extremes(struct dist_acc *a, const float *v, size_t n, float *lo, float *hi)
{
	bool simd = da_simd();
	uint64_t bad = a->n_nan + a->n_inf;

	for (size_t off = 0; off < n; off += DA_CHUNK) {
		size_t k = n - off < DA_CHUNK ? n - off : DA_CHUNK, rest = n - off - k;
		da_chunk(a, v + off, k, simd, v + off + k, rest < DA_CHUNK ? rest : DA_CHUNK, lo,
		         hi);
	}
	return a->n_nan + a->n_inf - bad;
}

void dist_acc_add(struct dist_acc *a, const float *v, size_t n)
{
	float lo = INFINITY, hi = -INFINITY;

	dist_acc_add_extremes(a, v, n, &lo, &hi);
}

void dist_acc_no_moments(struct dist_acc *a)
{
	a->no_moments = true;
}

void dist_acc_no_quantiles(struct dist_acc *a)
{
	a->no_quantiles = true;
}

void dist_acc_add_repeat(struct dist_acc *a, float v, uint64_t count)
{
	if (count == 0)
		return;
	if (v != v) {
		a->n_nan += count;
		return;
	}
	if (v - v != 0.0f) {
		a->n_inf += count;
		return;
	}
	float av = fabsf(v);
	a->n_zero += av == 0.0f ? count : 0;
	a->n_denormal += av != 0.0f && av < FLT_MIN ? count : 0;
	a->min = v < a->min ? v : a->min;
	a->max = v > a->max ? v : a->max;
	if (a->no_quantiles) {
		/* neither values nor histogram kept */
	} else if (!a->hist_live && a->nsmall + count <= DA_SMALL) {
		for (uint64_t i = 0; i < count; i++)
			a->small[a->nsmall++] = v;
	} else {
		if (!a->hist_live)
			da_spill(a);
		if (a->hist)
			a->hist[float_key(v) >> 16] += count;
	}
	da_join(a, (double)count, v, 0.0, 0.0, 0.0);
	a->n += count;
}

void dist_acc_merge(struct dist_acc *into, const struct dist_acc *from)
{
	into->n_nan += from->n_nan;
	into->n_inf += from->n_inf;
	if (from->n == 0)
		return;
	into->n_zero += from->n_zero;
	into->n_denormal += from->n_denormal;
	into->min = from->min < into->min ? from->min : into->min;
	into->max = from->max > into->max ? from->max : into->max;
	into->no_quantiles |= from->no_quantiles;
	if (into->no_quantiles) {
		/* neither values nor histogram kept */
	} else if (!into->hist_live && !from->hist_live &&
	           into->nsmall + from->nsmall <= DA_SMALL) {
		memcpy(into->small + into->nsmall, from->small, from->nsmall * sizeof(float));
		into->nsmall += from->nsmall;
	} else {
		if (!into->hist_live)
			da_spill(into);
		if (from->lost || !into->hist) {
			into->lost = true;
		} else if (from->hist_live) {
			for (uint32_t b = 0; b < DA_RADIX; b++)
				into->hist[b] += from->hist[b];
		} else {
			for (uint32_t i = 0; i < from->nsmall; i++)
				into->hist[float_key(from->small[i]) >> 16]++;
		}
	}
	da_join(into, (double)from->n, from->mean, from->m2, from->m3, from->m4);
	into->n += from->n;
	into->no_moments |= from->no_moments;
}

/* LSD radix sort of n keys, 8 bits a pass (11-bit digits with one counting
 * pass were no faster here, and slower for small n); the result ends in k. */
static void sort_keys(uint32_t *k, uint32_t *tmp, size_t n)
{
	for (unsigned shift = 0; shift < 32; shift += 8) {
		size_t cnt[257] = {0};
		for (size_t i = 0; i < n; i++)
			cnt[((k[i] >> shift) & 255u) + 1]++;
		for (size_t b = 0; b < 256; b++)
			cnt[b + 1] += cnt[b];
		for (size_t i = 0; i < n; i++)
			tmp[cnt[(k[i] >> shift) & 255u]++] = k[i];
		uint32_t *t = k;
		k = tmp;
		tmp = t;
	}
}

/* The ranks the quantiles read: ⌊h⌋, and ⌊h⌋ + 1 when h is not whole. */
static void da_plan_ranks(struct dist_acc *a)
{
	a->nrank = 0;
	for (size_t j = 0; j < DA_NQ; j++) {
		double h = (double)(a->n - 1) * da_ps[j];
		uint64_t k = (uint64_t)h;
		for (uint64_t r = k; r <= k + 1 && r < a->n; r++) {
			if (r > k && !(h - (double)k > 0.0))
				break;
			if (a->nrank == 0 || a->r[a->nrank - 1].rank < r)
				a->r[a->nrank++] = (struct da_rank){.rank = r, .target = -1};
		}
	}
}

static void da_settle_small(struct dist_acc *a)
{
	uint32_t keys[DA_SMALL], tmp[DA_SMALL];

	for (uint32_t i = 0; i < a->nsmall; i++)
		keys[i] = float_key(a->small[i]);
	sort_keys(keys, tmp, a->nsmall);
	for (size_t r = 0; r < a->nrank; r++)
		a->r[r].value = key_float(keys[a->r[r].rank]);
	a->state = DA_SETTLED;
}

/* A rank is known without pass 2 when it is the minimum or the maximum (not
 * for zeros, whose sign min/max do not keep). */
static bool da_by_extreme(const struct dist_acc *a, struct da_rank *q)
{
	uint32_t kmin = float_key(a->min), kmax = float_key(a->max);

	if (kmin == kmax && a->min != 0.0f)
		q->value = a->min;
	else if (q->bucket == kmin >> 16 && q->within == 0 && a->min != 0.0f)
		q->value = a->min;
	else if (q->bucket == kmax >> 16 && q->within + 1 == a->hist[q->bucket] && a->max != 0.0f)
		q->value = a->max;
	else
		return false;
	return true;
}

static bool da_alloc_refine(struct dist_acc *a)
{
	a->slot = calloc(DA_RADIX, sizeof *a->slot);
	if (!a->slot)
		return false;
	for (size_t t = 0; t < a->nt; t++) {
		struct da_target *g = &a->tg[t];
		g->seen = 0;
		if (g->count <= DA_LIST)
			g->list = malloc(g->count * sizeof *g->list);
		else
			g->table = calloc(DA_RADIX, sizeof *g->table);
		if (!g->list && !g->table)
			return false;
		a->slot[g->bucket] = (uint8_t)(t + 1);
	}
	return true;
}

#define DA_BLOCK 256u

static uint64_t block_sum(const uint64_t *h)
{
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;

	for (uint32_t j = 0; j < DA_BLOCK; j += 4) {
		s0 += h[j];
		s1 += h[j + 1];
		s2 += h[j + 2];
		s3 += h[j + 3];
	}
	return (s0 + s1) + (s2 + s3);
}

bool dist_acc_refine_begin(struct dist_acc *a)
{
	if (a->state != DA_ADDING)
		return a->state == DA_REFINING;
	a->state = a->no_quantiles ? DA_FAILED : DA_SETTLED;
	if (a->n == 0 || a->no_quantiles)
		return false;
	da_plan_ranks(a);
	if (!a->hist_live) {
		da_settle_small(a);
		return false;
	}
	if (a->lost) {
		a->state = DA_FAILED;
		return false;
	}
	/* the non-finite values' buckets out of the way, then each rank's
	 * bucket by whole blocks and single buckets */
	memset(a->hist, 0, DA_FINITE_LO * sizeof *a->hist);
	memset(a->hist + DA_FINITE_HI + 1, 0, (DA_RADIX - 1 - DA_FINITE_HI) * sizeof *a->hist);
	uint64_t cum = 0;
	uint32_t b = 0;
	for (size_t r = 0; r < a->nrank; r++) {
		struct da_rank *q = &a->r[r];
		for (uint64_t bs; b < DA_RADIX && b % DA_BLOCK == 0 &&
		                  cum + (bs = block_sum(a->hist + b)) <= q->rank;
		     b += DA_BLOCK)
			cum += bs;
		while (b < DA_RADIX && cum + a->hist[b] <= q->rank)
			cum += a->hist[b++];
		if (b == DA_RADIX) { /* the histogram lost values: cannot happen */
			a->state = DA_FAILED;
			return false;
		}
		q->bucket = b;
		q->within = q->rank - cum;
		if (da_by_extreme(a, q))
			continue;
		if (a->nt == 0 || a->tg[a->nt - 1].bucket != b)
			a->tg[a->nt++] = (struct da_target){.bucket = b, .count = a->hist[b]};
		q->target = (int)a->nt - 1;
	}
	if (a->nt == 0)
		return false;
	if (!da_alloc_refine(a)) {
		a->state = DA_FAILED;
		return false;
	}
	a->state = DA_REFINING;
	return true;
}

struct dist_acc *dist_acc_refine_clone(const struct dist_acc *a)
{
	struct dist_acc *c = malloc(sizeof *c);

	if (!c)
		return NULL;
	memcpy(c, a, offsetof(struct dist_acc, small));
	c->hist = NULL;
	c->slot = NULL;
	for (size_t t = 0; t < DA_NRANK; t++)
		c->tg[t].list = NULL, c->tg[t].table = NULL;
	if (a->state == DA_REFINING && !da_alloc_refine(c)) {
		dist_acc_free(c);
		return NULL;
	}
	return c;
}

static inline void refine_key(struct dist_acc *a, uint32_t key, uint64_t count)
{
	/* Non-finite keys fall in buckets no finite value has, never a target. */
	uint8_t s = a->slot[key >> 16];

	if (!s)
		return;
	struct da_target *g = &a->tg[s - 1];
	if (g->table) {
		g->table[key & 0xFFFFu] += count;
		g->seen += count;
		return;
	}
	for (; count && g->seen < g->count; count--)
		g->list[g->seen++] = (uint16_t)key;
	g->seen += count; /* more than the bucket holds: a different multiset */
}

static void refine_c(struct dist_acc *a, const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		refine_key(a, float_key(v[i]), 1);
}

#if defined(__x86_64__) && defined(__GNUC__)
/* Runs of equal keys as one count: crowded buckets (quantized values) hit
 * the same table entry again and again. */
static void refine_keys(struct dist_acc *a, const uint32_t *k, size_t n)
{
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && k[j] == k[i]; j++)
			;
		refine_key(a, k[i], j - i);
	}
}

/* Entry m: the positions of the set bits of m, ascending, a byte each (an
 * index vector that packs the chosen lanes of 8 to the front). */
static const uint64_t compress_idx[256] = {
        0x0u,
        0x0u,
        0x1u,
        0x100u,
        0x2u,
        0x200u,
        0x201u,
        0x20100u,
        0x3u,
        0x300u,
        0x301u,
        0x30100u,
        0x302u,
        0x30200u,
        0x30201u,
        0x3020100u,
        0x4u,
        0x400u,
        0x401u,
        0x40100u,
        0x402u,
        0x40200u,
        0x40201u,
        0x4020100u,
        0x403u,
        0x40300u,
        0x40301u,
        0x4030100u,
        0x40302u,
        0x4030200u,
        0x4030201u,
        0x403020100u,
        0x5u,
        0x500u,
        0x501u,
        0x50100u,
        0x502u,
        0x50200u,
        0x50201u,
        0x5020100u,
        0x503u,
        0x50300u,
        0x50301u,
        0x5030100u,
        0x50302u,
        0x5030200u,
        0x5030201u,
        0x503020100u,
        0x504u,
        0x50400u,
        0x50401u,
        0x5040100u,
        0x50402u,
        0x5040200u,
        0x5040201u,
        0x504020100u,
        0x50403u,
        0x5040300u,
        0x5040301u,
        0x504030100u,
        0x5040302u,
        0x504030200u,
        0x504030201u,
        0x50403020100u,
        0x6u,
        0x600u,
        0x601u,
        0x60100u,
        0x602u,
        0x60200u,
        0x60201u,
        0x6020100u,
        0x603u,
        0x60300u,
        0x60301u,
        0x6030100u,
        0x60302u,
        0x6030200u,
        0x6030201u,
        0x603020100u,
        0x604u,
        0x60400u,
        0x60401u,
        0x6040100u,
        0x60402u,
        0x6040200u,
        0x6040201u,
        0x604020100u,
        0x60403u,
        0x6040300u,
        0x6040301u,
        0x604030100u,
        0x6040302u,
        0x604030200u,
        0x604030201u,
        0x60403020100u,
        0x605u,
        0x60500u,
        0x60501u,
        0x6050100u,
        0x60502u,
        0x6050200u,
        0x6050201u,
        0x605020100u,
        0x60503u,
        0x6050300u,
        0x6050301u,
        0x605030100u,
        0x6050302u,
        0x605030200u,
        0x605030201u,
        0x60503020100u,
        0x60504u,
        0x6050400u,
        0x6050401u,
        0x605040100u,
        0x6050402u,
        0x605040200u,
        0x605040201u,
        0x60504020100u,
        0x6050403u,
        0x605040300u,
        0x605040301u,
        0x60504030100u,
        0x605040302u,
        0x60504030200u,
        0x60504030201u,
        0x6050403020100u,
        0x7u,
        0x700u,
        0x701u,
        0x70100u,
        0x702u,
        0x70200u,
        0x70201u,
        0x7020100u,
        0x703u,
        0x70300u,
        0x70301u,
        0x7030100u,
        0x70302u,
        0x7030200u,
        0x7030201u,
        0x703020100u,
        0x704u,
        0x70400u,
        0x70401u,
        0x7040100u,
        0x70402u,
        0x7040200u,
        0x7040201u,
        0x704020100u,
        0x70403u,
        0x7040300u,
        0x7040301u,
        0x704030100u,
        0x7040302u,
        0x704030200u,
        0x704030201u,
        0x70403020100u,
        0x705u,
        0x70500u,
        0x70501u,
        0x7050100u,
        0x70502u,
        0x7050200u,
        0x7050201u,
        0x705020100u,
        0x70503u,
        0x7050300u,
        0x7050301u,
        0x705030100u,
        0x7050302u,
        0x705030200u,
        0x705030201u,
        0x70503020100u,
        0x70504u,
        0x7050400u,
        0x7050401u,
        0x705040100u,
        0x7050402u,
        0x705040200u,
        0x705040201u,
        0x70504020100u,
        0x7050403u,
        0x705040300u,
        0x705040301u,
        0x70504030100u,
        0x705040302u,
        0x70504030200u,
        0x70504030201u,
        0x7050403020100u,
        0x706u,
        0x70600u,
        0x70601u,
        0x7060100u,
        0x70602u,
        0x7060200u,
        0x7060201u,
        0x706020100u,
        0x70603u,
        0x7060300u,
        0x7060301u,
        0x706030100u,
        0x7060302u,
        0x706030200u,
        0x706030201u,
        0x70603020100u,
        0x70604u,
        0x7060400u,
        0x7060401u,
        0x706040100u,
        0x7060402u,
        0x706040200u,
        0x706040201u,
        0x70604020100u,
        0x7060403u,
        0x706040300u,
        0x706040301u,
        0x70604030100u,
        0x706040302u,
        0x70604030200u,
        0x70604030201u,
        0x7060403020100u,
        0x70605u,
        0x7060500u,
        0x7060501u,
        0x706050100u,
        0x7060502u,
        0x706050200u,
        0x706050201u,
        0x70605020100u,
        0x7060503u,
        0x706050300u,
        0x706050301u,
        0x70605030100u,
        0x706050302u,
        0x70605030200u,
        0x70605030201u,
        0x7060503020100u,
        0x7060504u,
        0x706050400u,
        0x706050401u,
        0x70605040100u,
        0x706050402u,
        0x70605040200u,
        0x70605040201u,
        0x7060504020100u,
        0x706050403u,
        0x70605040300u,
        0x70605040301u,
        0x7060504030100u,
        0x70605040302u,
        0x7060504030200u,
        0x7060504030201u,
        0x706050403020100u,
};

#define DA_PEND 512

/* 16 values a step: the buckets of the keys as u16 lanes against nt target
 * buckets (nt a constant in each instance, unused slots repeat a target).
 * The keys that hit are packed into pend without branches on which lanes
 * hit, and settled a batch at a time. */
DA_AVX2 static inline void refine_avx2_nt(struct dist_acc *a, const float *v, size_t n, size_t nt)
{
	const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
	__m256i bt[DA_NRANK];
	uint32_t pend[DA_PEND + 16];
	size_t i = 0, np = 0, last = a->nt ? a->nt - 1 : 0; /* refining: nt ≥ 1 */

	for (size_t t = 0; t < nt; t++)
		bt[t] = _mm256_set1_epi16((short)a->tg[t < last ? t : last].bucket);
	for (; i + 16 <= n; i += 16) {
		__m256i ba = _mm256_loadu_si256((const __m256i *)(v + i));
		__m256i bb = _mm256_loadu_si256((const __m256i *)(v + i + 8));
		__m256i ka = _mm256_xor_si256(ba, _mm256_or_si256(_mm256_srai_epi32(ba, 31), sign));
		__m256i kb = _mm256_xor_si256(bb, _mm256_or_si256(_mm256_srai_epi32(bb, 31), sign));
		__m256i top =
		        _mm256_packus_epi32(_mm256_srli_epi32(ka, 16), _mm256_srli_epi32(kb, 16));
		__m256i m = _mm256_cmpeq_epi16(top, bt[0]);
		for (size_t t = 1; t < nt; t++)
			m = _mm256_or_si256(m, _mm256_cmpeq_epi16(top, bt[t]));
		if (_mm256_testz_si256(m, m))
			continue;
		/* the u16 lanes of the pack hold a[0..3] b[0..3] | a[4..7] b[4..7]:
		 * widening the low and high quarters gives a's and b's masks */
		unsigned ma = (unsigned)_mm256_movemask_ps(
		        _mm256_castsi256_ps(_mm256_unpacklo_epi16(m, m)));
		unsigned mb = (unsigned)_mm256_movemask_ps(
		        _mm256_castsi256_ps(_mm256_unpackhi_epi16(m, m)));
		__m256i ia =
		        _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&compress_idx[ma]));
		__m256i ib =
		        _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&compress_idx[mb]));
		_mm256_storeu_si256((__m256i *)(pend + np), _mm256_permutevar8x32_epi32(ka, ia));
		np += (size_t)__builtin_popcount(ma);
		_mm256_storeu_si256((__m256i *)(pend + np), _mm256_permutevar8x32_epi32(kb, ib));
		np += (size_t)__builtin_popcount(mb);
		if (np >= DA_PEND) {
			refine_keys(a, pend, np);
			np = 0;
		}
	}
	refine_keys(a, pend, np);
	refine_c(a, v + i, n - i);
}

DA_AVX2 static void refine_avx2(struct dist_acc *a, const float *v, size_t n)
{
	if (a->nt <= 2)
		refine_avx2_nt(a, v, n, 2);
	else if (a->nt <= 4)
		refine_avx2_nt(a, v, n, 4);
	else if (a->nt <= 6)
		refine_avx2_nt(a, v, n, 6);
	else
		refine_avx2_nt(a, v, n, DA_NRANK);
}
#else
static void refine_avx2(struct dist_acc *a, const float *v, size_t n)
{
	refine_c(a, v, n);
}
#endif

void dist_acc_refine(struct dist_acc *a, const float *v, size_t n)
{
	if (a->state != DA_REFINING)
		return;
	(da_simd() ? refine_avx2 : refine_c)(a, v, n);
}

void dist_acc_refine_repeat(struct dist_acc *a, float v, uint64_t count)
{
	if (a->state == DA_REFINING)
		refine_key(a, float_key(v), count);
}

void dist_acc_refine_merge(struct dist_acc *into, const struct dist_acc *from)
{
	if (into->state != DA_REFINING || from->state != DA_REFINING || into->nt != from->nt)
		return;
	for (size_t t = 0; t < into->nt; t++) {
		struct da_target *g = &into->tg[t];
		const struct da_target *f = &from->tg[t];
		if (g->table) {
			for (uint32_t j = 0; j < DA_RADIX; j++)
				g->table[j] += f->table[j];
		} else if (g->seen + f->seen <= g->count) {
			memcpy(g->list + g->seen, f->list, f->seen * sizeof *f->list);
		}
		g->seen += f->seen;
	}
}

/* The low 16 bits of the value of rank `within` in the list: counting the
 * high byte, then the low byte among those with the chosen high byte. */
static uint32_t list_select(const uint16_t *list, uint64_t n, uint64_t within)
{
	uint64_t cnt[256] = {0}, cum = 0;
	uint32_t hb = 0, lb = 0;

	for (uint64_t i = 0; i < n; i++)
		cnt[list[i] >> 8]++;
	while (cum + cnt[hb] <= within)
		cum += cnt[hb++];
	memset(cnt, 0, sizeof cnt);
	for (uint64_t i = 0; i < n; i++)
		if (list[i] >> 8 == hb)
			cnt[list[i] & 255u]++;
	while (cum + cnt[lb] <= within)
		cum += cnt[lb++];
	return hb << 8 | lb;
}

/* The value of rank q from its bucket's pass 2; NAN when pass 2 did not see
 * exactly the values pass 1 counted in that bucket. */
static float da_rank_value(const struct dist_acc *a, const struct da_rank *q)
{
	if (q->target < 0)
		return q->value;
	const struct da_target *g = &a->tg[q->target];
	if (a->state != DA_REFINING || g->seen != g->count)
		return NAN;
	if (g->list)
		return key_float(q->bucket << 16 | list_select(g->list, g->count, q->within));
	uint64_t total = 0;
	uint32_t lo = DA_RADIX;
	for (uint32_t j = 0; j < DA_RADIX; j++) {
		total += g->table[j];
		if (lo == DA_RADIX && total > q->within)
			lo = j;
	}
	return lo < DA_RADIX && total == g->count ? key_float(q->bucket << 16 | lo) : NAN;
}

static void da_quantiles(const struct dist_acc *a, struct dist_stats *o)
{
	double *outs[DA_NQ] = {&o->p01, &o->p25, &o->p50, &o->p75, &o->p99};
	float val[DA_NRANK];

	if (a->state != DA_SETTLED && a->state != DA_REFINING)
		return;
	for (size_t r = 0; r < a->nrank; r++)
		val[r] = da_rank_value(a, &a->r[r]);
	for (size_t j = 0; j < DA_NQ; j++) {
		double h = (double)(a->n - 1) * da_ps[j], lo = NAN, hi = NAN;
		uint64_t k = (uint64_t)h;
		double delta = h - (double)k;
		for (size_t r = 0; r < a->nrank; r++) {
			if (a->r[r].rank == k)
				lo = val[r];
			if (a->r[r].rank == k + 1)
				hi = val[r];
		}
		/* gsl_stats_quantile_from_sorted_data's formula */
		*outs[j] = delta > 0.0 && k + 1 < a->n ? (1 - delta) * lo + delta * hi : lo;
	}
}

void dist_acc_finish(const struct dist_acc *a, struct dist_stats *o)
{
	*o = (struct dist_stats){.n = a->n,
	                         .n_nan = a->n_nan,
	                         .n_inf = a->n_inf,
	                         .n_zero = a->n_zero,
	                         .n_denormal = a->n_denormal,
	                         .mean = NAN,
	                         .std = NAN,
	                         .skew = NAN,
	                         .kurtosis = NAN};
	o->p01 = o->p25 = o->p50 = o->p75 = o->p99 = NAN;
	if (a->n == 0) {
		o->min = o->max = o->absmax = NAN;
		return;
	}
	double n = (double)a->n;
	o->min = a->min;
	o->max = a->max;
	o->absmax = fmax(fabs(o->min), fabs(o->max));
	o->mean = a->mean;
	if (a->no_moments) {
		da_quantiles(a, o);
		return;
	}
	o->std = a->n > 1 ? sqrt(a->m2 / (n - 1.0)) : 0.0;
	if (o->std > 0.0) {
		double sd2 = o->std * o->std;
		o->skew = a->m3 / n / (sd2 * o->std);
		o->kurtosis = a->m4 / n / (sd2 * sd2) - 3.0;
	}
	da_quantiles(a, o);
}

void metrics_dist_stats(const float *x, size_t n, float *scratch, struct dist_stats *out)
{
	struct dist_acc *a = dist_acc_new(), spare;

	(void)scratch;
	if (!a) { /* no histogram: everything but the quantiles of large x */
		da_init(&spare, NULL);
		a = &spare;
	}
	dist_acc_add(a, x, n);
	if (dist_acc_refine_begin(a))
		dist_acc_refine(a, x, n);
	dist_acc_finish(a, out);
	if (a == &spare)
		da_release(a);
	else
		dist_acc_free(a);
}
