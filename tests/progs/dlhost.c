/* dlopen, call, dlclose, twice: plugins loaded late are traced from the
 * moment dlopen returns.   dlhost PLUGIN_A PLUGIN_B */
#include <dlfcn.h>
#include <stdio.h>
#include "common.h"

NOINLINE int use_plugin(const char *path, int v)
{
	void *h = dlopen(path, RTLD_NOW);
	int (*run)(int);
	int r;

	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return -1;
	}
	run = (int (*)(int))dlsym(h, "plug_run");
	r = run ? run(v) : -1;
	dlclose(h);
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	printf("a=%d\n", use_plugin(argv[1], 10));
	printf("b=%d\n", use_plugin(argv[2], 10));
	return 0;
}
