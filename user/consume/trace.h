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
#include "utils/u64map.h"

struct capture;
struct ctrace_writer;
struct func_info;
struct memtrack;
struct symbolizer;
struct thread_tree;
struct tree_sink;

struct trace {
	struct symbolizer *sym;
	struct capture *capture; /* --args/--retval, or NULL */
	bool attach;
	uint64_t t0;		      /* CLOCK_MONOTONIC ns when tracing started */
	int spool_dirfd;	      /* spools are unlinked files beside the output */
	struct tree_sink *sink;	      /* where the trees' nodes go (owned) */
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
	/* the compact record (record/, doc/ctrace-format.md) */
	struct ctrace_writer *rec;	   /* live: every record is appended here */
	bool live_only;			   /* live: the process table and the record only,
				    * the trees are built at replay */
	struct u64map rthreads;		   /* live_only: tid → its process (struct rthread) */
	size_t rec_marked;		   /* the capture plans' changes the record says */
	bool replay;			   /* the records come from the compact record */
	const struct func_info *replay_fn; /* replay: the current record's function */
	const char *replay_site;	   /* replay: its call site (--srcline), or NULL */
	/* --srcline with --args: SITE records waiting for their ENTER_ARGS */
	struct pending_site *psites;
	size_t npsites;
	const char *args_site;		   /* the current ENTER_ARGS's, when recorded */
	struct u64map gens;		   /* replay: pid → image generation + 1 */
	struct u64map names;		   /* replay: tid → its name at stop */
	bool procs_borrowed;		   /* replay: procs is the live trace's */
	/* --last: sees each call event of a live tree (its function, the
	 * process's image generation) before the tree does */
	void (*tap)(struct thread_tree *t, const void *data, size_t size,
		    const struct func_info *fi, unsigned gen);
	struct u64map created; /* tid → its "created_by" JSON until its tree starts */
	struct memtrack *mem;  /* --memory (consume/memory.c), or NULL */
};

/* sym names the addresses of process pid, the target */
int trace_init(struct trace *tr, pid_t pid, struct symbolizer *sym, bool attach, uint64_t t0,
	       int spool_dirfd);
/* the trees' nodes go to sink (owned from now on) rather than the JSON
 * spools; before the first event */
void trace_set_sink(struct trace *tr, struct tree_sink *sink);
/* ring_buffer_sample_fn */
int trace_on_event(void *ctx, void *data, size_t size);
/* a call event of tree t (ENTER*, EXIT, RETVAL, UNWIND) whose function is
 * fi (NULL for UNWIND), its process's image generation gen and names sym */
void trace_call_event(struct trace *tr, struct thread_tree *t, const void *data, size_t size,
		      const struct func_info *fi, unsigned gen, struct symbolizer *sym,
		      uint64_t ts);
/* a tree of its own for tid (a live thread), and its end once its frames
 * are closed: for whoever builds trees without events (--last) */
struct thread_tree *trace_new_thread(struct trace *tr, uint32_t tid);
void trace_end_thread(struct trace *tr, struct thread_tree *t);
/* ring_buffer_sample_fn of the crash buffer */
int trace_on_crash(void *ctx, void *data, size_t size);
/* replay: the trees are rebuilt from live's record; live's process table
 * (its final state) stands in for the live effects */
void trace_init_replay(struct trace *tr, struct trace *live);
/* at stop: each thread's loss count as BPF kept it (lookup: 0 when known) */
void trace_set_lost(struct trace *tr, int (*lookup)(void *ctx, uint32_t tid, uint64_t *n),
		    void *ctx);
/* replay: a NAME record (a thread's name at stop), LOST (its loss count) */
void trace_replay_name(struct trace *tr, uint32_t tid, const char *name);
void trace_replay_lost(struct trace *tr, uint32_t tid, uint64_t n);
/* close every thread's open frames (tracing stopped with calls running) */
void trace_finish(struct trace *tr, const char *reason);
uint64_t trace_total_calls(const struct trace *tr);
/* threads seen so far (live_only: tids, trees come at replay) */
size_t trace_threads_seen(const struct trace *tr);
/* gaps in the trees that no loss explains: tracer faults, reported */
uint64_t trace_total_resyncs(const struct trace *tr);
/* the first error writing the trees beside the output (a full disk), as an
 * errno; 0 while all is well */
int trace_spool_error(struct trace *tr);
void trace_free(struct trace *tr);

#endif
