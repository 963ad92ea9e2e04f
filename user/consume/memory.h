/* --memory: the ALLOC and FREE records, attributed to the call open in the
 * thread that made them (the innermost shown one; none: the thread's root
 * level), and the blocks never freed, grouped by the call stack that
 * allocated them: the "leaks" member of the JSON (doc/design.md). */
#ifndef CTRACE_MEMORY_H
#define CTRACE_MEMORY_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ctrace_mem;
struct thread_tree;
struct trace;
struct tree_mem;

/* a node's (or a root level's) "memory" object, compact, as every writer
 * puts it: into buf (MEMORY_JSON_MAX bytes) */
#define MEMORY_JSON_MAX 128
void memory_node_json(char *buf, const struct tree_mem *m);
/* ... and read back from a trace: m, or NULL when json is not one */
const struct tree_mem *memory_node_parse(const char *json, struct tree_mem *m);

/* --memory is on: tr writes "leaks" even with no allocation seen */
void memory_enable(struct trace *tr);
/* an ALLOC or FREE record of thread t */
void memory_on_event(struct trace *tr, struct thread_tree *t, const struct ctrace_mem *e,
		     uint64_t ts);
/* process pid replaced its image: its heap is gone with the old one */
void memory_on_exec(struct trace *tr, uint32_t pid);
/* ,"leaks":{...} when memory was traced (tr->mem) */
void memory_write_leaks(FILE *f, const struct trace *tr);
/* the "leaks" object, compact (malloc'd); NULL without --memory */
char *memory_leaks_json(const struct trace *tr);
/* one line on err: the bytes and blocks never freed */
void memory_report(const struct trace *tr, FILE *err);
void memory_free(struct trace *tr);

#endif
