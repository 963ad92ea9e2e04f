/* --min-duration and --keep-if after the fact (convert, report): the live
 * options' filters (rebuild/keep_filter.h) applied to a compact trace's
 * replay, so what comes out is what the tracer would have written with them
 * for the recorded events, metadata.filtered included. A JSON or JSONL
 * trace holds the trees already written: it is refused. */
#ifndef CTRACE_KEEP_SOURCE_H
#define CTRACE_KEEP_SOURCE_H
#include <stdbool.h>
#include <stddef.h>
#include "rebuild/keep_filter.h"
#include "write/backend.h"

struct trace_input;

/* what --min-duration and --keep-if asked for */
struct keep_spec {
	struct keep_filter_opts o; /* o.rules: rules */
	struct keep_rule *rules;
	size_t nrules;
};

/* getopt_long codes, their rows of the options table, and the lines --help
 * shows, the descriptions indented by IND (a literal of spaces) */
enum { KEEP_OPT_MIN_DURATION = 0x5200, KEEP_OPT_KEEP_IF };
// clang-format off
#define KEEP_LONG_OPTIONS \
	{ "min-duration", required_argument, NULL, KEEP_OPT_MIN_DURATION }, \
	{ "keep-if", required_argument, NULL, KEEP_OPT_KEEP_IF }
#define KEEP_HELP(IND) \
	"      --min-duration DUR\n" \
	IND "only calls that lasted at least DUR (500us, 2ms),\n" \
	IND "with their callers, as the tracer's option writes\n" \
	IND "them (a compact trace, -o T.ctrace, only)\n" \
	"      --keep-if 'FUNC: COND'\n" \
	IND "only the calls of FUNC for which COND held, with\n" \
	IND "their subtrees and callers; repeatable (compact\n" \
	IND "trace only; retval and arg.NAME need it recorded\n" \
	IND "with --args, --retval or --capture FUNC)\n"
// clang-format on

/* Parses one --min-duration or --keep-if value (code: KEEP_OPT_*) into k. 0,
 * or 2 (the usage-error status) after one line on stderr, "cmd: ...", with
 * the tracer's message for the same value */
int keep_option(struct keep_spec *k, int code, const char *arg, const char *cmd);
bool keep_active(const struct keep_spec *k);
void keep_spec_free(struct keep_spec *k);

/* in can be filtered (a compact trace): 0, or -1 with one line in err */
int keep_input_check(const struct keep_spec *k, const struct trace_input *in, char *err,
		     size_t errlen);

/* The filtering source over in (a compact trace) */
struct keep_source {
	struct trace_source source; /* read this */
	const struct keep_spec *spec;
	struct trace_input *in;
};

void keep_source_init(struct keep_source *ks, const struct keep_spec *spec, struct trace_input *in);

#endif
