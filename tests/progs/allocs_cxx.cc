// --memory and C++: operator new/delete (plain, array, sized) counted once
// each, though they call malloc/free themselves.
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

int main()
{
	scalars();
	leak_obj();
	return 0;
}
