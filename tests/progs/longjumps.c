/* Non-local exits at any depth, the shapes real interpreters make:
 *
 *   longjumps DEPTH CALLS JUMPS [KIND] [THREADS] [LOOPS]
 *
 * protected_call() sets a jump buffer and dives DEPTH calls deep; a static
 * inline helper runs around the recursion (inlined at -O1 and above, its
 * hooks then run on its caller's stack pointer). The first JUMPS of each
 * CALLS protected calls jump back from the bottom with KIND: longjmp,
 * _longjmp, siglongjmp, or signal (raise SIGUSR1 at the bottom; the handler
 * calls traced code and leaves by siglongjmp). THREADS threads do the same
 * (0: main alone). LOOPS repeats the whole run (0: until killed, for
 * attach tests), sleeping 1 ms between rounds.
 *
 * Expected, by construction: every protected_call returns (-1 after a
 * jump, DEPTH otherwise); a jumped call's dive frames and the handler's
 * are left by the jump; nothing else is partial. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common.h"

static __thread sigjmp_buf env;
static const char *kind = "longjmp";
static int depth, calls, jumps;
volatile int sink;

static inline int helper(int d)
{
	sink += d;
	return d;
}

NOINLINE void handler_work(int sig)
{
	sink += sig;
}

NOINLINE void on_usr1(int sig)
{
	handler_work(sig);
	siglongjmp(env, 1);
}

NOINLINE void jump(void)
{
	if (!strcmp(kind, "longjmp"))
		longjmp(env, 1);
	if (!strcmp(kind, "_longjmp"))
		_longjmp(env, 1);
	if (!strcmp(kind, "siglongjmp"))
		siglongjmp(env, 1);
	raise(SIGUSR1);
	abort();
}

NOINLINE int dive(int d, int jumping)
{
	int r;

	helper(d);
	if (d >= depth) {
		if (jumping)
			jump();
		return d;
	}
	r = dive(d + 1, jumping);
	helper(r);
	return r;
}

NOINLINE int protected_call(int jumping)
{
	/* sigsetjmp saves the signal mask, so a jump out of the handler
	 * unblocks SIGUSR1 again */
	if (sigsetjmp(env, 1))
		return -1;
	return dive(1, jumping);
}

NOINLINE void *worker(void *arg)
{
	for (int i = 0; i < calls; i++)
		sink += protected_call(i < jumps);
	return arg;
}

static NOINSTR void pause_ms(void)
{
	struct timespec ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int threads = argc > 5 ? atoi(argv[5]) : 0, loops = argc > 6 ? atoi(argv[6]) : 1;
	pthread_t tid[64];

	if (argc < 4) {
		fprintf(stderr, "usage: %s DEPTH CALLS JUMPS [KIND] [THREADS] [LOOPS]\n", argv[0]);
		return 2;
	}
	depth = atoi(argv[1]);
	calls = atoi(argv[2]);
	jumps = atoi(argv[3]);
	if (argc > 4)
		kind = argv[4];
	if (threads > 64)
		threads = 64;
	signal(SIGUSR1, on_usr1);
	for (int round = 0; !loops || round < loops; round++) {
		for (int i = 0; i < threads; i++)
			pthread_create(&tid[i], NULL, worker, NULL);
		worker(NULL);
		for (int i = 0; i < threads; i++)
			pthread_join(tid[i], NULL);
		if (loops != 1)
			pause_ms();
	}
	printf("done\n");
	return 0;
}
