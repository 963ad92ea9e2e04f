/* libshape.so: an instrumented shared library. shape_scale is local to the
 * library (.symtab only); shape_apply calls back into the executable. */
#include "common.h"

static volatile int sink;

NOINLINE static int shape_scale(int v)
{
	sink = v;
	return v * 2;
}

int shape_area(int w, int h)
{
	return shape_scale(w * h);
}

int shape_perimeter(int w, int h)
{
	return 2 * (w + h);
}

int shape_apply(int (*cb)(int), int v)
{
	return cb(v) + 1;
}
