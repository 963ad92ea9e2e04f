/* chrome: the Trace Event Format (Perfetto, chrome://tracing), a begin and an end event per call */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "write/backend.h"
#include "write/jsonw.h"
#include "cmds/jsonread.h"

/* ---- chrome: Trace Event Format ----------------------------------------------------------- */

/* One event: a call's begin ("B") or end ("E"). Both carry the name, which
 * speedscope needs to match them. Equal times are written as the same
 * decimal, so calls that end on the same ns end on the same number in every
 * reader (complete "X" events make JavaScript viewers add ts + dur in
 * floating point, which can put a child's end after its parent's). */
struct ev {
	bool begin;
	const char *name, *cat, *args, *retval, *reason;
	const char *why; /* B without arguments: why they are unavailable */
	uint64_t ts;
	bool start_clamped, end_clamped; /* E: which of the call's times were clamped */
};

/* An event that cannot be written yet: the begin of a call named only at
 * its close (its entry was not observed). The events after it wait in the
 * spill file, so memory stays bounded by these, not by the calls. */
struct hole {
	struct ev e;
	struct jr_buf s;
	size_t off[6]; /* name, cat, args, retval, reason, why in s; SIZE_MAX: none */
	off_t at;      /* its place in the spill file */
	bool first;    /* the document's first event */
	bool named;
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
	uint64_t last;	 /* the latest time in this thread (times come clamped) */
	size_t *hole_of; /* per open depth: its begin's hole (a call named at close) */
	size_t capdepth;
	/* events waiting for their names, in order, from head */
	struct hole *holes;
	size_t head, nholes, capholes;
	FILE *spill;
	off_t copied; /* spill bytes already copied out */
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

/* µs with the ns kept, 12345 ns -> 12.345: once per event, so no printf */
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
static void put_begin(FILE *f, bool first)
{
	fputs_unlocked(first ? "{\"traceEvents\":[\n{" : ",\n{", f);
}

static void event_begin(struct chrome *c)
{
	put_begin(c->out, !c->events);
	c->events = true;
}

static void put_pid_tid(FILE *f, struct chrome *c, bool with_tid)
{
	fputs_unlocked(",\"pid\":", f);
	jsonw_i64(f, c->pid);
	if (with_tid) {
		fputs_unlocked(",\"tid\":", f);
		jsonw_u64(f, c->tid);
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

static void put_arg(FILE *f, bool *first, const char *key, const char *json)
{
	fputs_unlocked(*first ? "\"" : ",\"", f);
	fputs_unlocked(key, f);
	fputs_unlocked("\":", f);
	fputs_unlocked(json, f);
	*first = false;
}

static void write_event(struct chrome *c, FILE *f, bool first, const struct ev *e)
{
	bool a = true;

	put_begin(f, first);
	fputs_unlocked("\"name\":", f);
	jsonw_cstr(f, e->name ? e->name : "[unknown]");
	/* on B and E alike, and never absent: DevTools pairs an E with its B
	 * by name and category, and reads every event's category */
	fputs_unlocked(",\"cat\":", f);
	jsonw_cstr(f, e->cat ? e->cat : "[unknown]");
	fputs_unlocked(e->begin ? ",\"ph\":\"B\",\"ts\":" : ",\"ph\":\"E\",\"ts\":", f);
	put_us(f, e->ts);
	put_pid_tid(f, c, true);
	if (e->begin ? !(e->args || e->why) :
		       !(e->retval || e->reason || e->start_clamped || e->end_clamped)) {
		fputc_unlocked('}', f);
		return;
	}
	fputs_unlocked(",\"args\":{", f);
	if (e->begin) {
		put_arg(f, &a, "arguments", e->args ? e->args : "null");
		if (!e->args) {
			fputs_unlocked(",\"arguments_unavailable\":", f);
			jsonw_cstr(f, e->why);
		}
	} else {
		if (e->retval)
			put_arg(f, &a, "return_value", e->retval);
		if (e->reason) {
			fputs_unlocked(a ? "\"partial_reason\":" : ",\"partial_reason\":", f);
			jsonw_cstr(f, e->reason);
			a = false;
		}
		if (e->start_clamped || e->end_clamped)
			put_arg(f, &a, "clamped",
				e->start_clamped && e->end_clamped ? "\"start and end\"" :
				e->start_clamped		   ? "\"start\"" :
								     "\"end\"");
	}
	fputs_unlocked("}}", f);
}

/* where events go now: after a hole they wait in the spill */
static FILE *sink(struct chrome *c)
{
	return c->head < c->nholes ? c->spill : c->out;
}

static void emit(struct chrome *c, const struct ev *e)
{
	write_event(c, sink(c), !c->events, e);
	c->events = true;
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

/* e's strings kept in h */
static int hole_keep(struct hole *h, const struct ev *e)
{
	const char *v[6] = { e->name, e->cat, e->args, e->retval, e->reason, e->why };

	h->s.len = 0;
	for (int i = 0; i < 6; i++) {
		h->off[i] = keep_str(&h->s, v[i]);
		if (h->off[i] == SIZE_MAX - 1)
			return -1;
	}
	return 0;
}

static const char *hole_str(const struct hole *h, int i)
{
	return h->off[i] == SIZE_MAX ? NULL : h->s.p + h->off[i];
}

/* a new hole for e, unnamed: its place is the spill's current end */
static struct hole *hole_new(struct chrome *c, const struct ev *e)
{
	struct hole *h;

	if (!c->spill && !(c->spill = tmpfile()))
		return NULL;
	if (c->nholes == c->capholes) {
		size_t ncap = c->capholes ? c->capholes * 2 : 16;
		struct hole *nh = realloc(c->holes, ncap * sizeof(*nh));

		if (!nh)
			return NULL;
		memset(nh + c->capholes, 0, (ncap - c->capholes) * sizeof(*nh));
		c->holes = nh;
		c->capholes = ncap;
	}
	h = &c->holes[c->nholes];
	if (hole_keep(h, e))
		return NULL;
	h->e = *e;
	h->at = c->head < c->nholes ? ftello(c->spill) : 0;
	h->first = !c->events;
	h->named = false;
	c->events = true;
	c->nholes++;
	return h;
}

static int copy_spill(struct chrome *c, off_t to)
{
	char buf[65536];

	while (c->copied < to) {
		size_t want = (size_t)(to - c->copied) < sizeof(buf) ? (size_t)(to - c->copied) :
								       sizeof(buf);
		ssize_t n = pread(fileno(c->spill), buf, want, c->copied);

		if (n <= 0)
			return -1;
		fwrite_unlocked(buf, 1, (size_t)n, c->out);
		c->copied += n;
	}
	return 0;
}

/* Writes out the holes that are complete, with the events between them,
 * up to the first one still waiting. */
static int drain(struct chrome *c)
{
	if (c->head == c->nholes)
		return 0;
	if (fflush(c->spill))
		return -1;
	while (c->head < c->nholes && c->holes[c->head].named) {
		struct hole *h = &c->holes[c->head++];
		struct ev e = h->e;

		if (copy_spill(c, h->at))
			return -1;
		e.name = hole_str(h, 0), e.cat = hole_str(h, 1), e.args = hole_str(h, 2);
		e.retval = hole_str(h, 3), e.reason = hole_str(h, 4), e.why = hole_str(h, 5);
		write_event(c, c->out, h->first, &e);
	}
	if (c->head < c->nholes)
		return 0;
	/* nothing waits: the rest of the spill, and it starts over */
	if (copy_spill(c, ftello(c->spill)) || ftruncate(fileno(c->spill), 0) ||
	    fseeko(c->spill, 0, SEEK_SET))
		return -1;
	c->head = c->nholes = 0;
	c->copied = 0;
	return 0;
}

static void process_name(struct chrome *c)
{
	const char *exe = c->meta.executable ? c->meta.executable : c->meta.command0;
	char *copy;

	c->proc_named = true;
	event_begin(c);
	fputs_unlocked("\"name\":\"process_name\",\"ph\":\"M\"", c->out);
	put_pid_tid(c->out, c, false);
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
	c->last = 0;
	c->lost_seen = false;
	return 0;
}

static int grow_depth(struct chrome *c, size_t depth)
{
	size_t ncap = c->capdepth ? c->capdepth : 256, *nh;

	if (depth < c->capdepth)
		return 0;
	while (ncap <= depth)
		ncap *= 2;
	nh = realloc(c->hole_of, ncap * sizeof(*nh));
	if (!nh)
		return -1;
	c->hole_of = nh;
	c->capdepth = ncap;
	return 0;
}

static int nomem(struct chrome *c)
{
	snprintf(c->err, sizeof(c->err), "out of memory");
	return -1;
}

static int chrome_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct chrome *c = ctx;
	struct ev e = { .begin = true,
			.name = n->function,
			.cat = n->module,
			.args = n->arguments,
			.why = n->arguments_unavailable,
			.ts = n->start_ns };

	if (grow_depth(c, depth))
		return nomem(c);
	c->last = e.ts > c->last ? e.ts : c->last;
	c->hole_of[depth] = SIZE_MAX;
	if (!n->function) {
		/* its name comes at its close */
		if (!hole_new(c, &e))
			return nomem(c);
		c->hole_of[depth] = c->nholes - 1;
	} else {
		emit(c, &e);
	}
	return drain(c) ? nomem(c) : 0;
}

static int chrome_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct chrome *c = ctx;
	struct ev e = { .name = n->function ? n->function : "[unknown]",
			.cat = n->module,
			.retval = n->return_value,
			.reason = n->partial_reason,
			.ts = n->end_ns,
			.start_clamped = n->start_clamped,
			.end_clamped = n->end_clamped };

	if (!c->lost_seen && n->partial_reason && strstr(n->partial_reason, "events lost")) {
		c->lost_seen = true;
		c->lost_at = n->start_ns;
	}
	/* not named at its begin: its name, or "[unknown]" there too */
	if (c->hole_of[depth] != SIZE_MAX && !c->holes[c->hole_of[depth]].named) {
		struct hole *h = &c->holes[c->hole_of[depth]];
		struct ev b = h->e;

		b.name = e.name, b.cat = n->module, b.args = hole_str(h, 2), b.why = hole_str(h, 5);
		if (hole_keep(h, &b))
			return nomem(c);
		h->named = true;
	}
	c->last = e.ts > c->last ? e.ts : c->last;
	emit(c, &e);
	return drain(c) ? nomem(c) : 0;
}

static int chrome_thread_end(void *ctx, const struct trace_thread *t)
{
	struct chrome *c = ctx;

	c->tid = t->has_tid ? t->tid : 0;
	ensure_pid(c);
	if (drain(c) || c->head < c->nholes)
		return nomem(c);
	event_begin(c);
	fputs_unlocked("\"name\":\"thread_name\",\"ph\":\"M\"", c->out);
	put_pid_tid(c->out, c, true);
	fputs_unlocked(",\"args\":{\"name\":", c->out);
	jsonw_cstr(c->out, t->name ? t->name : t->key);
	fputs_unlocked("}}", c->out);
	if (t->lost_events) {
		event_begin(c);
		fputs_unlocked("\"name\":", c->out);
		fprintf(c->out, "\"%llu events lost\"", (unsigned long long)t->lost_events);
		fputs_unlocked(",\"ph\":\"i\",\"s\":\"t\",\"ts\":", c->out);
		put_us(c->out, c->lost_seen ? c->lost_at : c->last);
		put_pid_tid(c->out, c, true);
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
		put_pid_tid(c->out, c, false);
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
		put_pid_tid(c->out, c, true);
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

	rc = source_walk_clamped(in, &v, &c, err, errlen);
	if (rc && !err[0])
		snprintf(err, errlen, "%s", c.err[0] ? c.err : "out of memory");
	if (!rc) {
		chrome_finish(&c);
		fputs(c.events ? "\n]" : "{\"traceEvents\":[]", out);
		fputs(",\"displayTimeUnit\":\"ns\",\"otherData\":", out);
		fputs(c.has_meta ? c.meta.json : "{}", out);
		fputs("}\n", out);
	}
	for (size_t i = 0; i < c.capholes; i++)
		jr_buf_free(&c.holes[i].s);
	free(c.holes);
	if (c.spill)
		fclose(c.spill);
	free(c.hole_of);
	free(c.tl);
	free(c.crash);
	free_meta(&c.meta);
	return rc ? -1 : 0;
}
