/* dist_acc micro-benchmark (run by tests/bench/dist_acc.bash; not a test).
 *
 *   dist_acc_bench [N]      N values (default 64M) of N(0, 1) floats, and the
 *                           same rounded to 255 int8 levels (many values in
 *                           each wanted bucket: the refine pass's worst case)
 *
 * Prints ns per value (best of 3, thread CPU time) of dist_acc_add, dist_acc_refine (AVX2 and
 * portable C loops), refine_begin + finish, metrics_dist_stats, and the two
 * passes split over 2 threads (wall time). Built with -DQS_OLD it also times the
 * metrics_dist_stats of an older metrics.c renamed old_dist_stats.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

#ifdef QS_OLD
void old_dist_stats(const float *x, size_t n, float *scratch, struct dist_stats *out);
#endif

/* CPU time of this thread: the machine may be shared, and the single-thread
 * figures should not count time spent waiting for a core. */
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double wall(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static void fill_gauss(float *x, size_t n)
{
	uint64_t s = 42;
	for (size_t i = 0; i + 1 < n; i += 2) {
		double u1 = ((double)(rng_next(&s) >> 11) + 0.5) * 0x1p-53;
		double u2 = (double)(rng_next(&s) >> 11) * 0x1p-53;
		double r = sqrt(-2.0 * log(u1));
		x[i] = (float)(r * cos(2 * M_PI * u2));
		x[i + 1] = (float)(r * sin(2 * M_PI * u2));
	}
	if (n % 2)
		x[n - 1] = 0.5f;
}

#define CHUNK (1u << 18)

static void add_all(struct dist_acc *a, const float *x, size_t n)
{
	for (size_t off = 0; off < n; off += CHUNK)
		dist_acc_add(a, x + off, n - off < CHUNK ? n - off : CHUNK);
}

static void refine_all(struct dist_acc *a, const float *x, size_t n)
{
	for (size_t off = 0; off < n; off += CHUNK)
		dist_acc_refine(a, x + off, n - off < CHUNK ? n - off : CHUNK);
}

struct one {
	double add, begin, refine, finish;
	struct dist_stats d;
};

static void run_once(const float *x, size_t n, struct one *o)
{
	struct dist_acc *a = dist_acc_new();
	if (!a) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	double t0 = now();
	add_all(a, x, n);
	double t1 = now();
	bool need = dist_acc_refine_begin(a);
	double t2 = now();
	if (need)
		refine_all(a, x, n);
	double t3 = now();
	dist_acc_finish(a, &o->d);
	double t4 = now();
	o->add = t1 - t0;
	o->begin = t2 - t1;
	o->refine = t3 - t2;
	o->finish = t4 - t3;
	dist_acc_free(a);
}

static void best_of_3(const float *x, size_t n, struct one *best)
{
	for (int r = 0; r < 3; r++) {
		struct one o;
		run_once(x, n, &o);
		if (r == 0 || o.add < best->add)
			best->add = o.add;
		if (r == 0 || o.refine < best->refine)
			best->refine = o.refine;
		if (r == 0 || o.begin + o.finish < best->begin + best->finish) {
			best->begin = o.begin;
			best->finish = o.finish;
		}
		best->d = o.d;
	}
}

struct job {
	const float *x;
	size_t n;
	struct dist_acc *a;
};

static void *add_job(void *p)
{
	struct job *j = p;
	add_all(j->a, j->x, j->n);
	return NULL;
}

static void *refine_job(void *p)
{
	struct job *j = p;
	refine_all(j->a, j->x, j->n);
	return NULL;
}

/* Both passes over 2 threads (halves), wall time. */
static double two_threads(const float *x, size_t n)
{
	struct dist_acc *a = dist_acc_new(), *b = dist_acc_new();
	struct dist_stats d;
	pthread_t t;
	double t0 = wall();
	struct job j = {x + n / 2, n - n / 2, b};
	pthread_create(&t, NULL, add_job, &j);
	add_all(a, x, n / 2);
	pthread_join(t, NULL);
	dist_acc_merge(a, b);
	if (dist_acc_refine_begin(a)) {
		struct dist_acc *c = dist_acc_refine_clone(a);
		struct job k = {x + n / 2, n - n / 2, c};
		pthread_create(&t, NULL, refine_job, &k);
		refine_all(a, x, n / 2);
		pthread_join(t, NULL);
		dist_acc_refine_merge(a, c);
		dist_acc_free(c);
	}
	dist_acc_finish(a, &d);
	double t1 = wall();
	dist_acc_free(a);
	dist_acc_free(b);
	return t1 - t0;
}

static double time_dist_stats(void (*f)(const float *, size_t, float *, struct dist_stats *),
                              const float *x, size_t n, float *scratch, struct dist_stats *d)
{
	double best = INFINITY;
	for (int r = 0; r < 3; r++) {
		double t0 = now();
		f(x, n, scratch, d);
		double t = now() - t0;
		best = t < best ? t : best;
	}
	return best;
}

static void bench(const char *name, const float *x, size_t n, float *scratch)
{
	double ns = 1e9 / (double)n;
	struct one simd, c;
	struct dist_stats d;

	dist_acc_set_simd(true);
	best_of_3(x, n, &simd);
	dist_acc_set_simd(false);
	best_of_3(x, n, &c);
	dist_acc_set_simd(true);
	printf("%s, n = %zu (p01 %.9g p50 %.9g p99 %.9g, std %.12g)\n", name, n, simd.d.p01,
	       simd.d.p50, simd.d.p99, simd.d.std);
	printf("  dist_acc_add            %6.3f ns/value (AVX2)  %6.3f (portable C)\n",
	       simd.add * ns, c.add * ns);
	printf("  dist_acc_refine         %6.3f ns/value (AVX2)  %6.3f (portable C)\n",
	       simd.refine * ns, c.refine * ns);
	printf("  refine_begin + finish   %6.3f ms\n", (simd.begin + simd.finish) * 1e3);
	double t = time_dist_stats(metrics_dist_stats, x, n, scratch, &d);
	printf("  metrics_dist_stats      %6.3f ns/value\n", t * ns);
#ifdef QS_OLD
	struct dist_stats o;
	t = time_dist_stats(old_dist_stats, x, n, scratch, &o);
	printf("  old metrics_dist_stats  %6.3f ns/value (p50 %.9g, same: %s)\n", t * ns, o.p50,
	       o.p01 == d.p01 && o.p25 == d.p25 && o.p50 == d.p50 && o.p75 == d.p75 &&
	                       o.p99 == d.p99 && o.min == d.min && o.max == d.max
	               ? "yes"
	               : "NO");
#endif
	double w = INFINITY;
	for (int r = 0; r < 3; r++) {
		double tw = two_threads(x, n);
		w = tw < w ? tw : w;
	}
	printf("  add + refine, 2 threads %6.3f ns/value (wall)\n", w * ns);
}

/* metrics_dist_stats on the tensor sizes of small and mid-size layers: the
 * fixed costs (tables, sorts) per call. */
static void sizes(const float *x, float *scratch)
{
	static const size_t ns[] = {64, 768, 4096, 4097, 20000, 65536, 65537, 300000, 2359296};
	struct dist_stats d;

	printf("metrics_dist_stats by size (µs per call%s)\n",
#ifdef QS_OLD
	       "; old"
#else
	       ""
#endif
	);
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		int reps = ns[i] < 100000 ? 200 : 10;
		double t0 = now();
		for (int r = 0; r < reps; r++)
			metrics_dist_stats(x, ns[i], scratch, &d);
		double t = (now() - t0) / reps;
		printf("  n = %8zu  %9.1f", ns[i], t * 1e6);
#ifdef QS_OLD
		t0 = now();
		for (int r = 0; r < reps; r++)
			old_dist_stats(x, ns[i], scratch, &d);
		printf("  %9.1f", (now() - t0) / reps * 1e6);
#endif
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : (size_t)64 << 20;
	float *x = malloc(n * sizeof *x), *scratch = malloc(n * sizeof *x);

	if (!x || !scratch || n < 2) {
		fprintf(stderr, "dist_acc_bench: cannot allocate %zu values\n", n);
		return 1;
	}
	fill_gauss(x, n);
	memset(scratch, 0, n * sizeof *x); /* fault the pages in before timing */
	sizes(x, scratch);
	bench("N(0,1)", x, n, scratch);
	for (size_t i = 0; i < n; i++) /* int8 levels, step 4σ/127 */
		x[i] = roundf(x[i] * (127.0f / 4.0f)) * (4.0f / 127.0f);
	bench("N(0,1) on 255 levels", x, n, scratch);
	free(x);
	free(scratch);
	return 0;
}
