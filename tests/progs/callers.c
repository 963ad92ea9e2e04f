/* --subtree / --caller: the same calls at several depths.
 *
 *   callers [DEPTH] [WAIT_FILE]
 *
 * shallow() calls other() and target(); descend(DEPTH) recurses DEPTH
 * levels, then calls target() twice around other(); every level calls
 * other() on its way back. target() and other() each call leaf(). With
 * WAIT_FILE (attach tests) it runs rounds until that file exists. Prints
 * "sum=S". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

volatile long sink;

NOINLINE void leaf(int x)
{
	sink += x;
}

NOINLINE int target(int x)
{
	leaf(x);
	return x + 1;
}

NOINLINE void other(int x)
{
	leaf(-x);
	sink -= 1;
}

NOINLINE void descend(int n)
{
	if (n > 0) {
		descend(n - 1);
		other(n);
		return;
	}
	sink += target(n);
	other(n);
	sink += target(n + 1);
}

NOINLINE void shallow(void)
{
	other(1);
	sink += target(2);
}

NOINLINE void round_trip(int depth)
{
	shallow();
	descend(depth);
	shallow();
}

static NOINSTR void pause_ms(void)
{
	struct timespec ts = { 0, 2000000 };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 10;

	if (argc > 2) {
		while (access(argv[2], F_OK))
			round_trip(depth), pause_ms();
	} else {
		round_trip(depth);
	}
	printf("sum=%ld\n", (long)sink);
	return 0;
}
