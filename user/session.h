/* The state every phase of a tracing run shares. */
#ifndef CTRACE_SESSION_H
#define CTRACE_SESSION_H
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "attach/batch.h"
#include "attach/launch.h"
#include "attach/probes.h"
#include "attach/remaps.h"
#include "cli.h"
#include "consume/batch.h"
#include "consume/trace.h"
#include "write/output.h"
#include "write/summary.h"

/* why the calls still open when tracing stopped have no end */
#define STILL_RUNNING "exit not observed (still running when tracing stopped)"

struct ctrace_bpf;
struct ring_buffer;
struct elf_image;
struct symbolizer;
struct capture;
struct ctrace_writer;
struct ctrace_reader;

/* One tracing session: what each phase sets up for the next ones. */
struct session {
	struct config cfg;
	bool launch;	      /* launch mode (else attach to cfg.pid) */
	bool preload;	      /* probes on the preloaded hooks library */
	bool batch;	      /* --probe batch: hooks is the batch hooks library */
	struct batch_decoder bd;
	struct batch_guard guard; /* continues what BPF stopped if we die */
	char exe[PATH_MAX];   /* the target's executable */
	char hooks[PATH_MAX]; /* launch: the hooks library; attach: /proc/PID/exe */
	struct elf_image *img;
	struct output out;
	pid_t targ;
	struct child child; /* launch mode */
	bool child_alive;
	int status; /* the child's wait status */
	int entry_fd, pidfd;
	struct ctrace_bpf *skel;
	struct ring_buffer *rb;
	struct symbolizer *sym;
	struct srclines *srclines; /* --srcline, or NULL */
	struct capture *capture; /* --args/--retval, or NULL */
	struct probes pr;
	struct modsets done;
	struct trace tr;
	struct run_info ri;
	char **cmdline; /* attach: the target's, for the trace */
	uint64_t t0;	/* CLOCK_MONOTONIC when tracing started */
	bool trace_ok;	/* tracing ran: there is a trace to write */
	/* the compact record (doc/ctrace-format.md): CTRACE_RECORD=direct
	 * builds the trees live instead (the path before it, kept as the
	 * ground truth); CTRACE_VERIFY_REPLAY=1 does both and compares */
	enum { REC_RECORD, REC_DIRECT, REC_VERIFY } rec_mode;
	bool keep_ctrace; /* -o T.ctrace: the compact record is the result */
	int rec_fd;
	FILE *rec_tmp; /* rec_fd's stream when made by tmpfile() */
	struct ctrace_writer *rec;
	struct ctrace_reader *reader; /* the replay's (its functions) */
	struct trace rtr;	      /* the trees rebuilt from the record */
	bool have_rtr;
	bool rtr_nodes;	    /* rtr's nodes are in the node spool: -o x.jsonl */
	struct trace *res;  /* the trees written: rtr, or tr (direct, verify) */
	struct summary sum; /* --summary */
	/* --last: the trees rebuilt from the windows at stop (res); the
	 * SIGUSR1 snapshots written so far */
	struct trace ftr;
	bool have_ftr;
	unsigned snapshots;
};

#endif
