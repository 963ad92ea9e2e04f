/* --memory: probes on the allocator's entry points (consume/memory.c reads
 * what they send). */
#ifndef CTRACE_ALLOC_PROBES_H
#define CTRACE_ALLOC_PROBES_H

struct modset;
struct probes;
struct symbolizer;

/* entry and return probes on the C library's allocator and the C++
 * runtime's operator new/delete, in every mapped module that defines them
 * and is not in done; 0, or -1 (printed) */
int alloc_probes_watch(struct probes *pr, struct symbolizer *sym, struct modset *done);

#endif
