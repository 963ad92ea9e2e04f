/* The consumer's process table against fork, exec, dlopen and exit records:
 * which process each tree belongs to, which trees an exec closes and opens,
 * which processes need probing or resuming, and their exit statuses. Pids
 * are above pid_max, so no symbolizer reads a real /proc entry. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctrace.h"
#include "events.h"
#include "harness.h"
#include "find/pattern.h"
#include "consume/procs.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "rebuild/tree.h"

static void proc_ev(struct trace *tr, uint32_t kind, uint32_t tid, uint64_t ts, uint32_t tgid,
		    uint32_t parent, uint32_t stopped, uint32_t gen, const char *path)
{
	struct ctrace_proc e = { .tgid = tgid, .parent = parent, .stopped = stopped, .gen = gen };

	hdr(&e.h, kind, tid, ts);
	strcpy(e.comm, "comm");
	if (path) /* no NUL when it fills the field */
		memcpy(e.path, path, strlen(path) < sizeof(e.path) ? strlen(path) : sizeof(e.path));
	trace_on_event(tr, &e, sizeof(e));
}

static void thread_ev(struct trace *tr, uint32_t kind, uint32_t tid, uint64_t ts, uint32_t tgid,
		      uint32_t exit_code, uint32_t group_dead)
{
	struct ctrace_thread e = { .tgid = tgid, .exit_code = exit_code, .group_dead = group_dead };

	hdr(&e.h, kind, tid, ts);
	strcpy(e.comm, "t");
	trace_on_event(tr, &e, sizeof(e));
}

static size_t trees_of(const struct trace *tr, uint32_t tid)
{
	size_t n = 0;

	for (size_t i = 0; i < tr->nthreads; i++)
		n += tr->threads[i]->tid == tid;
	return n;
}

/* two forks, a dlopen, an exec and the exits, in one trace */
TEST(test_procs)
{
	struct filter *f = filter_new();
	struct symbolizer *sym = symbolizer_new((pid_t)MAIN, f);
	int dirfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	struct trace tr;
	struct proc *p, *c1, *c2;
	char long_path[CTRACE_PATH_MAX + 10];

	trace_init(&tr, (pid_t)MAIN, sym, false, 1000, dirfd);
	thread_ev(&tr, CTRACE_EV_THREAD, MAIN, 0, MAIN, 0, 0);
	call(&tr, CTRACE_EV_ENTER, MAIN, 1, 1);
	call(&tr, CTRACE_EV_ENTER, MAIN, 2, 2);

	/* two forks: each child is its own process, sharing the map */
	proc_ev(&tr, CTRACE_EV_FORK, MAIN + 1, 3, MAIN + 1, MAIN, 0, 0, NULL);
	proc_ev(&tr, CTRACE_EV_FORK, MAIN + 2, 4, MAIN + 2, MAIN, 0, 0, NULL);
	CHECK(tr.procs.n == 3);
	c1 = procs_find(&tr.procs, (pid_t)(MAIN + 1));
	c2 = procs_find(&tr.procs, (pid_t)(MAIN + 2));
	CHECK(c1 && c1->forked && c1->ppid == (pid_t)MAIN && c1->start_ns == 3);
	CHECK(c1 && c1->sym == sym && !c1->own_sym && c1->gen == 0);
	CHECK(trees_of(&tr, MAIN + 1) == 1 && tr.threads[1]->pid == MAIN + 1);
	CHECK(tr.threads[1]->attach && tr.threads[1]->before);

	/* the child returns from a call entered in the parent */
	call(&tr, CTRACE_EV_EXIT, MAIN + 1, 5, 0);
	CHECK(tr.threads[1]->calls == 1 && tr.threads[1]->wraps == 1);

	/* a dlopen in child 2: its own symbolizer and generation, probe and
	 * resume */
	proc_ev(&tr, CTRACE_EV_DLSTATE, MAIN + 2, 6, MAIN + 2, 0, 1, 1, NULL);
	CHECK(c2 && c2->own_sym && c2->sym != sym && c2->gen == 1 && c2->remap && c2->stopped);
	/* the same in the target: its map is still its own */
	proc_ev(&tr, CTRACE_EV_DLSTATE, MAIN, 7, MAIN, 0, 1, 0, NULL);
	p = procs_find(&tr.procs, (pid_t)MAIN);
	CHECK(p && p->sym == sym && p->gen == 0 && p->remap && p->stopped);

	/* child 1 execs (a path that fills the record, no NUL): its open
	 * calls are closed, a second tree starts under the same tid */
	call(&tr, CTRACE_EV_ENTER, MAIN + 1, 8, 0); /* BPF's depth went to -1 */
	memset(long_path, 'x', sizeof(long_path));
	long_path[sizeof(long_path) - 1] = 0;
	proc_ev(&tr, CTRACE_EV_EXEC, MAIN + 1, 9, MAIN + 1, MAIN + 1, 1, 2, long_path);
	CHECK(c1 && c1->nexecs == 1 && strlen(c1->execs[0].path) == CTRACE_PATH_MAX);
	CHECK(c1 && c1->own_sym && c1->gen == 2 && c1->remap && c1->stopped);
	CHECK(trees_of(&tr, MAIN + 1) == 2);
	CHECK(tr.threads[1]->exited && tr.threads[1]->nstack == 0 && tr.threads[1]->calls == 2);
	CHECK(tr.threads[tr.nthreads - 1]->pid == MAIN + 1);

	/* exits: the children's statuses; the target's is the trace's */
	thread_ev(&tr, CTRACE_EV_THREAD_EXIT, MAIN + 1, 10, MAIN + 1, 3 << 8, 1);
	thread_ev(&tr, CTRACE_EV_THREAD_EXIT, MAIN + 2, 11, MAIN + 2, 11, 1);
	CHECK(c1 && c1->exited && c1->exit_code == 3 << 8 && c1->end_ns == 10);
	CHECK(c2 && c2->exited && c2->exit_code == 11);
	CHECK(!tr.proc_exited && procs_live(&tr.procs) == 1);
	thread_ev(&tr, CTRACE_EV_THREAD_EXIT, MAIN, 12, MAIN, 0, 1);
	CHECK(tr.proc_exited && tr.proc_exit_code == 0 && procs_live(&tr.procs) == 0);

	/* a process whose exit was never seen, and that is gone: reaped */
	procs_add(&tr.procs, (pid_t)(MAIN + 5), (pid_t)MAIN, sym);
	CHECK(procs_live(&tr.procs) == 1);
	procs_reap_vanished(&tr.procs);
	CHECK(procs_live(&tr.procs) == 0);

	/* records cut short are ignored */
	{
		struct ctrace_proc e = { .tgid = MAIN + 3 };

		hdr(&e.h, CTRACE_EV_FORK, MAIN + 3, 13);
		trace_on_event(&tr, &e, sizeof(e) - 1);
		CHECK(!procs_find(&tr.procs, (pid_t)(MAIN + 3)));
	}

	trace_finish(&tr, "end");
	trace_free(&tr);
	symbolizer_free(sym);
	filter_free(f);
	close(dirfd);
}

HARNESS_MAIN("procs")
