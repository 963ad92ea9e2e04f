/* ticker STATEFILE [SECONDS]: the long-running target of the attach tests.
 * serve_loop calls tick() > bump() every ~2 ms and after each tick rewrites
 * STATEFILE with "PID COUNT". Runs until killed, or SECONDS if given > 0; then
 * prints "ticks=N" and exits 0.
 *   main > serve_loop > tick > bump (repeated)                            */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static volatile long sink;

NOINSTR static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The count only grows, so each write is at least as long as the last and
 * no stale tail remains. */
NOINSTR static void write_state(int fd, long count)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%d %ld\n", (int)getpid(), count);

	if (pwrite(fd, buf, (size_t)n, 0) != n)
		exit(2);
}

NOINLINE long bump(long n)
{
	sink = n;
	return n + 1;
}

NOINLINE long tick(long n)
{
	return bump(n);
}

NOINLINE long serve_loop(int fd, double seconds)
{
	double t0 = now();
	long n = 0;

	write_state(fd, n);
	for (;;) {
		n = tick(n);
		write_state(fd, n);
		if (seconds > 0 && now() - t0 >= seconds)
			return n;
		usleep(2000);
	}
}

int main(int argc, char **argv)
{
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: ticker STATEFILE [SECONDS]\n");
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	printf("ticks=%ld\n", serve_loop(fd, argc > 2 ? atof(argv[2]) : 0));
	return 0;
}
