/* ctrace-bpf convert: a trace into the formats other tools display.
 *   chrome  Trace Event Format JSON (Perfetto, chrome://tracing, speedscope)
 *   folded  collapsed stacks, "main;parse;lex 12345" (flamegraph.pl, inferno, speedscope)
 *   svg     a self-contained flame graph
 * All stream: one pass over the trace, memory bounded by call depth (chrome)
 * or by the number of distinct stacks (folded, svg). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>

#include "cmds/commands.h"
#include "write/flame_svg.h"
#include "cmds/jsonread.h"
#include "write/jsonw.h"

#define CMD "ctrace-bpf convert"

static const char usage_text[] =
	"Usage: ctrace-bpf convert TRACE.json --to FORMAT [-o OUT] [OPTIONS]\n"
	"\n"
	"Converts a trace written by ctrace-bpf into a format other tools display.\n"
	"The trace is read in one pass: traces of any length convert in bounded memory.\n"
	"\n"
	"  -t, --to FORMAT          chrome  Trace Event Format JSON, one complete (\"X\")\n"
	"                                   event per call with its arguments; open it in\n"
	"                                   https://ui.perfetto.dev, chrome://tracing or\n"
	"                                   https://www.speedscope.app\n"
	"                           folded  collapsed stacks, one line per distinct stack:\n"
	"                                   \"main;parse;lex 12345\" (weight: self time in ns);\n"
	"                                   input for flamegraph.pl, inferno-flamegraph,\n"
	"                                   speedscope\n"
	"                           svg     a flame graph (self-contained; hover a frame for\n"
	"                                   its total and self time and calls, click to zoom)\n"
	"  -o, --output FILE        where to write (default: standard output); written\n"
	"                           beside FILE and renamed into place when complete\n"
	"  -w, --weight time|calls  folded and svg: weigh stacks by self time (default) or\n"
	"                           by number of calls\n"
	"      --per-thread         folded and svg: start each stack with its thread,\n"
	"                           \"name [tid]\" (default: all threads merged)\n"
	"  -h, --help               this help\n"
	"\n"
	"Calls whose entry or exit was not observed (\"partial\" in the trace) have no\n"
	"duration: in folded and svg they count as calls with no self time of their\n"
	"own; in chrome a missing start or end is clamped to the nearest time the trace\n"
	"does know (the end of the previous call, the start of the next one, the trace's\n"
	"start or end), keeping every event inside its caller, and the event's args say\n"
	"\"clamped\" and the partial_reason.\n"
	"\n"
	"Examples:\n"
	"  ctrace-bpf convert trace.json --to chrome -o trace.chrome.json\n"
	"  ctrace-bpf convert trace.json --to svg -o flame.svg\n"
	"  ctrace-bpf convert trace.json --to folded | flamegraph.pl > flame.svg\n"
	"  ctrace-bpf -f svg -o trace.json -- ./app     # convert right after tracing\n";

/* ---- the output file: written beside, renamed when complete ----------------------- */

struct sink {
	FILE *f;
	char *path, *tmp; /* tmp NULL: stdout, a device or a FIFO, written in place */
};

static void sink_abort(struct sink *s);

static int sink_open(struct sink *s, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	memset(s, 0, sizeof(*s));
	if (!strcmp(path, "-")) {
		s->f = stdout;
		return 0;
	}
	s->path = strdup(path);
	if (!s->path) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "cannot write '%s': it is a directory", path);
			sink_abort(s);
			return -1;
		}
		s->f = fopen(path, "we");
		if (!s->f) {
			snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
			sink_abort(s);
			return -1;
		}
		return 0;
	}
	if (asprintf(&s->tmp, "%s.tmp.XXXXXX", path) < 0) {
		s->tmp = NULL;
		snprintf(err, errlen, "out of memory");
		sink_abort(s);
		return -1;
	}
	/* 0600, like the trace it comes from: it may show the target's arguments */
	fd = mkostemp(s->tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		free(s->tmp);
		s->tmp = NULL;
		sink_abort(s);
		return -1;
	}
	s->f = fdopen(fd, "w");
	if (!s->f) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		sink_abort(s);
		return -1;
	}
	setvbuf(s->f, NULL, _IOFBF, 1 << 20);
	return 0;
}

static void sink_abort(struct sink *s)
{
	if (s->f && s->f != stdout)
		fclose(s->f);
	if (s->tmp)
		unlink(s->tmp);
	free(s->tmp);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static int sink_commit(struct sink *s, char *err, size_t errlen)
{
	const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");
	const char *what = s->path ? s->path : "standard output";
	int rc;

	if (s->f == stdout) {
		rc = fflush(stdout) || ferror(stdout);
		s->f = NULL;
	} else {
		/* under sudo the file belongs to the user who asked for it, as the
		 * trace does; should that fail it stays root's (and 0600) */
		if (s->tmp && uid && gid && getuid() == 0)
			(void)!fchown(fileno(s->f), (uid_t)strtoul(uid, NULL, 10),
				      (gid_t)strtoul(gid, NULL, 10));
		rc = ferror(s->f) | fclose(s->f);
		s->f = NULL;
	}
	if (rc) {
		snprintf(err, errlen, "writing '%s': %s", what, strerror(errno ? errno : EIO));
		sink_abort(s);
		return -1;
	}
	if (s->tmp && rename(s->tmp, s->path)) {
		snprintf(err, errlen, "cannot rename '%s' to '%s': %s", s->tmp, s->path,
			 strerror(errno));
		sink_abort(s);
		return -1;
	}
	free(s->tmp);
	s->tmp = NULL;
	sink_abort(s);
	return 0;
}

/* ---- shared reading state --------------------------------------------------------------- */

/* what the writers need of "metadata", kept past the callback */
struct meta_copy {
	char *json; /* the metadata object */
	bool has_duration;
	uint64_t duration_ns, lost_events;
	char *command0, *executable;
};

static int keep_meta(struct meta_copy *mc, const struct trace_meta *m)
{
	free(mc->json);
	free(mc->command0);
	free(mc->executable);
	memset(mc, 0, sizeof(*mc));
	mc->json = strdup(m->json);
	mc->command0 = m->command0 ? strdup(m->command0) : NULL;
	mc->executable = m->executable ? strdup(m->executable) : NULL;
	mc->has_duration = m->has_duration;
	mc->duration_ns = m->duration_ns;
	mc->lost_events = m->lost_events;
	return mc->json ? 0 : -1;
}

static void free_meta(struct meta_copy *mc)
{
	free(mc->json);
	free(mc->command0);
	free(mc->executable);
}

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

static int run_chrome(FILE *in, FILE *out, char *err, size_t errlen)
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

	rc = trace_walk(in, &v, &c, err, errlen);
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

/* ---- folded and svg: merged stacks ----------------------------------------------------------- */

struct stacks {
	struct flame *fl;
	bool per_thread;
	struct meta_copy meta;
	uint32_t base; /* the thread's node (--per-thread) or the root */
	bool base_placeholder;
	uint32_t *node; /* per open depth */
	bool *placeholder;
	size_t cap;
	uint64_t calls, threads;
};

static int stacks_metadata(void *ctx, const struct trace_meta *m)
{
	return keep_meta(&((struct stacks *)ctx)->meta, m);
}

static void thread_label(char *buf, size_t len, const struct trace_thread *t)
{
	if (t->has_tid)
		snprintf(buf, len, "%s [%llu]", t->name ? t->name : "thread",
			 (unsigned long long)t->tid);
	else
		snprintf(buf, len, "%s", t->name ? t->name : t->key);
}

static int stacks_thread_begin(void *ctx, const struct trace_thread *t)
{
	struct stacks *s = ctx;
	char label[320];

	s->base = 0;
	s->base_placeholder = false;
	if (!s->per_thread)
		return 0;
	if (t->name) {
		thread_label(label, sizeof(label), t);
		s->base = flame_child(s->fl, 0, label);
	} else {
		/* thread_name may follow root_calls: name it at the thread's end */
		s->base = flame_placeholder(s->fl, 0);
		s->base_placeholder = true;
	}
	return s->base == UINT32_MAX ? -1 : 0;
}

static int stacks_thread_end(void *ctx, const struct trace_thread *t)
{
	struct stacks *s = ctx;
	char label[320];

	s->threads++;
	if (!s->base_placeholder)
		return 0;
	thread_label(label, sizeof(label), t);
	return flame_resolve(s->fl, s->base, label) == UINT32_MAX ? -1 : 0;
}

static int stacks_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct stacks *s = ctx;
	uint32_t parent;

	if (depth >= s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 256;
		uint32_t *nn;
		bool *np;

		while (ncap <= depth)
			ncap *= 2;
		nn = realloc(s->node, ncap * sizeof(*nn));
		if (nn)
			s->node = nn;
		np = nn ? realloc(s->placeholder, ncap * sizeof(*np)) : NULL;
		if (!np)
			return -1;
		s->placeholder = np;
		s->cap = ncap;
	}
	parent = depth ? s->node[depth - 1] : s->base;
	s->placeholder[depth] = !n->function;
	s->node[depth] = n->function ? flame_child(s->fl, parent, n->function) :
				       flame_placeholder(s->fl, parent);
	return s->node[depth] == UINT32_MAX ? -1 : 0;
}

static int stacks_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct stacks *s = ctx;
	uint32_t x = s->node[depth];
	uint64_t self = 0;

	if (s->placeholder[depth]) {
		x = flame_resolve(s->fl, x, n->function ? n->function : "[unknown]");
		if (x == UINT32_MAX)
			return -1;
	}
	/* self time: the call's own, less its children's (known) time */
	if (n->has_duration)
		self = n->duration_ns > n->children_ns ? n->duration_ns - n->children_ns : 0;
	flame_add(s->fl, x, self, 1);
	s->calls++;
	return 0;
}

static int run_stacks(FILE *in, FILE *out, const char *fmt, bool weight_calls, bool per_thread,
		      char *err, size_t errlen)
{
	struct stacks s = { .per_thread = per_thread };
	const struct trace_visitor v = {
		.metadata = stacks_metadata,
		.thread_begin = stacks_thread_begin,
		.node_open = stacks_open,
		.node_close = stacks_close,
		.thread_end = stacks_thread_end,
	};
	int rc;

	s.fl = flame_new();
	if (!s.fl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = trace_walk(in, &v, &s, err, errlen);
	if (rc && !err[0])
		snprintf(err, errlen, "out of memory");
	if (!rc && !strcmp(fmt, "folded")) {
		rc = flame_write_folded(s.fl, out, weight_calls);
	} else if (!rc) {
		char title[512], sub[512], dur[32] = "";
		const char *what = s.meta.command0 ? s.meta.command0 : s.meta.executable;

		snprintf(title, sizeof(title), "%s%s",
			 what ? "ctrace-bpf: " : "ctrace-bpf flame graph", what ? what : "");
		if (s.meta.has_duration)
			flame_fmt_ns(dur, sizeof(dur), s.meta.duration_ns);
		snprintf(sub, sizeof(sub), "%llu calls in %llu thread%s%s%s; width: %s%s",
			 (unsigned long long)s.calls, (unsigned long long)s.threads,
			 s.threads == 1 ? "" : "s", dur[0] ? ", traced for " : "", dur,
			 weight_calls ? "call counts" : "time",
			 per_thread ? "; one tower per thread" : "");
		struct flame_svg_opts o = { .title = title,
					    .subtitle = sub,
					    .weight_calls = weight_calls };
		rc = flame_write_svg(s.fl, out, &o);
	}
	if (rc && !err[0])
		snprintf(err, errlen, "writing the output: %s", strerror(errno ? errno : EIO));
	flame_free(s.fl);
	free(s.node);
	free(s.placeholder);
	free_meta(&s.meta);
	return rc ? -1 : 0;
}

/* ---- entry points ---------------------------------------------------------------------------- */

int cmd_other_option(const char *cmd, const char *usage, int c, char **argv, int next)
{
	if (c == 'h') {
		fputs(usage, stdout);
		return 0;
	}
	if (c == ':')
		fprintf(stderr, "%s: option '%s' needs a value (see --help)\n", cmd,
			argv[next - 1]);
	else
		fprintf(stderr, "%s: unknown option '%s' (see --help)\n", cmd, argv[next - 1]);
	return 2;
}

int cmd_one_operand(const char *cmd, bool none, const char *what, const char *placeholder)
{
	if (none)
		fprintf(stderr, "%s: which %s? give %s (see --help)\n", cmd, what, placeholder);
	else
		fprintf(stderr, "%s: give exactly one %s (see --help)\n", cmd, what);
	return 2;
}

FILE *open_trace(const char *path, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	struct stat st;

	if (!f) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (!fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot read '%s': it is a directory", path);
		fclose(f);
		return NULL;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

static int convert(const char *in, const char *out, const char *fmt, bool weight_calls,
		   bool per_thread, char *err, size_t errlen)
{
	struct sink sink;
	FILE *f;
	int rc;

	err[0] = 0;
	if (strcmp(fmt, "chrome") && strcmp(fmt, "folded") && strcmp(fmt, "svg")) {
		snprintf(err, errlen, "unknown format '%s': expected chrome, folded or svg", fmt);
		return -1;
	}
	f = open_trace(in, err, errlen);
	if (!f)
		return -1;
	if (sink_open(&sink, out, err, errlen)) {
		if (f != stdin)
			fclose(f);
		return -1;
	}
	if (!strcmp(fmt, "chrome"))
		rc = run_chrome(f, sink.f, err, errlen);
	else
		rc = run_stacks(f, sink.f, fmt, weight_calls, per_thread, err, errlen);
	if (f != stdin)
		fclose(f);
	if (rc) {
		/* name the input: the reader's errors are offsets into it */
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err);
		if (strncmp(msg, "byte ", 5) == 0)
			snprintf(err, errlen, "'%.200s': %.280s", in, msg);
		sink_abort(&sink);
		return -1;
	}
	return sink_commit(&sink, err, errlen);
}

int convert_file(const char *in, const char *out, const char *fmt, bool weight_calls, char *err,
		 size_t errlen)
{
	return convert(in, out, fmt, weight_calls, false, err, errlen);
}

int convert_output_name(const char *trace, const char *fmt, char *buf, size_t len)
{
	const char *ext = !strcmp(fmt, "chrome") ? ".chrome.json" :
			  !strcmp(fmt, "folded") ? ".folded" :
			  !strcmp(fmt, "svg")	 ? ".svg" :
						   NULL;
	const char *slash = strrchr(trace, '/'), *dot = strrchr(trace, '.');
	size_t stem = dot && dot > (slash ? slash : trace) && !strcmp(dot, ".json") ?
			      (size_t)(dot - trace) :
			      strlen(trace);

	if (!ext)
		return -1;
	return (size_t)snprintf(buf, len, "%.*s%s", (int)stem, trace, ext) < len ? 0 : -1;
}

enum { OPT_PER_THREAD = 256 };

int cmd_convert_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "weight", required_argument, NULL, 'w' },
		{ "per-thread", no_argument, NULL, OPT_PER_THREAD },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *to = NULL, *out = "-";
	bool calls = false, per_thread = false;
	char err[512];
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:o:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = optarg; break;
		case 'o': out = optarg; break;
		case 'w':
			if (strcmp(optarg, "time") && strcmp(optarg, "calls")) {
				fprintf(stderr,
					CMD ": invalid --weight '%s': expected time or calls\n",
					optarg);
				return 2;
			}
			calls = !strcmp(optarg, "calls");
			break;
		case OPT_PER_THREAD: per_thread = true; break;
		default: return cmd_other_option(CMD, usage_text, c, argv, optind);
		}
	}
	if (optind != argc - 1)
		return cmd_one_operand(CMD, optind == argc, "trace", "TRACE.json");
	if (!to) {
		fprintf(stderr, CMD ": give the format: --to chrome, folded or svg (see --help)\n");
		return 2;
	}
	if (strcmp(to, "chrome") && strcmp(to, "folded") && strcmp(to, "svg")) {
		fprintf(stderr, CMD ": unknown format '%s': expected chrome, folded or svg\n", to);
		return 2;
	}
	if (!*out) {
		fprintf(stderr, CMD ": -o needs a file name\n");
		return 2;
	}
	if (convert(argv[optind], out, to, calls, per_thread, err, sizeof(err))) {
		fprintf(stderr, CMD ": %s\n", err);
		return 1;
	}
	return 0;
}
