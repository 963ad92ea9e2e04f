/* basic [EXIT_CODE [ARGS...]]: a fixed call tree of 13 calls.
 * Echoes its arguments and $CTRACE_TEST_ENV to stdout (the tests compare that
 * with an untraced run), its pid to stderr, and exits with EXIT_CODE.
 *
 * The expected tree:
 *   main
 *     setup
 *     compute
 *       square
 *         mul
 *       add
 *       square
 *         mul
 *       add
 *       square
 *         mul
 *       add
 *     finish
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "common.h"

static volatile int sink;

NOINLINE int mul(int a, int b)
{
	sink = a;
	return a * b;
}

NOINLINE int square(int x)
{
	return mul(x, x);
}

NOINLINE int add(int a, int b)
{
	sink = b;
	return a + b;
}

NOINLINE int compute(int n)
{
	int s = 0;

	for (int i = 0; i < 3; i++)
		s = add(s, square(n + i));
	return s;
}

NOINLINE void setup(void)
{
	sink = 1;
}

NOINLINE void finish(int v)
{
	printf("compute=%d\n", v);
}

int main(int argc, char **argv)
{
	const char *env = getenv("CTRACE_TEST_ENV");

	setup();
	printf("argc=%d\n", argc);
	for (int i = 1; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	printf("env=%s\n", env ? env : "(unset)");
	finish(compute(argc));
	fprintf(stderr, "basic: pid=%d\n", (int)getpid());
	return argc > 1 ? atoi(argv[1]) : 0;
}
