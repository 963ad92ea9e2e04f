/* Command-line parsing: the contract of doc/design.md §6 plus documented extensions. */
#ifndef CTRACE_CLI_H
#define CTRACE_CLI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct filter;
struct keep_rule;

enum probe_mode {
	PROBE_AUTO,	/* launch: batch, else preload, else call sites */
	PROBE_PRELOAD,	/* NOP-headed hooks of a preloaded library */
	PROBE_CALLSITE, /* the call instructions to the hooks */
	PROBE_BATCH,	/* preloaded hooks that buffer calls per thread */
};

struct config {
	const char *output; /* -o */
	pid_t pid;	    /* -p; 0 in launch mode */
	char **argv;	    /* launch mode: PROGRAM ARGS... */
	int argc;
	bool args, retval;	       /* -a, -r */
	struct filter *capture_filter; /* --capture PATTERN: -a/-r only for these; NULL: all */
	uint32_t string_size;	       /* --string-size: bytes of a char * shown */
	int max_depth;		       /* -D; 0 = unlimited */
	double duration;	       /* --duration; 0 = until the target exits */
	uint64_t buffer_size;	       /* -b, bytes (power of two) */
	enum probe_mode probe;	       /* --probe */
	bool follow_forks;	       /* --follow-forks */
	bool srcline;		       /* --srcline */
	bool memory;		       /* --memory */
	bool bench_empty;      /* --bench-empty: empty programs at the sites (benchmark floor) */
	struct filter *filter; /* -F / -N / --filter-file */
	int verbose;
	/* the options exactly as given, for metadata.options */
	const char *filter_file;
	const char *user;   /* -u: run the target as this user */
	const char *format; /* -f: also write this view of the trace */
	enum { SUMMARY_OFF, SUMMARY_FUNCTION, SUMMARY_THREAD } summary; /* --summary */
	uint32_t last; /* --last N: the flight recorder keeps N calls per thread; 0: off */
	/* written calls (rebuild/keep_filter.h): --min-duration, --keep-if */
	bool min_duration;
	uint64_t min_duration_ns;
	struct keep_rule *keep_if;
	size_t nkeep_if;
	/* --subtree / --caller PATTERN (CTRACE_SHAPE_*: one of them, 0: neither) */
	struct filter *shape;
	int shape_mode;
};

/* Parses argv into cfg. Returns 0 to go on, 1 when it printed help/version
 * (exit 0), -1 on a usage error (message printed; exit 2). */
int cli_parse(int argc, char **argv, struct config *cfg);
/* the option --probe batch does not take, or NULL */
const char *cli_batch_refusal(const struct config *cfg);
/* the --keep-if rules */
void cli_free_keep_if(struct config *cfg);

#endif
