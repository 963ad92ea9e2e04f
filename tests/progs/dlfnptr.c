/* A traced function given a pointer to a library's function, twice: first
 * swap_a's alpha_run, then, once swap_a is closed, swap_b's beta_run, which
 * the loader maps at the very same address. swap_b stays mapped: in the
 * final map that address is beta_run's, so naming the first pointer by the
 * final map would be wrong.
 *   dlfnptr LIB_A LIB_B */
#include <dlfcn.h>
#include <stdio.h>
#include "common.h"

typedef int (*run_fn)(int);

NOINLINE int use(run_fn fn, int v)
{
	return fn(v);
}

static int call(const char *path, const char *name, int v, int keep)
{
	void *h = dlopen(path, RTLD_NOW);
	run_fn fn = h ? (run_fn)dlsym(h, name) : NULL;
	int r;

	if (!fn) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return -1;
	}
	r = use(fn, v);
	printf("%s=%p\n", name, (void *)fn);
	if (!keep)
		dlclose(h);
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	printf("a=%d\n", call(argv[1], "alpha_run", 10, 0));
	printf("b=%d\n", call(argv[2], "beta_run", 20, 1));
	return 0;
}
