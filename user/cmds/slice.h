/* Slicing a trace: a trace_source (write/backend.h) that passes on only the
 * threads --tid selects and, with --time-range START:END, only the calls that
 * overlap the window. convert and report read through it.
 *
 * What "in the window" means (doc/design.md §6, "Slices"): a call is kept when
 * the times the trace knows of it share an instant with [START, END], both
 * ends included: [start_ns, end_ns] when both are known, the one known time
 * when the other is null (partial), nothing when neither is. A call is also
 * kept when one of its descendants is, so every kept call keeps its callers.
 * A call entirely outside the window goes with its whole subtree. Times are
 * never changed: a kept call that starts before START or ends after END keeps
 * its true start and end. */
#ifndef CTRACE_SLICE_H
#define CTRACE_SLICE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "write/backend.h"

/* what --tid and --time-range asked for */
struct slice_spec {
	uint64_t *tids; /* --tid 5813: every tree of that thread id */
	size_t ntids;
	char **keys; /* --tid 5813#2: that one tree */
	size_t nkeys;
	bool has_range;
	uint64_t start_ns, end_ns; /* the window, both included; end UINT64_MAX: open */
	bool open_end;
};

/* getopt_long codes, their rows of the options table, and the lines --help
 * shows, the descriptions indented by IND (a literal of spaces) */
enum { SLICE_OPT_TID = 0x5100, SLICE_OPT_RANGE };
// clang-format off
#define SLICE_LONG_OPTIONS \
	{ "tid", required_argument, NULL, SLICE_OPT_TID }, \
	{ "time-range", required_argument, NULL, SLICE_OPT_RANGE }
#define SLICE_HELP(IND) \
	"      --tid TID[,TID...]\n" \
	IND "only these threads; repeatable, or a comma list;\n" \
	IND "a thread id keeps each tree of that id, a key\n" \
	IND "\"TID#N\" (as in call_trees) that one tree\n" \
	"      --time-range START:END\n" \
	IND "only the calls that overlap this window (both\n" \
	IND "ends included) and their callers, at their true\n" \
	IND "times; START and END are ns since the trace's\n" \
	IND "start, or with a unit: 1.5s, 200ms, 10us, 500ns;\n" \
	IND "leave one out for \"from START\" or \"until END\"\n"
// clang-format on

/* Parses one --tid or --time-range value (code: SLICE_OPT_*) into s. 0, or
 * 2 (the usage-error status) after one line on stderr, "cmd: invalid ...",
 * naming the bad token. */
int slice_option(struct slice_spec *s, int code, const char *arg, const char *cmd);
/* the same, without printing: 0, or -1 with one line in err */
int slice_add_tids(struct slice_spec *s, const char *arg, char *err, size_t errlen);
int slice_set_range(struct slice_spec *s, const char *arg, char *err, size_t errlen);
/* "1.5s", "200ms", "10us", "500ns", "1000" (ns) into whole ns; false when
 * not a time, finer than 1 ns or too large */
bool slice_parse_time(const char *s, size_t len, uint64_t *ns);
bool slice_active(const struct slice_spec *s);
void slice_spec_free(struct slice_spec *s);

/* The filtering source. After a walk, the counts say what was cut. */
struct slice {
	struct trace_source source; /* read this */
	const struct slice_spec *spec;
	const struct trace_source *in;
	bool has_trace_calls; /* the whole trace's metadata total_calls */
	uint64_t trace_calls;
	uint64_t calls, threads; /* passed on */
};

void slice_init(struct slice *sl, const struct slice_spec *spec, const struct trace_source *in);
/* "tid 11467, 11468; 1.5ms to 2ms": what the spec keeps, for messages */
void slice_describe(const struct slice_spec *s, char *buf, size_t len);

#endif
