/* Load for the stress tests.
 *   stress threads N CALLS   N threads, each calling leaf() CALLS times
 *   stress serial N CALLS    the same, one thread after another
 *   stress deep N            recursion N deep
 *   stress fib N             fib(N)
 *   stress uid               prints the uid it runs as */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

volatile long sink;
static long calls_per_thread;

NOINLINE void leaf(long i)
{
	sink += i;
}

NOINLINE void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < calls_per_thread; i++)
		leaf(i);
	return NULL;
}

NOINLINE long down(long n)
{
	return n ? down(n - 1) + 1 : 0;
}

NOINLINE long fib(int n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
	if (argc > 3 && !strcmp(argv[1], "threads")) {
		int n = atoi(argv[2]);
		pthread_t *t = calloc(n, sizeof(*t));

		calls_per_thread = atol(argv[3]);
		for (int i = 0; i < n; i++)
			pthread_create(&t[i], NULL, worker, NULL);
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		free(t);
	} else if (argc > 3 && !strcmp(argv[1], "serial")) {
		int n = atoi(argv[2]);
		pthread_t t;

		calls_per_thread = atol(argv[3]);
		for (int i = 0; i < n; i++)
			if (!pthread_create(&t, NULL, worker, NULL))
				pthread_join(t, NULL);
	} else if (argc > 2 && !strcmp(argv[1], "deep")) {
		printf("%ld\n", down(atol(argv[2])));
	} else if (argc > 2 && !strcmp(argv[1], "fib")) {
		printf("%ld\n", fib(atoi(argv[2])));
	} else if (argc > 1 && !strcmp(argv[1], "uid")) {
		printf("uid=%d\n", (int)getuid());
	}
	return 0;
}
