/* The consumer's loop: what ends it. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include "consume/loop.h"
#include "consume/trace.h"

bool target_gone(const struct trace *tr, int pidfd, pid_t pid)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return tr->proc_exited || (pidfd >= 0 && poll(&p, 1, 0) > 0) ||
	       (pidfd < 0 && kill(pid, 0) && errno == ESRCH);
}
