/* --min-duration and --keep-if after the fact (convert, report): the live
 * options' filters (rebuild/keep_filter.h) applied to a compact trace's
 * replay, so what comes out is what the tracer would have written with them
 * for the recorded events, metadata.filtered included; to a JSON or JSONL
 * trace's trees turned back into the tree builder's sink calls (keep_json.c),
 * with the same result. */
#ifndef CTRACE_KEEP_SOURCE_H
#define CTRACE_KEEP_SOURCE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "rebuild/keep_filter.h"
#include "write/backend.h"

struct trace;
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
	IND "them\n" \
	"      --keep-if 'FUNC: COND'\n" \
	IND "only the calls of FUNC for which COND held, with\n" \
	IND "their subtrees and callers; repeatable (retval\n" \
	IND "and arg.NAME need the trace made with --args,\n" \
	IND "--retval or --capture FUNC)\n"
// clang-format on

/* Parses one --min-duration or --keep-if value (code: KEEP_OPT_*) into k. 0,
 * or 2 (the usage-error status) after one line on stderr, "cmd: ...", with
 * the tracer's message for the same value */
int keep_option(struct keep_spec *k, int code, const char *arg, const char *cmd);
bool keep_active(const struct keep_spec *k);
void keep_spec_free(struct keep_spec *k);

/* The filtering source over in: a compact trace replayed through the
 * filters, a JSON or JSONL one rebuilt through them (keep_json.c) */
struct keep_source {
	struct trace_source source; /* read this */
	const struct keep_spec *spec;
	struct trace_input *in;
};

void keep_source_init(struct keep_source *ks, const struct keep_spec *spec, struct trace_input *in);

/* tr's sink wrapped by the filters o asks for (tr->sink NULL: out of memory) */
void keep_wrap_sink(struct trace *tr, const struct keep_filter_opts *o);
/* -1 with one line in err when a rule of o reads a captured value (retval,
 * arg.NAME), for a trace that holds none; 0 otherwise */
int keep_values_refused(const struct keep_filter_opts *o, char *err, size_t errlen);

/* a JSON or JSONL trace (in) through the filters (keep_json.c): to v, or
 * as the JSON document to out. 0, a callback's value, or -1 with err */
int keep_json_walk(const struct trace_source *in, const struct keep_spec *k,
		   const struct trace_visitor *v, void *ctx, char *err, size_t errlen);
int keep_json_doc(const struct trace_source *in, const struct keep_spec *k, FILE *out, char *err,
		  size_t errlen);

/* meta (a "metadata" object, compact JSON) as the tracer writes it with the
 * filters: "total_calls" what tr's trees hold (written), "filtered" (its
 * sink's counts) before "exit_code". malloc'd; NULL: not an object, or out
 * of memory */
char *keep_source_metadata(const char *meta, const struct trace *tr,
			   const struct keep_filter_opts *keep);

#endif
