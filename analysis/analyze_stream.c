/* analyze_stream.c — analyze_simulate_src: linear schemes measured in
 * streaming passes over a float_src, chunk by chunk, split in two halves
 * that may run on two threads.
 *
 * Passes: (1) range — per-group min/max (minmax) or each contiguous group
 * handed to range_choose — with x's statistics; (2) quantize + measure;
 * (3) only for quantiles: the statistics' refinement over x (and x̂, whose
 * codes are recomputed). Per run of one channel and one group the codes and
 * x̂ live in chunk-sized buffers only.
 *
 * analyze_measure_src (stored x̂ and codes) reuses the parts, runs,
 * counters and results: one measure pass over x, x̂ and the codes read
 * chunk by chunk (sctx.stored), and the same refine pass over x and x̂. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_int.h"

enum {
	CHUNK = 8192,         /* elements per read: the buffers stay in L1/L2 */
	MIN_SPLIT = 1u << 16, /* smaller tensors are one part */
	COL_ROWS = 64,        /* rows per chunk of channels along the last axis */
	COL_TILE = 64,        /* channels counted together (columns_count) */
	COL_MAX = 1u << 20,   /* elements per such chunk at most */
	FUSE_MAX = 1u << 16   /* longest channel read whole (fused pass) */
};
#define CHIST_LIMIT ((uint64_t)32 << 20) /* bytes of strided per-channel counters */

enum pass {
	PASS_RANGE,
	PASS_MEASURE,
	PASS_REFINE
};

/* Shared by the parts; read-only while they run (except disjoint slots). */
struct sctx {
	const struct float_src *src;
	const struct layout *l;
	const struct scheme *s;
	const struct method *m;
	const struct graph_facts *g;
	int32_t qmin, qmax;
	size_t span;      /* qmax − qmin + 1 */
	struct qparam *p; /* ngroups */
	uint64_t *gbad;   /* per group: non-finite values */
	uint64_t nch;
	bool contig; /* channel c = elements [c·csize, (c + 1)·csize) */
	uint64_t csize;
	bool scan;      /* contig, span ≤ min(SCAN_SPAN, csize): four tables, scanned */
	bool one_group; /* contig, one group per channel: x̂ statistics from counts */
	bool minmax;
	bool fused;  /* one group per contiguous channel: range and measure in
			    * one pass, channel by channel */
	size_t bufn; /* elements of the chunk buffers */
	bool want_xs, want_xhs;
	bool no_moments;   /* x's and x̂'s accumulators keep no central moments */
	bool no_quantiles; /* ... and neither values nor histograms */
	bool no_codes;     /* no code counts: levels 0, entropy NAN (simulate only) */
	bool wq;           /* Σ|q − z| per graph output channel */
	struct layout ol;
	uint64_t *lev; /* contig: per channel levels and entropy */
	double *ent;
	const struct dist_acc *xref, *href; /* refine: the merged pass-1 accumulators */
	/* measure (analyze_measure_src): x̂ and codes from sources, p given;
	 * qmin/qmax/span are then the code table's bounds */
	bool stored;
	bool columns; /* per-channel with channels along the last axis (runs of
			* one element): value by value, no runs (columns_range,
			* columns_measure, stored_columns) */
	const struct float_src *hsrc;
	const struct code_src *csrc;
};

/* The error sums of channels along the last axis, one array per sum
 * (sctx.columns, measure pass): a row adds to every channel at once, and
 * each channel still adds its values in order, as err_acc_add would.
 * Folded into spart.acc when the pass ends (columns_fold). The channels'
 * parameters as floats beside them: scale, zero point, clip and saturation
 * bounds. */
struct colsum {
	double *sx2, *se2, *sae, *sxy, *sy2, *mae;
	uint64_t *n, *clip;
	float *s, *zf, *lo, *hi, *slo, *shi;
};

struct spart {
	const struct sctx *c;
	uint64_t i0, i1; /* elements */
	uint64_t g0, g1; /* groups (range pass of other methods) */
	enum pass pass;
	float *buf, *xh;
	float *scr; /* fused, not minmax: range_choose's scratch, a channel */
	int32_t *codes;
	struct dist_acc *xa, *ha;
	float *gmin, *gmax;
	uint64_t *gbad;
	struct err_acc *acc;
	uint64_t *sat;
	float *cmin, *cmax;
	uint64_t *hist;  /* span */
	uint32_t *chist; /* contig: span (one channel); strided: nch × span */
	int32_t *touched;
	size_t ntouched;
	uint64_t ctot;
	double *wqs;
	int32_t wq_lo, wq_hi;
	uint64_t *badh;    /* stored: span; codes whose x̂ was bad (x finite) */
	uint64_t bad_xhat; /* stored: x̂ NaN/inf where x is finite */
	bool wide;         /* stored: a code outside the table */
	struct colsum cs;  /* sctx.columns, measure pass */
	int rc;
	struct qs_error err;
};

/* ---- kernels ------------------------------------------------------------ */

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

struct run_sums {
	double sx2, se2, sae, max_ae, sxy, sy2;
	float mn, mx;
	uint64_t clipped, sat;
	int32_t qlo, qhi; /* smallest and largest code */
};

/* Lane-wise m ? a : b (m from a comparison: all ones or all zeros). Macros:
 * a 32-byte vector passed to a function compiled without AVX changes the ABI. */
#define V8F_SEL(m, a, b) ((v8f)(((v8i)(a) & (m)) | ((v8i)(b) & ~(m))))
#define SPLAT8(v)                                                                                  \
	{                                                                                          \
		(v), (v), (v), (v), (v), (v), (v), (v)                                             \
	}

/* Bounds of one run: clip range, saturation range (clip ± half a step). */
struct run_bounds {
	float lo, hi, slo, shi;
};

/* Values of x outside the clip range and outside the saturation range. */
__attribute__((target_clones("avx2", "default"))) static void
count_clipped(const float *x, uint64_t n, const struct run_bounds *bd, struct run_sums *r)
{
	const v8f vlo = SPLAT8(bd->lo), vhi = SPLAT8(bd->hi);
	const v8f vslo = SPLAT8(bd->slo), vshi = SPLAT8(bd->shi);
	v8i ncl = {0}, nsat = {0};
	uint64_t k = 0;

	for (; k + 8 <= n; k += 8) {
		v8f v;
		memcpy(&v, x + k, sizeof v);
		ncl -= (v < vlo) | (v > vhi);
		nsat -= (v < vslo) | (v > vshi);
	}
	for (int j = 0; j < 8; j++) {
		r->clipped += (uint64_t)ncl[j];
		r->sat += (uint64_t)nsat[j];
	}
	for (; k < n; k++) {
		r->clipped += x[k] < bd->lo || x[k] > bd->hi;
		r->sat += x[k] < bd->slo || x[k] > bd->shi;
	}
}

/* What the extremes lo, hi of a run's n values give: the channel's range,
 * the extreme codes (quantization is monotone), and clipping, counted only
 * when an extreme lies outside the clip range. */
static void run_extremes(const float *x, uint64_t n, const struct qparam *p, int32_t qmin,
                         int32_t qmax, const struct run_bounds *bd, float lo, float hi,
                         struct run_sums *r)
{
	if (n == 0)
		return;
	r->mn = lo < r->mn ? lo : r->mn;
	r->mx = hi > r->mx ? hi : r->mx;
	int32_t qa = quant_one(lo, p, qmin, qmax, ROUND_HALF_EVEN);
	int32_t qb = quant_one(hi, p, qmin, qmax, ROUND_HALF_EVEN);
	r->qlo = qa < r->qlo ? qa : r->qlo;
	r->qhi = qb > r->qhi ? qb : r->qhi;
	if (lo < bd->lo || hi > bd->hi)
		count_clipped(x, n, bd, r);
}

/* One pair into r, as err_acc_add takes it. */
static inline void sums_add1(struct run_sums *r, float x, float y, float *lo, float *hi)
{
	double dx = x, dy = y, e = dx - dy, ae = e < 0 ? -e : e;

	r->sx2 += dx * dx;
	r->se2 += e * e;
	r->sae += ae;
	r->sy2 += dy * dy;
	r->max_ae = ae > r->max_ae ? ae : r->max_ae;
	*lo = x < *lo ? x : *lo;
	*hi = x > *hi ? x : *hi;
}

/* The quantize kernel's lane sums: of each eight values, lane j of four takes
 * elements j and j + 4, their two terms added first, so the AVX2 and the
 * portable kernel add in the same order and agree to the bit. */
struct lane_sums {
	double sx2[4], se2[4], sae[4], sy2[4], mae[4];
	float mn[8], mx[8];
};

/* The kernel's constants: scale, zero point and code bounds as floats, and
 * twice the clip bounds. Within those x − x̂ is exact in float (Sterbenz:
 * x̂ = 0, or x within a factor 2 of x̂, as a rounded x is within half a step
 * of its non-zero x̂); an eight holding a value beyond takes x − x̂ in
 * double, which gives the same figures for the others. */
struct q8 {
	float s, zf, cmin, cmax, lo2, hi2;
};

static void lane_sums_init(struct lane_sums *ls)
{
	memset(ls, 0, sizeof *ls);
	for (int j = 0; j < 8; j++) {
		ls->mn[j] = INFINITY;
		ls->mx[j] = -INFINITY;
	}
}

/* The lanes into r, the extremes into *lo, *hi. */
static void lane_sums_fold(const struct lane_sums *ls, struct run_sums *r, float *lo, float *hi)
{
	for (int j = 0; j < 8; j++) {
		if (j < 4) {
			r->sx2 += ls->sx2[j];
			r->se2 += ls->se2[j];
			r->sae += ls->sae[j];
			r->sy2 += ls->sy2[j];
			r->max_ae = ls->mae[j] > r->max_ae ? ls->mae[j] : r->max_ae;
		}
		*lo = ls->mn[j] < *lo ? ls->mn[j] : *lo;
		*hi = ls->mx[j] > *hi ? ls->mx[j] : *hi;
	}
}

/* *acc += a·a + b·b, the products rounded apart (SQ2_ADD's order). */
static inline void sq2_add(double *acc, double a, double b)
{
	double t = a * a, u = b * b;
	*acc += t + u;
}

/* Lane j takes the errors e0, e1 (≥ 0) of x0, x1 (elements j and j + 4). */
static inline void lane_add(struct lane_sums *ls, int j, double e0, double e1, double x0, double x1)
{
	double m = e0 > e1 ? e0 : e1;

	sq2_add(&ls->se2[j], e0, e1);
	ls->sae[j] += e0 + e1;
	ls->mae[j] = m > ls->mae[j] ? m : ls->mae[j];
	sq2_add(&ls->sx2[j], x0, x1);
}

/* The portable kernel over n (a multiple of 8) finite values, one value at
 * a time: codes and x̂ bit-identical to quant_one/quant_deq — the same float
 * division, (v + 1.5·2^23) − 1.5·2^23 rounds half to even for |v| < 2^22 and
 * leaves larger |v| beyond every code range on its own side, (q − z)·s is
 * exact. */
static void quant_lanes_c(const float *x, uint64_t n, const struct q8 *k, int32_t *codes, float *xh,
                          bool want_sy2, struct lane_sums *ls)
{
	const float magic = 12582912.0f;

	for (uint64_t i = 0; i < n; i += 8) {
		float y[8];
		bool far = false;
		for (int j = 0; j < 8; j++) {
			float v = x[i + j], c = ((v / k->s + magic) - magic) + k->zf;
			c = c < k->cmin ? k->cmin : c;
			c = c > k->cmax ? k->cmax : c;
			codes[i + j] = (int32_t)c;
			y[j] = (c - k->zf) * k->s;
			far |= v < k->lo2 || v > k->hi2;
			ls->mn[j] = v < ls->mn[j] ? v : ls->mn[j];
			ls->mx[j] = v > ls->mx[j] ? v : ls->mx[j];
		}
		if (xh)
			memcpy(xh + i, y, sizeof y);
		for (int j = 0; j < 4; j++) {
			double x0 = x[i + j], x1 = x[i + j + 4], e0, e1;
			if (far) {
				e0 = fabs(x0 - y[j]);
				e1 = fabs(x1 - y[j + 4]);
			} else {
				e0 = fabsf(x[i + j] - y[j]);
				e1 = fabsf(x[i + j + 4] - y[j + 4]);
			}
			lane_add(ls, j, e0, e1, x0, x1);
			if (want_sy2)
				sq2_add(&ls->sy2[j], y[j], y[j + 4]);
		}
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QS_AVX2 __attribute__((target("avx2")))

/* The four lanes of an eight's low (h = 0) or high half as doubles. */
#define LO4D(v) _mm256_cvtps_pd(_mm256_castps256_ps128(v))
#define HI4D(v) _mm256_cvtps_pd(_mm256_extractf128_ps((v), 1))
/* acc += a·a + b·b, the products rounded apart as quant_lanes_c does */
#define SQ2_ADD(acc, a, b)                                                                         \
	((acc) = _mm256_add_pd((acc),                                                              \
	                       _mm256_add_pd(_mm256_mul_pd((a), (a)), _mm256_mul_pd((b), (b)))))

/* The lane sums in the kernels' registers sx2, se2, sae, sy2, mae, mn, mx
 * and back. */
#define LANES_LOAD(ls)                                                                             \
	do {                                                                                       \
		sx2 = _mm256_loadu_pd((ls)->sx2);                                                  \
		se2 = _mm256_loadu_pd((ls)->se2);                                                  \
		sae = _mm256_loadu_pd((ls)->sae);                                                  \
		sy2 = _mm256_loadu_pd((ls)->sy2);                                                  \
		mae = _mm256_loadu_pd((ls)->mae);                                                  \
		mn = _mm256_loadu_ps((ls)->mn);                                                    \
		mx = _mm256_loadu_ps((ls)->mx);                                                    \
	} while (0)
#define LANES_STORE(ls)                                                                            \
	do {                                                                                       \
		_mm256_storeu_pd((ls)->sx2, sx2);                                                  \
		_mm256_storeu_pd((ls)->se2, se2);                                                  \
		_mm256_storeu_pd((ls)->sae, sae);                                                  \
		_mm256_storeu_pd((ls)->sy2, sy2);                                                  \
		_mm256_storeu_pd((ls)->mae, mae);                                                  \
		_mm256_storeu_ps((ls)->mn, mn);                                                    \
		_mm256_storeu_ps((ls)->mx, mx);                                                    \
	} while (0)

/* quant_lanes_c with AVX2, to the bit: max(cmin, c) and min(cmax, c) are
 * its comparisons (NaN kept); want_sy2 is a constant where it is inlined. */
QS_AVX2 static inline __attribute__((always_inline)) void
quant_lanes_body(const float *x, uint64_t n, const struct q8 *k, int32_t *codes, float *xh,
                 bool want_sy2, struct lane_sums *ls)
{
	const __m256 s = _mm256_set1_ps(k->s), magic = _mm256_set1_ps(12582912.0f);
	const __m256 zf = _mm256_set1_ps(k->zf), cmin = _mm256_set1_ps(k->cmin);
	const __m256 cmax = _mm256_set1_ps(k->cmax), lo2 = _mm256_set1_ps(k->lo2);
	const __m256 hi2 = _mm256_set1_ps(k->hi2);
	const __m256 absf = _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MAX));
	const __m256d absd = _mm256_castsi256_pd(_mm256_set1_epi64x(INT64_MAX));
	__m256d sx2, se2, sae, sy2, mae;
	__m256 mn, mx;
	LANES_LOAD(ls);

	for (uint64_t i = 0; i < n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i);
		__m256 c = _mm256_sub_ps(_mm256_add_ps(_mm256_div_ps(v, s), magic), magic);
		c = _mm256_min_ps(cmax, _mm256_max_ps(cmin, _mm256_add_ps(c, zf)));
		_mm256_storeu_si256((__m256i *)(void *)(codes + i), _mm256_cvttps_epi32(c));
		__m256 y = _mm256_mul_ps(_mm256_sub_ps(c, zf), s);
		if (xh)
			_mm256_storeu_ps(xh + i, y);
		mn = _mm256_min_ps(v, mn);
		mx = _mm256_max_ps(v, mx);
		__m256 far = _mm256_or_ps(_mm256_cmp_ps(v, lo2, _CMP_LT_OQ),
		                          _mm256_cmp_ps(v, hi2, _CMP_GT_OQ));
		__m256d x0 = LO4D(v), x1 = HI4D(v), e0, e1;
		if (_mm256_movemask_ps(far)) {
			e0 = _mm256_and_pd(_mm256_sub_pd(x0, LO4D(y)), absd);
			e1 = _mm256_and_pd(_mm256_sub_pd(x1, HI4D(y)), absd);
		} else {
			__m256 ae = _mm256_and_ps(_mm256_sub_ps(v, y), absf);
			e0 = LO4D(ae);
			e1 = HI4D(ae);
		}
		mae = _mm256_max_pd(_mm256_max_pd(e1, e0), mae);
		SQ2_ADD(se2, e0, e1);
		sae = _mm256_add_pd(sae, _mm256_add_pd(e0, e1));
		SQ2_ADD(sx2, x0, x1);
		if (want_sy2)
			SQ2_ADD(sy2, LO4D(y), HI4D(y));
	}
	LANES_STORE(ls);
}

QS_AVX2 static void quant_lanes_avx2(const float *x, uint64_t n, const struct q8 *k, int32_t *codes,
                                     float *xh, bool want_sy2, struct lane_sums *ls)
{
	if (want_sy2)
		quant_lanes_body(x, n, k, codes, xh, true, ls);
	else
		quant_lanes_body(x, n, k, codes, xh, false, ls);
}

#endif

static bool kernel_no_simd;

void analyze_set_simd(bool on)
{
	kernel_no_simd = !on;
}

#if defined(__x86_64__) && defined(__GNUC__)
static bool use_avx2(void)
{
	return !kernel_no_simd && __builtin_cpu_supports("avx2");
}
#endif

/* One run of finite x in one group, half-to-even rounding: codes (and x̂
 * into xh unless NULL) bit-identical to quant_one/quant_deq, and the error
 * sums err_acc_add makes with x − x̂ exact, in one pass (the order of the
 * additions depends on n alone). Σx̂² is left out when want_sy2 is false
 * (the caller takes it from the code counts); otherwise Σx·x̂ is
 * (Σx² + Σx̂² − Σ(x − x̂)²)/2. Quantization is monotone, so the extreme codes
 * are those of the extreme x, and clipping is counted only when an extreme
 * lies outside. */
static void quant_sums(const float *x, uint64_t n, const struct qparam *p, int32_t qmin,
                       int32_t qmax, const struct run_bounds *bd, int32_t *codes, float *xh,
                       bool want_sy2, struct run_sums *r)
{
	struct q8 k = {.s = p->scale,
	               .zf = (float)p->zero_point,
	               .cmin = (float)qmin,
	               .cmax = (float)qmax,
	               .lo2 = 2 * bd->lo,
	               .hi2 = 2 * bd->hi};
	struct lane_sums ls;
	uint64_t n8 = n & ~(uint64_t)7;
	float lo = INFINITY, hi = -INFINITY;

	lane_sums_init(&ls);
#if defined(__x86_64__) && defined(__GNUC__)
	if (use_avx2())
		quant_lanes_avx2(x, n8, &k, codes, xh, want_sy2, &ls);
	else
#endif
		quant_lanes_c(x, n8, &k, codes, xh, want_sy2, &ls);
	lane_sums_fold(&ls, r, &lo, &hi);
	for (uint64_t i = n8; i < n; i++) {
		int32_t q = quant_one(x[i], p, qmin, qmax, ROUND_HALF_EVEN);
		float y = quant_deq(q, p);
		double dy = y, e = (double)x[i] - dy, ae = e < 0 ? -e : e;
		codes[i] = q;
		if (xh)
			xh[i] = y;
		r->sx2 += (double)x[i] * x[i];
		r->se2 += e * e;
		r->sae += ae;
		r->sy2 += want_sy2 ? dy * dy : 0.0;
		r->max_ae = ae > r->max_ae ? ae : r->max_ae;
		lo = x[i] < lo ? x[i] : lo;
		hi = x[i] > hi ? x[i] : hi;
	}
	if (want_sy2)
		r->sxy = (r->sx2 + r->sy2 - r->se2) / 2;
	run_extremes(x, n, p, qmin, qmax, bd, lo, hi, r);
}
/* Min and max of the finite values of x; returns how many are not finite. */
__attribute__((target_clones("avx2", "default"))) static uint64_t
span_minmax(const float *x, uint64_t n, float *mnp, float *mxp)
{
	v8f mn = SPLAT8(*mnp), mx = SPLAT8(*mxp), zero = {0};
	v8i bad = {0};
	uint64_t k = 0, nb = 0;

	for (; k + 8 <= n; k += 8) {
		v8f v;
		memcpy(&v, x + k, sizeof v);
		v8i fin = (v - v) == zero; /* false for NaN and ±inf */
		bad -= ~fin;
		mn = V8F_SEL(fin & (v < mn), v, mn);
		mx = V8F_SEL(fin & (v > mx), v, mx);
	}
	float a = *mnp, b = *mxp;
	for (int j = 0; j < 8; j++) {
		a = mn[j] < a ? mn[j] : a;
		b = mx[j] > b ? mx[j] : b;
		nb += (uint64_t)bad[j];
	}
	for (; k < n; k++) {
		if (!isfinite(x[k])) {
			nb++;
			continue;
		}
		a = x[k] < a ? x[k] : a;
		b = x[k] > b ? x[k] : b;
	}
	*mnp = a;
	*mxp = b;
	return nb;
}

/* ---- runs --------------------------------------------------------------- */

/* The run of element i: its channel, group and the end of the elements that
 * share both. */
static void run_at(const struct layout *l, uint64_t i, uint64_t *ch, uint64_t *g, uint64_t *end)
{
	if (l->gran != GRAN_GROUP) {
		uint64_t r = i / l->inner;
		*ch = r % l->dim;
		*g = l->gran == GRAN_CHANNEL ? *ch : 0;
		*end = (r + 1) * l->inner;
		return;
	}
	if (l->inner == 1) {
		uint64_t o = i / l->dim, b = (i % l->dim) / l->block, e = (b + 1) * l->block;
		*ch = o;
		*g = o * l->nblk + b;
		*end = o * l->dim + (e < l->dim ? e : l->dim);
		return;
	}
	*ch = layout_channel_of_elem(l, i);
	*g = layout_group(l, i);
	*end = i + 1;
}

/* c·log2 c for the counts of a channel's codes: the entropy of counts c_k
 * summing to N is log2 N − Σ c_k·log2 c_k / N; small counts from a table. */
enum {
	CLOG_N = 1 << 14
};
static double clog_table[CLOG_N];
static pthread_once_t clog_once = PTHREAD_ONCE_INIT;

static void clog_init(void)
{
	for (int c = 1; c < CLOG_N; c++)
		clog_table[c] = (double)c * log2((double)c);
}

static inline double clog2c(uint64_t c)
{
	return c < CLOG_N ? clog_table[c] : (double)c * log2((double)c);
}

/* Code counters of up to this many codes are scanned whole when a channel
 * at least as long closes (sctx.scan); wider ones, and short channels, keep
 * a list of the touched codes. */
#define SCAN_SPAN 4096

/* The figures of one scanned channel's counts (sctx.scan, measure pass,
 * counts below CLOG_N): levels, Σ c·log2 c, the counts added to the tensor's
 * and Σ c·x̂² (x̂ of each code as quant_deq makes it), the four tables left
 * zero. Lane j of four takes bins j and j + 4 of each eight, the two added
 * first, in both kernels, so they agree to the bit. */
struct close_sums {
	double e[4], sy2[4];
	uint64_t lev;
};

static void close_tail(uint32_t *h, size_t span, size_t b, uint64_t *hist, int32_t k0,
                       const struct qparam *p, struct close_sums *cs)
{
	for (; b < span; b++) {
		uint32_t cnt = h[b] + h[b + span] + h[b + 2 * span] + h[b + 3 * span];
		double v = quant_deq(k0 + (int32_t)b, p);
		h[b] = h[b + span] = h[b + 2 * span] = h[b + 3 * span] = 0;
		cs->lev += cnt != 0;
		cs->e[0] += clog_table[cnt];
		cs->sy2[0] += (double)cnt * (v * v);
		hist[b] += cnt;
	}
}

static void close_scan_c(uint32_t *h, size_t span, uint64_t *hist, int32_t k0,
                         const struct qparam *p, struct close_sums *cs)
{
	size_t b = 0;

	for (; b + 8 <= span; b += 8) {
		uint32_t cnt[8];
		double v[8];
		for (int j = 0; j < 8; j++) {
			size_t i = b + (size_t)j;
			cnt[j] = h[i] + h[i + span] + h[i + 2 * span] + h[i + 3 * span];
			h[i] = h[i + span] = h[i + 2 * span] = h[i + 3 * span] = 0;
			v[j] = quant_deq(k0 + (int32_t)i, p);
			cs->lev += cnt[j] != 0;
			hist[i] += cnt[j];
		}
		for (int j = 0; j < 4; j++) {
			cs->e[j] += clog_table[cnt[j]] + clog_table[cnt[j + 4]];
			double t = (double)cnt[j] * (v[j] * v[j]);
			double u = (double)cnt[j + 4] * (v[j + 4] * v[j + 4]);
			cs->sy2[j] += t + u;
		}
	}
	close_tail(h, span, b, hist, k0, p, cs);
}

#if defined(__x86_64__) && defined(__GNUC__)
QS_AVX2 static void close_scan_avx2(uint32_t *h, size_t span, uint64_t *hist, int32_t k0,
                                    const struct qparam *p, struct close_sums *cs)
{
	const __m256i step = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
	              zero = _mm256_setzero_si256();
	const __m256 s = _mm256_set1_ps(p->scale);
	__m256d e = _mm256_setzero_pd(), sy2 = e;
	__m256i lev = zero;
	size_t b = 0;

	for (; b + 8 <= span; b += 8) {
		__m256i *t0 = (__m256i *)(void *)(h + b), *t1 = (__m256i *)(void *)(h + b + span);
		__m256i *t2 = (__m256i *)(void *)(h + b + 2 * span);
		__m256i *t3 = (__m256i *)(void *)(h + b + 3 * span);
		__m256i c = _mm256_add_epi32(
		        _mm256_add_epi32(_mm256_loadu_si256(t0), _mm256_loadu_si256(t1)),
		        _mm256_add_epi32(_mm256_loadu_si256(t2), _mm256_loadu_si256(t3)));
		_mm256_storeu_si256(t0, zero);
		_mm256_storeu_si256(t1, zero);
		_mm256_storeu_si256(t2, zero);
		_mm256_storeu_si256(t3, zero);
		lev = _mm256_sub_epi32(
		        lev, _mm256_xor_si256(_mm256_cmpeq_epi32(c, zero), _mm256_set1_epi32(-1)));
		__m128i clo = _mm256_castsi256_si128(c), chi = _mm256_extracti128_si256(c, 1);
		__m256i *hp = (__m256i *)(void *)(hist + b);
		_mm256_storeu_si256(
		        hp, _mm256_add_epi64(_mm256_loadu_si256(hp), _mm256_cvtepu32_epi64(clo)));
		_mm256_storeu_si256(hp + 1, _mm256_add_epi64(_mm256_loadu_si256(hp + 1),
		                                             _mm256_cvtepu32_epi64(chi)));
		e = _mm256_add_pd(e, _mm256_add_pd(_mm256_i32gather_pd(clog_table, clo, 8),
		                                   _mm256_i32gather_pd(clog_table, chi, 8)));
		__m256i k =
		        _mm256_add_epi32(_mm256_set1_epi32(k0 + (int32_t)b - p->zero_point), step);
		__m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(k), s);
		__m256d vl = LO4D(v), vh = HI4D(v);
		__m256d tl = _mm256_mul_pd(_mm256_cvtepi32_pd(clo), _mm256_mul_pd(vl, vl));
		__m256d th = _mm256_mul_pd(_mm256_cvtepi32_pd(chi), _mm256_mul_pd(vh, vh));
		sy2 = _mm256_add_pd(sy2, _mm256_add_pd(tl, th));
	}
	uint32_t lv[8];
	_mm256_storeu_si256((__m256i *)(void *)lv, lev);
	for (int j = 0; j < 8; j++)
		cs->lev += lv[j];
	_mm256_storeu_pd(cs->e, e);
	_mm256_storeu_pd(cs->sy2, sy2);
	close_tail(h, span, b, hist, k0, p, cs);
}
#endif

/* Close channel ch of a contiguous layout: its levels and entropy from the
 * counts (added to the tensor's), and (one group per channel) x̂'s
 * statistics from them. */
static void channel_close(struct spart *pt, uint64_t ch, uint64_t g)
{
	const struct sctx *c = pt->c;
	bool scan = c->scan, measure = pt->pass == PASS_MEASURE;
	/* one group per channel, all finite: the runs left Σx̂² to the counts */
	bool sy2_counts =
	        measure && c->one_group && c->gbad[g] == 0 && c->s->rounding == ROUND_HALF_EVEN;
	double sy2 = 0.0;
	size_t nk = scan ? c->span : pt->ntouched;
	uint64_t lev = 0;
	double e = 0.0;

	if (scan && measure && !(c->one_group && pt->ha) && c->csize < CLOG_N) {
		struct close_sums cs = {.lev = 0};
#if defined(__x86_64__) && defined(__GNUC__)
		if (use_avx2())
			close_scan_avx2(pt->chist, c->span, pt->hist, c->qmin, &c->p[g], &cs);
		else
#endif
			close_scan_c(pt->chist, c->span, pt->hist, c->qmin, &c->p[g], &cs);
		lev = cs.lev;
		e = (cs.e[0] + cs.e[1]) + (cs.e[2] + cs.e[3]);
		sy2 = (cs.sy2[0] + cs.sy2[1]) + (cs.sy2[2] + cs.sy2[3]);
		nk = 0;
	} else if (scan) {
		uint32_t *h = pt->chist;
		const uint32_t *h1 = h + c->span, *h2 = h1 + c->span, *h3 = h2 + c->span;
		for (size_t b = 0; b < c->span; b++)
			h[b] += h1[b] + h2[b] + h3[b];
		memset(h + c->span, 0, 3 * c->span * sizeof *h);
	}
	for (size_t k = 0; k < nk; k++) {
		size_t b = scan ? k : (size_t)pt->touched[k];
		uint32_t cnt = pt->chist[b];
		if (!cnt)
			continue;
		lev++;
		if (measure) {
			e += clog2c(cnt);
			pt->hist[b] += cnt;
			if (sy2_counts) {
				double v = quant_deq((int32_t)b + c->qmin, &c->p[g]);
				sy2 += (double)cnt * (v * v);
			}
		}
		if (c->one_group && pt->ha) {
			float v = quant_deq((int32_t)b + c->qmin, &c->p[g]);
			if (measure)
				dist_acc_add_repeat(pt->ha, v, cnt);
			else
				dist_acc_refine_repeat(pt->ha, v, cnt);
		}
		pt->chist[b] = 0;
	}
	if (sy2_counts) {
		struct err_acc *a = &pt->acc[ch];
		a->sy2 = sy2;
		a->sxy = (a->sx2 + a->sy2 - a->se2) / 2;
	}
	if (measure) {
		double h = pt->ctot ? log2((double)pt->ctot) - e / (double)pt->ctot : 0.0;
		c->lev[ch] = lev;
		c->ent[ch] = h > 0.0 ? h : 0.0;
	}
	pt->ntouched = 0;
	pt->ctot = 0;
}

/* cnt codes into the channel's four tables (sctx.scan): runs of one code do
 * not wait on their own stores. */
static void count4(struct spart *pt, const int32_t *q, uint64_t cnt)
{
	const struct sctx *c = pt->c;
	uint32_t *h0 = pt->chist - c->qmin, *h1 = h0 + c->span, *h2 = h1 + c->span;
	uint32_t *h3 = h2 + c->span;
	uint64_t k = 0;

	for (; k + 4 <= cnt; k += 4) {
		h0[q[k]]++;
		h1[q[k + 1]]++;
		h2[q[k + 2]]++;
		h3[q[k + 3]]++;
	}
	for (; k < cnt; k++)
		h0[q[k]]++;
	pt->ctot += cnt;
}

/* Codes of the finite x of a run into the counters: the channel's (or, for
 * strided channels, the per-channel table); Σ|q − z| per output channel. */
static void count_codes(struct spart *pt, const float *x, uint64_t cnt, uint64_t ch, uint64_t g,
                        uint64_t i, bool finite)
{
	const struct sctx *c = pt->c;
	const int32_t *q = pt->codes;
	int32_t z = c->p[g].zero_point;
	bool measure = pt->pass == PASS_MEASURE;

	if (finite && c->scan && !(c->wq && measure)) {
		count4(pt, q, cnt);
		return;
	}
	for (uint64_t k = 0; k < cnt; k++) {
		if (!finite && !isfinite(x[k])) {
			if (pt->ha && c->one_group)
				measure ? dist_acc_add_repeat(pt->ha, pt->xh[k], 1)
				        : dist_acc_refine_repeat(pt->ha, pt->xh[k], 1);
			continue;
		}
		int32_t b = q[k] - c->qmin;
		if (c->contig) {
			if (pt->chist[b]++ == 0 && !c->scan)
				pt->touched[pt->ntouched++] = b;
			pt->ctot++;
		} else if (measure) {
			pt->chist[ch * c->span + (uint64_t)b]++;
		}
		if (!measure)
			continue;
		if (!finite) {
			pt->wq_lo = q[k] - z < pt->wq_lo ? q[k] - z : pt->wq_lo;
			pt->wq_hi = q[k] - z > pt->wq_hi ? q[k] - z : pt->wq_hi;
		}
		if (c->wq) {
			uint64_t oc = c->ol.axis == c->l->axis && c->l->gran != GRAN_GROUP
			                      ? ch
			                      : ((i + k) / c->ol.inner) % c->ol.dim;
			pt->wqs[oc] += fabs((double)q[k] - z);
		}
	}
}

/* The scalar sums of a run holding NaN/inf or rounding half away (x̂ and
 * codes already made). */
static void sums_scalar(struct spart *pt, const float *x, uint64_t cnt, uint64_t ch, int32_t z,
                        const struct run_bounds *bd, struct err_acc *a)
{
	for (uint64_t k = 0; k < cnt; k++) {
		float v = x[k];
		err_acc_add(a, v, pt->xh[k], v < bd->lo || v > bd->hi);
		if (!isfinite(v))
			continue;
		pt->cmin[ch] = v < pt->cmin[ch] ? v : pt->cmin[ch];
		pt->cmax[ch] = v > pt->cmax[ch] ? v : pt->cmax[ch];
		pt->sat[ch] += v < bd->slo || v > bd->shi;
		pt->wq_lo = pt->codes[k] - z < pt->wq_lo ? pt->codes[k] - z : pt->wq_lo;
		pt->wq_hi = pt->codes[k] - z > pt->wq_hi ? pt->codes[k] - z : pt->wq_hi;
	}
}

static void measure_run(struct spart *pt, const float *x, uint64_t cnt, uint64_t ch, uint64_t g,
                        uint64_t i)
{
	const struct sctx *c = pt->c;
	const struct qparam *p = &c->p[g];
	bool finite = c->gbad[g] == 0, measure = pt->pass == PASS_MEASURE;
	float half = isfinite(p->scale) ? fabsf(p->scale) / 2 : 0.0f;
	struct run_bounds bd = {clip_bound_lo(p), clip_bound_hi(p), 0, 0};
	float *xh = pt->ha && !c->one_group ? pt->xh : NULL;
	struct err_acc a;

	bd.slo = bd.lo - half;
	bd.shi = bd.hi + half;
	err_acc_init(&a);
	if (finite && c->s->rounding == ROUND_HALF_EVEN) {
		struct run_sums r = {
		        .mn = pt->cmin[ch], .mx = pt->cmax[ch], .qlo = INT32_MAX, .qhi = INT32_MIN};
		quant_sums(x, cnt, p, c->qmin, c->qmax, &bd, pt->codes, xh,
		           !c->one_group || c->no_codes, &r);
		a = (struct err_acc){.n = cnt,
		                     .clipped = r.clipped,
		                     .sx2 = r.sx2,
		                     .se2 = r.se2,
		                     .sae = r.sae,
		                     .max_ae = r.max_ae,
		                     .sxy = r.sxy,
		                     .sy2 = r.sy2};
		if (measure && cnt) {
			int32_t z = p->zero_point;
			pt->cmin[ch] = r.mn;
			pt->cmax[ch] = r.mx;
			pt->sat[ch] += r.sat;
			pt->wq_lo = r.qlo - z < pt->wq_lo ? r.qlo - z : pt->wq_lo;
			pt->wq_hi = r.qhi - z > pt->wq_hi ? r.qhi - z : pt->wq_hi;
		}
	} else {
		quant_span(p, c->qmin, c->qmax, c->s->rounding, x, pt->codes, pt->xh, cnt);
		if (measure)
			sums_scalar(pt, x, cnt, ch, p->zero_point, &bd, &a);
	}
	if (measure)
		err_acc_merge(&pt->acc[ch], &a);
	if (!c->no_codes)
		count_codes(pt, x, cnt, ch, g, i, finite);
	if (xh)
		measure ? dist_acc_add(pt->ha, xh, cnt) : dist_acc_refine(pt->ha, xh, cnt);
}

/* Channels along the last axis (runs of one element, sctx.columns): the
 * range pass row by row into the channels' extremes, a row holding NaN/inf
 * element by element. */
/* Are all of x[0..m) finite? Defined before its first use: clang 14
 * rejects target_clones added after a plain declaration, and with the
 * attribute on both it binds the parameters to stray globals, so every row
 * passed as finite. */
__attribute__((target_clones("avx2", "default"))) static bool row_finite(const float *x, uint64_t m)
{
	uint32_t bad = 0;

	for (uint64_t j = 0; j < m; j++) {
		uint32_t u;
		memcpy(&u, &x[j], sizeof u);
		bad |= (u & 0x7F800000u) == 0x7F800000u;
	}
	return !bad;
}

__attribute__((target_clones("avx2", "default"))) static bool row_minmax(const float *x, uint64_t m,
                                                                         float *mn, float *mx)
{
	if (!row_finite(x, m))
		return false;
	for (uint64_t j = 0; j < m; j++) {
		mn[j] = x[j] < mn[j] ? x[j] : mn[j];
		mx[j] = x[j] > mx[j] ? x[j] : mx[j];
	}
	return true;
}

static void columns_range(struct spart *pt, const float *x, uint64_t cnt, uint64_t i)
{
	uint64_t dim = pt->c->l->dim, ch = i % dim;

	for (uint64_t k = 0; k < cnt; ch = 0) {
		uint64_t m = dim - ch < cnt - k ? dim - ch : cnt - k;
		if (!row_minmax(x + k, m, pt->gmin + ch, pt->gmax + ch))
			for (uint64_t j = 0; j < m; j++)
				pt->gbad[ch + j] += span_minmax(x + k + j, 1, &pt->gmin[ch + j],
				                                &pt->gmax[ch + j]);
		k += m;
	}
}

/* Elements per chunk for channels along the last axis: COL_ROWS whole
 * rows, or as many as COL_MAX holds (columns_count's tiles need rows). */
static size_t columns_bufn(const struct layout *l)
{
	size_t n = l->dim <= COL_MAX / COL_ROWS ? (size_t)l->dim * COL_ROWS
	           : l->dim < COL_MAX           ? COL_MAX / l->dim * l->dim
	                                        : COL_MAX;
	return n > CHUNK ? n : CHUNK;
}

/* Code table offsets b[0..m) (−1: a value not finite, not counted) of
 * channels ch0, ch0 + 1, ... into their strided counters. */
static void columns_count_run(struct spart *pt, const int32_t *b, uint64_t m, uint64_t ch0)
{
	uint32_t *h = pt->chist + ch0 * pt->c->span;

	for (uint64_t j = 0; j < m; j++, h += pt->c->span)
		if (b[j] >= 0)
			h[b[j]]++;
}

/* The chunk's code table offsets into the per-channel counters, its whole
 * rows a tile of COL_TILE channels at a time: the counters of one tile stay
 * in cache across the rows (row by row, each value would touch another
 * line of a table of channels × span). */
static void columns_count(struct spart *pt, const int32_t *b, uint64_t cnt, uint64_t i)
{
	uint64_t dim = pt->c->l->dim, ch = i % dim, k = 0, span = pt->c->span;

	if (ch) {
		k = dim - ch < cnt ? dim - ch : cnt;
		columns_count_run(pt, b, k, ch);
	}
	uint64_t rows = (cnt - k) / dim;
	for (uint64_t t0 = 0; t0 < dim && rows; t0 += COL_TILE) {
		uint64_t t1 = t0 + COL_TILE < dim ? t0 + COL_TILE : dim;
		for (uint64_t r = 0; r < rows; r++) {
			const int32_t *br = b + k + r * dim;
			for (uint64_t j = t0; j < t1; j++)
				if (br[j] >= 0)
					pt->chist[j * span + (uint64_t)br[j]]++;
		}
	}
	k += rows * dim;
	columns_count_run(pt, b + k, cnt - k, 0);
}

static bool colsum_alloc(struct colsum *cs, const struct sctx *c)
{
	uint64_t n = c->nch ? c->nch : 1;
	double **d[] = {&cs->sx2, &cs->se2, &cs->sae, &cs->sxy, &cs->sy2, &cs->mae};
	float **f[] = {&cs->s, &cs->zf, &cs->lo, &cs->hi, &cs->slo, &cs->shi};
	bool ok = true;

	for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
		ok &= (*d[k] = calloc(n, sizeof **d[k])) != NULL;
	for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
		ok &= (*f[k] = malloc(n * sizeof **f[k])) != NULL;
	ok &= (cs->n = calloc(n, sizeof *cs->n)) != NULL;
	ok &= (cs->clip = calloc(n, sizeof *cs->clip)) != NULL;
	return ok;
}

static void colsum_free(struct colsum *cs)
{
	void *all[] = {cs->sx2,  cs->se2, cs->sae, cs->sxy, cs->sy2, cs->mae, cs->n,
	               cs->clip, cs->s,   cs->zf,  cs->lo,  cs->hi,  cs->slo, cs->shi};
	for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
		free(all[k]);
	memset(cs, 0, sizeof *cs);
}

/* The channels' parameters as columns_row reads them (the measure pass
 * starts: the range pass has set c->p). */
static void colsum_params(struct colsum *cs, const struct sctx *c)
{
	for (uint64_t ch = 0; ch < c->nch; ch++) {
		const struct qparam *p = &c->p[ch];
		float half = isfinite(p->scale) ? fabsf(p->scale) / 2 : 0.0f;
		cs->s[ch] = p->scale;
		cs->zf[ch] = (float)p->zero_point;
		cs->lo[ch] = clip_bound_lo(p);
		cs->hi[ch] = clip_bound_hi(p);
		cs->slo[ch] = cs->lo[ch] - half;
		cs->shi[ch] = cs->hi[ch] + half;
	}
}

/* One finite pair of channel ch into its sums (the portable paths; the
 * arrays, not the struct, change). */
static void colsum_add(const struct colsum *cs, uint64_t ch, float v, float y)
{
	double dx = v, dy = y, e = dx - dy, ae = e < 0 ? -e : e;

	cs->n[ch]++;
	cs->sx2[ch] += dx * dx;
	cs->se2[ch] += e * e;
	cs->sae[ch] += ae;
	cs->sxy[ch] += dx * dy;
	cs->sy2[ch] += dy * dy;
	cs->mae[ch] = ae > cs->mae[ch] ? ae : cs->mae[ch];
	cs->clip[ch] += v < cs->lo[ch] || v > cs->hi[ch];
}

/* The sums into the channels' accumulators (which hold only the NaN and
 * inf counts of the scalar path). */
static void columns_fold(struct spart *pt)
{
	const struct colsum *cs = &pt->cs;

	for (uint64_t ch = 0; ch < pt->c->nch; ch++) {
		struct err_acc *a = &pt->acc[ch];
		a->n += cs->n[ch];
		a->clipped += cs->clip[ch];
		a->sx2 += cs->sx2[ch];
		a->se2 += cs->se2[ch];
		a->sae += cs->sae[ch];
		a->sxy += cs->sxy[ch];
		a->sy2 += cs->sy2[ch];
		a->max_ae = cs->mae[ch] > a->max_ae ? cs->mae[ch] : a->max_ae;
	}
}

/* Where a row of channels ch0.. is, in the part's arrays. */
struct colrow {
	const float *x;
	float *xh, *mn, *mx;
	int32_t *b; /* code − qmin */
	uint64_t *sat;
	int32_t wlo, whi; /* extremes of q − z */
};

/* Finite x[0..m) of channels ch0.. rounded half to even: codes and x̂
 * bit-identical to quant_one/quant_deq (as quant_lanes_c makes them) and
 * each channel's sums as colsum_add adds them, one value per channel. */
static void columns_row_c(const struct colsum *cs, uint64_t ch0, uint64_t m, float cmin, float cmax,
                          int32_t qmin, struct colrow *r)
{
	const float magic = 12582912.0f;

	for (uint64_t j = 0; j < m; j++) {
		uint64_t ch = ch0 + j;
		float v = r->x[j], s = cs->s[ch], zf = cs->zf[ch];
		float c = ((v / s + magic) - magic) + zf;
		c = c < cmin ? cmin : c;
		c = c > cmax ? cmax : c;
		float y = (c - zf) * s;
		int32_t q = (int32_t)c, d = q - (int32_t)zf;
		r->xh[j] = y;
		r->b[j] = q - qmin;
		r->wlo = d < r->wlo ? d : r->wlo;
		r->whi = d > r->whi ? d : r->whi;
		colsum_add(cs, ch, v, y);
		r->sat[j] += v < cs->slo[ch] || v > cs->shi[ch];
		r->mn[j] = v < r->mn[j] ? v : r->mn[j];
		r->mx[j] = v > r->mx[j] ? v : r->mx[j];
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
/* a[0..4) += b, for doubles and 64-bit counters in memory */
#define ADD4D(a, b) _mm256_storeu_pd((a), _mm256_add_pd(_mm256_loadu_pd(a), (b)))
#define SUB4Q(a, b)                                                                                \
	_mm256_storeu_si256(                                                                       \
	        (__m256i *)(void *)(a),                                                            \
	        _mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)(void *)(a)), (b)))

/* columns_row_c eight channels at a time, to the bit: the same float
 * operations, and each channel's double sums added in the same order. */
QS_AVX2 static void columns_row_avx2(const struct colsum *cs, uint64_t ch0, uint64_t m, float cmin,
                                     float cmax, int32_t qmin, struct colrow *r)
{
	const __m256 magic = _mm256_set1_ps(12582912.0f), vcmin = _mm256_set1_ps(cmin);
	const __m256 vcmax = _mm256_set1_ps(cmax);
	const __m256d absd = _mm256_castsi256_pd(_mm256_set1_epi64x(INT64_MAX));
	const __m256i minus1 = _mm256_set1_epi64x(-1), vqmin = _mm256_set1_epi32(qmin);
	__m256i wlo = _mm256_set1_epi32(r->wlo), whi = _mm256_set1_epi32(r->whi);
	uint64_t j = 0;

	for (; j + 8 <= m; j += 8) {
		uint64_t ch = ch0 + j;
		__m256 v = _mm256_loadu_ps(r->x + j), s = _mm256_loadu_ps(cs->s + ch);
		__m256 zf = _mm256_loadu_ps(cs->zf + ch);
		__m256 c = _mm256_sub_ps(_mm256_add_ps(_mm256_div_ps(v, s), magic), magic);
		c = _mm256_min_ps(vcmax, _mm256_max_ps(vcmin, _mm256_add_ps(c, zf)));
		__m256 y = _mm256_mul_ps(_mm256_sub_ps(c, zf), s);
		__m256i q = _mm256_cvttps_epi32(c);
		__m256i d = _mm256_sub_epi32(q, _mm256_cvttps_epi32(zf));
		_mm256_storeu_ps(r->xh + j, y);
		_mm256_storeu_si256((__m256i *)(void *)(r->b + j), _mm256_sub_epi32(q, vqmin));
		wlo = _mm256_min_epi32(wlo, d);
		whi = _mm256_max_epi32(whi, d);
		for (int h = 0; h < 2; h++) {
			__m256d dx = h ? HI4D(v) : LO4D(v), dy = h ? HI4D(y) : LO4D(y);
			__m256d e = _mm256_sub_pd(dx, dy), ae = _mm256_and_pd(e, absd);
			uint64_t k = ch + 4 * (uint64_t)h;
			SUB4Q(cs->n + k, minus1); /* as the masks below: − (−1) */
			ADD4D(cs->sx2 + k, _mm256_mul_pd(dx, dx));
			ADD4D(cs->se2 + k, _mm256_mul_pd(e, e));
			ADD4D(cs->sae + k, ae);
			ADD4D(cs->sxy + k, _mm256_mul_pd(dx, dy));
			ADD4D(cs->sy2 + k, _mm256_mul_pd(dy, dy));
			_mm256_storeu_pd(cs->mae + k,
			                 _mm256_max_pd(ae, _mm256_loadu_pd(cs->mae + k)));
		}
		__m256 clip =
		        _mm256_or_ps(_mm256_cmp_ps(v, _mm256_loadu_ps(cs->lo + ch), _CMP_LT_OQ),
		                     _mm256_cmp_ps(v, _mm256_loadu_ps(cs->hi + ch), _CMP_GT_OQ));
		__m256 sat =
		        _mm256_or_ps(_mm256_cmp_ps(v, _mm256_loadu_ps(cs->slo + ch), _CMP_LT_OQ),
		                     _mm256_cmp_ps(v, _mm256_loadu_ps(cs->shi + ch), _CMP_GT_OQ));
		__m256i ci = _mm256_castps_si256(clip), si = _mm256_castps_si256(sat);
		SUB4Q(cs->clip + ch, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(ci)));
		SUB4Q(cs->clip + ch + 4, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(ci, 1)));
		SUB4Q(r->sat + j, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(si)));
		SUB4Q(r->sat + j + 4, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(si, 1)));
		_mm256_storeu_ps(r->mn + j, _mm256_min_ps(v, _mm256_loadu_ps(r->mn + j)));
		_mm256_storeu_ps(r->mx + j, _mm256_max_ps(v, _mm256_loadu_ps(r->mx + j)));
	}
	int32_t lo[8], hi[8];
	_mm256_storeu_si256((__m256i *)(void *)lo, wlo);
	_mm256_storeu_si256((__m256i *)(void *)hi, whi);
	for (int k = 0; k < 8; k++) {
		r->wlo = lo[k] < r->wlo ? lo[k] : r->wlo;
		r->whi = hi[k] > r->whi ? hi[k] : r->whi;
	}
	struct colrow t = *r;
	t.x += j;
	t.xh += j;
	t.mn += j;
	t.mx += j;
	t.b += j;
	t.sat += j;
	columns_row_c(cs, ch0 + j, m - j, cmin, cmax, qmin, &t);
	r->wlo = t.wlo;
	r->whi = t.whi;
}
#endif

static void columns_row(const struct colsum *cs, uint64_t ch0, uint64_t m, float cmin, float cmax,
                        int32_t qmin, struct colrow *r)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (use_avx2()) {
		columns_row_avx2(cs, ch0, m, cmin, cmax, qmin, r);
		return;
	}
#endif
	columns_row_c(cs, ch0, m, cmin, cmax, qmin, r);
}

/* x[0..m) of channels ch..: codes (b = code − qmin, −1 for NaN/inf) and x̂,
 * and in the measure pass their sums, one value at a time. */
static void columns_scalar(struct spart *pt, const float *x, uint64_t m, uint64_t ch, float *xh,
                           int32_t *b)
{
	const struct sctx *c = pt->c;
	bool measure = pt->pass == PASS_MEASURE;

	for (uint64_t k = 0; k < m; k++, ch++) {
		const struct qparam *p = &c->p[ch];
		float v = x[k];
		int32_t q = quant_one(v, p, c->qmin, c->qmax, c->s->rounding);
		xh[k] = quant_deq(q, p);
		b[k] = -1;
		if (!measure)
			continue;
		if (!isfinite(v)) {
			err_acc_add(&pt->acc[ch], v, xh[k], false); /* counts NaN, inf */
			continue;
		}
		int32_t d = q - p->zero_point;
		colsum_add(&pt->cs, ch, v, xh[k]);
		pt->cmin[ch] = v < pt->cmin[ch] ? v : pt->cmin[ch];
		pt->cmax[ch] = v > pt->cmax[ch] ? v : pt->cmax[ch];
		pt->sat[ch] += v < pt->cs.slo[ch] || v > pt->cs.shi[ch];
		pt->wq_lo = d < pt->wq_lo ? d : pt->wq_lo;
		pt->wq_hi = d > pt->wq_hi ? d : pt->wq_hi;
		b[k] = q - c->qmin;
	}
}

/* Σ|q − z| per output channel of the values x[i..i + m) (channels ch..). */
static void columns_wq(struct spart *pt, const int32_t *b, uint64_t m, uint64_t ch, uint64_t i)
{
	const struct sctx *c = pt->c;

	for (uint64_t k = 0; k < m; k++, ch++) {
		if (b[k] < 0)
			continue;
		double d = fabs((double)(b[k] + c->qmin - c->p[ch].zero_point));
		uint64_t oc = c->ol.axis == c->l->axis ? ch : ((i + k) / c->ol.inner) % c->ol.dim;
		pt->wqs[oc] += d;
	}
}

/* The measure (or refine) pass over channels along the last axis, a row
 * (or the part of one in the chunk) at a time: each value quantized with
 * its channel's parameters and added straight into its channel's sums and
 * code counters, as measure_run adds a run. */
static void columns_measure(struct spart *pt, const float *x, uint64_t cnt, uint64_t i)
{
	const struct sctx *c = pt->c;
	uint64_t dim = c->l->dim, ch = i % dim;
	bool measure = pt->pass == PASS_MEASURE;
	bool fast = measure && c->s->rounding == ROUND_HALF_EVEN;

	for (uint64_t k = 0; k < cnt; ch = 0) {
		uint64_t m = dim - ch < cnt - k ? dim - ch : cnt - k;
		if (fast && row_finite(x + k, m)) {
			struct colrow r = {.x = x + k,
			                   .xh = pt->xh + k,
			                   .mn = pt->cmin + ch,
			                   .mx = pt->cmax + ch,
			                   .b = pt->codes + k,
			                   .sat = pt->sat + ch,
			                   .wlo = pt->wq_lo,
			                   .whi = pt->wq_hi};
			columns_row(&pt->cs, ch, m, (float)c->qmin, (float)c->qmax, c->qmin, &r);
			pt->wq_lo = r.wlo;
			pt->wq_hi = r.whi;
		} else {
			columns_scalar(pt, x + k, m, ch, pt->xh + k, pt->codes + k);
		}
		if (measure && c->wq)
			columns_wq(pt, pt->codes + k, m, ch, i + k);
		k += m;
	}
	if (measure && !c->no_codes)
		columns_count(pt, pt->codes, cnt, i);
	if (pt->ha)
		measure ? dist_acc_add(pt->ha, pt->xh, cnt) : dist_acc_refine(pt->ha, pt->xh, cnt);
}

/* ---- passes ------------------------------------------------------------- */

/* Elements [i, i + cnt) of src: in place, or read into buf (NULL on error,
 * pt->rc set). */
static const float *src_values(struct spart *pt, const struct float_src *src, uint64_t i,
                               uint64_t cnt, float *buf)
{
	if (src->data)
		return src->data + i;
	pt->rc = src->read(src->ctx, i, cnt, buf, &pt->err);
	return pt->rc ? NULL : buf;
}

static const float *chunk_values(struct spart *pt, uint64_t i, uint64_t cnt)
{
	return src_values(pt, pt->c->src, i, cnt, pt->buf);
}

static void element_pass(struct spart *pt)
{
	const struct sctx *c = pt->c;
	const struct layout *l = c->l;
	bool cols = c->columns && pt->pass == PASS_MEASURE;

	if (cols)
		colsum_params(&pt->cs, c);

	for (uint64_t i = pt->i0; i < pt->i1 && !pt->rc;) {
		uint64_t cnt = pt->i1 - i < c->bufn ? pt->i1 - i : c->bufn;
		const float *x = chunk_values(pt, i, cnt);
		if (!x)
			return;
		if (pt->pass == PASS_REFINE && pt->xa)
			dist_acc_refine(pt->xa, x, cnt);
		if (pt->pass == PASS_RANGE && pt->xa)
			dist_acc_add(pt->xa, x, cnt);
		if (pt->pass == PASS_REFINE && !pt->ha) {
			i += cnt;
			continue;
		}
		if (c->columns) {
			if (pt->pass == PASS_RANGE)
				columns_range(pt, x, cnt, i);
			else
				columns_measure(pt, x, cnt, i);
			i += cnt;
			continue;
		}
		for (uint64_t j = i; j < i + cnt;) {
			uint64_t ch, g, end;
			run_at(l, j, &ch, &g, &end);
			end = end < i + cnt ? end : i + cnt;
			if (pt->pass == PASS_RANGE)
				pt->gbad[g] += span_minmax(x + (j - i), end - j, &pt->gmin[g],
				                           &pt->gmax[g]);
			else
				measure_run(pt, x + (j - i), end - j, ch, g, j);
			if (pt->pass != PASS_RANGE && c->contig && end % c->csize == 0 &&
			    !c->no_codes)
				channel_close(pt, ch, g);
			j = end;
		}
		i += cnt;
	}
	if (cols && !pt->rc)
		columns_fold(pt);
}

/* Start and size of group g when groups are contiguous. */
static void group_extent(const struct layout *l, uint64_t g, uint64_t *off, uint64_t *m)
{
	*m = layout_group_size(l, g);
	if (l->gran == GRAN_TENSOR)
		*off = 0;
	else if (l->gran == GRAN_CHANNEL)
		*off = g * l->inner;
	else
		*off = (g / l->nblk) * l->dim + (g % l->nblk) * l->block;
}

static void group_pass(struct spart *pt)
{
	const struct sctx *c = pt->c;
	uint64_t gmax = 0;

	for (uint64_t g = pt->g0; g < pt->g1; g++) {
		uint64_t m = layout_group_size(c->l, g);
		gmax = m > gmax ? m : gmax;
	}
	float *buf = malloc((gmax ? gmax : 1) * sizeof *buf);
	float *scr = malloc((gmax ? gmax : 1) * sizeof *scr);
	if (!buf || !scr) {
		free(buf);
		free(scr);
		pt->rc = qs_error_set(&pt->err, QS_ERR_NOMEM, "out of memory for a group of %llu",
		                      (unsigned long long)gmax);
		return;
	}
	for (uint64_t g = pt->g0; g < pt->g1 && !pt->rc; g++) {
		uint64_t off, m, k = 0;
		group_extent(c->l, g, &off, &m);
		const float *v = c->src->data ? c->src->data + off : NULL;
		if (!v && (pt->rc = c->src->read(c->src->ctx, off, m, buf, &pt->err)) != 0)
			break;
		v = v ? v : buf;
		float mn = INFINITY, mx = -INFINITY;
		c->gbad[g] = pt->xa ? dist_acc_add_extremes(pt->xa, v, m, &mn, &mx)
		                    : span_minmax(v, m, &mn, &mx);
		if (c->gbad[g]) {
			for (uint64_t j = 0; j < m; j++)
				if (isfinite(v[j]))
					buf[k++] = v[j];
			v = buf;
			m = k;
		}
		pt->rc = range_choose(c->m, c->s, v, m, scr, &c->p[g], &pt->err);
	}
	free(scr);
	free(buf);
}

/* Channel ch's parameters from its values x, and its non-finite count.
 * Without x's statistics to feed, a range method's own scan of x stands in
 * for span_minmax: range_choose refuses NaN/inf (QS_ERR_NUMERIC), and only
 * then are they counted and left out (into xh, free until measure_run). */
static int fused_range(struct spart *pt, const float *x, uint64_t ch)
{
	const struct sctx *c = pt->c;
	float v[2] = {INFINITY, -INFINITY};
	uint64_t m = c->csize;

	if (!c->minmax && !pt->xa) {
		int rc = range_choose(c->m, c->s, x, m, pt->scr, &c->p[ch], &pt->err);
		c->gbad[ch] = 0;
		if (rc != QS_ERR_NUMERIC)
			return rc;
		pt->err = (struct qs_error){0};
	}
	c->gbad[ch] = pt->xa ? dist_acc_add_extremes(pt->xa, x, m, &v[0], &v[1])
	                     : span_minmax(x, m, &v[0], &v[1]);
	if (c->minmax)
		return range_choose(c->m, c->s, v, v[0] <= v[1] ? 2 : 0, v, &c->p[ch], &pt->err);
	if (c->gbad[ch]) {
		m = 0;
		for (uint64_t j = 0; j < c->csize; j++)
			if (isfinite(x[j]))
				pt->xh[m++] = x[j];
		x = pt->xh;
	}
	return range_choose(c->m, c->s, x, m, pt->scr, &c->p[ch], &pt->err);
}

/* Range and measure channel by channel while the channel is in cache: its
 * group is the channel (group index = channel index). */
static void fused_pass(struct spart *pt)
{
	const struct sctx *c = pt->c;

	for (uint64_t ch = pt->i0 / c->csize; ch < pt->i1 / c->csize && !pt->rc; ch++) {
		uint64_t i = ch * c->csize;
		const float *x = chunk_values(pt, i, c->csize);
		if (!x)
			return;
		pt->rc = fused_range(pt, x, ch);
		if (pt->rc)
			return;
		measure_run(pt, x, c->csize, ch, ch, i);
		if (!c->no_codes)
			channel_close(pt, ch, ch);
	}
}

static void stored_pass(struct spart *pt);

static void *part_main(void *arg)
{
	struct spart *pt = arg;

	if (pt->c->stored)
		stored_pass(pt);
	else if (pt->pass == PASS_RANGE && !pt->c->minmax && !pt->c->columns)
		group_pass(pt);
	else if (pt->pass == PASS_MEASURE && pt->c->fused)
		fused_pass(pt);
	else
		element_pass(pt);
	return NULL;
}

/* Run the parts of one pass, on two threads when asked. */
static void run_parts(struct spart *pt, int nparts, int threads, enum pass pass)
{
	pthread_t t;
	bool spawned = false;

	for (int k = 0; k < nparts; k++)
		pt[k].pass = pass;
	if (nparts > 1 && threads > 1)
		spawned = pthread_create(&t, NULL, part_main, &pt[1]) == 0;
	part_main(&pt[0]);
	if (spawned)
		pthread_join(t, NULL);
	else
		for (int k = 1; k < nparts; k++)
			part_main(&pt[k]);
}

/* ---- set-up and results ------------------------------------------------- */

static int part_alloc(struct spart *pt, const struct sctx *c, bool strided_hist)
{
	uint64_t ng = c->l->ngroups ? c->l->ngroups : 1, nch = c->nch ? c->nch : 1;

	pt->c = c;
	pt->buf = c->src->data ? NULL : malloc(c->bufn * sizeof *pt->buf);
	pt->xh = malloc(c->bufn * sizeof *pt->xh);
	pt->scr = c->fused && !c->minmax ? malloc(c->bufn * sizeof *pt->scr) : NULL;
	pt->codes = malloc(c->bufn * sizeof *pt->codes);
	bool rg = !c->stored; /* the range pass's per-group tables */
	pt->gmin = rg ? malloc(ng * sizeof *pt->gmin) : NULL;
	pt->gmax = rg ? malloc(ng * sizeof *pt->gmax) : NULL;
	pt->gbad = rg ? calloc(ng, sizeof *pt->gbad) : NULL;
	pt->badh = c->stored ? calloc(c->span, sizeof *pt->badh) : NULL;
	pt->acc = calloc(nch, sizeof *pt->acc);
	pt->sat = calloc(nch, sizeof *pt->sat);
	pt->cmin = malloc(nch * sizeof *pt->cmin);
	pt->cmax = malloc(nch * sizeof *pt->cmax);
	pt->hist = calloc(c->span, sizeof *pt->hist);
	pt->chist = calloc(strided_hist ? nch * c->span : 4 * c->span, sizeof *pt->chist);
	pt->touched = malloc(c->span * sizeof *pt->touched);
	pt->wqs = c->wq ? calloc(c->ol.dim ? c->ol.dim : 1, sizeof *pt->wqs) : NULL;
	pt->xa = c->want_xs ? dist_acc_new() : NULL;
	pt->ha = c->want_xhs ? dist_acc_new() : NULL;
	if (c->no_moments && pt->xa)
		dist_acc_no_moments(pt->xa);
	if (c->no_moments && pt->ha)
		dist_acc_no_moments(pt->ha);
	if (c->no_quantiles && pt->xa)
		dist_acc_no_quantiles(pt->xa);
	if (c->no_quantiles && pt->ha)
		dist_acc_no_quantiles(pt->ha);
	pt->wq_lo = INT32_MAX;
	pt->wq_hi = INT32_MIN;
	if (c->columns && !colsum_alloc(&pt->cs, c))
		return QS_ERR_NOMEM;
	if ((!c->src->data && !pt->buf) || !pt->xh || !pt->codes ||
	    (c->fused && !c->minmax && !pt->scr) || (rg && (!pt->gmin || !pt->gmax || !pt->gbad)) ||
	    (c->stored && !pt->badh) || !pt->acc || !pt->sat || !pt->cmin || !pt->cmax ||
	    !pt->hist || !pt->chist || !pt->touched || (c->wq && !pt->wqs) ||
	    (c->want_xs && !pt->xa) || (c->want_xhs && !pt->ha))
		return QS_ERR_NOMEM;
	for (uint64_t g = 0; rg && g < ng; g++) {
		pt->gmin[g] = INFINITY;
		pt->gmax[g] = -INFINITY;
	}
	for (uint64_t k = 0; k < nch; k++) {
		pt->cmin[k] = INFINITY;
		pt->cmax[k] = -INFINITY;
	}
	return 0;
}

static void part_free(struct spart *pt)
{
	free(pt->buf);
	free(pt->xh);
	free(pt->scr);
	free(pt->codes);
	free(pt->gmin);
	free(pt->gmax);
	free(pt->gbad);
	free(pt->acc);
	free(pt->sat);
	free(pt->cmin);
	free(pt->cmax);
	free(pt->hist);
	free(pt->chist);
	free(pt->touched);
	free(pt->badh);
	free(pt->wqs);
	dist_acc_free(pt->xa);
	dist_acc_free(pt->ha);
	colsum_free(&pt->cs);
}

/* Cut [0, n) in two at a channel boundary (contiguous channels) for the
 * element passes, and the groups in two for the group pass. */
static int parts_split(struct spart *pt, const struct sctx *c)
{
	const struct layout *l = c->l;

	pt[0].i0 = 0;
	pt[0].i1 = l->n;
	pt[0].g0 = 0;
	pt[0].g1 = l->ngroups;
	if (l->n < MIN_SPLIT)
		return 1;
	uint64_t unit = c->contig ? c->csize : 1, mid = (l->n / 2) / unit * unit;
	uint64_t gmid = l->ngroups / 2;
	if (mid == 0 || mid >= l->n)
		return 1;
	if (!c->minmax && gmid == 0)
		return 1;
	pt[0].i1 = pt[1].i0 = mid;
	pt[1].i1 = l->n;
	pt[0].g1 = pt[1].g0 = gmid;
	pt[1].g1 = l->ngroups;
	return 2;
}

/* The per-channel levels and entropy, the parts and their buffers (nomem:
 * an allocation of the caller's already failed). On failure err says so;
 * *nparts is what the caller must free. */
static int parts_setup(struct sctx *c, struct spart *pt, int *nparts, bool strided_hist, bool nomem,
                       struct qs_error *err)
{
	c->lev = calloc(c->nch ? c->nch : 1, sizeof *c->lev);
	c->ent = calloc(c->nch ? c->nch : 1, sizeof *c->ent);
	*nparts = parts_split(pt, c);
	int rc = nomem || !c->lev || !c->ent ? QS_ERR_NOMEM : 0;
	for (int k = 0; k < *nparts && !rc; k++)
		rc = part_alloc(&pt[k], c, strided_hist);
	if (rc)
		qs_error_set(err, rc, "out of memory for a tensor of %llu elements",
		             (unsigned long long)c->l->n);
	return rc;
}

/* Fold part b's range or measure pass into part a (x's statistics with the
 * pass that took them). */
static void parts_merge(struct spart *a, const struct spart *b, enum pass pass, bool strided_hist)
{
	const struct sctx *c = a->c;

	if (pass == PASS_RANGE) {
		if (a->xa)
			dist_acc_merge(a->xa, b->xa);
		if (!c->minmax && !c->columns)
			return;
		for (uint64_t g = 0; g < c->l->ngroups; g++) {
			a->gmin[g] = b->gmin[g] < a->gmin[g] ? b->gmin[g] : a->gmin[g];
			a->gmax[g] = b->gmax[g] > a->gmax[g] ? b->gmax[g] : a->gmax[g];
			a->gbad[g] += b->gbad[g];
		}
		return;
	}
	for (uint64_t k = 0; k < c->nch; k++) {
		err_acc_merge(&a->acc[k], &b->acc[k]);
		a->sat[k] += b->sat[k];
		a->cmin[k] = b->cmin[k] < a->cmin[k] ? b->cmin[k] : a->cmin[k];
		a->cmax[k] = b->cmax[k] > a->cmax[k] ? b->cmax[k] : a->cmax[k];
	}
	for (size_t k = 0; k < c->span; k++)
		a->hist[k] += b->hist[k];
	if (strided_hist)
		for (uint64_t k = 0; k < c->nch * c->span; k++)
			a->chist[k] += b->chist[k];
	for (uint64_t k = 0; c->wq && k < c->ol.dim; k++)
		a->wqs[k] += b->wqs[k];
	a->wq_lo = b->wq_lo < a->wq_lo ? b->wq_lo : a->wq_lo;
	a->wq_hi = b->wq_hi > a->wq_hi ? b->wq_hi : a->wq_hi;
	if (a->ha)
		dist_acc_merge(a->ha, b->ha);
	if (a->xa && (c->fused || c->stored)) /* x's statistics were taken in this pass */
		dist_acc_merge(a->xa, b->xa);
	for (size_t k = 0; c->stored && k < c->span; k++)
		a->badh[k] += b->badh[k];
	a->bad_xhat += b->bad_xhat;
}

/* A pass's parts finished: the first error, else everything merged into
 * pt[0]. */
static int parts_collect(struct spart *pt, int nparts, enum pass pass, bool strided_hist,
                         struct qs_error *err)
{
	for (int k = 0; k < nparts; k++)
		if (pt[k].rc)
			return qs_error_set(err, pt[k].rc, "%s", pt[k].err.msg);
	for (int k = 1; k < nparts; k++)
		parts_merge(&pt[0], &pt[k], pass, strided_hist);
	return 0;
}

/* Levels and entropy of strided channels from their merged counters. */
static void strided_levels(const struct sctx *c, const uint32_t *chist, uint64_t *hist)
{
	for (uint64_t ch = 0; ch < c->nch; ch++) {
		const uint32_t *h = chist + ch * c->span;
		uint64_t tot = 0, lev = 0;
		double e = 0.0; /* Σ n·log2 n over the codes' counts n (as channel_close) */
		for (size_t k = 0; k < c->span; k++) {
			tot += h[k];
			hist[k] += h[k];
			lev += h[k] != 0;
			e += clog2c(h[k]);
		}
		double ent = tot ? log2((double)tot) - e / (double)tot : 0.0;
		c->lev[ch] = lev;
		c->ent[ch] = ent > 0.0 ? ent : 0.0;
	}
}

static void empty_stats(struct dist_stats *d)
{
	*d = (struct dist_stats){.min = NAN,
	                         .max = NAN,
	                         .mean = NAN,
	                         .std = NAN,
	                         .skew = NAN,
	                         .kurtosis = NAN,
	                         .p01 = NAN,
	                         .p25 = NAN,
	                         .p50 = NAN,
	                         .p75 = NAN,
	                         .p99 = NAN,
	                         .absmax = NAN};
}

static void no_quantiles(struct dist_stats *d)
{
	d->p01 = d->p25 = d->p50 = d->p75 = d->p99 = NAN;
}

static int stream_refine(struct sctx *c, struct spart *pt, int nparts, int threads, bool quantiles,
                         struct qs_error *err);

/* The three passes and their merges. */
/* A range method other than minmax over channels along the last axis:
 * each channel's values are spread over every row, so the tensor is read
 * whole (as simulate_whole would) for range_choose_groups; the measure
 * pass then streams as for minmax. */
static int columns_choose(struct sctx *c, const uint64_t *gbad, struct qs_error *err)
{
	const struct layout *l = c->l;
	float *buf = NULL;
	const float *x = c->src->data;
	int rc = 0;

	if (!x && l->n > SIZE_MAX / sizeof *buf)
		return qs_error_set(err, QS_ERR_NOMEM, "tensor of %llu elements is too large",
		                    (unsigned long long)l->n);
	if (!x && !(buf = malloc(l->n * sizeof *buf)))
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory for %llu elements",
		                    (unsigned long long)l->n);
	if (!x)
		rc = c->src->read(c->src->ctx, 0, l->n, buf, err);
	if (!rc)
		rc = range_choose_groups(c->m, c->s, l, x ? x : buf, c->p, err);
	for (uint64_t g = 0; !rc && g < l->ngroups; g++)
		c->gbad[g] = gbad[g];
	free(buf);
	return rc;
}

static int stream_passes(struct sctx *c, struct spart *pt, int nparts, int threads,
                         bool strided_hist, bool quantiles, struct qs_error *err)
{
	int rc;

	if (c->fused) {
		run_parts(pt, nparts, threads, PASS_MEASURE);
		if ((rc = parts_collect(pt, nparts, PASS_MEASURE, strided_hist, err)) != 0)
			return rc;
		return stream_refine(c, pt, nparts, threads, quantiles, err);
	}
	run_parts(pt, nparts, threads, PASS_RANGE);
	if ((rc = parts_collect(pt, nparts, PASS_RANGE, strided_hist, err)) != 0)
		return rc;
	if (c->minmax) {
		for (uint64_t g = 0; g < c->l->ngroups; g++) {
			float v[2] = {pt[0].gmin[g], pt[0].gmax[g]};
			size_t m = v[0] <= v[1] ? 2 : 0;
			if ((rc = range_choose(c->m, c->s, v, m, v, &c->p[g], err)) != 0)
				return rc;
			c->gbad[g] = pt[0].gbad[g];
		}
	} else if (c->columns && (rc = columns_choose(c, pt[0].gbad, err)) != 0) {
		return rc;
	}
	run_parts(pt, nparts, threads, PASS_MEASURE);
	if ((rc = parts_collect(pt, nparts, PASS_MEASURE, strided_hist, err)) != 0)
		return rc;
	return stream_refine(c, pt, nparts, threads, quantiles, err);
}

/* The quantiles' pass, when the statistics need one. */
static int stream_refine(struct sctx *c, struct spart *pt, int nparts, int threads, bool quantiles,
                         struct qs_error *err)
{
	(void)c;
	bool rx = quantiles && pt[0].xa && dist_acc_refine_begin(pt[0].xa);
	bool rh = quantiles && pt[0].ha && dist_acc_refine_begin(pt[0].ha);
	if (!rx && !rh)
		return 0;
	/* Each part refines clones of the merged accumulators. */
	struct dist_acc *keepx[2] = {NULL, NULL}, *keeph[2] = {NULL, NULL};
	int rc = 0;
	for (int k = 0; k < nparts; k++) {
		keepx[k] = pt[k].xa;
		keeph[k] = pt[k].ha;
		pt[k].xa = rx ? dist_acc_refine_clone(keepx[0]) : NULL;
		pt[k].ha = rh ? dist_acc_refine_clone(keeph[0]) : NULL;
		if ((rx && !pt[k].xa) || (rh && !pt[k].ha))
			rc = QS_ERR_NOMEM;
	}
	if (!rc) {
		run_parts(pt, nparts, threads, PASS_REFINE);
		for (int k = 0; k < nparts && !rc; k++)
			if (pt[k].rc)
				rc = qs_error_set(err, pt[k].rc, "%s", pt[k].err.msg);
	}
	for (int k = 0; k < nparts && !rc; k++) {
		if (rx)
			dist_acc_refine_merge(keepx[0], pt[k].xa);
		if (rh)
			dist_acc_refine_merge(keeph[0], pt[k].ha);
	}
	for (int k = 0; k < nparts; k++) {
		dist_acc_free(pt[k].xa);
		dist_acc_free(pt[k].ha);
		pt[k].xa = keepx[k];
		pt[k].ha = keeph[k];
	}
	return rc ? qs_error_set(err, rc, "out of memory refining quantiles") : 0;
}

static int stream_results(struct sctx *c, struct spart *p0, bool quantiles, const int64_t *shape,
                          int ndim, const struct analyze_opts *o, struct tensor_result *out)
{
	struct core_in in = {.l = c->l,
	                     .p = c->p,
	                     .bits = c->s->bits,
	                     .qmin = c->qmin,
	                     .qmax = c->qmax,
	                     .g = c->g,
	                     .assumed_int8_input = true,
	                     .codes_in_range = true};
	struct core_state st = {.acc = p0->acc,
	                        .sat = p0->sat,
	                        .wq_lo = p0->wq_lo,
	                        .wq_hi = p0->wq_hi,
	                        .wq_sum = p0->wqs,
	                        .bad_xhat = p0->bad_xhat};
	struct err_acc all;
	double mean_scale;

	if (o && o->xs)
		out->xs = *o->xs;
	else if (p0->xa)
		dist_acc_finish(p0->xa, &out->xs);
	if (p0->ha)
		dist_acc_finish(p0->ha, &out->xhs);
	else
		empty_stats(&out->xhs);
	if (!quantiles) {
		no_quantiles(&out->xs);
		no_quantiles(&out->xhs);
	}
	out->bits = c->s->bits;
	out->nchannels = c->nch;
	out->ch = calloc(c->nch ? c->nch : 1, sizeof *out->ch);
	if (!out->ch)
		return QS_ERR_NOMEM;
	st.ch0 = out->ch;
	err_acc_init(&all);
	for (uint64_t k = 0; k < c->nch; k++) {
		struct channel_result *cr = &out->ch[k];
		double mean, minabs;
		err_acc_merge(&all, &p0->acc[k]);
		az_chan_params(c->l, c->p, k, &mean, &cr->zero_point, &minabs);
		cr->scale = (float)mean;
		metrics_finish(&p0->acc[k], NULL, 0, mean, &cr->m);
		cr->channel = k;
		cr->n = cr->m.n;
		cr->min = cr->m.n ? p0->cmin[k] : NAN;
		cr->max = cr->m.n ? p0->cmax[k] : NAN;
		cr->m.levels_used = c->lev[k];
		cr->m.entropy_bits = c->ent[k];
	}
	az_tensor_params(&in, out, &mean_scale);
	metrics_finish(&all, p0->hist, c->span, mean_scale, &out->m);
	if (c->nch == 1) {
		out->ch[0].m.levels_used = out->m.levels_used;
		out->ch[0].m.entropy_bits = out->m.entropy_bits;
	}
	for (uint64_t k = 0; c->no_codes && k <= c->nch; k++) { /* not counted */
		struct err_metrics *m = k < c->nch ? &out->ch[k].m : &out->m;
		m->levels_used = 0;
		m->entropy_bits = NAN;
	}
	return az_findings(&in, &st, shape, ndim, out);
}

/* What o leaves out, and whether the graph's accumulator check needs the
 * codes per output channel (c->wq, c->ol). Returns whether quantiles are
 * wanted. */
static bool sctx_opts(struct sctx *c, const struct analyze_opts *o, const struct graph_facts *g,
                      const int64_t *shape, int ndim)
{
	c->want_xs = !(o && o->xs);
	c->want_xhs = !(o && o->no_xhat_stats);
	c->no_moments = o && o->no_moments;
	c->no_quantiles = o && o->no_quantiles;
	c->wq = g && g->role == ROLE_WEIGHT && g->has_input && g->out_axis >= 0 &&
	        layout_init(&c->ol, shape, ndim, GRAN_CHANNEL, g->out_axis, 0, NULL);
	return !c->no_quantiles;
}

/* Whole-tensor fallback: read everything and let analyze_simulate work. */
static int simulate_whole(const struct float_src *src, const int64_t *shape, int ndim,
                          const struct qspec *spec, const struct graph_facts *g,
                          struct tensor_result *out, struct qs_error *err)
{
	uint64_t n = 1;

	for (int k = 0; k < ndim; k++)
		n *= (uint64_t)shape[k];
	if (src->data)
		return az_simulate_buffers(src->data, shape, ndim, spec, g, out, NULL, NULL, err);
	if (n > SIZE_MAX / sizeof(float))
		return qs_error_set(err, QS_ERR_NOMEM, "tensor of %llu elements is too large",
		                    (unsigned long long)n);
	float *x = malloc((n ? n : 1) * sizeof *x);
	if (!x)
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory for %llu elements",
		                    (unsigned long long)n);
	int rc = n ? src->read(src->ctx, 0, n, x, err) : 0;
	if (!rc)
		rc = az_simulate_buffers(x, shape, ndim, spec, g, out, NULL, NULL, err);
	free(x);
	return rc;
}

static bool groups_contiguous(const struct layout *l)
{
	return l->gran == GRAN_TENSOR || (l->gran == GRAN_CHANNEL && l->outer == 1) ||
	       (l->gran == GRAN_GROUP && l->inner == 1);
}

int analyze_simulate_src(const struct float_src *src, const int64_t *shape, int ndim,
                         const struct qspec *spec, const struct graph_facts *g,
                         const struct analyze_opts *o, struct tensor_result *out,
                         struct qs_error *err)
{
	struct scheme s;
	struct layout l;
	const char *why = NULL;
	struct sctx c = {.src = src, .l = &l, .s = &s, .m = &spec->method, .g = g};
	struct spart pt[2];
	int rc;

	memset(out, 0, sizeof *out);
	memset(pt, 0, sizeof pt);
	pthread_once(&clog_once, clog_init);
	if (ndim < 0 || ndim > QS_MAX_DIMS || (ndim > 0 && !shape))
		return qs_error_set(err, QS_ERR_USAGE, "bad shape (%d dimensions)", ndim);
	if (az_block_streams(spec, shape, ndim))
		return az_simulate_block_src(src, shape, ndim, spec, g, o, out, err);
	if ((spec->qt && spec->qt->family != QTYPE_LINEAR) || spec->per_group)
		return simulate_whole(src, shape, ndim, spec, g, out, err);
	if ((rc = az_resolve_scheme(spec, g, &s, err)) != 0)
		return rc;
	if (!layout_init(&l, shape, ndim, s.gran, s.axis, s.group_size, &why))
		return qs_error_set(err, QS_ERR_USAGE, "layout: %s", why);
	c.minmax = spec->method.kind == METHOD_MINMAX;
	c.nch = layout_nchannels(&l);
	c.contig = (l.gran != GRAN_GROUP && l.outer == 1) || (l.gran == GRAN_GROUP && l.inner == 1);
	c.csize = l.gran == GRAN_GROUP ? l.dim : l.inner;
	c.one_group = c.contig && (l.gran != GRAN_GROUP || l.nblk == 1);
	c.fused =
	        c.contig && c.csize <= FUSE_MAX &&
	        ((l.gran == GRAN_CHANNEL && l.outer == 1) || (l.gran == GRAN_GROUP && l.nblk == 1));
	c.bufn = c.fused && c.csize > CHUNK ? (size_t)c.csize : CHUNK;
	scheme_code_range(&s, &c.qmin, &c.qmax);
	c.span = (size_t)((int64_t)c.qmax - c.qmin + 1);
	c.scan = c.contig && c.span <= SCAN_SPAN && c.csize >= c.span;
	c.columns = !c.contig && l.gran == GRAN_CHANNEL && l.inner == 1;
	if (c.columns)
		c.bufn = columns_bufn(&l);
	bool strided_hist = !c.contig;
	if (l.n == 0 || (!c.minmax && !c.columns && !groups_contiguous(&l)) ||
	    (strided_hist && c.nch * c.span * sizeof(uint32_t) > CHIST_LIMIT))
		return simulate_whole(src, shape, ndim, spec, g, out, err);
	bool quantiles = sctx_opts(&c, o, g, shape, ndim);
	c.no_codes = o && o->no_codes && !c.wq && !c.want_xhs;
	c.p = malloc((l.ngroups ? l.ngroups : 1) * sizeof *c.p);
	c.gbad = calloc(l.ngroups ? l.ngroups : 1, sizeof *c.gbad);
	int nparts = 0;
	rc = parts_setup(&c, pt, &nparts, strided_hist, !c.p || !c.gbad, err);
	if (!rc)
		rc = stream_passes(&c, pt, nparts, o ? o->threads : 1, strided_hist, quantiles,
		                   err);
	if (!rc && strided_hist)
		strided_levels(&c, pt[0].chist, pt[0].hist);
	if (!rc && (rc = stream_results(&c, &pt[0], quantiles, shape, ndim, o, out)) != 0)
		qs_error_set(err, rc, "out of memory measuring %llu elements",
		             (unsigned long long)l.n);
	for (int k = 0; k < nparts; k++)
		part_free(&pt[k]);
	free(c.p);
	free(c.gbad);
	free(c.lev);
	free(c.ent);
	if (rc)
		tensor_result_free(out);
	return rc;
}

/* ---- measure: x̂ and codes as stored ------------------------------------ */

/* The largest code table of a streamed measure (as analyze_measure's code
 * histogram). */
#define MEASURE_MAX_SPAN ((int64_t)1 << 20)

/* The pair kernels over n (a multiple of 8) pairs (x, x̂) into lane sums
 * as quant_lanes_c adds them, x − x̂ in double; false when a value is not
 * finite (the sums are then of no use). */
static bool pair_lanes_c(const float *x, const float *y, uint64_t n, struct lane_sums *ls)
{
	bool ok = true;

	for (uint64_t i = 0; i < n; i += 8) {
		for (int j = 0; j < 8; j++) {
			float v = x[i + j];
			ok &= isfinite(v) && isfinite(y[i + j]);
			ls->mn[j] = v < ls->mn[j] ? v : ls->mn[j];
			ls->mx[j] = v > ls->mx[j] ? v : ls->mx[j];
		}
		for (int j = 0; j < 4; j++) {
			double x0 = x[i + j], x1 = x[i + j + 4], y0 = y[i + j], y1 = y[i + j + 4];
			lane_add(ls, j, fabs(x0 - y0), fabs(x1 - y1), x0, x1);
			sq2_add(&ls->sy2[j], y0, y1);
		}
	}
	return ok;
}

#if defined(__x86_64__) && defined(__GNUC__)
QS_AVX2 static bool pair_lanes_avx2(const float *x, const float *y, uint64_t n,
                                    struct lane_sums *ls)
{
	const __m256d absd = _mm256_castsi256_pd(_mm256_set1_epi64x(INT64_MAX));
	const __m256 zero = _mm256_setzero_ps();
	__m256d sx2, se2, sae, sy2, mae;
	__m256 mn, mx;
	LANES_LOAD(ls);
	__m256 ok = _mm256_castsi256_ps(_mm256_set1_epi32(-1));

	for (uint64_t i = 0; i < n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i), w = _mm256_loadu_ps(y + i);
		/* v − v is 0 for finite v, NaN for NaN and ±inf */
		ok = _mm256_and_ps(ok, _mm256_cmp_ps(_mm256_sub_ps(v, v), zero, _CMP_EQ_OQ));
		ok = _mm256_and_ps(ok, _mm256_cmp_ps(_mm256_sub_ps(w, w), zero, _CMP_EQ_OQ));
		mn = _mm256_min_ps(v, mn);
		mx = _mm256_max_ps(v, mx);
		__m256d x0 = LO4D(v), x1 = HI4D(v), y0 = LO4D(w), y1 = HI4D(w);
		__m256d e0 = _mm256_and_pd(_mm256_sub_pd(x0, y0), absd);
		__m256d e1 = _mm256_and_pd(_mm256_sub_pd(x1, y1), absd);
		mae = _mm256_max_pd(_mm256_max_pd(e1, e0), mae);
		SQ2_ADD(se2, e0, e1);
		sae = _mm256_add_pd(sae, _mm256_add_pd(e0, e1));
		SQ2_ADD(sx2, x0, x1);
		SQ2_ADD(sy2, y0, y1);
	}
	LANES_STORE(ls);
	return _mm256_movemask_ps(ok) == 0xFF;
}
#endif

/* Σ of a run of pairs as err_acc_add takes them (double, exact x − x̂) in
 * the lanes of the quantize kernel; the extremes of x into *lop, *hip.
 * false when an x or x̂ is not finite: the caller redoes the run element by
 * element. */
static bool pair_sums(const float *x, const float *y, uint64_t n, struct run_sums *r, float *lop,
                      float *hip)
{
	struct lane_sums ls;
	uint64_t n8 = n & ~(uint64_t)7;
	float lo = INFINITY, hi = -INFINITY;
	bool ok;

	lane_sums_init(&ls);
#if defined(__x86_64__) && defined(__GNUC__)
	if (use_avx2())
		ok = pair_lanes_avx2(x, y, n8, &ls);
	else
#endif
		ok = pair_lanes_c(x, y, n8, &ls);
	if (!ok)
		return false;
	lane_sums_fold(&ls, r, &lo, &hi);
	for (uint64_t k = n8; k < n; k++) {
		if (!isfinite(x[k]) || !isfinite(y[k]))
			return false;
		sums_add1(r, x[k], y[k], &lo, &hi);
	}
	r->sxy = (r->sx2 + r->sy2 - r->se2) / 2;
	*lop = lo;
	*hip = hi;
	return true;
}

/* Smallest and largest of n codes. */
__attribute__((target_clones("avx2", "default"))) static void
code_extremes(const int32_t *q, uint64_t n, int32_t *lop, int32_t *hip)
{
	v8i mn = SPLAT8(INT32_MAX), mx = SPLAT8(INT32_MIN);
	int32_t lo = INT32_MAX, hi = INT32_MIN;
	uint64_t k = 0;

	for (; k + 8 <= n; k += 8) {
		v8i v, m;
		memcpy(&v, q + k, sizeof v);
		m = v < mn;
		mn = (v & m) | (mn & ~m);
		m = v > mx;
		mx = (v & m) | (mx & ~m);
	}
	for (int j = 0; j < 8; j++) {
		lo = mn[j] < lo ? mn[j] : lo;
		hi = mx[j] > hi ? mx[j] : hi;
	}
	for (; k < n; k++) {
		lo = q[k] < lo ? q[k] : lo;
		hi = q[k] > hi ? q[k] : hi;
	}
	*lop = lo;
	*hip = hi;
}

/* The codes of a run's finite x into the channel counters (as
 * analyze_measure's per-channel levels: x̂ not looked at), the codes of a
 * bad x̂ also into badh (the tensor's histogram leaves them out), and
 * Σ|q − z| per output channel. clean: every x and x̂ finite. */
static void stored_count(struct spart *pt, const float *x, const float *xh, const int32_t *q,
                         uint64_t cnt, uint64_t ch, uint64_t g, uint64_t i, bool clean)
{
	const struct sctx *c = pt->c;
	int32_t z = c->p[g].zero_point;

	if (clean && c->scan && !c->wq) {
		count4(pt, q, cnt);
		return;
	}
	for (uint64_t k = 0; k < cnt; k++) {
		if (!clean && !isfinite(x[k]))
			continue;
		int32_t b = q[k] - c->qmin;
		if (c->contig) {
			if (pt->chist[b]++ == 0 && !c->scan)
				pt->touched[pt->ntouched++] = b;
			pt->ctot++;
		} else {
			pt->chist[ch * c->span + (uint64_t)b]++;
		}
		if (c->wq) {
			uint64_t oc = c->ol.axis == c->l->axis && c->l->gran != GRAN_GROUP
			                      ? ch
			                      : ((i + k) / c->ol.inner) % c->ol.dim;
			pt->wqs[oc] += fabs((double)q[k] - z);
		}
		if (!clean && !isfinite(xh[k]))
			pt->badh[b]++;
	}
}

/* A measured run of cnt finite pairs into channel ch: its sums, the
 * extremes lo, hi of x and wlo, whi of q − z. */
static void run_commit(struct spart *pt, uint64_t ch, uint64_t cnt, const struct run_sums *r,
                       float lo, float hi, int32_t wlo, int32_t whi)
{
	struct err_acc a = {.n = cnt,
	                    .clipped = r->clipped,
	                    .sx2 = r->sx2,
	                    .se2 = r->se2,
	                    .sae = r->sae,
	                    .max_ae = r->max_ae,
	                    .sxy = r->sxy,
	                    .sy2 = r->sy2};
	err_acc_merge(&pt->acc[ch], &a);
	pt->cmin[ch] = lo < pt->cmin[ch] ? lo : pt->cmin[ch];
	pt->cmax[ch] = hi > pt->cmax[ch] ? hi : pt->cmax[ch];
	pt->sat[ch] += r->sat;
	pt->wq_lo = wlo < pt->wq_lo ? wlo : pt->wq_lo;
	pt->wq_hi = whi > pt->wq_hi ? whi : pt->wq_hi;
}

/* A run holding NaN/inf (or too short for the vectors), element by element
 * as analyze_measure's core_run. */
static void stored_scalar(struct spart *pt, const float *x, const float *xh, const int32_t *q,
                          uint64_t cnt, uint64_t ch, const struct run_bounds *bd, int32_t z)
{
	const struct sctx *c = pt->c;
	float mn = pt->cmin[ch], mx = pt->cmax[ch];
	int32_t wlo = pt->wq_lo, whi = pt->wq_hi;
	uint64_t sat = 0, bad = 0;
	struct err_acc a;

	err_acc_init(&a);
	for (uint64_t k = 0; k < cnt; k++) {
		float v = x[k], y = xh[k];
		if (q[k] < c->qmin || q[k] > c->qmax) {
			pt->wide = true;
			return;
		}
		if (!isfinite(y) && isfinite(v)) {
			bad++;
			continue;
		}
		err_acc_add(&a, v, y, v < bd->lo || v > bd->hi);
		if (!isfinite(v))
			continue;
		mn = v < mn ? v : mn;
		mx = v > mx ? v : mx;
		sat += v < bd->slo || v > bd->shi;
		wlo = q[k] - z < wlo ? q[k] - z : wlo;
		whi = q[k] - z > whi ? q[k] - z : whi;
	}
	err_acc_merge(&pt->acc[ch], &a);
	pt->sat[ch] += sat;
	pt->bad_xhat += bad;
	pt->cmin[ch] = mn;
	pt->cmax[ch] = mx;
	pt->wq_lo = wlo;
	pt->wq_hi = whi;
}

/* One run of one channel and one group: error sums, extremes, saturation,
 * the code counters. A code outside the table stops the pass (wide). */
static void stored_run(struct spart *pt, const float *x, const float *xh, const int32_t *q,
                       uint64_t cnt, uint64_t ch, uint64_t g, uint64_t i)
{
	const struct sctx *c = pt->c;
	const struct qparam *p = &c->p[g];
	float half = isfinite(p->scale) ? fabsf(p->scale) / 2 : 0.0f;
	struct run_bounds bd = {clip_bound_lo(p), clip_bound_hi(p), 0, 0};
	struct run_sums r = {0};
	int32_t z = p->zero_point, qlo, qhi;
	float lo, hi;

	bd.slo = bd.lo - half;
	bd.shi = bd.hi + half;
	/* Blocks stored_blocks left (a value not finite): element by element
	 * as analyze_measure does. */
	if (cnt < 8 || c->l->gran == GRAN_GROUP || !pair_sums(x, xh, cnt, &r, &lo, &hi)) {
		stored_scalar(pt, x, xh, q, cnt, ch, &bd, z);
		if (pt->wide)
			pt->rc = QS_ERR_USAGE;
		else
			stored_count(pt, x, xh, q, cnt, ch, g, i, false);
		return;
	}
	code_extremes(q, cnt, &qlo, &qhi);
	if (qlo < c->qmin || qhi > c->qmax) {
		pt->wide = true;
		pt->rc = QS_ERR_USAGE;
		return;
	}
	if (lo < bd.lo || hi > bd.hi)
		count_clipped(x, cnt, &bd, &r);
	run_commit(pt, ch, cnt, &r, lo, hi, qlo - z, qhi - z);
	stored_count(pt, x, xh, q, cnt, ch, g, i, true);
}

/* Elements [i, i + cnt) of one contiguous channel cut in blocks along it
 * (group granularity, last axis): the error sums of the whole span in one
 * vector pass, the clip and saturation counts block by block against each
 * block's bounds. false when a value is not finite (nothing done: the
 * caller goes run by run). */
static bool stored_blocks(struct spart *pt, const float *x, const float *xh, const int32_t *q,
                          uint64_t cnt, uint64_t ch, uint64_t i)
{
	const struct sctx *c = pt->c;
	struct run_sums r = {0};
	int32_t qlo, qhi, wlo = INT32_MAX, whi = INT32_MIN;
	float lo, hi;

	if (cnt < 8 || !pair_sums(x, xh, cnt, &r, &lo, &hi))
		return false;
	code_extremes(q, cnt, &qlo, &qhi);
	if (qlo < c->qmin || qhi > c->qmax) {
		pt->wide = true;
		pt->rc = QS_ERR_USAGE;
		return true;
	}
	for (uint64_t j = i; j < i + cnt;) {
		uint64_t cj, g, end, o = j - i;
		run_at(c->l, j, &cj, &g, &end);
		end = end < i + cnt ? end : i + cnt;
		const struct qparam *p = &c->p[g];
		float half = isfinite(p->scale) ? fabsf(p->scale) / 2 : 0.0f;
		struct run_bounds bd = {clip_bound_lo(p), clip_bound_hi(p), 0, 0};
		int32_t z = p->zero_point, a = qlo, b = qhi;
		bd.slo = bd.lo - half;
		bd.shi = bd.hi + half;
		count_clipped(x + o, end - j, &bd, &r);
		if (z != 0)
			code_extremes(q + o, end - j, &a, &b);
		wlo = a - z < wlo ? a - z : wlo;
		whi = b - z > whi ? b - z : whi;
		if (c->wq)
			stored_count(pt, x + o, xh + o, q + o, end - j, ch, g, j, true);
		j = end;
	}
	run_commit(pt, ch, cnt, &r, lo, hi, wlo, whi);
	if (!c->wq)
		stored_count(pt, x, xh, q, cnt, ch, 0, i, true);
	return true;
}

/* Channels along the last axis (runs of one element): each pair straight
 * into its channel's accumulator, as analyze_measure's core_one does,
 * without a run's set-up per element. */
static void stored_columns(struct spart *pt, const float *x, const float *xh, const int32_t *q,
                           uint64_t cnt, uint64_t i)
{
	const struct sctx *c = pt->c;
	const struct layout *l = c->l;
	uint64_t ch = i % l->dim, bad = 0;

	for (uint64_t k = 0; k < cnt; k++, ch = ch + 1 == l->dim ? 0 : ch + 1) {
		const struct qparam *p = &c->p[l->gran == GRAN_CHANNEL ? ch : 0];
		float v = x[k], y = xh[k], lo = clip_bound_lo(p), hi = clip_bound_hi(p);
		float half = isfinite(p->scale) ? fabsf(p->scale) / 2 : 0.0f;
		int32_t d = q[k] - p->zero_point;
		if (q[k] < c->qmin || q[k] > c->qmax) {
			pt->wide = true;
			pt->rc = QS_ERR_USAGE;
			return;
		}
		uint64_t b = (uint64_t)(q[k] - c->qmin);
		/* q is pt->codes: its value becomes the table offset columns_count
		 * reads (−1: not counted), q[k] is not read again */
		pt->codes[k] = isfinite(v) ? (int32_t)b : -1;
		bool badh = !isfinite(y) && isfinite(v);
		if (!badh)
			err_acc_add(&pt->acc[ch], v, y, v < lo || v > hi);
		if (!isfinite(v))
			continue;
		if (c->wq) {
			uint64_t oc =
			        c->ol.axis == l->axis ? ch : ((i + k) / c->ol.inner) % c->ol.dim;
			pt->wqs[oc] += fabs((double)d);
		}
		if (badh) {
			pt->badh[b]++;
			bad++;
			continue;
		}
		pt->cmin[ch] = v < pt->cmin[ch] ? v : pt->cmin[ch];
		pt->cmax[ch] = v > pt->cmax[ch] ? v : pt->cmax[ch];
		pt->sat[ch] += v < lo - half || v > hi + half;
		pt->wq_lo = d < pt->wq_lo ? d : pt->wq_lo;
		pt->wq_hi = d > pt->wq_hi ? d : pt->wq_hi;
	}
	pt->bad_xhat += bad;
	columns_count(pt, pt->codes, cnt, i);
}

static const float *chunk_xhat(struct spart *pt, uint64_t i, uint64_t cnt)
{
	return src_values(pt, pt->c->hsrc, i, cnt, pt->xh);
}

/* The measure pass (x, x̂, codes) or the quantiles' refine pass (x, x̂). */
static void stored_pass(struct spart *pt)
{
	const struct sctx *c = pt->c;
	const struct layout *l = c->l;
	bool refine = pt->pass == PASS_REFINE;
	bool blocks = l->gran == GRAN_GROUP && l->inner == 1 && c->contig;

	for (uint64_t i = pt->i0; i < pt->i1 && !pt->rc;) {
		uint64_t cnt = pt->i1 - i < c->bufn ? pt->i1 - i : c->bufn;
		const float *x = refine && !pt->xa ? NULL : chunk_values(pt, i, cnt);
		if (pt->rc)
			return;
		const float *xh = refine && !pt->ha ? NULL : chunk_xhat(pt, i, cnt);
		if (pt->rc)
			return;
		if (refine) {
			if (pt->xa)
				dist_acc_refine(pt->xa, x, cnt);
			if (pt->ha)
				dist_acc_refine(pt->ha, xh, cnt);
			i += cnt;
			continue;
		}
		if (pt->xa)
			dist_acc_add(pt->xa, x, cnt);
		if (pt->ha)
			dist_acc_add(pt->ha, xh, cnt);
		pt->rc = c->csrc->read(c->csrc->ctx, i, cnt, pt->codes, &pt->err);
		if (!pt->rc && c->columns) {
			stored_columns(pt, x, xh, pt->codes, cnt, i);
			i += cnt;
			continue;
		}
		for (uint64_t j = i, slow = i; j < i + cnt && !pt->rc;) {
			uint64_t ch, g, end, o = j - i;
			run_at(l, j, &ch, &g, &end);
			if (blocks && j >= slow) { /* the rest of the channel in this chunk */
				uint64_t ce = (ch + 1) * c->csize;
				ce = ce < i + cnt ? ce : i + cnt;
				if (stored_blocks(pt, x + o, xh + o, pt->codes + o, ce - j, ch,
				                  j)) {
					if (!pt->rc && ce % c->csize == 0)
						channel_close(pt, ch, g);
					j = ce;
					continue;
				}
				slow = ce; /* a value not finite: run by run up to there */
			}
			end = end < i + cnt ? end : i + cnt;
			stored_run(pt, x + o, xh + o, pt->codes + o, end - j, ch, g, j);
			if (!pt->rc && c->contig && end % c->csize == 0)
				channel_close(pt, ch, g);
			j = end;
		}
		i += cnt;
	}
}

/* The measure pass, its merges, and the quantiles' pass. *wide: a code lay
 * outside the table (nothing else is done). */
static int stored_passes(struct sctx *c, struct spart *pt, int nparts, int threads,
                         bool strided_hist, bool quantiles, bool *wide, struct qs_error *err)
{
	run_parts(pt, nparts, threads, PASS_MEASURE);
	for (int k = 0; k < nparts; k++)
		*wide |= pt[k].wide;
	if (*wide)
		return 0;
	int rc = parts_collect(pt, nparts, PASS_MEASURE, strided_hist, err);
	return rc ? rc : stream_refine(c, pt, nparts, threads, quantiles, err);
}

/* Whole-tensor fallback: x, x̂ and the codes in full, then analyze_measure. */
static int measure_whole(const struct float_src *x, const struct float_src *xhat,
                         const struct code_src *codes, const struct quantized *q,
                         const struct graph_facts *g, struct tensor_result *out,
                         struct qs_error *err)
{
	uint64_t n = q->layout.n;
	size_t m = n ? (size_t)n : 1;
	struct quantized qq = *q;
	float *xb = NULL, *hb = NULL;
	int32_t *cb = NULL;
	int rc = 0;

	if (n > SIZE_MAX / sizeof(float))
		return qs_error_set(err, QS_ERR_NOMEM, "tensor of %llu elements is too large",
		                    (unsigned long long)n);
	if ((!x->data && !(xb = malloc(m * sizeof *xb))) ||
	    (!xhat->data && !(hb = malloc(m * sizeof *hb))) ||
	    (codes && !(cb = malloc(m * sizeof *cb))))
		rc = qs_error_set(err, QS_ERR_NOMEM, "out of memory for %llu elements",
		                  (unsigned long long)n);
	if (!rc && n && xb)
		rc = x->read(x->ctx, 0, n, xb, err);
	if (!rc && n && hb)
		rc = xhat->read(xhat->ctx, 0, n, hb, err);
	if (!rc && n && cb)
		rc = codes->read(codes->ctx, 0, n, cb, err);
	qq.xhat = xhat->data ? xhat->data : hb;
	qq.codes = cb;
	if (!rc)
		rc = analyze_measure(x->data ? x->data : xb, &qq, g, out, err);
	free(xb);
	free(hb);
	free(cb);
	return rc;
}

/* The code table [qmin, qmax] of a streamed measure, widened to the
 * source's promise; false when it would be too wide. */
static bool measure_table(const struct quantized *q, const struct code_src *codes, int32_t *lo,
                          int32_t *hi)
{
	int64_t a = q->qmin, b = q->qmax;

	if (codes->lo <= codes->hi) {
		int64_t wa = codes->lo < a ? codes->lo : a, wb = codes->hi > b ? codes->hi : b;
		if (wb - wa < MEASURE_MAX_SPAN) {
			a = wa;
			b = wb;
		}
	}
	*lo = (int32_t)a;
	*hi = (int32_t)b;
	return a <= b && b - a < MEASURE_MAX_SPAN;
}

static void measure_free(struct spart *pt, int nparts, struct sctx *c)
{
	for (int k = 0; k < nparts; k++)
		part_free(&pt[k]);
	free(c->lev);
	free(c->ent);
}

int analyze_measure_src(const struct float_src *x, const struct float_src *xhat,
                        const struct code_src *codes, const struct quantized *q,
                        const struct graph_facts *g, const struct analyze_opts *o,
                        struct tensor_result *out, struct qs_error *err)
{
	struct layout l = q->layout;
	int64_t shape3[3];
	const int64_t *shape = q->shape;
	int ndim = q->ndim;
	const struct graph_facts *g0 = g; /* for the fallback, which adapts it itself */
	struct graph_facts g3;
	struct scheme s = {.bits = q->bits};
	struct sctx c = {.src = x, .hsrc = xhat, .csrc = codes, .l = &l, .s = &s, .stored = true};
	struct spart pt[2];
	bool wide = false;
	int rc, nparts = 0;

	memset(out, 0, sizeof *out);
	memset(pt, 0, sizeof pt);
	pthread_once(&clog_once, clog_init);
	if (!codes || !q->params || q->per_group || l.n == 0 ||
	    !measure_table(q, codes, &c.qmin, &c.qmax))
		return measure_whole(x, xhat, codes, q, g, out, err);
	if (!shape)
		az_measure_shape3(&l, shape3, &shape, &ndim, &g, &g3);
	c.g = g;
	c.p = (struct qparam *)q->params; /* only read in stored mode */
	c.span = (size_t)((int64_t)c.qmax - c.qmin + 1);
	c.minmax = true; /* parts split by elements only */
	c.nch = layout_nchannels(&l);
	c.contig = (l.gran != GRAN_GROUP && l.outer == 1) || (l.gran == GRAN_GROUP && l.inner == 1);
	c.csize = l.gran == GRAN_GROUP ? l.dim : l.inner;
	c.scan = c.contig && c.span <= SCAN_SPAN && c.csize >= c.span;
	c.columns = !c.contig && l.gran != GRAN_GROUP && l.inner == 1;
	c.bufn = c.columns ? columns_bufn(&l) : CHUNK;
	bool strided_hist = !c.contig;
	if (strided_hist && c.nch * c.span * sizeof(uint32_t) > CHIST_LIMIT)
		return measure_whole(x, xhat, codes, q, g0, out, err);
	bool quantiles = sctx_opts(&c, o, g, shape, ndim);
	rc = parts_setup(&c, pt, &nparts, strided_hist, false, err);
	if (!rc)
		rc = stored_passes(&c, pt, nparts, o ? o->threads : 1, strided_hist, quantiles,
		                   &wide, err);
	if (!rc && wide) {
		measure_free(pt, nparts, &c);
		return measure_whole(x, xhat, codes, q, g0, out, err);
	}
	if (!rc && strided_hist)
		strided_levels(&c, pt[0].chist, pt[0].hist);
	for (size_t b = 0; !rc && b < c.span; b++)
		pt[0].hist[b] -= pt[0].badh[b];
	if (!rc && (rc = stream_results(&c, &pt[0], quantiles, shape, ndim, o, out)) != 0)
		qs_error_set(err, rc, "out of memory measuring %llu elements",
		             (unsigned long long)l.n);
	measure_free(pt, nparts, &c);
	if (rc)
		tensor_result_free(out);
	return rc;
}
