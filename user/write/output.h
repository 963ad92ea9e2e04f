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
struct keep_rule;
struct ctrace_writer;
struct module;
struct signal_note;
struct summary;
struct trace;

struct run_info {
	const struct config *cfg;
	char **command; /* argv of the target */
	int ncommand;
	pid_t pid;
	const char *executable; /* absolute */
	const char *probe_mode; /* "preload" / "callsite" */
	int64_t wall_start_ns;	/* CLOCK_REALTIME at trace start */
	uint64_t mono_start_ns; /* CLOCK_MONOTONIC at trace start: time 0 of every *_ns */
	uint64_t duration_ns;
	uint64_t lost_events; /* BPF's count */
	bool exit_known;
	int exit_code;			 /* -1 when killed by a signal */
	int exit_signal;		 /* 0 when none */
	const struct signal_note *fatal; /* the fault signal that killed it */
	const struct module *mods;	 /* its modules, for the backtrace */
	size_t nmods;
	struct summary *summary; /* --summary: written in place of the call trees */
	unsigned snapshot;	 /* --last: the SIGUSR1 snapshot's number; 0: the end's */
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
/* A compact trace's result (-o T.ctrace): the JSON around the trees, as
 * rendered at stop (the crash needs the live modules), into TEXT records */
int output_store_parts(struct ctrace_writer *w, const char *path, const struct trace *tr,
		       const struct run_info *ri);

/* ... and read back: the document of tr (replayed offline) with them */
struct stored_parts {
	const char *metadata;	  /* the "metadata" object */
	const char *const *tails; /* per thread, by index: members after "root_calls" */
	size_t ntails;
	const char *crash; /* the "crash" value; NULL: null */
	const char *leaks; /* --memory: the "leaks" value a stored trace had;
			    * NULL: tr's own, if any */
};
/* ,"filtered":{…} when tr's sink is a --min-duration/--keep-if filter
 * (rebuild/keep_filter.h), with the rules' text; nothing otherwise */
void output_write_filtered(FILE *f, const struct trace *tr, uint64_t min_duration_ns,
			   const struct keep_rule *rules, size_t nrules);
int output_write_stored(FILE *f, const char *path, const struct trace *tr,
			const struct stored_parts *sp);

/* The same parts rendered now (malloc'd), for the formats written from the
 * node spool (write/node_spool.h); quiet: say nothing on stderr. 0, or -1
 * out of memory */
struct rendered_parts {
	char *metadata, *crash;
	char **tails;
	size_t ntails;
};
int output_render_parts(struct rendered_parts *rp, const char *path, const struct trace *tr,
			const struct run_info *ri, bool quiet);
struct stored_parts output_parts_view(const struct rendered_parts *rp);
void output_parts_free(struct rendered_parts *rp);

/* CTRACE_VERIFY_REPLAY: tr's document (the replayed one) must be, byte for
 * byte, the one output_write wrote; 0, or -1 with the offset printed */
int output_verify(struct output *o, const struct trace *tr, const struct run_info *ri);
/* ... its parts: a temporary file beside the output; a document of tr to f
 * (quiet: nothing said on stderr); replayed (from its first byte) the same as
 * the document at direct_fd, else -1 with what differs printed */
FILE *output_scratch(struct output *o);
int output_write_to(FILE *f, const char *path, const struct trace *tr, const struct run_info *ri,
		    bool quiet);
int output_verify_same(struct output *o, int direct_fd, FILE *replayed, const char *what);
/* fsync, rename into place, give it to the sudo user, release o; 0 or -1
 * (printed; then call output_abort) */
int output_commit(struct output *o);
/* remove the temporary file (failure paths) */
void output_abort(struct output *o);

#endif
