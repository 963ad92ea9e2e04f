/* The consumer's loop: one round of draining, and what ends it. */
#ifndef CTRACE_LOOP_H
#define CTRACE_LOOP_H
#include <stdbool.h>
#include <sys/types.h>

struct ring_buffer;
struct trace;

/* Waits up to the drain cadence for BPF's wake-up, then drains both ring
 * buffers into tr (delay: the test-only consumer delay, in ms, or NULL).
 * 0, or -1 when the trace cannot go on (printed; output names the trace). */
int consume_round(struct ring_buffer *rb, struct trace *tr, const char *output, const char *delay);
/* the target (pid, or its pidfd when >= 0) has exited */
bool target_gone(const struct trace *tr, int pidfd, pid_t pid);

#endif
