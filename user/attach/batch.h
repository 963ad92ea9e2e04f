/* --probe batch: the hooks library that buffers calls per thread, and the
 * probes that copy its buffers (bpf/ctrace.bpf.c, "--probe batch") */
#ifndef CTRACE_ATTACH_BATCH_H
#define CTRACE_ATTACH_BATCH_H
#include <stddef.h>
#include <sys/types.h>
#include "attach/modules.h"
#include "attach/probes.h"

#define BATCH_LIB_NAME "libctrace-hooks-batch.so"

/* CTRACE_BATCH_LIB, else beside the NOP hooks library; 0 or -1 */
int batch_find_lib(char *buf, size_t len);
/* the probe on the library's ctrace_batch_flush; 0 or -1 (printed) */
int batch_attach_lib(struct probes *pr, const char *lib);

/* If the tracer dies while BPF holds a target stopped for room (SIGSTOP),
 * nobody would continue it: a child of the tracer holding only the map of
 * those stops continues them once the tracer's end of a pipe closes. */
struct batch_guard {
	pid_t pid;
	int wfd;
};

int batch_guard_start(struct batch_guard *g, int map_fd);
/* the tracer's normal end: the guard continues what is left, and exits */
void batch_guard_stop(struct batch_guard *g);

#endif
