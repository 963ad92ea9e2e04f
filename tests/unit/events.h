/* Records as the BPF side sends them, fed to the consumer (trace.c), for the
 * unit tests of what it builds from them. Pids are above pid_max, so no
 * symbolizer reads a real /proc entry. */
#ifndef CTRACE_TEST_EVENTS_H
#define CTRACE_TEST_EVENTS_H
#include "ctrace.h"
#include "consume/trace.h"

#define MAIN 0x7ffffff0u

static void hdr(struct ctrace_hdr *h, uint32_t kind, uint32_t tid, uint64_t ts)
{
	h->kind = kind;
	h->tid = tid;
	h->ts = 1000 + ts;
}

/* an ENTER or EXIT of the function at 0x1000 + depth */
static void call(struct trace *tr, uint32_t kind, uint32_t tid, uint64_t ts, int32_t depth)
{
	struct ctrace_call e = { .fn = 0x1000 + depth, .depth = depth };

	hdr(&e.h, kind, tid, ts);
	trace_on_event(tr, &e, sizeof(e));
}

#endif
