/* test_session.c — the session: rows in model order, results computed by the
 * worker pool equal to hand-worked values, identical for any number of
 * workers, balanced deterministic shards that partition the rows,
 * select/exclude, undo/redo with recomputation, preview, keep-float. The
 * models are .npy images built by hand here (and an .npz of them zipped with
 * libzip), loaded through the real readers. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "qs_test.h"
#include "session.h"

/* A version-1.0 .npy image of float32 values (header padded to 64 bytes). */
static char *npy_image(const float *x, const int64_t *shape, int ndim, size_t *size)
{
	char dict[256], shp[128] = "";
	size_t k = 0;
	uint64_t n = 1;

	for (int d = 0; d < ndim; d++) {
		k += (size_t)snprintf(shp + k, sizeof shp - k, "%lld,%s", (long long)shape[d],
		                      d + 1 < ndim ? " " : "");
		n *= (uint64_t)shape[d];
	}
	int len = snprintf(dict, sizeof dict,
	                   "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shp);
	int total = 10 + len + 1, pad = (64 - total % 64) % 64;
	size_t hdr = (size_t)(total + pad);
	char *img = malloc(hdr + n * sizeof *x);
	uint16_t hl = (uint16_t)(len + pad + 1);
	memcpy(img, "\x93NUMPY\x01\x00", 8);
	img[8] = (char)(hl & 0xff);
	img[9] = (char)(hl >> 8);
	memcpy(img + 10, dict, (size_t)len);
	memset(img + 10 + len, ' ', (size_t)pad);
	img[hdr - 1] = '\n';
	memcpy(img + hdr, x, n * sizeof *x);
	*size = hdr + n * sizeof *x;
	return img;
}

static void write_npy(const char *path, const float *x, const int64_t *shape, int ndim)
{
	size_t size;
	char *img = npy_image(x, shape, ndim, &size);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, size, f), size);
	fclose(f);
	free(img);
}

static struct session_opts default_opts(int jobs)
{
	struct session_opts o = {0};
	o.defaults.scheme = scheme_default();
	o.defaults.method.kind = METHOD_MINMAX;
	o.jobs = jobs;
	return o;
}

/* x = [−1, −0.5, 0.25, 1], per-tensor symmetric narrow 8-bit: s = 1/127,
 * codes [−127, −64 (−63.5 to even), 32 (31.75), 127]; by hand the errors are
 * 64/127 − 0.5 and 0.25 − 32/127 and the others 0. */
static void test_hand_worked(void **state)
{
	char *dir = qs_tmpdir(), path[512];
	const float x[4] = {-1.0f, -0.5f, 0.25f, 1.0f};
	const int64_t shape[1] = {4};
	struct qs_error err = {0};
	(void)state;

	snprintf(path, sizeof path, "%s/v.npy", dir);
	write_npy(path, x, shape, 1);
	struct session_opts o = default_opts(2);
	o.defaults.scheme.gran = GRAN_TENSOR;
	o.defaults.scheme.narrow = true;
	struct session *s = session_new(path, NULL, &o, &err);
	assert_non_null(s);
	assert_int_equal(session_rows(s), 1);
	session_wait(s, NULL, NULL);
	const struct session_row *r = session_row(s, 0);
	assert_int_equal(r->state, ROW_DONE);
	assert_string_equal(r->name, "v");
	double e1 = 64.0 / 127.0 - 0.5, e2 = 0.25 - 32.0 / 127.0;
	double se2 = e1 * e1 + e2 * e2, sx2 = 1 + 0.25 + 0.0625 + 1;
	assert_close(r->whatif.m.mse, se2 / 4, 1e-5, 0);
	assert_close(r->whatif.m.max_abs_err, fmax(fabs(e1), fabs(e2)), 1e-5, 0);
	assert_close(r->whatif.m.sqnr_db, 10 * log10(sx2 / se2), 1e-5, 0);
	assert_close(r->whatif.scale_min, 1.0 / 127.0, 1e-7, 0);
	assert_int_equal(r->whatif.m.levels_used, 4);
	assert_int_equal(session_done(s), 1);

	/* Preview of another spec equals the hand-worked 2-bit case: narrow
	 * 2-bit codes are −1..1 with s = 1: x̂ = [−1, −0 (−0.5 to even), 0, 1]. */
	struct qspec sp = r->spec;
	sp.scheme.bits = 2;
	struct tensor_result pr = {0};
	assert_int_equal(session_preview(s, 0, &sp, NULL, &pr, &err), 0);
	assert_close(pr.m.mse, (0.25 + 0.0625) / 4, 1e-6, 0);
	assert_close(pr.m.max_abs_err, 0.5, 1e-6, 0);
	/* the preview leaves the code counts out (the dialog shows none) */
	assert_int_equal(pr.m.levels_used, 0);
	assert_true(isnan(pr.m.entropy_bits));
	tensor_result_free(&pr);

	float *v = session_row_floats(s, 0, &err);
	assert_non_null(v);
	assert_memory_equal(v, x, sizeof x);
	free(v);
	session_free(s);
	qs_rmtree(dir);
}

#define NT 9
static const int64_t dims[NT][2] = {{64, 64}, {3, 5},   {32, 16}, {128, 8}, {7, 1},
                                    {16, 27}, {40, 40}, {1, 200}, {9, 9}};

/* An .npz of NT Gaussian tensors t0..t8, stored members, written with
 * libzip directly (not through qscope's writer). */
static char *make_model(char path[512])
{
	char *dir = qs_tmpdir();
	struct qs_rng rng = {42};
	int zerr = 0;

	snprintf(path, 512, "%s/m.npz", dir);
	zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	assert_non_null(z);
	for (int t = 0; t < NT; t++) {
		size_t n = (size_t)(dims[t][0] * dims[t][1]), size;
		float *x = malloc(n * sizeof *x);
		char name[32];
		for (size_t i = 0; i < n; i++)
			x[i] = (float)qs_rng_gauss(&rng);
		char *img = npy_image(x, dims[t], 2, &size);
		zip_source_t *src = zip_source_buffer(z, img, size, 1);
		snprintf(name, sizeof name, "t%d.npy", t);
		zip_int64_t at = zip_file_add(z, name, src, ZIP_FL_OVERWRITE);
		assert_true(at >= 0);
		zip_set_file_compression(z, (zip_uint64_t)at, ZIP_CM_STORE, 0);
		free(x);
	}
	assert_int_equal(zip_close(z), 0);
	return dir;
}

/* The worker count changes nothing: every row's result is bit-identical
 * for 1 and 4 workers, and rows stay in model order. */
static void test_jobs_identical(void **state)
{
	char path[512];
	char *dir = make_model(path);
	struct qs_error err = {0};
	struct err_metrics ref[NT];
	(void)state;

	for (int jobs = 1; jobs <= 4; jobs += 3) {
		struct session_opts o = default_opts(jobs);
		o.defaults.method.kind = METHOD_MSE;
		o.defaults.scheme.bits = 4;
		struct session *s = session_new(path, NULL, &o, &err);
		assert_non_null(s);
		assert_int_equal(session_rows(s), NT);
		session_wait(s, NULL, NULL);
		for (size_t i = 0; i < NT; i++) {
			const struct session_row *r = session_row(s, i);
			char name[16];
			snprintf(name, sizeof name, "t%zu", i);
			assert_string_equal(r->name, name);
			assert_int_equal(r->ordinal, i);
			assert_int_equal(r->state, ROW_DONE);
			if (jobs == 1)
				ref[i] = r->whatif.m;
			else
				assert_memory_equal(&ref[i], &r->whatif.m, sizeof ref[i]);
		}
		session_free(s);
	}
	qs_rmtree(dir);
}

/* Shards partition the rows, every job agrees on the split, and the
 * largest-first greedy keeps the loads within 4/3 of the best makespan. */
static void test_shards(void **state)
{
	char path[512];
	char *dir = make_model(path);
	struct qs_error err = {0};
	int owner[NT];
	(void)state;

	for (int n = 1; n <= 5; n++) {
		uint64_t load[5] = {0}, total = 0, largest = 0;
		for (int t = 0; t < NT; t++)
			owner[t] = -1;
		for (int k = 1; k <= n; k++) {
			struct session_opts o = default_opts(1);
			o.shard_k = k;
			o.shard_n = n;
			o.no_analysis = true;
			struct session *s = session_new(path, NULL, &o, &err);
			assert_non_null(s);
			assert_int_equal(session_rows_total(s), NT);
			size_t prev = 0;
			for (size_t i = 0; i < session_rows(s); i++) {
				const struct session_row *r = session_row(s, i);
				assert_true(i == 0 || r->ordinal > prev); /* model order */
				prev = r->ordinal;
				assert_int_equal(owner[r->ordinal], -1);
				owner[r->ordinal] = k;
				load[k - 1] += r->ft->nelem;
			}
			session_free(s);
		}
		for (int t = 0; t < NT; t++) {
			assert_true(owner[t] >= 1);
			uint64_t e = (uint64_t)(dims[t][0] * dims[t][1]);
			total += e;
			largest = e > largest ? e : largest;
		}
		double best = fmax((double)largest, (double)total / n);
		for (int k = 0; k < n; k++)
			assert_true((double)load[k] <= best * 4 / 3 + NT);
	}
	qs_rmtree(dir);
}

/* Undo/redo restore the previous choices and recompute them. */
static void test_undo_redo(void **state)
{
	char path[512];
	char *dir = make_model(path);
	struct qs_error err = {0};
	(void)state;

	struct session_opts o = default_opts(2);
	struct session *s = session_new(path, NULL, &o, &err);
	assert_non_null(s);
	session_wait(s, NULL, NULL);
	double sq8 = session_row(s, 0)->whatif.m.sqnr_db;
	assert_false(session_dirty(s));

	struct qspec sp = session_row(s, 0)->spec;
	sp.scheme.bits = 4;
	size_t idx = 0;
	session_set_spec(s, &idx, 1, &sp, false);
	assert_true(session_dirty(s));
	assert_int_equal(session_row(s, 0)->spec.scheme.bits, 4);
	session_wait(s, NULL, NULL);
	double sq4 = session_row(s, 0)->whatif.m.sqnr_db;
	/* ≈ 6.02 dB per bit for Gaussian data: 4 bits fewer lose about 24 dB */
	assert_true(sq8 - sq4 > 20 && sq8 - sq4 < 28);

	assert_true(session_undo(s));
	assert_int_equal(session_row(s, 0)->spec.scheme.bits, 8);
	assert_false(session_dirty(s));
	session_wait(s, NULL, NULL);
	assert_true(session_row(s, 0)->whatif.m.sqnr_db == sq8);
	assert_false(session_undo(s));

	assert_true(session_redo(s));
	session_wait(s, NULL, NULL);
	assert_true(session_row(s, 0)->whatif.m.sqnr_db == sq4);
	assert_false(session_redo(s));

	/* keep-float: no error at all. */
	session_set_spec(s, &idx, 1, &sp, true);
	session_wait(s, NULL, NULL);
	assert_true(session_row(s, 0)->keep_float);
	assert_true(isinf(session_row(s, 0)->whatif.m.sqnr_db));
	session_mark_saved(s);
	assert_false(session_dirty(s));
	session_free(s);
	qs_rmtree(dir);
}

/* A session polled without waiting never blocks longer than asked and ends
 * with every row done. */
static void test_poll(void **state)
{
	char path[512];
	char *dir = make_model(path);
	struct qs_error err = {0};
	(void)state;

	struct session_opts o = default_opts(1);
	o.defaults.method.kind = METHOD_KL;
	struct session *s = session_new(path, NULL, &o, &err);
	assert_non_null(s);
	size_t changed = 0;
	for (int i = 0; i < 5000 && session_done(s) < NT; i++)
		changed += session_poll(s, 10);
	assert_int_equal(session_done(s), NT);
	assert_true(changed >= 1);
	assert_int_equal(session_poll(s, 0), 0);
	session_free(s);
	qs_rmtree(dir);
}

static void test_select_exclude_missing(void **state)
{
	char path[512];
	char *dir = make_model(path);
	struct qs_error err = {0};
	const char *sel[] = {"t[1-5]", "t8", NULL}, *exc[] = {"t3", NULL};
	(void)state;

	struct session_opts o = default_opts(1);
	o.select = sel;
	o.exclude = exc;
	struct session *s = session_new(path, NULL, &o, &err);
	assert_non_null(s);
	assert_int_equal(session_rows(s), 5); /* t1 t2 t4 t5 t8 */
	assert_string_equal(session_row(s, 2)->name, "t4");
	assert_string_equal(session_row(s, 4)->name, "t8");
	session_wait(s, NULL, NULL);
	session_free(s);

	char missing[600];
	snprintf(missing, sizeof missing, "%s/nope.npy", dir);
	assert_null(session_new(missing, NULL, &o, &err));
	assert_non_null(strstr(err.msg, "nope.npy"));
	qs_rmtree(dir);
}

/* session_row_pairs hands x and x̂ over in pieces; joined, they must be x
 * and analyze_simulate's x̂ of the whole tensor, for layouts that split
 * between rows (per channel on axis 0, groups along axis 1, Q8_0 blocks)
 * and for those that do not (per tensor, per channel on axis 1). */
struct pairs_seen {
	float *x, *xh;
	uint64_t n, pieces, first_piece;
	pthread_mutex_t mu;
};

/* Called from two threads at once: the pieces are disjoint, the counts
 * shared. */
static int pairs_collect(void *ctx, uint64_t first, const float *x, const float *xh, uint64_t n)
{
	struct pairs_seen *p = ctx;
	memcpy(p->x + first, x, n * sizeof *x);
	memcpy(p->xh + first, xh, n * sizeof *xh);
	pthread_mutex_lock(&p->mu);
	if (first == 0)
		p->first_piece = n;
	p->pieces++;
	p->n += n;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static int pairs_refuse(void *ctx, uint64_t first, const float *x, const float *xh, uint64_t n)
{
	(void)ctx;
	(void)first;
	(void)x;
	(void)xh;
	(void)n;
	return QS_ERR_USAGE;
}

static void test_row_pairs(void **state)
{
	enum {
		ROWS = SESSION_PAIR_PIECE / 4096 + 1,
		COLS = 4096,
		N = ROWS * COLS
	};
	const int64_t shape[2] = {ROWS, COLS};
	char *dir = qs_tmpdir(), path[512];
	struct qs_rng rng = {7};
	struct qs_error err = {0};
	float *x = malloc(N * sizeof *x), *ref = malloc(N * sizeof *ref);
	struct pairs_seen p = {.x = malloc(N * sizeof *x), .xh = malloc(N * sizeof *x)};
	(void)state;

	pthread_mutex_init(&p.mu, NULL);
	for (size_t i = 0; i < N; i++)
		x[i] = (float)qs_rng_gauss(&rng) * (i % COLS == 5 ? 20.0f : 1.0f);
	snprintf(path, sizeof path, "%s/w.npy", dir);
	write_npy(path, x, shape, 2);
	struct session_opts o = default_opts(1);
	o.no_analysis = true;
	struct session *s = session_new(path, NULL, &o, &err);
	assert_non_null(s);
	struct {
		enum granularity gran;
		int axis;
		uint64_t group;
		const char *qtype;
		uint64_t first_piece; /* 0: the whole tensor in one piece */
	} cases[] = {
	        {GRAN_CHANNEL, 0, 0, NULL, (ROWS - 1) * (uint64_t)COLS},
	        {GRAN_GROUP, 1, 64, NULL, (ROWS - 1) * (uint64_t)COLS},
	        {GRAN_CHANNEL, 0, 0, "Q8_0", (ROWS - 1) * (uint64_t)COLS},
	        {GRAN_TENSOR, 0, 0, NULL, 0},
	        {GRAN_CHANNEL, 1, 0, NULL, 0},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct qspec spec = session_row(s, 0)->spec;
		struct tensor_result res = {0};
		spec.scheme.gran = cases[c].gran;
		spec.scheme.axis = cases[c].axis;
		spec.scheme.group_size = cases[c].group;
		spec.qt = cases[c].qtype ? qtype_find(cases[c].qtype) : NULL;
		assert_int_equal(analyze_simulate(x, shape, 2, &spec, NULL, &res, ref, NULL, &err),
		                 0);
		tensor_result_free(&res);
		p.n = p.pieces = 0;
		assert_int_equal(session_row_pairs(s, 0, false, &spec, pairs_collect, &p, &err), 0);
		assert_int_equal(p.n, N);
		assert_int_equal(p.pieces, cases[c].first_piece ? 2 : 1);
		assert_int_equal(p.first_piece, cases[c].first_piece ? cases[c].first_piece : N);
		assert_memory_equal(p.x, x, N * sizeof *x);
		assert_memory_equal(p.xh, ref, N * sizeof *ref);
	}
	/* a refusing callback stops the walk with its status */
	struct qspec spec = session_row(s, 0)->spec;
	err = (struct qs_error){0};
	assert_int_equal(session_row_pairs(s, 0, false, &spec, pairs_refuse, NULL, &err),
	                 QS_ERR_USAGE);
	assert_int_equal(err.code, QS_ERR_USAGE);
	/* kept in float: x̂ is x */
	p.n = p.pieces = 0;
	assert_int_equal(session_row_pairs(s, 0, false, NULL, pairs_collect, &p, &err), 0);
	assert_int_equal(p.n, N);
	assert_memory_equal(p.xh, x, N * sizeof *x);
	session_free(s);
	pthread_mutex_destroy(&p.mu);
	free(p.x);
	free(p.xh);
	free(x);
	free(ref);
	qs_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hand_worked), cmocka_unit_test(test_jobs_identical),
	        cmocka_unit_test(test_shards),      cmocka_unit_test(test_undo_redo),
	        cmocka_unit_test(test_poll),        cmocka_unit_test(test_select_exclude_missing),
	        cmocka_unit_test(test_row_pairs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
