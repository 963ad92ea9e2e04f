/* Seed program for fuzz_elf: -finstrument-functions hooks in functions whose
 * parameters cover the type and location kinds find/dwarf_*.c handle. */
#include <complex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

enum color { RED, GREEN = 5, BLUE = -1 };
struct point { int x, y; };
struct big { long v[10]; char tag[8]; };
struct bits { unsigned a : 3, b : 5; signed c : 7; };
union num { int i; float f; };
typedef struct node { struct node *next; const char *name; } node_t;
typedef int (*binop)(int, int);

static int add(int a, int b) { return a + b; }
static int mul(int a, int b) { return a * b; }
__attribute__((noinline)) int apply(binop f, int a, int b) { return f(a, b); }
__attribute__((noinline)) double scale(double d, float f, long double ld) { return d * f + (double)ld; }
__attribute__((noinline)) double complex rot(double complex z) { return z * I; }
__attribute__((noinline)) struct point mid(struct point p, struct point q)
{
	return (struct point){ (p.x + q.x) / 2, (p.y + q.y) / 2 };
}
__attribute__((noinline)) long sum_big(struct big b)
{
	long s = 0;
	for (int i = 0; i < 10; i++)
		s += b.v[i];
	return s + b.tag[0];
}
__attribute__((noinline)) int bits_of(struct bits b, union num n) { return b.a + b.b + b.c + n.i; }
__attribute__((noinline)) const char *paint(enum color c, const char *name, char tag[4])
{
	return c == RED ? name : tag;
}
__attribute__((noinline)) int walk(const node_t *n, _Bool verbose)
{
	int k = 0;
	for (; n; n = n->next, k++)
		if (verbose)
			puts(n->name);
	return k;
}
__attribute__((noinline)) __int128 wide(__int128 a, unsigned __int128 b) { return a * (__int128)b; }
__attribute__((noinline)) int many(int a, int b, int c, int d, int e, int f, int g, int h)
{
	return a + b + c + d + e + f + g + h;
}
__attribute__((noinline)) int var(int n, ...)
{
	va_list ap;
	int s = 0;
	va_start(ap, n);
	while (n-- > 0)
		s += va_arg(ap, int);
	va_end(ap);
	return s;
}
static inline int sq(int v) { return v * v; }
__attribute__((noinline)) int fact(int n) { return n <= 1 ? 1 : n * fact(n - 1); }
__attribute__((noinline)) void note(int *out, int v) { *out += sq(v); }

int main(int argc, char **argv)
{
	struct big b = { { 1, 2, 3 }, "big" };
	struct bits bt = { 1, 2, -3 };
	union num u = { .i = 7 };
	node_t n2 = { NULL, "two" }, n1 = { &n2, "one" };
	char tag[4] = "abc";
	int acc = 0;

	note(&acc, argc);
	acc += apply(argc > 1 ? mul : add, 3, 4) + fact(5) + walk(&n1, argc > 2) + bits_of(bt, u);
	acc += (int)scale(1.5, 2.0f, 3.0L) + (int)creal(rot(1.0 + 2.0 * I)) + mid((struct point){ 1, 2 }, (struct point){ 3, 4 }).x;
	acc += (int)sum_big(b) + (int)wide(3, 4) + many(1, 2, 3, 4, 5, 6, 7, 8) + var(2, 1, 2);
	printf("%s %d\n", paint(argc, argv[0], tag), acc);
	return 0;
}
