/* Unit tests for user/find/keep_expr.c: --keep-if conditions, --min-duration values. */
#include <string.h>

#include "harness.h"
#include "find/keep_expr.h"

/* the operands of one call: retval, duration, arg.fd; unknown: unreadable */
struct call {
	long long retval, duration, fd;
	bool no_retval, no_fd;
};

static int lookup(void *ctx, const struct keep_node *t, struct keep_val *v)
{
	const struct call *c = ctx;

	memset(v, 0, sizeof(*v));
	switch (t->what) {
	case KEEP_RETVAL: v->i = c->retval; return c->no_retval ? -1 : 0;
	case KEEP_DURATION: v->i = c->duration; return 0;
	case KEEP_ARG: v->i = c->fd; return c->no_fd || strcmp(t->arg, "fd") ? -1 : 0;
	}
	return -1;
}

static int eval(const char *text, struct call c)
{
	struct keep_rule r;
	char err[256];
	int rc;

	if (keep_rule_parse(&r, text, err, sizeof(err))) {
		printf("  %s: %s\n", text, err);
		return -2;
	}
	rc = keep_rule_eval(&r, lookup, &c);
	keep_rule_free(&r);
	return rc;
}

static const char *error_of(const char *text)
{
	static char err[256];
	struct keep_rule r;

	if (!keep_rule_parse(&r, text, err, sizeof(err))) {
		keep_rule_free(&r);
		return "(parsed)";
	}
	return err;
}

TEST(test_durations)
{
	uint64_t ns = 0;
	const char *bad;

	CHECK_INT(keep_parse_duration("500us", &ns, &bad), 0);
	CHECK_INT(ns, 500000);
	CHECK_INT(keep_parse_duration("2ms", &ns, &bad), 0);
	CHECK_INT(ns, 2000000);
	CHECK_INT(keep_parse_duration("1.5s", &ns, &bad), 0);
	CHECK_INT(ns, 1500000000);
	CHECK_INT(keep_parse_duration("100ns", &ns, &bad), 0);
	CHECK_INT(ns, 100);
	CHECK_INT(keep_parse_duration("0ns", &ns, &bad), 0);
	CHECK_INT(ns, 0);
	CHECK_INT(keep_parse_duration("5", &ns, &bad), -1);
	CHECK_INT(keep_parse_duration("5m", &ns, &bad), -1);
	CHECK_INT(keep_parse_duration("ms", &ns, &bad), -1);
	CHECK_INT(keep_parse_duration("-1ms", &ns, &bad), -1);
	CHECK_INT(keep_parse_duration("1.ms", &ns, &bad), -1);
	CHECK_INT(keep_parse_duration("5msx", &ns, &bad), -1);
	CHECK_INT(keep_parse_duration("2ms ", &ns, &bad), -1);
	CHECK_STR(bad, " ");
	CHECK_INT(keep_parse_duration("99999999999s", &ns, &bad), -1);
}

TEST(test_single_comparisons)
{
	struct call c = { .retval = -1, .duration = 6000000, .fd = 3 };

	CHECK_INT(eval("read: retval < 0", c), 1);
	CHECK_INT(eval("read:retval<0", c), 1);
	CHECK_INT(eval("read: retval >= 0", c), 0);
	CHECK_INT(eval("read: retval == -1", c), 1);
	CHECK_INT(eval("read: retval != -1", c), 0);
	CHECK_INT(eval("read: retval <= -0x1", c), 1);
	CHECK_INT(eval("read: retval == NULL", c), 0);
	CHECK_INT(eval("read: duration > 5ms", c), 1);
	CHECK_INT(eval("read: duration > 6ms", c), 0);
	CHECK_INT(eval("read: duration >= 6000us", c), 1);
	CHECK_INT(eval("read: arg.fd == 3", c), 1);
	CHECK_INT(eval("read: arg.fd == 0x3", c), 1);
	CHECK_INT(eval("read: arg.fd > 3", c), 0);
	c.retval = 0;
	CHECK_INT(eval("read: retval == NULL", c), 1);
}

TEST(test_unsigned_and_signed)
{
	struct call c = { .retval = -1 };

	/* a 64-bit all-ones literal is not -1: values compare as integers */
	CHECK_INT(eval("f: retval == 0xffffffffffffffff", c), 0);
	CHECK_INT(eval("f: retval < 0xffffffffffffffff", c), 1);
}

TEST(test_and_or_unknown)
{
	struct call c = { .retval = -1, .duration = 10, .fd = 3, .no_fd = true };

	CHECK_INT(eval("f: retval < 0 && duration < 1us", c), 1);
	CHECK_INT(eval("f: retval < 0 && duration > 1us", c), 0);
	CHECK_INT(eval("f: retval >= 0 || duration < 1us", c), 1);
	/* an unreadable operand decides only when the rest does not */
	CHECK_INT(eval("f: arg.fd == 3", c), -1);
	CHECK_INT(eval("f: retval < 0 || arg.fd == 3", c), 1);
	CHECK_INT(eval("f: retval > 0 && arg.fd == 3", c), 0);
	CHECK_INT(eval("f: retval < 0 && arg.fd == 3", c), -1);
	CHECK_INT(eval("f: arg.fd == 3 || retval > 0", c), -1);
	/* && binds tighter than ||; parentheses group */
	CHECK_INT(eval("f: retval > 0 && duration > 1us || retval < 0", c), 1);
	CHECK_INT(eval("f: retval > 0 && (duration > 1us || retval < 0)", c), 0);
	CHECK_INT(eval("f: ((retval < 0))", c), 1);
}

TEST(test_rule_parts)
{
	struct keep_rule r;
	char err[256];

	CHECK_INT(keep_rule_parse(&r, "  ns::Foo::bar :arg.len_2 > 4", err, sizeof(err)), 0);
	CHECK_STR(r.func, "ns::Foo::bar");
	CHECK(r.needs_args);
	CHECK(!r.needs_retval);
	CHECK_STR(r.nodes[r.root].arg, "len_2");
	keep_rule_free(&r);
	CHECK_INT(keep_rule_parse(&r, "f: retval == 1 || duration < 1s", err, sizeof(err)), 0);
	CHECK(!r.needs_args);
	CHECK(r.needs_retval);
	keep_rule_free(&r);
}

TEST(test_errors_point_at_the_token)
{
	CHECK_STR(error_of("read: retval <> 0"), "expected a comparison at '<> 0'");
	CHECK_STR(error_of("read: retval = 0"), "expected a comparison at '= 0'");
	CHECK_STR(error_of("read: retval 0"), "expected a comparison at '0'");
	CHECK_STR(error_of("read: ret < 0"), "expected retval, duration or arg.NAME at 'ret < 0'");
	CHECK_STR(error_of("read: arg. == 0"),
		  "expected retval, duration or arg.NAME at 'arg. == 0'");
	CHECK_STR(error_of("read: retval < x"), "expected a number or NULL at 'x'");
	CHECK_STR(error_of("read: retval < 5ms"),
		  "expected a whole number (decimal or 0x hex) or NULL at '5ms'");
	CHECK_STR(error_of("read: duration > 5"),
		  "expected a duration with its unit (ns, us, ms, s) at '5'");
	CHECK_STR(error_of("read: retval < 0 &&"),
		  "expected retval, duration or arg.NAME at the end");
	CHECK_STR(error_of("read: retval < 0 and 1"), "expected &&, || or the end at 'and 1'");
	CHECK_STR(error_of("read: (retval < 0"), "expected ')' at the end");
	CHECK_STR(error_of("read: "), "expected retval, duration or arg.NAME at the end");
	CHECK_STR(error_of("read retval < 0"),
		  "expected 'FUNC: CONDITION', e.g. 'read_file: retval < 0'");
	CHECK_STR(error_of(": retval < 0"), "expected a function name before ':'");
	CHECK_STR(error_of("read: retval < 99999999999999999999"),
		  "expected a whole number (decimal or 0x hex) or NULL at '99999999999999999999'");
}

HARNESS_MAIN("test_keep_expr")
