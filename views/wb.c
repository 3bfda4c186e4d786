#include "wb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wb_init(struct wb *w, const struct wb_source *src, const char *float_path,
             const char *quant_path, bool utf8)
{
	memset(w, 0, sizeof *w);
	w->src = *src;
	w->float_path = float_path;
	w->quant_path = quant_path;
	w->show = quant_path ? WB_SHIPPED : WB_WHATIF;
	w->utf8 = utf8;
	snprintf(w->default_export, sizeof w->default_export, "qscope_tensors.csv");
	snprintf(w->default_recipe, sizeof w->default_recipe, "qscope_recipe.csv");
	snprintf(w->default_model, sizeof w->default_model, "qscope_out.onnx");
	wb_sync_rows(w);
}

void wb_release(struct wb *w)
{
	free(w->marked);
	w->marked = NULL;
	w->nmarked_cap = 0;
	tensor_result_free(&w->preview.res);
	memset(&w->preview, 0, sizeof w->preview);
	gsl_histogram_free(w->vals.hx);
	gsl_histogram_free(w->vals.he);
	memset(&w->vals, 0, sizeof w->vals);
}

size_t wb_count(const struct wb *w)
{
	return w->src.count ? w->src.count(w->src.ctx) : 0;
}

void wb_sync_rows(struct wb *w)
{
	size_t n = wb_count(w);
	if (n <= w->nmarked_cap)
		return;
	bool *m = realloc(w->marked, n * sizeof *m);
	if (!m)
		return;
	memset(m + w->nmarked_cap, 0, (n - w->nmarked_cap) * sizeof *m);
	w->marked = m;
	w->nmarked_cap = n;
}

size_t wb_marked_count(const struct wb *w)
{
	size_t k = 0;
	for (size_t i = 0; i < w->nmarked_cap; i++)
		k += w->marked[i];
	return k;
}

void wb_status(struct wb *w, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->status, sizeof w->status, fmt, ap);
	va_end(ap);
	w->status_error = error;
}

enum wb_which wb_shown(const struct wb *w)
{
	return w->quant_path ? w->show : WB_WHATIF;
}
