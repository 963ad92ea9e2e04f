// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Probe programs for the -finstrument-functions hooks.
 *
 * The same two programs serve both probe placements the loader uses:
 * the call instructions to the hooks inside each instrumented function, and
 * the NOP heading the hooks of the preloaded hooks library. In both places
 * rdi holds this_fn, so the traced function is identified the same way, and
 * inlined callees (whose hook calls sit inside their caller) are named right. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "ctrace.h"
#include "ctrace_plan.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* vmlinux.h has types only: the numbers used here */
#define EINVAL	22
#define E2BIG	7
#define SIGILL	4
#define SIGTRAP 5
#define SIGABRT 6
#define SIGBUS	7
#define SIGFPE	8
#define SIGSEGV 11
#define SIGSTOP 19
#define SIGSYS	31
#define SIG_IGN 1 /* a handler at or below it is SIG_DFL (0) or SIG_IGN */

#define RET_ADDR_SIZE 8 /* the return address a call pushes */

_Static_assert(sizeof(struct pt_regs) == CTRACE_PTREGS_NSLOTS * 8,
	       "pt_regs as ctrace_regs.h reads it");

const volatile __u32 targ_tgid = 0;
const volatile __s32 max_depth = 0;	   /* 0: no limit */
const volatile __u64 wake_bytes = 1 << 20; /* wake the consumer past this fill */
const volatile __u32 follow_forks = 0;	   /* trace the processes in procs too */

/* The traced processes other than targ_tgid (forked with --follow-forks),
 * and the state of every one, targ_tgid included (ctrace.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, __u32);
	__type(value, struct ctrace_proc_state);
} procs SEC(".maps");

static __always_inline bool traced(__u32 tgid)
{
	return tgid == targ_tgid || (follow_forks && bpf_map_lookup_elem(&procs, &tgid));
}

static __always_inline __u32 proc_flags(__u32 tgid)
{
	struct ctrace_proc_state *p = bpf_map_lookup_elem(&procs, &tgid);

	return p ? p->flags : 0;
}

/* the target's generation, without a lookup on the hot path */
__u32 targ_gen = 0;
__u32 last_gen = 0;

static __always_inline __u32 proc_gen(__u32 tgid)
{
	struct ctrace_proc_state *p;

	if (tgid == targ_tgid)
		return targ_gen;
	p = bpf_map_lookup_elem(&procs, &tgid);
	return p ? p->gen : 0;
}

/* a new image generation for tgid (an exec, or a forked child's first
 * dlopen); returns it */
static __always_inline __u32 new_gen(__u32 tgid)
{
	__u32 gen = __sync_fetch_and_add(&last_gen, 1) + 1;
	struct ctrace_proc_state *p = bpf_map_lookup_elem(&procs, &tgid);

	if (gen > CTRACE_GEN_NONE)
		gen = CTRACE_GEN_NONE;

	if (tgid == targ_tgid)
		targ_gen = gen;
	if (p) {
		p->gen = gen;
		__sync_fetch_and_or(&p->flags, CTRACE_PROC_OWN_GEN);
	}
	return gen;
}

struct tstate {
	__s32 depth;
	__u32 lost;
	__s32 floor; /* the lowest depth reached: calls that predate tracing
		      * (attach, a forked child) return below 0 */
	__u32 stack; /* the stack it runs on: 0 its own, else one made by
		      * makecontext (coroutines); depths count per stack */
	__u32 nsent; /* call records sent, for thread_wake_flags */
	__u32 ring;  /* --summary: where its own stack's ring is (RING_*) */
	__s32 keep;  /* --subtree: the depth of the subtree's root; --caller:
		      * the open calls down to this depth were sent */
	__u32 under; /* --subtree: a subtree is being sent */
	/* --probe batch: the thread's buffer in the target, the index of its
	 * first record not yet copied, the raw depth after the copied ones,
	 * and raw - depth (a longjmp moves depth, not the hooks' raw count) */
	__u64 bbuf;
	__u64 btail;
	__s64 braw;
	__s64 badj;
	__s64 bd0; /* the raw depth before the next copy's first record, when
		    * the consumer does not know it (CTRACE_BATCH_D0_CONT) */
	__u64 bbusy; /* the buffer's busy count given up on (batch_drain) */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the loader (-b) */
} rb SEC(".maps");

/* A thread's state is in its slot, the element tid % SLOTS of an array: an
 * array element is found without a helper call, a task storage lookup is
 * one (~25 ns an event here). A slot is its thread's from its first event
 * to its exit; a thread whose slot is another's keeps its state in threads. */
#define SLOTS (1 << 14)

struct slot {
	__u32 tid; /* 0: free */
	__u32 pad;
	__u64 start; /* the owner's start_time: a tid used again is another thread */
	struct tstate st;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, struct slot);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tstate);
} threads SEC(".maps");

static __always_inline struct slot *slot_of(__u32 tid)
{
	__u32 i = tid & (SLOTS - 1);

	return bpf_map_lookup_elem(&slots, &i);
}

static __always_inline bool owns(const struct slot *s, struct task_struct *task, __u32 tid)
{
	return s->tid == tid && s->start == task->start_time;
}

/* the state of a thread seen before, or NULL */
static __always_inline struct tstate *state_of(struct task_struct *task, __u32 tid)
{
	struct slot *s = slot_of(tid);

	if (s && owns(s, task, tid))
		return &s->st;
	return bpf_task_storage_get(&threads, task, 0, 0);
}

/* a state for a new thread: its slot when free, or left by a thread of the
 * same tid (dead: a tid is used again only once its task is gone) */
static __always_inline struct tstate *new_state(struct task_struct *task, __u32 tid)
{
	struct slot *s = slot_of(tid);

	if (s && (s->tid == tid || __sync_val_compare_and_swap(&s->tid, 0, tid) == 0)) {
		s->start = task->start_time;
		__builtin_memset(&s->st, 0, sizeof(s->st));
		return &s->st;
	}
	return bpf_task_storage_get(&threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
}

/* the thread exits: its slot is free again */
static __always_inline void release_slot(struct task_struct *task, __u32 tid)
{
	struct slot *s = slot_of(tid);

	if (s && owns(s, task, tid))
		s->tid = 0;
}

/* Set by the loader once every link is in, cleared before the first is
 * removed: uprobe links attach and detach one after another, and an exit
 * counted without its entry (or the reverse) would skew the depths. */
__u32 armed = 0;
/* Set once the target runs its own image: the launcher's exec of it is not
 * an exec to report. */
__u32 watch_exec = 0;
__u32 signal_seq = 0;
__u64 lost_total = 0;	   /* every event that did not fit in the ring buffer */
__u64 untracked_total = 0; /* events dropped because the thread table was full */

/* every loss, by thread: the events that would have told userspace are the
 * ones that were lost, so it reads this map when tracing stops */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u32);
	__type(value, __u64);
} thread_lost SEC(".maps");

static __always_inline void count_loss(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 one = 1, *n;

	__sync_fetch_and_add(&lost_total, 1);
	n = bpf_map_lookup_elem(&thread_lost, &tid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&thread_lost, &tid, &one, BPF_NOEXIST);
}

/* Waking the consumer per event costs ~2.9 us; it drains on its own cadence
 * and is only woken when the buffer fills past wake_bytes. */
static __always_inline __u64 wake_flags(void)
{
	return bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) > wake_bytes ? BPF_RB_FORCE_WAKEUP :
									BPF_RB_NO_WAKEUP;
}

/* The fill is looked at every WAKE_EVERY events of a thread: a look is a
 * helper call, and the buffer fills far slower than that. */
#define WAKE_EVERY 64

static __always_inline __u64 thread_wake_flags(struct tstate *st)
{
	return ++st->nsent % WAKE_EVERY ? BPF_RB_NO_WAKEUP : wake_flags();
}

static __always_inline void set_hdr(struct ctrace_hdr *h, __u32 kind, __u32 tid, __u64 ts)
{
	h->kind = kind;
	h->tid = tid;
	h->ts = ts;
}

/* an event of a thread that did not fit: its next events say so */
static __always_inline void thread_lost_one(struct tstate *st)
{
	st->lost++;
	count_loss();
}

/* a thread seen for the first time: its state, and a THREAD record */
static __noinline struct tstate *new_thread(struct task_struct *task, __u32 tid, __u64 now)
{
	struct ctrace_thread *e;
	struct tstate *st;

	st = new_state(task, tid);
	if (!st) {
		__sync_fetch_and_add(&untracked_total, 1);
		return NULL;
	}
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (e) {
		set_hdr(&e->h, CTRACE_EV_THREAD, tid, now);
		e->tgid = task->tgid;
		e->exit_code = 0;
		e->lost = 0;
		e->group_dead = 0;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, wake_flags());
	} else {
		count_loss();
	}
	return st;
}

static __always_inline struct tstate *thread_state(__u32 tid, __u64 now)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tstate *st = state_of(task, tid);

	return st ? st : new_thread(task, tid, now);
}

static __always_inline void set_call(struct ctrace_call *c, __u32 kind, __u64 fn, __u32 tid,
				     __u64 now, const struct tstate *st, __s32 depth)
{
	set_hdr(&c->h, kind, tid, now);
	c->fn = fn;
	c->depth = depth;
	c->lost = st->lost;
}

/* A call record of the thread (ENTER, EXIT, UNWIND, SWITCH). Returns 0, for
 * the programs to return. */
static __always_inline int send_call(__u32 kind, __u64 fn, __u32 tid, __u64 now, struct tstate *st,
				     __s32 depth)
{
	struct ctrace_call *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e) {
		thread_lost_one(st);
		return 0;
	}
	set_call(e, kind, fn, tid, now, st, depth);
	bpf_ringbuf_submit(e, thread_wake_flags(st));
	return 0;
}

/* --srcline: an ENTER carries its call site (ENTER_SITE). Set at load, so
 * the default path is compiled out by the verifier. 2: a preloaded hook's
 * probe finds the hook's return address in rdx (ctrace.h
 * CTRACE_HOOK_SRCLINE_OFF); 1: on the stack (--args reads the registers
 * at the hook's first NOP) */
const volatile __u32 srcline = 0;

/* ENTER_SITE: the hook's call_site (rsi: set before the hook call, so the
 * call-site probes see it too), and the return address of the hook call in
 * the function it sits in (ip + length; at a preloaded hook, what it pushed) */
static __always_inline int send_site(struct pt_regs *ctx, __u64 cookie, __u32 tid, __u64 now,
				     struct tstate *st, __s32 depth, __u32 kind)
{
	struct ctrace_call_site *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	__u64 at;

	if (!e) {
		thread_lost_one(st);
		return 0;
	}
	set_call(&e->c, kind, PT_REGS_PARM1(ctx), tid, now, st, depth);
	e->site = PT_REGS_PARM2(ctx);
	if (!(cookie & CTRACE_COOKIE_HOOK))
		at = ctx->ip + ((cookie >> CTRACE_COOKIE_LEN_SHIFT) & CTRACE_COOKIE_LEN_MASK);
	else if (srcline == 2)
		at = PT_REGS_PARM3(ctx);
	else if (bpf_probe_read_user(&at, sizeof(at), (void *)ctx->sp))
		at = 0;
	e->at = at;
	bpf_ringbuf_submit(e, thread_wake_flags(st));
	return 0;
}

/* The common part of both hooks: the thread's depth, kept here so that every
 * event carries it. Returns whether the event is to be sent. */
static __always_inline bool count_depth(struct tstate *st, __u32 kind, __s32 *depth)
{
	if (kind == CTRACE_EV_ENTER) {
		*depth = ++st->depth;
	} else {
		*depth = st->depth--;
		if (st->depth < st->floor)
			st->floor = st->depth;
	}
	return !max_depth || *depth <= max_depth;
}

/* ---- --subtree / --caller: which calls are sent ----
 *
 * --subtree sends the calls from the entry of a matching function to its
 * exit, at depths counted from it (its root is at 1, the level of any
 * thread's outermost call), so the trees are ordinary ones. --caller sends
 * a matching call and its open callers: every stack keeps its open calls'
 * functions and entry times by depth (CTRACE_CALLER_DEPTH of them), and a
 * match sends the entries of the callers not yet sent, outermost first,
 * with their own times and depths; an exit is sent when its entry was.
 * The callers a thread kept are always a prefix of its stack: keep, one
 * depth, says which. Callers whose entries were not kept are an ELIDED
 * record: userspace opens placeholders, named by their exits. */
const volatile __u32 shape = 0; /* CTRACE_SHAPE_* */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20);
	__type(key, __u64);
	__type(value, __u8);
} shape_fns SEC(".maps");

struct caller_frame {
	__u64 fn;
	__u64 ts;
	__s32 depth; /* the frame is the open call at this depth ... */
	__u32 stack; /* ... of this stack when both match */
};

struct caller_ring {
	struct caller_frame f[CTRACE_CALLER_DEPTH];
};

#define CALLER_MASK (CTRACE_CALLER_DEPTH - 1)

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct caller_ring);
} caller_rings SEC(".maps");

/* a coroutine's frames go with its stack, by id (a stack moves between threads) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 12);
	__type(key, __u32);
	__type(value, struct caller_ring);
} co_caller_rings SEC(".maps");

static const struct caller_ring zero_caller_ring;

/* the frames of the stack the thread runs on, made on first use; NULL when
 * there is no room */
static __always_inline struct caller_ring *caller_ring_of(struct task_struct *task,
							  struct tstate *st)
{
	__u32 id = st->stack;
	struct caller_ring *r;

	if (!id)
		return bpf_task_storage_get(&caller_rings, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	r = bpf_map_lookup_elem(&co_caller_rings, &id);
	if (r)
		return r;
	bpf_map_update_elem(&co_caller_rings, &id, &zero_caller_ring, BPF_NOEXIST);
	return bpf_map_lookup_elem(&co_caller_rings, &id);
}

static __always_inline bool shape_match(__u64 fn, __u32 tgid)
{
	__u64 key = CTRACE_PLAN_KEY(fn & CTRACE_ADDR_MASK, proc_gen(tgid));

	return bpf_map_lookup_elem(&shape_fns, &key);
}

struct callers {
	struct caller_ring *r;
	struct tstate *st;
	__s32 from; /* the shallowest caller to send */
	__u32 tid;
	__u64 now;
};

static int send_one_caller(__u64 i, void *arg)
{
	struct callers *c = arg;
	__s32 d = c->from + (__s32)i;
	struct caller_frame *f = &c->r->f[d & CALLER_MASK];
	struct ctrace_call *e;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		thread_lost_one(c->st);
		return 0;
	}
	if (f->depth == d && f->stack == c->st->stack)
		set_call(e, CTRACE_EV_CALLER, f->fn, c->tid, f->ts, c->st, d);
	else
		set_call(e, CTRACE_EV_ELIDED, CTRACE_ELIDED_REUSED, c->tid, c->now, c->st, d);
	bpf_ringbuf_submit(e, thread_wake_flags(c->st));
	return 0;
}

/* a match at depth d: its callers below keep are sent, outermost first;
 * those deeper than the ring holds are one ELIDED record */
static __noinline void send_callers(struct tstate *st, struct caller_ring *r, __u32 tid, __u64 now,
				    __s32 d)
{
	struct callers c = { .r = r, .st = st, .from = st->keep + 1, .tid = tid, .now = now };

	if (!st || !r)
		return;
	if (c.from < d - CTRACE_CALLER_DEPTH + 1) {
		send_call(CTRACE_EV_ELIDED, CTRACE_ELIDED_DEEP, tid, now, st,
			  d - CTRACE_CALLER_DEPTH);
		c.from = d - CTRACE_CALLER_DEPTH + 1;
	}
	if (c.from < d)
		bpf_loop(d - c.from, send_one_caller, &c, 0);
}

/* --subtree: whether the call at the thread's depth d is sent, and at which depth */
static __always_inline bool subtree_keeps(struct tstate *st, __u32 kind, __u64 fn, __u32 tgid,
					  __s32 d, __s32 *depth)
{
	if (kind == CTRACE_EV_ENTER && !st->under && shape_match(fn, tgid)) {
		st->under = 1;
		st->keep = d;
	}
	if (!st->under)
		return false;
	*depth = d - st->keep + 1;
	if (kind == CTRACE_EV_EXIT && d <= st->keep)
		st->under = 0;
	return *depth >= 1 && (!max_depth || *depth <= max_depth);
}

/* --caller: the same; a match sends its callers first */
static __always_inline bool caller_keeps(struct task_struct *task, struct tstate *st, __u32 kind,
					 __u64 fn, __u32 tid, __u64 now, __s32 d, __s32 *depth)
{
	struct caller_ring *r = caller_ring_of(task, st);
	struct caller_frame *f;

	*depth = d;
	if (kind == CTRACE_EV_EXIT) {
		if (r) /* a later look at this depth must not take it for open */
			r->f[d & CALLER_MASK].depth = d - 1;
		if (d > st->keep)
			return false;
		st->keep = d - 1;
		return true;
	}
	if (r) {
		f = &r->f[d & CALLER_MASK];
		f->fn = fn;
		f->ts = now;
		f->depth = d;
		f->stack = st->stack;
	}
	if ((max_depth && d > max_depth) || !shape_match(fn, task->tgid))
		return false;
	if (r)
		send_callers(st, r, tid, now, d);
	else if (st->keep < d - 1)
		send_call(CTRACE_EV_ELIDED, CTRACE_ELIDED_NOROOM, tid, now, st, d - 1);
	st->keep = d;
	return true;
}

/* the hooks' depth count, with --subtree or --caller */
static __always_inline bool shape_keeps(struct task_struct *task, struct tstate *st, __u32 kind,
					__u64 fn, __u32 tid, __u64 now, __s32 *depth)
{
	__s32 d;

	if (kind == CTRACE_EV_ENTER) {
		d = ++st->depth;
	} else {
		d = st->depth--;
		if (st->depth < st->floor)
			st->floor = st->depth;
	}
	if (shape == CTRACE_SHAPE_SUBTREE)
		return subtree_keeps(st, kind, fn, task->tgid, d, depth);
	return caller_keeps(task, st, kind, fn, tid, now, d, depth);
}

static __always_inline bool ours(void)
{
	/* Without --follow-forks the link's pid filter already restricts this
	 * to the target; this also keeps out a forked child that shares the
	 * probed file. With it, the links are unfiltered and this is the filter. */
	return armed && traced(bpf_get_current_pid_tgid() >> 32);
}

/* The thread's state at a hook, when the event is to be sent: ours() for a
 * hook. A thread with a state is traced (it got one past traced()), so the
 * process table is looked at only for a new thread. */
static __always_inline struct tstate *account(struct task_struct *task, __u32 tgid, __u32 kind,
					      __u64 fn, __u32 tid, __u64 now, __s32 *depth)
{
	struct tstate *st = state_of(task, tid);

	if (!st) {
		if (!traced(tgid))
			return NULL;
		st = new_thread(task, tid, now);
	}
	if (st && shape)
		return shape_keeps(task, st, kind, fn, tid, now, depth) ? st : NULL;
	return st && count_depth(st, kind, depth) ? st : NULL;
}

/* The selected functions of a filtered trace, by CTRACE_PLAN_KEY(runtime
 * address, image generation), for the probes whose function is not proven
 * (CTRACE_COOKIE_CHECK). Only selected calls count in the depth: the depth
 * of a filtered trace is that of its own tree. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20);
	__type(key, __u64);
	__type(value, __u8);
} selected SEC(".maps");

static __always_inline bool unselected(struct pt_regs *ctx, __u64 cookie, __u32 tgid)
{
	__u64 key;

	if (!(cookie & CTRACE_COOKIE_CHECK))
		return false;
	key = CTRACE_PLAN_KEY(PT_REGS_PARM1(ctx) & CTRACE_ADDR_MASK, proc_gen(tgid));
	return !bpf_map_lookup_elem(&selected, &key);
}

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* The probe's cookie. bpf_get_attach_cookie() is a helper call, a tenth of
 * the program's time; what it reads, the uprobe_multi run context, is the
 * task's bpf_ctx (its first member), and read here directly. */
static __always_inline __u64 hook_cookie(struct pt_regs *ctx, struct task_struct *task)
{
	struct bpf_uprobe_multi_run_ctx *rc;

	if (!bpf_core_field_exists(rc->uprobe) || !bpf_core_field_exists(rc->uprobe->cookie))
		return bpf_get_attach_cookie(ctx);
	rc = bpf_rdonly_cast(task->bpf_ctx,
			     bpf_core_type_id_kernel(struct bpf_uprobe_multi_run_ctx));
	return rc->uprobe->cookie;
}

/* One program for both hooks, so each probed file needs one link (each
 * link's detach waits for its own RCU grace period); the cookie's low bit
 * says which hook the probe sits on. Every helper call costs here (a
 * return thunk, an indirect call): the task gives the thread's ids and
 * the cookie with plain loads. */
SEC("uprobe")
int on_hook(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 cookie = hook_cookie(ctx, task), now = bpf_ktime_get_ns();
	__u32 tid = task->pid, tgid = task->tgid;
	__u32 kind = cookie & CTRACE_COOKIE_EXIT ? CTRACE_EV_EXIT : CTRACE_EV_ENTER;
	struct tstate *st;
	__s32 depth;

	if (!armed || unselected(ctx, cookie, tgid))
		return 0;
	st = account(task, tgid, kind, PT_REGS_PARM1(ctx), tid, now, &depth);
	if (srcline && st && kind == CTRACE_EV_ENTER)
		return send_site(ctx, cookie, tid, now, st, depth, CTRACE_EV_ENTER_SITE);
	return st ? send_call(kind, PT_REGS_PARM1(ctx), tid, now, st, depth) : 0;
}

/* ---- --probe batch: the hooks' per-thread buffers (include/ctrace.h) ----
 *
 * The hooks append to a buffer in the target and call ctrace_batch_flush
 * when it is full (and once, to register it); on_batch copies what is new
 * into the ring buffer as BATCH records. Every other program that sends a
 * record of a thread that depends on its calls (signals, fork, exit,
 * setjmp/longjmp, ucontext, exec, --memory's) copies the thread's buffer first, in the
 * thread's own context, so the thread's records stay in order, and nothing
 * depends on code that runs in a dying process. */
const volatile __u32 batch = 0;

/* a forked child's buffer is its copy of the parent's, at the same address:
 * it starts where the parent's stood at the fork */
struct batch_pos {
	__u64 buf;
	__u64 tail;
	__s64 raw;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 12);
	__type(key, __u32);
	__type(value, struct batch_pos);
} batch_forks SEC(".maps");

/* vfork parents, by tid, while their child runs: the child shares their
 * memory, and so appends to the parent's buffer. Its records are its own
 * (copied as the child's, when it is traced), never the parent's: where
 * they end is noted as the child execs or exits (batch_vfork_end), and the
 * parent's next copy starts there (batch_vfork_skip). */
struct batch_vfork {
	__u64 buf;
	__u64 end;   /* the buffer's head word as the child left it */
	__u32 ended; /* end is known */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 10);
	__type(key, __u32);
	__type(value, struct batch_vfork);
} batch_vforks SEC(".maps");

__u64 batch_vforks_live = 0; /* entries in batch_vforks: 0 spares the lookup */

#define BATCH_REC  sizeof(struct ctrace_batch_rec)
#define BATCH_HALF (CTRACE_BATCH_CAP / 2)

static __always_inline void batch_lost(struct tstate *st, __u64 n)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *c;

	st->lost += n;
	__sync_fetch_and_add(&lost_total, n);
	c = bpf_map_lookup_elem(&thread_lost, &tid);
	if (c)
		__sync_fetch_and_add(c, n);
	else
		bpf_map_update_elem(&thread_lost, &tid, &n, BPF_NOEXIST);
}

/* the most records one copy takes: the loader keeps a copy to an eighth of
 * the ring buffer (4,096, 256 or 16) */
const volatile __u32 batch_chunk = CTRACE_BATCH_CAP;

/* BPF stopped these processes (SIGSTOP) because a copy found no room in the
 * ring buffer: the consumer drains it and continues them (batch_stops
 * counts the stops, so it looks at the map only when there is one) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 10);
	__type(key, __u32);
	__type(value, __u32);
} batch_stopped SEC(".maps");

__u64 batch_stops = 0;

#define BATCH_PIECES  (2 * CTRACE_BATCH_CAP / 256 + 2)
#define BATCH_OK      0
#define BATCH_NO_ROOM 1
#define BATCH_GONE    2 /* not readable: lost */

/* Copy n (<= batch_chunk) records from index st->btail (contiguous in the
 * buffer), in a record of one of three sizes: a copy at a signal or a
 * setjmp is usually short. */
#define BATCH_COPY(N)                                                                     \
	do {                                                                              \
		e = bpf_ringbuf_reserve(&rb, sizeof(*e) + (N) * BATCH_REC, 0);            \
		if (!e)                                                                   \
			return BATCH_NO_ROOM;                                             \
		if (bpf_probe_read_user(e->r, n * BATCH_REC, src)) {                      \
			bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);                         \
			batch_lost(st, n);                                                \
			return BATCH_GONE;                                                \
		}                                                                         \
	} while (0)

static __noinline int batch_copy(struct tstate *st, __u32 tid, __u64 n, __s64 d0)
{
	const void *src = (const void *)(st->bbuf + offsetof(struct ctrace_tbuf, r) +
					 (st->btail & (CTRACE_BATCH_CAP - 1)) * BATCH_REC);
	struct ctrace_batch *e;

	if (n > CTRACE_BATCH_CAP)
		return BATCH_GONE;
	if (n <= 16)
		BATCH_COPY(16);
	else if (n <= 256)
		BATCH_COPY(256);
	else
		BATCH_COPY(CTRACE_BATCH_CAP);
	set_hdr(&e->h, CTRACE_EV_BATCH, tid, bpf_ktime_get_ns());
	e->first = st->btail;
	e->d0 = d0;
	e->adj = st->badj;
	e->n = n;
	e->lost = st->lost;
	bpf_ringbuf_submit(e, wake_flags());
	return BATCH_OK;
}

/* No room for a full buffer's copy: the process stops until the consumer
 * made room (a stop is only given where it is ours: launch mode, forked
 * children); the records wait in the buffer, which has room for as many
 * again. Returns whether it stopped. */
static __always_inline bool batch_wait(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, one = 1;

	if (!(proc_flags(tgid) & CTRACE_PROC_MAY_STOP))
		return false;
	if (bpf_map_lookup_elem(&batch_stopped, &tgid))
		return true; /* another thread asked already */
	/* the stop is queued before the consumer can see the entry (it sends
	 * SIGCONT for each), so it never continues a process not yet stopped */
	bpf_send_signal(SIGSTOP);
	if (bpf_map_update_elem(&batch_stopped, &tgid, &one, BPF_ANY))
		return false;
	__sync_fetch_and_add(&batch_stops, 1);
	return true;
}

/* the buffer of a forked child: its parent's position at the fork */
static __always_inline void batch_adopt(struct tstate *st, __u32 tid)
{
	struct batch_pos *p = bpf_map_lookup_elem(&batch_forks, &tid);

	if (!p)
		return;
	st->bbuf = p->buf;
	st->btail = p->tail;
	st->braw = st->bd0 = p->raw;
	st->badj = p->raw - st->depth;
	bpf_map_delete_elem(&batch_forks, &tid);
}

struct batch_scan {
	__u64 buf, tail, n;
};

static long batch_unwritten(__u64 k, void *arg)
{
	struct batch_scan *sc = arg;
	__u64 i = (sc->tail + k) & CTRACE_BATCH_HEAD_MASK, w1;

	if (bpf_probe_read_user(&w1, sizeof(w1),
				(void *)(sc->buf + offsetof(struct ctrace_tbuf, r) +
					 (i & (CTRACE_BATCH_CAP - 1)) * BATCH_REC + 8)) ||
	    w1 >> 56 != CTRACE_BATCH_LAP(i)) {
		sc->n = k;
		return 1;
	}
	return 0;
}

/* An append in progress (the thread is in a signal handler that
 * interrupted one): the records before its slot only, the rest comes with
 * the next copy, once the slot is written. */
static __always_inline __u64 batch_written(const struct tstate *st, __u64 n)
{
	struct batch_scan sc = { .buf = st->bbuf, .tail = st->btail, .n = n };

	bpf_loop(n, batch_unwritten, &sc, 0);
	return sc.n;
}

struct batch_pieces {
	struct tstate *st;
	__u64 n;
	__u32 tid;
	bool full, waiting;
};

/* one copy of at most batch_chunk records, contiguous in the buffer */
static __noinline long batch_piece(__u64 k, void *arg)
{
	struct batch_pieces *pc = arg;
	struct tstate *st = pc->st;
	__u64 off, chunk;

	if (!pc->n)
		return 1;
	off = st->btail & (CTRACE_BATCH_CAP - 1);
	chunk = pc->n < CTRACE_BATCH_CAP - off ? pc->n : CTRACE_BATCH_CAP - off;
	if (chunk > batch_chunk)
		chunk = batch_chunk;
	if (batch_copy(st, pc->tid, chunk, st->bd0) == BATCH_NO_ROOM) {
		if (pc->full && batch_wait()) {
			pc->waiting = true;
			return 1; /* copied at the next flush */
		}
		batch_lost(st, chunk);
	}
	st->bd0 = CTRACE_BATCH_D0_CONT;
	st->btail = (st->btail + chunk) & CTRACE_BATCH_HEAD_MASK;
	pc->n -= chunk;
	return 0;
}

/* A vfork child ends its use of the parent's memory: as it execs
 * (sched_prepare_exec) or exits, in its own context, the memory still
 * shared. Where its records end is where the parent's go on. */
static __always_inline void batch_vfork_end(struct task_struct *child)
{
	__u32 ptid;
	struct batch_vfork *v;

	if (!batch || !batch_vforks_live || !BPF_CORE_READ(child, vfork_done))
		return;
	ptid = BPF_CORE_READ(child, real_parent, pid);
	v = bpf_map_lookup_elem(&batch_vforks, &ptid);
	if (v && !bpf_probe_read_user(&v->end, sizeof(v->end), (void *)v->buf))
		v->ended = 1;
}

/* A drain runs in the thread's own context: a vfork parent that drains has
 * returned from its vfork, and its child's records are behind it. When the
 * child's end went unseen (an exec by a raw system call), the child's and
 * the parent's records cannot be told apart: all are counted lost. */
static __always_inline void batch_vfork_skip(struct tstate *st, __u32 tid, __u64 head_word)
{
	struct batch_vfork *v = bpf_map_lookup_elem(&batch_vforks, &tid);
	__u64 end;

	if (!v)
		return;
	end = v->ended ? v->end : head_word;
	if (!v->ended)
		batch_lost(st, ((head_word - st->btail) & CTRACE_BATCH_HEAD_MASK));
	st->btail = end & CTRACE_BATCH_HEAD_MASK;
	st->braw = st->bd0 = (__s64)end >> CTRACE_BATCH_HEAD_BITS;
	st->badj = st->braw - st->depth; /* the parent's depth is as it left it */
	if (!bpf_map_delete_elem(&batch_vforks, &tid))
		__sync_fetch_and_add(&batch_vforks_live, -1);
}

/* Copy the thread's new records; st->depth is then its depth after them
 * (an append in progress counts: its depth changed when it took its slot).
 * final: a slot left unwritten never will be (the thread or its image ends,
 * or a jump is about to move the depth);
 * full: the hooks' flush, which may wait for room */
static __noinline void batch_drain(struct tstate *st, __u32 tid, bool final, bool full)
{
	struct batch_pieces pc;
	__u64 hd[2], head, n;
	bool waiting;

	if (!st->bbuf)
		batch_adopt(st, tid);
	if (!st->bbuf || bpf_probe_read_user(hd, sizeof(hd), (void *)st->bbuf))
		return;
	if (batch_vforks_live)
		batch_vfork_skip(st, tid, hd[0]);
	head = hd[0] & CTRACE_BATCH_HEAD_MASK;
	n = (head - st->btail) & CTRACE_BATCH_HEAD_MASK;
	if (n > CTRACE_BATCH_CAP) { /* overwritten before it could be copied */
		batch_lost(st, n - CTRACE_BATCH_CAP);
		st->btail = (head - CTRACE_BATCH_CAP) & CTRACE_BATCH_HEAD_MASK;
		n = CTRACE_BATCH_CAP;
	}
	/* busy: an append is in progress (this runs in a handler that
	 * interrupted it), its slot perhaps not written yet: copy up to it.
	 * Unless it has waited half a buffer: its append was left by a
	 * siglongjmp, or waits behind a handler's many calls. Then copying past
	 * it loses that one record (the decoder counts a slot found unwritten),
	 * not the buffer behind it; bbusy remembers the count given up on, as
	 * an append left never lowers it. */
	if (hd[1] < st->bbusy)
		st->bbusy = hd[1];
	if (hd[1] > st->bbusy && !final) {
		__u64 w = batch_written(st, n);

		if (w < n && n >= BATCH_HALF)
			st->bbusy = hd[1];
		else
			n = w;
	}
	pc.st = st;
	pc.tid = tid;
	pc.n = n;
	pc.full = full;
	pc.waiting = false;
	/* two pieces: the end of the buffer and its start (a ring buffer
	 * under 256 KiB takes smaller copies, and loses the rest: counted) */
	for (int k = 0; k < 2; k++)
		if (batch_piece(k, &pc))
			break;
	n = pc.n;
	waiting = pc.waiting;
	if (n && !waiting) {
		batch_lost(st, n);
		st->btail = (st->btail + n) & CTRACE_BATCH_HEAD_MASK;
	}
	st->braw = (__s64)hd[0] >> CTRACE_BATCH_HEAD_BITS;
	st->depth = st->braw - st->badj;
	if (st->depth < st->floor)
		st->floor = st->depth;
}

static __always_inline void batch_sync(struct tstate *st, __u32 tid)
{
	if (batch && st)
		batch_drain(st, tid, false, false);
}

/* the same before BPF moves the thread's depth (a longjmp, a stack switch):
 * every record goes now, as the records copied after are read with the new
 * depth. A slot not written yet is copied as it is (and counted lost): its
 * append was interrupted by the handler this jump leaves, if any, and will
 * not be finished. */
static __always_inline void batch_sync_all(struct tstate *st, __u32 tid)
{
	if (batch && st)
		batch_drain(st, tid, true, false);
}

/* the same for a thread that may have no state yet: a forked child whose
 * buffer (its copy of its parent's) was never full */
static __always_inline void batch_sync_task(struct task_struct *task, __u32 tid, bool final)
{
	struct tstate *st;

	if (!batch)
		return;
	st = state_of(task, tid);
	if (!st && bpf_map_lookup_elem(&batch_forks, &tid))
		st = new_thread(task, tid, bpf_ktime_get_ns());
	if (st)
		batch_drain(st, tid, final, false);
}

/* BPF moved the thread's depth (a longjmp, a stack switch): the hooks' raw
 * count goes on from where it was */
static __always_inline void batch_moved(struct tstate *st)
{
	if (batch && st)
		st->badj = st->braw - st->depth;
}

/* ctrace_batch_flush(buf): a full buffer, or a new one to register;
 * buf NULL: the hooks lost an event (no buffer could be made) */
SEC("uprobe")
int on_batch(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 buf = PT_REGS_PARM1(ctx), hd;
	struct tstate *st;

	if (!ours() || !(st = thread_state(tid, bpf_ktime_get_ns())))
		return 0;
	if (!buf) {
		thread_lost_one(st);
		return 0;
	}
	if (!st->bbuf)
		batch_adopt(st, tid);
	if (st->bbuf != buf && !bpf_probe_read_user(&hd, sizeof(hd), (void *)buf)) {
		st->bbuf = buf;
		st->btail = hd & CTRACE_BATCH_HEAD_MASK;
		st->braw = st->bd0 = (__s64)hd >> CTRACE_BATCH_HEAD_BITS;
		st->badj = st->braw - st->depth;
	}
	batch_drain(st, tid, false, true);
	return 0;
}

/* An exec past its point of no return, the old memory still mapped (the
 * exec replaces it next): the thread's records must be copied now, and a
 * vfork child's end noted, traced or not (its parent's records go on).
 * Every exec reaches this, whatever the system call's caller. */
SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(on_prepare_exec, struct task_struct *task, struct linux_binprm *bprm)
{
	batch_vfork_end(task);
	if (armed && traced(task->tgid))
		batch_sync_task(task, task->pid, true);
	return 0;
}

/* ---- --summary: statistics kept here, no call record sent ----
 *
 * Each stack (a thread's own, and each coroutine's) has a ring of frames
 * by depth (ctrace.h). Every call is counted exactly once: timed at its
 * exit; untimed when it began before tracing (its exit is below the
 * floor), when a deeper call takes its frame, when a longjmp leaves it,
 * or when its thread ends or tracing stops with it open. Where that
 * happened is counted in sum_untimed. */
#define SUM_MASK (CTRACE_SUM_DEPTH - 1)

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ctrace_sum_ring);
} sum_rings SEC(".maps");

/* the rings of coroutine stacks, by stack id (a stack moves between threads) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 12);
	__type(key, __u32);
	__type(value, struct ctrace_sum_ring);
} co_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 16); /* resized by the loader */
	__type(key, struct ctrace_sum_key);
	__type(value, struct ctrace_sum_val);
} sums SEC(".maps");

const volatile __u32 summary = 0; /* 1: per function, 2: per function and thread */
/* per-function min/max updates given up after CAS_TRIES lost races: those
 * rows' extremes may be off, and the output says so */
__u64 sum_extremes_missed = 0;
__u64 sum_untimed[CTRACE_SUM_NREASONS];
static const struct ctrace_sum_ring zero_ring;

/* A thread's own ring is found without a helper call when it holds one of
 * these, by tid: taken at its first call when free, given back at its end
 * (its frames all counted then, so the next owner finds them empty). The
 * other threads' are in task storage. */
#define RING_SLOTS CTRACE_SUM_RING_SLOTS
#define RING_SLOT  1 /* tstate.ring: in ring_slots */
#define RING_TASK  2 /* in sum_rings */

struct ring_slot {
	__u32 tid; /* 0: free */
	__u32 pad;
	struct ctrace_sum_ring r;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the loader sizes it: RING_SLOTS with --summary */
	__type(key, __u32);
	__type(value, struct ring_slot);
} ring_slots SEC(".maps");

static __always_inline struct ring_slot *ring_slot_of(__u32 tid)
{
	__u32 i = tid & (RING_SLOTS - 1);

	return bpf_map_lookup_elem(&ring_slots, &i);
}

static __always_inline struct ctrace_sum_ring *own_ring(struct task_struct *task, struct tstate *st,
							bool make)
{
	struct ring_slot *rs;

	if (st->ring == RING_SLOT) {
		rs = ring_slot_of(task->pid);
		return rs ? &rs->r : NULL;
	}
	if (!st->ring && make) {
		rs = ring_slot_of(task->pid);
		if (rs && !__sync_val_compare_and_swap(&rs->tid, 0, task->pid)) {
			rs->r.floor = 0;
			st->ring = RING_SLOT;
			return &rs->r;
		}
		st->ring = RING_TASK;
	}
	return bpf_task_storage_get(&sum_rings, task, 0, make ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* the thread's end: its ring slot is free again */
static __always_inline void own_ring_release(struct task_struct *task, struct tstate *st)
{
	struct ring_slot *rs;

	if (st->ring != RING_SLOT)
		return;
	rs = ring_slot_of(task->pid);
	if (rs && rs->tid == task->pid)
		rs->tid = 0;
	st->ring = 0;
}

/* the ring of the stack the thread runs on, made on first use; NULL when
 * there is no room for it */
static __always_inline struct ctrace_sum_ring *sum_ring_of(struct task_struct *task,
							   struct tstate *st, bool make)
{
	__u32 id = st->stack;
	struct ctrace_sum_ring *r;

	if (!id)
		return own_ring(task, st, make);
	r = bpf_map_lookup_elem(&co_rings, &id);
	if (r || !make)
		return r;
	bpf_map_update_elem(&co_rings, &id, &zero_ring, BPF_NOEXIST);
	return bpf_map_lookup_elem(&co_rings, &id);
}

/* Per function, most rows are found in an array without a helper call:
 * the element at a hash of the key, when that key holds it; a key whose
 * element is another's has its row in sums. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the loader sizes it: CTRACE_SUM_FAST with --summary */
	__type(key, __u32);
	__type(value, struct ctrace_sum_fast_row);
} sum_fast SEC(".maps");

static __always_inline struct ctrace_sum_val *sum_fast_row(__u64 key)
{
	__u32 i = (__u32)((key * 0x9e3779b97f4a7c15ull) >> 40) & (CTRACE_SUM_FAST - 1);
	struct ctrace_sum_fast_row *e = bpf_map_lookup_elem(&sum_fast, &i);

	if (!e)
		return NULL;
	if (e->key == key)
		return &e->v;
	if (!e->key && !__sync_val_compare_and_swap(&e->key, 0, key))
		return &e->v;
	return NULL;
}

/* fn's row (and tid's, per thread), made on first use; NULL: the table is full */
static __always_inline struct ctrace_sum_val *sum_row(__u64 fn, __u32 tid, __u32 tgid)
{
	struct ctrace_sum_key k = { .fn = CTRACE_PLAN_KEY(fn & CTRACE_ADDR_MASK, proc_gen(tgid)),
				    .tid = summary == 2 ? tid : 0 };
	struct ctrace_sum_val *v, z = {};

	if (summary == 1 && (v = sum_fast_row(k.fn)))
		return v;
	v = bpf_map_lookup_elem(&sums, &k);
	if (v)
		return v;
	bpf_map_update_elem(&sums, &k, &z, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&sums, &k);
	if (!v)
		__sync_fetch_and_add(&sum_untimed[CTRACE_SUM_FULL], 1);
	return v;
}

/* a call counted without a time */
static __noinline void sum_untimed_call(__u64 fn, __u32 tid, __u32 tgid, __u32 reason)
{
	struct ctrace_sum_val *v = sum_row(fn, tid, tgid);

	if (reason < CTRACE_SUM_NREASONS)
		__sync_fetch_and_add(&sum_untimed[reason], 1);
	if (v)
		__sync_fetch_and_add(&v->calls, 1);
}

/* a timed call. Per thread a row has one writer; per function, threads
 * share it: atomic adds, and compare-and-swap for the extremes */
#define CAS_TRIES 16

/* *at = dur when dur is below (smaller) or above it, racing other CPUs;
 * false when every try lost */
static __always_inline bool cas_extreme(__u64 *at, __u64 dur, bool smaller)
{
	__u64 old = *at, seen;

	for (int i = 0; i < CAS_TRIES; i++) {
		if (smaller ? old && dur >= old : dur <= old)
			return true;
		seen = __sync_val_compare_and_swap(at, old, dur);
		if (seen == old)
			return true;
		old = seen;
	}
	return false;
}

static __always_inline void sum_timed(__u64 fn, __u32 tid, __u32 tgid, __u64 dur, __u64 self)
{
	struct ctrace_sum_val *v = sum_row(fn, tid, tgid);

	if (!v)
		return;
	if (summary == 2) {
		v->calls++;
		v->timed++;
		v->total += dur;
		v->self += self;
		if (!v->min || dur < v->min)
			v->min = dur;
		if (dur > v->max)
			v->max = dur;
		return;
	}
	__sync_fetch_and_add(&v->calls, 1);
	__sync_fetch_and_add(&v->timed, 1);
	__sync_fetch_and_add(&v->total, dur);
	__sync_fetch_and_add(&v->self, self);
	if (!cas_extreme(&v->min, dur, true) || !cas_extreme(&v->max, dur, false))
		__sync_fetch_and_add(&sum_extremes_missed, 1);
}

static __always_inline void sum_enter(struct ctrace_sum_ring *r, __u64 fn, __u32 tid, __u32 tgid,
				      __u64 now, __s32 depth)
{
	struct ctrace_sum_frame *f;

	if (!r) {
		sum_untimed_call(fn, tid, tgid, CTRACE_SUM_NOSTACK);
		return;
	}
	f = &r->f[depth & SUM_MASK];
	if (f->t) /* an open call CTRACE_SUM_DEPTH levels up: its entry goes */
		sum_untimed_call(f->fn, tid, tgid, CTRACE_SUM_DEEP);
	f->fn = fn;
	f->t = now;
	f->child = 0;
	f->depth = depth;
}

/* floor: the thread's before this exit, for a stack without a ring */
static __always_inline void sum_exit(struct ctrace_sum_ring *r, __u64 fn, __u32 tid, __u32 tgid,
				     __u64 now, __s32 depth, __s32 floor)
{
	struct ctrace_sum_frame *f, *up;
	__u64 dur, self;

	if (r) {
		floor = r->floor;
		if (depth - 1 < floor)
			r->floor = depth - 1;
	}
	if (depth <= floor) {
		sum_untimed_call(fn, tid, tgid, CTRACE_SUM_EARLIER);
		return;
	}
	if (!r)
		return; /* counted at its entry (NOSTACK) */
	f = &r->f[depth & SUM_MASK];
	if (!f->t || f->depth != depth)
		return; /* counted when a deeper call took its frame */
	dur = now - f->t;
	self = dur > f->child ? dur - f->child : 0;
	f->t = 0;
	up = &r->f[(depth - 1) & SUM_MASK];
	if (up->t && up->depth == depth - 1)
		up->child += dur;
	sum_timed(fn, tid, tgid, dur, self);
}

SEC("uprobe")
int on_hook_sum(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 cookie = hook_cookie(ctx, task), now = bpf_ktime_get_ns();
	__u32 tid = task->pid, tgid = task->tgid;
	__u32 kind = cookie & CTRACE_COOKIE_EXIT ? CTRACE_EV_EXIT : CTRACE_EV_ENTER;
	struct tstate *st;
	__s32 depth, floor;

	if (!armed || unselected(ctx, cookie, tgid))
		return 0;
	st = state_of(task, tid);
	if (!st) {
		if (!traced(tgid))
			return 0;
		st = new_thread(task, tid, now);
		if (!st)
			return 0;
	}
	floor = st->floor;
	if (!count_depth(st, kind, &depth))
		return 0;
	if (kind == CTRACE_EV_ENTER)
		sum_enter(sum_ring_of(task, st, true), PT_REGS_PARM1(ctx), tid, tgid, now, depth);
	else
		sum_exit(sum_ring_of(task, st, true), PT_REGS_PARM1(ctx), tid, tgid, now, depth,
			 floor);
	return 0;
}

/* Counting the open calls of a ring that are left: by a longjmp to depth
 * (those deeper), or all of them (depth INT_MIN). A frame is taken with an
 * exchange: at a thread's end, the end-of-tracing iterator may look too. */
struct sum_leave {
	struct ctrace_sum_ring *r;
	__s32 depth;
	__u32 tid, tgid, reason;
};

static long sum_leave_one(__u64 i, void *arg)
{
	struct sum_leave *c = arg;
	struct ctrace_sum_frame *f = &c->r->f[i & SUM_MASK];

	if (f->t && f->depth > c->depth && __sync_lock_test_and_set(&f->t, 0))
		sum_untimed_call(f->fn, c->tid, c->tgid, c->reason);
	return 0;
}

static __always_inline void sum_leave(struct ctrace_sum_ring *r, __s32 depth, __u32 tid, __u32 tgid,
				      __u32 reason)
{
	struct sum_leave c = { .r = r, .depth = depth, .tid = tid, .tgid = tgid, .reason = reason };

	if (r)
		bpf_loop(CTRACE_SUM_DEPTH, sum_leave_one, &c, 0);
}

/* a longjmp from the thread's depth to depth on the same stack: the time
 * until now of the outermost call it leaves is its caller's callees' time */
static __always_inline void sum_unwind(struct tstate *st, __u32 tid, __u64 now, __s32 depth)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ctrace_sum_ring *r = sum_ring_of(task, st, false);
	struct ctrace_sum_frame *f, *up;

	if (!r)
		return;
	f = &r->f[(depth + 1) & SUM_MASK];
	up = &r->f[depth & SUM_MASK];
	if (f->t && f->depth == depth + 1 && up->t && up->depth == depth)
		up->child += now - f->t;
	sum_leave(r, depth, tid, task->tgid, CTRACE_SUM_UNWOUND);
}

#define SUM_ALL (-0x7fffffff - 1)

/* every open call of a thread, its own stack and the one it runs on */
static __always_inline void sum_end_thread(struct task_struct *task, struct tstate *st,
					   __u32 reason)
{
	__u32 tid = task->pid, tgid = task->tgid;

	sum_leave(own_ring(task, st, false), SUM_ALL, tid, tgid, reason);
	if (st->stack)
		sum_leave(sum_ring_of(task, st, false), SUM_ALL, tid, tgid, reason);
}

/* When tracing stops, the calls still open in the traced threads: run by
 * the loader once the probes are gone. Coroutine stacks that no thread
 * runs are left to the loader, which reads co_rings. */
SEC("iter/task")
int sum_stop(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct tstate *st;

	if (!task || !traced(task->tgid))
		return 0;
	st = state_of(task, task->pid);
	if (st)
		sum_end_thread(task, st, CTRACE_SUM_RUNNING);
	return 0;
}

/* ---- non-local exits and stack switches ----
 *
 * A longjmp skips the exit hooks of every frame it leaves. The depth at the
 * matching setjmp is exactly the depth the jump returns to, inlined callees
 * included (their hooks share their caller's stack pointer, so no stack
 * pointer test can tell them apart). A setjmp is known by what it saves:
 * the thread, the stack pointer after it returns and its return address.
 * A jmp_buf copied elsewhere (shells do) still names the same setjmp.
 *
 * ucontext switches (coroutines) are the same with a stack of their own:
 * getcontext/swapcontext save (depth, stack) under the context's address,
 * makecontext gives a context a new stack, and setcontext/swapcontext (or a
 * longjmp to a setjmp on another stack) resume one. Every stack is its own
 * tree in userspace, so a coroutine's calls never nest under another's. */
struct resume_point {
	__s32 depth;
	__u32 stack;
	__s32 keep;  /* --subtree, --caller: the stack's tstate.keep ... */
	__u32 under; /* ... and under */
};

struct jmp_key {
	__u32 tid;
	__u32 pad;
	__u64 sp;
	__u64 pc;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, struct jmp_key);
	__type(value, struct resume_point);
} setjmps SEC(".maps");

struct ctx_key {
	__u32 tgid;
	__u32 pad;
	__u64 ucp;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, struct ctx_key);
	__type(value, struct resume_point);
} contexts SEC(".maps");

__u32 last_stack = 0;

/* the depth sent for the thread's depth d: --subtree counts from its root
 * (0: outside any subtree) */
static __always_inline __s32 shape_depth(const struct tstate *st, __s32 d)
{
	if (shape != CTRACE_SHAPE_SUBTREE)
		return d;
	return st->under ? d - st->keep + 1 : 0;
}

/* a longjmp to depth d on the same stack: whether the calls it leaves
 * were sent (then the UNWIND is) */
static __always_inline bool shape_unwind(struct tstate *st, __s32 d)
{
	if (shape == CTRACE_SHAPE_SUBTREE) {
		if (!st->under)
			return false;
		if (d < st->keep)
			st->under = 0; /* the UNWIND at 0 closes it */
		return true;
	}
	if (st->keep <= d)
		return false;
	st->keep = d;
	return true;
}

static __always_inline struct resume_point here(const struct tstate *st)
{
	struct resume_point r = {
		.depth = st->depth, .stack = st->stack, .keep = st->keep, .under = st->under
	};

	return r;
}

/* Continue at r on this thread: on the same stack, the frames deeper than
 * r.depth were left; on another, that stack's tree goes on. seen: r was
 * recorded; if not, the resume point predates tracing. */
static __always_inline void resume(struct tstate *st, __u32 tid, __u64 now, struct resume_point r,
				   bool seen)
{
	if (r.stack != st->stack) {
		st->stack = r.stack;
		st->depth = st->floor = r.depth;
		if (summary)
			return;
		st->keep = r.keep;
		st->under = r.under;
		send_call(CTRACE_EV_SWITCH, r.stack | (seen ? 0 : CTRACE_SWITCH_UNSEEN), tid, now,
			  st, shape_depth(st, r.depth));
		return;
	}
	if (seen && r.depth >= st->depth)
		return; /* back into the frame that is running */
	if (summary) {
		sum_unwind(st, tid, now, r.depth);
		st->depth = r.depth;
		return;
	}
	st->depth = r.depth;
	if (shape && !shape_unwind(st, r.depth))
		return;
	send_call(CTRACE_EV_UNWIND, seen ? 0 : CTRACE_UNWIND_UNSEEN, tid, now, st,
		  shape_depth(st, r.depth));
}

/* glibc's __sigsetjmp (setjmp and _setjmp jump to it): rsp points at the
 * return address, and the jmp_buf will hold rsp + 8 and that address */
SEC("uprobe")
int on_setjmp(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct jmp_key k = { .tid = tid, .sp = PT_REGS_SP(ctx) + RET_ADDR_SIZE };
	struct resume_point r;
	struct tstate *st;

	if (!ours() || bpf_probe_read_user(&k.pc, sizeof(k.pc), (void *)PT_REGS_SP(ctx)))
		return 0;
	st = thread_state(tid, bpf_ktime_get_ns());
	if (!st)
		return 0;
	batch_sync(st, tid);
	r = here(st);
	bpf_map_update_elem(&setjmps, &k, &r, BPF_ANY);
	return 0;
}

/* glibc stores the jmp_buf's stack pointer and pc mangled with the
 * thread's pointer guard (PTR_MANGLE: xor, then rotate left by 17) */
#define JB_RSP		  6
#define JB_PC		  7
#define TCB_POINTER_GUARD 0x30

static __always_inline __u64 demangle(__u64 v, __u64 guard)
{
	return ((v >> 17) | (v << 47)) ^ guard;
}

/* longjmp, _longjmp, siglongjmp and __longjmp_chk: rdi is the jmp_buf */
SEC("uprobe")
int on_longjmp(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 now = bpf_ktime_get_ns(), jb[2], guard, fsbase = BPF_CORE_READ(task, thread.fsbase);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct jmp_key k = { .tid = tid };
	struct resume_point *r, floor = {};
	struct tstate *st;

	if (!ours() || !(st = thread_state(tid, now)))
		return 0;
	batch_sync_all(st, tid);
	if (!bpf_probe_read_user(jb, sizeof(jb),
				 (void *)(PT_REGS_PARM1(ctx) + JB_RSP * sizeof(__u64))) &&
	    !bpf_probe_read_user(&guard, sizeof(guard), (void *)(fsbase + TCB_POINTER_GUARD))) {
		k.sp = demangle(jb[0], guard);
		k.pc = demangle(jb[1], guard);
	}
	r = bpf_map_lookup_elem(&setjmps, &k);
	if (r) {
		resume(st, tid, now, *r, true);
		batch_moved(st);
		return 0;
	}
	/* a setjmp made before tracing saw this thread: its frame encloses
	 * every call seen since, and the lowest depth reached */
	floor.depth = st->floor;
	floor.stack = st->stack;
	resume(st, tid, now, floor, false);
	batch_moved(st);
	return 0;
}

/* getcontext, makecontext, setcontext, swapcontext: one program, the
 * cookie says which; rdi is the context (swapcontext: the one saved, rsi
 * the one resumed) */
SEC("uprobe")
int on_context(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx), now = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	struct ctx_key k = { .tgid = id >> 32, .ucp = PT_REGS_PARM1(ctx) };
	struct resume_point r = {}, *to;
	struct tstate *st;

	if (!ours() || !(st = thread_state((__u32)id, now)))
		return 0;
	batch_sync_all(st, (__u32)id);
	if (cookie == CTRACE_CTX_MAKE) {
		/* the function it will start runs on a stack of its own */
		r.depth = 0;
		r.stack = __sync_fetch_and_add(&last_stack, 1) + 1;
		bpf_map_update_elem(&contexts, &k, &r, BPF_ANY);
		return 0;
	}
	if (cookie == CTRACE_CTX_GET || cookie == CTRACE_CTX_SWAP) {
		r = here(st);
		bpf_map_update_elem(&contexts, &k, &r, BPF_ANY);
		if (cookie == CTRACE_CTX_GET)
			return 0;
		k.ucp = PT_REGS_PARM2(ctx);
	}
	to = bpf_map_lookup_elem(&contexts, &k);
	if (to) {
		resume(st, (__u32)id, now, *to, true);
		batch_moved(st);
		return 0;
	}
	/* a context saved before tracing: a stack whose calls predate it */
	r.depth = 0;
	r.stack = __sync_fetch_and_add(&last_stack, 1) + 1;
	resume(st, (__u32)id, now, r, false);
	batch_moved(st);
	return 0;
}

/* ---- --args / --retval: capture plans executed at the probe ---- */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64); /* runtime return address of the enter hook call */
	__type(value, struct ctrace_site_plan);
} plans SEC(".maps");

/* Preload probes see this_fn but not the hook call's address without a read
 * of the stack; a function with a single planned site is found by this_fn. */
struct fn_plan {
	__u64 key;
	struct ctrace_site_plan plan;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64); /* this_fn */
	__type(value, struct fn_plan);
} fn_plans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64); /* the function's runtime address */
	__type(value, struct ctrace_arg_plan);
} ret_plans SEC(".maps");

/* Records too large for the BPF stack are built in per-thread storage: a
 * sleepable program can be preempted, so a per-CPU buffer could be shared. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ctrace_call_args);
} args_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ctrace_retval);
} ret_scratch SEC(".maps");

extern int bpf_copy_from_user_str(void *dst, __u32 dst__sz, const void *unsafe_ptr__ign,
				  __u64 flags) __ksym;

/* The registers a plan may name, by enum ctrace_reg (a ctx pointer cannot
 * be indexed by a variable). At a hook's first instruction (preload probes)
 * rsp is below its value at the hook call by the return address, and the
 * plans speak of the call. */
static __always_inline void load_regs(struct pt_regs *r, __u64 *v, bool hook)
{
	const __u64 *slot = (const __u64 *)r;

#pragma unroll
	for (int i = 0; i < CTRACE_NGPRS; i++)
		v[i] = slot[ctrace_ptregs_slot(i)] +
		       (i == CTRACE_REG_RSP && hook ? RET_ADDR_SIZE : 0);
}

/* The pieces of one value, appended into val. max is the value's room and
 * mask keeps every offset provable to the verifier; returns the length, or
 * -errno. Sleepable, so reads fault pages in and a bad address is only an
 * error code. */
static __always_inline long run_pieces(const __u64 *regs, const struct ctrace_arg_plan *ap,
				       __u8 *val, __u32 max, __u32 mask, __u64 bias)
{
	__u32 pos = 0, size, n = ap->npieces;
	__u64 v, addr;
	long err;

	for (int j = 0; j < CTRACE_MAX_PIECES; j++) {
		const struct ctrace_piece *pc = &ap->piece[j];

		if (j >= n)
			break;
		size = pc->size;
		if (!size || size > max || pos + size > max)
			return -E2BIG;
		switch (pc->kind) {
		case CTRACE_LOC_REG:
		case CTRACE_LOC_CONST:
			if (size > 8)
				return -EINVAL;
			v = pc->kind == CTRACE_LOC_REG ?
				    regs[pc->reg & (CTRACE_NGPRS - 1)] + pc->val :
				    pc->val + (pc->flags & CTRACE_PIECE_BIAS ? bias : 0);
			__builtin_memcpy(&val[pos & mask], &v, 8);
			break;
		case CTRACE_LOC_MEM:
		case CTRACE_LOC_MEM_ABS:
			addr = pc->kind == CTRACE_LOC_MEM ?
				       regs[pc->reg & (CTRACE_NGPRS - 1)] + pc->val :
				       pc->val + (pc->flags & CTRACE_PIECE_BIAS ? bias : 0);
			/* a size the verifier can bound: max is CTRACE_VALUE_MAX
			 * or CTRACE_SMALL_VAL */
			err = bpf_copy_from_user(&val[pos & mask],
						 max > CTRACE_SMALL_VAL ?
							 size & (CTRACE_CAP_VAL - 1) :
							 (size & (CTRACE_SMALL_VAL - 1) ?
								  size & (CTRACE_SMALL_VAL - 1) :
								  CTRACE_SMALL_VAL),
						 (void *)addr);
			if (err)
				return err;
			break;
		default: return -EINVAL;
		}
		pos += size;
	}
	return pos;
}

/* One value's plan, and what it points to when the plan follows it. */
static __always_inline void capture(const __u64 *regs, const struct ctrace_arg_plan *ap,
				    struct ctrace_arg_cap *cap, __u64 bias)
{
	long len = run_pieces(regs, ap, cap->val, CTRACE_VALUE_MAX, CTRACE_VALUE_MAX - 1, bias);
	__u32 size;
	__u64 p;
	long err;

	cap->tgt_err = 1;
	cap->tgt_len = 0;
	cap->val_err = len < 0 ? len : 0;
	cap->val_len = len < 0 ? 0 : len;
	if (len < 8 || ap->follow == CTRACE_FOLLOW_NONE)
		return;
	__builtin_memcpy(&p, cap->val, 8);
	if (!p)
		return;
	size = ap->follow_size;
	if (size > CTRACE_FOLLOW_MAX)
		size = CTRACE_FOLLOW_MAX;
	if (ap->follow == CTRACE_FOLLOW_STRING) {
		/* two more bytes than shown: a string that fills them is longer */
		err = bpf_copy_from_user_str(cap->tgt, (size & 511) + 2, (void *)p, 0);
		if (err < 0) {
			cap->tgt_err = err;
		} else {
			cap->tgt_err = 0;
			cap->tgt_len = err;
		}
	} else {
		err = bpf_copy_from_user(cap->tgt, size & 511, (void *)p);
		cap->tgt_err = err;
		cap->tgt_len = err ? 0 : size;
	}
}

/* The string of a char * member of a struct argument: the pointer is in the
 * bytes already captured, by value or behind the followed pointer. */
static __always_inline void capture_mstr(const struct ctrace_mstr_plan *mp,
					 struct ctrace_call_args *sc, struct ctrace_mstr_cap *m,
					 __u32 size)
{
	__u32 a = mp->arg & ~CTRACE_MSTR_TGT, off = mp->off, len;
	const struct ctrace_arg_cap *cap;
	__u64 p;
	long err;

	m->err = 1;
	m->len = 0;
	if (a >= CTRACE_MAX_ARGS || a >= sc->nargs)
		return;
	cap = &sc->arg[a];
	if (mp->arg & CTRACE_MSTR_TGT) {
		len = cap->tgt_err ? 0 : cap->tgt_len;
		if (off + 8 > len || off + 8 > CTRACE_CAP_TGT)
			return;
		__builtin_memcpy(&p, &cap->tgt[off & (CTRACE_FOLLOW_MAX - 1)], 8);
	} else {
		len = cap->val_err ? 0 : cap->val_len;
		if (off + 8 > len || off + 8 > CTRACE_VALUE_MAX)
			return;
		__builtin_memcpy(&p, &cap->val[off & (CTRACE_VALUE_MAX - 1)], 8);
	}
	if (!p)
		return;
	if (size > CTRACE_FOLLOW_MAX)
		size = CTRACE_FOLLOW_MAX;
	/* two more bytes than shown, as for a string argument */
	err = bpf_copy_from_user_str(m->str, (size & 511) + 2, (void *)p, 0);
	m->err = err < 0 ? err : 0;
	m->len = err < 0 ? 0 : err;
}

/* the load bias of the module that holds the site (ctrace_plan.h): key is
 * the hook call's runtime return address */
static __always_inline __u64 site_bias(const struct ctrace_site_plan *plan, __u64 key)
{
	return (key & CTRACE_ADDR_MASK) - plan->site_vaddr - plan->insn_len;
}

/* the arguments the plan captures, bounded for the verifier */
static __always_inline __u32 plan_nargs(const struct ctrace_site_plan *plan)
{
	__u32 n = plan->nargs;

	return n > CTRACE_MAX_ARGS ? CTRACE_MAX_ARGS : n;
}

/* capture() for values of at most 16 bytes that follow nothing */
static __always_inline void capture_small(const __u64 *regs, const struct ctrace_arg_plan *ap,
					  struct ctrace_arg_small *cap, __u64 bias)
{
	long len = run_pieces(regs, ap, cap->val, CTRACE_SMALL_VAL, CTRACE_SMALL_VAL - 1, bias);

	cap->val_err = len < 0 ? len : 0;
	cap->val_len = len < 0 ? 0 : len;
}

static __always_inline int send_small(struct pt_regs *ctx, const struct ctrace_site_plan *plan,
				      __u64 key, __u32 tid, __u64 now, struct tstate *st,
				      __s32 depth, bool hook)
{
	struct ctrace_call_args_small *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	__u64 regs[CTRACE_NGPRS], bias = site_bias(plan, key);
	__u32 n = plan_nargs(plan);

	if (!e) {
		thread_lost_one(st);
		return 0;
	}
	set_call(&e->c, CTRACE_EV_ENTER_ARGS_SMALL, PT_REGS_PARM1(ctx), tid, now, st, depth);
	e->key = key;
	e->nargs = n;
	e->pad = 0;
	load_regs(ctx, regs, hook);
	for (int i = 0; i < CTRACE_MAX_ARGS; i++) {
		if (i >= n)
			break;
		capture_small(regs, &plan->arg[i], &e->arg[i], bias);
	}
	bpf_ringbuf_submit(e, wake_flags());
	return 0;
}

SEC("uprobe.s")
int on_hook_args(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 cookie = hook_cookie(ctx, task), now, key = 0, bias, regs[CTRACE_NGPRS];
	__u32 tid = task->pid, tgid = task->tgid, n, size;
	__u64 gen, addr;
	bool hook = cookie & CTRACE_COOKIE_HOOK;
	const struct ctrace_site_plan *plan;
	struct ctrace_call_args *sc;
	struct tstate *st;
	__s32 depth;

	if (!armed || unselected(ctx, cookie, tgid))
		return 0;
	now = bpf_ktime_get_ns();
	if (cookie & CTRACE_COOKIE_EXIT) {
		st = account(task, tgid, CTRACE_EV_EXIT, PT_REGS_PARM1(ctx), tid, now, &depth);
		return st ? send_call(CTRACE_EV_EXIT, PT_REGS_PARM1(ctx), tid, now, st, depth) : 0;
	}
	st = account(task, tgid, CTRACE_EV_ENTER, PT_REGS_PARM1(ctx), tid, now, &depth);
	if (!st)
		return 0;
	/* the plan is keyed by the hook call's return address (ip + length at
	 * the call site) and the image generation; at a preloaded hook, this_fn
	 * finds the plan of a function with one site, else the return address
	 * pushed on the stack */
	gen = proc_gen(tgid);
	plan = NULL;
	if (hook) {
		__u64 fn = CTRACE_PLAN_KEY(PT_REGS_PARM1(ctx), gen);
		const struct fn_plan *fp = bpf_map_lookup_elem(&fn_plans, &fn);

		if (fp) {
			plan = &fp->plan;
			key = fp->key;
		} else if (bpf_copy_from_user(&addr, sizeof(addr), (void *)ctx->sp)) {
			key = 0;
		} else {
			key = CTRACE_PLAN_KEY(addr & CTRACE_ADDR_MASK, gen);
		}
	} else {
		key = CTRACE_PLAN_KEY(
			ctx->ip + ((cookie >> CTRACE_COOKIE_LEN_SHIFT) & CTRACE_COOKIE_LEN_MASK),
			gen);
	}
	if (!plan)
		plan = bpf_map_lookup_elem(&plans, &key);
	if (plan && srcline) /* the ENTER_ARGS has no room for it */
		send_site(ctx, cookie, tid, now, st, depth, CTRACE_EV_SITE);
	if (plan && (plan->flags & CTRACE_SITE_SMALL))
		return send_small(ctx, plan, key, tid, now, st, depth, hook);
	sc = plan ? bpf_task_storage_get(&args_scratch, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE) :
		    NULL;
	if (!sc && srcline)
		return send_site(ctx, cookie, tid, now, st, depth, CTRACE_EV_ENTER_SITE);
	if (!sc)
		return send_call(CTRACE_EV_ENTER, PT_REGS_PARM1(ctx), tid, now, st, depth);
	set_call(&sc->c, CTRACE_EV_ENTER_ARGS, PT_REGS_PARM1(ctx), tid, now, st, depth);
	sc->key = key;
	sc->nargs = n = plan_nargs(plan);
	bias = site_bias(plan, key);
	load_regs(ctx, regs, hook);
	for (int i = 0; i < CTRACE_MAX_ARGS; i++) {
		if (i >= n)
			break;
		capture(regs, &plan->arg[i], &sc->arg[i], bias);
	}
	n = plan->nmstr;
	if (n > CTRACE_MAX_MSTR)
		n = CTRACE_MAX_MSTR;
	sc->nmstr = n;
	for (int i = 0; i < CTRACE_MAX_MSTR; i++) {
		if (i >= n)
			break;
		capture_mstr(&plan->mstr[i], sc, &sc->mstr[i], plan->mstr_size);
	}
	size = n ? __builtin_offsetof(struct ctrace_call_args, mstr) +
			       n * sizeof(struct ctrace_mstr_cap) :
		   __builtin_offsetof(struct ctrace_call_args, arg) +
			       sc->nargs * sizeof(struct ctrace_arg_cap);
	if (size > sizeof(*sc))
		size = sizeof(*sc);
	if (bpf_ringbuf_output(&rb, sc, size, wake_flags()))
		thread_lost_one(st);
	return 0;
}

/* --retval: a return probe on each function's entry; rax is exact here (the
 * exit hook runs before gcc moves the result into rax) */
SEC("uprobe.s")
int on_ret(struct pt_regs *ctx)
{
	struct ctrace_retval *r;
	const struct ctrace_arg_plan *ap;
	__u64 fn, key, regs[CTRACE_NGPRS];

	if (!ours())
		return 0;
	fn = bpf_get_func_ip(ctx);
	key = CTRACE_PLAN_KEY(fn, proc_gen(bpf_get_current_pid_tgid() >> 32));
	ap = bpf_map_lookup_elem(&ret_plans, &key);
	if (!ap)
		return 0;
	r = bpf_task_storage_get(&ret_scratch, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!r)
		return 0;
	set_hdr(&r->h, CTRACE_EV_RETVAL, (__u32)bpf_get_current_pid_tgid(), bpf_ktime_get_ns());
	r->fn = fn;
	r->key = key;
	r->rax = ctx->ax;
	r->rdx = ctx->dx;
	load_regs(ctx, regs, false);
	capture(regs, ap, &r->ret, 0);
	if (bpf_ringbuf_output(&rb, r, sizeof(*r), wake_flags()))
		count_loss();
	return 0;
}

/* Launch mode: stop the new image at its ELF entry point, after the dynamic
 * loader mapped its libraries and before the program's own code runs, so the
 * loader can attach to the libraries and snapshot the address space. */
SEC("uprobe")
int on_entry_point(struct pt_regs *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) == targ_tgid)
		bpf_send_signal(SIGSTOP);
	return 0;
}

/* Tell the loader a process's map changed (or is about to), and stop the
 * process when that stop is ours to give, so it can drain events under the
 * old map, read the new one and probe new code before the next instruction. */
static __always_inline void proc_event(__u32 kind, __u32 tgid, __u32 tid, __u32 parent, __u32 gen,
				       const char *path)
{
	bool stop = (proc_flags(tgid) & CTRACE_PROC_MAY_STOP) && kind != CTRACE_EV_FORK;
	struct ctrace_proc *e;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count_loss();
		/* not stopped: nobody would know to resume it */
		return;
	}
	set_hdr(&e->h, kind, tid, bpf_ktime_get_ns());
	e->tgid = tgid;
	e->parent = parent;
	e->stopped = stop;
	e->gen = gen;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->path[0] = 0;
	if (path)
		bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	if (stop)
		bpf_send_signal(SIGSTOP);
}

/* the dynamic loader's _dl_debug_state, called around every dlopen and
 * dlclose (and once at start-up, after the initial libraries are mapped) */
SEC("uprobe")
int on_dl_state(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, gen;

	if (!ours())
		return 0;
	/* --probe batch: the calls before the map changes are named by the
	 * map before (glibc's dlopen/dlclose also pass its setjmp: not relied on) */
	batch_sync_task(bpf_get_current_task_btf(), (__u32)id, false);
	/* a forked child that loads code has a map of its own from now on:
	 * its parent's plans may not fit it */
	if (tgid != targ_tgid && !(proc_flags(tgid) & CTRACE_PROC_OWN_GEN))
		gen = new_gen(tgid);
	else
		gen = proc_gen(tgid);
	proc_event(CTRACE_EV_DLSTATE, tgid, (__u32)id, 0, gen, NULL);
	return 0;
}

/* --probe batch with -F/-N: ctrace_batch_hello, an image's first call in
 * the filtering hooks library, which has no selected functions yet: the
 * process stops (where the stop is ours to give) until the tracer has
 * written them, as for a dlopen */
SEC("uprobe")
int on_batch_hello(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;

	if (ours())
		proc_event(CTRACE_EV_DLSTATE, tgid, (__u32)id, 0, proc_gen(tgid), NULL);
	return 0;
}

/* Thread lineage: who created child, and at what depth of its calls. In
 * the creator's context, so its earlier call records are ahead in the ring. */
static __always_inline void send_create(struct task_struct *parent, __u32 child, __u32 ctgid)
{
	__u32 tid = BPF_CORE_READ(parent, pid);
	struct tstate *st = state_of(parent, tid);
	struct ctrace_create *e;

	if (summary)
		return;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count_loss();
		return;
	}
	set_hdr(&e->h, CTRACE_EV_CREATE, tid, bpf_ktime_get_ns());
	e->child = child;
	e->child_tgid = ctgid;
	e->seen = st != NULL;
	e->depth = st ? st->depth : 0;
	if (max_depth && e->depth > max_depth)
		e->depth = max_depth;
	e->stack = st ? st->stack : 0;
	e->lost = st ? st->lost : 0;
	bpf_ringbuf_submit(e, 0);
}

/* --probe batch: the parent's records before the fork go first; a child
 * process starts its copy of the buffer where the parent's stands (a vfork
 * child: the buffer itself, which the parent skips past when it returns) */
static __always_inline void batch_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 tid = BPF_CORE_READ(parent, pid), pid = BPF_CORE_READ(child, pid);
	struct tstate *st = state_of(parent, tid);
	struct batch_pos p;

	/* a forked child whose buffer was never copied has no state yet: its
	 * own child must still start where its buffer stands */
	if (!st && bpf_map_lookup_elem(&batch_forks, &tid))
		st = new_thread(parent, tid, bpf_ktime_get_ns());
	if (!st)
		return;
	batch_drain(st, tid, false, false);
	if (BPF_CORE_READ(child, tgid) != pid || !st->bbuf)
		return;
	p.buf = st->bbuf;
	p.tail = st->btail;
	p.raw = st->braw;
	bpf_map_update_elem(&batch_forks, &pid, &p, BPF_ANY);
	if (BPF_CORE_READ(child, mm) == BPF_CORE_READ(parent, mm)) {
		struct batch_vfork v = { .buf = st->bbuf };

		if (!bpf_map_update_elem(&batch_vforks, &tid, &v, BPF_NOEXIST))
			__sync_fetch_and_add(&batch_vforks_live, 1);
	}
}

/* --follow-forks: a new process (not a thread) forked by a traced one is
 * traced from its first instruction: this runs before the child is woken. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), pid = BPF_CORE_READ(child, pid);
	struct ctrace_proc_state st;

	if (batch && armed && traced(ptgid))
		batch_fork(parent, child);
	if (armed && BPF_CORE_READ(child, tgid) == ptgid && traced(ptgid))
		send_create(parent, pid, ptgid); /* a thread */
	if (!follow_forks || !armed || BPF_CORE_READ(child, tgid) != pid || !traced(ptgid))
		return 0;
	/* its parent is a traced process: a stop is only seen by that. Its map
	 * is its parent's, and so are the plans */
	st.flags = CTRACE_PROC_MAY_STOP;
	st.gen = proc_gen(ptgid);
	if (bpf_map_update_elem(&procs, &pid, &st, BPF_ANY)) {
		__sync_fetch_and_add(&untracked_total, 1);
		return 0;
	}
	send_create(parent, pid, pid);
	proc_event(CTRACE_EV_FORK, pid, pid, ptgid, st.gen, NULL);
	return 0;
}

/* A traced process replaced its image: its open calls will never return,
 * and the new image's code must be probed before it runs. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid), gen;
	struct tstate *st;

	if (!armed || !watch_exec || !traced(tgid))
		return 0;
	st = state_of(p, BPF_CORE_READ(p, pid));
	if (st && summary) /* before the new generation: the calls are the old image's */
		sum_end_thread(p, st, CTRACE_SUM_ENDED);
	if (st)
		st->depth = st->floor = st->stack = st->keep = st->under = 0;
	if (st) /* the new image makes a buffer of its own */
		st->bbuf = 0;
	gen = new_gen(tgid);
	proc_event(CTRACE_EV_EXEC, tgid, BPF_CORE_READ(p, pid), old_pid, gen,
		   BPF_CORE_READ(bprm, filename));
	return 0;
}

/* The benchmark's floor: an empty program at the very same sites. */
SEC("uprobe")
int on_hit_empty(struct pt_regs *ctx)
{
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} crash_rb SEC(".maps");

/* the signals that mean a crash when they kill the process */
static __always_inline bool fault_signal(int sig)
{
	switch (sig) {
	case SIGILL:
	case SIGTRAP:
	case SIGABRT:
	case SIGBUS:
	case SIGFPE:
	case SIGSEGV:
	case SIGSYS: return true;
	}
	return false;
}

/* a signal that can start a crash cause chain: a fault the kernel raised
 * (si_code > 0), or an abort */
static __always_inline bool cause_signal(int sig, int code)
{
	return sig == SIGABRT || (fault_signal(sig) && code > 0);
}

/* Which fault's handler a thread is running, for crash cause chains: a
 * handler starts at signal_deliver and ends when it returns into its
 * restorer (one that leaves by siglongjmp is caught in userspace: the
 * faulting frames close). Two nested fault handlers are followed: when
 * the inner one ends, the outer one is running again; a third one inside
 * makes the outermost unknown (no cause, rather than a wrong one). */
struct sigstate {
	__u32 pending; /* seq + 1 of a cause signal not yet delivered */
	__s32 pending_sig;
	__u32 active; /* seq + 1 of the fault whose handler runs (0: none) */
	__u32 level;  /* that handler's nesting level */
	__u32 outer;  /* the fault whose handler active's interrupted */
	__u32 outer_level;
	__u32 depth; /* handlers running in the thread */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sigstate);
} sigstates SEC(".maps");

/* The signal return trampolines (sa_restorer: libc's __restore_rt) the
 * loader found and probed, by runtime address. A handler is followed only
 * when it returns through one of them: its end is then seen. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, __u32);
} restorers SEC(".maps");

/* the sender of a signal being generated, when it is a thread of the
 * receiving process; the fault whose handler it runs goes in *cause */
static __always_inline __u32 signal_sender(struct task_struct *task, __u32 *cause)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct sigstate *ss;

	*cause = 0;
	if (cur->tgid != BPF_CORE_READ(task, tgid))
		return 0;
	ss = bpf_task_storage_get(&sigstates, cur, 0, 0);
	if (ss)
		*cause = ss->active;
	return cur->pid;
}

/* a cause signal the thread raised itself: its handler, if any, is next */
static __always_inline void note_cause_signal(struct task_struct *task, int sig, __u32 seq)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct sigstate *ss;

	if (cur->pid != BPF_CORE_READ(task, pid))
		return;
	ss = bpf_task_storage_get(&sigstates, cur, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ss)
		return;
	ss->pending = seq + 1;
	ss->pending_sig = sig;
}

/* Of the signals generated, the one the process dies of is the one first
 * delivered with its default action (a thread may fault again, or another
 * be sent a kill, while it is being taken): say which. */
static __always_inline void send_fatal(int sig, struct kernel_siginfo *info)
{
	struct ctrace_signal *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e) {
		count_loss();
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	set_hdr(&e->h, CTRACE_EV_FATAL, (__u32)bpf_get_current_pid_tgid(), bpf_ktime_get_ns());
	e->sig = sig;
	e->code = BPF_CORE_READ(info, si_code);
	e->addr = (__u64)BPF_CORE_READ(info, _sifields._sigfault._addr);
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(on_signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	unsigned long handler = (unsigned long)BPF_CORE_READ(ka, sa.sa_handler);
	__u64 restorer = (__u64)BPF_CORE_READ(ka, sa.sa_restorer);
	struct sigstate *ss;

	/* a handled signal needs no copy: its handler's calls follow in the
	 * buffer; a fatal one's calls go before its FATAL record */
	if (batch && !handler && fault_signal(sig) && traced(cur->tgid))
		batch_sync_task(cur, cur->pid, false);
	if (!handler && fault_signal(sig) && traced(cur->tgid))
		send_fatal(sig, info);
	if (handler <= SIG_IGN || !traced(cur->tgid))
		return 0;
	ss = bpf_task_storage_get(&sigstates, cur, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ss)
		return 0;
	if (!bpf_map_lookup_elem(&restorers, &restorer)) {
		/* its end would not be seen: the fault is no cause */
		if (ss->pending_sig == sig)
			ss->pending = 0;
		return 0;
	}
	ss->depth++;
	if (ss->pending && ss->pending_sig == sig) {
		ss->outer = ss->active;
		ss->outer_level = ss->level;
		ss->active = ss->pending;
		ss->level = ss->depth;
		ss->pending = 0;
	}
	return 0;
}

/* a handler returned into its restorer: rt_sigreturn comes next */
SEC("uprobe")
int on_restorer(struct pt_regs *ctx)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u64 ip = bpf_get_func_ip(ctx);
	struct sigstate *ss;

	if (!traced(cur->tgid) || !bpf_map_lookup_elem(&restorers, &ip))
		return 0;
	ss = bpf_task_storage_get(&sigstates, cur, 0, 0);
	if (!ss || !ss->depth)
		return 0;
	if (ss->depth == ss->level) {
		ss->active = ss->outer;
		ss->level = ss->outer_level;
		ss->outer = ss->outer_level = 0;
	}
	ss->depth--;
	return 0;
}

/* Read outside the process, from the kernel, so a corrupt heap or stack in
 * the target costs nothing: registers from the task's saved user state, and
 * as much of the stack above rsp as can be read (the top of a thread's
 * stack is not known here, so shrinking sizes are tried). */
SEC("tp_btf/signal_generate")
int BPF_PROG(on_signal, int sig, struct kernel_siginfo *info, struct task_struct *task, int group,
	     int result)
{
	struct ctrace_crash_rec *rec;
	struct ctrace_signal *e;
	struct pt_regs *regs;
	__u64 pt[CTRACE_PTREGS_NSLOTS], sp;
	__u32 seq, tid;
	int code;

	if (!fault_signal(sig) || !traced(BPF_CORE_READ(task, tgid)))
		return 0;
	/* the calls before a fault go first; a thread's buffer can be read only
	 * by the thread itself (its signal_deliver copies it for any other) */
	if (batch && task == bpf_get_current_task_btf())
		batch_sync_task(bpf_get_current_task_btf(), task->pid, false);
	seq = __sync_fetch_and_add(&signal_seq, 1);
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count_loss();
		return 0;
	}
	tid = BPF_CORE_READ(task, pid);
	set_hdr(&e->h, CTRACE_EV_SIGNAL, tid, bpf_ktime_get_ns());
	e->seq = seq;
	e->sig = sig;
	e->code = code = BPF_CORE_READ(info, si_code);
	e->sender = signal_sender(task, &e->cause);
	e->pad = 0;
	e->addr = (__u64)BPF_CORE_READ(info, _sifields._sigfault._addr);
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	if (cause_signal(sig, code))
		note_cause_signal(task, sig, seq);

	rec = bpf_ringbuf_reserve(&crash_rb, sizeof(*rec), 0);
	if (!rec)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	rec->seq = seq;
	rec->tid = tid;
	/* a failed read leaves zeros, as it did one register at a time */
	bpf_probe_read_kernel(pt, sizeof(pt), regs);
#pragma unroll
	for (int i = 0; i < CTRACE_NREGS; i++)
		rec->regs[i] = pt[ctrace_ptregs_slot(i)];
	sp = rec->regs[CTRACE_REG_RSP];
	rec->stack_len = 0;
	/* the user stack is the current task's only when it signals itself
	 * (a fault, abort()); a kill from elsewhere runs in the sender */
	if ((__u32)bpf_get_current_pid_tgid() == rec->tid) {
		if (!bpf_probe_read_user(rec->stack, CTRACE_STACK_MAX, (void *)sp))
			rec->stack_len = CTRACE_STACK_MAX;
		else if (!bpf_probe_read_user(rec->stack, 8192, (void *)sp))
			rec->stack_len = 8192;
		else if (!bpf_probe_read_user(rec->stack, 4096, (void *)sp))
			rec->stack_len = 4096;
		else if (!bpf_probe_read_user(rec->stack, 1024, (void *)sp))
			rec->stack_len = 1024;
	}
	bpf_ringbuf_submit(rec, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_task_exit, struct task_struct *p, bool group_dead)
{
	struct ctrace_thread *e;
	struct tstate *st;
	__u32 tid, tgid = BPF_CORE_READ(p, tgid);

	batch_vfork_end(p);
	if (!traced(tgid))
		return 0;
	if (group_dead && tgid != targ_tgid)
		bpf_map_delete_elem(&procs, &tgid);
	tid = BPF_CORE_READ(p, pid);
	if (batch) /* in the exiting thread, its memory still mapped */
		batch_sync_task(p, tid, true);
	if (summary) {
		st = state_of(p, tid);
		if (st) {
			sum_end_thread(p, st, CTRACE_SUM_ENDED);
			own_ring_release(p, st);
		}
	}
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count_loss();
		goto out;
	}
	st = state_of(p, tid);
	set_hdr(&e->h, CTRACE_EV_THREAD_EXIT, tid, bpf_ktime_get_ns());
	e->tgid = tgid;
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->lost = st ? st->lost : 0;
	e->group_dead = group_dead;
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	/* the consumer must see the process end promptly */
	bpf_ringbuf_submit(e, group_dead ? BPF_RB_FORCE_WAKEUP : wake_flags());
out:
	release_slot(p, tid);
	return 0;
}

/* ---- --memory: the allocator's entry points ----
 *
 * Entry probes note what was asked (and send a FREE, before the block can
 * be given to another thread); return probes send the ALLOC with the
 * address returned. An allocator calling another through an exported
 * address (realloc(NULL, n) → malloc, reallocarray → realloc) is counted
 * once: a thread's calls nest, and only the outermost one is sent. */
struct mem_call {
	__u32 nest; /* allocator calls open in the thread */
	__u32 op;   /* the outermost one's enum ctrace_mem_op */
	__u64 size;
	__u64 memptr; /* posix_memalign: where the block's address is stored */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mem_call);
} mem_calls SEC(".maps");

__u64 mem_lost = 0; /* ALLOC/FREE records that were not sent */

static __always_inline void send_mem(struct task_struct *task, __u32 kind, __u64 addr, __u64 size,
				     __u32 op)
{
	__u32 tid = task->pid;
	__u64 now = bpf_ktime_get_ns();
	struct tstate *st = thread_state(tid, now);
	struct ctrace_mem *e;

	if (!st) {
		__sync_fetch_and_add(&mem_lost, 1);
		return;
	}
	/* --probe batch: the calls the record belongs in go first, and the
	 * depth is the one after them; all of them, a slot not written yet
	 * included (counted lost): the allocator is then running in a signal
	 * handler that interrupted an append, whose calls follow that slot, and
	 * the block is theirs, never an outer call's */
	batch_sync_all(st, tid);
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		thread_lost_one(st);
		__sync_fetch_and_add(&mem_lost, 1);
		return;
	}
	set_hdr(&e->h, kind, tid, now);
	e->addr = addr;
	e->size = size;
	e->depth = max_depth && st->depth > max_depth ? max_depth : st->depth;
	e->stack = st->stack;
	e->lost = st->lost;
	e->op = op;
	bpf_ringbuf_submit(e, thread_wake_flags(st));
}

SEC("uprobe")
int on_alloc(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 op = (__u32)bpf_get_attach_cookie(ctx);
	struct mem_call *c;
	__u64 size = PT_REGS_PARM1(ctx);

	if (!ours())
		return 0;
	if (op & CTRACE_MEM_ENTRY_ONLY) {
		c = bpf_task_storage_get(&mem_calls, task, 0, 0);
		if (size && !(c && c->nest)) /* free(NULL) does nothing */
			send_mem(task, CTRACE_EV_FREE, size, 0, CTRACE_MEM_FREE);
		return 0;
	}
	c = bpf_task_storage_get(&mem_calls, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c) {
		__sync_fetch_and_add(&mem_lost, 1);
		return 0;
	}
	if (c->nest++)
		return 0;
	c->op = op;
	c->memptr = 0;
	switch (op) {
	case CTRACE_MEM_FREE:
		if (size) /* free(NULL) does nothing */
			send_mem(task, CTRACE_EV_FREE, size, 0, op);
		return 0;
	case CTRACE_MEM_REALLOC:
	case CTRACE_MEM_REALLOCARRAY:
		/* the old block goes now: once realloc moved it, another
		 * thread may be given its address before this one returns */
		if (PT_REGS_PARM1(ctx))
			send_mem(task, CTRACE_EV_FREE, PT_REGS_PARM1(ctx), 0, op);
		size = op == CTRACE_MEM_REALLOC ? PT_REGS_PARM2(ctx) :
						  PT_REGS_PARM2(ctx) * PT_REGS_PARM3(ctx);
		break;
	case CTRACE_MEM_CALLOC: size = PT_REGS_PARM1(ctx) * PT_REGS_PARM2(ctx); break;
	case CTRACE_MEM_MEMALIGN: size = PT_REGS_PARM2(ctx); break;
	case CTRACE_MEM_POSIX_MEMALIGN:
		c->memptr = PT_REGS_PARM1(ctx);
		size = PT_REGS_PARM3(ctx);
		break;
	}
	c->size = size;
	return 0;
}

SEC("uprobe")
int on_alloc_ret(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mem_call *c = bpf_task_storage_get(&mem_calls, task, 0, 0);
	__u64 addr = PT_REGS_RC(ctx);

	if (!c || !c->nest || --c->nest || c->op == CTRACE_MEM_FREE)
		return 0;
	if (c->op == CTRACE_MEM_POSIX_MEMALIGN &&
	    ((__u32)addr || bpf_probe_read_user(&addr, sizeof(addr), (void *)c->memptr)))
		return 0;
	if (addr) /* NULL: nothing was allocated (realloc(p, 0) freed p) */
		send_mem(task, CTRACE_EV_ALLOC, addr, c->size, c->op);
	return 0;
}
