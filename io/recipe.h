/* recipe.h — per-tensor quantization choices as CSV (read and written with
 * libcsv): header `pattern,action,bits,scheme,granularity,method` followed by
 * optional columns `qtype,min_sqnr`. pattern is a glob (fnmatch) on tensor
 * names; action is `quantize` or `keep-float`; empty cells inherit the
 * defaults; the first matching row wins.
 */
#ifndef QS_RECIPE_H
#define QS_RECIPE_H

#include <stdbool.h>
#include <stddef.h>

#include "../analysis/analyze.h"
#include "../analysis/error.h"

struct recipe_rule {
	char *pattern;
	bool keep_float;
	bool has_bits, has_scheme, has_gran, has_method, has_qtype, has_min_sqnr;
	int bits;
	bool symmetric;
	enum granularity gran;
	uint64_t group_size;
	struct method method;
	const struct qtype *qt;
	double min_sqnr;
};

struct recipe {
	size_t n;
	struct recipe_rule *rules;
};

/* Read a recipe. Columns are found by header name (pattern and action are
 * required; the others may be absent or in any order); unknown columns are
 * an error, as are bad cells, each named with its line and column, e.g.
 * "r.csv: line 3, column 'bits': '17' is not 2..16". */
int recipe_load(const char *path, struct recipe **out, struct qs_error *err);
void recipe_free(struct recipe *r);

/* Apply the first rule matching name on top of *spec; returns the rule (or
 * NULL when none matched) and sets *keep_float. A rule that sets bits but no
 * qtype drops a linear qtype from *spec (its bits would override them). */
const struct recipe_rule *recipe_apply(const struct recipe *r, const char *name, struct qspec *spec,
                                       bool *keep_float);

/* ---- building and saving (the TUI's "save recipe") -------------------- */

struct recipe *recipe_new(void); /* empty; NULL when out of memory */

/* Append a rule: pattern (copied) with every field of spec set (spec NULL or
 * keep_float: an action-only rule). Returns 0 or QS_ERR_NOMEM. */
int recipe_add(struct recipe *r, const char *pattern, const struct qspec *spec, bool keep_float);

/* Escape glob characters (* ? [ ] \) of an exact tensor name so the rule
 * matches only it; returns buf, or NULL when len is too small. */
char *recipe_glob_escape(const char *name, char *buf, size_t len);

/* Write r as CSV (header pattern,action,bits,scheme,granularity,method,
 * qtype,min_sqnr; unset fields empty) atomically (io/atomic.h: temp file in
 * the same folder, fsync, rename; "-" is stdout). */
int recipe_save(const char *path, const struct recipe *r, struct qs_error *err);

#endif
