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

int recipe_load(const char *path, struct recipe **out, struct qs_error *err);
void recipe_free(struct recipe *r);

/* Apply the first rule matching name on top of *spec; returns the rule (or
 * NULL when none matched) and sets *keep_float. */
const struct recipe_rule *recipe_apply(const struct recipe *r, const char *name, struct qspec *spec,
				       bool *keep_float);

#endif
