/* Slicing a trace by thread and time window; see slice.h. One pass, streamed:
 * memory is bounded by the call depth. A call whose verdict is not known when
 * it opens (it started before the window and has not ended yet) waits, its
 * open-time fields copied, until it closes or a descendant is kept. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cmds/jsonread.h"
#include "cmds/slice.h"

/* ---- the options ------------------------------------------------------------------- */

static bool parse_u64(const char *s, size_t len, uint64_t *v)
{
	uint64_t x = 0;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return true;
}

bool slice_parse_time(const char *s, size_t len, uint64_t *ns)
{
	static const struct {
		const char *name;
		uint64_t mult;
	} units[] = { { "ns", 1 },	 { "us", 1000 },      { "µs", 1000 },
		      { "ms", 1000000 }, { "s", 1000000000 }, { "", 1 } };
	size_t num = 0, dot = SIZE_MAX, u;
	uint64_t whole, frac = 0, mult = 0, scale = 1;

	for (; num < len; num++) {
		if (s[num] == '.' && dot == SIZE_MAX)
			dot = num;
		else if (s[num] < '0' || s[num] > '9')
			break;
	}
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
		if (len - num == strlen(units[u].name) &&
		    !memcmp(s + num, units[u].name, len - num)) {
			mult = units[u].mult;
			break;
		}
	if (!mult)
		return false;
	if (dot == SIZE_MAX)
		dot = num;
	/* the whole part: "1.5" and ".5" and "5." are times, "." is not */
	if (dot == 0 && num <= 1)
		return false;
	if (dot == 0)
		whole = 0;
	else if (!parse_u64(s, dot, &whole))
		return false;
	if (dot + 1 < num) {
		/* a fraction must come to whole ns: at most 9 digits, and exact */
		if (num - dot - 1 > 9 || !parse_u64(s + dot + 1, num - dot - 1, &frac))
			return false;
		for (size_t i = dot + 1; i < num; i++)
			scale *= 10;
		if ((frac * mult) % scale)
			return false;
		frac = frac * mult / scale;
	}
	if (whole > (UINT64_MAX - frac) / mult)
		return false;
	*ns = whole * mult + frac;
	return true;
}

static int add_one_tid(struct slice_spec *s, const char *tok, size_t len)
{
	const char *hash = memchr(tok, '#', len);
	uint64_t v, n;

	if (!hash) {
		uint64_t *nt;

		if (!parse_u64(tok, len, &v))
			return -1;
		nt = realloc(s->tids, (s->ntids + 1) * sizeof(*nt));
		if (!nt)
			return -2;
		s->tids = nt;
		s->tids[s->ntids++] = v;
		return 0;
	}
	/* a key: "5813#2", as call_trees names it */
	if (!parse_u64(tok, (size_t)(hash - tok), &v) ||
	    !parse_u64(hash + 1, len - (size_t)(hash - tok) - 1, &n)) {
		return -1;
	} else {
		char **nk = realloc(s->keys, (s->nkeys + 1) * sizeof(*nk));

		if (!nk)
			return -2;
		s->keys = nk;
		s->keys[s->nkeys] = strndup(tok, len);
		if (!s->keys[s->nkeys])
			return -2;
		s->nkeys++;
	}
	return 0;
}

int slice_add_tids(struct slice_spec *s, const char *arg, char *err, size_t errlen)
{
	const char *p = arg;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int rc = add_one_tid(s, p, len);

		if (rc == -2) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (rc) {
			snprintf(err, errlen,
				 "invalid --tid '%s': '%.*s' is not a thread id (5813) or a "
				 "thread key (5813#2)",
				 arg, (int)len, p);
			return -1;
		}
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

int slice_set_range(struct slice_spec *s, const char *arg, char *err, size_t errlen)
{
	const char *colon = strchr(arg, ':');
	size_t l1, l2;
	uint64_t a = 0, b = UINT64_MAX;

	if (!colon) {
		snprintf(err, errlen, "invalid --time-range '%s': expected START:END", arg);
		return -1;
	}
	l1 = (size_t)(colon - arg);
	l2 = strlen(colon + 1);
	if (!l1 && !l2) {
		snprintf(err, errlen, "invalid --time-range '%s': give START, END or both", arg);
		return -1;
	}
	if (l1 && !slice_parse_time(arg, l1, &a)) {
		snprintf(err, errlen,
			 "invalid --time-range '%s': '%.*s' is not a time (1.5s, 200ms, 10us, "
			 "500ns or whole ns)",
			 arg, (int)l1, arg);
		return -1;
	}
	if (l2 && !slice_parse_time(colon + 1, l2, &b)) {
		snprintf(err, errlen,
			 "invalid --time-range '%s': '%s' is not a time (1.5s, 200ms, 10us, "
			 "500ns or whole ns)",
			 arg, colon + 1);
		return -1;
	}
	if (a > b) {
		snprintf(err, errlen, "invalid --time-range '%s': START is after END", arg);
		return -1;
	}
	s->has_range = true;
	s->start_ns = a;
	s->end_ns = b;
	s->open_end = !l2;
	return 0;
}

int slice_option(struct slice_spec *s, int code, const char *arg, const char *cmd)
{
	char err[256];
	int rc = code == SLICE_OPT_TID ? slice_add_tids(s, arg, err, sizeof(err)) :
					 slice_set_range(s, arg, err, sizeof(err));

	if (!rc)
		return 0;
	fprintf(stderr, "%s: %s\n", cmd, err);
	return 2;
}

bool slice_active(const struct slice_spec *s)
{
	return s->ntids || s->nkeys || s->has_range;
}

void slice_spec_free(struct slice_spec *s)
{
	for (size_t i = 0; i < s->nkeys; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->tids);
	memset(s, 0, sizeof(*s));
}

static size_t fmt_time(char *b, size_t len, uint64_t ns)
{
	/* the largest unit that shows it exactly */
	if (ns && ns % 1000000000 == 0)
		return (size_t)snprintf(b, len, "%" PRIu64 "s", ns / 1000000000);
	if (ns && ns % 1000000 == 0)
		return (size_t)snprintf(b, len, "%" PRIu64 "ms", ns / 1000000);
	if (ns && ns % 1000 == 0)
		return (size_t)snprintf(b, len, "%" PRIu64 "us", ns / 1000);
	return (size_t)snprintf(b, len, "%" PRIu64 "ns", ns);
}

void slice_describe(const struct slice_spec *s, char *buf, size_t len)
{
	size_t n = 0;

#define ROOM (n < len ? len - n : 0)
	buf[0] = 0;
	if (s->ntids || s->nkeys) {
		n += (size_t)snprintf(buf + n, ROOM, "thread%s ",
				      s->ntids + s->nkeys > 1 ? "s" : "");
		for (size_t i = 0; i < s->ntids; i++)
			n += (size_t)snprintf(buf + n, ROOM, "%s%" PRIu64, i ? ", " : "",
					      s->tids[i]);
		for (size_t i = 0; i < s->nkeys; i++)
			n += (size_t)snprintf(buf + n, ROOM, "%s%s", i || s->ntids ? ", " : "",
					      s->keys[i]);
	}
	if (s->has_range) {
		n += (size_t)snprintf(buf + n, ROOM, "%scalls overlapping ", n ? "; " : "");
		n += fmt_time(buf + n, ROOM, s->start_ns);
		if (s->open_end)
			n += (size_t)snprintf(buf + n, ROOM, " to the end");
		else {
			n += (size_t)snprintf(buf + n, ROOM, " to ");
			n += fmt_time(buf + n, ROOM, s->end_ns);
		}
	}
#undef ROOM
}

/* ---- the filter ---------------------------------------------------------------------- */

enum { S_FUNCTION, S_MODULE, S_ADDRESS, S_REASON, S_ARGS, S_ARGS_WHY, S_RETVAL, NSTR };

/* one open call of the thread */
struct sframe {
	struct trace_node n; /* as it opened; its strings in s, at off */
	size_t off[NSTR];
	struct jr_buf s;
	uint64_t kept_children;
};

struct slicer {
	struct slice *sl;
	const struct slice_spec *spec;
	const struct trace_visitor *down;
	void *dctx;
	char *err;
	size_t errlen;
	/* the thread being read */
	bool selected, begun;
	struct trace_thread th; /* as it began, for a deferred thread_begin */
	struct jr_buf key, name;
	uint64_t kept;
	/* its open calls: frames [0, nemitted) were passed on, the rest wait */
	struct sframe *f;
	size_t capf, nemitted;
	bool skipping; /* inside a dropped subtree rooted at skip_depth */
	size_t skip_depth;
};

static int oom(struct slicer *s)
{
	snprintf(s->err, s->errlen, "out of memory");
	return -1;
}

static bool tid_selected(const struct slice_spec *sp, bool has_tid, uint64_t tid, const char *key)
{
	if (!sp->ntids && !sp->nkeys)
		return true;
	for (size_t i = 0; has_tid && i < sp->ntids; i++)
		if (sp->tids[i] == tid)
			return true;
	for (size_t i = 0; key && i < sp->nkeys; i++)
		if (!strcmp(sp->keys[i], key))
			return true;
	return false;
}

/* does the known part of [a, b] meet the window? */
static bool overlaps(const struct slice_spec *sp, bool has_a, uint64_t a, bool has_b, uint64_t b)
{
	if (has_a && has_b)
		return a <= sp->end_ns && b >= sp->start_ns;
	if (has_a)
		return a >= sp->start_ns && a <= sp->end_ns;
	if (has_b)
		return b >= sp->start_ns && b <= sp->end_ns;
	return false;
}

enum verdict { V_KEEP, V_DROP, V_WAIT };

/* At node_open a null end may yet come (readers give end_ns after the
 * children): decide only what no end can change. A call that starts after
 * END or ends before START holds no call that overlaps (calls nest in time). */
static enum verdict open_verdict(const struct slice_spec *sp, const struct trace_node *n)
{
	if ((n->has_start && n->start_ns > sp->end_ns) || (n->has_end && n->end_ns < sp->start_ns))
		return V_DROP;
	if (n->has_start && (n->has_end || n->start_ns >= sp->start_ns))
		return V_KEEP;
	if (n->has_end && n->end_ns <= sp->end_ns)
		return V_KEEP;
	return V_WAIT;
}

static struct sframe *frame_at(struct slicer *s, size_t depth)
{
	if (depth >= s->capf) {
		size_t ncap = s->capf ? s->capf * 2 : 64;
		struct sframe *nf;

		while (ncap <= depth)
			ncap *= 2;
		nf = realloc(s->f, ncap * sizeof(*nf));
		if (!nf)
			return NULL;
		memset(nf + s->capf, 0, (ncap - s->capf) * sizeof(*nf));
		s->f = nf;
		s->capf = ncap;
	}
	return &s->f[depth];
}

static int keep_str(struct sframe *f, int i, const char *str)
{
	f->off[i] = SIZE_MAX;
	if (!str)
		return 0;
	f->off[i] = f->s.len;
	return jr_buf_put(&f->s, str, strlen(str) + 1);
}

/* a waiting call's open-time fields, kept past the callback */
static int frame_keep(struct sframe *f, const struct trace_node *n)
{
	f->n = *n;
	f->s.len = 0;
	if (keep_str(f, S_FUNCTION, n->function) || keep_str(f, S_MODULE, n->module) ||
	    keep_str(f, S_ADDRESS, n->address) || keep_str(f, S_REASON, n->partial_reason) ||
	    keep_str(f, S_ARGS, n->arguments) ||
	    keep_str(f, S_ARGS_WHY, n->arguments_unavailable) ||
	    keep_str(f, S_RETVAL, n->return_value))
		return -1;
	return 0;
}

static const char *frame_str(const struct sframe *f, int i)
{
	return f->off[i] == SIZE_MAX ? NULL : f->s.p + f->off[i];
}

static int begin_thread(struct slicer *s)
{
	if (s->begun)
		return 0;
	s->begun = true;
	return s->down->thread_begin ? s->down->thread_begin(s->dctx, &s->th) : 0;
}

/* passes on the waiting calls below depth: the callers of a kept call */
static int flush_waiting(struct slicer *s, size_t depth)
{
	int rc = begin_thread(s);

	for (; !rc && s->nemitted < depth; s->nemitted++) {
		struct sframe *f = &s->f[s->nemitted];
		struct trace_node n = f->n;

		n.function = frame_str(f, S_FUNCTION);
		n.module = frame_str(f, S_MODULE);
		n.address = frame_str(f, S_ADDRESS);
		n.partial_reason = frame_str(f, S_REASON);
		n.arguments = frame_str(f, S_ARGS);
		n.arguments_unavailable = frame_str(f, S_ARGS_WHY);
		n.return_value = frame_str(f, S_RETVAL);
		if (s->down->node_open)
			rc = s->down->node_open(s->dctx, &n, s->nemitted);
	}
	return rc;
}

static int sl_node_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct slicer *s = ctx;
	struct sframe *f;
	enum verdict v;
	int rc;

	if (!s->selected || s->skipping)
		return 0;
	if (!(f = frame_at(s, depth)))
		return oom(s);
	f->kept_children = 0;
	v = s->spec->has_range ? open_verdict(s->spec, n) : V_KEEP;
	if (v == V_DROP) {
		s->skipping = true;
		s->skip_depth = depth;
		return 0;
	}
	if (v == V_WAIT)
		return frame_keep(f, n) ? oom(s) : 0;
	if ((rc = flush_waiting(s, depth)))
		return rc;
	s->nemitted = depth + 1;
	return s->down->node_open ? s->down->node_open(s->dctx, n, depth) : 0;
}

static int sl_node_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct slicer *s = ctx;
	struct trace_node c = *n;
	int rc;

	if (!s->selected)
		return 0;
	if (s->skipping) {
		s->skipping = depth > s->skip_depth;
		return 0;
	}
	if (depth >= s->nemitted) {
		/* it waited, and none of its descendants was kept */
		if (!overlaps(s->spec, n->has_start, n->start_ns, n->has_end, n->end_ns))
			return 0;
		if ((rc = flush_waiting(s, depth + 1)))
			return rc;
	}
	s->nemitted = depth;
	/* the children passed on; their time stays in children_ns, so a call's
	 * self time is its own whatever the slice left out */
	c.nchildren = s->f[depth].kept_children;
	if (depth)
		s->f[depth - 1].kept_children++;
	s->kept++;
	s->sl->calls++;
	return s->down->node_close ? s->down->node_close(s->dctx, &c, depth) : 0;
}

static int sl_thread_begin(void *ctx, const struct trace_thread *t)
{
	struct slicer *s = ctx;

	s->selected = tid_selected(s->spec, t->has_tid, t->tid, t->key);
	s->begun = false;
	s->kept = 0;
	s->nemitted = 0;
	s->skipping = false;
	if (!s->selected)
		return 0;
	s->th = *t;
	if (!s->spec->has_range)
		return begin_thread(s); /* whole threads: their counts stand */
	/* a thread with no call in the window is left out: begin it with
	 * its first kept call, and its count is known only at its end */
	s->key.len = s->name.len = 0;
	if (jr_buf_put(&s->key, t->key, strlen(t->key)) ||
	    (t->name && jr_buf_put(&s->name, t->name, strlen(t->name))))
		return oom(s);
	s->th.key = s->key.p;
	s->th.name = t->name ? s->name.p : NULL;
	s->th.has_total_calls = false;
	s->th.total_calls = 0;
	return 0;
}

static int sl_thread_end(void *ctx, const struct trace_thread *t)
{
	struct slicer *s = ctx;
	struct trace_thread th = *t;

	if (!s->selected || (s->spec->has_range && !s->begun))
		return 0;
	s->sl->threads++;
	if (s->spec->has_range) {
		th.has_total_calls = true;
		th.total_calls = th.calls = s->kept;
	}
	return s->down->thread_end ? s->down->thread_end(s->dctx, &th) : 0;
}

/* the crash: when its thread is kept, and its time (if known) is in the window */
static int sl_crash(void *ctx, const char *json)
{
	struct slicer *s = ctx;
	cJSON *o = cJSON_Parse(json);
	const cJSON *tid = cJSON_GetObjectItemCaseSensitive(o, "thread_id");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "time_ns");
	const struct slice_spec *sp = s->spec;
	bool keep = true;

	if (!o)
		return oom(s);
	if ((sp->ntids || sp->nkeys) && cJSON_IsNumber(tid) && tid->valuedouble >= 0) {
		uint64_t id = (uint64_t)tid->valuedouble;

		keep = tid_selected(sp, true, id, NULL);
		/* a key "5813#2" names a tree of thread 5813 */
		for (size_t i = 0; !keep && i < sp->nkeys; i++)
			keep = strtoull(sp->keys[i], NULL, 10) == id;
	}
	if (keep && sp->has_range) {
		if (cJSON_IsNumber(t) && t->valuedouble >= 0)
			keep = t->valuedouble >= (double)sp->start_ns &&
			       (sp->open_end || t->valuedouble <= (double)sp->end_ns);
		else
			keep = sp->open_end;
	}
	cJSON_Delete(o);
	return keep && s->down->crash ? s->down->crash(s->dctx, json) : 0;
}

static cJSON *raw_u64(uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return cJSON_CreateRaw(b);
}

static bool json_u64(const cJSON *o, const char *k, uint64_t *v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsRaw(x)) /* a number kept as its text (jr_parse_exact) */
		return jr_parse_u64(x->valuestring, v);
	if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0) ||
	    x->valuedouble >= 18446744073709551616.0)
		return false;
	*v = (uint64_t)x->valuedouble;
	return true;
}

/* the window, narrowed by the one an earlier slice cut: has_range false
 * when neither cut one; end UINT64_MAX when open */
static bool window_of(const struct slice_spec *sp, const cJSON *prev, uint64_t *start,
		      uint64_t *end)
{
	uint64_t v;
	bool any = sp->has_range;

	*start = sp->has_range ? sp->start_ns : 0;
	*end = sp->has_range ? sp->end_ns : UINT64_MAX;
	if (json_u64(prev, "start_ns", &v)) {
		any = true;
		*start = v > *start ? v : *start;
	}
	if (json_u64(prev, "end_ns", &v)) {
		any = true;
		*end = v < *end ? v : *end;
	}
	return any;
}

/* "slice": what was cut, and the whole trace's counts, moved out of the
 * members that would otherwise claim them for the slice. A slice of a slice
 * narrows it: the window is where both meet, the tids the latest given, and
 * the counts stay the whole trace's. */
static cJSON *slice_object(const struct slice_spec *sp, cJSON *meta, struct slice *sl)
{
	static const char *const counts[] = { "total_calls", "threads", "lost_events" };
	cJSON *o = cJSON_CreateObject(), *tids;
	const cJSON *prev = cJSON_GetObjectItemCaseSensitive(meta, "slice");
	uint64_t start, end;

	if (!o)
		return NULL;
	if (sp->ntids || sp->nkeys) {
		tids = cJSON_AddArrayToObject(o, "tids");
		for (size_t i = 0; tids && i < sp->ntids; i++)
			cJSON_AddItemToArray(tids, raw_u64(sp->tids[i]));
		for (size_t i = 0; tids && i < sp->nkeys; i++)
			cJSON_AddItemToArray(tids, cJSON_CreateString(sp->keys[i]));
	} else if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(prev, "tids"))) {
		cJSON_AddItemToObject(
			o, "tids",
			cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(prev, "tids"), true));
	} else {
		cJSON_AddNullToObject(o, "tids");
	}
	if (window_of(sp, prev, &start, &end)) {
		cJSON_AddItemToObject(o, "start_ns", raw_u64(start));
		cJSON_AddItemToObject(o, "end_ns",
				      end == UINT64_MAX ? cJSON_CreateNull() : raw_u64(end));
	} else {
		cJSON_AddNullToObject(o, "start_ns");
		cJSON_AddNullToObject(o, "end_ns");
	}
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		char name[32];
		uint64_t v;
		bool known;

		snprintf(name, sizeof(name), "trace_%s", counts[i]);
		known = json_u64(meta, counts[i], &v) || json_u64(prev, name, &v);
		cJSON_AddItemToObject(o, name, known ? raw_u64(v) : cJSON_CreateNull());
		if (i == 0) {
			sl->has_trace_calls = known;
			sl->trace_calls = known ? v : 0;
		}
		if (cJSON_GetObjectItemCaseSensitive(meta, counts[i]))
			cJSON_ReplaceItemInObjectCaseSensitive(meta, counts[i], cJSON_CreateNull());
	}
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "slice");
	return o;
}

static int sl_metadata(void *ctx, const struct trace_meta *m)
{
	struct slicer *s = ctx;
	cJSON *meta = jr_parse_exact(m->json), *so;
	struct trace_meta mm = *m;
	char *json;
	int rc;

	if (!meta)
		return oom(s);
	so = slice_object(s->spec, meta, s->sl);
	if (!so || !cJSON_AddItemToObject(meta, "slice", so)) {
		cJSON_Delete(so);
		cJSON_Delete(meta);
		return oom(s);
	}
	json = cJSON_PrintUnformatted(meta);
	cJSON_Delete(meta);
	if (!json)
		return oom(s);
	/* one pass cannot know the slice's totals before its calls */
	mm.json = json;
	mm.has_total_calls = false;
	mm.total_calls = 0;
	mm.lost_events = 0;
	rc = s->down->metadata ? s->down->metadata(s->dctx, &mm) : 0;
	cJSON_free(json);
	return rc;
}

static int slice_walk(void *src, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	struct slice *sl = src;
	struct slicer s = {
		.sl = sl, .spec = sl->spec, .down = v, .dctx = ctx, .err = err, .errlen = errlen
	};
	const struct trace_visitor mine = {
		.metadata = sl_metadata,
		.thread_begin = sl_thread_begin,
		.node_open = sl_node_open,
		.node_close = sl_node_close,
		.thread_end = sl_thread_end,
		.crash = sl_crash,
		.no_values = v->no_values,
	};
	int rc;

	sl->calls = sl->threads = 0;
	sl->has_trace_calls = false;
	rc = source_walk(sl->in, &mine, &s, err, errlen);
	for (size_t i = 0; i < s.capf; i++)
		jr_buf_free(&s.f[i].s);
	free(s.f);
	jr_buf_free(&s.key);
	jr_buf_free(&s.name);
	return rc;
}

void slice_init(struct slice *sl, const struct slice_spec *spec, const struct trace_source *in)
{
	memset(sl, 0, sizeof(*sl));
	sl->spec = spec;
	sl->in = in;
	sl->source = (struct trace_source){ .walk = slice_walk, .src = sl };
}
