#include "analyze.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "analyze_int.h"
#include "dtype.h"

/* Per-channel findings of one kind beyond this many are folded into one
 * tensor-wide summary finding, so a 4096-channel tensor stays readable. */
#define FIND_CHANNEL_CAP 16
/* Code histograms wider than this fall back to sorting. */
#define HIST_MAX_SPAN (1u << 20)

void analysis_init(void)
{
	gsl_set_error_handler_off();
}

void tensor_result_free(struct tensor_result *r)
{
	if (!r)
		return;
	free(r->ch);
	free(r->find);
	free(r->grp);
	r->ch = NULL;
	r->find = NULL;
	r->grp = NULL;
	r->nchannels = r->nfind = r->ngroups = 0;
}

/* ---- findings ---------------------------------------------------------- */

struct find_list {
	struct finding *v;
	uint64_t n, cap;
	uint64_t kept[FIND_COUNT], folded[FIND_COUNT];
	enum risk_level folded_level[FIND_COUNT];
	bool nomem;
};

static void find_append(struct find_list *fl, const struct finding *f)
{
	if (fl->n == fl->cap) {
		uint64_t cap = fl->cap ? 2 * fl->cap : 8;
		struct finding *v = realloc(fl->v, cap * sizeof *v);
		if (!v) {
			fl->nomem = true;
			return;
		}
		fl->v = v;
		fl->cap = cap;
	}
	fl->v[fl->n++] = *f;
}

/* A per-channel finding of kind k at level l: raise the channel's risk and
 * say whether the finding is to be listed (not ok, under the cap) — only then
 * is its reason formatted, so a 4096-channel tensor costs no text. */
static bool find_channel(struct find_list *fl, enum finding_kind k, enum risk_level l, int64_t ch,
                         struct channel_result *chs, uint64_t nch)
{
	if (ch >= 0 && (uint64_t)ch < nch && chs && l > chs[ch].risk)
		chs[ch].risk = l;
	if (l == RISK_OK)
		return false;
	if (fl->kept[k] >= FIND_CHANNEL_CAP) {
		fl->folded[k]++;
		if (l > fl->folded_level[k])
			fl->folded_level[k] = l;
		return false;
	}
	fl->kept[k]++;
	return true;
}

static void find_fold(struct find_list *fl)
{
	for (int k = 0; k < FIND_COUNT; k++) {
		if (!fl->folded[k])
			continue;
		struct finding f = {.kind = k,
		                    .level = fl->folded_level[k],
		                    .channel = -1,
		                    .value = (double)fl->folded[k]};
		snprintf(f.reason, sizeof f.reason, "%s: %llu more channels like those listed",
		         finding_kind_name(k), (unsigned long long)fl->folded[k]);
		find_append(fl, &f);
	}
}

static void find_simple(struct find_list *fl, enum finding_kind k, enum risk_level l, double value,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void find_simple(struct find_list *fl, enum finding_kind k, enum risk_level l, double value,
                        const char *fmt, ...)
{
	struct finding f = {.kind = k, .level = l, .channel = -1, .value = value};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f.reason, sizeof f.reason, fmt, ap);
	va_end(ap);
	find_append(fl, &f);
}

/* ---- the measuring core shared by simulate and measure ----------------- */

/* One element straight into the channel's accumulator (runs of one, e.g.
 * per-channel on the last axis, where a local accumulator costs more). */
static void core_one(const struct core_in *in, struct core_state *st, struct channel_result *ch,
                     uint64_t i, const struct qparam *p, struct err_acc *acc)
{
	float x = in->x[i], xh = in->xhat[i], lo = clip_bound_lo(p), hi = clip_bound_hi(p);
	float half = p && isfinite(p->scale) ? fabsf(p->scale) / 2 : 0.0f;

	if (!isfinite(xh) && isfinite(x)) {
		st->bad_xhat++;
		return;
	}
	err_acc_add(acc, x, xh, x < lo || x > hi);
	if (!isfinite(x))
		return;
	ch->min = x < ch->min ? x : ch->min;
	ch->max = x > ch->max ? x : ch->max;
	st->sat[ch - st->ch0] += x < lo - half || x > hi + half;
	if (!in->codes)
		return;
	int32_t q = in->codes[i], d = q - (p ? p->zero_point : 0);
	if (st->hist)
		st->hist[(int64_t)q - st->hlo]++;
	st->wq_lo = d < st->wq_lo ? d : st->wq_lo;
	st->wq_hi = d > st->wq_hi ? d : st->wq_hi;
}

/* Elements i0 .. i0+cnt−1 of group g (parameters p, may be NULL) and one
 * channel: the sums run in a local accumulator, merged once per run into
 * the channel's (and, when asked, the group's). */
static void core_run(const struct core_in *in, struct core_state *st, struct channel_result *ch,
                     uint64_t i0, uint64_t cnt, uint64_t g, struct err_acc *acc)
{
	const struct qparam *p = in->p ? &in->p[g] : NULL;
	struct err_acc a;

	if (cnt == 1 && !st->gacc) {
		core_one(in, st, ch, i0, p, acc);
		return;
	}
	float mn = ch->min, mx = ch->max;
	float lo = clip_bound_lo(p), hi = clip_bound_hi(p);
	float half = p && isfinite(p->scale) ? fabsf(p->scale) / 2 : 0.0f;
	float slo = lo - half, shi = hi + half;
	int32_t z = p ? p->zero_point : 0, wlo = st->wq_lo, whi = st->wq_hi;
	uint64_t sat = 0, bad = 0;

	err_acc_init(&a);
	for (uint64_t i = i0; i < i0 + cnt; i++) {
		float x = in->x[i], xh = in->xhat[i];
		if (!isfinite(xh) && isfinite(x)) {
			bad++;
			continue;
		}
		err_acc_add(&a, x, xh, x < lo || x > hi);
		if (!isfinite(x))
			continue;
		mn = x < mn ? x : mn;
		mx = x > mx ? x : mx;
		sat += x < slo || x > shi;
		if (!in->codes)
			continue;
		int32_t q = in->codes[i];
		if (st->hist)
			st->hist[(int64_t)q - st->hlo]++;
		wlo = q - z < wlo ? q - z : wlo;
		whi = q - z > whi ? q - z : whi;
	}
	err_acc_merge(acc, &a);
	st->sat[ch - st->ch0] += sat;
	st->bad_xhat += bad;
	if (st->gacc)
		err_acc_merge(&st->gacc[g], &a);
	ch->min = mn;
	ch->max = mx;
	st->wq_lo = wlo;
	st->wq_hi = whi;
}

/* One pass over the tensor in element order, as runs of one channel. */
static void core_pass(const struct core_in *in, struct core_state *st, struct channel_result *ch)
{
	const struct layout *l = in->l;

	st->wq_lo = INT32_MAX;
	st->wq_hi = INT32_MIN;
	if (l->gran == GRAN_GROUP && l->inner == 1) {
		/* blocks along the last axis: a channel is a contiguous row */
		for (uint64_t o = 0; o < l->outer; o++)
			for (uint64_t b = 0; b < l->nblk; b++) {
				uint64_t c0 = b * l->block;
				uint64_t cnt = l->dim - c0 < l->block ? l->dim - c0 : l->block;
				core_run(in, st, &ch[o], o * l->dim + c0, cnt, o * l->nblk + b,
				         &st->acc[o]);
			}
		return;
	}
	for (uint64_t o = 0; o < l->outer; o++) {
		for (uint64_t c = 0; c < l->dim; c++) {
			uint64_t base = (o * l->dim + c) * l->inner, gb = group_base(l, o, c);
			if (l->gran != GRAN_GROUP) {
				core_run(in, st, &ch[c], base, l->inner, gb, &st->acc[c]);
				continue;
			}
			for (uint64_t r = 0; r < l->inner; r++)
				core_run(in, st, &ch[o * l->inner + r], base + r, 1, gb + r,
				         &st->acc[o * l->inner + r]);
		}
	}
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* Levels and entropy of sorted values: runs of equal values are levels. */
static void levels_of_sorted(const void *v, size_t m, size_t width,
                             int (*cmp)(const void *, const void *), uint64_t *levels,
                             double *entropy)
{
	const char *p = v;
	double h = 0.0;
	size_t run = 1;

	*levels = 0;
	*entropy = 0.0;
	if (m == 0)
		return;
	for (size_t k = 1; k <= m; k++) {
		if (k < m && cmp(p + (k - 1) * width, p + k * width) == 0) {
			run++;
			continue;
		}
		double q = (double)run / (double)m;
		h -= q * log2(q);
		(*levels)++;
		run = 1;
	}
	*entropy = h > 0.0 ? h : 0.0;
}

/* The elements of channel chn: i = i0 + a·ostride + b for a < nouter,
 * b = 0, istride, ... (ninner of them). */
struct chan_span {
	uint64_t i0, nouter, ostride, ninner, istride;
};

static struct chan_span chan_span_of(const struct layout *l, uint64_t chn)
{
	if (l->gran == GRAN_GROUP) {
		uint64_t o = chn / l->inner, r = chn % l->inner;
		return (struct chan_span){o * l->dim * l->inner + r, 1, 0, l->dim, l->inner};
	}
	return (struct chan_span){chn * l->inner, l->outer, l->dim * l->inner, l->inner, 1};
}

/* Per-channel levels/entropy for a tile of channels [c0, c0 + t): their
 * elements are visited in memory order (a tile of adjacent channels shares
 * cache lines even when one channel is strided), counted in one histogram
 * per channel that is reset only where touched. */
struct chan_tile {
	uint64_t *hist;   /* t × span */
	int32_t *touched; /* t × span */
	uint64_t nt[64], tot[64];
	uint64_t c0, t;
};

static void tile_count(const struct core_in *in, const struct core_state *st, struct chan_tile *ct,
                       uint64_t chn, uint64_t i)
{
	if (!isfinite(in->x[i]))
		return;
	uint64_t j = chn - ct->c0, k = (uint64_t)((int64_t)in->codes[i] - st->hlo);
	if (ct->hist[j * st->hspan + k]++ == 0)
		ct->touched[j * st->hspan + ct->nt[j]++] = (int32_t)k;
	ct->tot[j]++;
}

static void tile_visit(const struct core_in *in, const struct core_state *st, struct chan_tile *ct)
{
	const struct layout *l = in->l;
	uint64_t c1 = ct->c0 + ct->t;

	if (l->gran != GRAN_GROUP) {
		for (uint64_t o = 0; o < l->outer; o++)
			for (uint64_t c = ct->c0; c < c1; c++)
				for (uint64_t r = 0, i = (o * l->dim + c) * l->inner; r < l->inner;
				     r++, i++)
					tile_count(in, st, ct, c, i);
		return;
	}
	for (uint64_t chn = ct->c0; chn < c1;) {
		uint64_t o = chn / l->inner, r0 = chn % l->inner;
		uint64_t r1 = l->inner - r0 < c1 - chn ? l->inner : r0 + (c1 - chn);
		for (uint64_t c = 0; c < l->dim; c++)
			for (uint64_t r = r0; r < r1; r++)
				tile_count(in, st, ct, o * l->inner + r,
				           (o * l->dim + c) * l->inner + r);
		chn += r1 - r0;
	}
}

static void tile_finish(const struct core_state *st, struct chan_tile *ct,
                        struct channel_result *ch)
{
	for (uint64_t j = 0; j < ct->t; j++) {
		uint64_t *h = ct->hist + j * st->hspan;
		const int32_t *tv = ct->touched + j * st->hspan;
		double e = 0.0;
		for (uint64_t k = 0; k < ct->nt[j]; k++) {
			double q = (double)h[tv[k]] / (double)ct->tot[j];
			e -= q * log2(q);
			h[tv[k]] = 0;
		}
		ch[ct->c0 + j].m.levels_used = ct->nt[j];
		ch[ct->c0 + j].m.entropy_bits = e > 0.0 ? e : 0.0;
		ct->nt[j] = ct->tot[j] = 0;
	}
}

static int chan_levels_tiled(const struct core_in *in, const struct core_state *st,
                             struct tensor_result *out)
{
	uint64_t t = ((uint64_t)1 << 13) / st->hspan; /* tables stay off mmap */
	struct chan_tile ct = {0};

	t = t < 1 ? 1 : t > 64 ? 64 : t;
	t = t > out->nchannels ? out->nchannels : t;
	ct.hist = calloc(t * st->hspan, sizeof *ct.hist);
	ct.touched = malloc(t * st->hspan * sizeof *ct.touched);
	if (!ct.hist || !ct.touched) {
		free(ct.hist);
		free(ct.touched);
		return QS_ERR_NOMEM;
	}
	for (ct.c0 = 0; ct.c0 < out->nchannels; ct.c0 += ct.t) {
		ct.t = out->nchannels - ct.c0 < t ? out->nchannels - ct.c0 : t;
		tile_visit(in, st, &ct);
		tile_finish(st, &ct, out->ch);
	}
	free(ct.hist);
	free(ct.touched);
	return 0;
}

static void chan_levels_sort(const struct core_in *in, uint64_t chn, struct err_metrics *m)
{
	struct chan_span sp = chan_span_of(in->l, chn);
	uint64_t nv = 0;

	for (uint64_t a = 0; a < sp.nouter; a++) {
		uint64_t i = sp.i0 + a * sp.ostride;
		for (uint64_t b = 0; b < sp.ninner; b++, i += sp.istride)
			if (isfinite(in->x[i]))
				in->scratch[nv++] = in->xhat[i];
	}
	qsort(in->scratch, nv, sizeof(float), cmp_float);
	levels_of_sorted(in->scratch, nv, sizeof(float), cmp_float, &m->levels_used,
	                 &m->entropy_bits);
}

/* Tensor levels when there is no usable histogram: sort a copy. */
static int tensor_levels_sort(const struct core_in *in, struct err_metrics *m)
{
	uint64_t n = in->l->n, nv = 0;

	if (in->codes) {
		int32_t *c = malloc((n ? n : 1) * sizeof *c);
		if (!c)
			return QS_ERR_NOMEM;
		for (uint64_t i = 0; i < n; i++)
			if (isfinite(in->x[i]))
				c[nv++] = in->codes[i];
		qsort(c, nv, sizeof *c, cmp_i32);
		levels_of_sorted(c, nv, sizeof *c, cmp_i32, &m->levels_used, &m->entropy_bits);
		free(c);
		return 0;
	}
	for (uint64_t i = 0; i < n; i++)
		if (isfinite(in->x[i]))
			in->scratch[nv++] = in->xhat[i];
	qsort(in->scratch, nv, sizeof(float), cmp_float);
	levels_of_sorted(in->scratch, nv, sizeof(float), cmp_float, &m->levels_used,
	                 &m->entropy_bits);
	return 0;
}

/* Mean scale, first zero point and smallest non-zero |scale| of a channel. */
void az_chan_params(const struct layout *l, const struct qparam *p, uint64_t chn, double *mean,
                    int32_t *zp, double *minabs)
{
	uint64_t g0 = chn, ng = 1, step = 0;

	*mean = NAN;
	*zp = 0;
	*minabs = INFINITY;
	if (!p)
		return;
	if (l->gran == GRAN_TENSOR)
		g0 = 0;
	if (l->gran == GRAN_GROUP) {
		g0 = (chn / l->inner) * l->nblk * l->inner + chn % l->inner;
		ng = l->nblk;
		step = l->inner;
	}
	double s = 0.0, s_all = 0.0;
	uint64_t nr = 0;
	for (uint64_t b = 0; b < ng; b++) {
		const struct qparam *q = &p[g0 + b * step];
		double a = fabs((double)q->scale);
		s_all += a;
		if (q->no_range)
			continue; /* all zeros: as in az_tensor_params */
		s += a;
		nr++;
		if (a > 0.0 && a < *minabs)
			*minabs = a;
	}
	*mean = nr ? s / (double)nr : ng ? s_all / (double)ng : NAN;
	*zp = ng ? p[g0].zero_point : 0;
}

void az_tensor_params(const struct core_in *in, struct tensor_result *out, double *mean)
{
	const struct qparam *p = in->p;
	double s = 0.0;

	out->scale_min = out->scale_max = NAN;
	out->clip_min = out->clip_max = NAN;
	out->zero_point = 0;
	*mean = NAN;
	if (!p || in->l->ngroups == 0)
		return;
	out->scale_min = INFINITY;
	out->scale_max = -INFINITY;
	out->clip_min = INFINITY;
	out->clip_max = -INFINITY;
	/* Groups whose range gave no scale (all zeros) are left out when any
	 * other has one: their fallback scale of 1 would stand for the tensor. */
	uint64_t ng = 0, first = 0;
	for (uint64_t g = in->l->ngroups; g-- > 0;)
		if (!p[g].no_range) {
			ng++;
			first = g;
		}
	bool all = ng == 0;
	ng = all ? in->l->ngroups : ng;
	out->zero_point = p[first].zero_point;
	for (uint64_t g = first; g < in->l->ngroups; g++) {
		if (p[g].no_range && !all)
			continue;
		double a = fabs((double)p[g].scale);
		s += a;
		out->scale_min = fmin(out->scale_min, a);
		out->scale_max = fmax(out->scale_max, a);
		out->clip_min = fminf(out->clip_min, p[g].clip_lo);
		out->clip_max = fmaxf(out->clip_max, p[g].clip_hi);
		if (p[g].zero_point != out->zero_point)
			out->zero_point = INT32_MIN;
	}
	*mean = s / (double)ng;
}

static int core_hist_alloc(const struct core_in *in, struct core_state *st)
{
	int64_t lo = in->qmin, hi = in->qmax;

	if (!in->codes)
		return 0;
	for (uint64_t i = 0; !in->codes_in_range && i < in->l->n; i++) {
		lo = in->codes[i] < lo ? in->codes[i] : lo;
		hi = in->codes[i] > hi ? in->codes[i] : hi;
	}
	if (hi - lo + 1 > (int64_t)HIST_MAX_SPAN)
		return 0;
	st->hlo = lo;
	st->hspan = (size_t)(hi - lo + 1);
	st->hist = calloc(st->hspan, sizeof *st->hist);
	return st->hist ? 0 : QS_ERR_NOMEM;
}

static int core_channels(const struct core_in *in, struct core_state *st, struct tensor_result *out)
{
	for (uint64_t c = 0; c < out->nchannels; c++) {
		struct channel_result *cr = &out->ch[c];
		double mean, minabs;
		az_chan_params(in->l, in->p, c, &mean, &cr->zero_point, &minabs);
		cr->scale = (float)mean;
		metrics_finish(&st->acc[c], NULL, 0, mean, &cr->m);
		cr->channel = c;
		cr->n = cr->m.n;
		if (cr->m.n == 0)
			cr->min = cr->max = NAN;
		if (out->nchannels == 1) {
			cr->m.levels_used = out->m.levels_used;
			cr->m.entropy_bits = out->m.entropy_bits;
		} else if (!st->hist) {
			chan_levels_sort(in, c, &cr->m);
		}
	}
	if (st->hist && out->nchannels > 1)
		return chan_levels_tiled(in, st, out);
	return 0;
}

/* ---- findings of a measured tensor ------------------------------------- */

static void findings_values(const struct tensor_result *out, struct find_list *fl)
{
	const struct dist_stats *xs = &out->xs;
	uint64_t total = xs->n + xs->n_nan + xs->n_inf;

	if (total == 0)
		find_simple(fl, FIND_EMPTY, RISK_OK, 0, "empty tensor: nothing to quantize");
	if (xs->n_nan + xs->n_inf)
		find_simple(fl, FIND_NONFINITE, RISK_RISK, (double)(xs->n_nan + xs->n_inf),
		            "%llu NaN and %llu inf of %llu values, left out of ranges and metrics",
		            (unsigned long long)xs->n_nan, (unsigned long long)xs->n_inf,
		            (unsigned long long)total);
	if (xs->n_denormal)
		find_simple(fl, FIND_DENORMAL, RISK_WARN, (double)xs->n_denormal,
		            "%llu denormal values (|x| < %g)", (unsigned long long)xs->n_denormal,
		            (double)FLT_MIN);
	if (xs->n >= 2 && xs->min == xs->max)
		find_simple(fl, FIND_CONSTANT, RISK_OK, xs->min,
		            "constant tensor: all %llu finite values are %.9g",
		            (unsigned long long)xs->n, xs->min);
}

/* Saturation: the share of values the clamp actually moved, i.e. beyond the
 * clip range by more than half a step. Values within half a step outside it
 * (the rounded affine zero point, an fp16-rounded block scale) would have
 * rounded to the end code anyway; they count in clipped_pct only. */
static void findings_saturation(const struct core_state *st, struct tensor_result *out,
                                struct find_list *fl)
{
	uint64_t total = 0;
	struct finding f;

	for (uint64_t c = 0; c < out->nchannels; c++) {
		const struct channel_result *cr = &out->ch[c];
		total += st->sat[c];
		if (out->nchannels < 2 || cr->m.n == 0)
			continue;
		double pct = 100.0 * (double)st->sat[c] / (double)cr->m.n;
		enum risk_level l = overflow_saturation(pct, (int64_t)c, NULL);
		if (find_channel(fl, FIND_SATURATION, l, (int64_t)c, out->ch, out->nchannels)) {
			overflow_saturation(pct, (int64_t)c, &f);
			find_append(fl, &f);
		}
	}
	if (out->m.n > 0 &&
	    overflow_saturation(100.0 * (double)total / (double)out->m.n, -1, &f) > RISK_OK)
		find_append(fl, &f);
	if (st->bad_xhat)
		find_simple(fl, FIND_NONFINITE, RISK_RISK, (double)st->bad_xhat,
		            "%llu dequantized values are NaN or inf where x is finite (a scale or "
		            "code overflowed); left out of the metrics",
		            (unsigned long long)st->bad_xhat);
}

static void findings_channels(const struct core_in *in, struct tensor_result *out,
                              struct find_list *fl)
{
	for (uint64_t c = 0; c < out->nchannels; c++) {
		const struct channel_result *cr = &out->ch[c];
		struct finding f;
		double mean, minabs;
		int32_t zp;
		if (out->nchannels > 1 && cr->m.n > 0 && cr->min == 0.0f && cr->max == 0.0f &&
		    find_channel(fl, FIND_ZERO_CHANNEL, RISK_WARN, (int64_t)c, out->ch,
		                 out->nchannels)) {
			f = (struct finding){.kind = FIND_ZERO_CHANNEL,
			                     .level = RISK_WARN,
			                     .channel = (int64_t)c};
			snprintf(f.reason, sizeof f.reason, "channel %llu is all zeros",
			         (unsigned long long)c);
			find_append(fl, &f);
		}
		if (!in->p || in->l->gran == GRAN_TENSOR)
			continue;
		az_chan_params(in->l, in->p, c, &mean, &zp, &minabs);
		enum risk_level l =
		        isfinite(minabs) ? overflow_tiny_scale(minabs, in->bits, (int64_t)c, NULL)
		                         : RISK_OK;
		if (find_channel(fl, FIND_TINY_SCALE, l, (int64_t)c, out->ch, out->nchannels)) {
			overflow_tiny_scale(minabs, in->bits, (int64_t)c, &f);
			find_append(fl, &f);
		}
	}
	if (in->p && in->l->gran == GRAN_TENSOR) {
		struct finding f;
		if (overflow_tiny_scale(in->p[0].scale, in->bits, -1, &f) > RISK_OK)
			find_append(fl, &f);
	}
}

static void findings_int16(const struct core_in *in, const struct core_state *st,
                           struct find_list *fl)
{
	const struct graph_facts *g = in->g;
	struct finding f;

	if (st->wq_lo > st->wq_hi || !in->p || in->bits > 8 || (g && g->role == ROLE_BIAS))
		return;
	if (g && g->has_input) {
		overflow_int16_pair(st->wq_lo, st->wq_hi, g->x_qmin, g->x_qmax, &f);
		find_append(fl, &f);
		return;
	}
	if (!in->assumed_int8_input)
		return;
	if (overflow_int16_pair(st->wq_lo, st->wq_hi, -128, 127, &f) > RISK_OK) {
		f.level = RISK_WARN;
		size_t len = strlen(f.reason);
		snprintf(f.reason + len, sizeof f.reason - len, " if inputs use all of int8");
		find_append(fl, &f);
	}
}

/* Σ|q − z| per output channel along the graph's out_axis. */
/* Σ|q − z| per output channel along the graph's out_axis (ol). When the
 * scheme's channels are the output channels, the zero point is found
 * without an index division per element. */
static double *sum_abs_wq(const struct core_in *in, const struct layout *ol)
{
	const struct layout *l = in->l;
	double *s = calloc(ol->dim ? ol->dim : 1, sizeof *s);

	if (!s)
		return NULL;
	if (l->gran != GRAN_GROUP && l->axis == ol->axis) {
		for (uint64_t o = 0; o < l->outer; o++)
			for (uint64_t c = 0; c < l->dim; c++) {
				uint64_t i = (o * l->dim + c) * l->inner;
				int32_t z = in->p[l->gran == GRAN_CHANNEL ? c : 0].zero_point;
				for (uint64_t r = 0; r < l->inner; r++, i++)
					if (isfinite(in->x[i]))
						s[c] += fabs((double)in->codes[i] - z);
			}
		return s;
	}
	for (uint64_t i = 0; i < l->n; i++) {
		if (!isfinite(in->x[i]))
			continue;
		uint64_t oc = (i / ol->inner) % ol->dim;
		int32_t z = in->p[layout_group(l, i)].zero_point;
		s[oc] += fabs((double)in->codes[i] - z);
	}
	return s;
}

static const struct qparam *out_channel_param(const struct core_in *in, int out_axis, uint64_t oc)
{
	if (in->l->gran == GRAN_TENSOR)
		return &in->p[0];
	if (in->l->gran == GRAN_CHANNEL && in->l->axis == out_axis)
		return &in->p[oc];
	return NULL;
}

static int findings_graph(const struct core_in *in, const struct core_state *st,
                          const int64_t *shape, int ndim, struct tensor_result *out,
                          struct find_list *fl)
{
	const struct graph_facts *g = in->g;
	struct layout ol;

	if (!g || g->role != ROLE_WEIGHT || !g->has_input || g->out_axis < 0 || !in->p ||
	    (!in->codes && !st->wq_sum) || !shape)
		return 0;
	if (!layout_init(&ol, shape, ndim, GRAN_CHANNEL, g->out_axis, 0, NULL))
		return 0;
	bool same = in->l->gran != GRAN_GROUP && in->l->axis == ol.axis;
	struct channel_result *ch = same ? out->ch : NULL;
	double xmax = fmax(fabs((double)g->x_qmin), fabs((double)g->x_qmax));
	double *s = in->codes ? sum_abs_wq(in, &ol) : NULL;
	if (in->codes && !s)
		return QS_ERR_NOMEM;
	const double *sum = s ? s : st->wq_sum;
	for (uint64_t oc = 0; oc < ol.dim; oc++) {
		struct finding f;
		enum risk_level l = overflow_acc_int32(sum[oc], xmax, (int64_t)oc, NULL);
		if (find_channel(fl, FIND_ACC_INT32, l, (int64_t)oc, ch, out->nchannels)) {
			overflow_acc_int32(sum[oc], xmax, (int64_t)oc, &f);
			find_append(fl, &f);
		}
	}
	free(s);
	if (!g->bias || g->nbias != ol.dim)
		return 0;
	int64_t bmin = g->bias_min, bmax = g->bias_max;
	if (bmin == 0 && bmax == 0) {
		bmin = INT32_MIN;
		bmax = INT32_MAX;
	}
	for (uint64_t oc = 0; oc < ol.dim; oc++) {
		const struct qparam *wp = out_channel_param(in, ol.axis, oc);
		struct finding f;
		if (!wp)
			break;
		enum risk_level l = overflow_bias(g->bias[oc], g->s_in, wp->scale, bmin, bmax,
		                                  (int64_t)oc, NULL);
		if (find_channel(fl, FIND_BIAS_OVERFLOW, l, (int64_t)oc, ch, out->nchannels)) {
			overflow_bias(g->bias[oc], g->s_in, wp->scale, bmin, bmax, (int64_t)oc, &f);
			find_append(fl, &f);
		}
	}
	return 0;
}

int az_findings(const struct core_in *in, const struct core_state *st, const int64_t *shape,
                int ndim, struct tensor_result *out)
{
	struct find_list fl = {0};

	findings_values(out, &fl);
	findings_saturation(st, out, &fl);
	findings_channels(in, out, &fl);
	findings_int16(in, st, &fl);
	int rc = findings_graph(in, st, shape, ndim, out, &fl);
	find_fold(&fl);
	if (rc || fl.nomem) {
		free(fl.v);
		return rc ? rc : QS_ERR_NOMEM;
	}
	out->find = fl.v;
	out->nfind = fl.n;
	out->risk = RISK_OK;
	for (uint64_t k = 0; k < fl.n; k++)
		if (fl.v[k].level > out->risk)
			out->risk = fl.v[k].level;
	return 0;
}

/* Per-group results from the per-group accumulators. */
static int core_groups(const struct core_in *in, const struct core_state *st,
                       struct tensor_result *out)
{
	uint64_t ng = in->l->ngroups;

	out->grp = calloc(ng ? ng : 1, sizeof *out->grp);
	if (!out->grp)
		return QS_ERR_NOMEM;
	out->ngroups = ng;
	for (uint64_t g = 0; g < ng; g++) {
		struct group_result *gr = &out->grp[g];
		struct err_metrics m;
		metrics_finish(&st->gacc[g], NULL, 0, NAN, &m);
		gr->n = m.n;
		gr->scale = in->p ? fabsf(in->p[g].scale) : NAN;
		gr->zero_point = in->p ? in->p[g].zero_point : 0;
		gr->clip_lo = in->p ? in->p[g].clip_lo : -INFINITY;
		gr->clip_hi = in->p ? in->p[g].clip_hi : INFINITY;
		gr->mse = m.mse;
		gr->max_abs_err = m.max_abs_err;
		gr->sqnr_db = m.sqnr_db;
		gr->clipped_pct = m.clipped_pct;
	}
	return 0;
}

static int core_alloc(const struct core_in *in, struct core_state *st, struct tensor_result *out)
{
	uint64_t nch = out->nchannels ? out->nchannels : 1;

	out->ch = calloc(nch, sizeof *out->ch);
	st->acc = calloc(nch, sizeof *st->acc);
	st->sat = calloc(nch, sizeof *st->sat);
	st->ch0 = out->ch;
	if (in->per_group)
		st->gacc = calloc(in->l->ngroups ? in->l->ngroups : 1, sizeof *st->gacc);
	if (!out->ch || !st->acc || !st->sat || (in->per_group && !st->gacc))
		return QS_ERR_NOMEM;
	for (uint64_t c = 0; c < out->nchannels; c++) {
		out->ch[c].min = INFINITY;
		out->ch[c].max = -INFINITY;
	}
	return core_hist_alloc(in, st);
}

static int core_measure(const struct core_in *in, const int64_t *shape, int ndim,
                        struct tensor_result *out)
{
	const struct layout *l = in->l;
	struct core_state st = {0};
	struct err_acc all;
	double mean_scale;
	int rc;

	out->bits = in->bits;
	out->nchannels = layout_nchannels(l);
	rc = core_alloc(in, &st, out);
	if (!rc && !in->xs_done)
		metrics_dist_stats(in->x, l->n, in->scratch, &out->xs);
	if (!rc) {
		core_pass(in, &st, out->ch);
		err_acc_init(&all);
		for (uint64_t c = 0; c < out->nchannels; c++)
			err_acc_merge(&all, &st.acc[c]);
		az_tensor_params(in, out, &mean_scale);
		metrics_finish(&all, st.hist, st.hspan, mean_scale, &out->m);
		if (!in->codes || !st.hist)
			rc = tensor_levels_sort(in, &out->m);
	}
	if (!rc)
		rc = core_channels(in, &st, out);
	if (!rc && in->per_group)
		rc = core_groups(in, &st, out);
	if (!rc)
		metrics_dist_stats(in->xhat, l->n, in->scratch, &out->xhs);
	if (!rc)
		rc = az_findings(in, &st, shape, ndim, out);
	free(st.acc);
	free(st.sat);
	free(st.gacc);
	free(st.hist);
	return rc;
}

/* ---- simulate ---------------------------------------------------------- */

struct sim_bufs {
	float *xhat, *scratch;
	int32_t *codes;
	struct qparam *p;
	void *blocks;
	float *own_xhat;
	int32_t *own_codes;
};

static void sim_bufs_free(struct sim_bufs *b)
{
	free(b->own_xhat);
	free(b->own_codes);
	free(b->scratch);
	free(b->p);
	free(b->blocks);
}

static int sim_bufs_alloc(struct sim_bufs *b, uint64_t n, uint64_t ngroups, float *xhat_out,
                          int32_t *codes_out, bool want_codes, struct qs_error *err)
{
	size_t m = n ? (size_t)n : 1;

	if (n > SIZE_MAX / sizeof(float) / 2 || ngroups > SIZE_MAX / sizeof(struct qparam))
		return qs_error_set(err, QS_ERR_NOMEM, "tensor of %llu elements is too large",
		                    (unsigned long long)n);
	b->xhat = xhat_out ? xhat_out : (b->own_xhat = malloc(m * sizeof(float)));
	b->codes = codes_out ? codes_out
	                     : (want_codes ? (b->own_codes = malloc(m * sizeof(int32_t))) : NULL);
	b->scratch = malloc(m * sizeof(float));
	b->p = malloc((ngroups ? ngroups : 1) * sizeof *b->p);
	if (!b->xhat || (want_codes && !b->codes) || !b->scratch || !b->p)
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory for %llu elements",
		                    (unsigned long long)n);
	return 0;
}

static size_t compact_finite(float *v, size_t m)
{
	size_t k = 0;

	for (size_t i = 0; i < m; i++)
		if (isfinite(v[i]))
			v[k++] = v[i];
	return k;
}

/* Start of group g when every group is stored contiguously in group order
 * (group_major below). */
static uint64_t group_offset(const struct layout *l, uint64_t g)
{
	if (l->gran == GRAN_TENSOR)
		return 0;
	if (l->gran == GRAN_CHANNEL)
		return g * l->outer * l->inner;
	uint64_t r = g % l->inner, b = (g / l->inner) % l->nblk, o = g / (l->inner * l->nblk);
	return (o * l->dim + b * l->block) * l->inner + r * layout_group_size(l, g);
}

/* Copy x into dst with each group contiguous, in one pass: tiles of 16 rows
 * (channels) or 16 columns (blocks along a non-last axis) keep both the
 * reads and the writes on few cache lines. */
static void group_major(const struct layout *l, const float *x, float *dst)
{
	enum {
		T = 16
	};

	if (l->gran == GRAN_CHANNEL) {
		uint64_t oi = l->outer * l->inner;
		for (uint64_t o0 = 0; o0 < l->outer; o0 += T) {
			uint64_t o1 = l->outer - o0 < T ? l->outer : o0 + T;
			for (uint64_t c = 0; c < l->dim; c++)
				for (uint64_t o = o0; o < o1; o++)
					memcpy(dst + c * oi + o * l->inner,
					       x + (o * l->dim + c) * l->inner,
					       l->inner * sizeof *x);
		}
		return;
	}
	for (uint64_t o = 0; o < l->outer; o++)
		for (uint64_t b = 0; b < l->nblk; b++) {
			uint64_t base = (o * l->dim + b * l->block) * l->inner;
			uint64_t cnt =
			        l->dim - b * l->block < l->block ? l->dim - b * l->block : l->block;
			for (uint64_t r0 = 0; r0 < l->inner; r0 += T) {
				uint64_t r1 = l->inner - r0 < T ? l->inner : r0 + T;
				for (uint64_t k = 0; k < cnt; k++)
					for (uint64_t r = r0; r < r1; r++)
						dst[base + r * cnt + k] =
						        x[base + k * l->inner + r];
			}
		}
}

/* Choose every group's parameters. Groups that are not contiguous in x
 * (or hold NaN/inf to drop) are arranged group by group in the x̂ buffer,
 * which is not in use yet. */
static int sim_choose(const float *x, const struct layout *l, const struct qspec *spec,
                      const struct scheme *s, bool all_finite, struct sim_bufs *b,
                      struct qs_error *err)
{
	bool in_place =
	        all_finite && (l->gran == GRAN_TENSOR || (l->gran == GRAN_GROUP && l->inner == 1) ||
	                       (l->gran == GRAN_CHANNEL && l->outer == 1));
	float *buf = in_place ? NULL : b->xhat;

	if (buf && l->gran == GRAN_TENSOR)
		memcpy(buf, x, l->n * sizeof *x);
	else if (buf)
		group_major(l, x, buf);
	for (uint64_t g = 0; g < l->ngroups; g++) {
		const float *v = (buf ? buf : x) + group_offset(l, g);
		size_t m = (size_t)layout_group_size(l, g);
		if (buf && !all_finite)
			m = compact_finite(buf + group_offset(l, g), m);
		int rc = range_choose(&spec->method, s, v, m, b->scratch, &b->p[g], err);
		if (rc)
			return rc;
	}
	return 0;
}

int az_resolve_scheme(const struct qspec *spec, const struct graph_facts *g, struct scheme *s,
                      struct qs_error *err)
{
	const char *why = NULL;

	*s = spec->scheme;
	if (spec->qt && spec->qt->family == QTYPE_LINEAR) {
		s->bits = spec->qt->bits;
		s->is_signed = spec->qt->is_signed;
	}
	if (g && g->out_axis >= 0 && s->gran != GRAN_GROUP)
		s->axis = g->out_axis;
	if (!scheme_valid(s, &why))
		return qs_error_set(err, QS_ERR_USAGE, "scheme: %s", why);
	return 0;
}

int analyze_scheme_of(const struct qspec *spec, const struct graph_facts *g, struct scheme *s,
                      struct qs_error *err)
{
	return az_resolve_scheme(spec, g, s, err);
}

/* No NaN or inf among x[0..n) (the exponent bits of each, OR-ed, so that
 * the loop vectorises). */
static bool all_finite(const float *x, uint64_t n)
{
	uint32_t bad = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, x + i, sizeof u);
		bad |= (u & 0x7F800000u) == 0x7F800000u;
	}
	return !bad;
}

/* x's statistics into out (measure), or only whether x is all finite. */
static bool sim_x_stats(const float *x, uint64_t n, float *scratch, bool measure,
                        struct tensor_result *out)
{
	if (!measure)
		return all_finite(x, n);
	metrics_dist_stats(x, (size_t)n, scratch, &out->xs);
	return out->xs.n_nan + out->xs.n_inf == 0;
}

static int sim_linear(const float *x, const int64_t *shape, int ndim, const struct qspec *spec,
                      const struct graph_facts *g, struct tensor_result *out, struct sim_bufs *b,
                      float *xhat_out, int32_t *codes_out, bool measure, struct qs_error *err)
{
	struct scheme s;
	struct layout l;
	const char *why = NULL;
	int32_t qmin, qmax;
	int rc = az_resolve_scheme(spec, g, &s, err);

	if (rc)
		return rc;
	if (!layout_init(&l, shape, ndim, s.gran, s.axis, s.group_size, &why))
		return qs_error_set(err, QS_ERR_USAGE, "layout: %s", why);
	if ((rc = sim_bufs_alloc(b, l.n, l.ngroups, xhat_out, codes_out, true, err)) != 0)
		return rc;
	rc = sim_choose(x, &l, spec, &s, sim_x_stats(x, l.n, b->scratch, measure, out), b, err);
	if (rc)
		return rc;
	quant_tensor(&s, &l, b->p, x, b->codes, b->xhat);
	if (!measure)
		return 0;
	scheme_code_range(&s, &qmin, &qmax);
	struct core_in in = {.x = x,
	                     .xhat = b->xhat,
	                     .codes = b->codes,
	                     .l = &l,
	                     .p = b->p,
	                     .bits = s.bits,
	                     .qmin = qmin,
	                     .qmax = qmax,
	                     .g = g,
	                     .scratch = b->scratch,
	                     .xs_done = true,
	                     .assumed_int8_input = true,
	                     .codes_in_range = true,
	                     .per_group = spec->per_group};
	rc = core_measure(&in, shape, ndim, out);
	return rc ? qs_error_set(err, rc, "out of memory measuring %llu elements",
	                         (unsigned long long)l.n)
	          : 0;
}

/* Block formats: clip range of a block from its scale d and the offset
 * x̂ − d·q (0 for Q4_0/Q5_0/Q8_0, the min m for Q4_1/Q5_1). K-quants scale
 * sub-blocks separately, so their blocks get no clip range. */
void analyze_block_params(const struct qtype *qt, const struct layout *l, const float *xhat,
                          const int32_t *codes, const float *d, struct qparam *p)
{
	int32_t cmin = qt->is_signed ? -(1 << (qt->bits - 1)) : 0;
	int32_t cmax = qt->is_signed ? (1 << (qt->bits - 1)) - 1 : (1 << qt->bits) - 1;
	bool simple = qt->block_elems == 32 && codes;

	for (uint64_t k = 0; k < l->ngroups; k++) {
		float dk = d ? d[k] : NAN;
		p[k] = (struct qparam){.scale = fabsf(dk),
		                       .zero_point = 0,
		                       .clip_lo = -INFINITY,
		                       .clip_hi = INFINITY};
		if (!simple || !isfinite(dk))
			continue;
		uint64_t i = k * qt->block_elems;
		float off = xhat[i] - dk * (float)codes[i];
		float a = off + dk * (float)cmin, c = off + dk * (float)cmax;
		p[k].clip_lo = fminf(a, c);
		p[k].clip_hi = fmaxf(a, c);
	}
}

static int sim_block_quantize(const float *x, const struct qtype *qt, const struct qspec *spec,
                              uint64_t n, bool all_finite, struct sim_bufs *b)
{
	const float *src = x;

	if (!all_finite) {
		for (uint64_t i = 0; i < n; i++)
			b->xhat[i] = isfinite(x[i]) ? x[i] : 0.0f;
		src = b->xhat;
	}
	if (spec->method.kind != METHOD_MINMAX && qt->quantize_method)
		qt->quantize_method(src, b->blocks, (int64_t)n, &spec->method);
	else
		qt->quantize_ref(src, b->blocks, (int64_t)n);
	qt->dequantize(b->blocks, b->xhat, (int64_t)n);
	if (qt->codes)
		qt->codes(b->blocks, b->codes, (int64_t)n);
	return 0;
}

static int sim_block(const float *x, const int64_t *shape, int ndim, const struct qspec *spec,
                     const struct graph_facts *g, struct tensor_result *out, struct sim_bufs *b,
                     float *xhat_out, int32_t *codes_out, bool measure, struct qs_error *err)
{
	const struct qtype *qt = spec->qt;
	struct layout l;
	const char *why = NULL;
	int64_t last = ndim > 0 ? shape[ndim - 1] : 1;
	int rc;

	if (!qt->quantize_ref || !qt->dequantize)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "%s: qscope cannot quantize to it",
		                    qt->name);
	if (qt->block_elems == 0 || last % qt->block_elems != 0)
		return qs_error_set(err, QS_ERR_USAGE,
		                    "%s needs the last dimension (%lld) to be a multiple of %u",
		                    qt->name, (long long)last, qt->block_elems);
	if (!layout_init(&l, shape, ndim, GRAN_GROUP, -1, qt->block_elems, &why))
		return qs_error_set(err, QS_ERR_USAGE, "layout: %s", why);
	rc = sim_bufs_alloc(b, l.n, l.ngroups, xhat_out, codes_out, qt->codes != NULL, err);
	if (rc)
		return rc;
	float *d = malloc((l.ngroups ? l.ngroups : 1) * sizeof *d);
	b->blocks = malloc(l.ngroups ? l.ngroups * qt->block_bytes : 1);
	if (!d || !b->blocks) {
		free(d);
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory for %s blocks", qt->name);
	}
	sim_block_quantize(x, qt, spec, l.n, sim_x_stats(x, l.n, b->scratch, measure, out), b);
	if (!measure) {
		free(d);
		return 0;
	}
	if (qt->block_scales)
		qt->block_scales(b->blocks, d, (int64_t)l.ngroups);
	analyze_block_params(qt, &l, b->xhat, b->codes, qt->block_scales ? d : NULL, b->p);
	free(d);
	int32_t cmin = qt->is_signed ? -(1 << (qt->bits - 1)) : 0;
	int32_t cmax = qt->is_signed ? (1 << (qt->bits - 1)) - 1 : (1 << qt->bits) - 1;
	struct core_in in = {.x = x,
	                     .xhat = b->xhat,
	                     .codes = b->codes,
	                     .l = &l,
	                     .p = b->p,
	                     .bits = qt->bits,
	                     .qmin = cmin,
	                     .qmax = cmax,
	                     .g = g,
	                     .scratch = b->scratch,
	                     .xs_done = true,
	                     .assumed_int8_input = false,
	                     .per_group = spec->per_group};
	rc = core_measure(&in, shape, ndim, out);
	if (!rc && !qt->is_signed)
		out->zero_point = INT32_MIN;
	return rc ? qs_error_set(err, rc, "out of memory measuring %llu elements",
	                         (unsigned long long)l.n)
	          : 0;
}

/* Float casts: x̂ = the value in the storage type, saturated at its largest
 * finite value (counted as clipped); codes are the bit patterns. */
static float cast_max(enum dtype t)
{
	switch (t) {
	case DTYPE_F16:
		return 65504.0f;
	case DTYPE_BF16:
		return bf16_to_f32(0x7F7F);
	case DTYPE_F8E4M3FN:
		return 448.0f;
	case DTYPE_F8E5M2:
		return 57344.0f;
	default:
		return FLT_MAX;
	}
}

static void cast_one(enum dtype t, float v, float *xh, int32_t *code)
{
	float m = cast_max(t);

	if (!isfinite(v))
		v = 0.0f;
	v = v > m ? m : v < -m ? -m : v;
	switch (t) {
	case DTYPE_F16:
		*code = f32_to_f16(v);
		*xh = f16_to_f32((uint16_t)*code);
		break;
	case DTYPE_BF16:
		*code = f32_to_bf16(v);
		*xh = bf16_to_f32((uint16_t)*code);
		break;
	case DTYPE_F8E4M3FN:
		*code = f32_to_f8e4m3fn(v, true);
		*xh = f8e4m3fn_to_f32((uint8_t)*code);
		break;
	case DTYPE_F8E5M2:
		*code = f32_to_f8e5m2(v, true);
		*xh = f8e5m2_to_f32((uint8_t)*code);
		break;
	default:
		*code = 0;
		*xh = v;
	}
}

static int sim_float(const float *x, const int64_t *shape, int ndim, const struct qspec *spec,
                     const struct graph_facts *g, struct tensor_result *out, struct sim_bufs *b,
                     float *xhat_out, int32_t *codes_out, bool measure, struct qs_error *err)
{
	enum dtype t = spec->qt->storage;
	struct layout l;
	const char *why = NULL;
	int axis = g && g->out_axis >= 0 ? g->out_axis : spec->scheme.axis;
	bool bits_as_codes = dtype_info(t)->bits <= 16;
	int rc;

	if (!layout_init(&l, shape, ndim, GRAN_TENSOR, axis, 0, &why))
		return qs_error_set(err, QS_ERR_USAGE, "layout: %s", why);
	rc = sim_bufs_alloc(b, l.n, 1, xhat_out, codes_out, bits_as_codes, err);
	if (rc)
		return rc;
	for (uint64_t i = 0; i < l.n; i++) {
		int32_t code;
		cast_one(t, x[i], &b->xhat[i], &code);
		if (b->codes && bits_as_codes)
			b->codes[i] = code;
	}
	if (!measure)
		return 0;
	float m = cast_max(t);
	b->p[0] = (struct qparam){.scale = NAN, .zero_point = 0, .clip_lo = -m, .clip_hi = m};
	struct core_in in = {.x = x,
	                     .xhat = b->xhat,
	                     .codes = bits_as_codes ? b->codes : NULL,
	                     .l = &l,
	                     .p = b->p,
	                     .bits = spec->qt->bits,
	                     .qmin = 0,
	                     .qmax = bits_as_codes ? (1 << dtype_info(t)->bits) - 1 : 0,
	                     .g = g,
	                     .scratch = b->scratch,
	                     .codes_in_range = true,
	                     .per_group = spec->per_group};
	rc = core_measure(&in, shape, ndim, out);
	out->zero_point = 0;
	return rc ? qs_error_set(err, rc, "out of memory measuring %llu elements",
	                         (unsigned long long)l.n)
	          : 0;
}

int analyze_simulate(const float *x, const int64_t *shape, int ndim, const struct qspec *spec,
                     const struct graph_facts *g, struct tensor_result *out, float *xhat_out,
                     int32_t *codes_out, struct qs_error *err)
{
	if (!xhat_out && !codes_out) {
		struct float_src src = {.data = x};
		return analyze_simulate_src(&src, shape, ndim, spec, g, NULL, out, err);
	}
	return az_simulate_buffers(x, shape, ndim, spec, g, out, xhat_out, codes_out, err);
}

/* The whole-tensor simulation; measure false: x̂ and codes only. */
static int simulate_buffers(const float *x, const int64_t *shape, int ndim,
                            const struct qspec *spec, const struct graph_facts *g,
                            struct tensor_result *out, float *xhat_out, int32_t *codes_out,
                            bool measure, struct qs_error *err)
{
	struct sim_bufs b = {0};
	int rc;

	memset(out, 0, sizeof *out);
	if (ndim < 0 || ndim > QS_MAX_DIMS || (ndim > 0 && !shape))
		return qs_error_set(err, QS_ERR_USAGE, "bad shape (%d dimensions)", ndim);
	if (spec->qt && spec->qt->family == QTYPE_BLOCK)
		rc = sim_block(x, shape, ndim, spec, g, out, &b, xhat_out, codes_out, measure, err);
	else if (spec->qt && spec->qt->family == QTYPE_FLOAT)
		rc = sim_float(x, shape, ndim, spec, g, out, &b, xhat_out, codes_out, measure, err);
	else
		rc = sim_linear(x, shape, ndim, spec, g, out, &b, xhat_out, codes_out, measure,
		                err);
	sim_bufs_free(&b);
	if (rc || !measure)
		tensor_result_free(out);
	return rc;
}

int az_simulate_buffers(const float *x, const int64_t *shape, int ndim, const struct qspec *spec,
                        const struct graph_facts *g, struct tensor_result *out, float *xhat_out,
                        int32_t *codes_out, struct qs_error *err)
{
	return simulate_buffers(x, shape, ndim, spec, g, out, xhat_out, codes_out, true, err);
}

int analyze_quantize(const float *x, const int64_t *shape, int ndim, const struct qspec *spec,
                     const struct graph_facts *g, float *xhat_out, int32_t *codes_out,
                     struct qs_error *err)
{
	struct tensor_result tmp;

	return simulate_buffers(x, shape, ndim, spec, g, &tmp, xhat_out, codes_out, false, err);
}

/* ---- measure ----------------------------------------------------------- */

void az_measure_shape3(struct layout *l, int64_t shape3[3], const int64_t **shape, int *ndim,
                       const struct graph_facts **g, struct graph_facts *g3)
{
	shape3[0] = (int64_t)l->outer;
	shape3[1] = (int64_t)l->dim;
	shape3[2] = (int64_t)l->inner;
	*shape = shape3;
	*ndim = 3;
	if (*g) {
		*g3 = **g;
		g3->out_axis = (*g)->out_axis == l->axis ? 1 : -1;
		*g = g3;
	}
	l->axis = 1;
}

int analyze_measure(const float *x, const struct quantized *q, const struct graph_facts *g,
                    struct tensor_result *out, struct qs_error *err)
{
	uint64_t n = q->layout.n;
	struct layout l = q->layout;
	int64_t shape3[3];
	const int64_t *shape = q->shape;
	int ndim = q->ndim;
	struct graph_facts g3;
	int rc;

	memset(out, 0, sizeof *out);
	if (n > SIZE_MAX / sizeof(float))
		return qs_error_set(err, QS_ERR_NOMEM, "tensor of %llu elements is too large",
		                    (unsigned long long)n);
	if (!shape)
		az_measure_shape3(&l, shape3, &shape, &ndim, &g, &g3);
	float *scratch = malloc((n ? n : 1) * sizeof *scratch);
	if (!scratch)
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory for %llu elements",
		                    (unsigned long long)n);
	struct core_in in = {.x = x,
	                     .xhat = q->xhat,
	                     .codes = q->codes,
	                     .l = &l,
	                     .p = q->params,
	                     .bits = q->bits,
	                     .qmin = q->qmin,
	                     .qmax = q->qmax,
	                     .g = g,
	                     .scratch = scratch,
	                     .assumed_int8_input = true,
	                     .per_group = q->per_group};
	rc = core_measure(&in, shape, ndim, out);
	free(scratch);
	if (rc) {
		tensor_result_free(out);
		return qs_error_set(err, rc, "out of memory measuring %llu elements",
		                    (unsigned long long)n);
	}
	return 0;
}
