/* The one line each benchmark workload prints, which tools/bench.sh reads:
 * NAME(n)=result, the calls a fib-shaped recursion of n makes, and the time
 * the computation took. Not instrumented: the traced calls are the workload's. */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H
#include <stdio.h>
#include <time.h>

/* nthreads threads each made the recursion: calls counts them all */
__attribute__((no_instrument_function)) static void bench_report_threads(const char *name, int n,
									 long r, int nthreads,
									 const struct timespec *t0,
									 const struct timespec *t1)
{
	/* calls of fib(n) = 2*fib(n+1)-1, computed without calling fib again */
	long f0 = 0, f1 = 1;

	for (int i = 0; i < n + 1; i++) {
		long t = f0 + f1;
		f0 = f1;
		f1 = t;
	}
	printf("%s(%d)=%ld calls=%ld elapsed_ns=%ld\n", name, n, r, nthreads * (2 * f0 - 1),
	       (t1->tv_sec - t0->tv_sec) * 1000000000L + (t1->tv_nsec - t0->tv_nsec));
}

__attribute__((no_instrument_function)) static void
bench_report(const char *name, int n, long r, const struct timespec *t0, const struct timespec *t1)
{
	bench_report_threads(name, n, r, 1, t0, t1);
}

#endif
