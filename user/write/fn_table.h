/* The per-function table of `ctrace-bpf report` and of --summary. */
#ifndef CTRACE_FN_TABLE_H
#define CTRACE_FN_TABLE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum fn_sort { FN_SORT_SELF, FN_SORT_CALLS, FN_SORT_TOTAL, FN_SORT_AVG, FN_SORT_MAX, FN_SORT_NAME };

struct fn_stat {
	char *name;
	uint64_t calls, timed, total, self, max;
	bool partial;
	/* --memory: its calls' own allocations and frees ("memory") */
	uint64_t allocs, alloc_bytes, frees, free_bytes;
};

struct fn_table {
	struct fn_stat *v;
	size_t n, cap;
	size_t *ht; /* open addressing: index into v, or SIZE_MAX */
	size_t htcap;
};

/* a duration right-aligned in width columns; "-" when not known */
void fn_table_put_dur(FILE *f, bool known, uint64_t ns, size_t width);
void fn_table_clear(struct fn_table *t);
void fn_table_free(struct fn_table *t);
/* the row of name, made empty on first use; NULL when out of memory */
struct fn_stat *fn_table_get(struct fn_table *t, const char *name);
/* sorted by key, the first top rows (0: all); any_partial: set when a row has partial calls */
void fn_table_print(FILE *f, struct fn_table *t, enum fn_sort key, size_t top, bool *any_partial);
/* a node's "memory" (compact JSON) added to s's sums; false when there is none */
bool fn_table_add_memory(struct fn_stat *s, const char *memory);
/* the functions that allocated or freed, by bytes allocated, the first top
 * rows (0: all); nothing when none did */
void fn_table_print_memory(FILE *f, struct fn_table *t, size_t top);

#endif
