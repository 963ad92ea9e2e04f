/* The tree builder against event streams with losses, attach-time partial
 * calls and filtered frames: the JSON it writes must parse and have exactly
 * the expected shape. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "harness.h"
#include "tree_shape.h"
#include "consume/symbolize.h"
#include "rebuild/tree.h"
#include "write/json_tree.h"

static struct func_info A = { .addr = 0x1000, .name = "A", .module = "prog", .allowed = true };
static struct func_info B = { .addr = 0x2000, .name = "B", .module = "prog", .allowed = true };
static struct func_info C = { .addr = 0x3000, .name = "C", .module = "prog", .allowed = true };
static struct func_info D = { .addr = 0x4000, .name = "D", .module = "prog", .allowed = true };
static struct func_info E = { .addr = 0x5000, .name = "E", .module = "prog", .allowed = true };
static struct func_info H = {
	.addr = 0x6000, .name = "H", .module = "prog", .allowed = false
}; /* filtered out */

struct run {
	struct thread_tree t;
	struct tree_sink *sink;
	cJSON *doc;
	char shape[512];
};

static void begin(struct run *r, bool attach)
{
	memset(r, 0, sizeof(*r));
	r->sink = json_tree_new(AT_FDCWD);
	CHECK(r->sink && tree_init(&r->t, 42, r->sink, attach) == 0);
}

static void end(struct run *r, const char *reason)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	tree_close_all(&r->t, reason);
	CHECK(json_tree_write_thread(&r->t, m) == 0);
	fputc('}', m);
	fclose(m);
	r->doc = cJSON_Parse(buf);
	CHECK(r->doc != NULL);
	if (!r->doc)
		fprintf(stderr, "unparsable: %s\n", buf);
	else
		shape_of(cJSON_GetObjectItem(r->doc, "root_calls"), r->shape, sizeof(r->shape));
	free(buf);
	tree_free(&r->t);
	r->sink->ops->free(r->sink);
}

static const cJSON *root(struct run *r, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(r->doc, "root_calls"), i);
}

TEST(test_nesting)
{
	struct run r;

	begin(&r, false);
	tree_enter(&r.t, 1, &A, 10, NULL);
	tree_enter(&r.t, 2, &B, 20, NULL);
	tree_exit(&r.t, 2, &B, 30, false);
	tree_enter(&r.t, 2, &C, 40, NULL);
	tree_exit(&r.t, 2, &C, 50, false);
	tree_exit(&r.t, 1, &A, 60, false);
	tree_enter(&r.t, 1, &D, 70, NULL);
	tree_exit(&r.t, 1, &D, 80, false);
	end(&r, "x");
	CHECK_STR(r.shape, "A(B,C),D");
	CHECK_INT(r.t.calls, 4);
	CHECK_INT(cJSON_GetObjectItem(root(&r, 0), "duration_ns")->valueint, 50);
	CHECK_INT(cJSON_GetObjectItem(root(&r, 0), "start_ns")->valueint, 10);
	CHECK(cJSON_GetObjectItem(root(&r, 0), "partial") == NULL);
	cJSON_Delete(r.doc);
}

/* attached inside B → C: D completes, then C and B return */
TEST(test_attach_wraps)
{
	struct run r;
	const cJSON *b;

	begin(&r, true);
	tree_enter(&r.t, 1, &D, 10, NULL);
	tree_exit(&r.t, 1, &D, 20, false);
	tree_exit(&r.t, 0, &C, 30, false);
	tree_enter(&r.t, 0, &E, 40, NULL);
	tree_exit(&r.t, 0, &E, 50, false);
	tree_exit(&r.t, -1, &B, 60, false);
	tree_enter(&r.t, -1, &A, 70, NULL);
	tree_exit(&r.t, -1, &A, 80, false);
	end(&r, "x");
	CHECK_STR(r.shape, "B*(C*(D),E),A");
	b = root(&r, 0);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(b, "start_ns")));
	CHECK_INT(cJSON_GetObjectItem(b, "end_ns")->valueint, 60);
	CHECK(strstr(cJSON_GetObjectItem(b, "partial_reason")->valuestring, "already running") !=
	      NULL);
	CHECK_INT(r.t.calls, 5);
	cJSON_Delete(r.doc);
}

/* an exit lost: the frame is closed when a sibling enters at its depth */
TEST(test_lost_exit)
{
	struct run r;

	begin(&r, false);
	tree_enter(&r.t, 1, &A, 10, NULL);
	tree_enter(&r.t, 2, &B, 20, NULL);
	/* B's exit lost */
	tree_enter(&r.t, 2, &C, 40, NULL);
	tree_exit(&r.t, 2, &C, 50, false);
	tree_exit(&r.t, 1, &A, 60, false);
	end(&r, "x");
	CHECK_STR(r.shape, "A(B*,C)");
	cJSON_Delete(r.doc);
}

/* an entry lost: a placeholder keeps C under B, named when B returns */
TEST(test_lost_entry)
{
	struct run r;
	const cJSON *b;

	begin(&r, false);
	tree_enter(&r.t, 1, &A, 10, NULL);
	/* B's entry lost */
	tree_enter(&r.t, 3, &C, 30, NULL);
	tree_exit(&r.t, 3, &C, 40, false);
	tree_exit(&r.t, 2, &B, 50, false);
	tree_exit(&r.t, 1, &A, 60, false);
	end(&r, "x");
	CHECK_STR(r.shape, "A(B*(C))");
	b = cJSON_GetArrayItem(cJSON_GetObjectItem(root(&r, 0), "children"), 0);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(b, "duration_ns")));
	CHECK_INT(cJSON_GetObjectItem(b, "end_ns")->valueint, 50);
	cJSON_Delete(r.doc);
}

/* another call's exit at the open frame's depth: both sides marked */
TEST(test_mismatch)
{
	struct run r;

	begin(&r, false);
	tree_enter(&r.t, 1, &A, 10, NULL);
	tree_enter(&r.t, 2, &B, 20, NULL);
	tree_exit(&r.t, 2, &C, 30, false);
	tree_exit(&r.t, 1, &A, 40, false);
	end(&r, "x");
	CHECK_STR(r.shape, "A(B*,C*)");
	cJSON_Delete(r.doc);
}

/* a filtered-out frame's children move up to its nearest shown caller */
TEST(test_hidden)
{
	struct run r;

	begin(&r, false);
	tree_enter(&r.t, 1, &A, 10, NULL);
	tree_enter(&r.t, 2, &H, 20, NULL);
	tree_enter(&r.t, 3, &B, 30, NULL);
	tree_exit(&r.t, 3, &B, 40, false);
	tree_enter(&r.t, 3, &C, 50, NULL);
	tree_exit(&r.t, 3, &C, 60, false);
	tree_exit(&r.t, 2, &H, 70, false);
	tree_enter(&r.t, 2, &D, 80, NULL);
	tree_exit(&r.t, 2, &D, 90, false);
	tree_exit(&r.t, 1, &A, 100, false);
	tree_enter(&r.t, 1, &H, 110, NULL);
	tree_enter(&r.t, 2, &E, 120, NULL);
	tree_exit(&r.t, 2, &E, 130, false);
	tree_exit(&r.t, 1, &H, 140, false);
	end(&r, "x");
	CHECK_STR(r.shape, "A(B,C,D),E");
	CHECK_INT(r.t.calls, 5);
	cJSON_Delete(r.doc);
}

/* calls still open when tracing stops keep their children, marked partial */
TEST(test_open_at_end)
{
	struct run r;
	const cJSON *a;

	begin(&r, false);
	tree_enter(&r.t, 1, &A, 10, NULL);
	tree_enter(&r.t, 2, &B, 20, NULL);
	tree_exit(&r.t, 2, &B, 30, false);
	tree_enter(&r.t, 2, &C, 40, NULL);
	end(&r, "still running");
	CHECK_STR(r.shape, "A*(B,C*)");
	a = root(&r, 0);
	CHECK_STR(cJSON_GetObjectItem(a, "partial_reason")->valuestring, "still running");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(a, "end_ns")));
	cJSON_Delete(r.doc);
}

/* an attach-time exit of a filtered-out caller leaves the roots as they are */
TEST(test_hidden_wrap)
{
	struct run r;

	begin(&r, true);
	tree_enter(&r.t, 1, &D, 10, NULL);
	tree_exit(&r.t, 1, &D, 20, false);
	tree_exit(&r.t, 0, &H, 30, false);
	tree_enter(&r.t, 0, &E, 40, NULL);
	tree_exit(&r.t, 0, &E, 50, false);
	tree_exit(&r.t, -1, &B, 60, false);
	end(&r, "x");
	CHECK_STR(r.shape, "B*(D,E)");
	cJSON_Delete(r.doc);
}

/* an enter shallower than the roots: the callers above them lost their exits */
TEST(test_enter_above_roots)
{
	struct run r;

	begin(&r, true);
	tree_enter(&r.t, 1, &D, 10, NULL);
	tree_exit(&r.t, 1, &D, 20, false);
	/* exits at 0 and -1 lost */
	tree_enter(&r.t, -1, &A, 30, NULL);
	tree_exit(&r.t, -1, &A, 40, false);
	end(&r, "x");
	CHECK_STR(r.shape, "[unknown]*([unknown]*(D)),A");
	cJSON_Delete(r.doc);
}

static const char *reason_of(const cJSON *n)
{
	const cJSON *r = cJSON_GetObjectItem(n, "partial_reason");

	return cJSON_IsString(r) ? r->valuestring : "";
}

/* a gap says "events lost" only when BPF counted a loss for the thread
 * while the frames concerned were open; any other is a tracer fault, counted */
TEST(test_gap_reasons)
{
	struct run r;

	for (int lost = 0; lost <= 1; lost++) {
		begin(&r, false);
		tree_enter(&r.t, 1, &A, 10, NULL);
		tree_enter(&r.t, 2, &B, 20, NULL);
		r.t.lost = (uint64_t)lost; /* what the next event carries */
		tree_enter(&r.t, 2, &C, 40, NULL);
		tree_exit(&r.t, 2, &C, 50, false);
		tree_exit(&r.t, 1, &A, 60, false);
		CHECK_INT((int)r.t.resyncs, lost ? 0 : 1);
		end(&r, "x");
		CHECK_STR(r.shape, "A(B*,C)");
		CHECK_STR(
			reason_of(cJSON_GetArrayItem(cJSON_GetObjectItem(root(&r, 0), "children"),
						     0)),
			lost ? "exit not observed (events lost)" :
			       "exit not observed (tracer fault: resynchronised, no event was lost)");
		cJSON_Delete(r.doc);
	}
	/* a loss that shows only later: B's exit and C's entry lost, so D
	 * nests under B until C's exit at B's depth; B was open during the loss */
	begin(&r, false);
	tree_enter(&r.t, 1, &A, 10, NULL);
	tree_enter(&r.t, 2, &B, 20, NULL);
	r.t.lost = 2;
	tree_enter(&r.t, 3, &D, 40, NULL);
	tree_exit(&r.t, 3, &D, 45, false);
	tree_exit(&r.t, 2, &C, 50, false);
	tree_exit(&r.t, 1, &A, 60, false);
	CHECK_INT((int)r.t.resyncs, 0);
	end(&r, "x");
	CHECK_STR(r.shape, "A(B*(D),C*)");
	cJSON_Delete(r.doc);
	/* a placeholder keeps the reason of the gap that opened it */
	begin(&r, false);
	tree_enter(&r.t, 1, &A, 10, NULL);
	r.t.lost = 1;
	tree_enter(&r.t, 3, &C, 30, NULL);
	tree_exit(&r.t, 3, &C, 40, false);
	end(&r, "exit not observed (still running when tracing stopped)");
	CHECK_STR(r.shape, "A*([unknown]*(C))");
	CHECK_STR(
		reason_of(cJSON_GetArrayItem(cJSON_GetObjectItem(root(&r, 0), "children"), 0)),
		"entry not observed (events lost); exit not observed (still running when tracing stopped)");
	CHECK_INT(cJSON_GetObjectItem(r.doc, "resyncs")->valueint, 0);
	cJSON_Delete(r.doc);
}

/* a longjmp to a setjmp BPF saw closes exactly the deeper frames; to one it
 * did not see, only an attached (or forked) thread expects that */
TEST(test_unwind_seen_or_not)
{
	struct run r;

	for (int k = 0; k < 3; k++) {
		bool seen = k == 0, attach = k == 2;

		begin(&r, attach);
		tree_enter(&r.t, 1, &A, 10, NULL);
		tree_enter(&r.t, 2, &B, 20, NULL);
		tree_enter(&r.t, 3, &C, 30, NULL);
		tree_unwind(&r.t, 1, 35, seen);
		tree_enter(&r.t, 2, &D, 40, NULL);
		tree_exit(&r.t, 2, &D, 45, false);
		tree_exit(&r.t, 1, &A, 50, false);
		CHECK_INT((int)r.t.resyncs, !seen && !attach ? 1 : 0);
		end(&r, "x");
		CHECK_STR(r.shape, "A(B*(C*),D)");
		CHECK_STR(
			reason_of(cJSON_GetArrayItem(cJSON_GetObjectItem(root(&r, 0), "children"),
						     0)),
			!seen && !attach ?
				"exit not observed (tracer fault: a longjmp to a setjmp it did not see)" :
				"exit not observed (left by longjmp)");
		cJSON_Delete(r.doc);
	}
}

HARNESS_MAIN("tree")
