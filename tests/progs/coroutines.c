/* Coroutines on ucontext: a generator on a stack of its own yields N values
 * to a consumer with swapcontext, then returns (uc_link resumes the driver).
 *
 *   coroutines N [GENERATORS]
 *
 * GENERATORS generators (default 1) are driven round-robin, each with its
 * own stack. Expected, by construction: the main stack's tree is
 * main(driver(consume x GENERATORS*(N+1))); each generator's stack has a
 * tree generator(produce x N) of its own; nothing is partial, and no call
 * of one stack nests under a frame of another. */
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>
#include "common.h"

#define MAXGEN 8
#define STACK (64 * 1024)

static ucontext_t driver_ctx, gen_ctx[MAXGEN];
static int n, ngen, current;
volatile int sink;

NOINLINE void produce(int i)
{
	sink += i;
	/* yield: back to the driver, resumed at the next round */
	swapcontext(&gen_ctx[current], &driver_ctx);
}

NOINLINE void generator(void)
{
	for (int i = 0; i < n; i++)
		produce(i);
}

NOINLINE int consume(int v)
{
	return sink + v;
}

NOINLINE void driver(void)
{
	for (int g = 0; g < ngen; g++) {
		getcontext(&gen_ctx[g]);
		gen_ctx[g].uc_stack.ss_sp = malloc(STACK);
		gen_ctx[g].uc_stack.ss_size = STACK;
		gen_ctx[g].uc_link = &driver_ctx;
		makecontext(&gen_ctx[g], generator, 0);
	}
	/* N yields and the final return of every generator */
	for (int round = 0; round <= n; round++) {
		for (current = 0; current < ngen; current++) {
			swapcontext(&driver_ctx, &gen_ctx[current]);
			consume(round);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	n = atoi(argv[1]);
	ngen = argc > 2 ? atoi(argv[2]) : 1;
	if (ngen < 1 || ngen > MAXGEN)
		return 2;
	driver();
	printf("done\n");
	return 0;
}
