/* --probe batch: the instrumentation hooks, preloaded into a launched
 * target, append each call to a buffer of the thread's own
 * (include/ctrace.h: struct ctrace_tbuf). The hot path is plain stores, a
 * vDSO clock read and one unlocked xadd: no system call, lock or
 * allocation. BPF reads the buffer (its address registered by the first
 * ctrace_batch_flush call) when the hooks find it full and before any
 * record of the thread that depends on it, so nothing here runs when the
 * thread or the process dies.
 *
 * Reentrancy: a signal handler may call traced functions in the middle of
 * an append. The slot and the depth are taken together by one instruction,
 * so the handler's records and the interrupted one are in the buffer in
 * one order, at the depths they had; the slot is written after, with a
 * time read again if the handler came between the clock and the slot. A copy made while a slot
 * was reserved and not yet written sees its old lap number: while an
 * append is in progress (busy), BPF copies only up to the first such slot,
 * and the consumer counts one as lost only if the thread died first. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "ctrace.h"

#define NI __attribute__((no_instrument_function))

void ctrace_batch_flush(struct ctrace_tbuf *b);

#ifdef CTRACE_BATCH_FILTER
/* -F/-N (libctrace-hooks-batch-filter.so): the selected functions, written
 * by the tracer (include/ctrace.h says how); exported for it to find */
void ctrace_batch_hello(struct ctrace_batch_sel *s);
static struct ctrace_batch_sel sel;
extern __typeof(sel) ctrace_batch_sel __attribute__((alias("sel"), visibility("default")));

/* this image's first call: its probe stops the process until the tracer
 * has written the set (a process it does not trace: nothing is selected) */
static __attribute__((noinline, cold)) NI void ask(void)
{
	ctrace_batch_hello(&sel);
	*(volatile __u64 *)&sel.told = 1;
}

/* an excluded function costs this check, and nothing else */
static inline __attribute__((always_inline)) NI int unselected(void *fn)
{
	uint32_t i = CTRACE_BATCH_SEL_HASH(fn);
	uint64_t k;

	if (__builtin_expect(!*(volatile __u64 *)&sel.told, 0))
		ask();
	while ((k = ((volatile __u64 *)sel.slot)[i]) != (uint64_t)fn) {
		if (!k)
			return 1;
		i = (i + 1) & (CTRACE_BATCH_SEL_SLOTS - 1);
	}
	return 0;
}
#else
#define unselected(fn) 0
#endif

static __thread struct ctrace_tbuf *tb __attribute__((tls_model("initial-exec")));
/* 1 while this thread's buffer is being made: a handler's calls then are lost */
static __thread int making __attribute__((tls_model("initial-exec")));

/* A thread's end copies its buffer from the kernel side, which cannot wait
 * for room in the ring buffer; the last flush, from the thread itself,
 * can (BPF stops the process until there is room): twice, so the second
 * finds the room the first waited for. */
static pthread_key_t end_key;
static int have_end_key;

static NI void last_flush(void *b)
{
	ctrace_batch_flush(b);
	ctrace_batch_flush(b);
}

static NI void last_flush_main(void)
{
	if (tb)
		last_flush(tb);
}

__attribute__((constructor)) static NI void batch_init(void)
{
	have_end_key = !pthread_key_create(&end_key, last_flush);
	atexit(last_flush_main);
}

/* The thread's buffer, made at its first traced call. Never unmapped: BPF
 * may read it up to the thread's exit in the kernel. A forked child keeps
 * its copy at the same address (BPF hands it the parent's position). */
static __attribute__((noinline, cold)) NI struct ctrace_tbuf *make_buffer(void)
{
	void *p;

	if (making)
		return NULL;
	making = 1;
	p = (void *)syscall(SYS_mmap, NULL, sizeof(struct ctrace_tbuf), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		making = 0;
		return NULL;
	}
	/* BPF cannot fault a page in: the header must be there when it reads */
	*(volatile __u64 *)&((struct ctrace_tbuf *)p)->hd = 0;
	tb = p;
	if (have_end_key)
		pthread_setspecific(end_key, p);
	ctrace_batch_flush(p); /* registers it */
	making = 0;
	return p;
}

/* unlocked: atomic with respect to this thread's signal handlers, which
 * is all that writes here */
static inline NI uint64_t xadd(__u64 *at, uint64_t v)
{
	__asm__ volatile("xaddq %0, %1" : "+r"(v), "+m"(*at) : : "memory");
	return v;
}

static inline __attribute__((always_inline)) NI void append(void *fn, int exit)
{
	struct ctrace_tbuf *b = tb;
	struct ctrace_batch_rec *r;
	struct timespec t;
	uint64_t h0, old, i, ts;
	int64_t d;

	if (unselected(fn))
		return;
	if (__builtin_expect(!b, 0) && !(b = make_buffer())) {
		ctrace_batch_flush(NULL); /* one event lost */
		return;
	}
	/* balanced: a handler between its load and store leaves it as it was */
	(*(volatile __u64 *)&b->busy)++;
	h0 = *(volatile __u64 *)&b->hd;
	clock_gettime(CLOCK_MONOTONIC, &t);
	/* enter: one more record, depth + 1; exit: one more record, depth - 1
	 * (its record carries the depth before, the same as its entry's) */
	old = xadd(&b->hd, exit ? 1 - (1ull << CTRACE_BATCH_HEAD_BITS) :
				  1 + (1ull << CTRACE_BATCH_HEAD_BITS));
	/* a signal handler appended between the clock and the slot: its
	 * records come first, so this one's time must follow theirs */
	if (__builtin_expect((old ^ h0) & CTRACE_BATCH_HEAD_MASK, 0))
		clock_gettime(CLOCK_MONOTONIC, &t);
	ts = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
	i = old & CTRACE_BATCH_HEAD_MASK;
	d = ((int64_t)old >> CTRACE_BATCH_HEAD_BITS) + !exit;
	r = &b->r[i & (CTRACE_BATCH_CAP - 1)];
	r->w0 = ((uint64_t)fn & CTRACE_BATCH_FN_MASK) | ((uint64_t)d & 0xffff) << 47 |
		(exit ? CTRACE_BATCH_EXIT : 0);
	r->w1 = (ts & CTRACE_BATCH_TS_MASK) | CTRACE_BATCH_LAP(i) << 56;
	__asm__ volatile("" ::: "memory");
	(*(volatile __u64 *)&b->busy)--;
	if (__builtin_expect(((i + 1) & (CTRACE_BATCH_FLUSH - 1)) == 0, 0)) {
		/* the index wrapped past 40 bits: its carry went into the depth */
		if (!((i + 1) & CTRACE_BATCH_HEAD_MASK))
			xadd(&b->hd, -(1ull << CTRACE_BATCH_HEAD_BITS));
		ctrace_batch_flush(b);
	}
}

NI void __cyg_profile_func_enter(void *fn, void *site)
{
	(void)site;
	append(fn, 0);
}

NI void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)site;
	append(fn, 1);
}
