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
