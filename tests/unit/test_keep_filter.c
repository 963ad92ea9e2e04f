/* The --min-duration and --keep-if sinks (rebuild/keep_filter.c) between the
 * tree builder and the JSON sink: the trees written must have exactly the
 * expected shape, total_calls the nodes written, every other call counted. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "harness.h"
#include "tree_shape.h"
#include "consume/symbolize.h"
#include "find/keep_expr.h"
#include "rebuild/keep_filter.h"
#include "rebuild/tree.h"
#include "write/json_tree.h"

static struct func_info A = { .addr = 0x1000, .name = "A", .module = "prog", .allowed = true };
static struct func_info B = { .addr = 0x2000, .name = "B", .module = "prog", .allowed = true };
static struct func_info C = { .addr = 0x3000, .name = "C", .module = "prog", .allowed = true };
static struct func_info D = { .addr = 0x4000, .name = "D", .module = "prog", .allowed = true };

struct run {
	struct thread_tree t;
	struct tree_sink *sink;
	struct keep_rule rules[2];
	struct keep_counts counts;
	char shape[512];
};

static void begin(struct run *r, bool attach, uint64_t min_ns, const char *rule)
{
	struct keep_filter_opts o = { .min_duration = min_ns > 0, .min_duration_ns = min_ns };
	char err[128];

	memset(r, 0, sizeof(*r));
	if (rule) {
		CHECK_INT(keep_rule_parse(&r->rules[0], rule, err, sizeof(err)), 0);
		o.rules = r->rules;
		o.nrules = 1;
	}
	r->sink = keep_filter_wrap(json_tree_new(AT_FDCWD), &o);
	CHECK(r->sink && tree_init(&r->t, 42, r->sink, attach) == 0);
}

/* the nodes in a shape: one per name */
static uint64_t nodes_in(const char *shape)
{
	uint64_t n = 0;

	for (const char *p = shape; *p; p++)
		n += *p >= 'A' && *p <= 'Z';
	return n;
}

static void end(struct run *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	cJSON *doc;

	tree_close_all(&r->t, "exit not observed (still running when tracing stopped)");
	CHECK(json_tree_write_thread(&r->t, m) == 0);
	fputc('}', m);
	fclose(m);
	doc = cJSON_Parse(buf);
	CHECK(doc != NULL);
	if (doc) {
		shape_of(cJSON_GetObjectItem(doc, "root_calls"), r->shape, sizeof(r->shape));
		/* total_calls: the nodes written */
		CHECK_INT(cJSON_GetObjectItem(doc, "total_calls")->valuedouble, nodes_in(r->shape));
	}
	cJSON_Delete(doc);
	free(buf);
	CHECK(keep_filter_counts(r->sink, &r->counts));
	tree_free(&r->t);
	r->sink->ops->free(r->sink);
	for (size_t i = 0; i < 2; i++)
		keep_rule_free(&r->rules[i]);
}

/* extras as the capture writes them */
static void write_fd(FILE *f, void *arg)
{
	fprintf(f,
		",\"arguments\":[{\"name\":\"buf\",\"type\":\"char *\",\"value\":\"x,]}\","
		"\"address\":\"0x10\"},{\"name\":\"fd\",\"type\":\"int\",\"value\":%d}]",
		(int)(intptr_t)arg);
}

static void write_ret(FILE *f, void *arg)
{
	fprintf(f, ",\"return_value\":{\"type\":\"int\",\"value\":%d}", (int)(intptr_t)arg);
}

static void enter(struct run *r, int d, const struct func_info *fn, uint64_t ts, int fd)
{
	struct tree_extra x = { .write = write_fd, .arg = (void *)(intptr_t)fd };

	tree_enter(&r->t, d, fn, ts, fd >= 0 ? &x : NULL);
}

static void leave(struct run *r, int d, const struct func_info *fn, uint64_t ts)
{
	tree_exit(&r->t, d, fn, ts, false);
}

static void ret(struct run *r, int d, const struct func_info *fn, uint64_t ts, int v)
{
	struct tree_extra x = { .write = write_ret, .arg = (void *)(intptr_t)v };

	tree_exit(&r->t, d, fn, ts, true);
	tree_return(&r->t, fn, &x);
}

TEST(test_min_duration_keeps_long_calls_and_callers)
{
	struct run r;

	begin(&r, false, 50, NULL);
	enter(&r, 1, &A, 0, -1);
	enter(&r, 2, &B, 10, -1);
	leave(&r, 2, &B, 15);
	enter(&r, 2, &C, 20, -1);
	enter(&r, 3, &D, 30, -1);
	leave(&r, 3, &D, 31);
	leave(&r, 2, &C, 90);
	leave(&r, 1, &A, 100);
	enter(&r, 1, &B, 110, -1); /* a short root */
	leave(&r, 1, &B, 111);
	end(&r);
	CHECK_STR(r.shape, "A(C)");
	CHECK_INT(r.counts.min_duration_dropped, 3);
	CHECK(!r.counts.keep_if);
}

TEST(test_min_duration_keeps_partial_calls)
{
	struct run r;

	begin(&r, false, 1000000, NULL);
	enter(&r, 1, &A, 0, -1);
	enter(&r, 2, &B, 10, -1);
	leave(&r, 2, &B, 15);
	enter(&r, 2, &C, 20, 3); /* still running at the end */
	end(&r);
	CHECK_STR(r.shape, "A*(C*)");
	CHECK_INT(r.counts.min_duration_dropped, 1);
}

TEST(test_min_duration_attach_wrap)
{
	struct run r;

	begin(&r, true, 50, NULL);
	enter(&r, 2, &B, 10, -1);
	leave(&r, 2, &B, 12);
	enter(&r, 2, &C, 20, -1);
	leave(&r, 2, &C, 200);
	leave(&r, 1, &A, 300); /* began before tracing: wraps B and C */
	end(&r);
	CHECK_STR(r.shape, "A*(C)");
	CHECK_INT(r.counts.min_duration_dropped, 1);
}

TEST(test_keep_if_retval_nested)
{
	struct run r;

	/* A { B=0 { B=-1 { C } }, C, B=0 { D } } */
	begin(&r, false, 0, "B: retval < 0");
	enter(&r, 1, &A, 0, -1);
	enter(&r, 2, &B, 1, -1);
	enter(&r, 3, &B, 2, -1);
	enter(&r, 4, &C, 3, -1);
	leave(&r, 4, &C, 4);
	ret(&r, 3, &B, 5, -1);
	ret(&r, 2, &B, 6, 0);
	enter(&r, 2, &C, 7, -1);
	leave(&r, 2, &C, 8);
	enter(&r, 2, &B, 9, -1);
	enter(&r, 3, &D, 10, -1);
	leave(&r, 3, &D, 11);
	ret(&r, 2, &B, 12, 0);
	leave(&r, 1, &A, 13);
	end(&r);
	CHECK_STR(r.shape, "A(B(B(C)))");
	CHECK_INT(r.counts.keep_if_kept, 1);
	CHECK_INT(r.counts.keep_if_dropped, 3);
	CHECK_INT(r.counts.keep_if_unreadable, 0);
}

TEST(test_keep_if_outer_keeps_everything_inside)
{
	struct run r;

	begin(&r, false, 0, "B: retval != 0");
	enter(&r, 1, &B, 0, -1);
	enter(&r, 2, &B, 1, -1);
	enter(&r, 3, &C, 2, -1);
	leave(&r, 3, &C, 3);
	ret(&r, 2, &B, 4, 0);
	enter(&r, 2, &D, 5, -1);
	leave(&r, 2, &D, 6);
	ret(&r, 1, &B, 7, 1);
	end(&r);
	CHECK_STR(r.shape, "B(B(C),D)");
	CHECK_INT(r.counts.keep_if_kept, 1);
	CHECK_INT(r.counts.keep_if_dropped, 0);
}

TEST(test_keep_if_arg_and_unreadable)
{
	struct run r;

	begin(&r, false, 0, "B: arg.fd == 3");
	enter(&r, 1, &A, 0, -1);
	enter(&r, 2, &B, 1, 3);
	enter(&r, 3, &C, 2, -1);
	leave(&r, 3, &C, 3);
	leave(&r, 2, &B, 4);
	enter(&r, 2, &B, 5, 1);
	enter(&r, 3, &D, 6, -1);
	leave(&r, 3, &D, 7);
	leave(&r, 2, &B, 8);
	enter(&r, 2, &B, 9, -1); /* no arguments captured: not told */
	leave(&r, 2, &B, 10);
	leave(&r, 1, &A, 11);
	end(&r);
	CHECK_STR(r.shape, "A(B(C))");
	CHECK_INT(r.counts.keep_if_kept, 1);
	CHECK_INT(r.counts.keep_if_unreadable, 1);
	CHECK_INT(r.counts.keep_if_dropped, 3);
}

TEST(test_keep_if_then_min_duration)
{
	struct run r;

	begin(&r, false, 50, "B: duration > 10ns");
	enter(&r, 1, &A, 0, -1);
	enter(&r, 2, &B, 1, -1);
	enter(&r, 3, &C, 2, -1);
	leave(&r, 3, &C, 3);
	enter(&r, 3, &D, 4, -1);
	leave(&r, 3, &D, 94);
	leave(&r, 2, &B, 100);
	enter(&r, 2, &B, 101, -1);
	leave(&r, 2, &B, 102);
	leave(&r, 1, &A, 200);
	end(&r);
	CHECK_STR(r.shape, "A(B(D))");
	CHECK_INT(r.counts.keep_if_dropped, 1);
	CHECK_INT(r.counts.min_duration_dropped, 1);
}

HARNESS_MAIN("test_keep_filter")
