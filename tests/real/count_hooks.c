/* Ground truth for the real-program tests: LD_PRELOADed into a program built
 * with -finstrument-functions, these hooks count the entries and exits of
 * every function, per thread, in the same run that ctrace-bpf traces (with
 * --probe callsite, which does not need the hooks to be its own).
 *
 * A real program makes millions of calls, so nothing is logged: each thread
 * has an open-addressing table {this_fn, entries, exits} of its own, and the
 * tables live in a file mapping (MAP_SHARED), so the counts are on disk however
 * the process ends: exit(), _exit() (shells), a signal. One file per process
 * image, "$CTRACE_COUNTS.PID.N" (N = 0, 1, ... for the images an exec starts);
 * a forked child starts a file of its own with zero counts. Layout
 * (little-endian u64 words, read by tests/real/counts.py):
 *     header: magic, pid, threads claimed, tables overflowed, 4 spare
 *     per thread: tid, sequence, used, spare, then SLOTS x {fn, entries, exits}
 * vfork() is made a fork(): a vfork child shares the parent's memory, so its
 * calls would be counted in the parent's table while the tracer sees another
 * process.
 *
 * --probe batch records in the hooks themselves, so there these hooks are
 * also the tracer's: built with -DCOUNT_BATCH into a libctrace-hooks-batch.so
 * of the tests' own (build.sh), with user/preload/batch-hooks.c compiled with
 * its hooks renamed ctrace_batch_enter/exit, each hook appends first and
 * counts after, as a probe on the call comes before the hook's body: a signal
 * whose handler kills the process can overtake the count of an event traced
 * already (counts.hook_window), never the other way round. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOI __attribute__((no_instrument_function))
#define MAGIC 0x53544e554f434354ULL   /* "CTCOUNTS" */
#define SLOTS 16384u                  /* per thread; a power of two */
#define MAX_THREADS 256u
#define HDR_WORDS 8u
#define THR_WORDS (4u + 3u * SLOTS)

struct thr {
	uint64_t tid, seq, used, spare;
	uint64_t slot[SLOTS][3];
};

static uint64_t *volatile file_map;     /* the process's mapping, or NULL */
static int init_lock;
static __thread struct thr *self;       /* this thread's table */

NOI static uint64_t *open_counts(void)
{
	size_t size = (HDR_WORDS + (size_t)MAX_THREADS * THR_WORDS) * 8;
	const char *prefix = getenv("CTRACE_COUNTS");
	char path[4096];
	uint64_t *map;
	int fd = -1;

	if (!prefix)
		return NULL;
	for (int n = 0; n < 100 && fd < 0; n++) {
		snprintf(path, sizeof(path), "%s.%d.%d", prefix, (int)getpid(), n);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
		abort();
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		abort();
	map[0] = MAGIC;
	map[1] = (uint64_t)getpid();
	return map;
}

NOI static struct thr *thread_table(void)
{
	uint64_t *map = file_map, n;

	if (!map) {
		while (__atomic_exchange_n(&init_lock, 1, __ATOMIC_ACQUIRE))
			;
		if (!file_map)
			file_map = open_counts();
		__atomic_store_n(&init_lock, 0, __ATOMIC_RELEASE);
		map = file_map;
		if (!map)
			return NULL;
	}
	n = __atomic_fetch_add(&map[2], 1, __ATOMIC_RELAXED);
	if (n >= MAX_THREADS)
		abort();
	self = (struct thr *)(map + HDR_WORDS + n * THR_WORDS);
	self->tid = (uint64_t)gettid();
	self->seq = n;
	return self;
}

NOI static void count(void *fn, int which)
{
	struct thr *t = self;
	uint64_t key = (uint64_t)(uintptr_t)fn, h;

	if (!t)
		t = thread_table();
	if (!t)
		return;
	h = (key * 0x9e3779b97f4a7c15ULL) >> 50;
	for (uint32_t i = 0; i < SLOTS; i++) {
		uint64_t *s = t->slot[(h + i) & (SLOTS - 1)];
		uint64_t cur = __atomic_load_n(&s[0], __ATOMIC_RELAXED), empty = 0;

		/* a signal handler's hooks may interrupt this thread's own: the
		 * claim and the counts are atomic against it */
		if (cur == 0 && __atomic_compare_exchange_n(&s[0], &empty, key, 0, __ATOMIC_RELAXED,
							    __ATOMIC_RELAXED)) {
			__atomic_fetch_add(&t->used, 1, __ATOMIC_RELAXED);
			cur = key;
		} else if (cur == 0) {
			cur = empty;
		}
		if (cur == key) {
			__atomic_fetch_add(&s[1 + which], 1, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_fetch_add(&file_map[3], 1, __ATOMIC_RELAXED);   /* table full */
}

#ifdef COUNT_BATCH
void ctrace_batch_enter(void *fn, void *site);
void ctrace_batch_exit(void *fn, void *site);
#define RECORD(hook, fn, site) hook(fn, site)
#else
#define RECORD(hook, fn, site) ((void)(site))
#endif

NOI void __cyg_profile_func_enter(void *fn, void *site)
{
	RECORD(ctrace_batch_enter, fn, site);
	count(fn, 0);
}

NOI void __cyg_profile_func_exit(void *fn, void *site)
{
	RECORD(ctrace_batch_exit, fn, site);
	count(fn, 1);
}

/* The child of a fork counts in a file of its own, from zero. */
NOI static void after_fork_child(void)
{
	file_map = NULL;   /* the parent's mapping stays mapped, unused */
	init_lock = 0;
	self = NULL;
}

NOI pid_t vfork(void)
{
	return fork();
}

__attribute__((constructor)) NOI static void setup(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}
