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

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SIGSTOP 19

const volatile __u32 targ_tgid = 0;
const volatile __s32 max_depth = 0;      /* 0: no limit */
const volatile __u64 wake_bytes = 1 << 20; /* wake the consumer past this fill */

struct tstate {
	__s32 depth;
	__u32 lost;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the loader (-b) */
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tstate);
} threads SEC(".maps");

/* Set by the loader once every link is in, cleared before the first is
 * removed: uprobe links attach and detach one after another, and an exit
 * counted without its entry (or the reverse) would skew the depths. */
__u32 armed = 0;
__u32 signal_seq = 0;
__u64 lost_total = 0;      /* every event that did not fit in the ring buffer */
__u64 untracked_total = 0; /* events dropped because the thread table was full */

/* Waking the consumer per event costs ~2.9 us; it drains on its own cadence
 * and is only woken when the buffer fills past wake_bytes. */
static __always_inline __u64 wake_flags(void)
{
	return bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) > wake_bytes ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline struct tstate *thread_state(__u32 tid, __u64 now)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tstate *st = bpf_task_storage_get(&threads, task, 0, 0);
	struct ctrace_thread *e;

	if (st)
		return st;
	st = bpf_task_storage_get(&threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		__sync_fetch_and_add(&untracked_total, 1);
		return NULL;
	}
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (e) {
		e->h.kind = CTRACE_EV_THREAD;
		e->h.tid = tid;
		e->h.ts = now;
		e->tgid = targ_tgid;
		e->exit_code = 0;
		e->lost = 0;
		e->group_dead = 0;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, wake_flags());
	} else {
		__sync_fetch_and_add(&lost_total, 1);
	}
	return st;
}

static __always_inline int record(struct pt_regs *ctx, __u32 kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 now = bpf_ktime_get_ns();
	struct ctrace_call *e;
	struct tstate *st;
	__s32 depth;

	/* The link's pid filter already restricts this to the target's mm;
	 * this also keeps out a forked child that shares the probed file. */
	if ((id >> 32) != targ_tgid || !armed)
		return 0;
	st = thread_state(tid, now);
	if (!st)
		return 0;
	if (kind == CTRACE_EV_ENTER)
		depth = ++st->depth;
	else
		depth = st->depth--;
	if (max_depth && depth > max_depth)
		return 0;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		st->lost++;
		__sync_fetch_and_add(&lost_total, 1);
		return 0;
	}
	e->h.kind = kind;
	e->h.tid = tid;
	e->h.ts = now;
	e->fn = PT_REGS_PARM1(ctx);
	e->depth = depth;
	e->lost = st->lost;
	bpf_ringbuf_submit(e, wake_flags());
	return 0;
}

/* One program for both hooks, so each probed file needs one link (each
 * link's detach waits for its own RCU grace period); the cookie's low bit
 * says which hook the probe sits on. */
SEC("uprobe")
int on_hook(struct pt_regs *ctx)
{
	return record(ctx, bpf_get_attach_cookie(ctx) & CTRACE_COOKIE_EXIT ?
				   CTRACE_EV_EXIT : CTRACE_EV_ENTER);
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
	case 4:  /* SIGILL */
	case 5:  /* SIGTRAP */
	case 6:  /* SIGABRT */
	case 7:  /* SIGBUS */
	case 8:  /* SIGFPE */
	case 11: /* SIGSEGV */
	case 31: /* SIGSYS */
		return true;
	}
	return false;
}

/* Read outside the process, from the kernel, so a corrupt heap or stack in
 * the target costs nothing: registers from the task's saved user state, and
 * as much of the stack above rsp as can be read (the top of a thread's
 * stack is not known here, so shrinking sizes are tried). */
SEC("tp_btf/signal_generate")
int BPF_PROG(on_signal, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct ctrace_crash_rec *rec;
	struct ctrace_signal *e;
	struct pt_regs *regs;
	__u32 seq, tid;
	__u64 sp;

	if (!fault_signal(sig) || BPF_CORE_READ(task, tgid) != targ_tgid)
		return 0;
	seq = __sync_fetch_and_add(&signal_seq, 1);
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_total, 1);
		return 0;
	}
	e->h.kind = CTRACE_EV_SIGNAL;
	e->h.tid = tid = BPF_CORE_READ(task, pid);
	e->h.ts = bpf_ktime_get_ns();
	e->seq = seq;
	e->sig = sig;
	e->code = BPF_CORE_READ(info, si_code);
	e->pad = 0;
	e->addr = (__u64)BPF_CORE_READ(info, _sifields._sigfault._addr);
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);

	rec = bpf_ringbuf_reserve(&crash_rb, sizeof(*rec), 0);
	if (!rec)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	rec->seq = seq;
	rec->tid = tid;
	rec->regs[0] = BPF_CORE_READ(regs, ax);
	rec->regs[1] = BPF_CORE_READ(regs, dx);
	rec->regs[2] = BPF_CORE_READ(regs, cx);
	rec->regs[3] = BPF_CORE_READ(regs, bx);
	rec->regs[4] = BPF_CORE_READ(regs, si);
	rec->regs[5] = BPF_CORE_READ(regs, di);
	rec->regs[6] = BPF_CORE_READ(regs, bp);
	rec->regs[7] = sp = BPF_CORE_READ(regs, sp);
	rec->regs[8] = BPF_CORE_READ(regs, r8);
	rec->regs[9] = BPF_CORE_READ(regs, r9);
	rec->regs[10] = BPF_CORE_READ(regs, r10);
	rec->regs[11] = BPF_CORE_READ(regs, r11);
	rec->regs[12] = BPF_CORE_READ(regs, r12);
	rec->regs[13] = BPF_CORE_READ(regs, r13);
	rec->regs[14] = BPF_CORE_READ(regs, r14);
	rec->regs[15] = BPF_CORE_READ(regs, r15);
	rec->regs[16] = BPF_CORE_READ(regs, ip);
	rec->regs[17] = BPF_CORE_READ(regs, flags);
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
	__u32 tid;

	if (BPF_CORE_READ(p, tgid) != targ_tgid)
		return 0;
	tid = BPF_CORE_READ(p, pid);
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_total, 1);
		goto out;
	}
	st = bpf_task_storage_get(&threads, p, 0, 0);
	e->h.kind = CTRACE_EV_THREAD_EXIT;
	e->h.tid = tid;
	e->h.ts = bpf_ktime_get_ns();
	e->tgid = targ_tgid;
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->lost = st ? st->lost : 0;
	e->group_dead = group_dead;
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	/* the consumer must see the process end promptly */
	bpf_ringbuf_submit(e, group_dead ? BPF_RB_FORCE_WAKEUP : wake_flags());
out:
	return 0;
}
