/* atomic.h — write an output file so that it appears whole or not at all.
 *
 * atomic_open creates a temporary file beside the target (same folder, so
 * rename stays on one file system); atomic_commit flushes, fsyncs and renames
 * it over the target; atomic_abort removes it. A reader never sees a partial
 * output, and a failure (disk full, SIGKILL) leaves at most a hidden
 * ".NAME.XXXXXX" temporary, never a damaged target.
 *
 * Special targets: "-" writes to stdout; an existing target that is not a
 * regular file (a character device such as /dev/null, a FIFO, a terminal) is
 * written in place, since renaming over a device would replace the device
 * node with a plain file. A directory is refused.
 */
#ifndef QS_ATOMIC_H
#define QS_ATOMIC_H

#include <stdio.h>

#include "../analysis/error.h"

struct atomic_file {
	FILE *f;      /* write here */
	char *path;   /* the target (owned) */
	char *tmp;    /* the temporary (owned); NULL when writing in place */
	int in_place; /* stdout or a non-regular target */
};

/* Open path for writing. Returns 0 or QS_ERR_IO / QS_ERR_USAGE / QS_ERR_NOMEM
 * with a message naming path. */
int atomic_open(struct atomic_file *af, const char *path, struct qs_error *err);

/* Flush, fsync, close and rename into place; on failure the temporary is
 * removed and the target left untouched. */
int atomic_commit(struct atomic_file *af, struct qs_error *err);

/* Close and remove the temporary (NULL-safe, idempotent). */
void atomic_abort(struct atomic_file *af);

/* True when a and b name the same existing file (same device and inode). */
int atomic_same_file(const char *a, const char *b);

#endif
