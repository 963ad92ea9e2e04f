/* A trace visitor that writes down every callback with every field, one line
 * each, so that two walks compare as text (tests/unit, tests/fuzz). It also
 * checks the order write/backend.h promises: node_open and node_close paired
 * at the depth of the calls open, inside thread_begin/thread_end, metadata
 * and crash outside a thread. With it, traces held in memory as sources.
 * Header-only: the fuzz harnesses include it too
 * (tests/fuzz/run.sh: -Itests/unit). */
#ifndef CTRACE_TRACE_RECORDER_H
#define CTRACE_TRACE_RECORDER_H
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "write/backend.h"

struct trace_rec {
	FILE *log;  /* where the lines go (an open_memstream) */
	bool quiet; /* deep traces: calls counted, not written down */
	uint64_t opens, closes, threads, crashes;
	uint64_t children_ns; /* summed over the closes */
	size_t open;	      /* calls open now */
	size_t maxdepth;
	bool in_thread;
	char bad[160]; /* the first callback out of order; "" when none */
};

static inline const char *trace_rec_str(const char *s)
{
	return s ? s : "(null)";
}

/* a time's value means nothing when it is not known */
static inline unsigned long long trace_rec_known(bool has, uint64_t v)
{
	return has ? (unsigned long long)v : 0;
}

/* notes the first callback out of order */
static inline void trace_rec_order(struct trace_rec *r, bool ok, const char *what, size_t depth)
{
	if (!ok && !r->bad[0])
		snprintf(r->bad, sizeof(r->bad), "%s at depth %zu with %zu calls open%s", what,
			 depth, r->open, r->in_thread ? "" : ", outside a thread");
}

static inline int trace_rec_meta(void *ctx, const struct trace_meta *m)
{
	struct trace_rec *r = ctx;

	trace_rec_order(r, !r->in_thread, "metadata", 0);
	fprintf(r->log, "META %s pid=%d:%lld dur=%d:%llu total=%d:%llu lost=%llu exe=%s cmd=%s\n",
		m->json, m->has_pid, m->has_pid ? (long long)m->pid : 0, m->has_duration,
		trace_rec_known(m->has_duration, m->duration_ns), m->has_total_calls,
		trace_rec_known(m->has_total_calls, m->total_calls),
		(unsigned long long)m->lost_events, trace_rec_str(m->executable),
		trace_rec_str(m->command0));
	return 0;
}

static inline void trace_rec_thread(struct trace_rec *r, const char *what,
				    const struct trace_thread *t)
{
	fprintf(r->log, "%s %s tid=%d:%llu name=%s total=%d:%llu lost=%llu calls=%llu more=%s\n",
		what, t->key, t->has_tid, trace_rec_known(t->has_tid, t->tid),
		trace_rec_str(t->name), t->has_total_calls,
		trace_rec_known(t->has_total_calls, t->total_calls),
		(unsigned long long)t->lost_events, (unsigned long long)t->calls,
		trace_rec_str(t->more));
}

static inline int trace_rec_tbegin(void *ctx, const struct trace_thread *t)
{
	struct trace_rec *r = ctx;

	trace_rec_order(r, !r->in_thread && !r->open, "thread_begin", 0);
	r->in_thread = true;
	trace_rec_thread(r, "THREAD", t);
	return 0;
}

static inline int trace_rec_tend(void *ctx, const struct trace_thread *t)
{
	struct trace_rec *r = ctx;

	trace_rec_order(r, r->in_thread && !r->open, "thread_end", 0);
	r->in_thread = false;
	r->threads++;
	trace_rec_thread(r, "/THREAD", t);
	return 0;
}

/* at node_open, what node_close alone says is not known: n's kids are 0 */
static inline void trace_rec_node(struct trace_rec *r, const char *what, const struct trace_node *n,
				  size_t depth)
{
	if (depth > r->maxdepth)
		r->maxdepth = depth;
	if (r->quiet)
		return;
	fprintf(r->log,
		"%s %zu fn=%s mod=%s addr=%s start=%d:%llu end=%d:%llu dur=%d:%llu partial=%d:%s "
		"args=%s ret=%s kids=%llu/%llu/%d\n",
		what, depth, trace_rec_str(n->function), trace_rec_str(n->module),
		trace_rec_str(n->address), n->has_start, trace_rec_known(n->has_start, n->start_ns),
		n->has_end, trace_rec_known(n->has_end, n->end_ns), n->has_duration,
		trace_rec_known(n->has_duration, n->duration_ns), n->partial,
		trace_rec_str(n->partial_reason), trace_rec_str(n->arguments),
		trace_rec_str(n->return_value), (unsigned long long)n->nchildren,
		(unsigned long long)n->children_ns, n->children_timed);
}

static inline int trace_rec_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct trace_rec *r = ctx;
	struct trace_node o = *n;

	trace_rec_order(r, r->in_thread && depth == r->open, "node_open", depth);
	r->open++;
	r->opens++;
	o.nchildren = o.children_ns = 0;
	o.children_timed = false;
	trace_rec_node(r, "OPEN", &o, depth);
	return 0;
}

static inline int trace_rec_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct trace_rec *r = ctx;

	trace_rec_order(r, r->in_thread && r->open && depth == r->open - 1, "node_close", depth);
	if (r->open)
		r->open--;
	r->closes++;
	r->children_ns += n->children_ns;
	trace_rec_node(r, "CLOSE", n, depth);
	return 0;
}

static inline int trace_rec_crash(void *ctx, const char *json)
{
	struct trace_rec *r = ctx;

	trace_rec_order(r, !r->in_thread, "crash", 0);
	r->crashes++;
	fprintf(r->log, "CRASH %s\n", json);
	return 0;
}

static const struct trace_visitor trace_recorder __attribute__((unused)) = {
	.metadata = trace_rec_meta,
	.thread_begin = trace_rec_tbegin,
	.thread_end = trace_rec_tend,
	.node_open = trace_rec_open,
	.node_close = trace_rec_close,
	.crash = trace_rec_crash,
};

/* a reader's walk of a file (trace_walk, jsonl_walk) */
typedef int (*trace_walk_fn)(FILE *f, const struct trace_visitor *v, void *ctx, char *err,
			     size_t errlen);

/* n bytes at p that walk reads: the src of a trace_source walked by mem_trace_walk */
struct mem_trace {
	const void *p;
	size_t n;
	trace_walk_fn walk;
};

static inline int mem_trace_walk(void *src, const struct trace_visitor *v, void *ctx, char *err,
				 size_t errlen)
{
	struct mem_trace *s = src;
	/* fmemopen refuses a zero size */
	FILE *f = s->n ? fmemopen((void *)s->p, s->n, "r") : fopen("/dev/null", "r");
	int rc;

	if (!f) {
		snprintf(err, errlen, "fmemopen: %s", strerror(errno));
		return -1;
	}
	rc = s->walk(f, v, ctx, err, errlen);
	fclose(f);
	return rc;
}

/* walk's walk of n bytes at p into r (set up but for its log): the walk's
 * status; *log the lines (free it) */
static inline int trace_rec_walk(struct trace_rec *r, const void *p, size_t n, trace_walk_fn walk,
				 char **log, char *err, size_t errlen)
{
	struct mem_trace s = { p, n, walk };
	size_t len = 0;
	int rc;

	*log = NULL;
	r->log = open_memstream(log, &len);
	if (!r->log) {
		snprintf(err, errlen, "open_memstream: %s", strerror(errno));
		return -1;
	}
	rc = mem_trace_walk(&s, &trace_recorder, r, err, errlen);
	fclose(r->log);
	r->log = NULL;
	return rc;
}

/* walk's walk of n bytes at p written as JSONL (write/jsonl.c), *len bytes
 * (free them); NULL, with err, when that failed */
static inline char *mem_trace_jsonl(const void *p, size_t n, trace_walk_fn walk, size_t *len,
				    char *err, size_t errlen)
{
	struct mem_trace s = { p, n, walk };
	const struct trace_source src = { .walk = mem_trace_walk, .src = &s };
	const struct format_opts o = { 0 };
	char *out = NULL;
	FILE *f = open_memstream(&out, len);
	int rc;

	if (!f) {
		snprintf(err, errlen, "open_memstream: %s", strerror(errno));
		return NULL;
	}
	rc = jsonl_run(&src, f, &o, err, errlen);
	fclose(f);
	if (rc) {
		free(out);
		return NULL;
	}
	return out;
}

/* a node_close that stops the walk, returning 7, at the close of the
 * function named ctx */
static inline int trace_stop_at(void *ctx, const struct trace_node *n, size_t depth)
{
	(void)depth;
	return n->function && !strcmp(n->function, ctx) ? 7 : 0;
}

/* a JSON trace of one thread whose calls nest depth deep (recursion gone
 * wild): call i starts at i ns and lasts 2(depth - i) ns; *len its length */
static inline char *deep_chain_json(size_t depth, size_t *len)
{
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);

	if (!m)
		return NULL;
	fputs("{\"call_trees\":{\"1\":{\"thread_id\":1,\"root_calls\":[", m);
	for (size_t i = 0; i < depth; i++)
		fprintf(m, "{\"function\":\"r\",\"start_ns\":%zu,\"children\":[", i);
	for (size_t i = depth; i-- > 0;)
		fprintf(m, "],\"end_ns\":%zu,\"duration_ns\":%zu}", 2 * depth - i,
			2 * depth - 2 * i);
	fputs("]}},\"crash\":null}", m);
	fclose(m);
	return buf;
}

#endif
