#include "error.h"

#include <stdio.h>
#include <string.h>

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

/* Shift the message right and copy the prefix in front; the tail is cut
 * when the whole does not fit. */
void qs_error_prefix(struct qs_error *err, const char *prefix)
{
	size_t cap = sizeof err->msg - 1, lp, lm;

	if (!err || !prefix)
		return;
	lp = strlen(prefix);
	lm = strnlen(err->msg, cap);
	if (lp + 2 > cap)
		lp = cap - 2;
	if (lp + 2 + lm > cap)
		lm = cap - lp - 2;
	memmove(err->msg + lp + 2, err->msg, lm);
	memcpy(err->msg, prefix, lp);
	err->msg[lp] = ':';
	err->msg[lp + 1] = ' ';
	err->msg[lp + 2 + lm] = '\0';
}

void qs_error_clear(struct qs_error *err)
{
	if (err) {
		err->code = QS_OK;
		err->msg[0] = '\0';
	}
}
