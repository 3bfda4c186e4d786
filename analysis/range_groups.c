/* range_choose_groups: every group's parameters of a whole tensor. */
#include <math.h>
#include <stdlib.h>

#include "range.h"

enum {
	COL_BLOCK = 64 /* channels along the last axis gathered together */
};

static uint64_t max_group_size(const struct layout *l)
{
	if (l->gran == GRAN_GROUP)
		return l->block < l->dim ? l->block : l->dim;
	return layout_group_size(l, 0);
}

/* Channels g0..g0 + n of a layout with channels along the last axis into
 * dst (channel k at dst + k·stride), reading x a row at a time: a channel
 * read alone steps a row per value, a page per value on wide rows. */
static void gather_columns(const struct layout *l, const float *x, uint64_t g0, uint64_t n,
                           float *dst, uint64_t stride)
{
	for (uint64_t o = 0; o < l->outer; o++) {
		const float *row = x + o * l->dim + g0;
		for (uint64_t k = 0; k < n; k++)
			dst[k * stride + o] = row[k];
	}
}

int range_choose_groups(const struct method *m, const struct scheme *s, const struct layout *l,
                        const float *x, struct qparam *p, struct qs_error *err)
{
	bool cols = l->gran == GRAN_CHANNEL && l->inner == 1 && l->outer > 1;
	uint64_t gmax = max_group_size(l), nb = cols ? COL_BLOCK : 1;
	nb = nb < l->ngroups ? nb : l->ngroups ? l->ngroups : 1; /* a [1e8, 2] tensor: 2 */
	float *buf = malloc((gmax ? gmax : 1) * nb * sizeof *buf);
	float *scratch = malloc((gmax ? gmax : 1) * sizeof *scratch);
	int rc = buf && scratch
	                 ? 0
	                 : qs_error_set(err, QS_ERR_NOMEM, "out of memory for groups of %llu",
	                                (unsigned long long)gmax);

	for (uint64_t g0 = 0; !rc && g0 < l->ngroups; g0 += nb) {
		uint64_t n = l->ngroups - g0 < nb ? l->ngroups - g0 : nb;
		if (cols)
			gather_columns(l, x, g0, n, buf, gmax);
		else
			layout_gather(l, x, g0, buf);
		for (uint64_t k = 0; !rc && k < n; k++) {
			float *v = buf + k * gmax;
			size_t size = (size_t)layout_group_size(l, g0 + k), f = 0;
			for (size_t i = 0; i < size; i++)
				if (isfinite(v[i]))
					v[f++] = v[i];
			rc = range_choose(m, s, v, f, scratch, &p[g0 + k], err);
		}
	}
	free(buf);
	free(scratch);
	return rc;
}
