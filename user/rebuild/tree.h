/* Per-thread call trees, rebuilt from enter/exit events and streamed to a
 * spool file as calls open and close, so memory is bounded by call depth,
 * not by trace length.
 *
 * Every event carries the thread's call depth as BPF counted it (enter and
 * exit of one call carry the same value). That is what keeps the trees exact
 * when events are missing:
 *  - frames deeper than an incoming event lost their exits: closed, "partial";
 *  - an enter deeper than expected lost the entries in between: placeholder
 *    frames are opened, named when their exits arrive;
 *  - such gaps say "events lost" only when BPF counted a loss for the thread
 *    while the frames concerned were open; any other is a tracer fault,
 *    counted in resyncs and reported;
 *  - an exit shallower than the root level is a call that was already running
 *    when tracing started (attach): it becomes a "partial" node wrapping
 *    everything recorded before it at the root level.
 * The builder writes nothing itself: it hands each node to a sink (struct
 * tree_sink) in two halves, what is known at entry and the rest at exit,
 * and the sink writes it (write/json_tree.c: the JSON; write/node_spool.c:
 * nodes for the other formats). */
#ifndef CTRACE_TREE_H
#define CTRACE_TREE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct func_info;
struct tree_sink;

/* --memory: what a call (or a thread's root level) allocated and freed
 * itself, outside its traced callees (consume/memory.c) */
struct tree_mem {
	uint64_t allocs, alloc_bytes;
	uint64_t frees, free_bytes; /* free_bytes: of the blocks seen allocated */
};

struct frame {
	int32_t depth;
	const struct func_info *fn; /* NULL: placeholder, entry not observed */
	const char *entry_gap;	    /* then why (a placeholder's partial_reason) */
	uint64_t lost_at;	    /* the thread's losses when it was entered */
	uint64_t start;
	bool visible; /* written (not filtered out) */
	void *args;   /* --args: the entry's captured bytes, kept while
				     * the call is open for a crash report (malloc'd) */
	uint32_t args_size;
	struct tree_mem mem; /* --memory */
};

/* more members of a node, written by whoever knows them (arguments at the
 * entry, the return value at the return); each starts with a comma */
struct tree_extra {
	void (*write)(FILE *f, void *arg);
	void *arg;
	/* arguments none of which could be read: why (write says so too) */
	const char *unavailable;
	const char *call_site; /* open: --srcline's "FILE:LINE" of the call, or NULL */
};

/* One node, or one half of it, as the sink gets it */
struct tree_node {
	const struct func_info *fn; /* NULL: not known (yet) */
	bool placeholder;	    /* opened before its name was known */
	bool has_start, has_end, has_duration;
	uint64_t start, end, duration;
	const char *partial_reason; /* NULL: entry and exit observed */
	const struct tree_extra *x; /* open: the arguments; close: the return value */
	const struct tree_mem *mem; /* close: --memory's counts, or NULL */
};

struct thread_tree;

/* Where the nodes go. Every thread's nodes arrive in order, threads
 * interleaved: a sink keeps per-thread state in thread_tree.out. */
struct tree_sink_ops {
	/* 0 or -errno */
	int (*thread_begin)(struct tree_sink *s, struct thread_tree *t);
	/* a node's entry: fn (or a placeholder), start, arguments */
	void (*open)(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n);
	/* its exit: fn is the exit's function when n->placeholder */
	void (*close)(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n);
	/* a call seen only by its exit, no children */
	void (*leaf)(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n);
	/* the exit of a call that wraps every node before it at the root level
	 * (its entry predates them: the thread's first t->wraps nodes open
	 * before everything else) */
	void (*wrap)(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n);
	/* the thread's frames are closed: no more nodes. 0 or -errno */
	int (*thread_end)(struct tree_sink *s, struct thread_tree *t);
	/* the first write error of the thread's nodes, as an errno; 0: none */
	int (*thread_error)(struct tree_sink *s, struct thread_tree *t);
	void (*thread_free)(struct tree_sink *s, struct thread_tree *t);
	void (*free)(struct tree_sink *s);
};

struct tree_sink {
	const struct tree_sink_ops *ops;
};

/* A sink that keeps no nodes: for what needs only the counts the builder
 * keeps itself (calls, resyncs, losses per thread). Static: free is a no-op */
struct tree_sink *tree_sink_none(void);

struct thread_tree {
	uint32_t tid;
	uint32_t pid;	   /* its process */
	uint32_t stack_id; /* 0: the thread's own stack; else a coroutine's */
	bool parked;	   /* its thread switched to another stack */
	void *owner;	   /* the consumer's record of that process (a cache) */
	char name[64];
	struct tree_sink *sink;
	void *out; /* the sink's state for this thread */
	struct frame *stack;
	uint32_t nstack, capstack;
	int32_t base;	    /* depth of the root level */
	uint64_t wraps;	    /* nodes wrapped around everything before them */
	uint64_t calls;	    /* nodes written */
	uint64_t lost;	    /* events this thread lost (from BPF) */
	uint64_t lost_root; /* ... when its stack was last empty */
	bool gap_counted;   /* the current event's resync is counted */
	uint64_t resyncs;   /* gaps with no loss counted: tracer faults */
	bool attach;	    /* calls may predate tracing */
	const char *before; /* then why: NULL for "already running when tracing started" */
	bool exited;
	char *created_by; /* its "created_by" JSON (consume/lineage.c), or NULL */
	struct tree_mem root_mem; /* --memory: at the root level, outside any call */
	uint64_t first_ts, last_ts;
	/* a call that returned and waits for its return value (--retval) */
	bool held;
	struct frame held_frame;
	uint64_t held_end;
	/* crash.c: the thread's last fault signal and last possible crash
	 * cause, whose call stacks are kept (index + 1 in its log; 0: none) */
	size_t crash_last, crash_cand;
};

/* the thread's nodes go to sink. 0 or -errno (from the sink) */
int tree_init(struct thread_tree *t, uint32_t tid, struct tree_sink *sink, bool attach);
/* x: members for the node's entry (its arguments), or NULL */
void tree_enter(struct thread_tree *t, int32_t depth, const struct func_info *fn, uint64_t ts,
		const struct tree_extra *x);
/* hold: the node stays open for tree_return (its return value comes next) */
void tree_exit(struct thread_tree *t, int32_t depth, const struct func_info *fn, uint64_t ts,
	       bool hold);
/* keep a copy of the top frame's captured arguments (for a crash report) */
void tree_keep_args(struct thread_tree *t, const void *ev, size_t size);
/* the return value of the held call of fn; ignored when none is held */
void tree_return(struct thread_tree *t, const struct func_info *fn, const struct tree_extra *x);
/* --caller: the calls open down to depth are callers whose entries were
 * not kept, for this reason: placeholders, named when they return */
void tree_elided(struct thread_tree *t, int32_t depth, const char *why);
/* a longjmp left every call deeper than depth; seen: BPF saw its setjmp */
void tree_unwind(struct thread_tree *t, int32_t depth, uint64_t ts, bool seen);
/* close every open frame: their exits were not observed, for this reason */
void tree_close_all(struct thread_tree *t, const char *reason);
/* a call around everything the tree holds (its frames closed), its entry
 * and exit not shown, for reason */
void tree_wrap_open(struct thread_tree *t, const struct func_info *fn, const char *reason);
/* the thread ended and its frames are closed: the sink may put its nodes
 * aside (so open files stay bounded by the live threads). 0 or -errno */
int tree_end(struct thread_tree *t);
/* the first error writing the thread's nodes (an errno); 0: none */
int tree_error(struct thread_tree *t);
void tree_free(struct thread_tree *t);

#endif
