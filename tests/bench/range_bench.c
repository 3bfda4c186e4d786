/* range_bench — ns per value of each range method (range_choose) on
 * synthetic groups; a micro-benchmark, not a test (tests/bench/range.bash
 * builds and runs it against a build's libqs_analysis.a).
 *
 *   range_bench [METHOD...]     default: every method
 *
 * Rows: 4096-value groups of Gaussian values and of Laplace values with 1 %
 * outliers (±20 b), and 32-value groups of the same; 8-bit and 4-bit,
 * symmetric (signed) and affine (unsigned). About 2^20 values per row
 * (fewer for slow methods: the loop stops after 0.3 s), timed with
 * CLOCK_MONOTONIC; the figure is the best of three runs. For scale,
 * "sse" is one range_sse pass (quantize, dequantize, squared error) under
 * the minmax parameters. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>

#include "range.h"

enum {
	BENCH_VALUES = 1 << 20,
	BENCH_RUNS = 3
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double rng_uniform(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) * 0x1.0p-53;
}

static double rng_gauss(void)
{
	double u = rng_uniform(), v = rng_uniform();
	return sqrt(-2.0 * log(u > 0.0 ? u : 1e-300)) * cos(2.0 * M_PI * v);
}

static double rng_laplace_outliers(void)
{
	double u = rng_uniform() - 0.5;
	double x = (u < 0 ? 1.0 : -1.0) * log(1.0 - 2.0 * fabs(u));
	return rng_uniform() < 0.01 ? 20.0 * x / (fabs(x) + 1e-9) + x : x;
}

struct dist {
	const char *name;
	double (*gen)(void);
};

static const struct dist dists[] = {{"gauss", rng_gauss}, {"laplace+out", rng_laplace_outliers}};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static struct scheme bench_scheme(int bits, int symmetric)
{
	struct scheme s = scheme_default();
	s.bits = bits;
	s.gran = GRAN_TENSOR;
	s.symmetric = symmetric;
	s.is_signed = symmetric;
	return s;
}

/* ns per value of one method over the groups of x (or one sse pass when
 * m is NULL); stops early after 0.3 s. */
static double time_method(const struct method *m, const struct scheme *s, const float *x,
                          size_t total, size_t group, float *scratch)
{
	double best = INFINITY;

	for (int r = 0; r < BENCH_RUNS; r++) {
		struct method mm = {.kind = METHOD_MINMAX};
		struct qs_error err = {0};
		struct qparam p;
		volatile double sink = 0.0;
		size_t done = 0;
		double t0 = now(), t = t0;
		for (size_t g = 0; g + group <= total && t - t0 < 0.3; g += group) {
			if (m) {
				if (range_choose(m, s, x + g, group, scratch, &p, &err)) {
					fprintf(stderr, "range_bench: %s\n", err.msg);
					exit(1);
				}
				sink += p.scale;
			} else {
				range_choose(&mm, s, x + g, group, scratch, &p, &err);
				sink += range_sse(s, &p, x + g, group);
			}
			done += group;
			if ((g / group) % 16 == 15)
				t = now();
		}
		t = now();
		(void)sink;
		double ns = (t - t0) * 1e9 / (double)done;
		best = ns < best ? ns : best;
	}
	return best;
}

int main(int argc, char **argv)
{
	static const char *const all[] = {"minmax",
	                                  "percentile:99.9",
	                                  "percentile:99.99",
	                                  "aciq",
	                                  "aciq-laplace",
	                                  "aciq-gauss",
	                                  "kl",
	                                  "mse"};
	static const size_t groups[] = {4096, 32};
	const char *const *names = argc > 1 ? (const char *const *)argv + 1 : all;
	int nnames = argc > 1 ? argc - 1 : (int)(sizeof all / sizeof *all);
	float *x = malloc(BENCH_VALUES * sizeof *x), *scratch = malloc(4096 * sizeof *scratch);

	if (!x || !scratch)
		return 1;
	gsl_set_error_handler_off();
	printf("%-12s %5s %4s %-6s %8s", "data", "group", "bits", "kind", "sse");
	for (int k = 0; k < nnames; k++)
		printf(" %15s", names[k]);
	printf("   (ns/value)\n");
	for (size_t d = 0; d < sizeof dists / sizeof *dists; d++) {
		for (size_t i = 0; i < BENCH_VALUES; i++)
			x[i] = (float)dists[d].gen();
		for (size_t gi = 0; gi < sizeof groups / sizeof *groups; gi++) {
			for (int bits = 8; bits >= 4; bits -= 4) {
				for (int sym = 1; sym >= 0; sym--) {
					struct scheme s = bench_scheme(bits, sym);
					printf("%-12s %5zu %4d %-6s %8.2f", dists[d].name,
					       groups[gi], bits, sym ? "sym" : "affine",
					       time_method(NULL, &s, x, BENCH_VALUES, groups[gi],
					                   scratch));
					for (int k = 0; k < nnames; k++) {
						struct method m;
						struct qs_error err = {0};
						if (method_parse(names[k], &m, &err)) {
							fprintf(stderr, "range_bench: %s\n",
							        err.msg);
							return 2;
						}
						printf(" %15.2f",
						       time_method(&m, &s, x, BENCH_VALUES,
						                   groups[gi], scratch));
					}
					printf("\n");
					fflush(stdout);
				}
			}
		}
	}
	free(x);
	free(scratch);
	return 0;
}
