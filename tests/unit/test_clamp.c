/* Unit tests for source_walk_clamped (user/write/clamp.c), the one clamping
 * step in front of chrome, speedscope and perfetto: every call passes with a
 * start and an end, made-up ones marked; before a thread's first known time
 * a missing start is that time, after it just after the latest one; a
 * missing end is just before the next known time and after all inside; the
 * events that wait come out in order; a thread with no time ends with the
 * trace. */
#include <stdint.h>
#include <stdlib.h>

#include "cmds/jsonread.h"
#include "harness.h"
#include "trace_recorder.h"

struct clog {
	char s[2048];
};

static void put(struct clog *l, const char *fmt, const char *name, uint64_t t, bool a, bool b)
{
	size_t len = strlen(l->s);

	snprintf(l->s + len, sizeof(l->s) - len, fmt, name ? name : "?", (unsigned long long)t,
		 a ? "*" : "", b ? "*" : "");
}

static int on_open(void *ctx, const struct trace_node *n, size_t depth)
{
	(void)depth;
	if (!n->has_start)
		return -1;
	put(ctx, "(%s %llu%s%s ", n->function, n->start_ns, n->start_clamped, false);
	return 0;
}

/* "name end" and a "*" per made-up time: start, end */
static int on_close(void *ctx, const struct trace_node *n, size_t depth)
{
	(void)depth;
	if (!n->has_start || !n->has_end)
		return -1;
	put(ctx, "%s %llu%s%s) ", n->function, n->end_ns, n->start_clamped, n->end_clamped);
	return 0;
}

static int on_thread(void *ctx, const struct trace_thread *t)
{
	struct clog *l = ctx;

	(void)t;
	strncat(l->s, "| ", sizeof(l->s) - strlen(l->s) - 1);
	return 0;
}

static const char *walk_clamped(const char *doc, struct clog *l)
{
	struct mem_trace m = { doc, strlen(doc), trace_walk };
	const struct trace_source src = { .walk = mem_trace_walk, .src = &m };
	const struct trace_visitor v = { .node_open = on_open,
					 .node_close = on_close,
					 .thread_begin = on_thread };
	char err[256] = "";

	l->s[0] = 0;
	CHECK_INT(source_walk_clamped(&src, &v, l, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	return l->s;
}

#define NODE(fn, s, e) "{\"function\":\"" fn "\",\"start_ns\":" s ",\"end_ns\":" e ","
#define DUR(d)	       "\"duration_ns\":" d ",\"children\":["
#define END	       "]}"

/* Thread 1: r, already running (no start, no end), holds x [5,9], then y
 * [20,30]. Thread 2: p [100,200] holds q (no end) holding s [120,130], then
 * t (no start) [.., 180]. Thread 3: no times at all. */
// clang-format off
static const char doc[] =
	"{\"metadata\":{\"tool\":\"ctrace-bpf\",\"format_version\":1,\"duration_ns\":5000},"
	"\"call_trees\":{"
	"\"1\":{\"thread_id\":1,\"root_calls\":["
		NODE("r", "null", "null") DUR("null")
			NODE("x", "5", "9") DUR("4") END
		END ","
		NODE("y", "20", "30") DUR("10") END "]},"
	"\"2\":{\"thread_id\":2,\"root_calls\":["
		NODE("p", "100", "200") DUR("100")
			NODE("q", "110", "null") DUR("null")
				NODE("s", "120", "130") DUR("10") END
			END ","
			NODE("t", "null", "180") DUR("null") END
		END "]},"
	"\"3\":{\"thread_id\":3,\"root_calls\":["
		NODE("a", "null", "null") DUR("null")
			NODE("b", "null", "null") DUR("null") END
		END "]}},"
	"\"crash\":null}";
// clang-format on

TEST(test_clamped_times)
{
	struct clog l;

	CHECK_STR(walk_clamped(doc, &l),
		  /* r starts with x, the thread's first time, and ends just before y */
		  "| (r 5* (x 5 x 9) r 19**) (y 20 y 30) "
		  /* q ends just before t, which starts just after q's end */
		  "| (p 100 (q 110 (s 120 s 130) q 130*) (t 131* t 180*) p 200) "
		  /* no time at all: the trace's end */
		  "| (a 5000* (b 5000* b 5000**) a 5000**) ");
}

HARNESS_MAIN("test_clamp")
