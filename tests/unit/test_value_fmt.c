/* value_fmt on hand-built C++ types whose JSON keys could clash: a base
 * class and a member of the same name (`struct B : A { int A; }` is valid
 * C++), and the usual case where they differ. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "write/value_fmt.h"

static const struct vtype INT = { .kind = VT_INT, .size = 4, .is_signed = true, .name = "int" };
static const struct vmember A_MEMBERS[] = { { .name = "x", .type = &INT, .offset = 0 } };
static const struct vtype A = {
	.kind = VT_STRUCT, .size = 4, .nmembers = 1, .cxx = true, .name = "A", .members = A_MEMBERS
};

static char *format(const struct vtype *t, const void *buf, size_t len)
{
	struct vfmt_opts o = { 0 };
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	if (!f)
		return NULL;
	vfmt_value(f, t, buf, len, &o);
	fclose(f);
	return out;
}

static const struct vtype CHAR = { .kind = VT_CHAR, .size = 1, .is_signed = true, .name = "char" };
static const struct vtype CCHAR = { .kind = VT_QUAL, .quals = VTQ_CONST, .target = &CHAR };
static const struct vtype STR = { .kind = VT_POINTER, .size = 8, .target = &CCHAR };
static const struct vtype STRS2 = { .kind = VT_ARRAY, .size = 16, .count = 2, .target = &STR };
static const struct vmember IN_MEMBERS[] = { { .name = "b", .type = &STR, .offset = 0 } };
static const struct vtype IN = {
	.kind = VT_STRUCT, .size = 8, .nmembers = 1, .name = "in", .members = IN_MEMBERS
};
/* struct rec { const char *a; int n; struct in in; const char *arr[2]; int bits : 3; } */
static const struct vmember REC_MEMBERS[] = {
	{ .name = "a", .type = &STR, .offset = 0 },
	{ .name = "n", .type = &INT, .offset = 8 },
	{ .name = "in", .type = &IN, .offset = 16 },
	{ .name = "arr", .type = &STRS2, .offset = 24 },
	{ .name = "bits", .type = &INT, .offset = 40, .bit_size = 3 },
};
static const struct vtype REC = {
	.kind = VT_STRUCT, .size = 48, .nmembers = 5, .name = "rec", .members = REC_MEMBERS
};

static bool collect(void *ctx, uint32_t off)
{
	uint32_t *v = ctx;

	if (v[0] == 3)
		return false; /* room for three: the walk stops */
	v[++v[0]] = off;
	return true;
}

/* char * members: where they are, and how their strings are written */
TEST(test_member_strings)
{
	uint32_t found[5] = { 0 };
	uint64_t bytes[6] = { 0x1000, 7, 0, 0x2000, 0x3000, 0 };
	static const char cafe[] = "caf\xe9";
	struct vfmt_str strs[3] = {
		{ .at = &bytes[0], .str = "hello", .len = 5, .truncated = true },
		{ .at = &bytes[3], .err = -14 },
		{ .at = &bytes[2], .str = "never", .len = 5 }, /* NULL: no string shown */
	};
	struct vfmt_capture cap = {
		.val = bytes, .val_len = 48, .strs = strs, .nstrs = 3, .strs_why = "past the slots"
	};
	char *out = NULL;
	size_t n = 0;
	FILE *f;

	vtype_member_strings(&REC, 48, collect, found);
	CHECK_INT(found[0], 3);
	CHECK_INT(found[1], 0);
	CHECK_INT(found[2], 16);
	CHECK_INT(found[3], 24);
	found[0] = 0;
	vtype_member_strings(&REC, 32, collect, found); /* arr[1] is past the bytes */
	CHECK_INT(found[0], 3);
	found[0] = 0;
	vtype_member_strings(&STR, 8, collect, found); /* a string itself: not a member */
	CHECK_INT(found[0], 0);

	f = open_memstream(&out, &n);
	if (!f)
		return;
	vfmt_arg(f, "r", NULL, &REC, &cap, NULL, NULL);
	fclose(f);
	CHECK_STR(out,
		  "{\"name\":\"r\",\"type\":\"struct rec\",\"value\":{"
		  "\"a\":{\"value\":\"hello\",\"address\":\"0x1000\",\"truncated\":true},\"n\":7,"
		  "\"in\":{\"b\":{\"value\":null,\"address\":\"0x0\"}},"
		  "\"arr\":[{\"value\":null,\"address\":\"0x2000\",\"unavailable\":"
		  "\"cannot read the string at 0x2000: Bad address\"},"
		  "{\"value\":null,\"address\":\"0x3000\",\"unavailable\":\"past the slots\"}],"
		  "\"bits\":0}}");
	free(out);

	/* invalid UTF-8 is replaced (U+FFFD), never passed on */
	strs[0].str = cafe;
	strs[0].len = 4;
	strs[0].truncated = false;
	out = NULL;
	f = open_memstream(&out, &n);
	if (!f)
		return;
	vfmt_arg(f, NULL, NULL, &IN,
		 &(struct vfmt_capture){ .val = bytes, .val_len = 8, .strs = strs, .nstrs = 1 },
		 NULL, NULL);
	fclose(f);
	CHECK_STR(out, "{\"type\":\"struct in\",\"value\":{\"b\":{\"value\":\"caf\xef\xbf\xbd\","
		       "\"address\":\"0x1000\"}}}");
	free(out);
}

/* a base class and a member of the same name */
TEST(test_base_named_like_member)
{
	const int32_t bytes[2] = { 1, 2 };
	const struct vmember clash[] = {
		{ .type = &A, .offset = 0, .is_base = true },
		{ .name = "A", .type = &INT, .offset = 4 },
	};
	const struct vmember plain[] = {
		{ .type = &A, .offset = 0, .is_base = true },
		{ .name = "y", .type = &INT, .offset = 4 },
	};
	const struct vtype b_clash = { .kind = VT_STRUCT,
				       .size = 8,
				       .nmembers = 2,
				       .cxx = true,
				       .name = "B",
				       .members = clash };
	const struct vtype b_plain = { .kind = VT_STRUCT,
				       .size = 8,
				       .nmembers = 2,
				       .cxx = true,
				       .name = "B",
				       .members = plain };
	char *s;

	s = format(&b_clash, bytes, sizeof(bytes));
	CHECK_STR(s, "{\"base A\":{\"x\":1},\"A\":2}");
	free(s);
	s = format(&b_plain, bytes, sizeof(bytes));
	CHECK_STR(s, "{\"A\":{\"x\":1},\"y\":2}");
	free(s);
	/* cut short: the member past the end is left out, the base is whole */
	s = format(&b_plain, bytes, 4);
	CHECK_STR(s, "{\"A\":{\"x\":1}}");
	free(s);
}

HARNESS_MAIN("value_fmt")
