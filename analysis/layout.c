#include "layout.h"

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	if (a != 0 && b > UINT64_MAX / a)
		return false;
	*out = a * b;
	return true;
}

static bool fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return false;
}

/* A scalar is laid out as shape [1]. For per-tensor layouts an axis outside
 * the shape falls back to 0: the axis only names the channels reported. */
bool layout_init(struct layout *l, const int64_t *shape, int ndim, enum granularity g, int axis,
                 uint64_t block, const char **why)
{
	static const int64_t one = 1;
	uint64_t outer = 1, inner = 1, dim;

	if (ndim < 0 || ndim > QS_MAX_DIMS)
		return fail(why, "too many dimensions");
	if (ndim == 0) {
		shape = &one;
		ndim = 1;
	}
	if (axis < 0)
		axis += ndim;
	if (axis < 0 || axis >= ndim) {
		if (g != GRAN_TENSOR)
			return fail(why, "axis out of range");
		axis = 0;
	}
	if (g == GRAN_GROUP && block == 0)
		return fail(why, "group size must be positive");
	for (int k = 0; k < ndim; k++) {
		if (shape[k] < 0)
			return fail(why, "negative dimension");
		if (k < axis && !mul_ok(outer, (uint64_t)shape[k], &outer))
			return fail(why, "element count overflows");
		if (k > axis && !mul_ok(inner, (uint64_t)shape[k], &inner))
			return fail(why, "element count overflows");
	}
	dim = (uint64_t)shape[axis];
	*l = (struct layout){.gran = g, .axis = axis, .outer = outer, .dim = dim, .inner = inner};
	if (!mul_ok(outer, dim, &l->n) || !mul_ok(l->n, inner, &l->n))
		return fail(why, "element count overflows");
	l->nblk = dim;
	if (g == GRAN_GROUP) {
		l->block = block;
		l->nblk = dim / block + (dim % block != 0);
	}
	if (g == GRAN_TENSOR)
		l->ngroups = 1;
	else if (g == GRAN_CHANNEL)
		l->ngroups = dim;
	else
		l->ngroups = outer * l->nblk * inner; /* ≤ n, cannot overflow */
	return true;
}

uint64_t layout_group(const struct layout *l, uint64_t i)
{
	if (l->gran == GRAN_TENSOR)
		return 0;
	uint64_t c = (i / l->inner) % l->dim;
	if (l->gran == GRAN_CHANNEL)
		return c;
	uint64_t o = i / (l->dim * l->inner), r = i % l->inner;
	return (o * l->nblk + c / l->block) * l->inner + r;
}

uint64_t layout_group_size(const struct layout *l, uint64_t g)
{
	if (l->gran == GRAN_TENSOR)
		return l->n;
	if (l->gran == GRAN_CHANNEL)
		return l->outer * l->inner;
	if (l->nblk == 0 || l->inner == 0)
		return 0;
	uint64_t b = (g / l->inner) % l->nblk, start = b * l->block;
	uint64_t left = l->dim - start;
	return left < l->block ? left : l->block;
}

void layout_gather(const struct layout *l, const float *x, uint64_t g, float *dst)
{
	if (l->gran == GRAN_TENSOR) {
		for (uint64_t i = 0; i < l->n; i++)
			dst[i] = x[i];
		return;
	}
	if (l->gran == GRAN_CHANNEL) {
		for (uint64_t o = 0; o < l->outer; o++) {
			const float *p = x + (o * l->dim + g) * l->inner;
			for (uint64_t r = 0; r < l->inner; r++)
				*dst++ = p[r];
		}
		return;
	}
	uint64_t r = g % l->inner, b = (g / l->inner) % l->nblk, o = g / (l->inner * l->nblk);
	uint64_t c0 = b * l->block, c1 = c0 + layout_group_size(l, g);
	for (uint64_t c = c0; c < c1; c++)
		*dst++ = x[(o * l->dim + c) * l->inner + r];
}

uint64_t layout_nchannels(const struct layout *l)
{
	if (l->gran == GRAN_GROUP)
		return l->outer * l->inner;
	return l->dim;
}

uint64_t layout_channel_of_elem(const struct layout *l, uint64_t i)
{
	if (l->gran == GRAN_GROUP)
		return (i / (l->dim * l->inner)) * l->inner + i % l->inner;
	return (i / l->inner) % l->dim;
}

uint64_t layout_channel_of_group(const struct layout *l, uint64_t g)
{
	if (l->gran == GRAN_CHANNEL)
		return g;
	if (l->gran == GRAN_GROUP)
		return (g / (l->inner * l->nblk)) * l->inner + g % l->inner;
	return 0;
}
