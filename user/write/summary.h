/* --summary: the per-function statistics BPF kept, named, merged and written
 * as the report table and as the JSON document's "summary" (doc/design.md §6). */
#ifndef CTRACE_SUMMARY_H
#define CTRACE_SUMMARY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "utils/u64map.h"
#include "ctrace.h"

struct sum_row {
	char *function, *module;
	uint32_t tid; /* per thread; 0 otherwise */
	struct ctrace_sum_val v;
};

struct summary {
	struct sum_row *rows;
	size_t n, cap;
	bool per_thread;
	uint64_t untimed[CTRACE_SUM_NREASONS]; /* calls counted untimed, by reason */
	uint64_t hidden;		       /* calls of functions -F/-N hide */
	uint64_t untracked;		       /* events of threads BPF had no room for */
	uint64_t extremes_missed; /* min/max updates BPF gave up (contention) */
	struct u64map index; /* hash of (function, module, thread) -> row index + 1 */
};

/* one row of BPF's table (or of a file), merged with any of the same function,
 * module and thread; 0 or -1 (out of memory) */
int summary_add(struct summary *s, const char *function, const char *module, uint32_t tid,
		const struct ctrace_sum_val *v);
/* the calls in every row */
uint64_t summary_calls(const struct summary *s);
/* the `report` table, per thread when per_thread, and a line for each
 * reason some calls have no time */
void summary_print(FILE *f, struct summary *s);
/* ,"summary":[...],"untimed":{...}: the members after "metadata" */
void summary_write_json(FILE *f, struct summary *s);
void summary_free(struct summary *s);

/* the JSON names of the reasons, by enum ctrace_sum_reason */
extern const char *const summary_reason_key[CTRACE_SUM_NREASONS];

#endif
