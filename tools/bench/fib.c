/* Benchmark workload: recursive fib, built -O2 -finstrument-functions.
 * Times only the computation itself (not start-up, attach or exit), so
 * traced and untraced runs compare like for like.
 *   fib N [--wait FILE]   with --wait, spins until FILE exists (attach mode) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"

__attribute__((noinline)) long fib(int n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 27;
	struct bench_time a, b;
	long r;

	if (argc > 3)
		while (access(argv[3], F_OK))
			usleep(1000);
	bench_now(&a);
	r = fib(n);
	bench_now(&b);
	bench_report("fib", n, r, &a, &b);
	return 0;
}
