/* Tensor detail: statistics, histograms with the quantizer over them, the
 * per-channel strip and tables, the overflow findings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plots/chart.h"
#include "list.h"
#include "view.h"
#include "vutil.h"

enum pane {
	PANE_STATS,
	PANE_CHANNELS,
	PANE_FINDINGS,
	PANE_ERRORS,
	PANE_COUNT
};
static const char *const pane_names[PANE_COUNT] = {"statistics", "channels", "findings",
                                                   "error histogram"};

enum {
	CC_CH,
	CC_N,
	CC_MIN,
	CC_MAX,
	CC_SCALE,
	CC_ZP,
	CC_SQNR,
	CC_RMSE,
	CC_MAXERR,
	CC_CLIP,
	CC_RISK,
	CC_COUNT
};
static const struct list_col chan_cols[CC_COUNT] = {
        [CC_CH] = {.title = "ch", .width = 5, .right = true, .numeric = true},
        [CC_N] = {.title = "n", .width = 6, .right = true, .numeric = true, .prio = 4},
        [CC_MIN] = {.title = "min", .width = 9, .right = true, .numeric = true, .prio = 2},
        [CC_MAX] = {.title = "max", .width = 9, .right = true, .numeric = true, .prio = 2},
        [CC_SCALE] = {.title = "scale", .width = 9, .right = true, .numeric = true, .prio = 1},
        [CC_ZP] = {.title = "zp", .width = 4, .right = true, .numeric = true, .prio = 5},
        [CC_SQNR] = {.title = "SQNR", .width = 6, .right = true, .numeric = true},
        [CC_RMSE] = {.title = "RMSE", .width = 9, .right = true, .numeric = true, .prio = 3},
        [CC_MAXERR] = {.title = "maxerr", .width = 9, .right = true, .numeric = true, .prio = 1},
        [CC_CLIP] = {.title = "clip%", .width = 6, .right = true, .numeric = true, .prio = 2},
        [CC_RISK] = {.title = "risk", .width = 0, .numeric = true},
};

enum {
	FC_LEVEL,
	FC_KIND,
	FC_CH,
	FC_VALUE,
	FC_REASON,
	FC_COUNT
};
static const struct list_col find_cols[FC_COUNT] = {
        [FC_LEVEL] = {.title = "level", .width = 6, .numeric = true},
        [FC_KIND] = {.title = "finding", .width = 15, .prio = 1},
        [FC_CH] = {.title = "ch", .width = 4, .right = true, .numeric = true, .prio = 2},
        [FC_VALUE] = {.title = "value", .width = 10, .right = true, .numeric = true, .prio = 1},
        [FC_REASON] = {.title = "reason", .width = 0},
};

struct snap {
	enum wb_state state;
	enum wb_which which;
	const struct tensor_result *res;
	double mse, scale_max, clip_min, clip_max;
	uint64_t nch;
	bool keep_float;
};

struct detail_state {
	struct wb *wb;
	size_t row;
	struct snap snap;
	bool loaded;
	bool waiting;  /* for histograms from the app's worker */
	uint64_t vseq; /* our request */
	char err[512];
	gsl_histogram *hx, *he;
	size_t hx_w, he_w; /* the bins they were made with (0: none yet) */
	bool log_scale, strip_scale;
	enum pane pane;
	double *strip_v;
	bool *flag;
	struct list ch_list, find_list;
	int tab_y, tab_x0[PANE_COUNT], tab_x1[PANE_COUNT]; /* where the tabs were drawn */
	const struct tensor_result *res;                   /* current, refreshed each sync */
	struct wb_row wr;
};

static size_t chan_count(void *ctx)
{
	struct detail_state *d = ctx;
	return d->res ? (size_t)d->res->nchannels : 0;
}

static void fmt_num(struct list_cells *c, int col, double v)
{
	chart_fmt(c->text[col], LIST_CELL, v, 3);
	c->key[col] = v;
}

static void chan_get_row(void *ctx, size_t i, struct list_cells *c)
{
	struct detail_state *d = ctx;
	const struct channel_result *ch = &d->res->ch[i];
	snprintf(c->text[CC_CH], LIST_CELL, "%llu", (unsigned long long)ch->channel);
	c->key[CC_CH] = (double)ch->channel;
	snprintf(c->text[CC_N], LIST_CELL, "%llu", (unsigned long long)ch->n);
	c->key[CC_N] = (double)ch->n;
	fmt_num(c, CC_MIN, ch->min);
	fmt_num(c, CC_MAX, ch->max);
	fmt_num(c, CC_SCALE, ch->scale);
	snprintf(c->text[CC_ZP], LIST_CELL, "%d", (int)ch->zero_point);
	c->key[CC_ZP] = ch->zero_point;
	view_fmt_db(c->text[CC_SQNR], LIST_CELL, ch->m.sqnr_db);
	c->key[CC_SQNR] = ch->m.sqnr_db;
	c->style[CC_SQNR] = view_sqnr_style(ch->m.sqnr_db);
	fmt_num(c, CC_RMSE, ch->m.rmse);
	fmt_num(c, CC_MAXERR, ch->m.max_abs_err);
	snprintf(c->text[CC_CLIP], LIST_CELL, "%.2f", ch->m.clipped_pct);
	c->key[CC_CLIP] = ch->m.clipped_pct;
	snprintf(c->text[CC_RISK], LIST_CELL, "%s", risk_level_name(ch->risk));
	c->key[CC_RISK] = -(double)ch->risk;
	c->style[CC_RISK] = view_risk_style(ch->risk);
	c->marked = d->flag && d->flag[i];
}

static size_t find_count(void *ctx)
{
	struct detail_state *d = ctx;
	return d->res ? (size_t)d->res->nfind : 0;
}

static void find_get_row(void *ctx, size_t i, struct list_cells *c)
{
	struct detail_state *d = ctx;
	const struct finding *f = &d->res->find[i];
	snprintf(c->text[FC_LEVEL], LIST_CELL, "%s", risk_level_name(f->level));
	c->key[FC_LEVEL] = -(double)f->level;
	c->style[FC_LEVEL] = view_risk_style(f->level);
	snprintf(c->text[FC_KIND], LIST_CELL, "%s", finding_kind_name(f->kind));
	if (f->channel >= 0)
		snprintf(c->text[FC_CH], LIST_CELL, "%lld", (long long)f->channel);
	else
		snprintf(c->text[FC_CH], LIST_CELL, "all");
	c->key[FC_CH] = (double)f->channel;
	fmt_num(c, FC_VALUE, f->value);
	snprintf(c->text[FC_REASON], LIST_CELL, "%s", f->reason);
}

static void free_data(struct detail_state *d)
{
	gsl_histogram_free(d->hx);
	gsl_histogram_free(d->he);
	d->hx = d->he = NULL;
	d->hx_w = d->he_w = 0;
	free(d->strip_v);
	free(d->flag);
	d->strip_v = NULL;
	d->flag = NULL;
}

static struct snap take_snap(const struct wb_row *r, enum wb_which which)
{
	struct snap s = {
	        .state = r->state, .which = which, .res = r->res, .keep_float = r->keep_float};
	if (r->res) {
		s.mse = r->res->m.mse;
		s.scale_max = r->res->scale_max;
		s.clip_min = r->res->clip_min;
		s.clip_max = r->res->clip_max;
		s.nch = r->res->nchannels;
	}
	return s;
}

static bool same(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/* Field by field: memcmp would see padding bytes. */
static bool snap_equal(const struct snap *a, const struct snap *b)
{
	return a->state == b->state && a->which == b->which && a->res == b->res &&
	       same(a->mse, b->mse) && same(a->scale_max, b->scale_max) &&
	       same(a->clip_min, b->clip_min) && same(a->clip_max, b->clip_max) &&
	       a->nch == b->nch && a->keep_float == b->keep_float;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Flag channels at risk level and the worst twentieth (at least one) of the
 * strip; warn-level findings (a little saturation) are too common to flag. */
static void build_strip(struct detail_state *d)
{
	size_t n = (size_t)d->res->nchannels;
	d->strip_v = calloc(n ? n : 1, sizeof *d->strip_v);
	d->flag = calloc(n ? n : 1, sizeof *d->flag);
	double *sorted = calloc(n ? n : 1, sizeof *sorted);
	if (!d->strip_v || !d->flag || !sorted) {
		free(sorted);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct channel_result *c = &d->res->ch[i];
		d->strip_v[i] = d->strip_scale ? c->scale : c->m.sqnr_db;
		sorted[i] = isnan(d->strip_v[i]) ? INFINITY : d->strip_v[i];
	}
	qsort(sorted, n, sizeof *sorted, cmp_double);
	size_t k = n / 20 ? n / 20 : 1;
	double cut = n ? sorted[k - 1] : 0;
	for (size_t i = 0; i < n; i++)
		d->flag[i] = d->res->ch[i].risk == RISK_RISK ||
		             (n > 1 && isfinite(cut) && d->strip_v[i] <= cut);
	free(sorted);
}

static void request_hists(struct detail_state *d, const struct wb_hist_req *rq)
{
	struct wb *w = d->wb;
	d->vseq = ++w->vreq_seq;
	w->vreq_row = d->row;
	w->vreq_which = d->snap.which;
	w->vreq_spec = d->wr.spec;
	w->vreq_keep_float = d->wr.keep_float;
	w->vreq_hist = *rq;
	d->waiting = true;
}

static void set_hists(struct detail_state *d, gsl_histogram *hx, gsl_histogram *he,
                      const struct wb_hist_req *rq)
{
	gsl_histogram_free(d->hx);
	gsl_histogram_free(d->he);
	d->hx = hx;
	d->he = he;
	d->hx_w = rq->nx;
	d->he_w = rq->ne;
}

/* Take the app's answer when it is ours. */
static void collect_values(struct detail_state *d)
{
	struct wb_values *v = &d->wb->vals;
	if (!d->waiting || v->seq != d->vseq)
		return;
	d->waiting = false;
	if (v->status != 0) {
		snprintf(d->err, sizeof d->err, "%s", v->msg);
		return;
	}
	set_hists(d, v->hx, v->he, &v->rq);
	v->hx = v->he = NULL;
}

static bool has_clip(const struct tensor_result *r);

/* Histograms for the layout's widths: x over its range (and the clip
 * range), the error over ±max |err|; asked of the app's worker, or of the
 * source at once. Kept until the widths or the row change. */
static void ensure_hists(struct detail_state *d, int w_float, int w_err)
{
	size_t nx = w_float > 0 ? (size_t)w_float : 0, ne = w_err > 0 ? (size_t)w_err : 0;
	if (!d->res || d->err[0] || d->waiting || (d->hx_w == nx && d->he_w == ne))
		return;
	const struct tensor_result *r = d->res;
	double m = r->m.max_abs_err > 0 ? r->m.max_abs_err : 1e-12;
	struct wb_hist_req rq = {
	        .nx = nx, .ne = ne, .xlo = r->xs.min, .xhi = r->xs.max, .elo = -m, .ehi = m};
	if (has_clip(r)) {
		rq.xlo = fmin(rq.xlo, r->clip_min);
		rq.xhi = fmax(rq.xhi, r->clip_max);
	}
	if (d->wb->async_values) {
		request_hists(d, &rq);
		return;
	}
	gsl_histogram *hx = NULL, *he = NULL;
	struct qs_error err = {0};
	if (d->wb->src.hists(d->wb->src.ctx, d->row, d->snap.which, &rq, &hx, &he, &err) != 0)
		snprintf(d->err, sizeof d->err, "%s", err.msg);
	else
		set_hists(d, hx, he, &rq);
}

static void load_data(struct detail_state *d)
{
	free_data(d);
	d->err[0] = 0;
	d->waiting = false;
	if (!d->res || d->wr.state != WB_DONE)
		return;
	build_strip(d);
	list_rebuild(&d->ch_list);
	list_rebuild(&d->find_list);
}

static void detail_sync(struct detail_state *d)
{
	enum wb_which which = wb_shown(d->wb);
	d->wb->src.get_row(d->wb->src.ctx, d->row, which, &d->wr);
	d->res = d->wr.state == WB_DONE ? d->wr.res : NULL;
	struct snap s = take_snap(&d->wr, which);
	if (d->loaded && snap_equal(&s, &d->snap)) {
		collect_values(d);
		return;
	}
	d->snap = s;
	d->loaded = true;
	load_data(d);
}

static int detail_open(struct view *v, const struct view_args *a)
{
	struct detail_state *d = calloc(1, sizeof *d);
	if (!d)
		return -1;
	d->wb = v->wb;
	d->row = a->row;
	d->pane = PANE_STATS;
	d->tab_y = -1;
	list_init(&d->ch_list, chan_cols, CC_COUNT, chan_count, chan_get_row, d);
	list_init(&d->find_list, find_cols, FC_COUNT, find_count, find_get_row, d);
	d->find_list.sort_col = FC_LEVEL; /* worst first: the key is −level */
	v->st = d;
	detail_sync(d);
	return 0;
}

static void detail_close(struct view *v)
{
	struct detail_state *d = v->st;
	free_data(d);
	list_free(&d->ch_list);
	list_free(&d->find_list);
	free(d);
}

/* Geometry of the detail screen, computed from the body rectangle. */
struct detail_geom {
	bool wide;
	int hist_y, hist_h, hist_w, err_x;
	int strip_y;
	int pane_x, pane_y, pane_w, pane_h;
	int stats_w;
};

static struct detail_geom geom_of(const struct view *v)
{
	struct detail_geom g = {.wide = v->w >= 110 && v->h >= 31};
	int rest = v->h - 2;
	g.hist_y = v->y + 2;
	g.hist_h = g.wide ? rest * 2 / 5 : rest * 7 / 19;
	g.hist_h = g.hist_h < 5 ? 5 : g.hist_h;
	g.hist_w = g.wide ? (v->w - 3) / 2 : v->w - 2;
	g.err_x = v->x + 2 + g.hist_w + 1;
	g.strip_y = g.hist_y + g.hist_h;
	g.pane_y = g.strip_y + 2;
	g.pane_h = v->y + v->h - g.pane_y;
	g.stats_w = g.wide ? 46 : 0;
	g.pane_x = v->x + g.stats_w;
	g.pane_w = v->w - g.stats_w;
	return g;
}

static void detail_layout(struct view *v, int x, int y, int w, int h)
{
	(void)x, (void)y, (void)w, (void)h;
	struct detail_state *d = v->st;
	struct detail_geom g = geom_of(v);
	list_layout(&d->ch_list, g.pane_x + 1, g.pane_y + 1, g.pane_w - 1, g.pane_h - 1);
	list_layout(&d->find_list, g.pane_x + 1, g.pane_y + 1, g.pane_w - 1, g.pane_h - 1);
}

static void draw_info(struct detail_state *d, struct grid *g, const struct view *v)
{
	const struct wb_row *r = &d->wr;
	const char *arrow = g->utf8 ? "\u2192" : "->";
	grid_printf(g, v->x + 1, v->y, v->w - 1, ST_HEADER, "%s  %s %s %s %s  %s %s %s", r->name,
	            r->shape, r->dtype, arrow, r->keep_float ? r->dtype : r->qtype, r->scheme,
	            r->gran, r->keep_float ? "keep-float" : r->method);
	if (d->res) {
		char a[24];
		int cx = v->x + 1;
		cx += grid_text(g, cx, v->y + 1, v->w, ST_NORMAL, "SQNR ");
		cx += grid_printf(g, cx, v->y + 1, v->w, view_sqnr_style(d->res->m.sqnr_db),
		                  "%s dB", view_fmt_db(a, sizeof a, d->res->m.sqnr_db));
		cx += grid_text(g, cx, v->y + 1, v->w, ST_NORMAL, "  overflow/numeric risk: ");
		cx += grid_text(g, cx, v->y + 1, v->w, view_risk_style(d->res->risk),
		                risk_level_name(d->res->risk));
		grid_printf(g, cx, v->y + 1, v->w - cx, ST_DIM, "  (%s; v switches, m retunes)",
		            d->snap.which == WB_SHIPPED ? "as shipped" : "what-if");
	}
}

/* Block formats (Q4_0 ...) have no single clip range: their result says ±inf. */
static bool has_clip(const struct tensor_result *r)
{
	return isfinite(r->clip_min) && isfinite(r->clip_max) && r->clip_min <= r->clip_max;
}

static void draw_float_hist(struct detail_state *d, struct grid *g, int x, int y, int w, int h)
{
	const struct tensor_result *r = d->res;
	struct hist_overlay ov = {
	        .has_clip = has_clip(r), .clip_lo = r->clip_min, .clip_hi = r->clip_max};
	double step = r->scale_max;
	ov.has_grid = step > 0 && isfinite(step) && !d->snap.keep_float;
	ov.grid_step = step;
	double per_col = chart_histogram(g, x, y + 1, w, h - 1, d->hx, &ov, d->log_scale);
	char s[32], a[32], b[32], grid_txt[64] = "no quantization grid", clip_txt[80] = "";
	if (ov.has_grid)
		snprintf(grid_txt, sizeof grid_txt, "step %s%s, %.2g/col",
		         chart_fmt(s, sizeof s, step, 3),
		         r->scale_min < r->scale_max ? " (max)" : "", per_col);
	if (ov.has_clip)
		snprintf(clip_txt, sizeof clip_txt, "; clip %s..%s",
		         chart_fmt(a, sizeof a, r->clip_min, 3),
		         chart_fmt(b, sizeof b, r->clip_max, 3));
	grid_printf(g, x, y, w, ST_HEADER, "x%s: %s%s", d->log_scale ? " (log)" : "", grid_txt,
	            clip_txt);
}

static void draw_err_hist(struct detail_state *d, struct grid *g, int x, int y, int w, int h)
{
	const struct tensor_result *r = d->res;
	double half = r->scale_max / 2;
	bool lines = half > 0 && isfinite(half);
	struct hist_overlay ov = {
	        .has_clip = lines && half < r->m.max_abs_err, .clip_lo = -half, .clip_hi = half};
	chart_histogram(g, x, y + 1, w, h - 1, d->he, &ov, d->log_scale);
	char s[32];
	if (lines)
		grid_printf(g, x, y, w, ST_HEADER, "error x-x^%s; lines at +-step/2 = %s",
		            d->log_scale ? " (log)" : "", chart_fmt(s, sizeof s, half, 3));
	else
		grid_printf(g, x, y, w, ST_HEADER, "error x-x^%s", d->log_scale ? " (log)" : "");
}

static void draw_strip(struct detail_state *d, struct grid *g, int x, int y, int w)
{
	size_t n = (size_t)d->res->nchannels, worst = 0, nflag = 0;
	if (n == 0 || !d->strip_v) {
		grid_text(g, x, y, w, ST_DIM, "no per-channel results (per-tensor quantization)");
		return;
	}
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		double v = d->strip_v[i];
		nflag += d->flag[i];
		if (isfinite(v)) {
			lo = fmin(lo, v);
			hi = fmax(hi, v);
		}
		if (!(v >= d->strip_v[worst]))
			worst = i;
	}
	if (!isfinite(lo))
		lo = hi = 0;
	char a[32], b[32], c[32];
	grid_printf(g, x, y, w, ST_HEADER,
	            "per-channel %s: %zu channels, %s..%s, worst ch %zu = %s, flagged %zu",
	            d->strip_scale ? "scale" : "SQNR dB", n, chart_fmt(a, sizeof a, lo, 3),
	            chart_fmt(b, sizeof b, hi, 3), worst,
	            chart_fmt(c, sizeof c, d->strip_v[worst], 3), nflag);
	chart_strip(g, x, y + 1, w, 1, d->strip_v, n, d->flag, lo - (hi - lo) * 0.05, hi, true);
}

struct stat_line {
	const char *name;
	size_t off;
};

#define DS(f) offsetof(struct dist_stats, f)
static const struct stat_line dist_lines[] = {
        {"min", DS(min)},       {"max", DS(max)},   {"mean", DS(mean)},
        {"std", DS(std)},       {"skew", DS(skew)}, {"kurtosis", DS(kurtosis)},
        {"absmax", DS(absmax)}, {"p01", DS(p01)},   {"p99", DS(p99)},
};

static void draw_dist(const struct tensor_result *r, struct grid *g, int x, int y, int w, int h)
{
	grid_printf(g, x, y, w, ST_HEADER, "%-10s %12s %12s", "", "float", "dequant");
	for (size_t i = 0; i < sizeof dist_lines / sizeof dist_lines[0] && (int)i + 1 < h; i++) {
		double a = *(const double *)((const char *)&r->xs + dist_lines[i].off);
		double b = *(const double *)((const char *)&r->xhs + dist_lines[i].off);
		char sa[32], sb[32];
		grid_printf(g, x, y + 1 + (int)i, w, ST_NORMAL, "%-10s %12s %12s",
		            dist_lines[i].name, chart_fmt(sa, sizeof sa, a, 5),
		            chart_fmt(sb, sizeof sb, b, 5));
	}
}

static void draw_metrics(const struct tensor_result *r, struct grid *g, int x, int y, int w, int h)
{
	char l[16][96], a[32], b[32];
	int n = 0;
	const struct err_metrics *m = &r->m;
	snprintf(l[n++], 96, "SQNR         %s dB", view_fmt_db(a, sizeof a, m->sqnr_db));
	snprintf(l[n++], 96, "RMSE / MAE   %s / %s", chart_fmt(a, 32, m->rmse, 4),
	         chart_fmt(b, 32, m->mae, 4));
	snprintf(l[n++], 96, "max |err|    %s", chart_fmt(a, 32, m->max_abs_err, 4));
	snprintf(l[n++], 96, "cosine       %.6f", m->cosine);
	snprintf(l[n++], 96, "clipped      %.3f %%", m->clipped_pct);
	snprintf(l[n++], 96, "levels used  %llu of %.0f", (unsigned long long)m->levels_used,
	         r->bits > 0 && r->bits < 31 ? ldexp(1, r->bits) : 0.0);
	snprintf(l[n++], 96, "entropy      %.3f bits/elem", m->entropy_bits);
	snprintf(l[n++], 96, "RMSE/scale   %s (uniform 0.289)",
	         chart_fmt(a, 32, m->rmse_over_scale, 3));
	snprintf(l[n++], 96, "scale        %s..%s", chart_fmt(a, 32, r->scale_min, 3),
	         chart_fmt(b, 32, r->scale_max, 3));
	if (r->zero_point == INT32_MIN)
		snprintf(l[n++], 96, "zero point   per group");
	else
		snprintf(l[n++], 96, "zero point   %d", (int)r->zero_point);
	snprintf(l[n++], 96, "elements     %llu (nan %llu, inf %llu)", (unsigned long long)m->n,
	         (unsigned long long)m->n_nan, (unsigned long long)m->n_inf);
	for (int i = 0; i < n && i < h; i++)
		grid_text(g, x, y + i, w, i == 0 ? view_sqnr_style(m->sqnr_db) : ST_NORMAL, l[i]);
}

static void draw_stats(struct detail_state *d, struct grid *g, int x, int y, int w, int h)
{
	if (w >= 76) {
		draw_dist(d->res, g, x, y, 37, h);
		draw_metrics(d->res, g, x + 39, y, w - 39, h);
	} else {
		draw_dist(d->res, g, x, y, w, h);
		draw_metrics(d->res, g, x, y + 11, w, h - 11);
	}
}

static void draw_tabs(struct detail_state *d, struct grid *g, int x, int y, int w, bool wide)
{
	int cx = x;
	d->tab_y = y;
	for (int p = 0; p < PANE_COUNT; p++) {
		d->tab_x0[p] = d->tab_x1[p] = -1;
		if (wide && (p == PANE_STATS || p == PANE_ERRORS))
			continue;
		int st = p == (int)d->pane ? ST_SELECTED : ST_DIM;
		d->tab_x0[p] = cx;
		cx += grid_printf(g, cx, y, w - (cx - x), st, " %s ", pane_names[p]);
		d->tab_x1[p] = cx;
		cx += 1;
	}
	grid_text(g, cx + 1, y, w - (cx + 1 - x), ST_DIM, "(Tab)");
}

static void draw_pane(struct detail_state *d, struct grid *g, const struct detail_geom *gm)
{
	draw_tabs(d, g, gm->pane_x + 1, gm->pane_y, gm->pane_w - 1, gm->wide);
	int x = gm->pane_x + 1, y = gm->pane_y + 1, w = gm->pane_w - 1, h = gm->pane_h - 1;
	if (d->pane == PANE_STATS)
		draw_stats(d, g, x, y, w, h);
	else if (d->pane == PANE_CHANNELS)
		list_draw(&d->ch_list, g);
	else if (d->pane == PANE_FINDINGS)
		list_draw(&d->find_list, g);
	else
		draw_err_hist(d, g, x, y, w, h);
	if (d->pane == PANE_FINDINGS && d->res->nfind == 0)
		grid_text(g, x + 1, y + 1, w - 1, ST_OK,
		          "no findings: no overflow, tiny scale or saturation");
}

static void detail_draw(struct view *v, struct grid *g)
{
	struct detail_state *d = v->st;
	detail_sync(d);
	draw_info(d, g, v);
	if (!d->res) {
		static const char *const waiting[] = {
		        [WB_PENDING] = "analysing...",
		        [WB_RUNNING] = "analysing...",
		        [WB_DONE] = "no result",
		        [WB_FAILED] = "analysis failed",
		        [WB_UNPAIRED] =
		                "unpaired: no counterpart in the other model, nothing to measure",
		};
		const char *msg = d->wr.state == WB_FAILED && d->wr.error ? d->wr.error
		                                                          : waiting[d->wr.state];
		grid_text(g, v->x + 2, v->y + 3, v->w - 2,
		          d->wr.state == WB_FAILED ? ST_ERROR : ST_DIM, msg ? msg : "not analysed");
		return;
	}
	struct detail_geom gm = geom_of(v);
	if (gm.wide && (d->pane == PANE_STATS || d->pane == PANE_ERRORS))
		d->pane = PANE_CHANNELS;
	int err_w = gm.wide ? v->w - (gm.err_x - v->x) - 1 : gm.pane_w - 1;
	ensure_hists(d, gm.hist_w, err_w);
	if (d->err[0])
		grid_text(g, v->x + 1, gm.hist_y, v->w - 1, ST_ERROR, d->err);
	else if (d->waiting)
		grid_printf(g, v->x + 1, gm.hist_y, v->w - 1, ST_DIM,
		            "reading %llu values for the histograms...",
		            (unsigned long long)d->wr.nelem);
	else
		draw_float_hist(d, g, v->x + 1, gm.hist_y, gm.hist_w, gm.hist_h);
	if (gm.wide && !d->err[0] && !d->waiting)
		draw_err_hist(d, g, gm.err_x, gm.hist_y, err_w, gm.hist_h);
	draw_strip(d, g, v->x + 1, gm.strip_y, v->w - 2);
	if (gm.wide)
		draw_stats(d, g, v->x + 1, gm.pane_y, gm.stats_w - 2, gm.pane_h);
	draw_pane(d, g, &gm);
}

static void next_pane(struct detail_state *d, bool wide)
{
	do
		d->pane = (enum pane)((d->pane + 1) % PANE_COUNT);
	while (wide && (d->pane == PANE_STATS || d->pane == PANE_ERRORS));
}

static struct list *active_list(struct detail_state *d)
{
	return d->pane == PANE_CHANNELS   ? &d->ch_list
	       : d->pane == PANE_FINDINGS ? &d->find_list
	                                  : NULL;
}

static void detail_handle(struct view *v, const struct input *in, struct action *out)
{
	struct detail_state *d = v->st;
	struct detail_geom gm = geom_of(v);
	struct list *l = active_list(d);
	detail_sync(d);
	out->kind = ACT_NONE;
	out->row = d->row;
	if (gm.wide && (d->pane == PANE_STATS || d->pane == PANE_ERRORS))
		next_pane(d, true);
	if (in->kind == IN_CLICK) {
		for (int p = 0; p < PANE_COUNT && in->my == d->tab_y; p++)
			if (in->mx >= d->tab_x0[p] && in->mx < d->tab_x1[p])
				d->pane = (enum pane)p;
		if (l && in->my != d->tab_y)
			list_click(l, in->mx, in->my);
		return;
	}
	if (in->kind == IN_WHEEL_UP || in->kind == IN_WHEEL_DOWN) {
		if (l)
			list_scroll(l, in->kind == IN_WHEEL_UP ? -3 : 3);
		return;
	}
	if (l && list_handle(l, in->req))
		return;
	if (in->req == REQ_TAB) {
		next_pane(d, gm.wide);
	} else if (in->req == REQ_LOG) {
		d->log_scale = !d->log_scale;
	} else if (in->req == REQ_STRIP) {
		d->strip_scale = !d->strip_scale;
		free(d->strip_v);
		free(d->flag);
		d->strip_v = NULL;
		d->flag = NULL;
		if (d->res)
			build_strip(d);
	} else if (in->req == REQ_RETUNE) {
		out->kind = ACT_OPEN;
		out->open = VIEW_RETUNE;
	} else if (in->req == REQ_SHOW && d->wb->quant_path) {
		d->wb->show = d->wb->show == WB_SHIPPED ? WB_WHATIF : WB_SHIPPED;
	} else {
		out->kind = ACT_PASS;
	}
}

static bool detail_row(const struct view *v, size_t *row)
{
	const struct detail_state *d = v->st;
	*row = d->row;
	return true;
}

const struct view_ops view_detail_ops = {
        .name = "tensor detail",
        .hints = "? help|Esc back|[ ] prev/next|Tab pane|s sort|L log|x strip|m retune|u undo|v "
                 "shipped/what-if",
        .open = detail_open,
        .close = detail_close,
        .layout = detail_layout,
        .draw = detail_draw,
        .handle = detail_handle,
        .row = detail_row,
};
