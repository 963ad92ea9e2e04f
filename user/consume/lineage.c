#include <stdio.h>
#include <stdlib.h>
#include "consume/lineage.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "ctrace.h"
#include "rebuild/tree.h"
#include "write/jsonw.h"

#define R_NONE	   "no traced call was open in the creator"
#define R_ATTACH   "the creator's open calls began before tracing started"
#define R_LOST	   "events of the creator were lost"
#define R_NO_ENTRY "the entry of the creator's open call was not observed (events lost)"
#define R_STEP	   "the creator's open calls are not known here"

/* Whether calls tracing did not see may be open in c (attach, a forked
 * child's calls entered in the parent, a stack saved before tracing saw
 * it); a thread whose creation was seen has seen them all */
static bool may_predate(const struct thread_tree *c)
{
	return c->attach && (c->before || !c->created_by);
}

/* why no call is named when c's seen calls are none */
static const char *none_open(const struct thread_tree *c)
{
	return !may_predate(c) ? R_NONE : c->before ? c->before : R_ATTACH;
}

/* The innermost shown call of the creator, or NULL with *why. The creator's
 * tree is trusted only where BPF agrees: the same stack, its top frame at the
 * creator's depth, and no loss of the creator's since that frame's entry (a
 * lost exit would leave a frame open that is not). */
static const struct frame *open_call(const struct trace *tr, const struct ctrace_create *e,
				     const struct thread_tree *c, const char **why)
{
	const struct frame *f;

	if (!c) /* it made no call tracing saw; its creation may have been seen */
		*why = e->seen						 ? R_STEP :
		       !tr->attach || u64map_get(&tr->created, e->h.tid) ? R_NONE :
									   R_ATTACH;
	else if (c->stack_id != e->stack)
		*why = R_STEP;
	else if (c->lost != e->lost)
		*why = R_LOST;
	else if (!c->nstack)
		*why = none_open(c);
	if (!c || c->stack_id != e->stack || c->lost != e->lost || !c->nstack)
		return NULL;
	f = &c->stack[c->nstack - 1];
	if (f->depth != e->depth || f->lost_at != e->lost) {
		*why = f->lost_at != e->lost || c->lost != e->lost ? R_LOST : R_STEP;
		return NULL;
	}
	while (!f->visible && f > c->stack) /* filtered out of the trace (-N) */
		f--;
	if (!f->visible) {
		*why = none_open(c);
		return NULL;
	}
	if (!f->fn) {
		*why = R_NO_ENTRY;
		return NULL;
	}
	return f;
}

/* "path": the shown calls open around it, outermost first, as far as no
 * loss can have left one open that returned */
static void write_path(FILE *m, const struct ctrace_create *e, const struct thread_tree *c,
		       const struct frame *call)
{
	const struct frame *f = call;
	bool first = true, complete;

	while (f > c->stack && f[-1].lost_at == e->lost)
		f--;
	complete = f == c->stack && !may_predate(c);
	fputs(",\"path\":[", m);
	for (; f <= call; f++) {
		if (!f->visible)
			continue;
		if (!first)
			fputc(',', m);
		first = false;
		jsonw_cstr(m, f->fn ? f->fn->name : NULL);
	}
	fprintf(m, "],\"path_complete\":%s", complete ? "true" : "false");
}

static char *render(const struct trace *tr, const struct ctrace_create *e, uint64_t ts,
		    const struct thread_tree *c)
{
	const char *why = NULL;
	const struct frame *f = open_call(tr, e, c, &why);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	fputc('{', m);
	jsonw_key(m, "thread_id");
	jsonw_u64(m, e->h.tid);
	jsonw_member_u64(m, "time_ns", ts);
	jsonw_next_key(m, "call");
	if (f) {
		fputc('{', m);
		jsonw_key(m, "function");
		jsonw_cstr(m, f->fn->name);
		jsonw_member_cstr(m, "module", f->fn->module);
		jsonw_member_u64(m, "start_ns", f->start);
		write_path(m, e, c, f);
		fputc('}', m);
	} else {
		fputs("null", m);
		jsonw_member_cstr(m, "call_unavailable", why);
	}
	fputc('}', m);
	if (fclose(m)) {
		free(buf);
		return NULL;
	}
	return buf;
}

void lineage_on_create(struct trace *tr, const struct ctrace_create *e, uint64_t ts,
		       const struct thread_tree *creator)
{
	char *old = u64map_get(&tr->created, e->child), *s = render(tr, e, ts, creator);

	/* a CREATE nobody adopted: the tid's thread made no traced call */
	free(old);
	if (u64map_put(&tr->created, e->child, s))
		free(s);
}

void lineage_adopt(struct trace *tr, struct thread_tree *t)
{
	char *s = u64map_get(&tr->created, t->tid);

	if (!s)
		return;
	free(t->created_by);
	t->created_by = s;
	u64map_put(&tr->created, t->tid, NULL); /* replacing a value never fails */
}

void lineage_free(struct trace *tr)
{
	uint64_t k;
	void *v;

	for (size_t it = 0; u64map_next(&tr->created, &it, &k, &v);)
		free(v);
	u64map_free(&tr->created);
}
