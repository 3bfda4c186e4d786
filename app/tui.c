/* The TUI loop: curses in, views out. Views draw into a cell grid; this file
 * blits it, turns keys into requests, runs the retune preview in a worker
 * thread and carries out what the views leave to the app (undo, export,
 * write, quit). A headless mode (QSCOPE_TUI_DUMP) runs the same loop with
 * scripted keys and writes the grid as text, for golden screens. */
#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <libgen.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../io/recipe.h"
#include "../views/view.h"
#include "batch.h"
#include "tui.h"
#include "tui_int.h"
#include "tui_keys.h"

/* The worker: retune previews and detail values, each with one request slot
 * (newest wins) and one answer slot; values first (the user is waiting on a
 * screen that opened). */
struct preview_worker {
	struct session *s;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv, done_cv;
	bool stop, has_req, has_res;
	uint64_t req_seq, res_seq;
	size_t req_row;
	struct qspec req_spec;
	int res_status;
	struct tensor_result res;
	char res_msg[256];
	size_t xs_row; /* the row whose x statistics xs holds; SIZE_MAX: none */
	struct dist_stats xs;
	bool has_vreq, has_vres;
	uint64_t vreq_seq, vres_seq;
	size_t vreq_row;
	enum wb_which vreq_which;
	struct qspec vreq_spec;
	bool vreq_keep;
	struct wb_hist_req vreq_hist;
	struct wb_values vres;
	int wake[2]; /* a byte per answer: the screen shows it at once; -1: none */
};

/* Tell the screen loop an answer is in (it waits on wake[0] with the
 * terminal); a full pipe already says so. */
static void preview_wake(struct preview_worker *p)
{
	if (p->wake[1] >= 0) {
		ssize_t w = write(p->wake[1], "", 1);
		(void)w;
	}
}

struct tui {
	struct session *s;
	struct wb wb;
	struct view_stack vs;
	struct grid *g;
	struct preview_worker pw;
	uint64_t sent_seq, vsent_seq;
	bool curses, color, dirty, quit;
	int w, h;
	char status_shown[256];
	char snapshot_path[256];
	bool snapshot_pending; /* drawn without the prompt, then saved */
	char snapshot_to[256];
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* ---- preview worker --------------------------------------------------- */

/* Called with the lock held; drops it while computing. */
static void values_job(struct preview_worker *p)
{
	struct wb_values v = {.seq = p->vreq_seq, .rq = p->vreq_hist};
	size_t row = p->vreq_row;
	enum wb_which which = p->vreq_which;
	struct qspec spec = p->vreq_spec;
	bool keep = p->vreq_keep;
	struct qs_error err = {0};
	p->has_vreq = false;
	pthread_mutex_unlock(&p->mu);
	v.status = tui_hists(p->s, row, which, &spec, keep, &v.rq, &v.hx, &v.he, &err);
	snprintf(v.msg, sizeof v.msg, "%.255s", v.status ? err.msg : "");
	pthread_mutex_lock(&p->mu);
	gsl_histogram_free(p->vres.hx);
	gsl_histogram_free(p->vres.he);
	p->vres = v;
	p->vres_seq = v.seq;
	p->has_vres = true;
	preview_wake(p);
	pthread_cond_broadcast(&p->done_cv);
}

static void *preview_main(void *arg)
{
	struct preview_worker *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && !p->has_req && !p->has_vreq)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		if (p->has_vreq) {
			values_job(p);
			continue;
		}
		uint64_t seq = p->req_seq;
		size_t row = p->req_row;
		struct qspec spec = p->req_spec;
		p->has_req = false;
		pthread_mutex_unlock(&p->mu);
		struct tensor_result res = {0};
		struct qs_error err = {0};
		/* x's statistics do not change with the spec: keep the row's */
		const struct dist_stats *xs = p->xs_row == row ? &p->xs : NULL;
		int rc = session_preview(p->s, row, &spec, xs, &res, &err);
		if (!rc) {
			p->xs = res.xs;
			p->xs_row = row;
		}
		pthread_mutex_lock(&p->mu);
		tensor_result_free(&p->res);
		p->res = res;
		p->res_seq = seq;
		p->res_status = rc;
		snprintf(p->res_msg, sizeof p->res_msg, "%.255s", rc ? err.msg : "");
		p->has_res = true;
		preview_wake(p);
		pthread_cond_broadcast(&p->done_cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int preview_start(struct preview_worker *p, struct session *s)
{
	memset(p, 0, sizeof *p);
	p->s = s;
	p->xs_row = SIZE_MAX;
	p->wake[0] = p->wake[1] = -1;
	if (pipe(p->wake) != 0)
		p->wake[0] = p->wake[1] = -1;
	for (int k = 0; k < 2 && p->wake[k] >= 0; k++) {
		fcntl(p->wake[k], F_SETFL, O_NONBLOCK);
		fcntl(p->wake[k], F_SETFD, FD_CLOEXEC);
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	p->started = pthread_create(&p->th, NULL, preview_main, p) == 0;
	return p->started ? 0 : -1;
}

static void preview_stop(struct preview_worker *p)
{
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->th, NULL);
	}
	tensor_result_free(&p->res);
	gsl_histogram_free(p->vres.hx);
	gsl_histogram_free(p->vres.he);
	for (int k = 0; k < 2; k++)
		if (p->wake[k] >= 0)
			close(p->wake[k]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	pthread_cond_destroy(&p->done_cv);
}

/* Hand a new request to the worker; collect a finished answer into the wb.
 * wait: block until the answer to the newest request is in. */
static bool preview_sync(struct tui *t, bool wait)
{
	struct preview_worker *p = &t->pw;
	bool changed = false;
	pthread_mutex_lock(&p->mu);
	if (t->wb.req_seq != t->sent_seq) {
		p->req_seq = t->sent_seq = t->wb.req_seq;
		p->req_row = t->wb.req_row;
		p->req_spec = t->wb.req_spec;
		p->has_req = true;
		pthread_cond_signal(&p->cv);
	}
	if (t->wb.vreq_seq != t->vsent_seq) {
		p->vreq_seq = t->vsent_seq = t->wb.vreq_seq;
		p->vreq_row = t->wb.vreq_row;
		p->vreq_which = t->wb.vreq_which;
		p->vreq_spec = t->wb.vreq_spec;
		p->vreq_keep = t->wb.vreq_keep_float;
		p->vreq_hist = t->wb.vreq_hist;
		p->has_vreq = true;
		pthread_cond_signal(&p->cv);
	}
	while (wait && p->started &&
	       ((t->sent_seq && p->res_seq != t->sent_seq) ||
	        (t->vsent_seq && p->vres_seq != t->vsent_seq)))
		pthread_cond_wait(&p->done_cv, &p->mu);
	if (p->has_vres) {
		gsl_histogram_free(t->wb.vals.hx);
		gsl_histogram_free(t->wb.vals.he);
		t->wb.vals = p->vres;
		memset(&p->vres, 0, sizeof p->vres);
		p->has_vres = false;
		changed = true;
	}
	if (p->has_res) {
		tensor_result_free(&t->wb.preview.res);
		t->wb.preview.res = p->res;
		t->wb.preview.seq = p->res_seq;
		t->wb.preview.status = p->res_status;
		snprintf(t->wb.preview.msg, sizeof t->wb.preview.msg, "%s", p->res_msg);
		memset(&p->res, 0, sizeof p->res);
		p->has_res = false;
		changed = true;
	}
	pthread_mutex_unlock(&p->mu);
	return changed;
}

/* ---- actions the views leave to the app -------------------------------- */

static void push_prompt(struct tui *t, enum prompt_purpose purpose, const char *title,
                        const char *initial)
{
	struct view_args a = {.purpose = purpose, .title = title, .initial = initial};
	view_stack_push(&t->vs, VIEW_PROMPT, &a);
}

static void ask_quit(struct tui *t)
{
	if (!session_dirty(t->s)) {
		t->quit = true;
		return;
	}
	struct view_args a = {.title = "Choices not written or saved as a recipe. Quit anyway?"};
	const struct view *top = view_stack_top(&t->vs);
	if (top && top->ops != view_ops_of(VIEW_CONFIRM))
		view_stack_push(&t->vs, VIEW_CONFIRM, &a);
}

static void data_changed(struct tui *t)
{
	t->wb.data_gen++;
}

static void do_undo(struct tui *t, bool redo)
{
	bool ok = redo ? session_redo(t->s) : session_undo(t->s);
	wb_status(&t->wb, false, "%s",
	          ok ? (redo ? "redone" : "undone")
	             : (redo ? "nothing to redo" : "nothing to undo"));
	if (ok)
		data_changed(t);
}

static void handle_req(struct tui *t, enum view_req req)
{
	if (req == REQ_QUIT)
		ask_quit(t);
	else if (req == REQ_UNDO || req == REQ_REDO)
		do_undo(t, req == REQ_REDO);
	else if (req == REQ_EXPORT)
		push_prompt(t, PROMPT_EXPORT, "Export CSV (per-tensor; per-channel beside it)",
		            t->wb.default_export);
	else if (req == REQ_WRITE)
		push_prompt(t, PROMPT_WRITE, "Write the model with the current choices",
		            t->wb.default_model);
	else if (req == REQ_RECIPE)
		push_prompt(t, PROMPT_RECIPE, "Save the choices as a recipe CSV",
		            t->wb.default_recipe);
	else if (req == REQ_LOAD_RECIPE)
		push_prompt(t, PROMPT_LOAD_RECIPE, "Load a recipe CSV onto the tensors",
		            t->wb.default_recipe);
	else if (req == REQ_SNAPSHOT)
		push_prompt(t, PROMPT_SNAPSHOT, "Save this screen (.svg, or .txt for text)",
		            t->snapshot_path);
	else if (req == REQ_SHOW && t->wb.quant_path)
		t->wb.show = t->wb.show == WB_SHIPPED ? WB_WHATIF : WB_SHIPPED;
}

static void apply_edit(struct tui *t, const struct action *a)
{
	size_t n = session_rows(t->s), k = 0;
	size_t *idx = malloc((n ? n : 1) * sizeof *idx);
	if (!idx)
		return;
	for (size_t i = 0; i < n; i++) {
		bool take =
		        a->scope == WB_SCOPE_ALL ||
		        (a->scope == WB_SCOPE_MARKED && i < t->wb.nmarked_cap && t->wb.marked[i]) ||
		        (a->scope == WB_SCOPE_THIS && i == a->row);
		if (take && session_row(t->s, i)->ft)
			idx[k++] = i;
	}
	if (k) {
		char m[64];
		session_set_spec(t->s, idx, k, &a->spec, a->keep_float);
		t->wb.show = WB_WHATIF;
		wb_status(
		        &t->wb, false, "retuned %zu tensor%s: %s (u undo)%s", k, k == 1 ? "" : "s",
		        a->keep_float ? "keep-float" : method_format(&a->spec.method, m, sizeof m),
		        t->wb.quant_path ? "; showing what-if (v: as shipped)" : "");
		data_changed(t);
	} else {
		wb_status(&t->wb, true, "nothing to apply: no marked tensor with float weights");
	}
	free(idx);
}

static bool scheme_equal(const struct scheme *a, const struct scheme *b)
{
	return a->bits == b->bits && a->is_signed == b->is_signed && a->symmetric == b->symmetric &&
	       a->narrow == b->narrow && a->reduce_range == b->reduce_range && a->gran == b->gran &&
	       a->axis == b->axis && a->group_size == b->group_size && a->rounding == b->rounding &&
	       a->scale_floor == b->scale_floor;
}

static bool choice_equal(const struct qspec *a, bool ka, const struct qspec *b, bool kb)
{
	return ka == kb && a->qt == b->qt && scheme_equal(&a->scheme, &b->scheme) &&
	       a->method.kind == b->method.kind && a->method.percentile == b->method.percentile;
}

/* Apply a recipe to every row it matches: rows that end with the same
 * choice form one undoable edit. */
static int load_recipe(struct tui *t, const char *path, struct qs_error *err)
{
	struct recipe *rec = NULL;
	int rc = recipe_load(path, &rec, err);
	if (rc)
		return rc;
	size_t n = session_rows(t->s), edits = 0, rows = 0;
	struct qspec *spec = calloc(n ? n : 1, sizeof *spec);
	bool *keep = calloc(n ? n : 1, sizeof *keep), *todo = calloc(n ? n : 1, sizeof *todo);
	size_t *idx = calloc(n ? n : 1, sizeof *idx);
	if (!spec || !keep || !todo || !idx) {
		rc = qs_error_set(err, QS_ERR_NOMEM, "%s: no memory", path);
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct session_row *r = session_row(t->s, i);
		spec[i] = r->spec;
		keep[i] = r->keep_float;
		todo[i] = r->ft && recipe_apply(rec, r->name, &spec[i], &keep[i]) &&
		          !choice_equal(&spec[i], keep[i], &r->spec, r->keep_float);
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		for (size_t j = i; j < n && todo[i]; j++)
			if (todo[j] && choice_equal(&spec[i], keep[i], &spec[j], keep[j]))
				idx[k++] = j;
		for (size_t j = 0; j < k; j++)
			todo[idx[j]] = false;
		if (k) {
			session_set_spec(t->s, idx, k, &spec[idx[0]], keep[idx[0]]);
			edits++;
			rows += k;
		}
	}
	free(spec);
	free(keep);
	free(todo);
	free(idx);
	recipe_free(rec);
	if (!rc) {
		if (edits)
			t->wb.show = WB_WHATIF;
		data_changed(t);
		wb_status(&t->wb, false, "%s: %zu tensor%s changed in %zu edit%s (u undoes one)",
		          path, rows, rows == 1 ? "" : "s", edits, edits == 1 ? "" : "s");
	}
	return rc;
}

static void do_path(struct tui *t, const struct action *a)
{
	struct qs_error err = {0};
	char chan[300];
	int rc;
	if (!a->text[0]) {
		wb_status(&t->wb, true, "no file name given");
		return;
	}
	if (a->purpose == PROMPT_EXPORT) {
		tui_channels_path(a->text, chan, sizeof chan);
		rc = tui_export_csv(t->s, a->text, chan, &err);
		if (!rc)
			wb_status(&t->wb, false, "exported %s and %s", a->text, chan);
		snprintf(t->wb.default_export, sizeof t->wb.default_export, "%s", a->text);
	} else if (a->purpose == PROMPT_WRITE) {
		rc = session_write_model(t->s, a->text, false, &err);
		if (!rc)
			wb_status(&t->wb, false, "wrote %s", a->text);
		snprintf(t->wb.default_model, sizeof t->wb.default_model, "%s", a->text);
	} else if (a->purpose == PROMPT_LOAD_RECIPE) {
		rc = load_recipe(t, a->text, &err);
	} else if (a->purpose == PROMPT_SNAPSHOT) {
		snprintf(t->snapshot_path, sizeof t->snapshot_path, "%s", a->text);
		snprintf(t->snapshot_to, sizeof t->snapshot_to, "%s", a->text);
		t->snapshot_pending = true;
		return;
	} else {
		rc = session_save_recipe(t->s, a->text, &err);
		if (!rc)
			wb_status(&t->wb, false, "saved recipe %s", a->text);
		snprintf(t->wb.default_recipe, sizeof t->wb.default_recipe, "%s", a->text);
	}
	if (rc)
		wb_status(&t->wb, true, "%s", err.msg);
}

/* The screen as the user sees it (the prompt already closed), as SVG or,
 * for a .txt name, as text; written to a temp file and renamed. */
static void save_snapshot(struct tui *t)
{
	struct qs_error err = {0};
	struct atomic_file af;
	const char *p = t->snapshot_to;
	size_t n = strlen(p);
	bool txt = n > 4 && strcmp(p + n - 4, ".txt") == 0;
	t->snapshot_pending = false;
	view_stack_draw(&t->vs, t->g);
	char *doc = txt ? grid_to_text(t->g) : grid_to_svg(t->g, 8, 16);
	int rc = doc ? atomic_open(&af, p, &err) : qs_error_set(&err, QS_ERR_NOMEM, "no memory");
	if (!rc && fputs(doc, af.f) < 0) {
		atomic_abort(&af);
		rc = qs_error_set(&err, QS_ERR_IO, "%s: write failed", p);
	} else if (!rc) {
		rc = atomic_commit(&af, &err);
	}
	free(doc);
	if (rc)
		wb_status(&t->wb, true, "%s", err.msg);
	else
		wb_status(&t->wb, false, "saved the screen to %s", p);
}

static void tui_input(struct tui *t, const struct input *in)
{
	struct action a;
	if (in->kind == IN_KEY && in->req != REQ_NONE)
		t->wb.status[0] = 0;
	view_stack_handle(&t->vs, in, &a);
	if (a.kind == ACT_PASS && in->kind == IN_KEY)
		handle_req(t, in->req);
	else if (a.kind == ACT_APPLY)
		apply_edit(t, &a);
	else if (a.kind == ACT_PATH)
		do_path(t, &a);
	else if (a.kind == ACT_QUIT)
		t->quit = true;
	if (t->snapshot_pending)
		save_snapshot(t);
	t->dirty = true;
}

static void tui_resize(struct tui *t, int w, int h)
{
	if (w < 1 || h < 1)
		return;
	t->w = w;
	t->h = h;
	grid_resize(t->g, w, h);
	view_stack_resize(&t->vs, w, h);
	t->dirty = true;
}

/* Collect finished analysis; true when something changed. */
static bool tui_poll(struct tui *t, int timeout_ms)
{
	size_t n = session_poll(t->s, timeout_ms);
	size_t done = session_done(t->s);
	bool changed = n > 0 || done != t->wb.done;
	t->wb.done = done;
	t->wb.total = session_rows(t->s);
	if (changed)
		data_changed(t);
	return changed;
}

static void default_paths(struct tui *t)
{
	char buf[256], *base;
	snprintf(buf, sizeof buf, "%s", t->wb.float_path);
	base = basename(buf);
	char *dot = strrchr(base, '.');
	const char *ext = dot ? strrchr(t->wb.float_path, '.') : "";
	if (dot)
		*dot = 0;
	snprintf(t->wb.default_model, sizeof t->wb.default_model, "%.200s_qscope%.16s", base, ext);
}

static int tui_init(struct tui *t, struct session *s, bool utf8, int w, int h)
{
	memset(t, 0, sizeof *t);
	t->s = s;
	struct wb_source src;
	tui_source_init(&src, s);
	const struct model *qm = session_quant_model(s);
	wb_init(&t->wb, &src, session_float_model(s)->path, qm ? qm->path : NULL, utf8);
	default_paths(t);
	t->wb.async_values = true;
	snprintf(t->snapshot_path, sizeof t->snapshot_path, "qscope_screen.svg");
	t->w = w;
	t->h = h;
	t->g = grid_new(w, h, utf8);
	if (!t->g || preview_start(&t->pw, s) != 0)
		return -1;
	tui_poll(t, 0);
	if (view_stack_init(&t->vs, &t->wb, w, h) != 0)
		return -1;
	t->dirty = true;
	return 0;
}

static void tui_fini(struct tui *t)
{
	view_stack_free(&t->vs);
	preview_stop(&t->pw);
	wb_release(&t->wb);
	grid_free(t->g);
}

static bool locale_utf8(void)
{
	setlocale(LC_ALL, "");
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

/* ---- curses ------------------------------------------------------------ */

struct style_attr {
	short fg, bg;
	attr_t color_attr, mono_attr;
};

static const struct style_attr style_attrs[ST_COUNT] = {
        [ST_NORMAL] = {-1, -1, 0, 0},
        [ST_HEADER] = {COLOR_WHITE, COLOR_BLUE, A_BOLD, A_BOLD | A_UNDERLINE},
        [ST_TITLE] = {COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
        [ST_SELECTED] = {COLOR_BLACK, COLOR_WHITE, 0, A_REVERSE},
        [ST_MARKED] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
        [ST_OK] = {COLOR_GREEN, -1, 0, 0},
        [ST_WARN] = {COLOR_YELLOW, -1, A_BOLD, A_UNDERLINE},
        [ST_RISK] = {COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE},
        [ST_DIM] = {-1, -1, A_DIM, A_DIM},
        [ST_STATUS] = {COLOR_WHITE, COLOR_BLACK, 0, 0},
        [ST_ERROR] = {COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD},
        [ST_KEY] = {COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
        [ST_BAR] = {COLOR_CYAN, -1, 0, 0},
        [ST_GRID] = {COLOR_MAGENTA, -1, A_BOLD, A_BOLD},
        [ST_CLIP] = {COLOR_RED, -1, A_BOLD, A_BOLD},
        [ST_DIALOG] = {COLOR_WHITE, COLOR_BLUE, 0, 0},
        [ST_FIELD] = {COLOR_BLACK, COLOR_YELLOW, 0, A_REVERSE},
};

static void curses_colors(struct tui *t)
{
	const char *nc = getenv("NO_COLOR");
	t->color = has_colors() && !(nc && *nc);
	if (!t->color)
		return;
	start_color();
	/* Without default-colour support, −1 is not a colour: white on black. */
	bool dflt = use_default_colors() == OK;
	for (int i = 1; i < ST_COUNT; i++) {
		short fg = style_attrs[i].fg, bg = style_attrs[i].bg;
		init_pair((short)i, fg < 0 && !dflt ? COLOR_WHITE : fg,
		          bg < 0 && !dflt ? COLOR_BLACK : bg);
	}
}

static void curses_start(struct tui *t)
{
	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	timeout(0); /* curses_read waits in poll(), on the terminal and the worker */
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	mouseinterval(0);
	curses_colors(t);
	t->curses = true;
}

static void curses_blit(struct tui *t)
{
	for (int y = 0; y < t->g->h && y < LINES; y++)
		for (int x = 0; x < t->g->w && x < COLS; x++) {
			const struct cell *c = grid_at(t->g, x, y);
			int st = c->style < ST_COUNT ? c->style : ST_NORMAL;
			wchar_t wc[2] = {(wchar_t)c->ch, 0};
			cchar_t cc;
			attr_t a =
			        t->color ? style_attrs[st].color_attr : style_attrs[st].mono_attr;
			setcchar(&cc, wc, a, t->color ? (short)st : 0, NULL);
			mvadd_wch(y, x, &cc);
		}
	wnoutrefresh(stdscr);
	doupdate();
}

/* A key, or false after up to 50 ms without one (the loop then collects
 * analysis progress) or as soon as the preview worker has an answer. */
static bool curses_read(struct tui *t, struct input *in)
{
	int k = getch();
	if (k == ERR) {
		int wfd = t->pw.wake[0];
		struct pollfd pf[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
		                       {.fd = wfd, .events = POLLIN}};
		if (poll(pf, wfd >= 0 ? 2 : 1, 50) <= 0)
			return false;
		char buf[64];
		while (wfd >= 0 && (pf[1].revents & POLLIN) && read(wfd, buf, sizeof buf) > 0)
			;
		if (!(pf[0].revents & POLLIN) || (k = getch()) == ERR)
			return false;
	}
	*in = (struct input){.kind = IN_KEY, .key = k, .req = view_key_req(k)};
	if (k == KEY_MOUSE) {
		MEVENT ev;
		if (getmouse(&ev) != OK)
			return false;
		in->mx = ev.x;
		in->my = ev.y;
		in->req = REQ_NONE;
		if (ev.bstate & BUTTON4_PRESSED)
			in->kind = IN_WHEEL_UP;
		else if (ev.bstate & BUTTON5_PRESSED)
			in->kind = IN_WHEEL_DOWN;
		else if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED))
			in->kind = IN_CLICK;
		else
			return false; /* a release: the press already acted */
	}
	return true;
}

static int run_curses(struct tui *t, long max_frames)
{
	long frames = 0;
	while (!t->quit && !got_signal && (max_frames <= 0 || frames < max_frames)) {
		bool polled = tui_poll(t, 0), synced = preview_sync(t, false); /* both, always */
		if (polled || synced)
			t->dirty = true;
		if (strcmp(t->status_shown, t->wb.status) != 0)
			t->dirty = true;
		if (t->dirty) {
			view_stack_draw(&t->vs, t->g);
			curses_blit(t);
			snprintf(t->status_shown, sizeof t->status_shown, "%s", t->wb.status);
			t->dirty = false;
			/* a view may ask for data while it draws: send it now */
			t->dirty = preview_sync(t, false);
		}
		frames++;
		struct input in;
		if (!curses_read(t, &in))
			continue;
		if (in.key == KEY_RESIZE) {
			tui_resize(t, COLS, LINES);
			clearok(curscr, TRUE);
			continue;
		}
		tui_input(t, &in);
	}
	return 0;
}

/* ---- headless (golden screens, scripted runs) --------------------------- */

static bool dump_grid(const struct grid *g, const char *path)
{
	char *txt = grid_to_text(g);
	FILE *f = txt ? fopen(path, "w") : NULL;
	bool ok = f && fputs(txt, f) >= 0;
	if (f && fclose(f) != 0)
		ok = false;
	free(txt);
	return ok;
}

/* Wait until every row is analysed and the newest preview is in. */
static void settle(struct tui *t)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		tui_poll(t, 20);
		if (session_done(t->s) >= session_rows(t->s))
			break;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 120)
			break;
	}
	preview_sync(t, true);
}

static int run_script(struct tui *t, const char *keys, const char *dump)
{
	struct tui_token tok;
	const char *p = keys ? keys : "";
	int rc = 0;
	settle(t);
	while (!t->quit && (p = tui_keys_next(p, &tok)) != NULL) {
		if (tok.kind == TOK_RESIZE) {
			tui_resize(t, tok.w, tok.h);
		} else if (tok.kind == TOK_DUMP) {
			view_stack_draw(&t->vs, t->g);
			settle(t); /* what that frame asked for */
			view_stack_draw(&t->vs, t->g);
			if (!dump_grid(t->g, tok.path))
				rc = 2;
		} else if (tok.kind == TOK_INPUT) {
			tui_input(t, &tok.in);
		}
		settle(t);
		view_stack_draw(&t->vs, t->g); /* every frame, as on a terminal */
	}
	view_stack_draw(&t->vs, t->g);
	settle(t);
	view_stack_draw(&t->vs, t->g);
	if (dump && *dump && !dump_grid(t->g, dump))
		rc = 2;
	return rc;
}

static void size_from_env(int *w, int *h)
{
	const char *s = getenv("QSCOPE_TUI_SIZE");
	*w = 80;
	*h = 24;
	if (s && sscanf(s, "%dx%d", w, h) != 2) {
		*w = 80;
		*h = 24;
	}
}

int tui_run(struct session *s)
{
	struct tui t;
	bool utf8 = locale_utf8();
	const char *dump = getenv("QSCOPE_TUI_DUMP"), *keys = getenv("QSCOPE_TUI_KEYS");
	const char *mf = getenv("QSCOPE_TUI_MAX_FRAMES");
	int w, h, rc;
	if (dump) {
		size_from_env(&w, &h);
		if (tui_init(&t, s, utf8, w, h) != 0) {
			tui_fini(&t);
			return 2;
		}
		rc = run_script(&t, keys, dump);
		tui_fini(&t);
		return rc;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (tui_init(&t, s, utf8, 80, 24) != 0) {
		tui_fini(&t);
		return 2;
	}
	curses_start(&t);
	tui_resize(&t, COLS, LINES);
	rc = run_curses(&t, mf ? atol(mf) : 0);
	endwin();
	tui_fini(&t);
	return got_signal ? 128 + got_signal : rc;
}
