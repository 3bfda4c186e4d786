/* Recipes: reading (columns by name, quoting, first match wins, inheritance),
 * errors naming line and column, and saving read back by Python's csv
 * module and by recipe_load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qs_test.h"
#include "recipe.h"

static char *dir;

static int setup(void **state)
{
	*state = dir = qs_tmpdir();
	return dir ? 0 : -1;
}

static struct qspec defaults(void)
{
	struct qspec s = {.scheme = scheme_default()};
	s.method.kind = METHOD_MINMAX;
	return s;
}

static void test_apply(void **state)
{
	struct recipe *r;
	struct qs_error err;
	struct qspec s;
	bool keep;
	const struct recipe_rule *u;

	(void)state;
	qs_write_text(qs_path(dir, "r.csv"),
	              "pattern,action,bits,scheme,granularity,method\n"
	              "*.bias,keep-float,,,,\n"
	              "\"layers.0.*,x\",quantize,4,asym,group:32,percentile:99.9\n"
	              "layers.*,quantize,,,tensor,mse\n"
	              "\n"
	              "*,quantize,,,,\n");
	assert_int_equal(recipe_load(qs_path(dir, "r.csv"), &r, &err), 0);
	assert_int_equal(r->n, 4);

	s = defaults();
	u = recipe_apply(r, "fc.bias", &s, &keep);
	assert_ptr_equal(u, &r->rules[0]);
	assert_true(keep);

	/* the quoted pattern contains a comma */
	s = defaults();
	u = recipe_apply(r, "layers.0.w,x", &s, &keep);
	assert_ptr_equal(u, &r->rules[1]);
	assert_false(keep);
	assert_int_equal(s.scheme.bits, 4);
	assert_false(s.scheme.symmetric);
	assert_int_equal(s.scheme.gran, GRAN_GROUP);
	assert_int_equal(s.scheme.group_size, 32);
	assert_int_equal(s.method.kind, METHOD_PERCENTILE);
	assert_close(s.method.percentile, 99.9, 0, 0);

	/* empty cells inherit the defaults */
	s = defaults();
	u = recipe_apply(r, "layers.3.w", &s, &keep);
	assert_ptr_equal(u, &r->rules[2]);
	assert_int_equal(s.scheme.bits, 8);
	assert_true(s.scheme.symmetric);
	assert_int_equal(s.scheme.gran, GRAN_TENSOR);
	assert_int_equal(s.method.kind, METHOD_MSE);

	s = defaults();
	assert_ptr_equal(recipe_apply(r, "head", &s, &keep), &r->rules[3]);
	assert_int_equal(s.scheme.gran, GRAN_CHANNEL);
	assert_null(recipe_apply(NULL, "head", &s, &keep));
	recipe_free(r);
	recipe_free(NULL);
}

static void test_optional_columns(void **state)
{
	struct recipe *r;
	struct qs_error err;
	struct qspec s = defaults();
	bool keep;

	(void)state;
	/* any order; qtype and min_sqnr optional */
	qs_write_text(qs_path(dir, "o.csv"), "min_sqnr,qtype,action,pattern\n"
	                                     "35.5,Q4_0,quantize,blk.*\n"
	                                     ",,quantize,w\n");
	assert_int_equal(recipe_load(qs_path(dir, "o.csv"), &r, &err), 0);
	assert_true(r->rules[0].has_min_sqnr);
	assert_close(r->rules[0].min_sqnr, 35.5, 0, 0);
	recipe_apply(r, "blk.0", &s, &keep);
	assert_non_null(s.qt);
	assert_string_equal(s.qt->name, "Q4_0");
	assert_false(r->rules[1].has_qtype);
	assert_false(r->rules[1].has_min_sqnr);
	recipe_free(r);
	/* a spreadsheet's BOM and CRLF line ends */
	qs_write_text(qs_path(dir, "x.csv"), "\xEF\xBB\xBFpattern,action,bits\r\nw,quantize,6\r\n");
	assert_int_equal(recipe_load(qs_path(dir, "x.csv"), &r, &err), 0);
	assert_int_equal(r->n, 1);
	assert_string_equal(r->rules[0].pattern, "w");
	assert_int_equal(r->rules[0].bits, 6);
	recipe_free(r);
	/* bits without a qtype drop a linear qtype that would override them */
	qs_write_text(qs_path(dir, "b.csv"), "pattern,action,bits\nw,quantize,4\n");
	assert_int_equal(recipe_load(qs_path(dir, "b.csv"), &r, &err), 0);
	s = defaults();
	s.qt = qtype_find("int8");
	assert_non_null(s.qt);
	recipe_apply(r, "w", &s, &keep);
	assert_null(s.qt);
	assert_int_equal(s.scheme.bits, 4);
	recipe_free(r);
}

static void expect_error(const char *text, const char *needle)
{
	struct recipe *r = (struct recipe *)1;
	struct qs_error err = {0};

	qs_write_text(qs_path(dir, "bad.csv"), text);
	if (recipe_load(qs_path(dir, "bad.csv"), &r, &err) != QS_ERR_FORMAT ||
	    !strstr(err.msg, needle) || !strstr(err.msg, "bad.csv"))
		fail_msg("\"%s\": message \"%s\", want \"%s\"", text, err.msg, needle);
	assert_null(r);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("pattern,action,bits\nw,quantize,17\n",
	             "line 2, column 'bits': '17' is not 2..16");
	expect_error("pattern,action,bits\nw,quantize,8\nv,quantize,x8\n",
	             "line 3, column 'bits': 'x8' is not 2..16");
	expect_error("pattern,action\nw,drop\n", "column 'action': 'drop' is not quantize");
	expect_error("pattern,action,scheme\nw,quantize,symm\n", "column 'scheme'");
	expect_error("pattern,action,granularity\nw,quantize,group:0\n", "column 'granularity'");
	expect_error("pattern,action,method\nw,quantize,best\n", "column 'method': 'best'");
	expect_error("pattern,action,qtype\nw,quantize,Q9_9\n", "column 'qtype': 'Q9_9'");
	expect_error("pattern,action,colour\n", "line 1: unknown column 'colour'");
	expect_error("pattern,pattern,action\n", "column 'pattern' given twice");
	expect_error("pattern,bits\nw,8\n", "lacks the 'action' column");
	expect_error("pattern,action\nw,quantize,8\n", "line 2: more cells than the header");
	expect_error("pattern,action\n,quantize\n", "line 2, column 'pattern': empty");
	expect_error("pattern,action\n\"w,quantize\n", "bad.csv: line 2");
	expect_error("", "empty recipe");
}

/* A read error (a folder opens but cannot be read) is not an empty recipe. */
static void test_read_error(void **state)
{
	struct recipe *r = (struct recipe *)1;
	struct qs_error err = {0};

	(void)state;
	assert_int_equal(recipe_load(dir, &r, &err), QS_ERR_IO);
	assert_non_null(strstr(err.msg, "read failed"));
	assert_null(r);
}

static void test_save_roundtrip(void **state)
{
	struct recipe *r = recipe_new(), *back;
	struct qs_error err;
	struct qspec s = defaults();
	char esc[64], cmd[1200];
	const char *py = getenv("PY");
	bool keep;

	(void)state;
	assert_non_null(r);
	assert_null(recipe_glob_escape("abc", esc, 3));
	assert_non_null(recipe_glob_escape("a[0]*,b", esc, sizeof esc));
	assert_string_equal(esc, "a\\[0\\]\\*,b");
	assert_int_equal(recipe_add(r, esc, NULL, true), 0);
	s.scheme.bits = 6, s.scheme.symmetric = false, s.scheme.gran = GRAN_GROUP;
	s.scheme.group_size = 64;
	s.method.kind = METHOD_PERCENTILE, s.method.percentile = 99.99;
	assert_int_equal(recipe_add(r, "*", &s, false), 0);
	assert_int_equal(recipe_save(qs_path(dir, "s.csv"), r, &err), 0);
	recipe_free(r);

	assert_int_equal(recipe_load(qs_path(dir, "s.csv"), &back, &err), 0);
	assert_int_equal(back->n, 2);
	/* the escaped pattern matches only the exact name */
	assert_ptr_equal(recipe_apply(back, "a[0]*,b", NULL, &keep), &back->rules[0]);
	assert_true(keep);
	assert_ptr_equal(recipe_apply(back, "a0xx,b", NULL, &keep), &back->rules[1]);
	s = defaults();
	recipe_apply(back, "other", &s, &keep);
	assert_int_equal(s.scheme.bits, 6);
	assert_int_equal(s.scheme.group_size, 64);
	assert_close(s.method.percentile, 99.99, 0, 0);
	recipe_free(back);

	snprintf(cmd, sizeof cmd,
	         "cd '%s' && '%s' -c \"import csv; r = list(csv.reader(open('s.csv')));"
	         " assert r[0] == ['pattern','action','bits','scheme','granularity','method',"
	         "'qtype','min_sqnr'], r[0];"
	         " assert r[1][:2] == ['a\\\\[0\\\\]\\\\*,b', 'keep-float'], r[1];"
	         " assert r[2] == ['*','quantize','6','asym','group:64','percentile:99.99','',''], "
	         "r[2]\"",
	         dir, py && *py ? py : "/usr/bin/python3");
	assert_int_equal(system(cmd), 0);
	r = recipe_new();
	assert_int_equal(recipe_save(qs_path(dir, "no/dir/s.csv"), r, &err), QS_ERR_IO);
	recipe_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_apply),          cmocka_unit_test(test_optional_columns),
	        cmocka_unit_test(test_errors),         cmocka_unit_test(test_read_error),
	        cmocka_unit_test(test_save_roundtrip),
	};
	return cmocka_run_group_tests(tests, setup, qs_group_rmtree);
}
