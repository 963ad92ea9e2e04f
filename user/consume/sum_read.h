/* --summary: BPF's tables read once tracing stopped, named with the
 * processes' maps. */
#ifndef CTRACE_SUM_READ_H
#define CTRACE_SUM_READ_H

struct proc_table;
struct summary;

/* sums_fd: the per-function table; fast_fd: the rows kept in an array (-1:
 * none); co_fd: the coroutine stacks' rings, whose open calls no thread ran
 * at the end (counted per function, as CTRACE_SUM_COROUTINE). 0, or -1
 * with the reason printed. */
int sum_read(struct summary *s, int sums_fd, int fast_fd, int co_fd, struct proc_table *procs);

#endif
