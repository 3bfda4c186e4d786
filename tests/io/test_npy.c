/* .npy reader and writer against numpy (Debian's python3-numpy): numpy writes
 * every dtype, byte order, memory order and format version, plus the
 * expected values as raw little-endian f64 in C order; the reader's values
 * must equal numpy's. Hostile files must fail with a message naming the file
 * and the problem. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"
#include "npy.h"
#include "qs_test.h"

static char *dir;

static const char *gen_cases =
        "import numpy as np, itertools\n"
        "rng = np.random.default_rng(7)\n"
        "names = []\n"
        "def emit(name, a, version=None):\n"
        "    with open(name + '.npy', 'wb') as f:\n"
        "        np.lib.format.write_array(f, a, version=version)\n"
        "    np.ascontiguousarray(a, dtype='<f8').tofile(name + '.f64')\n"
        "    names.append(name)\n"
        "kinds = {'f2': lambda s: rng.normal(0, 3, s), 'f4': lambda s: rng.normal(0, 3, s),\n"
        "         'f8': lambda s: rng.normal(0, 3, s),\n"
        "         'i1': lambda s: rng.integers(-128, 128, s), 'u1': lambda s: rng.integers(0, 256, "
        "s),\n"
        "         'i2': lambda s: rng.integers(-32768, 32768, s), 'u2': lambda s: rng.integers(0, "
        "65536, s),\n"
        "         'i4': lambda s: rng.integers(-2**31, 2**31, s), 'u4': lambda s: rng.integers(0, "
        "2**32, s),\n"
        "         'i8': lambda s: rng.integers(-2**40, 2**40, s), 'u8': lambda s: rng.integers(0, "
        "2**40, s),\n"
        "         'b1': lambda s: rng.integers(0, 2, s)}\n"
        "for k, gen in kinds.items():\n"
        "    for order in ('<', '>'):\n"
        "        if k[1] == '1' and order == '>':\n"
        "            continue\n"
        "        for fortran in (False, True):\n"
        "            a = gen((3, 4, 5)).astype(order + k)\n"
        "            if fortran:\n"
        "                a = np.asfortranarray(a)\n"
        "            emit('%s_%s_%s' % (k, 'be' if order == '>' else 'le', 'F' if fortran else "
        "'C'), a)\n"
        "for v in ((1, 0), (2, 0), (3, 0)):\n"
        "    emit('v%d' % v[0], np.asfortranarray(rng.normal(size=(2, 7)).astype('>f4')), v)\n"
        "emit('scalar', np.array(2.5, dtype='<f4'))\n"
        "emit('empty', np.zeros((0, 3), dtype='<f4'))\n"
        "emit('vec', np.array([1, -2, 3.5], dtype='<f8'))\n"
        "emit('special', np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-40], dtype='<f4'))\n"
        "emit('f16sub', np.array([6e-8, 65504, -65504, np.inf], dtype='>f2'))\n"
        "emit('ftile', np.asfortranarray(rng.normal(size=(3, 70, 2)).astype('<f4')))\n"
        "emit('rank8', rng.normal(size=(1, 2, 1, 2, 1, 2, 1, 3)).astype('<f4'))\n"
        "open('cases.txt', 'w').write('\\n'.join(names) + '\\n')\n";

static int setup(void **state)
{
	*state = dir = qs_tmpdir();
	return dir && qs_run_py(dir, gen_cases) == 0 ? 0 : -1;
}

static void check_case(const char *name)
{
	char path[512];
	struct model *m = NULL;
	struct qs_error err = {0};
	size_t n = 0;
	double *want;
	float *got;

	snprintf(path, sizeof path, "%s/%s.f64", dir, name);
	want = qs_read_f64(path, &n);
	snprintf(path, sizeof path, "%s/%s.npy", dir, name);
	if (model_load(path, &m, &err) != 0)
		fail_msg("%s: %s", name, err.msg);
	assert_int_equal(m->format, FMT_NPY);
	assert_int_equal(m->ntensors, 1);
	assert_string_equal(m->tensors[0].name, name);
	assert_int_equal(m->tensors[0].nelem, n);
	got = malloc((n ? n : 1) * sizeof *got);
	assert_int_equal(model_tensor_to_f32(m, &m->tensors[0], got, &err), 0);
	qs_assert_f32_equal(name, got, want, n);
	free(got);
	free(want);
	model_free(m);
}

/* Every dtype × byte order × memory order × version equals numpy's values
 * (bit for bit after rounding numpy's f64 to float, so -0.0 and denormals
 * count too). */
static void test_numpy_cases(void **state)
{
	char path[512], line[128];
	FILE *f;
	int count = 0;

	(void)state;
	snprintf(path, sizeof path, "%s/cases.txt", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (*line) {
			check_case(line);
			count++;
		}
	}
	fclose(f);
	assert_int_equal(count, 3 * 2 + 9 * 4 + 3 + 7); /* all cases ran */
}

static void test_shapes_and_flags(void **state)
{
	char path[512];
	struct model *m;
	struct qs_error err;

	(void)state;
	snprintf(path, sizeof path, "%s/i4_be_F.npy", dir);
	assert_int_equal(model_load(path, &m, &err), 0);
	assert_int_equal(m->tensors[0].ndim, 3);
	assert_int_equal(m->tensors[0].shape[0], 3);
	assert_int_equal(m->tensors[0].shape[2], 5);
	assert_true(m->tensors[0].big_endian);
	assert_true(m->tensors[0].fortran_order);
	assert_int_equal(m->tensors[0].dtype, DTYPE_I32);
	assert_false(model_tensor_analysable(&m->tensors[0])); /* integers without scale */
	model_free(m);
	snprintf(path, sizeof path, "%s/scalar.npy", dir);
	assert_int_equal(model_load(path, &m, &err), 0);
	assert_int_equal(m->tensors[0].ndim, 0);
	assert_int_equal(m->tensors[0].nelem, 1);
	assert_true(model_tensor_analysable(&m->tensors[0]));
	model_free(m);
	snprintf(path, sizeof path, "%s/empty.npy", dir);
	assert_int_equal(model_load(path, &m, &err), 0);
	assert_int_equal(m->tensors[0].nelem, 0);
	assert_false(model_tensor_analysable(&m->tensors[0]));
	model_free(m);
}

/* ---- hostile files ----------------------------------------------------- */

/* A v1 image with the given dict text and data bytes. */
static size_t make_npy(uint8_t *buf, const char *dict, size_t ndata)
{
	size_t dl = strlen(dict), hl = (10 + dl + 1 + 63) / 64 * 64 - 10;

	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (uint8_t)(hl & 0xff);
	buf[9] = (uint8_t)(hl >> 8);
	memset(buf + 10, ' ', hl);
	memcpy(buf + 10, dict, dl);
	buf[10 + hl - 1] = '\n';
	memset(buf + 10 + hl, 0x3f, ndata);
	return 10 + hl + ndata;
}

static void expect_error(const char *name, int code, const char *needle)
{
	char path[512];
	struct model *m = (struct model *)1;
	struct qs_error err = {0};
	int rc;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	rc = model_load(path, &m, &err);
	if (rc != code || !strstr(err.msg, needle) || !strstr(err.msg, name))
		fail_msg("%s: rc %d (want %d), message \"%s\" (want \"%s\")", name, rc, code,
		         err.msg, needle);
	assert_null(m);
	assert_null(strchr(err.msg, '\n'));
}

static void test_bad_headers(void **state)
{
	static const struct {
		const char *name, *dict;
		size_t ndata;
		int code;
		const char *needle;
	} cases[] = {
	        {"obj.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16,
	         QS_ERR_UNSUPPORTED, "'descr' is '|O' (object arrays hold pickles"},
	        {"struct.npy",
	         "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, "
	         "'shape': (2,), }",
	         16, QS_ERR_UNSUPPORTED, "structured dtypes"},
	        {"complex.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16,
	         QS_ERR_UNSUPPORTED, "complex"},
	        {"short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 40,
	         QS_ERR_FORMAT, "shape (3, 4) of f32 needs 48 bytes at offset 128, file has 40"},
	        {"long.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 13,
	         QS_ERR_FORMAT, "needs 12 bytes"},
	        {"overflow.npy",
	         "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, "
	         "4294967296), }",
	         0, QS_ERR_FORMAT, "element count overflows"},
	        {"overflow2.npy",
	         "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }", 0,
	         QS_ERR_FORMAT, "byte count overflows"},
	        {"nokey.npy", "{'descr': '<f4', 'shape': (1,), }", 4, QS_ERR_FORMAT,
	         "key 'fortran_order' missing"},
	        {"extra.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
	         QS_ERR_FORMAT, "unexpected key 'x'"},
	        {"twice.npy", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False}", 4,
	         QS_ERR_FORMAT, "key 'descr' given twice"},
	        {"neg.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4,
	         QS_ERR_FORMAT, "'shape' holds something other than"},
	        {"fo.npy", "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", 4,
	         QS_ERR_FORMAT, "'fortran_order' is not True or False"},
	        {"dims9.npy",
	         "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4,
	         QS_ERR_UNSUPPORTED, "more dimensions"},
	        {"noclose.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4,
	         QS_ERR_FORMAT, "header at offset"},
	        {"reorder.npy", "{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}", 8, 0,
	         ""},
	};
	uint8_t buf[1024];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = make_npy(buf, cases[i].dict, cases[i].ndata);
		qs_write_file(qs_path(dir, cases[i].name), buf, n);
		if (cases[i].code) {
			expect_error(cases[i].name, cases[i].code, cases[i].needle);
		} else {
			char path[512];
			struct model *m;
			struct qs_error err;
			snprintf(path, sizeof path, "%s/%s", dir, cases[i].name);
			assert_int_equal(model_load(path, &m, &err), 0);
			assert_int_equal(m->tensors[0].nelem, 2);
			model_free(m);
		}
	}
}

static void test_bad_preamble(void **state)
{
	uint8_t buf[256];
	size_t n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);

	(void)state;
	buf[1] = 'X';
	qs_write_file(qs_path(dir, "magic.npy"), buf, n);
	expect_error("magic.npy", QS_ERR_FORMAT, "bad magic at offset 0");
	buf[1] = 'N';
	buf[6] = 4;
	qs_write_file(qs_path(dir, "ver.npy"), buf, n);
	expect_error("ver.npy", QS_ERR_UNSUPPORTED, "format version 4.0 at offset 6");
	buf[6] = 2; /* v2 reads 4 length bytes: 0x0036 | ' ' << 16 ... = huge */
	qs_write_file(qs_path(dir, "v2len.npy"), buf, n);
	expect_error("v2len.npy", QS_ERR_FORMAT, "exceeds the");
	buf[6] = 1;
	buf[8] = 0xff, buf[9] = 0x00;
	qs_write_file(qs_path(dir, "hdrlen.npy"), buf, n);
	expect_error("hdrlen.npy", QS_ERR_FORMAT, "runs past the end of the file");
	qs_write_file(qs_path(dir, "empty.bin.npy"), buf, 0);
	expect_error("empty.bin.npy", QS_ERR_FORMAT, "file is empty");
}

/* Every proper prefix of a valid file is an error (never a crash) that
 * names the file. */
static void test_truncated(void **state)
{
	char path[512];
	size_t len;
	uint8_t *img = qs_read_file(qs_path(dir, "v2.npy"), &len);

	(void)state;
	for (size_t cut = 1; cut < len; cut++) {
		struct model *m;
		struct qs_error err;
		qs_write_file(qs_path(dir, "cut.npy"), img, cut);
		snprintf(path, sizeof path, "%s/cut.npy", dir);
		if (model_load(path, &m, &err) == 0)
			fail_msg("prefix of %zu bytes loaded", cut);
		assert_non_null(strstr(err.msg, "cut.npy"));
	}
	free(img);
}

/* The writer's output is read back by numpy with the same values. */
static void test_write_roundtrip(void **state)
{
	char src[512], out[512];
	struct model *m;
	struct qs_error err;
	struct write_opts o = {0};

	(void)state;
	snprintf(src, sizeof src, "%s/f8_be_F.npy", dir);
	snprintf(out, sizeof out, "%s/copy.npy", dir);
	assert_int_equal(model_load(src, &m, &err), 0);
	assert_int_equal(model_write(m, &o, out, &err), 0);
	model_free(m);
	assert_int_equal(
	        qs_run_py(dir,
	                  "import numpy as np\n"
	                  "a = np.load('f8_be_F.npy'); b = np.load('copy.npy')\n"
	                  "assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype)\n"
	                  "assert b.flags.f_contiguous and (a == b).all()\n"),
	        0);
	snprintf(src, sizeof src, "%s/f2_le_C.npy", dir);
	assert_int_equal(model_load(src, &m, &err), 0);
	assert_int_equal(model_write(m, &o, out, &err), 0); /* replaces copy.npy */
	model_free(m);
	assert_int_equal(qs_run_py(dir, "import numpy as np\n"
	                                "a = np.load('f2_le_C.npy'); b = np.load('copy.npy')\n"
	                                "assert b.dtype == np.float16 and (a == b).all()\n"),
	                 0);
}

static void test_header_format(void **state)
{
	char buf[256];
	int64_t shape[2] = {3, 4};
	size_t n = npy_header_format(buf, sizeof buf, DTYPE_F32, false, false, shape, 2);

	(void)state;
	/* numpy 1.24 writes exactly this header for np.zeros((3, 4), '<f4'). */
	assert_int_equal(n, 128);
	assert_memory_equal(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
	assert_memory_equal(buf + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
	                    59);
	assert_int_equal(buf[127], '\n');
	assert_int_equal(npy_header_format(buf, sizeof buf, DTYPE_BF16, false, false, shape, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_numpy_cases),   cmocka_unit_test(test_shapes_and_flags),
	        cmocka_unit_test(test_bad_headers),   cmocka_unit_test(test_bad_preamble),
	        cmocka_unit_test(test_truncated),     cmocka_unit_test(test_write_roundtrip),
	        cmocka_unit_test(test_header_format),
	};
	return cmocka_run_group_tests(tests, setup, qs_group_rmtree);
}
