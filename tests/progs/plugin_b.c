/* A second plugin, loaded after the first is closed (often at the same
 * address): its functions must not inherit the first one's names. */
#include "common.h"

NOINLINE int other_inner(int v)
{
	return v - 3;
}

NOINLINE int other_mid(int v)
{
	return other_inner(v) * 5;
}

int plug_run(int v)
{
	return other_mid(v) + 7;
}
