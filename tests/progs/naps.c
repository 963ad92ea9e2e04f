/* Functions that sleep known times, for --summary's timing tests:
 *
 *   naps ROUNDS [exit]
 *
 * main calls round_() ROUNDS times; each round calls nap(2), nap(4) and
 * nap(6) (milliseconds, nanosleep), then quick() 100 times.
 * Expected, by construction: nap 3*ROUNDS calls, each at least 2 ms, total
 * at least 12*ROUNDS ms, and self = total (it calls nothing traced); round_
 * ROUNDS calls, each at least 12 ms, its self well under its total.
 * With "exit", the last round calls exit(0) after its naps: main and that
 * round_ never return. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "common.h"

static volatile long sink;

NOINLINE void nap(int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

NOINLINE void quick(int i)
{
	sink += i;
}

static int rounds, exit_early;

NOINLINE void round_(int r)
{
	nap(2);
	nap(4);
	nap(6);
	if (exit_early && r == rounds - 1) {
		printf("rounds=%d\n", rounds);
		exit(0);
	}
	for (int i = 0; i < 100; i++)
		quick(r + i);
}

int main(int argc, char **argv)
{
	rounds = argc > 1 ? atoi(argv[1]) : 3;
	exit_early = argc > 2;

	for (int r = 0; r < rounds; r++)
		round_(r);
	printf("rounds=%d\n", rounds);
	return 0;
}
