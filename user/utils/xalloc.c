/* Allocation that cannot fail (see xalloc.h). */
#include "utils/xalloc.h"

#include <stdlib.h>
#include <string.h>

#include "utils/log.h"

void *xcheck(void *p)
{
	if (!p) {
		log_err("out of memory");
		abort();
	}
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	return xcheck(calloc(n, size));
}

void *xrealloc(void *p, size_t size)
{
	return xcheck(realloc(p, size));
}

char *xstrdup(const char *s)
{
	return xcheck(strdup(s));
}
