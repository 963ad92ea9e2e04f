/* Calls whose failures are known, for --keep-if:
 *
 *   failing N [THREADS]
 *
 * Each of THREADS threads (default: main alone) runs items 0..N-1:
 *   process(i, fd = i % 4): calls validate(i); when i % 5 == 0 also
 *     reject(i), which calls note(i); returns -1 when i % 5 == 0, else i.
 *     When i % 7 == 0 it sleeps 3 ms (in nap()) first.
 *   lookup(i): NULL when i % 3 == 0, else a pointer into a table.
 *   nest(3): nest(2) → nest(1) → nest(0), which returns -1; the others 0.
 * So, by construction: process returns < 0 for exactly the i % 5 == 0 items,
 * with validate, reject and note below; arg.fd == 3 for the i % 4 == 3 ones. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "common.h"

static volatile long sink;
static long table[8];
static int items;

NOINLINE void note(int i)
{
	sink += i;
}

NOINLINE void reject(int i)
{
	note(i);
	sink -= 1;
}

NOINLINE int validate(int i)
{
	sink += 2 * i;
	return i % 5 != 0;
}

NOINLINE void nap(int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

NOINLINE int process(int i, int fd)
{
	if (i % 7 == 0)
		nap(3);
	if (!validate(i)) {
		reject(i);
		return -1;
	}
	sink += fd;
	return i;
}

NOINLINE long *lookup(int i)
{
	return i % 3 == 0 ? NULL : &table[i % 8];
}

NOINLINE int nest(int n)
{
	if (n == 0)
		return -1;
	sink += nest(n - 1);
	return 0;
}

NOINLINE void *work(void *arg)
{
	(void)arg;
	for (int i = 0; i < items; i++) {
		process(i, i % 4);
		if (lookup(i))
			sink++;
	}
	nest(3);
	return NULL;
}

NOINSTR int main(int argc, char **argv)
{
	int nthreads = argc > 2 ? atoi(argv[2]) : 0;
	pthread_t th[16];

	items = argc > 1 ? atoi(argv[1]) : 20;
	if (nthreads > 16)
		nthreads = 16;
	for (int t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, work, NULL);
	if (!nthreads)
		work(NULL);
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	printf("items=%d\n", items);
	return 0;
}
