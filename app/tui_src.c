#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/report.h"
#include "../plots/chart.h"
#include "tui_int.h"

static size_t src_count(void *ctx)
{
	return session_rows(ctx);
}

static uint64_t elem_bytes(enum dtype t, uint64_t n)
{
	return (n * dtype_info(t)->bits + 7) / 8;
}

/* Storage of the chosen spec: codes, one float scale per group and, for
 * affine schemes, one zero point per group. */
static double spec_bytes(const struct model_tensor *t, const struct qspec *q)
{
	const struct scheme *sc = &q->scheme;
	struct layout l;
	const char *why;
	if (q->qt && q->qt->family == QTYPE_BLOCK)
		return (double)((t->nelem + q->qt->block_elems - 1) / q->qt->block_elems *
		                q->qt->block_bytes);
	if (q->qt && q->qt->family == QTYPE_FLOAT)
		return (double)elem_bytes(q->qt->storage, t->nelem);
	if (!layout_init(&l, t->shape, t->ndim, sc->gran, sc->axis, sc->group_size, &why))
		l.ngroups = 1;
	uint64_t zp = sc->symmetric ? 0 : (l.ngroups * (uint64_t)sc->bits + 7) / 8;
	return (double)((t->nelem * (uint64_t)sc->bits + 7) / 8 + 4 * l.ngroups + zp);
}

static double stored_bytes(const struct model_tensor *qt)
{
	const struct tensor_quant *q = qt->quant;
	return (double)qt->nbytes +
	       (q ? (double)q->layout.ngroups * (4 + ((double)q->bits + 7) / 8) : 0);
}

/* The quantization stored in a quantized model, as text. */
static void stored_text(const struct model_tensor *t, struct wb_row *o)
{
	const struct tensor_quant *q = t->quant;
	o->scheme[0] = o->gran[0] = 0;
	snprintf(o->method, sizeof o->method, "stored");
	if (t->block) {
		snprintf(o->qtype, sizeof o->qtype, "%s", t->block->name);
		snprintf(o->scheme, sizeof o->scheme, "block");
		snprintf(o->gran, sizeof o->gran, "group:%u", t->block->block_elems);
		return;
	}
	if (!q) {
		snprintf(o->qtype, sizeof o->qtype, "%s", dtype_name(t->dtype));
		return;
	}
	snprintf(o->qtype, sizeof o->qtype, "%sint%d", q->qmin < 0 ? "" : "u", q->bits);
	double mid = nearbyint(((double)q->qmin + (double)q->qmax) / 2);
	bool sym = true;
	for (uint64_t g = 0; g < q->layout.ngroups && q->zero_point; g++)
		sym &= q->zero_point[g] == (int32_t)mid;
	snprintf(o->scheme, sizeof o->scheme, "%s", sym ? "sym" : "asym");
	if (q->layout.gran == GRAN_TENSOR)
		snprintf(o->gran, sizeof o->gran, "tensor");
	else if (q->layout.gran == GRAN_CHANNEL)
		snprintf(o->gran, sizeof o->gran, "channel:%d", q->layout.axis);
	else
		snprintf(o->gran, sizeof o->gran, "group:%llu",
		         (unsigned long long)q->layout.block);
}

static void spec_text(const struct qspec *q, struct wb_row *o)
{
	report_qtype_name(q, o->qtype, sizeof o->qtype);
	snprintf(o->scheme, sizeof o->scheme, "%s", report_scheme_name(q));
	report_gran_name(q, o->gran, sizeof o->gran);
	method_format(&q->method, o->method, sizeof o->method);
}

static enum wb_state state_of(enum row_state s)
{
	static const enum wb_state map[] = {[ROW_PENDING] = WB_PENDING,
	                                    [ROW_RUNNING] = WB_RUNNING,
	                                    [ROW_DONE] = WB_DONE,
	                                    [ROW_FAILED] = WB_FAILED,
	                                    [ROW_UNPAIRED] = WB_UNPAIRED};
	return map[s];
}

static void src_get_row(void *ctx, size_t i, enum wb_which which, struct wb_row *o)
{
	struct session *s = ctx;
	const struct session_row *r = session_row(s, i);
	const struct model_tensor *t = r->ft ? r->ft : r->qt;
	memset(o, 0, sizeof *o);
	o->name = r->name;
	report_format_shape(t->shape, t->ndim, o->shape, sizeof o->shape);
	snprintf(o->dtype, sizeof o->dtype, "%s", dtype_name(t->dtype));
	o->nelem = t->nelem;
	o->bytes_float = r->ft ? (double)elem_bytes(r->ft->dtype, r->ft->nelem) : 0;
	o->state = state_of(r->state);
	o->keep_float = r->keep_float;
	o->spec = r->spec;
	o->error = r->error;
	bool shipped = which == WB_SHIPPED && r->qt;
	if (shipped) {
		stored_text(r->qt, o);
		o->bytes_quant = stored_bytes(r->qt);
		o->keep_float = false;
	} else {
		spec_text(&r->spec, o);
		o->bytes_quant = r->ft ? spec_bytes(r->ft, &r->spec) : 0;
	}
	if (o->state == WB_DONE)
		o->res = shipped ? &r->shipped : &r->whatif;
}

/* The walk's two threads bin their pieces apart and add the counts in. */
struct hist_pair {
	gsl_histogram *hx, *he;
	pthread_mutex_t mu;
};

/* An empty histogram with h's bins: only the ranges are read, which no
 * thread writes (the counts are being added to under the lock). */
static gsl_histogram *hist_piece(const gsl_histogram *h, int *rc)
{
	gsl_histogram *c = h ? gsl_histogram_calloc_range(h->n, h->range) : NULL;
	if (h && !c)
		*rc = QS_ERR_NOMEM;
	return c;
}

static int hist_pair_add(void *ctx, uint64_t first, const float *x, const float *xh, uint64_t n)
{
	struct hist_pair *p = ctx;
	int rc = 0;
	(void)first;
	gsl_histogram *hx = hist_piece(p->hx, &rc), *he = hist_piece(p->he, &rc);
	if (!rc) {
		chart_hist_add(hx, x, n);
		chart_hist_add_diff(he, x, xh, n);
		pthread_mutex_lock(&p->mu);
		if (hx)
			gsl_histogram_add(p->hx, hx);
		if (he)
			gsl_histogram_add(p->he, he);
		pthread_mutex_unlock(&p->mu);
	}
	gsl_histogram_free(hx);
	gsl_histogram_free(he);
	return rc;
}

int tui_hists(struct session *s, size_t i, enum wb_which which, const struct qspec *spec,
              bool keep_float, const struct wb_hist_req *rq, gsl_histogram **hx, gsl_histogram **he,
              struct qs_error *err)
{
	const struct session_row *r = session_row(s, i);
	*hx = *he = NULL;
	if (!r->ft)
		return qs_error_set(err, QS_ERR_USAGE, "%s: no float tensor to plot", r->name);
	bool shipped = which == WB_SHIPPED && r->qt;
	struct hist_pair p = {.hx = chart_hist_new(rq->nx, rq->xlo, rq->xhi),
	                      .he = chart_hist_new(rq->ne, rq->elo, rq->ehi)};
	pthread_mutex_init(&p.mu, NULL);
	int rc = session_row_pairs(s, i, shipped, keep_float && !shipped ? NULL : spec,
	                           hist_pair_add, &p, err);
	pthread_mutex_destroy(&p.mu);
	if (rc) {
		gsl_histogram_free(p.hx);
		gsl_histogram_free(p.he);
		return rc;
	}
	*hx = p.hx;
	*he = p.he;
	return 0;
}

static int src_hists(void *ctx, size_t i, enum wb_which which, const struct wb_hist_req *rq,
                     gsl_histogram **hx, gsl_histogram **he, struct qs_error *err)
{
	struct session *s = ctx;
	const struct session_row *r = session_row(s, i);
	return tui_hists(s, i, which, &r->spec, r->keep_float, rq, hx, he, err);
}

void tui_source_init(struct wb_source *src, struct session *s)
{
	*src = (struct wb_source){
	        .ctx = s, .count = src_count, .get_row = src_get_row, .hists = src_hists};
}

void tui_channels_path(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	if (!dot || (slash && dot < slash))
		dot = path + strlen(path);
	snprintf(out, len, "%.*s_channels%s", (int)(dot - path), path, dot);
}

static void fill_row(struct session *s, const struct session_row *r, struct report_row *rr,
                     struct wb_row *txt)
{
	const struct model_tensor *t = r->ft ? r->ft : r->qt;
	bool measure = session_quant_model(s) && r->qt;
	*rr = (struct report_row){.tensor = r->name,
	                          .ndim = t->ndim,
	                          .shape = t->shape,
	                          .dtype = t->dtype,
	                          .spec = &r->spec};
	if (r->state == ROW_UNPAIRED) {
		rr->status = "unpaired";
		return;
	}
	if (r->state != ROW_DONE) {
		rr->status = "failed";
		rr->note = r->state == ROW_FAILED ? r->error : "not analysed yet";
		return;
	}
	if (measure) {
		stored_text(r->qt, txt);
		rr->qtype_str = txt->qtype;
		rr->scheme_str = txt->scheme;
		rr->gran_str = txt->gran;
		rr->method_str = "stored";
		rr->res = &r->shipped;
		rr->whatif_spec = &r->spec;
		rr->whatif = r->keep_float ? NULL : &r->whatif;
	} else if (r->keep_float) {
		rr->status = "keep-float";
		rr->qtype_str = dtype_name(t->dtype);
		rr->scheme_str = rr->gran_str = "";
		rr->method_str = "keep-float";
		rr->res = &r->whatif;
	} else {
		rr->res = &r->whatif;
	}
}

int tui_export_csv(struct session *s, const char *path, const char *chan_path, struct qs_error *err)
{
	struct report_writer *wt = report_writer_new(path, REPORT_TENSORS, err);
	if (!wt)
		return err->code;
	struct report_writer *wc = report_writer_new(chan_path, REPORT_CHANNELS, err);
	if (!wc) {
		report_writer_abort(wt);
		return err->code;
	}
	int rc = 0;
	for (size_t i = 0; i < session_rows(s) && !rc; i++) {
		struct report_row rr;
		struct wb_row txt;
		fill_row(s, session_row(s, i), &rr, &txt);
		rc = report_writer_add(wt, &rr, err);
		if (!rc && rr.res)
			rc = report_writer_add(wc, &rr, err);
	}
	if (rc) {
		report_writer_abort(wt);
		report_writer_abort(wc);
		return rc;
	}
	rc = report_writer_close(wt, err);
	if (rc) {
		report_writer_abort(wc);
		return rc;
	}
	return report_writer_close(wc, err);
}
