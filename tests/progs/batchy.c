/* batchy MODE: calls left pending in --probe batch's per-thread buffers
 * (fewer than a buffer holds) when something ends or copies them.
 *   crash T N: T threads each make N calls of work() (each calls leaf())
 *     and wait; then main makes N calls and dies of SIGSEGV in boom()
 *   kill N: N calls of work(), prints "ready pid=P", then sleeps until killed
 *   storm D R: recurse(D) R times while a thread sends SIGUSR1 to main
 *     nonstop; the handler calls on_signal(); prints "handled=H" (H handler
 *     calls) at the end
 *   busy R: prints "busy pid=P", then R calls of recurse(100); prints "done"
 *   fork N: N calls of work(), fork; the child makes N calls of child_work()
 *     and execs itself as "exec N" (N calls of after_exec()); the parent makes
 *     N calls of work() and waits
 *   vfork N [exit]: N calls of work(); spawn() vforks: the child (sharing the
 *     parent's memory, and so its buffer) makes N calls of child_work() and,
 *     in child_exec(), execs itself as "exec N" (or _exits: "exit"); the
 *     parent returns from spawn(), makes N calls of work() and waits
 * Each thread's calls are exact: the tests count them. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static volatile int sink;
static int *volatile nowhere;

NOINLINE void leaf(int i) { sink = i; }
NOINLINE void work(int i) { leaf(i + 1); }
NOINLINE void child_work(int i) { sink = i * 3; }
NOINLINE void after_exec(int i) { sink = i * 5; }
NOINLINE void on_signal(int i) { sink = i * 7; }
NOINLINE void boom(void) { *nowhere = 1; }

NOINLINE void child_exec(const char *self, int n, int just_exit)
{
	char num[16];

	if (just_exit)
		_exit(0);
	snprintf(num, sizeof(num), "%d", n);
	execl(self, self, "exec", num, (char *)NULL);
	_exit(127);
}

NOINLINE pid_t spawn(const char *self, int n, int just_exit)
{
	pid_t pid = vfork();

	if (pid == 0) {
		for (int i = 0; i < n; i++)
			child_work(i);
		child_exec(self, n, just_exit);
	}
	return pid;
}

NOINLINE int recurse(int d)
{
	return d ? recurse(d - 1) + 1 : 0;
}

static pthread_barrier_t ready;
static int ncalls;

NOINSTR static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < ncalls; i++)
		work(i);
	pthread_barrier_wait(&ready);
	pause();
	return NULL;
}

static volatile sig_atomic_t handled, stop;
static pthread_t main_thread;

static void handler(int sig)
{
	on_signal(sig);
	handled++;
}

NOINSTR static void *stormer(void *arg)
{
	(void)arg;
	while (!stop)
		pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

NOINSTR int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int n = argc > 2 ? atoi(argv[2]) : 100;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(mode, "crash")) {
		int nthreads = n;
		pthread_t t;

		ncalls = argc > 3 ? atoi(argv[3]) : 100;
		pthread_barrier_init(&ready, NULL, nthreads + 1);
		for (int k = 0; k < nthreads; k++)
			pthread_create(&t, NULL, worker, NULL);
		pthread_barrier_wait(&ready);
		for (int i = 0; i < ncalls; i++)
			work(i);
		boom();
	} else if (!strcmp(mode, "kill")) {
		for (int i = 0; i < n; i++)
			work(i);
		printf("ready pid=%d\n", (int)getpid());
		for (;;)
			pause();
	} else if (!strcmp(mode, "storm")) {
		int reps = argc > 3 ? atoi(argv[3]) : 20;
		struct sigaction sa = { .sa_handler = handler };
		pthread_t t;

		sigaction(SIGUSR1, &sa, NULL);
		main_thread = pthread_self();
		pthread_create(&t, NULL, stormer, NULL);
		for (int k = 0; k < reps; k++)
			sink = recurse(n);
		stop = 1;
		pthread_join(t, NULL);
		printf("handled=%d\n", (int)handled);
	} else if (!strcmp(mode, "fork")) {
		pid_t pid;
		char num[16];

		for (int i = 0; i < n; i++)
			work(i);
		pid = fork();
		if (pid == 0) {
			for (int i = 0; i < n; i++)
				child_work(i);
			snprintf(num, sizeof(num), "%d", n);
			execl("/proc/self/exe", argv[0], "exec", num, (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < n; i++)
			work(i);
		waitpid(pid, NULL, 0);
	} else if (!strcmp(mode, "vfork")) {
		pid_t pid;

		for (int i = 0; i < n; i++)
			work(i);
		pid = spawn("/proc/self/exe", n, argc > 3 && !strcmp(argv[3], "exit"));
		for (int i = 0; i < n; i++)
			work(i);
		waitpid(pid, NULL, 0);
	} else if (!strcmp(mode, "busy")) {
		printf("busy pid=%d\n", (int)getpid());
		for (int k = 0; k < n; k++)
			sink = recurse(100);
		printf("done\n");
	} else if (!strcmp(mode, "exec")) {
		for (int i = 0; i < n; i++)
			after_exec(i);
	}
	return 0;
}
