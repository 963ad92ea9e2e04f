/* Unit tests for slicing (user/cmds/slice.c): the --tid and --time-range
 * values, and the exact contents of a slice of synthetic traces whose times
 * are known: which calls survive a window, its boundaries included (a call
 * ending exactly at START, one starting exactly at END), partial calls with a
 * start or an end unknown, callers kept for a kept callee, and the threads,
 * counts, metadata and crash a slice passes on. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#include "cmds/jsonread.h"
#include "cmds/slice.h"
#include "cmds/trace_input.h"
#include "harness.h"

#define NONE UINT64_MAX /* a null time */

/* ---- the values --------------------------------------------------------------------- */

static uint64_t t(const char *s)
{
	uint64_t v = 12345;

	return slice_parse_time(s, strlen(s), &v) ? v : NONE;
}

TEST(test_parse_time)
{
	CHECK_INT(t("1.5s"), 1500000000);
	CHECK_INT(t("200ms"), 200000000);
	CHECK_INT(t("10us"), 10000);
	CHECK_INT(t("10µs"), 10000);
	CHECK_INT(t("500ns"), 500);
	CHECK_INT(t("1000"), 1000);
	CHECK_INT(t("0"), 0);
	CHECK_INT(t(".5s"), 500000000);
	CHECK_INT(t("5.s"), 5000000000);
	CHECK_INT(t("1.000000001s"), 1000000001);
	CHECK_INT(t("2.5us"), 2500);
	CHECK_INT(t("18446744073709551615"), UINT64_MAX);
	/* not times: finer than a ns, too large, malformed */
	CHECK_INT(t("1.0000000005s"), NONE);
	CHECK_INT(t("1.5"), NONE);
	CHECK_INT(t("1.5ns"), NONE);
	CHECK_INT(t("18446744073709551616"), NONE);
	CHECK_INT(t("18446744074s"), NONE);
	CHECK_INT(t(""), NONE);
	CHECK_INT(t("s"), NONE);
	CHECK_INT(t("."), NONE);
	CHECK_INT(t("-1"), NONE);
	CHECK_INT(t("1,5s"), NONE);
	CHECK_INT(t("1.2.3s"), NONE);
	CHECK_INT(t("5 s"), NONE);
	CHECK_INT(t("5sec"), NONE);
	CHECK_INT(t("1e3"), NONE);
}

TEST(test_range_values)
{
	struct slice_spec s = { 0 };
	char err[256];

	CHECK_INT(slice_set_range(&s, "1s:2s", err, sizeof(err)), 0);
	CHECK(s.has_range && s.start_ns == 1000000000 && s.end_ns == 2000000000 && !s.open_end);
	CHECK_INT(slice_set_range(&s, "1500:", err, sizeof(err)), 0);
	CHECK(s.start_ns == 1500 && s.end_ns == UINT64_MAX && s.open_end);
	CHECK_INT(slice_set_range(&s, ":10us", err, sizeof(err)), 0);
	CHECK(s.start_ns == 0 && s.end_ns == 10000 && !s.open_end);
	CHECK_INT(slice_set_range(&s, "5:5", err, sizeof(err)), 0);
	CHECK_INT(slice_set_range(&s, "1x:2s", err, sizeof(err)), -1);
	CHECK_STR(err, "invalid --time-range '1x:2s': '1x' is not a time (1.5s, 200ms, 10us, "
		       "500ns or whole ns)");
	CHECK_INT(slice_set_range(&s, "1s:2sec", err, sizeof(err)), -1);
	CHECK(strstr(err, "'2sec' is not a time") != NULL);
	CHECK_INT(slice_set_range(&s, "2s:1s", err, sizeof(err)), -1);
	CHECK_STR(err, "invalid --time-range '2s:1s': START is after END");
	CHECK_INT(slice_set_range(&s, ":", err, sizeof(err)), -1);
	CHECK_STR(err, "invalid --time-range ':': give START, END or both");
	CHECK_INT(slice_set_range(&s, "100", err, sizeof(err)), -1);
	CHECK_STR(err, "invalid --time-range '100': expected START:END");
	CHECK_INT(slice_set_range(&s, "1:2:3", err, sizeof(err)), -1);
	slice_spec_free(&s);
}

TEST(test_tid_values)
{
	struct slice_spec s = { 0 };
	char err[256], d[256];

	CHECK_INT(slice_add_tids(&s, "10,11", err, sizeof(err)), 0);
	CHECK_INT(slice_add_tids(&s, "12#2", err, sizeof(err)), 0);
	CHECK_INT(s.ntids, 2);
	CHECK_INT(s.tids[0], 10);
	CHECK_INT(s.tids[1], 11);
	CHECK_INT(s.nkeys, 1);
	CHECK_STR(s.keys[0], "12#2");
	CHECK(slice_active(&s));
	slice_describe(&s, d, sizeof(d));
	CHECK_STR(d, "threads 10, 11, 12#2");
	CHECK_INT(slice_add_tids(&s, "10,x,11", err, sizeof(err)), -1);
	CHECK_STR(err, "invalid --tid '10,x,11': 'x' is not a thread id (5813) or a thread key "
		       "(5813#2)");
	CHECK_INT(slice_add_tids(&s, "1,,2", err, sizeof(err)), -1);
	CHECK(strstr(err, "invalid --tid '1,,2': '' is not") != NULL);
	CHECK_INT(slice_add_tids(&s, "1#", err, sizeof(err)), -1);
	CHECK_INT(slice_add_tids(&s, "#1", err, sizeof(err)), -1);
	CHECK_INT(slice_add_tids(&s, "-1", err, sizeof(err)), -1);
	CHECK_INT(slice_add_tids(&s, "", err, sizeof(err)), -1);
	slice_spec_free(&s);
	CHECK(!slice_active(&s));
	CHECK_INT(slice_set_range(&s, "1500us:", err, sizeof(err)), 0);
	slice_describe(&s, d, sizeof(d));
	CHECK_STR(d, "calls overlapping 1500us to the end");
	CHECK_INT(slice_set_range(&s, ":2s", err, sizeof(err)), 0);
	slice_describe(&s, d, sizeof(d));
	CHECK_STR(d, "calls overlapping 0ns to 2s");
	slice_spec_free(&s);
}

/* ---- a synthetic source ----------------------------------------------------------------- */

/* A trace in preorder: a row at depth -1 starts a thread (name = its key,
 * start = its tid), others are calls, children after their parent one deeper. */
struct row {
	int depth;
	const char *name;
	uint64_t start, end;
};

struct synth {
	const struct row *rows;
	size_t n;
	bool end_at_open;  /* like a reader that has end_ns before the children */
	const char *crash; /* a crash object, or NULL */
	const char *meta;  /* the metadata; NULL: meta_json */
};

static const char meta_json[] =
	"{\"tool\":\"ctrace-bpf\",\"total_calls\":99,\"threads\":3,\"lost_events\":2,\"pid\":5}";

static void node_of(const struct row *r, struct trace_node *n, bool end_known)
{
	memset(n, 0, sizeof(*n));
	n->function = r->name;
	n->has_start = r->start != NONE;
	n->start_ns = n->has_start ? r->start : 0;
	n->has_end = end_known && r->end != NONE;
	n->end_ns = n->has_end ? r->end : 0;
	n->has_duration = n->has_start && n->has_end;
	n->duration_ns = n->has_duration ? r->end - r->start : 0;
	n->partial = !n->has_start || (end_known && !n->has_end);
	n->children_timed = true;
}

struct sframe_t {
	const struct row *r;
	uint64_t nchildren, children_ns;
	bool children_timed;
};

static int synth_close(const struct trace_visitor *v, void *ctx, struct sframe_t *st, size_t d)
{
	struct trace_node n;

	node_of(st[d].r, &n, true);
	n.nchildren = st[d].nchildren;
	n.children_ns = st[d].children_ns;
	n.children_timed = st[d].children_timed;
	if (d) {
		st[d - 1].nchildren++;
		if (n.has_duration)
			st[d - 1].children_ns += n.duration_ns;
		else
			st[d - 1].children_timed = false;
	}
	return v->node_close ? v->node_close(ctx, &n, d) : 0;
}

static int synth_walk(void *src, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	const struct synth *s = src;
	struct trace_meta m = { .json = s->meta ? s->meta : meta_json,
				.has_total_calls = !s->meta,
				.total_calls = 99,
				.lost_events = 2,
				.has_pid = true,
				.pid = 5 };
	struct trace_thread th = { 0 };
	struct sframe_t st[64];
	size_t depth = 0;
	bool in_thread = false;
	int rc;

	if (v->metadata && (rc = v->metadata(ctx, &m)))
		return rc;
	for (size_t i = 0; i <= s->n; i++) {
		const struct row *r = i < s->n ? &s->rows[i] : NULL;
		size_t d = r && r->depth > 0 ? (size_t)r->depth : 0;
		struct trace_node n;

		while (depth > d || (depth && (!r || r->depth < 0))) {
			depth--;
			if ((rc = synth_close(v, ctx, st, depth)))
				return rc;
			th.calls++;
		}
		if ((!r || r->depth < 0) && in_thread && v->thread_end &&
		    (rc = v->thread_end(ctx, &th)))
			return rc;
		if (!r)
			break;
		if (r->depth < 0) {
			th = (struct trace_thread){ .key = r->name,
						    .has_tid = true,
						    .tid = r->start,
						    .has_total_calls = true,
						    .total_calls = r->end };
			in_thread = true;
			if (v->thread_begin && (rc = v->thread_begin(ctx, &th)))
				return rc;
			continue;
		}
		node_of(r, &n, s->end_at_open);
		st[depth] = (struct sframe_t){ .r = r, .children_timed = true };
		if (v->node_open && (rc = v->node_open(ctx, &n, depth)))
			return rc;
		depth++;
	}
	return s->crash && v->crash ? v->crash(ctx, s->crash) : 0;
}

/* ---- what a slice passes on, as text -------------------------------------------------- */

/* "T1={a(b())}3/3 ": a thread (= when it began with its total_calls), its calls
 * nested, then its calls and total_calls at its end; "!" marks a broken rule */
struct rec {
	struct jr_buf out;
	char *meta;
	bool meta_has_total;
	const char *open[64];
	size_t depth;
	uint64_t e_nchildren, e_children_ns; /* of the call named "e" */
};

static void put(struct rec *r, const char *s)
{
	jr_buf_put(&r->out, s, strlen(s));
}

static int rec_meta(void *ctx, const struct trace_meta *m)
{
	struct rec *r = ctx;

	free(r->meta);
	r->meta = strdup(m->json);
	r->meta_has_total = m->has_total_calls;
	return 0;
}

static int rec_begin(void *ctx, const struct trace_thread *t)
{
	struct rec *r = ctx;

	put(r, "T");
	put(r, t->key);
	put(r, t->has_total_calls ? "={" : "{");
	r->depth = 0;
	return 0;
}

static int rec_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct rec *r = ctx;

	if (depth != r->depth)
		put(r, "!depth");
	r->open[r->depth++ & 63] = n->function;
	put(r, n->function ? n->function : "?");
	put(r, "(");
	return 0;
}

static int rec_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct rec *r = ctx;

	if (!r->depth || depth != --r->depth || strcmp(r->open[depth & 63], n->function))
		put(r, "!close");
	if (!strcmp(n->function, "e")) {
		r->e_nchildren = n->nchildren;
		r->e_children_ns = n->children_ns;
	}
	put(r, ")");
	return 0;
}

static int rec_end(void *ctx, const struct trace_thread *t)
{
	struct rec *r = ctx;
	char b[64];

	if (r->depth)
		put(r, "!open");
	snprintf(b, sizeof(b), "}%llu/", (unsigned long long)t->calls);
	put(r, b);
	if (t->has_total_calls)
		snprintf(b, sizeof(b), "%llu ", (unsigned long long)t->total_calls);
	else
		snprintf(b, sizeof(b), "- ");
	put(r, b);
	return 0;
}

static int rec_crash(void *ctx, const char *json)
{
	put(ctx, "crash");
	return 0;
}

static const struct trace_visitor rec_visitor = {
	.metadata = rec_meta,
	.thread_begin = rec_begin,
	.node_open = rec_open,
	.node_close = rec_close,
	.thread_end = rec_end,
	.crash = rec_crash,
};

static void rec_free(struct rec *r)
{
	jr_buf_free(&r->out);
	free(r->meta);
	memset(r, 0, sizeof(*r));
}

/* slices src by tids (or NULL) and range (or NULL) into r; the walk's status */
static int slice_into(struct rec *r, const struct trace_source *src, const char *tids,
		      const char *range, struct slice *sl)
{
	struct slice_spec spec = { 0 };
	char err[256];
	int rc;

	memset(r, 0, sizeof(*r));
	if (tids)
		CHECK_INT(slice_add_tids(&spec, tids, err, sizeof(err)), 0);
	if (range)
		CHECK_INT(slice_set_range(&spec, range, err, sizeof(err)), 0);
	slice_init(sl, &spec, src);
	rc = source_walk(&sl->source, &rec_visitor, r, err, sizeof(err));
	put(r, ""); /* a string even when nothing was passed on */
	slice_spec_free(&spec);
	return rc;
}

/* the slice of rows, as text */
static char *sliced(const struct row *rows, size_t n, bool end_at_open, const char *tids,
		    const char *range)
{
	struct synth s = { rows, n, end_at_open, NULL, NULL };
	struct trace_source src = { synth_walk, &s };
	struct slice sl;
	struct rec r;
	char *out;

	CHECK_INT(slice_into(&r, &src, tids, range, &sl), 0);
	out = strdup(r.out.p);
	rec_free(&r);
	return out;
}

#define CHECK_SLICE(rows, eao, tids, range, want)                                            \
	do {                                                                                 \
		char *got_ = sliced(rows, sizeof(rows) / sizeof(rows[0]), eao, tids, range); \
		CHECK_STR(got_, want);                                                       \
		free(got_);                                                                  \
	} while (0)

/* ---- the window ----------------------------------------------------------------------- */

/* Every case against the window [100, 200] */
static const struct row window_rows[] = {
	{ -1, "1", 1, 40 },
	{ 0, "a", 0, 50 },    /* before: dropped */
	{ 0, "b", 0, 100 },   /* ends exactly at START: kept */
	{ 0, "c", 200, 300 }, /* starts exactly at END: kept */
	{ 0, "d", 201, 300 }, /* after: dropped, with its child */
	{ 1, "d1", 210, 220 },
	{ 0, "e", 50, 150 },   /* overlaps START: kept, with the children inside */
	{ 1, "e1", 60, 70 },   /*   before: dropped */
	{ 1, "e2", 120, 130 }, /*   inside */
	{ 1, "e3", 140, 160 }, /*   inside */
	{ 0, "f", 150, 250 },  /* overlaps END: kept, its child after END dropped */
	{ 1, "f1", 210, 220 },
	{ 0, "g", 10, 400 }, /* spans the window, no child in it: kept */
	{ 1, "g1", 20, 30 },
	{ 0, "p1", NONE, 150 },	 /* entry not observed, ends inside: kept */
	{ 0, "p2", NONE, 50 },	 /* entry not observed, ends before: dropped */
	{ 0, "p3", 150, NONE },	 /* exit not observed, starts inside: kept */
	{ 0, "p4", 50, NONE },	 /* exit not observed, starts before: dropped */
	{ 0, "p5", NONE, NONE }, /* no time known, a child inside: kept */
	{ 1, "p5a", 120, 130 },
	{ 0, "p6", NONE, NONE }, /* no time known, no child: dropped */
	{ 0, "p7", 50, NONE },	 /* starts before, exit not observed, child inside: kept */
	{ 1, "p7a", 120, 130 },
	{ 0, "p8", NONE, 300 }, /* entry not observed, ends after END: dropped */
	{ 0, "r", 0, 1000 },	/* spans; its chain before START dropped */
	{ 1, "x", 0, 90 },
	{ 2, "y", 10, 20 },
	{ 0, "q", NONE, NONE }, /* a chain kept for one descendant at START */
	{ 1, "q1", 50, NONE },
	{ 2, "q2", NONE, 99 },
	{ 2, "q3", 100, 100 },
	{ -1, "2", 2, 1 }, /* no call in the window: the thread is left out */
	{ 0, "w", 500, 600 },
	{ -1, "1#2", 1, 2 }, /* a later tree of thread 1 */
	{ 0, "v", 150, 160 },
	{ 1, "v1", 201, 202 },
};

#define WINDOW_WANT                                                                 \
	"T1{b()c()e(e2()e3())f()g()p1()p3()p5(p5a())p7(p7a())r()q(q1(q3()))}17/17 " \
	"T1#2{v()}1/1 "

/* window_rows as a trace, with meta as its metadata (NULL: meta_json) */
static struct synth window_synth(const char *meta)
{
	return (struct synth){ window_rows, sizeof(window_rows) / sizeof(window_rows[0]), false,
			       NULL, meta };
}

TEST(test_window_exact)
{
	CHECK_SLICE(window_rows, false, NULL, "100:200", WINDOW_WANT);
	/* the same when the reader knows the end at node_open */
	CHECK_SLICE(window_rows, true, NULL, "100:200", WINDOW_WANT);
	CHECK_SLICE(window_rows, false, NULL, "100ns:0.2us", WINDOW_WANT);
}

TEST(test_window_edges)
{
	/* one instant: what touches 100 */
	CHECK_SLICE(window_rows, false, NULL, "100:100", "T1{b()e()g()r()q(q1(q3()))}7/7 ");
	/* open ends */
	CHECK_SLICE(window_rows, false, NULL, ":49", "T1{a()b()g(g1())r(x(y()))}7/7 ");
	CHECK_SLICE(window_rows, true, NULL, "300:", "T1{c()d()g()p8()r()}5/5 T2{w()}1/1 ");
	/* everything with a known time; p6 has none, and no child */
	CHECK_SLICE(window_rows, false, NULL, "0:",
		    "T1{a()b()c()d(d1())e(e1()e2()e3())f(f1())g(g1())"
		    "p1()p2()p3()p4()p5(p5a())p7(p7a())p8()r(x(y()))q(q1(q2()q3()))}29/29 "
		    "T2{w()}1/1 T1#2{v(v1())}2/2 ");
	/* nothing in it: no thread */
	CHECK_SLICE(window_rows, false, NULL, "2000:3000", "");
}

TEST(test_window_counts)
{
	struct synth s = window_synth(NULL);
	struct trace_source src = { synth_walk, &s };
	struct slice sl;
	struct rec r;

	CHECK_INT(slice_into(&r, &src, NULL, "100:200", &sl), 0);
	CHECK_INT(sl.calls, 18);
	CHECK_INT(sl.threads, 2);
	CHECK(sl.has_trace_calls && sl.trace_calls == 99);
	/* e passed on 2 children of 3; the one left out still counts in its self time */
	CHECK_INT(r.e_nchildren, 2);
	CHECK_INT(r.e_children_ns, 10 + 10 + 20);
	rec_free(&r);
}

/* ---- threads ---------------------------------------------------------------------------- */

TEST(test_tids)
{
	/* whole threads: their counts stand as written */
	CHECK_SLICE(window_rows, false, "2", NULL, "T2={w()}1/1 ");
	CHECK_SLICE(window_rows, false, "1", NULL,
		    "T1={a()b()c()d(d1())e(e1()e2()e3())f(f1())g(g1())"
		    "p1()p2()p3()p4()p5(p5a())p6()p7(p7a())p8()r(x(y()))q(q1(q2()q3()))}30/40 "
		    "T1#2={v(v1())}2/2 ");
	CHECK_SLICE(window_rows, false, "1#2", NULL, "T1#2={v(v1())}2/2 ");
	CHECK_SLICE(window_rows, false, "2,1#2", NULL, "T2={w()}1/1 T1#2={v(v1())}2/2 ");
	CHECK_SLICE(window_rows, false, "7", NULL, "");
	/* both: the threads, then the window within them */
	CHECK_SLICE(window_rows, false, "1#2", "100:200", "T1#2{v()}1/1 ");
	CHECK_SLICE(window_rows, false, "2", "100:200", "");
}

/* ---- metadata and crash ----------------------------------------------------------------- */

/* the "slice" member of the metadata r was given is want */
static void check_slice_meta(const struct rec *r, const char *want)
{
	cJSON *m = cJSON_Parse(r->meta);
	char *txt = cJSON_PrintUnformatted(cJSON_GetObjectItem(m, "slice"));

	CHECK_STR(txt, want);
	cJSON_free(txt);
	cJSON_Delete(m);
}

TEST(test_metadata)
{
	struct synth s = window_synth(NULL);
	struct trace_source src = { synth_walk, &s };
	struct slice sl;
	struct rec r;
	cJSON *m;

	CHECK_INT(slice_into(&r, &src, "1,1#2", "1500:", &sl), 0);
	CHECK(!r.meta_has_total);
	check_slice_meta(&r,
			 "{\"tids\":[1,\"1#2\"],\"start_ns\":1500,\"end_ns\":null,"
			 "\"trace_total_calls\":99,\"trace_threads\":3,\"trace_lost_events\":2}");
	m = cJSON_Parse(r.meta);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(m, "total_calls")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(m, "threads")));
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(m, "lost_events")));
	CHECK_INT(cJSON_GetObjectItem(m, "pid")->valuedouble, 5);
	CHECK_STR(cJSON_GetObjectItem(m, "tool")->valuestring, "ctrace-bpf");
	cJSON_Delete(m);
	rec_free(&r);

	CHECK_INT(slice_into(&r, &src, NULL, ":2s", &sl), 0);
	check_slice_meta(&r,
			 "{\"tids\":null,\"start_ns\":0,\"end_ns\":2000000000,"
			 "\"trace_total_calls\":99,\"trace_threads\":3,\"trace_lost_events\":2}");
	rec_free(&r);
}

TEST(test_slice_of_a_slice)
{
	/* what an earlier slice wrote: it narrows, and the whole trace's counts stay */
	struct synth s = window_synth(
		"{\"total_calls\":null,\"threads\":null,\"lost_events\":null,"
		"\"slice\":{\"tids\":[1],\"start_ns\":100,\"end_ns\":500,"
		"\"trace_total_calls\":99,\"trace_threads\":3,\"trace_lost_events\":2}}");
	struct trace_source src = { synth_walk, &s };
	struct slice sl;
	struct rec r;

	CHECK_INT(slice_into(&r, &src, NULL, "200:", &sl), 0);
	CHECK(sl.has_trace_calls && sl.trace_calls == 99);
	/* one "slice", the new one */
	CHECK(strstr(strstr(r.meta, "\"slice\"") + 1, "\"slice\"") == NULL);
	check_slice_meta(&r,
			 "{\"tids\":[1],\"start_ns\":200,\"end_ns\":500,"
			 "\"trace_total_calls\":99,\"trace_threads\":3,\"trace_lost_events\":2}");
	rec_free(&r);
	CHECK_INT(slice_into(&r, &src, "1#2", "50:150", &sl), 0);
	check_slice_meta(&r,
			 "{\"tids\":[\"1#2\"],\"start_ns\":100,\"end_ns\":150,"
			 "\"trace_total_calls\":99,\"trace_threads\":3,\"trace_lost_events\":2}");
	rec_free(&r);
}

static char *with_crash(const char *crash, const char *tids, const char *range)
{
	static const struct row rows[] = { { -1, "1", 1, 1 }, { 0, "m", 0, 2000 } };
	struct synth s = { rows, 2, false, crash, NULL };
	struct trace_source src = { synth_walk, &s };
	struct slice sl;
	struct rec r;
	char *out;

	CHECK_INT(slice_into(&r, &src, tids, range, &sl), 0);
	out = strdup(strstr(r.out.p, "crash") ? "yes" : "no");
	rec_free(&r);
	return out;
}

#define CHECK_CRASH(crash, tids, range, want)                \
	do {                                                 \
		char *got_ = with_crash(crash, tids, range); \
		CHECK_STR(got_, want);                       \
		free(got_);                                  \
	} while (0)

TEST(test_crash)
{
	const char *c = "{\"signal\":11,\"thread_id\":11,\"time_ns\":1500}";
	const char *untimed = "{\"signal\":11,\"thread_id\":11}";

	CHECK_CRASH(c, "11", NULL, "yes");
	CHECK_CRASH(c, "11#3", NULL, "yes");
	CHECK_CRASH(c, "1", NULL, "no");
	CHECK_CRASH(c, NULL, "1000:1500", "yes");
	CHECK_CRASH(c, NULL, "1501:", "no");
	CHECK_CRASH(c, NULL, ":1499", "no");
	CHECK_CRASH(untimed, NULL, "1000:", "yes"); /* a window to the end holds it */
	CHECK_CRASH(untimed, NULL, "0:1000", "no");
}

/* ---- through the JSON reader ----------------------------------------------------------- */

/* rows as a JSON trace, end_ns after the children as ctrace-bpf writes it */
static void json_rows(FILE *f, const struct row *rows, size_t n)
{
	int depth = -1;

	fprintf(f, "{\"metadata\":%s,\"call_trees\":{", meta_json);
	for (size_t i = 0; i <= n; i++) {
		const struct row *r = i < n ? &rows[i] : NULL;
		int d = r ? (r->depth < 0 ? -1 : r->depth) : -1;

		for (; depth >= d && depth >= 0; depth--) {
			const struct row *o = NULL;

			/* the open row at this depth: the last before i at it */
			for (size_t k = i; k-- > 0;)
				if (rows[k].depth == depth) {
					o = &rows[k];
					break;
				}
			fputs("]", f);
			if (o->end == NONE)
				fputs(",\"end_ns\":null,\"duration_ns\":null,\"partial\":true}", f);
			else if (o->start == NONE)
				fprintf(f,
					",\"end_ns\":%llu,\"duration_ns\":null,\"partial\":true}",
					(unsigned long long)o->end);
			else
				fprintf(f, ",\"end_ns\":%llu,\"duration_ns\":%llu}",
					(unsigned long long)o->end,
					(unsigned long long)(o->end - o->start));
		}
		if (r && r->depth >= 0 && i && rows[i - 1].depth >= r->depth)
			fputs(",", f);
		if (!r || r->depth < 0) {
			if (i && rows[i - 1].depth >= -1 && i > 1)
				fputs("]}", f);
			if (!r)
				break;
			fprintf(f,
				"%s\"%s\":{\"thread_id\":%llu,\"total_calls\":%llu,\"root_calls\":[",
				i ? "," : "", r->name, (unsigned long long)r->start,
				(unsigned long long)r->end);
			continue;
		}
		fprintf(f, "{\"function\":\"%s\",\"start_ns\":", r->name);
		if (r->start == NONE)
			fputs("null", f);
		else
			fprintf(f, "%llu", (unsigned long long)r->start);
		fputs(",\"children\":[", f);
		depth = r->depth;
	}
	fputs("},\"crash\":null}\n", f);
}

TEST(test_json_reader)
{
	FILE *f = fopen(path_in_tmp("w.json"), "w");
	struct trace_input in;
	struct slice sl;
	struct rec r;
	char err[256];

	json_rows(f, window_rows, sizeof(window_rows) / sizeof(window_rows[0]));
	fclose(f);
	CHECK_INT(trace_input_open(&in, path_in_tmp("w.json"), err, sizeof(err)), 0);
	CHECK_INT(slice_into(&r, &in.source, NULL, "100:200", &sl), 0);
	trace_input_close(&in);
	CHECK_STR(r.out.p, WINDOW_WANT);
	rec_free(&r);
}

int main(void)
{
	if (!harness_tmp_make("test_slice"))
		return 2;
	harness_run_all();
	harness_tmp_remove();
	HARNESS_MAIN_END("test_slice");
}
