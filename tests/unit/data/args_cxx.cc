// Target for test_dwarf_args, C++: `this`, references, namespaces, enum class,
// classes passed by invisible reference, nullptr_t, templates. Like args_c.c it
// writes the expected ARG objects of each call to the file named by argv[1].
#include <cstddef>
#include <cstdio>
#include <cstring>

#define NOINLINE __attribute__((noinline))

namespace geo {
struct Vec {
	int x, y;
};
enum class Dir : short { N = -1, E = 1 };

class Shape {
public:
	explicit Shape(int id) : id_(id) {}
	virtual ~Shape() {}
	NOINLINE int area(int scale) const;
	int id_;
};

NOINLINE int Shape::area(int scale) const { return id_ * scale; }
} // namespace geo

// not trivially copyable: passed and returned through memory
struct NonTriv {
	long a;
	explicit NonTriv(long x) : a(x) {}
	NonTriv(const NonTriv &o) : a(o.a) {}
	~NonTriv() { a = -1; }
};

static FILE *ex;
volatile int vi[4] = { 1, 2, 3, 4 };
volatile int sink;

#define P(x) ((unsigned long)(x))

NOINLINE int refs(int &r, const geo::Vec &v, geo::Vec &&rv, bool flag, geo::Dir d, std::nullptr_t np)
{
	(void)np;
	return r + v.x + rv.y + flag + (int)d;
}

NOINLINE long take(NonTriv n, geo::Vec v) { return n.a + v.x; }

NOINLINE NonTriv make(long a) { return NonTriv(a * 10); }

template <typename T> NOINLINE T twice(T v) { return v + v; }

NOINLINE geo::Vec &pick(geo::Vec &a) { return a; }

int main(int argc, char **argv)
{
	if (argc < 2 || !(ex = std::fopen(argv[1], "w")))
		return 2;
	setvbuf(ex, nullptr, _IOLBF, 0);

	geo::Shape s(vi[2]);
	unsigned long vptr;
	std::memcpy(&vptr, (const void *)&s, sizeof(vptr));
	std::fprintf(ex, "ARGS area [{\"name\":\"this\",\"type\":\"const geo::Shape *const\",\"value\":{\"_vptr.Shape\":\"0x%lx\",\"id_\":3},\"address\":\"0x%lx\"},{\"name\":\"scale\",\"type\":\"int\",\"value\":2}]\n",
		     vptr, P(&s));
	sink = s.area(vi[1]);

	int r = vi[3];
	geo::Vec v{ vi[0], vi[1] };
	geo::Vec tmp{ vi[2], vi[3] };
	std::fprintf(ex, "ARGS refs [{\"name\":\"r\",\"type\":\"int &\",\"value\":4,\"address\":\"0x%lx\"},{\"name\":\"v\",\"type\":\"const geo::Vec &\",\"value\":{\"x\":1,\"y\":2},\"address\":\"0x%lx\"},{\"name\":\"rv\",\"type\":\"geo::Vec &&\",\"value\":{\"x\":3,\"y\":4},\"address\":\"0x%lx\"},{\"name\":\"flag\",\"type\":\"bool\",\"value\":true},{\"name\":\"d\",\"type\":\"geo::Dir\",\"value\":\"N\",\"raw\":-1},{\"name\":\"np\",\"type\":\"std::nullptr_t\",\"value\":null}]\n",
		     P(&r), P(&v), P(&tmp));
	sink = refs(r, v, static_cast<geo::Vec &&>(tmp), vi[0] > 0, (geo::Dir)(-vi[0]), nullptr);

	NonTriv n(vi[3] * 100L);
	// n is copied into a temporary whose address the call passes: only its value is known here
	std::fprintf(ex, "ARGS take [{\"name\":\"n\",\"type\":\"NonTriv\",\"value\":{\"a\":400}},{\"name\":\"v\",\"type\":\"geo::Vec\",\"value\":{\"x\":1,\"y\":2}}]\n");
	sink = (int)take(n, v);

	std::fprintf(ex, "ARGS twice<int> [{\"name\":\"v\",\"type\":\"int\",\"value\":2}]\n");
	sink = twice(vi[1]);
	std::fprintf(ex, "ARGS twice<long int> [{\"name\":\"v\",\"type\":\"long\",\"value\":3}]\n");
	sink = (int)twice((long)vi[2]);

	std::fprintf(ex, "RET make {\"type\":\"NonTriv\",\"value\":{\"a\":20}}\n");
	sink = (int)make(vi[1]).a;
	std::fprintf(ex, "RET pick {\"type\":\"geo::Vec &\",\"value\":{\"x\":1,\"y\":2},\"address\":\"0x%lx\"}\n", P(&v));
	sink = pick(v).y;
	std::fprintf(ex, "RET twice<int> {\"type\":\"int\",\"value\":4}\n");
	std::fprintf(ex, "RET twice<long int> {\"type\":\"long\",\"value\":6}\n");
	std::fclose(ex);
	return 0;
}
