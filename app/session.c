#include "session.h"

#include "../io/mem_release.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One unit of work: (re)compute row `row` with this spec; gen tells a stale
 * result (the row was edited meanwhile) from a current one. */
struct job {
	size_t row;
	unsigned gen;
	struct qspec spec;
	bool keep_float;
};

struct job_done {
	struct job job;
	int status;
	struct tensor_result shipped, whatif;
	char error[256];
};

struct edit {
	size_t n;
	size_t *idx;
	struct qspec *old_spec;
	bool *old_keep;
	struct qspec spec;
	bool keep;
};

struct edit_stack {
	struct edit *v;
	size_t n, cap;
};

struct session {
	struct model *fm, *qm;
	struct pairing pairing;
	struct session_row *rows;
	unsigned *gen; /* per row, main thread only */
	size_t nrows, nrows_total;
	struct edit_stack undo, redo;
	size_t saved_depth; /* undo depth at the last save; SIZE_MAX: unreachable */
	bool drop_channels;
	bool light_stats;

	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct job *queue; /* FIFO: queue[qhead..qtail) */
	size_t qhead, qtail, qcap;
	struct job_done *done; /* finished, not yet collected */
	size_t ndone, donecap;
	size_t *started; /* rows a worker picked up since the last poll */
	size_t nstarted, startcap;
	size_t outstanding; /* jobs queued or running */
	bool stop;
	pthread_t *threads;
	int nthreads;
};

/* ---- small helpers ---------------------------------------------------- */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("qscope: out of memory\n", stderr);
		abort();
	}
	return q;
}

static void copy_trunc(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool matches_any(const char *const *globs, const char *name)
{
	for (; globs && *globs; globs++)
		if (fnmatch(*globs, name, 0) == 0)
			return true;
	return false;
}

static uint64_t row_elems(const struct session_row *r)
{
	return r->ft ? r->ft->nelem : r->qt ? r->qt->nelem : 0;
}

/* ---- building rows ---------------------------------------------------- */

static void row_init(struct session_row *r, const struct model_tensor *ft,
                     const struct model_tensor *qt)
{
	*r = (struct session_row){0};
	r->name = ft ? ft->name : qt->name;
	r->ft = ft;
	r->qt = qt;
	r->min_sqnr = NAN;
	r->whatif.zero_point = r->shipped.zero_point = INT32_MIN;
}

static int collect_rows(struct session *s, struct qs_error *err)
{
	size_t cap = s->fm->ntensors + (s->qm ? s->qm->ntensors : 0);

	s->rows = xrealloc(NULL, cap * sizeof *s->rows);
	if (!s->qm) {
		for (size_t i = 0; i < s->fm->ntensors; i++)
			if (model_tensor_analysable(&s->fm->tensors[i]))
				row_init(&s->rows[s->nrows++], &s->fm->tensors[i], NULL);
		return 0;
	}
	int rc = model_pair(s->fm, s->qm, &s->pairing, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < s->pairing.n; i++) {
		const struct pair *p = &s->pairing.pairs[i];
		if (p->f < 0 && p->q < 0)
			continue;
		if (s->nrows == cap) {
			cap = cap * 2 + 1;
			s->rows = xrealloc(s->rows, cap * sizeof *s->rows);
		}
		row_init(&s->rows[s->nrows++], p->f >= 0 ? &s->fm->tensors[p->f] : NULL,
		         p->q >= 0 ? &s->qm->tensors[p->q] : NULL);
	}
	return 0;
}

static void filter_rows(struct session *s, const struct session_opts *o)
{
	size_t k = 0;

	for (size_t i = 0; i < s->nrows; i++) {
		const char *name = s->rows[i].name;
		if (o->select && !matches_any(o->select, name))
			continue;
		if (matches_any(o->exclude, name))
			continue;
		s->rows[k++] = s->rows[i];
	}
	s->nrows = k;
}

struct shard_key {
	uint64_t elems;
	const char *name;
	size_t row;
};

static int by_size_then_name(const void *a, const void *b)
{
	const struct shard_key *x = a, *y = b;

	if (x->elems != y->elems)
		return x->elems > y->elems ? -1 : 1;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* Largest tensor first onto the least-loaded shard (ties: lowest shard),
 * which depends only on sizes and names, so every job of a run agrees. */
static void shard_rows(struct session *s, int k, int n)
{
	struct shard_key *order = xrealloc(NULL, s->nrows * sizeof *order);
	int *owner = xrealloc(NULL, s->nrows * sizeof *owner);
	uint64_t *load = xrealloc(NULL, (size_t)n * sizeof *load);

	for (size_t i = 0; i < s->nrows; i++)
		order[i] = (struct shard_key){row_elems(&s->rows[i]), s->rows[i].name, i};
	memset(load, 0, (size_t)n * sizeof *load);
	qsort(order, s->nrows, sizeof *order, by_size_then_name);
	for (size_t i = 0; i < s->nrows; i++) {
		int best = 0;
		for (int j = 1; j < n; j++)
			if (load[j] < load[best])
				best = j;
		owner[order[i].row] = best;
		load[best] += order[i].elems + 1;
	}
	size_t m = 0;
	for (size_t i = 0; i < s->nrows; i++)
		if (owner[i] == k - 1)
			s->rows[m++] = s->rows[i];
	s->nrows = m;
	free(order);
	free(owner);
	free(load);
}

/* A block format (Q4_0, ...) takes matrices whose rows are whole blocks;
 * like llama.cpp, other tensors (1-D, odd rows) stay in float. */
static bool fits_block(const struct model_tensor *t, const struct qspec *q)
{
	if (!q->qt || q->qt->family != QTYPE_BLOCK)
		return true;
	return t->ndim >= 2 && t->shape[t->ndim - 1] % q->qt->block_elems == 0;
}

/* The axis when --axis is not given: channels along the graph's output
 * axis (else 0); groups (blocks) along the reduction axis, the other one of
 * a matrix and the input channels of a convolution (ONNX blocked
 * DequantizeLinear, GGUF rows), else the last axis. */
static int default_axis(const struct model_tensor *t, enum granularity g)
{
	int out = t->facts.out_axis;

	if (g != GRAN_GROUP)
		return out >= 0 ? out : 0;
	if (out < 0 || t->ndim < 2)
		return -1;
	return out == 0 ? 1 : 0;
}

/* Defaults, then the first matching recipe rule, then the axis.
 * Biases stay in float unless a rule says otherwise: runtimes quantize them
 * to int32 from the input and weight scales, not with the weight scheme. */
static void apply_choices(struct session *s, const struct session_opts *o)
{
	for (size_t i = 0; i < s->nrows; i++) {
		struct session_row *r = &s->rows[i];
		const struct model_tensor *t = r->ft ? r->ft : r->qt;
		r->spec = o->defaults;
		r->keep_float = t->facts.role == ROLE_BIAS;
		bool keep = false;
		const struct recipe_rule *rule =
		        o->recipe ? recipe_apply(o->recipe, r->name, &r->spec, &keep) : NULL;
		if (rule) {
			r->keep_float = keep;
			if (rule->has_min_sqnr)
				r->min_sqnr = rule->min_sqnr;
		}
		if (!o->axis_explicit)
			r->spec.scheme.axis = default_axis(t, r->spec.scheme.gran);
		if (!r->keep_float && !fits_block(t, &r->spec))
			r->keep_float = true;
		r->state = (r->ft && (r->qt || !s->qm)) ? ROW_PENDING : ROW_UNPAIRED;
	}
}

/* ---- computing one row (worker side) ---------------------------------- */

/* Tensors from this many elements on are analysed on two threads. */
#define SPLIT_ELEMS (1u << 22)

static const struct graph_facts *row_facts(const struct session_row *r);

struct tensor_src {
	const struct model *m;
	const struct model_tensor *t;
};

static int tensor_src_read(void *ctx, uint64_t first, uint64_t count, float *dst,
                           struct qs_error *err)
{
	const struct tensor_src *ts = ctx;

	return model_tensor_to_f32_range(ts->m, ts->t, first, count, dst, err);
}

/* A row's analysis options: two threads for a large tensor, and what the
 * batch report leaves out (light_stats). */
static struct analyze_opts row_opts(const struct session *s, const struct session_row *r)
{
	return (struct analyze_opts){.threads = r->ft->nelem >= SPLIT_ELEMS ? 2 : 1,
	                             .no_quantiles = s->light_stats,
	                             .no_xhat_stats = s->light_stats,
	                             .no_moments = s->light_stats};
}

/* Simulate row r's float tensor with spec, streaming from the model (x when
 * the caller has decoded it already): no whole-tensor copy. */
static int simulate_row(const struct session *s, const struct session_row *r, const float *x,
                        const struct qspec *spec, const struct analyze_opts *extra,
                        struct tensor_result *out, struct qs_error *err)
{
	struct tensor_src ts = {s->fm, r->ft};
	struct float_src src = {.data = x, .read = tensor_src_read, .ctx = &ts};
	struct analyze_opts o = row_opts(s, r);

	if (extra) {
		o.xs = extra->xs;
		o.threads = extra->threads > o.threads ? extra->threads : o.threads;
		o.no_quantiles |= extra->no_quantiles;
		o.no_xhat_stats |= extra->no_xhat_stats;
		o.no_codes |= extra->no_codes;
	}
	if (!src.data)
		src.data = model_tensor_f32_view(s->fm, r->ft);
	int rc = analyze_simulate_src(&src, r->ft->shape, r->ft->ndim, spec, row_facts(r), &o, out,
	                              err);
	if (!x)
		mem_release_mapped(r->ft->data, r->ft->nbytes);
	return rc;
}

static float *decode(const struct model *m, const struct model_tensor *t, struct qs_error *err)
{
	float *x = malloc((t->nelem ? t->nelem : 1) * sizeof *x);

	if (!x) {
		qs_error_set(err, QS_ERR_NOMEM, "%s: %llu elements do not fit in memory", t->name,
		             (unsigned long long)t->nelem);
		return NULL;
	}
	if (model_tensor_to_f32(m, t, x, err)) {
		free(x);
		return NULL;
	}
	mem_release_mapped(t->data, t->nbytes);
	return x;
}

/* Blocks whose x̂ and codes are decoded at a time for their parameters. */
#define PARAM_BLOCKS 256u

/* analyze_block_params over t's blocks, PARAM_BLOCKS at a time from range
 * decodes (the first x̂ and code of each block is what it reads). Only the
 * 32-element types with codes get a clip range from them (analyze.h: the
 * K-quants scale sub-blocks separately), so the others decode nothing. */
static int block_params(const struct model *m, const struct model_tensor *t, const float *sc,
                        uint64_t nblocks, struct qparam *p, struct qs_error *err)
{
	const struct qtype *qt = t->block;
	uint64_t be = qt->block_elems;
	bool clip = be == 32 && qt->codes;
	float *xh = clip ? xrealloc(NULL, PARAM_BLOCKS * be * sizeof *xh) : NULL;
	int32_t *codes = clip ? xrealloc(NULL, PARAM_BLOCKS * be * sizeof *codes) : NULL;
	int rc =
	        nblocks * be != t->nelem
	                ? qs_error_set(err, QS_ERR_FORMAT, "%s: %llu blocks of %llu elements",
	                               t->name, (unsigned long long)nblocks, (unsigned long long)be)
	                : 0;

	for (uint64_t k0 = 0; k0 < nblocks && !rc; k0 += PARAM_BLOCKS) {
		uint64_t nb = nblocks - k0 < PARAM_BLOCKS ? nblocks - k0 : PARAM_BLOCKS;
		int64_t n = (int64_t)(nb * be);
		struct layout sub;
		const char *why = NULL;
		if (clip)
			rc = model_tensor_to_f32_range(m, t, k0 * be, nb * be, xh, err);
		if (!rc && clip)
			rc = model_tensor_codes_range(m, t, k0 * be, nb * be, codes, err);
		if (!rc && !layout_init(&sub, &n, 1, GRAN_GROUP, -1, be, &why))
			rc = qs_error_set(err, QS_ERR_FORMAT, "%s: %s", t->name,
			                  why ? why : "layout");
		if (!rc)
			analyze_block_params(qt, &sub, xh, codes, sc ? sc + k0 : NULL, p + k0);
	}
	free(xh);
	free(codes);
	return rc;
}

/* The stored parameters of a quantized tensor as engine qparams. Block
 * types get analyze_block_params (the groups simulate would use, from x̂,
 * the codes and the block scales); float casts one group with no scale. */
static struct qparam *stored_params(const struct model *m, const struct model_tensor *t,
                                    struct quantized *q, struct qs_error *err)
{
	const struct tensor_quant *tq = t->quant;
	const char *why = NULL;
	struct qparam *p;

	if (tq) {
		q->layout = tq->layout;
		q->bits = tq->bits;
		q->qmin = tq->qmin;
		q->qmax = tq->qmax;
		p = xrealloc(NULL, tq->layout.ngroups * sizeof *p);
		for (uint64_t g = 0; g < tq->layout.ngroups; g++) {
			int32_t z = tq->zero_point ? tq->zero_point[g] : 0;
			p[g] = (struct qparam){.scale = tq->scale[g],
			                       .zero_point = z,
			                       .clip_lo = (float)(tq->qmin - z) * tq->scale[g],
			                       .clip_hi = (float)(tq->qmax - z) * tq->scale[g]};
		}
		return p;
	}
	uint64_t block = t->block ? t->block->block_elems : 0;
	if (!layout_init(&q->layout, t->shape, t->ndim, block ? GRAN_GROUP : GRAN_TENSOR, -1, block,
	                 &why)) {
		qs_error_set(err, QS_ERR_FORMAT, "%s: %s", t->name, why ? why : "bad layout");
		return NULL;
	}
	q->bits = t->block ? t->block->bits : (int)dtype_info(t->dtype)->bits;
	q->qmin = t->block && t->block->is_signed ? -(1 << (q->bits - 1)) : 0;
	q->qmax = t->block ? (t->block->is_signed ? (1 << (q->bits - 1)) - 1 : (1 << q->bits) - 1)
	                   : 0;
	p = xrealloc(NULL, q->layout.ngroups * sizeof *p);
	if (!t->block) {
		p[0] = (struct qparam){.scale = NAN, .clip_lo = -INFINITY, .clip_hi = INFINITY};
		return p;
	}
	float *sc = NULL;
	if (t->block->block_scales) {
		sc = xrealloc(NULL, q->layout.ngroups * sizeof *sc);
		t->block->block_scales(t->data, sc, (int64_t)q->layout.ngroups);
	}
	int rc = block_params(m, t, sc, q->layout.ngroups, p, err);
	free(sc);
	if (rc) {
		free(p);
		return NULL;
	}
	return p;
}

static const struct graph_facts *row_facts(const struct session_row *r)
{
	if (r->qt && r->qt->facts.has_input)
		return &r->qt->facts;
	return r->ft ? &r->ft->facts : &r->qt->facts;
}

static int tensor_codes_read(void *ctx, uint64_t first, uint64_t count, int32_t *dst,
                             struct qs_error *err)
{
	const struct tensor_src *ts = ctx;

	return model_tensor_codes_range(ts->m, ts->t, first, count, dst, err);
}

/* Measure row r streaming from both models: x (in place when plain f32),
 * x̂ and the codes by range; the tensor's code range bounds the tables. */
static int measure_row(const struct session *s, const struct session_row *r,
                       struct tensor_result *out, struct qs_error *err)
{
	struct quantized q = {
	        .shape = r->qt->shape, .ndim = r->qt->ndim, .per_group = r->spec.per_group};
	struct tensor_src fs = {s->fm, r->ft}, qs = {s->qm, r->qt};
	struct float_src x = {
	        .data = model_tensor_f32_view(s->fm, r->ft), .read = tensor_src_read, .ctx = &fs};
	struct float_src xhat = {
	        .data = model_tensor_f32_view(s->qm, r->qt), .read = tensor_src_read, .ctx = &qs};
	struct code_src codes = {.read = tensor_codes_read, .ctx = &qs, .lo = 1, .hi = 0};
	const struct dtype_info *di = dtype_info(r->qt->dtype);
	struct analyze_opts o = row_opts(s, r);
	/* a zero-length range checks that the codes can be read at all */
	bool has_codes = (r->qt->quant || r->qt->block) &&
	                 model_tensor_codes_range(s->qm, r->qt, 0, 0, NULL, NULL) == 0;
	int rc;

	if (r->qt->nelem != r->ft->nelem ||
	    (r->qt->quant && r->qt->quant->layout.n != r->qt->nelem))
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: %s: %llu float elements paired with %llu quantized ones",
		                    s->qm->path, r->name, (unsigned long long)r->ft->nelem,
		                    (unsigned long long)r->qt->nelem);
	if (r->qt->quant && !di->is_float && di->bits <= 16) {
		codes.lo = (int32_t)di->int_min;
		codes.hi = (int32_t)di->int_max;
	}
	struct qparam *p = stored_params(s->qm, r->qt, &q, err);
	if (!p)
		return err ? err->code : QS_ERR_FORMAT;
	q.params = p;
	rc = analyze_measure_src(&x, &xhat, has_codes ? &codes : NULL, &q, row_facts(r), &o, out,
	                         err);
	free(p);
	mem_release_mapped(r->qt->data, r->qt->nbytes);
	mem_release_mapped(r->ft->data, r->ft->nbytes);
	return rc;
}

/* A tensor kept in float has no error at all. */
static void exact_result(const struct model_tensor *t, struct tensor_result *out)
{
	*out = (struct tensor_result){0};
	out->m.n = t->nelem;
	out->m.sqnr_db = INFINITY;
	out->m.cosine = 1;
	out->m.rmse_over_scale = NAN;
	out->bits = (int)dtype_info(t->dtype)->bits;
	out->scale_min = out->scale_max = NAN;
	out->zero_point = INT32_MIN;
	out->clip_min = -INFINITY;
	out->clip_max = INFINITY;
}

static void compute_job(const struct session *s, struct job_done *d)
{
	const struct session_row *r = &s->rows[d->job.row];
	struct qs_error err = {0};

	d->status = r->qt ? measure_row(s, r, &d->shipped, &err) : 0;
	if (!d->status && d->job.keep_float)
		exact_result(r->ft, &d->whatif);
	else if (!d->status)
		d->status = simulate_row(s, r, NULL, &d->job.spec, NULL, &d->whatif, &err);
	if (!d->status)
		return;
	/* Name the tensor (and its file) when the message does not. */
	const char *msg = err.msg[0] ? err.msg : "analysis failed";
	char tag[160];
	snprintf(tag, sizeof tag, "%s: ", r->name);
	if (strstr(msg, tag))
		copy_trunc(d->error, sizeof d->error, msg);
	else
		snprintf(d->error, sizeof d->error, "%s: %s: %.200s", s->fm->path, r->name, msg);
}

/* ---- the worker pool -------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct session *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->stop && s->qhead == s->qtail)
			pthread_cond_wait(&s->work_cv, &s->mu);
		if (s->stop)
			break;
		struct job_done d = {.job = s->queue[s->qhead++]};
		if (s->nstarted == s->startcap) {
			s->startcap = s->startcap * 2 + 16;
			s->started = xrealloc(s->started, s->startcap * sizeof *s->started);
		}
		s->started[s->nstarted++] = d.job.row;
		/* the next job's bytes: the kernel reads them while this one runs */
		const struct session_row *next =
		        s->qhead < s->qtail ? &s->rows[s->queue[s->qhead].row] : NULL;
		pthread_mutex_unlock(&s->mu);
		if (next && next->ft)
			model_tensor_prefetch(next->ft);
		if (next && next->qt)
			model_tensor_prefetch(next->qt);
		compute_job(s, &d);
		pthread_mutex_lock(&s->mu);
		if (s->ndone == s->donecap) {
			s->donecap = s->donecap * 2 + 16;
			s->done = xrealloc(s->done, s->donecap * sizeof *s->done);
		}
		s->done[s->ndone++] = d;
		pthread_cond_signal(&s->done_cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Queue row i with its current choices (main thread). */
static void enqueue(struct session *s, size_t i)
{
	struct session_row *r = &s->rows[i];

	if (r->state == ROW_UNPAIRED)
		return;
	r->state = ROW_PENDING;
	struct job j = {.row = i, .gen = ++s->gen[i], .spec = r->spec, .keep_float = r->keep_float};
	pthread_mutex_lock(&s->mu);
	if (s->qtail == s->qcap) {
		if (s->qhead > 0) {
			memmove(s->queue, s->queue + s->qhead,
			        (s->qtail - s->qhead) * sizeof *s->queue);
			s->qtail -= s->qhead;
			s->qhead = 0;
		}
		if (s->qtail == s->qcap) {
			s->qcap = s->qcap * 2 + 16;
			s->queue = xrealloc(s->queue, s->qcap * sizeof *s->queue);
		}
	}
	s->queue[s->qtail++] = j;
	s->outstanding++;
	pthread_cond_signal(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
}

static int cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static void start_workers(struct session *s, int jobs)
{
	int n = jobs > 0 ? jobs : cores();

	if ((size_t)n > s->nrows)
		n = s->nrows ? (int)s->nrows : 1;
	s->threads = xrealloc(NULL, (size_t)n * sizeof *s->threads);
	for (int i = 0; i < n; i++) {
		if (pthread_create(&s->threads[i], NULL, worker_main, s))
			break;
		s->nthreads++;
	}
	if (!s->nthreads) {
		fputs("qscope: cannot start a worker thread\n", stderr);
		abort();
	}
}

/* ---- public API ------------------------------------------------------- */

static int load_models(struct session *s, const char *float_path, const char *quant_path,
                       struct qs_error *err)
{
	int rc = model_load(float_path, &s->fm, err);

	if (!rc && quant_path)
		rc = model_load(quant_path, &s->qm, err);
	return rc;
}

struct session *session_new(const char *float_path, const char *quant_path,
                            const struct session_opts *o, struct qs_error *err)
{
	struct session *s = xrealloc(NULL, sizeof *s);

	*s = (struct session){0};
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->work_cv, NULL);
	pthread_cond_init(&s->done_cv, NULL);
	if (load_models(s, float_path, quant_path, err) || collect_rows(s, err)) {
		session_free(s);
		return NULL;
	}
	s->drop_channels = o->drop_channels;
	s->light_stats = o->light_stats;
	filter_rows(s, o);
	for (size_t i = 0; i < s->nrows; i++)
		s->rows[i].ordinal = i;
	s->nrows_total = s->nrows;
	if (o->shard_n > 0)
		shard_rows(s, o->shard_k, o->shard_n);
	apply_choices(s, o);
	s->gen = xrealloc(NULL, (s->nrows ? s->nrows : 1) * sizeof *s->gen);
	memset(s->gen, 0, (s->nrows ? s->nrows : 1) * sizeof *s->gen);
	start_workers(s, o->jobs);
	if (!o->no_analysis)
		for (size_t i = 0; i < s->nrows; i++)
			enqueue(s, i);
	return s;
}

static void edits_free(struct edit_stack *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].idx);
		free(st->v[i].old_spec);
		free(st->v[i].old_keep);
	}
	st->n = 0;
}

static void stop_workers(struct session *s)
{
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	for (size_t i = 0; i < s->ndone; i++) {
		tensor_result_free(&s->done[i].shipped);
		tensor_result_free(&s->done[i].whatif);
	}
}

void session_free(struct session *s)
{
	if (!s)
		return;
	stop_workers(s);
	for (size_t i = 0; i < s->nrows; i++) {
		tensor_result_free(&s->rows[i].shipped);
		tensor_result_free(&s->rows[i].whatif);
	}
	edits_free(&s->undo);
	edits_free(&s->redo);
	free(s->undo.v);
	free(s->redo.v);
	free(s->rows);
	free(s->gen);
	free(s->queue);
	free(s->done);
	free(s->started);
	free(s->threads);
	if (s->qm)
		pairing_free(&s->pairing);
	model_free(s->fm);
	model_free(s->qm);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->done_cv);
	free(s);
}

const struct model *session_float_model(const struct session *s)
{
	return s->fm;
}

const struct model *session_quant_model(const struct session *s)
{
	return s->qm;
}

size_t session_rows(const struct session *s)
{
	return s->nrows;
}

size_t session_rows_total(const struct session *s)
{
	return s->nrows_total;
}

const struct session_row *session_row(const struct session *s, size_t i)
{
	return i < s->nrows ? &s->rows[i] : NULL;
}

/* ---- edits ------------------------------------------------------------ */

static void push_edit(struct edit_stack *st, struct edit e)
{
	if (st->n == st->cap) {
		st->cap = st->cap * 2 + 8;
		st->v = xrealloc(st->v, st->cap * sizeof *st->v);
	}
	st->v[st->n++] = e;
}

static void apply_edit(struct session *s, const struct edit *e, bool undo)
{
	for (size_t k = 0; k < e->n; k++) {
		struct session_row *r = &s->rows[e->idx[k]];
		r->spec = undo ? e->old_spec[k] : e->spec;
		r->keep_float = undo ? e->old_keep[k] : e->keep;
		enqueue(s, e->idx[k]);
	}
}

void session_set_spec(struct session *s, const size_t *idx, size_t n, const struct qspec *spec,
                      bool keep_float)
{
	struct edit e = {.spec = *spec, .keep = keep_float};

	e.idx = xrealloc(NULL, (n ? n : 1) * sizeof *e.idx);
	e.old_spec = xrealloc(NULL, (n ? n : 1) * sizeof *e.old_spec);
	e.old_keep = xrealloc(NULL, (n ? n : 1) * sizeof *e.old_keep);
	for (size_t k = 0; k < n; k++) {
		if (idx[k] >= s->nrows)
			continue;
		e.idx[e.n] = idx[k];
		e.old_spec[e.n] = s->rows[idx[k]].spec;
		e.old_keep[e.n++] = s->rows[idx[k]].keep_float;
	}
	if (s->saved_depth > s->undo.n && s->saved_depth != SIZE_MAX)
		s->saved_depth = SIZE_MAX; /* the saved state was in the redo stack */
	edits_free(&s->redo);
	apply_edit(s, &e, false);
	push_edit(&s->undo, e);
}

static bool move_edit(struct session *s, struct edit_stack *from, struct edit_stack *to, bool undo)
{
	if (!from->n)
		return false;
	struct edit e = from->v[--from->n];
	apply_edit(s, &e, undo);
	push_edit(to, e);
	return true;
}

bool session_undo(struct session *s)
{
	return move_edit(s, &s->undo, &s->redo, true);
}

bool session_redo(struct session *s)
{
	return move_edit(s, &s->redo, &s->undo, false);
}

bool session_dirty(const struct session *s)
{
	return s->undo.n != s->saved_depth;
}

void session_mark_saved(struct session *s)
{
	s->saved_depth = s->undo.n;
}

/* ---- collecting results ----------------------------------------------- */

static void drop_channels(struct tensor_result *r)
{
	free(r->ch);
	r->ch = NULL;
	r->nchannels = 0;
}

static void collect_one(struct session *s, struct job_done *d)
{
	struct session_row *r = &s->rows[d->job.row];

	if (d->job.gen != s->gen[d->job.row]) {
		tensor_result_free(&d->shipped);
		tensor_result_free(&d->whatif);
		return;
	}
	tensor_result_free(&r->shipped);
	tensor_result_free(&r->whatif);
	if (s->drop_channels) {
		drop_channels(&d->shipped);
		drop_channels(&d->whatif);
	}
	r->shipped = d->shipped;
	r->whatif = d->whatif;
	r->state = d->status ? ROW_FAILED : ROW_DONE;
	copy_trunc(r->error, sizeof r->error, d->status ? d->error : "");
}

static void wait_for_done(struct session *s, int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!s->ndone && s->outstanding)
		if (pthread_cond_timedwait(&s->done_cv, &s->mu, &ts) == ETIMEDOUT)
			break;
}

size_t session_poll(struct session *s, int timeout_ms)
{
	pthread_mutex_lock(&s->mu);
	if (timeout_ms > 0)
		wait_for_done(s, timeout_ms);
	size_t n = s->ndone, nst = s->nstarted;
	struct job_done *done = s->done;
	size_t *started = s->started;
	s->done = NULL;
	s->ndone = s->donecap = 0;
	s->started = NULL;
	s->nstarted = s->startcap = 0;
	s->outstanding -= n;
	pthread_mutex_unlock(&s->mu);

	size_t changed = 0;
	for (size_t i = 0; i < nst; i++)
		if (s->rows[started[i]].state == ROW_PENDING) {
			s->rows[started[i]].state = ROW_RUNNING;
			changed++;
		}
	for (size_t i = 0; i < n; i++)
		collect_one(s, &done[i]);
	free(done);
	free(started);
	return changed + n;
}

size_t session_done(const struct session *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nrows; i++)
		n += s->rows[i].state == ROW_DONE || s->rows[i].state == ROW_FAILED ||
		     s->rows[i].state == ROW_UNPAIRED;
	return n;
}

static bool all_settled(struct session *s)
{
	pthread_mutex_lock(&s->mu);
	bool idle = !s->outstanding && !s->ndone;
	pthread_mutex_unlock(&s->mu);
	return idle;
}

void session_wait(struct session *s, void (*progress)(size_t, size_t, void *), void *ctx)
{
	size_t last = SIZE_MAX;

	for (;;) {
		session_poll(s, 200);
		size_t d = session_done(s);
		if (progress && d != last)
			progress(d, s->nrows, ctx);
		last = d;
		if (all_settled(s))
			break;
	}
}

/* ---- previews and decoding -------------------------------------------- */

int session_preview(const struct session *s, size_t i, const struct qspec *spec,
                    const struct dist_stats *xs, struct tensor_result *out, struct qs_error *err)
{
	if (i >= s->nrows || !s->rows[i].ft)
		return qs_error_set(err, QS_ERR_USAGE, "row %zu has no float tensor", i);
	struct analyze_opts o = {.threads = 2,
	                         .no_quantiles = true,
	                         .no_xhat_stats = true,
	                         .xs = xs,
	                         .no_codes = true};

	return simulate_row(s, &s->rows[i], NULL, spec, &o, out, err);
}

float *session_row_floats(const struct session *s, size_t i, struct qs_error *err)
{
	if (i >= s->nrows) {
		qs_error_set(err, QS_ERR_USAGE, "row %zu out of range", i);
		return NULL;
	}
	const struct session_row *r = &s->rows[i];
	return r->ft ? decode(s->fm, r->ft, err) : decode(s->qm, r->qt, err);
}

/* Elements per piece of session_row_pairs when simulating spec on t: a
 * whole number of dimension-0 rows when each group lies in one row, else
 * t->nelem (no split). */
static uint64_t pair_piece(const struct model_tensor *t, const struct qspec *spec,
                           const struct graph_facts *g)
{
	uint64_t n = t->nelem,
	         row = t->ndim >= 2 && t->shape[0] > 0 ? n / (uint64_t)t->shape[0] : n;
	const struct qtype *qt = spec->qt;
	struct scheme sc;
	bool split;

	if (qt && qt->family != QTYPE_LINEAR) {
		split = qt->family == QTYPE_FLOAT ||
		        (qt->block_elems && row % qt->block_elems == 0);
	} else {
		/* the axis the simulation will use: the graph's, when it names one */
		if (analyze_scheme_of(spec, g, &sc, NULL))
			return n;
		int axis = sc.axis < 0 ? sc.axis + t->ndim : sc.axis;
		split = (sc.gran == GRAN_CHANNEL && axis == 0) ||
		        (sc.gran == GRAN_GROUP && axis > 0);
	}
	if (!split || t->ndim < 2 || row == 0)
		return n;
	uint64_t rows = SESSION_PAIR_PIECE / row;
	return (rows ? rows : 1) * row;
}

/* x̂ of one piece of t: rows [first/row, (first + cnt)/row) as a tensor of
 * their own (or, unsplit, the whole tensor). */
static int pair_simulate(const struct model_tensor *t, const struct qspec *spec,
                         const struct graph_facts *g, const float *x, uint64_t cnt, float *xh,
                         struct qs_error *err)
{
	int64_t shape[QS_MAX_DIMS];

	memcpy(shape, t->shape, (size_t)t->ndim * sizeof *shape);
	if (t->ndim >= 2 && cnt != t->nelem)
		shape[0] = (int64_t)(cnt / (t->nelem / (uint64_t)t->shape[0]));
	return analyze_quantize(x, shape, t->ndim, spec, g, xh, NULL, err);
}

/* One walk of session_row_pairs: the pieces are handed out under mu; the
 * first failure stops both threads. */
struct pair_walk {
	const struct session *s;
	const struct session_row *r;
	bool shipped;
	const struct qspec *spec;
	uint64_t n, piece, next;
	session_pair_fn fn;
	void *ctx;
	pthread_mutex_t mu;
	int rc;
	struct qs_error err;
};

static int pair_piece_values(const struct pair_walk *w, uint64_t first, uint64_t cnt, float *x,
                             float *xh, struct qs_error *err)
{
	const struct session_row *r = w->r;
	int rc = model_tensor_to_f32_range(w->s->fm, r->ft, first, cnt, x, err);
	if (!rc && w->shipped)
		rc = model_tensor_to_f32_range(w->s->qm, r->qt, first, cnt, xh, err);
	else if (!rc && w->spec)
		rc = pair_simulate(r->ft, w->spec, row_facts(r), x, cnt, xh, err);
	return rc;
}

static void *pair_worker(void *arg)
{
	struct pair_walk *w = arg;
	bool own_xh = w->spec || w->shipped;
	float *x = malloc(w->piece * sizeof *x), *xh = own_xh ? malloc(w->piece * sizeof *xh) : x;
	struct qs_error err = {0};
	int rc = x && xh ? 0
	                 : qs_error_set(&err, QS_ERR_NOMEM, "%s: no memory for the values",
	                                w->r->name);

	pthread_mutex_lock(&w->mu);
	while (!w->rc && w->next < w->n) {
		uint64_t first = w->next, cnt = w->n - first < w->piece ? w->n - first : w->piece;
		w->next += cnt;
		pthread_mutex_unlock(&w->mu);
		if (!rc)
			rc = pair_piece_values(w, first, cnt, x, xh, &err);
		if (!rc && (rc = w->fn(w->ctx, first, x, xh, cnt)) != 0 && !err.code)
			qs_error_set(&err, (enum qs_status)rc, "%s: %s", w->r->name,
			             rc == QS_ERR_NOMEM ? "out of memory for the plots"
			                                : "stopped by the caller");
		pthread_mutex_lock(&w->mu);
		if (rc)
			break;
	}
	if (rc && !w->rc) { /* the first failure (also one with no piece left) */
		w->rc = rc;
		w->err = err;
	}
	pthread_mutex_unlock(&w->mu);
	if (xh != x)
		free(xh);
	free(x);
	return NULL;
}

int session_row_pairs(const struct session *s, size_t i, bool shipped, const struct qspec *spec,
                      session_pair_fn fn, void *ctx, struct qs_error *err)
{
	if (i >= s->nrows || !s->rows[i].ft)
		return qs_error_set(err, QS_ERR_USAGE, "row %zu has no float tensor", i);
	const struct session_row *r = &s->rows[i];
	struct pair_walk w = {
	        .s = s, .r = r, .shipped = shipped && r->qt, .spec = spec, .fn = fn, .ctx = ctx};
	w.n = r->ft->nelem;
	if (w.shipped) {
		uint64_t a = model_tensor_range_align(r->qt);
		w.piece = a && SESSION_PAIR_PIECE >= a ? SESSION_PAIR_PIECE / a * a : w.n;
	} else {
		w.piece = spec ? pair_piece(r->ft, spec, row_facts(r)) : SESSION_PAIR_PIECE;
	}
	w.piece = w.piece < w.n ? w.piece : w.n;
	if (w.n == 0)
		return 0;
	pthread_mutex_init(&w.mu, NULL);
	pthread_t th;
	bool two = w.piece < w.n && pthread_create(&th, NULL, pair_worker, &w) == 0;
	pair_worker(&w);
	if (two)
		pthread_join(th, NULL);
	pthread_mutex_destroy(&w.mu);
	mem_release_mapped(r->ft->data, r->ft->nbytes);
	if (w.shipped)
		mem_release_mapped(r->qt->data, r->qt->nbytes);
	if (w.rc && err)
		*err = w.err;
	return w.rc;
}

/* ---- writing ---------------------------------------------------------- */

int session_write_model_opts(struct session *s, const char *path, const struct write_opts *o,
                             struct qs_error *err)
{
	struct tensor_plan *plan = xrealloc(NULL, (s->fm->ntensors + 1) * sizeof *plan);
	struct write_opts wo = *o;

	for (size_t i = 0; i < s->fm->ntensors; i++)
		plan[i] = (struct tensor_plan){.quantize = false};
	for (size_t i = 0; i < s->nrows; i++) {
		const struct session_row *r = &s->rows[i];
		if (!r->ft)
			continue;
		size_t ti = (size_t)(r->ft - s->fm->tensors);
		plan[ti] = (struct tensor_plan){.quantize = !r->keep_float, .spec = r->spec};
	}
	wo.plan = plan;
	int rc = model_write(s->fm, &wo, path, err);
	free(plan);
	if (!rc)
		session_mark_saved(s);
	return rc;
}

int session_write_model(struct session *s, const char *path, bool fake_quant, struct qs_error *err)
{
	struct write_opts o = {.fake_quant = fake_quant};
	return session_write_model_opts(s, path, &o, err);
}

int session_save_recipe(struct session *s, const char *path, struct qs_error *err)
{
	struct recipe *rc = recipe_new();
	char pat[1024];
	int status = rc ? 0 : qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);

	for (size_t i = 0; !status && i < s->nrows; i++) {
		const struct session_row *r = &s->rows[i];
		if (!r->ft)
			continue;
		if (!recipe_glob_escape(r->name, pat, sizeof pat)) {
			status = qs_error_set(err, QS_ERR_USAGE,
			                      "%s: tensor name too long for a recipe", r->name);
			break;
		}
		if (recipe_add(rc, pat, &r->spec, r->keep_float)) {
			status = qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
			break;
		}
		if (!isnan(r->min_sqnr)) {
			rc->rules[rc->n - 1].has_min_sqnr = true;
			rc->rules[rc->n - 1].min_sqnr = r->min_sqnr;
		}
	}
	if (!status)
		status = recipe_save(path, rc, err);
	recipe_free(rc);
	if (!status)
		session_mark_saved(s);
	return status;
}
