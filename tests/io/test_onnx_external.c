/* test_onnx_external.c — when the ONNX writer switches to external data,
 * and the side file's layout and clean-up, without multi-GB files:
 * onnx_ext_wanted sizes a message (protobuf-c counts raw_data.len without
 * reading the bytes), so a tensor claiming 2.1 GB needs no memory. The
 * threshold 2^31 − 1 − 2^26 = 2080374783 bytes is worked out here by hand.
 * Writing: offsets are multiples of 4096 and the bytes at them equal the
 * inline model's tensors; a data path that cannot be written (a directory)
 * fails with nothing left behind. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"
#include "onnx.h"
#include "onnx_impl.h"
#include "qs_test.h"

/* A model with one initializer whose raw_data claims len bytes. */
static Onnx__ModelProto *sized_model(size_t len, Onnx__GraphProto *g, Onnx__TensorProto *t,
                                     Onnx__TensorProto **tv)
{
	static Onnx__ModelProto mp;
	onnx__model_proto__init(&mp);
	onnx__graph_proto__init(g);
	onnx__tensor_proto__init(t);
	t->has_raw_data = 1;
	t->raw_data.len = len;
	t->raw_data.data = NULL; /* only sized, never packed */
	tv[0] = t;
	g->n_initializer = 1;
	g->initializer = tv;
	mp.graph = g;
	return &mp;
}

static void test_threshold(void **state)
{
	(void)state;
	Onnx__GraphProto g;
	Onnx__TensorProto t, *tv[1];
	assert_int_equal(ONNX_EXT_THRESHOLD, (size_t)2080374783u);
	Onnx__ModelProto *mp = sized_model(1000, &g, &t, tv);
	assert_false(onnx_ext_wanted(mp, false, 0, NULL));
	assert_true(onnx_ext_wanted(mp, true, 0, NULL));  /* --external-data */
	assert_true(onnx_ext_wanted(mp, false, 1, NULL)); /* the input used it */
	/* The message adds a few bytes of tags and lengths to the tensor. */
	mp = sized_model(2080374783u - 64, &g, &t, tv);
	assert_false(onnx_ext_wanted(mp, false, 0, NULL));
	mp = sized_model(2080374783u + 1, &g, &t, tv);
	assert_true(onnx_ext_wanted(mp, false, 0, NULL));
	mp = sized_model((size_t)2200000000u, &g, &t, tv);
	assert_true(onnx_ext_wanted(mp, false, 0, NULL));
	/* A device target has no folder for a side file: inline. */
	assert_false(onnx_ext_wanted(mp, true, 3, "/dev/null"));
}

static struct model *load(const char *path)
{
	struct model *m = NULL;
	struct qs_error err = {0};
	assert_int_equal(model_load(path, &m, &err), 0);
	return m;
}

static void test_layout(void **state)
{
	(void)state;
	char *dir = qs_tmpdir();
	char *demo = qs_path(QSCOPE_SRC, "share/demo/demo_float.onnx");
	char *in = qs_path(dir, "in.onnx"), *ex = qs_path(dir, "ex.onnx");
	char *data = qs_path(dir, "ex.onnx.data");
	struct model *src = load(demo);
	struct qs_error err = {0};
	struct write_opts o = {0};
	assert_int_equal(model_write(src, &o, in, &err), 0);
	o.external_data = true;
	assert_int_equal(model_write(src, &o, ex, &err), 0);
	size_t nd;
	uint8_t *d = qs_read_file(data, &nd);
	struct model *mi = load(in), *me = load(ex);
	assert_int_equal(mi->ntensors, me->ntensors);
	size_t nbig = 0, end = 0;
	for (size_t i = 0; i < mi->ntensors; i++) {
		const struct model_tensor *a = &mi->tensors[i], *b = &me->tensors[i];
		assert_string_equal(a->name, b->name);
		assert_int_equal(a->nbytes, b->nbytes);
		assert_memory_equal(a->data, b->data, a->nbytes);
		if (a->nbytes < 1024)
			continue;
		nbig++;
		/* Find the bytes in the file at a 4096-aligned offset. */
		bool found = false;
		for (size_t off = 0; off + a->nbytes <= nd && !found; off += 4096)
			found = !memcmp(d + off, a->data, a->nbytes);
		assert_true(found);
		end += a->nbytes;
	}
	assert_int_equal(nbig, 4); /* conv1 1728, conv2 18432, dw3 1152, fc 1280 bytes */
	assert_true(nd >= end);
	model_free(mi);
	model_free(me);
	free(d);

	/* The data file cannot be created: an error, and neither the model nor
	 * a temporary is left. */
	char *bad = qs_path(dir, "bad.onnx"), *bad_data = qs_path(dir, "bad.onnx.data");
	assert_int_equal(mkdir(bad_data, 0755), 0);
	assert_int_not_equal(model_write(src, &o, bad, &err), 0);
	struct stat st;
	assert_int_not_equal(stat(bad, &st), 0);
	DIR *dd = opendir(dir);
	size_t nfiles = 0;
	for (struct dirent *e; (e = readdir(dd));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			nfiles++;
	closedir(dd);
	assert_int_equal(nfiles, 4); /* in.onnx ex.onnx ex.onnx.data bad.onnx.data/ */
	model_free(src);
	qs_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_threshold),
	        cmocka_unit_test(test_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
