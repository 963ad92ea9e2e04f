/* Live progress on a terminal, like perf's: elapsed time, calls, rate,
 * losses, threads, rewritten in place on stderr. Silent when stderr is not
 * a terminal (CI logs, pipes). */
#ifndef CTRACE_STATUS_H
#define CTRACE_STATUS_H
#include <stdbool.h>
#include <stdint.h>

struct status {
	bool on;
	uint64_t t0, last, last_calls;
	double rate;
	int width; /* of the last line, to clear it */
};

void status_init(struct status *s, uint64_t now);
void status_update(struct status *s, uint64_t now, uint64_t calls, uint64_t lost, uint64_t threads);
void status_clear(struct status *s);

#endif
