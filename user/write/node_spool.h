/* The tree builder's node-spool sink, and a trace_source over it: the
 * formats other than JSON get the rebuilt trees without a JSON document in
 * between. Each thread's nodes go to a compact binary spool (write/tspool.h)
 * as they open and close; walking the source replays the spools thread by
 * thread into any trace_visitor, with the same callbacks, in the same order
 * and with the same fields as the JSON reader (cmds/jsonread.c) gives for the
 * document the JSON sink would have written. */
#ifndef CTRACE_NODE_SPOOL_H
#define CTRACE_NODE_SPOOL_H
#include <stddef.h>
#include "write/backend.h"

struct stored_parts;
struct trace;
struct tree_sink;

/* spools are unlinked files in dirfd; NULL: out of memory */
struct tree_sink *node_spool_new(int dirfd);

/* tr's trees (its sink a node spool, its threads' frames closed) with the
 * JSON around them (parts: as write/output.h renders or stores them) */
struct node_source {
	const struct trace *tr;
	const struct stored_parts *parts;
	struct trace_source source;
};

void node_source_init(struct node_source *ns, const struct trace *tr,
		      const struct stored_parts *parts);

#endif
