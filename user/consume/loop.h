/* The consumer's loop: what ends it. */
#ifndef CTRACE_LOOP_H
#define CTRACE_LOOP_H
#include <stdbool.h>
#include <sys/types.h>

struct trace;

/* the target (pid, or its pidfd when >= 0) has exited */
bool target_gone(const struct trace *tr, int pidfd, pid_t pid);

#endif
