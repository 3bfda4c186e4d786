#include "ggml_quants.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "range.h"

#define QK  32
#define QKK 256

/* Block structs only fix the layout (static_assert below); data is always
 * copied into a local block with memcpy, never dereferenced in place. */
struct blk_q4_0 {
	uint16_t d;
	uint8_t qs[QK / 2];
};
struct blk_q4_1 {
	uint16_t d, m;
	uint8_t qs[QK / 2];
};
struct blk_q5_0 {
	uint16_t d;
	uint8_t qh[4];
	uint8_t qs[QK / 2];
};
struct blk_q5_1 {
	uint16_t d, m;
	uint8_t qh[4];
	uint8_t qs[QK / 2];
};
struct blk_q8_0 {
	uint16_t d;
	int8_t qs[QK];
};
struct blk_q2_k {
	uint8_t scales[16];
	uint8_t qs[64];
	uint16_t d, dmin;
};
struct blk_q3_k {
	uint8_t hmask[32];
	uint8_t qs[64];
	uint8_t scales[12];
	uint16_t d;
};
struct blk_q4_k {
	uint16_t d, dmin;
	uint8_t scales[12];
	uint8_t qs[128];
};
struct blk_q5_k {
	uint16_t d, dmin;
	uint8_t scales[12];
	uint8_t qh[32];
	uint8_t qs[128];
};
struct blk_q6_k {
	uint8_t ql[128];
	uint8_t qh[64];
	int8_t scales[16];
	uint16_t d;
};
struct blk_q8_k {
	float d;
	int8_t qs[QKK];
	int16_t bsums[16];
};

static_assert(sizeof(struct blk_q4_0) == 18, "q4_0 block");
static_assert(sizeof(struct blk_q4_1) == 20, "q4_1 block");
static_assert(sizeof(struct blk_q5_0) == 22, "q5_0 block");
static_assert(sizeof(struct blk_q5_1) == 24, "q5_1 block");
static_assert(sizeof(struct blk_q8_0) == 34, "q8_0 block");
static_assert(sizeof(struct blk_q2_k) == 84, "q2_K block");
static_assert(sizeof(struct blk_q3_k) == 110, "q3_K block");
static_assert(sizeof(struct blk_q4_k) == 144, "q4_K block");
static_assert(sizeof(struct blk_q5_k) == 176, "q5_K block");
static_assert(sizeof(struct blk_q6_k) == 210, "q6_K block");
static_assert(sizeof(struct blk_q8_k) == 292, "q8_K block");

/* ---- legacy 32-element formats as one parametrised family ---------------
 * Every legacy block decodes as y = (u − off)·d (+ m), u the stored unsigned
 * code. A format packs/unpacks u[32], d and m. */

struct legacy_fmt {
	int ggml_type;
	int nlev;     /* codes u in 0..nlev−1 */
	int off;      /* 8, 16, 128 for the symmetric _0 types; 0 with a min */
	int umin;     /* smallest u the writer may use (1 for Q8_0: −127) */
	bool has_min; /* _1 types */
	void (*unpack)(const uint8_t *b, uint8_t *u, float *d, float *m);
	void (*pack)(uint8_t *b, const uint8_t *u, uint16_t d, uint16_t m);
};

static void nibbles_get(const uint8_t *qs, uint8_t *u)
{
	for (int j = 0; j < QK / 2; j++) {
		u[j] = qs[j] & 15;
		u[j + QK / 2] = qs[j] >> 4;
	}
}

static void nibbles_put(uint8_t *qs, const uint8_t *u)
{
	for (int j = 0; j < QK / 2; j++)
		qs[j] = (uint8_t)((u[j] & 15) | ((u[j + QK / 2] & 15) << 4));
}

static void high_bits_get(const uint8_t *qh, uint8_t *u)
{
	uint32_t h;

	memcpy(&h, qh, 4);
	for (int j = 0; j < QK; j++)
		u[j] |= (uint8_t)(((h >> j) & 1) << 4);
}

static void high_bits_put(uint8_t *qh, const uint8_t *u)
{
	uint32_t h = 0;

	for (int j = 0; j < QK; j++)
		h |= (uint32_t)((u[j] >> 4) & 1) << j;
	memcpy(qh, &h, 4);
}

static void unpack_q4_0(const uint8_t *p, uint8_t *u, float *d, float *m)
{
	struct blk_q4_0 b;

	memcpy(&b, p, sizeof b);
	nibbles_get(b.qs, u);
	*d = f16_to_f32(b.d);
	*m = 0;
}

static void pack_q4_0(uint8_t *p, const uint8_t *u, uint16_t d, uint16_t m)
{
	struct blk_q4_0 b = {.d = d};

	(void)m;
	nibbles_put(b.qs, u);
	memcpy(p, &b, sizeof b);
}

static void unpack_q4_1(const uint8_t *p, uint8_t *u, float *d, float *m)
{
	struct blk_q4_1 b;

	memcpy(&b, p, sizeof b);
	nibbles_get(b.qs, u);
	*d = f16_to_f32(b.d);
	*m = f16_to_f32(b.m);
}

static void pack_q4_1(uint8_t *p, const uint8_t *u, uint16_t d, uint16_t m)
{
	struct blk_q4_1 b = {.d = d, .m = m};

	nibbles_put(b.qs, u);
	memcpy(p, &b, sizeof b);
}

static void unpack_q5_0(const uint8_t *p, uint8_t *u, float *d, float *m)
{
	struct blk_q5_0 b;

	memcpy(&b, p, sizeof b);
	nibbles_get(b.qs, u);
	high_bits_get(b.qh, u);
	*d = f16_to_f32(b.d);
	*m = 0;
}

static void pack_q5_0(uint8_t *p, const uint8_t *u, uint16_t d, uint16_t m)
{
	struct blk_q5_0 b = {.d = d};

	(void)m;
	nibbles_put(b.qs, u);
	high_bits_put(b.qh, u);
	memcpy(p, &b, sizeof b);
}

static void unpack_q5_1(const uint8_t *p, uint8_t *u, float *d, float *m)
{
	struct blk_q5_1 b;

	memcpy(&b, p, sizeof b);
	nibbles_get(b.qs, u);
	high_bits_get(b.qh, u);
	*d = f16_to_f32(b.d);
	*m = f16_to_f32(b.m);
}

static void pack_q5_1(uint8_t *p, const uint8_t *u, uint16_t d, uint16_t m)
{
	struct blk_q5_1 b = {.d = d, .m = m};

	nibbles_put(b.qs, u);
	high_bits_put(b.qh, u);
	memcpy(p, &b, sizeof b);
}

static void unpack_q8_0(const uint8_t *p, uint8_t *u, float *d, float *m)
{
	struct blk_q8_0 b;

	memcpy(&b, p, sizeof b);
	for (int j = 0; j < QK; j++)
		u[j] = (uint8_t)(b.qs[j] + 128);
	*d = f16_to_f32(b.d);
	*m = 0;
}

static void pack_q8_0(uint8_t *p, const uint8_t *u, uint16_t d, uint16_t m)
{
	struct blk_q8_0 b = {.d = d};

	(void)m;
	for (int j = 0; j < QK; j++)
		b.qs[j] = (int8_t)((int)u[j] - 128);
	memcpy(p, &b, sizeof b);
}

static const struct legacy_fmt legacy_fmts[] = {
        {GGML_ID_Q4_0, 16, 8, 0, false, unpack_q4_0, pack_q4_0},
        {GGML_ID_Q4_1, 16, 0, 0, true, unpack_q4_1, pack_q4_1},
        {GGML_ID_Q5_0, 32, 16, 0, false, unpack_q5_0, pack_q5_0},
        {GGML_ID_Q5_1, 32, 0, 0, true, unpack_q5_1, pack_q5_1},
        {GGML_ID_Q8_0, 256, 128, 1, false, unpack_q8_0, pack_q8_0},
};

static const struct legacy_fmt *legacy_of(int ggml_type)
{
	for (size_t i = 0; i < sizeof legacy_fmts / sizeof legacy_fmts[0]; i++)
		if (legacy_fmts[i].ggml_type == ggml_type)
			return &legacy_fmts[i];
	return NULL;
}

static size_t type_bytes(int type)
{
	uint32_t be = 1, bb = 0;

	ggml_type_size(type, &be, &bb);
	return bb;
}

/* Dequantize one legacy block exactly as ggml: (float)(u − off)·d, + m. */
static void legacy_block_deq(const struct legacy_fmt *f, const uint8_t *u, float d, float m,
                             float *y)
{
	for (int j = 0; j < QK; j++) {
		float q = (float)((int)u[j] - f->off);
		y[j] = f->has_min ? q * d + m : q * d;
	}
}

/* The two commonest types without the per-block unpack call (the loops
 * vectorise): the same values as legacy_block_deq's and the codes'. */
static void q8_0_dequantize(const uint8_t *p, float *y, int64_t n)
{
	for (int64_t i = 0; i < n / QK; i++, p += sizeof(struct blk_q8_0), y += QK) {
		struct blk_q8_0 b;
		memcpy(&b, p, sizeof b);
		float d = f16_to_f32(b.d);
		for (int j = 0; j < QK; j++)
			y[j] = (float)b.qs[j] * d;
	}
}

static void q4_0_dequantize(const uint8_t *p, float *y, int64_t n)
{
	for (int64_t i = 0; i < n / QK; i++, p += sizeof(struct blk_q4_0), y += QK) {
		struct blk_q4_0 b;
		memcpy(&b, p, sizeof b);
		float d = f16_to_f32(b.d);
		for (int j = 0; j < QK / 2; j++) {
			y[j] = (float)((int)(b.qs[j] & 0x0F) - 8) * d;
			y[j + QK / 2] = (float)((int)(b.qs[j] >> 4) - 8) * d;
		}
	}
}

static void legacy_dequantize(int type, const void *blocks, float *y, int64_t n)
{
	const struct legacy_fmt *f = legacy_of(type);
	uint8_t u[QK];
	float d, m;

	if (type == GGML_ID_Q8_0) {
		q8_0_dequantize(blocks, y, n);
		return;
	}
	if (type == GGML_ID_Q4_0) {
		q4_0_dequantize(blocks, y, n);
		return;
	}
	size_t bytes = type_bytes(type);
	for (int64_t i = 0; i < n / QK; i++) {
		f->unpack((const uint8_t *)blocks + i * bytes, u, &d, &m);
		legacy_block_deq(f, u, d, m, y + i * QK);
	}
}

static void legacy_codes(int type, const void *blocks, int32_t *q, int64_t n)
{
	const struct legacy_fmt *f = legacy_of(type);
	const uint8_t *p = blocks;
	uint8_t u[QK];
	float d, m;

	if (type == GGML_ID_Q8_0) {
		for (int64_t i = 0; i < n / QK; i++, p += sizeof(struct blk_q8_0), q += QK) {
			struct blk_q8_0 b;
			memcpy(&b, p, sizeof b);
			for (int j = 0; j < QK; j++)
				q[j] = b.qs[j];
		}
		return;
	}
	size_t bytes = type_bytes(type);
	for (int64_t i = 0; i < n / QK; i++) {
		f->unpack((const uint8_t *)blocks + i * bytes, u, &d, &m);
		for (int j = 0; j < QK; j++)
			q[i * QK + j] = (int32_t)u[j] - f->off;
	}
}

static void legacy_scales(int type, const void *blocks, float *scale, int64_t nblocks)
{
	const struct legacy_fmt *f = legacy_of(type);
	uint8_t u[QK];
	float m;

	size_t bytes = type_bytes(type);
	for (int64_t i = 0; i < nblocks; i++) {
		f->unpack((const uint8_t *)blocks + i * bytes, u, &scale[i], &m);
		scale[i] = fabsf(scale[i]);
	}
}

/* ---- reference quantizers (llama.cpp quantize_row_*_ref) -----------------
 * Arithmetic in float32 in the same order as ggml; the code is computed with
 * the fp32 d while the fp16-rounded d is stored. */

/* ggml's (int8_t) cast of a value that is non-negative for finite input;
 * NaN and out-of-range values (undefined behaviour in C) are pinned. */
static int trunc_code(float v)
{
	if (v >= 0.0f && v < 128.0f)
		return (int)v;
	return v >= 128.0f ? 127 : 0;
}

/* roundf (half away from zero) without the library call, for |v| < 2^23:
 * v − trunc(v) is exact there; larger |v| and NaN come back as they are. */
static inline float round_away(float v)
{
	if (!(fabsf(v) < 8388608.0f))
		return v;
	float t = (float)(int32_t)v, r = v - t;
	return t + (r >= 0.5f ? 1.0f : r <= -0.5f ? -1.0f : 0.0f);
}

static void ref_block_q8_0(const float *x, uint8_t *u, uint16_t *dh, uint16_t *mh)
{
	float amax = 0.0f;

	for (int j = 0; j < QK; j++) {
		float a = fabsf(x[j]);
		amax = a > amax ? a : amax; /* fmaxf's: a NaN is passed over */
	}
	const float d = amax / 127.0f;
	const float id = d ? 1.0f / d : 0.0f;
	for (int j = 0; j < QK; j++) {
		float r = round_away(x[j] * id);
		u[j] = (uint8_t)((r >= -127.0f && r <= 127.0f ? (int)r : 0) + 128);
	}
	*dh = f32_to_f16(d);
	*mh = 0;
}

/* Q4_0/Q5_0: the element of largest magnitude, sign kept, maps to code 0. */
static void ref_block_sym(const float *x, int nlev, uint8_t *u, uint16_t *dh, uint16_t *mh)
{
	float amax = 0.0f, max = 0.0f;

	for (int j = 0; j < QK; j++) {
		if (amax < fabsf(x[j])) {
			amax = fabsf(x[j]);
			max = x[j];
		}
	}
	const float d = max / (float)(-nlev / 2);
	const float id = d ? 1.0f / d : 0.0f;
	const float half = (float)(nlev / 2) + 0.5f;
	for (int j = 0; j < QK; j++) {
		int v = trunc_code(x[j] * id + half);
		u[j] = (uint8_t)(v < nlev - 1 ? v : nlev - 1);
	}
	*dh = f32_to_f16(d);
	*mh = 0;
}

static void ref_block_min(const float *x, int nlev, uint8_t *u, uint16_t *dh, uint16_t *mh)
{
	float min = FLT_MAX, max = -FLT_MAX;

	for (int j = 0; j < QK; j++) {
		if (x[j] < min)
			min = x[j];
		if (x[j] > max)
			max = x[j];
	}
	const float d = (max - min) / (float)(nlev - 1);
	const float id = d ? 1.0f / d : 0.0f;
	for (int j = 0; j < QK; j++) {
		int v = trunc_code((x[j] - min) * id + 0.5f);
		u[j] = (uint8_t)(v < nlev - 1 ? v : nlev - 1);
	}
	*dh = f32_to_f16(d);
	*mh = f32_to_f16(min);
}

static void ref_block(const struct legacy_fmt *f, const float *x, uint8_t *u, uint16_t *dh,
                      uint16_t *mh)
{
	if (f->ggml_type == GGML_ID_Q8_0)
		ref_block_q8_0(x, u, dh, mh);
	else if (f->has_min)
		ref_block_min(x, f->nlev, u, dh, mh);
	else
		ref_block_sym(x, f->nlev, u, dh, mh);
}

static void legacy_quantize_ref(int type, const float *x, void *blocks, int64_t n)
{
	const struct legacy_fmt *f = legacy_of(type);
	uint8_t u[QK];
	uint16_t dh, mh;

	size_t bytes = type_bytes(type);
	for (int64_t i = 0; i < n / QK; i++) {
		ref_block(f, x + i * QK, u, &dh, &mh);
		f->pack((uint8_t *)blocks + i * bytes, u, dh, mh);
	}
}

/* ---- better scales inside the same format ------------------------------ */

struct cand {
	uint16_t dh, mh;
	uint8_t u[QK];
	double err;
};

static double block_err(const struct legacy_fmt *f, const float *x, const uint8_t *u, uint16_t dh,
                        uint16_t mh)
{
	float y[QK];
	double e = 0;

	legacy_block_deq(f, u, f16_to_f32(dh), f16_to_f32(mh), y);
	for (int j = 0; j < QK; j++) {
		double t = (double)x[j] - (double)y[j];
		e += t * t;
	}
	return e;
}

/* Nearest code for every element given the stored (fp16) d and m. */
static void codes_nearest(const struct legacy_fmt *f, const float *x, float d, float m, uint8_t *u)
{
	for (int j = 0; j < QK; j++) {
		double v = d != 0.0f ? ((double)x[j] - m) / d + f->off : f->off;
		v = nearbyint(v);
		if (!(v >= f->umin))
			v = f->umin;
		if (v > f->nlev - 1)
			v = f->nlev - 1;
		u[j] = (uint8_t)v;
	}
}

/* Evaluate (d, m) rounded to fp16; keep it in *best when it is better. */
static void cand_try(const struct legacy_fmt *f, const float *x, double d, double m,
                     struct cand *best)
{
	struct cand c;

	if (!isfinite(d) || !isfinite(m) || d == 0.0)
		return;
	c.dh = f32_to_f16((float)d);
	c.mh = f->has_min ? f32_to_f16((float)m) : 0;
	float dq = f16_to_f32(c.dh), mq = f16_to_f32(c.mh);
	if (!isfinite(dq) || dq == 0.0f || !isfinite(mq))
		return;
	codes_nearest(f, x, dq, mq, c.u);
	c.err = block_err(f, x, c.u, c.dh, c.mh);
	if (c.err < best->err)
		*best = c;
}

/* Least-squares (d, m) for fixed codes: d = Σx·q/Σq² (symmetric) or the
 * regression of x on q (with a min). Returns false when degenerate. */
static bool lsq_fit(const struct legacy_fmt *f, const float *x, const uint8_t *u, double *d,
                    double *m)
{
	double sx = 0, sq = 0, sqq = 0, sxq = 0;

	for (int j = 0; j < QK; j++) {
		double q = (double)u[j] - f->off;
		sx += x[j];
		sq += q;
		sqq += q * q;
		sxq += x[j] * q;
	}
	if (!f->has_min) {
		*m = 0;
		*d = sqq > 0 ? sxq / sqq : 0;
		return sqq > 0;
	}
	double den = QK * sqq - sq * sq;
	if (den <= 0)
		return false;
	*d = (QK * sxq - sx * sq) / den;
	*m = (sx - *d * sq) / QK;
	return true;
}

/* Refine a candidate by alternating least squares and nearest rounding. */
static void cand_refine(const struct legacy_fmt *f, const float *x, struct cand *best)
{
	for (int it = 0; it < 4; it++) {
		double d, m, before = best->err;
		if (!lsq_fit(f, x, best->u, &d, &m))
			return;
		cand_try(f, x, d, m, best);
		if (!(best->err < before))
			return;
	}
}

static void block_min_max(const float *x, float *lo, float *hi, float *amax)
{
	*lo = FLT_MAX;
	*hi = -FLT_MAX;
	*amax = 0;
	for (int j = 0; j < QK; j++) {
		*lo = fminf(*lo, x[j]);
		*hi = fmaxf(*hi, x[j]);
		*amax = fmaxf(*amax, fabsf(x[j]));
	}
}

/* The NTOP best grid candidates, each refined afterwards: refining every
 * grid point costs several times more for little gain on real weights. */
#define NTOP 6

struct top {
	struct cand c[NTOP];
};

static void top_init(struct top *t)
{
	for (int i = 0; i < NTOP; i++)
		t->c[i].err = INFINITY;
}

static void top_try(const struct legacy_fmt *f, const float *x, double d, double m, struct top *t)
{
	struct cand c;

	c.err = INFINITY;
	cand_try(f, x, d, m, &c);
	if (!(c.err < t->c[NTOP - 1].err))
		return;
	int i = NTOP - 1;
	for (; i > 0 && c.err < t->c[i - 1].err; i--)
		t->c[i] = t->c[i - 1];
	t->c[i] = c;
}

static void top_refine(const struct legacy_fmt *f, const float *x, struct top *t, struct cand *best)
{
	for (int i = 0; i < NTOP; i++) {
		if (!isfinite(t->c[i].err))
			break;
		cand_refine(f, x, &t->c[i]);
		if (t->c[i].err < best->err)
			*best = t->c[i];
	}
}

static void mse_search_sym(const struct legacy_fmt *f, const float *x, struct cand *best)
{
	float lo, hi, amax;
	int qneg = f->off - f->umin, qpos = f->nlev - 1 - f->off;
	struct top t;

	block_min_max(x, &lo, &hi, &amax);
	if (amax == 0.0f)
		return;
	top_init(&t);
	/* Scales that put the block's extreme between 60% of the short end and
	 * 110% of the long end of the code range (8 bits: 85% to 105%, finer),
	 * both signs of d, as one grid of divisors amax/d. */
	bool fine = f->nlev >= 256;
	int steps = fine ? 40 : 23;
	double k_lo = (fine ? 0.85 : 0.6) * qpos, k_hi = (fine ? 1.05 : 1.1) * qneg;
	for (int k = 0; k <= steps; k++) {
		double div = k_lo + (k_hi - k_lo) * k / steps;
		top_try(f, x, amax / div, 0, &t);
		top_try(f, x, -amax / div, 0, &t);
	}
	top_refine(f, x, &t, best);
}

static void mse_search_min(const struct legacy_fmt *f, const float *x, struct cand *best)
{
	float lo, hi, amax;
	struct top t;

	block_min_max(x, &lo, &hi, &amax);
	double range = (double)hi - lo;
	if (!(range > 0))
		return;
	top_init(&t);
	for (int a = 0; a <= 8; a++) {
		for (int b = 0; b <= 8; b++) {
			double l = lo + 0.025 * a * range, h = hi - 0.025 * b * range;
			top_try(f, x, (h - l) / (f->nlev - 1), l, &t);
		}
	}
	top_refine(f, x, &t, best);
}

/* A range method's (scale, clip_lo) per block through range_choose. */
static void range_search(const struct legacy_fmt *f, const float *x, const struct method *m,
                         struct cand *best)
{
	struct scheme s = scheme_default();
	struct qparam p;
	float scratch[QK];
	int nbits = f->nlev == 16 ? 4 : f->nlev == 32 ? 5 : 8;

	s.bits = nbits;
	s.is_signed = !f->has_min;
	s.symmetric = !f->has_min;
	s.narrow = f->ggml_type == GGML_ID_Q8_0;
	s.gran = GRAN_TENSOR;
	s.rounding = ROUND_HALF_AWAY;
	if (range_choose(m, &s, x, QK, scratch, &p, NULL) != 0)
		return;
	cand_try(f, x, p.scale, f->has_min ? p.clip_lo : 0, best);
}

static bool block_finite(const float *x)
{
	for (int j = 0; j < QK; j++)
		if (!isfinite(x[j]))
			return false;
	return true;
}

static void legacy_quantize_method(int type, const float *x, void *blocks, int64_t n,
                                   const struct method *m)
{
	const struct legacy_fmt *f = legacy_of(type);

	if (!m || m->kind == METHOD_MINMAX) {
		legacy_quantize_ref(type, x, blocks, n);
		return;
	}
	size_t bytes = type_bytes(type);
	for (int64_t i = 0; i < n / QK; i++) {
		const float *xb = x + i * QK;
		struct cand best;
		ref_block(f, xb, best.u, &best.dh, &best.mh);
		best.err = block_err(f, xb, best.u, best.dh, best.mh);
		if (block_finite(xb) && best.err > 0) {
			if (m->kind != METHOD_MSE)
				range_search(f, xb, m, &best);
			else if (f->has_min)
				mse_search_min(f, xb, &best);
			else
				mse_search_sym(f, xb, &best);
		}
		f->pack((uint8_t *)blocks + i * bytes, best.u, best.dh, best.mh);
	}
}

/* ---- K-quants: decode to codes q[256] with per-16 (A, B): y = A·q − B ---- */

struct kblock {
	int32_t q[QKK];
	float a[16], b[16];
};

static void scale_min_k4(const uint8_t *s, int j, int *sc, int *m)
{
	if (j < 4) {
		*sc = s[j] & 63;
		*m = s[j + 4] & 63;
	} else {
		*sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
		*m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
	}
}

static void kdec_q2_k(const uint8_t *p, struct kblock *k)
{
	struct blk_q2_k b;

	memcpy(&b, p, sizeof b);
	float d = f16_to_f32(b.d), dmin = f16_to_f32(b.dmin);
	for (int e = 0; e < QKK; e++) {
		int h = e / 128, g = (e % 128) / 32, l = e % 32;
		k->q[e] = (b.qs[32 * h + l] >> (2 * g)) & 3;
	}
	for (int s = 0; s < 16; s++) {
		k->a[s] = d * (float)(b.scales[s] & 15);
		k->b[s] = dmin * (float)(b.scales[s] >> 4);
	}
}

static void kdec_q3_k(const uint8_t *p, struct kblock *k)
{
	struct blk_q3_k b;

	memcpy(&b, p, sizeof b);
	float d = f16_to_f32(b.d);
	for (int e = 0; e < QKK; e++) {
		int h = e / 128, g = (e % 128) / 32, l = e % 32;
		int low = (b.qs[32 * h + l] >> (2 * g)) & 3;
		int hbit = (b.hmask[l] >> (e / 32)) & 1;
		k->q[e] = low - (hbit ? 0 : 4);
	}
	for (int s = 0; s < 16; s++) {
		int low4 = s < 8 ? b.scales[s] & 15 : b.scales[s - 8] >> 4;
		int high2 = (b.scales[8 + s % 4] >> (2 * (s / 4))) & 3;
		k->a[s] = d * (float)((low4 | (high2 << 4)) - 32);
		k->b[s] = 0;
	}
}

static void kdec_q45_k(const uint16_t dh, uint16_t dminh, const uint8_t *scales, struct kblock *k)
{
	float d = f16_to_f32(dh), dmin = f16_to_f32(dminh);

	for (int j = 0; j < 8; j++) {
		int sc, m;
		scale_min_k4(scales, j, &sc, &m);
		k->a[2 * j] = k->a[2 * j + 1] = d * (float)sc;
		k->b[2 * j] = k->b[2 * j + 1] = dmin * (float)m;
	}
}

static void kdec_q4_k(const uint8_t *p, struct kblock *k)
{
	struct blk_q4_k b;

	memcpy(&b, p, sizeof b);
	for (int e = 0; e < QKK; e++) {
		int c = e / 64, nib = (e % 64) / 32, l = e % 32;
		k->q[e] = (b.qs[32 * c + l] >> (4 * nib)) & 15;
	}
	kdec_q45_k(b.d, b.dmin, b.scales, k);
}

static void kdec_q5_k(const uint8_t *p, struct kblock *k)
{
	struct blk_q5_k b;

	memcpy(&b, p, sizeof b);
	for (int e = 0; e < QKK; e++) {
		int c = e / 64, nib = (e % 64) / 32, l = e % 32;
		int hbit = (b.qh[l] >> (e / 32)) & 1;
		k->q[e] = ((b.qs[32 * c + l] >> (4 * nib)) & 15) | (hbit << 4);
	}
	kdec_q45_k(b.d, b.dmin, b.scales, k);
}

static void kdec_q6_k(const uint8_t *p, struct kblock *k)
{
	struct blk_q6_k b;

	memcpy(&b, p, sizeof b);
	float d = f16_to_f32(b.d);
	for (int e = 0; e < QKK; e++) {
		int h = e / 128, r = e % 128;
		int low = (b.ql[64 * h + r % 64] >> (4 * (r / 64))) & 15;
		int high = (b.qh[32 * h + r % 32] >> (2 * (r / 32))) & 3;
		k->q[e] = (low | (high << 4)) - 32;
	}
	for (int s = 0; s < 16; s++) {
		k->a[s] = d * (float)b.scales[s];
		k->b[s] = 0;
	}
}

static void kdec_q8_k(const uint8_t *p, struct kblock *k)
{
	struct blk_q8_k b;

	memcpy(&b, p, sizeof b);
	for (int e = 0; e < QKK; e++)
		k->q[e] = b.qs[e];
	for (int s = 0; s < 16; s++) {
		k->a[s] = b.d;
		k->b[s] = 0;
	}
}

static float kblock_super_d(int type, const uint8_t *p)
{
	uint16_t h;
	float f;

	switch (type) {
	case GGML_ID_Q2_K:
		memcpy(&h, p + offsetof(struct blk_q2_k, d), 2);
		return f16_to_f32(h);
	case GGML_ID_Q3_K:
		memcpy(&h, p + offsetof(struct blk_q3_k, d), 2);
		return f16_to_f32(h);
	case GGML_ID_Q6_K:
		memcpy(&h, p + offsetof(struct blk_q6_k, d), 2);
		return f16_to_f32(h);
	case GGML_ID_Q8_K:
		memcpy(&f, p, 4);
		return f;
	default: /* Q4_K, Q5_K: d first */
		memcpy(&h, p, 2);
		return f16_to_f32(h);
	}
}

struct kfmt {
	int ggml_type;
	void (*decode)(const uint8_t *p, struct kblock *k);
};

static const struct kfmt kfmts[] = {
        {GGML_ID_Q2_K, kdec_q2_k}, {GGML_ID_Q3_K, kdec_q3_k}, {GGML_ID_Q4_K, kdec_q4_k},
        {GGML_ID_Q5_K, kdec_q5_k}, {GGML_ID_Q6_K, kdec_q6_k}, {GGML_ID_Q8_K, kdec_q8_k},
};

static void (*kdecoder(int type))(const uint8_t *, struct kblock *)
{
	for (size_t i = 0; i < sizeof kfmts / sizeof kfmts[0]; i++)
		if (kfmts[i].ggml_type == type)
			return kfmts[i].decode;
	return NULL;
}

static void k_dequantize(int type, const void *blocks, float *y, int64_t n)
{
	void (*dec)(const uint8_t *, struct kblock *) = kdecoder(type);
	struct kblock k;

	size_t bytes = type_bytes(type);
	for (int64_t i = 0; i < n / QKK; i++) {
		dec((const uint8_t *)blocks + i * bytes, &k);
		for (int e = 0; e < QKK; e++)
			y[i * QKK + e] = k.a[e / 16] * (float)k.q[e] - k.b[e / 16];
	}
}

static void k_codes(int type, const void *blocks, int32_t *q, int64_t n)
{
	void (*dec)(const uint8_t *, struct kblock *) = kdecoder(type);
	struct kblock k;

	size_t bytes = type_bytes(type);
	for (int64_t i = 0; i < n / QKK; i++) {
		dec((const uint8_t *)blocks + i * bytes, &k);
		memcpy(q + i * QKK, k.q, sizeof k.q);
	}
}

static void k_scales(int type, const void *blocks, float *scale, int64_t nblocks)
{

	size_t bytes = type_bytes(type);
	for (int64_t i = 0; i < nblocks; i++)
		scale[i] = fabsf(kblock_super_d(type, (const uint8_t *)blocks + i * bytes));
}

/* ---- K-quant reference quantizers (Q4_K, Q5_K, Q6_K) ---------------------
 * The published llama.cpp algorithm (formats.md §3.5): a weighted affine
 * search per 32-element sub-block for Q4_K/Q5_K (make_qkx2_quants), a
 * weighted symmetric search per 16 for Q6_K (make_qx_quants); the sub-block
 * scales are then quantized against one fp16 super-scale and the codes are
 * re-rounded with the scales as stored. */

#define K_GROUP_EPS 1e-15f

/* ggml rounds with the float "magic number" trick: nearest, ties to even
 * (what lrintf gives in the default mode), inline for |v| < 2^22. */
static inline int k_nearest(float v)
{
	if (!(fabsf(v) < 4194304.0f))
		return (int)lrintf(v);
	float t = v + 12582912.0f;
	int32_t i;
	memcpy(&i, &t, sizeof i);
	return (i & 0x007FFFFF) - 0x00400000;
}

static int k_clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

struct affine_search {
	int nmax;
	float rmin, rdelta;
	int nstep;
	bool abs_err; /* Q2_K weighs |error|, the others error² */
};

/* Weighted error of x ≈ scale·L + min. */
static float affine_err(const float *x, const float *w, const uint8_t *l, int n, float scale,
                        float min, bool abs_err)
{
	float e = 0;

	for (int i = 0; i < n; i++) {
		float diff = scale * (float)l[i] + min - x[i];
		e += w[i] * (abs_err ? fabsf(diff) : diff * diff);
	}
	return e;
}

/* Returns the scale, *neg_min = −min ≥ 0; codes in l. */
static float affine_fit(const float *x, const float *w, int n, const struct affine_search *s,
                        uint8_t *l, float *neg_min)
{
	float lo = x[0], hi = x[0], sw = 0, sx = 0;
	uint8_t aux[32];

	for (int i = 0; i < n; i++) { /* comparisons, as llama.cpp: a zero keeps its sign */
		lo = x[i] < lo ? x[i] : lo;
		hi = x[i] > hi ? x[i] : hi;
		sw += w[i];
		sx += w[i] * x[i];
	}
	if (lo > 0)
		lo = 0;
	if (hi == lo) {
		memset(l, 0, (size_t)n);
		*neg_min = -lo;
		return 0;
	}
	float iscale = (float)s->nmax / (hi - lo), scale = 1 / iscale, min = lo;
	for (int i = 0; i < n; i++)
		l[i] = (uint8_t)k_clamp(k_nearest(iscale * (x[i] - lo)), 0, s->nmax);
	float best = affine_err(x, w, l, n, scale, min, s->abs_err);
	for (int st = 0; st <= s->nstep; st++) {
		iscale = (s->rmin + s->rdelta * (float)st + (float)s->nmax) / (hi - lo);
		float sl = 0, sl2 = 0, sxl = 0;
		for (int i = 0; i < n; i++) {
			int q = k_clamp(k_nearest(iscale * (x[i] - lo)), 0, s->nmax);
			aux[i] = (uint8_t)q;
			sl += w[i] * (float)q;
			sl2 += w[i] * (float)(q * q);
			sxl += w[i] * (float)q * x[i];
		}
		float det = sw * sl2 - sl * sl;
		if (det <= 0)
			continue;
		float ts = (sw * sxl - sx * sl) / det, tm = (sl2 * sx - sl * sxl) / det;
		if (tm > 0) {
			tm = 0;
			ts = sxl / sl2;
		}
		float e = affine_err(x, w, aux, n, ts, tm, s->abs_err);
		if (e < best) {
			memcpy(l, aux, (size_t)n);
			best = e;
			scale = ts;
			min = tm;
		}
	}
	*neg_min = -min;
	return scale;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GQ_AVX2 __attribute__((target("avx2")))

/* k_nearest of eight lanes (|v| < 2^22 here: v ≤ nmax + rmin + nstep·rdelta). */
GQ_AVX2 static inline __m256i k_nearest8(__m256 v)
{
	__m256i i = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.0f)));
	return _mm256_sub_epi32(_mm256_and_si256(i, _mm256_set1_epi32(0x007FFFFF)),
	                        _mm256_set1_epi32(0x00400000));
}

/* affine_err of eight lanes: codes l[i], lane j's scale and min. */
GQ_AVX2 static inline __m256 affine_err8(const __m256 *x, const __m256 *w, const __m256i *l, int n,
                                         __m256 scale, __m256 min, bool abs_err)
{
	const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MAX));
	__m256 e = _mm256_setzero_ps();

	for (int i = 0; i < n; i++) {
		__m256 diff = _mm256_sub_ps(
		        _mm256_add_ps(_mm256_mul_ps(scale, _mm256_cvtepi32_ps(l[i])), min), x[i]);
		__m256 t = abs_err ? _mm256_and_ps(diff, absm) : _mm256_mul_ps(diff, diff);
		e = _mm256_add_ps(e, _mm256_mul_ps(w[i], t));
	}
	return e;
}

/* affine_fit on eight sub-blocks at once, lane j = sub-block j (x[i] holds
 * element i of each, w likewise): every lane does affine_fit's float
 * operations in affine_fit's order (no fused multiply-add: the target has
 * none), so scales, mins and codes are the same bits. */
GQ_AVX2 static void affine_fit8(const __m256 *x, const __m256 *w, int n,
                                const struct affine_search *s, uint8_t l[][32], float *scale_out,
                                float *neg_min_out)
{
	const __m256 zero = _mm256_setzero_ps(), nmaxf = _mm256_set1_ps((float)s->nmax);
	const __m256i nmaxi = _mm256_set1_epi32(s->nmax), zi = _mm256_setzero_si256();
	__m256 lo = x[0], hi = x[0], sw = zero, sx = zero;
	__m256i best_l[32], aux[32];

	for (int i = 0; i < n; i++) {
		lo = _mm256_min_ps(x[i], lo); /* x < lo ? x : lo, as affine_fit */
		hi = _mm256_max_ps(x[i], hi);
		sw = _mm256_add_ps(sw, w[i]);
		sx = _mm256_add_ps(sx, _mm256_mul_ps(w[i], x[i]));
	}
	lo = _mm256_blendv_ps(lo, zero, _mm256_cmp_ps(lo, zero, _CMP_GT_OQ)); /* lo > 0: 0 */
	__m256 flat = _mm256_cmp_ps(hi, lo, _CMP_EQ_OQ), range = _mm256_sub_ps(hi, lo);
	__m256 iscale = _mm256_div_ps(nmaxf, range);
	__m256 scale = _mm256_div_ps(_mm256_set1_ps(1.0f), iscale), min = lo;
	for (int i = 0; i < n; i++) {
		__m256i q = k_nearest8(_mm256_mul_ps(iscale, _mm256_sub_ps(x[i], lo)));
		best_l[i] = _mm256_min_epi32(_mm256_max_epi32(q, zi), nmaxi);
	}
	__m256 best = affine_err8(x, w, best_l, n, scale, min, s->abs_err);
	for (int st = 0; st <= s->nstep; st++) {
		float top = s->rmin + s->rdelta * (float)st + (float)s->nmax;
		__m256 isc = _mm256_div_ps(_mm256_set1_ps(top), range);
		__m256 sl = zero, sl2 = zero, sxl = zero;
		for (int i = 0; i < n; i++) {
			__m256i q = k_nearest8(_mm256_mul_ps(isc, _mm256_sub_ps(x[i], lo)));
			q = _mm256_min_epi32(_mm256_max_epi32(q, zi), nmaxi);
			aux[i] = q;
			__m256 qf = _mm256_cvtepi32_ps(q);
			sl = _mm256_add_ps(sl, _mm256_mul_ps(w[i], qf));
			sl2 = _mm256_add_ps(
			        sl2,
			        _mm256_mul_ps(w[i], _mm256_cvtepi32_ps(_mm256_mullo_epi32(q, q))));
			sxl = _mm256_add_ps(sxl, _mm256_mul_ps(_mm256_mul_ps(w[i], qf), x[i]));
		}
		__m256 det = _mm256_sub_ps(_mm256_mul_ps(sw, sl2), _mm256_mul_ps(sl, sl));
		__m256 live = _mm256_cmp_ps(det, zero, _CMP_NLE_UQ); /* det <= 0: continue */
		if (!_mm256_movemask_ps(live))
			continue;
		__m256 ts = _mm256_div_ps(
		        _mm256_sub_ps(_mm256_mul_ps(sw, sxl), _mm256_mul_ps(sx, sl)), det);
		__m256 tm = _mm256_div_ps(
		        _mm256_sub_ps(_mm256_mul_ps(sl2, sx), _mm256_mul_ps(sl, sxl)), det);
		__m256 pos = _mm256_cmp_ps(tm, zero, _CMP_GT_OQ);
		ts = _mm256_blendv_ps(ts, _mm256_div_ps(sxl, sl2), pos);
		tm = _mm256_blendv_ps(tm, zero, pos);
		__m256 e = affine_err8(x, w, aux, n, ts, tm, s->abs_err);
		__m256 better = _mm256_and_ps(live, _mm256_cmp_ps(e, best, _CMP_LT_OQ));
		if (!_mm256_movemask_ps(better))
			continue;
		__m256i bi = _mm256_castps_si256(better);
		for (int i = 0; i < n; i++)
			best_l[i] = _mm256_blendv_epi8(best_l[i], aux[i], bi);
		best = _mm256_blendv_ps(best, e, better);
		scale = _mm256_blendv_ps(scale, ts, better);
		min = _mm256_blendv_ps(min, tm, better);
	}
	float sc[8], mn[8], lof[8], fl[8];
	int32_t li[32][8];
	_mm256_storeu_ps(sc, scale);
	_mm256_storeu_ps(mn, min);
	_mm256_storeu_ps(lof, lo);
	_mm256_storeu_ps(fl, flat);
	for (int i = 0; i < n; i++)
		_mm256_storeu_si256((__m256i *)(void *)li[i], best_l[i]);
	for (int j = 0; j < 8; j++) {
		bool is_flat = fl[j] != 0.0f; /* all-ones bits: NaN, not 0 */
		for (int i = 0; i < n; i++)
			l[j][i] = is_flat ? 0 : (uint8_t)li[i][j];
		scale_out[j] = is_flat ? 0.0f : sc[j];
		neg_min_out[j] = is_flat ? -lof[j] : -mn[j];
	}
}

static bool kq_no_simd;

static bool kq_simd(void)
{
	return !kq_no_simd && __builtin_cpu_supports("avx2");
}
#endif

void ggml_quants_set_simd(bool on)
{
#if defined(__x86_64__) && defined(__GNUC__)
	kq_no_simd = !on;
#else
	(void)on;
#endif
}

static void k4_pack_scales(uint8_t *s, const int *ls, const int *lm)
{
	memset(s, 0, 12);
	for (int j = 0; j < 8; j++) {
		if (j < 4) {
			s[j] = (uint8_t)ls[j];
			s[j + 4] = (uint8_t)lm[j];
		} else {
			s[j + 4] = (uint8_t)((ls[j] & 15) | ((lm[j] & 15) << 4));
			s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
			s[j] |= (uint8_t)((lm[j] >> 4) << 6);
		}
	}
}

/* One Q4_K/Q5_K super-block: codes l[256] (0..nmax), fp16 d/dmin, scales[12]. */
/* The eight sub-block searches of a Q4_K/Q5_K super-block: scales sc, −mins
 * mn and codes l (32 each), with the weights av + |x| of llama.cpp. */
static void k45_search(const float *x, const struct affine_search *s, uint8_t *l, float *sc,
                       float *mn)
{
	float w[32];
#if defined(__x86_64__) && defined(__GNUC__)
	float xt[32][8] __attribute__((aligned(32))), wt[32][8] __attribute__((aligned(32)));
	uint8_t lt[8][32];
	bool simd = kq_simd();
#else
	bool simd = false;
#endif
	for (int j = 0; j < 8; j++) {
		const float *xs = x + 32 * j;
		float s2 = 0;
		for (int i = 0; i < 32; i++)
			s2 += xs[i] * xs[i];
		float av = sqrtf(s2 / 32);
		for (int i = 0; i < 32; i++)
			w[i] = av + fabsf(xs[i]);
#if defined(__x86_64__) && defined(__GNUC__)
		if (simd) { /* the eight searches at once, below */
			for (int i = 0; i < 32; i++) {
				xt[i][j] = xs[i];
				wt[i][j] = w[i];
			}
			continue;
		}
#endif
		sc[j] = affine_fit(xs, w, 32, s, l + 32 * j, &mn[j]);
	}
#if defined(__x86_64__) && defined(__GNUC__)
	if (simd) {
		affine_fit8((const __m256 *)(void *)xt, (const __m256 *)(void *)wt, 32, s, lt, sc,
		            mn);
		for (int j = 0; j < 8; j++)
			memcpy(l + 32 * j, lt[j], 32);
	}
#endif
}

static const struct affine_search k4_search = {15, -1.f, 0.1f, 20, false};
static const struct affine_search k5_search = {31, -0.5f, 0.1f, 15, false};

int ggml_kquant_search(int ggml_type, const float *x, float *sc, float *neg_min, uint8_t *l)
{
	if (ggml_type != GGML_ID_Q4_K && ggml_type != GGML_ID_Q5_K)
		return -1;
	k45_search(x, ggml_type == GGML_ID_Q4_K ? &k4_search : &k5_search, l, sc, neg_min);
	return 0;
}

static void k45_block(const float *x, const struct affine_search *s, uint8_t *l, uint16_t *dh,
                      uint16_t *dminh, uint8_t *scales)
{
	float sc[8], mn[8], max_sc = 0, max_mn = 0;
	int ls[8], lm[8];

	k45_search(x, s, l, sc, mn);
	for (int j = 0; j < 8; j++) {
		max_sc = fmaxf(max_sc, sc[j]);
		max_mn = fmaxf(max_mn, mn[j]);
	}
	float isc = max_sc > 0 ? 63.f / max_sc : 0, imn = max_mn > 0 ? 63.f / max_mn : 0;
	for (int j = 0; j < 8; j++) {
		ls[j] = k_clamp(k_nearest(isc * sc[j]), 0, 63);
		lm[j] = k_clamp(k_nearest(imn * mn[j]), 0, 63);
	}
	k4_pack_scales(scales, ls, lm);
	*dh = f32_to_f16(max_sc / 63.f);
	*dminh = f32_to_f16(max_mn / 63.f);
	for (int j = 0; j < 8; j++) {
		int a, b;
		scale_min_k4(scales, j, &a, &b);
		float d = f16_to_f32(*dh) * (float)a;
		if (d == 0)
			continue;
		float dm = f16_to_f32(*dminh) * (float)b;
		for (int i = 0; i < 32; i++)
			l[32 * j + i] =
			        (uint8_t)k_clamp(k_nearest((x[32 * j + i] + dm) / d), 0, s->nmax);
	}
}

static void q4_k_quantize_ref(const float *x, void *blocks, int64_t n)
{
	const struct affine_search s = k4_search;
	uint8_t l[QKK];

	for (int64_t i = 0; i < n / QKK; i++) {
		struct blk_q4_k b;
		k45_block(x + i * QKK, &s, l, &b.d, &b.dmin, b.scales);
		for (int c = 0; c < 4; c++)
			for (int k = 0; k < 32; k++)
				b.qs[32 * c + k] =
				        (uint8_t)(l[64 * c + k] | (l[64 * c + 32 + k] << 4));
		memcpy((uint8_t *)blocks + i * sizeof b, &b, sizeof b);
	}
}

static void q5_k_quantize_ref(const float *x, void *blocks, int64_t n)
{
	const struct affine_search s = k5_search;
	uint8_t l[QKK];

	for (int64_t i = 0; i < n / QKK; i++) {
		struct blk_q5_k b;
		k45_block(x + i * QKK, &s, l, &b.d, &b.dmin, b.scales);
		memset(b.qh, 0, sizeof b.qh);
		for (int c = 0; c < 4; c++)
			for (int k = 0; k < 32; k++) {
				int lo = l[64 * c + k], hi = l[64 * c + 32 + k];
				b.qh[k] |= (uint8_t)(((lo >> 4) << (2 * c)) |
				                     ((hi >> 4) << (2 * c + 1)));
				b.qs[32 * c + k] = (uint8_t)((lo & 15) | ((hi & 15) << 4));
			}
		memcpy((uint8_t *)blocks + i * sizeof b, &b, sizeof b);
	}
}

/* Σw·x·l and Σw·l² for codes l = clamp(round(iscale·x), −nmax, nmax−1),
 * w = x² (make_qx_quants' rmse_type 1). */
static void sym_sums(const float *x, int n, int nmax, float iscale, int8_t *l, float *sxl,
                     float *sl2)
{
	*sxl = *sl2 = 0;
	for (int i = 0; i < n; i++) {
		int q = k_clamp(k_nearest(iscale * x[i]), -nmax, nmax - 1);
		float w = x[i] * x[i];
		l[i] = (int8_t)q;
		*sxl += w * x[i] * (float)q;
		*sl2 += w * (float)(q * q);
	}
}

/* Returns the (signed) scale; codes l in −nmax..nmax−1. */
static float sym_fit(const float *x, int n, int nmax, int8_t *l)
{
	float amax = 0, max = 0, sxl, sl2;
	int8_t aux[16];

	for (int i = 0; i < n; i++)
		if (fabsf(x[i]) > amax) {
			amax = fabsf(x[i]);
			max = x[i];
		}
	if (amax < K_GROUP_EPS) {
		memset(l, 0, (size_t)n);
		return 0;
	}
	sym_sums(x, n, nmax, -(float)nmax / max, l, &sxl, &sl2);
	float scale = sl2 ? sxl / sl2 : 0, best = scale * sxl;
	for (int st = -9; st <= 9; st++) {
		if (st == 0)
			continue;
		sym_sums(x, n, nmax, -((float)nmax + 0.1f * (float)st) / max, aux, &sxl, &sl2);
		if (sl2 > 0 && sxl * sxl > best * sl2) {
			memcpy(l, aux, (size_t)n);
			scale = sxl / sl2;
			best = scale * sxl;
		}
	}
	return scale;
}

static void q6_k_block(const float *x, struct blk_q6_k *b)
{
	float sc[16], max_abs = 0, max_sc = 0;
	int8_t l[QKK];

	for (int j = 0; j < 16; j++) {
		sc[j] = sym_fit(x + 16 * j, 16, 32, l + 16 * j);
		if (fabsf(sc[j]) > max_abs) {
			max_abs = fabsf(sc[j]);
			max_sc = sc[j];
		}
	}
	memset(b, 0, sizeof *b);
	if (max_abs < K_GROUP_EPS)
		return;
	float iscale = -128.f / max_sc;
	b->d = f32_to_f16(1 / iscale);
	for (int j = 0; j < 16; j++) {
		b->scales[j] =
		        (int8_t)(k_nearest(iscale * sc[j]) < 127 ? k_nearest(iscale * sc[j]) : 127);
		float d = f16_to_f32(b->d) * (float)b->scales[j];
		if (d == 0)
			continue;
		for (int i = 0; i < 16; i++)
			l[16 * j + i] = (int8_t)k_clamp(k_nearest(x[16 * j + i] / d), -32, 31);
	}
	for (int h = 0; h < 2; h++)
		for (int k = 0; k < 32; k++) {
			int u[4];
			for (int g = 0; g < 4; g++)
				u[g] = l[128 * h + 32 * g + k] + 32;
			b->ql[64 * h + k] = (uint8_t)((u[0] & 15) | ((u[2] & 15) << 4));
			b->ql[64 * h + 32 + k] = (uint8_t)((u[1] & 15) | ((u[3] & 15) << 4));
			b->qh[32 * h + k] = (uint8_t)((u[0] >> 4) | ((u[1] >> 4) << 2) |
			                              ((u[2] >> 4) << 4) | ((u[3] >> 4) << 6));
		}
}

static void q6_k_quantize_ref(const float *x, void *blocks, int64_t n)
{
	for (int64_t i = 0; i < n / QKK; i++) {
		struct blk_q6_k b;
		q6_k_block(x + i * QKK, &b);
		memcpy((uint8_t *)blocks + i * sizeof b, &b, sizeof b);
	}
}

/* Q2_K: (scale, min) per 16 fitted with weights |x| and a weighted |error|,
 * stored as 4-bit pairs against d = max scale/15, dmin = max min/15. */
static void q2_k_block(const float *x, struct blk_q2_k *b)
{
	static const struct affine_search s = {3, -0.5f, 0.1f, 15, true};
	float sc[16], mn[16], w[16], max_sc = 0, max_mn = 0;
	uint8_t l[QKK];

	for (int j = 0; j < 16; j++) {
		for (int i = 0; i < 16; i++)
			w[i] = fabsf(x[16 * j + i]);
		sc[j] = affine_fit(x + 16 * j, w, 16, &s, l + 16 * j, &mn[j]);
		max_sc = fmaxf(max_sc, sc[j]);
		max_mn = fmaxf(max_mn, mn[j]);
	}
	memset(b, 0, sizeof *b);
	for (int j = 0; j < 16; j++) {
		int a = max_sc > 0 ? k_nearest(15.f / max_sc * sc[j]) : 0;
		int m = max_mn > 0 ? k_nearest(15.f / max_mn * mn[j]) : 0;
		b->scales[j] = (uint8_t)(a | (m << 4));
	}
	b->d = max_sc > 0 ? f32_to_f16(max_sc / 15.f) : 0;
	b->dmin = max_mn > 0 ? f32_to_f16(max_mn / 15.f) : 0;
	for (int j = 0; j < 16; j++) {
		float d = f16_to_f32(b->d) * (float)(b->scales[j] & 15);
		if (d == 0)
			continue;
		float dm = f16_to_f32(b->dmin) * (float)(b->scales[j] >> 4);
		for (int i = 0; i < 16; i++)
			l[16 * j + i] = (uint8_t)k_clamp(k_nearest((x[16 * j + i] + dm) / d), 0, 3);
	}
	for (int h = 0; h < 2; h++)
		for (int k = 0; k < 32; k++)
			b->qs[32 * h + k] =
			        (uint8_t)(l[128 * h + k] | (l[128 * h + 32 + k] << 2) |
			                  (l[128 * h + 64 + k] << 4) | (l[128 * h + 96 + k] << 6));
}

static void q2_k_quantize_ref(const float *x, void *blocks, int64_t n)
{
	for (int64_t i = 0; i < n / QKK; i++) {
		struct blk_q2_k b;
		q2_k_block(x + i * QKK, &b);
		memcpy((uint8_t *)blocks + i * sizeof b, &b, sizeof b);
	}
}

/* ---- float types: casts ------------------------------------------------- */

static void f32_quantize(const float *x, void *out, int64_t n)
{
	memcpy(out, x, (size_t)n * sizeof(float));
}

static void f32_dequantize(const void *in, float *y, int64_t n)
{
	memcpy(y, in, (size_t)n * sizeof(float));
}

static void f16_quantize(const float *x, void *out, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		uint16_t h = f32_to_f16(x[i]);
		memcpy((uint8_t *)out + 2 * i, &h, 2);
	}
}

static void f16_dequantize(const void *in, float *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		uint16_t h;
		memcpy(&h, (const uint8_t *)in + 2 * i, 2);
		y[i] = f16_to_f32(h);
	}
}

static void bf16_quantize(const float *x, void *out, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		uint16_t h = f32_to_bf16(x[i]);
		memcpy((uint8_t *)out + 2 * i, &h, 2);
	}
}

static void bf16_dequantize(const void *in, float *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		uint16_t h;
		memcpy(&h, (const uint8_t *)in + 2 * i, 2);
		y[i] = bf16_to_f32(h);
	}
}

/* ---- per-type entry points (the table needs plain function pointers) ---- */

#define LEGACY_FNS(T)                                                                              \
	static void T##_qref(const float *x, void *b, int64_t n)                                   \
	{                                                                                          \
		legacy_quantize_ref(GGML_ID_##T, x, b, n);                                         \
	}                                                                                          \
	static void T##_qmethod(const float *x, void *b, int64_t n, const struct method *m)        \
	{                                                                                          \
		legacy_quantize_method(GGML_ID_##T, x, b, n, m);                                   \
	}                                                                                          \
	static void T##_deq(const void *b, float *y, int64_t n)                                    \
	{                                                                                          \
		legacy_dequantize(GGML_ID_##T, b, y, n);                                           \
	}                                                                                          \
	static void T##_codes(const void *b, int32_t *q, int64_t n)                                \
	{                                                                                          \
		legacy_codes(GGML_ID_##T, b, q, n);                                                \
	}                                                                                          \
	static void T##_scales(const void *b, float *s, int64_t nb)                                \
	{                                                                                          \
		legacy_scales(GGML_ID_##T, b, s, nb);                                              \
	}

#define K_FNS(T)                                                                                   \
	static void T##_deq(const void *b, float *y, int64_t n)                                    \
	{                                                                                          \
		k_dequantize(GGML_ID_##T, b, y, n);                                                \
	}                                                                                          \
	static void T##_codes(const void *b, int32_t *q, int64_t n)                                \
	{                                                                                          \
		k_codes(GGML_ID_##T, b, q, n);                                                     \
	}                                                                                          \
	static void T##_scales(const void *b, float *s, int64_t nb)                                \
	{                                                                                          \
		k_scales(GGML_ID_##T, b, s, nb);                                                   \
	}

LEGACY_FNS(Q4_0)
LEGACY_FNS(Q4_1)
LEGACY_FNS(Q5_0)
LEGACY_FNS(Q5_1)
LEGACY_FNS(Q8_0)
K_FNS(Q2_K)
K_FNS(Q3_K)
K_FNS(Q4_K)
K_FNS(Q5_K)
K_FNS(Q6_K)
K_FNS(Q8_K)

#define FLOAT_ROW(NAME, ID, BITS, DT, BYTES, Q, D)                                                 \
	{                                                                                          \
		.name = NAME, .family = QTYPE_FLOAT, .bits = BITS, .is_signed = true,              \
		.storage = DT, .ggml_type = ID, .block_elems = 1, .block_bytes = BYTES,            \
		.quantize_ref = Q, .dequantize = D                                                 \
	}

#define LEGACY_ROW(T, BITS, SIGNED, BYTES)                                                         \
	{                                                                                          \
		.name = #T, .family = QTYPE_BLOCK, .bits = BITS, .is_signed = SIGNED,              \
		.storage = DTYPE_U8, .ggml_type = GGML_ID_##T, .block_elems = QK,                  \
		.block_bytes = BYTES, .quantize_ref = T##_qref, .quantize_method = T##_qmethod,    \
		.dequantize = T##_deq, .codes = T##_codes, .block_scales = T##_scales              \
	}

#define K_ROW(T, BITS, SIGNED, BYTES, Q)                                                           \
	{                                                                                          \
		.name = #T, .family = QTYPE_BLOCK, .bits = BITS, .is_signed = SIGNED,              \
		.storage = DTYPE_U8, .ggml_type = GGML_ID_##T, .block_elems = QKK,                 \
		.block_bytes = BYTES, .quantize_ref = Q, .dequantize = T##_deq,                    \
		.codes = T##_codes, .block_scales = T##_scales                                     \
	}

static const struct qtype ggml_table[] = {
        FLOAT_ROW("F32", GGML_ID_F32, 32, DTYPE_F32, 4, f32_quantize, f32_dequantize),
        FLOAT_ROW("F16", GGML_ID_F16, 16, DTYPE_F16, 2, f16_quantize, f16_dequantize),
        FLOAT_ROW("BF16", GGML_ID_BF16, 16, DTYPE_BF16, 2, bf16_quantize, bf16_dequantize),
        LEGACY_ROW(Q4_0, 4, true, 18),
        LEGACY_ROW(Q4_1, 4, false, 20),
        LEGACY_ROW(Q5_0, 5, true, 22),
        LEGACY_ROW(Q5_1, 5, false, 24),
        LEGACY_ROW(Q8_0, 8, true, 34),
        K_ROW(Q2_K, 2, false, 84, q2_k_quantize_ref),
        K_ROW(Q3_K, 3, true, 110, NULL),
        K_ROW(Q4_K, 4, false, 144, q4_k_quantize_ref),
        K_ROW(Q5_K, 5, false, 176, q5_k_quantize_ref),
        K_ROW(Q6_K, 6, true, 210, q6_k_quantize_ref),
        K_ROW(Q8_K, 8, true, 292, NULL),
};

const struct qtype *ggml_qtypes(size_t *n)
{
	*n = sizeof ggml_table / sizeof ggml_table[0];
	return ggml_table;
}

const struct qtype *ggml_qtype_by_id(int ggml_type)
{
	size_t n;
	const struct qtype *t = ggml_qtypes(&n);

	for (size_t i = 0; i < n; i++)
		if (t[i].ggml_type == ggml_type)
			return &t[i];
	return NULL;
}

bool ggml_qtype_writable(const struct qtype *qt)
{
	return qt && qt->ggml_type >= 0 && ggml_qtype_by_id(qt->ggml_type) == qt &&
	       qt->quantize_ref != NULL;
}

/* Every ggml_type id GGUF assigns, with its block geometry (ggml's table). */
struct ggml_type_geom {
	int id;
	const char *name;
	uint32_t blck, bytes;
};

static const struct ggml_type_geom ggml_geoms[] = {
        {0, "F32", 1, 4},         {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},
        {3, "Q4_1", 32, 20},      {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},
        {8, "Q8_0", 32, 34},      {9, "Q8_1", 32, 36},      {10, "Q2_K", 256, 84},
        {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
        {14, "Q6_K", 256, 210},   {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66},
        {17, "IQ2_XS", 256, 74},  {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},
        {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110},  {22, "IQ2_S", 256, 82},
        {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},         {25, "I16", 1, 2},
        {26, "I32", 1, 4},        {27, "I64", 1, 8},        {28, "F64", 1, 8},
        {29, "IQ1_M", 256, 56},   {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},
        {35, "TQ2_0", 256, 66},   {39, "MXFP4", 32, 17},    {40, "NVFP4", 64, 36},
        {41, "Q1_0", 128, 18},    {42, "Q2_0", 64, 18},
};

static const struct ggml_type_geom *geom_of(int id)
{
	for (size_t i = 0; i < sizeof ggml_geoms / sizeof ggml_geoms[0]; i++)
		if (ggml_geoms[i].id == id)
			return &ggml_geoms[i];
	return NULL;
}

const char *ggml_type_name(int ggml_type)
{
	const struct ggml_type_geom *g = geom_of(ggml_type);
	return g ? g->name : NULL;
}

bool ggml_type_size(int ggml_type, uint32_t *block_elems, uint32_t *block_bytes)
{
	const struct ggml_type_geom *g = geom_of(ggml_type);

	if (!g)
		return false;
	*block_elems = g->blck;
	*block_bytes = g->bytes;
	return true;
}

double ggml_sq_error(const struct qtype *qt, const float *x, const void *blocks, int64_t n)
{
	float y[QKK];
	double e = 0;
	int64_t be = qt->block_elems < QKK ? (int64_t)(QKK / qt->block_elems) * qt->block_elems
	                                   : (int64_t)qt->block_elems;

	for (int64_t i = 0; i < n; i += be) {
		int64_t k = n - i < be ? n - i : be;
		qt->dequantize((const uint8_t *)blocks + (i / qt->block_elems) * qt->block_bytes, y,
		               k);
		for (int64_t j = 0; j < k; j++) {
			double t = (double)x[i + j] - (double)y[j];
			e += t * t;
		}
	}
	return e;
}
