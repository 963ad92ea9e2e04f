/* A small protobuf encoder: the wire format's varints, fixed64 and
 * length-delimited fields, appended to a growing byte buffer. Enough for the
 * Perfetto writer (write/perfetto.c); no schema, no decoding.
 * Submessages are written in place: pb_open() leaves one byte for the length
 * and pb_close() widens it when the body needed more than 127 bytes. */
#ifndef CTRACE_PROTOBUF_H
#define CTRACE_PROTOBUF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum pb_wire { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2 };

struct pb_buf {
	uint8_t *p;
	size_t len, cap;
	bool oom; /* an allocation failed: the contents are incomplete */
};

/* room for n more bytes: false (and oom set) when it cannot be had */
bool pb_grow(struct pb_buf *b, size_t n);
void pb_free(struct pb_buf *b);

static inline void pb_reset(struct pb_buf *b)
{
	b->len = 0;
}

/* v as a varint into out (at least 10 bytes): its length */
static inline size_t pb_varint_to(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static inline size_t pb_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline void pb_varint(struct pb_buf *b, uint64_t v)
{
	if (b->cap - b->len < 10 && !pb_grow(b, 10))
		return;
	b->len += pb_varint_to(b->p + b->len, v);
}

static inline void pb_tag(struct pb_buf *b, uint32_t field, enum pb_wire w)
{
	pb_varint(b, (uint64_t)field << 3 | w);
}

/* uint32/uint64/bool/enum fields */
static inline void pb_uint(struct pb_buf *b, uint32_t field, uint64_t v)
{
	pb_tag(b, field, PB_VARINT);
	pb_varint(b, v);
}

/* int32/int64: two's complement, so a negative value takes 10 bytes (not zigzag) */
static inline void pb_int(struct pb_buf *b, uint32_t field, int64_t v)
{
	pb_uint(b, field, (uint64_t)v);
}

static inline void pb_fixed64(struct pb_buf *b, uint32_t field, uint64_t v)
{
	pb_tag(b, field, PB_FIXED64);
	if (b->cap - b->len < 8 && !pb_grow(b, 8))
		return;
	for (int i = 0; i < 8; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static inline void pb_double(struct pb_buf *b, uint32_t field, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	pb_fixed64(b, field, v);
}

static inline void pb_bytes(struct pb_buf *b, uint32_t field, const void *data, size_t n)
{
	pb_tag(b, field, PB_LEN);
	pb_varint(b, n);
	if (b->cap - b->len < n && !pb_grow(b, n))
		return;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static inline void pb_str(struct pb_buf *b, uint32_t field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

/* A submessage: its tag and a one-byte length now; the mark to close it */
static inline size_t pb_open(struct pb_buf *b, uint32_t field)
{
	pb_tag(b, field, PB_LEN);
	if (b->cap - b->len < 1 && !pb_grow(b, 1))
		return b->len;
	b->p[b->len++] = 0;
	return b->len;
}

/* the length of everything since the mark: widened in place when over 127 */
void pb_close(struct pb_buf *b, size_t mark);

#endif
