#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../analysis/analyze.h"
#include "../io/onnx.h"
#include "../io/recipe.h"
#include "batch.h"
#include "cli.h"
#include "session.h"
#include "tui.h"

static const char *const demo_names[2] = {"demo_float.onnx", "demo_int8.onnx"};

static bool demo_in(const char *dir, char out[2][PATH_MAX])
{
	for (int i = 0; i < 2; i++) {
		snprintf(out[i], PATH_MAX, "%s/%s", dir, demo_names[i]);
		if (access(out[i], R_OK))
			return false;
	}
	return true;
}

/* The bundled demo: the source tree's share/demo (QSCOPE_SHARE_DIR), then
 * beside the executable (build tree, or an install's ../share/qscope). */
static bool find_demo(char out[2][PATH_MAX])
{
	static const char *const rel[] = {"share/demo", "../share/demo", "../share/qscope/demo"};
	char exe[PATH_MAX], dir[PATH_MAX + 32];
	ssize_t n;

	if (demo_in(QSCOPE_SHARE_DIR "/demo", out))
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

/* No bundled copy (an install without share/): write the demo once into
 * the user's cache; its bytes depend only on qscope's code. */
static int cached_demo(char out[2][PATH_MAX], struct qs_error *err)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX];

	if (xdg && *xdg)
		snprintf(dir, sizeof dir, "%s/qscope/demo-%s", xdg, QSCOPE_VERSION);
	else if (home && *home)
		snprintf(dir, sizeof dir, "%s/.cache/qscope/demo-%s", home, QSCOPE_VERSION);
	else
		snprintf(dir, sizeof dir, "/tmp/qscope-demo-%s-%ld", QSCOPE_VERSION,
		         (long)getuid());
	if (demo_in(dir, out))
		return 0;
	int rc = batch_make_dirs(dir, err);
	if (!rc)
		rc = onnx_demo_write(dir, err);
	if (!rc && !demo_in(dir, out))
		rc = qs_error_set(err, QS_ERR_IO, "%s: the demo models were not written", dir);
	return rc;
}

static int run_tui(struct cli_args *a)
{
	static char demo[2][PATH_MAX];
	struct qs_error err = {0};

	if (!a->npos) {
		if (!find_demo(demo) && cached_demo(demo, &err))
			return batch_fail(&err, CMD_TUI);
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

	analysis_init();
	if (cli_parse(argc, argv, &a, &err)) {
		rc = batch_fail(&err, a.cmd);
	} else if (a.help) {
		cli_print_help(stdout, a.cmd, a.cmd_explicit);
		rc = EXIT_OK;
	} else if (a.version || a.man || a.completion || a.list_qtypes) {
		if (a.version)
			cli_print_version(stdout);
		else if (a.man)
			cli_print_man(stdout);
		else if (a.completion)
			cli_print_completion(stdout);
		else
			cli_print_qtypes(stdout);
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
