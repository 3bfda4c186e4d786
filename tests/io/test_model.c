/* Format registry, loading by magic then extension, pairing and the atomic
 * writer's refusals (numpy makes the fixtures). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "qs_test.h"

static char *dir;

static int setup(void **state)
{
	*state = dir = qs_tmpdir();
	return dir && qs_run_py(
	                      dir,
	                      "import numpy as np\n"
	                      "np.save('a.npy', np.arange(6, dtype='<f4').reshape(2, 3))\n"
	                      "import shutil; shutil.copy('a.npy', 'a.weights')\n"
	                      "open('junk.npy', 'wb').write(b'hello world')\n"
	                      "open('junk.xyz', 'wb').write(b'hello world')\n"
	                      "np.savez(open('arch.data', 'wb'), w=np.zeros(3, 'f4'))\n"
	                      "import zipfile\n"
	                      "with zipfile.ZipFile('other.data', 'w') as z:\n"
	                      "    z.writestr('readme.txt', 'hi')\n"
	                      "z = np.zeros\n"
	                      "np.savez('f.npz', w1=z((4, 4), 'f4'), w2=z((8, 2), 'f4'),\n"
	                      "         w3=z((3,), 'f4'), only_f=z((5, 5), 'f4'), idx=z(3, 'i8'))\n"
	                      "np.savez('q.npz', **{'w1.q': z((4, 4), 'i1'), 'w1.scale': z((4, 1), "
	                      "'f4'),\n"
	                      "         'w2': z((8, 2), 'f2'), 'renamed': z((3,), 'f4'),\n"
	                      "         'extra': z((7,), 'f4')})\n") == 0
	               ? 0
	               : -1;
}

static void test_registry(void **state)
{
	(void)state;
	assert_non_null(model_format_by_name("npy"));
	assert_non_null(model_format_by_name("NPZ"));
	assert_null(model_format_by_name("nope"));
	assert_int_equal(model_format_by_path("x/y.NPZ")->format, FMT_NPZ);
	assert_int_equal(model_format_by_path("m.npy")->format, FMT_NPY);
	assert_null(model_format_by_path("m.npy.txt"));
}

static void test_load_by_magic(void **state)
{
	struct model *m;
	struct qs_error err;

	(void)state;
	/* magic wins over a foreign extension */
	assert_int_equal(model_load(qs_path(dir, "a.weights"), &m, &err), 0);
	assert_int_equal(m->format, FMT_NPY);
	assert_string_equal(m->tensors[0].name, "a.weights");
	assert_int_equal(model_find(m, "a.weights"), 0);
	assert_int_equal(model_find(m, "nope"), -1);
	model_free(m);
	/* extension picks the reader, which rejects the content */
	assert_int_equal(model_load(qs_path(dir, "junk.npy"), &m, &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "junk.npy: bad magic"));
	assert_int_equal(model_load(qs_path(dir, "junk.xyz"), &m, &err), QS_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "unknown model format"));
	/* a zip is an npz by its first member's name, not by magic alone */
	assert_int_equal(model_load(qs_path(dir, "arch.data"), &m, &err), 0);
	assert_int_equal(m->format, FMT_NPZ);
	model_free(m);
	assert_int_equal(model_load(qs_path(dir, "other.data"), &m, &err), QS_ERR_UNSUPPORTED);
	assert_int_equal(model_load(qs_path(dir, "missing.npy"), &m, &err), QS_ERR_IO);
	assert_int_equal(model_load(dir, &m, &err), QS_ERR_IO);
	model_free(NULL);
}

static const char *name_f(const struct model *m, int64_t i)
{
	return i >= 0 ? m->tensors[i].name : "-";
}

/* Convention first (w1.q → w1), then equal names (w2), then order+shape
 * (renamed ↔ w3); unpaired on both sides are listed; idx (int) is skipped. */
static void test_pairing(void **state)
{
	struct model *f, *q;
	struct qs_error err;
	struct pairing p;
	char got[512] = "";

	(void)state;
	assert_int_equal(model_load(qs_path(dir, "f.npz"), &f, &err), 0);
	assert_int_equal(model_load(qs_path(dir, "q.npz"), &q, &err), 0);
	assert_int_equal(model_pair(f, q, &p, &err), 0);
	for (size_t i = 0; i < p.n; i++) {
		char one[96];
		snprintf(one, sizeof one, "%s=%s:%s ", name_f(f, p.pairs[i].f),
		         name_f(q, p.pairs[i].q), p.pairs[i].how);
		strcat(got, one);
	}
	assert_string_equal(got, "w1=w1.q:convention w2=w2:name w3=renamed:position "
	                         "only_f=-:unpaired -=extra:unpaired ");
	pairing_free(&p);
	pairing_free(&p);
	{
		struct model_names ix;
		assert_int_equal(model_names_build(q, false, &ix), 0);
		assert_int_equal(ix.n, 5);
		assert_int_equal(model_names_find(&ix, "w1.scale"), 1);
		assert_int_equal(model_names_find(&ix, "extra"), 4);
		assert_int_equal(model_names_find(&ix, "w1"), -1);
		assert_null(model_names_duplicate(&ix));
		model_names_free(&ix);
		assert_int_equal(model_names_build(q, true, &ix), 0);
		assert_int_equal(ix.n, 4); /* w1.scale is auxiliary */
		assert_int_equal(model_names_find(&ix, "w1.scale"), -1);
		model_names_free(&ix);
		model_names_free(&ix);
	}
	assert_int_equal(model_pair(f, NULL, &p, &err), 0);
	assert_int_equal(p.n, 4);
	pairing_free(&p);
	model_free(q);
	model_free(f);
}

static size_t count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

static void test_write_refusals(void **state)
{
	struct model *m;
	struct qs_error err;
	struct write_opts o = {0};
	size_t before;
	struct stat st0, st1;

	(void)state;
	assert_int_equal(model_load(qs_path(dir, "a.npy"), &m, &err), 0);
	assert_int_equal(symlink(qs_path(dir, "a.npy"), qs_path(dir, "link.npy")), 0);
	assert_int_equal(link(qs_path(dir, "a.npy"), qs_path(dir, "hard.npy")), 0);
	stat(qs_path(dir, "a.npy"), &st0);
	before = count_entries();
	assert_int_equal(model_write(m, &o, qs_path(dir, "a.npy"), &err), QS_ERR_USAGE);
	assert_non_null(strstr(err.msg, "refusing to overwrite an input"));
	assert_int_equal(model_write(m, &o, qs_path(dir, "link.npy"), &err), QS_ERR_USAGE);
	assert_int_equal(model_write(m, &o, qs_path(dir, "hard.npy"), &err), QS_ERR_USAGE);
	/* --like is an input too */
	o.like = m;
	assert_int_equal(model_write(m, &o, qs_path(dir, "like.npy"), &err), 0);
	o.like = NULL;
	assert_int_equal(model_write(m, &o, qs_path(dir, "out.unknown"), &err), QS_ERR_USAGE);
	assert_non_null(strstr(err.msg, "cannot tell the output format"));
	o.to = "npy";
	assert_int_equal(model_write(m, &o, "-", &err), QS_ERR_USAGE);
	assert_non_null(strstr(err.msg, "not to stdout"));
	o.to = "bogus";
	assert_int_equal(model_write(m, &o, qs_path(dir, "x.npy"), &err), QS_ERR_USAGE);
	o.to = NULL;
	assert_int_equal(model_write(m, &o, qs_path(dir, "no/such/dir/x.npy"), &err), QS_ERR_IO);
	/* the writer fails late (a 1-tensor format for a 5-tensor model):
	 * nothing is left behind */
	{
		struct model *z;
		assert_int_equal(model_load(qs_path(dir, "f.npz"), &z, &err), 0);
		assert_int_equal(model_write(z, &o, qs_path(dir, "many.npy"), &err), QS_ERR_USAGE);
		assert_non_null(strstr(err.msg, "holds one array"));
		model_free(z);
	}
	assert_int_equal(count_entries(), before + 1); /* like.npy only */
	stat(qs_path(dir, "a.npy"), &st1);
	assert_int_equal(st0.st_mtime, st1.st_mtime);
	assert_int_equal(st0.st_size, st1.st_size);
	model_free(m);
}

/* A written file replaces an existing output atomically with default
 * permissions (not mkstemp's 0600). */
static void test_write_replaces(void **state)
{
	struct model *m;
	struct qs_error err;
	struct write_opts o = {0};
	struct stat st;
	mode_t um = umask(022);

	(void)state;
	assert_int_equal(model_load(qs_path(dir, "a.npy"), &m, &err), 0);
	qs_write_text(qs_path(dir, "r.npy"), "old");
	assert_int_equal(model_write(m, &o, qs_path(dir, "r.npy"), &err), 0);
	assert_int_equal(stat(qs_path(dir, "r.npy"), &st), 0);
	assert_int_equal(st.st_size, 128 + 24);
	assert_int_equal(st.st_mode & 0777, 0644);
	umask(um);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_registry),       cmocka_unit_test(test_load_by_magic),
	        cmocka_unit_test(test_pairing),        cmocka_unit_test(test_write_refusals),
	        cmocka_unit_test(test_write_replaces),
	};
	return cmocka_run_group_tests(tests, setup, qs_group_rmtree);
}
