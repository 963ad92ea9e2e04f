/* The JSON sink; see json_tree.h. A node is written in two pieces (JSON
 * object keys are unordered): the known keys and "children":[ at entry, the
 * rest at exit. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include "consume/memory.h"
#include "consume/symbolize.h"
#include "rebuild/tree.h"
#include "write/json_tree.h"
#include "write/jsonw.h"
#include "write/tspool.h"

struct json_tree {
	struct tree_sink sink;
	int dirfd;
	FILE *archive; /* the ended threads' nodes */
};

struct json_thread {
	struct tspool sp;
	bool comma; /* a node was written in the open container */
};

static FILE *spool_of(struct thread_tree *t)
{
	return ((struct json_thread *)t->out)->sp.f;
}

/* a comma when the container already holds a node */
static void sep(struct thread_tree *t)
{
	struct json_thread *jt = t->out;

	if (jt->comma)
		fputc(',', jt->sp.f);
	jt->comma = true;
}

static void write_ident(FILE *f, const struct func_info *fn)
{
	jsonw_key(f, "function");
	if (fn) {
		jsonw_cstr(f, fn->name);
		jsonw_member_hex(f, "address", fn->addr);
		jsonw_member_cstr(f, "module", fn->module);
		if (fn->source) /* --srcline */
			jsonw_member_cstr(f, "source", fn->source);
	} else {
		fputs("\"[unknown]\",\"address\":null,\"module\":null", f);
	}
}

static void write_time(FILE *f, const char *key, bool known, uint64_t v)
{
	if (jsonw_member_or_null(f, key, known))
		jsonw_u64(f, v);
}

static void write_partial(FILE *f, const char *reason)
{
	if (!reason)
		return;
	fputs(",\"partial\":true,", f);
	jsonw_key(f, "partial_reason");
	jsonw_cstr(f, reason);
}

static void write_extra(FILE *f, const struct tree_extra *x)
{
	if (x && x->call_site) /* --srcline */
		jsonw_member_cstr(f, "call_site", x->call_site);
	if (x && x->write)
		x->write(f, x->arg);
}

/* --memory: the counts of a call (or a root level) that allocated or freed */
static void write_mem_obj(FILE *f, const struct tree_mem *m)
{
	char buf[MEMORY_JSON_MAX];

	memory_node_json(buf, m);
	fputs(buf, f);
}

static void write_mem(FILE *f, const struct tree_mem *m)
{
	if (!m || (!m->allocs && !m->frees))
		return;
	fputs(",\"memory\":", f);
	write_mem_obj(f, m);
}

static void jt_open(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	FILE *f = spool_of(t);

	(void)s;
	sep(t);
	fputc('{', f);
	if (n->placeholder) {
		fputs("\"start_ns\":null", f);
	} else {
		write_ident(f, n->fn);
		write_time(f, "start_ns", n->has_start, n->start);
	}
	write_extra(f, n->x);
	fputs(",\"children\":[", f);
	((struct json_thread *)t->out)->comma = false;
}

static void jt_close(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	FILE *f = spool_of(t);

	(void)s;
	fputc(']', f);
	if (n->placeholder) {
		fputc(',', f);
		write_ident(f, n->fn);
	}
	write_time(f, "end_ns", n->has_end, n->end);
	write_time(f, "duration_ns", n->has_duration, n->duration);
	write_extra(f, n->x);
	write_mem(f, n->mem);
	write_partial(f, n->partial_reason);
	fputc('}', f);
	((struct json_thread *)t->out)->comma = true;
}

static void jt_leaf(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	FILE *f = spool_of(t);

	(void)s;
	sep(t);
	fputc('{', f);
	write_ident(f, n->fn);
	fputs(",\"start_ns\":null", f);
	write_time(f, "end_ns", n->has_end, n->end);
	fputs(",\"duration_ns\":null,\"children\":[]", f);
	write_partial(f, n->partial_reason);
	fputc('}', f);
}

/* its "{"children":[" is written ahead of the spool when the thread is
 * assembled */
static void jt_wrap(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	FILE *f = spool_of(t);

	(void)s;
	fputs("],", f);
	write_ident(f, n->fn);
	fputs(",\"start_ns\":null", f);
	write_time(f, "end_ns", n->has_end, n->end);
	fputs(",\"duration_ns\":null", f);
	write_partial(f, n->partial_reason);
	fputc('}', f);
	((struct json_thread *)t->out)->comma = true;
}

static int jt_thread_begin(struct tree_sink *s, struct thread_tree *t)
{
	struct json_tree *j = (struct json_tree *)s;
	struct json_thread *jt = calloc(1, sizeof(*jt));
	int rc;

	if (!jt)
		return -ENOMEM;
	rc = tspool_open(&jt->sp, j->dirfd);
	if (rc) {
		free(jt);
		return rc;
	}
	t->out = jt;
	return 0;
}

static int jt_thread_end(struct tree_sink *s, struct thread_tree *t)
{
	struct json_tree *j = (struct json_tree *)s;

	return tspool_archive(&((struct json_thread *)t->out)->sp, &j->archive, j->dirfd);
}

static int jt_thread_error(struct tree_sink *s, struct thread_tree *t)
{
	(void)s;
	return tspool_error(&((struct json_thread *)t->out)->sp);
}

static void jt_thread_free(struct tree_sink *s, struct thread_tree *t)
{
	struct json_thread *jt = t->out;

	(void)s;
	if (jt)
		tspool_close(&jt->sp);
	free(jt);
	t->out = NULL;
}

static void jt_free(struct tree_sink *s)
{
	struct json_tree *j = (struct json_tree *)s;

	if (j && j->archive)
		fclose(j->archive);
	free(j);
}

static const struct tree_sink_ops json_ops = {
	.thread_begin = jt_thread_begin,
	.open = jt_open,
	.close = jt_close,
	.leaf = jt_leaf,
	.wrap = jt_wrap,
	.thread_end = jt_thread_end,
	.thread_error = jt_thread_error,
	.thread_free = jt_thread_free,
	.free = jt_free,
};

struct tree_sink *json_tree_new(int dirfd)
{
	struct json_tree *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->sink.ops = &json_ops;
	j->dirfd = dirfd;
	return &j->sink;
}

int json_tree_write_thread(struct thread_tree *t, FILE *out)
{
	int rc;

	fputc('{', out);
	jsonw_key(out, "thread_id");
	jsonw_u64(out, t->tid);
	jsonw_member_cstr(out, "thread_name", t->name);
	jsonw_member_u64(out, "total_calls", t->calls);
	jsonw_member_u64(out, "lost_events", t->lost);
	jsonw_member_u64(out, "resyncs", t->resyncs);
	if (t->root_mem.allocs || t->root_mem.frees) { /* --memory, outside any call */
		fputs(",\"root_memory\":", out);
		write_mem_obj(out, &t->root_mem);
	}
	fputs(",\"root_calls\":[", out);
	for (uint64_t i = 0; i < t->wraps; i++)
		fputs("{\"children\":[", out);
	rc = tspool_copy(&((struct json_thread *)t->out)->sp, out);
	if (rc)
		return rc;
	fputc(']', out);
	return ferror(out) ? -EIO : 0;
}
