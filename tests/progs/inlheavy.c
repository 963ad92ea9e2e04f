/* Heavy inlining at -O2/-O3, for the filter tests: static inline helpers
 * inlined into several callers (their hook calls sit inside each caller),
 * void functions whose exit hook is a tail jump, a switch (a jump table the
 * decoder cannot follow) with inlined callees in its cases, recursion, and
 * a fork. Every function keeps an out-of-line copy (its address is taken),
 * so each inlined copy passes that copy's address as this_fn.
 *   inlheavy [run]            the workload once
 *   inlheavy fork N           the workload in N children, one after another
 *   inlheavy wait STATE GO    writes "PID" to STATE, waits for file GO, runs
 *                             the workload, exits (the attach tests)       */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static unsigned acc;
static unsigned char buf[256];

static inline void bump(unsigned x)
{
	acc += x * 2654435761u;
}

static inline unsigned mix(unsigned a, unsigned b)
{
	bump(a);
	return (a ^ (b << 3)) + acc;
}

static unsigned hashb(const unsigned char *p, int n)
{
	unsigned h = 0;

	for (int i = 0; i < n; i++)
		h = mix(h, p[i]);
	return h;
}

static void fill(int seed)
{
	for (int i = 0; i < 64; i++)
		buf[i] = (unsigned char)(seed * 31 + i);
	bump((unsigned)seed);
}

struct state {
	int mode, err, len;
	char *msg;
};

static char msgbuf[32];

/* inlined into reset after a branch: its enter and exit hooks get this_fn
 * from one register, with a join of its own branch in between */
static void set_error(struct state *s, int err, const char *msg)
{
	if (s->msg) {
		if (s->err != -4)
			s->msg[0] = 0;
		s->msg = NULL;
	}
	s->err = err;
	if (msg && s->mode > 0)
		s->msg = strncpy(msgbuf, msg, sizeof(msgbuf) - 1);
}

static void reset(struct state *s)
{
	s->len = 0;
	if (s->mode == 7) {
		s->mode = 0;
		return;
	}
	s->err = 0;
	set_error(s, 0, NULL);
}

static int classify(int op, int x)
{
	switch (op & 7) {
	case 0: return x + (int)mix((unsigned)x, 1);
	case 1: bump((unsigned)x); return x * 3;
	case 2: fill(x); return 2;
	case 3: return (int)hashb(buf, 3) ^ x;
	case 4: return x - 4;
	case 5: bump(5); return x << 1;
	case 6: return (int)mix(6, (unsigned)x);
	default: return -x;
	}
}

static int walk(int d)
{
	if (d <= 0)
		return (int)mix((unsigned)d, 2);
	return walk(d - 1) + classify(d, d);
}

static int longest(int a, int b)
{
	int best = 0;

	for (int i = 0; i < 6; i++) {
		unsigned h = hashb(buf + ((a + i) & 63), 3);
		if ((int)(h & 7) > best)
			best = (int)(h & 7);
	}
	if (b > 3)
		fill(b);
	return best;
}

void step(int n)
{
	struct state st = { n & 1, 0, 0, NULL };

	for (int i = 0; i < n; i++) {
		st.mode = i & 7;
		reset(&st);
		if (i == 5)
			set_error(&st, -1, "five");
		if ((i & 3) == 0)
			fill(i);
		acc += (unsigned)longest(i, i & 7);
		acc += (unsigned)classify(i, i);
	}
	acc += (unsigned)walk(n & 7);
}

int (*volatile keep_longest)(int, int) = longest;
void (*volatile keep_fill)(int) = fill;
unsigned (*volatile keep_hashb)(const unsigned char *, int) = hashb;
int (*volatile keep_classify)(int, int) = classify;
int (*volatile keep_walk)(int) = walk;
void (*volatile keep_reset)(struct state *) = reset;
void (*volatile keep_set_error)(struct state *, int, const char *) = set_error;

NOINLINE unsigned workload(void)
{
	acc = 0;
	for (int r = 0; r < 3; r++)
		step(12 + r);
	keep_longest(1, 5);
	keep_fill(3);
	keep_classify(3, 9);
	return acc;
}

/* forks inside a traced function: each child returns from it too */
NOINLINE int spawn(void)
{
	pid_t pid = fork();

	if (pid == 0)
		return 0;
	waitpid(pid, NULL, 0);
	return 1;
}

NOINSTR static void wait_for_file(const char *path)
{
	struct timespec ts = { 0, 2000000 };

	while (access(path, F_OK))
		nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "fork")) {
		for (int k = atoi(argv[2]); k > 0; k--) {
			if (!spawn()) {
				printf("child acc=%u\n", workload());
				fflush(stdout);
				_exit(0);
			}
		}
		return 0;
	}
	if (argc > 3 && !strcmp(argv[1], "wait")) {
		FILE *f = fopen(argv[2], "w");

		if (!f)
			return 2;
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
		wait_for_file(argv[3]);
	}
	printf("acc=%u\n", workload());
	return 0;
}
