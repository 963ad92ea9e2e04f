/* The compact trace (.ctrace, doc/ctrace-format.md): what its writer
 * (record/ctrace_write.c) and its one reader (record/ctrace_read.c) share.
 *
 * A 48-byte header, then records. Each record starts with an op byte: the
 * record kind in the high nibble, flags in the low one. Integers are LEB128
 * varints; signed ones zigzag-encoded first. */
#ifndef CTRACE_FORMAT_H
#define CTRACE_FORMAT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "utils/xalloc.h"

#define CTRACE_FILE_MAGIC \
	"\x89"            \
	"CTRACE\n"
#define CTRACE_FILE_MAGIC_LEN 8
/* version 2 adds the EXT records; a file without any is written as 1 */
#define CTRACE_FILE_VERSION   2
#define CTRACE_FILE_VERSION_1 1
#define CTRACE_FILE_HDR_LEN   48

/* the header, little-endian fixed-width fields */
struct ctrace_file_hdr {
	uint32_t version;
	uint32_t pid;	    /* the target */
	uint64_t t0;	    /* CLOCK_MONOTONIC ns when tracing started: ts base */
	uint64_t mono_base; /* CLOCK_MONOTONIC and CLOCK_REALTIME read together */
	uint64_t real_base;
	uint32_t flags; /* CTRACE_FILE_F_* */
};
#define CTRACE_FILE_F_ARGS   1 /* --args or --retval: values need the plans */
#define CTRACE_FILE_F_ATTACH 2 /* attach mode: calls may predate tracing */
#define CTRACE_FILE_F_SRCLINE 4 /* --srcline: EXT SOURCE records name functions' lines */

/* record kinds (op >> 4) */
enum ctrace_op {
	CT_OP_ENTER = 1,      /* a call: [tid][depth][lost] fn tsdelta */
	CT_OP_EXIT = 2,	      /* [tid][depth][lost][fn] tsdelta */
	CT_OP_ARGS = 3,	      /* ENTER_ARGS: ENTER's fields, then the captures */
	CT_OP_ARGS_SMALL = 4, /* ENTER_ARGS_SMALL: likewise */
	CT_OP_RETVAL = 5,     /* [tid] fn tsdelta key rax rdx capture */
	CT_OP_RAW = 6,	      /* any other ring-buffer record: fn len bytes */
	CT_OP_CRASH = 7,      /* a crash ring-buffer record: size len bytes */
	CT_OP_FUNC = 8,	      /* id addr allowed module name */
	CT_OP_NAME = 9,	      /* at stop: tid comm (a live thread's name then) */
	CT_OP_LOST = 10,      /* at stop: tid count (BPF's per-thread loss) */
	CT_OP_TEXT = 11,      /* what/key text: JSON rendered at stop (.ctrace result) */
	CT_OP_END = 12,	      /* the recording is complete */
	CT_OP_MARK = 13,      /* n: the capture plans changed n times before what follows */
	CT_OP_EXT = 14,	      /* version 2: sub len body (a reader skips a sub it does not know) */
};

/* CT_OP_EXT: what its body holds (ctrace_model.h) */
enum ctrace_ext {
	CT_EXT_CONFIG = 1, /* flags npatterns (exclude pattern)* */
	CT_EXT_TYPES = 2,  /* first count type* */
	CT_EXT_PLAN = 3,   /* kind ...: one logged change to the capture plans */
	CT_EXT_FNPTR = 4,  /* n (addr fn)*: the next ARGS/RETVAL's function pointers */
	CT_EXT_SOURCE = 5, /* fn "FILE:LINE": --srcline, right after fn's FUNC */
	/* site ["FILE:LINE"]: --srcline, the next ENTER's call site by id (its
	 * line the first time) */
	CT_EXT_CALLSITE = 6,
};

/* op flags (op & 15) for the call records */
#define CT_F_TID   1 /* tid follows; else the previous call record's */
#define CT_F_DEPTH 2 /* depth follows; else the thread's current ±1 */
#define CT_F_LOST  4 /* the thread's loss count follows; else unchanged */
#define CT_F_FN	   8 /* EXIT: fn follows; else the one entered at that depth */

/* CT_OP_TEXT: what it holds */
enum ctrace_text {
	CT_TEXT_METADATA = 1, /* the JSON "metadata" object */
	CT_TEXT_CRASH = 2,    /* the JSON "crash" value */
	CT_TEXT_THREAD = 3,   /* key: thread index; members after "root_calls" */
};

/* implied exit functions are remembered for depths below this, and for
 * this many (thread, depth) pairs in all: beyond, exits name their function */
#define CT_MAX_IMPLIED_DEPTH 65536
#define CT_MAX_IMPLIED_TOTAL (1u << 22)
/* the reader refuses a call deeper than this (a damaged file) */
#define CT_MAX_DEPTH (1 << 20)
/* a TEXT record is at most this long; a raw or crash record, CT_MAX_RAW */
#define CT_MAX_BLOB (64u << 20)
#define CT_MAX_RAW  65536u

/* A thread's state as of its last call record: what the reader implies the
 * next record's left-out fields from, so the writer keeps the same. */
struct ct_thread {
	uint64_t last_ts;
	int32_t depth; /* after its last call record */
	uint32_t lost;
	uint32_t *ids; /* the function entered at each depth */
	uint32_t nids;
};

/* After a call record (entry to or exit from fn at depth): the state both
 * sides then hold. *nids_total counts the ids of all threads. */
static inline void ct_thread_after_call(struct ct_thread *t, uint64_t *nids_total, uint64_t ts,
					uint32_t lost, int32_t depth, bool exit, uint32_t fn)
{
	t->last_ts = ts;
	t->lost = lost;
	t->depth = exit ? depth - 1 : depth;
	if (exit || depth < 0 || depth >= CT_MAX_IMPLIED_DEPTH)
		return;
	if ((uint32_t)depth >= t->nids) {
		uint32_t n = t->nids ? t->nids : 64;

		while (n <= (uint32_t)depth)
			n *= 2;
		/* the writer and the reader make the same choice */
		if (*nids_total + (n - t->nids) <= CT_MAX_IMPLIED_TOTAL) {
			t->ids = xrealloc(t->ids, n * sizeof(*t->ids));
			memset(t->ids + t->nids, 0, (n - t->nids) * sizeof(*t->ids));
			*nids_total += n - t->nids;
			t->nids = n;
		}
	}
	if ((uint32_t)depth < t->nids)
		t->ids[depth] = fn;
}

static inline uint64_t ct_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t ct_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* p has room for 10 bytes; returns the bytes written */
static inline size_t ct_put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)v | 0x80;
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

#endif
