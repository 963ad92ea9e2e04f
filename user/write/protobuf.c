/* The protobuf encoder's out-of-line parts: growing, and closing submessages */
#include <stdlib.h>
#include "write/protobuf.h"

bool pb_grow(struct pb_buf *b, size_t n)
{
	size_t ncap;
	uint8_t *np;

	if (b->oom)
		return false;
	if (b->cap - b->len >= n)
		return true;
	ncap = b->cap ? b->cap : 256;
	while (ncap - b->len < n) {
		if (ncap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
		ncap *= 2;
	}
	np = realloc(b->p, ncap);
	if (!np) {
		b->oom = true;
		return false;
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

void pb_free(struct pb_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void pb_close(struct pb_buf *b, size_t mark)
{
	size_t body, need;

	if (b->oom || mark == 0 || mark > b->len)
		return;
	body = b->len - mark;
	need = pb_varint_len(body);
	if (need > 1) {
		if (!pb_grow(b, need - 1))
			return;
		memmove(b->p + mark + need - 1, b->p + mark, body);
		b->len += need - 1;
	}
	pb_varint_to(b->p + mark - 1, body);
}
