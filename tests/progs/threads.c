/* Four named threads "worker-0".."worker-3"; worker k runs work(k), which calls
 * leaf() 1000*(k+1) times. The thread start routine is not instrumented and
 * names the thread first, so every traced call of a worker already carries its
 * name. The workers wait for each other before exiting, so all four are alive
 * at once and their tids are distinct. Prints "worker-K tid=T leaf_calls=N".
 *   main thread:  main > summarize
 *   worker k:     work > leaf x 1000*(k+1)  */
#define _GNU_SOURCE /* pthread_setname_np, gettid */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include "common.h"

#define NWORKERS 4

static pthread_barrier_t all_done;
static volatile long sink;
static long leaf_calls[NWORKERS];
static pid_t tids[NWORKERS];

NOINLINE void leaf(long v)
{
	sink = v;
}

NOINLINE long work(int k)
{
	long n = 1000L * (k + 1);

	for (long i = 0; i < n; i++)
		leaf(i);
	return n;
}

NOINSTR static void *worker_start(void *arg)
{
	int k = (int)(long)arg;
	char name[16];

	snprintf(name, sizeof(name), "worker-%d", k);
	pthread_setname_np(pthread_self(), name);
	tids[k] = gettid();
	leaf_calls[k] = work(k);
	pthread_barrier_wait(&all_done);
	return NULL;
}

NOINLINE long summarize(void)
{
	long total = 0;

	for (int k = 0; k < NWORKERS; k++) {
		printf("worker-%d tid=%d leaf_calls=%ld\n", k, (int)tids[k], leaf_calls[k]);
		total += leaf_calls[k];
	}
	return total;
}

int main(void)
{
	pthread_t th[NWORKERS];

	pthread_barrier_init(&all_done, NULL, NWORKERS);
	for (long k = 0; k < NWORKERS; k++)
		if (pthread_create(&th[k], NULL, worker_start, (void *)k))
			return 1;
	for (int k = 0; k < NWORKERS; k++)
		pthread_join(th[k], NULL);
	printf("main tid=%d\n", (int)getpid());
	printf("total leaf_calls=%ld\n", summarize());
	return 0;
}
