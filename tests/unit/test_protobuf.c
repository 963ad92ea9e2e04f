/* The protobuf encoder (write/protobuf.h): varints, fields, submessages,
 * byte for byte as the wire format defines them. */
#include "harness.h"
#include "write/protobuf.h"

/* b holds exactly the n bytes of want */
static bool bytes_are(const struct pb_buf *b, const uint8_t *want, size_t n)
{
	if (b->oom || b->len != n || memcmp(b->p, want, n)) {
		printf("got %zu bytes:", b->len);
		for (size_t i = 0; i < b->len; i++)
			printf(" %02x", b->p[i]);
		printf("\n");
		return false;
	}
	return true;
}

#define CHECK_BYTES(b, ...)                                     \
	do {                                                    \
		static const uint8_t want_[] = { __VA_ARGS__ }; \
		CHECK(bytes_are((b), want_, sizeof(want_)));    \
	} while (0)

TEST(test_varints)
{
	static const struct {
		uint64_t v;
		size_t n;
		uint8_t b[10];
	} cases[] = {
		{ 0, 1, { 0x00 } },
		{ 1, 1, { 0x01 } },
		{ 127, 1, { 0x7f } },
		{ 128, 2, { 0x80, 0x01 } },
		{ 300, 2, { 0xac, 0x02 } },
		{ 16383, 2, { 0xff, 0x7f } },
		{ 16384, 3, { 0x80, 0x80, 0x01 } },
		{ UINT32_MAX, 5, { 0xff, 0xff, 0xff, 0xff, 0x0f } },
		{ UINT64_MAX, 10, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb_buf b = { 0 };

		pb_varint(&b, cases[i].v);
		CHECK_INT(pb_varint_len(cases[i].v), cases[i].n);
		CHECK(bytes_are(&b, cases[i].b, cases[i].n));
		pb_free(&b);
	}
}

TEST(test_scalar_fields)
{
	struct pb_buf b = { 0 };

	pb_uint(&b, 1, 150); /* the wire-format documentation's example */
	CHECK_BYTES(&b, 0x08, 0x96, 0x01);
	pb_reset(&b);
	pb_int(&b, 4, -1); /* int64: two's complement, ten bytes */
	CHECK_BYTES(&b, 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	pb_reset(&b);
	pb_uint(&b, 87, 1); /* a field number over 15 takes a two-byte tag */
	CHECK_BYTES(&b, 0xb8, 0x05, 0x01);
	pb_reset(&b);
	pb_fixed64(&b, 47, 0x0102030405060708ull);
	CHECK_BYTES(&b, 0xf9, 0x02, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01);
	pb_reset(&b);
	pb_double(&b, 5, 1.0);
	CHECK_BYTES(&b, 0x29, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f);
	pb_reset(&b);
	pb_str(&b, 2, "testing");
	CHECK_BYTES(&b, 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g');
	pb_reset(&b);
	pb_str(&b, 6, "");
	CHECK_BYTES(&b, 0x32, 0x00);
	pb_free(&b);
}

TEST(test_submessages)
{
	struct pb_buf b = { 0 };
	size_t outer, inner;

	/* the documentation's nested example: field 3 holding {1: 150} */
	outer = pb_open(&b, 3);
	pb_uint(&b, 1, 150);
	pb_close(&b, outer);
	CHECK_BYTES(&b, 0x1a, 0x03, 0x08, 0x96, 0x01);

	/* nested, and empty */
	pb_reset(&b);
	outer = pb_open(&b, 1);
	inner = pb_open(&b, 11);
	pb_close(&b, inner);
	pb_uint(&b, 9, 2);
	pb_close(&b, outer);
	CHECK_BYTES(&b, 0x0a, 0x04, 0x5a, 0x00, 0x48, 0x02);
	pb_free(&b);
}

TEST(test_long_submessage_widens_its_length)
{
	struct pb_buf b = { 0 };
	char s[300];
	size_t outer, inner;

	memset(s, 'x', sizeof(s) - 1);
	s[sizeof(s) - 1] = 0;
	outer = pb_open(&b, 1);
	inner = pb_open(&b, 2);
	pb_str(&b, 6, s); /* 1 + 2 + 299 = 302 bytes */
	pb_close(&b, inner);
	pb_uint(&b, 9, 3);
	pb_close(&b, outer);
	/* outer: 1 tag + 2 length + (1 tag + 2 length + 302 + 2) */
	CHECK_INT(b.len, 3 + 3 + 302 + 2);
	CHECK_INT(b.p[0], 0x0a);
	CHECK_INT(b.p[1], (307 & 0x7f) | 0x80); /* 307 = 3 + 302 + 2 */
	CHECK_INT(b.p[2], 307 >> 7);
	CHECK_INT(b.p[3], 0x12);
	CHECK_INT(b.p[4], (302 & 0x7f) | 0x80);
	CHECK_INT(b.p[5], 302 >> 7);
	CHECK_INT(b.p[6], 0x32);
	CHECK_INT(b.p[7], (299 & 0x7f) | 0x80);
	CHECK_INT(b.p[8], 299 >> 7);
	CHECK(b.p[9] == 'x' && b.p[9 + 298] == 'x');
	CHECK_INT(b.p[b.len - 2], 0x48);
	CHECK_INT(b.p[b.len - 1], 3);
	CHECK(!b.oom);
	pb_free(&b);
}

HARNESS_MAIN("test_protobuf")
