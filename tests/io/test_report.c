/* CSV reports: Python's csv module (an independent reader) must see exactly
 * the design.md columns and the numbers written (round-trip exact, inf/nan
 * spelled so float() reads them); the libcsv reader and merge are checked on
 * the same files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qs_test.h"
#include "report.h"

static char *dir;

static int setup(void **state)
{
	*state = dir = qs_tmpdir();
	return dir ? 0 : -1;
}

/* A result with known numbers: exact binary fractions and the awkward
 * cases (inf SQNR, NaN cosine, a value needing all 17 digits). */
static void fill_result(struct tensor_result *r, struct channel_result *ch, struct finding *fd)
{
	memset(r, 0, sizeof *r);
	r->bits = 8;
	r->scale_min = 0.1;
	r->scale_max = 1.0 / 3.0;
	r->zero_point = 0;
	r->clip_min = -16.25f;
	r->clip_max = 16.125f;
	r->m.mse = 0.000244140625;
	r->m.rmse = 0.015625;
	r->m.mae = 0.0078125;
	r->m.max_abs_err = 0.03125;
	r->m.sqnr_db = INFINITY;
	r->m.cosine = NAN;
	r->m.clipped_pct = 12.5;
	r->m.levels_used = 255;
	r->m.entropy_bits = 7.25;
	r->m.rmse_over_scale = -INFINITY;
	r->m.n_nan = 3;
	r->m.n_inf = 1;
	r->risk = RISK_WARN;
	r->nfind = 1;
	r->find = fd;
	memset(fd, 0, sizeof *fd);
	fd->level = RISK_WARN;
	snprintf(fd->reason, sizeof fd->reason, "scale 1e-06 below 1e-05, \"tiny\"");
	r->nchannels = 2;
	r->ch = ch;
	for (int c = 0; c < 2; c++) {
		memset(&ch[c], 0, sizeof ch[c]);
		ch[c].channel = (uint64_t)c;
		ch[c].n = 27;
		ch[c].min = -1.5f - (float)c;
		ch[c].max = 2.0f;
		ch[c].scale = 0.0625f;
		ch[c].zero_point = c ? -3 : 0;
		ch[c].m.mse = 1e-300;
		ch[c].m.rmse = 0.1;
		ch[c].m.max_abs_err = 0.5;
		ch[c].m.sqnr_db = c ? -INFINITY : 42.5;
		ch[c].m.clipped_pct = 0;
		ch[c].risk = c ? RISK_RISK : RISK_OK;
	}
}

static void write_reports(const char *tpath, const char *cpath, const char *name,
                          const struct tensor_result *r)
{
	int64_t shape[4] = {64, 3, 3, 3};
	struct qspec spec = {.scheme = scheme_default()};
	struct report_row row = {.tensor = name,
	                         .ndim = 4,
	                         .shape = shape,
	                         .dtype = DTYPE_F32,
	                         .spec = &spec,
	                         .res = r};
	struct report_row failed = {.tensor = "bad,name",
	                            .ndim = 0,
	                            .dtype = DTYPE_F16,
	                            .spec = &spec,
	                            .status = "failed",
	                            .note = "x.npy: boom"};
	struct qs_error err;
	struct report_writer *w = report_writer_new(tpath, REPORT_TENSORS, &err);

	spec.method.kind = METHOD_PERCENTILE;
	spec.method.percentile = 99.9;
	assert_non_null(w);
	assert_int_equal(report_writer_add(w, &row, &err), 0);
	assert_int_equal(report_writer_add(w, &failed, &err), 0);
	assert_int_equal(report_writer_close(w, &err), 0);
	w = report_writer_new(cpath, REPORT_CHANNELS, &err);
	assert_non_null(w);
	assert_int_equal(report_writer_add(w, &row, &err), 0);
	assert_int_equal(report_writer_add(w, &failed, &err), 0); /* no result: no rows */
	assert_int_equal(report_writer_close(w, &err), 0);
}

static void test_python_reads(void **state)
{
	struct tensor_result r;
	struct channel_result ch[2];
	struct finding fd;

	(void)state;
	fill_result(&r, ch, &fd);
	write_reports(qs_path(dir, "t.csv"), qs_path(dir, "c.csv"), "conv1.weight", &r);
	assert_int_equal(
	        qs_run_py(
	                dir,
	                "import csv, math\n"
	                "want = 'tensor,shape,dtype,qtype,elements,bits,scheme,granularity,method,"
	                "scale_min,scale_max,zero_point,clip_min,clip_max,mse,rmse,mae,max_abs_err,"
	                "sqnr_db,cosine,clipped_pct,levels_used,entropy_bits,overflow_risk'.split('"
	                ","
	                "')\n"
	                "rows = list(csv.reader(open('t.csv', newline='')))\n"
	                "assert rows[0][:24] == want, rows[0]\n"
	                "assert rows[0][24:29] == "
	                "['rmse_over_scale','n_nan','n_inf','status','note']\n"
	                "assert all(len(r) == len(rows[0]) for r in rows) and len(rows) == 3\n"
	                "d = dict(zip(rows[0], rows[1]))\n"
	                "assert d['tensor'] == 'conv1.weight' and d['shape'] == '64x3x3x3'\n"
	                "assert d['dtype'] == 'f32' and d['qtype'] == 'int8' and d['elements'] == "
	                "'1728'\n"
	                "assert d['scheme'] == 'sym' and d['granularity'] == 'channel'\n"
	                "assert d['method'] == 'percentile:99.9' and d['bits'] == '8'\n"
	                "assert float(d['scale_min']) == 0.1 and float(d['scale_max']) == 1/3\n"
	                "assert d['zero_point'] == '0' and float(d['clip_min']) == -16.25\n"
	                "assert float(d['mse']) == 0.000244140625 and float(d['rmse']) == "
	                "0.015625\n"
	                "assert d['sqnr_db'] == 'inf' and math.isnan(float(d['cosine']))\n"
	                "assert d['cosine'] == 'nan' and d['rmse_over_scale'] == '-inf'\n"
	                "assert float(d['clipped_pct']) == 12.5 and d['levels_used'] == '255'\n"
	                "assert d['overflow_risk'] == 'warn' and d['n_nan'] == '3' and d['status'] "
	                "== 'ok'\n"
	                "assert d['note'] == 'scale 1e-06 below 1e-05, \"tiny\"', d['note']\n"
	                "assert d['whatif_method'] == ''\n"
	                "e = dict(zip(rows[0], rows[2]))\n"
	                "assert e['tensor'] == 'bad,name' and e['shape'] == 'scalar' and "
	                "e['dtype'] "
	                "== 'f16'\n"
	                "assert e['status'] == 'failed' and e['note'] == 'x.npy: boom' and "
	                "e['mse'] "
	                "== ''\n"
	                "c = list(csv.reader(open('c.csv', newline='')))\n"
	                "assert c[0] == 'tensor,channel,elements,min,max,scale,zero_point,mse,rmse,"
	                "max_abs_err,sqnr_db,clipped_pct,overflow_risk'.split(','), c[0]\n"
	                "assert len(c) == 3 and c[2][1] == '1' and c[2][6] == '-3'\n"
	                "assert float(c[1][3]) == -1.5 and float(c[2][3]) == -2.5 and "
	                "float(c[1][7]) == 1e-300\n"
	                "assert c[1][10] == '42.5' and c[2][10] == '-inf' and c[2][12] == "
	                "'risk'\n"),
	        0);
}

static void test_reader_and_merge(void **state)
{
	struct tensor_result r;
	struct channel_result ch[2];
	struct finding fd;
	struct report_table *t;
	struct qs_error err;
	const char *parts[2], *dup[2];

	(void)state;
	fill_result(&r, ch, &fd);
	write_reports(qs_path(dir, "a.csv"), qs_path(dir, "ac.csv"), "layer.a", &r);
	write_reports(qs_path(dir, "b.csv"), qs_path(dir, "bc.csv"), "layer.b", &r);
	assert_int_equal(report_table_load(qs_path(dir, "a.csv"), &t, &err), 0);
	assert_int_equal(t->kind, REPORT_TENSORS);
	assert_int_equal(t->nrows, 2);
	assert_int_equal(report_table_col(t, "sqnr_db"), 18);
	assert_int_equal(report_table_col(t, "nope"), -1);
	assert_string_equal(report_table_cell(t, 1, 0), "bad,name");
	assert_string_equal(report_table_cell(t, 0, 28), "scale 1e-06 below 1e-05, \"tiny\"");
	report_table_free(t);

	/* a and b both hold "bad,name": overlapping shards */
	parts[0] = qs_path(dir, "a.csv"), parts[1] = qs_path(dir, "b.csv");
	assert_int_equal(report_merge(parts, 2, qs_path(dir, "m.csv"), &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "both report tensor 'bad,name'"));
	parts[0] = qs_path(dir, "ac.csv"), parts[1] = qs_path(dir, "bc.csv");
	assert_int_equal(report_merge(parts, 2, qs_path(dir, "mc.csv"), &err), 0);
	assert_int_equal(report_table_load(qs_path(dir, "mc.csv"), &t, &err), 0);
	assert_int_equal(t->kind, REPORT_CHANNELS);
	assert_int_equal(t->nrows, 4);
	assert_string_equal(report_table_cell(t, 2, 0), "layer.b");
	report_table_free(t);
	assert_int_equal(qs_run_py(dir, "import csv\n"
	                                "a = list(csv.reader(open('ac.csv'))); b = "
	                                "list(csv.reader(open('bc.csv')))\n"
	                                "m = list(csv.reader(open('mc.csv')))\n"
	                                "assert m == a + b[1:]\n"),
	                 0);
	dup[0] = qs_path(dir, "ac.csv"), dup[1] = qs_path(dir, "ac.csv");
	assert_int_equal(report_merge(dup, 2, qs_path(dir, "x.csv"), &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "channel 0"));
	parts[0] = qs_path(dir, "a.csv"), parts[1] = qs_path(dir, "ac.csv");
	assert_int_equal(report_merge(parts, 2, qs_path(dir, "x.csv"), &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "header differs"));
	assert_int_equal(report_merge(parts, 1, qs_path(dir, "a.csv"), &err), QS_ERR_USAGE);
	assert_non_null(strstr(err.msg, "refusing to overwrite an input"));
	assert_null(fopen(qs_path(dir, "x.csv"), "r"));
}

static void test_reader_rejects(void **state)
{
	struct report_table *t = NULL;
	struct qs_error err;

	(void)state;
	qs_write_text(qs_path(dir, "bad1.csv"), "a,b,c\n1,2,3\n");
	assert_int_equal(report_table_load(qs_path(dir, "bad1.csv"), &t, &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "line 1: header is not a qscope"));
	qs_write_text(
	        qs_path(dir, "bad2.csv"),
	        "tensor,channel,elements,min,max,scale,zero_point,mse,rmse,max_abs_err,sqnr_db,"
	        "clipped_pct,overflow_risk\nw,0,1\n");
	assert_int_equal(report_table_load(qs_path(dir, "bad2.csv"), &t, &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "bad2.csv: line 2: 3 cells, header has 13"));
	qs_write_text(qs_path(dir, "bad3.csv"), "tensor,\"chan\n");
	assert_int_equal(report_table_load(qs_path(dir, "bad3.csv"), &t, &err), QS_ERR_FORMAT);
	qs_write_text(qs_path(dir, "empty.csv"), "");
	assert_int_equal(report_table_load(qs_path(dir, "empty.csv"), &t, &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "empty file"));
	assert_null(t);
}

/* A device target is written in place, not replaced by a renamed file. */
static void test_device_target(void **state)
{
	struct qs_error err;
	struct report_writer *w = report_writer_new("/dev/null", REPORT_CHANNELS, &err);
	struct stat st;

	(void)state;
	assert_non_null(w);
	assert_int_equal(report_writer_close(w, &err), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_null(report_writer_new(dir, REPORT_CHANNELS, &err)); /* a directory */
	report_writer_abort(NULL);
	assert_int_equal(report_writer_close(NULL, &err), 0);
}

static void test_cell_text(void **state)
{
	char b[64];
	int64_t s[3] = {2, 0, 5};
	struct qspec q = {.scheme = scheme_default()};

	(void)state;
	assert_string_equal(report_format_double(0.1, b, sizeof b), "0.10000000000000001");
	assert_string_equal(report_format_double(-0.0, b, sizeof b), "-0");
	assert_string_equal(report_format_double(5e-324, b, sizeof b), "4.9406564584124654e-324");
	assert_string_equal(report_format_shape(s, 3, b, sizeof b), "2x0x5");
	q.scheme.bits = 4, q.scheme.is_signed = false, q.scheme.symmetric = false;
	q.scheme.gran = GRAN_GROUP, q.scheme.group_size = 32;
	assert_string_equal(report_qtype_name(&q, b, sizeof b), "uint4");
	assert_string_equal(report_gran_name(&q, b, sizeof b), "group:32");
	assert_string_equal(report_scheme_name(&q), "asym");
	q.qt = qtype_find("Q4_0");
	assert_non_null(q.qt);
	assert_string_equal(report_qtype_name(&q, b, sizeof b), "Q4_0");
	assert_string_equal(report_gran_name(&q, b, sizeof b), "group:32");
	assert_string_equal(report_scheme_name(&q), "block");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_python_reads),   cmocka_unit_test(test_reader_and_merge),
	        cmocka_unit_test(test_reader_rejects), cmocka_unit_test(test_cell_text),
	        cmocka_unit_test(test_device_target),
	};
	return cmocka_run_group_tests(tests, setup, qs_group_rmtree);
}
