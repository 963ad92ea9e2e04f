// A C++ exception thrown through traced frames: gcc calls the exit hooks while
// unwinding, so every frame closes, and later calls nest right.
#include <cstdio>
#include <stdexcept>
#include "common.h"

NOINLINE void thrower(int d)
{
	if (d == 0)
		throw std::runtime_error("deep");
	thrower(d - 1);
}

NOINLINE int catcher()
{
	try {
		thrower(3);
	} catch (const std::exception &) {
		return 1;
	}
	return 0;
}

NOINLINE int after(int v)
{
	return v + 1;
}

int main()
{
	int r = catcher();
	r += after(r);
	std::printf("r=%d\n", r);
	return 0;
}
