/* Benchmark workload for --memory: N calls of a function that mallocs and
 * frees a small block (two allocator calls per traced call), and N calls of
 * one that does not, timed apart, built -O2 -finstrument-functions.
 *   allocs N   prints one line per loop: ns per iteration, wall and CPU */
#include <stdio.h>
#include <stdlib.h>

#include "bench_report.h"

static void *volatile sink;

__attribute__((noinline)) void churn(int i)
{
	sink = malloc(32 + (i & 15));
	free(sink);
}

__attribute__((noinline)) void plain(int i)
{
	sink = (void *)(long)i;
}

__attribute__((no_instrument_function)) static void run(const char *name, void (*fn)(int), int n)
{
	struct bench_time a, b;

	bench_now(&a);
	for (int i = 0; i < n; i++)
		fn(i);
	bench_now(&b);
	printf("%s calls=%d wall_ns_per_call=%.1f cpu_ns_per_call=%.1f\n", name, n,
	       bench_ns(&a.wall, &b.wall) / (double)n, bench_ns(&a.cpu, &b.cpu) / (double)n);
}

__attribute__((no_instrument_function)) int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200000;

	run("churn", churn, n);
	run("plain", plain, n);
	return 0;
}
