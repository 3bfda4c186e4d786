/* engine_bench — ns per value of analyze_simulate_src on an in-memory
 * Llama-like matrix (rows of 4096 Gaussian values, every 7th Laplace, some
 * outlier rows): per-channel int8 minmax, light (batch report) and full
 * statistics, one and two threads, and the range methods. Not a test: a
 * measurement (tests/bench/engine.bash builds and runs it).
 *   engine_bench [ROWS [CASE-SUBSTRING]] */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze.h"

/* CPU seconds of the process (both threads): the machine may be busy. */
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 0x9E3779B97F4A7C15u;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static const char *only; /* run only the cases whose name holds this */

static void one(const char *name, const float *x, const int64_t *shape, const struct qspec *s,
                const struct analyze_opts *o, double n)
{
	struct float_src src = {.data = x};
	struct tensor_result r;
	struct qs_error err = {0};
	double best = INFINITY;

	if (only && !strstr(name, only))
		return;
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now();
		if (analyze_simulate_src(&src, shape, 2, s, NULL, o, &r, &err)) {
			fprintf(stderr, "%s: %s\n", name, err.msg);
			exit(1);
		}
		double t = now() - t0;
		best = t < best ? t : best;
		tensor_result_free(&r);
	}
	printf("%-34s %7.2f CPU ns/value  (%.3f CPU s for %.0fM values)\n", name, 1e9 * best / n,
	       best, n / 1e6);
}

int main(int argc, char **argv)
{
	int64_t rows = argc > 1 ? atoll(argv[1]) : 8192, cols = 4096;
	only = argc > 2 ? argv[2] : NULL;
	int64_t shape[2] = {rows, cols};
	uint64_t n = (uint64_t)(rows * cols);
	float *x = malloc(n * sizeof *x);
	struct qspec s = {0};
	struct analyze_opts light1 = {
	        .threads = 1, .no_quantiles = true, .no_xhat_stats = true, .no_moments = true};
	struct analyze_opts light2 = light1, full1 = {.threads = 1}, full2 = {.threads = 2};
	struct dist_stats known = {0};

	analysis_init();
	for (uint64_t i = 0; i < n; i++) {
		double u = uniform(), v = uniform();
		x[i] = (float)(i % 7 ? sqrt(-2 * log(u)) * cos(6.283185307179586 * v)
		                     : (u < 0.5 ? log(2 * u) : -log(2 * (1 - u))) * 0.7);
		if ((i / (uint64_t)cols) % 97 == 3 && i % 1000 == 1)
			x[i] *= 30.0f;
	}
	light2.threads = 2;
	s.scheme = scheme_default();
	s.method.kind = METHOD_MINMAX;
	one("minmax light, 1 thread", x, shape, &s, &light1, (double)n);
	one("minmax light, 2 threads", x, shape, &s, &light2, (double)n);
	struct analyze_opts nostat = light1;
	nostat.xs = &known;
	one("minmax light, x stats given", x, shape, &s, &nostat, (double)n);
	one("minmax full stats, 1 thread", x, shape, &s, &full1, (double)n);
	one("minmax full stats, 2 threads", x, shape, &s, &full2, (double)n);
	const char *methods[] = {"mse", "kl", "aciq", "percentile:99.99"};
	for (size_t k = 0; k < sizeof methods / sizeof *methods; k++) {
		char name[64];
		struct qs_error err = {0};
		if (method_parse(methods[k], &s.method, &err))
			return 1;
		snprintf(name, sizeof name, "%s light, 1 thread", methods[k]);
		one(name, x, shape, &s, &light1, (double)n);
	}
	free(x);
	return 0;
}
