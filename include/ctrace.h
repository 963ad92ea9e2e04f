/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Records shared by the BPF programs and the loader: fixed-width types only,
 * so both sides agree on the layout without any translation. */
#ifndef CTRACE_H
#define CTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "ctrace_regs.h"

#define CTRACE_COMM_LEN 16
/* uprobe cookie: bit 0 set on the exit hook's probes; bits 1-7 the length of
 * the hook call instruction (call-site probes), so ip + length is the return
 * address that keys the site's capture plan */
#define CTRACE_COOKIE_EXIT	1ull
#define CTRACE_COOKIE_LEN_SHIFT 1
#define CTRACE_COOKIE_LEN_MASK	0x7f
/* bit 8: the probe heads a hook of the preloaded library (rsp is 8 below
 * its value at the hook call); per probe, since an exec'd image may be
 * probed at its call sites while the first one uses the preload */
#define CTRACE_COOKIE_HOOK (1ull << 8)
/* --srcline without --args: the preloaded enter hook's probe sits this far
 * in, after a `movq (%rsp), %rdx` that gives it the hook's return address */
#define CTRACE_HOOK_SRCLINE_OFF 9
/* bit 9: a filter is on and the probe's function is not proven (an unproven
 * call site, or the preloaded hooks): BPF keeps the call only when its
 * this_fn is in the `selected` map, keyed by CTRACE_PLAN_KEY(this_fn, gen) */
#define CTRACE_COOKIE_CHECK (1ull << 9)

/* Capture plans are keyed by a runtime address and the image generation of
 * the process it belongs to: 0 for the target's first image, a new one for
 * each exec and for a forked child that loads code of its own. User
 * addresses stay below 2^47, so the generation sits above bit 48. */
#define CTRACE_GEN_SHIFT	   48
#define CTRACE_ADDR_MASK	   ((1ull << CTRACE_GEN_SHIFT) - 1)
#define CTRACE_PLAN_KEY(addr, gen) ((addr) | ((__u64)(gen) << CTRACE_GEN_SHIFT))
/* the last generation: given to every image after 65,534 of them, and
 * never planned (its values are unavailable, never another image's) */
#define CTRACE_GEN_NONE 0xffff

/* The BPF map procs: the traced processes, by tgid; the loader seeds the
 * target's entry. */
#define CTRACE_PROC_MAY_STOP 1 /* a stop is ours to give: launch mode, or forked */
#define CTRACE_PROC_OWN_GEN  2 /* its image generation is its own, not its parent's */
struct ctrace_proc_state {
	__u32 flags;
	__u32 gen; /* image generation: which capture plans apply */
};

enum ctrace_event_kind {
	CTRACE_EV_ENTER = 1,		/* a traced function was entered */
	CTRACE_EV_EXIT = 2,		/* a traced function is about to return */
	CTRACE_EV_THREAD = 3,		/* first event seen from a thread */
	CTRACE_EV_THREAD_EXIT = 4,	/* a thread of the target exited */
	CTRACE_EV_SIGNAL = 5,		/* a fault/abort signal was generated for a thread */
	CTRACE_EV_ENTER_ARGS = 6,	/* ENTER with the arguments its plan captured */
	CTRACE_EV_RETVAL = 7,		/* a traced function returned (uretprobe) */
	CTRACE_EV_ENTER_ARGS_SMALL = 8, /* ENTER_ARGS when every value is small */
	CTRACE_EV_UNWIND = 9,		/* a longjmp left the calls deeper than depth;
				    * fn: CTRACE_UNWIND_* */
	/* 10 is reserved (it was MUNMAP): dlclose is seen by the DLSTATE
	 * probe, after which the loader re-reads the map and forgets the
	 * names and plans of what went away */
	CTRACE_EV_FORK = 11,	/* --follow-forks: a traced process forked one more */
	CTRACE_EV_EXEC = 12,	/* a traced process replaced its image */
	CTRACE_EV_DLSTATE = 13, /* the dynamic loader changed a process's map */
	CTRACE_EV_SWITCH = 14,	/* the thread now runs on another stack (ucontext,
				    * or a longjmp there), at depth; fn: the stack's
				    * id (0: the thread's own) | CTRACE_SWITCH_UNSEEN */
	CTRACE_EV_FATAL = 15,	/* a fault signal was delivered with its default
				    * action: this one kills the process (a
				    * ctrace_signal: sig, code, addr) */
	CTRACE_EV_CREATE = 16,	/* a traced thread created a thread, or (with
				 * --follow-forks) a process: ctrace_create */
	CTRACE_EV_ELIDED = 17,	/* --caller: the open calls from the thread's
				    * last sent one down to depth are callers
				    * whose entries were not kept; fn: CTRACE_ELIDED_* */
	CTRACE_EV_CALLER = 18,	/* --caller: an ENTER sent once a call it
				    * made matched (no arguments captured) */
	CTRACE_EV_ALLOC = 19,	/* --memory: an allocator returned a block (ctrace_mem) */
	CTRACE_EV_FREE = 20,	/* --memory: a block is being freed (ctrace_mem) */
	/* --srcline: ENTER with its call site (ctrace_call_site) */
	CTRACE_EV_ENTER_SITE = 22,
	/* --srcline with --args: the call site of the thread's next event, an
	 * ENTER_ARGS of the same fn and depth (a ctrace_call_site) */
	CTRACE_EV_SITE = 23,
};

/* --subtree / --caller (BPF's `shape`): which calls are sent. The
 * functions that match are in the `shape_fns` map, keyed like `selected` */
#define CTRACE_SHAPE_SUBTREE 1
#define CTRACE_SHAPE_CALLER  2
/* --caller: the open calls a thread keeps (entry time and function), by depth */
#define CTRACE_CALLER_DEPTH 64
/* ELIDED's fn: why the callers' entries are unknown */
#define CTRACE_ELIDED_DEEP   1 /* beyond the CTRACE_CALLER_DEPTH frames kept */
#define CTRACE_ELIDED_REUSED 2 /* a call CTRACE_CALLER_DEPTH deeper took its frame */
#define CTRACE_ELIDED_NOROOM 3 /* no room for a coroutine stack's frames */

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

/* ENTER_SITE: an ENTER and where the call came from, sent instead of
 * ENTER with --srcline only (the default record keeps its 32 bytes) */
struct ctrace_call_site {
	struct ctrace_call c;
	__u64 site; /* the hook's call_site: the return address into the caller */
	__u64 at;   /* the hook call's return address, in the function it sits in
		     * (an inlined callee's hook sits in its caller's body: its
		     * call_site is then the caller's own) */
};

/* UNWIND's fn: the jump's setjmp was not seen (it predates tracing, or its
 * record was evicted), so depth is the lowest one the thread reached */
#define CTRACE_UNWIND_UNSEEN 1ull

/* SWITCH's fn: the context was saved before tracing saw it, so the stack's
 * calls so far are unknown */
#define CTRACE_SWITCH_UNSEEN (1ull << 32)
#define CTRACE_STACK_MASK    0xffffffffull

/* on_context's cookies: which ucontext function the probe sits on */
#define CTRACE_CTX_GET	1
#define CTRACE_CTX_MAKE 2
#define CTRACE_CTX_SET	3
#define CTRACE_CTX_SWAP 4

/* THREAD / THREAD_EXIT */
struct ctrace_thread {
	struct ctrace_hdr h;
	__u32 tgid;
	__u32 exit_code;  /* THREAD_EXIT: task->exit_code (wait-status form) */
	__u32 lost;	  /* THREAD_EXIT: events this thread lost in total */
	__u32 group_dead; /* THREAD_EXIT: the last thread: the process is gone */
	char comm[CTRACE_COMM_LEN];
};

/* One value captured by a plan (ctrace_plan.h): the value's bytes, and what
 * it points to when the plan follows it. */
/* CTRACE_VALUE_MAX (64) used; the rest keeps the verifier's bounds simple
 * for a second piece */
#define CTRACE_CAP_VAL 128
#define CTRACE_CAP_TGT 264 /* CTRACE_FOLLOW_MAX (256) + 1 to see a longer string */
struct ctrace_arg_cap {
	__s32 val_err; /* 0 or -errno */
	__u32 val_len;
	__s32 tgt_err; /* 0, -errno, or 1: not followed (no follow, or NULL) */
	__u32 tgt_len; /* bytes in tgt; a string: with its NUL when one was found */
	__u8 val[CTRACE_CAP_VAL];
	__u8 tgt[CTRACE_CAP_TGT];
};

/* One string of a char * member of a struct argument (ctrace_plan.h) */
struct ctrace_mstr_cap {
	__s32 err; /* 0, -errno, or 1: not read (NULL, or the struct was not read) */
	__u32 len; /* bytes in str, with its NUL when one was found */
	__u8 str[CTRACE_CAP_TGT];
};

/* ENTER_ARGS: an ENTER plus its captured arguments; only nargs entries are
 * sent, unless the plan reads member strings (nmstr > 0): then all six
 * are, and mstr[0..nmstr) after them */
struct ctrace_call_args {
	struct ctrace_call c;
	__u64 key; /* the plan's key: runtime return address of the hook call */
	__u32 nargs;
	__u32 nmstr;
	struct ctrace_arg_cap arg[6];
	struct ctrace_mstr_cap mstr[4];
};

/* ENTER_ARGS_SMALL: when a site's plan has only values of at most 16 bytes
 * and follows no pointer (CTRACE_SITE_SMALL, set by the loader), the record
 * is 5x smaller and is reserved straight in the ring buffer. */
#define CTRACE_SITE_SMALL 0x80 /* in ctrace_site_plan.flags */
#define CTRACE_SMALL_VAL  16
struct ctrace_arg_small {
	__s32 val_err;
	__u32 val_len;
	__u8 val[2 * CTRACE_SMALL_VAL]; /* half is slack for the verifier */
};

struct ctrace_call_args_small {
	struct ctrace_call c;
	__u64 key;
	__u32 nargs;
	__u32 pad;
	struct ctrace_arg_small arg[6];
};

/* RETVAL: the value a traced function returned, read at its return */
struct ctrace_retval {
	struct ctrace_hdr h;
	__u64 fn;  /* the function's runtime address */
	__u64 key; /* its plan's key: CTRACE_PLAN_KEY(fn, generation) */
	__u64 rax, rdx;
	struct ctrace_arg_cap ret;
};

/* SIGNAL: in the main ring buffer, so it is ordered with the calls of its
 * thread (the open frames at that point are the crash's call stack). The
 * registers and a copy of the stack go to the crash ring buffer under the
 * same seq: they are large, and the call buffer's size is the user's. */
struct ctrace_signal {
	struct ctrace_hdr h;
	__u32 seq;
	__s32 sig;
	__s32 code;   /* si_code */
	__u32 sender; /* the thread that generated it (the faulting thread, or
		       * the caller of kill/raise/abort), if it is in the same
		       * process; 0: the kernel or another process */
	__u64 addr;   /* si_addr, for fault signals */
	__u32 cause;  /* seq + 1 of the sender's earlier fault whose handler
		       * was still running (0: none) */
	__u32 pad;
};

#define CTRACE_STACK_MAX 16384

struct ctrace_crash_rec {
	__u32 seq;
	__u32 tid;
	__u64 regs[CTRACE_NREGS]; /* by enum ctrace_reg: the user registers at
				   * the signal */
	__u64 stack_len;	  /* bytes copied from regs[CTRACE_REG_RSP] upwards */
	__u8 stack[CTRACE_STACK_MAX];
};

/* FORK / EXEC / DLSTATE. h.tid: the child (FORK), the thread that exec'd
 * (EXEC; it now has the process's pid), the thread in the loader (DLSTATE) */
#define CTRACE_PATH_MAX 256
struct ctrace_proc {
	struct ctrace_hdr h;
	__u32 tgid;    /* the process the event is about */
	__u32 parent;  /* FORK: the forking process; EXEC: the tid before exec */
	__u32 stopped; /* the process was sent SIGSTOP: SIGCONT it when done */
	__u32 gen;     /* the process's image generation after the event */
	char comm[CTRACE_COMM_LEN];
	char path[CTRACE_PATH_MAX]; /* EXEC: the file as execve was given it */
};

/* CREATE: sent from the creator (h.tid) at clone, before the child runs, in
 * the ring its calls go to: the calls it sent before are ahead of it. depth,
 * stack and lost are the creator's as its next call record would carry them
 * (depth capped at --max-depth): the consumer names the open call only when
 * its own stack of the creator agrees. */
struct ctrace_create {
	struct ctrace_hdr h;
	__u32 child;	  /* the new thread's tid */
	__u32 child_tgid; /* its process: the creator's, or a new one (fork) */
	__s32 depth;	  /* the creator's call depth on its current stack */
	__u32 stack;	  /* that stack (tstate.stack) */
	__u32 lost;	  /* events the creator lost so far */
	__u32 seen;	  /* the creator had made a traced call (has a state) */
};

/* --memory: the allocator entry point a probe sits on (its cookie) */
enum ctrace_mem_op {
	CTRACE_MEM_MALLOC = 1,	   /* malloc, valloc, pvalloc: size */
	CTRACE_MEM_CALLOC,	   /* nmemb, size */
	CTRACE_MEM_REALLOC,	   /* ptr, size (reallocarray: nmemb, size) */
	CTRACE_MEM_MEMALIGN,	   /* memalign, aligned_alloc: alignment, size */
	CTRACE_MEM_POSIX_MEMALIGN, /* memptr, alignment, size */
	CTRACE_MEM_FREE,	   /* free: ptr */
	CTRACE_MEM_REALLOCARRAY,   /* ptr, nmemb, size */
};
/* in the cookie: a probe with no return probe (the C library's free): it
 * sends a FREE only outside another allocator call */
#define CTRACE_MEM_ENTRY_ONLY 0x100

/* ALLOC / FREE: sent from the allocating (freeing) thread, in the ring its
 * calls go to, so the consumer sees it between that thread's calls. A FREE
 * is sent at the free's entry (and a realloc's old block at the realloc's
 * entry), before another thread can be given the same address; an ALLOC at
 * the allocator's return. depth, stack, lost: the thread's, as its next
 * call record would carry them (depth capped at --max-depth). */
struct ctrace_mem {
	struct ctrace_hdr h;
	__u64 addr; /* the block */
	__u64 size; /* ALLOC: the bytes asked for */
	__s32 depth;
	__u32 stack;
	__u32 lost;
	__u32 op; /* enum ctrace_mem_op */
};

/* --summary: BPF keeps per-function statistics instead of sending ENTER and
 * EXIT. The map sums is keyed by the function and, per thread, the thread. */
struct ctrace_sum_key {
	__u64 fn;  /* CTRACE_PLAN_KEY(this_fn, image generation) */
	__u32 tid; /* 0 unless --summary=thread */
	__u32 pad;
};

struct ctrace_sum_val {
	__u64 calls;	   /* every call counted, timed or not */
	__u64 timed;	   /* the calls whose entry and exit were both seen */
	__u64 total, self; /* ns, over the timed calls */
	__u64 min, max;	   /* ns, over the timed calls; min 0: none yet */
};

/* --summary per function: the rows an array holds (the others are in the
 * hash map sums); a power of two */
#define CTRACE_SUM_FAST (1 << 16)
/* threads whose own ring is in an array slot (the others': task storage) */
#define CTRACE_SUM_RING_SLOTS 1024

/* The shadow stack of a summary, per thread and per coroutine stack: a ring
 * of CTRACE_SUM_DEPTH frames by depth. A call with that many calls open
 * inside it at once gives its frame to the deepest: it is counted then,
 * untimed (CTRACE_SUM_DEEP). */
struct ctrace_sum_frame {
	__u64 fn;    /* this_fn */
	__u64 t;     /* entry time; 0: no open call here that is not counted yet */
	__u64 child; /* ns spent in its timed callees so far */
	__s32 depth;
	__u32 pad;
};

#define CTRACE_SUM_DEPTH 128

/* A stack's ring (the value of the maps sum_rings, co_rings) */
struct ctrace_sum_ring {
	struct ctrace_sum_frame f[CTRACE_SUM_DEPTH];
	/* the lowest depth this stack returned to: an exit at or below it is of
	 * a call that began before tracing (a ring starts at 0, as its stack's
	 * depth does) */
	__s32 floor;
	__u32 pad;
};

/* A row of the array sum_fast: a function's statistics, found without a
 * helper call when its key holds the element */
struct ctrace_sum_fast_row {
	__u64 key; /* CTRACE_PLAN_KEY; 0: free */
	struct ctrace_sum_val v;
};

/* sum_untimed[]: the calls counted without a time, by reason; FULL ones are
 * counted in no row either */
enum ctrace_sum_reason {
	CTRACE_SUM_EARLIER,   /* began before tracing (attach, a forked child) */
	CTRACE_SUM_DEEP,      /* CTRACE_SUM_DEPTH calls open inside it took its frame */
	CTRACE_SUM_UNWOUND,   /* left by a longjmp */
	CTRACE_SUM_ENDED,     /* its thread ended (or exec'd) first */
	CTRACE_SUM_RUNNING,   /* still running when tracing stopped */
	CTRACE_SUM_COROUTINE, /* open on a coroutine stack no thread ran at the end */
	CTRACE_SUM_NOSTACK,   /* no room for its stack's ring */
	CTRACE_SUM_FULL,      /* the function table was full */
	CTRACE_SUM_NREASONS,
};

/* ---- --probe batch (issue 15): the preloaded hooks append each call to a
 * per-thread buffer in the target (struct ctrace_tbuf); BPF copies what it
 * holds into the ring buffer as one BATCH record (kind 26) when the hooks
 * find it full, and before any record of that thread that depends on it
 * (signals, fork, exit, setjmp/longjmp, exec). */
#define CTRACE_EV_BATCH	       26
#define CTRACE_BATCH_BITS      12
#define CTRACE_BATCH_CAP       (1u << CTRACE_BATCH_BITS)
/* ctrace_tbuf.hd: records reserved so far in the low 40 bits, the raw call
 * depth (signed) above: one unlocked xadd moves both, so a signal handler's
 * calls never land between an event's depth and its slot */
#define CTRACE_BATCH_HEAD_BITS 40
#define CTRACE_BATCH_HEAD_MASK ((1ull << CTRACE_BATCH_HEAD_BITS) - 1)
/* a record, 16 bytes: w0 = fn (bits 0-46) | the depth's low 16 bits (47-62)
 * | exit (63); w1 = CLOCK_MONOTONIC ns (low 56 bits) | the slot's lap above,
 * so a slot reserved but not yet written when BPF copied it is told from a
 * written one. The lap is the index's, plus one: a slot of the first lap
 * never written is zeros, which must not read as written. */
#define CTRACE_BATCH_FN_MASK  ((1ull << 47) - 1)
#define CTRACE_BATCH_EXIT     (1ull << 63)
#define CTRACE_BATCH_TS_MASK  ((1ull << 56) - 1)
#define CTRACE_BATCH_LAP(i)   ((((i) >> CTRACE_BATCH_BITS) + 1) & 0xff)
struct ctrace_batch_rec {
	__u64 w0;
	__u64 w1;
};

/* the hooks call ctrace_batch_flush every CTRACE_BATCH_FLUSH records: half
 * the buffer, so a copy held back by a slot not yet written (below) loses
 * nothing */
#define CTRACE_BATCH_FLUSH (CTRACE_BATCH_CAP / 2)
struct ctrace_tbuf {
	__u64 hd;
	__u64 busy; /* appends in progress: nonzero only in a signal handler
		     * that interrupted one (or in a hook) */
	__u64 pad[6];
	struct ctrace_batch_rec r[CTRACE_BATCH_CAP];
};

/* -F/-N with --probe batch: the filtering build of the hooks library
 * (libctrace-hooks-batch-filter.so) keeps the process's selected functions
 * (runtime addresses) in ctrace_batch_sel, an open-addressing set the tracer
 * fills from outside (process_vm_writev); a call not in it appends nothing
 * and leaves the depth alone. Linear probing from CTRACE_BATCH_SEL_HASH;
 * 0 is a free slot, CTRACE_BATCH_SEL_TOMB a removed key (its bytes mixed
 * with any key's are never 0, so a slot written while read never ends a
 * search early). told: nonzero once the tracer wrote the set for this
 * image; until then the hooks call ctrace_batch_hello, whose probe stops
 * the process for the tracer to write it. */
#define CTRACE_BATCH_SEL_BITS  17
#define CTRACE_BATCH_SEL_SLOTS (1u << CTRACE_BATCH_SEL_BITS)
#define CTRACE_BATCH_SEL_TOMB  (~0ull)
#define CTRACE_BATCH_SEL_HASH(fn) \
	((__u32)(((__u64)(fn) * 0x9e3779b97f4a7c15ull) >> (64 - CTRACE_BATCH_SEL_BITS)))
struct ctrace_batch_sel {
	__u64 told;
	__u64 pad[7];
	__u64 slot[CTRACE_BATCH_SEL_SLOTS];
};

/* BATCH: the records [first, first + n) of a thread's buffer; h.ts is the
 * copy's time (the timestamps' bits above 56 come from it) */
#define CTRACE_BATCH_D0_CONT (-0x7fffffffffffffffll - 1) /* d0: as the last BATCH ended */
struct ctrace_batch {
	struct ctrace_hdr h;
	__u64 first; /* index of r[0] (the slot's lap is checked against it) */
	__s64 d0;    /* the raw depth before r[0] */
	__s64 adj;   /* raw depth - adj = the depth BPF keeps (longjmps) */
	__u32 n;
	__u32 lost; /* the thread's loss count, with this copy's */
	struct ctrace_batch_rec r[];
};

#endif
