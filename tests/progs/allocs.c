/* --memory's ground truth: allocations of known sizes in known calls,
 * deliberate leaks, a realloc chain, free(NULL), the aligned allocators, and
 * (mode "threads") blocks allocated in one thread and freed in another;
 * mode "churn": allocations between runs of calls long enough to fill
 * --probe batch's buffers, in main and a worker at once.
 * Usage: allocs [basic|threads|churn]; allocs wait GOFILE [basic]: blocks made
 * before an attach, freed after it. No stdio in traced calls: its buffers
 * would be allocations of their own. */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

static void *volatile keep[16];
static void *volatile shared[4];
/* every block passes through here: -O2 may not drop a malloc/free pair */
static void *volatile tmp[4];

/* malloc 100 and calloc 10x20, both freed; free(NULL) is no event */
NOINLINE void known(void)
{
	tmp[0] = malloc(100);
	tmp[1] = calloc(10, 20);
	free(tmp[0]);
	free(tmp[1]);
	tmp[2] = NULL;
	free(tmp[2]);
}

/* 1000 bytes never freed, per call */
NOINLINE void leak_a(int k)
{
	keep[k] = malloc(1000);
}

NOINLINE void *make_block(size_t n)
{
	return malloc(n);
}

/* 7 bytes freed here; 50 leaked by make_block */
NOINLINE void leak_b(void)
{
	tmp[0] = malloc(7);
	keep[3] = make_block(50);
	free(tmp[0]);
}

/* realloc(NULL, 16), grown to 32 then 256 KiB (it moves): kept for release */
NOINLINE void grow(void)
{
	tmp[2] = NULL;
	tmp[0] = realloc(tmp[2], 16);
	tmp[0] = realloc(tmp[0], 32);
	keep[4] = realloc(tmp[0], 256 * 1024);
}

NOINLINE void release(void)
{
	free(keep[4]);
	keep[4] = NULL;
}

/* malloc 8 grown to 24 and never freed */
NOINLINE void leaky_grow(void)
{
	tmp[0] = malloc(8);
	keep[5] = realloc(tmp[0], 24);
}

/* posix_memalign 128, aligned_alloc 256, memalign 64: all freed */
NOINLINE void aligned(void)
{
	void *a = NULL;

	if (posix_memalign(&a, 64, 128))
		abort();
	tmp[0] = a;
	tmp[1] = aligned_alloc(64, 256);
	tmp[2] = memalign(32, 64);
	free(tmp[0]);
	free(tmp[1]);
	free(tmp[2]);
}

NOINLINE void alloc_in_thread(void)
{
	for (int i = 0; i < 4; i++)
		shared[i] = malloc(33);
}

NOINLINE void free_from_main(void)
{
	for (int i = 0; i < 4; i++)
		free(shared[i]);
}

NOINLINE void *worker(void *arg)
{
	(void)arg;
	alloc_in_thread();
	return NULL;
}

NOINLINE void pad(void)
{
	tmp[3] = NULL;
}

NOINLINE void nested_free(void *p)
{
	free(p);
}

/* after i % 40 calls of pad: malloc 16 * (1 + i % 7), freed by a callee */
NOINLINE void churn(int i)
{
	void *p;

	for (int k = 0; k < i % 40; k++)
		pad();
	p = malloc(16 * (1 + i % 7));
	pad();
	nested_free(p);
}

NOINLINE void *churner(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		churn(i);
	return NULL;
}

NOINSTR static void wait_for(const char *go)
{
	printf("waiting pid=%d\n", (int)getpid());
	fflush(stdout);
	while (access(go, F_OK))
		usleep(2000);
}

/* five 11-byte blocks made before tracing, freed by free_early */
NOINSTR static void make_early(void)
{
	for (int i = 0; i < 5; i++)
		keep[8 + i] = malloc(11);
}

NOINLINE void free_early(void)
{
	for (int i = 0; i < 5; i++)
		free(keep[8 + i]);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "basic";
	pthread_t th;

	if (!strcmp(mode, "wait") && argc > 2) {
		make_early();
		wait_for(argv[2]);
		mode = argc > 3 ? argv[3] : "basic";
		free_early();
	}
	known();
	leak_a(0);
	leak_a(1);
	leak_b();
	grow();
	release();
	leaky_grow();
	aligned();
	if (!strcmp(mode, "threads")) {
		pthread_create(&th, NULL, worker, NULL);
		pthread_join(th, NULL);
		free_from_main();
	}
	if (!strcmp(mode, "churn")) {
		pthread_create(&th, NULL, churner, NULL);
		churner(NULL);
		pthread_join(th, NULL);
	}
	return 0;
}
