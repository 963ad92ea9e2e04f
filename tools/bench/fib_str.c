/* The --args workload with strings inside a struct: fib's recursion, with a
 * pointer to a struct holding two char * members, whose strings the trace
 * reads at every call. Same call count as fib(N). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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
	struct timespec t0, t1;
	long r, f0 = 0, f1 = 1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = fibs(n, &top);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < n + 1; i++) {
		long t = f0 + f1;
		f0 = f1;
		f1 = t;
	}
	printf("fibs(%d)=%ld calls=%ld elapsed_ns=%ld\n", n, r, 2 * f0 - 1,
	       (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec));
	return 0;
}
