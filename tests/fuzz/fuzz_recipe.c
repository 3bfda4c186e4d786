/* fuzz_recipe.c — libFuzzer harness: the input is a recipe CSV (io/recipe.h),
 * written to x.csv and loaded with recipe_load; every rule is then applied
 * to a few tensor names so the parsed patterns and values are used. */
#include "fuzz_common.h"

#include <string.h>

#include "../../io/recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static const char *const names[] = {
        "conv1.weight", "blk.0.attn_q.weight", "", "a*b?[c]", "\xff\xfe", "model/dense/MatMul",
};

static void apply_all(const struct recipe *r)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct qspec spec = {.qt = NULL, .scheme = scheme_default()};
		bool keep = false;

		spec.method.kind = METHOD_MINMAX;
		recipe_apply(r, names[i], &spec, &keep);
	}
	for (size_t i = 0; i < r->n; i++) {
		struct qspec spec = {.qt = NULL, .scheme = scheme_default()};
		bool keep = false;

		if (!r->rules[i].pattern)
			fuzz_fail("rule %zu has no pattern", i);
		/* every rule against every pattern is quadratic in the harness */
		if (i >= 256)
			continue;
		spec.method.kind = METHOD_MINMAX;
		recipe_apply(r, r->rules[i].pattern, &spec, &keep);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct recipe *r = NULL;
	struct qs_error err = {0};
	const char *path;

	fuzz_clear();
	path = fuzz_write("x.csv", data, len);
	if (recipe_load(path, &r, &err) != 0) {
		if (r)
			fuzz_fail("recipe_load failed but returned a recipe");
		if (!err.msg[0] || strchr(err.msg, '\n'))
			fuzz_fail("recipe_load: bad message '%s'", err.msg);
		return 0;
	}
	if (!r || (r->n && !r->rules))
		fuzz_fail("recipe_load succeeded without rules");
	apply_all(r);
	recipe_free(r);
	return 0;
}
