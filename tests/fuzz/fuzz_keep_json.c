/* libFuzzer harness: --min-duration / --keep-if over a JSON trace
 * (user/cmds/keep_json.c: the walk turned back into tree-sink calls, through
 * the filters, into a node spool, walked again). Input: 2 bytes of spec (flags
 * and a rule; the threshold in µs), then a JSON trace. The filtered walk must
 * be well formed (opens and closes balance, depths step by one, each thread's
 * count is what it passed), fail exactly when the plain walk fails, and
 * account for every call: written + dropped = the trace's calls. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmds/jsonread.h"
#include "cmds/keep_source.h"
#include "find/keep_expr.h"
#include "fuzz_check.h"

#define SPEC_LEN 2

static const char *const rules[] = {
	"process: retval < 0",
	"nest: retval < 0 && duration > 1us",
	"round_: duration > 1ms",
	"tick: retval > 0 || arg.n == 3",
	"main: retval == NULL || (arg.argc != 1 && duration >= 5ms)",
	"[unknown]: duration > 0ns",
	"f: retval >= -1",
};

struct out {
	uint64_t calls, thread_calls, depth;
	bool in_thread, has_meta;
	uint64_t meta_total, dropped;
};

static int count_open(void *ctx, const struct trace_node *n, size_t depth)
{
	(void)n, (void)depth;
	(*(uint64_t *)ctx)++;
	return 0;
}

static int out_meta(void *ctx, const struct trace_meta *m)
{
	struct out *o = ctx;
	cJSON *j = fuzz_json_parse(m->json, strlen(m->json), false, "filtered metadata");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "filtered");
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(f, "min_duration_dropped");
	const cJSON *kd = cJSON_GetObjectItemCaseSensitive(f, "keep_if_dropped");

	FUZZ_ASSERT(cJSON_IsObject(f) && md && kd, "no metadata.filtered");
	FUZZ_ASSERT(m->has_total_calls, "no total_calls");
	o->has_meta = true;
	o->meta_total = m->total_calls;
	o->dropped = (uint64_t)md->valuedouble + (uint64_t)kd->valuedouble;
	cJSON_Delete(j);
	return 0;
}

static int out_begin(void *ctx, const struct trace_thread *t)
{
	struct out *o = ctx;

	(void)t;
	FUZZ_ASSERT(!o->in_thread, "thread_begin inside a thread");
	o->in_thread = true;
	o->thread_calls = o->depth = 0;
	return 0;
}

static int out_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct out *o = ctx;

	(void)n;
	FUZZ_ASSERT(o->in_thread && depth == o->depth, "open at depth %zu, expected %llu", depth,
		    (unsigned long long)o->depth);
	o->depth++;
	return 0;
}

static int out_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct out *o = ctx;

	(void)n;
	FUZZ_ASSERT(o->depth && depth == o->depth - 1, "close at depth %zu, expected %llu", depth,
		    (unsigned long long)o->depth - 1);
	o->depth--;
	o->calls++;
	o->thread_calls++;
	return 0;
}

static int out_end(void *ctx, const struct trace_thread *t)
{
	struct out *o = ctx;

	FUZZ_ASSERT(o->in_thread && !o->depth, "thread_end with calls open");
	FUZZ_ASSERT(t->calls == o->thread_calls && t->has_total_calls &&
			    t->total_calls == o->thread_calls,
		    "a thread says %llu calls, passed %llu", (unsigned long long)t->total_calls,
		    (unsigned long long)o->thread_calls);
	o->in_thread = false;
	return 0;
}

static int walk_file(void *f, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	return trace_walk(f, v, ctx, err, errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct trace_visitor count = { .node_open = count_open };
	const struct trace_visitor ov = { .metadata = out_meta,
					  .thread_begin = out_begin,
					  .node_open = out_open,
					  .node_close = out_close,
					  .thread_end = out_end };
	struct keep_rule rule = { 0 };
	struct keep_spec spec = { 0 };
	struct trace_source src;
	struct out o = { 0 };
	uint64_t total = 0;
	char err[256];
	FILE *f;
	int rc1, rc2;

	if (size < SPEC_LEN)
		return 0;
	spec.o.min_duration = data[0] & 1;
	spec.o.min_duration_ns = (uint64_t)data[1] * 1000;
	if (data[0] & 2) {
		const char *text = rules[(data[0] >> 2) % (sizeof(rules) / sizeof(rules[0]))];

		FUZZ_ASSERT(!keep_rule_parse(&rule, text, err, sizeof(err)), "%s: %s", text, err);
		spec.rules = &rule;
		spec.nrules = 1;
		spec.o.rules = &rule;
		spec.o.nrules = 1;
	}
	if (!spec.o.min_duration && !spec.nrules)
		spec.o.min_duration = true;

	f = fmemopen((void *)(data + SPEC_LEN), size - SPEC_LEN, "r");
	FUZZ_ASSERT(f, "fmemopen: %s", strerror(errno));
	rc1 = trace_walk(f, &count, &total, err, sizeof(err));
	fclose(f);

	f = fmemopen((void *)(data + SPEC_LEN), size - SPEC_LEN, "r");
	FUZZ_ASSERT(f, "fmemopen: %s", strerror(errno));
	src = (struct trace_source){ .walk = walk_file, .src = f };
	rc2 = keep_json_walk(&src, &spec, &ov, &o, err, sizeof(err));
	fclose(f);
	FUZZ_ASSERT(!rc1 || rc2, "the filtered walk read what the plain walk refused");
	/* a readable trace is refused only for what it is, never a spool fault */
	FUZZ_ASSERT(rc1 || !rc2 || strstr(err, "no metadata") || strstr(err, "filtered already") ||
			    strstr(err, "no captured values"),
		    "a readable trace failed: %s", err);
	if (!rc2) {
		FUZZ_ASSERT(o.has_meta && o.meta_total == o.calls,
			    "metadata says %llu calls, %llu passed",
			    (unsigned long long)o.meta_total, (unsigned long long)o.calls);
		FUZZ_ASSERT(o.calls + o.dropped == total, "%llu written + %llu dropped != %llu",
			    (unsigned long long)o.calls, (unsigned long long)o.dropped,
			    (unsigned long long)total);
	}
	if (spec.nrules)
		keep_rule_free(&rule);
	return 0;
}
