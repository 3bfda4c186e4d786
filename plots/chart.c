#include "chart.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A histogram of nbins uniform bins over [lo, hi] (widened around a single
 * value), or NULL. */
static gsl_histogram *hist_new(size_t nbins, double *lo, double *hi)
{
	if (nbins == 0 || !isfinite(*lo) || !isfinite(*hi) || *lo > *hi)
		return NULL;
	if (*lo == *hi) {
		double d = *lo == 0 ? 0.5 : fabs(*lo) / 2;
		*lo -= d;
		*hi += d;
	}
	gsl_histogram *h = gsl_histogram_alloc(nbins);
	if (h && gsl_histogram_set_ranges_uniform(h, *lo, *hi) != 0) {
		gsl_histogram_free(h);
		return NULL;
	}
	return h;
}

/* Count v (finite) in h; values beyond the range go to the end bins. */
static inline void hist_count(gsl_histogram *h, double v, double lo, double width)
{
	if (!isfinite(v))
		return;
	/* floor((v − lo) / width) without the libm call: truncation is the
	 * floor for b ≥ 0, and b < 0 lands in bin 0 either way */
	double b = (v - lo) / width;
	size_t k = b < 0 ? 0 : b >= (double)h->n ? h->n - 1 : (size_t)b;
	h->bin[k] += 1;
}

gsl_histogram *chart_hist_new(size_t nbins, double lo, double hi)
{
	return hist_new(nbins, &lo, &hi);
}

/* The bin arithmetic of hist_count from the histogram's own range, so that
 * counting in pieces gives the counts of counting at once. */
static double hist_width(const gsl_histogram *h)
{
	return (h->range[h->n] - h->range[0]) / (double)h->n;
}

void chart_hist_add(gsl_histogram *h, const float *x, size_t n)
{
	if (!h)
		return;
	double lo = h->range[0], width = hist_width(h);
	for (size_t i = 0; i < n; i++)
		hist_count(h, x[i], lo, width);
}

void chart_hist_add_diff(gsl_histogram *h, const float *x, const float *y, size_t n)
{
	if (!h)
		return;
	double lo = h->range[0], width = hist_width(h);
	for (size_t i = 0; i < n; i++)
		hist_count(h, x[i] - y[i], lo, width);
}

gsl_histogram *chart_hist_build(const float *x, size_t n, size_t nbins, double lo, double hi)
{
	gsl_histogram *h = chart_hist_new(nbins, lo, hi);
	chart_hist_add(h, x, n);
	return h;
}

gsl_histogram *chart_hist_build_diff(const float *x, const float *y, size_t n, size_t nbins,
                                     double lo, double hi)
{
	gsl_histogram *h = chart_hist_new(nbins, lo, hi);
	chart_hist_add_diff(h, x, y, n);
	return h;
}

int chart_col_of(double v, double lo, double hi, int w)
{
	if (w <= 1 || !(hi > lo))
		return 0;
	double c = floor((v - lo) / (hi - lo) * w);
	return c < 0 ? 0 : c >= w ? w - 1 : (int)c;
}

static double bar_frac(double v, double max, bool log_scale)
{
	if (v <= 0 || max <= 0)
		return 0;
	return log_scale ? log1p(v) / log1p(max) : v / max;
}

/* Draw one vertical bar of `eighths` eighths rising from row `base`. */
static void vbar(struct grid *g, int x, int base, int rows, int eighths, int style)
{
	for (int r = 0; r < rows && eighths > 0; r++) {
		int k = eighths >= 8 ? 8 : eighths;
		grid_put(g, x, base - r, grid_vblock(g, k), style);
		eighths -= k;
	}
}

static double column_count(const gsl_histogram *h, int c, int w)
{
	size_t nb = gsl_histogram_bins(h);
	size_t b0 = (size_t)c * nb / (size_t)w, b1 = (size_t)(c + 1) * nb / (size_t)w;
	if (b1 <= b0)
		b1 = b0 + 1;
	double s = 0;
	for (size_t b = b0; b < b1 && b < nb; b++)
		s += gsl_histogram_get(h, b);
	return s;
}

static void hist_axis(struct grid *g, int x, int y, int w, double lo, double hi,
                      const struct hist_overlay *ov, double *per_col)
{
	grid_hline(g, x, y, w, ST_DIM);
	*per_col = 0;
	if (!ov || !ov->has_grid || !(ov->grid_step > 0))
		return;
	double cols = ov->grid_step / (hi - lo) * w;
	*per_col = 1.0 / cols;
	if (cols < 2)
		return;
	double k0 = ceil((lo - ov->grid_origin) / ov->grid_step);
	for (double k = k0;; k++) {
		double v = ov->grid_origin + k * ov->grid_step;
		if (v > hi)
			break;
		grid_put(g, x + chart_col_of(v, lo, hi, w), y, grid_glyph(g, GL_TICK), ST_GRID);
	}
}

static void hist_clip(struct grid *g, int x, int y, int w, int rows, double lo, double hi,
                      const struct hist_overlay *ov)
{
	if (!ov || !ov->has_clip)
		return;
	int c0 = chart_col_of(ov->clip_lo, lo, hi, w), c1 = chart_col_of(ov->clip_hi, lo, hi, w);
	for (int c = 0; c < w; c++) {
		bool out = c < c0 || c > c1, edge = c == c0 || c == c1;
		if (!out && !edge)
			continue;
		for (int r = 0; r < rows; r++) {
			const struct cell *cell = grid_at(g, x + c, y + r);
			if (edge && cell && cell->ch == ' ')
				grid_put(g, x + c, y + r, grid_glyph(g, GL_VLINE), ST_CLIP);
			else
				grid_style(g, x + c, y + r, 1, edge ? ST_CLIP : ST_RISK);
		}
	}
}

double chart_histogram(struct grid *g, int x, int y, int w, int h, const gsl_histogram *hist,
                       const struct hist_overlay *ov, bool log_scale)
{
	int rows = h - 2;
	if (!hist || w < 4 || rows < 1)
		return 0;
	double lo = gsl_histogram_min(hist), hi = gsl_histogram_max(hist), max = 0;
	for (int c = 0; c < w; c++) {
		double v = column_count(hist, c, w);
		max = v > max ? v : max;
	}
	for (int c = 0; c < w; c++) {
		double v = column_count(hist, c, w);
		int e = (int)lround(bar_frac(v, max, log_scale) * rows * 8);
		vbar(g, x + c, y + rows - 1, rows, v > 0 && e == 0 ? 1 : e, ST_BAR);
	}
	double per_col;
	hist_axis(g, x, y + rows, w, lo, hi, ov, &per_col);
	hist_clip(g, x, y, w, rows, lo, hi, ov);
	char a[32], b[32];
	grid_text(g, x, y + rows + 1, w / 2, ST_DIM, chart_fmt(a, sizeof a, lo, 3));
	grid_text_right(g, x + w / 2, y + rows + 1, w - w / 2, ST_DIM,
	                chart_fmt(b, sizeof b, hi, 3));
	return per_col;
}

void chart_bar(struct grid *g, int x, int y, int w, double frac, int style)
{
	if (!(frac > 0))
		return;
	int e = (int)lround((frac > 1 ? 1 : frac) * w * 8);
	for (int c = 0; c < w && e > 0; c++) {
		int k = e >= 8 ? 8 : e;
		grid_put(g, x + c, y, grid_hblock(g, k), style);
		e -= k;
	}
}

/* The worst value of channels [i0, i1) and whether any of them is flagged. */
static double strip_value(const double *v, size_t i0, size_t i1, const bool *flag,
                          bool low_is_worse, bool *flagged)
{
	double worst = NAN;
	*flagged = false;
	for (size_t i = i0; i < i1; i++) {
		if (flag && flag[i])
			*flagged = true;
		if (isnan(v[i]))
			continue;
		if (isnan(worst) || (low_is_worse ? v[i] < worst : v[i] > worst))
			worst = v[i];
	}
	return worst;
}

double chart_strip(struct grid *g, int x, int y, int w, int h, const double *v, size_t n,
                   const bool *flag, double lo, double hi, bool low_is_worse)
{
	if (n == 0 || w < 1 || h < 1)
		return 0;
	size_t cols = n < (size_t)w ? n : (size_t)w;
	int cw = n < (size_t)w ? (int)((size_t)w / n) : 1; /* columns per slot */
	cw = cw > 3 ? 3 : cw;
	int bw = cw > 1 ? cw - 1 : 1; /* a gap between wide slots */
	for (size_t c = 0; c < cols; c++) {
		size_t i0 = c * n / cols, i1 = (c + 1) * n / cols;
		bool flagged;
		double val =
		        strip_value(v, i0, i1 > i0 ? i1 : i0 + 1, flag, low_is_worse, &flagged);
		int style = flagged ? ST_RISK : ST_BAR;
		int cx = x + (int)c * cw;
		if (isnan(val)) {
			grid_put(g, cx, y + h - 1, '?', ST_WARN);
			continue;
		}
		double frac = isinf(val) ? (val > 0 ? 1 : 0) : hi > lo ? (val - lo) / (hi - lo) : 1;
		frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
		int e = (int)lround(frac * h * 8);
		for (int b = 0; b < bw; b++)
			vbar(g, cx + b, y + h - 1, h, e == 0 ? 1 : e, style);
	}
	return (double)n / (double)cols;
}

void chart_sparkline(struct grid *g, int x, int y, int w, const double *v, size_t n, double lo,
                     double hi, int style)
{
	grid_clip(g, x, y, w, 1);
	chart_strip(g, x, y, w, 1, v, n, NULL, lo, hi, true);
	for (int c = 0; c < w; c++)
		grid_style(g, x + c, y, 1, style);
	grid_unclip(g);
}

const char *chart_fmt(char *buf, size_t len, double v, int sig)
{
	if (isnan(v))
		snprintf(buf, len, "nan");
	else if (isinf(v))
		snprintf(buf, len, v > 0 ? "inf" : "-inf");
	else if (v == 0)
		snprintf(buf, len, "0");
	else if (fabs(v) >= 1e-3 && fabs(v) < 1e6)
		snprintf(buf, len, "%.*g", sig, v);
	else
		snprintf(buf, len, "%.*e", sig > 1 ? sig - 1 : 0, v);
	return buf;
}
