/* Target for test_elf: known instrumented functions with known hook-call counts. */
#include <stdio.h>

volatile int sink;

/* inlined into a() at -O2, bringing its own enter/exit calls along */
static inline int sq(int x) { return x * x; }

__attribute__((noinline)) int b(int x) { return x * 3 + 1; }

__attribute__((noinline)) int a(int x) { return b(x) + sq(x); }

/* returns void: at -O2 GCC tail-calls the exit hook with a jmp */
__attribute__((noinline)) void c(int x) { sink = x; }

int main(int argc, char **argv)
{
	(void)argv;
	c(argc);
	printf("%d\n", a(argc));
	return 0;
}
