/* Processes that fork and exec, for --follow-forks and exec tracing.
 *   forker fork N       main > spawn x N (each forks) ; parent_done
 *                       child k: child_work(k) > leaf x (k+1), exits 10+k
 *   forker exec PROG    main > go_exec: execs PROG 7 (never returns)
 *   forker execenv PROG the same with an empty environment (no LD_PRELOAD)
 *   forker forkexec PROG main > spawn_exec: the child execs PROG 5;
 *                       the parent waits, then parent_done
 *   forker forkcrash 1  main > spawn: the child's child_crash writes through
 *                       NULL (SIGSEGV); the parent reaps it, parent_done
 *   forker waitfork GOFILE  prints "ready", waits (untraced) until GOFILE
 *                       exists, then does what "fork 2" does
 *   forker waitexec GOFILE PROG ARGS...  the same wait, then main > go_exec
 *                       execs PROG ARGS...
 * Prints "child K pid=P" from each child and "status K=S" per child reaped,
 * so the tests know the pids and exit statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static volatile long sink;

NOINLINE void leaf(long v)
{
	sink += v;
}

NOINLINE int child_work(int k)
{
	for (int i = 0; i <= k; i++)
		leaf(i);
	return 10 + k;
}

NOINLINE void child_crash(int *p)
{
	*p = 42;
}

static int crash_child;
static int *volatile nowhere;

NOINLINE pid_t spawn(int k)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		printf("child %d pid=%d\n", k, (int)getpid());
		fflush(stdout);
		if (crash_child)
			child_crash(nowhere);
		_exit(child_work(k));
	}
	return pid;
}

NOINSTR static void wait_for_file(const char *path)
{
	puts("ready");
	fflush(stdout);
	while (access(path, F_OK))
		usleep(10000);
}

NOINLINE void parent_done(int n)
{
	sink = n;
}

NOINLINE void go_exec(const char *prog, int keep_env, char **args)
{
	char *const no_env[] = { NULL };

	fflush(stdout);
	if (args)
		execv(prog, args);
	else if (keep_env)
		execl(prog, prog, "7", (char *)NULL);
	else
		execle(prog, prog, "7", (char *)NULL, no_env);
	perror("execl");
	exit(127);
}

NOINLINE pid_t spawn_exec(const char *prog)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		printf("child 0 pid=%d\n", (int)getpid());
		fflush(stdout);
		execl(prog, prog, "5", (char *)NULL);
		_exit(127);
	}
	return pid;
}

NOINSTR static void reap(pid_t *pids, int n)
{
	for (int k = 0; k < n; k++) {
		int st = 0;

		waitpid(pids[k], &st, 0);
		printf("status %d=%d\n", k, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
}

int main(int argc, char **argv)
{
	pid_t pids[16];
	int n;

	if (argc < 3)
		return 2;
	if (!strcmp(argv[1], "waitfork")) {
		wait_for_file(argv[2]);
		argv[2] = "2";
		argv[1] = "fork";
	}
	crash_child = !strcmp(argv[1], "forkcrash");
	if (!strcmp(argv[1], "fork") || crash_child) {
		n = atoi(argv[2]);
		if (n < 1 || n > 16)
			return 2;
		for (int k = 0; k < n; k++)
			pids[k] = spawn(k);
		reap(pids, n);
		parent_done(n);
		return 0;
	}
	if (!strcmp(argv[1], "exec") || !strcmp(argv[1], "execenv"))
		go_exec(argv[2], !strcmp(argv[1], "exec"), NULL);
	if (!strcmp(argv[1], "waitexec") && argc > 3) {
		wait_for_file(argv[2]);
		go_exec(argv[3], 1, argv + 3);
	}
	if (!strcmp(argv[1], "forkexec")) {
		pids[0] = spawn_exec(argv[2]);
		reap(pids, 1);
		parent_done(1);
		return 0;
	}
	return 2;
}
