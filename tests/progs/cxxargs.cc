// C++ argument capture: `this`, references, class members, a namespace.
// Each call prints what it got, as JSON, for the test to compare.
#include <cstdio>
#include "common.h"

namespace geo {
struct Vec {
	int x, y;
	NOINLINE int dot(const Vec &o) const
	{
		int r = x * o.x + y * o.y;
		std::printf("{\"f\":\"dot\",\"this\":{\"x\":%d,\"y\":%d},\"o\":{\"x\":%d,\"y\":%d},\"ret\":%d}\n",
			    x, y, o.x, o.y, r);
		return r;
	}
};

NOINLINE long scale(Vec &v, long k)
{
	v.x = (int)(v.x * k);
	std::printf("{\"f\":\"scale\",\"v\":{\"x\":%d},\"k\":%ld,\"ret\":%ld}\n", v.x, k, k * 2);
	return k * 2;
}
} // namespace geo

int main()
{
	geo::Vec a{2, 3}, b{4, -5};
	int r = a.dot(b);
	r += (int)geo::scale(a, 7);
	std::printf("{\"f\":\"main\",\"ret\":%d}\n", r);
	return 0;
}
