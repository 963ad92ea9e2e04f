/* dlswap's first library: closed before swap_b is loaded at its address. */
#include "common.h"

NOINLINE int alpha_inner(int v)
{
	return v * 3 - 1;
}

int alpha_run(int v)
{
	return alpha_inner(v) + 2;
}
