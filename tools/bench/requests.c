/* Benchmark workload for the options that trace less (issue 14's filters):
 * a request loop shaped like a small server, -O2 -finstrument-functions.
 * Each request is parsed, looked up and answered through a dozen small
 * calls; every 97th request fails (handle_request returns -1) and every
 * 500th is slow (a busy loop of about 200 us in slow_path), so that
 * --subtree, --caller, --min-duration and --keep-if each have a known,
 * small set of calls to keep among many.
 *   requests N   prints the bench_report line and the kept-call truths */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_report.h"

static volatile unsigned sink;

__attribute__((noinline)) unsigned mix(unsigned h, unsigned c)
{
	return (h ^ c) * 16777619u;
}

__attribute__((noinline)) unsigned hash_key(unsigned id)
{
	unsigned h = 2166136261u;

	for (int i = 0; i < 4; i++)
		h = mix(h, (id >> (8 * i)) & 0xff);
	return h;
}

__attribute__((noinline)) int parse_field(unsigned id, int k)
{
	return (int)((id * 31u + (unsigned)k) % 1000u);
}

__attribute__((noinline)) int parse_request(unsigned id)
{
	int sum = 0;

	for (int k = 0; k < 3; k++)
		sum += parse_field(id, k);
	return sum;
}

__attribute__((noinline)) int lookup(unsigned key, int depth)
{
	return depth == 0 ? (int)(key & 0xffff) : lookup(key >> 1, depth - 1) + 1;
}

__attribute__((noinline)) void slow_path(unsigned id)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		sink += id;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 200000);
}

__attribute__((noinline)) int fail_path(unsigned id)
{
	sink += id;
	return -1;
}

__attribute__((noinline)) int respond(unsigned id, int v)
{
	sink += (unsigned)v;
	return (int)(id & 7);
}

__attribute__((noinline)) int handle_request(unsigned id)
{
	int v = parse_request(id) + lookup(hash_key(id), 4);

	if (id % 500 == 499)
		slow_path(id);
	if (id % 97 == 96)
		return fail_path(id);
	return respond(id, v);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	struct bench_time a, b;
	long failed = 0;

	bench_now(&a);
	for (int i = 0; i < n; i++)
		failed += handle_request((unsigned)i) < 0;
	bench_now(&b);
	/* calls per request: handle_request, parse_request, 3 parse_field,
	 * hash_key, 4 mix, 5 lookup, and respond or fail_path (+ slow_path) */
	printf("requests(%d)=%ld failed calls=%ld slow=%d elapsed_ns=%ld cpu_ns=%ld\n", n, failed,
	       (long)n * 16 + n / 500, n / 500, bench_ns(&a.wall, &b.wall), bench_ns(&a.cpu, &b.cpu));
	return 0;
}
