// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The flight recorder; see flight.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "consume/procs.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "ctrace.h"
#include "rebuild/flight.h"
#include "rebuild/tree.h"
#include "utils/xalloc.h"

/* ENTER/EXIT fit in place: no allocation on the hot path */
#define INLINE_BYTES sizeof(struct ctrace_call)

/* one call event as the consumer received it */
struct fl_event {
	union {
		uint8_t bytes[INLINE_BYTES];
		void *big; /* larger ones (captured arguments, return values) */
	} d;
	uint32_t size, gen;
	const struct func_info *fn;
};

/* a call whose entry left the window */
struct fl_out {
	int32_t depth;
	const struct func_info *fn;
};

/* A live tree's window (its sink state): a ring of events */
struct fl_ring {
	struct fl_event *v;
	size_t cap, head, n;
	uint32_t enters;      /* the entries of shown calls it holds */
	bool dropped;	      /* calls older than the window were let go */
	uint64_t lost_before; /* the thread's losses at the last one let go */
	struct fl_out *out;   /* the calls let go whose exits were too: the ones
			       * still open around the window, outermost first */
	uint32_t nout, capout;
	char *end_reason; /* the last partial close's reason: why the calls
			       * open at the tree's end never returned */
};

struct flight {
	struct tree_sink sink;
	uint32_t last;
};

static struct flight *flight_of(struct thread_tree *t)
{
	return (struct flight *)t->sink;
}

static const void *ev_data(const struct fl_event *e)
{
	return e->size > INLINE_BYTES ? e->d.big : e->d.bytes;
}

static bool is_enter(uint32_t kind)
{
	return kind == CTRACE_EV_ENTER || kind == CTRACE_EV_ENTER_SITE ||
	       kind == CTRACE_EV_ENTER_ARGS || kind == CTRACE_EV_ENTER_ARGS_SMALL ||
	       kind == CTRACE_EV_CALLER;
}

/* an entry of a shown call: what the window counts */
static bool counts(const struct fl_event *e)
{
	return is_enter(((const struct ctrace_hdr *)ev_data(e))->kind) && e->fn && e->fn->allowed;
}

/* the calls let go that are still open, as each event let go leaves them */
static void track_out(struct fl_ring *r, const struct fl_event *e)
{
	const struct ctrace_call *c = ev_data(e);
	int32_t keep = c->h.kind == CTRACE_EV_EXIT ? c->depth - 1 : c->depth;

	if (c->h.kind != CTRACE_EV_RETVAL)
		r->lost_before = c->lost;
	if (c->h.kind == CTRACE_EV_RETVAL || c->h.kind == CTRACE_EV_SWITCH)
		return;
	if (is_enter(c->h.kind))
		keep = c->depth - 1; /* deeper ones' exits were lost */
	while (r->nout && r->out[r->nout - 1].depth > keep)
		r->nout--;
	if (!is_enter(c->h.kind))
		return;
	if (r->nout == r->capout) {
		r->capout = r->capout ? r->capout * 2 : 16;
		r->out = xrealloc(r->out, r->capout * sizeof(*r->out));
	}
	r->out[r->nout++] = (struct fl_out){ c->depth, e->fn };
}

static void pop_front(struct fl_ring *r)
{
	struct fl_event *e = &r->v[r->head];

	if (e->size >= sizeof(struct ctrace_call))
		track_out(r, e);
	if (counts(e))
		r->enters--;
	if (e->size > INLINE_BYTES)
		free(e->d.big);
	r->head = (r->head + 1) % r->cap;
	r->n--;
	r->dropped = true;
}

/* the oldest call goes, and what follows it up to the next call's entry
 * (its exit, its ancestors' exits): the window starts at an entry */
static void drop_oldest(struct fl_ring *r)
{
	bool gone = false;

	while (r->n && !(gone && counts(&r->v[r->head]))) {
		gone |= counts(&r->v[r->head]);
		pop_front(r);
	}
}

static void grow_ring(struct fl_ring *r)
{
	size_t nc = r->cap ? r->cap * 2 : 64;
	struct fl_event *nv = xcalloc(nc, sizeof(*nv));

	for (size_t i = 0; i < r->n; i++)
		nv[i] = r->v[(r->head + i) % r->cap];
	free(r->v);
	r->v = nv;
	r->cap = nc;
	r->head = 0;
}

/* trace.tap: every call event of a live tree goes into its window */
static void fl_tap(struct thread_tree *t, const void *data, size_t size, const struct func_info *fi,
		   unsigned gen)
{
	struct fl_ring *r = t->out;
	struct fl_event *e;

	if (r->n == r->cap)
		grow_ring(r);
	e = &r->v[(r->head + r->n++) % r->cap];
	e->size = (uint32_t)size;
	e->gen = gen;
	e->fn = fi;
	if (size > INLINE_BYTES)
		e->d.big = xcheck(malloc(size));
	memcpy(size > INLINE_BYTES ? e->d.big : e->d.bytes, data, size);
	if (!counts(e))
		return;
	if (++r->enters > flight_of(t)->last)
		drop_oldest(r);
}

/* The live sink writes nothing; it remembers why calls closed without an
 * exit, for the window's calls that the thread's end leaves open */
static int fl_begin(struct tree_sink *s, struct thread_tree *t)
{
	(void)s;
	t->out = calloc(1, sizeof(struct fl_ring));
	return t->out ? 0 : -ENOMEM;
}

static void fl_none(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	(void)s;
	(void)t;
	(void)n;
}

static void fl_close(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	struct fl_ring *r = t->out;
	const char *why = n->partial_reason, *sep;

	(void)s;
	if (!why)
		return;
	/* a placeholder's says its missing entry first */
	if (n->placeholder && (sep = strstr(why, "; ")))
		why = sep + 2;
	if (r->end_reason && !strcmp(r->end_reason, why))
		return;
	free(r->end_reason);
	r->end_reason = xstrdup(why);
}

static int fl_end(struct tree_sink *s, struct thread_tree *t)
{
	(void)s;
	(void)t;
	return 0;
}

static void fl_free_thread(struct tree_sink *s, struct thread_tree *t)
{
	struct fl_ring *r = t->out;

	(void)s;
	if (!r)
		return;
	while (r->n)
		pop_front(r);
	free(r->v);
	free(r->out);
	free(r->end_reason);
	free(r);
	t->out = NULL;
}

static void fl_free(struct tree_sink *s)
{
	free(s);
}

int flight_start(struct trace *live, uint32_t n)
{
	static const struct tree_sink_ops ops = {
		.thread_begin = fl_begin,
		.open = fl_none,
		.close = fl_close,
		.leaf = fl_none,
		.wrap = fl_none,
		.thread_end = fl_end,
		.thread_error = fl_end,
		.thread_free = fl_free_thread,
		.free = fl_free,
	};
	struct flight *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->sink.ops = &ops;
	f->last = n;
	trace_set_sink(live, &f->sink);
	live->tap = fl_tap;
	return 0;
}

/* the root level of a window that starts at an entry: its depth, which
 * is 0 or below once calls that predate an attach have returned */
static int32_t window_base(const struct fl_ring *r)
{
	const struct ctrace_call *c = r->n ? ev_data(&r->v[r->head]) : NULL;

	return c ? c->depth : 1;
}

/* lt's window, rebuilt into a new tree of snap */
static void rebuild(struct trace *snap, struct thread_tree *lt, bool final)
{
	struct thread_tree *t = trace_new_thread(snap, lt->tid);
	const struct fl_ring *r = lt->out;
	const struct proc *p = procs_find(&snap->procs, (pid_t)lt->pid);
	struct symbolizer *sym = p ? p->sym : snap->sym;
	const char *why;
	char both[256];

	t->pid = lt->pid;
	t->stack_id = lt->stack_id;
	memcpy(t->name, lt->name, sizeof(t->name));
	/* its lineage is the live tree's: the creating call may predate the window */
	if (lt->created_by && !t->created_by)
		t->created_by = xstrdup(lt->created_by);
	t->attach = lt->attach;
	t->before = lt->before;
	if (r->dropped) {
		t->attach = true;
		t->before = FLIGHT_BEFORE;
		t->base = window_base(r);
		t->lost = t->lost_root = r->lost_before;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct fl_event *e = &r->v[(r->head + i) % r->cap];
		const struct ctrace_hdr *h = ev_data(e);

		trace_call_event(snap, t, h, e->size, e->fn, e->gen, sym,
				 h->ts > snap->t0 ? h->ts - snap->t0 : 0);
	}
	why = final || lt->exited ? r->end_reason : FLIGHT_RUNNING;
	why = why ? why : "exit not observed";
	tree_close_all(t, why);
	/* the calls still open around the window, innermost first */
	snprintf(both, sizeof(both), "%s; %s", FLIGHT_BEFORE, why);
	for (uint32_t i = r->nout; i-- > 0;)
		if (r->out[i].depth < t->base)
			tree_wrap_open(t, r->out[i].fn, both);
	t->lost = lt->lost;
	trace_end_thread(snap, t);
}

/* the crash log's notes point at the trees of to, not of from */
static void repoint(struct crash_log *l, struct trace *from, struct trace *to)
{
	for (size_t i = 0; i < l->n; i++)
		for (size_t k = 0; k < from->nthreads && k < to->nthreads; k++)
			if (l->v[i].tree == from->threads[k]) {
				l->v[i].tree = to->threads[k];
				break;
			}
}

int flight_snapshot(struct trace *snap, struct trace *live, bool final,
		    void (*wrap)(void *ctx, struct trace *snap), void *ctx)
{
	int rc;

	trace_init_replay(snap, live);
	if (!snap->sink)
		return -ENOMEM;
	if (wrap)
		wrap(ctx, snap);
	for (size_t i = 0; i < live->nthreads; i++)
		rebuild(snap, live->threads[i], final);
	snap->crashes = live->crashes;
	repoint(&snap->crashes, live, snap);
	rc = trace_spool_error(snap);
	return rc ? -rc : 0;
}

void flight_release(struct trace *snap, struct trace *live)
{
	repoint(&snap->crashes, snap, live);
	memset(&snap->crashes, 0, sizeof(snap->crashes));
	trace_free(snap);
}
