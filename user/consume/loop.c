/* The consumer's loop: one round of draining, and what ends it. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "consume/loop.h"
#include "consume/trace.h"
#include "utils/log.h"

#define POLL_MS	    50
#define USEC_PER_MS 1000

int consume_round(struct ring_buffer *rb, struct trace *tr, const char *output, const char *delay)
{
	int rc;

	if (delay)
		usleep(USEC_PER_MS * (useconds_t)atoi(delay));
	rc = ring_buffer__poll(rb, POLL_MS);
	if (rc >= 0 || rc == -EINTR)
		rc = ring_buffer__consume(rb);
	if (rc < 0 && rc != -EINTR) {
		log_err("reading the ring buffer: %s", strerror(-rc));
		return -1;
	}
	if (trace_spool_error(tr)) {
		/* nothing more can be kept: stop probing, the target runs on */
		log_err("writing the trace beside '%s': %s; tracing stopped, the program "
			"runs on untraced",
			output, strerror(tr->err));
		return -1;
	}
	return 0;
}

bool target_gone(const struct trace *tr, int pidfd, pid_t pid)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return tr->proc_exited || (pidfd >= 0 && poll(&p, 1, 0) > 0) ||
	       (pidfd < 0 && kill(pid, 0) && errno == ESRCH);
}
