/* The --args workload: fib's recursion, with three integer parameters that
 * the trace captures at every call. Same call count as fib(N). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) long fib3(int n, int a, int b)
{
	return n < 2 ? n + (a ^ b) * 0 : fib3(n - 1, a + 1, b) + fib3(n - 2, a, b + 1);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 27;
	struct timespec t0, t1;
	long r, f0 = 0, f1 = 1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = fib3(n, 1, 2);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < n + 1; i++) {
		long t = f0 + f1;
		f0 = f1;
		f1 = t;
	}
	printf("fib3(%d)=%ld calls=%ld elapsed_ns=%ld\n", n, r, 2 * f0 - 1,
	       (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec));
	return 0;
}
