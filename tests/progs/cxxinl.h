/* Shared by cxxinl.cc and cxxinl_b.cc: an inline function both units emit
 * (the linker keeps one copy, and points the other unit's DWARF at it) that
 * inlines a static helper each unit has a copy of. */
#ifndef CXXINL_H
#define CXXINL_H
#include <string>

static int helper(int x)
{
	return x * 3 + 1;
}

static int (*volatile keep_helper)(int) = helper;

inline int twice(int x)
{
	return helper(x) + helper(x + 1);
}

int other_unit(int n);

#endif
