/* --probe batch: the hooks library that buffers calls per thread, and the
 * probes that copy its buffers (bpf/ctrace.bpf.c, "--probe batch") */
#ifndef CTRACE_ATTACH_BATCH_H
#define CTRACE_ATTACH_BATCH_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "attach/modules.h"
#include "attach/probes.h"

#define BATCH_LIB_NAME "libctrace-hooks-batch.so"
/* the same with -F/-N: the hooks check the selected functions */
#define BATCH_FLIB_NAME "libctrace-hooks-batch-filter.so"

struct symbolizer;

/* CTRACE_BATCH_LIB, else beside the NOP hooks library; with filtered, the
 * filtering build beside that; 0 or -1 */
int batch_find_lib(char *buf, size_t len, bool filtered);
/* the probe on the library's ctrace_batch_flush (and, filtering, on its
 * ctrace_batch_hello); 0 or -1 (printed) */
int batch_attach_lib(struct probes *pr, const char *lib);
/* -F/-N: write the functions selected in pid's map (sym) into its
 * filtering hooks library's set, where that is mapped (batch_sel.c);
 * 0 or -1 (printed) */
int batch_sel_sync(struct probes *pr, pid_t pid, struct symbolizer *sym);
struct batch_sel;
void batch_sel_free(struct batch_sel *bs);
/* the C library's exec functions, where a thread's records must be copied
 * before its memory goes: once per library in done; 0 or -1 */
int batch_watch_exec(struct probes *pr, struct symbolizer *sym, struct modset *done);

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
