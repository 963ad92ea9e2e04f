/* jumpstorm R: main calls work() R times in a loop while a thread sends it
 * SIGUSR1, the next as soon as main is back in its loop; the handler calls
 * on_signal() and siglongjmps back to the loop, so it may leave a --probe
 * batch append half done (never finished).
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
static volatile sig_atomic_t go, stop, jumps, back;
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
	while (!go)
		;
	/* the next signal once main is back in its loop: siglongjmp unblocks
	 * SIGUSR1 before it leaves the handler's stack, so a signal sent
	 * sooner would nest handlers (the probe on siglongjmp makes that
	 * window wide) until the stack overflows */
	while (!stop) {
		sig_atomic_t j = back;

		pthread_kill(main_thread, SIGUSR1);
		while (back == j && !stop)
			;
	}
	return NULL;
}

NOINSTR int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 100000;
	struct sigaction sa = { .sa_handler = handler };
	volatile int i = 0;
	pthread_t t;

	sigaddset(&sa.sa_mask, SIGUSR1);
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	work(0); /* the thread's buffer is made before any jump */
	pthread_create(&t, NULL, stormer, NULL);
	/* the jump's target is set before the first signal, and no signal
	 * comes after the loop: a jump out of the C library is not safe */
	if (!sigsetjmp(env, 1))
		go = 1;
	while (i < reps) {
		i++;
		back = jumps;
		work(i);
	}
	sigprocmask(SIG_BLOCK, &sa.sa_mask, NULL);
	stop = 1;
	pthread_join(t, NULL);
	printf("jumps=%d\n", (int)jumps);
	return 0;
}
