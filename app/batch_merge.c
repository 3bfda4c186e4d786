#include <stdlib.h>
#include <string.h>

#include "../io/report.h"
#include "batch.h"
#include "batch_csv.h"
#include "batch_summary.h"

struct merge_state {
	const struct cli_args *a;
	struct report_table **parts;
	size_t nparts;
	int n; /* shards in the run (0 until known) */
	char run[64];
	const char **owner; /* owner[k-1]: the file that holds shard k */
	size_t empty;       /* parts with a header and no rows */
	struct qs_error err;
};

static int merge_bad(struct merge_state *m, const char *fmt, const char *file, const char *extra)
{
	return qs_error_set(&m->err, QS_ERR_FORMAT, fmt, file, extra);
}

static int same_header(struct merge_state *m, size_t i)
{
	const struct report_table *a = m->parts[0], *b = m->parts[i];

	if (a->ncols != b->ncols)
		return merge_bad(m, "%s: its columns differ from those of %s", m->a->pos[i],
		                 m->a->pos[0]);
	for (size_t c = 0; c < a->ncols; c++)
		if (strcmp(a->cols[c], b->cols[c]))
			return merge_bad(m, "%s: its columns differ from those of %s", m->a->pos[i],
			                 m->a->pos[0]);
	if (report_table_col(b, "row") < 0 || report_table_col(b, "shard") < 0 ||
	    report_table_col(b, "run") < 0)
		return merge_bad(m, "%s: %s", m->a->pos[i],
		                 "no row/shard/run columns (not written by 'qscope report')");
	return 0;
}

/* Every row of a part must carry the same shard K/N and run id. */
static int part_shard(struct merge_state *m, size_t i, int *k)
{
	const struct report_table *t = m->parts[i];
	int cs = report_table_col(t, "shard"), cr = report_table_col(t, "run"), n;
	const char *sh = report_table_cell(t, 0, (size_t)cs),
	           *run = report_table_cell(t, 0, (size_t)cr);
	struct qs_error e;

	for (size_t r = 1; r < t->nrows; r++)
		if (strcmp(report_table_cell(t, r, (size_t)cs), sh) ||
		    strcmp(report_table_cell(t, r, (size_t)cr), run))
			return merge_bad(m, "%s: rows of several shards or runs%s", m->a->pos[i],
			                 " (not one part of a sharded report)");
	if (cli_parse_shard(sh, k, &n, &e))
		return merge_bad(m, "%s: bad shard cell '%s'", m->a->pos[i], sh);
	if (!m->n) {
		m->n = n;
		snprintf(m->run, sizeof m->run, "%s", run);
		m->owner = calloc((size_t)n, sizeof *m->owner);
		if (!m->owner)
			return qs_error_set(&m->err, QS_ERR_NOMEM, "out of memory");
	} else if (n != m->n) {
		return merge_bad(m,
		                 "%s: shard %s does not belong to a run of the other parts' size",
		                 m->a->pos[i], sh);
	} else if (strcmp(run, m->run)) {
		return merge_bad(m, "%s: run %s differs from the other parts' run", m->a->pos[i],
		                 run);
	}
	return 0;
}

static int check_shards(struct merge_state *m)
{
	for (size_t i = 0; i < m->nparts; i++) {
		int k, rc = i ? same_header(m, i) : same_header(m, 0);
		if (rc)
			return rc;
		if (!m->parts[i]->nrows) {
			m->empty++;
			continue;
		}
		if ((rc = part_shard(m, i, &k)))
			return rc;
		if (m->owner[k - 1])
			return qs_error_set(&m->err, QS_ERR_FORMAT,
			                    "%s: shard %d/%d is also in %s (duplicated shard)",
			                    m->a->pos[i], k, m->n, m->owner[k - 1]);
		m->owner[k - 1] = m->a->pos[i];
	}
	size_t have = m->empty;
	for (int k = 0; k < m->n; k++)
		have += m->owner[k] != NULL;
	for (int k = 0; k < m->n && have < (size_t)m->n; k++)
		if (!m->owner[k])
			return qs_error_set(&m->err, QS_ERR_FORMAT,
			                    "merge: shard %d/%d is missing (%zu of %d parts given)",
			                    k + 1, m->n, m->nparts, m->n);
	if (m->n && have > (size_t)m->n)
		return qs_error_set(&m->err, QS_ERR_FORMAT,
		                    "merge: %zu parts for a run of %d shards (duplicated shard)",
		                    m->nparts, m->n);
	return 0;
}

struct merge_key {
	unsigned long long row, channel;
	size_t at;
};

static int by_row_channel(const void *a, const void *b)
{
	const struct merge_key *x = a, *y = b;

	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	if (x->channel != y->channel)
		return x->channel < y->channel ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* All rows, in the order of an unsharded run, shard cells reset to 1/1. */
static struct btable *join(struct merge_state *m)
{
	struct btable *all = btable_new(), *out = btable_new();
	const struct report_table *p0 = m->parts[0];

	btable_set_header(all, p0->cols, p0->ncols);
	btable_set_header(out, p0->cols, p0->ncols);
	int cs = btable_col(all, "shard");
	for (size_t i = 0; i < m->nparts; i++)
		for (size_t r = 0; r < m->parts[i]->nrows; r++) {
			btable_add_row(all, &m->parts[i]->cells[r * p0->ncols]);
			free(all->cells[(all->nrows - 1) * all->ncols + (size_t)cs]);
			all->cells[(all->nrows - 1) * all->ncols + (size_t)cs] = strdup("1/1");
		}
	struct merge_key *order = malloc((all->nrows + 1) * sizeof *order);
	int cr = btable_col(all, "row");
	int cc = p0->kind == REPORT_CHANNELS ? btable_col(all, "channel") : -1;
	for (size_t r = 0; order && r < all->nrows; r++)
		order[r] = (struct merge_key){
		        strtoull(btable_cell(all, r, cr), NULL, 10),
		        cc < 0 ? 0 : strtoull(btable_cell(all, r, cc), NULL, 10), r};
	if (order)
		qsort(order, all->nrows, sizeof *order, by_row_channel);
	for (size_t r = 0; order && r < all->nrows; r++)
		btable_add_row(out, &all->cells[order[r].at * all->ncols]);
	free(order);
	btable_free(all);
	return out;
}

static int write_merged(struct merge_state *m, const struct btable *t)
{
	struct atomic_file af;
	const char *path = m->a->output ? m->a->output : "-";

	if (atomic_open(&af, path, &m->err))
		return -1;
	btable_write(t, af.f);
	return atomic_commit(&af, &m->err);
}

static void merge_free(struct merge_state *m)
{
	for (size_t i = 0; i < m->nparts; i++)
		report_table_free(m->parts[i]);
	free(m->parts);
	free(m->owner);
}

int batch_merge(const struct cli_args *a)
{
	struct merge_state m = {.a = a, .nparts = a->npos};
	int rc = 0;

	if (batch_check_outputs(&a->output, 1, a->pos, a->npos, a->cmd))
		return EXIT_BAD;
	m.parts = calloc(a->npos, sizeof *m.parts);
	for (size_t i = 0; m.parts && i < a->npos && !rc; i++)
		rc = report_table_load(a->pos[i], &m.parts[i], &m.err);
	if (!rc)
		rc = check_shards(&m);
	if (rc) {
		merge_free(&m);
		return batch_fail(&m.err, a->cmd);
	}
	struct btable *t = join(&m);
	rc = write_merged(&m, t);
	bool to_stdout = !a->output || !strcmp(a->output, "-");
	if (!rc && m.parts[0]->kind == REPORT_TENSORS && !to_stdout) {
		if (a->format == FORMAT_JSON)
			summary_print_json(stdout, t);
		else if (!a->quiet)
			summary_print_totals(stdout, t);
	}
	btable_free(t);
	merge_free(&m);
	return rc ? batch_fail(&m.err, a->cmd) : EXIT_OK;
}
