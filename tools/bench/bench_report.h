/* The one line each benchmark workload prints, which tools/bench.sh reads:
 * NAME(n)=result, the calls a fib-shaped recursion of n makes, the time the
 * computation took, and the CPU time the process spent in it (user and
 * kernel: the probes run in the traced threads, so this is their cost
 * without the time other tasks of a shared machine took the CPU). Not
 * instrumented: the traced calls are the workload's. */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H
#include <stdio.h>
#include <time.h>

struct bench_time {
	struct timespec wall; /* CLOCK_MONOTONIC */
	struct timespec cpu;  /* CLOCK_PROCESS_CPUTIME_ID: every thread's */
};

__attribute__((no_instrument_function)) static inline void bench_now(struct bench_time *t)
{
	clock_gettime(CLOCK_MONOTONIC, &t->wall);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t->cpu);
}

__attribute__((no_instrument_function)) static inline long bench_ns(const struct timespec *a,
								    const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

/* nthreads threads each made the recursion: calls counts them all */
__attribute__((no_instrument_function)) static inline void
bench_report_threads(const char *name, int n, long r, int nthreads, const struct bench_time *t0,
		     const struct bench_time *t1)
{
	/* calls of fib(n) = 2*fib(n+1)-1, computed without calling fib again */
	long f0 = 0, f1 = 1;

	for (int i = 0; i < n + 1; i++) {
		long t = f0 + f1;
		f0 = f1;
		f1 = t;
	}
	printf("%s(%d)=%ld calls=%ld elapsed_ns=%ld cpu_ns=%ld\n", name, n, r,
	       nthreads * (2 * f0 - 1), bench_ns(&t0->wall, &t1->wall),
	       bench_ns(&t0->cpu, &t1->cpu));
}

__attribute__((no_instrument_function)) static inline void bench_report(const char *name, int n,
									long r,
									const struct bench_time *t0,
									const struct bench_time *t1)
{
	bench_report_threads(name, n, r, 1, t0, t1);
}

#endif
