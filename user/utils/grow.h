/* Arrays that grow as they fill. */
#ifndef CTRACE_GROW_H
#define CTRACE_GROW_H
#include <stddef.h>

/* Room for element n of v, an array of *cap elements of elem bytes: v when
 * n < *cap, else v reallocated to twice as many (first, the first time) with
 * *cap updated. NULL when out of memory: v is as it was, still the caller's. */
void *grow_array(void *v, size_t *cap, size_t n, size_t elem, size_t first);

#endif
