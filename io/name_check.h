/* name_check.h — tensor names from a file must be printable text.
 *
 * Names reach the terminal (inspect, report, the TUI) and CSV files, so a
 * model whose tensor names are not valid UTF-8 (overlong forms, surrogates,
 * code points past U+10FFFF, truncated sequences) or contain C0 control
 * characters or DEL (ESC sequences would drive the terminal) is refused at
 * load with one line naming the file, the tensor index and the byte.
 */
#ifndef QS_NAME_CHECK_H
#define QS_NAME_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

/* Length of the valid UTF-8 text without control characters at the start
 * of s (== strlen(s) when all of s is acceptable). */
size_t name_check_prefix(const char *s);

/* 0 when every tensor name of m is acceptable; else QS_ERR_FORMAT with err
 * naming path, the tensor's index and the offending byte offset. */
int name_check_model(const struct model *m, const char *path, struct qs_error *err);

#endif
