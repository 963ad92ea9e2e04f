/* libFuzzer harness: the trace readers on arbitrary bytes, told apart as
 * cmds/trace_input.c does (jsonl_sniff: the JSONL reader, else the JSON
 * document's). A walk must either fail with one line naming where ("line N: "
 * or "byte N: ") or call the visitor in order: node_open and node_close
 * paired at the depth of the calls open, inside thread_begin/thread_end, with
 * NUL-terminated strings. A trace read whole is then written as JSONL
 * (write/jsonl.c), which must be valid UTF-8, one JSON object per line, read
 * back to exactly the same visitor calls, and written again to the same bytes. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmds/jsonlread.h"
#include "cmds/jsonread.h"
#include "fuzz_check.h"
#include "write/backend.h"

typedef int (*walk_fn)(FILE *f, const struct trace_visitor *v, void *ctx, char *err, size_t errlen);

struct rec {
	FILE *log;   /* every callback, every field */
	size_t open; /* calls open */
	bool in_thread;
};

static const char *s_(const char *s)
{
	return s ? s : "(null)";
}

/* a time's value means nothing when it is not known */
static unsigned long long known(bool has, uint64_t v)
{
	return has ? (unsigned long long)v : 0;
}

static int on_meta(void *ctx, const struct trace_meta *m)
{
	struct rec *r = ctx;

	FUZZ_ASSERT(!r->in_thread, "metadata inside a thread");
	fprintf(r->log, "M %s %d %lld %d %llu %d %llu %llu %s %s\n", m->json, m->has_pid,
		m->has_pid ? (long long)m->pid : 0, m->has_duration,
		known(m->has_duration, m->duration_ns), m->has_total_calls,
		known(m->has_total_calls, m->total_calls), (unsigned long long)m->lost_events,
		s_(m->executable), s_(m->command0));
	return 0;
}

static void log_thread(struct rec *r, char what, const struct trace_thread *t)
{
	fprintf(r->log, "%c %s %d %llu %s %d %llu %llu %llu %s\n", what, t->key, t->has_tid,
		known(t->has_tid, t->tid), s_(t->name), t->has_total_calls,
		known(t->has_total_calls, t->total_calls), (unsigned long long)t->lost_events,
		(unsigned long long)t->calls, s_(t->more));
}

static int on_tbegin(void *ctx, const struct trace_thread *t)
{
	struct rec *r = ctx;

	FUZZ_ASSERT(!r->in_thread && !r->open, "thread_begin inside a thread");
	r->in_thread = true;
	log_thread(r, 'T', t);
	return 0;
}

static int on_tend(void *ctx, const struct trace_thread *t)
{
	struct rec *r = ctx;

	FUZZ_ASSERT(r->in_thread && !r->open, "thread_end with %zu calls open", r->open);
	r->in_thread = false;
	log_thread(r, 't', t);
	return 0;
}

static void log_node(struct rec *r, char what, const struct trace_node *n, size_t depth)
{
	fprintf(r->log, "%c %zu %s %s %s %d %llu %d %llu %d %llu %d %s %s %s", what, depth,
		s_(n->function), s_(n->module), s_(n->address), n->has_start,
		known(n->has_start, n->start_ns), n->has_end, known(n->has_end, n->end_ns),
		n->has_duration, known(n->has_duration, n->duration_ns), n->partial,
		s_(n->partial_reason), s_(n->arguments), s_(n->return_value));
}

static int on_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct rec *r = ctx;

	FUZZ_ASSERT(r->in_thread && depth == r->open, "node_open at depth %zu with %zu open", depth,
		    r->open);
	r->open++;
	log_node(r, 'O', n, depth);
	fputc('\n', r->log);
	return 0;
}

static int on_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct rec *r = ctx;

	FUZZ_ASSERT(r->in_thread && r->open && depth == r->open - 1,
		    "node_close at depth %zu with %zu open", depth, r->open);
	r->open--;
	log_node(r, 'C', n, depth);
	fprintf(r->log, " %llu %llu %d\n", (unsigned long long)n->nchildren,
		(unsigned long long)n->children_ns, n->children_timed);
	return 0;
}

static int on_crash(void *ctx, const char *json)
{
	struct rec *r = ctx;

	FUZZ_ASSERT(!r->in_thread, "crash inside a thread");
	fprintf(r->log, "X %s\n", json);
	return 0;
}

static const struct trace_visitor recorder = {
	.metadata = on_meta,
	.thread_begin = on_tbegin,
	.thread_end = on_tend,
	.node_open = on_open,
	.node_close = on_close,
	.crash = on_crash,
};

struct memsrc {
	const uint8_t *p;
	size_t n;
	walk_fn walk;
};

static int mem_walk(void *src, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	struct memsrc *s = src;
	/* fmemopen refuses a zero size */
	FILE *f = s->n ? fmemopen((void *)s->p, s->n, "r") : fopen("/dev/null", "r");
	int rc;

	FUZZ_ASSERT(f, "fmemopen: %s", strerror(errno));
	rc = s->walk(f, v, ctx, err, errlen);
	fclose(f);
	return rc;
}

/* the walk's log; its status in *rc (0, or -1 with err naming where) */
static char *record(const uint8_t *p, size_t n, walk_fn walk, int *rc)
{
	struct memsrc s = { p, n, walk };
	struct rec r = { 0 };
	char *log = NULL, err[512] = "";
	size_t len = 0;

	r.log = open_memstream(&log, &len);
	FUZZ_ASSERT(r.log, "open_memstream");
	*rc = mem_walk(&s, &recorder, &r, err, sizeof(err));
	fclose(r.log);
	FUZZ_ASSERT(*rc == 0 || *rc == -1, "walk returned %d", *rc);
	if (*rc) {
		unsigned long long at;

		FUZZ_ASSERT(sscanf(err, "line %llu: ", &at) == 1 ||
				    sscanf(err, "byte %llu: ", &at) == 1,
			    "an error that names no place: %s", err);
		FUZZ_ASSERT(!strchr(err, '\n'), "an error of more than one line");
	} else {
		FUZZ_ASSERT(!r.in_thread && !r.open, "the walk ended inside a thread");
	}
	return log;
}

static char *to_jsonl(const uint8_t *p, size_t n, walk_fn walk, size_t *len)
{
	struct memsrc s = { p, n, walk };
	const struct trace_source src = { .walk = mem_walk, .src = &s };
	const struct format_opts o = { 0 };
	char *out = NULL, err[512] = "";
	FILE *f = open_memstream(&out, len);
	int rc;

	FUZZ_ASSERT(f, "open_memstream");
	rc = jsonl_run(&src, f, &o, err, sizeof(err));
	fclose(f);
	FUZZ_ASSERT(rc == 0, "jsonl_run failed on a trace that reads: %s", err);
	return out;
}

/* valid UTF-8, each line one JSON object, the first a metadata line */
static void check_lines(const char *jl, size_t len)
{
	struct jr *r = jr_new_mem("", 0, 0, 0);
	size_t start = 0, lines = 0;

	FUZZ_ASSERT(r, "out of memory");
	FUZZ_ASSERT(fuzz_utf8_valid((const unsigned char *)jl, len), "JSONL not valid UTF-8");
	FUZZ_ASSERT(len && jl[len - 1] == '\n', "JSONL does not end with a newline");
	FUZZ_ASSERT(jsonl_sniff((const unsigned char *)jl, len), "no metadata line first");
	while (start < len) {
		const char *nl = memchr(jl + start, '\n', len - start);
		size_t n = (size_t)(nl - (jl + start));
		enum jr_tok t;

		jr_reset_mem(r, jl + start, n);
		t = jr_next(r);
		FUZZ_ASSERT(t == JR_OBJ_BEGIN, "line %zu is not an object", lines + 1);
		FUZZ_ASSERT(jr_skip(r, t) == JR_OBJ_END && jr_next(r) == JR_EOF,
			    "line %zu is not one JSON object: %s", lines + 1, jr_error(r));
		start += n + 1;
		lines++;
	}
	jr_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	walk_fn walk = jsonl_sniff(data, size < 64 ? size : 64) ? jsonl_walk : trace_walk;
	int rc, rc2;
	size_t len = 0, len2 = 0;
	char *want = record(data, size, walk, &rc), *jl, *got, *jl2;

	if (rc) {
		free(want);
		return 0;
	}
	jl = to_jsonl(data, size, walk, &len);
	check_lines(jl, len);
	got = record((const uint8_t *)jl, len, jsonl_walk, &rc2);
	FUZZ_ASSERT(rc2 == 0, "the JSONL written does not read back");
	FUZZ_ASSERT(!strcmp(got, want), "the JSONL reads back to other calls:\n%s\n---\n%s", want,
		    got);
	jl2 = to_jsonl((const uint8_t *)jl, len, jsonl_walk, &len2);
	FUZZ_ASSERT(len2 == len && !memcmp(jl, jl2, len), "JSONL -> JSONL changed the bytes");
	free(jl2);
	free(got);
	free(jl);
	free(want);
	return 0;
}
