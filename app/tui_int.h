/* tui_int.h — internals of the TUI shared by app/tui*.c: the adapter that
 * shows a session through the views' wb_source, and CSV export of the
 * session's current results.
 *
 * Test hooks of tui_run (environment):
 *   QSCOPE_TUI_MAX_FRAMES=N  curses mode: return 0 after N loop turns (one
 *                            turn per key or per 50 ms poll), like htop -n.
 *   QSCOPE_TUI_DUMP=FILE     headless mode: no curses at all; wait for the
 *                            analysis, read QSCOPE_TUI_KEYS (tui_keys.h
 *                            syntax), settling analysis and previews after
 *                            every key, then write the screen as text to FILE.
 *   QSCOPE_TUI_SIZE=WxH      headless screen size (default 80x24).
 */
#ifndef QS_TUI_INT_H
#define QS_TUI_INT_H

#include <stdbool.h>

#include "../views/wb.h"
#include "session.h"

/* Fill src so that the views read session s (borrowed). */
void tui_source_init(struct wb_source *src, struct session *s);

/* The detail histograms of row i as rq asks (wb.h): x and x − x̂ as
 * shipped (the quantized model decoded) or the given spec simulated
 * (keep_float: x̂ = x), streamed through session_row_pairs so that no
 * tensor-sized copy is held. Reads only immutable model data and the
 * arguments, so a worker thread may call it while the UI thread edits the
 * session. */
int tui_hists(struct session *s, size_t i, enum wb_which which, const struct qspec *spec,
              bool keep_float, const struct wb_hist_req *rq, gsl_histogram **hx, gsl_histogram **he,
              struct qs_error *err);

/* Export the per-tensor CSV to path and the per-channel CSV to chan_path
 * (what the table shows: as shipped in measure mode, else what-if; the
 * per-tensor CSV carries the what-if columns in measure mode). */
int tui_export_csv(struct session *s, const char *path, const char *chan_path,
                   struct qs_error *err);

/* "dir/name_channels.csv" for "dir/name.csv". */
void tui_channels_path(const char *path, char *out, size_t len);

#endif
