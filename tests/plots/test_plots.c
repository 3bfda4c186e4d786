/* plots: cell grid and charts, checked against characters and counts worked
 * out by hand from the formulas in chart.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "grid.h"
#include "qs_test.h"

static uint32_t ch_at(const struct grid *g, int x, int y)
{
	return grid_at(g, x, y)->ch;
}

static void test_text_and_truncation(void **state)
{
	(void)state;
	struct grid *g = grid_new(10, 2, false);
	assert_non_null(g);
	assert_int_equal(grid_text(g, 0, 0, 5, ST_NORMAL, "abcdefgh"), 5);
	char *t = grid_to_text(g);
	/* 8 chars into 5 columns: four kept, the fifth becomes '~'. */
	assert_string_equal(t, "abcd~\n\n");
	free(t);
	grid_text_right(g, 0, 1, 10, ST_NORMAL, "xy");
	assert_int_equal(ch_at(g, 8, 1), 'x');
	assert_int_equal(ch_at(g, 9, 1), 'y');
	/* Writes outside the grid are dropped. */
	grid_put(g, -1, 0, 'Z', ST_NORMAL);
	grid_put(g, 10, 0, 'Z', ST_NORMAL);
	grid_put(g, 0, 2, 'Z', ST_NORMAL);
	grid_free(g);
	grid_free(NULL);
}

static void test_utf8(void **state)
{
	(void)state;
	uint32_t cp;
	/* "→" is E2 86 92 = U+2192; "é" is C3 A9 = U+00E9. */
	assert_int_equal(grid_utf8_decode("\xe2\x86\x92", &cp), 3);
	assert_int_equal(cp, 0x2192);
	assert_int_equal(grid_utf8_decode("\xc3\xa9", &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(grid_utf8_decode("\xff", &cp), 1);
	assert_int_equal(cp, 0xfffd);
	assert_int_equal(grid_text_width("a\xe2\x86\x92"
	                                 "b"),
	                 3);
	struct grid *g = grid_new(4, 1, true);
	grid_text(g, 0, 0, -1, ST_NORMAL,
	          "a\xe2\x86\x92"
	          "b");
	char *t = grid_to_text(g);
	assert_string_equal(t, "a\xe2\x86\x92"
	                       "b\n");
	free(t);
	grid_free(g);
}

static void test_clip_and_box(void **state)
{
	(void)state;
	struct grid *g = grid_new(6, 4, false);
	grid_box(g, 0, 0, 6, 4, ST_DIALOG, NULL);
	char *t = grid_to_text(g);
	assert_string_equal(t, "+----+\n|    |\n|    |\n+----+\n");
	free(t);
	grid_clip(g, 1, 1, 2, 1);
	grid_fill(g, 0, 0, 6, 4, 'x', ST_NORMAL);
	grid_unclip(g);
	t = grid_to_text(g);
	assert_string_equal(t, "+----+\n|xx  |\n|    |\n+----+\n");
	free(t);
	grid_free(g);
}

static void test_hist_build(void **state)
{
	(void)state;
	/* [0, 4) in 4 bins of width 1; −3 lands in the first, 9 and 4 in the
	 * last; NaN and inf are skipped. */
	const float x[] = {0.5f, 1.5f, 1.2f, 3.9f, -3.0f, 9.0f, 4.0f, NAN, INFINITY};
	gsl_histogram *h = chart_hist_build(x, 9, 4, 0, 4);
	assert_non_null(h);
	assert_close(gsl_histogram_get(h, 0), 2, 0, 0);
	assert_close(gsl_histogram_get(h, 1), 2, 0, 0);
	assert_close(gsl_histogram_get(h, 2), 0, 0, 0);
	assert_close(gsl_histogram_get(h, 3), 3, 0, 0);
	assert_close(gsl_histogram_sum(h), 7, 0, 0);
	gsl_histogram_free(h);
	/* Constant data widens to lo ± |lo|/2. */
	const float c[] = {2, 2, 2};
	h = chart_hist_build(c, 3, 2, 2, 2);
	assert_non_null(h);
	assert_close(gsl_histogram_min(h), 1, 0, 0);
	assert_close(gsl_histogram_max(h), 3, 0, 0);
	gsl_histogram_free(h);
	assert_null(chart_hist_build(c, 3, 0, 0, 1));
	assert_null(chart_hist_build(c, 3, 4, NAN, 1));
	/* Differences x − y = {0.5, 0, 1, −1, NaN} over [−1, 1] in bins of
	 * 0.5: −1 → 0, 0 → 2, 0.5 → 3, 1 (the top) → 3; NaN skipped. */
	const float a[] = {1, 2, 3, 4, NAN}, b[] = {0.5f, 2, 2, 5, 0};
	h = chart_hist_build_diff(a, b, 5, 4, -1, 1);
	assert_non_null(h);
	assert_close(gsl_histogram_get(h, 0), 1, 0, 0);
	assert_close(gsl_histogram_get(h, 1), 0, 0, 0);
	assert_close(gsl_histogram_get(h, 2), 1, 0, 0);
	assert_close(gsl_histogram_get(h, 3), 2, 0, 0);
	gsl_histogram_free(h);

	/* The same differences added in two pieces (and nothing added to a
	 * histogram that could not be made); a constant range widens as
	 * chart_hist_build's does: 2 ± 1 in two bins, 1.5 → 0, 2.5 → 1. */
	h = chart_hist_new(4, -1, 1);
	chart_hist_add_diff(h, a, b, 2);
	chart_hist_add_diff(h, a + 2, b + 2, 3);
	chart_hist_add_diff(NULL, a, b, 5);
	const double want[] = {1, 0, 1, 2};
	for (size_t k = 0; k < 4; k++)
		assert_close(gsl_histogram_get(h, k), want[k], 0, 0);
	gsl_histogram_free(h);
	assert_null(chart_hist_new(0, -1, 1));
	const float cv[] = {1.5f, 2.5f, 2.0f};
	h = chart_hist_new(2, 2, 2);
	chart_hist_add(h, cv, 1);
	chart_hist_add(h, cv + 1, 2);
	assert_close(gsl_histogram_min(h), 1, 0, 0);
	assert_close(gsl_histogram_max(h), 3, 0, 0);
	assert_close(gsl_histogram_get(h, 0), 1, 0, 0);
	assert_close(gsl_histogram_get(h, 1), 2, 0, 0);
	gsl_histogram_free(h);
}

static gsl_histogram *hist_of(const double *counts, size_t n, double lo, double hi)
{
	gsl_histogram *h = gsl_histogram_alloc(n);
	gsl_histogram_set_ranges_uniform(h, lo, hi);
	for (size_t i = 0; i < n; i++)
		h->bin[i] = counts[i];
	return h;
}

static void test_histogram_bars(void **state)
{
	(void)state;
	/* Counts 4,2,1,0 in 2 bar rows (16 eighths): 16, 8, 4, 0 eighths. */
	const double counts[] = {4, 2, 1, 0};
	gsl_histogram *h = hist_of(counts, 4, 0, 2);
	struct grid *g = grid_new(4, 4, true);
	chart_histogram(g, 0, 0, 4, 4, h, NULL, false);
	assert_int_equal(ch_at(g, 0, 0), 0x2588); /* full, upper row */
	assert_int_equal(ch_at(g, 0, 1), 0x2588);
	assert_int_equal(ch_at(g, 1, 0), ' ');
	assert_int_equal(ch_at(g, 1, 1), 0x2588);
	assert_int_equal(ch_at(g, 2, 1), 0x2584); /* 4/8: lower half block */
	assert_int_equal(ch_at(g, 3, 1), ' ');
	assert_int_equal(ch_at(g, 0, 2), 0x2500); /* axis */
	grid_free(g);
	gsl_histogram_free(h);
}

static void test_histogram_log(void **state)
{
	(void)state;
	/* One bar row, log scale: log1p(c)/log1p(100)·8 = 8, 4.16, 1.20, 0. */
	const double counts[] = {100, 10, 1, 0};
	gsl_histogram *h = hist_of(counts, 4, 0, 4);
	struct grid *g = grid_new(4, 3, true);
	chart_histogram(g, 0, 0, 4, 3, h, NULL, true);
	assert_int_equal(ch_at(g, 0, 0), 0x2588);
	assert_int_equal(ch_at(g, 1, 0), 0x2584);
	assert_int_equal(ch_at(g, 2, 0), 0x2581);
	assert_int_equal(ch_at(g, 3, 0), ' ');
	grid_free(g);
	gsl_histogram_free(h);
}

static void test_histogram_grid_and_clip(void **state)
{
	(void)state;
	const double counts[] = {0, 0, 0, 0};
	gsl_histogram *h = hist_of(counts, 4, 0, 2);
	struct grid *g = grid_new(4, 4, false);
	/* Levels at k·1 over [0, 2] on 4 columns: 2 columns apart, ticks at
	 * v = 0, 1, 2 → columns 0, 2, 3 (2 is the right edge). */
	struct hist_overlay ov = {.has_grid = true, .grid_step = 1};
	double per_col = chart_histogram(g, 0, 0, 4, 4, h, &ov, false);
	assert_close(per_col, 0.5, 1e-12, 0);
	assert_int_equal(ch_at(g, 0, 2), '+');
	assert_int_equal(ch_at(g, 1, 2), '-');
	assert_int_equal(ch_at(g, 2, 2), '+');
	assert_int_equal(ch_at(g, 3, 2), '+');
	grid_free(g);
	/* Clip [0.5, 1.5]: columns 1 and 3 carry the clip line, column 0 is
	 * outside the range (risk style). */
	g = grid_new(4, 4, false);
	struct hist_overlay oc = {.has_clip = true, .clip_lo = 0.5, .clip_hi = 1.5};
	chart_histogram(g, 0, 0, 4, 4, h, &oc, false);
	assert_int_equal(ch_at(g, 1, 0), '|');
	assert_int_equal(grid_at(g, 1, 0)->style, ST_CLIP);
	assert_int_equal(ch_at(g, 3, 1), '|');
	assert_int_equal(ch_at(g, 2, 0), ' ');
	assert_int_equal(grid_at(g, 0, 0)->style, ST_RISK);
	grid_free(g);
	gsl_histogram_free(h);
}

static void test_strip_and_bar(void **state)
{
	(void)state;
	/* [10, 20, 30, inf, nan] on [10, 30]: fractions 0, 1/2, 1, full, '?';
	 * a zero fraction still shows one eighth. */
	const double v[] = {10, 20, 30, INFINITY, NAN};
	const bool flag[] = {true, false, false, false, false};
	struct grid *g = grid_new(5, 1, true);
	double per = chart_strip(g, 0, 0, 5, 1, v, 5, flag, 10, 30, true);
	assert_close(per, 1, 0, 0);
	assert_int_equal(ch_at(g, 0, 0), 0x2581);
	assert_int_equal(grid_at(g, 0, 0)->style, ST_RISK);
	assert_int_equal(ch_at(g, 1, 0), 0x2584);
	assert_int_equal(ch_at(g, 2, 0), 0x2588);
	assert_int_equal(ch_at(g, 3, 0), 0x2588);
	assert_int_equal(ch_at(g, 4, 0), '?');
	grid_free(g);
	/* 10 channels in 5 columns: each column shows the lower of its pair. */
	const double w[] = {5, 1, 5, 5, 5, 5, 5, 5, 3, 5};
	g = grid_new(5, 1, true);
	per = chart_strip(g, 0, 0, 5, 1, w, 10, NULL, 1, 5, true);
	assert_close(per, 2, 0, 0);
	assert_int_equal(ch_at(g, 0, 0), 0x2581); /* min(5,1)=1 → bottom */
	assert_int_equal(ch_at(g, 4, 0), 0x2584); /* min(3,5)=3 → half */
	grid_free(g);
	/* 2 channels in 6 columns: slots of 3 = a 2-column bar and a gap. */
	const double two[] = {1, 2};
	g = grid_new(6, 1, true);
	chart_strip(g, 0, 0, 6, 1, two, 2, NULL, 0, 2, true);
	assert_int_equal(ch_at(g, 0, 0), 0x2584); /* 1 of [0, 2]: half */
	assert_int_equal(ch_at(g, 1, 0), 0x2584);
	assert_int_equal(ch_at(g, 2, 0), ' ');
	assert_int_equal(ch_at(g, 3, 0), 0x2588);
	assert_int_equal(ch_at(g, 4, 0), 0x2588);
	assert_int_equal(ch_at(g, 5, 0), ' ');
	grid_free(g);
	/* A bar of 0.5 over 4 columns is 16 eighths: two full blocks. */
	g = grid_new(4, 1, true);
	chart_bar(g, 0, 0, 4, 0.5, ST_BAR);
	assert_int_equal(ch_at(g, 0, 0), 0x2588);
	assert_int_equal(ch_at(g, 1, 0), 0x2588);
	assert_int_equal(ch_at(g, 2, 0), ' ');
	chart_bar(g, 0, 0, 4, 0.3125, ST_BAR); /* 10 eighths: █ then ▎ (2/8) */
	assert_int_equal(ch_at(g, 1, 0), 0x258e);
	grid_free(g);
}

static void test_ascii_fallback(void **state)
{
	(void)state;
	struct grid *g = grid_new(3, 1, false);
	assert_int_equal(grid_vblock(g, 8), '#');
	assert_int_equal(grid_vblock(g, 0), ' ');
	assert_int_equal(grid_glyph(g, GL_ARROW), '>');
	grid_text(g, 0, 0, 2, ST_NORMAL, "abc");
	assert_int_equal(ch_at(g, 1, 0), '~');
	grid_free(g);
	g = grid_new(3, 1, true);
	grid_text(g, 0, 0, 2, ST_NORMAL, "abc");
	assert_int_equal(ch_at(g, 1, 0), 0x2026);
	grid_free(g);
}

static void test_fmt_and_svg(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(chart_fmt(b, sizeof b, 0.0012345, 3), "0.00123");
	assert_string_equal(chart_fmt(b, sizeof b, 1e-5, 3), "1.00e-05");
	assert_string_equal(chart_fmt(b, sizeof b, INFINITY, 3), "inf");
	assert_string_equal(chart_fmt(b, sizeof b, -INFINITY, 3), "-inf");
	assert_string_equal(chart_fmt(b, sizeof b, NAN, 3), "nan");
	assert_string_equal(chart_fmt(b, sizeof b, 0, 3), "0");
	assert_string_equal(chart_fmt(b, sizeof b, 38.214, 3), "38.2");
	struct grid *g = grid_new(3, 1, true);
	grid_text(g, 0, 0, 3, ST_RISK, "<&>");
	char *svg = grid_to_svg(g, 8, 16);
	assert_non_null(strstr(svg, "<svg"));
	assert_non_null(strstr(svg, "&lt;"));
	assert_non_null(strstr(svg, "&amp;"));
	assert_non_null(strstr(svg, "#ff5f5f")); /* ST_RISK colour */
	assert_non_null(strstr(svg, "width=\"24\" height=\"16\""));
	free(svg);
	grid_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_text_and_truncation),
	        cmocka_unit_test(test_utf8),
	        cmocka_unit_test(test_clip_and_box),
	        cmocka_unit_test(test_hist_build),
	        cmocka_unit_test(test_histogram_bars),
	        cmocka_unit_test(test_histogram_log),
	        cmocka_unit_test(test_histogram_grid_and_clip),
	        cmocka_unit_test(test_strip_and_bar),
	        cmocka_unit_test(test_ascii_fallback),
	        cmocka_unit_test(test_fmt_and_svg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
