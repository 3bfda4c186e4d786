#include "recipe.h"

#include <csv.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atomic.h"

enum recipe_col {
	COL_PATTERN,
	COL_ACTION,
	COL_BITS,
	COL_SCHEME,
	COL_GRAN,
	COL_METHOD,
	COL_QTYPE,
	COL_MIN_SQNR,
	COL_COUNT
};

static const char *const col_names[COL_COUNT] = {
        "pattern", "action", "bits", "scheme", "granularity", "method", "qtype", "min_sqnr",
};

/* ---- cell parsers, one per column -------------------------------------- */

typedef const char *(*cell_fn)(const char *s, struct recipe_rule *r);

static const char *parse_action(const char *s, struct recipe_rule *r)
{
	if (strcmp(s, "quantize") == 0)
		r->keep_float = false;
	else if (strcmp(s, "keep-float") == 0)
		r->keep_float = true;
	else
		return "is not quantize or keep-float";
	return NULL;
}

static const char *parse_bits(const char *s, struct recipe_rule *r)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < 2 || v > 16)
		return "is not 2..16";
	r->bits = (int)v;
	r->has_bits = true;
	return NULL;
}

static const char *parse_scheme(const char *s, struct recipe_rule *r)
{
	if (strcmp(s, "sym") != 0 && strcmp(s, "asym") != 0)
		return "is not sym or asym";
	r->symmetric = strcmp(s, "sym") == 0;
	r->has_scheme = true;
	return NULL;
}

static const char *parse_gran(const char *s, struct recipe_rule *r)
{
	char *end;

	if (strcmp(s, "tensor") == 0 || strcmp(s, "channel") == 0) {
		r->gran = s[0] == 't' ? GRAN_TENSOR : GRAN_CHANNEL;
	} else if (strncmp(s, "group:", 6) == 0 && s[6] >= '1' && s[6] <= '9') {
		errno = 0;
		r->group_size = strtoull(s + 6, &end, 10);
		if (*end || errno)
			return "is not tensor, channel or group:N";
		r->gran = GRAN_GROUP;
	} else {
		return "is not tensor, channel or group:N";
	}
	r->has_gran = true;
	return NULL;
}

static const char *parse_method(const char *s, struct recipe_rule *r)
{
	struct qs_error e;

	if (method_parse(s, &r->method, &e) != 0)
		return "is not a known method (minmax, percentile:P, mse, aciq, aciq-laplace, "
		       "aciq-gauss, kl)";
	r->has_method = true;
	return NULL;
}

static const char *parse_qtype(const char *s, struct recipe_rule *r)
{
	if (!(r->qt = qtype_find(s)))
		return "is not a known qtype";
	r->has_qtype = true;
	return NULL;
}

static const char *parse_min_sqnr(const char *s, struct recipe_rule *r)
{
	char *end;

	r->min_sqnr = strtod(s, &end);
	if (*end || end == s || isnan(r->min_sqnr))
		return "is not a number";
	r->has_min_sqnr = true;
	return NULL;
}

static const cell_fn cell_parsers[COL_COUNT] = {
        NULL,       parse_action, parse_bits,  parse_scheme,
        parse_gran, parse_method, parse_qtype, parse_min_sqnr,
};

/* ---- reading ----------------------------------------------------------- */

struct rparse {
	struct recipe *r;
	const char *path;
	struct qs_error *err;
	int rc;
	size_t line, ncell;
	int map[64];  /* cell index -> column (header order) */
	size_t ncols; /* header cells; 0 until the header is read */
	struct recipe_rule cur;
	bool row_blank;
};

static int rp_fail(struct rparse *p, int code, const char *fmt, const char *a, const char *b)
{
	char what[300];

	snprintf(what, sizeof what, fmt, a, b);
	p->rc = qs_error_set(p->err, code, "%s: line %zu%s", p->path, p->line + 1, what);
	return p->rc;
}

static void header_cell(struct rparse *p, const char *s)
{
	int col = -1;

	if (p->ncell == 0 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3; /* spreadsheet programs start UTF-8 CSV with a BOM */

	for (int c = 0; c < COL_COUNT; c++)
		if (strcmp(s, col_names[c]) == 0)
			col = c;
	for (size_t i = 0; col >= 0 && i < p->ncell; i++)
		if (p->map[i] == col)
			col = -2;
	if (col == -1 || p->ncell >= 64)
		rp_fail(p, QS_ERR_FORMAT, ": unknown column '%s'%s", s, "");
	else if (col == -2)
		rp_fail(p, QS_ERR_FORMAT, ": column '%s' given twice%s", s, "");
	else
		p->map[p->ncell] = col;
}

static void body_cell(struct rparse *p, const char *s)
{
	int col;
	const char *why;

	if (p->ncell >= p->ncols) {
		rp_fail(p, QS_ERR_FORMAT, ": more cells than the header's %s%s", "columns", "");
		return;
	}
	col = p->map[p->ncell];
	if (*s)
		p->row_blank = false;
	if (col == COL_PATTERN) {
		if (!(p->cur.pattern = strdup(s)))
			p->rc = qs_error_set(p->err, QS_ERR_NOMEM, "out of memory");
	} else if (*s && (why = cell_parsers[col](s, &p->cur)) != NULL) {
		char c[128];
		snprintf(c, sizeof c, ", column '%s': '%.60s' ", col_names[col], s);
		rp_fail(p, QS_ERR_FORMAT, "%s%s", c, why);
	}
}

static void on_cell(void *s, size_t len, void *data)
{
	struct rparse *p = data;

	(void)len;
	if (p->rc)
		return;
	if (p->ncols == 0)
		header_cell(p, s ? s : "");
	else
		body_cell(p, s ? s : "");
	p->ncell++;
}

static int finish_header(struct rparse *p)
{
	bool pat = false, act = false;

	for (size_t i = 0; i < p->ncell; i++)
		pat |= p->map[i] == COL_PATTERN, act |= p->map[i] == COL_ACTION;
	if (!pat || !act)
		return rp_fail(p, QS_ERR_FORMAT, ": header lacks the '%s' column%s",
		               pat ? "action" : "pattern", "");
	p->ncols = p->ncell;
	return 0;
}

/* Room for one more rule: the table doubles whenever n reaches a power of
 * two (growing it by one copied it for every row, quadratic under ASan). */
static bool rules_room(struct recipe *r)
{
	struct recipe_rule *nr;

	if (r->n & (r->n - 1))
		return true;
	if (!(nr = realloc(r->rules, (r->n ? 2 * r->n : 1) * sizeof *nr)))
		return false;
	r->rules = nr;
	return true;
}

static int finish_rule(struct rparse *p)
{
	struct recipe *r = p->r;

	if (p->row_blank) {
		free(p->cur.pattern);
		p->cur.pattern = NULL;
		return 0;
	}
	if (!p->cur.pattern || !*p->cur.pattern)
		return rp_fail(p, QS_ERR_FORMAT, ", column 'pattern': empty%s%s", "", "");
	if (!rules_room(r))
		return p->rc = qs_error_set(p->err, QS_ERR_NOMEM, "out of memory");
	r->rules[r->n++] = p->cur;
	p->cur.pattern = NULL;
	return 0;
}

static void on_row(int c, void *data)
{
	struct rparse *p = data;

	(void)c;
	if (p->rc == 0)
		p->rc = p->ncols == 0 ? finish_header(p) : finish_rule(p);
	free(p->cur.pattern);
	p->cur = (struct recipe_rule){0};
	p->row_blank = true;
	p->ncell = 0;
	p->line++;
}

static int parse_file(FILE *f, struct rparse *p)
{
	struct csv_parser cp;
	char buf[8192];
	size_t got;

	if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		return qs_error_set(p->err, QS_ERR_NOMEM, "out of memory");
	while (p->rc == 0 && (got = fread(buf, 1, sizeof buf, f)) > 0)
		if (csv_parse(&cp, buf, got, on_cell, on_row, p) != got && p->rc == 0)
			rp_fail(p, QS_ERR_FORMAT, ": %s%s", csv_strerror(csv_error(&cp)), "");
	if (p->rc == 0 && ferror(f)) /* not a short recipe: a read error */
		p->rc = qs_error_set(p->err, QS_ERR_IO, "%s: read failed: %s", p->path,
		                     strerror(errno));
	if (p->rc == 0 && csv_fini(&cp, on_cell, on_row, p) != 0 && p->rc == 0)
		rp_fail(p, QS_ERR_FORMAT, ": %s%s", csv_strerror(csv_error(&cp)), "");
	csv_free(&cp);
	if (p->rc == 0 && p->ncols == 0)
		p->rc = qs_error_set(p->err, QS_ERR_FORMAT, "%s: empty recipe (no header line)",
		                     p->path);
	return p->rc;
}

int recipe_load(const char *path, struct recipe **out, struct qs_error *err)
{
	struct rparse p = {.path = path, .err = err, .row_blank = true};
	FILE *f = fopen(path, "r");

	*out = NULL;
	if (!f)
		return qs_error_set(err, QS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
	if (!(p.r = recipe_new())) {
		fclose(f);
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	}
	parse_file(f, &p);
	fclose(f);
	free(p.cur.pattern);
	if (p.rc) {
		recipe_free(p.r);
		return p.rc;
	}
	*out = p.r;
	return 0;
}

void recipe_free(struct recipe *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->rules[i].pattern);
	free(r->rules);
	free(r);
}

/* ---- applying ---------------------------------------------------------- */

static void rule_apply(const struct recipe_rule *u, struct qspec *spec)
{
	if (u->has_qtype)
		spec->qt = u->qt;
	else if (u->has_bits && spec->qt && spec->qt->family == QTYPE_LINEAR)
		spec->qt = NULL;
	if (u->has_bits)
		spec->scheme.bits = u->bits;
	if (u->has_scheme)
		spec->scheme.symmetric = u->symmetric;
	if (u->has_gran) {
		spec->scheme.gran = u->gran;
		spec->scheme.group_size = u->group_size;
	}
	if (u->has_method)
		spec->method = u->method;
}

const struct recipe_rule *recipe_apply(const struct recipe *r, const char *name, struct qspec *spec,
                                       bool *keep_float)
{
	*keep_float = false;
	for (size_t i = 0; r && i < r->n; i++)
		if (fnmatch(r->rules[i].pattern, name, 0) == 0) {
			*keep_float = r->rules[i].keep_float;
			if (spec)
				rule_apply(&r->rules[i], spec);
			return &r->rules[i];
		}
	return NULL;
}

/* ---- building and saving ----------------------------------------------- */

struct recipe *recipe_new(void)
{
	return calloc(1, sizeof(struct recipe));
}

int recipe_add(struct recipe *r, const char *pattern, const struct qspec *spec, bool keep_float)
{
	struct recipe_rule u = {.keep_float = keep_float};

	if (!rules_room(r))
		return QS_ERR_NOMEM;
	if (!(u.pattern = strdup(pattern)))
		return QS_ERR_NOMEM;
	if (spec && !keep_float) {
		u.has_bits = u.has_scheme = u.has_gran = u.has_method = true;
		u.bits = spec->scheme.bits;
		u.symmetric = spec->scheme.symmetric;
		u.gran = spec->scheme.gran;
		u.group_size = spec->scheme.group_size;
		u.method = spec->method;
		u.qt = spec->qt;
		u.has_qtype = spec->qt != NULL;
	}
	r->rules[r->n++] = u;
	return 0;
}

char *recipe_glob_escape(const char *name, char *buf, size_t len)
{
	size_t o = 0;

	for (const char *s = name; *s; s++) {
		if (strchr("*?[]\\", *s)) {
			if (o + 1 >= len)
				return NULL;
			buf[o++] = '\\';
		}
		if (o + 1 >= len)
			return NULL;
		buf[o++] = *s;
	}
	if (o >= len)
		return NULL;
	buf[o] = '\0';
	return buf;
}

static int put_cell(FILE *f, const char *s, bool first)
{
	if (!first && fputc(',', f) == EOF)
		return -1;
	if (s[strcspn(s, ",\"\r\n")] || *s == ' ')
		return csv_fwrite(f, s, strlen(s));
	return fputs(s, f) == EOF ? -1 : 0;
}

static int put_rule(FILE *f, const struct recipe_rule *u)
{
	char c[COL_COUNT][64];
	const char *cell[COL_COUNT] = {u->pattern, u->keep_float ? "keep-float" : "quantize"};
	int bad = 0;

	for (int k = 2; k < COL_COUNT; k++)
		c[k][0] = '\0', cell[k] = c[k];
	if (u->has_bits)
		snprintf(c[COL_BITS], 64, "%d", u->bits);
	if (u->has_scheme)
		snprintf(c[COL_SCHEME], 64, "%s", u->symmetric ? "sym" : "asym");
	if (u->has_gran && u->gran == GRAN_GROUP)
		snprintf(c[COL_GRAN], 64, "group:%" PRIu64, u->group_size);
	else if (u->has_gran)
		snprintf(c[COL_GRAN], 64, "%s", u->gran == GRAN_TENSOR ? "tensor" : "channel");
	if (u->has_method)
		method_format(&u->method, c[COL_METHOD], 64);
	if (u->has_qtype && u->qt)
		snprintf(c[COL_QTYPE], 64, "%s", u->qt->name);
	if (u->has_min_sqnr)
		snprintf(c[COL_MIN_SQNR], 64, "%.17g", u->min_sqnr);
	for (int k = 0; k < COL_COUNT; k++)
		bad |= put_cell(f, cell[k], k == 0) != 0;
	return bad || fputc('\n', f) == EOF ? -1 : 0;
}

static int write_all(FILE *f, const struct recipe *r)
{
	int bad = 0;

	for (int k = 0; k < COL_COUNT; k++)
		bad |= put_cell(f, col_names[k], k == 0) != 0;
	bad |= fputc('\n', f) == EOF;
	for (size_t i = 0; !bad && i < r->n; i++)
		bad |= put_rule(f, &r->rules[i]) != 0;
	return bad ? -1 : 0;
}

int recipe_save(const char *path, const struct recipe *r, struct qs_error *err)
{
	struct atomic_file af;
	int rc = atomic_open(&af, path, err);

	if (rc)
		return rc;
	if (write_all(af.f, r) != 0) {
		rc = qs_error_set(err, QS_ERR_IO, "%s: write failed: %s", path, strerror(errno));
		atomic_abort(&af);
		return rc;
	}
	return atomic_commit(&af, err);
}
