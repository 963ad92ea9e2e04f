#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "utils/log.h"
#include "utils/strutil.h"
#include "write/backend.h"
#include "find/keep_expr.h"
#include "find/pattern.h"
#include "ctrace.h"

#define DEFAULT_OUTPUT "ctrace.json"
#define DEFAULT_BUFFER (16ull << 20)

static const char usage_text[] =
	"Usage: ctrace-bpf [OPTIONS] -- PROGRAM [ARGS...]   launch PROGRAM and trace it\n"
	"       ctrace-bpf [OPTIONS] -p PID                 attach to a running process\n"
	"       ctrace-bpf report TRACE.json [--tree]       per-function table, call listing\n"
	"       ctrace-bpf convert TRACE.json --to FORMAT -o OUT\n"
	"       ctrace-bpf list BINARY | check BINARY       instrumented functions; traceable?\n"
	"       (each subcommand has its own --help)\n"
	"\n"
	"Traces every call of a program built with `gcc -finstrument-functions -g`\n"
	"through BPF uprobes and writes one JSON call tree per thread.\n"
	"Needs root (or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE).\n"
	"\n"
	"Output:\n"
	"  -o, --output FILE        where to write the trace (default: " DEFAULT_OUTPUT ");\n"
	"                           written to a temporary file and renamed when complete;\n"
	"                           FILE.jsonl: one JSON object per line (jq at any depth)\n"
	"  -f, --format FMT         also write the trace as FMT beside it: chrome (Perfetto,\n"
	"                           chrome://tracing), speedscope, folded (flamegraph.pl,\n"
	"                           inferno), svg (a flame graph), jsonl or perfetto\n"
	"                           (protobuf, ui.perfetto.dev); json is always written\n"
	"  -a, --args               capture each call's arguments, typed from DWARF (needs\n"
	"                           -g). A value that cannot be read exactly is null with\n"
	"                           an \"unavailable\" reason (e.g. optimized out at -O2)\n"
	"  -r, --retval             capture return values (a return probe per function)\n"
	"      --capture PATTERN    -a/-r only for matching functions (repeatable; same\n"
	"                           syntax as -F); implies -a -r unless one is given\n"
	"      --string-size N      bytes of a char * string shown (default 128, max 255)\n"
	"      --summary[=thread]   no call trees: BPF keeps each function's calls, total,\n"
	"                           self, min and max time (=thread: per thread too); the\n"
	"                           table is printed and FILE holds it as \"summary\".\n"
	"                           Calls that cannot be timed (began before tracing,\n"
	"                           left by longjmp, ...) are counted and said. Not with\n"
	"                           -a/-r, -f, or -o FILE.ctrace/.jsonl\n"
	"      --last N             flight recorder: keep only each thread's last N calls\n"
	"                           (in memory); written at the end, and as FILE.1.json,\n"
	"                           FILE.2.json, ... on each SIGUSR1 to the tracer while\n"
	"                           tracing goes on. Not with --summary or -o FILE.ctrace\n"
	"      --min-duration DUR   write only calls that lasted at least DUR (500us, 2ms,\n"
	"                           1.5s), with their callers; calls whose duration is\n"
	"                           not known (partial) are kept.  e.g. --min-duration 2ms\n"
	"      --keep-if 'FUNC: CONDITION'  write a call of FUNC with its whole subtree\n"
	"                           (and its callers) only when CONDITION holds at its\n"
	"                           return: retval, duration or arg.NAME compared (== !=\n"
	"                           < <= > >=) with a number, NULL or a duration, joined\n"
	"                           by && and ||. Repeatable; FUNC's arguments and return\n"
	"                           value are captured. Each open FUNC call's subtree is\n"
	"                           kept in memory until it returns; a call whose operand\n"
	"                           cannot be read is not kept (counted).\n"
	"                           e.g. --keep-if 'read_file: retval < 0 || duration > 5ms'\n"
	"                           Both filter what is written: not with --summary or\n"
	"                           -o FILE.ctrace\n"
	"      --srcline            each call's \"source\": its function's FILE:LINE, and\n"
	"                           \"call_site\": the caller's line that called it, from\n"
	"                           DWARF's line table (needs -g; none without), e.g.\n"
	"                           ctrace-bpf --srcline -- ./app\n"
	"      --memory             probe malloc/free and the rest of the allocator\n"
	"                           (C++ new/delete call them): each call's \"memory\"\n"
	"                           (what it allocated and freed), and \"leaks\": the\n"
	"                           blocks never freed, by the call stack that made them.\n"
	"                           e.g. ctrace-bpf --memory -o t.json -- ./app\n"
	"\n"
	"What to trace (an excluded function is not probed, or costs a check in the\n"
	"batch hooks):\n"
	"  -F, --filter PATTERN     trace only matching functions; repeatable.\n"
	"                           PATTERN is a glob (`parse_*`, `ns::Foo::*`) or a\n"
	"                           /regex/ (POSIX extended, unanchored). It is matched\n"
	"                           against the symbol name, the demangled name, and the\n"
	"                           demangled name without its parameter list.\n"
	"  -N, --exclude PATTERN    never trace matching functions; repeatable. The\n"
	"                           traced calls below an excluded one move up to its\n"
	"                           nearest traced caller.\n"
	"      --filter-file FILE   one pattern per line; `!PATTERN` excludes, `#` comments\n"
	"      --subtree PATTERN    record only the calls of matching functions and all\n"
	"                           they call (repeatable; same syntax as -F), at depths\n"
	"                           counted from each subtree's root; decided in BPF,\n"
	"                           nothing else is sent. e.g. --subtree 'parse_*'\n"
	"      --caller PATTERN     record each call of a matching function (without its\n"
	"                           callees) and the chain of calls that led to it\n"
	"                           (repeatable), as uftrace -C. e.g. --caller malloc_hook\n"
	"  -D, --max-depth N        record calls at most N deep in each thread (1 = the\n"
	"                           thread's outermost traced call; only traced calls\n"
	"                           count; default: no limit).\n"
	"                           In attach mode depth counts from the first call seen.\n"
	"\n"
	"Running:\n"
	"  -p, --pid PID            attach to a running process (all its threads, and the\n"
	"                           ones it creates); detach on Ctrl-C, SIGTERM,\n"
	"                           --duration, or when it exits. The process runs on.\n"
	"      --duration SECONDS   stop tracing (and detach) after this long\n"
	"      --follow-forks       also trace the processes the target forks (and\n"
	"                           theirs), each under its own pid; tracing goes on\n"
	"                           until all have exited. Without it, children are\n"
	"                           ignored. An exec is always followed: the new image\n"
	"                           is traced when it is instrumented\n"
	"  -u, --user USER          launch the program as USER (name or uid), with its\n"
	"                           groups, as strace -u does; the tracer stays root\n"
	"  -b, --buffer-size SIZE   BPF ring buffer size, e.g. 64M (default: 16M; a\n"
	"                           power of two). Events that do not fit are counted\n"
	"                           in metadata.lost_events, never dropped silently.\n"
	"      --probe MODE         where the probes sit: auto (default), batch, preload\n"
	"                           or callsite. batch (launch mode): the preloaded\n"
	"                           hooks buffer calls per thread, BPF copies each full\n"
	"                           buffer (~0.05 us per call; with -F/-N an excluded\n"
	"                           call costs a check, ~2 ns). preload: NOP-headed hooks\n"
	"                           of a preloaded library, a probe hit per event\n"
	"                           (~1.1 us). callsite: the call instructions to the\n"
	"                           hooks inside each selected function (~1.4 us), so\n"
	"                           unselected functions cost nothing; used with -p.\n"
	"                           auto: batch in launch mode unless an option needs\n"
	"                           per-call probes (-a, -r, --summary, --subtree,\n"
	"                           --caller, --srcline); then preload, or callsite\n"
	"                           with filters; -v says which. E.g. --probe preload\n"
	"  -v, --verbose            say what is being probed; -vv adds libbpf's log\n"
	"  -h, --help               this help\n"
	"  -V, --version            print the version\n"
	"\n"
	"Exit status: the target's own; 128+N when signal N killed it; 1 with a\n"
	"one-line reason when tracing could not start; 2 for a usage error.\n"
	"\n"
	"Examples:\n"
	"  gcc -finstrument-functions -g -O2 app.c -o app -lpthread\n"
	"  sudo ctrace-bpf -o trace.json -- ./app arg1 arg2\n"
	"  sudo ctrace-bpf -F 'parse_*' -N '/^log_/' -- ./app\n"
	"  sudo ctrace-bpf -o live.json -p $(pidof server) --duration 5\n"
	"  sudo ctrace-bpf --summary -o profile.json -p $(pidof server) --duration 3600\n"
	"  sudo ctrace-bpf --last 10000 -o ring.json -p $(pidof server)\n"
	"  kill -USR1 $(pidof ctrace-bpf)   # ring.1.json: each thread's last 10000 calls\n"
	"  sudo ctrace-bpf --subtree handle_request -p $(pidof server) --duration 5\n"
	"  sudo ctrace-bpf --caller 'free_*' -- ./app\n"
	"  jq '.metadata.total_calls' trace.json\n";

enum {
	OPT_DURATION = 256,
	OPT_FILTER_FILE,
	OPT_PROBE,
	OPT_BENCH_EMPTY,
	OPT_CAPTURE,
	OPT_STRING_SIZE,
	OPT_FOLLOW_FORKS,
	OPT_SUMMARY,
	OPT_LAST,
	OPT_MIN_DURATION,
	OPT_KEEP_IF,
	OPT_SRCLINE,
	OPT_MEMORY,
	OPT_SUBTREE,
	OPT_CALLER,
};

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'f' },
	{ "args", no_argument, NULL, 'a' },
	{ "retval", no_argument, NULL, 'r' },
	{ "max-depth", required_argument, NULL, 'D' },
	{ "filter", required_argument, NULL, 'F' },
	{ "exclude", required_argument, NULL, 'N' },
	{ "filter-file", required_argument, NULL, OPT_FILTER_FILE },
	{ "pid", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "buffer-size", required_argument, NULL, 'b' },
	{ "probe", required_argument, NULL, OPT_PROBE },
	{ "bench-empty", no_argument, NULL, OPT_BENCH_EMPTY },
	{ "capture", required_argument, NULL, OPT_CAPTURE },
	{ "string-size", required_argument, NULL, OPT_STRING_SIZE },
	{ "user", required_argument, NULL, 'u' },
	{ "follow-forks", no_argument, NULL, OPT_FOLLOW_FORKS },
	{ "summary", optional_argument, NULL, OPT_SUMMARY },
	{ "last", required_argument, NULL, OPT_LAST },
	{ "min-duration", required_argument, NULL, OPT_MIN_DURATION },
	{ "keep-if", required_argument, NULL, OPT_KEEP_IF },
	{ "srcline", no_argument, NULL, OPT_SRCLINE },
	{ "memory", no_argument, NULL, OPT_MEMORY },
	{ "subtree", required_argument, NULL, OPT_SUBTREE },
	{ "caller", required_argument, NULL, OPT_CALLER },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ 0 },
};

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "64M", "1G", "65536" → bytes; a power of two between 4 KiB and 1 GiB */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1ull << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1ull << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1ull << 30;
		end++;
		break;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end || v > (1ull << 30) / mul)
		return -1;
	v *= mul;
	if (v < 4096 || (v & (v - 1)))
		return -1;
	*out = v;
	return 0;
}

/* --summary writes no call: the options that shape calls do not apply */
static int summary_conflict(const struct config *cfg)
{
	const char *o = cfg->output;
	size_t n = strlen(o);
	const char *what = cfg->min_duration			  ? "--min-duration" :
			   cfg->nkeep_if			  ? "--keep-if" :
			   cfg->args				  ? "--args" :
			   cfg->retval				  ? "--retval" :
			   cfg->format				  ? "--format" :
			   n > 7 && !strcmp(o + n - 7, ".ctrace") ? "-o FILE.ctrace" :
			   n > 6 && !strcmp(o + n - 6, ".jsonl")  ? "-o FILE.jsonl" :
								    NULL;

	if (cfg->shape_mode)
		what = cfg->shape_mode == CTRACE_SHAPE_SUBTREE ? "--subtree" : "--caller";
	if (what)
		log_err("--summary keeps no calls, so %s does not apply: drop one of them", what);
	return what ? -1 : 0;
}

/* --min-duration / --keep-if filter the trees written: -o FILE.ctrace
 * keeps every event (its replay would not know them) */
static int keep_conflict(const struct config *cfg)
{
	size_t n = strlen(cfg->output);

	if (!cfg->min_duration && !cfg->nkeep_if)
		return 0;
	if (n > 7 && !strcmp(cfg->output + n - 7, ".ctrace")) {
		log_err("%s filters the call trees written, and -o FILE.ctrace keeps every "
			"event: write .json or .jsonl",
			cfg->min_duration ? "--min-duration" : "--keep-if");
		return -1;
	}
	return 0;
}

static int add_keep_if(struct config *cfg, const char *text)
{
	struct keep_rule *r = realloc(cfg->keep_if, (cfg->nkeep_if + 1) * sizeof(*r));
	char err[256];

	if (!r) {
		log_err("out of memory");
		return -1;
	}
	cfg->keep_if = r;
	if (keep_rule_parse(&r[cfg->nkeep_if], text, err, sizeof(err))) {
		log_err("--keep-if: %s", err);
		return -1;
	}
	cfg->nkeep_if++;
	return 0;
}

/* --keep-if reads FUNC's arguments and return value: they are captured for
 * FUNC (alone, when nothing else was asked; else what was asked widens) */
static int keep_if_capture(struct config *cfg)
{
	bool alone = !cfg->args && !cfg->retval;
	char err[256];

	if (alone && !(cfg->capture_filter = filter_new())) {
		log_err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nkeep_if; i++) {
		const struct keep_rule *r = &cfg->keep_if[i];

		if (cfg->capture_filter &&
		    filter_add(cfg->capture_filter, r->func, false, err, sizeof(err))) {
			log_err("--keep-if: invalid function name '%s': %s", r->func, err);
			return -1;
		}
		cfg->args |= alone || r->needs_args;
		cfg->retval |= alone || r->needs_retval;
	}
	return 0;
}

void cli_free_keep_if(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nkeep_if; i++)
		keep_rule_free(&cfg->keep_if[i]);
	free(cfg->keep_if);
	cfg->keep_if = NULL;
	cfg->nkeep_if = 0;
}

/* --subtree / --caller PATTERN: one of the two, as often as wanted */
static int shape_add(struct config *cfg, int mode, const char *pattern)
{
	const char *opt = mode == CTRACE_SHAPE_SUBTREE ? "--subtree" : "--caller";
	char err[256];

	if (cfg->shape_mode && cfg->shape_mode != mode) {
		log_err("--subtree and --caller cannot be combined: give one of them");
		return -1;
	}
	cfg->shape_mode = mode;
	if (!cfg->shape && !(cfg->shape = filter_new())) {
		log_err("out of memory");
		return -1;
	}
	if (filter_add(cfg->shape, pattern, false, err, sizeof(err))) {
		log_err("invalid %s pattern '%s': %s", opt, pattern, err);
		return -1;
	}
	return 0;
}

/* never, not "yet": batching saves a record per call, which this is */
static const char srcline_per_call[] = "--srcline (each call's \"call_site\" is read at the call)";

/* --probe batch: what it does not take, or NULL. Each needs a value read or
 * a decision made at the call, which the buffered hooks do not make. */
const char *cli_batch_refusal(const struct config *cfg)
{
	return cfg->pid				   ? "-p (it needs launch mode)" :
	       cfg->args || cfg->retval		   ? "--args/--retval" :
	       cfg->summary			   ? "--summary" :
	       cfg->shape_mode			   ? "--subtree/--caller" :
	       cfg->srcline			   ? srcline_per_call :
	       cfg->bench_empty			   ? "--bench-empty" :
							     NULL;
}

static int batch_check(const struct config *cfg)
{
	const char *what = cli_batch_refusal(cfg);

	if (!what)
		return 0;
	log_err("--probe batch does not go with %s%s", what, what == srcline_per_call ? "" : " yet");
	return -1;
}

int cli_parse(int argc, char **argv, struct config *cfg)
{
	const char *bad;
	char err[256];
	long v;
	double d;
	char *end;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->output = DEFAULT_OUTPUT;
	cfg->string_size = 128;
	cfg->buffer_size = DEFAULT_BUFFER;
	cfg->filter = filter_new();
	if (!cfg->filter) {
		log_err("out of memory");
		return -1;
	}
	opterr = 0;
	/* "+": stop at the program's name so its own options stay its own */
	while ((c = getopt_long(argc, argv, "+:o:f:arD:F:N:p:b:u:vhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg) {
				log_err("-o needs a file name");
				return -1;
			}
			cfg->output = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") && !format_find(optarg)) {
				log_err("invalid --format '%s': expected json, %s", optarg,
					format_names());
				return -1;
			}
			cfg->format = optarg;
			break;
		case 'a': cfg->args = true; break;
		case 'r': cfg->retval = true; break;
		case 'D':
			if (parse_long(optarg, 1, INT32_MAX, &v)) {
				log_err("invalid --max-depth '%s': expected a whole number >= 1",
					optarg);
				return -1;
			}
			cfg->max_depth = (int)v;
			break;
		case 'F':
		case 'N':
			if (filter_add(cfg->filter, optarg, c == 'N', err, sizeof(err))) {
				log_err("invalid %s pattern '%s': %s",
					c == 'F' ? "--filter" : "--exclude", optarg, err);
				return -1;
			}
			break;
		case OPT_FILTER_FILE:
			if (filter_add_file(cfg->filter, optarg, err, sizeof(err))) {
				log_err("--filter-file: %s", err);
				return -1;
			}
			cfg->filter_file = optarg;
			break;
		case 'p':
			if (parse_long(optarg, 1, INT32_MAX, &v)) {
				log_err("invalid --pid '%s': expected a process id", optarg);
				return -1;
			}
			cfg->pid = (pid_t)v;
			break;
		case OPT_DURATION:
			errno = 0;
			d = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(d) || d <= 0 || d > 1e9) {
				log_err("invalid --duration '%s': expected seconds > 0, e.g. 5 or 0.5",
					optarg);
				return -1;
			}
			cfg->duration = d;
			break;
		case 'b':
			if (parse_size(optarg, &cfg->buffer_size)) {
				log_err("invalid --buffer-size '%s': expected a power of two from 4K to 1G, e.g. 64M",
					optarg);
				return -1;
			}
			break;
		case OPT_PROBE:
			if (!strcmp(optarg, "auto"))
				cfg->probe = PROBE_AUTO;
			else if (!strcmp(optarg, "preload"))
				cfg->probe = PROBE_PRELOAD;
			else if (!strcmp(optarg, "callsite"))
				cfg->probe = PROBE_CALLSITE;
			else if (!strcmp(optarg, "batch"))
				cfg->probe = PROBE_BATCH;
			else {
				log_err("invalid --probe '%s': expected auto, preload, callsite or batch",
					optarg);
				return -1;
			}
			break;
		case OPT_CAPTURE:
			if (!cfg->capture_filter && !(cfg->capture_filter = filter_new())) {
				log_err("out of memory");
				return -1;
			}
			if (filter_add(cfg->capture_filter, optarg, false, err, sizeof(err))) {
				log_err("invalid --capture pattern '%s': %s", optarg, err);
				return -1;
			}
			break;
		case OPT_STRING_SIZE:
			if (parse_long(optarg, 1, 255, &v)) {
				log_err("invalid --string-size '%s': expected 1 to 255", optarg);
				return -1;
			}
			cfg->string_size = (uint32_t)v;
			break;
		case OPT_FOLLOW_FORKS: cfg->follow_forks = true; break;
		case OPT_SRCLINE: cfg->srcline = true; break;
		case OPT_MEMORY: cfg->memory = true; break;
		case OPT_SUMMARY:
			if (!optarg || !strcmp(optarg, "function"))
				cfg->summary = SUMMARY_FUNCTION;
			else if (!strcmp(optarg, "thread"))
				cfg->summary = SUMMARY_THREAD;
			else {
				log_err("invalid --summary '%s': expected function or thread",
					optarg);
				return -1;
			}
			break;
		case OPT_LAST:
			if (parse_long(optarg, 1, UINT32_MAX >> 2, &v)) {
				log_err("invalid --last '%s': expected a number of calls >= 1",
					optarg);
				return -1;
			}
			cfg->last = (uint32_t)v;
			break;
		case OPT_MIN_DURATION:
			if (keep_parse_duration(optarg, &cfg->min_duration_ns, &bad)) {
				log_err("invalid --min-duration '%s': expected a duration with its unit (ns, us, ms, s), e.g. 500us",
					optarg);
				return -1;
			}
			cfg->min_duration = true;
			break;
		case OPT_KEEP_IF:
			if (add_keep_if(cfg, optarg))
				return -1;
			break;
		case OPT_SUBTREE:
		case OPT_CALLER:
			if (shape_add(cfg,
				      c == OPT_SUBTREE ? CTRACE_SHAPE_SUBTREE : CTRACE_SHAPE_CALLER,
				      optarg))
				return -1;
			break;
		case OPT_BENCH_EMPTY: cfg->bench_empty = true; break;
		case 'u': cfg->user = optarg; break;
		case 'v': cfg->verbose++; break;
		case 'h': fputs(usage_text, stdout); return 1;
		case 'V': printf("ctrace-bpf %s\n", CTRACE_VERSION); return 1;
		case ':':
			log_err("option '%s' needs a value (see --help)", argv[optind - 1]);
			return -1;
		default:
			if (optopt)
				log_err("unknown option '-%c' (see --help)", optopt);
			else
				log_err("unknown option '%s' (see --help)", argv[optind - 1]);
			return -1;
		}
	}
	if (cfg->capture_filter && !cfg->args && !cfg->retval)
		cfg->args = cfg->retval = true;
	cfg->argv = argv + optind;
	cfg->argc = argc - optind;
	if (cfg->pid && cfg->argc) {
		log_err("give either -p PID or a program to launch, not both");
		return -1;
	}
	if (!cfg->pid && !cfg->argc) {
		log_err("nothing to trace: give -- PROGRAM [ARGS...] or -p PID (see --help)");
		return -1;
	}
	if (cfg->pid && cfg->user) {
		log_err("-u is for launching a program; with -p the process runs as it is");
		return -1;
	}
	if ((cfg->summary && summary_conflict(cfg)) || keep_conflict(cfg) ||
	    (cfg->nkeep_if && keep_if_capture(cfg)))
		return -1;
	if (cfg->last && (cfg->summary || str_has_suffix(cfg->output, ".ctrace"))) {
		log_err("--last keeps calls in memory: it does not go with %s",
			cfg->summary ? "--summary" : "-o FILE.ctrace (use .json or .jsonl)");
		return -1;
	}
	if (cfg->memory && (cfg->summary || cfg->shape_mode || cfg->last)) {
		log_err("--memory attributes allocations to the calls of whole trees: it does "
			"not go with %s",
			cfg->summary ? "--summary" : cfg->last ? "--last" : "--subtree/--caller");
		return -1;
	}
	if (cfg->memory && cfg->follow_forks) {
		/* its probes would be on every process that maps the C library */
		log_err("--memory does not follow forked processes: drop --follow-forks");
		return -1;
	}
	if (cfg->pid && cfg->probe == PROBE_PRELOAD) {
		log_err("--probe preload needs launch mode: a running process cannot be made to preload");
		return -1;
	}
	return cfg->probe == PROBE_BATCH ? batch_check(cfg) : 0;
}
