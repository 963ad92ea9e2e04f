#include <stdio.h>
#include <unistd.h>
#include "consume/status.h"

#define PERIOD_NS 250000000ull

void status_init(struct status *s, uint64_t now)
{
	s->on = isatty(STDERR_FILENO);
	s->t0 = s->last = now;
	s->last_calls = 0;
	s->rate = 0;
	s->width = 0;
}

void status_update(struct status *s, uint64_t now, uint64_t calls, uint64_t lost, uint64_t threads)
{
	if (!s->on || now - s->last < PERIOD_NS)
		return;
	s->rate = (calls - s->last_calls) * 1e9 / (double)(now - s->last);
	s->last = now;
	s->last_calls = calls;
	s->width = fprintf(
		stderr,
		"\r[ctrace-bpf] %.1fs  %llu calls  %.0f calls/s  %llu lost  %llu threads\033[K",
		(now - s->t0) / 1e9, (unsigned long long)calls, s->rate, (unsigned long long)lost,
		(unsigned long long)threads);
	fflush(stderr);
}

void status_clear(struct status *s)
{
	if (s->on && s->width > 0)
		fputs("\r\033[K", stderr);
	s->width = 0;
}
