/* forkfork N: a fork of a forked child, each process making few calls (fewer
 * than a --probe batch buffer holds, so none is copied before the fork).
 * main makes N calls of work() and forks; the child makes N calls of
 * child_work() and forks again; the grandchild makes N calls of
 * grand_work() and exits; each parent makes N calls of after() and waits.
 * Every process's calls are exact: the tests count them. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static volatile int sink;

NOINLINE void work(int i) { sink = i; }
NOINLINE void child_work(int i) { sink = i * 3; }
NOINLINE void grand_work(int i) { sink = i * 5; }
NOINLINE void after(int i) { sink = i * 7; }

NOINSTR static void calls(void (*fn)(int), int n)
{
	for (int i = 0; i < n; i++)
		fn(i);
}

NOINSTR static void spawn(void (*fn)(int), int n, int depth)
{
	pid_t pid = fork();

	if (pid == 0) {
		calls(fn, n);
		if (depth > 1)
			spawn(grand_work, n, depth - 1);
		_exit(0);
	}
	calls(after, n);
	waitpid(pid, NULL, 0);
}

NOINSTR int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;

	calls(work, n);
	spawn(child_work, n, 2);
	return 0;
}
