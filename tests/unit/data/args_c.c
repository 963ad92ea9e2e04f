/* Target for test_dwarf_args: parameters and return values of every type class.
 * Built at -O0 and -O2 with -finstrument-functions -g. Before each call it
 * writes the ARG objects ctrace-bpf should produce for it (one line:
 * "ARGS func [ARG,...]", and "RET func {...}" after it returns) to the file named
 * by argv[1], so a test can compare captured values with the ground truth.
 * Inputs come from volatile globals: the compiler cannot specialise the calls. */
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#define NOINLINE __attribute__((noinline))

enum color { RED, GREEN = 5, BLUE = -1 };
struct point { int x, y; };
struct pair { long a, b; };
struct big { long v[5]; char name[8]; };
struct huge { char buf[100]; int tail; };
struct flags { unsigned a : 3; signed b : 5; unsigned c : 1; bool d : 1; };
union num { int i; float f; unsigned char b[4]; };
struct nested { struct point p; struct { int u, v; }; char tag[6]; int arr[3]; };
struct mixed { double d; long l; };
typedef unsigned long u64_t;
typedef int (*binop_t)(int, int);

static FILE *ex;
volatile int vi[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
volatile long vl = -1234567890123L;
volatile double vd = 2.25;
volatile int sink;

#define P(x) ((unsigned long)(x))

NOINLINE int mix(int a, int b, int c) { sink = a; return a * b + c; }

NOINLINE int chars(char c, signed char sc, unsigned char uc, short s, unsigned short us, bool b)
{
	return c + sc + uc + s + us + b;
}

NOINLINE long wides(long l, unsigned long ul, long long ll, unsigned long long ull, wchar_t w, u64_t t)
{
	return l + (long)ul + ll + (long)ull + w + (long)t;
}

NOINLINE double floats(float f, double d, long double ld) { return f + d + (double)ld; }

NOINLINE size_t strs(const char *s, char *buf, const unsigned char *u, const char *none)
{
	return strlen(s) + strlen(buf) + (u != NULL) + (none != NULL);
}

NOINLINE int paint(enum color c, enum color other) { return (int)c + (int)other; }

NOINLINE long byval(struct pair p, struct point q, struct big b) { return p.a + p.b + q.x + b.v[4]; }

NOINLINE int byptr(struct point *p, const struct big *b, struct nested *n, void *opaque)
{
	return p->x + (int)b->v[0] + n->arr[2] + (opaque != NULL);
}

NOINLINE int bits(struct flags f, union num u) { return (int)f.a + f.b + u.b[3]; }

NOINLINE int add_ints(int a, int b) { return a + b; }
NOINLINE int slen(const char *s) { return (int)strlen(s); }

NOINLINE int calls(binop_t op, int (*cb)(const char *), int x) { return op(x, x) + cb("abc"); }

NOINLINE int seven(int a, int b, int c, int d, int e, int f, int g) { return a + b + c + d + e + f + g; }

NOINLINE int vlog(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = va_arg(ap, int);
	va_end(ap);
	return r + (int)strlen(fmt);
}

NOINLINE long huge_fn(struct huge h) { return h.buf[0] + h.tail; }

static inline int sq(int x) { sink = x; return x * x; }
NOINLINE int use_sq(int v) { return sq(v) + sq(v + 1); }
int (*volatile sq_addr)(int) = sq; /* keeps an out-of-line sq: its this_fn */

NOINLINE int ret_int(int a) { return -a; }
NOINLINE unsigned ret_uint(unsigned a) { return a * 3000000000u; }
static struct point gp = { 11, 22 };
NOINLINE struct point *ret_ptr(int a) { gp.x = a; return &gp; }
NOINLINE bool ret_bool(int a) { return a > 1; }
NOINLINE enum color ret_enum(int a) { return a > 1 ? GREEN : BLUE; }
NOINLINE const char *ret_str(int a) { return a > 1 ? "two" : "one"; }
NOINLINE double ret_double(int a) { return a * 1.5; }
NOINLINE struct pair ret_pair(long a) { struct pair p = { a, a * 2 }; return p; }
NOINLINE struct point ret_point(int a) { struct point p = { a, -a }; return p; }
NOINLINE struct big ret_big(long a) { struct big b = { { a, a + 1, a + 2, a + 3, a + 4 }, "bigret" }; return b; }
NOINLINE struct mixed ret_mixed(long a) { struct mixed m = { 0.5, a }; return m; }

int main(int argc, char **argv)
{
	if (argc < 2 || !(ex = fopen(argv[1], "w")))
		return 2;
	setvbuf(ex, NULL, _IOLBF, 0);
	int a = vi[0], b = vi[1], c = vi[2];

	fprintf(ex, "ARGS mix [{\"name\":\"a\",\"type\":\"int\",\"value\":%d},{\"name\":\"b\",\"type\":\"int\",\"value\":%d},{\"name\":\"c\",\"type\":\"int\",\"value\":%d}]\n", a, b, c);
	sink = mix(a, b, c);

	fprintf(ex, "ARGS chars [{\"name\":\"c\",\"type\":\"char\",\"value\":65},{\"name\":\"sc\",\"type\":\"signed char\",\"value\":-5},{\"name\":\"uc\",\"type\":\"unsigned char\",\"value\":200},{\"name\":\"s\",\"type\":\"short\",\"value\":-300},{\"name\":\"us\",\"type\":\"unsigned short\",\"value\":60000},{\"name\":\"b\",\"type\":\"_Bool\",\"value\":true}]\n");
	sink = chars((char)(64 + vi[0]), (signed char)(-4 - vi[0]), (unsigned char)(199 + vi[0]),
		     (short)(-299 - vi[0]), (unsigned short)(59999 + vi[0]), vi[0] > 0);

	fprintf(ex, "ARGS wides [{\"name\":\"l\",\"type\":\"long\",\"value\":%ld},{\"name\":\"ul\",\"type\":\"unsigned long\",\"value\":18446744073709551615},{\"name\":\"ll\",\"type\":\"long long\",\"value\":-9000000000},{\"name\":\"ull\",\"type\":\"unsigned long long\",\"value\":9000000000},{\"name\":\"w\",\"type\":\"wchar_t\",\"value\":955},{\"name\":\"t\",\"type\":\"u64_t\",\"value\":42}]\n", vl);
	sink = (int)wides(vl, (unsigned long)-vi[0], -9000000000LL * vi[0], 9000000000ULL * (unsigned)vi[0],
			  (wchar_t)(954 + vi[0]), (u64_t)(41 + vi[0]));

	fprintf(ex, "ARGS floats [{\"name\":\"f\",\"type\":\"float\",\"value\":1.5},{\"name\":\"d\",\"type\":\"double\",\"value\":2.25},{\"name\":\"ld\",\"type\":\"long double\",\"value\":3.5}]\n");
	sink = (int)floats((float)(0.5 + vi[0]), vd, (long double)vd + 1.25L);

	char buf[16];
	snprintf(buf, sizeof(buf), "buf%d", vi[0]);
	const char *hello = vi[0] ? "hello" : "bye";
	static const unsigned char bytes[] = { 'o', 'k', 0xff, 0 };
	fprintf(ex, "ARGS strs [{\"name\":\"s\",\"type\":\"const char *\",\"value\":\"hello\",\"address\":\"0x%lx\"},{\"name\":\"buf\",\"type\":\"char *\",\"value\":\"buf1\",\"address\":\"0x%lx\"},{\"name\":\"u\",\"type\":\"const unsigned char *\",\"value\":\"ok\\ufffd\",\"address\":\"0x%lx\"},{\"name\":\"none\",\"type\":\"const char *\",\"value\":null,\"address\":\"0x0\"}]\n",
		P(hello), P(buf), P(bytes));
	sink = (int)strs(hello, buf, bytes, vi[0] > 100 ? "x" : NULL);

	fprintf(ex, "ARGS paint [{\"name\":\"c\",\"type\":\"enum color\",\"value\":\"GREEN\",\"raw\":5},{\"name\":\"other\",\"type\":\"enum color\",\"value\":\"BLUE\",\"raw\":-1}]\n");
	sink = paint((enum color)(4 + vi[0]), (enum color)(-vi[0]));
	fprintf(ex, "ARGS paint [{\"name\":\"c\",\"type\":\"enum color\",\"value\":7,\"raw\":7},{\"name\":\"other\",\"type\":\"enum color\",\"value\":\"RED\",\"raw\":0}]\n");
	sink = paint((enum color)(6 + vi[0]), (enum color)(vi[0] - 1));

	struct pair pr = { vi[0], vi[1] };
	struct point pt = { vi[2], vi[3] };
	struct big bg = { { vi[0], vi[1], vi[2], vi[3], vi[4] }, "bigname" };
	fprintf(ex, "ARGS byval [{\"name\":\"p\",\"type\":\"struct pair\",\"value\":{\"a\":1,\"b\":2}},{\"name\":\"q\",\"type\":\"struct point\",\"value\":{\"x\":3,\"y\":4}},{\"name\":\"b\",\"type\":\"struct big\",\"value\":{\"v\":[1,2,3,4,5],\"name\":\"bigname\"}}]\n");
	sink = (int)byval(pr, pt, bg);

	struct nested ns = { .p = { vi[4], vi[5] }, .u = vi[6], .v = vi[7], .tag = "tg", .arr = { 1, 2, 3 } };
	fprintf(ex, "ARGS byptr [{\"name\":\"p\",\"type\":\"struct point *\",\"value\":{\"x\":3,\"y\":4},\"address\":\"0x%lx\"},{\"name\":\"b\",\"type\":\"const struct big *\",\"value\":{\"v\":[1,2,3,4,5],\"name\":\"bigname\"},\"address\":\"0x%lx\"},{\"name\":\"n\",\"type\":\"struct nested *\",\"value\":{\"p\":{\"x\":5,\"y\":6},\"u\":7,\"v\":8,\"tag\":\"tg\",\"arr\":[1,2,3]},\"address\":\"0x%lx\"},{\"name\":\"opaque\",\"type\":\"void *\",\"value\":\"0x%lx\"}]\n",
		P(&pt), P(&bg), P(&ns), P(&pr));
	sink = byptr(&pt, &bg, &ns, &pr);

	struct flags fl = { .a = (unsigned)(4 + vi[0]), .b = -2 - vi[0], .c = 1, .d = true };
	union num un = { .i = 0x40490000 + vi[0] - 1 };
	fprintf(ex, "ARGS bits [{\"name\":\"f\",\"type\":\"struct flags\",\"value\":{\"a\":5,\"b\":-3,\"c\":1,\"d\":true}},{\"name\":\"u\",\"type\":\"union num\",\"value\":{\"i\":1078525952,\"f\":3.140625,\"b\":[0,0,73,64]}}]\n");
	sink = bits(fl, un);

	binop_t op = vi[0] ? add_ints : NULL;
	int (*cb)(const char *) = vi[0] ? slen : NULL;
	fprintf(ex, "ARGS calls [{\"name\":\"op\",\"type\":\"binop_t\",\"value\":\"0x%lx\",\"function\":\"add_ints\"},{\"name\":\"cb\",\"type\":\"int (*)(const char *)\",\"value\":\"0x%lx\",\"function\":\"slen\"},{\"name\":\"x\",\"type\":\"int\",\"value\":1}]\n",
		P(op), P(cb));
	sink = calls(op, cb, vi[0]);

	fprintf(ex, "ARGS seven [{\"name\":\"a\",\"type\":\"int\",\"value\":1},{\"name\":\"b\",\"type\":\"int\",\"value\":2},{\"name\":\"c\",\"type\":\"int\",\"value\":3},{\"name\":\"d\",\"type\":\"int\",\"value\":4},{\"name\":\"e\",\"type\":\"int\",\"value\":5},{\"name\":\"f\",\"type\":\"int\",\"value\":6},{\"name\":\"g\",\"type\":\"int\",\"value\":null,\"unavailable\":\"beyond the first 6 parameters\"}]\n");
	sink = seven(vi[0], vi[1], vi[2], vi[3], vi[4], vi[5], vi[6]);

	const char *fmt = vi[0] ? "fmt %d" : "";
	fprintf(ex, "ARGS vlog [{\"name\":\"fmt\",\"type\":\"const char *\",\"value\":\"fmt %%d\",\"address\":\"0x%lx\"}]\n", P(fmt));
	sink = vlog(fmt, vi[2]);

	struct huge hg;
	memset(&hg, 0, sizeof(hg));
	strcpy(hg.buf, vi[0] ? "huge" : "");
	hg.tail = vi[3];
	fprintf(ex, "ARGS huge_fn [{\"name\":\"h\",\"type\":\"struct huge\",\"value\":{\"buf\":\"huge\"},\"truncated\":true}]\n");
	sink = (int)huge_fn(hg);

	fprintf(ex, "ARGS use_sq [{\"name\":\"v\",\"type\":\"int\",\"value\":3}]\n");
	fprintf(ex, "ARGS sq [{\"name\":\"x\",\"type\":\"int\",\"value\":3}]\n");
	fprintf(ex, "ARGS sq [{\"name\":\"x\",\"type\":\"int\",\"value\":4}]\n");
	sink = use_sq(vi[2]);

	fprintf(ex, "RET ret_int {\"type\":\"int\",\"value\":-2}\n");
	sink = ret_int(vi[1]);
	fprintf(ex, "RET ret_uint {\"type\":\"unsigned int\",\"value\":%u}\n", 2u * 3000000000u);
	sink = (int)ret_uint((unsigned)vi[1]);
	fprintf(ex, "RET ret_ptr {\"type\":\"struct point *\",\"value\":{\"x\":2,\"y\":22},\"address\":\"0x%lx\"}\n", P(&gp));
	sink = ret_ptr(vi[1])->y;
	fprintf(ex, "RET ret_bool {\"type\":\"_Bool\",\"value\":true}\n");
	sink = ret_bool(vi[1]);
	fprintf(ex, "RET ret_enum {\"type\":\"enum color\",\"value\":\"GREEN\",\"raw\":5}\n");
	sink = ret_enum(vi[1]);
	const char *two = ret_str(vi[1]);
	fprintf(ex, "RET ret_str {\"type\":\"const char *\",\"value\":\"two\",\"address\":\"0x%lx\"}\n", P(two));
	sink = two[0];
	fprintf(ex, "RET ret_double {\"type\":\"double\",\"value\":3}\n");
	sink = (int)ret_double(vi[1]);
	fprintf(ex, "RET ret_pair {\"type\":\"struct pair\",\"value\":{\"a\":%ld,\"b\":%ld}}\n", vl, vl * 2);
	sink = (int)ret_pair(vl).b;
	fprintf(ex, "RET ret_point {\"type\":\"struct point\",\"value\":{\"x\":2,\"y\":-2}}\n");
	sink = ret_point(vi[1]).y;
	fprintf(ex, "RET ret_big {\"type\":\"struct big\",\"value\":{\"v\":[2,3,4,5,6],\"name\":\"bigret\"}}\n");
	sink = (int)ret_big(vi[1]).v[4];
	fprintf(ex, "RET ret_mixed {\"type\":\"struct mixed\",\"value\":{\"d\":0.5,\"l\":2}}\n");
	sink = (int)ret_mixed(vi[1]).l;
	fclose(ex);
	return 0;
}
