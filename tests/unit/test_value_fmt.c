/* value_fmt on hand-built C++ types whose JSON keys could clash: a base
 * class and a member of the same name (`struct B : A { int A; }` is valid
 * C++), and the usual case where they differ. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "value_fmt.h"

static const struct vtype INT = { .kind = VT_INT, .size = 4, .is_signed = true, .name = "int" };
static const struct vmember A_MEMBERS[] = { { .name = "x", .type = &INT, .offset = 0 } };
static const struct vtype A = { .kind = VT_STRUCT, .size = 4, .nmembers = 1, .cxx = true,
				.name = "A", .members = A_MEMBERS };

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

int main(void)
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
	const struct vtype b_clash = { .kind = VT_STRUCT, .size = 8, .nmembers = 2, .cxx = true,
				       .name = "B", .members = clash };
	const struct vtype b_plain = { .kind = VT_STRUCT, .size = 8, .nmembers = 2, .cxx = true,
				       .name = "B", .members = plain };
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
	HARNESS_MAIN_END("value_fmt");
}
