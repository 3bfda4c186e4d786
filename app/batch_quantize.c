#include <stdlib.h>
#include <string.h>

#include "../io/recipe.h"
#include "batch.h"
#include "session.h"

/* Count what the written file holds (the writer may keep a tensor in float
 * that its format cannot quantize, e.g. rows not a multiple of a block). */
static void print_written(const char *out)
{
	struct model *m = NULL;
	struct qs_error err = {0};
	size_t q = 0, f = 0;

	if (model_load(out, &m, &err)) {
		fprintf(stderr, "qscope: wrote %s\n", out);
		return;
	}
	for (size_t i = 0; i < m->ntensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		if (t->quant || (t->block && t->block->family == QTYPE_BLOCK))
			q++;
		else if (model_tensor_analysable(t))
			f++;
	}
	fprintf(stderr, "qscope: wrote %s: %zu tensors quantized, %zu in float\n", out, q, f);
	model_free(m);
}

int batch_quantize(const struct cli_args *a)
{
	struct session_opts o;
	struct recipe *rec;
	struct qs_error err = {0};

	if (batch_same_file(a->output, a->pos[0]) || batch_same_file(a->output, a->like)) {
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
	struct write_opts wo = {.fake_quant = a->fake_quant,
	                        .to = a->to,
	                        .like = session_quant_model(s),
	                        .external_data = a->external_data};
	int rc = session_write_model_opts(s, a->output, &wo, &err);
	if (!rc && !a->quiet)
		print_written(a->output);
	session_free(s);
	recipe_free(rec);
	return rc ? batch_fail(&err, a->cmd) : EXIT_OK;
}
