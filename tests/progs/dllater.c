/* Loads a plugin only when told to, for dlopen in attach mode:
 *   dllater PLUGIN.so GOFILE
 * waits (untraced) until GOFILE exists, then main > use_plugin, which
 * dlopens PLUGIN and calls its plug_run 40 times, 10 ms apart; exits 0.
 * Prints "ready" once waiting. */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>
#include "common.h"

NOINSTR static void wait_for_file(const char *path)
{
	puts("ready");
	fflush(stdout);
	while (access(path, F_OK))
		usleep(10000);
}

NOINLINE int use_plugin(const char *path)
{
	void *h = dlopen(path, RTLD_NOW);
	int (*run)(int);
	int sum = 0;

	if (!h)
		return -1;
	*(void **)&run = dlsym(h, "plug_run");
	if (!run)
		return -1;
	for (int i = 0; i < 40; i++) {
		sum += run(i);
		usleep(10000);
	}
	return sum;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	wait_for_file(argv[2]);
	return use_plugin(argv[1]) < 0;
}
