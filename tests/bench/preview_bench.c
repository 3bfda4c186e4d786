/* preview_bench — wall milliseconds of session_preview, the call behind the
 * TUI's retune preview, for every range method on row 0 of a model (the
 * tmux-driven tests/bench/tui_times.bash adds the terminal and its polling
 * on top). The first call of a row also computes x's statistics; later ones
 * reuse them, as the TUI does. Not a test: a measurement
 * (tests/bench/preview.bash builds and runs it).
 *   preview_bench MODEL [METHOD [REPEATS]] */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "session.h"

static double ms_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *methods[] = {"minmax",       "percentile:99.99", "mse", "aciq",
	                         "aciq-laplace", "aciq-gauss",       "kl"};
	size_t nmethods = sizeof methods / sizeof *methods;
	struct session_opts o = {.jobs = 2, .no_analysis = true};
	struct qs_error err = {0};
	struct dist_stats xs;
	bool have_xs = false;

	int reps = argc > 3 ? atoi(argv[3]) : 2;

	if (argc < 2 || argc > 4 || reps < 1) {
		fprintf(stderr, "usage: preview_bench MODEL [METHOD [REPEATS]]\n");
		return 2;
	}
	analysis_init();
	o.defaults.scheme = scheme_default();
	struct session *s = session_new(argv[1], NULL, &o, &err);
	if (!s) {
		fprintf(stderr, "preview_bench: %s\n", err.msg);
		return 2;
	}
	const struct session_row *r = session_row(s, 0);
	printf("%s: %llu values\n", r->name, (unsigned long long)r->ft->nelem);
	if (argc > 2) {
		methods[0] = argv[2];
		nmethods = 1;
	}
	for (int pass = 0; pass < reps; pass++)
		for (size_t k = 0; k < nmethods; k++) {
			struct qspec spec = r->spec;
			struct tensor_result res;
			if (method_parse(methods[k], &spec.method, &err))
				return 2;
			double t0 = ms_now();
			int rc = session_preview(s, 0, &spec, have_xs ? &xs : NULL, &res, &err);
			double t = ms_now() - t0;
			if (rc) {
				fprintf(stderr, "preview_bench: %s\n", err.msg);
				return 1;
			}
			xs = res.xs;
			have_xs = true;
			if (pass >= 1)
				printf("%-18s %7.1f ms  (SQNR %.3f dB)\n", methods[k], t,
				       res.m.sqnr_db);
			tensor_result_free(&res);
		}
	session_free(s);
	return 0;
}
