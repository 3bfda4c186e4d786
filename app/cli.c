#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHARED_CMDS (CMD_BIT(CMD_TUI) | CMD_BIT(CMD_REPORT) | CMD_BIT(CMD_QUANTIZE))
#define ALL_CMDS    ((1u << CMD_COUNT) - 1)

static const struct cli_command commands[CMD_COUNT] = {
        [CMD_TUI] = {.cmd = CMD_TUI,
                     .name = "tui",
                     .usage = "[tui] FLOAT [QUANT] [options]",
                     .summary = "open the interactive workbench",
                     .details =
                             "Pairs the tensors of FLOAT and QUANT, measures every tensor and "
                             "channel and shows where the damage is. With only FLOAT the chosen "
                             "scheme and method are simulated; with no model at all the bundled "
                             "demo models open. This is the default command when stdin and stdout "
                             "are terminals; otherwise the same arguments run a report.",
                     .min_pos = 0,
                     .max_pos = 2},
        [CMD_REPORT] =
                {.cmd = CMD_REPORT,
                 .name = "report",
                 .usage = "report FLOAT [QUANT] [options]",
                 .summary = "analyse headless: summary table on stdout, CSV reports",
                 .details = "Prints one line per tensor, worst SQNR first, and the totals "
                            "(parameters, bytes float vs quantized, parameter-weighted SQNR, "
                            "risk counts, unpaired tensors). With FLOAT only the chosen scheme "
                            "and method are simulated; with QUANT the quantized model is "
                            "measured as it is and the chosen method appears as what-if "
                            "columns beside it. The per-tensor CSV carries the columns of the "
                            "design contract first, then rmse_over_scale, n_nan, n_inf, status, "
                            "note, the whatif_* columns, float_bytes, quant_bytes, and row, "
                            "shard, run (used by merge); the per-channel CSV ends with row, "
                            "shard, run too. A tensor that cannot be analysed is an error: "
                            "nothing is written.",
                 .min_pos = 1,
                 .max_pos = 2},
        [CMD_QUANTIZE] = {.cmd = CMD_QUANTIZE,
                          .name = "quantize",
                          .usage = "quantize FLOAT -o OUT [options]",
                          .summary = "write a quantized model",
                          .details = "Quantizes the weights of FLOAT with the defaults, the recipe "
                                     "and the select/exclude globs and writes OUT atomically (a "
                                     "temporary file renamed into place; never over FLOAT). The "
                                     "format comes from OUT's extension unless --to names it.",
                          .min_pos = 1,
                          .max_pos = 1},
        [CMD_INSPECT] =
                {.cmd = CMD_INSPECT,
                 .name = "inspect",
                 .usage = "inspect MODEL [options]",
                 .summary = "list tensors, dtypes, shapes and quantization parameters",
                 .details = "Lists every tensor of MODEL with its element type, shape, "
                            "quantization parameters (bits, code range, granularity, scale "
                            "and zero-point range, block type), what the graph says about it "
                            "(role, consuming op, channel axis, K) and pairing hints (the float "
                            "tensor a quantized tensor approximates, auxiliary tensors).",
                 .min_pos = 1,
                 .max_pos = 1},
        [CMD_MERGE] = {.cmd = CMD_MERGE,
                       .name = "merge",
                       .usage = "merge PART.csv... -o OUT.csv",
                       .summary = "join the CSV reports of a sharded run",
                       .details =
                               "Joins the per-tensor (or per-channel) CSV files written by "
                               "`report --shard K/N`, checks that they come from one run and that "
                               "every shard 1..N is present exactly once, writes the rows in the "
                               "order of an unsharded run and prints the recomputed totals. A "
                               "missing, duplicated or foreign shard is an error (exit 2). A part "
                               "with a header and no rows counts as a shard that had no tensors.",
                       .min_pos = 1,
                       .max_pos = -1},
        [CMD_DEMO] = {.cmd = CMD_DEMO,
                      .name = "demo",
                      .usage = "demo [DIR]",
                      .summary = "write the bundled demo models",
                      .details = "Writes demo_float.onnx and demo_int8.onnx into DIR (default: "
                                 "the current directory); `qscope DIR/demo_float.onnx "
                                 "DIR/demo_int8.onnx` then opens them.",
                      .min_pos = 0,
                      .max_pos = 1},
};

static const struct cli_option options[] = {
        {OPT_HELP, "help", 'h', NULL, ALL_CMDS, NULL, false, "show this help and exit"},
        {OPT_VERSION, "version", 'V', NULL, ALL_CMDS, NULL, false, "show the version and exit"},
        {OPT_MAN, "man", 0, NULL, ALL_CMDS, NULL, true, "print the man page (roff)"},
        {OPT_COMPLETION, "completion", 0, NULL, ALL_CMDS, NULL, true,
         "print the bash completion script"},
        {OPT_LIST_QTYPES, "list-qtypes", 0, NULL, ALL_CMDS, NULL, true,
         "print the --qtype names, one per line"},
        {OPT_QTYPE, "qtype", 0, "T", SHARED_CMDS, "@qtype", false,
         "storage type by its format's name: int8, uint8, int4, uint4, int16 (ONNX), Q8_0, "
         "Q4_0, Q4_K, ... (GGUF); sets bits and signedness"},
        {OPT_BITS, "bits", 0, "N", SHARED_CMDS, "2 3 4 5 6 7 8 12 16", false,
         "code width 2..16 (default 8)"},
        {OPT_SCHEME, "scheme", 0, "S", SHARED_CMDS, "sym asym", false,
         "sym (zero point fixed at the middle code, default) or asym (affine)"},
        {OPT_GRANULARITY, "granularity", 0, "G", SHARED_CMDS, "tensor channel group:32 group:128",
         false,
         "tensor, channel (default; the graph's output axis, else --axis) or group:N "
         "(blocks of N along the graph's reduction axis, else --axis or the last axis)"},
        {OPT_METHOD, "method", 0, "M", SHARED_CMDS, "@method", false,
         "range method: minmax (default), percentile:P, mse, aciq, aciq-laplace, aciq-gauss, kl"},
        {OPT_NARROW, "narrow-range", 0, NULL, SHARED_CMDS, NULL, false,
         "drop the most negative code (int8 -127..127)"},
        {OPT_REDUCE, "reduce-range", 0, NULL, SHARED_CMDS, NULL, false,
         "use one bit fewer (int8 -64..63), as ONNX Runtime's reduce_range"},
        {OPT_ROUNDING, "rounding", 0, "R", SHARED_CMDS, "even away", false,
         "round half to even (default, ONNX) or half away from zero (ggml)"},
        {OPT_SCALE_FLOOR, "scale-floor", 0, "X", SHARED_CMDS, NULL, false,
         "smallest scale; tinier groups quantize to zero instead"},
        {OPT_AXIS, "axis", 0, "N", SHARED_CMDS, NULL, false,
         "channel axis where the graph does not say it (default 0; negative counts from the end)"},
        {OPT_RECIPE, "recipe", 0, "FILE", SHARED_CMDS, "FILE", false,
         "per-tensor choices: CSV pattern,action,bits,scheme,granularity,method[,qtype,min_sqnr]; "
         "first matching glob wins"},
        {OPT_SELECT, "select", 0, "GLOB", SHARED_CMDS, NULL, false,
         "analyse only tensors whose name matches (repeatable)"},
        {OPT_EXCLUDE, "exclude", 0, "GLOB", SHARED_CMDS, NULL, false,
         "skip tensors whose name matches (repeatable)"},
        {OPT_JOBS, "jobs", 'j', "N", SHARED_CMDS, NULL, false,
         "worker threads (default: the number of cores); output is identical for any N"},
        {OPT_SHARD, "shard", 0, "K/N", CMD_BIT(CMD_REPORT), NULL, false,
         "analyse only shard K of N (deterministic, balanced by tensor size)"},
        {OPT_CSV, "csv", 0, "FILE", CMD_BIT(CMD_REPORT), "FILE", false,
         "write the per-tensor CSV ('-' = stdout)"},
        {OPT_CHANNELS_CSV, "channels-csv", 0, "FILE", CMD_BIT(CMD_REPORT), "FILE", false,
         "write the per-channel CSV ('-' = stdout)"},
        {OPT_FORMAT, "format", 0, "F",
         CMD_BIT(CMD_REPORT) | CMD_BIT(CMD_INSPECT) | CMD_BIT(CMD_MERGE), "table csv json", false,
         "what goes to stdout: table (default), csv or json"},
        {OPT_FAIL_SQNR, "fail-below-sqnr", 0, "DB", CMD_BIT(CMD_REPORT), NULL, false,
         "exit 1 when a tensor's SQNR is below DB (failing tensors named on stderr)"},
        {OPT_FAIL_RISK, "fail-on-risk", 0, NULL, CMD_BIT(CMD_REPORT), NULL, false,
         "exit 1 when a tensor has an overflow risk"},
        {OPT_SAVE_RECIPE, "save-recipe", 0, "FILE", CMD_BIT(CMD_REPORT), "FILE", false,
         "write the choices used, one row per tensor, as a recipe"},
        {OPT_QUIET, "quiet", 'q', NULL,
         CMD_BIT(CMD_REPORT) | CMD_BIT(CMD_QUANTIZE) | CMD_BIT(CMD_MERGE) | CMD_BIT(CMD_DEMO), NULL,
         false, "no progress bar and no summary"},
        {OPT_OUTPUT, "output", 'o', "OUT", CMD_BIT(CMD_QUANTIZE) | CMD_BIT(CMD_MERGE), "FILE",
         false, "the file to write"},
        {OPT_TO, "to", 0, "FORMAT", CMD_BIT(CMD_QUANTIZE), "onnx gguf safetensors npy npz tflite",
         false, "output format when OUT's extension does not say it"},
        {OPT_FAKE_QUANT, "fake-quant", 0, NULL, CMD_BIT(CMD_QUANTIZE), NULL, false,
         "write dequantized floats instead of integer codes"},
        {OPT_LIKE, "like", 0, "QUANT", CMD_BIT(CMD_QUANTIZE), "FILE", false,
         "ONNX: keep the structure of this quantized model, replace its scales and codes"},
        {OPT_EXTERNAL_DATA, "external-data", 0, NULL, CMD_BIT(CMD_QUANTIZE), NULL, false,
         "ONNX: write tensors of 1 KiB or more to the side file OUT.data (done anyway "
         "when the input has external data or OUT would pass 2 GiB)"},
};

_Static_assert(sizeof options / sizeof options[0] == OPT_COUNT, "one row per option id");

const struct cli_option *cli_options(size_t *n)
{
	*n = sizeof options / sizeof options[0];
	return options;
}

const struct cli_command *cli_command(enum cli_cmd c)
{
	return c < CMD_COUNT ? &commands[c] : NULL;
}

/* ---- values ----------------------------------------------------------- */

static int bad_value(struct qs_error *err, const char *opt, const char *val, const char *want)
{
	return qs_error_set(err, QS_ERR_USAGE, "option '--%s': '%s' is not %s", opt, val, want);
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return false;
	*out = v;
	return true;
}

int cli_parse_shard(const char *s, int *k, int *n, struct qs_error *err)
{
	const char *slash = strchr(s, '/');
	char kbuf[32];
	long kv, nv;

	if (!slash || (size_t)(slash - s) >= sizeof kbuf)
		return bad_value(err, "shard", s, "K/N (e.g. 2/8)");
	memcpy(kbuf, s, (size_t)(slash - s));
	kbuf[slash - s] = '\0';
	if (!parse_long(kbuf, 1, INT_MAX, &kv) || !parse_long(slash + 1, 1, 1000000, &nv) ||
	    kv > nv)
		return bad_value(err, "shard", s, "K/N with 1 <= K <= N");
	*k = (int)kv;
	*n = (int)nv;
	return 0;
}

int cli_parse_granularity(const char *s, enum granularity *g, uint64_t *group, struct qs_error *err)
{
	long v;

	if (!strcmp(s, "tensor") || !strcmp(s, "channel")) {
		*g = s[0] == 't' ? GRAN_TENSOR : GRAN_CHANNEL;
		*group = 0;
		return 0;
	}
	if (!strncmp(s, "group:", 6) && parse_long(s + 6, 1, 1L << 30, &v)) {
		*g = GRAN_GROUP;
		*group = (uint64_t)v;
		return 0;
	}
	return bad_value(err, "granularity", s, "tensor, channel or group:N (N >= 1)");
}

const char *cli_granularity_name(enum granularity g, uint64_t group, char *buf, size_t len)
{
	if (g == GRAN_GROUP)
		snprintf(buf, len, "group:%llu", (unsigned long long)group);
	else
		snprintf(buf, len, "%s", g == GRAN_TENSOR ? "tensor" : "channel");
	return buf;
}

static int set_scheme_opt(struct cli_args *a, enum cli_opt_id id, const char *v,
                          struct qs_error *err)
{
	struct scheme *s = &a->spec.scheme;
	long l;

	switch (id) {
	case OPT_BITS:
		if (!parse_long(v, 2, 16, &l))
			return bad_value(err, "bits", v, "a code width 2..16");
		s->bits = (int)l;
		a->has_bits = true;
		return 0;
	case OPT_SCHEME:
		if (strcmp(v, "sym") && strcmp(v, "asym"))
			return bad_value(err, "scheme", v, "sym or asym");
		s->symmetric = !strcmp(v, "sym");
		a->has_scheme = true;
		return 0;
	case OPT_GRANULARITY:
		return cli_parse_granularity(v, &s->gran, &s->group_size, err);
	case OPT_ROUNDING:
		if (strcmp(v, "even") && strcmp(v, "away"))
			return bad_value(err, "rounding", v, "even or away");
		s->rounding = v[0] == 'e' ? ROUND_HALF_EVEN : ROUND_HALF_AWAY;
		return 0;
	case OPT_SCALE_FLOOR:
		if (!parse_double(v, &s->scale_floor) || s->scale_floor < 0)
			return bad_value(err, "scale-floor", v, "a scale >= 0");
		return 0;
	case OPT_AXIS:
		if (!parse_long(v, -QS_MAX_DIMS, QS_MAX_DIMS - 1, &l))
			return bad_value(err, "axis", v, "an axis -8..7");
		s->axis = (int)l;
		a->has_axis = true;
		return 0;
	default:
		return 1;
	}
}

static int set_qtype(struct cli_args *a, const char *v, struct qs_error *err)
{
	const struct qtype *qt = qtype_find(v);

	if (!qt)
		return bad_value(err, "qtype", v, "a known storage type (see 'qscope --help')");
	a->spec.qt = qt;
	a->has_qtype = true;
	return 0;
}

static int push_glob(const char ***list, size_t *n, const char *v)
{
	const char **grown = realloc(*list, (*n + 2) * sizeof **list);

	if (!grown)
		return QS_ERR_NOMEM;
	grown[(*n)++] = v;
	grown[*n] = NULL;
	*list = grown;
	return 0;
}

static int set_format(struct cli_args *a, const char *v, struct qs_error *err)
{
	static const char *names[] = {"table", "csv", "json"};

	for (int i = 0; i < 3; i++)
		if (!strcmp(v, names[i])) {
			a->format = (enum cli_format)i;
			return 0;
		}
	return bad_value(err, "format", v, "table, csv or json");
}

static int set_value_opt(struct cli_args *a, enum cli_opt_id id, const char *v,
                         struct qs_error *err)
{
	long l;
	int rc = set_scheme_opt(a, id, v, err);

	if (rc <= 0)
		return rc;
	switch (id) {
	case OPT_QTYPE:
		return set_qtype(a, v, err);
	case OPT_METHOD:
		if (method_parse(v, &a->spec.method, err)) {
			char why[sizeof err->msg];
			snprintf(why, sizeof why, "%s", err->msg);
			return qs_error_set(err, QS_ERR_USAGE, "option '--method': %s", why);
		}
		return 0;
	case OPT_JOBS:
		if (!parse_long(v, 0, 4096, &l))
			return bad_value(err, "jobs", v, "a thread count 0..4096 (0 = cores)");
		a->jobs = (int)l;
		return 0;
	case OPT_SHARD:
		return cli_parse_shard(v, &a->shard_k, &a->shard_n, err);
	case OPT_FORMAT:
		return set_format(a, v, err);
	case OPT_FAIL_SQNR:
		if (!parse_double(v, &a->fail_sqnr))
			return bad_value(err, "fail-below-sqnr", v, "a number of dB");
		a->has_fail_sqnr = true;
		return 0;
	case OPT_SELECT:
		return push_glob(&a->select, &a->nselect, v);
	case OPT_EXCLUDE:
		return push_glob(&a->exclude, &a->nexclude, v);
	default:
		break;
	}
	const char **slot[OPT_COUNT] = {
	        [OPT_RECIPE] = &a->recipe,
	        [OPT_CSV] = &a->csv,
	        [OPT_CHANNELS_CSV] = &a->channels_csv,
	        [OPT_SAVE_RECIPE] = &a->save_recipe,
	        [OPT_OUTPUT] = &a->output,
	        [OPT_TO] = &a->to,
	        [OPT_LIKE] = &a->like,
	};
	if (!slot[id])
		return qs_error_set(err, QS_ERR_USAGE, "option '--%s' takes no value",
		                    options[id].name);
	*slot[id] = v;
	return 0;
}

static void set_flag_opt(struct cli_args *a, enum cli_opt_id id)
{
	bool *slot[OPT_COUNT] = {
	        [OPT_HELP] = &a->help,
	        [OPT_VERSION] = &a->version,
	        [OPT_MAN] = &a->man,
	        [OPT_COMPLETION] = &a->completion,
	        [OPT_LIST_QTYPES] = &a->list_qtypes,
	        [OPT_NARROW] = &a->spec.scheme.narrow,
	        [OPT_REDUCE] = &a->spec.scheme.reduce_range,
	        [OPT_FAIL_RISK] = &a->fail_risk,
	        [OPT_QUIET] = &a->quiet,
	        [OPT_FAKE_QUANT] = &a->fake_quant,
	        [OPT_EXTERNAL_DATA] = &a->external_data,
	};
	if (slot[id])
		*slot[id] = true;
}

/* ---- parsing ---------------------------------------------------------- */

static const struct cli_option *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
		if (strlen(options[i].name) == len && !strncmp(options[i].name, name, len))
			return &options[i];
	return NULL;
}

static const struct cli_option *find_short(char c)
{
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
		if (options[i].short_name == c)
			return &options[i];
	return NULL;
}

/* Handle argv[*i] (an option); may consume the next argument as its value. */
static int parse_option(struct cli_args *a, int argc, char **argv, int *i, struct qs_error *err)
{
	const char *arg = argv[*i], *val = NULL;
	const struct cli_option *o;

	if (arg[1] == '-') {
		const char *eq = strchr(arg + 2, '=');
		size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		o = find_long(arg + 2, len);
		val = eq ? eq + 1 : NULL;
	} else {
		o = arg[2] ? NULL : find_short(arg[1]);
	}
	if (!o)
		return qs_error_set(err, QS_ERR_USAGE, "unknown option '%s'", arg);
	if (!(o->cmds & CMD_BIT(a->cmd)))
		return qs_error_set(err, QS_ERR_USAGE,
		                    "option '--%s' does not apply to 'qscope %s'", o->name,
		                    commands[a->cmd].name);
	if (!o->arg) {
		if (val)
			return qs_error_set(err, QS_ERR_USAGE, "option '--%s' takes no value",
			                    o->name);
		set_flag_opt(a, o->id);
		return 0;
	}
	if (!val) {
		if (*i + 1 >= argc)
			return qs_error_set(err, QS_ERR_USAGE, "option '--%s' needs a value (%s)",
			                    o->name, o->arg);
		val = argv[++*i];
	}
	return set_value_opt(a, o->id, val, err);
}

static void args_init(struct cli_args *a)
{
	*a = (struct cli_args){0};
	a->spec.qt = NULL;
	a->spec.scheme = scheme_default();
	a->spec.method = (struct method){.kind = METHOD_MINMAX};
	a->format = FORMAT_TABLE;
}

static int pick_command(struct cli_args *a, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int c = 0; c < CMD_COUNT; c++)
		if (!strcmp(argv[1], commands[c].name)) {
			a->cmd = (enum cli_cmd)c;
			a->cmd_explicit = true;
			return 2;
		}
	return 1;
}

/* The qtype fixes bits and signedness; an explicit --bits must agree. */
static int finish_spec(struct cli_args *a, struct qs_error *err)
{
	struct scheme *s = &a->spec.scheme;
	const char *why = NULL;

	if (a->has_qtype && a->spec.qt->family == QTYPE_LINEAR) {
		if (a->has_bits && s->bits != a->spec.qt->bits)
			return qs_error_set(err, QS_ERR_USAGE,
			                    "options '--qtype %s' and '--bits %d' disagree",
			                    a->spec.qt->name, s->bits);
		s->bits = a->spec.qt->bits;
		s->is_signed = a->spec.qt->is_signed;
	}
	if (s->gran == GRAN_GROUP && !a->has_axis)
		s->axis = -1;
	if (!scheme_valid(s, &why))
		return qs_error_set(err, QS_ERR_USAGE, "invalid scheme: %s", why ? why : "?");
	return 0;
}

static int check_positionals(const struct cli_args *a, struct qs_error *err)
{
	const struct cli_command *c = &commands[a->cmd];

	if (a->help || a->version || a->man || a->completion || a->list_qtypes)
		return 0;
	if ((int)a->npos < c->min_pos)
		return qs_error_set(err, QS_ERR_USAGE, "'qscope %s' needs %s", c->name,
		                    c->min_pos == 1 && c->max_pos != 1 ? "at least one file"
		                                                       : "a file argument");
	if (c->max_pos >= 0 && (int)a->npos > c->max_pos)
		return qs_error_set(err, QS_ERR_USAGE,
		                    "'qscope %s' takes at most %d file%s, got '%s'", c->name,
		                    c->max_pos, c->max_pos == 1 ? "" : "s", a->pos[c->max_pos]);
	if (a->cmd == CMD_QUANTIZE && !a->output)
		return qs_error_set(err, QS_ERR_USAGE, "'qscope quantize' needs -o OUT");
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_args *a, struct qs_error *err)
{
	bool opts_done = false;
	int rc;

	args_init(a);
	a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
	if (!a->pos)
		return qs_error_set(err, QS_ERR_NOMEM, "out of memory");
	for (int i = pick_command(a, argc, argv); i < argc; i++) {
		const char *arg = argv[i];
		if (!opts_done && !strcmp(arg, "--")) {
			opts_done = true;
		} else if (!opts_done && arg[0] == '-' && arg[1]) {
			rc = parse_option(a, argc, argv, &i, err);
			if (rc)
				return rc == QS_ERR_NOMEM ? qs_error_set(err, rc, "out of memory")
				                          : rc;
		} else {
			a->pos[a->npos++] = arg;
		}
	}
	rc = finish_spec(a, err);
	return rc ? rc : check_positionals(a, err);
}

void cli_args_free(struct cli_args *a)
{
	if (!a)
		return;
	free(a->pos);
	free(a->select);
	free(a->exclude);
	a->pos = NULL;
	a->select = a->exclude = NULL;
}

/* ---- help ------------------------------------------------------------- */

void cli_print_version(FILE *f)
{
	fprintf(f, "qscope %s\n", QSCOPE_VERSION);
}

/* Print text wrapped at width, every line indented by indent spaces. */
static void print_wrapped(FILE *f, const char *text, int indent, int first_col, int width)
{
	int col = first_col;
	const char *p = text;

	while (*p) {
		while (*p == ' ')
			p++;
		size_t w = strcspn(p, " ");
		if (!w)
			break;
		if (col > indent && col + 1 + (int)w > width) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		} else if (col < indent) {
			fprintf(f, "%*s", indent - col, "");
			col = indent;
		}
		fwrite(p, 1, w, f);
		col += (int)w;
		p += w;
	}
	fputc('\n', f);
}

static int option_label(const struct cli_option *o, char *buf, size_t len)
{
	char sh[8] = "    ";
	if (o->short_name)
		snprintf(sh, sizeof sh, "-%c, ", o->short_name);
	return snprintf(buf, len, "%s--%s%s%s", sh, o->name, o->arg ? " " : "",
	                o->arg ? o->arg : "");
}

void cli_print_help(FILE *f, enum cli_cmd c, bool cmd_explicit)
{
	const struct cli_command *cmd = &commands[c];
	char label[64];

	fprintf(f, "usage: qscope %s\n", cmd->usage);
	if (!cmd_explicit)
		for (int i = 1; i < CMD_COUNT; i++)
			fprintf(f, "       qscope %s\n", commands[i].usage);
	fprintf(f, "\n");
	print_wrapped(f, cmd->details, 0, 0, 78);
	if (!cmd_explicit) {
		fprintf(f, "\ncommands:\n");
		for (int i = 0; i < CMD_COUNT; i++)
			fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	}
	fprintf(f, "\noptions:\n");
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
		const struct cli_option *o = &options[i];
		if (o->hidden || !(o->cmds & CMD_BIT(c)))
			continue;
		int n = option_label(o, label, sizeof label);
		fprintf(f, "  %s", label);
		if (n + 2 > 28) {
			fputc('\n', f);
			n = -2;
		}
		print_wrapped(f, o->help, 30, n + 2, 78);
	}
	if (c == CMD_REPORT || !cmd_explicit)
		fprintf(f,
		        "\nexit status: 0 ok, 1 a gate tripped (--fail-below-sqnr, --fail-on-risk, "
		        "a recipe min_sqnr), 2 bad input or usage.\n");
	else
		fprintf(f, "\nexit status: 0 ok, 2 bad input or usage.\n");
	if (!cmd_explicit)
		fprintf(f, "Run 'qscope COMMAND --help' for the options of one command.\n");
}

/* ---- man page --------------------------------------------------------- */

static void roff_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '\'' && s[1] != 's')
			fputs("\\(aq", f);
		else
			fputc(*s, f);
	}
}

static void man_commands(FILE *f)
{
	fprintf(f, ".SH COMMANDS\n");
	for (int i = 0; i < CMD_COUNT; i++) {
		fprintf(f, ".TP\n.B qscope ");
		roff_text(f, commands[i].usage);
		fprintf(f, "\n");
		roff_text(f, commands[i].details);
		fprintf(f, "\n");
	}
}

static void man_option_cmds(FILE *f, unsigned cmds)
{
	if (cmds == ALL_CMDS)
		return;
	fprintf(f, " (");
	const char *sep = "";
	for (int c = 0; c < CMD_COUNT; c++)
		if (cmds & CMD_BIT(c)) {
			fprintf(f, "%s%s", sep, commands[c].name);
			sep = ", ";
		}
	fprintf(f, ")");
}

static void man_options(FILE *f)
{
	fprintf(f, ".SH OPTIONS\n");
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
		const struct cli_option *o = &options[i];
		if (o->hidden)
			continue;
		fprintf(f, ".TP\n");
		if (o->short_name)
			fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
		fprintf(f, "\\fB\\-\\-");
		roff_text(f, o->name);
		fprintf(f, "\\fR");
		if (o->arg) {
			fprintf(f, " \\fI");
			roff_text(f, o->arg);
			fprintf(f, "\\fR");
		}
		fprintf(f, "\n");
		roff_text(f, o->help);
		man_option_cmds(f, o->cmds);
		fprintf(f, "\n");
	}
}

static const char *man_tail =
        ".SH RECIPES\n"
        "A recipe is a CSV file with the header "
        "pattern,action,bits,scheme,granularity,method and optionally qtype,min_sqnr. "
        "pattern is a glob on tensor names; the first matching row wins; action is "
        "quantize or keep\\-float; empty cells inherit the command\\-line defaults; "
        "min_sqnr makes report exit 1 when that tensor's SQNR falls below it. Biases "
        "(when the graph says so) stay in float unless a row quantizes them.\n"
        ".SH SHARDED RUNS\n"
        "\\-\\-shard K/N assigns the tensors, largest first, to the least\\-loaded of N "
        "shards (ties by name), so independent jobs agree without talking. Their CSV "
        "files end with the columns row (the position in the unsharded order), shard "
        "(K/N) and run (a hash of the model names and sizes and of every option that "
        "changes results); merge requires one run and every shard exactly once.\n"
        ".SH ENVIRONMENT\n"
        ".TP\n.B NO_COLOR\nthe TUI draws without colours\n"
        ".TP\n.B XDG_CACHE_HOME\nwhere a bare qscope writes the demo models when no "
        "bundled copy is found (default ~/.cache)\n"
        ".SH EXIT STATUS\n"
        ".TP\n.B 0\nsuccess\n"
        ".TP\n.B 1\na \\-\\-fail\\-below\\-sqnr or \\-\\-fail\\-on\\-risk gate (or a recipe "
        "min_sqnr) tripped; the failing tensors are named on stderr\n"
        ".TP\n.B 2\nbad input or usage; one line on stderr names the file or option and what "
        "is wrong\n"
        ".SH EXAMPLES\n"
        ".nf\n"
        "qscope report float.onnx quant.onnx \\-\\-csv tensors.csv \\-\\-channels\\-csv ch.csv\n"
        "qscope report w.npz \\-\\-bits 4 \\-\\-method mse \\-\\-fail\\-below\\-sqnr 20\n"
        "qscope quantize float.onnx \\-o out.onnx \\-\\-recipe recipe.csv\n"
        "parallel qscope report m.gguf \\-\\-shard {}/4 \\-\\-csv part{}.csv ::: 1 2 3 4\n"
        "qscope merge part*.csv \\-o tensors.csv\n"
        ".fi\n"
        ".SH SEE ALSO\n"
        "The examples for GNU parallel and Slurm array jobs in share/examples.\n";

void cli_print_man(FILE *f)
{
	fprintf(f, ".\\\" Generated by 'qscope --man' from the option table in app/cli.c.\n");
	fprintf(f, ".TH QSCOPE 1 \"\" \"qscope %s\" \"User Commands\"\n", QSCOPE_VERSION);
	fprintf(f, ".SH NAME\nqscope \\- terminal workbench for neural\\-network quantization "
	           "error\n.SH SYNOPSIS\n.nf\n");
	for (int i = 0; i < CMD_COUNT; i++) {
		fprintf(f, ".B qscope ");
		roff_text(f, commands[i].usage);
		fprintf(f, "\n");
	}
	fprintf(f, ".fi\n.SH DESCRIPTION\n");
	roff_text(f, "qscope pairs the tensors of a float model and its quantized counterpart "
	             "(ONNX, GGUF, safetensors, npy/npz, TFLite/circle), measures the error of "
	             "every tensor and "
	             "channel (MSE, RMSE, MAE, max error, SQNR, cosine, clipped share, levels and "
	             "entropy of the codes, overflow risk), lets you change how each tensor is "
	             "quantized and writes the chosen model back in its own format.");
	fprintf(f, "\n");
	man_commands(f);
	man_options(f);
	fputs(man_tail, f);
}

/* ---- bash completion -------------------------------------------------- */

void cli_print_qtypes(FILE *f)
{
	const struct qtype *q;

	for (size_t i = 0; (q = qtype_at(i)); i++)
		fprintf(f, "%s\n", q->name);
}

static void completion_words(FILE *f, const char *values)
{
	if (!strcmp(values, "@qtype")) {
		/* asked of the binary, so the list follows the qtype table */
		fputs("$(\"${COMP_WORDS[0]}\" --list-qtypes 2>/dev/null)", f);
	} else if (!strcmp(values, "@method")) {
		for (int k = 0; k < METHOD_COUNT; k++)
			fprintf(f, "%s%s%s", k ? " " : "", method_kind_name((enum method_kind)k),
			        k == METHOD_PERCENTILE ? ":99.9" : "");
	} else {
		fputs(values, f);
	}
}

static void completion_values(FILE *f)
{
	fprintf(f, "\tcase $prev in\n");
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
		const struct cli_option *o = &options[i];
		if (o->hidden || !o->arg)
			continue;
		fprintf(f, "\t--%s", o->name);
		if (o->short_name)
			fprintf(f, " | -%c", o->short_name);
		if (!o->values)
			fprintf(f, ")\n\t\treturn ;;\n");
		else if (!strcmp(o->values, "FILE"))
			fprintf(f, ")\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n\t\treturn ;;\n");
		else {
			fprintf(f, ")\n\t\tCOMPREPLY=($(compgen -W \"");
			completion_words(f, o->values);
			fprintf(f, "\" -- \"$cur\"))\n\t\treturn ;;\n");
		}
	}
	fprintf(f, "\tesac\n");
}

static void completion_options(FILE *f)
{
	fprintf(f, "\tcase $cmd in\n");
	for (int c = 0; c < CMD_COUNT; c++) {
		fprintf(f, "\t%s) opts=\"", commands[c].name);
		const char *sep = "";
		for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
			const struct cli_option *o = &options[i];
			if (o->hidden || !(o->cmds & CMD_BIT(c)))
				continue;
			fprintf(f, "%s--%s", sep, o->name);
			sep = " ";
		}
		fprintf(f, "\" ;;\n");
	}
	fprintf(f, "\tesac\n");
}

void cli_print_completion(FILE *f)
{
	fprintf(f, "# bash completion for qscope, generated from the option table in app/cli.c\n"
	           "# (regenerate: qscope's hidden \"completion\" option).\n_qscope()\n{\n"
	           "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	           "\tlocal cmd=tui opts i\n"
	           "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	           "\t\tcase ${COMP_WORDS[i]} in\n\t\t");
	for (int c = 0; c < CMD_COUNT; c++)
		fprintf(f, "%s%s", c ? " | " : "", commands[c].name);
	fprintf(f, ")\n\t\t\tcmd=${COMP_WORDS[i]}\n\t\t\tbreak ;;\n\t\tesac\n\tdone\n");
	completion_values(f);
	completion_options(f);
	fprintf(f, "\tif [[ $cur == -* ]]; then\n"
	           "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n\t\treturn\n\tfi\n"
	           "\tCOMPREPLY=()\n\tif ((COMP_CWORD == 1)); then\n"
	           "\t\tCOMPREPLY=($(compgen -W \"");
	for (int c = 0; c < CMD_COUNT; c++)
		fprintf(f, "%s%s", c ? " " : "", commands[c].name);
	fprintf(f, "\" -- \"$cur\"))\n\tfi\n"
	           "\tCOMPREPLY+=($(compgen -f -- \"$cur\"))\n}\n"
	           "complete -o filenames -F _qscope qscope\n");
}
