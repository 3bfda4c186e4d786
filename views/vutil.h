/* vutil.h — small helpers shared by the views: severity styles and number
 * formats for table cells.
 *
 * Severity colours: a tensor's SQNR below 20 dB is ST_RISK, below 30 dB
 * ST_WARN, else ST_OK (8-bit weights of healthy layers land around 35–45 dB);
 * a risk level maps to ST_OK / ST_WARN / ST_RISK.
 */
#ifndef QS_VUTIL_H
#define QS_VUTIL_H

#include <stddef.h>

#include "../analysis/overflow.h"

#define VIEW_SQNR_RISK 20.0
#define VIEW_SQNR_WARN 30.0

int view_sqnr_style(double sqnr_db);
int view_risk_style(enum risk_level r);
/* "1.2 MB", "512 B" (decimal units). */
const char *view_fmt_bytes(char *buf, size_t len, double bytes);
/* "1.23M", "45.6k", "789". */
const char *view_fmt_count(char *buf, size_t len, double n);
/* SQNR with one decimal ("38.2"), "inf", "-inf", "nan". */
const char *view_fmt_db(char *buf, size_t len, double db);

#endif
