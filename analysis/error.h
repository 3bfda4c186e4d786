/* error.h — the error record that library code fills instead of printing.
 *
 * analysis/, io/ and plots/ never print: a function that can fail returns a
 * status (0 ok, negative error) and fills a struct qs_error. app/ decides
 * whether the message goes to stderr (batch) or to the status line (TUI).
 * The message is one line naming the file and what is wrong (offset, field),
 * e.g. "w.npy: header: shape (3, 4) needs 48 bytes, file has 40 at offset 128".
 */
#ifndef QS_ERROR_H
#define QS_ERROR_H

#include <stdarg.h>

enum qs_status {
	QS_OK = 0,
	QS_ERR_IO = -1,          /* open/read/write/mmap failed (errno in msg) */
	QS_ERR_FORMAT = -2,      /* malformed or hostile input file */
	QS_ERR_UNSUPPORTED = -3, /* valid but not handled (e.g. object arrays) */
	QS_ERR_USAGE = -4,       /* bad argument or option value */
	QS_ERR_NOMEM = -5,       /* allocation refused (size from the file too big) */
	QS_ERR_NUMERIC = -6,     /* a numeric routine failed (GSL status in msg) */
};

struct qs_error {
	enum qs_status code;
	char msg[512];
};

/* Set err (if not NULL) to code and a printf-formatted message; returns
 * code so callers can write `return qs_error_set(err, QS_ERR_FORMAT, ...)`. */
int qs_error_set(struct qs_error *err, enum qs_status code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

void qs_error_clear(struct qs_error *err);

#endif
