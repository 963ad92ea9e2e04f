/* The writers' back ends: what every trace reader (JSON, and the formats
 * added to cmds/trace_input.c) calls per thread and per call, and the table
 * of output formats that consume those calls. A reader walks a trace once and
 * calls a visitor; a back end is a visitor that writes one format. */
#ifndef CTRACE_BACKEND_H
#define CTRACE_BACKEND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One call. At node_open the fields seen before its first child are set
 * (normally all but end_ns/duration_ns; "function" may still be NULL, since
 * a call whose entry was not observed names itself after its children); at
 * node_close every field is known. Strings are valid during the callback. */
struct trace_node {
	const char *function; /* NULL: not seen (yet); may be "[unknown]" */
	const char *module;   /* NULL: absent or null */
	const char *address;
	const char *source;		       /* --srcline: "FILE:LINE", or NULL */
	const char *call_site;		       /* --srcline: the call's own "FILE:LINE", or NULL */
	bool has_start, has_end, has_duration; /* false: absent or null */
	uint64_t start_ns, end_ns, duration_ns;
	bool partial;
	const char *partial_reason;
	const char *arguments;	  /* the "arguments" value as compact JSON, or NULL */
	/* why "arguments" is null ("arguments_unavailable"), or NULL */
	const char *arguments_unavailable;
	const char *return_value; /* the "return_value" value as compact JSON, or NULL */
	const char *memory;	  /* --memory: the "memory" object as compact JSON, or NULL */
	/* node_close only: */
	uint64_t nchildren;   /* direct children */
	uint64_t children_ns; /* the time the direct children cover (node_covered_ns) */
	bool children_timed;  /* every direct child has a known duration */
	/* source_walk_clamped only: has_start, has_end made true, these times made up */
	bool start_clamped, end_clamped;
};

/* A member of "call_trees". At thread_begin (reached at "root_calls") the
 * members written before it are set; at thread_end all of them. */
struct trace_thread {
	const char *key; /* the member's name, e.g. "5813" or "5813#2" */
	bool has_tid;
	uint64_t tid;	  /* thread_id, else the number the key starts with */
	const char *name; /* thread_name; NULL when absent */
	bool has_total_calls;
	uint64_t total_calls; /* as written */
	uint64_t lost_events;
	uint64_t calls; /* nodes read (thread_end) */
	/* the members not named above, but root_calls ("resyncs", "pid", "stack",
	 * "signals"), as compact JSON: "k":v pairs joined by commas; NULL: none */
	const char *more;
	bool has_pid;	/* the member "pid": in a JSON trace, known at thread_end */
	int64_t pid;
};

/* The fields of "metadata" the readers use; json is the whole object. */
struct trace_meta {
	const char *json;
	bool has_pid, has_duration, has_total_calls;
	int64_t pid;
	uint64_t duration_ns, total_calls, lost_events;
	const char *executable; /* NULL when absent */
	const char *command0;	/* command[0], NULL when absent */
};

/* The time a call covers, children_ns being the time its children cover:
 * its duration; with none (a partial call), its end less its start when the
 * trace has both, else children_ns. A partial call still covers the calls
 * inside it, so its caller does not count their time again as its own. */
uint64_t node_covered_ns(const struct trace_node *n, uint64_t children_ns);
/* Self time: the duration less the time the children cover; 0 without one.
 * In a consistent tree, the self times add up to the time the roots cover. */
uint64_t node_self_ns(const struct trace_node *n, uint64_t children_ns);

/* Any callback may be NULL. A non-zero return stops the walk; trace_walk
 * then returns that value (the callback reports its own error). */
struct trace_visitor {
	int (*metadata)(void *ctx, const struct trace_meta *m);
	int (*thread_begin)(void *ctx, const struct trace_thread *t);
	int (*node_open)(void *ctx, const struct trace_node *n, size_t depth);
	int (*node_close)(void *ctx, const struct trace_node *n, size_t depth);
	int (*thread_end)(void *ctx, const struct trace_thread *t);
	/* the top-level "crash" object when it is not null, as compact JSON */
	int (*crash)(void *ctx, const char *json);
	/* arguments and return values are never read: a source may leave them
	 * NULL rather than render them (a .ctrace's need its type model) */
	bool no_values;
	/* --memory: the top-level "leaks" object, as compact JSON */
	int (*leaks)(void *ctx, const char *json);
};

/* A trace to read: walk() calls v's callbacks over the whole trace once.
 * Returns 0, a callback's non-zero value, or -1 with one line in err. */
struct trace_source {
	int (*walk)(void *src, const struct trace_visitor *v, void *ctx, char *err, size_t errlen);
	void *src;
};

static inline int source_walk(const struct trace_source *s, const struct trace_visitor *v,
			      void *ctx, char *err, size_t errlen)
{
	return s->walk(s->src, v, ctx, err, errlen);
}

/* source_walk, with a start at every node_open and an end at every
 * node_close: the times a partial call lacks are clamped into the thread's
 * time line, so that calls nest (write/clamp.c) */
int source_walk_clamped(const struct trace_source *s, const struct trace_visitor *v, void *ctx,
			char *err, size_t errlen);

struct format_opts {
	bool weight_calls; /* folded, svg: weigh by calls, not self time */
	bool per_thread;   /* folded, svg: a root per thread */
};

/* An output format: convert --to NAME, and -f NAME while tracing */
struct format {
	const char *name;
	const char *ext; /* what -f NAME writes beside t.json: t<ext> */
	/* one pass over in, written to out: 0, or -1 with one line in err */
	int (*run)(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
		   size_t errlen);
};

/* NULL when name is not a format */
const struct format *format_find(const char *name);
/* "chrome, folded, ... or jsonl": the names, for messages */
const char *format_names(void);

/* the back ends (write/chrome.c, write/stacks.c, write/speedscope.c, write/jsonl.c, write/perfetto.c) */
int chrome_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
	       size_t errlen);
int folded_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
	       size_t errlen);
int speedscope_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
		   size_t errlen);
int svg_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
	    size_t errlen);
/* write/jsonl.c */
int jsonl_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
	      size_t errlen);
int perfetto_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
		 size_t errlen);

/* what the writers need of "metadata", kept past the callback */
struct meta_copy {
	char *json; /* the metadata object */
	bool has_duration;
	uint64_t duration_ns, lost_events;
	char *command0, *executable;
};

int keep_meta(struct meta_copy *mc, const struct trace_meta *m);
void free_meta(struct meta_copy *mc);

#endif
