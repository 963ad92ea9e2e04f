/* Fault signals seen in the target, and the crash report when one of them
 * ended the process. */
#ifndef CTRACE_CRASH_H
#define CTRACE_CRASH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct capture;
struct ctrace_crash_rec;
struct func_info;
struct module;
struct thread_tree;

struct crash_frame {
	const struct func_info *fn; /* NULL: a call whose entry was lost */
	bool start_known;
	uint64_t start;
	void *args; /* --args: the entry's captured bytes */
	uint32_t args_size;
};

/* A signal's call stack, registers and stack copy are kept while it may be
 * reported: as its thread's last signal (a crash), as its last possible
 * cause (a fault or an abort), or as the cause of a kept one. Memory stays
 * bounded by the threads, not by how many faults they handle. */
struct signal_note {
	uint32_t seq, tid;
	uint32_t pid;			/* its process (0: not known) */
	const struct thread_tree *tree; /* the thread's tree then (a tid has one per image) */
	int sig, code;
	uint64_t addr, ts;
	char thread_name[64];
	struct crash_frame *frames; /* the thread's open traced calls, innermost first */
	size_t nframes;
	struct ctrace_crash_rec *rec; /* registers and stack, NULL if not received */
	size_t cause;		      /* index + 1 of the earlier fault whose handler
				     * was running when this was sent (0: none) */
	uint32_t refs;		      /* who keeps the details: threads, later notes */
	bool dropped;		      /* frames and rec freed: no longer reportable */
	bool fatal;		      /* delivered with its default action: the one
				     * the process died of */
};

struct crash_log {
	struct signal_note *v;
	size_t n, cap;
	struct ctrace_crash_rec **pending; /* records that came before their note */
	size_t npending;
};

/* a SIGNAL event, with the thread's tree at that point, and the sending
 * thread's (the same for a fault; NULL: not a thread of the process) */
void crash_note_signal(struct crash_log *l, const void *ev, struct thread_tree *t,
		       struct thread_tree *sender, uint64_t ts);
/* ring_buffer_sample_fn for the crash buffer; ctx is the crash_log */
int crash_on_record(void *ctx, void *data, size_t size);
/* a FATAL event: the signal of process pid delivered with its default
 * action; marks the latest note it matches */
void crash_note_fatal(struct crash_log *l, const void *ev, uint32_t pid);
/* the note for the signal that killed process pid: the one delivered with
 * its default action, else the last one of that signal number */
const struct signal_note *crash_find(const struct crash_log *l, int sig, uint32_t pid);
/* the crash object of n (a note of l), with its cause chain */
void crash_write_json(FILE *f, const struct crash_log *l, const struct signal_note *n, pid_t pid,
		      const struct module *mods, size_t nmods, struct capture *cap, FILE *summary,
		      const char *output);
/* ,"signals":[…] of one thread's tree, when it got any fault signal, fatal
 * or not */
void crash_write_thread_signals(FILE *f, const struct crash_log *l, const struct thread_tree *t,
				const struct signal_note *fatal);
void crash_free(struct crash_log *l);
const char *signal_name(int sig);

#endif
