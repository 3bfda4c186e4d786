/* Live retune dialog: each field is a list of choices; every change sends a
 * preview request the app answers from a worker, shown as before -> after. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plots/chart.h"
#include "view.h"
#include "vutil.h"

struct retune_state {
	struct wb *wb;
	size_t row;
	struct qspec spec;
	bool keep_float;
	enum wb_scope scope;
	int focus;
	int field_y; /* screen row of the first field (from the last draw) */
	uint64_t seq;
	struct wb_row before;
};

static const double percentiles[] = {99.0, 99.9, 99.99, 99.999};
static const double floors[] = {0, 1e-8, 1e-6, 1e-5, 1e-4};
static const uint64_t groups[] = {32, 64, 128, 256};
#define NPCT   (int)(sizeof percentiles / sizeof percentiles[0])
#define NFLOOR (int)(sizeof floors / sizeof floors[0])
#define NGROUP (int)(sizeof groups / sizeof groups[0])

/* One field: how many choices, which is current, choose one, its label. */
struct field {
	const char *name;
	int (*count)(const struct retune_state *t);
	int (*get)(const struct retune_state *t);
	void (*set)(struct retune_state *t, int i);
	void (*label)(const struct retune_state *t, int i, char *buf, size_t len);
	bool (*active)(const struct retune_state *t); /* NULL: always */
};

static int method_count(const struct retune_state *t)
{
	(void)t;
	return METHOD_COUNT;
}
static int method_get(const struct retune_state *t)
{
	return (int)t->spec.method.kind;
}
static void method_set(struct retune_state *t, int i)
{
	t->spec.method.kind = (enum method_kind)i;
	if (i == METHOD_PERCENTILE && !(t->spec.method.percentile > 0))
		t->spec.method.percentile = 99.99;
}
static void method_label(const struct retune_state *t, int i, char *b, size_t n)
{
	(void)t;
	snprintf(b, n, "%s", method_kind_name((enum method_kind)i));
}

static int qtype_count_f(const struct retune_state *t)
{
	(void)t;
	return (int)qtype_count() + 1;
}
static int qtype_get(const struct retune_state *t)
{
	for (size_t i = 0; i < qtype_count(); i++)
		if (qtype_at(i) == t->spec.qt)
			return (int)i + 1;
	return 0;
}
static void qtype_set(struct retune_state *t, int i)
{
	t->spec.qt = i == 0 ? NULL : qtype_at((size_t)i - 1);
	if (t->spec.qt && t->spec.qt->family == QTYPE_LINEAR) {
		t->spec.scheme.bits = t->spec.qt->bits;
		t->spec.scheme.is_signed = t->spec.qt->is_signed;
	}
}
static void qtype_label(const struct retune_state *t, int i, char *b, size_t n)
{
	(void)t;
	snprintf(b, n, "%s", i == 0 ? "linear (bits, scheme)" : qtype_at((size_t)i - 1)->name);
}

static bool linear_only(const struct retune_state *t)
{
	return !t->spec.qt;
}
static bool not_block(const struct retune_state *t)
{
	return !t->spec.qt || t->spec.qt->family == QTYPE_LINEAR;
}

static int bits_count(const struct retune_state *t)
{
	(void)t;
	return 15;
}
static int bits_get(const struct retune_state *t)
{
	return t->spec.scheme.bits - 2;
}
static void bits_set(struct retune_state *t, int i)
{
	t->spec.scheme.bits = i + 2;
}
static void bits_label(const struct retune_state *t, int i, char *b, size_t n)
{
	snprintf(b, n, "%d (%s)", i + 2, t->spec.scheme.is_signed ? "signed" : "unsigned");
}

static int two(const struct retune_state *t)
{
	(void)t;
	return 2;
}
static int scheme_get(const struct retune_state *t)
{
	return t->spec.scheme.symmetric ? 0 : 1;
}
static void scheme_set(struct retune_state *t, int i)
{
	t->spec.scheme.symmetric = i == 0;
}
static void scheme_label(const struct retune_state *t, int i, char *b, size_t n)
{
	(void)t;
	snprintf(b, n, "%s", i == 0 ? "symmetric" : "asymmetric (affine)");
}

static int gran_count(const struct retune_state *t)
{
	(void)t;
	return 2 + NGROUP;
}
static int gran_get(const struct retune_state *t)
{
	if (t->spec.scheme.gran != GRAN_GROUP)
		return t->spec.scheme.gran == GRAN_TENSOR ? 0 : 1;
	for (int i = 0; i < NGROUP; i++)
		if (groups[i] == t->spec.scheme.group_size)
			return 2 + i;
	return 2;
}
static void gran_set(struct retune_state *t, int i)
{
	t->spec.scheme.gran = i == 0 ? GRAN_TENSOR : i == 1 ? GRAN_CHANNEL : GRAN_GROUP;
	if (i >= 2)
		t->spec.scheme.group_size = groups[i - 2];
}
static void gran_label(const struct retune_state *t, int i, char *b, size_t n)
{
	if (i >= 2)
		snprintf(b, n, "group:%llu (axis %d)", (unsigned long long)groups[i - 2],
		         t->spec.scheme.axis);
	else if (i == 1)
		snprintf(b, n, "channel (axis %d)", t->spec.scheme.axis);
	else
		snprintf(b, n, "tensor");
}

static int pct_count(const struct retune_state *t)
{
	(void)t;
	return NPCT;
}
static int pct_get(const struct retune_state *t)
{
	for (int i = 0; i < NPCT; i++)
		if (fabs(percentiles[i] - t->spec.method.percentile) < 1e-9)
			return i;
	return 2;
}
static void pct_set(struct retune_state *t, int i)
{
	t->spec.method.percentile = percentiles[i];
}
static void pct_label(const struct retune_state *t, int i, char *b, size_t n)
{
	(void)t;
	snprintf(b, n, "%g", percentiles[i]);
}
static bool pct_active(const struct retune_state *t)
{
	return t->spec.method.kind == METHOD_PERCENTILE;
}

static int floor_count(const struct retune_state *t)
{
	(void)t;
	return NFLOOR;
}
static int floor_get(const struct retune_state *t)
{
	for (int i = 0; i < NFLOOR; i++)
		if (floors[i] == t->spec.scheme.scale_floor)
			return i;
	return 0;
}
static void floor_set(struct retune_state *t, int i)
{
	t->spec.scheme.scale_floor = floors[i];
}
static void floor_label(const struct retune_state *t, int i, char *b, size_t n)
{
	(void)t;
	if (i == 0)
		snprintf(b, n, "none");
	else
		snprintf(b, n, "%g", floors[i]);
}

static int keep_get(const struct retune_state *t)
{
	return t->keep_float;
}
static void keep_set(struct retune_state *t, int i)
{
	t->keep_float = i == 1;
}
static void keep_label(const struct retune_state *t, int i, char *b, size_t n)
{
	(void)t;
	snprintf(b, n, "%s", i ? "yes (leave this tensor in float)" : "no");
}

static int scope_count(const struct retune_state *t)
{
	(void)t;
	return 3;
}
static int scope_get(const struct retune_state *t)
{
	return (int)t->scope;
}
static void scope_set(struct retune_state *t, int i)
{
	t->scope = (enum wb_scope)i;
}
static void scope_label(const struct retune_state *t, int i, char *b, size_t n)
{
	if (i == WB_SCOPE_THIS)
		snprintf(b, n, "this tensor");
	else if (i == WB_SCOPE_MARKED)
		snprintf(b, n, "marked tensors (%zu)", wb_marked_count(t->wb));
	else
		snprintf(b, n, "all tensors (%zu)", wb_count(t->wb));
}

static const struct field fields[] = {
        {"method", method_count, method_get, method_set, method_label, NULL},
        {"percentile", pct_count, pct_get, pct_set, pct_label, pct_active},
        {"qtype", qtype_count_f, qtype_get, qtype_set, qtype_label, NULL},
        {"bits", bits_count, bits_get, bits_set, bits_label, linear_only},
        {"scheme", two, scheme_get, scheme_set, scheme_label, not_block},
        {"granularity", gran_count, gran_get, gran_set, gran_label, not_block},
        {"scale floor", floor_count, floor_get, floor_set, floor_label, NULL},
        {"keep float", two, keep_get, keep_set, keep_label, NULL},
        {"apply to", scope_count, scope_get, scope_set, scope_label, NULL},
};
#define NFIELDS (int)(sizeof fields / sizeof fields[0])

static void request_preview(struct retune_state *t)
{
	t->wb->req_seq++;
	t->wb->req_row = t->row;
	t->wb->req_spec = t->spec;
	t->seq = t->wb->req_seq;
}

static int retune_open(struct view *v, const struct view_args *a)
{
	struct retune_state *t = calloc(1, sizeof *t);
	if (!t)
		return -1;
	t->wb = v->wb;
	t->row = a->row;
	v->wb->src.get_row(v->wb->src.ctx, a->row, WB_WHATIF, &t->before);
	t->spec = t->before.spec;
	t->keep_float = t->before.keep_float;
	t->scope = wb_marked_count(v->wb) > 0 ? WB_SCOPE_MARKED : WB_SCOPE_THIS;
	t->field_y = -100;
	v->st = t;
	request_preview(t);
	return 0;
}

static void retune_close(struct view *v)
{
	free(v->st);
}

static void draw_fields(struct retune_state *t, struct grid *g, int x, int y, int w)
{
	for (int i = 0; i < NFIELDS; i++) {
		char val[96];
		const struct field *f = &fields[i];
		bool on = !f->active || f->active(t);
		f->label(t, f->get(t), val, sizeof val);
		int st = i == t->focus ? ST_FIELD : on ? ST_DIALOG : ST_DIM;
		grid_printf(g, x, y + i, 14, on ? ST_DIALOG : ST_DIM, "%-13s", f->name);
		grid_printf(g, x + 14, y + i, w - 14, st, "%s %s %s", g->utf8 ? "\u25c2" : "<", val,
		            g->utf8 ? "\u25b8" : ">");
	}
}

struct cmp_line {
	const char *name;
	int sig;
	size_t off; /* offset in struct err_metrics of a double */
	bool db;
};

#define EM(f) offsetof(struct err_metrics, f)
static const struct cmp_line cmp_lines[] = {
        {"SQNR dB", 0, EM(sqnr_db), true},        {"RMSE", 4, EM(rmse), false},
        {"max |err|", 4, EM(max_abs_err), false}, {"clipped %", 3, EM(clipped_pct), false},
        {"cosine", 6, EM(cosine), false},
};

static void fmt_metric(const struct cmp_line *c, const struct tensor_result *r, char *b, size_t n)
{
	double v = *(const double *)((const char *)&r->m + c->off);
	if (c->db)
		view_fmt_db(b, n, v);
	else
		chart_fmt(b, n, v, c->sig);
}

static const struct tensor_result *after_result(const struct retune_state *t, const char **why)
{
	const struct wb_preview *p = &t->wb->preview;
	*why = NULL;
	if (t->keep_float)
		*why = "kept in float: no quantization error";
	else if (p->seq != t->seq)
		*why = "computing...";
	else if (p->status != 0)
		*why = p->msg;
	return *why ? NULL : &p->res;
}

static void draw_compare(struct retune_state *t, struct grid *g, int x, int y, int w)
{
	const struct tensor_result *before = t->before.state == WB_DONE ? t->before.res : NULL;
	const char *why;
	const struct tensor_result *after = after_result(t, &why);
	const char *arrow = g->utf8 ? "\u2192" : "->";
	grid_printf(g, x, y, w, ST_HEADER, "%-12s %12s    %12s", "", "current", "new");
	for (size_t i = 0; i < sizeof cmp_lines / sizeof cmp_lines[0]; i++) {
		char a[32] = "-", b[32] = "";
		if (before)
			fmt_metric(&cmp_lines[i], before, a, sizeof a);
		if (after)
			fmt_metric(&cmp_lines[i], after, b, sizeof b);
		int st = ST_DIALOG;
		if (after && cmp_lines[i].db)
			st = view_sqnr_style(after->m.sqnr_db);
		grid_printf(g, x, y + 1 + (int)i, w, ST_DIALOG, "%-12s %12s %s ", cmp_lines[i].name,
		            a, arrow);
		grid_printf(g, x + 12 + 1 + 12 + 4, y + 1 + (int)i, w - 29, st, "%12s", b);
	}
	int ry = y + 1 + (int)(sizeof cmp_lines / sizeof cmp_lines[0]);
	grid_printf(g, x, ry, w, ST_DIALOG, "%-12s %12s %s ", "risk level",
	            before ? risk_level_name(before->risk) : "-", arrow);
	if (after)
		grid_printf(g, x + 29, ry, w - 29, view_risk_style(after->risk), "%12s",
		            risk_level_name(after->risk));
	if (why)
		grid_text(g, x, ry + 1, w, ST_DIM, why);
}

/* In measure mode, the model's own quantization for reference. */
static void draw_shipped(struct retune_state *t, struct grid *g, int x, int y, int w)
{
	struct wb_row r;
	char a[32];
	if (!t->wb->quant_path)
		return;
	t->wb->src.get_row(t->wb->src.ctx, t->row, WB_SHIPPED, &r);
	if (r.state == WB_DONE && r.res)
		grid_printf(g, x, y, w, ST_DIM, "as shipped (%s %s %s): SQNR %s dB", r.qtype,
		            r.scheme, r.gran, view_fmt_db(a, sizeof a, r.res->m.sqnr_db));
}

static void retune_draw(struct view *v, struct grid *g)
{
	struct retune_state *t = v->st;
	int w = v->w - 4 < 66 ? v->w - 4 : 66, h = 22;
	h = h > v->h ? v->h : h;
	int x = v->x + (v->w - w) / 2, y = v->y + (v->h - h) / 2;
	char title[128];
	snprintf(title, sizeof title, "Retune %s", t->before.name);
	grid_box(g, x, y, w, h, ST_DIALOG, title);
	grid_clip(g, x + 1, y + 1, w - 2, h - 2);
	t->field_y = y + 1;
	draw_fields(t, g, x + 2, y + 1, w - 4);
	draw_shipped(t, g, x + 2, y + 1 + NFIELDS, w - 4);
	draw_compare(t, g, x + 2, y + 2 + NFIELDS, w - 4);
	grid_text(g, x + 2, y + h - 2, w - 4, ST_DIM,
	          "Up/Down field  Left/Right change  Enter apply  Esc cancel");
	grid_unclip(g);
}

static void change(struct retune_state *t, int delta)
{
	const struct field *f = &fields[t->focus];
	int n = f->count(t), i = f->get(t) + delta;
	f->set(t, (i % n + n) % n);
	request_preview(t);
}

static void retune_handle(struct view *v, const struct input *in, struct action *out)
{
	struct retune_state *t = v->st;
	out->kind = ACT_NONE;
	out->row = t->row;
	if (in->kind == IN_CLICK) {
		/* A click picks a field; on the picked field it steps the value. */
		int f = in->my - t->field_y;
		if (f >= 0 && f < NFIELDS && f == t->focus)
			change(t, 1);
		else if (f >= 0 && f < NFIELDS)
			t->focus = f;
		return;
	}
	if (in->kind != IN_KEY)
		return;
	if (in->req == REQ_UP || in->req == REQ_DOWN) {
		t->focus = (t->focus + (in->req == REQ_UP ? NFIELDS - 1 : 1)) % NFIELDS;
	} else if (in->req == REQ_LEFT || in->req == REQ_RIGHT || in->req == REQ_MARK) {
		change(t, in->req == REQ_LEFT ? -1 : 1);
	} else if (in->req == REQ_ENTER) {
		out->kind = ACT_APPLY;
		out->spec = t->spec;
		out->keep_float = t->keep_float;
		out->scope = t->scope;
	} else if (in->req == REQ_BACK || in->req == REQ_RETUNE) {
		out->kind = ACT_CLOSE;
	} else if (in->req != REQ_HELP && in->req != REQ_QUIT) {
		return; /* the dialog is modal: other keys do nothing */
	} else {
		out->kind = ACT_PASS;
	}
}

static bool retune_row(const struct view *v, size_t *row)
{
	*row = ((const struct retune_state *)v->st)->row;
	return true;
}

const struct view_ops view_retune_ops = {
        .name = "retune",
        .dialog = true,
        .hints = "Up/Down field|Left/Right change|Enter apply|Esc cancel",
        .open = retune_open,
        .close = retune_close,
        .draw = retune_draw,
        .handle = retune_handle,
        .row = retune_row,
};
