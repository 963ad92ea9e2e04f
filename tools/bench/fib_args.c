/* The --args workload: fib's recursion, with three integer parameters that
 * the trace captures at every call. Same call count as fib(N). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_report.h"

__attribute__((noinline)) long fib3(int n, int a, int b)
{
	return n < 2 ? n + (a ^ b) * 0 : fib3(n - 1, a + 1, b) + fib3(n - 2, a, b + 1);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 27;
	struct bench_time t0, t1;
	long r;

	bench_now(&t0);
	r = fib3(n, 1, 2);
	bench_now(&t1);
	bench_report("fib3", n, r, &t0, &t1);
	return 0;
}
