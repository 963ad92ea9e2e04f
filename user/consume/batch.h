/* --probe batch: BATCH records (include/ctrace.h) decoded into the call
 * records the per-event probes send, for the shared consumer. */
#ifndef CTRACE_CONSUME_BATCH_H
#define CTRACE_CONSUME_BATCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "utils/u64map.h"

struct trace;

struct batch_decoder {
	struct trace *tr;
	int32_t max_depth;  /* -D: deeper calls are not passed on (0: no limit) */
	struct u64map thr;  /* tid → struct batch_thread */
	uint64_t unwritten; /* slots copied before the hooks wrote them: lost */
	uint64_t stops;	    /* BPF's batch_stops when last looked at */
};

void batch_decoder_init(struct batch_decoder *d, struct trace *tr, int32_t max_depth);
void batch_decoder_free(struct batch_decoder *d);
/* the ring buffer's callback (ctx: a batch_decoder): BATCH records become
 * ENTER/EXIT records for trace_on_event, the others go to it as they are */
int batch_on_event(void *ctx, void *data, size_t size);
struct ring_buffer;
struct ctrace_bpf;
/* The processes BPF stopped for want of room in the ring buffer: drain it,
 * then continue them. force: look even if BPF counted no new stop */
void batch_resume(struct batch_decoder *d, struct ctrace_bpf *skel, struct ring_buffer *rb,
		  bool force);
/* the largest copy (records) for a ring buffer of size bytes */
uint32_t batch_chunk_for(uint64_t size);
/* the events of tid lost in its buffer (slots never written), which BPF
 * does not count */
uint64_t batch_thread_lost(const struct batch_decoder *d, uint32_t tid);

#endif
