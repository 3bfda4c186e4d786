#include "error.h"

#include <stdio.h>

/* Messages quote names and bytes taken from hostile files: keep them one
 * line and free of terminal control sequences. */
static void error_sanitize(char *msg)
{
	for (unsigned char *p = (unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
}

int qs_error_set(struct qs_error *err, enum qs_status code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		error_sanitize(err->msg);
	}
	return code;
}

void qs_error_clear(struct qs_error *err)
{
	if (err) {
		err->code = QS_OK;
		err->msg[0] = '\0';
	}
}
