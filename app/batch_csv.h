/* batch_csv.h — CSV tables of the batch commands: rows rendered by
 * io/report.h's writer (so the cells follow its conventions exactly), with
 * the shard columns of batch.h appended, kept in memory for the summary,
 * JSON and merge, and written with RFC 4180 quoting where a cell needs it.
 *
 * Ownership: a btable owns its strings; btable_free frees everything.
 */
#ifndef QS_BATCH_CSV_H
#define QS_BATCH_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../io/report.h"

struct btable {
	size_t ncols;
	char **cols;
	size_t nrows, cap;
	char **cells; /* nrows × ncols */
};

struct btable *btable_new(void);
void btable_free(struct btable *t); /* NULL-safe */
void btable_set_header(struct btable *t, char *const *names, size_t n);
/* Append a row of exactly t->ncols cells (copied). */
void btable_add_row(struct btable *t, char *const *cells);
int btable_col(const struct btable *t, const char *name);             /* −1 when absent */
const char *btable_cell(const struct btable *t, size_t row, int col); /* "" when col < 0 */
void btable_write(const struct btable *t, FILE *f);

/* One CSV cell followed by ',' or '\n'; quoted only when it must be. */
void batch_csv_cell(FILE *f, const char *v, bool last);
void batch_csv_record(FILE *f, char *const *cells, size_t n);

/* Render row (NULL: header only) with the report writer of kind and call
 * rec for each record: the header first when want_header, then the row's
 * records (one for REPORT_TENSORS, one per channel for REPORT_CHANNELS). */
typedef void (*csv_record_fn)(char **cells, size_t n, void *ctx);
int batch_render_row(enum report_kind kind, const struct report_row *row, bool want_header,
                     csv_record_fn rec, void *ctx, struct qs_error *err);

/* Parse a whole CSV buffer, calling rec per record. */
int batch_csv_parse(const char *buf, size_t len, csv_record_fn rec, void *ctx);

#endif
