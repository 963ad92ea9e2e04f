/* fib(20) with its two calls in a fixed order, mutual recursion is_even(25),
 * and ackermann(2, 3). Prints each result with the number of calls it made. */
#include <stdio.h>
#include "common.h"

static long fib_calls, parity_calls, ack_calls;

NOINLINE int fib(int n)
{
	int a, b;

	fib_calls++;
	if (n < 2)
		return n;
	/* two statements: the order of the calls is part of the expected tree */
	a = fib(n - 1);
	b = fib(n - 2);
	return a + b;
}

NOINLINE int is_odd(unsigned n);

NOINLINE int is_even(unsigned n)
{
	parity_calls++;
	if (n == 0)
		return 1;
	return is_odd(n - 1);
}

NOINLINE int is_odd(unsigned n)
{
	parity_calls++;
	if (n == 0)
		return 0;
	return is_even(n - 1);
}

NOINLINE int ackermann(int m, int n)
{
	ack_calls++;
	if (m == 0)
		return n + 1;
	if (n == 0)
		return ackermann(m - 1, 1);
	return ackermann(m - 1, ackermann(m, n - 1));
}

int main(void)
{
	int f = fib(20);
	int e = is_even(25);
	int a = ackermann(2, 3);

	printf("fib(20)=%d calls=%ld\n", f, fib_calls);
	printf("is_even(25)=%d calls=%ld\n", e, parity_calls);
	printf("ackermann(2,3)=%d calls=%ld\n", a, ack_calls);
	return 0;
}
