/* The node-spool sink and its trace_source; see node_spool.h.
 *
 * A thread's spool is a sequence of records, one per sink call:
 *   tag (u8: open, close, leaf, wrap), flags (varint), function (varint: index
 *   + 1 into the sink's table, 0: none), then as the flags say: start, end,
 *   duration (varints), partial_reason and an extra's value (varint length
 *   + bytes). The extra is the arguments at open, the return value at close,
 *   as the compact JSON the JSON sink writes for them; null arguments come
 *   with why instead (varint length + the text). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cmds/jsonread.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "rebuild/keep_filter.h"
#include "rebuild/tree.h"
#include "utils/u64map.h"
#include "consume/memory.h"
#include "write/jsonw.h"
#include "write/node_spool.h"
#include "write/output.h"
#include "write/tspool.h"

enum { R_OPEN = 1, R_CLOSE, R_LEAF, R_WRAP };
enum {
	F_PLACEHOLDER = 1,
	F_START = 2,
	F_END = 4,
	F_DURATION = 8,
	F_PARTIAL = 16,
	F_EXTRA = 32,
	F_WHY = 64,
	F_MEM = 128, /* --memory: allocs, alloc_bytes, frees, free_bytes */
	F_SITE = 256, /* open: --srcline's call site follows (length + bytes) */
};

struct node_spool {
	struct tree_sink sink;
	int dirfd;
	FILE *archive;		      /* the ended threads' nodes */
	struct u64map ids;	      /* func_info pointer → index + 1 */
	const struct func_info **fns; /* by index */
	size_t nfns, capfns;
	FILE *mem; /* an extra, rendered */
	char *membuf;
	size_t memlen;
};

/* ---- the sink ------------------------------------------------------------------- */

static void put_varint(FILE *f, uint64_t v)
{
	while (v >= 0x80) {
		putc_unlocked((int)(v & 0x7f) | 0x80, f);
		v >>= 7;
	}
	putc_unlocked((int)v, f);
}

static void put_bytes(FILE *f, const char *s, size_t n)
{
	put_varint(f, n);
	fwrite_unlocked(s, 1, n, f);
}

static uint64_t fn_id(struct node_spool *ns, const struct func_info *fn)
{
	uintptr_t id;

	if (!fn)
		return 0;
	id = (uintptr_t)u64map_get(&ns->ids, (uintptr_t)fn);
	if (id)
		return id;
	if (ns->nfns == ns->capfns) {
		size_t ncap = ns->capfns ? ns->capfns * 2 : 256;
		const struct func_info **nv = realloc(ns->fns, ncap * sizeof(*nv));

		if (!nv)
			abort();
		ns->fns = nv;
		ns->capfns = ncap;
	}
	ns->fns[ns->nfns++] = fn;
	id = ns->nfns;
	if (u64map_put(&ns->ids, (uintptr_t)fn, (void *)id))
		abort();
	return id;
}

/* x's value: it writes ,"key":value; NULL when it writes none, or null */
static const char *extra_value(struct node_spool *ns, const struct tree_extra *x, size_t *len)
{
	const char *v;
	long end;

	if (!x || !x->write || x->unavailable)
		return NULL;
	rewind(ns->mem);
	x->write(ns->mem, x->arg);
	if (fflush(ns->mem) || (end = ftell(ns->mem)) < 0 || !ns->membuf)
		return NULL;
	ns->membuf[end] = 0;
	v = strstr(ns->membuf, "\":");
	if (!v)
		return NULL;
	if (!strcmp(v + 2, "null"))
		return NULL;
	v += 2;
	*len = (size_t)(ns->membuf + end - v);
	return v;
}

static void put_node(struct node_spool *ns, struct thread_tree *t, int tag,
		     const struct tree_node *n)
{
	FILE *f = ((struct tspool *)t->out)->f;
	size_t xlen = 0;
	const char *x = extra_value(ns, n->x, &xlen);
	const char *why = n->x ? n->x->unavailable : NULL;
	bool mem = n->mem && (n->mem->allocs || n->mem->frees);
	const char *site = n->x && tag == R_OPEN ? n->x->call_site : NULL;
	int flags = (site ? F_SITE : 0) | (n->placeholder ? F_PLACEHOLDER : 0) |
		    (n->has_start ? F_START : 0) | (n->has_end ? F_END : 0) |
		    (n->has_duration ? F_DURATION : 0) | (n->partial_reason ? F_PARTIAL : 0) |
		    (x ? F_EXTRA : 0) | (why ? F_WHY : 0) | (mem ? F_MEM : 0);

	putc_unlocked(tag, f);
	put_varint(f, (uint64_t)flags);
	put_varint(f, fn_id(ns, n->fn));
	if (n->has_start)
		put_varint(f, n->start);
	if (n->has_end)
		put_varint(f, n->end);
	if (n->has_duration)
		put_varint(f, n->duration);
	if (n->partial_reason)
		put_bytes(f, n->partial_reason, strlen(n->partial_reason));
	if (x)
		put_bytes(f, x, xlen);
	if (why)
		put_bytes(f, why, strlen(why));
	if (mem) {
		put_varint(f, n->mem->allocs);
		put_varint(f, n->mem->alloc_bytes);
		put_varint(f, n->mem->frees);
		put_varint(f, n->mem->free_bytes);
	}
	if (site)
		put_bytes(f, site, strlen(site));
}

static void ns_open(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	put_node((struct node_spool *)s, t, R_OPEN, n);
}

static void ns_close(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	put_node((struct node_spool *)s, t, R_CLOSE, n);
}

static void ns_leaf(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	put_node((struct node_spool *)s, t, R_LEAF, n);
}

static void ns_wrap(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	put_node((struct node_spool *)s, t, R_WRAP, n);
}

static int ns_thread_begin(struct tree_sink *s, struct thread_tree *t)
{
	struct tspool *sp = calloc(1, sizeof(*sp));
	int rc;

	if (!sp)
		return -ENOMEM;
	rc = tspool_open(sp, ((struct node_spool *)s)->dirfd);
	if (rc) {
		free(sp);
		return rc;
	}
	t->out = sp;
	return 0;
}

static int ns_thread_end(struct tree_sink *s, struct thread_tree *t)
{
	struct node_spool *ns = (struct node_spool *)s;

	return tspool_archive(t->out, &ns->archive, ns->dirfd);
}

static int ns_thread_error(struct tree_sink *s, struct thread_tree *t)
{
	(void)s;
	return tspool_error(t->out);
}

static void ns_thread_free(struct tree_sink *s, struct thread_tree *t)
{
	(void)s;
	if (t->out)
		tspool_close(t->out);
	free(t->out);
	t->out = NULL;
}

static void ns_free(struct tree_sink *s)
{
	struct node_spool *ns = (struct node_spool *)s;

	if (!ns)
		return;
	if (ns->archive)
		fclose(ns->archive);
	if (ns->mem)
		fclose(ns->mem);
	free(ns->membuf);
	u64map_free(&ns->ids);
	free(ns->fns);
	free(ns);
}

static const struct tree_sink_ops node_ops = {
	.thread_begin = ns_thread_begin,
	.open = ns_open,
	.close = ns_close,
	.leaf = ns_leaf,
	.wrap = ns_wrap,
	.thread_end = ns_thread_end,
	.thread_error = ns_thread_error,
	.thread_free = ns_thread_free,
	.free = ns_free,
};

struct tree_sink *node_spool_new(int dirfd)
{
	struct node_spool *ns = calloc(1, sizeof(*ns));

	if (!ns)
		return NULL;
	ns->sink.ops = &node_ops;
	ns->dirfd = dirfd;
	ns->mem = open_memstream(&ns->membuf, &ns->memlen);
	if (!ns->mem) {
		free(ns);
		return NULL;
	}
	return &ns->sink;
}

/* ---- the source ---------------------------------------------------------------- */

/* a function as the JSON reader would give it back */
struct fview {
	bool done;
	struct jr_buf name, module, source;
	char addr[24];
};

struct nframe {
	bool opened, named, partial, has_args, has_ret, has_why, has_mem, has_site;
	char mem[MEMORY_JSON_MAX]; /* --memory: the "memory" object, compact */
	uint64_t fn; /* index + 1; 0: "[unknown]" when named */
	bool has_start, has_end, has_duration;
	uint64_t start, end, duration;
	struct jr_buf reason, args, ret, why, site;
	uint64_t nchildren, children_ns;
	bool children_timed;
};

struct nwalk {
	const struct node_spool *ns;
	const struct trace_visitor *v;
	void *ctx;
	struct fview *fv;
	struct nframe *frames;
	size_t nframes, capframes;
	FILE *f;
	uint64_t left; /* bytes of the spool not read yet */
	bool bad;      /* a spool that does not read back */
	bool fail;     /* that, or out of memory: not a visitor's error */
	struct jr_buf more, name, obj;
};

/* s with every ill-formed UTF-8 sequence as U+FFFD, as the JSON holds it */
static int utf8_clean(struct jr_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, run = 0, k = 0, bad;

	b->len = 0;
	while (i < n) {
		if (p[i] < 0x80 || (k = jsonw_utf8_seq(p + i, n - i, &bad))) {
			i += p[i] < 0x80 ? 1 : k;
			continue;
		}
		if (jr_buf_put(b, s + run, i - run) || jr_buf_put(b, "\xef\xbf\xbd", 3))
			return -1;
		i += bad;
		run = i;
	}
	return jr_buf_put(b, s + run, n - run);
}

static struct fview *fn_view(struct nwalk *w, uint64_t id)
{
	struct fview *v = &w->fv[id - 1];
	const struct func_info *fn = w->ns->fns[id - 1];

	if (!v->done) {
		if (utf8_clean(&v->name, fn->name) ||
		    utf8_clean(&v->module, fn->module ? fn->module : "") ||
		    utf8_clean(&v->source, fn->source ? fn->source : ""))
			return NULL;
		snprintf(v->addr, sizeof(v->addr), "0x%" PRIx64, (uint64_t)fn->addr);
		v->done = true;
	}
	return v;
}

static void node_view(struct nwalk *w, const struct nframe *f, struct trace_node *n)
{
	struct fview *fv = f->named && f->fn ? fn_view(w, f->fn) : NULL;

	memset(n, 0, sizeof(*n));
	if (f->named) {
		n->function = fv ? fv->name.p : "[unknown]";
		n->module = fv && w->ns->fns[f->fn - 1]->module ? fv->module.p : NULL;
		n->address = fv ? fv->addr : NULL;
		n->source = fv && w->ns->fns[f->fn - 1]->source ? fv->source.p : NULL;
	}
	n->has_start = f->has_start;
	n->has_end = f->has_end;
	n->has_duration = f->has_duration;
	n->start_ns = f->start;
	n->end_ns = f->end;
	n->duration_ns = f->duration;
	n->partial = f->partial;
	n->partial_reason = f->partial ? f->reason.p : NULL;
	n->arguments = f->has_args ? f->args.p : NULL;
	n->arguments_unavailable = f->has_why ? f->why.p : NULL;
	n->return_value = f->has_ret ? f->ret.p : NULL;
	n->memory = f->has_mem ? f->mem : NULL;
	n->call_site = f->has_site ? f->site.p : NULL;
	n->nchildren = f->nchildren;
	n->children_ns = f->children_ns;
	n->children_timed = f->children_timed;
}

/* a closed child (n, its view) in its parent's sums: the time it covers
 * by the one rule every reader uses (node_covered_ns) */
static void child_done(struct nframe *parent, const struct trace_node *n)
{
	parent->nchildren++;
	parent->children_ns += node_covered_ns(n, n->children_ns);
	parent->children_timed &= n->has_duration;
}

static int fire_open(struct nwalk *w, struct nframe *f)
{
	struct trace_node n;

	f->opened = true;
	if (!w->v->node_open)
		return 0;
	node_view(w, f, &n);
	return w->v->node_open(w->ctx, &n, (size_t)(f - w->frames));
}

static struct nframe *frame_push(struct nwalk *w, int *rc)
{
	struct nframe *f;

	*rc = 0;
	if (w->nframes && !w->frames[w->nframes - 1].opened &&
	    (*rc = fire_open(w, &w->frames[w->nframes - 1])))
		return NULL;
	if (w->nframes == w->capframes) {
		size_t ncap = w->capframes ? w->capframes * 2 : 64;
		struct nframe *nf = realloc(w->frames, ncap * sizeof(*nf));

		if (!nf) {
			w->fail = true;
			*rc = -1;
			return NULL;
		}
		memset(nf + w->capframes, 0, (ncap - w->capframes) * sizeof(*nf));
		w->frames = nf;
		w->capframes = ncap;
	}
	f = &w->frames[w->nframes++];
	f->opened = f->named = f->partial = f->has_args = f->has_ret = f->has_why = false;
	f->has_mem = false;
	f->has_site = false;
	f->has_start = f->has_end = f->has_duration = false;
	f->fn = f->start = f->end = f->duration = 0;
	f->nchildren = f->children_ns = 0;
	f->children_timed = true;
	return f;
}

static int frame_close(struct nwalk *w, uint64_t *calls)
{
	struct nframe *f = &w->frames[w->nframes - 1];
	size_t depth = w->nframes - 1;
	struct trace_node n;
	int rc;

	if (!f->opened && (rc = fire_open(w, f)))
		return rc;
	(*calls)++;
	node_view(w, f, &n);
	if (w->v->node_close && (rc = w->v->node_close(w->ctx, &n, depth)))
		return rc;
	if (depth > 0)
		child_done(f - 1, &n);
	w->nframes--;
	return 0;
}

static int get_u8(struct nwalk *w)
{
	int c;

	if (!w->left || (c = getc_unlocked(w->f)) == EOF) {
		w->bad = true;
		return 0;
	}
	w->left--;
	return c;
}

static uint64_t get_varint(struct nwalk *w)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64 && !w->bad; shift += 7) {
		int c = get_u8(w);

		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	w->bad = true;
	return 0;
}

static void get_bytes(struct nwalk *w, struct jr_buf *b)
{
	uint64_t n = get_varint(w);

	b->len = 0;
	if (w->bad || n > w->left || jr_buf_put(b, "", 0)) {
		w->bad = true;
		return;
	}
	while (n && !w->bad) {
		char chunk[4096];
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);

		if (fread_unlocked(chunk, 1, k, w->f) != k || jr_buf_put(b, chunk, k))
			w->bad = true;
		w->left -= k;
		n -= k;
	}
}

/* one record's fields into f (the frame it opens or closes) */
static void read_fields(struct nwalk *w, struct nframe *f, int tag)
{
	int flags = (int)get_varint(w);
	uint64_t fn = get_varint(w);

	/* an entry names its node unless a placeholder's; an exit only a placeholder's */
	if (fn > w->ns->nfns)
		w->bad = true;
	if (tag == R_LEAF || tag == R_WRAP || (tag == R_OPEN) != !!(flags & F_PLACEHOLDER)) {
		f->named = true;
		f->fn = fn;
	}
	if (flags & F_START) {
		f->has_start = true;
		f->start = get_varint(w);
	}
	if (flags & F_END) {
		f->has_end = true;
		f->end = get_varint(w);
	}
	if (flags & F_DURATION) {
		f->has_duration = true;
		f->duration = get_varint(w);
	}
	if (flags & F_PARTIAL) {
		f->partial = true;
		get_bytes(w, &f->reason);
	}
	if (flags & F_EXTRA) {
		bool open = tag == R_OPEN;

		get_bytes(w, open ? &f->args : &f->ret);
		*(open ? &f->has_args : &f->has_ret) = true;
	}
	if (flags & F_WHY) {
		f->has_why = true;
		get_bytes(w, &f->why);
	}
	if (flags & F_MEM) {
		uint64_t v[4];

		for (int i = 0; i < 4; i++)
			v[i] = get_varint(w);
		f->has_mem = true;
		memory_node_json(f->mem, &(struct tree_mem){ v[0], v[1], v[2], v[3] });
	}
	if (flags & F_SITE) { /* as the JSON holds it */
		f->has_site = true;
		get_bytes(w, &w->obj);
		if (!w->bad && utf8_clean(&f->site, w->obj.p))
			w->bad = true;
	}
}

static int walk_nodes(struct nwalk *w, uint64_t wraps, uint64_t *calls)
{
	struct nframe *f;
	int rc, tag;

	w->nframes = 0;
	for (uint64_t i = 0; i < wraps; i++)
		if (!frame_push(w, &rc))
			return rc ? rc : -1;
	while (w->left && !w->bad) {
		tag = get_u8(w);
		if (tag == R_OPEN || tag == R_LEAF) {
			if (!(f = frame_push(w, &rc)))
				return rc;
		} else if ((tag != R_CLOSE && tag != R_WRAP) || !w->nframes) {
			w->bad = true;
			break;
		}
		f = &w->frames[w->nframes - 1];
		read_fields(w, f, tag);
		if (w->bad)
			break;
		if (tag != R_OPEN && (rc = frame_close(w, calls)))
			return rc;
	}
	if (w->bad || w->nframes) {
		w->bad = w->fail = true;
		return -1;
	}
	return 0;
}

/* "5813", or "5813#2" for a tid the kernel reused (as write/output.c keys it) */
static void thread_key(const struct trace *tr, size_t i, char *k, size_t len)
{
	unsigned reuse = 0;

	for (size_t j = 0; j < i; j++)
		reuse += tr->threads[j]->tid == tr->threads[i]->tid;
	if (reuse)
		snprintf(k, len, "%u#%u", tr->threads[i]->tid, reuse + 1);
	else
		snprintf(k, len, "%u", tr->threads[i]->tid);
}

/* the members after "root_calls" join th->more; "pid" is read from them as
 * the JSON reader reads it: a whole number, the last one kept */
static int thread_tail(struct nwalk *w, struct trace_thread *th, const char *tail)
{
	struct jr *r;
	enum jr_tok t;
	uint64_t v;

	if (!tail || !*tail)
		return 0;
	if (jr_buf_put(&w->more, tail, strlen(tail)))
		return -1;
	th->more = w->more.p;
	/* ,"k":v,... read as {"k":v,...} */
	w->obj.len = 0;
	if (jr_buf_put(&w->obj, "{", 1) || jr_buf_put(&w->obj, tail + 1, strlen(tail + 1)) ||
	    jr_buf_put(&w->obj, "}", 1) || !(r = jr_new_mem(w->obj.p, w->obj.len, 0, 0)))
		return -1;
	if (jr_next(r) != JR_OBJ_BEGIN) {
		jr_free(r);
		return 0;
	}
	while ((t = jr_next(r)) == JR_KEY) {
		bool pid = !strcmp(jr_text(r, NULL), "pid");

		t = jr_next(r);
		if (pid && t == JR_NUMBER && jr_parse_u64(jr_text(r, NULL), &v) && v <= INT64_MAX) {
			th->has_pid = true;
			th->pid = (int64_t)v;
		}
		if (t == JR_ERROR || jr_skip(r, t) == JR_ERROR)
			break;
	}
	jr_free(r);
	return 0;
}

static int walk_thread(struct nwalk *w, const struct node_source *src, size_t i)
{
	struct thread_tree *t = src->tr->threads[i];
	const struct stored_parts *sp = src->parts;
	struct trace_thread th = { .has_tid = true, .tid = t->tid };
	char key[48], num[24];
	int rc;

	thread_key(src->tr, i, key, sizeof(key));
	th.key = key;
	if (utf8_clean(&w->name, t->name))
		goto oom;
	th.name = w->name.p;
	th.has_total_calls = true;
	th.total_calls = t->calls;
	th.lost_events = t->lost;
	w->more.len = 0;
	snprintf(num, sizeof(num), "%" PRIu64, t->resyncs);
	if (jr_buf_put(&w->more, "\"resyncs\":", 10) || jr_buf_put(&w->more, num, strlen(num)))
		goto oom;
	if (t->root_mem.allocs || t->root_mem.frees) { /* --memory, as the JSON has it */
		char mem[MEMORY_JSON_MAX];

		memory_node_json(mem, &t->root_mem);
		if (jr_buf_put(&w->more, ",\"root_memory\":", 15) || jr_buf_put(&w->more, mem, strlen(mem)))
			goto oom;
	}
	th.more = w->more.p;
	if (w->v->thread_begin && (rc = w->v->thread_begin(w->ctx, &th)))
		return rc;
	w->f = tspool_rewind(t->out, &w->left);
	if (!w->f) {
		w->bad = w->fail = true;
		return -1;
	}
	if ((rc = walk_nodes(w, t->wraps, &th.calls)))
		return rc;
	if (thread_tail(w, &th, i < sp->ntails ? sp->tails[i] : NULL))
		goto oom;
	return w->v->thread_end ? w->v->thread_end(w->ctx, &th) : 0;
oom:
	w->fail = true;
	return -1;
}

static void walk_free(struct nwalk *w)
{
	for (size_t i = 0; i < w->capframes; i++) {
		jr_buf_free(&w->frames[i].reason);
		jr_buf_free(&w->frames[i].args);
		jr_buf_free(&w->frames[i].why);
		jr_buf_free(&w->frames[i].ret);
		jr_buf_free(&w->frames[i].site);
	}
	free(w->frames);
	for (size_t i = 0; w->fv && i < w->ns->nfns; i++) {
		jr_buf_free(&w->fv[i].name);
		jr_buf_free(&w->fv[i].module);
		jr_buf_free(&w->fv[i].source);
	}
	free(w->fv);
	jr_buf_free(&w->more);
	jr_buf_free(&w->name);
	jr_buf_free(&w->obj);
}

static int walk(void *src, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	const struct node_source *s = src;
	const struct stored_parts *sp = s->parts;
	/* the spool, inside --min-duration / --keep-if's filters */
	struct nwalk w = { .ns = (const struct node_spool *)keep_filter_inner(s->tr->sink),
			   .v = v,
			   .ctx = ctx };
	int rc = 0;

	if (errlen)
		err[0] = 0;
	w.fv = calloc(w.ns->nfns + 1, sizeof(*w.fv));
	if (!w.fv) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (sp->metadata &&
	    (rc = trace_meta_visit(sp->metadata, strlen(sp->metadata), v, ctx)) == -2)
		w.fail = true;
	if (rc == -2)
		rc = -1;
	for (size_t i = 0; !rc && i < s->tr->nthreads; i++)
		rc = walk_thread(&w, s, i);
	if (rc && w.fail)
		snprintf(err, errlen, "reading the call trees back: %s",
			 w.bad ? "a spool does not read back" : "out of memory");
	if (!rc && sp->crash && sp->crash[0] == '{' && v->crash)
		rc = v->crash(ctx, sp->crash);
	if (!rc && sp->leaks && v->leaks) /* --memory, as a stored trace had it */
		rc = v->leaks(ctx, sp->leaks);
	else if (!rc && s->tr->mem && v->leaks) { /* --memory */
		char *leaks = memory_leaks_json(s->tr);

		rc = leaks ? v->leaks(ctx, leaks) : -1;
		free(leaks);
	}
	walk_free(&w);
	return rc;
}

void node_source_init(struct node_source *ns, const struct trace *tr,
		      const struct stored_parts *parts)
{
	ns->tr = tr;
	ns->parts = parts;
	ns->source = (struct trace_source){ .walk = walk, .src = ns };
}
