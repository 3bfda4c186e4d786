/* wb.h — the workbench model the views read: rows of the analysed tensors
 * through a source (count + get_row callbacks), shared UI state (marks,
 * filter, status line, progress) and the retune preview handshake.
 *
 * The views never call the session: the app fills a wb_source whose
 * callbacks read it, so tests drive the same views from an in-memory table.
 * Everything here is touched by the UI thread only; the app copies worker
 * results into wb.preview between frames.
 *
 * Ownership: struct wb is owned by the app (wb_init / wb_release); rows
 * returned by get_row borrow the source's strings and results until the
 * next data change (wb.data_gen bump).
 */
#ifndef QS_WB_H
#define QS_WB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_histogram.h>

#include "../analysis/analyze.h"

enum wb_which {
	WB_SHIPPED,
	WB_WHATIF
};
enum wb_state {
	WB_PENDING,
	WB_RUNNING,
	WB_DONE,
	WB_FAILED,
	WB_UNPAIRED
};

/* One row as shown: the strings are already formatted by the source. */
struct wb_row {
	const char *name;
	char shape[48];  /* "64x3x3x3" */
	char dtype[16];  /* stored float type ("f32") */
	char qtype[24];  /* quantized type of the shown result ("int8", "Q4_0") */
	char scheme[8];  /* "sym", "asym", "block" */
	char gran[24];   /* "tensor", "channel:0", "group:32" */
	char method[32]; /* "minmax", "percentile:99.9", "stored" */
	uint64_t nelem;
	double bytes_float, bytes_quant; /* storage of the float tensor / as quantized */
	enum wb_state state;
	bool keep_float;
	struct qspec spec;               /* the current choice (what-if) */
	const struct tensor_result *res; /* the result of `which`; NULL until done */
	const char *error;               /* WB_FAILED */
};

/* What the detail view plots of a row: x in nx equal bins over [xlo, xhi]
 * and the error x − x̂ in ne bins over [elo, ehi], each counted as
 * chart_hist_build counts (outliers in the end bins, NaN/inf left out). The
 * source streams the tensor into them: no tensor-sized copy is kept. */
struct wb_hist_req {
	size_t nx, ne;
	double xlo, xhi, elo, ehi;
};

struct wb_source {
	void *ctx;
	size_t (*count)(void *ctx);
	void (*get_row)(void *ctx, size_t i, enum wb_which which, struct wb_row *out);
	/* The detail histograms of row i for `which` as rq asks (the caller
	 * frees both with gsl_histogram_free; either may be NULL when its
	 * range or bin count cannot make one). Returns 0 or an error. */
	int (*hists)(void *ctx, size_t i, enum wb_which which, const struct wb_hist_req *rq,
	             gsl_histogram **hx, gsl_histogram **he, struct qs_error *err);
};

/* Scope of a retune edit. */
enum wb_scope {
	WB_SCOPE_THIS,
	WB_SCOPE_MARKED,
	WB_SCOPE_ALL
};

struct wb_preview {
	uint64_t seq; /* the request this answers (0: none yet) */
	int status;   /* 0 ok, else error (msg) */
	struct tensor_result res;
	char msg[256];
};

struct wb_values {
	uint64_t seq; /* the request this answers */
	int status;   /* 0 ok, else error (msg) */
	struct wb_hist_req rq;
	gsl_histogram *hx, *he;
	char msg[256];
};

struct wb {
	struct wb_source src;
	const char *float_path, *quant_path; /* quant_path NULL: simulate */
	enum wb_which show;                  /* the table shows shipped or what-if */
	size_t done, total;                  /* analysis progress */
	uint64_t data_gen;                   /* bumped whenever rows change */
	bool *marked;                        /* per row (count entries) */
	size_t nmarked_cap;
	char filter[128];
	uint64_t filter_gen;
	char status[256];
	bool status_error;
	bool utf8;
	/* Retune preview: the dialog sets req_* and bumps req_seq; the app
	 * computes and stores the answer in preview (with its seq). */
	uint64_t req_seq;
	size_t req_row;
	struct qspec req_spec;
	struct wb_preview preview;
	/* Detail histograms: with async_values set, the detail view asks by
	 * bumping vreq_seq (row, which, the row's spec at that moment and the
	 * bins its layout wants) and the app answers in vals from a worker; the
	 * view takes ownership of vals.hx / vals.he (and sets them NULL).
	 * Without it, the view calls src.hists itself. */
	bool async_values;
	uint64_t vreq_seq;
	size_t vreq_row;
	enum wb_which vreq_which;
	struct qspec vreq_spec;
	bool vreq_keep_float;
	struct wb_hist_req vreq_hist;
	struct wb_values vals;
	/* Per-channel/tensor defaults for the export prompt etc. */
	char default_export[256], default_model[256], default_recipe[256];
};

void wb_init(struct wb *w, const struct wb_source *src, const char *float_path,
             const char *quant_path, bool utf8);
void wb_release(struct wb *w); /* frees marks and the preview result */
/* Make marks cover the source's row count (call after rows appear). */
void wb_sync_rows(struct wb *w);
size_t wb_count(const struct wb *w);
size_t wb_marked_count(const struct wb *w);
void wb_status(struct wb *w, bool error, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Which result the views show: what-if in simulate mode, else w->show. */
enum wb_which wb_shown(const struct wb *w);

#endif
