/* A thread's "created_by" member (thread lineage, consume/lineage.c), as
 * the readers give it: among the thread's other members (trace_thread.more). */
#ifndef CTRACE_CREATED_BY_H
#define CTRACE_CREATED_BY_H
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct created_by {
	uint64_t tid;	  /* the creator */
	uint64_t time_ns; /* the clone */
	char *json;	  /* the member's value, compact */
	char *function;	  /* the creating call; NULL: not known (why: unavailable) */
	bool has_start;
	uint64_t start_ns;
	char *path;	   /* "main > spawn_pool > make_worker", or NULL */
	char *unavailable; /* "call_unavailable", or NULL */
};

/* 1: more holds a "created_by" object, read into cb (created_by_free it);
 * 0: none (absent, null, or not of that shape); -1: out of memory */
int created_by_read(const char *more, struct created_by *cb);
void created_by_free(struct created_by *cb);

#endif
