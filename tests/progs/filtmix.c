/* Filters across a process's changing map: nested calls of the program,
 * swap_a.so dlopen'd and closed, swap_b.so dlopen'd at the very addresses
 * swap_a's functions had (the same code, other names), and a forked child
 * that does the same on its own map while the parent goes on.
 *   filtmix LIB_A LIB_B */
#include <dlfcn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

NOINLINE long leaf(long v)
{
	return v * 7 + 1;
}

NOINLINE long mid(long v)
{
	return leaf(v) + leaf(v + 1);
}

NOINLINE long top(long v)
{
	long r = 0;

	for (int i = 0; i < 3; i++)
		r += mid(v + i) - leaf(i);
	return r;
}

NOINLINE long call_lib(const char *path, const char *fn, long v)
{
	void *h = dlopen(path, RTLD_NOW);
	long (*run)(long);
	long r = -1;

	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return -1;
	}
	run = (long (*)(long))dlsym(h, fn);
	if (run)
		r = run(top(v));
	dlclose(h);
	return r;
}

NOINLINE long libs(const char *a, const char *b, long v)
{
	return call_lib(a, "alpha_run", v) + call_lib(b, "beta_run", v) + top(v);
}

NOINLINE int child_work(const char *a, const char *b)
{
	/* the other way round: swap_b first, then swap_a where it was */
	return (int)((call_lib(b, "beta_run", 5) + call_lib(a, "alpha_run", 5)) & 0x7f);
}

int main(int argc, char **argv)
{
	pid_t pid;
	int st;

	if (argc < 3)
		return 2;
	printf("p1=%ld\n", libs(argv[1], argv[2], 1));
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(child_work(argv[1], argv[2]));
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 1;
	printf("child=%d\n", WEXITSTATUS(st));
	printf("p2=%ld\n", libs(argv[1], argv[2], 3));
	return 0;
}
