/* test_cli.c — the option table: parsing, defaults, value errors naming the
 * option, and the generated help / man page / completion covering every
 * visible option of the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qs_test.h"

static int parse(struct cli_args *a, struct qs_error *err, const char *line)
{
	static char buf[1024];
	char *argv[64];
	int argc = 0;

	snprintf(buf, sizeof buf, "qscope %s", line);
	for (char *tok = strtok(buf, " "); tok && argc < 63; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	qs_error_clear(err);
	return cli_parse(argc, argv, a, err);
}

static void test_defaults(void **state)
{
	struct cli_args a;
	struct qs_error err;
	(void)state;

	assert_int_equal(parse(&a, &err, "report w.npy"), 0);
	assert_int_equal(a.cmd, CMD_REPORT);
	assert_true(a.cmd_explicit);
	assert_int_equal(a.npos, 1);
	assert_string_equal(a.pos[0], "w.npy");
	assert_int_equal(a.spec.scheme.bits, 8);
	assert_true(a.spec.scheme.symmetric);
	assert_true(a.spec.scheme.is_signed);
	assert_int_equal(a.spec.scheme.gran, GRAN_CHANNEL);
	assert_int_equal(a.spec.scheme.axis, 0);
	assert_int_equal(a.spec.method.kind, METHOD_MINMAX);
	assert_null(a.spec.qt);
	assert_int_equal(a.format, FORMAT_TABLE);
	assert_int_equal(a.shard_n, 0);
	cli_args_free(&a);

	/* No subcommand word: the TUI, which may take no file at all. */
	assert_int_equal(parse(&a, &err, "f.onnx q.onnx --bits 4"), 0);
	assert_int_equal(a.cmd, CMD_TUI);
	assert_false(a.cmd_explicit);
	assert_int_equal(a.npos, 2);
	assert_int_equal(a.spec.scheme.bits, 4);
	cli_args_free(&a);
}

static void test_values(void **state)
{
	struct cli_args a;
	struct qs_error err;
	(void)state;

	assert_int_equal(parse(&a, &err,
	                       "report f.npz q.npz --scheme asym --granularity=group:32 --method "
	                       "percentile:99.9 --narrow-range --reduce-range --rounding away "
	                       "--scale-floor 1e-6 --select a* --select b* --exclude *bias -j 3 "
	                       "--shard 2/5 --csv - --channels-csv ch.csv --format json "
	                       "--fail-below-sqnr 30.5 --fail-on-risk --save-recipe r.csv -q"),
	                 0);
	const struct scheme *s = &a.spec.scheme;
	assert_false(s->symmetric);
	assert_int_equal(s->gran, GRAN_GROUP);
	assert_int_equal(s->group_size, 32);
	assert_int_equal(s->axis, -1); /* groups run along the last axis by default */
	assert_int_equal(a.spec.method.kind, METHOD_PERCENTILE);
	assert_close(a.spec.method.percentile, 99.9, 0, 1e-12);
	assert_true(s->narrow && s->reduce_range);
	assert_int_equal(s->rounding, ROUND_HALF_AWAY);
	assert_close(s->scale_floor, 1e-6, 0, 0);
	assert_int_equal(a.nselect, 2);
	assert_string_equal(a.select[1], "b*");
	assert_null(a.select[2]);
	assert_int_equal(a.nexclude, 1);
	assert_int_equal(a.jobs, 3);
	assert_int_equal(a.shard_k, 2);
	assert_int_equal(a.shard_n, 5);
	assert_string_equal(a.csv, "-");
	assert_string_equal(a.channels_csv, "ch.csv");
	assert_int_equal(a.format, FORMAT_JSON);
	assert_true(a.has_fail_sqnr);
	assert_close(a.fail_sqnr, 30.5, 0, 0);
	assert_true(a.fail_risk && a.quiet);
	assert_string_equal(a.save_recipe, "r.csv");
	cli_args_free(&a);

	/* An explicit axis wins for groups too; "--" ends the options. */
	assert_int_equal(parse(&a, &err, "report --granularity group:8 --axis 1 -- -w.npy"), 0);
	assert_int_equal(a.spec.scheme.axis, 1);
	assert_string_equal(a.pos[0], "-w.npy");
	cli_args_free(&a);
}

static void test_qtype(void **state)
{
	struct cli_args a;
	struct qs_error err;
	(void)state;

	assert_int_equal(parse(&a, &err, "report w.npy --qtype uint4"), 0);
	assert_non_null(a.spec.qt);
	assert_int_equal(a.spec.scheme.bits, 4);
	assert_false(a.spec.scheme.is_signed);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "report w.npy --qtype Q4_0"), 0);
	assert_int_equal(a.spec.qt->family, QTYPE_BLOCK);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "report w.npy --qtype int8 --bits 4"), QS_ERR_USAGE);
	assert_non_null(strstr(err.msg, "--qtype"));
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "report w.npy --qtype int9"), QS_ERR_USAGE);
	assert_non_null(strstr(err.msg, "int9"));
	cli_args_free(&a);
}

/* Each bad line must fail with a message naming what is wrong. */
static void test_errors(void **state)
{
	static const char *const bad[][2] = {
	        {"report w.npy --bits 1", "--bits"},
	        {"report w.npy --bits 17", "--bits"},
	        {"report w.npy --bits", "needs a value"},
	        {"report w.npy --scheme skew", "--scheme"},
	        {"report w.npy --granularity row", "--granularity"},
	        {"report w.npy --granularity group:0", "--granularity"},
	        {"report w.npy --method best", "--method"},
	        {"report w.npy --rounding up", "--rounding"},
	        {"report w.npy --scale-floor -1", "--scale-floor"},
	        {"report w.npy --axis 9", "--axis"},
	        {"report w.npy --jobs many", "--jobs"},
	        {"report w.npy --shard 0/4", "--shard"},
	        {"report w.npy --shard 5/4", "--shard"},
	        {"report w.npy --shard 2", "--shard"},
	        {"report w.npy --fail-below-sqnr loud", "--fail-below-sqnr"},
	        {"report w.npy --format xml", "--format"},
	        {"report w.npy --what", "unknown option '--what'"},
	        {"report w.npy -z", "unknown option '-z'"},
	        {"report w.npy --fail-on-risk=yes", "takes no value"},
	        {"quantize w.npy -o x.npz --csv t.csv", "does not apply to 'qscope quantize'"},
	        {"inspect w.npy --recipe r.csv", "does not apply"},
	        {"quantize w.npy", "-o OUT"},
	        {"report", "needs"},
	        {"report a b c", "at most 2"},
	        {"inspect a b", "at most 1"},
	        {"merge -o x.csv", "needs"},
	};
	struct cli_args a;
	struct qs_error err;
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = parse(&a, &err, bad[i][0]);
		if (rc != QS_ERR_USAGE || !strstr(err.msg, bad[i][1]))
			fail_msg("'%s': rc %d, message '%s' (wanted '%s')", bad[i][0], rc, err.msg,
			         bad[i][1]);
		cli_args_free(&a);
	}
}

static void test_shard_parse(void **state)
{
	struct qs_error err;
	int k, n;
	(void)state;

	assert_int_equal(cli_parse_shard("3/4", &k, &n, &err), 0);
	assert_int_equal(k, 3);
	assert_int_equal(n, 4);
	assert_int_equal(cli_parse_shard("1/1", &k, &n, &err), 0);
	assert_int_equal(cli_parse_shard("4/3", &k, &n, &err), QS_ERR_USAGE);
	assert_int_equal(cli_parse_shard("a/3", &k, &n, &err), QS_ERR_USAGE);
	assert_int_equal(cli_parse_shard("1/0", &k, &n, &err), QS_ERR_USAGE);
	assert_int_equal(cli_parse_shard("1/2/3", &k, &n, &err), QS_ERR_USAGE);
}

/* noinline: gcc 12 otherwise mistakes the memstream buffer for a local */
__attribute__((noinline)) static char *capture(void (*fn)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fn(f);
	fclose(f);
	return buf;
}

/* Is opt in one of the completion's option lists (lines `cmd) opts="..."`)? */
static bool offered(const char *comp, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *l = strstr(comp, "opts=\""); l; l = strstr(l + 1, "opts=\"")) {
		const char *end = strchr(l + 6, '"');
		for (const char *p = strstr(l, opt); p && p < end; p = strstr(p + 1, opt))
			if (p[n] == ' ' || p[n] == '"')
				return true;
	}
	return false;
}

static void print_full_help(FILE *f)
{
	cli_print_help(f, CMD_TUI, false);
}

/* Every visible option is in the help, the man page (roff-escaped) and the
 * completion; hidden ones are in none. */
static void test_generated_docs(void **state)
{
	size_t n;
	const struct cli_option *o = cli_options(&n);
	char *man = capture(cli_print_man), *comp = capture(cli_print_completion);
	char want[96], roff[192];
	(void)state;

	assert_int_equal(n, OPT_COUNT);
	for (size_t i = 0; i < n; i++) {
		snprintf(want, sizeof want, "--%s", o[i].name);
		size_t k = 0;
		for (const char *p = want; *p && k + 3 < sizeof roff; p++) {
			if (*p == '-')
				roff[k++] = '\\';
			roff[k++] = *p;
		}
		roff[k] = '\0';
		bool in_man = strstr(man, roff) != NULL, in_comp = offered(comp, want);
		if (in_man == o[i].hidden || in_comp == o[i].hidden)
			fail_msg("%s: man %d completion %d hidden %d", want, in_man, in_comp,
			         o[i].hidden);
	}
	/* Each subcommand's help lists exactly the options that apply to it. */
	for (int c = 0; c < CMD_COUNT; c++) {
		char *help = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&help, &len);
		cli_print_help(f, (enum cli_cmd)c, true);
		fclose(f);
		for (size_t i = 0; i < n; i++) {
			/* an option line: "      --name ..." or "  -x, --name ..." */
			snprintf(want, sizeof want, "\n      --%s", o[i].name);
			bool listed = strstr(help, want) != NULL;
			snprintf(want, sizeof want, ", --%s", o[i].name);
			listed |= strstr(help, want) != NULL;
			bool applies = (o[i].cmds & CMD_BIT(c)) && !o[i].hidden;
			if (listed != applies)
				fail_msg("%s --help: %s listed %d applies %d", cli_command(c)->name,
				         o[i].name, listed, applies);
		}
		free(help);
	}
	char *full = capture(print_full_help);
	for (int c = 0; c < CMD_COUNT; c++)
		assert_non_null(strstr(full, cli_command(c)->usage));
	free(full);
	free(man);
	free(comp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),    cmocka_unit_test(test_values),
	        cmocka_unit_test(test_qtype),       cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_shard_parse), cmocka_unit_test(test_generated_docs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
