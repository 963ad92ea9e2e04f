/* The --args workload with strings inside a struct: fib's recursion, with a
 * pointer to a struct holding two char * members, whose strings the trace
 * reads at every call. Same call count as fib(N). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_report.h"

struct named {
	const char *name;
	const char *tag;
	long n;
};

__attribute__((noinline)) long fibs(int n, const struct named *p)
{
	struct named q = { p->name, p->tag, p->n + 1 };

	return n < 2 ? n : fibs(n - 1, &q) + fibs(n - 2, &q);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 27;
	struct named top = { "fibonacci", "bench", 0 };
	struct bench_time t0, t1;
	long r;

	bench_now(&t0);
	r = fibs(n, &top);
	bench_now(&t1);
	bench_report("fibs", n, r, &t0, &t1);
	return 0;
}
