#include <stdint.h>
#include <stdlib.h>

#include "utils/grow.h"

void *grow_array(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t nc = *cap ? *cap * 2 : first;
	void *nv;

	if (n < *cap)
		return v;
	if (nc < *cap || nc > SIZE_MAX / elem)
		return NULL;
	nv = realloc(v, nc * elem);
	if (nv)
		*cap = nc;
	return nv;
}
