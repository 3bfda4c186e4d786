/* report.h — the CSV reports of `qscope report` (and the TUI's export), and
 * the reader `qscope merge` joins sharded reports with.
 *
 * Per-tensor CSV, one row per session row, columns in this order (the first
 * 24 are the design.md contract; the rest always follow, possibly empty, so
 * every shard of a run has the same header):
 *
 *   tensor,shape,dtype,qtype,elements,bits,scheme,granularity,method,
 *   scale_min,scale_max,zero_point,clip_min,clip_max,mse,rmse,mae,max_abs_err,
 *   sqnr_db,cosine,clipped_pct,levels_used,entropy_bits,overflow_risk,
 *   rmse_over_scale,n_nan,n_inf,status,note,
 *   whatif_qtype,whatif_bits,whatif_scheme,whatif_granularity,whatif_method,
 *   whatif_mse,whatif_sqnr_db,whatif_max_abs_err,whatif_clipped_pct,
 *   whatif_overflow_risk
 *
 * Per-channel CSV, one row per channel of each tensor's result (res->ch):
 *
 *   tensor,channel,elements,min,max,scale,zero_point,mse,rmse,max_abs_err,
 *   sqnr_db,clipped_pct,overflow_risk
 *
 * Cell conventions:
 *   numbers    doubles with "%.17g" (round-trip exact), integers in decimal;
 *              non-finite values spelled `inf`, `-inf`, `nan` (Python's
 *              float() and numpy read these).
 *   shape      dims joined with 'x' ("64x3x3x3"); a scalar is "scalar".
 *   dtype      dtype_name() of the stored element type ("f32", "i8").
 *   qtype      the storage type name ("int8", "uint8", "Q4_0", "F16").
 *   scheme     "sym" or "asym" ("block" for ggml block types).
 *   granularity "tensor", "channel", "group:N" (N elements per group).
 *   method     method_format() ("minmax", "percentile:99.9"); "stored" for
 *              measure-mode rows of a quantized model.
 *   zero_point empty when the groups do not share one (INT32_MIN in the
 *              result).
 *   overflow_risk  risk_level_name() of res->risk: "ok", "warn", "risk".
 *   status     "ok", "keep-float", "unpaired", "failed" (then every metric
 *              cell is empty and note holds the error).
 *   note       the reason of the worst finding (or the error), may be empty.
 * Fields that need it are quoted per RFC 4180 (libcsv's csv_fwrite).
 *
 * Ownership: a report_writer owns its output (io/atomic.h): a temp file
 * beside the target that report_writer_close fsyncs and renames onto it, or
 * for "-" and non-regular targets (/dev/null, a FIFO) the target itself,
 * written in place; report_writer_abort removes the temp file. A writer from
 * report_writer_new_stream writes to the caller's FILE, which the caller
 * keeps owning (close only flushes it). No function here prints.
 */
#ifndef QS_REPORT_H
#define QS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../analysis/analyze.h"
#include "../analysis/dtype.h"
#include "../analysis/error.h"

enum report_kind {
	REPORT_TENSORS,
	REPORT_CHANNELS
};

/* Describes one row. Every pointer is borrowed for the duration of the call. */
struct report_row {
	const char *tensor;
	int ndim;
	const int64_t *shape;
	enum dtype dtype;
	/* The quantization measured: spec (simulate mode) gives qtype, scheme,
	 * granularity and method; the *_str fields, when not NULL, override
	 * them (measure mode: "int8", "sym", "channel", "stored"). */
	const struct qspec *spec;
	const char *qtype_str, *scheme_str, *gran_str, *method_str;
	const struct tensor_result *res; /* NULL: metric cells empty */
	/* Optional what-if columns (measure mode with a chosen method). */
	const struct qspec *whatif_spec;
	const struct tensor_result *whatif;
	const char *status; /* NULL means "ok" */
	const char *note;   /* NULL: the worst finding's reason, if any */
};

struct report_writer;

/* Open path for a report of this kind and write the header. path "-" means
 * stdout. Returns NULL with err filled. */
struct report_writer *report_writer_new(const char *path, enum report_kind kind,
                                        struct qs_error *err);
/* Same, onto an open stream (not closed by the writer). */
struct report_writer *report_writer_new_stream(FILE *f, const char *label, enum report_kind kind,
                                               struct qs_error *err);

/* Write one row (REPORT_TENSORS) or the rows of every channel of row->res
 * (REPORT_CHANNELS; nothing when res is NULL or has no channels). */
int report_writer_add(struct report_writer *w, const struct report_row *row, struct qs_error *err);

/* Flush, fsync, rename into place, free. Returns 0 or an error (then nothing
 * is left at the final path that was not there before). NULL-safe. */
int report_writer_close(struct report_writer *w, struct qs_error *err);
/* Discard: remove the temp file and free. NULL-safe. */
void report_writer_abort(struct report_writer *w);

/* Cell text helpers shared with the TUI (buf of at least 32 bytes). */
const char *report_format_double(double v, char *buf, size_t len); /* %.17g, inf, nan */
const char *report_format_shape(const int64_t *shape, int ndim, char *buf, size_t len);
/* Canonical scheme / granularity / qtype names of a spec ("sym", "group:32",
 * "int8" for 8-bit signed linear, "uint4", or the qtype's own name). */
const char *report_scheme_name(const struct qspec *s);
const char *report_gran_name(const struct qspec *s, char *buf, size_t len);
const char *report_qtype_name(const struct qspec *s, char *buf, size_t len);

/* ---- reading (qscope merge) -------------------------------------------- */

/* A CSV read whole: header names and rows of cells (strings). */
struct report_table {
	enum report_kind kind; /* from the header */
	size_t ncols;
	char **cols; /* ncols names */
	size_t nrows;
	char **cells; /* nrows × ncols, row-major; a missing cell is "" */
};

/* Read a report CSV written by report_writer (libcsv). The header must
 * start with the per-tensor or per-channel contract columns; rows must have
 * exactly ncols cells. Errors name the file and line. */
int report_table_load(const char *path, struct report_table **out, struct qs_error *err);
void report_table_free(struct report_table *t); /* NULL-safe */
/* Column index of name, or −1. */
int report_table_col(const struct report_table *t, const char *name);
static inline const char *report_table_cell(const struct report_table *t, size_t row, size_t col)
{
	return t->cells[row * t->ncols + col];
}

/* Join sharded reports: every input must have the same header; rows are
 * concatenated in input order; a tensor (or tensor+channel) that appears in
 * two inputs is an error naming both files. Written atomically to out_path
 * ("-" = stdout). */
int report_merge(const char *const *paths, size_t n, const char *out_path, struct qs_error *err);

#endif
