/* Crash cause chains in the consumer (user/consume/crash.c), from SIGNAL records as
 * the BPF side sends them: which earlier fault becomes a crash's cause (the
 * one whose handler the sender was running, if its traced calls are all
 * still open), the nesting and the stderr order of the report, and that
 * only each thread's last signal and last possible cause keep their
 * stacks. Pids are above pid_max, so no symbolizer reads a real /proc
 * entry. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "consume/crash.h"
#include "ctrace.h"
#include "events.h"
#include "harness.h"
#include "find/pattern.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "rebuild/tree.h"

/* one trace for every case, which run in file order: the later ones see
 * the threads and notes of the earlier ones */
static struct trace shared;

static void thread_ev(struct trace *tr, uint32_t tid, uint64_t ts)
{
	struct ctrace_thread e = { .tgid = MAIN };

	hdr(&e.h, CTRACE_EV_THREAD, tid, ts);
	strcpy(e.comm, "t");
	trace_on_event(tr, &e, sizeof(e));
}

/* cause: seq + 1 of the sender's fault whose handler runs, as BPF sends it */
static void signal_ev(struct trace *tr, uint32_t tid, uint64_t ts, uint32_t seq, int sig, int code,
		      uint64_t addr, uint32_t sender, uint32_t cause)
{
	struct ctrace_signal e = {
		.seq = seq, .sig = sig, .code = code, .sender = sender, .addr = addr, .cause = cause
	};

	hdr(&e.h, CTRACE_EV_SIGNAL, tid, ts);
	trace_on_event(tr, &e, sizeof(e));
}

static void record(struct trace *tr, uint32_t seq, uint32_t tid)
{
	struct ctrace_crash_rec *r = calloc(1, sizeof(*r));

	r->seq = seq;
	r->tid = tid;
	r->regs[CTRACE_REG_RSP] = 0x7ffc0000;
	r->regs[CTRACE_REG_RIP] = 0x1000 + seq;
	crash_on_record(&tr->crashes, r, sizeof(*r));
	free(r);
}

static const struct signal_note *note(const struct trace *tr, uint32_t seq)
{
	for (size_t i = 0; i < tr->crashes.n; i++)
		if (tr->crashes.v[i].seq == seq)
			return &tr->crashes.v[i];
	return NULL;
}

static const struct signal_note *cause_of(const struct trace *tr, const struct signal_note *n)
{
	return n && n->cause ? &tr->crashes.v[n->cause - 1] : NULL;
}

static size_t kept(const struct trace *tr)
{
	size_t k = 0;

	for (size_t i = 0; i < tr->crashes.n; i++)
		k += !tr->crashes.v[i].dropped;
	return k;
}

/* the crash object and summary of n */
static void report(struct trace *tr, const struct signal_note *n, cJSON **json, char **sum)
{
	char *doc = NULL;
	size_t len = 0, slen = 0;
	FILE *f = open_memstream(&doc, &len), *s = open_memstream(sum, &slen);

	crash_write_json(f, &tr->crashes, n, (pid_t)MAIN, NULL, 0, NULL, s, "out.json");
	fclose(f);
	fclose(s);
	*json = cJSON_Parse(doc);
	free(doc);
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

TEST(test_chain)
{
	struct trace *tr = &shared;
	const struct signal_note *fatal, *c1, *c2;
	const cJSON *cause, *inner;
	cJSON *json;
	char *sum;

	/* worker MAIN+1: main, fact; the fault (seq 10); the handler (depth 3)
	 * faults again (seq 11, nested handler at depth 4) and kill()s the
	 * process: the kernel names the main thread */
	thread_ev(tr, MAIN, 0);
	call(tr, CTRACE_EV_ENTER, MAIN, 1, 1);
	thread_ev(tr, MAIN + 1, 2);
	call(tr, CTRACE_EV_ENTER, MAIN + 1, 3, 1);
	call(tr, CTRACE_EV_ENTER, MAIN + 1, 4, 2);
	signal_ev(tr, MAIN + 1, 5, 10, 11, 2, 0x7f0000001000, MAIN + 1, 0);
	record(tr, 10, MAIN + 1);
	call(tr, CTRACE_EV_ENTER, MAIN + 1, 6, 3);
	record(tr, 11, MAIN + 1); /* the crash buffer drained first */
	signal_ev(tr, MAIN + 1, 7, 11, 11, 1, 0, MAIN + 1, 11);
	call(tr, CTRACE_EV_ENTER, MAIN + 1, 8, 4);
	signal_ev(tr, MAIN, 9, 12, 11, 0, 0, MAIN + 1, 12);

	fatal = crash_find(&tr->crashes, 11, MAIN);
	CHECK(fatal == note(tr, 12));
	c2 = cause_of(tr, fatal);
	c1 = cause_of(tr, c2);
	CHECK(c2 == note(tr, 11) && c1 == note(tr, 10) && !cause_of(tr, c1));
	CHECK(c2 && c2->rec && c2->nframes == 3 && c1 && c1->rec && c1->nframes == 2);

	report(tr, fatal, &json, &sum);
	CHECK(json != NULL);
	cause = cJSON_GetObjectItemCaseSensitive(json, "cause");
	inner = cJSON_GetObjectItemCaseSensitive(cause, "cause");
	CHECK(num(json, "thread_id") == MAIN && num(json, "si_code") == 0);
	CHECK(num(cause, "thread_id") == MAIN + 1 && num(cause, "si_code") == 1);
	CHECK(num(inner, "si_code") == 2 && num(inner, "time_ns") == 5);
	CHECK_STR(cJSON_GetObjectItemCaseSensitive(inner, "fault_address")->valuestring,
		  "0x7f0000001000");
	CHECK_STR(cJSON_GetObjectItemCaseSensitive(inner, "instruction_pointer")->valuestring,
		  "0x100a");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(inner, "call_stack")) == 2);
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(inner, "cause")));
	/* the summary in the order things happened: the first fault leads */
	CHECK(sum && strstr(sum, "ctrace-bpf: the target got SIGSEGV (SEGV_ACCERR) at address "
				 "0x7f0000001000") == sum);
	CHECK(sum && strstr(sum, "SEGV_ACCERR") < strstr(sum, "SEGV_MAPERR") &&
	      strstr(sum, "SEGV_MAPERR") < strstr(sum, "died of SIGSEGV (SI_USER)"));
	cJSON_Delete(json);
	free(sum);
}

/* a cause is only named when the fault's traced calls are all open, in the
 * sender's own tree */
TEST(test_no_cause)
{
	struct trace *tr = &shared;
	/* MAIN+2: a fault in depth 2, left by siglongjmp to depth 1 (the
	 * handler never returned, so BPF still names it), then an abort */
	thread_ev(tr, MAIN + 2, 20);
	call(tr, CTRACE_EV_ENTER, MAIN + 2, 21, 1);
	call(tr, CTRACE_EV_ENTER, MAIN + 2, 22, 2);
	signal_ev(tr, MAIN + 2, 23, 20, 8, 1, 0x40, MAIN + 2, 0);
	call(tr, CTRACE_EV_UNWIND, MAIN + 2, 24, 1);
	signal_ev(tr, MAIN + 2, 25, 21, 6, -6, 0, MAIN + 2, 21);
	CHECK(note(tr, 21) && !note(tr, 21)->cause);

	/* a fault the same thread had returned from: the call is another one */
	call(tr, CTRACE_EV_ENTER, MAIN + 2, 26, 2);
	signal_ev(tr, MAIN + 2, 27, 22, 11, 1, 0, MAIN + 2, 0);
	call(tr, CTRACE_EV_EXIT, MAIN + 2, 28, 2);
	call(tr, CTRACE_EV_ENTER, MAIN + 2, 29, 2);
	signal_ev(tr, MAIN + 2, 30, 23, 11, 0, 0, MAIN + 2, 23);
	CHECK(note(tr, 23) && !note(tr, 23)->cause);

	/* a sender outside the process, a cause in another thread's tree, a
	 * seq that is no fault (an SI_USER signal), an unknown seq */
	signal_ev(tr, MAIN + 2, 31, 24, 11, 1, 0x8, MAIN + 2, 0);
	signal_ev(tr, MAIN + 2, 32, 25, 11, 0, 0, 0, 25);
	signal_ev(tr, MAIN + 2, 33, 26, 11, 0, 0, MAIN, 25);
	signal_ev(tr, MAIN + 2, 34, 27, 11, 0, 0, MAIN + 2, 26);
	signal_ev(tr, MAIN + 2, 35, 28, 11, 0, 0, MAIN + 2, 999);
	for (uint32_t s = 25; s <= 28; s++)
		CHECK(note(tr, s) && !note(tr, s)->cause);
	/* and the right one still works after all that */
	signal_ev(tr, MAIN + 2, 36, 29, 11, 0, 0, MAIN + 2, 25);
	CHECK(cause_of(tr, note(tr, 29)) == note(tr, 24));
}

/* a thread that handles thousands of faults keeps two notes' stacks */
TEST(test_bounded)
{
	struct trace *tr = &shared;
	size_t before;

	thread_ev(tr, MAIN + 3, 40);
	call(tr, CTRACE_EV_ENTER, MAIN + 3, 41, 1);
	before = kept(tr);
	for (uint32_t i = 0; i < 5000; i++) {
		call(tr, CTRACE_EV_ENTER, MAIN + 3, 42 + 3 * i, 2);
		signal_ev(tr, MAIN + 3, 43 + 3 * i, 100 + i, 11, 2, 0x1000, MAIN + 3, 0);
		record(tr, 100 + i, MAIN + 3);
		call(tr, CTRACE_EV_EXIT, MAIN + 3, 44 + 3 * i, 2);
	}
	CHECK(kept(tr) == before + 1); /* the last fault is its last signal and cause */
	CHECK(note(tr, 100)->dropped && !note(tr, 100)->rec && !note(tr, 100)->frames);
	record(tr, 99, MAIN + 3); /* a record of nothing: held, freed at the end */
	call(tr, CTRACE_EV_ENTER, MAIN + 3, 20000, 2);
	signal_ev(tr, MAIN + 3, 20001, 6000, 11, 2, 0x2000, MAIN + 3, 0);
	signal_ev(tr, MAIN + 3, 20002, 6001, 6, -6, 0, MAIN + 3, 6001);
	CHECK(kept(tr) == before + 2);
	CHECK(cause_of(tr, note(tr, 6001)) == note(tr, 6000));
	/* a later note keeps its cause's stack after the thread moves on */
	signal_ev(tr, MAIN + 3, 20003, 6002, 5, 1, 0, MAIN + 3, 0);
	signal_ev(tr, MAIN + 3, 20004, 6003, 5, 0, 0, MAIN + 3, 0);
	CHECK(note(tr, 6001)->dropped && note(tr, 6000)->dropped);
	{
		cJSON *json;
		char *sum;

		/* a note whose stack was let go: null, not an empty stack */
		report(tr, note(tr, 6001), &json, &sum);
		CHECK(json && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(json, "call_stack")));
		cJSON_Delete(json);
		free(sum);
	}
}

int main(void)
{
	struct filter *f = filter_new();
	struct symbolizer *sym = symbolizer_new((pid_t)MAIN, f);
	int dirfd = open("/tmp", O_RDONLY | O_DIRECTORY);

	trace_init(&shared, (pid_t)MAIN, sym, false, 1000, dirfd);
	harness_run_all();
	trace_finish(&shared, "end");
	trace_free(&shared);
	symbolizer_free(sym);
	filter_free(f);
	close(dirfd);
	HARNESS_MAIN_END("crash");
}
