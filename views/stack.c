#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "view.h"

extern const struct view_ops view_table_ops, view_detail_ops, view_retune_ops, view_compare_ops,
        view_help_ops, view_prompt_ops, view_confirm_ops;

static const struct view_ops *const view_kinds[VIEW_KIND_COUNT] = {
        [VIEW_TABLE] = &view_table_ops,     [VIEW_DETAIL] = &view_detail_ops,
        [VIEW_RETUNE] = &view_retune_ops,   [VIEW_COMPARE] = &view_compare_ops,
        [VIEW_HELP] = &view_help_ops,       [VIEW_PROMPT] = &view_prompt_ops,
        [VIEW_CONFIRM] = &view_confirm_ops,
};

const struct view_ops *view_ops_of(enum view_kind k)
{
	return k < VIEW_KIND_COUNT ? view_kinds[k] : NULL;
}

static void body_rect(const struct view_stack *s, int *x, int *y, int *w, int *h)
{
	*x = 0;
	*y = 1;
	*w = s->w;
	*h = s->h - 3 > 0 ? s->h - 3 : 0;
}

static void layout_one(struct view_stack *s, struct view *v)
{
	int x, y, w, h;
	body_rect(s, &x, &y, &w, &h);
	v->x = x;
	v->y = y;
	v->w = w;
	v->h = h;
	if (v->ops->layout)
		v->ops->layout(v, x, y, w, h);
}

int view_stack_push(struct view_stack *s, enum view_kind k, const struct view_args *a)
{
	const struct view_ops *ops = view_ops_of(k);
	if (!ops || s->n >= VIEW_STACK_MAX)
		return -1;
	struct view *v = &s->v[s->n];
	*v = (struct view){.ops = ops, .wb = s->wb};
	struct view_args none = {0};
	if (ops->open && ops->open(v, a ? a : &none) != 0)
		return -1;
	s->n++;
	layout_one(s, v);
	return 0;
}

void view_stack_pop(struct view_stack *s)
{
	if (s->n <= 0)
		return;
	struct view *v = &s->v[--s->n];
	if (v->ops->close)
		v->ops->close(v);
	memset(v, 0, sizeof *v);
}

int view_stack_init(struct view_stack *s, struct wb *wb, int w, int h)
{
	memset(s, 0, sizeof *s);
	s->wb = wb;
	s->w = w;
	s->h = h;
	return view_stack_push(s, VIEW_TABLE, NULL);
}

void view_stack_free(struct view_stack *s)
{
	while (s->n > 0)
		view_stack_pop(s);
}

const struct view *view_stack_top(const struct view_stack *s)
{
	return s->n > 0 ? &s->v[s->n - 1] : NULL;
}

void view_stack_resize(struct view_stack *s, int w, int h)
{
	s->w = w;
	s->h = h;
	for (int i = 0; i < s->n; i++)
		layout_one(s, &s->v[i]);
}

bool view_stack_row(const struct view_stack *s, size_t *row)
{
	for (int i = s->n - 1; i >= 0; i--)
		if (s->v[i].ops->row && s->v[i].ops->row(&s->v[i], row))
			return true;
	return false;
}

static const char *base_name(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s", path ? path : "");
	return basename(buf);
}

static void draw_title(struct view_stack *s, struct grid *g)
{
	char a[128], b[128];
	const struct wb *wb = s->wb;
	const struct view *top = view_stack_top(s);
	grid_fill(g, 0, 0, s->w, 1, ' ', ST_TITLE);
	if (wb->quant_path)
		grid_printf(g, 0, 0, s->w, ST_TITLE, " qscope  %s vs %s  | %s",
		            base_name(wb->float_path, a, sizeof a),
		            base_name(wb->quant_path, b, sizeof b), top ? top->ops->name : "");
	else
		grid_printf(g, 0, 0, s->w, ST_TITLE, " qscope  %s (simulated)  | %s",
		            base_name(wb->float_path, a, sizeof a), top ? top->ops->name : "");
	const char *mode = wb_shown(wb) == WB_SHIPPED ? "[as shipped] " : "[what-if] ";
	grid_text_right(g, 0, 0, s->w, ST_TITLE, mode);
}

static void draw_status(struct view_stack *s, struct grid *g)
{
	const struct wb *wb = s->wb;
	int y = s->h - 2;
	grid_fill(g, 0, y, s->w, 1, ' ', ST_STATUS);
	if (wb->status[0])
		grid_text(g, 1, y, s->w - 1, wb->status_error ? ST_ERROR : ST_STATUS, wb->status);
	else if (wb->done < wb->total)
		grid_printf(g, 1, y, s->w - 1, ST_STATUS, "analysing %zu/%zu tensors...", wb->done,
		            wb->total);
	else
		grid_printf(g, 1, y, s->w - 1, ST_STATUS, "%zu tensors analysed", wb->total);
}

/* Hints "k text|k text": the key part in ST_KEY. */
static void draw_hints(struct view_stack *s, struct grid *g)
{
	int y = s->h - 1, x = 0;
	const struct view *top = view_stack_top(s);
	grid_fill(g, 0, y, s->w, 1, ' ', ST_NORMAL);
	const char *p = top && top->ops->hints ? top->ops->hints : "? help|q quit";
	while (*p && x < s->w) {
		const char *end = strchr(p, '|'), *sp = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		size_t k = sp && sp < p + n ? (size_t)(sp - p) : n;
		char key[32], txt[64];
		snprintf(key, sizeof key, "%.*s", (int)k, p);
		snprintf(txt, sizeof txt, "%.*s", (int)(n - k), p + k);
		x += grid_text(g, x, y, s->w - x, ST_KEY, key);
		x += grid_text(g, x, y, s->w - x, ST_NORMAL, txt);
		x += grid_text(g, x, y, s->w - x, ST_NORMAL, "  ");
		p += n + (end ? 1 : 0);
	}
}

static void draw_too_small(struct view_stack *s, struct grid *g)
{
	char msg[96];
	snprintf(msg, sizeof msg, "terminal too small: %dx%d, need %dx%d", s->w, s->h, VIEW_MIN_W,
	         VIEW_MIN_H);
	int y = s->h / 2 - 1 > 0 ? s->h / 2 - 1 : 0;
	int x = (s->w - (int)strlen(msg)) / 2;
	grid_text(g, x > 0 ? x : 0, y, s->w, ST_WARN, msg);
	const char *q = "resize the window, or press q to quit";
	x = (s->w - (int)strlen(q)) / 2;
	grid_text(g, x > 0 ? x : 0, y + 1, s->w, ST_DIM, q);
}

void view_stack_draw(struct view_stack *s, struct grid *g)
{
	grid_clear(g);
	if (s->w < VIEW_MIN_W || s->h < VIEW_MIN_H) {
		draw_too_small(s, g);
		return;
	}
	int first = s->n - 1;
	while (first > 0 && s->v[first].ops->dialog)
		first--;
	for (int i = first < 0 ? 0 : first; i < s->n; i++) {
		grid_unclip(g);
		s->v[i].ops->draw(&s->v[i], g);
	}
	grid_unclip(g);
	draw_title(s, g);
	draw_status(s, g);
	draw_hints(s, g);
}

static const char *prompt_titles[] = {
        [PROMPT_FILTER] = "Filter tensors by name",
        [PROMPT_EXPORT] = "Export CSV (per-tensor; per-channel beside it)",
        [PROMPT_WRITE] = "Write model with the current choices",
        [PROMPT_RECIPE] = "Save choices as recipe CSV",
        [PROMPT_SNAPSHOT] = "Save this screen (.svg, or .txt for text)",
        [PROMPT_LOAD_RECIPE] = "Load a recipe CSV",
};

static void open_from_action(struct view_stack *s, const struct action *a)
{
	struct view_args args = {.row = a->row, .purpose = a->purpose, .initial = a->text};
	if (a->open == VIEW_PROMPT)
		args.title = prompt_titles[a->purpose];
	view_stack_push(s, a->open, &args);
}

/* [ and ] in a detail: move the cursor of the list below and show its row
 * in a fresh detail. */
static bool step_detail(struct view_stack *s, int delta)
{
	struct view *below = s->n >= 2 ? &s->v[s->n - 2] : NULL;
	size_t row;
	if (!below || !below->ops->step || !below->ops->step(below, delta) ||
	    !below->ops->row(below, &row))
		return true;
	view_stack_pop(s);
	struct view_args a = {.row = row};
	view_stack_push(s, VIEW_DETAIL, &a);
	return true;
}

/* Requests every view shares: back, help, [ and ] in a detail. */
static bool generic(struct view_stack *s, const struct input *in)
{
	const struct view *top = view_stack_top(s);
	if (in->req == REQ_BACK && s->n > 1) {
		view_stack_pop(s);
		return true;
	}
	if (in->req == REQ_HELP && top && top->ops != &view_help_ops) {
		view_stack_push(s, VIEW_HELP, NULL);
		return true;
	}
	if ((in->req == REQ_PREV || in->req == REQ_NEXT) && top && top->ops == &view_detail_ops)
		return step_detail(s, in->req == REQ_NEXT ? 1 : -1);
	return false;
}

void view_stack_handle(struct view_stack *s, const struct input *in, struct action *out)
{
	memset(out, 0, sizeof *out);
	struct view *top = s->n > 0 ? &s->v[s->n - 1] : NULL;
	if (!top || s->w < VIEW_MIN_W || s->h < VIEW_MIN_H) {
		out->kind = ACT_PASS;
		return;
	}
	struct action a = {0};
	top->ops->handle(top, in, &a);
	if (a.kind == ACT_CLOSE) {
		view_stack_pop(s);
	} else if (a.kind == ACT_OPEN) {
		open_from_action(s, &a);
	} else if (a.kind == ACT_APPLY || a.kind == ACT_PATH) {
		view_stack_pop(s);
		*out = a;
	} else if (a.kind == ACT_QUIT) {
		*out = a;
	} else if (a.kind == ACT_PASS && !generic(s, in)) {
		out->kind = ACT_PASS;
	}
	if (out->kind == ACT_PASS || out->kind == ACT_APPLY) {
		size_t row = 0;
		if (view_stack_row(s, &row) && out->kind == ACT_PASS)
			out->row = row;
	}
}
