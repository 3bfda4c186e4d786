#include "report.h"

#include <csv.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"

static const char *const tensor_cols[] = {
        "tensor",
        "shape",
        "dtype",
        "qtype",
        "elements",
        "bits",
        "scheme",
        "granularity",
        "method",
        "scale_min",
        "scale_max",
        "zero_point",
        "clip_min",
        "clip_max",
        "mse",
        "rmse",
        "mae",
        "max_abs_err",
        "sqnr_db",
        "cosine",
        "clipped_pct",
        "levels_used",
        "entropy_bits",
        "overflow_risk",
        "rmse_over_scale",
        "n_nan",
        "n_inf",
        "status",
        "note",
        "whatif_qtype",
        "whatif_bits",
        "whatif_scheme",
        "whatif_granularity",
        "whatif_method",
        "whatif_mse",
        "whatif_sqnr_db",
        "whatif_max_abs_err",
        "whatif_clipped_pct",
        "whatif_overflow_risk",
};

static const char *const channel_cols[] = {
        "tensor", "channel", "elements",    "min",     "max",         "scale",         "zero_point",
        "mse",    "rmse",    "max_abs_err", "sqnr_db", "clipped_pct", "overflow_risk",
};

#define NTENSOR_COLS         (sizeof tensor_cols / sizeof tensor_cols[0])
#define NCHANNEL_COLS        (sizeof channel_cols / sizeof channel_cols[0])
#define CONTRACT_TENSOR_COLS 24 /* the design.md columns */

struct report_writer {
	FILE *f;
	bool own; /* af holds the output (report_writer_new) */
	struct atomic_file af;
	enum report_kind kind;
	char label[256];
};

/* ---- cell text --------------------------------------------------------- */

const char *report_format_double(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "nan");
	else if (isinf(v))
		snprintf(buf, len, v > 0 ? "inf" : "-inf");
	else
		snprintf(buf, len, "%.17g", v);
	return buf;
}

const char *report_format_shape(const int64_t *shape, int ndim, char *buf, size_t len)
{
	size_t o = 0;

	if (ndim <= 0) {
		snprintf(buf, len, "scalar");
		return buf;
	}
	buf[0] = '\0';
	for (int k = 0; k < ndim && o < len; k++)
		o += (size_t)snprintf(buf + o, len - o, "%s%" PRId64, k ? "x" : "", shape[k]);
	return buf;
}

const char *report_scheme_name(const struct qspec *s)
{
	if (s->qt && s->qt->family == QTYPE_BLOCK)
		return "block";
	if (s->qt && s->qt->family == QTYPE_FLOAT)
		return "float";
	return s->scheme.symmetric ? "sym" : "asym";
}

const char *report_gran_name(const struct qspec *s, char *buf, size_t len)
{
	if (s->qt && s->qt->family == QTYPE_BLOCK)
		snprintf(buf, len, "group:%u", s->qt->block_elems);
	else if (s->qt && s->qt->family == QTYPE_FLOAT)
		snprintf(buf, len, "tensor");
	else if (s->scheme.gran == GRAN_GROUP)
		snprintf(buf, len, "group:%" PRIu64, s->scheme.group_size);
	else
		snprintf(buf, len, s->scheme.gran == GRAN_CHANNEL ? "channel" : "tensor");
	return buf;
}

const char *report_qtype_name(const struct qspec *s, char *buf, size_t len)
{
	if (s->qt)
		snprintf(buf, len, "%s", s->qt->name);
	else
		snprintf(buf, len, "%sint%d", s->scheme.is_signed ? "" : "u", s->scheme.bits);
	return buf;
}

/* ---- row building ------------------------------------------------------ */

#define MAX_CELLS 48

struct cells {
	size_t n;
	const char *c[MAX_CELLS];
	char num[MAX_CELLS][48];
};

static void cell_str(struct cells *r, const char *s)
{
	r->c[r->n++] = s ? s : "";
}

static void cell_dbl(struct cells *r, double v)
{
	r->c[r->n] = report_format_double(v, r->num[r->n], sizeof r->num[0]);
	r->n++;
}

static void cell_u64(struct cells *r, uint64_t v)
{
	snprintf(r->num[r->n], sizeof r->num[0], "%" PRIu64, v);
	r->c[r->n] = r->num[r->n];
	r->n++;
}

static void cell_i64(struct cells *r, int64_t v)
{
	snprintf(r->num[r->n], sizeof r->num[0], "%" PRId64, v);
	r->c[r->n] = r->num[r->n];
	r->n++;
}

static void cell_empty(struct cells *r, size_t k)
{
	while (k--)
		r->c[r->n++] = "";
}

static bool needs_quotes(const char *s)
{
	return s[strcspn(s, ",\"\r\n")] != '\0' || (*s == ' ' || (*s && s[strlen(s) - 1] == ' '));
}

static int emit(struct report_writer *w, const char *const *c, size_t n, struct qs_error *err)
{
	int bad = 0;

	for (size_t i = 0; i < n && !bad; i++) {
		bad = i && fputc(',', w->f) == EOF;
		if (needs_quotes(c[i]))
			bad |= csv_fwrite(w->f, c[i], strlen(c[i])) != 0;
		else
			bad |= fputs(c[i], w->f) == EOF;
	}
	if (bad || fputc('\n', w->f) == EOF)
		return qs_error_set(err, QS_ERR_IO, "%s: write failed: %s", w->label,
		                    strerror(errno));
	return 0;
}

static const char *worst_reason(const struct tensor_result *r)
{
	for (uint64_t i = 0; r && i < r->nfind; i++)
		if (r->find[i].level == r->risk && r->risk != RISK_OK)
			return r->find[i].reason;
	return "";
}

struct spec_names {
	char qtype[64], gran[48], method[64];
	const char *scheme;
};

static void names_of(const struct qspec *s, struct spec_names *n)
{
	n->qtype[0] = n->gran[0] = n->method[0] = '\0';
	n->scheme = "";
	if (!s)
		return;
	report_qtype_name(s, n->qtype, sizeof n->qtype);
	report_gran_name(s, n->gran, sizeof n->gran);
	n->scheme = report_scheme_name(s);
	if (s->qt && s->qt->family == QTYPE_FLOAT)
		snprintf(n->method, sizeof n->method, "cast");
	else
		method_format(&s->method, n->method, sizeof n->method);
}

static void metric_cells(struct cells *c, const struct tensor_result *r)
{
	const struct err_metrics *m = &r->m;

	cell_dbl(c, r->scale_min);
	cell_dbl(c, r->scale_max);
	if (r->zero_point == INT32_MIN)
		cell_empty(c, 1);
	else
		cell_i64(c, r->zero_point);
	cell_dbl(c, r->clip_min);
	cell_dbl(c, r->clip_max);
	cell_dbl(c, m->mse);
	cell_dbl(c, m->rmse);
	cell_dbl(c, m->mae);
	cell_dbl(c, m->max_abs_err);
	cell_dbl(c, m->sqnr_db);
	cell_dbl(c, m->cosine);
	cell_dbl(c, m->clipped_pct);
	cell_u64(c, m->levels_used);
	cell_dbl(c, m->entropy_bits);
	cell_str(c, risk_level_name(r->risk));
	cell_dbl(c, m->rmse_over_scale);
	cell_u64(c, m->n_nan);
	cell_u64(c, m->n_inf);
}

/* n must outlive emit(): the cells point into it. */
static void whatif_cells(struct cells *c, const struct report_row *row, struct spec_names *n)
{
	const struct tensor_result *r = row->whatif;

	if (!row->whatif_spec || !r) {
		cell_empty(c, 10);
		return;
	}
	names_of(row->whatif_spec, n);
	cell_str(c, n->qtype);
	cell_i64(c, r->bits);
	cell_str(c, n->scheme);
	cell_str(c, n->gran);
	cell_str(c, n->method);
	cell_dbl(c, r->m.mse);
	cell_dbl(c, r->m.sqnr_db);
	cell_dbl(c, r->m.max_abs_err);
	cell_dbl(c, r->m.clipped_pct);
	cell_str(c, risk_level_name(r->risk));
}

static uint64_t shape_elems(const struct report_row *row)
{
	uint64_t n = 1;

	for (int k = 0; k < row->ndim; k++)
		n *= (uint64_t)row->shape[k];
	return n;
}

static int add_tensor_row(struct report_writer *w, const struct report_row *row,
                          struct qs_error *err)
{
	struct cells *c = calloc(1, sizeof *c);
	struct spec_names n, wn;
	char shape[256];
	bool failed = row->status && strcmp(row->status, "failed") == 0;
	const struct tensor_result *r = failed ? NULL : row->res;
	int rc;

	if (!c)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", w->label);
	names_of(row->spec, &n);
	cell_str(c, row->tensor);
	cell_str(c, report_format_shape(row->shape, row->ndim, shape, sizeof shape));
	cell_str(c, dtype_name(row->dtype));
	cell_str(c, row->qtype_str ? row->qtype_str : n.qtype);
	cell_u64(c, shape_elems(row));
	if (r)
		cell_i64(c, r->bits);
	else
		cell_empty(c, 1);
	cell_str(c, row->scheme_str ? row->scheme_str : n.scheme);
	cell_str(c, row->gran_str ? row->gran_str : n.gran);
	cell_str(c, row->method_str ? row->method_str : n.method);
	if (r)
		metric_cells(c, r);
	else
		cell_empty(c, 18);
	cell_str(c, row->status ? row->status : "ok");
	cell_str(c, row->note ? row->note : worst_reason(r));
	whatif_cells(c, row, &wn);
	rc = emit(w, c->c, c->n, err);
	free(c);
	return rc;
}

static int add_channel_rows(struct report_writer *w, const struct report_row *row,
                            struct qs_error *err)
{
	const struct tensor_result *r = row->res;
	struct cells c;
	int rc = 0;

	for (uint64_t i = 0; r && rc == 0 && i < r->nchannels; i++) {
		const struct channel_result *ch = &r->ch[i];
		c.n = 0;
		cell_str(&c, row->tensor);
		cell_u64(&c, ch->channel);
		cell_u64(&c, ch->n);
		cell_dbl(&c, ch->min);
		cell_dbl(&c, ch->max);
		cell_dbl(&c, ch->scale);
		cell_i64(&c, ch->zero_point);
		cell_dbl(&c, ch->m.mse);
		cell_dbl(&c, ch->m.rmse);
		cell_dbl(&c, ch->m.max_abs_err);
		cell_dbl(&c, ch->m.sqnr_db);
		cell_dbl(&c, ch->m.clipped_pct);
		cell_str(&c, risk_level_name(ch->risk));
		rc = emit(w, c.c, c.n, err);
	}
	return rc;
}

int report_writer_add(struct report_writer *w, const struct report_row *row, struct qs_error *err)
{
	return w->kind == REPORT_TENSORS ? add_tensor_row(w, row, err)
	                                 : add_channel_rows(w, row, err);
}

/* ---- opening and closing ----------------------------------------------- */

static struct report_writer *writer_alloc(const char *label, enum report_kind kind)
{
	struct report_writer *w = calloc(1, sizeof *w);

	if (w) {
		w->kind = kind;
		snprintf(w->label, sizeof w->label, "%s", label);
	}
	return w;
}

/* Write the header line; on failure the writer is aborted. */
static struct report_writer *writer_start(struct report_writer *w, const char *const *hdr, size_t n,
                                          struct qs_error *err)
{
	if (emit(w, hdr, n, err)) {
		report_writer_abort(w);
		return NULL;
	}
	return w;
}

static struct report_writer *writer_open(const char *path, enum report_kind kind,
                                         const char *const *hdr, size_t n, struct qs_error *err)
{
	struct report_writer *w = writer_alloc(path, kind);

	if (!w) {
		qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
		return NULL;
	}
	if (atomic_open(&w->af, path, err)) {
		free(w);
		return NULL;
	}
	w->own = true;
	w->f = w->af.f;
	return writer_start(w, hdr, n, err);
}

struct report_writer *report_writer_new(const char *path, enum report_kind kind,
                                        struct qs_error *err)
{
	bool tens = kind == REPORT_TENSORS;

	return writer_open(path, kind, tens ? tensor_cols : channel_cols,
	                   tens ? NTENSOR_COLS : NCHANNEL_COLS, err);
}

struct report_writer *report_writer_new_stream(FILE *f, const char *label, enum report_kind kind,
                                               struct qs_error *err)
{
	struct report_writer *w = writer_alloc(label ? label : "-", kind);
	bool tens = kind == REPORT_TENSORS;

	if (!w) {
		qs_error_set(err, QS_ERR_NOMEM, "out of memory");
		return NULL;
	}
	w->f = f;
	return writer_start(w, tens ? tensor_cols : channel_cols,
	                    tens ? NTENSOR_COLS : NCHANNEL_COLS, err);
}

int report_writer_close(struct report_writer *w, struct qs_error *err)
{
	int rc = 0;

	if (!w)
		return 0;
	if (w->own)
		rc = atomic_commit(&w->af, err);
	else if (fflush(w->f) != 0)
		rc = qs_error_set(err, QS_ERR_IO, "%s: write failed: %s", w->label,
		                  strerror(errno));
	free(w);
	return rc;
}

void report_writer_abort(struct report_writer *w)
{
	if (!w)
		return;
	if (w->own)
		atomic_abort(&w->af);
	free(w);
}

/* ---- reading ----------------------------------------------------------- */

struct csv_read {
	struct report_table *t;
	char **row; /* cells of the current line */
	size_t nrow, caprow;
	size_t line;
	size_t cap_cells;
	int rc;
	const char *label;
	struct qs_error *err;
};

static void on_field(void *s, size_t len, void *data)
{
	struct csv_read *r = data;
	char **nr;

	if (r->rc)
		return;
	if (r->nrow == r->caprow) {
		r->caprow = r->caprow ? 2 * r->caprow : 64;
		if (!(nr = realloc(r->row, r->caprow * sizeof *nr))) {
			r->rc = QS_ERR_NOMEM;
			return;
		}
		r->row = nr;
	}
	if (!(r->row[r->nrow] = strndup(s ? s : "", len))) {
		r->rc = QS_ERR_NOMEM;
		return;
	}
	r->nrow++;
}

static void drop_row(struct csv_read *r)
{
	for (size_t i = 0; i < r->nrow; i++)
		free(r->row[i]);
	r->nrow = 0;
}

static int take_header(struct csv_read *r)
{
	struct report_table *t = r->t;
	bool tens = r->nrow >= CONTRACT_TENSOR_COLS, chan = r->nrow >= NCHANNEL_COLS;

	if (r->nrow && strncmp(r->row[0], "\xEF\xBB\xBF", 3) == 0) /* a spreadsheet's BOM */
		memmove(r->row[0], r->row[0] + 3, strlen(r->row[0] + 3) + 1);

	for (size_t i = 0; tens && i < CONTRACT_TENSOR_COLS; i++)
		tens = strcmp(r->row[i], tensor_cols[i]) == 0;
	for (size_t i = 0; chan && i < NCHANNEL_COLS; i++)
		chan = strcmp(r->row[i], channel_cols[i]) == 0;
	if (!tens && !chan)
		return qs_error_set(r->err, QS_ERR_FORMAT,
		                    "%s: line 1: header is not a qscope per-tensor or per-channel "
		                    "report header",
		                    r->label);
	t->kind = tens ? REPORT_TENSORS : REPORT_CHANNELS;
	t->cols = r->row;
	t->ncols = r->nrow;
	r->row = NULL;
	r->nrow = r->caprow = 0;
	return 0;
}

static int take_row(struct csv_read *r)
{
	struct report_table *t = r->t;
	char **nc;

	if (r->nrow != t->ncols)
		return qs_error_set(r->err, QS_ERR_FORMAT,
		                    "%s: line %zu: %zu cells, header has %zu", r->label, r->line,
		                    r->nrow, t->ncols);
	if ((t->nrows + 1) * t->ncols > r->cap_cells) {
		r->cap_cells = r->cap_cells ? 2 * r->cap_cells : 64 * t->ncols;
		if (!(nc = realloc(t->cells, r->cap_cells * sizeof *nc)))
			return qs_error_set(r->err, QS_ERR_NOMEM, "%s: out of memory", r->label);
		t->cells = nc;
	}
	memcpy(t->cells + t->nrows * t->ncols, r->row, t->ncols * sizeof *r->row);
	t->nrows++;
	r->nrow = 0;
	return 0;
}

static void on_row(int c, void *data)
{
	struct csv_read *r = data;

	(void)c;
	r->line++;
	if (r->rc == QS_ERR_NOMEM)
		r->rc = qs_error_set(r->err, QS_ERR_NOMEM, "%s: out of memory", r->label);
	if (r->rc)
		return;
	r->rc = r->t->cols ? take_row(r) : take_header(r);
	if (r->rc)
		drop_row(r);
}

static int parse_stream(FILE *f, struct csv_read *r)
{
	struct csv_parser p;
	char buf[1 << 16];
	size_t got;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		return qs_error_set(r->err, QS_ERR_NOMEM, "%s: out of memory", r->label);
	while (r->rc == 0 && (got = fread(buf, 1, sizeof buf, f)) > 0)
		if (csv_parse(&p, buf, got, on_field, on_row, r) != got && r->rc == 0)
			r->rc = qs_error_set(r->err, QS_ERR_FORMAT, "%s: line %zu: %s", r->label,
			                     r->line + 1, csv_strerror(csv_error(&p)));
	if (r->rc == 0 && ferror(f))
		r->rc = qs_error_set(r->err, QS_ERR_IO, "%s: read failed: %s", r->label,
		                     strerror(errno));
	if (r->rc == 0 && csv_fini(&p, on_field, on_row, r) != 0 && r->rc == 0)
		r->rc = qs_error_set(r->err, QS_ERR_FORMAT, "%s: line %zu: %s", r->label,
		                     r->line + 1, csv_strerror(csv_error(&p)));
	csv_free(&p);
	return r->rc;
}

int report_table_load(const char *path, struct report_table **out, struct qs_error *err)
{
	struct csv_read r = {.label = path, .err = err};
	FILE *f = fopen(path, "r");

	*out = NULL;
	if (!f)
		return qs_error_set(err, QS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	if (!(r.t = calloc(1, sizeof *r.t))) {
		fclose(f);
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	}
	parse_stream(f, &r);
	fclose(f);
	drop_row(&r);
	free(r.row);
	if (r.rc == 0 && !r.t->cols)
		r.rc = qs_error_set(err, QS_ERR_FORMAT, "%s: empty file (no header line)", path);
	if (r.rc) {
		report_table_free(r.t);
		return r.rc;
	}
	*out = r.t;
	return 0;
}

void report_table_free(struct report_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->cols && i < t->ncols; i++)
		free(t->cols[i]);
	for (size_t i = 0; t->cells && i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cols);
	free(t->cells);
	free(t);
}

int report_table_col(const struct report_table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], name) == 0)
			return (int)i;
	return -1;
}

/* ---- merge ------------------------------------------------------------- */

struct merge_key {
	const char *tensor, *channel;
	size_t file;
};

static int cmp_key(const void *a, const void *b)
{
	const struct merge_key *x = a, *y = b;
	int c = strcmp(x->tensor, y->tensor);

	if (c == 0)
		c = strcmp(x->channel, y->channel);
	return c;
}

static int check_same_header(struct report_table *const *t, const char *const *paths, size_t n,
                             struct qs_error *err)
{
	for (size_t i = 1; i < n; i++) {
		bool same = t[i]->ncols == t[0]->ncols;
		for (size_t k = 0; same && k < t[0]->ncols; k++)
			same = strcmp(t[i]->cols[k], t[0]->cols[k]) == 0;
		if (!same)
			return qs_error_set(err, QS_ERR_FORMAT,
			                    "%s: header differs from %s's (reports of different "
			                    "kinds or versions)",
			                    paths[i], paths[0]);
	}
	return 0;
}

static int check_duplicates(struct report_table *const *t, const char *const *paths, size_t n,
                            struct qs_error *err)
{
	size_t total = 0, k = 0;
	struct merge_key *keys;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		total += t[i]->nrows;
	if (!(keys = malloc((total ? total : 1) * sizeof *keys)))
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		for (size_t r = 0; r < t[i]->nrows; r++)
			keys[k++] = (struct merge_key){
			        report_table_cell(t[i], r, 0),
			        t[i]->kind == REPORT_CHANNELS ? report_table_cell(t[i], r, 1) : "",
			        i};
	qsort(keys, total, sizeof *keys, cmp_key);
	for (size_t i = 1; i < total && rc == 0; i++)
		if (cmp_key(&keys[i - 1], &keys[i]) == 0)
			rc = qs_error_set(
			        err, QS_ERR_FORMAT,
			        "%s and %s both report tensor '%s'%s%s (overlapping shards?)",
			        paths[keys[i - 1].file], paths[keys[i].file], keys[i].tensor,
			        *keys[i].channel ? " channel " : "", keys[i].channel);
	free(keys);
	return rc;
}

static int merge_write(struct report_table *const *t, size_t n, const char *out_path,
                       struct qs_error *err)
{
	struct report_writer *w = writer_open(out_path, t[0]->kind, (const char *const *)t[0]->cols,
	                                      t[0]->ncols, err);
	int rc = 0;

	if (!w)
		return err ? err->code : QS_ERR_IO;
	for (size_t i = 0; i < n && rc == 0; i++)
		for (size_t r = 0; r < t[i]->nrows && rc == 0; r++)
			rc = emit(w, (const char *const *)&t[i]->cells[r * t[i]->ncols],
			          t[i]->ncols, err);
	if (rc) {
		report_writer_abort(w);
		return rc;
	}
	return report_writer_close(w, err);
}

int report_merge(const char *const *paths, size_t n, const char *out_path, struct qs_error *err)
{
	struct report_table **t = calloc(n ? n : 1, sizeof *t);
	int rc = 0;

	if (!t)
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	if (n == 0)
		rc = qs_error_set(err, QS_ERR_USAGE, "merge: no input reports");
	for (size_t i = 0; i < n && rc == 0; i++)
		if (strcmp(out_path, "-") != 0 && atomic_same_file(paths[i], out_path))
			rc = qs_error_set(err, QS_ERR_USAGE,
			                  "%s: refusing to overwrite an input report", out_path);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = report_table_load(paths[i], &t[i], err);
	if (rc == 0)
		rc = check_same_header(t, paths, n, err);
	if (rc == 0)
		rc = check_duplicates(t, paths, n, err);
	if (rc == 0)
		rc = merge_write(t, n, out_path, err);
	for (size_t i = 0; i < n; i++)
		report_table_free(t[i]);
	free(t);
	return rc;
}
