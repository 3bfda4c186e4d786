/* .npz reader and writer against numpy: np.savez (stored) and
 * np.savez_compressed (deflated) archives read with the values numpy saved;
 * a quantized archive written by qscope is checked by numpy (the dequantized
 * array equals (T.q − T.zero_point)·T.scale, the scale is the symmetric
 * min-max scale max|x|/127.5 computed by numpy) and pairs back with its
 * source. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"
#include "npz.h"
#include "qs_test.h"

static char *dir;

static const char *gen =
        "import numpy as np\n"
        "rng = np.random.default_rng(3)\n"
        "arrs = {'w': rng.normal(size=(4, 6)).astype('<f4'),\n"
        "        'b.bias': rng.normal(size=(6,)).astype('>f8'),\n"
        "        'ft': np.asfortranarray(rng.normal(size=(3, 5)).astype('<f2')),\n"
        "        'i': np.arange(10, dtype='<i2'),\n"
        "        's': np.array(1.5, dtype='<f4')}\n"
        "np.savez('plain.npz', **arrs)\n"
        "np.savez_compressed('packed.npz', **arrs)\n"
        "for k, a in arrs.items():\n"
        "    np.ascontiguousarray(a, dtype='<f8').tofile(k + '.f64')\n"
        "np.savez('float.npz', conv=rng.normal(0, 0.2, size=(8, 3, 3, 3)).astype('<f4'),\n"
        "         fc=rng.laplace(0, 0.05, size=(16, 10)).astype('<f4'),\n"
        "         bias=rng.normal(size=(16,)).astype('<f4'))\n";

static int setup(void **state)
{
	*state = dir = qs_tmpdir();
	return dir && qs_run_py(dir, gen) == 0 ? 0 : -1;
}

static void check_archive(const char *file)
{
	static const char *names[] = {"w", "b.bias", "ft", "i", "s"};
	struct model *m;
	struct qs_error err;

	if (model_load(qs_path(dir, file), &m, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(m->format, FMT_NPZ);
	assert_int_equal(m->ntensors, 5);
	for (size_t k = 0; k < 5; k++) {
		int64_t i = model_find(m, names[k]);
		size_t n = 0;
		char what[256];
		double *want;
		float *got;
		snprintf(what, sizeof what, "%s.f64", names[k]);
		want = qs_read_f64(qs_path(dir, what), &n);
		snprintf(what, sizeof what, "%s:%s", file, names[k]);
		assert_true(i >= 0);
		assert_int_equal(m->tensors[i].nelem, n);
		got = malloc(n * sizeof *got + 4);
		assert_int_equal(model_tensor_to_f32(m, &m->tensors[i], got, &err), 0);
		qs_assert_f32_equal(what, got, want, n);
		free(got);
		free(want);
	}
	assert_true(m->tensors[model_find(m, "b.bias")].big_endian);
	assert_true(m->tensors[model_find(m, "ft")].fortran_order);
	model_free(m);
}

static void test_savez(void **state)
{
	(void)state;
	check_archive("plain.npz");
}

static void test_savez_compressed(void **state)
{
	(void)state;
	check_archive("packed.npz");
}

/* Every prefix, and single-byte corruptions throughout, give an error or a
 * clean load, never a crash; prefixes never load. */
static void test_hostile(void **state)
{
	const char *files[] = {"plain.npz", "packed.npz"};

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		size_t len;
		uint8_t *img = qs_read_file(qs_path(dir, files[f]), &len);
		for (size_t cut = 1; cut < len; cut += cut < 200 ? 1 : 7) {
			struct model *m;
			struct qs_error err;
			qs_write_file(qs_path(dir, "cut.npz"), img, cut);
			if (model_load(qs_path(dir, "cut.npz"), &m, &err) == 0)
				fail_msg("%s cut at %zu loaded", files[f], cut);
			assert_non_null(strstr(err.msg, "cut.npz"));
		}
		for (size_t at = 0; at < len; at += 3) {
			struct model *m;
			struct qs_error err;
			uint8_t save = img[at];
			img[at] ^= 0x5a;
			qs_write_file(qs_path(dir, "flip.npz"), img, len);
			if (model_load(qs_path(dir, "flip.npz"), &m, &err) == 0) {
				float *x = malloc(64 * sizeof *x);
				for (size_t t = 0; t < m->ntensors; t++)
					if (m->tensors[t].nelem <= 64)
						model_tensor_to_f32(m, &m->tensors[t], x, &err);
				free(x);
				model_free(m);
			}
			img[at] = save;
		}
		free(img);
	}
}

static void test_not_npz(void **state)
{
	struct model *m;
	struct qs_error err;

	(void)state;
	assert_int_equal(
	        qs_run_py(dir,
	                  "import zipfile\n"
	                  "with zipfile.ZipFile('other.npz', 'w') as z:\n"
	                  "    z.writestr('readme.txt', 'hello')\n"
	                  "import numpy as np, io\n"
	                  "with zipfile.ZipFile('obj.npz', 'w') as z:\n"
	                  "    b = io.BytesIO(); np.save(b, np.array([1, 'a'], dtype=object))\n"
	                  "    z.writestr('o.npy', b.getvalue())\n"),
	        0);
	assert_int_equal(qs_run_py(dir, "import zipfile, warnings, numpy as np, io\n"
	                                "warnings.simplefilter('ignore')\n"
	                                "b = io.BytesIO(); np.save(b, np.zeros(2, 'f4'))\n"
	                                "with zipfile.ZipFile('dup.npz', 'w') as z:\n"
	                                "    z.writestr('w.npy', b.getvalue())\n"
	                                "    z.writestr('w.npy', b.getvalue())\n"),
	                 0);
	assert_int_equal(model_load(qs_path(dir, "dup.npz"), &m, &err), QS_ERR_FORMAT);
	/* libzip refuses repeated names when it opens the archive */
	assert_non_null(strstr(err.msg, "dup.npz: not a readable ZIP archive"));
	assert_int_equal(model_load(qs_path(dir, "other.npz"), &m, &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "without .npy members"));
	assert_int_equal(model_load(qs_path(dir, "obj.npz"), &m, &err), QS_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "obj.npz:o.npy: header at offset"));
	assert_non_null(strstr(err.msg, "object arrays hold pickles"));
}

/* Quantize float.npz per channel (int8 symmetric, min-max), write it, and
 * let numpy check the file against its own arithmetic. */
static void test_quantized_roundtrip(void **state)
{
	struct model *m, *q;
	struct qs_error err;
	struct tensor_plan *plan;
	struct write_opts o = {0};
	struct pairing p;

	(void)state;
	assert_int_equal(model_load(qs_path(dir, "float.npz"), &m, &err), 0);
	plan = calloc(m->ntensors, sizeof *plan);
	for (size_t i = 0; i < m->ntensors; i++) {
		plan[i].quantize = strcmp(m->tensors[i].name, "bias") != 0;
		plan[i].spec.scheme = scheme_default(); /* int8 sym per channel axis 0 */
		plan[i].spec.method.kind = METHOD_MINMAX;
	}
	o.plan = plan;
	if (model_write(m, &o, qs_path(dir, "q.npz"), &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(
	        qs_run_py(dir,
	                  "import numpy as np\n"
	                  "f = np.load('float.npz'); q = np.load('q.npz')\n"
	                  "assert sorted(q.files) == sorted(['bias', 'conv', 'conv.q', "
	                  "'conv.scale',\n"
	                  "    'conv.zero_point', 'conv.qinfo', 'fc', 'fc.q', 'fc.scale',\n"
	                  "    'fc.zero_point', 'fc.qinfo']), q.files\n"
	                  "assert (q['bias'] == f['bias']).all()\n"
	                  "for t in ('conv', 'fc'):\n"
	                  "    x = f[t]; c = q[t + '.q']; s = q[t + '.scale']; z = q[t + "
	                  "'.zero_point']\n"
	                  "    assert c.dtype == np.int8 and c.shape == x.shape\n"
	                  "    assert s.shape == (x.shape[0],) + (1,) * (x.ndim - 1), s.shape\n"
	                  "    assert (z == 0).all()\n"
	                  "    amax = np.abs(x.reshape(x.shape[0], -1)).max(axis=1)\n"
	                  "    want = (amax / np.float32(127.5)).astype(np.float32)\n"
	                  "    assert np.allclose(s.ravel(), want, rtol=1e-6, atol=0), (s.ravel(), "
	                  "want)\n"
	                  "    qq = np.clip(np.round(x / s), -128, 127)\n"
	                  "    assert (np.abs(qq - c) <= 1).all() and (qq == c).mean() > 0.999\n"
	                  "    xh = ((c.astype(np.int32) - z) * s).astype(np.float32)\n"
	                  "    assert (q[t] == xh).all()\n"
	                  "    assert list(q[t + '.qinfo']) == [8, -128, 127, 0, 0]\n"),
	        0);
	assert_int_equal(model_load(qs_path(dir, "q.npz"), &q, &err), 0);
	{
		int64_t cq = model_find(q, "conv.q"), cx = model_find(q, "conv");
		const struct model_tensor *t = &q->tensors[cq];
		float *a = malloc(t->nelem * sizeof *a), *b = malloc(t->nelem * sizeof *b);
		assert_non_null(t->quant);
		assert_string_equal(t->quant->float_name, "conv");
		assert_int_equal(t->quant->layout.gran, GRAN_CHANNEL);
		assert_int_equal(t->quant->layout.ngroups, 8);
		assert_true(q->tensors[cx].is_aux);
		assert_true(model_tensor_analysable(t));
		/* decoding the codes gives the stored dequantized array exactly */
		assert_int_equal(model_tensor_to_f32(q, t, a, &err), 0);
		assert_int_equal(model_tensor_to_f32(q, &q->tensors[cx], b, &err), 0);
		assert_memory_equal(a, b, t->nelem * sizeof *a);
		free(a);
		free(b);
	}
	assert_int_equal(model_pair(m, q, &p, &err), 0);
	assert_int_equal(p.n, 3);
	for (size_t i = 0; i < p.n; i++) {
		const char *fn = m->tensors[p.pairs[i].f].name;
		assert_true(p.pairs[i].q >= 0);
		if (strcmp(fn, "bias") == 0)
			assert_string_equal(p.pairs[i].how, "name");
		else
			assert_string_equal(p.pairs[i].how, "convention");
	}
	pairing_free(&p);
	model_free(q);
	model_free(m);
	free(plan);
}

/* Archives written by numpy users with other scale shapes. */
static void test_foreign_quant(void **state)
{
	struct model *m;
	struct qs_error err;
	float x[12];

	(void)state;
	assert_int_equal(
	        qs_run_py(dir,
	                  "import numpy as np\n"
	                  "q = np.array([[1, -2, 3], [4, 5, -6], [7, 8, 9], [0, 1, 2]], 'i1')\n"
	                  "np.savez('f1.npz', **{'w.q': q, 'w.scale': np.array([0.5, 1, 2],"
	                  " 'f4'), 'w.zero_point': np.array([1, 0, -1], 'i1')})\n"
	                  "np.savez('f2.npz', **{'w.q': q, 'w.scale': np.float32(0.25)})\n"
	                  "np.savez('f3.npz', **{'w.q': np.zeros((3, 3), 'i1'),"
	                  " 'w.scale': np.ones(3, 'f4')})\n"),
	        0);
	assert_int_equal(model_load(qs_path(dir, "f1.npz"), &m, &err), 0);
	assert_int_equal(model_tensor_to_f32(m, &m->tensors[model_find(m, "w.q")], x, &err), 0);
	/* 1-D scale of length 3 matches axis 1 only: x = (q − z[c])·s[c] */
	assert_close(x[0], (1 - 1) * 0.5, 0, 0);
	assert_close(x[1], (-2 - 0) * 1.0, 0, 0);
	assert_close(x[5], (-6 + 1) * 2.0, 0, 0);
	assert_close(x[11], (2 + 1) * 2.0, 0, 0);
	model_free(m);
	assert_int_equal(model_load(qs_path(dir, "f2.npz"), &m, &err), 0);
	assert_int_equal(model_tensor_to_f32(m, &m->tensors[model_find(m, "w.q")], x, &err), 0);
	assert_close(x[5], -1.5, 0, 0);
	model_free(m);
	assert_int_equal(model_load(qs_path(dir, "f3.npz"), &m, &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "does not tell the quantization axis"));
}

/* fake_quant writes floats only; a block qtype writes its dequantized values;
 * a failing tensor aborts the write with its message and no file. */
static void test_write_variants(void **state)
{
	struct model *m;
	struct qs_error err;
	struct tensor_plan plan[3];
	struct write_opts o = {.plan = plan, .fake_quant = true};

	(void)state;
	assert_int_equal(model_load(qs_path(dir, "float.npz"), &m, &err), 0);
	assert_int_equal(m->ntensors, 3);
	for (size_t i = 0; i < 3; i++) {
		plan[i] = (struct tensor_plan){.quantize = true};
		plan[i].spec.scheme = scheme_default();
		plan[i].spec.scheme.gran = GRAN_TENSOR;
		plan[i].spec.method.kind = METHOD_MINMAX;
	}
	plan[2].quantize = false;
	assert_int_equal(model_write(m, &o, qs_path(dir, "fq.npz"), &err), 0);
	assert_int_equal(
	        qs_run_py(dir,
	                  "import numpy as np\n"
	                  "f = np.load('float.npz'); q = np.load('fq.npz')\n"
	                  "assert q.files == ['conv', 'fc', 'bias'], q.files\n"
	                  "x = f['fc']; s = np.abs(x).max() / np.float32(127.5)\n"
	                  "want = (np.clip(np.round(x / s), -128, 127) * s).astype(np.float32)\n"
	                  "assert np.abs(q['fc'] - want).max() <= s * 1.0001\n"
	                  "assert (q['bias'] == f['bias']).all()\n"),
	        0);
	plan[1].spec.qt = qtype_find("Q8_0");
	assert_non_null(plan[1].spec.qt);
	plan[0].quantize = false;
	o.fake_quant = false;
	/* fc is 16x10: rows are not whole Q8_0 blocks */
	assert_int_equal(model_write(m, &o, qs_path(dir, "q8.npz"), &err), QS_ERR_USAGE);
	assert_non_null(strstr(err.msg, "multiple of 32"));
	{
		struct model *g;
		assert_int_equal(
		        qs_run_py(dir,
		                  "import numpy as np\n"
		                  "rng = np.random.default_rng(5)\n"
		                  "np.savez('g.npz', w=rng.normal(size=(4, 64)).astype('<f4'))\n"),
		        0);
		struct write_opts og = {.plan = &plan[1]}; /* g has one tensor */
		assert_int_equal(model_load(qs_path(dir, "g.npz"), &g, &err), 0);
		assert_int_equal(model_write(g, &og, qs_path(dir, "q8.npz"), &err), 0);
		plan[1].spec.qt = qtype_find("F16");
		assert_non_null(plan[1].spec.qt);
		assert_int_equal(model_write(g, &og, qs_path(dir, "h.npz"), &err), 0);
		plan[1].spec.qt = qtype_find("Q8_0");
		assert_int_equal(
		        qs_run_py(dir,
		                  "import numpy as np\n"
		                  "w = np.load('g.npz')['w']; h = np.load('h.npz')['w']\n"
		                  "assert h.dtype == np.float32\n"
		                  "assert (h == w.astype(np.float16).astype(np.float32)).all()\n"),
		        0);
		model_free(g);
	}
	/* Q8_0 by hand in numpy: per 32-block d = amax/127, q = round half away */
	assert_int_equal(
	        qs_run_py(dir,
	                  "import numpy as np\n"
	                  "f = np.load('g.npz'); q = np.load('q8.npz')\n"
	                  "assert q.files == ['w'], q.files\n"
	                  "x = f['w'].reshape(-1, 32).astype(np.float32)\n"
	                  "d = np.abs(x).max(axis=1, keepdims=True) / np.float32(127)\n"
	                  "qq = np.trunc(x * (1 / d) + np.copysign(np.float32(0.5), x))\n"
	                  "want = (qq * d.astype(np.float16).astype(np.float32)).reshape(4, 64)\n"
	                  "err = np.abs(q['w'] - want).max()\n"
	                  "assert err <= 1e-6 * np.abs(want).max(), err\n"),
	        0);
	plan[1].spec.qt = NULL;
	plan[1].spec.scheme.bits = 1; /* invalid */
	assert_int_equal(model_write(m, &o, qs_path(dir, "bad.npz"), &err), QS_ERR_USAGE);
	assert_non_null(strstr(err.msg, "tensor 'fc'"));
	assert_null(fopen(qs_path(dir, "bad.npz"), "r"));
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_savez),
	        cmocka_unit_test(test_savez_compressed),
	        cmocka_unit_test(test_hostile),
	        cmocka_unit_test(test_not_npz),
	        cmocka_unit_test(test_quantized_roundtrip),
	        cmocka_unit_test(test_foreign_quant),
	        cmocka_unit_test(test_write_variants),
	};
	return cmocka_run_group_tests(tests, setup, qs_group_rmtree);
}
