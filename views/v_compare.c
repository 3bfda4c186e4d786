/* Compare: as shipped (the quantized model as it is) vs what-if (the chosen
 * method on the float tensor), sortable by the gain in SQNR. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "list.h"
#include "view.h"
#include "vutil.h"

enum {
	KC_NAME,
	KC_SH_TYPE,
	KC_SH_SQNR,
	KC_WI_METHOD,
	KC_WI_TYPE,
	KC_WI_SQNR,
	KC_GAIN,
	KC_RISK,
	KC_COUNT
};

static const struct list_col compare_cols[KC_COUNT] = {
        [KC_NAME] = {.title = "tensor", .width = 0},
        [KC_SH_TYPE] = {.title = "shipped", .width = 8, .prio = 2},
        [KC_SH_SQNR] = {.title = "SQNR", .width = 6, .right = true, .numeric = true},
        [KC_WI_METHOD] = {.title = "what-if", .width = 16, .prio = 1},
        [KC_WI_TYPE] = {.title = "type", .width = 8, .prio = 3},
        [KC_WI_SQNR] = {.title = "SQNR", .width = 6, .right = true, .numeric = true},
        [KC_GAIN] = {.title = "gain", .width = 7, .right = true, .numeric = true},
        [KC_RISK] = {.title = "risk", .width = 11, .numeric = true, .prio = 1},
};

struct compare_state {
	struct wb *wb;
	struct list l;
	uint64_t gen, fgen;
	bool built;
};

static size_t compare_count(void *ctx)
{
	struct compare_state *c = ctx;
	return wb_count(c->wb);
}

static double sqnr_of(const struct wb_row *r)
{
	return r->state == WB_DONE && r->res ? r->res->m.sqnr_db : NAN;
}

static void compare_get_row(void *ctx, size_t i, struct list_cells *c)
{
	struct compare_state *s = ctx;
	struct wb_row sh, wi;
	s->wb->src.get_row(s->wb->src.ctx, i, WB_SHIPPED, &sh);
	s->wb->src.get_row(s->wb->src.ctx, i, WB_WHATIF, &wi);
	double a = sqnr_of(&sh), b = wi.keep_float ? INFINITY : sqnr_of(&wi);
	snprintf(c->text[KC_NAME], LIST_CELL, "%s", sh.name);
	snprintf(c->text[KC_SH_TYPE], LIST_CELL, "%s", sh.qtype);
	view_fmt_db(c->text[KC_SH_SQNR], LIST_CELL, a);
	if (sh.state != WB_DONE)
		snprintf(c->text[KC_SH_SQNR], LIST_CELL, "...");
	c->key[KC_SH_SQNR] = a;
	c->style[KC_SH_SQNR] = view_sqnr_style(a);
	snprintf(c->text[KC_WI_METHOD], LIST_CELL, "%s", wi.keep_float ? "keep-float" : wi.method);
	snprintf(c->text[KC_WI_TYPE], LIST_CELL, "%s", wi.keep_float ? wi.dtype : wi.qtype);
	view_fmt_db(c->text[KC_WI_SQNR], LIST_CELL, b);
	if (wi.state != WB_DONE && !wi.keep_float)
		snprintf(c->text[KC_WI_SQNR], LIST_CELL, "...");
	c->key[KC_WI_SQNR] = b;
	c->style[KC_WI_SQNR] = view_sqnr_style(b);
	double gain = isfinite(a) && isfinite(b)         ? b - a
	              : isinf(b) && b > 0 && isfinite(a) ? INFINITY
	                                                 : NAN;
	if (isnan(gain))
		snprintf(c->text[KC_GAIN], LIST_CELL, "-");
	else if (isinf(gain))
		snprintf(c->text[KC_GAIN], LIST_CELL, "inf");
	else
		snprintf(c->text[KC_GAIN], LIST_CELL, "%+.1f", gain);
	c->key[KC_GAIN] = gain;
	c->style[KC_GAIN] = gain > 0.05 ? ST_OK : gain < -0.05 ? ST_RISK : ST_NORMAL;
	if (sh.res && wi.res && sh.state == WB_DONE && wi.state == WB_DONE) {
		snprintf(c->text[KC_RISK], LIST_CELL, "%s%s%s", risk_level_name(sh.res->risk),
		         s->wb->utf8 ? "\u2192" : ">", risk_level_name(wi.res->risk));
		c->key[KC_RISK] = -(double)sh.res->risk;
	}
	c->marked = i < s->wb->nmarked_cap && s->wb->marked[i];
}

static int compare_open(struct view *v, const struct view_args *a)
{
	(void)a;
	struct compare_state *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	c->wb = v->wb;
	list_init(&c->l, compare_cols, KC_COUNT, compare_count, compare_get_row, c);
	c->l.gutter = 2;
	c->l.filter = v->wb->filter;
	c->l.sort_col = KC_GAIN;
	c->l.reverse = true;
	v->st = c;
	return 0;
}

static void compare_close(struct view *v)
{
	struct compare_state *c = v->st;
	list_free(&c->l);
	free(c);
}

static void compare_sync(struct compare_state *c)
{
	if (c->built && c->gen == c->wb->data_gen && c->fgen == c->wb->filter_gen)
		return;
	c->gen = c->wb->data_gen;
	c->fgen = c->wb->filter_gen;
	c->built = true;
	list_rebuild(&c->l);
}

static void compare_layout(struct view *v, int x, int y, int w, int h)
{
	struct compare_state *c = v->st;
	list_layout(&c->l, x, y + 1, w, h - 1);
	compare_sync(c);
}

static void compare_draw(struct view *v, struct grid *g)
{
	struct compare_state *c = v->st;
	if (!c->wb->quant_path) {
		grid_text(g, v->x + 2, v->y + 2, v->w - 2, ST_WARN,
		          "compare needs a quantized model: qscope FLOAT.onnx QUANT.onnx");
		grid_text(g, v->x + 2, v->y + 3, v->w - 2, ST_DIM,
		          "(with one model, the table already shows the what-if quantization)");
		return;
	}
	compare_sync(c);
	double sum_gain = 0;
	size_t better = 0, worse = 0, counted = 0;
	for (size_t i = 0; i < c->l.norder; i++) {
		struct list_cells cells;
		compare_get_row(c, c->l.order[i], &cells);
		double gn = cells.key[KC_GAIN];
		if (isfinite(gn)) {
			sum_gain += gn;
			counted++;
			better += gn > 0.05;
			worse += gn < -0.05;
		}
	}
	grid_printf(g, v->x + 1, v->y, v->w - 1, ST_NORMAL,
	            "as shipped vs what-if: %zu better, %zu worse, mean gain %+.2f dB over %zu "
	            "compared",
	            better, worse, counted ? sum_gain / (double)counted : 0.0, counted);
	list_draw(&c->l, g);
}

static void compare_handle(struct view *v, const struct input *in, struct action *out)
{
	struct compare_state *c = v->st;
	size_t row = 0;
	compare_sync(c);
	bool has = list_selected(&c->l, &row);
	out->kind = ACT_NONE;
	out->row = row;
	if (in->kind == IN_CLICK) {
		list_click(&c->l, in->mx, in->my);
	} else if (in->kind != IN_KEY) {
		list_scroll(&c->l, in->kind == IN_WHEEL_UP ? -3 : 3);
	} else if (list_handle(&c->l, in->req)) {
		return;
	} else if ((in->req == REQ_ENTER || in->req == REQ_RETUNE) && has) {
		out->kind = ACT_OPEN;
		out->open = in->req == REQ_ENTER ? VIEW_DETAIL : VIEW_RETUNE;
	} else if (in->req == REQ_MARK && has && row < c->wb->nmarked_cap) {
		c->wb->marked[row] = !c->wb->marked[row];
		list_handle(&c->l, REQ_DOWN);
	} else if (in->req == REQ_COMPARE) {
		out->kind = ACT_CLOSE;
	} else {
		out->kind = ACT_PASS;
	}
}

static bool compare_step(struct view *v, int delta)
{
	struct compare_state *c = v->st;
	size_t before = c->l.sel;
	list_handle(&c->l, delta > 0 ? REQ_DOWN : REQ_UP);
	return c->l.sel != before;
}

static bool compare_row(const struct view *v, size_t *row)
{
	const struct compare_state *c = v->st;
	return list_selected(&c->l, row);
}

const struct view_ops view_compare_ops = {
        .name = "compare",
        .hints = "? help|Esc back|Enter detail|s sort|S reverse|Space mark|m retune|q quit",
        .open = compare_open,
        .close = compare_close,
        .layout = compare_layout,
        .draw = compare_draw,
        .handle = compare_handle,
        .row = compare_row,
        .step = compare_step,
};
