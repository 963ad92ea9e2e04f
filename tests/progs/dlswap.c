/* dlopen a library, call it, dlclose it; dlopen a second one, which the
 * loader maps at the same address (swap_a.c and swap_b.c are the same code
 * under other names), call it, dlclose it; then the first one again. Prints
 * each entry point's address so a test can check they coincide.
 *   dlswap LIB_A LIB_B [CALLS GO_FILE]
 * With CALLS, waits for GO_FILE to exist (an attach), then calls each
 * library CALLS times, 5 ms apart: an attached tracer probes a library a
 * little after dlopen (and a call running while its probes go in would be
 * seen without its entry), so the first two start 300 ms after their
 * dlopen; the third, swap_a again, is probed already and starts at once. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "common.h"

static int calls = 1;

NOINLINE long call_lib(const char *path, const char *fn, long v, int wait)
{
	void *h = dlopen(path, RTLD_NOW);
	long (*run)(long);
	long r = -1;

	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return -1;
	}
	run = (long (*)(long))dlsym(h, fn);
	if (calls > 1 && wait)
		usleep(300000);
	for (int i = 0; run && i < calls; i++) {
		r = run(v);
		if (calls > 1)
			usleep(5000);
	}
	printf("%s=%p\n", fn, (void *)run);
	dlclose(h);
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	if (argc > 4) {
		calls = atoi(argv[3]);
		while (access(argv[4], F_OK))
			usleep(2000);
	}
	printf("a=%ld\n", call_lib(argv[1], "alpha_run", 10, 1));
	/* swap_b's functions take and return unsigned int: 4e9 shows whether
	 * its values are read with its own types */
	printf("b=%u\n", (unsigned)call_lib(argv[2], "beta_run", 4000000000u, 1));
	printf("a=%ld\n", call_lib(argv[1], "alpha_run", 20, 0));
	return 0;
}
