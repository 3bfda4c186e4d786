/* The home screen: one row per tensor, totals above, via the list engine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plots/chart.h"
#include "list.h"
#include "view.h"
#include "vutil.h"

enum {
	COL_NAME,
	COL_SHAPE,
	COL_TYPE,
	COL_BITS,
	COL_GRAN,
	COL_METHOD,
	COL_SQNR,
	COL_RMSE,
	COL_MAXERR,
	COL_CLIP,
	COL_LEVELS,
	COL_ENTROPY,
	COL_RISK,
	COL_N
};

static const struct list_col table_cols[COL_N] = {
        [COL_NAME] = {.title = "tensor", .width = 0, .min = 22},
        [COL_SHAPE] = {.title = "shape", .width = 11, .prio = 5},
        [COL_TYPE] = {.title = "type", .width = 10, .prio = 3},
        [COL_BITS] = {.title = "bits", .width = 4, .right = true, .numeric = true, .prio = 6},
        [COL_GRAN] = {.title = "gran", .width = 9, .prio = 5},
        [COL_METHOD] = {.title = "method", .width = 10, .prio = 2},
        [COL_SQNR] = {.title = "SQNR", .width = 6, .right = true, .numeric = true},
        [COL_RMSE] = {.title = "RMSE", .width = 8, .right = true, .numeric = true, .prio = 3},
        [COL_MAXERR] = {.title = "maxerr", .width = 8, .right = true, .numeric = true, .prio = 2},
        [COL_CLIP] = {.title = "clip%", .width = 6, .right = true, .numeric = true, .prio = 1},
        [COL_LEVELS] = {.title = "levels", .width = 6, .right = true, .numeric = true, .prio = 5},
        [COL_ENTROPY] = {.title = "H", .width = 4, .right = true, .numeric = true, .prio = 6},
        [COL_RISK] = {.title = "risk", .width = 4, .numeric = true},
};

struct totals {
	double params, bytes_f, bytes_q, wsum, wn;
	size_t count[RISK_RISK + 1], pending, failed;
};

struct table_state {
	struct wb *wb;
	struct list l;
	uint64_t gen, fgen;
	enum wb_which which;
	bool built;
	struct totals tot; /* of every row, recomputed when the data change */
	uint64_t tot_gen;
	enum wb_which tot_which;
	bool tot_valid;
};

static size_t table_count(void *ctx)
{
	struct table_state *t = ctx;
	return wb_count(t->wb);
}

static void num_cell(struct list_cells *c, int col, double v, int sig)
{
	chart_fmt(c->text[col], LIST_CELL, v, sig);
	c->key[col] = v;
}

static const char *state_text(enum wb_state s)
{
	static const char *const names[] = {[WB_PENDING] = "...",
	                                    [WB_RUNNING] = "run",
	                                    [WB_DONE] = "",
	                                    [WB_FAILED] = "fail",
	                                    [WB_UNPAIRED] = "unpaired"};
	return names[s];
}

static void result_cells(struct list_cells *c, const struct wb_row *r)
{
	const struct tensor_result *res = r->res;
	const struct err_metrics *m = &res->m;
	view_fmt_db(c->text[COL_SQNR], LIST_CELL, m->sqnr_db);
	c->key[COL_SQNR] = m->sqnr_db;
	c->style[COL_SQNR] = view_sqnr_style(m->sqnr_db);
	num_cell(c, COL_RMSE, m->rmse, 3);
	num_cell(c, COL_MAXERR, m->max_abs_err, 3);
	snprintf(c->text[COL_CLIP], LIST_CELL, "%.2f", m->clipped_pct);
	c->key[COL_CLIP] = m->clipped_pct;
	snprintf(c->text[COL_LEVELS], LIST_CELL, "%llu", (unsigned long long)m->levels_used);
	c->key[COL_LEVELS] = (double)m->levels_used;
	snprintf(c->text[COL_ENTROPY], LIST_CELL, "%.2f", m->entropy_bits);
	c->key[COL_ENTROPY] = m->entropy_bits;
	snprintf(c->text[COL_RISK], LIST_CELL, "%s", risk_level_name(res->risk));
	c->key[COL_RISK] = -(double)res->risk;
	c->style[COL_RISK] = view_risk_style(res->risk);
	c->style[COL_NAME] = res->risk == RISK_RISK ? ST_RISK : ST_NORMAL;
}

static void table_get_row(void *ctx, size_t i, struct list_cells *c)
{
	struct table_state *t = ctx;
	struct wb_row r;
	t->wb->src.get_row(t->wb->src.ctx, i, t->which, &r);
	snprintf(c->text[COL_NAME], LIST_CELL, "%s", r.name);
	snprintf(c->text[COL_SHAPE], LIST_CELL, "%s", r.shape);
	snprintf(c->text[COL_TYPE], LIST_CELL, "%s%s%s", r.dtype, t->wb->utf8 ? "\u2192" : ">",
	         r.keep_float ? r.dtype : r.qtype);
	snprintf(c->text[COL_GRAN], LIST_CELL, "%s", r.gran);
	snprintf(c->text[COL_METHOD], LIST_CELL, "%s", r.keep_float ? "keep-float" : r.method);
	c->marked = i < t->wb->nmarked_cap && t->wb->marked[i];
	if (r.state != WB_DONE || !r.res) {
		snprintf(c->text[COL_SQNR], LIST_CELL, "%s", state_text(r.state));
		c->style[COL_NAME] = r.state == WB_FAILED ? ST_ERROR : ST_DIM;
		return;
	}
	if (r.keep_float) {
		snprintf(c->text[COL_SQNR], LIST_CELL, "float");
		c->key[COL_SQNR] = INFINITY;
		c->style[COL_SQNR] = ST_OK;
		return;
	}
	snprintf(c->text[COL_BITS], LIST_CELL, "%d", r.res->bits);
	c->key[COL_BITS] = r.res->bits;
	result_cells(c, &r);
}

static int table_open(struct view *v, const struct view_args *a)
{
	(void)a;
	struct table_state *t = calloc(1, sizeof *t);
	if (!t)
		return -1;
	t->wb = v->wb;
	list_init(&t->l, table_cols, COL_N, table_count, table_get_row, t);
	t->l.gutter = 2;
	t->l.filter = v->wb->filter;
	v->st = t;
	return 0;
}

static void table_close(struct view *v)
{
	struct table_state *t = v->st;
	list_free(&t->l);
	free(t);
}

static void table_sync(struct table_state *t)
{
	enum wb_which which = wb_shown(t->wb);
	if (t->built && t->gen == t->wb->data_gen && t->fgen == t->wb->filter_gen &&
	    t->which == which)
		return;
	t->which = which;
	t->gen = t->wb->data_gen;
	t->fgen = t->wb->filter_gen;
	t->built = true;
	wb_sync_rows(t->wb);
	list_rebuild(&t->l);
}

static void table_layout(struct view *v, int x, int y, int w, int h)
{
	struct table_state *t = v->st;
	list_layout(&t->l, x, y + 2, w, h - 2);
	table_sync(t);
}

static void add_total(struct totals *s, const struct wb_row *r)
{
	s->params += (double)r->nelem;
	s->bytes_f += r->bytes_float;
	s->bytes_q += r->keep_float ? r->bytes_float : r->bytes_quant;
	if (r->state == WB_FAILED)
		s->failed++;
	if (r->state != WB_DONE || !r->res || r->keep_float) {
		s->pending += r->state == WB_PENDING || r->state == WB_RUNNING;
		s->count[RISK_OK] += r->state == WB_DONE && r->keep_float;
		return;
	}
	s->count[r->res->risk]++;
	if (isfinite(r->res->m.sqnr_db)) {
		s->wsum += (double)r->nelem * r->res->m.sqnr_db;
		s->wn += (double)r->nelem;
	}
}

static void draw_totals(struct table_state *t, struct grid *g, int x, int y, int w)
{
	size_t n = wb_count(t->wb);
	if (!t->tot_valid || t->tot_gen != t->wb->data_gen || t->tot_which != t->which) {
		struct wb_row r;
		memset(&t->tot, 0, sizeof t->tot);
		for (size_t i = 0; i < n; i++) {
			t->wb->src.get_row(t->wb->src.ctx, i, t->which, &r);
			add_total(&t->tot, &r);
		}
		t->tot_valid = true;
		t->tot_gen = t->wb->data_gen;
		t->tot_which = t->which;
	}
	const struct totals s = t->tot;
	char a[32], b[32], c[32], d[32], sort[48];
	grid_printf(g, x + 1, y, w - 1, ST_NORMAL,
	            "params %s  float %s %s %s (%.1fx)  weighted SQNR %s dB",
	            view_fmt_count(a, sizeof a, s.params), view_fmt_bytes(b, sizeof b, s.bytes_f),
	            g->utf8 ? "\u2192" : "->", view_fmt_bytes(c, sizeof c, s.bytes_q),
	            s.bytes_q > 0 ? s.bytes_f / s.bytes_q : 0.0,
	            s.wn > 0 ? view_fmt_db(d, sizeof d, s.wsum / s.wn) : "...");
	int cx = x + 1;
	cx += grid_printf(g, cx, y + 1, w, ST_NORMAL, "%zu tensors  ", n);
	cx += grid_printf(g, cx, y + 1, w, ST_RISK, "risk %zu", s.count[RISK_RISK]);
	cx += grid_printf(g, cx, y + 1, w, ST_WARN, "  warn %zu", s.count[RISK_WARN]);
	cx += grid_printf(g, cx, y + 1, w, ST_OK, "  ok %zu", s.count[RISK_OK]);
	if (s.pending)
		cx += grid_printf(g, cx, y + 1, w, ST_DIM, "  pending %zu", s.pending);
	if (s.failed)
		cx += grid_printf(g, cx, y + 1, w, ST_ERROR, "  failed %zu", s.failed);
	cx += grid_printf(g, cx, y + 1, w, ST_NORMAL, "   shown %zu", t->l.norder);
	if (t->wb->filter[0])
		cx += grid_printf(g, cx, y + 1, w, ST_MARKED, "  filter \"%s\"", t->wb->filter);
	if (wb_marked_count(t->wb))
		cx += grid_printf(g, cx, y + 1, w, ST_MARKED, "  marked %zu",
		                  wb_marked_count(t->wb));
	if (t->l.sort_col >= 0)
		grid_printf(g, cx, y + 1, w, ST_NORMAL, "  sort %s",
		            list_sort_name(&t->l, sort, sizeof sort, g->utf8));
}

static void table_draw(struct view *v, struct grid *g)
{
	struct table_state *t = v->st;
	table_sync(t);
	draw_totals(t, g, v->x, v->y, v->w);
	list_draw(&t->l, g);
	if (t->l.norder == 0)
		grid_text(g, v->x + 2, t->l.y + 2, v->w - 2, ST_DIM,
		          t->wb->filter[0] ? "no tensor matches the filter (Esc clears it)"
		                           : "no tensors yet");
}

static void toggle_marks(struct table_state *t)
{
	bool any = wb_marked_count(t->wb) > 0;
	if (any)
		memset(t->wb->marked, 0, t->wb->nmarked_cap * sizeof *t->wb->marked);
	else
		for (size_t i = 0; i < t->l.norder; i++)
			if (t->l.order[i] < t->wb->nmarked_cap)
				t->wb->marked[t->l.order[i]] = true;
}

static void table_mouse(struct table_state *t, const struct input *in, struct action *out)
{
	if (in->kind == IN_CLICK) {
		if (!list_click(&t->l, in->mx, in->my))
			out->kind = ACT_NONE;
		return;
	}
	list_scroll(&t->l, in->kind == IN_WHEEL_UP ? -3 : 3);
}

static void table_handle(struct view *v, const struct input *in, struct action *out)
{
	struct table_state *t = v->st;
	size_t row = 0;
	table_sync(t);
	bool has = list_selected(&t->l, &row);
	out->kind = ACT_NONE;
	out->row = row;
	if (in->kind != IN_KEY) {
		table_mouse(t, in, out);
		return;
	}
	if (list_handle(&t->l, in->req))
		return;
	if ((in->req == REQ_ENTER || in->req == REQ_RETUNE) && has) {
		out->kind = ACT_OPEN;
		out->open = in->req == REQ_ENTER ? VIEW_DETAIL : VIEW_RETUNE;
	} else if (in->req == REQ_MARK && has && row < t->wb->nmarked_cap) {
		t->wb->marked[row] = !t->wb->marked[row];
		list_handle(&t->l, REQ_DOWN);
	} else if (in->req == REQ_MARK_ALL) {
		toggle_marks(t);
	} else if (in->req == REQ_FILTER) {
		out->kind = ACT_OPEN;
		out->open = VIEW_PROMPT;
		out->purpose = PROMPT_FILTER;
		snprintf(out->text, sizeof out->text, "%s", t->wb->filter);
	} else if (in->req == REQ_COMPARE) {
		out->kind = ACT_OPEN;
		out->open = VIEW_COMPARE;
	} else if (in->req == REQ_BACK && t->wb->filter[0]) {
		t->wb->filter[0] = 0;
		t->wb->filter_gen++;
	} else if (in->req == REQ_SHOW && t->wb->quant_path) {
		t->wb->show = t->wb->show == WB_SHIPPED ? WB_WHATIF : WB_SHIPPED;
	} else {
		out->kind = ACT_PASS;
	}
}

static bool table_step(struct view *v, int delta)
{
	struct table_state *t = v->st;
	size_t before = t->l.sel;
	list_handle(&t->l, delta > 0 ? REQ_DOWN : REQ_UP);
	return t->l.sel != before;
}

static bool table_row(const struct view *v, size_t *row)
{
	const struct table_state *t = v->st;
	return list_selected(&t->l, row);
}

const struct view_ops view_table_ops = {
        .name = "tensors",
        .hints = "? help|q quit|Enter detail|/ filter|s sort|Space mark|m retune|c compare|e "
                 "csv|w write|r recipe|u undo|v shipped/what-if",
        .open = table_open,
        .close = table_close,
        .layout = table_layout,
        .draw = table_draw,
        .handle = table_handle,
        .row = table_row,
        .step = table_step,
};
