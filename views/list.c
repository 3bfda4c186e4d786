#include "list.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "view.h"

void list_init(struct list *l, const struct list_col *cols, int ncols, size_t (*count)(void *),
               void (*get_row)(void *, size_t, struct list_cells *), void *ctx)
{
	memset(l, 0, sizeof *l);
	l->cols = cols;
	l->ncols = ncols > LIST_MAX_COLS ? LIST_MAX_COLS : ncols;
	l->count = count;
	l->get_row = get_row;
	l->ctx = ctx;
	l->sort_col = -1;
}

void list_free(struct list *l)
{
	free(l->order);
	l->order = NULL;
	l->norder = l->cap = 0;
}

static void cells_init(struct list_cells *c)
{
	memset(c->text, 0, sizeof c->text);
	for (int i = 0; i < LIST_MAX_COLS; i++) {
		c->key[i] = NAN;
		c->style[i] = ST_NORMAL;
	}
	c->marked = false;
}

static bool ci_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return n == 0;
}

struct sort_ent {
	size_t idx;
	double key;
	char text[LIST_CELL];
};

static int ent_cmp(const struct sort_ent *a, const struct sort_ent *b, bool numeric, bool rev)
{
	int c;
	if (numeric) {
		if (isnan(a->key) || isnan(b->key))
			return isnan(a->key) - isnan(b->key);
		c = a->key < b->key ? -1 : a->key > b->key;
	} else {
		c = strcmp(a->text, b->text);
	}
	return rev ? -c : c;
}

/* Stable bottom-up merge sort of e[0..n) using tmp. */
static void ent_sort(struct sort_ent *e, struct sort_ent *tmp, size_t n, bool numeric, bool rev)
{
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n, i = lo, j = mid,
			       k = lo;
			while (i < mid && j < hi)
				tmp[k++] =
				        ent_cmp(&e[j], &e[i], numeric, rev) < 0 ? e[j++] : e[i++];
			while (i < mid)
				tmp[k++] = e[i++];
			while (j < hi)
				tmp[k++] = e[j++];
		}
		memcpy(e, tmp, n * sizeof *e);
	}
}

static bool order_reserve(struct list *l, size_t n)
{
	if (n <= l->cap)
		return true;
	size_t *p = realloc(l->order, n * sizeof *p);
	if (!p)
		return false;
	l->order = p;
	l->cap = n;
	return true;
}

/* Collect the filtered rows with their sort keys. */
static size_t collect(struct list *l, struct sort_ent *e, size_t n)
{
	struct list_cells c;
	size_t m = 0;
	int sc = l->sort_col;
	if (sc < 0 && !(l->filter && *l->filter)) {
		for (size_t i = 0; i < n; i++)
			e[i].idx = i; /* nothing to look at: skip get_row */
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		cells_init(&c);
		l->get_row(l->ctx, i, &c);
		if (l->filter && *l->filter && !ci_contains(c.text[0], l->filter))
			continue;
		e[m].idx = i;
		e[m].key = sc >= 0 ? c.key[sc] : NAN;
		snprintf(e[m].text, LIST_CELL, "%s", sc >= 0 ? c.text[sc] : "");
		m++;
	}
	return m;
}

void list_rebuild(struct list *l)
{
	size_t keep = 0, n = l->count(l->ctx);
	bool had = list_selected(l, &keep);
	struct sort_ent *e = calloc(n ? n : 1, sizeof *e), *tmp = calloc(n ? n : 1, sizeof *tmp);
	if (!e || !tmp || !order_reserve(l, n ? n : 1)) {
		free(e);
		free(tmp);
		return;
	}
	size_t m = collect(l, e, n);
	if (l->sort_col >= 0)
		ent_sort(e, tmp, m, l->cols[l->sort_col].numeric, l->reverse);
	for (size_t i = 0; i < m; i++)
		l->order[i] = e[i].idx;
	l->norder = m;
	free(e);
	free(tmp);
	if (had)
		list_select_row(l, keep);
	if (l->sel >= l->norder)
		l->sel = l->norder ? l->norder - 1 : 0;
	list_scroll(l, 0);
}

enum {
	LIST_FLEX_MIN = 16
};

static int rows_shown(const struct list *l)
{
	return l->h > 1 ? l->h - 1 : 0;
}

static int flex_min(const struct list_col *c)
{
	return c->min > 0 ? c->min : LIST_FLEX_MIN;
}

/* Choose visible columns: always-columns first, then by priority. */
static void fit_columns(struct list *l)
{
	bool on[LIST_MAX_COLS] = {0};
	int used = l->gutter, flex = -1;
	for (int i = 0; i < l->ncols; i++) {
		if (l->cols[i].width == 0) {
			flex = i;
			on[i] = true;
			used += flex_min(&l->cols[i]) + 1;
		} else if (l->cols[i].prio == 0) {
			on[i] = true;
			used += l->cols[i].width + 1;
		}
	}
	for (int p = 1; p < 100; p++)
		for (int i = 0; i < l->ncols; i++)
			if (!on[i] && l->cols[i].prio == p && used + l->cols[i].width + 1 <= l->w) {
				on[i] = true;
				used += l->cols[i].width + 1;
			}
	l->nvis = 0;
	for (int i = 0; i < l->ncols; i++)
		if (on[i]) {
			l->vis[l->nvis] = i;
			l->colw[l->nvis++] = l->cols[i].width;
		}
	for (int k = 0; k < l->nvis; k++)
		if (l->vis[k] == flex)
			l->colw[k] = flex_min(&l->cols[flex]) + (l->w - used > 0 ? l->w - used : 0);
}

void list_layout(struct list *l, int x, int y, int w, int h)
{
	l->x = x;
	l->y = y;
	l->w = w;
	l->h = h;
	fit_columns(l);
	list_scroll(l, 0);
}

const char *list_sort_name(const struct list *l, char *buf, size_t len, bool utf8)
{
	if (l->sort_col < 0) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	const char *arrow = utf8 ? (l->reverse ? "\u25bc" : "\u25b2") : (l->reverse ? "v" : "^");
	snprintf(buf, len, "%s%s", l->cols[l->sort_col].title, arrow);
	return buf;
}

static void draw_cell(struct grid *g, int x, int y, int w, bool right, int style, const char *s)
{
	if (right)
		grid_text_right(g, x, y, w, style, s);
	else
		grid_text(g, x, y, w, style, s);
}

static void draw_header(struct list *l, struct grid *g)
{
	int cx = l->x + l->gutter;
	grid_fill(g, l->x, l->y, l->w, 1, ' ', ST_HEADER);
	for (int k = 0; k < l->nvis; k++) {
		int c = l->vis[k];
		char t[LIST_CELL];
		if (c == l->sort_col)
			list_sort_name(l, t, sizeof t, g->utf8);
		else
			snprintf(t, sizeof t, "%s", l->cols[c].title);
		draw_cell(g, cx, l->y, l->colw[k], l->cols[c].right, ST_HEADER, t);
		cx += l->colw[k] + 1;
	}
}

static void draw_row(struct list *l, struct grid *g, int y, size_t src, bool selected)
{
	struct list_cells c;
	cells_init(&c);
	l->get_row(l->ctx, src, &c);
	int cx = l->x + l->gutter;
	if (selected)
		grid_fill(g, l->x, y, l->w, 1, ' ', ST_SELECTED);
	if (c.marked && l->gutter > 0)
		grid_put(g, l->x, y, '*', selected ? ST_SELECTED : ST_MARKED);
	for (int k = 0; k < l->nvis; k++) {
		int col = l->vis[k];
		int st = selected ? ST_SELECTED : c.marked && col == 0 ? ST_MARKED : c.style[col];
		draw_cell(g, cx, y, l->colw[k], l->cols[col].right, st, c.text[col]);
		cx += l->colw[k] + 1;
	}
}

void list_draw(struct list *l, struct grid *g)
{
	if (l->h < 1 || l->w < 1)
		return;
	draw_header(l, g);
	int shown = rows_shown(l);
	for (int r = 0; r < shown && l->top + (size_t)r < l->norder; r++) {
		size_t i = l->top + (size_t)r;
		draw_row(l, g, l->y + 1 + r, l->order[i], i == l->sel);
	}
}

void list_scroll(struct list *l, int delta)
{
	size_t shown = (size_t)rows_shown(l);
	if (delta < 0)
		l->top = (size_t)-delta > l->top ? 0 : l->top + (size_t)delta;
	else
		l->top += (size_t)delta;
	if (shown == 0 || l->norder <= shown)
		l->top = 0;
	else if (l->top > l->norder - shown)
		l->top = l->norder - shown;
	if (shown == 0)
		return;
	if (delta != 0) {
		if (l->sel < l->top)
			l->sel = l->top;
		if (l->sel >= l->top + shown)
			l->sel = l->top + shown - 1;
	} else {
		if (l->sel < l->top)
			l->top = l->sel;
		if (l->sel >= l->top + shown)
			l->top = l->sel - shown + 1;
	}
}

static void move_sel(struct list *l, long delta)
{
	if (l->norder == 0)
		return;
	long s = (long)l->sel + delta;
	s = s < 0 ? 0 : s >= (long)l->norder ? (long)l->norder - 1 : s;
	l->sel = (size_t)s;
	list_scroll(l, 0);
}

static bool col_visible(const struct list *l, int c)
{
	for (int k = 0; k < l->nvis; k++)
		if (l->vis[k] == c)
			return true;
	return l->nvis == 0;
}

/* s: the next visible column (sorting by a hidden one would puzzle). */
static void next_sort(struct list *l, bool reverse)
{
	if (reverse) {
		if (l->sort_col < 0)
			l->sort_col = 0;
		else
			l->reverse = !l->reverse;
		list_rebuild(l);
		return;
	}
	int c = l->sort_col;
	for (int i = 0; i < l->ncols; i++) {
		c = (c + 1) % l->ncols;
		if (col_visible(l, c))
			break;
	}
	l->sort_col = c;
	l->reverse = false;
	list_rebuild(l);
}

bool list_handle(struct list *l, int req)
{
	long page = rows_shown(l) > 1 ? rows_shown(l) - 1 : 1;
	switch (req) {
	case REQ_UP:
		move_sel(l, -1);
		return true;
	case REQ_DOWN:
		move_sel(l, 1);
		return true;
	case REQ_PGUP:
		move_sel(l, -page);
		return true;
	case REQ_PGDN:
		move_sel(l, page);
		return true;
	case REQ_HOME:
		move_sel(l, -(long)l->norder);
		return true;
	case REQ_END:
		move_sel(l, (long)l->norder);
		return true;
	case REQ_SORT:
	case REQ_SORT_REV:
		next_sort(l, req == REQ_SORT_REV);
		return true;
	default:
		return false;
	}
}

static bool header_click(struct list *l, int mx)
{
	int cx = l->x + l->gutter;
	for (int k = 0; k < l->nvis; k++) {
		if (mx >= cx && mx < cx + l->colw[k]) {
			bool same_col = l->sort_col == l->vis[k];
			l->sort_col = l->vis[k];
			l->reverse = same_col ? !l->reverse : false;
			list_rebuild(l);
			return true;
		}
		cx += l->colw[k] + 1;
	}
	return false;
}

bool list_click(struct list *l, int mx, int my)
{
	if (my == l->y)
		return header_click(l, mx);
	int r = my - (l->y + 1);
	if (r < 0 || r >= rows_shown(l) || l->top + (size_t)r >= l->norder)
		return false;
	l->sel = l->top + (size_t)r;
	return true;
}

bool list_selected(const struct list *l, size_t *row)
{
	if (l->sel >= l->norder)
		return false;
	*row = l->order[l->sel];
	return true;
}

void list_select_row(struct list *l, size_t row)
{
	for (size_t i = 0; i < l->norder; i++)
		if (l->order[i] == row) {
			l->sel = i;
			list_scroll(l, 0);
			return;
		}
}
