/* A plugin loaded with dlopen: instrumented like the program. */
#include "common.h"

NOINLINE int plug_inner(int v)
{
	return v * 2;
}

int plug_run(int v)
{
	return plug_inner(v) + 1;
}
