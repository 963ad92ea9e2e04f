/* --min-duration and --keep-if over a JSON or JSONL trace: its walk turned
 * back into the tree builder's sink calls (rebuild/tree.h), through the
 * same filters (rebuild/keep_filter.c) into a node spool, then walked as the
 * replay of a compact trace is. One rule, written once.
 *
 * The sink calls a tree's nodes came from are read off the nodes:
 *  - a node named at its entry with a start: open, then close;
 *  - a node with no name at its entry (its entry not observed): a
 *    placeholder's open and close;
 *  - a node named with no start and no children: a call seen only by its
 *    exit (a leaf);
 *  - the thread's first nodes, nested, with no name at entry and no start:
 *    calls already running when tracing started, which wrap what is before
 *    them (the builder's wraps; --keep-if writes them always, as context).
 *    A placeholder in that place (events lost before the thread's first
 *    entry) is taken for one. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cmds/jsonread.h"
#include "cmds/keep_source.h"
#include "consume/memory.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "find/keep_expr.h"
#include "rebuild/keep_filter.h"
#include "rebuild/tree.h"
#include "utils/u64map.h"
#include "write/jsonw.h"
#include "write/node_spool.h"
#include "write/output.h"

enum { J_OPEN, J_PENDING, J_WRAP };

struct jfn {
	struct func_info fi;
	char *addr; /* as the JSON has it, or NULL */
	struct jfn *next;
};

/* a call site's text, kept for the run: the filters hold it past the node */
struct jstr {
	char *s;
	struct jstr *next;
};

struct jframe {
	unsigned char kind;
	bool placeholder;
};

struct jadapt {
	const struct keep_spec *spec;
	struct trace tr;
	struct thread_tree *t;
	struct u64map fns;   /* hash → struct jfn chain */
	struct u64map sites; /* hash → struct jstr chain (--srcline's call sites) */
	struct jframe *fr;
	size_t nfr, capfr;
	bool chain; /* every node of the thread so far is a wrap, nested */
	/* a node named with no start: a leaf unless a child comes */
	const struct func_info *pend_fn;
	char *pend_args, *pend_why;
	char *meta, *crash, *leaks;
	char **tails;
	size_t ntails, captails;
	char err[256];
};

/* ---- functions, as the nodes name them ---- */

static uint64_t hash(uint64_t h, const char *s)
{
	for (s = s ? s : ""; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;
}

static bool eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	*oom |= s && !d;
	return d;
}

/* n's function; NULL: "[unknown]" (no symbol), or out of memory (*oom) */
static const struct func_info *fn_of(struct jadapt *a, const struct trace_node *n, bool *oom)
{
	uint64_t h;
	struct jfn *f, *head;

	if (!n->function || (!n->address && !strcmp(n->function, "[unknown]")))
		return NULL;
	h = hash(hash(hash(hash(0xcbf29ce484222325ull, n->function), n->module), n->address),
		 n->source);
	head = u64map_get(&a->fns, h);
	for (f = head; f; f = f->next)
		if (!strcmp(f->fi.name, n->function) && eq(f->fi.module, n->module) &&
		    eq(f->addr, n->address) && eq(f->fi.source, n->source))
			return &f->fi;
	f = calloc(1, sizeof(*f));
	if (!f) {
		*oom = true;
		return NULL;
	}
	f->fi.name = dup_or_null(n->function, oom);
	f->fi.module = dup_or_null(n->module, oom);
	f->fi.source = dup_or_null(n->source, oom);
	f->addr = dup_or_null(n->address, oom);
	f->fi.addr = n->address ? strtoull(n->address, NULL, 16) : 0;
	f->next = head;
	if (u64map_put(&a->fns, h, f))
		*oom = true;
	return &f->fi;
}

/* s, interned; NULL: none, or out of memory (*oom) */
static const char *site_of(struct jadapt *a, const char *s, bool *oom)
{
	uint64_t h = hash(0xcbf29ce484222325ull, s);
	struct jstr *head, *j;

	if (!s)
		return NULL;
	head = u64map_get(&a->sites, h);
	for (j = head; j; j = j->next)
		if (!strcmp(j->s, s))
			return j->s;
	if (!(j = calloc(1, sizeof(*j))) || !(j->s = strdup(s)) || u64map_put(&a->sites, h, j)) {
		if (j)
			free(j->s);
		free(j);
		*oom = true;
		return NULL;
	}
	j->next = head;
	return j->s;
}

static void free_sites(struct jadapt *a)
{
	uint64_t key;
	void *v;

	for (size_t it = 0; u64map_next(&a->sites, &it, &key, &v);)
		for (struct jstr *j = v, *next; j; j = next) {
			next = j->next;
			free(j->s);
			free(j);
		}
	u64map_free(&a->sites);
}

static void free_fns(struct jadapt *a)
{
	uint64_t key;
	void *v;

	for (size_t it = 0; u64map_next(&a->fns, &it, &key, &v);)
		for (struct jfn *f = v, *next; f; f = next) {
			next = f->next;
			free(f->fi.name);
			free((char *)f->fi.module);
			free(f->fi.source);
			free(f->addr);
			free(f);
		}
	u64map_free(&a->fns);
}

/* ---- the extras: ,"arguments":… at the entry, ,"return_value":… at the exit ---- */

struct jx {
	const char *key, *value;
};

static void write_x(FILE *f, void *arg)
{
	const struct jx *x = arg;

	fprintf(f, ",\"%s\":%s", x->key, x->value);
}

/* the extra of value (under key), or of why (arguments not readable) */
static const struct tree_extra *extra(struct tree_extra *x, struct jx *jx, const char *key,
				      const char *value, const char *why, const char *site)
{
	if (!value && !why && !site)
		return NULL;
	*jx = (struct jx){ .key = key, .value = value };
	*x = (struct tree_extra){ .write = value ? write_x : NULL,
				  .arg = jx,
				  .unavailable = why,
				  .call_site = site };
	return x;
}

/* ---- the visitor ---- */

static int fail(struct jadapt *a, const char *what)
{
	snprintf(a->err, sizeof(a->err), "%s", what);
	return 1;
}

/* a pending node has a child: it was an open */
static void open_pending(struct jadapt *a)
{
	struct tree_extra x;
	struct jx jx;
	struct tree_node n = { .fn = a->pend_fn,
			       .x = extra(&x, &jx, "arguments", a->pend_args, a->pend_why, NULL) };

	a->fr[a->nfr - 1].kind = J_OPEN;
	a->t->sink->ops->open(a->t->sink, a->t, &n);
	a->t->calls++;
	free(a->pend_args);
	free(a->pend_why);
	a->pend_args = a->pend_why = NULL;
}

static int ja_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct jadapt *a = ctx;
	struct jframe *f;
	struct tree_extra x;
	struct jx jx;
	bool oom = false;
	const struct func_info *fn = fn_of(a, n, &oom);

	(void)depth;
	if (oom || (a->nfr == a->capfr &&
		    !(a->fr = realloc(a->fr, (a->capfr = a->capfr * 2 + 64) * sizeof(*a->fr)))))
		return fail(a, "out of memory");
	if (a->nfr && a->fr[a->nfr - 1].kind == J_PENDING)
		open_pending(a);
	f = &a->fr[a->nfr++];
	*f = (struct jframe){ .kind = J_OPEN, .placeholder = !n->function };
	a->chain = a->chain && !n->function && !n->has_start;
	if (a->chain) {
		f->kind = J_WRAP;
	} else if (n->function && !n->has_start) {
		f->kind = J_PENDING;
		a->pend_fn = fn;
		a->pend_args = dup_or_null(n->arguments, &oom);
		a->pend_why = dup_or_null(n->arguments_unavailable, &oom);
	} else {
		struct tree_node tn = { .fn = fn,
					.placeholder = f->placeholder,
					.has_start = n->has_start,
					.start = n->start_ns,
					.x = extra(&x, &jx, "arguments", n->arguments,
						   n->arguments_unavailable,
						   site_of(a, n->call_site, &oom)) };

		a->t->sink->ops->open(a->t->sink, a->t, &tn);
		a->t->calls++;
	}
	return oom ? fail(a, "out of memory") : 0;
}

static int ja_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct jadapt *a = ctx;
	struct tree_sink *s = a->t->sink;
	struct jframe f = a->fr[--a->nfr];
	struct tree_extra x;
	struct jx jx;
	struct tree_mem mem;
	bool oom = false;
	struct tree_node tn = { .fn = fn_of(a, n, &oom),
				.mem = memory_node_parse(n->memory, &mem),
				.placeholder = f.placeholder || f.kind == J_WRAP,
				.has_end = n->has_end,
				.end = n->end_ns,
				.has_duration = n->has_duration,
				.duration = n->duration_ns,
				.partial_reason = n->partial ? n->partial_reason : NULL,
				.x = extra(&x, &jx, "return_value", n->return_value, NULL, NULL) };

	(void)depth;
	if (oom)
		return fail(a, "out of memory");
	a->chain = false;
	if (f.kind == J_WRAP) {
		a->t->wraps++;
		a->t->calls++;
		s->ops->wrap(s, a->t, &tn);
	} else if (f.kind == J_PENDING) {
		free(a->pend_args);
		free(a->pend_why);
		a->pend_args = a->pend_why = NULL;
		a->t->calls++;
		s->ops->leaf(s, a->t, &tn);
	} else {
		s->ops->close(s, a->t, &tn);
	}
	return 0;
}

/* options.args or options.retval: the trace may hold captured values */
static bool has_values(const char *meta)
{
	cJSON *m = jr_parse_exact(meta);
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(m, "options");
	bool any = !o || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "args")) ||
		   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "retval"));

	cJSON_Delete(m);
	return any;
}

static int ja_metadata(void *ctx, const struct trace_meta *m)
{
	struct jadapt *a = ctx;
	struct jr *r = jr_new_mem(m->json, strlen(m->json), 0, 0);
	enum jr_tok t = r ? jr_next(r) : JR_ERROR;
	bool filtered = false;

	while (t != JR_ERROR && (t = jr_next(r)) == JR_KEY) {
		filtered |= !strcmp(jr_text(r, NULL), "filtered");
		t = jr_next(r);
		t = t == JR_ERROR ? t : jr_skip(r, t);
	}
	jr_free(r);
	if (filtered)
		return fail(a, "it was filtered already (metadata.filtered): filter the "
			       "compact trace it came from, or the unfiltered trace");
	if (!has_values(m->json) && keep_values_refused(&a->spec->o, a->err, sizeof(a->err)))
		return 1;
	a->meta = strdup(m->json);
	return a->meta ? 0 : fail(a, "out of memory");
}

static int ja_thread_begin(void *ctx, const struct trace_thread *th)
{
	struct jadapt *a = ctx;

	a->t = trace_new_thread(&a->tr, (uint32_t)th->tid);
	snprintf(a->t->name, sizeof(a->t->name), "%s", th->name ? th->name : "");
	a->t->lost = th->lost_events;
	a->chain = true;
	a->nfr = 0;
	return 0;
}

/* th->more ("k":v,...) as the members after "root_calls" (,"k":v...),
 * "resyncs" into t (the node source writes it from there) */
static int thread_tail(struct jadapt *a, const struct trace_thread *th, char **tail)
{
	struct jr_buf obj = { 0 }, val = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jr *r = NULL;
	enum jr_tok t = JR_ERROR;
	bool ok = f && !jr_buf_put(&obj, "{", 1) &&
		  !jr_buf_put(&obj, th->more ? th->more : "", th->more ? strlen(th->more) : 0) &&
		  !jr_buf_put(&obj, "}", 1) && (r = jr_new_mem(obj.p, obj.len, 0, 0)) &&
		  jr_next(r) == JR_OBJ_BEGIN;

	while (ok && (t = jr_next(r)) == JR_KEY) {
		char *k = strdup(jr_text(r, NULL));

		val.len = 0;
		t = jr_next(r);
		ok = k && t != JR_ERROR && jr_capture(r, t, &val, SIZE_MAX) != JR_ERROR;
		if (ok && !strcmp(k, "resyncs"))
			a->t->resyncs = strtoull(val.p, NULL, 10);
		else if (ok) {
			fputc(',', f);
			jsonw_cstr(f, k);
			fprintf(f, ":%s", val.p);
		}
		free(k);
	}
	ok = ok && t == JR_OBJ_END;
	if (f)
		ok = !fclose(f) && ok;
	jr_free(r);
	jr_buf_free(&obj);
	jr_buf_free(&val);
	*tail = ok ? buf : NULL;
	if (!ok)
		free(buf);
	return ok ? 0 : -1;
}

static int ja_thread_end(void *ctx, const struct trace_thread *th)
{
	struct jadapt *a = ctx;
	char *tail;

	if (thread_tail(a, th, &tail))
		return fail(a, "out of memory");
	if (a->ntails == a->captails) {
		char **nt = realloc(a->tails, (a->captails = a->captails * 2 + 16) * sizeof(*nt));

		if (!nt) {
			free(tail);
			return fail(a, "out of memory");
		}
		a->tails = nt;
	}
	a->tails[a->ntails++] = tail;
	trace_end_thread(&a->tr, a->t);
	a->t = NULL;
	return 0;
}

static int ja_crash(void *ctx, const char *json)
{
	struct jadapt *a = ctx;

	a->crash = strdup(json);
	return a->crash ? 0 : fail(a, "out of memory");
}

/* --memory: the blocks never freed are not calls, the filters keep them */
static int ja_leaks(void *ctx, const char *json)
{
	struct jadapt *a = ctx;

	free(a->leaks);
	a->leaks = strdup(json);
	return a->leaks ? 0 : fail(a, "out of memory");
}

/* ---- the walk ---- */

static int spool_dir(void)
{
	const char *d = getenv("TMPDIR");

	return open(d && *d ? d : "/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* in's trees through the filters into a node spool: 0, or -1 with err */
static int rebuild(struct jadapt *a, const struct trace_source *in, bool values, char *err,
		   size_t errlen)
{
	const struct trace_visitor jv = { .metadata = ja_metadata,
					  .thread_begin = ja_thread_begin,
					  .node_open = ja_open,
					  .node_close = ja_close,
					  .thread_end = ja_thread_end,
					  .crash = ja_crash,
					  .leaks = ja_leaks,
					  .no_values = !values };
	int rc = source_walk(in, &jv, a, err, errlen);

	if (rc > 0 || (!rc && !a->meta))
		snprintf(err, errlen, "%s", rc > 0 ? a->err : "it has no metadata");
	else if (!rc && trace_spool_error(&a->tr))
		snprintf(err, errlen, "writing the call trees aside: %s", strerror(a->tr.err));
	else if (!rc)
		return 0;
	return -1;
}

/* in's trees, filtered: to v when given, else as the JSON document to out */
static int keep_json(const struct trace_source *in, const struct keep_spec *k,
		     const struct trace_visitor *v, void *ctx, FILE *out, char *err, size_t errlen)
{
	struct jadapt a = { .spec = k };
	struct stored_parts sp = { 0 };
	struct node_source ns;
	bool values = !v || !v->no_values;
	int dirfd = spool_dir(), rc = -1;
	char *meta = NULL;

	for (size_t i = 0; i < k->nrules; i++)
		values |= k->rules[i].needs_args || k->rules[i].needs_retval;
	if (dirfd < 0) {
		snprintf(err, errlen, "no directory for temporary files: %s", strerror(errno));
		return -1;
	}
	trace_init(&a.tr, 0, NULL, false, 0, dirfd);
	if (v) /* else the JSON sink trace_init set */
		trace_set_sink(&a.tr, node_spool_new(dirfd));
	keep_wrap_sink(&a.tr, &k->o);
	if (!a.tr.sink)
		snprintf(err, errlen, "out of memory");
	else if (!rebuild(&a, in, values, err, errlen) &&
		 !(meta = keep_source_metadata(a.meta, &a.tr, &k->o)))
		snprintf(err, errlen, "out of memory");
	else if (meta) {
		sp = (struct stored_parts){ .metadata = meta,
					    .tails = (const char *const *)a.tails,
					    .ntails = a.ntails,
					    .crash = a.crash,
					    .leaks = a.leaks };
		node_source_init(&ns, &a.tr, &sp);
		rc = v ? source_walk(&ns.source, v, ctx, err, errlen) :
			 output_write_stored(out, "the output", &a.tr, &sp);
		if (rc && !v)
			snprintf(err, errlen, "writing the JSON: %s", strerror(errno));
	}
	free(meta);
	/* a walk stopped inside a thread leaves its tree open: freed here */
	trace_free(&a.tr);
	free_fns(&a);
	free_sites(&a);
	for (size_t i = 0; i < a.ntails; i++)
		free(a.tails[i]);
	free(a.tails);
	free(a.fr);
	free(a.pend_args);
	free(a.pend_why);
	free(a.meta);
	free(a.crash);
	free(a.leaks);
	close(dirfd);
	return rc;
}

int keep_json_walk(const struct trace_source *in, const struct keep_spec *k,
		   const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	return keep_json(in, k, v, ctx, NULL, err, errlen);
}

int keep_json_doc(const struct trace_source *in, const struct keep_spec *k, FILE *out, char *err,
		  size_t errlen)
{
	return keep_json(in, k, NULL, NULL, out, err, errlen);
}
