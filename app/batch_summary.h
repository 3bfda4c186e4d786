/* batch_summary.h — the totals and the stdout renderings (table, JSON) of a
 * per-tensor report table, computed from its cells so that `report` and
 * `merge` print the same figures for the same rows.
 *
 *   params         Σ elements
 *   float_bytes    Σ float_bytes (elements × the float tensor's element size)
 *   quant_bytes    Σ quant_bytes (codes packed at `bits` bits, plus one f32
 *                  scale per group, plus zero points for affine schemes;
 *                  measure mode: the stored tensor and its parameters)
 *   weighted_sqnr  Σ elements·sqnr_db / Σ elements over rows with a finite
 *                  SQNR that are not kept in float
 */
#ifndef QS_BATCH_SUMMARY_H
#define QS_BATCH_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "batch_csv.h"

struct summary {
	size_t tensors, ok, warn, risk, unpaired, failed, kept;
	uint64_t params, float_bytes, quant_bytes;
	double weighted_sqnr;
};

void summary_totals(const struct btable *t, struct summary *s);
void summary_print_table(FILE *f, const struct btable *t);
void summary_print_totals(FILE *f, const struct btable *t);
int summary_print_json(FILE *f, const struct btable *t);

#endif
