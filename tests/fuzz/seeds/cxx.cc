// Seed for fuzz_elf: C++ names (demangling), `this`, references, classes.
namespace geo {
struct Vec {
	double x, y;
	Vec(double a, double b) : x(a), y(b) {}
	double dot(const Vec &o) const { return x * o.x + y * o.y; }
	virtual ~Vec() {}
};
class Shape {
public:
	virtual double area() const = 0;
	virtual ~Shape() {}
};
class Square : public Shape {
	double side;
public:
	explicit Square(double s) : side(s) {}
	double area() const override { return side * side; }
};
template <typename T> T twice(T v) { return v + v; }
}

__attribute__((noinline)) double measure(const geo::Shape &s, geo::Vec &&v, int n)
{
	return s.area() * v.dot(geo::Vec(1, n));
}

int main(int argc, char **)
{
	geo::Square sq(argc);
	return (int)measure(sq, geo::Vec(2, 3), geo::twice(argc));
}
