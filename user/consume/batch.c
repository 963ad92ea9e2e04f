/* --probe batch: a BATCH record holds a thread's records as the hooks wrote
 * them (16 bytes each: function, exit bit, the depth's low 16 bits, the
 * timestamp's low 56 bits and the slot's lap). Each becomes the
 * ctrace_call BPF would have sent for it, so the record, the tree builder
 * and every writer are the per-event modes' own. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "consume/batch.h"
#include "ctrace.skel.h"
#include "consume/trace.h"
#include "ctrace.h"

struct batch_thread {
	int64_t raw;   /* the raw depth after the last record decoded */
	uint32_t lost; /* slots this thread lost before they were written */
};

void batch_decoder_init(struct batch_decoder *d, struct trace *tr, int32_t max_depth)
{
	memset(d, 0, sizeof(*d));
	d->tr = tr;
	d->max_depth = max_depth;
}

void batch_decoder_free(struct batch_decoder *d)
{
	uint64_t key;
	void *val;

	for (size_t it = 0; u64map_next(&d->thr, &it, &key, &val);)
		free(val);
	u64map_free(&d->thr);
}

static struct batch_thread *thread_of(struct batch_decoder *d, uint32_t tid)
{
	struct batch_thread *t = u64map_get(&d->thr, tid);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (t && u64map_put(&d->thr, tid, t)) {
		free(t);
		t = NULL;
	}
	return t;
}

/* the full value nearest to near whose low 16 bits are low */
static int64_t widen16(int64_t near, uint64_t low)
{
	return near + (int16_t)(uint16_t)(low - (uint64_t)near);
}

/* the full timestamp of a record copied at copy_ts (never later than that) */
static uint64_t widen_ts(uint64_t copy_ts, uint64_t low)
{
	uint64_t ts = (copy_ts & ~CTRACE_BATCH_TS_MASK) | low;

	return ts > copy_ts && ts > CTRACE_BATCH_TS_MASK ? ts - CTRACE_BATCH_TS_MASK - 1 : ts;
}

static void decode(struct batch_decoder *d, const struct ctrace_batch *b)
{
	struct batch_thread *t = thread_of(d, b->h.tid);
	struct ctrace_call c = { .h = { .tid = b->h.tid } };
	int64_t raw;

	if (!t)
		return;
	raw = b->d0 == CTRACE_BATCH_D0_CONT ? t->raw : b->d0;
	for (uint32_t k = 0; k < b->n; k++) {
		const struct ctrace_batch_rec *r = &b->r[k];
		bool exit = r->w0 & CTRACE_BATCH_EXIT;
		int64_t depth;

		if (r->w1 >> 56 != CTRACE_BATCH_LAP(b->first + k)) {
			/* reserved, not yet written when BPF copied it: a signal
			 * handler ran in the middle of its append */
			t->lost++;
			d->unwritten++;
			continue;
		}
		depth = widen16(exit ? raw : raw + 1, (r->w0 >> 47) & 0xffff);
		raw = exit ? depth - 1 : depth;
		c.h.kind = exit ? CTRACE_EV_EXIT : CTRACE_EV_ENTER;
		c.h.ts = widen_ts(b->h.ts, r->w1 & CTRACE_BATCH_TS_MASK);
		c.fn = r->w0 & CTRACE_BATCH_FN_MASK;
		c.depth = (int32_t)(depth - b->adj);
		c.lost = b->lost + t->lost;
		if (d->max_depth && c.depth > d->max_depth)
			continue;
		trace_on_event(d->tr, &c, sizeof(c));
	}
	t->raw = raw;
}

int batch_on_event(void *ctx, void *data, size_t size)
{
	struct batch_decoder *d = ctx;
	const struct ctrace_batch *b = data;

	if (size < sizeof(struct ctrace_hdr) || b->h.kind != CTRACE_EV_BATCH)
		return trace_on_event(d->tr, data, size);
	if (size < sizeof(*b) || b->n > (size - sizeof(*b)) / sizeof(b->r[0]))
		return 0;
	decode(d, b);
	return 0;
}

uint64_t batch_thread_lost(const struct batch_decoder *d, uint32_t tid)
{
	const struct batch_thread *t = u64map_get(&d->thr, tid);

	return t ? t->lost : 0;
}

void batch_resume(struct batch_decoder *d, struct ctrace_bpf *skel, struct ring_buffer *rb,
		  bool force)
{
	int fd = bpf_map__fd(skel->maps.batch_stopped);
	uint64_t stops = skel->bss->batch_stops;
	__u32 key, next;
	bool first = true;

	if (stops == d->stops && !force)
		return;
	d->stops = stops;
	ring_buffer__consume(rb);
	/* deleting as we go: each step starts from the first key again */
	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		bpf_map_delete_elem(fd, &next);
		kill((pid_t)next, SIGCONT);
		first = true;
	}
}

uint32_t batch_chunk_for(uint64_t size)
{
	static const uint32_t tiers[] = { CTRACE_BATCH_CAP, 256, 16 };

	for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++)
		if (sizeof(struct ctrace_batch) + tiers[i] * sizeof(struct ctrace_batch_rec) <=
		    size / 8)
			return tiers[i];
	return 16;
}
