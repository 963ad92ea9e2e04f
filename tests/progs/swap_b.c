/* dlswap's second library: the same code as swap_a, other names and types,
 * so the loader maps it where swap_a was and its functions sit at the very
 * addresses swap_a's had. */
#include "common.h"

NOINLINE unsigned beta_inner(unsigned v)
{
	return v * 3 - 1;
}

unsigned beta_run(unsigned v)
{
	return beta_inner(v) + 2;
}
