/* chart.h — charts drawn into a cell grid (grid.h): a histogram with the
 * quantization grid and clip limits over it, horizontal bars, a per-channel
 * strip and a sparkline. No curses; the same charts render in the TUI, in
 * golden screens and in text/SVG export.
 *
 * Histograms are GSL histograms (gsl_histogram, equal-width bins) built by
 * chart_hist_build from the finite values of a tensor; the caller owns them
 * and frees them with gsl_histogram_free.
 *
 * Bar heights: linear scale, a bin's height is count / max count of the
 * histogram times the plot height, in eighths of a cell (▁..█); log scale
 * uses log(1 + count) / log(1 + max count), so single outliers stay
 * visible. A non-empty bin is never drawn as empty (at least one eighth).
 */
#ifndef QS_CHART_H
#define QS_CHART_H

#include <stdbool.h>
#include <stddef.h>

#include <gsl/gsl_histogram.h>

#include "grid.h"

/* nbins equal bins over [lo, hi]; values outside are counted in the first
 * or last bin (so clipped mass stays visible); NaN/Inf are skipped.
 * Returns NULL when nbins is 0, lo/hi are not finite or allocation fails;
 * lo == hi is widened to lo ± 0.5 (or ±|lo|/2) so constant tensors plot. */
gsl_histogram *chart_hist_build(const float *x, size_t n, size_t nbins, double lo, double hi);
/* The same of the float differences x[i] − y[i], without a copy of them. */
gsl_histogram *chart_hist_build_diff(const float *x, const float *y, size_t n, size_t nbins,
                                     double lo, double hi);
/* The same in pieces: an empty histogram (NULL as chart_hist_build), then
 * values or differences added to it; any split of the values gives the
 * counts of chart_hist_build on all of them. Adding to NULL does nothing. */
gsl_histogram *chart_hist_new(size_t nbins, double lo, double hi);
void chart_hist_add(gsl_histogram *h, const float *x, size_t n);
void chart_hist_add_diff(gsl_histogram *h, const float *x, const float *y, size_t n);

/* What to draw over a histogram of float values. */
struct hist_overlay {
	bool has_grid; /* quantization levels at origin + k·step */
	double grid_origin, grid_step;
	bool has_clip; /* clip limits of the quantizer */
	double clip_lo, clip_hi;
};

/* The histogram in the rectangle (x, y, w, h): h − 2 rows of bars (one bin
 * or group of bins per column), an axis row with a tick under every
 * quantization level when levels are at least two columns apart, and a label
 * row with the range ends. Columns outside the clip limits are drawn in
 * ST_RISK, the clip columns themselves as a vertical line in ST_CLIP.
 * Returns the number of grid levels per column (0 when no grid). */
double chart_histogram(struct grid *g, int x, int y, int w, int h, const gsl_histogram *hist,
                       const struct hist_overlay *ov, bool log_scale);

/* Column (0..w−1) of value v on an axis [lo, hi] of w columns. */
int chart_col_of(double v, double lo, double hi, int w);

/* A horizontal bar of frac (0..1) of w columns in eighths. */
void chart_bar(struct grid *g, int x, int y, int w, double frac, int style);

/* One slot per channel (or per group of channels when n > w, showing the
 * worst of the group: the lowest value when low_is_worse, else the highest)
 * in h rows of vertical bars scaled to [lo, hi]. When there is room a slot
 * is up to 3 columns: a bar of cw − 1 columns and a gap (cw = min(3, w/n)). flag[i] (may be NULL) draws
 * channel i's column in ST_RISK. +inf is drawn full, NaN as '?'.
 * Returns the number of channels per slot. */
double chart_strip(struct grid *g, int x, int y, int w, int h, const double *v, size_t n,
                   const bool *flag, double lo, double hi, bool low_is_worse);

/* A one-row strip without flags. */
void chart_sparkline(struct grid *g, int x, int y, int w, const double *v, size_t n, double lo,
                     double hi, int style);

/* A compact number for tables and labels: "inf", "-inf", "nan", plain
 * notation with `sig` significant digits between 1e-3 and 1e6, else %.*e. */
const char *chart_fmt(char *buf, size_t len, double v, int sig);

#endif
