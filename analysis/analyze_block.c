/* analyze_block.c — simulating a ggml block format (Q8_0, Q4_K, ...) on a
 * float_src without whole-tensor float buffers.
 *
 * Pass 1 reads x chunk by chunk (two halves on two threads, cut at rows),
 * quantizes each chunk with the format's quantizer into the packed blocks —
 * the quantized tensor itself, about a quarter to a seventh of the float
 * bytes — and derives each block's parameters from that chunk's blocks.
 * Pass 2 is analyze_measure_src with x̂ and the codes decoded from the
 * packed blocks range by range: the figures are those of measuring the
 * same blocks stored in a file. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_int.h"

enum {
	BCHUNK = 8192, /* elements quantized at a time: a multiple of every block size */
	BSPLIT = 1u << 20
};

struct bsim {
	const struct float_src *src;
	const struct qtype *qt;
	const struct qspec *spec;
	uint8_t *blocks;
	struct qparam *p;
	uint64_t row; /* elements of a row (a multiple of the block) */
};

struct bhalf {
	const struct bsim *b;
	uint64_t i0, i1; /* elements, block-aligned */
	int rc;
	struct qs_error err;
};

/* Quantize elements [h->i0, h->i1): non-finite x as 0 (the quantizers take
 * finite values; the measure pass still counts them as NaN/inf), the
 * blocks' parameters as analyze_block_params gives them. */
static void *bhalf_run(void *arg)
{
	struct bhalf *h = arg;
	const struct bsim *b = h->b;
	const struct qtype *qt = b->qt;
	float *x = malloc(BCHUNK * sizeof *x), *xh = malloc(BCHUNK * sizeof *xh);
	int32_t *q = malloc(BCHUNK * sizeof *q);
	float *d = malloc((BCHUNK / qt->block_elems) * sizeof *d);

	if (!x || !xh || !q || !d) {
		h->rc = qs_error_set(&h->err, QS_ERR_NOMEM, "out of memory quantizing %s blocks",
		                     qt->name);
		goto out;
	}
	for (uint64_t i = h->i0; i < h->i1; i += BCHUNK) {
		uint64_t n = h->i1 - i < BCHUNK ? h->i1 - i : BCHUNK, nb = n / qt->block_elems;
		uint64_t g0 = i / qt->block_elems;
		if (b->src->data)
			memcpy(x, b->src->data + i, n * sizeof *x);
		else if ((h->rc = b->src->read(b->src->ctx, i, n, x, &h->err)) != 0)
			break;
		for (uint64_t k = 0; k < n; k++)
			x[k] = isfinite(x[k]) ? x[k] : 0.0f;
		uint8_t *blk = b->blocks + g0 * qt->block_bytes;
		if (b->spec->method.kind != METHOD_MINMAX && qt->quantize_method)
			qt->quantize_method(x, blk, (int64_t)n, &b->spec->method);
		else
			qt->quantize_ref(x, blk, (int64_t)n);
		qt->dequantize(blk, xh, (int64_t)n);
		qt->codes(blk, q, (int64_t)n);
		if (qt->block_scales)
			qt->block_scales(blk, d, (int64_t)nb);
		struct layout sub = {.ngroups = nb};
		analyze_block_params(qt, &sub, xh, q, qt->block_scales ? d : NULL, b->p + g0);
	}
out:
	free(x);
	free(xh);
	free(q);
	free(d);
	return NULL;
}

/* Elements [first, first + count) of the packed blocks, decoded. The
 * measure pass reads whole blocks only (its parts and chunks start at rows
 * and run whole rows or multiples of every block size); anything else is
 * refused rather than guessed at. */
static int blocks_read(const struct bsim *b, uint64_t first, uint64_t count, float *y, int32_t *q,
                       struct qs_error *err)
{
	const struct qtype *qt = b->qt;
	uint64_t be = qt->block_elems;
	const uint8_t *blk = b->blocks + first / be * qt->block_bytes;

	if (first % be || count % be)
		return qs_error_set(err, QS_ERR_USAGE, "%s: range %llu+%llu cuts a block", qt->name,
		                    (unsigned long long)first, (unsigned long long)count);
	if (y)
		qt->dequantize(blk, y, (int64_t)count);
	else
		qt->codes(blk, q, (int64_t)count);
	return 0;
}

static int bsim_xhat(void *ctx, uint64_t first, uint64_t count, float *dst, struct qs_error *err)
{
	return blocks_read(ctx, first, count, dst, NULL, err);
}

static int bsim_codes(void *ctx, uint64_t first, uint64_t count, int32_t *dst, struct qs_error *err)
{
	return blocks_read(ctx, first, count, NULL, dst, err);
}

bool az_block_streams(const struct qspec *spec, const int64_t *shape, int ndim)
{
	const struct qtype *qt = spec->qt;
	int64_t last = ndim > 0 ? shape[ndim - 1] : 1;

	return qt && qt->family == QTYPE_BLOCK && !spec->per_group && qt->quantize_ref &&
	       qt->dequantize && qt->codes && qt->block_elems > 0 &&
	       BCHUNK % qt->block_elems == 0 && last > 0 && last % qt->block_elems == 0;
}

int az_simulate_block_src(const struct float_src *src, const int64_t *shape, int ndim,
                          const struct qspec *spec, const struct graph_facts *g,
                          const struct analyze_opts *o, struct tensor_result *out,
                          struct qs_error *err)
{
	const struct qtype *qt = spec->qt;
	struct quantized q = {.shape = shape, .ndim = ndim, .bits = qt->bits};
	struct bsim b = {.src = src, .qt = qt, .spec = spec, .row = (uint64_t)shape[ndim - 1]};
	struct bhalf h[2];
	const char *why = NULL;
	pthread_t t;
	int rc = 0;

	if (!layout_init(&q.layout, shape, ndim, GRAN_GROUP, -1, qt->block_elems, &why))
		return qs_error_set(err, QS_ERR_USAGE, "layout: %s", why);
	uint64_t n = q.layout.n, nb = q.layout.ngroups;
	q.qmin = qt->is_signed ? -(1 << (qt->bits - 1)) : 0;
	q.qmax = qt->is_signed ? (1 << (qt->bits - 1)) - 1 : (1 << qt->bits) - 1;
	b.blocks = malloc(nb ? nb * qt->block_bytes : 1);
	b.p = malloc((nb ? nb : 1) * sizeof *b.p);
	if (!b.blocks || !b.p) {
		free(b.blocks);
		free(b.p);
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory for %llu %s blocks",
		                    (unsigned long long)nb, qt->name);
	}
	/* two halves cut at a row boundary */
	uint64_t rows = n / b.row, mid = (rows / 2) * b.row;
	bool two = o && o->threads > 1 && n >= BSPLIT && rows >= 2;
	h[0] = (struct bhalf){.b = &b, .i0 = 0, .i1 = two ? mid : n};
	h[1] = (struct bhalf){.b = &b, .i0 = two ? mid : n, .i1 = n};
	bool spawned = two && pthread_create(&t, NULL, bhalf_run, &h[1]) == 0;
	bhalf_run(&h[0]);
	if (spawned)
		pthread_join(t, NULL);
	else
		bhalf_run(&h[1]);
	for (int k = 0; k < 2 && !rc; k++)
		if (h[k].rc) {
			*err = h[k].err;
			rc = h[k].rc;
		}
	if (!rc) {
		struct float_src xh = {.read = bsim_xhat, .ctx = &b};
		struct code_src cs = {.read = bsim_codes, .ctx = &b, .lo = q.qmin, .hi = q.qmax};
		q.params = b.p;
		rc = analyze_measure_src(src, &xh, &cs, &q, g, o, out, err);
		if (!rc && !qt->is_signed)
			out->zero_point = INT32_MIN;
	}
	free(b.blocks);
	free(b.p);
	return rc;
}
