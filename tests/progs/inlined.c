/* A function gcc inlines at -O2 (and keeps out of line too, since its address
 * is taken): its inlined hook calls sit inside its caller and pass its own
 * address, so a filter on it must still see every call. */
#include <stdio.h>
#include "common.h"

static int square(int x)
{
	return x * x;
}

int (*volatile keep)(int) = square;

NOINLINE int around(int x)
{
	return square(x) + 1;
}

int main(void)
{
	int r = 0;

	for (int i = 0; i < 3; i++)
		r += around(i);
	r += keep(5);
	printf("r=%d\n", r);
	return 0;
}
