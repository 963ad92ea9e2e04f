/* Throughput workload: recursive fib on several threads at once, built -O2
 * -finstrument-functions. Prints the calls of all threads together and the
 * time from the first thread's start to the last one's end.
 *   fib_mt N [THREADS]   THREADS defaults to 4 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_report.h"

#define MAX_THREADS 64

__attribute__((noinline)) long fib(int n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static int arg_n;

static void *worker(void *arg)
{
	long *r = arg;

	*r = fib(arg_n);
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 2 ? atoi(argv[2]) : 4;
	pthread_t tid[MAX_THREADS];
	long r[MAX_THREADS];
	struct bench_time a, b;

	arg_n = argc > 1 ? atoi(argv[1]) : 27;
	if (nthreads < 1 || nthreads > MAX_THREADS) {
		fprintf(stderr, "fib_mt: 1 to %d threads\n", MAX_THREADS);
		return 2;
	}
	bench_now(&a);
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&tid[i], NULL, worker, &r[i])) {
			perror("fib_mt: pthread_create");
			return 1;
		}
	for (int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	bench_now(&b);
	bench_report_threads("fib_mt", arg_n, r[0], nthreads, &a, &b);
	return 0;
}
