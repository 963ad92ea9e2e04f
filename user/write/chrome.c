/* chrome: the Trace Event Format (Perfetto, chrome://tracing), one event per call */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "write/backend.h"
#include "write/jsonw.h"
#include "cmds/jsonread.h"

/* ---- chrome: Trace Event Format ----------------------------------------------------------- */

/* a call whose end is not known yet, waiting for the next time the trace knows */
struct pending {
	struct jr_buf s;
	size_t name, cat, args, retval, reason; /* offsets into s; SIZE_MAX: none */
	uint64_t start, inner_last;		/* inner_last: latest time seen inside it */
	bool start_clamped;
};

struct chrome {
	FILE *out;
	struct meta_copy meta;
	bool has_meta, events; /* events: one was written; a comma comes before the next */
	bool proc_named;
	int64_t pid;
	bool pid_known;
	uint64_t thread_lost_sum;
	/* the thread being read */
	uint64_t tid;
	bool seen;	  /* a time was seen in this thread */
	uint64_t last;	  /* the latest time seen (or clamped) in this thread */
	uint64_t *starts; /* per open depth: its start, known or clamped */
	bool *clamped;
	size_t capdepth;
	struct pending *pend; /* a chain, innermost first: each closed inside the next */
	size_t npend, cappend;
	bool lost_seen;
	uint64_t lost_at;
	/* per thread, for placing the crash */
	struct {
		uint64_t tid, last;
	} * tl;
	size_t ntl, captl;
	char *crash;
	char err[256];
};

/* µs with the ns kept, 12345 ns -> 12.345: twice per event, so no printf */
static void put_us(FILE *f, uint64_t ns)
{
	char b[32], *p = b + sizeof(b);
	uint64_t us = ns / 1000;
	unsigned frac = (unsigned)(ns % 1000);

	*--p = (char)('0' + frac % 10);
	*--p = (char)('0' + frac / 10 % 10);
	*--p = (char)('0' + frac / 100);
	*--p = '.';
	do {
		*--p = (char)('0' + us % 10);
		us /= 10;
	} while (us);
	fwrite_unlocked(p, 1, (size_t)(b + sizeof(b) - p), f);
}

/* The document starts with the first event, so that a trace which cannot
 * be read leaves nothing on standard output. */
static void event_begin(struct chrome *c)
{
	fputs_unlocked(c->events ? ",\n{" : "{\"traceEvents\":[\n{", c->out);
	c->events = true;
}

static void put_pid_tid(struct chrome *c, bool with_tid)
{
	fputs_unlocked(",\"pid\":", c->out);
	jsonw_i64(c->out, c->pid);
	if (with_tid) {
		fputs_unlocked(",\"tid\":", c->out);
		jsonw_u64(c->out, c->tid);
	}
}

static void ensure_pid(struct chrome *c)
{
	/* no metadata before the first thread: the main thread's id is the pid */
	if (!c->pid_known) {
		c->pid = (int64_t)c->tid;
		c->pid_known = true;
	}
}

struct xev {
	const char *name, *cat, *args, *retval, *reason;
	uint64_t start, end;
	bool start_clamped, end_clamped;
};

static void emit_x(struct chrome *c, const struct xev *e)
{
	FILE *f = c->out;
	bool first = true;

	event_begin(c);
	fputs_unlocked("\"name\":", f);
	jsonw_cstr(f, e->name ? e->name : "[unknown]");
	if (e->cat) {
		fputs_unlocked(",\"cat\":", f);
		jsonw_cstr(f, e->cat);
	}
	fputs_unlocked(",\"ph\":\"X\",\"ts\":", f);
	put_us(f, e->start);
	fputs_unlocked(",\"dur\":", f);
	put_us(f, e->end - e->start);
	put_pid_tid(c, true);
	if (e->args || e->retval || e->reason || e->start_clamped || e->end_clamped) {
		fputs_unlocked(",\"args\":{", f);
		if (e->args) {
			fputs_unlocked("\"arguments\":", f);
			fputs_unlocked(e->args, f);
			first = false;
		}
		if (e->retval) {
			fputs_unlocked(first ? "\"return_value\":" : ",\"return_value\":", f);
			fputs_unlocked(e->retval, f);
			first = false;
		}
		if (e->reason) {
			fputs_unlocked(first ? "\"partial_reason\":" : ",\"partial_reason\":", f);
			jsonw_cstr(f, e->reason);
			first = false;
		}
		if (e->start_clamped || e->end_clamped) {
			fputs_unlocked(first ? "\"clamped\":" : ",\"clamped\":", f);
			fputs_unlocked(e->start_clamped && e->end_clamped ? "\"start and end\"" :
				       e->start_clamped			  ? "\"start\"" :
									    "\"end\"",
				       f);
		}
		fputc_unlocked('}', f);
	}
	fputc_unlocked('}', f);
}

static void seen_time(struct chrome *c, uint64_t t)
{
	if (!c->seen || t > c->last)
		c->last = t;
	c->seen = true;
}

/* The chain of calls with unknown ends gets them from the next known time,
 * bound (exclusive): outermost first, each ending just before the one that
 * contains it and after everything seen inside it, so events still nest. */
static void resolve_pending(struct chrome *c, uint64_t bound)
{
	uint64_t b = bound;

	for (size_t i = c->npend; i-- > 0;) {
		struct pending *p = &c->pend[i];
		const char *s = p->s.p;
		struct xev e = {
			.name = p->name != SIZE_MAX ? s + p->name : NULL,
			.cat = p->cat != SIZE_MAX ? s + p->cat : NULL,
			.args = p->args != SIZE_MAX ? s + p->args : NULL,
			.retval = p->retval != SIZE_MAX ? s + p->retval : NULL,
			.reason = p->reason != SIZE_MAX ? s + p->reason : NULL,
			.start = p->start,
			.start_clamped = p->start_clamped,
			.end_clamped = true,
		};
		uint64_t end = b ? b - 1 : 0;

		if (end < p->inner_last)
			end = p->inner_last;
		if (end < p->start)
			end = p->start;
		e.end = end;
		emit_x(c, &e);
		seen_time(c, end);
		b = end;
	}
	c->npend = 0;
}

static void process_name(struct chrome *c)
{
	const char *exe = c->meta.executable ? c->meta.executable : c->meta.command0;
	char *copy;

	c->proc_named = true;
	event_begin(c);
	fputs_unlocked("\"name\":\"process_name\",\"ph\":\"M\"", c->out);
	put_pid_tid(c, false);
	fputs_unlocked(",\"args\":{\"name\":", c->out);
	copy = strdup(exe ? exe : "?");
	jsonw_cstr(c->out, copy ? basename(copy) : "?");
	free(copy);
	fputs_unlocked("}}", c->out);
}

static int chrome_metadata(void *ctx, const struct trace_meta *m)
{
	struct chrome *c = ctx;

	if (keep_meta(&c->meta, m))
		return -1;
	c->has_meta = true;
	if (m->has_pid && !c->pid_known) {
		c->pid = m->pid;
		c->pid_known = true;
	}
	if (c->pid_known && !c->proc_named)
		process_name(c);
	return 0;
}

static int chrome_thread_begin(void *ctx, const struct trace_thread *t)
{
	struct chrome *c = ctx;

	c->tid = t->has_tid ? t->tid : 0;
	ensure_pid(c);
	c->seen = false;
	c->last = 0;
	c->npend = 0;
	c->lost_seen = false;
	return 0;
}

static int grow_depth(struct chrome *c, size_t depth)
{
	if (depth < c->capdepth)
		return 0;
	size_t ncap = c->capdepth ? c->capdepth : 256;

	while (ncap <= depth)
		ncap *= 2;
	uint64_t *ns = realloc(c->starts, ncap * sizeof(*ns));
	if (!ns)
		return -1;
	c->starts = ns;
	bool *nc = realloc(c->clamped, ncap * sizeof(*nc));
	if (!nc)
		return -1;
	c->clamped = nc;
	c->capdepth = ncap;
	return 0;
}

static int chrome_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct chrome *c = ctx;
	uint64_t s;
	bool clamped = !n->has_start;

	if (grow_depth(c, depth)) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	if (n->has_start)
		s = n->start_ns;
	else if (n->has_end && n->has_duration && n->end_ns >= n->duration_ns)
		s = n->end_ns - n->duration_ns, clamped = false;
	else
		s = c->seen ? c->last + 1 :
			      0; /* just after everything before it; the trace's start */
	resolve_pending(c, s);
	c->starts[depth] = s;
	c->clamped[depth] = clamped;
	seen_time(c, s);
	return 0;
}

static size_t keep_str(struct jr_buf *b, const char *s)
{
	size_t off = b->len;

	if (!s)
		return SIZE_MAX;
	if (jr_buf_put(b, s, strlen(s) + 1))
		return SIZE_MAX - 1;
	return off;
}

static int chrome_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct chrome *c = ctx;
	uint64_t start = n->has_start ? n->start_ns : c->starts[depth];
	bool start_clamped = !n->has_start && c->clamped[depth];

	if (!c->lost_seen && n->partial_reason && strstr(n->partial_reason, "events lost")) {
		c->lost_seen = true;
		c->lost_at = start;
	}
	if (n->has_end || (n->has_duration && !start_clamped)) {
		uint64_t end = n->has_end ? n->end_ns : start + n->duration_ns;
		struct xev e = {
			.name = n->function,
			.cat = n->module,
			.args = n->arguments,
			.retval = n->return_value,
			.reason = n->partial_reason,
			.start = start,
			.end = end,
			.start_clamped = start_clamped,
		};

		resolve_pending(c, end);
		if (e.end < e.start) /* inconsistent input: keep dur >= 0 */
			e.end = e.start;
		emit_x(c, &e);
		seen_time(c, e.end);
		return 0;
	}
	/* the end is not known: wait for the next known time */
	if (c->npend == c->cappend) {
		size_t ncap = c->cappend ? c->cappend * 2 : 16;
		struct pending *np = realloc(c->pend, ncap * sizeof(*np));

		if (!np) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return -1;
		}
		memset(np + c->cappend, 0, (ncap - c->cappend) * sizeof(*np));
		c->pend = np;
		c->cappend = ncap;
	}
	struct pending *p = &c->pend[c->npend++];

	p->s.len = 0;
	p->name = keep_str(&p->s, n->function);
	p->cat = keep_str(&p->s, n->module);
	p->args = keep_str(&p->s, n->arguments);
	p->retval = keep_str(&p->s, n->return_value);
	p->reason = keep_str(&p->s, n->partial_reason);
	if (p->name == SIZE_MAX - 1 || p->cat == SIZE_MAX - 1 || p->args == SIZE_MAX - 1 ||
	    p->retval == SIZE_MAX - 1 || p->reason == SIZE_MAX - 1) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	p->start = start;
	p->start_clamped = start_clamped;
	p->inner_last = c->last > start ? c->last : start;
	return 0;
}

static int chrome_thread_end(void *ctx, const struct trace_thread *t)
{
	struct chrome *c = ctx;
	uint64_t end = c->meta.has_duration ? c->meta.duration_ns : 0;

	c->tid = t->has_tid ? t->tid : 0;
	ensure_pid(c);
	/* still running when tracing stopped: they end with the trace */
	if (c->seen && end < c->last)
		end = c->last;
	resolve_pending(c, end + 1);
	event_begin(c);
	fputs_unlocked("\"name\":\"thread_name\",\"ph\":\"M\"", c->out);
	put_pid_tid(c, true);
	fputs_unlocked(",\"args\":{\"name\":", c->out);
	jsonw_cstr(c->out, t->name ? t->name : t->key);
	fputs_unlocked("}}", c->out);
	if (t->lost_events) {
		event_begin(c);
		fputs_unlocked("\"name\":", c->out);
		fprintf(c->out, "\"%llu events lost\"", (unsigned long long)t->lost_events);
		fputs_unlocked(",\"ph\":\"i\",\"s\":\"t\",\"ts\":", c->out);
		put_us(c->out, c->lost_seen ? c->lost_at : c->last);
		put_pid_tid(c, true);
		fprintf(c->out, ",\"args\":{\"lost_events\":%llu}}",
			(unsigned long long)t->lost_events);
		c->thread_lost_sum += t->lost_events;
	}
	if (c->ntl == c->captl) {
		size_t ncap = c->captl ? c->captl * 2 : 16;
		void *nt = realloc(c->tl, ncap * sizeof(*c->tl));

		if (!nt) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return -1;
		}
		c->tl = nt;
		c->captl = ncap;
	}
	c->tl[c->ntl].tid = c->tid;
	c->tl[c->ntl++].last = c->last;
	return 0;
}

static int chrome_crash(void *ctx, const char *json)
{
	struct chrome *c = ctx;

	free(c->crash);
	c->crash = strdup(json);
	return c->crash ? 0 : -1;
}

/* the crash and unattributed losses: instant events, once every thread is known */
static void chrome_finish(struct chrome *c)
{
	uint64_t end = c->meta.has_duration ? c->meta.duration_ns : 0;

	for (size_t i = 0; i < c->ntl; i++)
		if (c->tl[i].last > end)
			end = c->tl[i].last;
	if (c->pid_known && !c->proc_named)
		process_name(c);
	if (c->has_meta && c->meta.lost_events > c->thread_lost_sum) {
		uint64_t n = c->meta.lost_events - c->thread_lost_sum;

		event_begin(c);
		fprintf(c->out, "\"name\":\"%llu events lost\",\"ph\":\"i\",\"s\":\"g\",\"ts\":",
			(unsigned long long)n);
		put_us(c->out, end);
		put_pid_tid(c, false);
		fprintf(c->out, ",\"tid\":0,\"args\":{\"lost_events\":%llu}}",
			(unsigned long long)n);
	}
	if (c->crash) {
		cJSON *o = cJSON_Parse(c->crash);
		const cJSON *sig = cJSON_GetObjectItemCaseSensitive(o, "signal_name");
		const cJSON *tid = cJSON_GetObjectItemCaseSensitive(o, "thread_id");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "time_ns");
		uint64_t ts = end;
		bool on_thread = cJSON_IsNumber(tid) && tid->valuedouble >= 0;
		char name[96];

		if (cJSON_IsNumber(t) && t->valuedouble >= 0)
			ts = (uint64_t)t->valuedouble;
		else if (on_thread)
			for (size_t i = 0; i < c->ntl; i++)
				if (c->tl[i].tid == (uint64_t)tid->valuedouble)
					ts = c->tl[i].last;
		c->tid = on_thread ? (uint64_t)tid->valuedouble : 0;
		snprintf(name, sizeof(name), "crash: %s",
			 cJSON_IsString(sig) ? sig->valuestring : "signal");
		event_begin(c);
		fputs_unlocked("\"name\":", c->out);
		jsonw_cstr(c->out, name);
		fprintf(c->out, ",\"ph\":\"i\",\"s\":\"%s\",\"ts\":", on_thread ? "t" : "g");
		put_us(c->out, ts);
		put_pid_tid(c, true);
		fputs_unlocked(",\"args\":{\"crash\":", c->out);
		fputs_unlocked(c->crash, c->out);
		fputs_unlocked("}}", c->out);
		cJSON_Delete(o);
	}
}

int chrome_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
	       size_t errlen)
{
	struct chrome c = { .out = out };
	const struct trace_visitor v = {
		.metadata = chrome_metadata,
		.thread_begin = chrome_thread_begin,
		.node_open = chrome_open,
		.node_close = chrome_close,
		.thread_end = chrome_thread_end,
		.crash = chrome_crash,
	};
	int rc;

	rc = source_walk(in, &v, &c, err, errlen);
	if (rc && !err[0])
		snprintf(err, errlen, "%s", c.err[0] ? c.err : "out of memory");
	if (!rc) {
		chrome_finish(&c);
		fputs(c.events ? "\n]" : "{\"traceEvents\":[]", out);
		fputs(",\"displayTimeUnit\":\"ns\",\"otherData\":", out);
		fputs(c.has_meta ? c.meta.json : "{}", out);
		fputs("}\n", out);
	}
	for (size_t i = 0; i < c.cappend; i++)
		jr_buf_free(&c.pend[i].s);
	free(c.pend);
	free(c.starts);
	free(c.clamped);
	free(c.tl);
	free(c.crash);
	free_meta(&c.meta);
	return rc ? -1 : 0;
}
