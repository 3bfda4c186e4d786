#include "error.h"

#include <stdio.h>
#include <string.h>

int qs_error_set(struct qs_error *err, enum qs_status code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}

void qs_error_prefix(struct qs_error *err, const char *prefix)
{
	char tmp[sizeof err->msg];

	if (!err || !prefix)
		return;
	snprintf(tmp, sizeof tmp, "%s: %s", prefix, err->msg);
	memcpy(err->msg, tmp, sizeof tmp);
}

void qs_error_clear(struct qs_error *err)
{
	if (err) {
		err->code = QS_OK;
		err->msg[0] = '\0';
	}
}
