/* analyze_int.h — what analyze.c and analyze_stream.c share: the measuring
 * core's inputs and state, and the findings and parameter summaries built
 * from them. Not part of the public API (analyze.h). */
#ifndef QS_ANALYZE_INT_H
#define QS_ANALYZE_INT_H

#include <float.h>
#include <math.h>

#include "analyze.h"

struct core_in {
	const float *x, *xhat;
	const int32_t *codes; /* NULL: levels from x̂ values */
	const struct layout *l;
	const struct qparam *p; /* l->ngroups, or NULL (no scale, no clip) */
	int bits;
	int32_t qmin, qmax; /* code range of the format */
	const struct graph_facts *g;
	float *scratch;          /* n floats */
	bool xs_done;            /* out->xs already filled */
	bool assumed_int8_input; /* int16-pair check without graph input */
	bool codes_in_range;     /* codes are known to lie in [qmin, qmax] */
	bool per_group;          /* fill tensor_result.grp */
};

struct core_state {
	struct err_acc *acc;              /* per channel */
	struct err_acc *gacc;             /* per group, when per_group results are asked */
	uint64_t *sat;                    /* per channel: values the clamp moved (see core_run) */
	const struct channel_result *ch0; /* out->ch, to index sat */
	uint64_t bad_xhat;                /* x̂ NaN/inf where x is finite: left out, reported */
	uint64_t *hist;
	int64_t hlo;
	size_t hspan;
	int32_t wq_lo, wq_hi; /* min/max of q − z over finite x; lo > hi: none */
	const double *wq_sum; /* Σ|q − z| per graph output channel, when codes are not kept */
};

static inline uint64_t group_base(const struct layout *l, uint64_t o, uint64_t c)
{
	if (l->gran == GRAN_TENSOR)
		return 0;
	if (l->gran == GRAN_CHANNEL)
		return c;
	return (o * l->nblk + c / l->block) * l->inner;
}

/* The clip bounds (qmax − z)·s are computed in float from a float scale, so
 * the largest |x| of a minmax range can lie one rounding step beyond them;
 * such a value is not clipped. Widen each bound by its own float rounding. */
static inline float clip_bound_lo(const struct qparam *p)
{
	return p ? p->clip_lo - fabsf(p->clip_lo) * FLT_EPSILON : -INFINITY;
}

static inline float clip_bound_hi(const struct qparam *p)
{
	return p ? p->clip_hi + fabsf(p->clip_hi) * FLT_EPSILON : INFINITY;
}

/* Mean scale, first zero point and smallest non-zero |scale| of channel chn. */
void az_chan_params(const struct layout *l, const struct qparam *p, uint64_t chn, double *mean,
                    int32_t *zp, double *minabs);
/* scale_min/max, zero_point and clip range of out from in->p; *mean the
 * mean |scale| (NAN without parameters). */
void az_tensor_params(const struct core_in *in, struct tensor_result *out, double *mean);
/* All findings of a measured tensor into out->find / nfind / risk. */
int az_findings(const struct core_in *in, const struct core_state *st, const int64_t *shape,
                int ndim, struct tensor_result *out);
/* The scheme simulate uses: spec's, with a linear qtype's bits/signedness and
 * the graph's output axis. 0 or QS_ERR_USAGE. */
int az_resolve_scheme(const struct qspec *spec, const struct graph_facts *g, struct scheme *s,
                      struct qs_error *err);

/* analyze_simulate with whole-tensor buffers (x̂, codes, scratch): every
 * spec; what analyze_simulate_src falls back to. */
int az_simulate_buffers(const float *x, const int64_t *shape, int ndim, const struct qspec *spec,
                        const struct graph_facts *g, struct tensor_result *out, float *xhat_out,
                        int32_t *codes_out, struct qs_error *err);

/* Whether a ggml block format simulates streaming (analyze_block.c): a
 * block type with quantizer, dequantizer and codes, blocks dividing 8192,
 * rows a multiple of the block, no per-group results. */
bool az_block_streams(const struct qspec *spec, const int64_t *shape, int ndim);
/* analyze_simulate_src for such a spec: the blocks quantized chunk by chunk
 * into the packed quantized tensor (held whole: ~1/4..1/7 of the float
 * bytes) with each block's parameters, then measured as a stored tensor
 * would be by analyze_measure_src. */
int az_simulate_block_src(const struct float_src *src, const int64_t *shape, int ndim,
                          const struct qspec *spec, const struct graph_facts *g,
                          const struct analyze_opts *o, struct tensor_result *out,
                          struct qs_error *err);

/* A measured tensor without its original shape (quantized.shape NULL) is
 * worked on as outer × dim × inner: shape3 gets those, *shape and *ndim point at
 * it, the layout's axis becomes 1, and the graph's out_axis survives (in g3,
 * *g pointed at it) only when it was the layout's axis. */
void az_measure_shape3(struct layout *l, int64_t shape3[3], const int64_t **shape, int *ndim,
                       const struct graph_facts **g, struct graph_facts *g3);

#endif
