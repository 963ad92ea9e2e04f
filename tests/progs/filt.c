/* A tree for the filter tests (-F, -N, --filter-file).
 *
 * The expected tree:
 *   main
 *     helper_alpha
 *       leaf_one
 *       leaf_two
 *     helper_beta
 *       middle
 *         leaf_one
 *         helper_gamma
 *           leaf_three
 *     leaf_three
 */
#include <stdio.h>
#include "common.h"

static volatile int sink;

NOINLINE int leaf_one(int v)
{
	sink = v;
	return v + 1;
}

NOINLINE int leaf_two(int v)
{
	sink = v;
	return v * 2;
}

NOINLINE int leaf_three(int v)
{
	sink = v;
	return v - 3;
}

NOINLINE int helper_gamma(int v)
{
	return leaf_three(v) + 5;
}

NOINLINE int middle(int v)
{
	int a = leaf_one(v);

	return a + helper_gamma(a);
}

NOINLINE int helper_beta(int v)
{
	return middle(v) ^ 1;
}

NOINLINE int helper_alpha(int v)
{
	int a = leaf_one(v);

	return leaf_two(a);
}

int main(void)
{
	int r = helper_alpha(1);

	r += helper_beta(r);
	r += leaf_three(r);
	printf("result=%d\n", r);
	return 0;
}
