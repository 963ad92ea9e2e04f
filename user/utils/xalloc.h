/* Allocation that cannot fail, for the event path: running on without the
 * memory would lose calls silently, so each of these logs "out of memory"
 * and aborts instead of returning NULL. */
#ifndef CTRACE_XALLOC_H
#define CTRACE_XALLOC_H
#include <stddef.h>

/* p, an allocation made elsewhere; aborts when it is NULL */
void *xcheck(void *p);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

#endif
