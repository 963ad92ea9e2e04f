/* longjmp out of several traced frames: their exits never run, and the calls
 * after the jump must nest where they really are. */
#include <setjmp.h>
#include <stdio.h>
#include "common.h"

static jmp_buf where;
volatile int sink;

NOINLINE void deep(int d)
{
	if (d <= 0) {
		if (sink >= 0)   /* always: keeps gcc from calling the recursion endless */
			longjmp(where, 1);
		return;
	}
	deep(d - 1);
	sink = d;
}

NOINLINE int jumper(void)
{
	if (!setjmp(where)) {
		deep(3);
		return 0;
	}
	return 1;
}

NOINLINE int after(int v)
{
	return v + 1;
}

int main(void)
{
	int r = jumper();

	r += after(r);
	r += jumper();
	printf("r=%d\n", r);
	return 0;
}
