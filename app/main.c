#include <gsl/gsl_errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io/recipe.h"
#include "batch.h"
#include "cli.h"
#include "session.h"
#include "tui.h"

static const char *const demo_names[2] = {"demo/demo_float.onnx", "demo/demo_int8.onnx"};

static bool demo_in(const char *share, char out[2][PATH_MAX])
{
	for (int i = 0; i < 2; i++) {
		snprintf(out[i], PATH_MAX, "%s/%s", share, demo_names[i]);
		if (access(out[i], R_OK))
			return false;
	}
	return true;
}

/* The bundled demo: the source tree's share/ (QSCOPE_SHARE_DIR), then
 * beside the executable (build tree, or an install's ../share/qscope). */
static bool find_demo(char out[2][PATH_MAX])
{
	static const char *const rel[] = {"share", "../share", "../share/qscope"};
	char exe[PATH_MAX], dir[PATH_MAX + 32];
	ssize_t n;

	if (demo_in(QSCOPE_SHARE_DIR, out))
		return true;
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		snprintf(dir, sizeof dir, "%s/%s", exe, rel[i]);
		if (demo_in(dir, out))
			return true;
	}
	return false;
}

static int run_tui(struct cli_args *a)
{
	static char demo[2][PATH_MAX];
	struct qs_error err = {0};

	if (!a->npos) {
		if (!find_demo(demo)) {
			qs_error_set(&err, QS_ERR_IO,
			             "the bundled demo models are missing; write them with "
			             "'qscope demo DIR' and open DIR/demo_float.onnx");
			return batch_fail(&err, CMD_TUI);
		}
		a->pos[0] = demo[0];
		a->pos[1] = demo[1];
		a->npos = 2;
	}
	bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (!tty && a->cmd_explicit) {
		qs_error_set(&err, QS_ERR_USAGE,
		             "'qscope tui' needs a terminal on stdin and stdout (scripts: 'qscope "
		             "report')");
		return batch_fail(&err, CMD_TUI);
	}
	if (!tty) {
		a->cmd = CMD_REPORT;
		return batch_report(a);
	}
	struct session_opts o;
	struct recipe *rec;
	if (batch_session_opts(a, &o, &rec))
		return EXIT_BAD;
	struct session *s = session_new(a->pos[0], a->npos > 1 ? a->pos[1] : NULL, &o, &err);
	if (!s) {
		recipe_free(rec);
		return batch_fail(&err, CMD_TUI);
	}
	int rc = tui_run(s);
	session_free(s);
	recipe_free(rec);
	return rc;
}

static int (*const commands[CMD_COUNT])(const struct cli_args *) = {
        [CMD_REPORT] = batch_report, [CMD_QUANTIZE] = batch_quantize, [CMD_INSPECT] = batch_inspect,
        [CMD_MERGE] = batch_merge,   [CMD_DEMO] = batch_demo,
};

int main(int argc, char **argv)
{
	struct cli_args a;
	struct qs_error err = {0};
	int rc;

	gsl_set_error_handler_off();
	if (cli_parse(argc, argv, &a, &err)) {
		rc = batch_fail(&err, a.cmd);
	} else if (a.help) {
		cli_print_help(stdout, a.cmd, a.cmd_explicit);
		rc = EXIT_OK;
	} else if (a.version || a.man || a.completion) {
		if (a.version)
			cli_print_version(stdout);
		else if (a.man)
			cli_print_man(stdout);
		else
			cli_print_completion(stdout);
		rc = EXIT_OK;
	} else {
		rc = a.cmd == CMD_TUI ? run_tui(&a) : commands[a.cmd](&a);
	}
	cli_args_free(&a);
	if (fflush(stdout)) {
		fprintf(stderr, "qscope: stdout: write failed\n");
		rc = EXIT_BAD;
	}
	return rc;
}
