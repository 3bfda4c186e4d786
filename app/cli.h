/* cli.h — the command line: one option table drives parsing, the --help text
 * of every subcommand, the man page (share/man/qscope.1, printed by the
 * hidden `qscope --man`) and the bash completion (share/completion/
 * qscope.bash, printed by the hidden `qscope --completion`), so the docs
 * cannot drift from what the parser accepts.
 *
 *   qscope [tui] FLOAT [QUANT] [options]
 *   qscope report FLOAT [QUANT] [options]
 *   qscope quantize FLOAT -o OUT [options]
 *   qscope inspect MODEL [options]
 *   qscope merge PART.csv... -o OUT.csv
 *   qscope demo [DIR]
 *
 * Ownership: cli_parse fills a struct cli_args whose strings point into argv
 * (borrowed) and whose arrays (pos, select, exclude) the caller frees with
 * cli_args_free. Nothing here prints except the cli_print_* functions.
 */
#ifndef QS_CLI_H
#define QS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../analysis/analyze.h"
#include "../analysis/error.h"

enum cli_cmd {
	CMD_TUI,
	CMD_REPORT,
	CMD_QUANTIZE,
	CMD_INSPECT,
	CMD_MERGE,
	CMD_DEMO,
	CMD_COUNT
};

enum cli_format {
	FORMAT_TABLE,
	FORMAT_CSV,
	FORMAT_JSON
};

enum cli_opt_id {
	OPT_HELP,
	OPT_VERSION,
	OPT_MAN,
	OPT_COMPLETION,
	OPT_LIST_QTYPES,
	OPT_QTYPE,
	OPT_BITS,
	OPT_SCHEME,
	OPT_GRANULARITY,
	OPT_METHOD,
	OPT_NARROW,
	OPT_REDUCE,
	OPT_ROUNDING,
	OPT_SCALE_FLOOR,
	OPT_AXIS,
	OPT_RECIPE,
	OPT_SELECT,
	OPT_EXCLUDE,
	OPT_JOBS,
	OPT_SHARD,
	OPT_CSV,
	OPT_CHANNELS_CSV,
	OPT_FORMAT,
	OPT_FAIL_SQNR,
	OPT_FAIL_RISK,
	OPT_SAVE_RECIPE,
	OPT_QUIET,
	OPT_OUTPUT,
	OPT_TO,
	OPT_FAKE_QUANT,
	OPT_LIKE,
	OPT_EXTERNAL_DATA,
	OPT_COUNT
};

#define CMD_BIT(c) (1u << (c))

/* One row of the option table. */
struct cli_option {
	enum cli_opt_id id;
	const char *name;   /* long name without "--" */
	char short_name;    /* 0: none */
	const char *arg;    /* metavar; NULL for a flag */
	unsigned cmds;      /* CMD_BIT()s of the subcommands that accept it */
	const char *values; /* completion words (space-separated), "FILE", "DIR" or NULL */
	bool hidden;        /* not in --help, man page or completion */
	const char *help;
};

/* One row of the subcommand table. */
struct cli_command {
	enum cli_cmd cmd;
	const char *name;
	const char *usage;    /* after "qscope " */
	const char *summary;  /* one line */
	const char *details;  /* a paragraph for --help and the man page */
	int min_pos, max_pos; /* positional arguments; max −1 = unbounded */
};

const struct cli_option *cli_options(size_t *n);
const struct cli_command *cli_command(enum cli_cmd c);

struct cli_args {
	enum cli_cmd cmd;
	bool cmd_explicit; /* a subcommand word was given */
	bool help, version, man, completion, list_qtypes;
	const char **pos; /* positional arguments */
	size_t npos;
	struct qspec spec; /* defaults with the scheme options applied */
	bool has_qtype, has_bits, has_scheme, has_axis;
	const char *recipe, *csv, *channels_csv, *save_recipe, *output, *to, *like;
	const char **select; /* NULL-terminated, or NULL when none */
	const char **exclude;
	size_t nselect, nexclude;
	int jobs;
	int shard_k, shard_n;
	enum cli_format format;
	bool has_fail_sqnr;
	double fail_sqnr;
	bool fail_risk, quiet, fake_quant, external_data;
};

/* Parse argv (argv[0] is the program). Returns 0, or QS_ERR_USAGE with one
 * line in err naming the option and what is wrong. */
int cli_parse(int argc, char **argv, struct cli_args *a, struct qs_error *err);
void cli_args_free(struct cli_args *a);

/* Parse "K/N" (1 ≤ K ≤ N). */
int cli_parse_shard(const char *s, int *k, int *n, struct qs_error *err);
/* Parse "tensor", "channel" or "group:N". */
int cli_parse_granularity(const char *s, enum granularity *g, uint64_t *group,
                          struct qs_error *err);
/* Canonical text of a granularity ("group:32"). */
const char *cli_granularity_name(enum granularity g, uint64_t group, char *buf, size_t len);

void cli_print_help(FILE *f, enum cli_cmd c, bool cmd_explicit);
void cli_print_version(FILE *f);
/* roff man page of every subcommand and option. */
void cli_print_man(FILE *f);
/* bash completion script. */
void cli_print_completion(FILE *f);
/* The --qtype names, one per line (the completion asks the binary). */
void cli_print_qtypes(FILE *f);

#endif
