#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../io/recipe.h"
#include "batch.h"
#include "session.h"

int batch_fail(const struct qs_error *err, enum cli_cmd cmd)
{
	fprintf(stderr, "qscope: %s\n", err->msg[0] ? err->msg : "failed");
	if (err->code == QS_ERR_USAGE) {
		const struct cli_command *c = cli_command(cmd);
		fprintf(stderr, "try 'qscope %s%s--help'\n", cmd == CMD_TUI ? "" : c->name,
		        cmd == CMD_TUI ? "" : " ");
	}
	return EXIT_BAD;
}

int batch_session_opts(const struct cli_args *a, struct session_opts *o, struct recipe **rec)
{
	struct qs_error err = {0};

	*rec = NULL;
	*o = (struct session_opts){0};
	if (a->recipe && recipe_load(a->recipe, rec, &err))
		return batch_fail(&err, a->cmd);
	o->defaults = a->spec;
	o->recipe = *rec;
	o->select = a->select;
	o->exclude = a->exclude;
	o->jobs = a->jobs;
	o->shard_k = a->shard_k;
	o->shard_n = a->shard_n;
	o->axis_explicit = a->has_axis;
	return 0;
}

uint64_t batch_hash(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ---- progress --------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_init(struct progress *p, const char *label, bool quiet)
{
	p->on = !quiet && isatty(STDERR_FILENO);
	p->t0 = now_s();
	p->label = label;
}

void progress_update(size_t done, size_t total, void *ctx)
{
	struct progress *p = ctx;
	char bar[31];

	if (!p->on || !total)
		return;
	size_t fill = done * 30 / total;
	memset(bar, '#', fill);
	memset(bar + fill, '.', 30 - fill);
	bar[30] = '\0';
	double el = now_s() - p->t0;
	double eta = done ? el * (double)(total - done) / (double)done : 0;
	fprintf(stderr, "\r%s [%s] %zu/%zu  %3.0f%%  ETA %02d:%02d ", p->label, bar, done, total,
	        100.0 * (double)done / (double)total, (int)(eta / 60), (int)eta % 60);
	fflush(stderr);
}

void progress_end(struct progress *p)
{
	if (p->on)
		fprintf(stderr, "\r\033[K");
}

bool batch_same_file(const char *a, const char *b)
{
	if (!a || !b || !strcmp(a, "-") || !strcmp(b, "-"))
		return false;
	return atomic_same_file(a, b) != 0;
}

int batch_check_outputs(const char *const *outs, size_t nout, const char *const *ins, size_t nin,
                        enum cli_cmd cmd)
{
	struct qs_error err = {0};

	for (size_t i = 0; i < nout; i++)
		for (size_t j = 0; j < nin; j++)
			if (batch_same_file(outs[i], ins[j])) {
				/* A file clash, not a usage slip: one line, no hint. */
				qs_error_set(&err, QS_ERR_IO,
				             "%s: refusing to overwrite the input %s", outs[i],
				             ins[j]);
				return batch_fail(&err, cmd);
			}
	return 0;
}
