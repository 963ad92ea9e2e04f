/* The final JSON document (format_version 1, doc/design.md §6). It is written to
 * a temporary file beside the output path and renamed into place complete, so
 * no half-written trace is ever left under the user's name. */
#ifndef CTRACE_OUTPUT_H
#define CTRACE_OUTPUT_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct config;
struct module;
struct signal_note;
struct trace;

struct run_info {
	const struct config *cfg;
	char **command; /* argv of the target */
	int ncommand;
	pid_t pid;
	const char *executable; /* absolute */
	const char *probe_mode; /* "preload" / "callsite" */
	int64_t wall_start_ns;	/* CLOCK_REALTIME at trace start */
	uint64_t duration_ns;
	uint64_t lost_events; /* BPF's count */
	bool exit_known;
	int exit_code;			 /* -1 when killed by a signal */
	int exit_signal;		 /* 0 when none */
	const struct signal_note *fatal; /* the fault signal that killed it */
	const struct module *mods;	 /* its modules, for the backtrace */
	size_t nmods;
};

struct output {
	char *path; /* final name */
	char *tmp;  /* being written */
	int dirfd;  /* its directory: spools live there too */
	FILE *f;
};

/* Creates the temporary file now, so an unwritable path fails before the
 * target starts. 0, or -1 with the reason printed. */
int output_open(struct output *o, const char *path);
int output_write(struct output *o, const struct trace *tr, const struct run_info *ri);
/* CTRACE_VERIFY_REPLAY: tr's document (the replayed one) must be, byte for
 * byte, the one output_write wrote; 0, or -1 with the offset printed */
int output_verify(struct output *o, const struct trace *tr, const struct run_info *ri);
/* fsync, rename into place, give it to the sudo user, release o; 0 or -1
 * (printed; then call output_abort) */
int output_commit(struct output *o);
/* remove the temporary file (failure paths) */
void output_abort(struct output *o);

#endif
