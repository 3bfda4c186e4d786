#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../io/recipe.h"
#include "../io/report.h"
#include "batch.h"
#include "batch_csv.h"
#include "batch_summary.h"
#include "session.h"

#define TAIL_COLS 5

/* Text cells of one row that report_row borrows. */
struct row_text {
	char qtype[32], scheme[16], gran[48];
	char tail[TAIL_COLS][48];
};

struct report_ctx {
	const struct cli_args *a;
	struct session *s;
	bool measure;
	char run[17], shard[32];
	struct btable *tensors;
	struct atomic_file ch;
	bool ch_open, ch_header;
	char **tail; /* the tail cells of the row being rendered */
	size_t ntail;
	struct qs_error err;
};

/* ---- run identity ----------------------------------------------------- */

static uint64_t hash_file_id(uint64_t h, const char *path)
{
	struct stat st;
	char *copy = strdup(path ? path : "");
	const char *base = copy ? basename(copy) : "";
	long long size = path && !stat(path, &st) ? (long long)st.st_size : -1;
	char buf[64];

	h = batch_hash(h, base, strlen(base) + 1);
	snprintf(buf, sizeof buf, "%lld", size);
	h = batch_hash(h, buf, strlen(buf) + 1);
	free(copy);
	return h;
}

static uint64_t hash_file_bytes(uint64_t h, const char *path)
{
	FILE *f = path ? fopen(path, "rb") : NULL;
	char buf[4096];
	size_t n;

	if (!f)
		return batch_hash(h, "-", 1);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		h = batch_hash(h, buf, n);
	fclose(f);
	return h;
}

static void make_run_id(const struct cli_args *a, char out[17])
{
	const struct scheme *sc = &a->spec.scheme;
	char meth[64], buf[512];
	uint64_t h = BATCH_HASH_INIT;

	h = hash_file_id(h, a->pos[0]);
	h = hash_file_id(h, a->npos > 1 ? a->pos[1] : NULL);
	method_format(&a->spec.method, meth, sizeof meth);
	snprintf(buf, sizeof buf, "%s|%d|%d|%d|%d|%d|%d|%d|%d|%llu|%d|%.17g|%s",
	         a->spec.qt ? a->spec.qt->name : "", sc->bits, sc->is_signed, sc->symmetric,
	         sc->narrow, sc->reduce_range, (int)sc->gran, sc->axis, a->has_axis,
	         (unsigned long long)sc->group_size, (int)sc->rounding, sc->scale_floor, meth);
	h = batch_hash(h, buf, strlen(buf) + 1);
	h = hash_file_bytes(h, a->recipe);
	for (size_t i = 0; i < a->nselect; i++)
		h = batch_hash(h, a->select[i], strlen(a->select[i]) + 1);
	h = batch_hash(h, "|", 1);
	for (size_t i = 0; i < a->nexclude; i++)
		h = batch_hash(h, a->exclude[i], strlen(a->exclude[i]) + 1);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- sizes ------------------------------------------------------------ */

static uint64_t elem_bytes(enum dtype t, uint64_t n)
{
	return (n * dtype_info(t)->bits + 7) / 8;
}

static uint64_t spec_bytes(const struct model_tensor *t, const struct qspec *q)
{
	const struct scheme *sc = &q->scheme;
	struct layout l;
	const char *why;

	if (q->qt && q->qt->family == QTYPE_BLOCK)
		return (t->nelem + q->qt->block_elems - 1) / q->qt->block_elems *
		       q->qt->block_bytes;
	if (q->qt && q->qt->family == QTYPE_FLOAT)
		return elem_bytes(q->qt->storage, t->nelem);
	if (!layout_init(&l, t->shape, t->ndim, sc->gran, sc->axis, sc->group_size, &why))
		l.ngroups = 1;
	uint64_t zp = sc->symmetric ? 0 : (l.ngroups * (uint64_t)sc->bits + 7) / 8;
	return (t->nelem * (uint64_t)sc->bits + 7) / 8 + 4 * l.ngroups + zp;
}

static void row_bytes(const struct report_ctx *c, const struct session_row *r, uint64_t *fb,
                      uint64_t *qb)
{
	*fb = r->ft ? elem_bytes(r->ft->dtype, r->ft->nelem) : 0;
	*qb = 0;
	if (r->state == ROW_UNPAIRED)
		return;
	if (c->measure && r->qt) {
		const struct tensor_quant *tq = r->qt->quant;
		*qb = r->qt->nbytes +
		      (tq ? tq->layout.ngroups * (4 + ((uint64_t)tq->bits + 7) / 8) : 0);
	} else if (r->keep_float) {
		*qb = *fb;
	} else {
		*qb = spec_bytes(r->ft, &r->spec);
	}
}

/* ---- stored quantization as text (measure mode) ----------------------- */

/* A float tensor of the quantized model by its storage type's qtype name
 * ("F16"), or the dtype's name when no qtype stores it. */
static const char *float_qtype_name(enum dtype d)
{
	const struct qtype *q;

	for (size_t i = 0; (q = qtype_at(i)); i++)
		if (q->family == QTYPE_FLOAT && q->storage == d)
			return q->name;
	return dtype_name(d);
}

static void stored_text(const struct model_tensor *t, struct row_text *tx)
{
	const struct tensor_quant *q = t->quant;

	tx->scheme[0] = tx->gran[0] = '\0';
	if (t->block) {
		snprintf(tx->qtype, sizeof tx->qtype, "%s", t->block->name);
		snprintf(tx->scheme, sizeof tx->scheme, "block");
		snprintf(tx->gran, sizeof tx->gran, "group:%u", t->block->block_elems);
		return;
	}
	if (!q) {
		snprintf(tx->qtype, sizeof tx->qtype, "%s", float_qtype_name(t->dtype));
		return;
	}
	snprintf(tx->qtype, sizeof tx->qtype, "%sint%d", q->qmin < 0 ? "" : "u", q->bits);
	double mid = nearbyint(((double)q->qmin + (double)q->qmax) / 2);
	bool sym = true;
	for (uint64_t g = 0; g < q->layout.ngroups && q->zero_point; g++)
		sym &= q->zero_point[g] == (int32_t)mid;
	snprintf(tx->scheme, sizeof tx->scheme, "%s", sym ? "sym" : "asym");
	if (q->layout.gran == GRAN_TENSOR)
		snprintf(tx->gran, sizeof tx->gran, "tensor");
	else if (q->layout.gran == GRAN_CHANNEL)
		snprintf(tx->gran, sizeof tx->gran, "channel:%d", q->layout.axis);
	else
		snprintf(tx->gran, sizeof tx->gran, "group:%llu",
		         (unsigned long long)q->layout.block);
}

static void fill_report_row(const struct report_ctx *c, const struct session_row *r,
                            struct report_row *rr, struct row_text *tx)
{
	const struct model_tensor *t = r->ft ? r->ft : r->qt;

	*rr = (struct report_row){.tensor = r->name,
	                          .ndim = t->ndim,
	                          .shape = t->shape,
	                          .dtype = t->dtype,
	                          .spec = &r->spec};
	if (r->state == ROW_UNPAIRED) {
		rr->qtype_str = rr->scheme_str = rr->gran_str = rr->method_str = "";
		rr->status = "unpaired";
		rr->note = r->ft ? "no counterpart in the quantized model" : "no float tensor";
	} else if (r->state == ROW_FAILED) {
		rr->status = "failed";
		rr->note = r->error;
	} else if (c->measure) {
		stored_text(r->qt, tx);
		rr->qtype_str = tx->qtype;
		rr->scheme_str = tx->scheme;
		rr->gran_str = tx->gran;
		rr->method_str = "stored";
		rr->res = &r->shipped;
		rr->whatif_spec = &r->spec;
		rr->whatif = r->keep_float ? NULL : &r->whatif;
	} else {
		rr->res = &r->whatif;
		if (r->keep_float) {
			rr->status = "keep-float";
			rr->qtype_str = dtype_name(t->dtype);
			rr->scheme_str = rr->gran_str = "";
			rr->method_str = "keep-float";
		}
	}
}

/* ---- rendering -------------------------------------------------------- */

static char *const tail_names[TAIL_COLS] = {"float_bytes", "quant_bytes", "row", "shard", "run"};

static char **with_tail(char **cells, size_t n, char *const *tail, size_t ntail)
{
	char **all = malloc((n + ntail) * sizeof *all);
	if (!all) {
		fputs("qscope: out of memory\n", stderr);
		abort();
	}
	memcpy(all, cells, n * sizeof *all);
	memcpy(all + n, tail, ntail * sizeof *all);
	return all;
}

static void on_tensor_record(char **cells, size_t n, void *ctx)
{
	struct report_ctx *c = ctx;
	char **all = with_tail(cells, n, c->tail, c->ntail);

	if (!c->tensors->ncols)
		btable_set_header(c->tensors, all, n + c->ntail);
	else if (n + c->ntail == c->tensors->ncols)
		btable_add_row(c->tensors, all);
	free(all);
}

static void on_channel_record(char **cells, size_t n, void *ctx)
{
	struct report_ctx *c = ctx;
	char **all = with_tail(cells, n, c->tail, c->ntail);

	batch_csv_record(c->ch.f, all, n + c->ntail);
	free(all);
}

/* Render one row (NULL: the headers) into the tensor table and the channel
 * CSV; tail holds float_bytes, quant_bytes, row, shard, run, of which the
 * channel rows take the last three. */
static int render_one(struct report_ctx *c, const struct report_row *rr, char **tail)
{
	c->tail = tail;
	c->ntail = TAIL_COLS;
	if (batch_render_row(REPORT_TENSORS, rr, !rr, on_tensor_record, c, &c->err))
		return -1;
	c->tail = tail + 2;
	c->ntail = 3;
	if (c->ch_open && batch_render_row(REPORT_CHANNELS, rr, !rr, on_channel_record, c, &c->err))
		return -1;
	return 0;
}

static int render_rows(struct report_ctx *c)
{
	char *names[TAIL_COLS];
	struct report_row rr;
	struct row_text tx;

	memcpy(names, tail_names, sizeof names);
	if (render_one(c, NULL, names))
		return -1;
	for (size_t i = 0; i < session_rows(c->s); i++) {
		const struct session_row *r = session_row(c->s, i);
		uint64_t fb, qb;
		row_bytes(c, r, &fb, &qb);
		snprintf(tx.tail[0], sizeof tx.tail[0], "%llu", (unsigned long long)fb);
		snprintf(tx.tail[1], sizeof tx.tail[1], "%llu", (unsigned long long)qb);
		snprintf(tx.tail[2], sizeof tx.tail[2], "%zu", r->ordinal);
		snprintf(tx.tail[3], sizeof tx.tail[3], "%s", c->shard);
		snprintf(tx.tail[4], sizeof tx.tail[4], "%s", c->run);
		char *tail[TAIL_COLS] = {tx.tail[0], tx.tail[1], tx.tail[2], tx.tail[3],
		                         tx.tail[4]};
		fill_report_row(c, r, &rr, &tx);
		if (render_one(c, &rr, tail))
			return -1;
	}
	return 0;
}

/* ---- gates ------------------------------------------------------------ */

static const struct tensor_result *primary(const struct report_ctx *c, const struct session_row *r)
{
	if (r->state != ROW_DONE)
		return NULL;
	if (c->measure)
		return &r->shipped;
	return r->keep_float ? NULL : &r->whatif;
}

static const char *worst_reason(const struct tensor_result *res)
{
	const struct finding *w = NULL;
	for (uint64_t i = 0; i < res->nfind; i++)
		if (!w || res->find[i].level > w->level)
			w = &res->find[i];
	return w ? w->reason : "";
}

static int check_gates(const struct report_ctx *c)
{
	int tripped = 0;

	for (size_t i = 0; i < session_rows(c->s); i++) {
		const struct session_row *r = session_row(c->s, i);
		const struct tensor_result *res = primary(c, r);
		if (!res)
			continue;
		double sq = res->m.sqnr_db, lim = c->a->has_fail_sqnr ? c->a->fail_sqnr : NAN;
		if (!isnan(r->min_sqnr) && (isnan(lim) || r->min_sqnr > lim))
			lim = r->min_sqnr;
		if (!isnan(lim) && !isnan(sq) && sq < lim) {
			fprintf(stderr, "qscope: gate: %s: SQNR %.2f dB is below %.2f dB\n",
			        r->name, sq, lim);
			tripped = 1;
		}
		if (c->a->fail_risk && res->risk == RISK_RISK) {
			fprintf(stderr, "qscope: gate: %s: overflow risk: %s\n", r->name,
			        worst_reason(res));
			tripped = 1;
		}
	}
	return tripped;
}

/* A row that could not be analysed is bad input: every output is withheld
 * (nothing written), the first failures are named, exit 2. */
static int report_failures(const struct report_ctx *c)
{
	size_t bad = 0;

	for (size_t i = 0; i < session_rows(c->s); i++) {
		const struct session_row *r = session_row(c->s, i);
		if (r->state == ROW_FAILED && bad++ < 5)
			fprintf(stderr, "qscope: %s\n", r->error);
	}
	if (bad > 5)
		fprintf(stderr, "qscope: ... and %zu more tensors failed\n", bad - 5);
	if (bad)
		fprintf(stderr, "hint: leave such tensors out with --exclude GLOB or a recipe "
		                "keep-float row\n");
	return bad > 0;
}

/* ---- outputs ---------------------------------------------------------- */

static bool stdout_taken(const struct cli_args *a)
{
	return (a->csv && !strcmp(a->csv, "-")) ||
	       (a->channels_csv && !strcmp(a->channels_csv, "-"));
}

static int write_tensor_csv(struct report_ctx *c)
{
	struct atomic_file af;

	if (!c->a->csv)
		return 0;
	if (atomic_open(&af, c->a->csv, &c->err))
		return -1;
	btable_write(c->tensors, af.f);
	return atomic_commit(&af, &c->err);
}

static void print_stdout(struct report_ctx *c)
{
	const struct cli_args *a = c->a;

	if (a->format == FORMAT_CSV)
		btable_write(c->tensors, stdout);
	else if (a->format == FORMAT_JSON)
		summary_print_json(stdout, c->tensors);
	else if (!a->quiet && !stdout_taken(a)) {
		summary_print_table(stdout, c->tensors);
		summary_print_totals(stdout, c->tensors);
	}
	fflush(stdout);
}

static int produce(struct report_ctx *c)
{
	const struct cli_args *a = c->a;

	if (a->channels_csv) {
		if (atomic_open(&c->ch, a->channels_csv, &c->err))
			return -1;
		c->ch_open = true;
	}
	if (render_rows(c) || write_tensor_csv(c))
		return -1;
	if (c->ch_open) {
		c->ch_open = false;
		if (atomic_commit(&c->ch, &c->err))
			return -1;
	}
	if (a->save_recipe && session_save_recipe(c->s, a->save_recipe, &c->err))
		return -1;
	print_stdout(c);
	return 0;
}

/* An output naming an input (the same file by device and inode: another
 * spelling, a symlink, a hard link) would destroy the input. */
int batch_report(const struct cli_args *a)
{
	struct session_opts o;
	struct recipe *rec;
	struct report_ctx c = {.a = a};
	struct progress pg;

	const char *outs[] = {a->csv, a->channels_csv, a->save_recipe};
	const char *ins[] = {a->pos[0], a->npos > 1 ? a->pos[1] : NULL, a->recipe};
	if (batch_check_outputs(outs, 3, ins, 3, a->cmd) || batch_session_opts(a, &o, &rec))
		return EXIT_BAD;
	o.drop_channels = !a->channels_csv;
	o.light_stats = true;
	c.s = session_new(a->pos[0], a->npos > 1 ? a->pos[1] : NULL, &o, &c.err);
	if (!c.s) {
		recipe_free(rec);
		return batch_fail(&c.err, a->cmd);
	}
	c.measure = session_quant_model(c.s) != NULL;
	make_run_id(a, c.run);
	snprintf(c.shard, sizeof c.shard, "%d/%d", a->shard_n ? a->shard_k : 1,
	         a->shard_n ? a->shard_n : 1);
	if (!session_rows_total(c.s))
		fprintf(stderr, "qscope: warning: %s: no tensor to analyse%s\n", a->pos[0],
		        a->nselect || a->nexclude ? " (check --select/--exclude)" : "");
	progress_init(&pg, "analysing", a->quiet);
	session_wait(c.s, progress_update, &pg);
	progress_end(&pg);
	c.tensors = btable_new();
	int rc = EXIT_OK;
	if (report_failures(&c)) {
		rc = EXIT_BAD;
	} else if (produce(&c)) {
		if (c.ch_open)
			atomic_abort(&c.ch);
		rc = batch_fail(&c.err, a->cmd);
	} else if (check_gates(&c)) {
		rc = EXIT_GATE;
	}
	btable_free(c.tensors);
	session_free(c.s);
	recipe_free(rec);
	return rc;
}
