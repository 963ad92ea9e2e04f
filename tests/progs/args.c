/* Argument and return value capture. Every function prints the values it was
 * called with and what it returns, one line each, as JSON: the ground truth
 * the trace is checked against. At -O2 some values are legitimately gone at
 * the hook call (the trace must then say "unavailable"), never wrong. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "common.h"
#include "json_str.h"

enum color { RED, GREEN = 5, BLUE };
struct point { int x, y; };
struct big { long a, b, c, d; char tag[8]; };
union num { int i; float f; };
typedef unsigned int u32_t;

static void out_str(const char *s)
{
	putchar('"');
	json_chars(s);
	putchar('"');
}

NOINLINE int mix(int a, int b, int c)
{
	int r = a * 3 + b - c;
	printf("{\"f\":\"mix\",\"a\":%d,\"b\":%d,\"c\":%d,\"ret\":%d}\n", a, b, c, r);
	return r;
}

NOINLINE unsigned long widths(signed char sc, unsigned char uc, short s, unsigned short us,
			      long l, unsigned long long ull)
{
	unsigned long r = (unsigned long)(sc + uc + s + us + l) + (unsigned long)ull;
	printf("{\"f\":\"widths\",\"sc\":%d,\"uc\":%u,\"s\":%d,\"us\":%u,\"l\":%ld,\"ull\":%llu,\"ret\":%lu}\n",
	       sc, uc, s, us, l, ull, r);
	return r;
}

NOINLINE bool flags(bool on, char ch, enum color col, u32_t u)
{
	bool r = on && col == BLUE;
	printf("{\"f\":\"flags\",\"on\":%s,\"ch\":%d,\"col\":%d,\"u\":%u,\"ret\":%s}\n",
	       on ? "true" : "false", ch, (int)col, u, r ? "true" : "false");
	return r;
}

NOINLINE const char *greet(const char *name, int times)
{
	const char *r = times > 1 ? "hello again" : "hello";
	printf("{\"f\":\"greet\",\"name\":");
	if ((uintptr_t)name == 16)
		printf("\"<bad pointer>\"");
	else if (name)
		out_str(name);
	else
		printf("null");
	printf(",\"times\":%d,\"ret\":", times);
	out_str(r);
	printf("}\n");
	return r;
}

NOINLINE enum color pick(struct point p, const struct point *pp)
{
	enum color r = p.x > pp->x ? GREEN : BLUE;
	printf("{\"f\":\"pick\",\"p\":{\"x\":%d,\"y\":%d},\"pp\":{\"x\":%d,\"y\":%d},\"ret\":%d}\n",
	       p.x, p.y, pp->x, pp->y, (int)r);
	return r;
}

NOINLINE long sum_big(struct big b, union num n)
{
	long r = b.a + b.b + b.c + b.d + n.i;
	printf("{\"f\":\"sum_big\",\"b\":{\"a\":%ld,\"b\":%ld,\"c\":%ld,\"d\":%ld,\"tag\":\"%s\"},\"n\":%d,\"ret\":%ld}\n",
	       b.a, b.b, b.c, b.d, b.tag, n.i, r);
	return r;
}

NOINLINE double scale(double v, float g, int k)
{
	double r = v * g * k;
	printf("{\"f\":\"scale\",\"v\":%.17g,\"g\":%.9g,\"k\":%d,\"ret\":%.17g}\n", v, (double)g, k, r);
	return r;
}

NOINLINE int apply(int (*fn)(int, int, int), int v)
{
	int r = fn(v, 1, 2);
	printf("{\"f\":\"apply\",\"v\":%d,\"ret\":%d}\n", v, r);
	return r;
}

NOINLINE void *where(void *p)
{
	printf("{\"f\":\"where\",\"p\":\"%p\",\"ret\":\"%p\"}\n", p, p);
	return p;
}

int main(void)
{
	struct point p = { 3, -4 }, q = { 1, 2 };
	struct big b = { 1, 2, 3, 4, "tag" };
	union num n = { .i = 7 };
	char latin[] = { 'c', 'a', 'f', (char)0xe9, 0 };   /* not UTF-8 */
	char longer[300];
	int x;

	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	mix(7, -3, 100);
	widths(-5, 250, -300, 65000, -1234567890123L, 18446744073709551615ull);
	flags(true, 'A', BLUE, 4000000000u);
	greet("world", 1);
	greet(NULL, 2);
	greet((const char *)16, 0);    /* a bad pointer: unreadable, never a crash */
	greet(latin, 1);
	greet(longer, 3);
	pick(p, &q);
	sum_big(b, n);
	scale(1.5, 2.0f, 3);
	apply(mix, 10);
	where(&x);
	return 0;
}
