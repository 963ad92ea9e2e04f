/* jumpstorm R: main calls work() R times in a loop while a thread sends it
 * SIGUSR1 nonstop; the handler calls on_signal() and siglongjmps back to the
 * loop, so it may leave a --probe batch append half done (never finished).
 * Prints "jumps=J": the handler ran J times (SIGUSR1 is blocked in it, so
 * each of its calls is whole before the jump). */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

static volatile int sink;
static sigjmp_buf env;
static volatile sig_atomic_t stop, jumps;
static pthread_t main_thread;

NOINLINE void leaf(int i) { sink = i; }
NOINLINE void work(int i) { leaf(i + 1); }
NOINLINE void on_signal(int i) { sink = i * 7; }

static void handler(int sig)
{
	on_signal(sig);
	jumps++;
	siglongjmp(env, 1);
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
	int reps = argc > 1 ? atoi(argv[1]) : 100000;
	struct sigaction sa = { .sa_handler = handler };
	volatile int i = 0;
	pthread_t t;

	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	pthread_create(&t, NULL, stormer, NULL);
	sigsetjmp(env, 1);
	while (i < reps) {
		i++;
		work(i);
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("jumps=%d\n", (int)jumps);
	return 0;
}
