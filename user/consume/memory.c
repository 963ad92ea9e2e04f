/* --memory; see memory.h. Each process has its own table of the blocks
 * seen allocated (address → size and the stack that allocated it); a free
 * of an address not in it is of a block allocated before tracing saw it
 * (an attach, the start-up before the entry point) and is only counted. A
 * realloc is the free of its old block (at its entry) and the allocation of
 * the new one (at its return): a moved block is attributed to the realloc's
 * call from then on. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "consume/memory.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "ctrace.h"
#include "rebuild/tree.h"
#include "utils/xalloc.h"
#include "write/jsonw.h"

/* a call stack that allocated: its shown open calls, outermost first
 * (NULL: a call whose entry was not observed) */
struct mstack {
	uint32_t pid;
	uint32_t n;
	const struct func_info **fns;
	uint64_t leak_bytes, leak_count; /* filled when the leaks are written */
};

#define FREED UINT32_MAX /* a block's stack once it was freed */

struct block {
	uint64_t size;
	uint32_t stack; /* index in stacks */
};

struct heap {
	uint32_t pid;
	struct u64map blocks; /* address → struct block * */
	uint64_t live_bytes;
};

struct heap_point {
	uint64_t t, bytes;
};

#define HEAP_WINDOW 1000 /* ns: the first window, once there are too many points */
#define HEAP_POINTS 65536

struct memtrack {
	struct u64map heaps;  /* pid → struct heap * */
	struct u64map byhash; /* a stack's hash → its index + 1 (then the next slots) */
	struct mstack *stacks;
	size_t nstacks, capstacks;
	uint64_t allocs, alloc_bytes, frees, free_bytes;
	uint64_t frees_unseen; /* of blocks allocated before tracing saw them */
	uint64_t reused;       /* an address allocated again before its free was seen */
	uint64_t dropped;      /* blocks dropped at an exec */
	/* the heap's size over time, every process's blocks together: after
	 * each change, until there would be more than HEAP_POINTS; then the
	 * size after the last change in each window of `window` ns (doubled,
	 * and the points merged, each time they fill up again) */
	struct heap_point *heap;
	size_t nheap;
	uint64_t window, live;
};

static struct memtrack *mt_of(struct trace *tr)
{
	if (!tr->mem) {
		tr->mem = xcalloc(1, sizeof(struct memtrack));
		tr->mem->heap = xcheck(malloc(HEAP_POINTS * sizeof(*tr->mem->heap)));
	}
	return tr->mem;
}

/* the heap is now m->live bytes, at t */
static void heap_point(struct memtrack *m, uint64_t t)
{
	struct heap_point *last = m->nheap ? &m->heap[m->nheap - 1] : NULL;

	if (last && (m->window ? last->t / m->window == t / m->window : last->t == t)) {
		*last = (struct heap_point){ t, m->live };
		return;
	}
	if (m->nheap == HEAP_POINTS) { /* a coarser series: each window's last */
		size_t n = 0;

		m->window = m->window ? m->window * 2 : HEAP_WINDOW;
		for (size_t i = 0; i < m->nheap; i++) {
			if (n && m->heap[n - 1].t / m->window == m->heap[i].t / m->window)
				n--;
			m->heap[n++] = m->heap[i];
		}
		m->nheap = n;
		heap_point(m, t);
		return;
	}
	m->heap[m->nheap++] = (struct heap_point){ t, m->live };
}

void memory_node_json(char *buf, const struct tree_mem *m)
{
	snprintf(buf, MEMORY_JSON_MAX,
		 "{\"allocs\":%" PRIu64 ",\"alloc_bytes\":%" PRIu64 ",\"frees\":%" PRIu64
		 ",\"free_bytes\":%" PRIu64 "}",
		 m->allocs, m->alloc_bytes, m->frees, m->free_bytes);
}

const struct tree_mem *memory_node_parse(const char *json, struct tree_mem *m)
{
	static const char *const keys[] = { "\"allocs\":", "\"alloc_bytes\":", "\"frees\":",
					    "\"free_bytes\":" };
	uint64_t *v[] = { &m->allocs, &m->alloc_bytes, &m->frees, &m->free_bytes };
	const char *p;

	if (!json || json[0] != '{')
		return NULL;
	*m = (struct tree_mem){ 0 };
	for (size_t i = 0; i < 4; i++)
		if ((p = strstr(json, keys[i])))
			*v[i] = strtoull(p + strlen(keys[i]), NULL, 10);
	return m;
}

void memory_enable(struct trace *tr)
{
	mt_of(tr);
}

static struct heap *heap_of(struct memtrack *m, uint32_t pid)
{
	struct heap *h = u64map_get(&m->heaps, pid);

	if (!h) {
		h = xcalloc(1, sizeof(*h));
		h->pid = pid;
		if (u64map_put(&m->heaps, pid, h))
			abort();
	}
	return h;
}

/* the innermost shown call open at depth (or above it): the one running */
static struct frame *running(struct thread_tree *t, int32_t depth)
{
	for (uint32_t i = t->nstack; i-- > 0;)
		if (t->stack[i].visible && t->stack[i].depth <= depth)
			return &t->stack[i];
	return NULL;
}

static uint64_t stack_hash(uint32_t pid, const struct func_info **fns, uint32_t n)
{
	uint64_t h = 1469598103934665603ull ^ pid;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ (uint64_t)(uintptr_t)fns[i]) * 1099511628211ull;
	return h ? h : 1;
}

/* the id of the stack of shown calls up to f (NULL: none), interned */
static uint32_t intern_stack(struct memtrack *m, struct thread_tree *t, const struct frame *f)
{
	const struct func_info *fns[256];
	uint32_t n = 0, last = f ? (uint32_t)(f - t->stack) + 1 : 0;
	uint64_t h;
	void *v;
	struct mstack *s;

	for (uint32_t i = 0; i < last && n < 256; i++)
		if (t->stack[i].visible)
			fns[n++] = t->stack[i].fn;
	h = stack_hash(t->pid, fns, n);
	for (;; h++) {
		v = u64map_get(&m->byhash, h);
		if (!v)
			break;
		s = &m->stacks[(uintptr_t)v - 1];
		if (s->pid == t->pid && s->n == n && !memcmp(s->fns, fns, n * sizeof(*fns)))
			return (uint32_t)((uintptr_t)v - 1);
	}
	if (m->nstacks == m->capstacks) {
		m->capstacks = m->capstacks ? 2 * m->capstacks : 64;
		m->stacks = xrealloc(m->stacks, m->capstacks * sizeof(*m->stacks));
	}
	s = &m->stacks[m->nstacks];
	memset(s, 0, sizeof(*s));
	s->pid = t->pid;
	s->n = n;
	s->fns = xcheck(malloc((n ? n : 1) * sizeof(*fns)));
	memcpy(s->fns, fns, n * sizeof(*fns));
	if (u64map_put(&m->byhash, h, (void *)(uintptr_t)(m->nstacks + 1)))
		abort();
	return (uint32_t)m->nstacks++;
}

static void on_alloc(struct memtrack *m, struct heap *h, struct thread_tree *t, struct frame *f,
		     const struct ctrace_mem *e)
{
	struct tree_mem *c = f ? &f->mem : &t->root_mem;
	struct block *b = u64map_get(&h->blocks, e->addr);

	c->allocs++;
	c->alloc_bytes += e->size;
	m->allocs++;
	m->alloc_bytes += e->size;
	if (b && b->stack != FREED) { /* its free was not seen (lost) */
		m->reused++;
		h->live_bytes -= b->size;
	} else if (!b) {
		b = xcheck(malloc(sizeof(*b)));
		if (u64map_put(&h->blocks, e->addr, b))
			abort();
	}
	b->size = e->size;
	b->stack = intern_stack(m, t, f);
	h->live_bytes += e->size;
}

static void live_change(struct memtrack *m, uint64_t before, uint64_t after)
{
	m->live = m->live - before + after;
}

static void on_free(struct memtrack *m, struct heap *h, struct thread_tree *t, struct frame *f,
		    const struct ctrace_mem *e)
{
	struct tree_mem *c = f ? &f->mem : &t->root_mem;
	struct block *b = u64map_get(&h->blocks, e->addr);

	c->frees++;
	m->frees++;
	if (!b || b->stack == FREED) {
		m->frees_unseen++;
		return;
	}
	c->free_bytes += b->size;
	m->free_bytes += b->size;
	h->live_bytes -= b->size;
	b->stack = FREED; /* u64map has no removal: the slot is kept, marked */
}

void memory_on_event(struct trace *tr, struct thread_tree *t, const struct ctrace_mem *e,
		     uint64_t ts)
{
	struct memtrack *m = mt_of(tr);
	struct heap *h = heap_of(m, t->pid);
	struct frame *f = running(t, e->depth);

	uint64_t before = h->live_bytes;

	if (e->lost > t->lost)
		t->lost = e->lost;
	if (e->h.kind == CTRACE_EV_ALLOC)
		on_alloc(m, h, t, f, e);
	else
		on_free(m, h, t, f, e);
	if (h->live_bytes != before) {
		live_change(m, before, h->live_bytes);
		heap_point(m, ts);
	}
}

void memory_on_exec(struct trace *tr, uint32_t pid)
{
	struct memtrack *m = tr->mem;
	struct heap *h = m ? u64map_get(&m->heaps, pid) : NULL;
	uint64_t k;
	void *v;

	if (!h)
		return;
	for (size_t it = 0; u64map_next(&h->blocks, &it, &k, &v);) {
		struct block *b = v;

		m->dropped += b->stack != FREED;
		b->stack = FREED;
	}
	live_change(m, h->live_bytes, 0);
	h->live_bytes = 0;
}

/* the blocks never freed, counted into their stacks; the stacks' indexes
 * that hold some, largest first */
static size_t tally(struct memtrack *m, uint32_t **order)
{
	size_t n = 0;
	uint64_t k;
	void *v, *bv;

	for (size_t i = 0; i < m->nstacks; i++)
		m->stacks[i].leak_bytes = m->stacks[i].leak_count = 0;
	for (size_t it = 0; u64map_next(&m->heaps, &it, &k, &v);) {
		struct heap *h = v;

		for (size_t jt = 0; u64map_next(&h->blocks, &jt, &k, &bv);) {
			struct block *b = bv;

			if (b->stack == FREED)
				continue;
			m->stacks[b->stack].leak_bytes += b->size;
			m->stacks[b->stack].leak_count++;
		}
	}
	*order = xcheck(malloc((m->nstacks ? m->nstacks : 1) * sizeof(**order)));
	for (size_t i = 0; i < m->nstacks; i++)
		if (m->stacks[i].leak_count)
			(*order)[n++] = (uint32_t)i;
	return n;
}

static const struct memtrack *sort_m;

static int by_size(const void *a, const void *b)
{
	const struct mstack *x = &sort_m->stacks[*(const uint32_t *)a];
	const struct mstack *y = &sort_m->stacks[*(const uint32_t *)b];

	if (x->leak_bytes != y->leak_bytes)
		return x->leak_bytes > y->leak_bytes ? -1 : 1;
	if (x->leak_count != y->leak_count)
		return x->leak_count > y->leak_count ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static uint64_t total_lost(const struct trace *tr)
{
	uint64_t n = 0;

	for (size_t i = 0; i < tr->nthreads; i++)
		n += tr->threads[i]->lost;
	return n;
}

static void write_leaks(FILE *f, const struct trace *tr)
{
	struct memtrack *m = tr->mem;
	uint64_t bytes = 0, blocks = 0;
	uint32_t *order;
	size_t n;

	n = tally(m, &order);
	sort_m = m;
	qsort(order, n, sizeof(*order), by_size);
	for (size_t i = 0; i < n; i++) {
		bytes += m->stacks[order[i]].leak_bytes;
		blocks += m->stacks[order[i]].leak_count;
	}
	fputc('{', f);
	jsonw_key(f, "bytes");
	jsonw_u64(f, bytes);
	jsonw_member_u64(f, "blocks", blocks);
	jsonw_member_u64(f, "allocs", m->allocs);
	jsonw_member_u64(f, "alloc_bytes", m->alloc_bytes);
	jsonw_member_u64(f, "frees", m->frees);
	jsonw_member_u64(f, "free_bytes", m->free_bytes);
	jsonw_member_u64(f, "frees_unseen", m->frees_unseen);
	jsonw_member_u64(f, "lost_events", total_lost(tr));
	fputs(",\"stacks\":[", f);
	for (size_t i = 0; i < n; i++) {
		const struct mstack *s = &m->stacks[order[i]];

		fputs(i ? ",{" : "{", f);
		jsonw_key(f, "pid");
		jsonw_u64(f, s->pid);
		jsonw_member_u64(f, "bytes", s->leak_bytes);
		jsonw_member_u64(f, "count", s->leak_count);
		fputs(",\"stack\":[", f);
		for (uint32_t j = 0; j < s->n; j++) {
			if (j)
				fputc(',', f);
			jsonw_cstr(f, s->fns[j] ? s->fns[j]->name : "[unknown]");
		}
		fputs("]}", f);
	}
	fputs("],\"heap\":[", f);
	for (size_t i = 0; i < m->nheap; i++)
		fprintf(f, "%s[%" PRIu64 ",%" PRIu64 "]", i ? "," : "", m->heap[i].t,
			m->heap[i].bytes);
	fputs("]}", f);
	free(order);
}

void memory_write_leaks(FILE *f, const struct trace *tr)
{
	if (!tr->mem)
		return;
	fputs(",\"leaks\":", f);
	write_leaks(f, tr);
}

char *memory_leaks_json(const struct trace *tr)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (!tr->mem || !(m = open_memstream(&buf, &len)))
		return NULL;
	write_leaks(m, tr);
	if (fclose(m)) {
		free(buf);
		return NULL;
	}
	return buf;
}

void memory_report(const struct trace *tr, FILE *err)
{
	struct memtrack *m = tr->mem;
	uint64_t bytes = 0, blocks = 0, lost;
	uint32_t *order;
	size_t n;

	if (!m)
		return;
	n = tally(m, &order);
	for (size_t i = 0; i < n; i++) {
		bytes += m->stacks[order[i]].leak_bytes;
		blocks += m->stacks[order[i]].leak_count;
	}
	free(order);
	lost = total_lost(tr);
	fprintf(err,
		"ctrace-bpf: memory: %" PRIu64 " allocations (%" PRIu64 " bytes), %" PRIu64
		" frees; never freed: %" PRIu64 " bytes in %" PRIu64 " blocks from %zu call "
		"stacks (\"leaks\")%s\n",
		m->allocs, m->alloc_bytes, m->frees, bytes, blocks, n,
		lost ? ", incomplete: events were lost" : "");
}

void memory_free(struct trace *tr)
{
	struct memtrack *m = tr->mem;
	uint64_t k;
	void *v, *bv;

	if (!m)
		return;
	for (size_t it = 0; u64map_next(&m->heaps, &it, &k, &v);) {
		struct heap *h = v;

		for (size_t jt = 0; u64map_next(&h->blocks, &jt, &k, &bv);)
			free(bv);
		u64map_free(&h->blocks);
		free(h);
	}
	for (size_t i = 0; i < m->nstacks; i++)
		free(m->stacks[i].fns);
	free(m->stacks);
	free(m->heap);
	u64map_free(&m->heaps);
	u64map_free(&m->byhash);
	free(m);
	tr->mem = NULL;
}
