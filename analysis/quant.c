#include "quant.h"

#include <float.h>
#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct scheme scheme_default(void)
{
	return (struct scheme){
	        .bits = 8,
	        .is_signed = true,
	        .symmetric = true,
	        .narrow = false,
	        .reduce_range = false,
	        .gran = GRAN_CHANNEL,
	        .axis = 0,
	        .group_size = 0,
	        .rounding = ROUND_HALF_EVEN,
	        .scale_floor = 0.0,
	};
}

bool scheme_valid(const struct scheme *s, const char **why)
{
	const char *msg = NULL;

	if (s->bits < 2 || s->bits > 16)
		msg = "bits must be 2..16";
	else if (s->reduce_range && s->bits < 3)
		msg = "reduce range needs at least 3 bits";
	else if (s->gran == GRAN_GROUP && s->group_size == 0)
		msg = "group size must be positive";
	else if ((unsigned)s->gran > GRAN_GROUP)
		msg = "unknown granularity";
	else if ((unsigned)s->rounding > ROUND_HALF_AWAY)
		msg = "unknown rounding mode";
	else if (!(s->scale_floor >= 0.0) || isinf(s->scale_floor))
		msg = "scale floor must be a finite number >= 0";
	if (msg && why)
		*why = msg;
	return msg == NULL;
}

void scheme_code_range(const struct scheme *s, int32_t *qmin, int32_t *qmax)
{
	int b = s->bits - (s->reduce_range ? 1 : 0);

	if (s->is_signed) {
		*qmin = -(int32_t)(1 << (b - 1));
		*qmax = (int32_t)(1 << (b - 1)) - 1;
		if (s->narrow)
			*qmin += 1;
	} else {
		*qmin = 0;
		*qmax = (int32_t)(1 << b) - 1;
		if (s->narrow)
			*qmax -= 1;
	}
}

/* Half to even by adding and removing 2^52: below 2^52 the sum has no
 * fraction bits left, so the FPU's default round-to-nearest-even does the
 * rounding (qscope never changes the rounding mode). Larger values are
 * integers already. */
double quant_round(double v, enum rounding r)
{
	const double big = 4503599627370496.0; /* 2^52 */

	if (r == ROUND_HALF_AWAY)
		return round(v);
	if (!(fabs(v) < big))
		return v;
	return v >= 0 ? (v + big) - big : (v - big) + big;
}

static int32_t clamp_code(double v, int32_t qmin, int32_t qmax)
{
	if (!(v > qmin))
		return qmin;
	if (v > qmax)
		return qmax;
	return (int32_t)v;
}

/* The runtimes work in float32: rmin/rmax and the scale are float32, so the
 * differences and quotients are taken in float here too. */
struct qparam quant_param_from_range(const struct scheme *s, double lo, double hi)
{
	int32_t qmin, qmax;
	struct qparam p;
	float flo, fhi, scale;
	double z;

	scheme_code_range(s, &qmin, &qmax);
	if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi))
		lo = hi = 0.0;
	flo = (float)fmin(lo, 0.0);
	fhi = (float)fmax(hi, 0.0);
	if (s->symmetric) {
		/* amax / ((qmax − qmin)/2) rounds like 2·amax / (qmax − qmin)
		 * but cannot overflow. */
		float amax = fmaxf(-flo, fhi);
		scale = amax / ((float)(qmax - qmin) / 2.0f);
		z = quant_round(((double)qmin + qmax) / 2.0, ROUND_HALF_EVEN);
	} else {
		scale = (fhi - flo) / (float)(qmax - qmin);
		if (isinf(fhi - flo))
			scale = (float)(((double)fhi - flo) / (qmax - qmin));
		z = 0.0; /* set below, once the scale is final */
	}
	p.no_range = !(scale >= FLT_MIN) || !isfinite(scale);
	if (p.no_range)
		scale = s->scale_floor > 0.0 ? (float)s->scale_floor : 1.0f;
	else if (scale < s->scale_floor)
		scale = (float)s->scale_floor;
	if (!s->symmetric)
		z = quant_round((double)qmin - (double)(flo / scale), ROUND_HALF_EVEN);
	p.scale = scale;
	p.zero_point = clamp_code(z, qmin, qmax);
	p.clip_lo = quant_deq(qmin, &p);
	p.clip_hi = quant_deq(qmax, &p);
	return p;
}

int32_t quant_one(float x, const struct qparam *p, int32_t qmin, int32_t qmax, enum rounding r)
{
	if (x != x)
		return p->zero_point;
	float v = x / p->scale;
	return clamp_code(quant_round((double)v, r) + p->zero_point, qmin, qmax);
}

/* Elements x[0..n) with one parameter set each: p[k·pstep]. pstep 0 is a
 * contiguous run of one group; pstep 1 a row across the groups of inner
 * (blocks along a non-last axis). */
#ifdef __SSE2__
/* quant_one four at a time for one parameter set and half to even, to the
 * bit: the same float division; (v + 1.5·2^23) − 1.5·2^23 is v rounded half
 * to even for |v| < 2^22, and a larger |v| or ±inf stays beyond every code
 * range (bits ≤ 16, |zero point| < 2^16) on its own side, so the clamp
 * gives what clamp_code gives; NaN takes the zero point. Returns how many
 * leading elements it did. */
static uint64_t quant_run_even(const struct qparam *p, int32_t qmin, int32_t qmax, const float *x,
                               int32_t *codes, float *xhat, uint64_t n)
{
	const __m128 magic = _mm_set1_ps(12582912.0f), s = _mm_set1_ps(p->scale);
	const __m128 zp = _mm_set1_ps((float)p->zero_point);
	const __m128 lo = _mm_set1_ps((float)qmin), hi = _mm_set1_ps((float)qmax);
	const __m128i zpi = _mm_set1_epi32(p->zero_point);
	uint64_t k = 0;

	for (; k + 4 <= n; k += 4) {
		__m128 v = _mm_loadu_ps(x + k), ok = _mm_cmpord_ps(v, v);
		__m128 c = _mm_sub_ps(_mm_add_ps(_mm_div_ps(v, s), magic), magic);
		c = _mm_min_ps(_mm_max_ps(_mm_add_ps(c, zp), lo), hi);
		c = _mm_or_ps(_mm_and_ps(ok, c), _mm_andnot_ps(ok, zp));
		__m128i q = _mm_cvttps_epi32(c);
		if (codes)
			_mm_storeu_si128((__m128i *)(void *)(codes + k), q);
		if (xhat)
			_mm_storeu_ps(xhat + k,
			              _mm_mul_ps(_mm_cvtepi32_ps(_mm_sub_epi32(q, zpi)), s));
	}
	return k;
}
#endif

static void quant_run(const struct qparam *p, uint64_t pstep, int32_t qmin, int32_t qmax,
                      enum rounding r, const float *x, int32_t *codes, float *xhat, uint64_t n)
{
	uint64_t k = 0;

#ifdef __SSE2__
	if (pstep == 0 && r == ROUND_HALF_EVEN)
		k = quant_run_even(p, qmin, qmax, x, codes, xhat, n);
#endif
	for (; k < n; k++) {
		const struct qparam *pk = p + k * pstep;
		int32_t q = quant_one(x[k], pk, qmin, qmax, r);
		if (codes)
			codes[k] = q;
		if (xhat)
			xhat[k] = quant_deq(q, pk);
	}
}

void quant_span(const struct qparam *p, int32_t qmin, int32_t qmax, enum rounding r, const float *x,
                int32_t *codes, float *xhat, uint64_t n)
{
	quant_run(p, 0, qmin, qmax, r, x, codes, xhat, n);
}

void quant_tensor(const struct scheme *s, const struct layout *l, const struct qparam *p,
                  const float *x, int32_t *codes, float *xhat)
{
	int32_t qmin, qmax;

	scheme_code_range(s, &qmin, &qmax);
	if (l->gran == GRAN_TENSOR) {
		quant_run(p, 0, qmin, qmax, s->rounding, x, codes, xhat, l->n);
		return;
	}
	for (uint64_t o = 0; o < l->outer; o++) {
		if (l->gran == GRAN_CHANNEL && l->inner == 1) { /* a row: channel k at k */
			uint64_t base = o * l->dim;
			quant_run(p, 1, qmin, qmax, s->rounding, x + base,
			          codes ? codes + base : NULL, xhat ? xhat + base : NULL, l->dim);
			continue;
		}
		for (uint64_t c = 0; c < l->dim; c++) {
			uint64_t base = (o * l->dim + c) * l->inner;
			int32_t *cp = codes ? codes + base : NULL;
			float *xp = xhat ? xhat + base : NULL;
			if (l->gran == GRAN_CHANNEL) {
				quant_run(&p[c], 0, qmin, qmax, s->rounding, x + base, cp, xp,
				          l->inner);
				continue;
			}
			const struct qparam *gp = &p[(o * l->nblk + c / l->block) * l->inner];
			if (l->inner > 1) {
				quant_run(gp, 1, qmin, qmax, s->rounding, x + base, cp, xp,
				          l->inner);
				continue;
			}
			/* blocks along the last axis: the rest of this block in one run */
			uint64_t cnt = l->block - c % l->block;
			cnt = cnt < l->dim - c ? cnt : l->dim - c;
			quant_run(gp, 0, qmin, qmax, s->rounding, x + base, cp, xp, cnt);
			c += cnt - 1;
		}
	}
}
