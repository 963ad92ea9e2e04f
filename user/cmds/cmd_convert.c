/* ctrace-bpf convert: a trace into the formats other tools display.
 *   chrome      Trace Event Format JSON (Perfetto, chrome://tracing, DevTools)
 *   folded      collapsed stacks, "main;parse;lex 12345" (flamegraph.pl, inferno, speedscope)
 *   speedscope  speedscope's own format, one profile per thread
 *   svg         a self-contained flame graph
 *   jsonl       the trace flat, one JSON object per line (write/jsonl.c)
 *   perfetto    Perfetto's protobuf trace (TrackEvent), write/perfetto.c
 * All stream: one pass over the trace, memory bounded by call depth (chrome,
 * speedscope, jsonl, perfetto; chrome keeps the events inside a call named only at its end in
 * a temporary file) or by the number of distinct stacks (folded, svg). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>

#include "cmds/commands.h"
#include "cmds/ctrace_input.h"
#include "cmds/keep_source.h"
#include "cmds/slice.h"
#include "cmds/srcline_after.h"
#include "cmds/summary_file.h"
#include "cmds/trace_input.h"
#include "utils/log.h"
#include "write/summary.h"
#include "utils/strutil.h"
#include "write/backend.h"

#define CMD "ctrace-bpf convert"

static bool srcline_after; /* --srcline: "source" from the traced files' DWARF */

static const char usage_text[] =
	"Usage: ctrace-bpf convert TRACE.json --to FORMAT [-o OUT] [OPTIONS]\n"
	"\n"
	"Converts a trace written by ctrace-bpf (JSON or JSONL) into a format other\n"
	"tools display.\n"
	"The trace is read in one pass: traces of any length convert in bounded memory.\n"
	"\n"
	"  -t, --to FORMAT          chrome      Trace Event Format JSON, a begin (\"B\", with\n"
	"                                       the arguments) and an end (\"E\") event per\n"
	"                                       call, ts in µs (ns kept) since the trace\n"
	"                                       start (otherData.clock: the start on\n"
	"                                       CLOCK_MONOTONIC); open it in\n"
	"                                       https://ui.perfetto.dev or\n"
	"                                       chrome://tracing (name it *.trace.json or\n"
	"                                       *.json: speedscope takes *.chrome.json for\n"
	"                                       a DevTools profile and fails)\n"
	"                           speedscope  speedscope's own format: one profile per\n"
	"                                       thread, times in ns; open it in\n"
	"                                       https://www.speedscope.app (it loads this\n"
	"                                       format fast, Trace Event JSON slowly)\n"
	"                           folded      collapsed stacks, one line per distinct\n"
	"                                       stack: \"main;parse;lex 12345\" (weight:\n"
	"                                       self time in ns); input for flamegraph.pl,\n"
	"                                       inferno-flamegraph, speedscope\n"
	"                           svg         a flame graph (self-contained; widths are\n"
	"                                       time in ns; hover a frame for its total and\n"
	"                                       self time and calls, click to zoom, Search\n"
	"                                       highlights a regex, NAME.svg?s=REGEX too)\n"
	"                           jsonl       one JSON object per line: a \"call\" line\n"
	"                                       per call with its fields, id, parent,\n"
	"                                       depth, thread; jq and other tools read it\n"
	"                                       at any call depth\n"
	"                           perfetto    Perfetto's protobuf trace (TrackEvent): a\n"
	"                                       track per thread under its process, a slice\n"
	"                                       per call with its arguments and return\n"
	"                                       value; the crash, forks and execs as\n"
	"                                       instants; open it in https://ui.perfetto.dev\n"
	"                                       (name: .perfetto-trace)\n"
	"                           json        the JSON trace: from a compact trace\n"
	"                                       (-o T.ctrace), the document the tracer\n"
	"                                       would have written\n"
	"  -o, --output FILE        where to write (default: standard output); written\n"
	"                           beside FILE and renamed into place when complete\n"
	"  -w, --weight time|calls  folded and svg: weigh stacks by self time in ns\n"
	"                           (default) or by number of calls\n"
	"      --per-thread         folded and svg: start each stack with its thread,\n"
	"                           \"name [tid]\" (default: all threads merged; -f svg\n"
	"                           while tracing merges them: convert again for this)\n"
	"      --srcline            each call's \"source\" (its function's FILE:LINE) from\n"
	"                           the DWARF of the traced files, when their build ids\n"
	"                           match the trace's, e.g. convert t.json --srcline\n"
	"                           --to jsonl (call sites need tracing with --srcline)\n" SLICE_HELP(
		"                           ") KEEP_HELP("                           ") "  -h, --help               this help\n"
					       "\n"
					       "Calls whose entry or exit was not observed (\"partial\" in the trace) have no\n"
					       "duration: in folded and svg they count as calls with no self time of their\n"
					       "own, standing for the time of the calls inside them (their caller does not\n"
					       "count it again). In chrome, speedscope and perfetto a missing start or end is clamped\n"
					       "to the nearest time the trace does know in that thread: a start just after the\n"
					       "previous known time, or at the thread's first known time; an end just before\n"
					       "the next known time, or at the trace's end. Every event stays inside its\n"
					       "caller; in chrome and perfetto the event's args say \"clamped\" and the\n"
					       "partial_reason.\n"
					       "\n"
					       "Examples:\n"
					       "  ctrace-bpf convert trace.json --to chrome -o trace.trace.json\n"
					       "  ctrace-bpf convert trace.json --to speedscope -o trace.speedscope.json\n"
					       "  ctrace-bpf convert trace.json --to svg -o flame.svg\n"
					       "  ctrace-bpf convert trace.json --to perfetto -o trace.perfetto-trace\n"
					       "  ctrace-bpf convert trace.json --to folded | flamegraph.pl > flame.svg\n"
					       "  ctrace-bpf convert trace.json --to chrome --tid 5813,5820 -o two.trace.json\n"
					       "  ctrace-bpf convert trace.json --to chrome --time-range 1.5s:1.6s -o 100ms.json\n"
					       "  ctrace-bpf convert t.ctrace --to json --min-duration 2ms -o slow.json\n"
					       "  ctrace-bpf -f svg -o trace.json -- ./app     # convert right after tracing\n";

/* ---- the output file: written beside, renamed when complete ----------------------- */

struct sink {
	FILE *f;
	char *path, *tmp; /* tmp NULL: stdout, a device or a FIFO, written in place */
};

static void sink_abort(struct sink *s);

static int sink_open(struct sink *s, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	memset(s, 0, sizeof(*s));
	if (!strcmp(path, "-")) {
		s->f = stdout;
		return 0;
	}
	s->path = strdup(path);
	if (!s->path) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "cannot write '%s': it is a directory", path);
			sink_abort(s);
			return -1;
		}
		s->f = fopen(path, "we");
		if (!s->f) {
			snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
			sink_abort(s);
			return -1;
		}
		return 0;
	}
	if (asprintf(&s->tmp, "%s.tmp.XXXXXX", path) < 0) {
		s->tmp = NULL;
		snprintf(err, errlen, "out of memory");
		sink_abort(s);
		return -1;
	}
	/* 0600, like the trace it comes from: it may show the target's arguments */
	fd = mkostemp(s->tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		free(s->tmp);
		s->tmp = NULL;
		sink_abort(s);
		return -1;
	}
	s->f = fdopen(fd, "w");
	if (!s->f) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		sink_abort(s);
		return -1;
	}
	setvbuf(s->f, NULL, _IOFBF, 1 << 20);
	return 0;
}

static void sink_abort(struct sink *s)
{
	if (s->f && s->f != stdout)
		fclose(s->f);
	if (s->tmp)
		unlink(s->tmp);
	free(s->tmp);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static int sink_commit(struct sink *s, char *err, size_t errlen)
{
	const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");
	const char *what = s->path ? s->path : "standard output";
	int rc;

	if (s->f == stdout) {
		rc = fflush(stdout) || ferror(stdout);
		s->f = NULL;
	} else {
		/* under sudo the file belongs to the user who asked for it, as the
		 * trace does; should that fail it stays root's (and 0600) */
		if (s->tmp && uid && gid && getuid() == 0)
			(void)!fchown(fileno(s->f), (uid_t)strtoul(uid, NULL, 10),
				      (gid_t)strtoul(gid, NULL, 10));
		rc = ferror(s->f) | fclose(s->f);
		s->f = NULL;
	}
	if (rc) {
		snprintf(err, errlen, "writing '%s': %s", what, strerror(errno ? errno : EIO));
		sink_abort(s);
		return -1;
	}
	if (s->tmp && rename(s->tmp, s->path)) {
		snprintf(err, errlen, "cannot rename '%s' to '%s': %s", s->tmp, s->path,
			 strerror(errno));
		sink_abort(s);
		return -1;
	}
	free(s->tmp);
	s->tmp = NULL;
	sink_abort(s);
	return 0;
}

/* ---- entry points ---------------------------------------------------------------------------- */

int cmd_other_option(const char *cmd, const char *usage, int c, char **argv, int next)
{
	if (c == 'h') {
		fputs(usage, stdout);
		return 0;
	}
	if (c == ':')
		fprintf(stderr, "%s: option '%s' needs a value (see --help)\n", cmd,
			argv[next - 1]);
	else
		fprintf(stderr, "%s: unknown option '%s' (see --help)\n", cmd, argv[next - 1]);
	return 2;
}

int cmd_one_operand(const char *cmd, bool none, const char *what, const char *placeholder)
{
	if (none)
		fprintf(stderr, "%s: which %s? give %s (see --help)\n", cmd, what, placeholder);
	else
		fprintf(stderr, "%s: give exactly one %s (see --help)\n", cmd, what);
	return 2;
}

/* --to json: a compact trace's JSON document (a JSON trace is copied);
 * keep: --min-duration/--keep-if, or NULL */
static int convert_json(const char *in, const char *out, const struct keep_spec *keep, char *err,
			size_t errlen)
{
	struct trace_input input;
	struct sink sink;
	char buf[1 << 16];
	size_t n;
	int rc = 0;

	if (trace_input_open(&input, in, err, errlen))
		return -1;
	if (sink_open(&sink, out, err, errlen)) {
		trace_input_close(&input);
		return -1;
	}
	if (keep_active(keep) && strcmp(input.reader->name, "ctrace"))
		rc = keep_json_doc(&input.source, keep, sink.f, err, errlen);
	else if (keep_active(keep))
		rc = ctrace_to_json_keep(input.f, sink.f, &keep->o, err, errlen);
	else if (!strcmp(input.reader->name, "ctrace"))
		rc = ctrace_to_json(input.f, sink.f, err, errlen);
	else
		while (!rc && (n = fread(buf, 1, sizeof(buf), input.f)) > 0)
			rc = fwrite(buf, 1, n, sink.f) == n ? 0 : -1;
	trace_input_close(&input);
	if (rc) {
		if (!err[0])
			snprintf(err, errlen, "writing '%s': %s", out, strerror(errno));
		sink_abort(&sink);
		return -1;
	}
	return sink_commit(&sink, err, errlen);
}

/* a --summary trace holds rows, no calls: nothing to convert */
static bool is_summary_file(const char *in, char *err, size_t errlen)
{
	struct summary s = { 0 };
	int rc = summary_file_read(in, &s, err, errlen);

	summary_free(&s);
	if (!rc)
		snprintf(err, errlen,
			 "'%.200s' is a --summary trace: it has no calls to convert "
			 "(`ctrace-bpf report` prints its table)",
			 in);
	return rc <= 0;
}

static int convert(const char *in, const char *out, const char *fmt, bool weight_calls,
		   bool per_thread, const struct slice_spec *spec, const struct keep_spec *keep,
		   char *err, size_t errlen)
{
	const struct format *f = format_find(fmt);
	const struct format_opts o = { .weight_calls = weight_calls, .per_thread = per_thread };
	struct trace_input input;
	const struct trace_source *src = &input.source;
	struct keep_source ks;
	struct slice slice;
	struct sink sink;
	struct srcline_after *sa = NULL;
	int rc;

	err[0] = 0;
	if (is_summary_file(in, err, errlen))
		return -1;
	if (!strcmp(fmt, "json") && spec && slice_active(spec)) {
		snprintf(err, errlen, "--tid and --time-range do not apply to --to json");
		return -1;
	}
	if (!strcmp(fmt, "json") && srcline_after) {
		snprintf(err, errlen, "--srcline does not apply to --to json");
		return -1;
	}
	if (!strcmp(fmt, "json"))
		return convert_json(in, out, keep, err, errlen);
	if (!f) {
		snprintf(err, errlen, "unknown format '%s': expected %s", fmt, format_names());
		return -1;
	}
	if (trace_input_open(&input, in, err, errlen))
		return -1;
	if (sink_open(&sink, out, err, errlen)) {
		trace_input_close(&input);
		return -1;
	}
	if (keep_active(keep)) {
		keep_source_init(&ks, keep, &input);
		src = &ks.source;
	}
	if (spec && slice_active(spec)) {
		slice_init(&slice, spec, src);
		src = &slice.source;
	}
	if (srcline_after && (sa = srcline_after_new(src)))
		src = srcline_after_source(sa);
	rc = f->run(src, sink.f, &o, err, errlen);
	srcline_after_free(sa);
	trace_input_close(&input);
	if (rc) {
		/* name the input: the reader's errors are offsets into it */
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err);
		if (!strncmp(msg, "byte ", 5) || !strncmp(msg, "line ", 5))
			snprintf(err, errlen, "'%.200s': %.280s", in, msg);
		sink_abort(&sink);
		return -1;
	}
	return sink_commit(&sink, err, errlen);
}

int convert_file(const char *in, const char *out, const char *fmt, bool weight_calls, char *err,
		 size_t errlen)
{
	return convert(in, out, fmt, weight_calls, false, NULL, NULL, err, errlen);
}

int convert_source(const struct trace_source *src, const char *out, const char *fmt,
		   bool weight_calls, char *err, size_t errlen)
{
	const struct format *f = format_find(fmt);
	const struct format_opts o = { .weight_calls = weight_calls };
	struct sink sink;

	err[0] = 0;
	if (!f) {
		snprintf(err, errlen, "unknown format '%s': expected %s", fmt, format_names());
		return -1;
	}
	if (sink_open(&sink, out, err, errlen))
		return -1;
	if (f->run(src, sink.f, &o, err, errlen)) {
		sink_abort(&sink);
		return -1;
	}
	return sink_commit(&sink, err, errlen);
}

int convert_output_name(const char *trace, const char *fmt, char *buf, size_t len)
{
	const struct format *f = format_find(fmt);
	const char *slash = strrchr(trace, '/'), *dot = strrchr(trace, '.');
	size_t stem = dot && dot > (slash ? slash : trace) &&
				      (!strcmp(dot, ".json") || !strcmp(dot, ".jsonl") ||
				       !strcmp(dot, ".ctrace")) ?
			      (size_t)(dot - trace) :
			      strlen(trace);

	if (!f)
		return -1;
	return (size_t)snprintf(buf, len, "%.*s%s", (int)stem, trace, f->ext) < len ? 0 : -1;
}

int convert_to_jsonl_in_place(const char *path, char *err, size_t errlen)
{
	char *json = NULL;
	struct stat st;
	int rc;

	if (stat(path, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a file to rewrite", path);
		return -1;
	}
	/* the JSON beside it, under a name no one else picks */
	if (asprintf(&json, "%s.json.XXXXXX", path) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = mkstemp(json);
	if (rc < 0) {
		snprintf(err, errlen, "cannot write beside '%s': %s", path, strerror(errno));
		free(json);
		return -1;
	}
	close(rc);
	if (rename(path, json)) {
		snprintf(err, errlen, "cannot rename '%s': %s", path, strerror(errno));
		unlink(json);
		free(json);
		return -1;
	}
	rc = convert_file(json, path, "jsonl", false, err, errlen);
	/* failed: the JSON document stays the result, under its name */
	if (rc ? rename(json, path) : unlink(json))
		rc = -1;
	free(json);
	return rc;
}

void convert_jsonl_output(const char *path)
{
	char err[512];

	if (!str_has_suffix(path, ".jsonl"))
		return;
	if (convert_to_jsonl_in_place(path, err, sizeof(err)))
		log_warn("-o %s: the JSONL form failed (%s): it holds the JSON document", path,
			 err);
}

enum { OPT_PER_THREAD = 256, OPT_SRCLINE };

int cmd_convert_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "weight", required_argument, NULL, 'w' },
		{ "per-thread", no_argument, NULL, OPT_PER_THREAD },
		{ "srcline", no_argument, NULL, OPT_SRCLINE },
		SLICE_LONG_OPTIONS,
		KEEP_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *to = NULL, *out = "-";
	bool calls = false, per_thread = false;
	static struct slice_spec spec; /* static: an early return leaves it reachable */
	static struct keep_spec keep;
	char err[512];
	int c;

	slice_spec_free(&spec);
	keep_spec_free(&keep);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:o:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = optarg; break;
		case 'o': out = optarg; break;
		case 'w':
			if (strcmp(optarg, "time") && strcmp(optarg, "calls")) {
				fprintf(stderr,
					CMD ": invalid --weight '%s': expected time or calls\n",
					optarg);
				return 2;
			}
			calls = !strcmp(optarg, "calls");
			break;
		case OPT_PER_THREAD: per_thread = true; break;
		case OPT_SRCLINE: srcline_after = true; break;
		case SLICE_OPT_TID:
		case SLICE_OPT_RANGE:
			if (slice_option(&spec, c, optarg, CMD))
				return 2;
			break;
		case KEEP_OPT_MIN_DURATION:
		case KEEP_OPT_KEEP_IF:
			if (keep_option(&keep, c, optarg, CMD))
				return 2;
			break;
		default: return cmd_other_option(CMD, usage_text, c, argv, optind);
		}
	}
	if (optind != argc - 1)
		return cmd_one_operand(CMD, optind == argc, "trace", "TRACE.json");
	if (!to) {
		fprintf(stderr, CMD ": give the format: --to %s (see --help)\n", format_names());
		return 2;
	}
	if (!format_find(to) && strcmp(to, "json")) {
		fprintf(stderr, CMD ": unknown format '%s': expected %s\n", to, format_names());
		return 2;
	}
	if (!*out) {
		fprintf(stderr, CMD ": -o needs a file name\n");
		return 2;
	}
	if (convert(argv[optind], out, to, calls, per_thread, &spec, &keep, err, sizeof(err))) {
		fprintf(stderr, CMD ": %s\n", err);
		return 1;
	}
	return 0;
}
