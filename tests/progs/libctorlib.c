/* A library whose constructor makes traced calls: it runs before the
 * program's constructors and main, possibly before the tracer's hooks
 * library has run its own constructor (ctors.c). */
#include "common.h"

static volatile int sink;

NOINLINE void lib_init_work(int i) { sink = i * 11; }

__attribute__((constructor)) void lib_ctor(void)
{
	for (int i = 0; i < 3; i++)
		lib_init_work(i);
}

NOINLINE int lib_fn(int x) { return x + sink; }
