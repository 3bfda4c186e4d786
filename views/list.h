/* list.h — the one list engine of every table-like screen: a row count and a
 * get_row callback in, a filtered, sorted, scrolled table with a cursor out.
 *
 * The engine keeps `order`, the permutation of source rows shown (after the
 * filter, a case-insensitive substring match on column 0, and the sort:
 * numeric columns by key with NaN last, text columns by strcmp; stable, so
 * equal keys keep source order). The cursor follows its source row across
 * rebuilds. Columns that do not fit the width are dropped lowest priority
 * first; the flexible column (width 0) takes what is left.
 *
 * Ownership: list_init borrows cols and ctx; list_free frees the order.
 */
#ifndef QS_LIST_H
#define QS_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "../plots/grid.h"

#define LIST_MAX_COLS 16
#define LIST_CELL     168

struct list_col {
	const char *title;
	int width;    /* 0: flexible (at least min, or 16) */
	int min;      /* flexible column only */
	bool right;   /* right-aligned */
	bool numeric; /* sort by key[], else by text */
	int prio;     /* kept before lower values when narrow; 0 = always */
};

struct list_cells {
	char text[LIST_MAX_COLS][LIST_CELL];
	double key[LIST_MAX_COLS];
	int style[LIST_MAX_COLS]; /* per cell; ST_NORMAL by default */
	bool marked;
};

struct list {
	const struct list_col *cols;
	int ncols;
	size_t (*count)(void *ctx);
	void (*get_row)(void *ctx, size_t i, struct list_cells *out);
	void *ctx;
	const char *filter; /* borrowed; NULL or "" = all */
	int sort_col;       /* −1: source order */
	bool reverse;
	size_t *order, norder, cap;
	size_t sel, top;
	int x, y, w, h; /* header row + h − 1 rows */
	int gutter;     /* columns before the first cell ('*' on marked rows) */
	int nvis, vis[LIST_MAX_COLS], colw[LIST_MAX_COLS];
};

void list_init(struct list *l, const struct list_col *cols, int ncols, size_t (*count)(void *),
               void (*get_row)(void *, size_t, struct list_cells *), void *ctx);
void list_free(struct list *l);
/* Recompute the order (filter + sort); keeps the cursor on its row. */
void list_rebuild(struct list *l);
void list_layout(struct list *l, int x, int y, int w, int h);
void list_draw(struct list *l, struct grid *g);
/* Cursor and sort requests (enum view_req values); true when consumed. */
bool list_handle(struct list *l, int req);
/* A mouse click at (mx, my): on a row it selects the row; on the header it
 * sorts by the column under the pointer (again: reverses). True when the
 * click landed on a row or a column title. */
bool list_click(struct list *l, int mx, int my);
void list_scroll(struct list *l, int delta);
/* Source index of the cursor row; false when the list is empty. */
bool list_selected(const struct list *l, size_t *row);
/* Put the cursor on source row `row` if shown. */
void list_select_row(struct list *l, size_t row);
/* "SQNR▲" style name of the sort (or "" when unsorted). */
const char *list_sort_name(const struct list *l, char *buf, size_t len, bool utf8);

#endif
