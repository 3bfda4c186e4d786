/* layout.h — how a tensor's elements split into quantization groups.
 *
 * A row-major tensor of shape d[0..ndim-1] viewed along axis a is
 * outer × dim × inner with outer = Π d[<a], dim = d[a], inner = Π d[>a];
 * element i = (o·dim + c)·inner + r.
 *
 *   per-tensor:  one group.
 *   per-channel: group = c (dim groups), the ONNX per-axis layout.
 *   per-group:   blocks of `block` along the axis; nblk = ceil(dim/block);
 *                group = (o·nblk + c/block)·inner + r, which is exactly the
 *                ONNX blocked scale layout (scale shape = d with d[a] → nblk)
 *                and, for the last axis, the contiguous GGUF block order.
 */
#ifndef QS_LAYOUT_H
#define QS_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QS_MAX_DIMS 8

enum granularity {
	GRAN_TENSOR,
	GRAN_CHANNEL,
	GRAN_GROUP
};

struct layout {
	enum granularity gran;
	int axis; /* normalised to 0..ndim-1 (0 for scalars) */
	uint64_t outer, dim, inner;
	uint64_t block; /* GRAN_GROUP only */
	uint64_t nblk;  /* ceil(dim/block) for GRAN_GROUP, else dim */
	uint64_t ngroups;
	uint64_t n; /* total elements */
};

/* Fill l for shape/ndim. axis may be negative (from the end). Returns false
 * (with a reason in *why) for an axis out of range, block == 0 or overflow.
 * A scalar (ndim 0) is laid out as shape [1]; GRAN_TENSOR accepts any axis
 * (one out of range becomes 0, it only names the reported channels). */
bool layout_init(struct layout *l, const int64_t *shape, int ndim, enum granularity g, int axis,
                 uint64_t block, const char **why);

/* Group of element i. */
uint64_t layout_group(const struct layout *l, uint64_t i);

/* Number of elements in group g. */
uint64_t layout_group_size(const struct layout *l, uint64_t g);

/* Copy the elements of group g, in element order, into dst (layout_group_size
 * floats). Used by range methods that need a group contiguous. */
void layout_gather(const struct layout *l, const float *x, uint64_t g, float *dst);

/* Channels of per-channel reports. GRAN_TENSOR and GRAN_CHANNEL: the dim
 * slices along the axis (c = 0..dim-1; per-tensor layouts still report them,
 * so a per-tensor scheme gets a per-channel error table along its axis).
 * GRAN_GROUP: the lines of blocks along the axis, channel = o·inner + r
 * (outer·inner channels): a GGUF row [N, K] with blocks on the last axis has
 * N channels (its rows), an ONNX blocked W[K, N] with axis 0 has N (columns). */
uint64_t layout_nchannels(const struct layout *l);

/* Channel of element i (see layout_nchannels). */
uint64_t layout_channel_of_elem(const struct layout *l, uint64_t i);

/* Channel of group g: c for GRAN_CHANNEL, the line of blocks it lies in for
 * GRAN_GROUP, 0 for GRAN_TENSOR (its one group spans every channel). */
uint64_t layout_channel_of_group(const struct layout *l, uint64_t g);

#endif
