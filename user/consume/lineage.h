/* Thread lineage: for each thread (and, with --follow-forks, each process),
 * the thread that created it and the traced call open in the creator at the
 * clone: the "created_by" member of its thread in the JSON (doc/design.md). */
#ifndef CTRACE_LINEAGE_H
#define CTRACE_LINEAGE_H
#include <stdint.h>

struct ctrace_create;
struct thread_tree;
struct trace;

/* A CREATE record; creator: the creator's live tree, or NULL. The child's
 * "created_by" is kept until its tree starts (its first record comes after). */
void lineage_on_create(struct trace *tr, const struct ctrace_create *e, uint64_t ts,
		       const struct thread_tree *creator);
/* a new tree: its thread's "created_by", when a CREATE named it (t owns it) */
void lineage_adopt(struct trace *tr, struct thread_tree *t);
/* the "created_by" members nobody adopted */
void lineage_free(struct trace *tr);

#endif
