/* A six-level tree for the depth limit: main calls level2 twice, level2 calls
 * level3 three times, level3 calls level4 twice, level4 > level5 > level6.
 * Calls per depth: 1, 2, 6, 12, 12, 12 (45 in all). */
#include <stdio.h>
#include "common.h"

static volatile int sink;

NOINLINE int level6(int v)
{
	sink = v;
	return v + 6;
}

NOINLINE int level5(int v)
{
	return level6(v) + 5;
}

NOINLINE int level4(int v)
{
	return level5(v) * 4;
}

NOINLINE int level3(int v)
{
	int s = 0;

	for (int i = 0; i < 2; i++)
		s += level4(v + i);
	return s;
}

NOINLINE int level2(int v)
{
	int s = 0;

	for (int i = 0; i < 3; i++)
		s += level3(v + i);
	return s;
}

int main(void)
{
	int s = 0;

	for (int i = 0; i < 2; i++)
		s += level2(i);
	printf("sum=%d\n", s);
	return 0;
}
