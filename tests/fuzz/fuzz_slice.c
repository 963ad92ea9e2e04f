/* libFuzzer harness: slicing (user/cmds/slice.c) over the JSON trace reader.
 * Input: 6 bytes of slice spec (flags; START and END as 16-bit ns; a tid),
 * then a JSON trace. The slice of the trace must be well formed (opens and
 * closes balance, depths step by one, a thread's count is what it passed),
 * sound (a passed call's known times meet the window, or it passed a child)
 * and, when the trace's times nest (every call inside its caller) and a call's
 * times do not change between its open and its close, exactly the calls a
 * reference computed here from the whole tree keeps, in order. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmds/jsonread.h"
#include "cmds/slice.h"
#include "fuzz_check.h"

#define SPEC_LEN 6
#define MAXN	 20000 /* calls compared; a longer trace is only checked for form */

struct call {
	size_t depth, parent; /* parent: SIZE_MAX at a root */
	uint64_t thread;      /* index of its thread */
	bool has_start, has_end, changed;
	uint64_t start, end;
	bool kept;
};

#define MAXD 4096 /* deeper calls are only checked for form */

/* the whole trace */
struct rec {
	struct call *v;
	size_t n;
	bool overflow;
	size_t stack[MAXD]; /* indices of the open calls */
	uint64_t threads;
};

/* times known at the open that the close does not repeat */
static bool stale(const struct call *open, const struct call *c)
{
	return (open->has_start && (!c->has_start || c->start != open->start)) ||
	       (open->has_end && (!c->has_end || c->end != open->end));
}

static void add_call(struct rec *r, const struct trace_node *n, size_t depth)
{
	struct call *c;

	if (r->n >= MAXN || depth >= MAXD) {
		r->overflow = true;
		return;
	}
	c = &r->v[r->n];
	memset(c, 0, sizeof(*c));
	c->depth = depth;
	c->parent = depth ? r->stack[depth - 1] : SIZE_MAX;
	c->thread = r->threads;
	c->has_start = n->has_start;
	c->start = n->start_ns;
	c->has_end = n->has_end;
	c->end = n->end_ns;
	r->stack[depth] = r->n++;
}

static int full_open(void *ctx, const struct trace_node *n, size_t depth)
{
	add_call(ctx, n, depth);
	return 0;
}

static int full_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct rec *r = ctx;
	struct call *c, closed;

	if (r->overflow)
		return 0;
	c = &r->v[r->stack[depth]];
	closed = (struct call){ .has_start = n->has_start,
				.start = n->start_ns,
				.has_end = n->has_end,
				.end = n->end_ns };
	/* what the slicer saw at the open must still hold */
	c->changed = stale(c, &closed);
	c->has_start = n->has_start;
	c->start = n->start_ns;
	c->has_end = n->has_end;
	c->end = n->end_ns;
	return 0;
}

static int full_thread_end(void *ctx, const struct trace_thread *t)
{
	((struct rec *)ctx)->threads++;
	return 0;
}

static bool meets(const struct slice_spec *sp, const struct call *c)
{
	if (!sp->has_range)
		return true;
	if (c->has_start && c->has_end)
		return c->start <= sp->end_ns && c->end >= sp->start_ns;
	if (c->has_start)
		return c->start >= sp->start_ns && c->start <= sp->end_ns;
	if (c->has_end)
		return c->end >= sp->start_ns && c->end <= sp->end_ns;
	return false;
}

/* the child's known times inside the parent's */
static bool nests(const struct call *p, const struct call *c)
{
	uint64_t ct[2];
	size_t k = 0;

	if (c->has_start)
		ct[k++] = c->start;
	if (c->has_end)
		ct[k++] = c->end;
	for (size_t i = 0; i < k; i++)
		if ((p->has_start && ct[i] < p->start) || (p->has_end && ct[i] > p->end))
			return false;
	return !(c->has_start && c->has_end && c->start > c->end);
}

/* ---- the slice's output --------------------------------------------------------- */

struct out {
	const struct slice_spec *spec;
	struct call *v; /* the calls passed, as they closed */
	size_t n, depth;
	bool in_thread;
	uint64_t thread_calls, kids[MAXD];
	struct call open[MAXD]; /* the open calls as they opened */
};

static int out_begin(void *ctx, const struct trace_thread *t)
{
	struct out *o = ctx;

	FUZZ_ASSERT(!o->in_thread, "thread_begin inside a thread");
	o->in_thread = true;
	o->depth = 0;
	o->thread_calls = 0;
	return 0;
}

static int out_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct out *o = ctx;

	FUZZ_ASSERT(o->in_thread, "node_open outside a thread");
	FUZZ_ASSERT(depth == o->depth, "node_open at depth %zu, %zu open", depth, o->depth);
	o->depth++;
	if (depth >= MAXD)
		return 0;
	o->kids[depth] = 0;
	o->open[depth] = (struct call){ .has_start = n->has_start,
					.start = n->start_ns,
					.has_end = n->has_end,
					.end = n->end_ns };
	return 0;
}

static int out_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct out *o = ctx;
	struct call c = { .depth = depth,
			  .has_start = n->has_start,
			  .start = n->start_ns,
			  .has_end = n->has_end,
			  .end = n->end_ns };

	FUZZ_ASSERT(o->depth && depth == o->depth - 1, "node_close at depth %zu, %zu open", depth,
		    o->depth);
	o->depth--;
	o->thread_calls++;
	if (depth >= MAXD)
		return 0;
	if (depth)
		o->kids[depth - 1]++;
	FUZZ_ASSERT(n->nchildren == o->kids[depth], "nchildren %llu, %llu passed",
		    (unsigned long long)n->nchildren, (unsigned long long)o->kids[depth]);
	/* sound: a call passed for its own times has them in the window (when
	 * the times it opened with still hold, and it ends after it starts) */
	if (!o->kids[depth] && !stale(&o->open[depth], &c) &&
	    !(c.has_start && c.has_end && c.start > c.end))
		FUZZ_ASSERT(meets(o->spec, &c), "a call passed with no child and no time in the "
						"window");
	if (o->n < MAXN)
		o->v[o->n] = c;
	o->n++;
	return 0;
}

static int out_end(void *ctx, const struct trace_thread *t)
{
	struct out *o = ctx;

	FUZZ_ASSERT(o->in_thread && !o->depth, "thread_end with calls open");
	if (o->spec->has_range)
		FUZZ_ASSERT(t->calls == o->thread_calls && t->has_total_calls &&
				    t->total_calls == o->thread_calls && o->thread_calls,
			    "a sliced thread says %llu calls, passed %llu",
			    (unsigned long long)t->calls, (unsigned long long)o->thread_calls);
	o->in_thread = false;
	return 0;
}

static int out_meta(void *ctx, const struct trace_meta *m)
{
	cJSON *j = fuzz_json_parse(m->json, strlen(m->json), false, "sliced metadata");

	FUZZ_ASSERT(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "slice")), "no slice");
	FUZZ_ASSERT(!m->has_total_calls, "a slice claims the trace's total_calls");
	cJSON_Delete(j);
	return 0;
}

/* the kept calls in the order a walk closes them (post-order) */
static size_t expected(struct rec *r, const struct slice_spec *sp, struct call *want)
{
	size_t n = 0;

	for (size_t i = r->n; i-- > 0;) {
		struct call *c = &r->v[i];

		c->kept = c->kept || meets(sp, c);
		if (c->kept && c->parent != SIZE_MAX)
			r->v[c->parent].kept = true;
	}
	/* post-order: a call closes after its subtree, i.e. before the next
	 * call at a depth no deeper than its own */
	{
		size_t stack[MAXD], top = 0;

		for (size_t i = 0; i <= r->n; i++) {
			size_t d = i < r->n ? r->v[i].depth : 0;
			bool new_thread = i == r->n || (i && r->v[i].thread != r->v[i - 1].thread);

			while (top && (new_thread || r->v[stack[top - 1]].depth >= d)) {
				struct call *c = &r->v[stack[--top]];

				if (c->kept)
					want[n++] = *c;
			}
			if (i < r->n)
				stack[top++] = i;
		}
	}
	return n;
}

static int walk_file(void *f, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	return trace_walk(f, v, ctx, err, errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice_spec spec = { 0 };
	struct rec r = { 0 };
	struct out o = { .spec = &spec };
	const struct trace_visitor full = { .node_open = full_open,
					    .node_close = full_close,
					    .thread_end = full_thread_end };
	const struct trace_visitor ov = { .metadata = out_meta,
					  .thread_begin = out_begin,
					  .node_open = out_open,
					  .node_close = out_close,
					  .thread_end = out_end };
	struct trace_source src;
	struct slice sl;
	struct call *want;
	char err[256], tids[8];
	FILE *f;
	int rc1, rc2;
	bool nested = true;

	if (size < SPEC_LEN)
		return 0;
	if (data[0] & 1) {
		spec.has_range = true;
		spec.start_ns = (uint64_t)data[1] << 8 | data[2];
		spec.end_ns = (uint64_t)data[3] << 8 | data[4];
		spec.open_end = data[0] & 4;
		if (spec.open_end)
			spec.end_ns = UINT64_MAX;
		if (spec.start_ns > spec.end_ns)
			spec.start_ns = spec.end_ns;
	}
	if (data[0] & 2) {
		snprintf(tids, sizeof(tids), "%u", data[5]);
		FUZZ_ASSERT(!slice_add_tids(&spec, tids, err, sizeof(err)), "%s", err);
	}
	r.v = calloc(MAXN, sizeof(*r.v));
	o.v = calloc(MAXN, sizeof(*o.v));
	want = calloc(MAXN, sizeof(*want));
	FUZZ_ASSERT(r.v && o.v && want, "out of memory");

	/* the whole trace; thread selection is left to the slicer (tids rarely
	 * match a fuzzed key), so compare only without --tid */
	f = fmemopen((void *)(data + SPEC_LEN), size - SPEC_LEN, "r");
	FUZZ_ASSERT(f, "fmemopen: %s", strerror(errno));
	rc1 = trace_walk(f, &full, &r, err, sizeof(err));
	fclose(f);

	f = fmemopen((void *)(data + SPEC_LEN), size - SPEC_LEN, "r");
	FUZZ_ASSERT(f, "fmemopen: %s", strerror(errno));
	src = (struct trace_source){ .walk = walk_file, .src = f };
	slice_init(&sl, &spec, &src);
	rc2 = source_walk(&sl.source, &ov, &o, err, sizeof(err));
	fclose(f);
	FUZZ_ASSERT(!rc1 == !rc2, "the slice's walk returned %d, the whole trace's %d", rc2, rc1);
	FUZZ_ASSERT(rc2 || sl.calls == o.n, "slice counted %llu, passed %zu",
		    (unsigned long long)sl.calls, o.n);

	for (size_t i = 0; i < r.n; i++)
		if (r.v[i].changed ||
		    (r.v[i].parent != SIZE_MAX && !nests(&r.v[r.v[i].parent], &r.v[i])))
			nested = false;
	if (!rc1 && !r.overflow && nested && !(data[0] & 2)) {
		size_t n = expected(&r, &spec, want);

		FUZZ_ASSERT(n == o.n, "the slice passed %zu calls, the reference keeps %zu", o.n,
			    n);
		for (size_t i = 0; i < n; i++)
			FUZZ_ASSERT(want[i].depth == o.v[i].depth &&
					    want[i].has_start == o.v[i].has_start &&
					    want[i].start == o.v[i].start &&
					    want[i].has_end == o.v[i].has_end &&
					    want[i].end == o.v[i].end,
				    "call %zu differs from the reference", i);
	}
	free(r.v);
	free(o.v);
	free(want);
	slice_spec_free(&spec);
	return 0;
}
