#include "vutil.h"

#include <math.h>
#include <stdio.h>

#include "../plots/grid.h"

int view_sqnr_style(double db)
{
	if (isnan(db))
		return ST_WARN;
	return db < VIEW_SQNR_RISK ? ST_RISK : db < VIEW_SQNR_WARN ? ST_WARN : ST_OK;
}

int view_risk_style(enum risk_level r)
{
	static const int styles[] = {
	        [RISK_OK] = ST_OK, [RISK_WARN] = ST_WARN, [RISK_RISK] = ST_RISK};
	return r <= RISK_RISK ? styles[r] : ST_NORMAL;
}

static const char *scaled(char *buf, size_t len, double v, const char *const *units, int nunits)
{
	int u = 0;
	while (fabs(v) >= 1000 && u < nunits - 1) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f%s", v, units[0]);
	else
		snprintf(buf, len, v < 10 ? "%.2f%s" : v < 100 ? "%.1f%s" : "%.0f%s", v, units[u]);
	return buf;
}

const char *view_fmt_bytes(char *buf, size_t len, double bytes)
{
	static const char *const units[] = {" B", " kB", " MB", " GB", " TB"};
	return scaled(buf, len, bytes, units, 5);
}

const char *view_fmt_count(char *buf, size_t len, double n)
{
	static const char *const units[] = {"", "k", "M", "G", "T"};
	return scaled(buf, len, n, units, 5);
}

const char *view_fmt_db(char *buf, size_t len, double db)
{
	if (isnan(db))
		snprintf(buf, len, "nan");
	else if (isinf(db))
		snprintf(buf, len, db > 0 ? "inf" : "-inf");
	else
		snprintf(buf, len, "%.1f", db);
	return buf;
}
