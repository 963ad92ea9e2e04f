/* The consumer: ring-buffer records → per-thread call trees (one per stack
 * when a thread switches stacks: coroutines). */
#ifndef CTRACE_TRACE_H
#define CTRACE_TRACE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "consume/crash.h"
#include "consume/procs.h"

struct capture;
struct symbolizer;
struct thread_tree;

struct trace {
	struct symbolizer *sym;
	struct capture *capture; /* --args/--retval, or NULL */
	bool attach;
	uint64_t t0;		      /* CLOCK_MONOTONIC ns when tracing started */
	int spool_dirfd;	      /* spools are unlinked files beside the output */
	FILE *archive;		      /* the ended threads' trees, one file for all */
	struct thread_tree **threads; /* every thread seen, in order of appearance */
	size_t nthreads, capthreads;
	struct thread_tree **live; /* the threads not yet exited */
	size_t nlive, caplive;
	struct thread_tree **parked; /* stacks a thread switched away from */
	size_t nparked, capparked;
	struct thread_tree *last;
	uint64_t events;
	/* the target's end (the first process), as the kernel saw it */
	bool proc_exited;
	uint32_t proc_exit_code;  /* wait-status form */
	struct crash_log crashes; /* fault signals, with each thread's open calls */
	struct proc_table procs;  /* the target and what it forked */
	int err;		  /* first spool write error (errno) */
};

/* sym names the addresses of process pid, the target */
int trace_init(struct trace *tr, pid_t pid, struct symbolizer *sym, bool attach, uint64_t t0,
	       int spool_dirfd);
/* ring_buffer_sample_fn */
int trace_on_event(void *ctx, void *data, size_t size);
/* close every thread's open frames (tracing stopped with calls running) */
void trace_finish(struct trace *tr, const char *reason);
uint64_t trace_total_calls(const struct trace *tr);
/* gaps in the trees that no loss explains: tracer faults, reported */
uint64_t trace_total_resyncs(const struct trace *tr);
/* the first error writing the trees beside the output (a full disk), as an
 * errno; 0 while all is well */
int trace_spool_error(struct trace *tr);
void trace_free(struct trace *tr);

#endif
