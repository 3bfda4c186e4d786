/* analyze.h — everything qscope measures about one tensor, in one call.
 *
 * Two modes:
 *   simulate  float x is quantized with a spec (qtype or linear scheme, plus a
 *             range method), then measured;
 *   measure   float x is compared with a quantized tensor as stored (its codes,
 *             per-group parameters and dequantized values x̂).
 * Both fill a struct tensor_result: per-tensor metrics (metrics.h),
 * distribution statistics of x and x̂, per-channel metrics along the layout's
 * channel axis, and overflow findings (overflow.h), with graph facts when the
 * model's graph gives them.
 *
 * Thread safety: the functions keep no state; results from different threads
 * need no locking. Memory: x̂ and codes (unless the caller passes them; the
 * x̂ buffer first holds x arranged group by group for the range methods),
 * one n-float scratch (range methods, quantile candidates), the group
 * parameters and small per-channel arrays; block formats add their blocks.
 * Passes over x: two for its statistics, one arrangement (skipped when the
 * groups are already contiguous), the range method's, one to quantize, one
 * to measure, one for per-channel levels, two for the statistics of x̂.
 *
 * Rules shared by both modes:
 *   - NaN/±inf in x are left out of range choice, metrics and statistics
 *     (counted in m.n_nan/n_inf) and reported as a FIND_NONFINITE risk; their
 *     x̂ is the zero point's value (linear), 0 (block/float), never NaN.
 *     A NaN/inf x̂ where x is finite (a stored tensor, or a block format whose
 *     fp16 scale overflowed) is likewise left out of the sums and reported as
 *     a FIND_NONFINITE risk.
 *   - Channels (tensor_result.ch) follow layout_nchannels(): the slices along
 *     the scheme's axis for per-tensor and per-channel schemes (a per-tensor
 *     scheme still gets a per-channel error table), the lines of blocks for
 *     per-group schemes and block qtypes (GGUF rows). channel_result.scale is
 *     the mean |scale| of the channel's groups, zero_point its first group's.
 *   - An axis given by the graph (graph_facts.out_axis ≥ 0) replaces
 *     scheme.axis for per-tensor/per-channel schemes; per-group schemes keep
 *     scheme.axis as the block axis. Block qtypes block the last axis, which
 *     must be a multiple of the block.
 *   - Empty tensors: all error figures 0, SQNR +inf, cosine 1, a FIND_EMPTY
 *     (ok) finding. Constant tensors: FIND_CONSTANT (ok); the scale comes from
 *     |value| (all zeros: scale 1, exact).
 *   - levels_used/entropy_bits count the codes of the finite-x elements; with
 *     no codes (float32 casts, measure without codes) the distinct x̂ values.
 *     Float qtypes (F16, BF16, float8) use the bit patterns as codes, saturate
 *     at the type's largest finite value and count those values as clipped.
 *   - Block qtypes: scale = |d| of each block (the super-block d for K-quants);
 *     clip range = offset + d·[cmin, cmax] with offset = x̂ − d·q (Q4_0, Q5_0,
 *     Q8_0: 0; Q4_1, Q5_1: the block min) and [cmin, cmax] the full code range
 *     of the type's bits; K-quants scale sub-blocks separately and report no
 *     clipping. zero_point: 0 for signed block types, INT32_MIN for the ones
 *     with a min.
 *   - clipped_pct counts x outside [clip_lo, clip_hi] of its group, as
 *     metrics.h says; the FIND_SATURATION finding counts only the values the
 *     clamp moved, beyond the clip range by more than half a step (|scale|/2):
 *     minmax ranges put a few extremes just outside (the rounded affine zero
 *     point, Q8_0's fp16-rounded d) without any clipping error beyond rounding.
 *   - Findings: tensor-wide (channel −1) and per channel; at most 16
 *     per-channel findings of one kind are listed, the rest are folded into
 *     one summary finding (value = how many), but every channel's risk is
 *     set. Without graph input facts the int16-pair check assumes int8 inputs
 *     over all of −128..127 and can only warn (linear ≤ 8-bit schemes).
 *     risk = the worst level of all findings.
 */
#ifndef QS_ANALYZE_H
#define QS_ANALYZE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "layout.h"
#include "metrics.h"
#include "overflow.h"
#include "qtype.h"
#include "quant.h"
#include "range.h"

enum tensor_role {
	ROLE_OTHER,
	ROLE_WEIGHT,
	ROLE_BIAS
};

/* What the graph says about a tensor (all optional). */
struct graph_facts {
	enum tensor_role role;
	const char *op_type;    /* consuming op, e.g. "Conv"; NULL when unknown */
	int out_axis;           /* output-channel axis; −1 when unknown */
	int64_t reduce_k;       /* reduction length K per output; 0 when unknown */
	bool has_input;         /* input activation quantization known: */
	double s_in;            /*   its scale */
	int32_t x_qmin, x_qmax; /*  its code range minus its zero point */
	const float *bias;      /* the consumer's float bias, one per output */
	uint64_t nbias;
	int64_t bias_min, bias_max; /* range of the bias type (int32 default) */
};

/* How to quantize in simulate mode. qt == NULL or a QTYPE_LINEAR qtype uses
 * `scheme` (a LINEAR qtype overrides bits/signedness); QTYPE_BLOCK uses the
 * qtype's block format (method minmax = the reference quantizer). */
struct qspec {
	const struct qtype *qt;
	struct scheme scheme;
	struct method method;
	bool per_group; /* also fill tensor_result.grp (one entry per group/block) */
};

struct channel_result {
	uint64_t channel, n;
	float min, max;     /* of the float values */
	float scale;        /* mean scale over the channel's groups */
	int32_t zero_point; /* of the channel's first group */
	struct err_metrics m;
	enum risk_level risk;
};

/* One quantization group (a block of a block format), when asked for:
 * its parameters and the error over its finite elements. */
struct group_result {
	uint64_t n;
	float scale; /* |scale| (|d| for block formats) */
	int32_t zero_point;
	float clip_lo, clip_hi;
	double mse, max_abs_err, sqnr_db, clipped_pct;
};

struct tensor_result {
	struct err_metrics m;
	struct dist_stats xs, xhs; /* of x and of x̂ */
	int bits;
	/* Extremes over the groups with a range (qparam.no_range: all-zero
	 * groups count only when every group is one). */
	double scale_min, scale_max;
	int32_t zero_point;       /* when all groups share it; else INT32_MIN */
	float clip_min, clip_max; /* widest clip range over those groups */
	uint64_t nchannels;
	struct channel_result *ch; /* nchannels entries (owned) */
	uint64_t nfind;
	struct finding *find;     /* owned */
	enum risk_level risk;     /* the worst finding */
	uint64_t ngroups;         /* per_group only: layout.ngroups entries */
	struct group_result *grp; /* owned; NULL unless per_group was asked */
};

/* A quantized tensor as stored, for measure mode. codes may be NULL when the
 * format has no integer codes (then levels/entropy come from x̂ values). */
struct quantized {
	const float *xhat;
	const int32_t *codes;
	struct layout layout;
	const struct qparam *params; /* layout.ngroups entries */
	int bits;
	int32_t qmin, qmax;
	/* Optional: the tensor's shape, so graph_facts.out_axis can name any
	 * axis. NULL: only an out_axis equal to layout.axis is used. */
	const int64_t *shape;
	int ndim;
	bool per_group; /* also fill tensor_result.grp */
};

/* Simulate: quantize x (shape/ndim, n = Π shape) per spec and measure.
 * xhat_out / codes_out, when not NULL, receive x̂ and the codes (n entries;
 * codes_out is left untouched for types without codes: float32 casts and
 * block types without a codes function).
 * g may be NULL. Returns 0 or a negative status with err filled. */
int analyze_simulate(const float *x, const int64_t *shape, int ndim, const struct qspec *spec,
                     const struct graph_facts *g, struct tensor_result *out, float *xhat_out,
                     int32_t *codes_out, struct qs_error *err);

/* The scheme analyze_simulate applies under spec to a tensor with graph
 * facts g (may be NULL): spec's scheme with a linear qtype's bits and
 * signedness, and the channel axis the graph names (g->out_axis) for every
 * granularity but groups. Returns 0 or QS_ERR_USAGE for an invalid scheme. */
int analyze_scheme_of(const struct qspec *spec, const struct graph_facts *g, struct scheme *s,
                      struct qs_error *err);

/* Quantize only: the x̂ (and codes) analyze_simulate gives, to the bit, with
 * nothing measured (no statistics, metrics or findings) — for callers that
 * plot or store the quantized values. xhat_out is required, codes_out may
 * be NULL. Returns 0 or a negative status with err filled. */
int analyze_quantize(const float *x, const int64_t *shape, int ndim, const struct qspec *spec,
                     const struct graph_facts *g, float *xhat_out, int32_t *codes_out,
                     struct qs_error *err);

/* Measure x against a stored quantized tensor q of the same element count. */
int analyze_measure(const float *x, const struct quantized *q, const struct graph_facts *g,
                    struct tensor_result *out, struct qs_error *err);

/* A tensor's float values for the streaming engine: in place (data != NULL),
 * or decoded on demand: read(ctx, first, count, dst, err) fills dst with
 * elements [first, first + count) and returns 0 or a status (err filled).
 * read may be called from several threads at once. */
struct float_src {
	const float *data;
	int (*read)(void *ctx, uint64_t first, uint64_t count, float *dst, struct qs_error *err);
	void *ctx;
};

/* How analyze_simulate_src works and what it may leave out. Zero = the
 * calling thread only, every figure of tensor_result. */
struct analyze_opts {
	int threads;                 /* threads for one tensor (≤ 1: the caller's only) */
	bool no_quantiles;           /* leave xs/xhs quantiles NAN: no second pass, no histogram */
	bool no_xhat_stats;          /* leave xhs zero (n = 0, figures NAN) */
	bool no_moments;             /* leave xs/xhs std, skew, kurtosis NAN */
	bool no_codes;               /* simulate: no code counts (levels_used 0,
				      * entropy_bits NAN); ignored with x̂ statistics
				      * or the graph's accumulator check, which need them */
	const struct dist_stats *xs; /* x's statistics when already known */
};

/* analyze_simulate on values from src, streaming: linear schemes (qt NULL or
 * QTYPE_LINEAR, no per_group results) are quantized and measured chunk by
 * chunk (8192 elements; 64 whole rows, at most 2^20 elements, when the
 * channels run along the last axis) in two or three passes over src (range, quantize + measure, and the
 * quantiles' refinement), with no buffer proportional to the tensor except
 * a group's values for range methods other than minmax (a whole tensor for
 * per-tensor schemes); the work is cut into two halves at channel
 * boundaries (independent of o->threads, so the figures do not depend on
 * it). Per-channel code levels need channels × codes counters when a
 * channel is strided (axis > 0); over 32 MiB of them, and for every other
 * spec, the tensor is read whole and analyze_simulate does the work.
 * Results equal analyze_simulate's up to the rounding of sums. */
int analyze_simulate_src(const struct float_src *src, const int64_t *shape, int ndim,
                         const struct qspec *spec, const struct graph_facts *g,
                         const struct analyze_opts *o, struct tensor_result *out,
                         struct qs_error *err);

/* A stored tensor's integer codes for the streaming engine: read(ctx,
 * first, count, dst, err) fills dst with the codes of elements [first,
 * first + count) and returns 0 or a status (err filled); read may be called
 * from several threads at once. lo ≤ hi promises every code lies in
 * [lo, hi] (the storage type's range, say); lo > hi: no promise. */
struct code_src {
	int (*read)(void *ctx, uint64_t first, uint64_t count, int32_t *dst, struct qs_error *err);
	void *ctx;
	int32_t lo, hi;
};

/* analyze_measure streaming: x and x̂ from float_srcs, the codes from
 * codes; q gives the layout, all groups' params, bits, qmin/qmax, shape and
 * per_group (q->xhat and q->codes are not read). The tensor is measured
 * chunk by chunk (as analyze_simulate_src cuts it) in one pass over the three sources (a second over x and x̂
 * only when the quantiles need it), cut in two halves at channel
 * boundaries (independent of o->threads: the figures do not depend on it),
 * with no buffer proportional to the tensor: per-channel code counters
 * (channels × codes when a channel is strided, at most 32 MiB), the
 * per-channel results and the groups' params only. Results equal
 * analyze_measure's up to the rounding of sums (Σ taken in another order);
 * levels, entropy, counts, extremes and findings are the same. o may be
 * NULL; o->no_quantiles / no_xhat_stats / xs work as for
 * analyze_simulate_src. Whole-tensor fallback (x, x̂ and codes decoded
 * whole, then analyze_measure, about 16 bytes per element): codes == NULL
 * (levels need the distinct x̂ values), q->per_group, a code table of more
 * than 2^20 codes ([qmin, qmax] widened to [codes->lo, codes->hi]), strided
 * per-channel counters over 32 MiB, and a code found outside the table
 * (the pass is then abandoned and the tensor read again whole). Returns 0
 * or a negative status with err filled (a source's status as it gave it). */
int analyze_measure_src(const struct float_src *x, const struct float_src *xhat,
                        const struct code_src *codes, const struct quantized *q,
                        const struct graph_facts *g, const struct analyze_opts *o,
                        struct tensor_result *out, struct qs_error *err);

void tensor_result_free(struct tensor_result *r); /* NULL-safe; frees members */

/* Group parameters of a block-format tensor, as simulate uses them, so that
 * measuring a stored GGUF tensor matches simulating it: l is GRAN_GROUP along
 * the last axis with block = qt->block_elems; xhat/codes the dequantized
 * values and codes (codes may be NULL); d the block scales from
 * qt->block_scales (NULL: no scale). p gets l->ngroups entries: scale |d|,
 * zero point 0, clip range as described above (±inf when not derivable). */
void analyze_block_params(const struct qtype *qt, const struct layout *l, const float *xhat,
                          const int32_t *codes, const float *d, struct qparam *p);

/* Whether the streaming engine's quantize kernel may use AVX2 (default: when
 * the CPU has it). Off, the portable kernel runs: the same additions in the
 * same order, so the figures are bit-identical; for tests and benchmarks. */
void analyze_set_simd(bool on);

/* Call once at program start: turns GSL's aborting error handler off (every
 * GSL status is checked instead). */
void analysis_init(void);

#endif
