/* --last (the flight recorder): calls in a known order, with known arguments.
 *   flight calls N             main -> step(i) -> leaf(i), i = 0..N-1
 *   flight crash N             the same, then outer(N) -> inner(N+1) ->
 *                              boom(NULL): SIGSEGV
 *   flight wait STOP STATE     step(i) -> leaf(i) about every ms until the
 *                              file STOP exists; STATE holds the last i done
 *   flight threads K N         K threads, thread j (1..K): work(j << 32 | N)
 *                              -> step(j * 100000 + i) -> leaf, i < N */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

volatile long sink;

NOINLINE long leaf(long i)
{
	sink += i;
	return i * 2;
}

NOINLINE long step(long i)
{
	return leaf(i) + 1;
}

NOINLINE void boom(int *p)
{
	*p = (int)sink;
}

NOINLINE void inner(long i)
{
	sink -= i;
	boom(NULL);
}

NOINLINE void outer(long i)
{
	inner(i + 1);
}

NOINLINE void *work(void *arg)
{
	long j = (long)arg >> 32, n = (long)arg & 0xffffffff;

	for (long i = 0; i < n; i++)
		step(j * 100000 + i);
	return NULL;
}

NOINSTR static void save(const char *path, long i)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%ld\n", i);
	fclose(f);
	rename(tmp, path);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "calls";
	long n = argc > 2 ? atol(argv[2]) : 1000;
	pthread_t t[64];

	if (!strcmp(mode, "calls") || !strcmp(mode, "crash")) {
		for (long i = 0; i < n; i++)
			step(i);
		if (!strcmp(mode, "crash"))
			outer(n);
	} else if (!strcmp(mode, "wait") && argc > 3) {
		for (long i = 0; access(argv[2], F_OK); i++) {
			step(i);
			if (i % 20 == 0)
				save(argv[3], i);
			usleep(1000);
		}
	} else if (!strcmp(mode, "threads") && argc > 3) {
		long m = atol(argv[3]);

		for (long j = 0; j < n && j < 64; j++)
			pthread_create(&t[j], NULL, work, (void *)((j + 1) << 32 | m));
		for (long j = 0; j < n && j < 64; j++)
			pthread_join(t[j], NULL);
	} else {
		fprintf(stderr, "usage: flight calls|crash N | wait STOP STATE | threads K N\n");
		return 2;
	}
	return 0;
}
