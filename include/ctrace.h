/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Records shared by the BPF programs and the loader: fixed-width types only,
 * so both sides agree on the layout without any translation. */
#ifndef CTRACE_H
#define CTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CTRACE_COMM_LEN 16
/* uprobe cookie: bit 0 set on the exit hook's probes */
#define CTRACE_COOKIE_EXIT 1ull

enum ctrace_event_kind {
	CTRACE_EV_ENTER = 1,       /* a traced function was entered */
	CTRACE_EV_EXIT = 2,        /* a traced function is about to return */
	CTRACE_EV_THREAD = 3,      /* first event seen from a thread */
	CTRACE_EV_THREAD_EXIT = 4, /* a thread of the target exited */
};

/* Every record starts with this header. */
struct ctrace_hdr {
	__u32 kind;
	__u32 tid;
	__u64 ts; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
};

/* ENTER / EXIT: 32 bytes, the hot-path record. */
struct ctrace_call {
	struct ctrace_hdr h;
	__u64 fn;    /* this_fn as the hook received it: a runtime address */
	__s32 depth; /* the thread's call depth: the enter and the exit of one
		      * call carry the same value, so userspace can resynchronise
		      * its stacks after a loss or an attach mid-call */
	__u32 lost;  /* events this thread lost so far (ring buffer full) */
};

/* THREAD / THREAD_EXIT */
struct ctrace_thread {
	struct ctrace_hdr h;
	__u32 tgid;
	__u32 exit_code; /* THREAD_EXIT: task->exit_code (wait-status form) */
	__u32 lost;      /* THREAD_EXIT: events this thread lost in total */
	__u32 group_dead;/* THREAD_EXIT: the last thread: the process is gone */
	char comm[CTRACE_COMM_LEN];
};

#endif
