/* view.h — screens of the workbench: requests (what a key means), the key
 * table the help screen is generated from, the view table of function
 * pointers and the view stack (dialogs drawn over the view below).
 *
 * A view draws into a cell grid (plots/grid.h), never into curses; the TUI
 * blits the grid, tests render it to text. handle() receives one input (a key
 * already translated to a request, plus the raw key for text fields and the
 * mouse position) and fills an action: ACT_NONE when it consumed the input,
 * ACT_PASS when it did not (the stack then applies generic requests: back,
 * help, quit; what is still left goes to the app: undo, export, write ...),
 * or a request for the app (apply an edit, a file name from a prompt).
 *
 * Screen frame (drawn by the stack): row 0 title bar, rows 1..h−3 the body,
 * row h−2 status line, row h−1 key hints. Below VIEW_MIN_W × VIEW_MIN_H the
 * stack draws a "terminal too small" message instead of the views.
 */
#ifndef QS_VIEW_H
#define QS_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "../plots/grid.h"
#include "wb.h"

#define VIEW_MIN_W 80
#define VIEW_MIN_H 24

/* Requests with their help text (X-macro); their keys are in the binding
 * table of keys.c. */
#define VIEW_REQUESTS(X)                                                                           \
	X(REQ_UP, "move up")                                                                       \
	X(REQ_DOWN, "move down")                                                                   \
	X(REQ_PGUP, "page up")                                                                     \
	X(REQ_PGDN, "page down")                                                                   \
	X(REQ_HOME, "first row")                                                                   \
	X(REQ_END, "last row")                                                                     \
	X(REQ_LEFT, "previous choice (dialogs)")                                                   \
	X(REQ_RIGHT, "next choice (dialogs)")                                                      \
	X(REQ_ENTER, "open the tensor / confirm")                                                  \
	X(REQ_BACK, "back / cancel")                                                               \
	X(REQ_TAB, "next pane (detail: channels, findings, errors)")                               \
	X(REQ_FILTER, "filter tensors by name")                                                    \
	X(REQ_SORT, "sort by the next column")                                                     \
	X(REQ_SORT_REV, "reverse the sort order")                                                  \
	X(REQ_MARK, "mark / unmark the row")                                                       \
	X(REQ_MARK_ALL, "mark all shown rows / clear marks")                                       \
	X(REQ_RETUNE, "retune: method, bits, scheme, granularity ...")                             \
	X(REQ_UNDO, "undo the last edit")                                                          \
	X(REQ_REDO, "redo")                                                                        \
	X(REQ_COMPARE, "compare as shipped vs what-if")                                            \
	X(REQ_SHOW, "table shows as shipped / what-if")                                            \
	X(REQ_PREV, "detail: the previous tensor of the list")                                     \
	X(REQ_NEXT, "detail: the next tensor of the list")                                         \
	X(REQ_LOG, "histogram log scale on/off")                                                   \
	X(REQ_STRIP, "channel strip: SQNR / scale")                                                \
	X(REQ_EXPORT, "export per-tensor and per-channel CSV")                                     \
	X(REQ_WRITE, "write the model with the current choices")                                   \
	X(REQ_RECIPE, "save the choices as a recipe CSV")                                          \
	X(REQ_LOAD_RECIPE, "load a recipe CSV onto the tensors (undoable)")                        \
	X(REQ_SNAPSHOT, "save this screen as SVG (or text: a .txt name)")                          \
	X(REQ_HELP, "this help")                                                                   \
	X(REQ_QUIT, "quit (asks when choices are unsaved)")

enum view_req {
	REQ_NONE,
#define X(id, help) id,
	VIEW_REQUESTS(X)
#undef X
	REQ_BACKSPACE, /* text fields only; not in the help */
	REQ_COUNT
};

/* Help text of a request; NULL for REQ_NONE/REQ_BACKSPACE. */
const char *view_req_help(enum view_req r);
/* Names of every key bound to r, from the binding table ("Up k"). */
const char *view_req_keys(enum view_req r, char *buf, size_t len);

/* Key bindings: curses key codes (and characters) to requests, with the
 * key's name for the help screen — the one table keys and help come from. */
struct key_binding {
	int key;
	enum view_req req;
	const char *name;
};
enum view_req view_key_req(int key);
size_t view_key_count(void);
const struct key_binding *view_key_at(size_t i);

enum input_kind {
	IN_KEY,
	IN_CLICK,
	IN_WHEEL_UP,
	IN_WHEEL_DOWN
};

struct input {
	enum input_kind kind;
	int key; /* raw key (curses code or character) */
	enum view_req req;
	int mx, my; /* mouse cell */
};

enum view_kind {
	VIEW_TABLE,
	VIEW_DETAIL,
	VIEW_RETUNE,
	VIEW_COMPARE,
	VIEW_HELP,
	VIEW_PROMPT,
	VIEW_CONFIRM,
	VIEW_KIND_COUNT
};

enum prompt_purpose {
	PROMPT_FILTER,
	PROMPT_EXPORT,
	PROMPT_WRITE,
	PROMPT_RECIPE,
	PROMPT_SNAPSHOT,
	PROMPT_LOAD_RECIPE
};

enum act_kind {
	ACT_NONE,  /* consumed */
	ACT_PASS,  /* not consumed: generic handling, then the app */
	ACT_CLOSE, /* pop this view */
	ACT_OPEN,  /* push act.open for act.row */
	ACT_APPLY, /* retune: apply spec/keep_float to scope (then close) */
	ACT_PATH,  /* prompt: purpose + text (then close) */
	ACT_QUIT,  /* confirmed quit */
};

struct action {
	enum act_kind kind;
	enum view_kind open;
	size_t row;
	struct qspec spec;
	bool keep_float;
	enum wb_scope scope;
	enum prompt_purpose purpose;
	char text[256];
};

/* Arguments for opening a view. */
struct view_args {
	size_t row;                  /* DETAIL, RETUNE */
	enum prompt_purpose purpose; /* PROMPT */
	const char *title, *initial; /* PROMPT, CONFIRM */
};

struct view;

struct view_ops {
	const char *name;
	bool dialog;       /* drawn over the view below */
	const char *hints; /* key hints: "Enter open|/ filter|..." */
	int (*open)(struct view *v, const struct view_args *a);
	void (*close)(struct view *v);
	void (*layout)(struct view *v, int x, int y, int w, int h); /* body rectangle */
	void (*draw)(struct view *v, struct grid *g);
	void (*handle)(struct view *v, const struct input *in, struct action *out);
	/* The session row under the cursor (may be NULL: no rows). */
	bool (*row)(const struct view *v, size_t *row);
	/* Move the cursor by delta rows; false at the ends (may be NULL). */
	bool (*step)(struct view *v, int delta);
};

struct view {
	const struct view_ops *ops;
	struct wb *wb;
	void *st; /* the view's own state (owned, freed by close) */
	int x, y, w, h;
};

const struct view_ops *view_ops_of(enum view_kind k);

#define VIEW_STACK_MAX 8

struct view_stack {
	struct wb *wb;
	struct view v[VIEW_STACK_MAX];
	int n;
	int w, h;
};

/* The stack starts with the table view. Returns 0 or −1. */
int view_stack_init(struct view_stack *s, struct wb *wb, int w, int h);
void view_stack_free(struct view_stack *s);
int view_stack_push(struct view_stack *s, enum view_kind k, const struct view_args *a);
void view_stack_pop(struct view_stack *s);
const struct view *view_stack_top(const struct view_stack *s);
void view_stack_resize(struct view_stack *s, int w, int h);
/* Draw the frame and the visible views into g (resized to the stack's
 * size by the caller). */
void view_stack_draw(struct view_stack *s, struct grid *g);
/* Route one input to the top view, apply what the stack handles itself
 * (push/pop/help/back); the action left for the app is returned in out
 * (ACT_PASS with in->req for unhandled requests, ACT_APPLY, ACT_PATH,
 * ACT_QUIT). out->row is the row of the top-most view that has one. */
void view_stack_handle(struct view_stack *s, const struct input *in, struct action *out);
/* Row under the cursor in the top-most row-bearing view; false when none. */
bool view_stack_row(const struct view_stack *s, size_t *row);

#endif
