/* A known thread tree, for thread lineage. Every thread prints
 * "NAME tid=T" (after all are joined, from main, in a fixed order).
 *   main > spawn_pool > make_worker x 3   pool-0..2: pool_job
 *   main > spawn_outer                    outer: outer_body > make_inner x 2
 *                                         inner-0,1: inner_job
 *   outer, before any traced call, starts "early" (no traced call is open
 *   in it then): early: inner_job
 * Thread starts are not instrumented, so each creating call is the traced
 * call pthread_create was called from.
 *   lineage GOFILE: prints "ready", waits (untraced, in main) until GOFILE
 *   exists, then the same (for an attach) */
#define _GNU_SOURCE /* gettid */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "common.h"

static volatile long sink;
static pid_t tid_pool[3], tid_outer, tid_inner[2], tid_early;

NOINLINE void pool_job(long k)
{
	sink += k;
}

NOINLINE void inner_job(long k)
{
	sink -= k;
}

NOINSTR static void *pool_start(void *arg)
{
	tid_pool[(long)arg] = gettid();
	pool_job((long)arg);
	return NULL;
}

NOINSTR static void *inner_start(void *arg)
{
	tid_inner[(long)arg] = gettid();
	inner_job((long)arg);
	return NULL;
}

NOINSTR static void *early_start(void *arg)
{
	(void)arg;
	tid_early = gettid();
	inner_job(7);
	return NULL;
}

NOINLINE pthread_t make_worker(void *(*start)(void *), long k)
{
	pthread_t t;

	pthread_create(&t, NULL, start, (void *)k);
	return t;
}

NOINLINE pthread_t make_inner(long k)
{
	pthread_t t;

	pthread_create(&t, NULL, inner_start, (void *)k);
	return t;
}

NOINLINE void outer_body(void)
{
	pthread_t t[2];

	for (long k = 0; k < 2; k++)
		t[k] = make_inner(k);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
}

NOINSTR static void *outer_start(void *arg)
{
	pthread_t e;

	(void)arg;
	tid_outer = gettid();
	pthread_create(&e, NULL, early_start, NULL);
	pthread_join(e, NULL);
	outer_body();
	return NULL;
}

NOINLINE void spawn_pool(void)
{
	pthread_t t[3];

	for (long k = 0; k < 3; k++)
		t[k] = make_worker(pool_start, k);
	for (int k = 0; k < 3; k++)
		pthread_join(t[k], NULL);
}

NOINLINE void spawn_outer(void)
{
	pthread_t t;

	pthread_create(&t, NULL, outer_start, NULL);
	pthread_join(t, NULL);
}

NOINSTR static void wait_for_file(const char *path)
{
	printf("ready\n");
	fflush(stdout);
	while (access(path, F_OK))
		usleep(10000);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		wait_for_file(argv[1]);
	spawn_pool();
	spawn_outer();
	printf("main tid=%d\n", (int)gettid());
	for (int k = 0; k < 3; k++)
		printf("pool-%d tid=%d\n", k, (int)tid_pool[k]);
	printf("outer tid=%d\n", (int)tid_outer);
	for (int k = 0; k < 2; k++)
		printf("inner-%d tid=%d\n", k, (int)tid_inner[k]);
	printf("early tid=%d\n", (int)tid_early);
	return 0;
}
