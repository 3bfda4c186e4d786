/* batch.h — the headless subcommands (report, quantize, inspect, merge,
 * demo) and the small helpers they share. Every function here that can fail
 * returns a process exit status: 0 ok, 1 a --fail-* gate tripped, 2 bad
 * input or usage (one line on stderr naming the file or option).
 *
 * Sharded CSV convention (report --csv/--channels-csv and merge): the columns
 * of io/report.h come first and in order; three columns follow:
 *   row    the tensor's position in the unsharded row list (model order);
 *   shard  "K/N" of the job that wrote the row ("1/1" when not sharded);
 *   run    16 hex digits identifying the run: a hash of the model file names
 *          and sizes, the options that change results (scheme, method,
 *          recipe contents, select/exclude globs) — not --shard, --jobs or the
 *          output paths — so all shards of one run and the unsharded run agree.
 * merge sorts rows by (row, channel) and requires one run id, one N, and
 * every K in 1..N exactly once; a part with a header and no rows stands for
 * a shard that received no tensors.
 */
#ifndef QS_BATCH_H
#define QS_BATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../io/atomic.h"

#include "../analysis/error.h"
#include "cli.h"

/* Exit statuses. */
enum {
	EXIT_OK = 0,
	EXIT_GATE = 1,
	EXIT_BAD = 2
};

int batch_report(const struct cli_args *a);
int batch_quantize(const struct cli_args *a);
int batch_inspect(const struct cli_args *a);
int batch_merge(const struct cli_args *a);
int batch_demo(const struct cli_args *a);

/* Print "qscope: MESSAGE" and, for usage errors, the help hint of cmd.
 * Returns EXIT_BAD. */
int batch_fail(const struct qs_error *err, enum cli_cmd cmd);

/* Build the session options from the arguments (recipe loaded into *rec,
 * which the caller frees with recipe_free). Returns 0 or EXIT_BAD (printed). */
struct session_opts;
struct recipe;
int batch_session_opts(const struct cli_args *a, struct session_opts *o, struct recipe **rec);

/* Outputs are written with io/atomic.h (temporary + rename; "-" and
 * devices such as /dev/null in place). */

/* Do two paths name the same file (resolved when both exist)? "-" never does. */
bool batch_same_file(const char *a, const char *b);
/* Refuse (EXIT_BAD, printed) when an output path names one of the inputs. */
int batch_check_outputs(const char *const *outs, size_t nout, const char *const *ins, size_t nin,
                        enum cli_cmd cmd);

/* mkdir -p: create every missing folder on the way to dir. */
int batch_make_dirs(const char *dir, struct qs_error *err);

/* 64-bit FNV-1a, for run ids. */
uint64_t batch_hash(uint64_t h, const void *data, size_t n);
#define BATCH_HASH_INIT 0xcbf29ce484222325ULL

/* A progress bar with ETA on stderr; silent unless stderr is a terminal and
 * not quiet. */
struct progress {
	bool on;
	double t0;
	const char *label;
};
void progress_init(struct progress *p, const char *label, bool quiet);
void progress_update(size_t done, size_t total, void *ctx); /* ctx: struct progress */
void progress_end(struct progress *p);

#endif
