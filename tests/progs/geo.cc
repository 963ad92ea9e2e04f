// C++ names: a namespace, a class with constructor, destructor, const and
// static methods, a class template, a function template and a function in an
// anonymous namespace. Every counted function is out of line.
//   main
//     Point(3,-4), norm, scaled > Point, norm, origin > Point, norm,
//     ~Point x3, Accumulator<int>::add x4, Accumulator<double>::add x2,
//     twice<int>, twice<long>, helper, Accumulator<int>::total,
//     Accumulator<double>::total
#include <cstdio>
#include "common.h"

namespace geo {

static volatile int live;

class Point {
public:
	Point(double x, double y);
	~Point();
	double norm() const;
	Point scaled(double k) const;
	static Point origin();

private:
	double x_, y_;
};

NOINLINE Point::Point(double x, double y) : x_(x), y_(y)
{
	live = live + 1;
}

NOINLINE Point::~Point()
{
	live = live - 1;
}

// Manhattan norm: no libm call, and exact in floating point.
NOINLINE double Point::norm() const
{
	return (x_ < 0 ? -x_ : x_) + (y_ < 0 ? -y_ : y_);
}

NOINLINE Point Point::scaled(double k) const
{
	return Point(x_ * k, y_ * k);
}

NOINLINE Point Point::origin()
{
	return Point(0, 0);
}

template <typename T> class Accumulator {
public:
	NOINLINE void add(T v) { total_ += v; }
	NOINLINE T total() const { return total_; }

private:
	T total_;
};

template <typename T> NOINLINE T twice(T v)
{
	return v + v;
}

} // namespace geo

namespace {

NOINLINE int helper(int v)
{
	return v ^ 0x55;
}

} // namespace

int main()
{
	double total = 0;
	{
		geo::Point p(3, -4);
		total += p.norm();
		geo::Point q = p.scaled(2);
		total += q.norm();
		geo::Point o = geo::Point::origin();
		total += o.norm();
	}
	geo::Accumulator<int> ai{};
	for (int i = 1; i <= 4; i++)
		ai.add(i);
	geo::Accumulator<double> ad{};
	ad.add(0.5);
	ad.add(1.5);
	int t = geo::twice(21);
	long tl = geo::twice(5L);
	int h = helper(t);
	// separate statements: the order of the calls is part of the expected tree
	int si = ai.total();
	double sd = ad.total();
	std::printf("norms=%g twice=%d,%ld helper=%d sums=%d,%g\n", total, t, tl, h, si, sd);
	return 0;
}
