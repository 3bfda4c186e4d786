#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batch_summary.h"

static double cell_num(const struct btable *t, size_t r, int c)
{
	const char *s = btable_cell(t, r, c);
	char *end;

	if (!*s)
		return NAN;
	double v = strtod(s, &end);
	return *end ? NAN : v;
}

void summary_totals(const struct btable *t, struct summary *s)
{
	int c_el = btable_col(t, "elements"), c_sq = btable_col(t, "sqnr_db");
	int c_risk = btable_col(t, "overflow_risk"), c_st = btable_col(t, "status");
	int c_fb = btable_col(t, "float_bytes"), c_qb = btable_col(t, "quant_bytes");
	double wsum = 0, w = 0;

	*s = (struct summary){0};
	for (size_t r = 0; r < t->nrows; r++) {
		const char *st = btable_cell(t, r, c_st), *risk = btable_cell(t, r, c_risk);
		double el = cell_num(t, r, c_el), sq = cell_num(t, r, c_sq);
		s->tensors++;
		s->params += isnan(el) ? 0 : (uint64_t)el;
		s->float_bytes += isnan(cell_num(t, r, c_fb)) ? 0 : (uint64_t)cell_num(t, r, c_fb);
		s->quant_bytes += isnan(cell_num(t, r, c_qb)) ? 0 : (uint64_t)cell_num(t, r, c_qb);
		s->unpaired += !strcmp(st, "unpaired");
		s->failed += !strcmp(st, "failed");
		s->kept += !strcmp(st, "keep-float");
		s->risk += !strcmp(risk, "risk");
		s->warn += !strcmp(risk, "warn");
		s->ok += !strcmp(risk, "ok");
		if (isfinite(sq) && !isnan(el) && strcmp(st, "keep-float")) {
			wsum += el * sq;
			w += el;
		}
	}
	s->weighted_sqnr = w > 0 ? wsum / w : NAN;
}

struct sqnr_key {
	double sqnr;
	size_t row;
};

/* Worst first: −inf, finite ascending, +inf, then rows without a figure. */
static int by_sqnr(const void *a, const void *b)
{
	const struct sqnr_key *x = a, *y = b;

	if (isnan(x->sqnr) != isnan(y->sqnr))
		return isnan(x->sqnr) ? 1 : -1;
	if (!isnan(x->sqnr) && x->sqnr != y->sqnr)
		return x->sqnr < y->sqnr ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

static void fmt_num(char *buf, size_t len, double v, const char *fmt)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (isinf(v))
		snprintf(buf, len, v > 0 ? "inf" : "-inf");
	else
		snprintf(buf, len, fmt, v);
}

static void print_row(FILE *f, const struct btable *t, size_t r, bool whatif)
{
	char sq[24], rm[24], mx[24], cl[24], wi[24];

	fmt_num(sq, sizeof sq, cell_num(t, r, btable_col(t, "sqnr_db")), "%.2f");
	fmt_num(rm, sizeof rm, cell_num(t, r, btable_col(t, "rmse")), "%.3g");
	fmt_num(mx, sizeof mx, cell_num(t, r, btable_col(t, "max_abs_err")), "%.3g");
	fmt_num(cl, sizeof cl, cell_num(t, r, btable_col(t, "clipped_pct")), "%.2f");
	fprintf(f, "%9s %10s %10s %7s %-5s %-7s %-12s ", sq, rm, mx, cl,
	        btable_cell(t, r, btable_col(t, "overflow_risk")),
	        btable_cell(t, r, btable_col(t, "qtype")),
	        btable_cell(t, r, btable_col(t, "method")));
	if (whatif) {
		fmt_num(wi, sizeof wi, cell_num(t, r, btable_col(t, "whatif_sqnr_db")), "%.2f");
		fprintf(f, "%9s ", wi);
	}
	const char *st = btable_cell(t, r, btable_col(t, "status"));
	fprintf(f, "%s%s%s%s\n", btable_cell(t, r, btable_col(t, "tensor")),
	        strcmp(st, "ok") && *st ? " [" : "", strcmp(st, "ok") && *st ? st : "",
	        strcmp(st, "ok") && *st ? "]" : "");
}

static bool has_whatif(const struct btable *t)
{
	int c = btable_col(t, "whatif_sqnr_db");
	for (size_t r = 0; r < t->nrows; r++)
		if (*btable_cell(t, r, c))
			return true;
	return false;
}

void summary_print_table(FILE *f, const struct btable *t)
{
	struct sqnr_key *order = malloc((t->nrows + 1) * sizeof *order);
	bool whatif = has_whatif(t);
	int c = btable_col(t, "sqnr_db");

	if (!order)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		order[r] = (struct sqnr_key){cell_num(t, r, c), r};
	qsort(order, t->nrows, sizeof *order, by_sqnr);
	fprintf(f, "%9s %10s %10s %7s %-5s %-7s %-12s %s%s\n", "SQNR dB", "RMSE", "max err",
	        "clip %", "risk", "qtype", "method", whatif ? "what-if   " : "", "tensor");
	for (size_t i = 0; i < t->nrows; i++)
		print_row(f, t, order[i].row, whatif);
	free(order);
}

static void print_bytes(FILE *f, const char *label, uint64_t b)
{
	fprintf(f, "%s %llu (%.2f MiB)", label, (unsigned long long)b, (double)b / 1048576.0);
}

void summary_print_totals(FILE *f, const struct btable *t)
{
	struct summary s;
	char wsq[24];

	summary_totals(t, &s);
	fmt_num(wsq, sizeof wsq, s.weighted_sqnr, "%.2f");
	fprintf(f, "\ntensors %zu  parameters %llu  parameter-weighted SQNR %s dB\n", s.tensors,
	        (unsigned long long)s.params, wsq);
	print_bytes(f, "bytes: float", s.float_bytes);
	print_bytes(f, "  quantized", s.quant_bytes);
	if (s.quant_bytes)
		fprintf(f, "  ratio %.2fx", (double)s.float_bytes / (double)s.quant_bytes);
	fprintf(f,
	        "\nrisk: %zu ok, %zu warn, %zu risk   kept float %zu   failed %zu   unpaired %zu\n",
	        s.ok, s.warn, s.risk, s.kept, s.failed, s.unpaired);
	int c_st = btable_col(t, "status"), c_n = btable_col(t, "tensor");
	for (size_t r = 0; r < t->nrows; r++)
		if (!strcmp(btable_cell(t, r, c_st), "unpaired"))
			fprintf(f, "unpaired: %s (%s)\n", btable_cell(t, r, c_n),
			        btable_cell(t, r, btable_col(t, "note")));
}

/* Numbers become JSON numbers; inf/nan (not JSON) and text stay strings. */
static json_t *json_cell(const char *s)
{
	char *end;

	if (!*s)
		return json_null();
	double v = strtod(s, &end);
	if (!*end && isfinite(v))
		return json_real(v);
	return json_string(s);
}

int summary_print_json(FILE *f, const struct btable *t)
{
	json_t *root = json_object(), *rows = json_array(), *tot = json_object();
	struct summary s;

	for (size_t r = 0; r < t->nrows; r++) {
		json_t *o = json_object();
		for (size_t c = 0; c < t->ncols; c++)
			json_object_set_new(o, t->cols[c], json_cell(btable_cell(t, r, (int)c)));
		json_array_append_new(rows, o);
	}
	summary_totals(t, &s);
	json_object_set_new(tot, "tensors", json_integer((json_int_t)s.tensors));
	json_object_set_new(tot, "parameters", json_integer((json_int_t)s.params));
	json_object_set_new(tot, "float_bytes", json_integer((json_int_t)s.float_bytes));
	json_object_set_new(tot, "quant_bytes", json_integer((json_int_t)s.quant_bytes));
	json_object_set_new(tot, "weighted_sqnr_db",
	                    isfinite(s.weighted_sqnr) ? json_real(s.weighted_sqnr) : json_null());
	json_object_set_new(tot, "ok", json_integer((json_int_t)s.ok));
	json_object_set_new(tot, "warn", json_integer((json_int_t)s.warn));
	json_object_set_new(tot, "risk", json_integer((json_int_t)s.risk));
	json_object_set_new(tot, "unpaired", json_integer((json_int_t)s.unpaired));
	json_object_set_new(tot, "failed", json_integer((json_int_t)s.failed));
	json_object_set_new(root, "tensors", rows);
	json_object_set_new(root, "totals", tot);
	int rc =
	        json_dumpf(root, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	fputc('\n', f);
	json_decref(root);
	return rc;
}
