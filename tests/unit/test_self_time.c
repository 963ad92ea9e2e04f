/* Unit tests for the time a call covers and its self time (write/backend.c
 * node_covered_ns, node_self_ns) and for the children_ns every reader passes:
 * a partial call (no duration) covers the timed calls inside it, so no time
 * is counted twice, and over a tree the self times add up to what its roots
 * cover. Walked through the JSON and the JSONL readers alike. */
#include <stdint.h>
#include <stdlib.h>

#include "cmds/jsonlread.h"
#include "cmds/jsonread.h"
#include "harness.h"
#include "trace_recorder.h"

TEST(test_rule)
{
	struct trace_node timed = { .has_duration = true, .duration_ns = 100 };
	struct trace_node both = {
		.has_start = true, .has_end = true, .start_ns = 10, .end_ns = 70
	};
	struct trace_node start_only = { .has_start = true, .start_ns = 10 };
	struct trace_node backwards = {
		.has_start = true, .has_end = true, .start_ns = 9, .end_ns = 5
	};

	CHECK_INT(node_covered_ns(&timed, 30), 100);
	CHECK_INT(node_self_ns(&timed, 30), 70);
	CHECK_INT(node_self_ns(&timed, 130), 0); /* inconsistent input: no negative self */
	CHECK_INT(node_covered_ns(&both, 30), 60);
	CHECK_INT(node_covered_ns(&start_only, 30), 30);
	CHECK_INT(node_covered_ns(&backwards, 30), 30);
	CHECK_INT(node_self_ns(&both, 30), 0);
	CHECK_INT(node_self_ns(&start_only, 30), 0);
}

/* Thread 1: P (timed) holds X1 (exit not observed) holding X2 (neither seen)
 * holding G, then G2 in X1, then Q. Thread 2: R (entry not observed) holds S
 * holding T. Every timed call's self is exact, and P's excludes G and G2. */
static const char doc[] =
	"{\"metadata\":{\"tool\":\"ctrace-bpf\",\"format_version\":1,\"duration_ns\":3000},"
	"\"call_trees\":{"
	"\"1\":{\"thread_id\":1,\"root_calls\":["
	"{\"function\":\"P\",\"start_ns\":0,\"end_ns\":1000,\"duration_ns\":1000,\"children\":["
	"{\"function\":\"X1\",\"start_ns\":100,\"end_ns\":null,\"duration_ns\":null,"
	"\"partial\":true,\"partial_reason\":\"exit not observed (left by longjmp)\",\"children\":["
	"{\"function\":\"X2\",\"start_ns\":null,\"end_ns\":null,\"duration_ns\":null,"
	"\"partial\":true,\"partial_reason\":\"events lost\",\"children\":["
	"{\"function\":\"G\",\"start_ns\":200,\"end_ns\":260,\"duration_ns\":60,\"children\":[]}]},"
	"{\"function\":\"G2\",\"start_ns\":300,\"end_ns\":340,\"duration_ns\":40,\"children\":[]}]},"
	"{\"function\":\"Q\",\"start_ns\":500,\"end_ns\":600,\"duration_ns\":100,\"children\":[]}]}]},"
	"\"2\":{\"thread_id\":2,\"root_calls\":["
	"{\"function\":\"R\",\"start_ns\":null,\"end_ns\":2000,\"duration_ns\":null,"
	"\"partial\":true,\"partial_reason\":\"already running when tracing started\",\"children\":["
	"{\"function\":\"S\",\"start_ns\":1500,\"end_ns\":1600,\"duration_ns\":100,\"children\":["
	"{\"function\":\"T\",\"start_ns\":1510,\"end_ns\":1530,\"duration_ns\":20,\"children\":[]}]}]}]}"
	"},\"crash\":null}";

struct selfs {
	char log[512];
	uint64_t self_sum, roots_covered;
};

static int on_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct selfs *s = ctx;
	uint64_t self = node_self_ns(n, n->children_ns);
	size_t len = strlen(s->log);

	snprintf(s->log + len, sizeof(s->log) - len, "%s=%llu ", n->function,
		 (unsigned long long)self);
	s->self_sum += self;
	if (!depth)
		s->roots_covered += node_covered_ns(n, n->children_ns);
	return 0;
}

static void check_selfs(const char *p, size_t n, trace_walk_fn walk)
{
	struct mem_trace m = { p, n, walk };
	const struct trace_visitor v = { .node_close = on_close };
	struct selfs s = { .log = "" };
	char err[256] = "";

	CHECK_INT(mem_trace_walk(&m, &v, &s, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_STR(s.log, "G=60 X2=0 G2=40 X1=0 Q=100 P=800 T=20 S=80 R=0 ");
	CHECK_INT(s.roots_covered, 1000 + 100);
	CHECK_INT(s.self_sum, s.roots_covered);
}

TEST(test_readers_children_ns)
{
	char err[256] = "";
	size_t len = 0;
	char *jl = mem_trace_jsonl(doc, strlen(doc), trace_walk, &len, err, sizeof(err));

	check_selfs(doc, strlen(doc), trace_walk);
	CHECK(jl != NULL);
	if (jl)
		check_selfs(jl, len, jsonl_walk);
	free(jl);
}

HARNESS_MAIN("test_self_time")
