/* decode_bench.c — micro-benchmark of the decode side of streaming analysis
 * (not a ctest; tests/bench/decode_bench.bash builds and runs it).
 *
 *   decode_bench convert [N]        ns/value of f16/bf16 → f32 over N values
 *                                   (default 16M): dtype_to_f32 little-endian
 *                                   (the bulk path), dtype_half_to_f32 with and
 *                                   without F16C/AVX2, the big-endian generic
 *                                   path (per-element loads, as the little-endian
 *                                   path was before the bulk path existed) and a
 *                                   scalar f16_to_f32 loop.
 *   decode_bench range FILE [CHUNK] stream every analysable tensor of FILE
 *                                   through model_tensor_to_f32_range in chunks
 *                                   of CHUNK elements (default 1M) and print
 *                                   seconds, stored MiB and MiB/s (best of 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtype.h"
#include "model.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile float sink;

static double time_convert(enum dtype t, const uint16_t *src, size_t n, bool be, float *dst)
{
	double best = 1e30;

	for (int rep = 0; rep < 5; rep++) {
		double t0 = now();
		dtype_to_f32(t, src, 0, n, be, NIBBLE_LOW_FIRST, dst);
		double dt = now() - t0;
		sink = dst[n / 2];
		best = dt < best ? dt : best;
	}
	return best * 1e9 / (double)n;
}

static double time_half(enum dtype t, const uint16_t *src, size_t n, bool simd, float *dst)
{
	double best = 1e30;

	for (int rep = 0; rep < 5; rep++) {
		double t0 = now();
		dtype_half_to_f32(t, src, n, dst, simd);
		double dt = now() - t0;
		sink = dst[n / 2];
		best = dt < best ? dt : best;
	}
	return best * 1e9 / (double)n;
}

static double time_scalar(const uint16_t *src, size_t n, float *dst)
{
	double best = 1e30;

	for (int rep = 0; rep < 5; rep++) {
		double t0 = now();
		for (size_t i = 0; i < n; i++)
			dst[i] = f16_to_f32(src[i]);
		double dt = now() - t0;
		sink = dst[n / 2];
		best = dt < best ? dt : best;
	}
	return best * 1e9 / (double)n;
}

static int bench_convert(size_t n)
{
	uint16_t *h = malloc(n * sizeof *h);
	float *f = malloc(n * sizeof *f);
	uint64_t s = 0x9E3779B97F4A7C15ull;

	if (!h || !f)
		return 1;
	for (size_t i = 0; i < n; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		/* weights-like: |x| in about [2^-10, 2^1], random sign */
		h[i] = (uint16_t)(((s >> 33) & 0x8000u) | (0x1400u + ((s >> 40) % 0x2C00u)));
	}
	printf("%zu values; F16C/AVX2 available: %s\n", n,
	       dtype_half_simd_available() ? "yes" : "no");
	printf("f16->f32 dtype_to_f32 LE (bulk)         %.3f ns/value\n",
	       time_convert(DTYPE_F16, h, n, false, f));
	printf("f16->f32 dtype_half_to_f32 simd         %.3f ns/value\n",
	       time_half(DTYPE_F16, h, n, true, f));
	printf("f16->f32 dtype_half_to_f32 plain C      %.3f ns/value\n",
	       time_half(DTYPE_F16, h, n, false, f));
	printf("f16->f32 per-element path (BE; was LE)  %.3f ns/value\n",
	       time_convert(DTYPE_F16, h, n, true, f));
	printf("f16->f32 scalar f16_to_f32 loop         %.3f ns/value\n", time_scalar(h, n, f));
	printf("bf16->f32 dtype_to_f32 LE (bulk)        %.3f ns/value\n",
	       time_convert(DTYPE_BF16, h, n, false, f));
	printf("bf16->f32 dtype_half_to_f32 plain C     %.3f ns/value\n",
	       time_half(DTYPE_BF16, h, n, false, f));
	printf("bf16->f32 per-element path (BE; was LE) %.3f ns/value\n",
	       time_convert(DTYPE_BF16, h, n, true, f));
	free(h);
	free(f);
	return 0;
}

static int stream_once(const struct model *m, uint64_t chunk, float *buf, double *secs,
                       double *bytes)
{
	struct qs_error err = {0};
	double t0 = now(), acc = 0;

	*bytes = 0;
	for (size_t i = 0; i < m->ntensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		if (!model_tensor_analysable(t))
			continue;
		if (i + 1 < m->ntensors)
			model_tensor_prefetch(&m->tensors[i + 1]);
		for (uint64_t e = 0; e < t->nelem; e += chunk) {
			uint64_t n = t->nelem - e < chunk ? t->nelem - e : chunk;
			if (model_tensor_to_f32_range(m, t, e, n, buf, &err)) {
				fprintf(stderr, "decode_bench: %s\n", err.msg);
				return 1;
			}
			acc += buf[n - 1];
		}
		*bytes += (double)t->nbytes;
	}
	*secs = now() - t0;
	sink = (float)acc;
	return 0;
}

static int bench_range(const char *path, uint64_t chunk)
{
	struct model *m = NULL;
	struct qs_error err = {0};
	float *buf = malloc(chunk * sizeof *buf);
	double best = 1e30, bytes = 0;

	if (!buf || model_load(path, &m, &err)) {
		fprintf(stderr, "decode_bench: %s\n", buf ? err.msg : "out of memory");
		free(buf);
		return 1;
	}
	for (int rep = 0; rep < 3; rep++) {
		double secs;
		if (stream_once(m, chunk, buf, &secs, &bytes)) {
			model_free(m);
			free(buf);
			return 1;
		}
		best = secs < best ? secs : best;
	}
	printf("model_tensor_to_f32_range: %.3f s for %.1f MiB stored (%.0f MiB/s, chunk %llu)\n",
	       best, bytes / 1048576.0, bytes / 1048576.0 / best, (unsigned long long)chunk);
	model_free(m);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "convert") == 0)
		return bench_convert(argc > 2 ? strtoull(argv[2], NULL, 10) : (size_t)1 << 24);
	if (argc >= 3 && strcmp(argv[1], "range") == 0)
		return bench_range(argv[2], argc > 3 ? strtoull(argv[3], NULL, 10) : 1u << 20);
	fprintf(stderr, "usage: decode_bench convert [N] | range FILE [CHUNK]\n");
	return 2;
}
