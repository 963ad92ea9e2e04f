#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "attach/capture_plans.h"
#include "consume/capture_decode.h"
#include "consume/lineage.h"
#include "consume/memory.h"
#include "record/ctrace_model.h"
#include "ctrace.h"
#include "ctrace_plan.h"
#include "utils/log.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "rebuild/tree.h"
#include "write/json_tree.h"
#include "record/ctrace_write.h"
#include "utils/xalloc.h"

#define R_EXEC		   "exit not observed (the process replaced its image: exec)"
#define R_FORKED	   "entry not observed (called before the fork, in the parent)"
#define R_UNSEEN_STACK	   "entry not observed (on a stack saved before tracing saw it)"
#define R_PARKED	   "exit not observed (its stack was never resumed: swapcontext)"
#define R_THREAD_ELSEWHERE "exit not observed (the thread ended on another stack)"
#define R_PARKED_AT_END	   "exit not observed (its stack was suspended when tracing stopped)"

int trace_init(struct trace *tr, pid_t pid, struct symbolizer *sym, bool attach, uint64_t t0,
	       int spool_dirfd)
{
	memset(tr, 0, sizeof(*tr));
	procs_init(&tr->procs, pid, sym, sym ? symbolizer_filter(sym) : NULL);
	tr->sym = sym;
	tr->attach = attach;
	tr->t0 = t0;
	tr->spool_dirfd = spool_dirfd;
	tr->sink = json_tree_new(spool_dirfd);
	return tr->sink ? 0 : -ENOMEM;
}

void trace_set_sink(struct trace *tr, struct tree_sink *sink)
{
	if (tr->sink)
		tr->sink->ops->free(tr->sink);
	tr->sink = sink;
}

static int grow(void **v, size_t *cap, size_t n)
{
	size_t nc;
	void *nv;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	nv = realloc(*v, nc * sizeof(void *));
	if (!nv)
		return -1;
	*v = nv;
	*cap = nc;
	return 0;
}

static struct thread_tree *new_tree(struct trace *tr, uint32_t tid)
{
	struct thread_tree *t = calloc(1, sizeof(*t));
	int rc = -ENOMEM;

	if (!t || !tr->sink || grow((void **)&tr->threads, &tr->capthreads, tr->nthreads) ||
	    grow((void **)&tr->live, &tr->caplive, tr->nlive) ||
	    (rc = tree_init(t, tid, tr->sink, tr->attach))) {
		log_err("cannot keep a new thread's tree: %s", strerror(-rc));
		abort();
	}
	t->pid = tr->procs.main_pid; /* until its THREAD event says */
	lineage_adopt(tr, t);
	tr->threads[tr->nthreads++] = t;
	tr->live[tr->nlive++] = t;
	return tr->last = t;
}

/* The tree of a live thread: the live ones are few and events of a thread
 * come in runs, so the last hit is cached and the rest is a short scan. A tid
 * reused after its thread exited gets a new tree. */
static struct thread_tree *thread_for(struct trace *tr, uint32_t tid, bool create)
{
	struct thread_tree *t = tr->last;

	if (t && t->tid == tid)
		return t;
	for (size_t i = 0; i < tr->nlive; i++) {
		if (tr->live[i]->tid == tid)
			return tr->last = tr->live[i];
	}
	return create ? new_tree(tr, tid) : NULL;
}

static void drop(struct thread_tree **v, size_t *n, const struct thread_tree *t)
{
	for (size_t i = 0; i < *n; i++) {
		if (v[i] == t) {
			v[i] = v[--*n];
			return;
		}
	}
}

/* its frames are closed: nothing more is written to its tree */
static void thread_ended(struct trace *tr, struct thread_tree *t)
{
	int rc;

	t->exited = true;
	/* a program that starts thousands of threads (or processes) over its
	 * life must not run out of file descriptors: the sink puts an ended
	 * tree aside */
	rc = tree_end(t);
	if (rc && !tr->err)
		tr->err = -rc;
	drop(tr->live, &tr->nlive, t);
	if (tr->last == t)
		tr->last = NULL;
}

struct thread_tree *trace_new_thread(struct trace *tr, uint32_t tid)
{
	return new_tree(tr, tid);
}

void trace_end_thread(struct trace *tr, struct thread_tree *t)
{
	thread_ended(tr, t);
}

/* The stacks that will never resume: every one of process pid (gone or
 * replaced), or when tid is given, that thread's own (it ended elsewhere). */
static void close_parked(struct trace *tr, uint32_t pid, uint32_t tid, const char *reason)
{
	for (size_t i = 0; i < tr->nparked;) {
		struct thread_tree *t = tr->parked[i];

		if (tid ? t->tid != tid || t->stack_id : t->pid != pid) {
			i++;
			continue;
		}
		tr->parked[i] = tr->parked[--tr->nparked];
		t->parked = false;
		tree_close_all(t, reason);
		thread_ended(tr, t);
	}
}

/* live_only: the process of each thread, as the trees would say it (a new
 * tid is the target's until its THREAD event says), so the records are
 * symbolized with the right map; a tid that exits starts afresh */
struct rthread {
	uint32_t pid;
	bool live;
};

static struct rthread *rthread_for(struct trace *tr, uint32_t tid, bool create)
{
	struct rthread *rt = u64map_get(&tr->rthreads, tid);

	if (rt && rt->live)
		return rt;
	if (!create)
		return NULL;
	if (!rt) {
		rt = xcalloc(1, sizeof(*rt));
		if (u64map_put(&tr->rthreads, tid, rt))
			abort();
	}
	rt->live = true;
	rt->pid = (uint32_t)tr->procs.main_pid;
	return rt;
}

/* A thread moved to another stack (a coroutine): the tree of the stack it
 * left is parked, its frames open, and the other stack's tree goes on, or
 * a new one starts. A thread's own stack is 0; the others are numbered per
 * trace by BPF. Parked trees hold a spool each: bounded by the coroutines
 * alive, since a finished one's tree is archived. */
static void switch_stack(struct trace *tr, uint32_t tid, uint32_t stack, bool unseen)
{
	struct thread_tree *cur = thread_for(tr, tid, true), *t = NULL;

	if (cur->stack_id == stack)
		return;
	for (size_t i = 0; i < tr->nparked && !t; i++) {
		struct thread_tree *p = tr->parked[i];

		if (p->stack_id == stack && (stack ? p->pid == cur->pid : p->tid == tid))
			t = p;
	}
	if (cur->stack_id && !cur->nstack) {
		/* a coroutine that returned: its tree is complete (were the
		 * stack resumed, its calls would start a tree of their own) */
		tree_close_all(cur, NULL);
		thread_ended(tr, cur);
	} else {
		drop(tr->live, &tr->nlive, cur);
		if (grow((void **)&tr->parked, &tr->capparked, tr->nparked)) {
			log_err("out of memory");
			abort();
		}
		tr->parked[tr->nparked++] = cur;
		cur->parked = true;
	}
	if (t) {
		drop(tr->parked, &tr->nparked, t);
		t->parked = false;
		t->tid = tid; /* a coroutine may be resumed by another thread */
		tr->live[tr->nlive++] = t;
		tr->last = t;
		return;
	}
	t = new_tree(tr, tid);
	t->pid = cur->pid;
	t->stack_id = stack;
	memcpy(t->name, cur->name, sizeof(t->name));
	if (unseen) { /* its calls so far were made before tracing saw it */
		t->attach = true;
		t->before = R_UNSEEN_STACK;
	}
}

static void set_name(struct thread_tree *t, const char *comm)
{
	size_t n = strnlen(comm, CTRACE_COMM_LEN);

	memcpy(t->name, comm, n);
	t->name[n] = 0;
}

/* the process of a thread; threads of a process not seen before (their
 * fork was lost) are symbolized with the target's map */
static struct proc *proc_of(struct trace *tr, uint32_t pid)
{
	struct proc *p = procs_find(&tr->procs, (pid_t)pid);

	return p ? p : procs_add(&tr->procs, (pid_t)pid, 0, tr->sym);
}

/* every event looks its process up: cached on the tree */
static struct proc *thread_proc(struct trace *tr, struct thread_tree *t)
{
	struct proc *p = t->owner;

	if (!p || p->pid != (pid_t)t->pid)
		t->owner = p = proc_of(tr, t->pid);
	return p;
}

/* the process table's part of FORK/EXEC/DLSTATE: live effects, never
 * replayed (the table is left as it ended) */
static void proc_table_event(struct trace *tr, const struct ctrace_proc *e, uint64_t ts)
{
	struct proc *p, *parent;
	char path[CTRACE_PATH_MAX + 1];

	switch (e->h.kind) {
	case CTRACE_EV_FORK:
		parent = proc_of(tr, e->parent);
		p = procs_add(&tr->procs, (pid_t)e->tgid, (pid_t)e->parent, parent->sym);
		p->forked = true;
		p->gen = e->gen;
		p->start_ns = ts;
		memcpy(p->comm, e->comm, CTRACE_COMM_LEN);
		break;
	case CTRACE_EV_EXEC:
		p = proc_of(tr, e->tgid);
		memcpy(path, e->path, CTRACE_PATH_MAX);
		path[CTRACE_PATH_MAX] = 0;
		procs_note_exec(p, ts, path);
		procs_note_gen(&tr->procs, p);
		procs_own_sym(&tr->procs, p);
		p->gen = e->gen;
		p->remap = true;
		p->stopped |= e->stopped != 0;
		break;
	case CTRACE_EV_DLSTATE:
		p = proc_of(tr, e->tgid);
		if (!p->own_sym) /* a forked child loads code of its own */
			procs_own_sym(&tr->procs, p);
		/* the events that follow are named by the new map (attached, the
		 * target runs on: they may come before the loop's own look) */
		if (symbolizer_load_maps(p->sym))
			symbolizer_map_unknown(p->sym); /* never a stale name */
		if (p->gen != e->gen)
			procs_note_gen(&tr->procs, p);
		p->gen = e->gen;
		p->remap = true;
		p->stopped |= e->stopped != 0;
		break;
	}
}

/* the image generation of p's events now: at replay, as the records say */
static unsigned proc_gen(struct trace *tr, const struct proc *p)
{
	uintptr_t g;

	if (!tr->replay)
		return p->gen;
	g = (uintptr_t)u64map_get(&tr->gens, (uint64_t)p->pid);
	return g ? (unsigned)(g - 1) : 0;
}

static void on_proc_event(struct trace *tr, const struct ctrace_proc *e, uint64_t ts)
{
	struct thread_tree *t;

	if (tr->replay) {
		if (u64map_put(&tr->gens, e->tgid, (void *)(uintptr_t)(e->gen + 1u)))
			abort();
	} else {
		proc_table_event(tr, e, ts);
	}
	switch (e->h.kind) {
	case CTRACE_EV_FORK:
		/* a tree of its own from the start: the calls it returns from
		 * were entered in the parent */
		t = thread_for(tr, e->h.tid, true);
		if (t->calls || t->nstack) { /* the tid's last exit was lost */
			tree_close_all(t, "exit not observed (events lost)");
			thread_ended(tr, t);
			t = thread_for(tr, e->h.tid, true);
		}
		t->pid = e->tgid;
		t->attach = true;
		t->before = R_FORKED;
		set_name(t, e->comm);
		break;
	case CTRACE_EV_EXEC:
		/* the calls open in the old image never return; the new image
		 * gets a tree of its own */
		close_parked(tr, e->tgid, 0, R_EXEC);
		for (uint32_t tid = e->parent;; tid = e->h.tid) {
			t = thread_for(tr, tid, false);
			if (t) {
				/* the process's thread goes on in the new image */
				if (tid == e->h.tid && t->created_by &&
				    u64map_put(&tr->created, e->h.tid, t->created_by) == 0)
					t->created_by = NULL;
				tree_close_all(t, R_EXEC);
				thread_ended(tr, t);
			}
			if (tid == e->h.tid)
				break;
		}
		t = thread_for(tr, e->h.tid, true);
		t->pid = e->tgid;
		set_name(t, e->comm);
		memory_on_exec(tr, e->tgid);
		break;
	}
}

/* the process table's part of THREAD_EXIT */
static void proc_exit_event(struct trace *tr, const struct ctrace_thread *e, uint64_t ts)
{
	struct proc *p = proc_of(tr, e->tgid);

	p->exited = true;
	p->exit_code = e->exit_code;
	p->end_ns = ts;
	if ((pid_t)e->tgid == tr->procs.main_pid) {
		tr->proc_exited = true;
		tr->proc_exit_code = e->exit_code;
	}
}

/* the functions an event's function pointers name in the map of now: the
 * replay cannot know that map (a library may be gone, another in its place) */
static void record_fnptrs(struct trace *tr, struct proc *p, const void *data, size_t size)
{
	uint64_t addr[CTRACE_MAX_ARGS];
	uint32_t ids[CTRACE_MAX_ARGS];
	unsigned n = capture_fnptrs(tr->capture, data, size, addr);

	for (unsigned i = 0; i < n; i++)
		ids[i] = ctw_func(tr->rec, (struct func_info *)symbolize(p->sym, addr[i]));
	if (n)
		ctw_fnptrs(tr->rec, addr, ids, n);
}

/* --srcline: an ENTER_SITE's call site, interned (NULL: none known) */
static struct call_site_info *site_of(struct symbolizer *sym, const struct ctrace_call_site *e)
{
	return (struct call_site_info *)symbolize_site(sym, e->c.fn, e->site, e->at);
}

/* the call site of an entry: replayed, as the record named it */
static const char *call_site(const struct trace *tr, struct symbolizer *sym, const void *data,
			     size_t size)
{
	const struct call_site_info *si;

	if (tr->replay)
		return tr->replay_site;
	if (((const struct ctrace_hdr *)data)->kind == CTRACE_EV_ENTER_ARGS ||
	    ((const struct ctrace_hdr *)data)->kind == CTRACE_EV_ENTER_ARGS_SMALL)
		return tr->args_site; /* record_live's, this event's */
	if (((const struct ctrace_hdr *)data)->kind != CTRACE_EV_ENTER_SITE || !sym ||
	    size < sizeof(struct ctrace_call_site))
		return NULL;
	si = site_of(sym, data);
	return si ? si->loc : NULL;
}

/* --srcline with --args: a SITE names the call site of its thread's next
 * event, when that is the ENTER_ARGS of the same call (fn and depth): one
 * lost in between must not lend it to another call */
struct pending_site {
	uint32_t tid;
	struct ctrace_call_site e;
};
#define MAX_PENDING_SITES 1024 /* threads between a SITE and its ENTER_ARGS */

static bool take_site(struct trace *tr, uint32_t tid, struct ctrace_call_site *out)
{
	for (size_t i = 0; i < tr->npsites; i++) {
		if (tr->psites[i].tid == tid) {
			*out = tr->psites[i].e;
			tr->psites[i] = tr->psites[--tr->npsites];
			return true;
		}
	}
	return false;
}

static void keep_site(struct trace *tr, uint32_t tid, const struct ctrace_call_site *e)
{
	struct ctrace_call_site old;

	take_site(tr, tid, &old);
	if (!tr->psites)
		tr->psites = malloc(MAX_PENDING_SITES * sizeof(*tr->psites));
	if (tr->psites && tr->npsites < MAX_PENDING_SITES) /* else: no call site */
		tr->psites[tr->npsites++] = (struct pending_site){ tid, *e };
}

/* The live side of the compact record: the process table as the trees
 * would keep it (live_only), then the record with its function's id. */
static void record_live(struct trace *tr, const struct ctrace_hdr *h, void *data, size_t size,
			uint64_t ts)
{
	const struct ctrace_call *c = data;
	struct rthread *rt = NULL;
	struct thread_tree *t;
	uint32_t fn = 0;
	uint64_t addr = 0;
	bool create = true, pending = false;
	struct ctrace_call_site site;

	if (h->kind == CTRACE_EV_SITE) { /* kept for its ENTER_ARGS, not recorded */
		if (size >= sizeof(site))
			keep_site(tr, h->tid, data);
		return;
	}
	tr->args_site = NULL;
	if (tr->npsites)
		pending = take_site(tr, h->tid, &site);
	switch (h->kind) {
	case CTRACE_EV_RETVAL:
		create = false;
		addr = size >= sizeof(struct ctrace_retval) ? ((struct ctrace_retval *)data)->fn :
							      0;
		/* fall through */
	case CTRACE_EV_ENTER:
	case CTRACE_EV_ENTER_SITE:
	case CTRACE_EV_CALLER:
	case CTRACE_EV_ENTER_ARGS:
	case CTRACE_EV_ENTER_ARGS_SMALL:
	case CTRACE_EV_EXIT: {
		struct proc *p = NULL;

		if (size < sizeof(*c) || (create ? 0 : !addr))
			break;
		if (create)
			addr = c->fn;
		if (tr->live_only) {
			rt = rthread_for(tr, h->tid, create);
			p = rt ? proc_of(tr, rt->pid) : NULL;
		} else {
			t = thread_for(tr, h->tid, create);
			p = t ? thread_proc(tr, t) : NULL;
		}
		if (p)
			fn = ctw_func(tr->rec, (struct func_info *)symbolize(p->sym, addr));
		if (p && h->kind == CTRACE_EV_ENTER_SITE && size >= sizeof(struct ctrace_call_site))
			ctw_site(tr->rec, site_of(p->sym, data)); /* before its ENTER */
		else if (p && pending && site.c.fn == c->fn && site.c.depth == c->depth &&
			 (h->kind == CTRACE_EV_ENTER_ARGS ||
			  h->kind == CTRACE_EV_ENTER_ARGS_SMALL)) {
			struct call_site_info *si = site_of(p->sym, &site);

			ctw_site(tr->rec, si);
			tr->args_site = si ? si->loc : NULL; /* for the live tree too */
		}
		if (p && tr->capture && h->kind != CTRACE_EV_ENTER && h->kind != CTRACE_EV_EXIT &&
		    h->kind != CTRACE_EV_CALLER && h->kind != CTRACE_EV_ENTER_SITE)
			record_fnptrs(tr, p, data, size);
		break;
	}
	case CTRACE_EV_FORK:
	case CTRACE_EV_EXEC:
	case CTRACE_EV_DLSTATE:
		if (!tr->live_only || size < sizeof(struct ctrace_proc))
			break;
		proc_table_event(tr, data, ts);
		if (h->kind != CTRACE_EV_DLSTATE) {
			const struct ctrace_proc *e = data;

			if (h->kind == CTRACE_EV_EXEC && (rt = rthread_for(tr, e->parent, false)))
				rt->live = false;
			rthread_for(tr, h->tid, true)->pid = e->tgid;
		}
		break;
	case CTRACE_EV_THREAD:
		if (!tr->live_only || size < sizeof(struct ctrace_thread))
			break;
		rthread_for(tr, h->tid, true)->pid = ((struct ctrace_thread *)data)->tgid;
		proc_of(tr, ((struct ctrace_thread *)data)->tgid);
		break;
	case CTRACE_EV_THREAD_EXIT:
		if (!tr->live_only || size < sizeof(struct ctrace_thread))
			break;
		if (((struct ctrace_thread *)data)->group_dead)
			proc_exit_event(tr, data, ts);
		if ((rt = rthread_for(tr, h->tid, false)))
			rt->live = false;
		break;
	}
	if (tr->capture && capture_changes(tr->capture) != tr->rec_marked) {
		ctw_plans(tr->rec, tr->capture, tr->rec_marked);
		tr->rec_marked = capture_changes(tr->capture);
		ctw_mark(tr->rec, tr->rec_marked);
	}
	ctw_event(tr->rec, data, size, fn);
}

/* --caller: why a caller's entry is unknown (ctrace.h CTRACE_ELIDED_*) */
static const char *elided_reason(uint64_t why)
{
#define KEEPS " the 64 frames --caller keeps"
	_Static_assert(CTRACE_CALLER_DEPTH == 64, "the reasons name the frames kept");
	switch (why) {
	case CTRACE_ELIDED_DEEP: return "entry not observed (a caller beyond" KEEPS ")";
	case CTRACE_ELIDED_REUSED:
		return "entry not observed (a call deeper than" KEEPS " took its frame)";
	default: return "entry not observed (no room to keep a coroutine stack's callers)";
	}
#undef KEEPS
}

void trace_call_event(struct trace *tr, struct thread_tree *t, const void *data, size_t size,
		      const struct func_info *fi, unsigned gen, struct symbolizer *sym, uint64_t ts)
{
	const struct ctrace_hdr *h = data;
	const struct ctrace_call *e = data;
	struct tree_extra x = { 0 };
	/* an entry without arguments (a CALLER says why it has none) */
	bool plain = h->kind == CTRACE_EV_ENTER || h->kind == CTRACE_EV_ENTER_SITE;
	int r;

	if (tr->capture && fi)
		capture_set_process(tr->capture, gen, sym);
	switch (h->kind) {
	case CTRACE_EV_UNWIND:
		t->lost = e->lost;
		tree_unwind(t, e->depth, ts, !(e->fn & CTRACE_UNWIND_UNSEEN));
		break;
	case CTRACE_EV_ELIDED:
		t->lost = e->lost;
		tree_elided(t, e->depth, elided_reason(e->fn));
		break;
	case CTRACE_EV_RETVAL:
		if (!tr->capture)
			break;
		capture_ret_extra(tr->capture, fi, data, &x);
		if (x.write)
			tree_return(t, fi, &x);
		break;
	case CTRACE_EV_EXIT:
		t->lost = e->lost;
		r = tr->capture ? capture_exit(tr->capture, fi, &x) : 0;
		tree_exit(t, e->depth, fi, ts, r != 0);
		if (r == 2)
			tree_return(t, fi, &x);
		break;
	default:
		t->lost = e->lost;
		if (tr->capture)
			capture_args_extra(tr->capture, fi, plain ? NULL : data, size, &x);
		x.call_site = call_site(tr, sym, data, size);
		tree_enter(t, e->depth, fi, ts, &x);
		if (!plain && h->kind != CTRACE_EV_CALLER)
			tree_keep_args(t, data, size);
	}
}

/* a call event of t, as trace_call_event takes it, also shown to the tap */
static void call_event(struct trace *tr, struct thread_tree *t, void *data, size_t size,
		       const struct func_info *fi, struct proc *p, uint64_t ts)
{
	unsigned gen = proc_gen(tr, p);

	if (tr->tap)
		tr->tap(t, data, size, fi, gen);
	trace_call_event(tr, t, data, size, fi, gen, p->sym, ts);
}

int trace_on_event(void *ctx, void *data, size_t size)
{
	struct trace *tr = ctx;
	const struct ctrace_hdr *h = data;
	struct thread_tree *t;
	struct proc *p;
	uint64_t ts;

	if (size < sizeof(*h))
		return 0;
	tr->events++;
	ts = h->ts > tr->t0 ? h->ts - tr->t0 : 0;
	if (tr->rec)
		record_live(tr, h, data, size, ts);
	if (tr->live_only)
		return 0;
	switch (h->kind) {
	case CTRACE_EV_ENTER:
	case CTRACE_EV_ENTER_SITE:
	case CTRACE_EV_CALLER:
	case CTRACE_EV_ENTER_ARGS:
	case CTRACE_EV_ENTER_ARGS_SMALL:
	case CTRACE_EV_EXIT: {
		const struct ctrace_call *e = data;
		const struct func_info *fi;

		if (size < sizeof(*e))
			return 0;
		t = thread_for(tr, h->tid, true);
		p = thread_proc(tr, t);
		fi = tr->replay ? tr->replay_fn : symbolize(p->sym, e->fn);
		if (!fi)
			return 0;
		call_event(tr, t, data, size, fi, p, ts);
		break;
	}
	case CTRACE_EV_FORK:
	case CTRACE_EV_EXEC:
	case CTRACE_EV_DLSTATE:
		if (size < sizeof(struct ctrace_proc))
			return 0;
		on_proc_event(tr, data, ts);
		break;
	case CTRACE_EV_SWITCH: {
		const struct ctrace_call *e = data;

		if (size < sizeof(*e))
			return 0;
		switch_stack(tr, h->tid, (uint32_t)(e->fn & CTRACE_STACK_MASK),
			     e->fn & CTRACE_SWITCH_UNSEEN);
		thread_for(tr, h->tid, true)->lost = e->lost;
		break;
	}
	case CTRACE_EV_ELIDED: /* --caller's callers whose entries are gone */
	case CTRACE_EV_UNWIND: {
		const struct ctrace_call *e = data;

		if (size < sizeof(*e))
			return 0;
		t = thread_for(tr, h->tid, true);
		call_event(tr, t, data, size, NULL, thread_proc(tr, t), ts);
		break;
	}
	case CTRACE_EV_RETVAL: {
		const struct ctrace_retval *e = data;
		const struct func_info *fi;

		if (size < sizeof(*e) || !tr->capture)
			return 0;
		t = thread_for(tr, h->tid, false);
		if (!t)
			break;
		p = thread_proc(tr, t);
		fi = tr->replay ? tr->replay_fn : symbolize(p->sym, e->fn);
		if (fi)
			call_event(tr, t, data, size, fi, p, ts);
		break;
	}
	case CTRACE_EV_THREAD: {
		const struct ctrace_thread *e = data;

		if (size < sizeof(*e))
			return 0;
		t = thread_for(tr, h->tid, true);
		t->pid = e->tgid;
		if (!tr->replay)
			proc_of(tr, e->tgid);
		set_name(t, e->comm);
		break;
	}
	case CTRACE_EV_CREATE:
		if (size < sizeof(struct ctrace_create))
			return 0;
		lineage_on_create(tr, data, ts, thread_for(tr, h->tid, false));
		break;
	case CTRACE_EV_ALLOC:
	case CTRACE_EV_FREE:
		if (size < sizeof(struct ctrace_mem))
			return 0;
		memory_on_event(tr, thread_for(tr, h->tid, true), data, ts);
		break;
	case CTRACE_EV_FATAL:
		if (size < sizeof(struct ctrace_signal))
			return 0;
		t = thread_for(tr, h->tid, false);
		crash_note_fatal(&tr->crashes, data, t ? t->pid : (uint32_t)tr->procs.main_pid);
		break;
	case CTRACE_EV_SIGNAL: {
		const struct ctrace_signal *e = data;
		struct thread_tree *sender;

		if (size < sizeof(*e))
			return 0;
		t = thread_for(tr, h->tid, true);
		sender = e->sender == h->tid ? t :
			 e->sender	     ? thread_for(tr, e->sender, false) :
					       NULL;
		crash_note_signal(&tr->crashes, data, t, sender, ts);
		break;
	}
	case CTRACE_EV_THREAD_EXIT: {
		const struct ctrace_thread *e = data;

		if (size < sizeof(*e))
			return 0;
		if (e->group_dead) {
			close_parked(tr, e->tgid, 0, R_PARKED);
			if (!tr->replay)
				proc_exit_event(tr, e, ts);
		}
		t = thread_for(tr, h->tid, false);
		if (!t)
			break;
		set_name(t, e->comm);
		t->lost = e->lost;
		if (t->stack_id)
			close_parked(tr, t->pid, t->tid, R_THREAD_ELSEWHERE);
		if (e->exit_code & 0x7f) {
			char reason[96];

			snprintf(reason, sizeof(reason),
				 "exit not observed (the process was killed by %s)",
				 signal_name(e->exit_code & 0x7f));
			tree_close_all(t, reason);
		} else {
			tree_close_all(t, "exit not observed (the thread ended inside this call)");
		}
		thread_ended(tr, t);
		break;
	}
	}
	return 0;
}

int trace_on_crash(void *ctx, void *data, size_t size)
{
	struct trace *tr = ctx;

	if (tr->rec)
		ctw_crash(tr->rec, data, size);
	if (!tr->live_only)
		crash_on_record(&tr->crashes, data, size);
	return 0;
}

/* the name a thread has at stop: threads often name themselves after starting */
static bool comm_now(uint32_t pid, uint32_t tid, char *comm, size_t n)
{
	char path[64];
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", pid, tid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, (int)n, f)) {
			comm[strcspn(comm, "\n")] = 0;
			ok = true;
		}
		fclose(f);
	}
	return ok;
}

/* live_only: the live threads' names at stop, into the record */
static void record_names(struct trace *tr)
{
	char comm[CTRACE_COMM_LEN + 2];
	uint64_t tid;
	void *v;

	for (size_t it = 0; u64map_next(&tr->rthreads, &it, &tid, &v);) {
		const struct rthread *rt = v;

		if (rt->live && comm_now(rt->pid, (uint32_t)tid, comm, sizeof(comm)))
			ctw_name(tr->rec, (uint32_t)tid, comm);
	}
}

void trace_finish(struct trace *tr, const char *reason)
{
	if (tr->live_only) {
		record_names(tr);
		return;
	}
	for (size_t i = 0; i < tr->nthreads; i++) {
		struct thread_tree *t = tr->threads[i];
		char comm[CTRACE_COMM_LEN + 2];
		const char *name;

		if (t->exited)
			continue;
		if (t->parked) {
			tree_close_all(t, R_PARKED_AT_END);
			continue;
		}
		if (tr->replay) {
			if ((name = u64map_get(&tr->names, t->tid)))
				set_name(t, name);
		} else if (comm_now(t->pid, t->tid, comm, sizeof(comm))) {
			set_name(t, comm);
			if (tr->rec)
				ctw_name(tr->rec, t->tid, comm);
		}
		tree_close_all(t, reason);
	}
}

void trace_set_lost(struct trace *tr, int (*lookup)(void *ctx, uint32_t tid, uint64_t *n),
		    void *ctx)
{
	uint64_t tid, n;
	void *v;

	if (tr->live_only) {
		for (size_t it = 0; u64map_next(&tr->rthreads, &it, &tid, &v);)
			if (!lookup(ctx, (uint32_t)tid, &n))
				ctw_lost(tr->rec, (uint32_t)tid, n);
		return;
	}
	for (size_t i = 0; i < tr->nthreads; i++) {
		if (lookup(ctx, tr->threads[i]->tid, &n))
			continue;
		tr->threads[i]->lost = n;
		if (tr->rec)
			ctw_lost(tr->rec, tr->threads[i]->tid, n);
	}
}

void trace_init_replay(struct trace *tr, struct trace *live)
{
	trace_init(tr, live->procs.main_pid, live->sym, live->attach, live->t0, live->spool_dirfd);
	procs_free(&tr->procs);
	tr->procs = live->procs;
	tr->procs_borrowed = true;
	tr->capture = live->capture;
	tr->replay = true;
	if (live->mem)
		memory_enable(tr);
}

void trace_replay_name(struct trace *tr, uint32_t tid, const char *name)
{
	char *old = u64map_get(&tr->names, tid);

	free(old);
	if (u64map_put(&tr->names, tid, xstrdup(name)))
		abort();
}

void trace_replay_lost(struct trace *tr, uint32_t tid, uint64_t n)
{
	for (size_t i = 0; i < tr->nthreads; i++)
		if (tr->threads[i]->tid == tid)
			tr->threads[i]->lost = n;
}

int trace_spool_error(struct trace *tr)
{
	if (tr->rec && !tr->err)
		tr->err = ctw_error(tr->rec);
	for (size_t i = 0; i < tr->nthreads && !tr->err; i++)
		tr->err = tree_error(tr->threads[i]);
	return tr->err;
}

uint64_t trace_total_calls(const struct trace *tr)
{
	uint64_t n = 0;

	if (tr->live_only) /* the calls recorded so far */
		return ctw_calls(tr->rec);
	for (size_t i = 0; i < tr->nthreads; i++)
		n += tr->threads[i]->calls;
	return n;
}

size_t trace_threads_seen(const struct trace *tr)
{
	return tr->live_only ? tr->rthreads.n + tr->rthreads.has_zero : tr->nthreads;
}

uint64_t trace_total_resyncs(const struct trace *tr)
{
	uint64_t n = 0;

	for (size_t i = 0; i < tr->nthreads; i++)
		n += tr->threads[i]->resyncs;
	return n;
}

void trace_free(struct trace *tr)
{
	uint64_t k;
	void *v;

	free(tr->psites);
	for (size_t i = 0; i < tr->nthreads; i++) {
		tree_free(tr->threads[i]);
		free(tr->threads[i]->created_by);
		free(tr->threads[i]);
	}
	crash_free(&tr->crashes);
	if (!tr->procs_borrowed)
		procs_free(&tr->procs);
	for (size_t it = 0; u64map_next(&tr->rthreads, &it, &k, &v);)
		free(v);
	for (size_t it = 0; u64map_next(&tr->names, &it, &k, &v);)
		free(v);
	u64map_free(&tr->rthreads);
	u64map_free(&tr->names);
	u64map_free(&tr->gens);
	lineage_free(tr);
	memory_free(tr);
	if (tr->sink)
		tr->sink->ops->free(tr->sink);
	tr->sink = NULL;
	free(tr->threads);
	free(tr->live);
	free(tr->parked);
	tr->parked = NULL;
	tr->live = NULL;
	tr->threads = NULL;
	tr->nthreads = 0;
}
