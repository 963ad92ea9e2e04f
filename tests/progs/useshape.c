/* Calls into libshape.so (the shape_* functions), which calls back into the
 * executable.
 *
 * The expected tree:
 *   main
 *     measure
 *       shape_area
 *         shape_scale
 *       shape_perimeter
 *     shape_apply
 *       on_callback
 */
#include <stdio.h>
#include "common.h"

int shape_area(int w, int h);
int shape_perimeter(int w, int h);
int shape_apply(int (*cb)(int), int v);

static volatile int sink;

NOINLINE int on_callback(int v)
{
	sink = v;
	return v * 3;
}

NOINLINE int measure(int w, int h)
{
	int area = shape_area(w, h);

	return area + shape_perimeter(w, h);
}

int main(void)
{
	int m = measure(3, 4);

	printf("measure=%d apply=%d\n", m, shape_apply(on_callback, m));
	return 0;
}
