/* session.h — the loaded models, the per-tensor choices and the results,
 * shared by the TUI and the batch commands.
 *
 * A session holds a float model (and optionally its quantized counterpart),
 * their pairing, one row per analysed tensor (pairs, and unpaired tensors
 * listed with their status), the chosen spec of each row (defaults, then
 * recipe, then edits, with undo/redo), and results computed lazily in a
 * worker pool so the UI never blocks.
 *
 * Threads: all functions are called from one thread (the UI or batch loop);
 * workers run inside. Row pointers stay valid until session_free; a row's
 * results change only inside session_poll / session_wait.
 */
#ifndef QS_SESSION_H
#define QS_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "../analysis/analyze.h"
#include "../io/model.h"
#include "../io/recipe.h"

struct session_opts {
	struct qspec defaults;       /* from --bits/--scheme/--granularity/--method/... */
	const struct recipe *recipe; /* may be NULL; borrowed */
	const char *const *select;   /* NULL-terminated globs, NULL = all */
	const char *const *exclude;  /* NULL-terminated globs */
	int jobs;                    /* worker threads; 0 = number of cores */
	int shard_k, shard_n;        /* analyse only shard k of n (1-based); n = 0: all */
	/* Additions (batch engineer): */
	bool axis_explicit; /* defaults.scheme.axis was given (--axis); else each row
			     * takes the graph's axis (channels: output axis; groups:
			     * reduction axis), or 0 / the last axis without a graph */
	bool no_analysis;   /* load, pair and plan only (quantize): no result is
			     * computed until a row is edited */
	bool drop_channels; /* free per-channel results as they arrive (batch
			     * without --channels-csv: memory) */
	bool light_stats;   /* no quantiles, x̂ statistics or x moments (batch: no
			     * output shows them): one pass less per tensor */
};

enum row_state {
	ROW_PENDING,
	ROW_RUNNING,
	ROW_DONE,
	ROW_FAILED,
	ROW_UNPAIRED
};

struct session_row {
	const char *name;
	const struct model_tensor *ft; /* float tensor (NULL: unpaired quant) */
	const struct model_tensor *qt; /* quantized tensor (NULL: simulate) */
	bool keep_float;               /* recipe/edit said keep-float; also the
					* start for biases (graph role) and for
					* tensors a block qtype cannot take */
	struct qspec spec;             /* the chosen method ("what-if") */
	enum row_state state;
	struct tensor_result shipped; /* measure mode: the model as it is */
	struct tensor_result whatif;  /* spec applied to the float tensor */
	char error[256];              /* ROW_FAILED */
	/* Additions (batch engineer): */
	size_t ordinal;  /* position in the unsharded row list (model order;
			  * merge sorts by it) */
	double min_sqnr; /* recipe min_sqnr gate; NAN = none */
};

struct session;

/* Load the models, pair them, apply defaults and recipe, start the workers.
 * quant_path may be NULL (simulate only). */
struct session *session_new(const char *float_path, const char *quant_path,
                            const struct session_opts *o, struct qs_error *err);
void session_free(struct session *s);

const struct model *session_float_model(const struct session *s);
const struct model *session_quant_model(const struct session *s); /* may be NULL */

size_t session_rows(const struct session *s);
const struct session_row *session_row(const struct session *s, size_t i);

/* Change the spec (or keep-float) of rows idx[0..n-1] as one undoable edit;
 * their results are recomputed in the background. */
void session_set_spec(struct session *s, const size_t *idx, size_t n, const struct qspec *spec,
                      bool keep_float);
bool session_undo(struct session *s);
bool session_redo(struct session *s);
bool session_dirty(const struct session *s); /* edits not yet saved/written */
void session_mark_saved(struct session *s);

/* Collect finished work; returns how many rows changed. Never blocks longer
 * than timeout_ms. */
size_t session_poll(struct session *s, int timeout_ms);
/* Block until every row is done (batch mode); progress(done, total, ctx) is
 * called from this thread as rows finish (may be NULL). */
void session_wait(struct session *s, void (*progress)(size_t, size_t, void *), void *ctx);
size_t session_done(const struct session *s);

/* Simulate one spec on row i synchronously into out, on two threads (the
 * retune preview runs this in a worker of its own). It shows error figures
 * and findings only, so quantiles, x̂'s statistics and the code counts
 * (levels_used 0, entropy_bits NAN) are left out; xs, when
 * not NULL, are x's statistics from an earlier preview of the same row
 * (out->xs), which then are not computed again. */
int session_preview(const struct session *s, size_t i, const struct qspec *spec,
                    const struct dist_stats *xs, struct tensor_result *out, struct qs_error *err);

/* Float values of row i (decoded, owned by the caller: free()). */
float *session_row_floats(const struct session *s, size_t i, struct qs_error *err);

/* x and x̂ of row i's float tensor in pieces: fn(ctx, first, x, xh, n) for
 * elements [first, first + n) of each piece (at most SESSION_PAIR_PIECE
 * elements when the tensor splits, the whole tensor when it does not;
 * buffers valid during the call). Two threads make the pieces and call fn,
 * possibly at the same time (on different pieces), in no set order. x̂ is the quantized
 * model's tensor decoded (shipped, the row has one), x itself (spec NULL:
 * kept in float) or spec simulated. A simulated tensor splits where
 * quantizing the pieces apart gives the whole tensor's x̂: between rows
 * (dimension 0) when every group lies in one row (per channel along axis
 * 0, groups along a later axis, ggml blocks or float casts on rows holding
 * whole blocks); per-tensor and other layouts are simulated whole. So
 * memory stays at four pieces for what the detail view plots. fn returning
 * non-zero stops the walk with that status. Reads only immutable model
 * data: a worker thread may call it while the UI thread edits the
 * session. */
enum {
	SESSION_PAIR_PIECE = 1 << 20
};
typedef int (*session_pair_fn)(void *ctx, uint64_t first, const float *x, const float *xh,
                               uint64_t n);
int session_row_pairs(const struct session *s, size_t i, bool shipped, const struct qspec *spec,
                      session_pair_fn fn, void *ctx, struct qs_error *err);

/* Write the float model with the current choices / save them as a recipe. */
int session_write_model(struct session *s, const char *path, bool fake_quant, struct qs_error *err);
int session_save_recipe(struct session *s, const char *path, struct qs_error *err);
/* Same as session_write_model with the caller's options (to, like,
 * fake_quant); o->plan is ignored: the session's choices are the plan. */
int session_write_model_opts(struct session *s, const char *path, const struct write_opts *o,
                             struct qs_error *err);
/* Number of rows before sharding (after select/exclude). */
size_t session_rows_total(const struct session *s);

#endif
