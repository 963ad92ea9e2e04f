// --memory and C++: operator new/delete (plain, array, sized) seen through
// the malloc/free they call, once each; a new that throws std::bad_alloc
// is caught as without tracing.
#include <cstdio>
#include <new>
#include "common.h"

struct Obj {
	long a, b, c; // 24 bytes
};

static Obj *volatile kept;
static Obj *volatile obj;
static int *volatile ints;

// new 24, new[] 40, both deleted (the pointers escape: -O2 keeps the calls)
NOINLINE void scalars(void)
{
	obj = new Obj();
	ints = new int[10];
	delete obj; // sized delete
	delete[] ints;
}

NOINLINE void leak_obj(void)
{
	kept = new Obj();
}

// asks for more than there is: operator new throws
NOINLINE bool too_big(void)
{
	volatile size_t n = (size_t)1 << 62;

	try {
		ints = new int[n];
	} catch (const std::bad_alloc &) {
		return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	(void)argv;
	scalars();
	leak_obj();
	if (argc > 1 && too_big())
		puts("caught bad_alloc");
	return 0;
}
