/* --min-duration and --keep-if: tree sinks (rebuild/tree.h) that wrap the
 * real one and pass on only the nodes kept, with their ancestors as context.
 *
 * --min-duration: a call lasts at least as long as any call inside it, so a
 * node is decided when it closes, with no subtree kept aside: the open nodes
 * not passed on yet wait on a stack; a node that qualifies passes on the
 * opens of its waiting ancestors (outermost first), its own, then its close.
 * A node whose duration is not known (partial: entry or exit not observed,
 * still running at the end, the stack of a crash) is kept: it may be long.
 *
 * --keep-if 'FUNC: CONDITION': each call of FUNC has its subtree kept aside
 * in memory until it returns (one buffer per open FUNC call); then it is
 * passed on whole when CONDITION holds, else only the parts that a nested
 * qualifying FUNC call needs (its subtree, with the ancestors as context).
 * A condition that cannot be told (an operand not readable for that call)
 * does not keep the call: such calls are counted.
 *
 * Both together: --keep-if's output, then pruned by --min-duration. Every
 * node dropped is counted, and t->calls (the thread's "total_calls") counts
 * the nodes written. */
#ifndef CTRACE_KEEP_FILTER_H
#define CTRACE_KEEP_FILTER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keep_rule;
struct tree_sink;

struct keep_filter_opts {
	bool min_duration;
	uint64_t min_duration_ns;
	const struct keep_rule *rules; /* --keep-if */
	size_t nrules;
};

struct keep_counts {
	bool min_duration, keep_if; /* which filters ran */
	uint64_t min_duration_dropped;
	uint64_t keep_if_dropped;
	uint64_t keep_if_kept;	     /* FUNC calls whose condition held */
	uint64_t keep_if_unreadable; /* FUNC calls whose condition could not be told */
};

/* inner (owned from now on) wrapped by the filters o asks for; inner
 * itself when none; NULL out of memory (inner freed) */
struct tree_sink *keep_filter_wrap(struct tree_sink *inner, const struct keep_filter_opts *o);
/* the sink the filters around s pass on to (s itself when not a filter) */
const struct tree_sink *keep_filter_inner(const struct tree_sink *s);
/* the counts of the filters s wraps; false when s is not a filter */
bool keep_filter_counts(const struct tree_sink *s, struct keep_counts *c);

#endif
