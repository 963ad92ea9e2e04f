/* jsonl: the trace as one flat JSON object per line (doc/design.md §6, "JSONL").
 * No line nests calls, so every JSON tool reads it at any call depth, where
 * the JSON document's nesting stops jq at about 127 calls.
 *
 * A call gives two lines: "enter" when it opens (pre-order, with what is
 * known then) and "call" when it closes (post-order, every field). Both are
 * written as the visitor calls arrive, so memory is one id per open depth. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "write/backend.h"
#include "write/jsonw.h"

#define JSONL_VERSION 1

struct jsonl {
	FILE *out;
	bool head;    /* the first line (always "metadata") is written */
	char *key;    /* the thread's key, kept from thread_begin */
	uint64_t *id; /* per open depth */
	size_t cap;
	uint64_t next_id;
};

/* the metadata line the file starts with, "metadata": null when the trace has none first */
static void head(struct jsonl *j, const char *meta)
{
	fprintf(j->out, "{\"type\":\"metadata\",\"jsonl_version\":%d,\"metadata\":%s}\n",
		JSONL_VERSION, meta ? meta : "null");
	j->head = true;
}

static int jl_metadata(void *ctx, const struct trace_meta *m)
{
	head(ctx, m->json);
	return 0;
}

static void thread_members(FILE *f, const struct trace_thread *t)
{
	if (t->has_tid)
		jsonw_member_u64(f, "thread_id", t->tid);
	if (t->name)
		jsonw_member_cstr(f, "thread_name", t->name);
	if (t->has_total_calls)
		jsonw_member_u64(f, "total_calls", t->total_calls);
	jsonw_member_u64(f, "lost_events", t->lost_events);
	/* apart: a member of the JSON tree may be named like one of the line's */
	if (t->more)
		fprintf(f, ",\"more\":{%s}", t->more);
}

static int jl_thread_begin(void *ctx, const struct trace_thread *t)
{
	struct jsonl *j = ctx;

	if (!j->head)
		head(j, NULL);
	free(j->key);
	j->key = strdup(t->key);
	if (!j->key)
		return -1;
	fputs("{\"type\":\"thread\",\"thread\":", j->out);
	jsonw_cstr(j->out, t->key);
	thread_members(j->out, t);
	fputs("}\n", j->out);
	return 0;
}

static int jl_thread_end(void *ctx, const struct trace_thread *t)
{
	struct jsonl *j = ctx;

	fputs("{\"type\":\"thread_end\",\"thread\":", j->out);
	jsonw_cstr(j->out, t->key);
	thread_members(j->out, t);
	jsonw_member_u64(j->out, "calls", t->calls);
	fputs("}\n", j->out);
	return 0;
}

/* "type", "id", "parent", "depth", "thread": what places a call */
static void call_head(struct jsonl *j, const char *type, size_t depth)
{
	fprintf(j->out, "{\"type\":\"%s\",\"id\":%llu,\"parent\":", type,
		(unsigned long long)j->id[depth]);
	if (depth)
		jsonw_u64(j->out, j->id[depth - 1]);
	else
		fputs("null", j->out);
	jsonw_member_u64(j->out, "depth", depth);
	jsonw_next_key(j->out, "thread");
	jsonw_cstr(j->out, j->key ? j->key : "");
}

/* A member present in n; all: absent ones too, as null, as the JSON document
 * writes them (arguments, return_value and partial stay absent there) */
static void time_member(FILE *f, const char *k, bool has, uint64_t v, bool all)
{
	if ((has || all) && jsonw_member_or_null(f, k, has))
		jsonw_u64(f, v);
}

static void str_member(FILE *f, const char *k, const char *s, bool all)
{
	if (s || all)
		jsonw_member_cstr(f, k, s);
}

static void node_members(FILE *f, const struct trace_node *n, bool all)
{
	str_member(f, "function", n->function, all);
	str_member(f, "address", n->address, all);
	str_member(f, "module", n->module, all);
	str_member(f, "source", n->source, false); /* --srcline */
	str_member(f, "call_site", n->call_site, false);
	time_member(f, "start_ns", n->has_start, n->start_ns, all);
	time_member(f, "end_ns", n->has_end, n->end_ns, all);
	time_member(f, "duration_ns", n->has_duration, n->duration_ns, all);
	/* compact JSON from the reader: copied as they are */
	if (n->arguments) {
		jsonw_next_key(f, "arguments");
		fputs(n->arguments, f);
	} else if (n->arguments_unavailable) {
		jsonw_next_key(f, "arguments");
		fputs("null", f);
		jsonw_member_cstr(f, "arguments_unavailable", n->arguments_unavailable);
	}
	if (n->return_value) {
		jsonw_next_key(f, "return_value");
		fputs(n->return_value, f);
	}
	if (n->memory) { /* --memory: at the exit */
		jsonw_next_key(f, "memory");
		fputs(n->memory, f);
	}
	if (n->partial)
		fputs(",\"partial\":true", f);
	str_member(f, "partial_reason", n->partial_reason, false);
}

static int jl_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct jsonl *j = ctx;

	if (depth >= j->cap) {
		size_t ncap = j->cap ? j->cap * 2 : 256;
		uint64_t *ni;

		while (ncap <= depth)
			ncap *= 2;
		ni = realloc(j->id, ncap * sizeof(*ni));
		if (!ni)
			return -1;
		j->id = ni;
		j->cap = ncap;
	}
	j->id[depth] = ++j->next_id;
	call_head(j, "enter", depth);
	node_members(j->out, n, false);
	fputs("}\n", j->out);
	return 0;
}

static int jl_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct jsonl *j = ctx;

	call_head(j, "call", depth);
	node_members(j->out, n, true);
	fputs("}\n", j->out);
	return 0;
}

static int jl_leaks(void *ctx, const char *json)
{
	struct jsonl *j = ctx;

	fprintf(j->out, "{\"type\":\"leaks\",\"leaks\":%s}\n", json);
	return ferror(j->out) ? -1 : 0;
}

static int jl_crash(void *ctx, const char *json)
{
	struct jsonl *j = ctx;

	if (!j->head)
		head(j, NULL);
	fprintf(j->out, "{\"type\":\"crash\",\"crash\":%s}\n", json);
	return 0;
}

int jsonl_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
	      size_t errlen)
{
	struct jsonl j = { .out = out };
	const struct trace_visitor v = {
		.metadata = jl_metadata,
		.thread_begin = jl_thread_begin,
		.node_open = jl_open,
		.node_close = jl_close,
		.thread_end = jl_thread_end,
		.crash = jl_crash,
		.leaks = jl_leaks,
	};
	int rc;

	(void)o;
	rc = source_walk(in, &v, &j, err, errlen);
	if (rc && !err[0])
		snprintf(err, errlen, "out of memory");
	if (!rc && !j.head)
		head(&j, NULL);
	if (!rc && (fflush(out) || ferror(out))) {
		snprintf(err, errlen, "writing the output: %s", strerror(errno ? errno : EIO));
		rc = -1;
	}
	free(j.id);
	free(j.key);
	return rc ? -1 : 0;
}
