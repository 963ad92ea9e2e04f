/* crash [segv|abort|fpe|thread]: dies of a signal three calls below main,
 * after two complete prepare() calls whose result it prints and flushes.
 *   main
 *     prepare > checksum, prepare > checksum
 *     level_one > level_two > store_value (SIGSEGV, NULL store)
 *                           | raise_abort (SIGABRT) | divide (SIGFPE, x/0)
 * "thread": main > prepare x2 as above, then a thread named "crasher" runs
 * crasher_body > level_one > level_two > store_value while main waits in
 * pthread_join; it prints "crasher tid=T" first. */
#define _GNU_SOURCE /* pthread_setname_np, gettid */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

enum mode { SEGV, ABRT, FPE };

/* volatile: the compiler cannot see the NULL or the zero, so it emits the
 * real faulting store and division (no ud2 in their place) */
static int *volatile target_ptr;
static volatile int divisor;
static volatile int sink;

NOINLINE int checksum(int v)
{
	return v * 31 + 7;
}

NOINLINE int prepare(int v)
{
	return checksum(v) ^ 3;
}

NOINLINE void store_value(int *p, int v)
{
	*p = v;
}

NOINLINE void raise_abort(int v)
{
	sink = v;
	abort();
}

/* The volatile store pins the division before the exit hook: left alone, -O2
 * divides after the hook and the fault would come from a call already exited. */
NOINLINE int divide(int a, int b)
{
	sink = a / b;
	return sink;
}

NOINLINE void level_two(enum mode m, int v)
{
	switch (m) {
	case SEGV:
		store_value(target_ptr, v);
		break;
	case ABRT:
		raise_abort(v);
		break;
	case FPE:
		divide(v, divisor);
		break;
	}
}

NOINLINE void level_one(enum mode m, int v)
{
	level_two(m, v + 1);
}

NOINLINE void crasher_body(void)
{
	level_one(SEGV, 7);
}

NOINSTR static void *crasher_start(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "crasher");
	printf("crasher tid=%d\n", (int)gettid());
	fflush(stdout);
	crasher_body();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "segv";
	int r = prepare(1);

	r += prepare(2);

	printf("prepared=%d\n", r);
	fflush(stdout);
	if (!strcmp(what, "thread")) {
		pthread_t th;

		if (pthread_create(&th, NULL, crasher_start, NULL))
			return 1;
		pthread_join(th, NULL);
	} else if (!strcmp(what, "abort")) {
		level_one(ABRT, r);
	} else if (!strcmp(what, "fpe")) {
		level_one(FPE, r);
	} else {
		level_one(SEGV, r);
	}
	printf("survived\n");
	return 0;
}
