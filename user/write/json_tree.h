/* The tree builder's JSON sink: each thread's "root_calls" elements are
 * streamed as text to its spool (write/tspool.h) as calls open and close,
 * and copied into the document (write/output.c) when it is assembled. */
#ifndef CTRACE_JSON_TREE_H
#define CTRACE_JSON_TREE_H
#include <stdio.h>

struct thread_tree;
struct tree_sink;

/* spools are unlinked files in dirfd; NULL: out of memory */
struct tree_sink *json_tree_new(int dirfd);
/* the thread object's opening and members ({"thread_id":…,"root_calls":[…])
 * to out, from t's spool; the caller may add members and closes it. 0 or
 * -errno */
int json_tree_write_thread(struct thread_tree *t, FILE *out);

#endif
