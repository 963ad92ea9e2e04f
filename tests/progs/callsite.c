/* --srcline's call sites: each call's line is marked SITE, caller>callee;
 * twice() is inlined at -O0 too (always_inline), the others never are. */
#include <stdio.h>
#include "common.h"

static inline __attribute__((always_inline)) int twice(int x)
{
	return 2 * x;
}

NOINLINE int leaf(int x)
{
	return x + 1;
}

NOINLINE int rec(int n)
{
	if (n <= 0)
		return leaf(n); /* SITE rec>leaf */
	return rec(n - 1) + 3; /* SITE rec>rec */
}

NOINLINE int mid(int x)
{
	int r = twice(x); /* SITE mid>twice */

	r += leaf(r); /* SITE mid>leaf */
	return r;
}

int main(void)
{
	int r = mid(1); /* SITE main>mid */

	r += mid(2) + rec(2); /* SITE main>mid SITE main>rec */
	printf("r=%d\n", r);
	return 0;
}
