/* The help screen, generated from the request table (view.h). */
#include <stdio.h>
#include <stdlib.h>

#include "list.h"
#include "view.h"
#include "vutil.h"

static const struct list_col help_cols[] = {
        {.title = "keys", .width = 12},
        {.title = "does", .width = 0},
};

struct help_state {
	struct list l;
	int reqs[REQ_COUNT];
	size_t n;
};

static size_t help_count(void *ctx)
{
	return ((struct help_state *)ctx)->n;
}

static void help_get_row(void *ctx, size_t i, struct list_cells *c)
{
	struct help_state *h = ctx;
	enum view_req r = (enum view_req)h->reqs[i];
	view_req_keys(r, c->text[0], LIST_CELL);
	snprintf(c->text[1], LIST_CELL, "%s", view_req_help(r));
	c->style[0] = ST_KEY;
}

static int help_open(struct view *v, const struct view_args *a)
{
	(void)a;
	struct help_state *h = calloc(1, sizeof *h);
	if (!h)
		return -1;
	for (int r = REQ_NONE + 1; r < REQ_COUNT; r++)
		if (view_req_help((enum view_req)r))
			h->reqs[h->n++] = r;
	list_init(&h->l, help_cols, 2, help_count, help_get_row, h);
	list_rebuild(&h->l);
	v->st = h;
	return 0;
}

static void help_close(struct view *v)
{
	struct help_state *h = v->st;
	list_free(&h->l);
	free(h);
}

static void help_layout(struct view *v, int x, int y, int w, int h)
{
	struct help_state *s = v->st;
	list_layout(&s->l, x + 1, y, w - 2, h - 4);
}

static void help_draw(struct view *v, struct grid *g)
{
	struct help_state *h = v->st;
	list_draw(&h->l, g);
	int y = v->y + v->h - 4;
	grid_printf(g, v->x + 1, y, v->w - 1, ST_DIM,
	            "SQNR colours: below %.0f dB risk, below %.0f dB warn, else ok. RMSE/scale of "
	            "healthy rounding is 1/sqrt(12) = 0.289.",
	            VIEW_SQNR_RISK, VIEW_SQNR_WARN);
	grid_text(g, v->x + 1, y + 1, v->w - 1, ST_DIM,
	          "Mouse: click selects a row, the wheel scrolls. NO_COLOR turns colours off.");
	grid_text(
	        g, v->x + 1, y + 2, v->w - 1, ST_DIM,
	        "Retune: Up/Down picks a field, Left/Right (h/l, Space) its value, Enter applies.");
}

static void help_handle(struct view *v, const struct input *in, struct action *out)
{
	struct help_state *h = v->st;
	out->kind = ACT_NONE;
	if (in->kind == IN_WHEEL_UP || in->kind == IN_WHEEL_DOWN)
		list_scroll(&h->l, in->kind == IN_WHEEL_UP ? -3 : 3);
	else if (in->kind == IN_CLICK)
		list_click(&h->l, in->mx, in->my);
	else if (in->req == REQ_HELP || in->req == REQ_ENTER)
		out->kind = ACT_CLOSE;
	else if (!list_handle(&h->l, in->req))
		out->kind = ACT_PASS;
}

const struct view_ops view_help_ops = {
        .name = "help",
        .hints = "Esc back|Up/Down scroll|q quit",
        .open = help_open,
        .close = help_close,
        .layout = help_layout,
        .draw = help_draw,
        .handle = help_handle,
};
