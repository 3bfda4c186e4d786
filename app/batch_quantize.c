#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../io/recipe.h"
#include "batch.h"
#include "session.h"

/* Same file? Compared by resolved path when it exists. */
static bool same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (!a || !b)
		return false;
	if (realpath(a, ra) && realpath(b, rb))
		return !strcmp(ra, rb);
	return !strcmp(a, b);
}

static void print_plan(const struct session *s, const char *out)
{
	size_t q = 0, kept = 0;

	for (size_t i = 0; i < session_rows(s); i++) {
		const struct session_row *r = session_row(s, i);
		if (!r->ft)
			continue;
		kept += r->keep_float;
		q += !r->keep_float;
	}
	fprintf(stderr, "qscope: wrote %s: %zu tensors quantized, %zu kept in float\n", out, q,
	        kept);
}

int batch_quantize(const struct cli_args *a)
{
	struct session_opts o;
	struct recipe *rec;
	struct qs_error err = {0};

	if (same_file(a->output, a->pos[0]) || same_file(a->output, a->like)) {
		qs_error_set(&err, QS_ERR_USAGE, "%s: refusing to overwrite an input model",
		             a->output);
		return batch_fail(&err, a->cmd);
	}
	if (batch_session_opts(a, &o, &rec))
		return EXIT_BAD;
	o.no_analysis = true;
	struct session *s = session_new(a->pos[0], a->like, &o, &err);
	if (!s) {
		recipe_free(rec);
		return batch_fail(&err, a->cmd);
	}
	struct write_opts wo = {
	        .fake_quant = a->fake_quant, .to = a->to, .like = session_quant_model(s)};
	int rc = session_write_model_opts(s, a->output, &wo, &err);
	if (!rc && !a->quiet)
		print_plan(s, a->output);
	session_free(s);
	recipe_free(rec);
	return rc ? batch_fail(&err, a->cmd) : EXIT_OK;
}
