/* The image forker execs: main > exec_leaf x N (N from argv[1]);
 * exits with N. */
#include <stdio.h>
#include <stdlib.h>
#include "common.h"

static volatile long sink;

NOINLINE void exec_leaf(int i)
{
	sink += i;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;

	for (int i = 0; i < n; i++)
		exec_leaf(i);
	printf("execd %d\n", n);
	return n;
}
