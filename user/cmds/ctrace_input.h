/* A compact trace (.ctrace) for the offline commands: replayed into the
 * tree builder, written as the JSON document the tracer would have written
 * (its metadata and crash as rendered at stop), or walked into a format's
 * visitor from the node spool (write/node_spool.h), with no JSON between. */
#ifndef CTRACE_CTRACE_INPUT_H
#define CTRACE_CTRACE_INPUT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct keep_filter_opts;
struct trace_visitor;

/* in (a .ctrace) as JSON to out; path names in for messages. 0, or -1
 * with one line in err */
int ctrace_to_json(FILE *in, FILE *out, char *err, size_t errlen);
/* ... refusing calls deeper than max_depth (the fuzzer's bound) */
int ctrace_to_json_depth(FILE *in, FILE *out, int max_depth, char *err, size_t errlen);
/* trace_input.c's reader of the format */
bool ctrace_sniff(const unsigned char *head, size_t n);
int ctrace_walk(FILE *f, const struct trace_visitor *v, void *ctx, char *err, size_t errlen);
/* ... refusing calls deeper than max_depth */
int ctrace_walk_depth(FILE *f, int max_depth, const struct trace_visitor *v, void *ctx, char *err,
		      size_t errlen);

/* the same through --min-duration/--keep-if's filters (rebuild/keep_filter.h):
 * what the tracer would have written with them for the recorded events,
 * metadata.filtered included */
int ctrace_to_json_keep(FILE *in, FILE *out, const struct keep_filter_opts *keep, char *err,
			size_t errlen);
int ctrace_walk_keep(FILE *f, const struct keep_filter_opts *keep, const struct trace_visitor *v,
		     void *ctx, char *err, size_t errlen);

#endif
