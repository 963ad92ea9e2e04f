/* Three phases 40 ms apart, for slicing a trace by time and thread: phase_a
 * and phase_c on the main thread, phase_b between them on a thread of its
 * own, named "phase-b" before its first traced call. Between the phases only
 * main is running (in the untraced nanosleep and pthread_join). Prints
 * "phase-b tid=T".
 *   main thread:  main > phase_a > step x 100
 *                      > phase_c > step x 300
 *   phase-b:      phase_b > step x 200                                  */
#define _GNU_SOURCE /* pthread_setname_np, gettid */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static volatile long sink;
static pid_t b_tid;

NOINLINE void step(long i)
{
	sink += i;
}

NOINLINE long phase_a(void)
{
	for (long i = 0; i < 100; i++)
		step(i);
	return 100;
}

NOINLINE long phase_b(void)
{
	for (long i = 0; i < 200; i++)
		step(i);
	return 200;
}

NOINLINE long phase_c(void)
{
	for (long i = 0; i < 300; i++)
		step(i);
	return 300;
}

NOINSTR static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	while (nanosleep(&ts, &ts))
		;
}

NOINSTR static void *b_start(void *arg)
{
	pthread_setname_np(pthread_self(), "phase-b");
	b_tid = gettid();
	phase_b();
	return arg;
}

int main(void)
{
	pthread_t th;

	phase_a();
	pause_ms(40);
	if (pthread_create(&th, NULL, b_start, NULL) || pthread_join(th, NULL))
		return 1;
	pause_ms(40);
	phase_c();
	printf("phase-b tid=%d\n", (int)b_tid);
	return 0;
}
