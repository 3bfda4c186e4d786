#include "batch_csv.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc_or_die(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fputs("qscope: out of memory\n", stderr);
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = xmalloc_or_die(n);
	memcpy(d, s, n);
	return d;
}

struct btable *btable_new(void)
{
	struct btable *t = xmalloc_or_die(sizeof *t);
	*t = (struct btable){0};
	return t;
}

void btable_free(struct btable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncols; i++)
		free(t->cols[i]);
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cols);
	free(t->cells);
	free(t);
}

void btable_set_header(struct btable *t, char *const *names, size_t n)
{
	t->cols = xmalloc_or_die(n * sizeof *t->cols);
	t->ncols = n;
	for (size_t i = 0; i < n; i++)
		t->cols[i] = xstrdup(names[i]);
}

void btable_add_row(struct btable *t, char *const *cells)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap * 2 + 16;
		char **grown = realloc(t->cells, t->cap * t->ncols * sizeof *grown + 1);
		if (!grown) {
			fputs("qscope: out of memory\n", stderr);
			abort();
		}
		t->cells = grown;
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = xstrdup(cells[i] ? cells[i] : "");
	t->nrows++;
}

int btable_col(const struct btable *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i], name))
			return (int)i;
	return -1;
}

const char *btable_cell(const struct btable *t, size_t row, int col)
{
	if (col < 0 || (size_t)col >= t->ncols || row >= t->nrows)
		return "";
	return t->cells[row * t->ncols + (size_t)col];
}

void batch_csv_cell(FILE *f, const char *v, bool last)
{
	if (strpbrk(v, ",\"\r\n") || (v[0] == ' ' || (v[0] && v[strlen(v) - 1] == ' ')))
		csv_fwrite(f, v, strlen(v));
	else
		fputs(v, f);
	fputc(last ? '\n' : ',', f);
}

void batch_csv_record(FILE *f, char *const *cells, size_t n)
{
	for (size_t i = 0; i < n; i++)
		batch_csv_cell(f, cells[i] ? cells[i] : "", i + 1 == n);
}

void btable_write(const struct btable *t, FILE *f)
{
	batch_csv_record(f, t->cols, t->ncols);
	for (size_t r = 0; r < t->nrows; r++)
		batch_csv_record(f, &t->cells[r * t->ncols], t->ncols);
}

/* ---- parsing ---------------------------------------------------------- */

struct parse_state {
	char **cells;
	size_t n, cap;
	csv_record_fn rec;
	void *ctx;
};

static void on_field(void *s, size_t len, void *data)
{
	struct parse_state *ps = data;
	if (ps->n == ps->cap) {
		ps->cap = ps->cap * 2 + 32;
		char **grown = realloc(ps->cells, ps->cap * sizeof *grown);
		if (!grown) {
			fputs("qscope: out of memory\n", stderr);
			abort();
		}
		ps->cells = grown;
	}
	char *c = xmalloc_or_die(len + 1);
	memcpy(c, s, len);
	c[len] = '\0';
	ps->cells[ps->n++] = c;
}

static void on_record(int term, void *data)
{
	struct parse_state *ps = data;
	(void)term;
	ps->rec(ps->cells, ps->n, ps->ctx);
	for (size_t i = 0; i < ps->n; i++)
		free(ps->cells[i]);
	ps->n = 0;
}

static int keep_spaces(unsigned char c)
{
	(void)c;
	return 0;
}

int batch_csv_parse(const char *buf, size_t len, csv_record_fn rec, void *ctx)
{
	struct csv_parser p;
	struct parse_state ps = {.rec = rec, .ctx = ctx};

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI))
		return QS_ERR_NOMEM;
	csv_set_space_func(&p, keep_spaces);
	int rc = csv_parse(&p, buf, len, on_field, on_record, &ps) == len ? 0 : QS_ERR_FORMAT;
	if (!rc && csv_fini(&p, on_field, on_record, &ps))
		rc = QS_ERR_FORMAT;
	for (size_t i = 0; i < ps.n; i++)
		free(ps.cells[i]);
	free(ps.cells);
	csv_free(&p);
	return rc;
}

/* ---- rendering through the report writer ------------------------------ */

struct render_state {
	bool want_header, seen_header;
	csv_record_fn rec;
	void *ctx;
};

static void render_record(char **cells, size_t n, void *ctx)
{
	struct render_state *rs = ctx;

	if (!rs->seen_header) {
		rs->seen_header = true;
		if (!rs->want_header)
			return;
	}
	rs->rec(cells, n, rs->ctx);
}

int batch_render_row(enum report_kind kind, const struct report_row *row, bool want_header,
                     csv_record_fn rec, void *ctx, struct qs_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem)
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	struct report_writer *w = report_writer_new_stream(mem, "report", kind, err);
	int rc = w ? 0 : (err ? err->code : QS_ERR_IO);
	if (w && row)
		rc = report_writer_add(w, row, err);
	if (w) {
		int rc2 = report_writer_close(w, err);
		rc = rc ? rc : rc2;
	}
	fclose(mem);
	struct render_state rs = {.want_header = want_header, .rec = rec, .ctx = ctx};
	if (!rc && batch_csv_parse(buf, len, render_record, &rs))
		rc = qs_error_set(err, QS_ERR_FORMAT, "report: the writer produced unreadable CSV");
	free(buf);
	return rc;
}
