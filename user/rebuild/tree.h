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
 * Node objects are written in pieces (JSON object keys are unordered): the
 * known keys and "children":[ at entry, the rest at exit. */
#ifndef CTRACE_TREE_H
#define CTRACE_TREE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct func_info;

struct frame {
	int32_t depth;
	int32_t container;	    /* index of the nearest visible ancestor; -1: root level */
	const struct func_info *fn; /* NULL: placeholder, entry not observed */
	const char *entry_gap;	    /* then why (a placeholder's partial_reason) */
	uint64_t lost_at;	    /* the thread's losses when it was entered */
	uint64_t start;
	bool visible;	/* written (not filtered out) */
	bool has_child; /* a child was written: the next needs a comma */
	void *args;	/* --args: the entry's captured bytes, kept while
				     * the call is open for a crash report (malloc'd) */
	uint32_t args_size;
};

/* more members of a node, written by whoever knows them (arguments at the
 * entry, the return value at the return); each starts with a comma */
struct tree_extra {
	void (*write)(FILE *f, void *arg);
	void *arg;
};

struct thread_tree {
	uint32_t tid;
	uint32_t pid;	   /* its process */
	uint32_t stack_id; /* 0: the thread's own stack; else a coroutine's */
	bool parked;	   /* its thread switched to another stack */
	void *owner;	   /* the consumer's record of that process (a cache) */
	char name[64];
	FILE *spool;   /* NULL once archived */
	FILE *archive; /* an ended thread's bytes: [arch_off, +arch_len) */
	uint64_t arch_off, arch_len;
	struct frame *stack;
	uint32_t nstack, capstack;
	int32_t base; /* depth of the root level */
	bool root_has_child;
	uint64_t wraps;	    /* nodes wrapped around everything before them */
	uint64_t calls;	    /* nodes written */
	uint64_t lost;	    /* events this thread lost (from BPF) */
	uint64_t lost_root; /* ... when its stack was last empty */
	bool gap_counted;   /* the current event's resync is counted */
	uint64_t resyncs;   /* gaps with no loss counted: tracer faults */
	bool attach;	    /* calls may predate tracing */
	const char *before; /* then why: NULL for "already running when tracing started" */
	bool exited;
	uint64_t first_ts, last_ts;
	/* a call that returned and waits for its return value (--retval) */
	bool held;
	struct frame held_frame;
	uint64_t held_end;
	/* crash.c: the thread's last fault signal and last possible crash
	 * cause, whose call stacks are kept (index + 1 in its log; 0: none) */
	size_t crash_last, crash_cand;
};

/* spool: where the thread's root_calls elements are streamed */
void tree_init(struct thread_tree *t, uint32_t tid, FILE *spool, bool attach);
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
/* a longjmp left every call deeper than depth; seen: BPF saw its setjmp */
void tree_unwind(struct thread_tree *t, int32_t depth, uint64_t ts, bool seen);
/* close every open frame: their exits were not observed, for this reason */
void tree_close_all(struct thread_tree *t, const char *reason);
/* the thread ended and its frames are closed: its spool's bytes move to the
 * end of archive (shared by every ended thread) and the spool is closed, so
 * open files stay bounded by the live threads. 0 or -errno (the spool is
 * kept then) */
int tree_archive(struct thread_tree *t, FILE *archive);
/* write the thread object's opening and members ({"thread_id":…,
 * "root_calls":[…]) to out, copying the spool; the caller may add members
 * and closes it. 0 or -errno */
int tree_write_thread(struct thread_tree *t, FILE *out);
void tree_free(struct thread_tree *t);

#endif
