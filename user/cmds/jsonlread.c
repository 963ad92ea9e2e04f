/* The JSONL trace reader (see jsonlread.h). Each line is tokenized by the
 * JSON reader's tokenizer (cmds/jsonread.c), reset per line: one window of
 * input, one line's strings and one frame per open call are all it holds. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include "cmds/jsonlread.h"
#include "cmds/jsonread.h"

#define CHUNK	 (256u << 10)
#define MAX_META (64u << 20)	    /* a metadata or crash object, as in the JSON reader */
#define MAX_ARGS (1u << 20)	    /* one call's arguments or return value */
#define MAX_LINE (MAX_META + CHUNK) /* a line holds at most one of those big values */

enum ltype { T_OTHER, T_METADATA, T_THREAD, T_THREAD_END, T_ENTER, T_CALL, T_CRASH, T_LEAKS };

/* a line's strings, as offsets into its arena */
enum {
	S_FUNCTION,
	S_MODULE,
	S_ADDRESS,
	S_REASON,
	S_ARGS,
	S_ARGS_WHY,
	S_RETVAL,
	S_THREAD,
	S_NAME,
	S_META,
	S_CRASH,
	S_MORE,
	S_SOURCE,
	S_MEMORY,
	S_LEAKS,
	S_SITE,
	NSTR
};

/* one line's members: those of every line type, the absent ones unset */
struct line {
	bool has_type;
	enum ltype type;
	struct jr_buf s;
	size_t off[NSTR]; /* SIZE_MAX: absent or null */
	bool has_id, has_parent, has_depth;
	uint64_t id, parent, depth;
	bool has_start, has_end, has_duration, partial;
	uint64_t start, end, duration;
	bool has_tid, has_total;
	uint64_t tid, total, lost;
};

/* an open call */
struct frame {
	uint64_t id, nchildren, children_ns;
	bool children_timed;
};

struct lreader {
	FILE *f;
	char *buf; /* the input window: buf[pos..end) not read yet */
	size_t pos, end, cap;
	bool eof;
	uint64_t lineno;
	struct jr *r;
	struct line ln;
	const struct trace_visitor *v;
	void *ctx;
	struct frame *frames;
	size_t nframes, capframes;
	bool in_thread;
	struct jr_buf key, name; /* the open thread's */
	uint64_t calls;		 /* in the open thread */
	char *err;
	size_t errlen;
};

static int lerr(struct lreader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lerr(struct lreader *l, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(l->err, l->errlen, "line %llu: ", (unsigned long long)l->lineno);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < l->errlen)
		vsnprintf(l->err + n, l->errlen - n, fmt, ap);
	va_end(ap);
	/* one line, whatever the names it quotes hold */
	for (char *c = l->err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -1;
}

/* the tokenizer's own message, or what was unexpected */
static int tokerr(struct lreader *l)
{
	const char *e = jr_error(l->r);

	return e[0] ? lerr(l, "%s", e) : lerr(l, "unexpected token");
}

/* ---- lines ---------------------------------------------------------------------------------- */

bool jsonl_sniff(const unsigned char *head, size_t n)
{
	static const char *const want[] = { "{", "\"type\"", ":", "\"metadata\"" };
	size_t i = 0;

	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		size_t len = strlen(want[w]);

		while (i < n && head[i] && strchr(" \t\r\n", head[i]))
			i++;
		if (n - i < len || memcmp(head + i, want[w], len))
			return false;
		i += len;
	}
	return true;
}

/* The next line (without its '\n') in *p: 1, 0 at the end, -1 on an error */
static int next_line(struct lreader *l, const char **p, size_t *len)
{
	size_t scanned = 0;

	for (;;) {
		const char *nl = memchr(l->buf + l->pos + scanned, '\n', l->end - l->pos - scanned);
		size_t k;

		if (nl) {
			*p = l->buf + l->pos;
			*len = (size_t)(nl - *p);
			l->pos += *len + 1;
			return 1;
		}
		scanned = l->end - l->pos;
		if (l->eof) {
			*p = l->buf + l->pos;
			*len = scanned;
			l->pos = l->end;
			return scanned ? 1 : 0;
		}
		if (scanned >= MAX_LINE) {
			l->lineno++;
			return lerr(l, "a line longer than %u bytes", MAX_LINE);
		}
		if (l->pos) {
			memmove(l->buf, l->buf + l->pos, scanned);
			l->end = scanned;
			l->pos = 0;
		}
		if (l->end == l->cap) {
			size_t ncap = l->cap * 2;
			char *nb = realloc(l->buf, ncap);

			if (!nb)
				return lerr(l, "out of memory");
			l->buf = nb;
			l->cap = ncap;
		}
		k = fread(l->buf + l->end, 1, l->cap - l->end, l->f);
		if (!k) {
			l->eof = true;
			if (ferror(l->f))
				return lerr(l, "cannot read the trace: %s",
					    strerror(errno ? errno : EIO));
		}
		l->end += k;
	}
}

/* ---- one line's members ----------------------------------------------------------------------- */

static void line_reset(struct line *ln)
{
	ln->s.len = 0;
	memset(&ln->has_id, 0, sizeof(*ln) - offsetof(struct line, has_id));
	for (int i = 0; i < NSTR; i++)
		ln->off[i] = SIZE_MAX;
	ln->has_type = false;
	ln->type = T_OTHER;
}

static int str_member(struct lreader *l, int field, const char *what)
{
	enum jr_tok t = jr_next(l->r);
	const char *s;
	size_t len;

	if (t == JR_NULL) {
		l->ln.off[field] = SIZE_MAX;
		return 0;
	}
	if (t != JR_STRING)
		return t == JR_ERROR ? tokerr(l) : lerr(l, "\"%s\" must be a string or null", what);
	s = jr_text(l->r, &len);
	l->ln.off[field] = l->ln.s.len;
	return jr_buf_put(&l->ln.s, s, len + 1) ? lerr(l, "out of memory") : 0;
}

static int u64_member(struct lreader *l, bool *has, uint64_t *v, const char *what)
{
	enum jr_tok t = jr_next(l->r);

	if (t == JR_NULL) {
		*has = false;
		return 0;
	}
	if (t != JR_NUMBER || !jr_parse_u64(jr_text(l->r, NULL), v))
		return t == JR_ERROR ? tokerr(l) :
				       lerr(l, "\"%s\" must be a whole number >= 0, or null", what);
	*has = true;
	return 0;
}

/* any JSON value but null, kept as compact JSON; object: only an object (else skipped) */
static int json_member(struct lreader *l, int field, size_t max, bool object)
{
	enum jr_tok t = jr_next(l->r);
	size_t off = l->ln.s.len;

	l->ln.off[field] = SIZE_MAX;
	if (t == JR_ERROR)
		return tokerr(l);
	if (t == JR_NULL || (object && t != JR_OBJ_BEGIN))
		return jr_skip(l->r, t) == JR_ERROR ? tokerr(l) : 0;
	if (jr_capture(l->r, t, &l->ln.s, max) == JR_ERROR)
		return tokerr(l);
	/* its NUL ends it: the next string starts beyond */
	l->ln.s.len++;
	if (jr_buf_put(&l->ln.s, "", 0))
		return lerr(l, "out of memory");
	l->ln.off[field] = off;
	return 0;
}

static int type_member(struct lreader *l)
{
	static const struct {
		const char *name;
		enum ltype type;
	} types[] = {
		{ "metadata", T_METADATA }, { "thread", T_THREAD }, { "thread_end", T_THREAD_END },
		{ "enter", T_ENTER },	    { "call", T_CALL },	    { "crash", T_CRASH },
		{ "leaks", T_LEAKS },
	};
	enum jr_tok t = jr_next(l->r);
	const char *s;

	if (t != JR_STRING)
		return t == JR_ERROR ? tokerr(l) : lerr(l, "\"type\" must be a string");
	s = jr_text(l->r, NULL);
	l->ln.has_type = true;
	l->ln.type = T_OTHER;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(s, types[i].name))
			l->ln.type = types[i].type;
	return 0;
}

static int member(struct lreader *l, const char *k)
{
	struct line *ln = &l->ln;
	bool has = false;
	enum jr_tok t;
	int rc;

	if (!strcmp(k, "type"))
		return type_member(l);
	if (!strcmp(k, "id"))
		return u64_member(l, &ln->has_id, &ln->id, "id");
	if (!strcmp(k, "parent"))
		return u64_member(l, &ln->has_parent, &ln->parent, "parent");
	if (!strcmp(k, "depth"))
		return u64_member(l, &ln->has_depth, &ln->depth, "depth");
	if (!strcmp(k, "thread"))
		return str_member(l, S_THREAD, "thread");
	if (!strcmp(k, "function"))
		return str_member(l, S_FUNCTION, "function");
	if (!strcmp(k, "module"))
		return str_member(l, S_MODULE, "module");
	if (!strcmp(k, "address"))
		return str_member(l, S_ADDRESS, "address");
	if (!strcmp(k, "source"))
		return str_member(l, S_SOURCE, "source");
	if (!strcmp(k, "call_site"))
		return str_member(l, S_SITE, "call_site");
	if (!strcmp(k, "partial_reason"))
		return str_member(l, S_REASON, "partial_reason");
	if (!strcmp(k, "arguments_unavailable"))
		return str_member(l, S_ARGS_WHY, "arguments_unavailable");
	if (!strcmp(k, "thread_name"))
		return str_member(l, S_NAME, "thread_name");
	if (!strcmp(k, "start_ns"))
		return u64_member(l, &ln->has_start, &ln->start, "start_ns");
	if (!strcmp(k, "end_ns"))
		return u64_member(l, &ln->has_end, &ln->end, "end_ns");
	if (!strcmp(k, "duration_ns"))
		return u64_member(l, &ln->has_duration, &ln->duration, "duration_ns");
	if (!strcmp(k, "thread_id"))
		return u64_member(l, &ln->has_tid, &ln->tid, "thread_id");
	if (!strcmp(k, "total_calls"))
		return u64_member(l, &ln->has_total, &ln->total, "total_calls");
	if (!strcmp(k, "lost_events")) {
		rc = u64_member(l, &has, &ln->lost, "lost_events");
		if (!has)
			ln->lost = 0;
		return rc;
	}
	if (!strcmp(k, "arguments"))
		return json_member(l, S_ARGS, MAX_ARGS, false);
	if (!strcmp(k, "return_value"))
		return json_member(l, S_RETVAL, MAX_ARGS, false);
	if (!strcmp(k, "memory"))
		return json_member(l, S_MEMORY, MAX_ARGS, false);
	if (!strcmp(k, "metadata"))
		return json_member(l, S_META, MAX_META, true);
	if (!strcmp(k, "crash"))
		return json_member(l, S_CRASH, MAX_META, true);
	if (!strcmp(k, "leaks")) /* --memory */
		return json_member(l, S_LEAKS, MAX_META, true);
	if (!strcmp(k, "more"))
		return json_member(l, S_MORE, MAX_META, true);
	if (!strcmp(k, "partial")) {
		t = jr_next(l->r);
		if (t != JR_TRUE && t != JR_FALSE)
			return t == JR_ERROR ? tokerr(l) :
					       lerr(l, "\"partial\" must be true or false");
		ln->partial = t == JR_TRUE;
		return 0;
	}
	t = jr_next(l->r);
	return t == JR_ERROR || jr_skip(l->r, t) == JR_ERROR ? tokerr(l) : 0;
}

/* p[0..len) into l->ln: 0, 1 for a blank line, or -1 */
static int parse_line(struct lreader *l, const char *p, size_t len)
{
	enum jr_tok t;
	char k[32];
	size_t klen;
	int rc;

	size_t i = 0;

	while (i < len && p[i] && strchr(" \t\r", p[i]))
		i++;
	if (i == len)
		return 1;
	line_reset(&l->ln);
	jr_reset_mem(l->r, p, len);
	t = jr_next(l->r);
	if (t != JR_OBJ_BEGIN)
		return t == JR_ERROR ? tokerr(l) : lerr(l, "each line must be a JSON object");
	while ((t = jr_next(l->r)) == JR_KEY) {
		const char *s = jr_text(l->r, &klen);

		/* the value overwrites the key's text: keep it (longer ones are no member we know) */
		if (klen >= sizeof(k) || memchr(s, 0, klen)) {
			t = jr_next(l->r);
			if (t == JR_ERROR || jr_skip(l->r, t) == JR_ERROR)
				return tokerr(l);
			continue;
		}
		memcpy(k, s, klen + 1);
		if ((rc = member(l, k)))
			return rc;
	}
	if (t != JR_OBJ_END)
		return tokerr(l);
	if (jr_next(l->r) != JR_EOF)
		return jr_error(l->r)[0] ? tokerr(l) : lerr(l, "one JSON object per line");
	if (!l->ln.has_type)
		return lerr(l, "a line without \"type\"");
	return 0;
}

/* ---- the walk ------------------------------------------------------------------------------- */

static const char *line_str(const struct line *ln, int field)
{
	return ln->off[field] != SIZE_MAX ? ln->s.p + ln->off[field] : NULL;
}

static void node_view(const struct line *ln, struct trace_node *n)
{
	memset(n, 0, sizeof(*n));
	n->function = line_str(ln, S_FUNCTION);
	n->module = line_str(ln, S_MODULE);
	n->address = line_str(ln, S_ADDRESS);
	n->source = line_str(ln, S_SOURCE);
	n->memory = line_str(ln, S_MEMORY);
	n->call_site = line_str(ln, S_SITE);
	n->partial_reason = line_str(ln, S_REASON);
	n->arguments = line_str(ln, S_ARGS);
	n->arguments_unavailable = line_str(ln, S_ARGS_WHY);
	n->return_value = line_str(ln, S_RETVAL);
	n->has_start = ln->has_start;
	n->has_end = ln->has_end;
	n->has_duration = ln->has_duration;
	n->start_ns = ln->start;
	n->end_ns = ln->end;
	n->duration_ns = ln->duration;
	n->partial = ln->partial;
}

/* a call line's "thread", when it has one, is the open thread */
static int check_thread(struct lreader *l, const char *what)
{
	const char *k = line_str(&l->ln, S_THREAD);

	if (!l->in_thread)
		return lerr(l, "%s line outside a thread (no \"thread\" line before it)", what);
	if (k && strcmp(k, l->key.p))
		return lerr(l, "%s line of thread \"%.64s\" inside thread \"%.64s\"", what, k,
			    l->key.p);
	return 0;
}

static int on_enter(struct lreader *l)
{
	const struct line *ln = &l->ln;
	struct trace_node n;
	struct frame *f;
	int rc;

	if ((rc = check_thread(l, "an \"enter\"")))
		return rc;
	if (!ln->has_id || !ln->has_depth)
		return lerr(l, "an \"enter\" line needs \"id\" and \"depth\"");
	if (ln->depth != l->nframes)
		return lerr(l, "\"depth\" %llu, but %zu calls are open",
			    (unsigned long long)ln->depth, l->nframes);
	if (l->nframes ? !ln->has_parent || ln->parent != l->frames[l->nframes - 1].id :
			 ln->has_parent)
		return lerr(l, "\"parent\" is not the open call (null for a root call)");
	if (l->nframes == l->capframes) {
		size_t ncap = l->capframes ? l->capframes * 2 : 256;
		struct frame *nf = realloc(l->frames, ncap * sizeof(*nf));

		if (!nf)
			return lerr(l, "out of memory");
		l->frames = nf;
		l->capframes = ncap;
	}
	f = &l->frames[l->nframes++];
	*f = (struct frame){ .id = ln->id, .children_timed = true };
	if (!l->v->node_open)
		return 0;
	node_view(ln, &n);
	return l->v->node_open(l->ctx, &n, l->nframes - 1);
}

static int on_call(struct lreader *l)
{
	const struct line *ln = &l->ln;
	struct trace_node n;
	struct frame *f;
	int rc;

	if ((rc = check_thread(l, "a \"call\"")))
		return rc;
	if (!l->nframes)
		return lerr(l, "a \"call\" line with no \"enter\" line before it");
	f = &l->frames[l->nframes - 1];
	if (!ln->has_id || ln->id != f->id)
		return lerr(l,
			    "a \"call\" line whose \"id\" is not that of the innermost open call "
			    "(%llu)",
			    (unsigned long long)f->id);
	if (ln->has_depth && ln->depth != l->nframes - 1)
		return lerr(l, "\"depth\" %llu, but the call is at depth %zu",
			    (unsigned long long)ln->depth, l->nframes - 1);
	l->calls++;
	node_view(ln, &n);
	n.nchildren = f->nchildren;
	n.children_ns = f->children_ns;
	n.children_timed = f->children_timed;
	if (l->v->node_close && (rc = l->v->node_close(l->ctx, &n, l->nframes - 1)))
		return rc;
	if (l->nframes > 1) {
		struct frame *p = f - 1;

		p->nchildren++;
		p->children_ns += node_covered_ns(&n, n.children_ns);
		p->children_timed &= ln->has_duration;
	}
	l->nframes--;
	return 0;
}

/* the thread the line describes: its key is the open thread's */
/* "pid" among a thread's other members ("more": {...}, with its braces), as
 * the JSON reader gives it */
static void more_pid(struct trace_thread *th, const char *more)
{
	cJSON *o = jr_parse_exact(more);
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(o, "pid");
	uint64_t v;

	if (cJSON_IsRaw(pid) && jr_parse_u64(pid->valuestring, &v) && v <= INT64_MAX) {
		th->pid = (int64_t)v;
		th->has_pid = true;
	}
	cJSON_Delete(o);
}

static void thread_view(struct lreader *l, struct trace_thread *th)
{
	const struct line *ln = &l->ln;
	const char *name = line_str(ln, S_NAME);
	char num[24];
	size_t i = 0;

	memset(th, 0, sizeof(*th));
	th->key = l->key.p;
	/* "5813" or "5813#2": the tid until a thread_id says otherwise (as the JSON reader) */
	while (i < sizeof(num) - 1 && th->key[i] >= '0' && th->key[i] <= '9') {
		num[i] = th->key[i];
		i++;
	}
	num[i] = 0;
	th->has_tid = i > 0 && jr_parse_u64(num, &th->tid);
	if (ln->has_tid) {
		th->has_tid = true;
		th->tid = ln->tid;
	}
	l->name.len = 0;
	if (name && !jr_buf_put(&l->name, name, strlen(name)))
		th->name = l->name.p;
	/* "more": {…} gives the members inside its braces */
	th->more = line_str(ln, S_MORE);
	if (th->more) {
		more_pid(th, th->more);
		l->ln.s.p[ln->off[S_MORE] + strlen(th->more) - 1] = 0;
		th->more++;
	}
	th->has_total_calls = ln->has_total;
	th->total_calls = ln->total;
	th->lost_events = ln->lost;
	th->calls = l->calls;
}

static int on_thread(struct lreader *l)
{
	const char *k = line_str(&l->ln, S_THREAD);
	struct trace_thread th;

	if (l->in_thread)
		return lerr(l, "a \"thread\" line before the \"thread_end\" of thread \"%.64s\"",
			    l->key.p);
	if (!k)
		return lerr(l, "a \"thread\" line needs \"thread\", its key");
	l->key.len = 0;
	if (jr_buf_put(&l->key, k, strlen(k)))
		return lerr(l, "out of memory");
	l->in_thread = true;
	l->calls = 0;
	thread_view(l, &th);
	return l->v->thread_begin ? l->v->thread_begin(l->ctx, &th) : 0;
}

static int on_thread_end(struct lreader *l)
{
	struct trace_thread th;
	int rc;

	if ((rc = check_thread(l, "a \"thread_end\"")))
		return rc;
	if (l->nframes)
		return lerr(l, "\"thread_end\" while %zu calls are open", l->nframes);
	l->in_thread = false;
	thread_view(l, &th);
	return l->v->thread_end ? l->v->thread_end(l->ctx, &th) : 0;
}

/* metadata and crash lines come between threads */
static int on_top(struct lreader *l)
{
	const char *json = line_str(&l->ln, l->ln.type == T_METADATA ? S_META : S_CRASH);
	int rc;

	if (l->in_thread)
		return lerr(l, "a \"%s\" line inside thread \"%.64s\"",
			    l->ln.type == T_METADATA ? "metadata" : "crash", l->key.p);
	if (!json)
		return 0;
	if (l->ln.type == T_CRASH)
		return l->v->crash ? l->v->crash(l->ctx, json) : 0;
	rc = trace_meta_visit(json, strlen(json), l->v, l->ctx);
	return rc == -2 ? lerr(l, "cannot read \"metadata\": nested too deeply, or out of memory") :
			  rc;
}

static int dispatch(struct lreader *l)
{
	switch (l->ln.type) {
	case T_ENTER: return on_enter(l);
	case T_CALL: return on_call(l);
	case T_THREAD: return on_thread(l);
	case T_THREAD_END: return on_thread_end(l);
	case T_METADATA:
	case T_CRASH: return on_top(l);
	case T_LEAKS: /* --memory */
		if (l->in_thread)
			return lerr(l, "a \"leaks\" line inside thread \"%.64s\"", l->key.p);
		return l->v->leaks && line_str(&l->ln, S_LEAKS) ?
			       l->v->leaks(l->ctx, line_str(&l->ln, S_LEAKS)) :
			       0;
	default: return 0; /* a later addition */
	}
}

static int walk_lines(struct lreader *l)
{
	const char *p = NULL;
	size_t len = 0;
	int rc;

	while ((rc = next_line(l, &p, &len)) == 1) {
		l->lineno++;
		rc = parse_line(l, p, len);
		if (rc == 1)
			continue;
		if (rc || (rc = dispatch(l)))
			return rc;
	}
	if (rc)
		return rc;
	if (!l->lineno)
		return lerr(l, "the trace is empty");
	if (l->in_thread)
		return lerr(l, "the trace ends inside thread \"%.64s\" (cut short?)", l->key.p);
	return 0;
}

int jsonl_walk(FILE *f, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	struct lreader l = { .f = f, .v = v, .ctx = ctx, .err = err, .errlen = errlen };
	int rc;

	if (errlen)
		err[0] = 0;
	l.cap = CHUNK;
	l.buf = malloc(l.cap);
	l.r = jr_new_mem("", 0, 0, MAX_META);
	if (!l.buf || !l.r) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	} else {
		line_reset(&l.ln);
		rc = walk_lines(&l);
	}
	jr_free(l.r);
	free(l.buf);
	free(l.frames);
	jr_buf_free(&l.ln.s);
	jr_buf_free(&l.key);
	jr_buf_free(&l.name);
	return rc;
}
