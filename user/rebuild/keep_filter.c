// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The --min-duration and --keep-if sinks; see keep_filter.h. One sink type,
 * two modes, chained: keep-if → min-duration → the real sink. Each keeps
 * its per-thread state in a map by thread (t->out is the real sink's). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "consume/symbolize.h"
#include "find/keep_expr.h"
#include "rebuild/keep_filter.h"
#include "rebuild/tree.h"
#include "utils/u64map.h"

enum kf_mode { KF_MIN_DURATION, KF_KEEP_IF };
enum kf_kind { EV_OPEN, EV_CLOSE, EV_LEAF };

/* a node kept past its callback: its extra rendered, its strings copied */
struct kf_node {
	struct tree_node n; /* n.x, n.partial_reason: see view() */
	bool has_x;
	char *xtext; /* what x->write wrote; NULL: no write */
	char *why;   /* x->unavailable */
	char *reason;
	struct tree_mem mem; /* --memory: n.mem's, kept */
	const char *call_site; /* x->call_site: interned, outlives the node */
};

struct kf_event {
	uint8_t kind;
	bool kept; /* inside a qualifying FUNC call: written whole */
	struct kf_node node;
};

/* a FUNC call's subtree, kept aside until it returns */
struct kf_buf {
	int rule;
	struct kf_event *ev;
	size_t n, cap;
};

/* an open node waiting to be written as context, or written */
struct kf_pending {
	struct kf_node node;
	bool fwd;
};

struct kf_thread {
	struct kf_pending *ctx; /* the open nodes outside any FUNC call */
	size_t nctx, capctx;
	/* keep-if: every open frame's buffer (NULL: not a FUNC call) */
	struct kf_buf **fr;
	size_t nfr, capfr;
	size_t nbufs; /* frames with a buffer */
	int err;
};

struct keep_filter {
	struct tree_sink sink;
	struct tree_sink *inner;
	enum kf_mode mode;
	uint64_t min_ns;
	const struct keep_rule *rules;
	size_t nrules;
	struct u64map threads; /* thread_tree * → struct kf_thread */
	struct u64map rule_of; /* func_info * → rule index + 1; ~0: none */
	FILE *mem;	       /* where extras are rendered */
	char *membuf;
	size_t memlen;
	struct keep_counts counts;
};

static const struct tree_sink_ops kf_ops;

static struct kf_thread *state(struct keep_filter *k, struct thread_tree *t)
{
	return u64map_get(&k->threads, (uint64_t)(uintptr_t)t);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t nc = *cap ? *cap * 2 : 16;
	void *nv;

	if (n < *cap)
		return 0;
	nv = realloc(*v, nc * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

/* ---- nodes kept past their callback ---- */

static void put_text(FILE *f, void *arg)
{
	fputs(arg, f);
}

static char *render(struct keep_filter *k, const struct tree_extra *x)
{
	long end;

	if (!k->mem && !(k->mem = open_memstream(&k->membuf, &k->memlen)))
		return NULL;
	rewind(k->mem);
	x->write(k->mem, x->arg);
	if (fflush(k->mem) || (end = ftell(k->mem)) < 0)
		return NULL;
	return strndup(k->membuf, (size_t)end);
}

static int copy_node(struct keep_filter *k, struct kf_node *d, const struct tree_node *n)
{
	memset(d, 0, sizeof(*d));
	d->n = *n;
	d->n.x = NULL;
	d->n.partial_reason = NULL;
	d->n.mem = NULL;
	if (n->mem)
		d->mem = *n->mem;
	if (n->partial_reason && !(d->reason = strdup(n->partial_reason)))
		return -ENOMEM;
	if (!n->x)
		return 0;
	d->has_x = true;
	d->call_site = n->x->call_site;
	if (n->x->unavailable && !(d->why = strdup(n->x->unavailable)))
		return -ENOMEM;
	if (n->x->write && !(d->xtext = render(k, n->x)))
		return -ENOMEM;
	return 0;
}

static void free_node(struct kf_node *d)
{
	free(d->xtext);
	free(d->why);
	free(d->reason);
}

/* the node as the sink gets it; x: storage for its extra */
static const struct tree_node *view(const struct kf_node *d, struct tree_node *n,
				    struct tree_extra *x)
{
	*n = d->n;
	n->partial_reason = d->reason;
	n->mem = &d->mem;
	if (d->has_x) {
		*x = (struct tree_extra){ .write = d->xtext ? put_text : NULL,
					  .arg = d->xtext,
					  .unavailable = d->why,
					  .call_site = d->call_site };
		n->x = x;
	}
	return n;
}

/* ---- what goes on to the inner sink ---- */

static void pass(struct keep_filter *k, struct thread_tree *t, int kind, const struct tree_node *n)
{
	struct tree_sink *in = k->inner;

	if (kind == EV_OPEN)
		in->ops->open(in, t, n);
	else if (kind == EV_CLOSE)
		in->ops->close(in, t, n);
	else
		in->ops->leaf(in, t, n);
}

static void pass_kept(struct keep_filter *k, struct thread_tree *t, int kind,
		      const struct kf_node *d)
{
	struct tree_node n;
	struct tree_extra x;

	pass(k, t, kind, view(d, &n, &x));
}

/* the waiting ancestors are written: something inside them is kept */
static void flush(struct keep_filter *k, struct thread_tree *t, struct kf_thread *th)
{
	size_t i = th->nctx;

	while (i && !th->ctx[i - 1].fwd)
		i--;
	for (; i < th->nctx; i++) {
		pass_kept(k, t, EV_OPEN, &th->ctx[i].node);
		th->ctx[i].fwd = true;
	}
}

static void drop(struct keep_filter *k, struct thread_tree *t)
{
	if (k->mode == KF_MIN_DURATION)
		k->counts.min_duration_dropped++;
	else
		k->counts.keep_if_dropped++;
	t->calls--; /* the builder counted it: "total_calls" is what is written */
}

/* a node whose duration is not known may be long: kept */
static bool long_enough(const struct keep_filter *k, const struct tree_node *n)
{
	return k->mode == KF_MIN_DURATION &&
	       (n->partial_reason || !n->has_duration || n->duration >= k->min_ns);
}

/* ---- outside any FUNC call: nodes wait as context ---- */

static void ctx_open(struct keep_filter *k, struct kf_thread *th, struct kf_node *d)
{
	if (grow((void **)&th->ctx, &th->capctx, th->nctx, sizeof(*th->ctx))) {
		th->err = ENOMEM;
		free_node(d);
		return;
	}
	th->ctx[th->nctx++] = (struct kf_pending){ .node = *d };
}

/* n: the close (d: the same, kept, when it comes from a buffer) */
static void ctx_close(struct keep_filter *k, struct thread_tree *t, struct kf_thread *th,
		      const struct tree_node *n)
{
	struct kf_pending *p;
	bool keep = long_enough(k, n);

	if (!th->nctx) /* its open failed (out of memory, said) */
		return;
	if (keep)
		flush(k, t, th);
	p = &th->ctx[--th->nctx];
	if (p->fwd)
		pass(k, t, EV_CLOSE, n);
	else
		drop(k, t);
	free_node(&p->node);
}

static void ctx_leaf(struct keep_filter *k, struct thread_tree *t, struct kf_thread *th,
		     const struct tree_node *n)
{
	if (!long_enough(k, n)) {
		drop(k, t);
		return;
	}
	flush(k, t, th);
	pass(k, t, EV_LEAF, n);
}

/* ---- --keep-if: FUNC calls kept aside ---- */

static bool names(const char *name, const char *func)
{
	size_t n = strlen(func);

	/* C++: "ns::f" names "ns::f(int)" */
	return !strncmp(name, func, n) && (!name[n] || name[n] == '(');
}

/* the rule FUNC fn is of; -1 none */
static int rule_of(struct keep_filter *k, const struct func_info *fn)
{
	uintptr_t v;
	int r = -1;

	if (!fn)
		return -1;
	v = (uintptr_t)u64map_get(&k->rule_of, (uint64_t)(uintptr_t)fn);
	if (v)
		return v == UINTPTR_MAX ? -1 : (int)v - 1;
	for (size_t i = 0; i < k->nrules && r < 0; i++)
		if (names(fn->name, k->rules[i].func))
			r = (int)i;
	u64map_put(&k->rule_of, (uint64_t)(uintptr_t)fn,
		   (void *)(r < 0 ? UINTPTR_MAX : (uintptr_t)r + 1));
	return r;
}

static int buf_add(struct kf_buf *b, int kind, bool kept, struct kf_node *d)
{
	if (grow((void **)&b->ev, &b->cap, b->n, sizeof(*b->ev)))
		return -ENOMEM;
	b->ev[b->n++] = (struct kf_event){ .kind = (uint8_t)kind, .kept = kept, .node = *d };
	return 0;
}

/* a node inside a FUNC call: into the innermost one's buffer */
static void buffer(struct keep_filter *k, struct kf_thread *th, int kind, const struct tree_node *n)
{
	struct kf_buf *b = NULL;
	struct kf_node d;

	for (size_t i = th->nfr; i-- && !b;)
		b = th->fr[i];
	if (copy_node(k, &d, n) || buf_add(b, kind, false, &d)) {
		free_node(&d);
		th->err = ENOMEM;
	}
}

/* ---- the values a condition reads, from the JSON the capture writes ---- */

static const char *skip_string(const char *p)
{
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p ? p + 1 : p;
}

/* past the JSON value at p (one we wrote: well-formed) */
static const char *skip_value(const char *p)
{
	int depth = 0;

	while (*p) {
		if (*p == '"')
			p = skip_string(p);
		else if (*p == '{' || *p == '[')
			depth++, p++;
		else if (*p == '}' || *p == ']') {
			if (!depth)
				return p;
			depth--, p++;
		} else
			p++;
		if (!depth && (*p == ',' || *p == '}' || *p == ']'))
			return p;
	}
	return p;
}

/* the value of obj's member key; NULL: none */
static const char *member(const char *obj, const char *key)
{
	size_t n = strlen(key);
	const char *p = obj + 1;

	while (*p == '"') {
		const char *k = p + 1;

		p = skip_string(p);
		if (*p++ != ':')
			return NULL;
		if ((size_t)(p - k) == n + 2 && !strncmp(k, key, n))
			return p;
		p = skip_value(p);
		if (*p == ',')
			p++;
	}
	return NULL;
}

static int number(const char *p, struct keep_val *v)
{
	size_t n = strspn(p, "-+0123456789.eE");
	char *end;

	memset(v, 0, sizeof(*v));
	if (!n)
		return -1;
	if (strcspn(p, ".eE") < n) {
		v->is_float = true;
		v->d = strtod(p, &end);
	} else if (*p == '-') {
		v->i = strtoll(p, &end, 10);
	} else {
		v->i = strtoull(p, &end, 10);
	}
	return 0;
}

/* "0x…", "inf", "-inf", "nan" */
static int string_number(const char *p, struct keep_val *v)
{
	memset(v, 0, sizeof(*v));
	if (!strncmp(p, "\"0x", 3)) {
		v->i = strtoull(p + 1, NULL, 16);
		return 0;
	}
	v->is_float = true;
	v->d = !strncmp(p, "\"inf\"", 5)  ? __builtin_inf() :
	       !strncmp(p, "\"-inf\"", 6) ? -__builtin_inf() :
	       !strncmp(p, "\"nan\"", 5)  ? __builtin_nan("") :
					    0;
	return v->d == 0 ? -1 : 0;
}

/* an ARG object's value as a number: a pointer's address (followed or
 * not), an enum's raw value, a bool, an integer or a float */
static int arg_value(const char *obj, struct keep_val *v)
{
	const char *a = member(obj, "address"), *r = member(obj, "raw"), *x = member(obj, "value");

	if (a && *a == '"')
		return string_number(a, v);
	if (r)
		return number(r, v);
	if (!x)
		return -1;
	if (*x == '"')
		return string_number(x, v);
	if (!strncmp(x, "true", 4) || !strncmp(x, "false", 5)) {
		memset(v, 0, sizeof(*v));
		v->i = *x == 't';
		return 0;
	}
	return number(x, v);
}

struct call_values {
	const struct kf_node *open, *close;
};

static int lookup(void *ctx, const struct keep_node *test, struct keep_val *v)
{
	const struct call_values *c = ctx;
	static const char args[] = ",\"arguments\":[", ret[] = ",\"return_value\":{";
	const char *p;

	memset(v, 0, sizeof(*v));
	switch (test->what) {
	case KEEP_DURATION:
		if (!c->close->n.has_duration || c->close->reason)
			return -1;
		v->i = c->close->n.duration;
		return 0;
	case KEEP_RETVAL:
		p = c->close->xtext;
		if (!p || strncmp(p, ret, sizeof(ret) - 2))
			return -1;
		return arg_value(p + sizeof(ret) - 2, v);
	case KEEP_ARG:
		p = c->open ? c->open->xtext : NULL;
		if (!p || strncmp(p, args, sizeof(args) - 1))
			return -1;
		for (p += sizeof(args) - 1; *p == '{';) {
			const char *name = member(p, "name");
			size_t n = strlen(test->arg);

			if (name && !strncmp(name + 1, test->arg, n) && name[n + 1] == '"')
				return arg_value(p, v);
			p = skip_value(p);
			if (*p == ',')
				p++;
		}
		return -1;
	}
	return -1;
}

/* b's FUNC call returned: 1 keep it, 0 not, -1 cannot be told */
static int decide(struct keep_filter *k, const struct kf_buf *b)
{
	struct call_values c = { .open = b->ev[0].kind == EV_OPEN ? &b->ev[0].node : NULL,
				 .close = &b->ev[b->n - 1].node };
	int rc = keep_rule_eval(&k->rules[b->rule], lookup, &c);

	if (rc > 0)
		k->counts.keep_if_kept++;
	else if (rc < 0)
		k->counts.keep_if_unreadable++;
	return rc;
}

/* b's call returned and was decided: into the enclosing FUNC call's buffer,
 * else written (what keep says, and the qualifying calls inside) */
static void settle(struct keep_filter *k, struct thread_tree *t, struct kf_thread *th,
		   struct kf_buf *b, bool keep)
{
	struct kf_buf *outer = NULL;
	size_t i;

	for (i = th->nfr; i-- && !outer;)
		outer = th->fr[i];
	for (i = 0; i < b->n; i++) {
		struct kf_event *e = &b->ev[i];
		struct tree_node n;
		struct tree_extra x;

		if (outer) {
			if (!buf_add(outer, e->kind, e->kept || keep, &e->node))
				continue;
			th->err = ENOMEM;
		} else if (e->kept || keep) {
			flush(k, t, th);
			pass_kept(k, t, e->kind, &e->node);
		} else if (e->kind == EV_OPEN) {
			ctx_open(k, th, &e->node);
			continue;
		} else if (e->kind == EV_CLOSE) {
			ctx_close(k, t, th, view(&e->node, &n, &x));
		} else {
			drop(k, t);
		}
		free_node(&e->node);
	}
	free(b->ev);
	free(b);
}

/* ---- the sink ---- */

static void kf_open(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	struct keep_filter *k = (struct keep_filter *)s;
	struct kf_thread *th = state(k, t);
	int rule = k->mode == KF_KEEP_IF ? rule_of(k, n->fn) : -1;
	struct kf_buf *b = NULL;
	struct kf_node d;

	if (k->mode == KF_KEEP_IF) {
		if (grow((void **)&th->fr, &th->capfr, th->nfr, sizeof(*th->fr)) ||
		    (rule >= 0 && !(b = calloc(1, sizeof(*b))))) {
			th->err = ENOMEM;
			return;
		}
		th->fr[th->nfr++] = b;
		if (b) {
			b->rule = rule;
			th->nbufs++;
		}
		if (th->nbufs) {
			buffer(k, th, EV_OPEN, n);
			return;
		}
	}
	if (copy_node(k, &d, n)) {
		free_node(&d);
		th->err = ENOMEM;
		return;
	}
	ctx_open(k, th, &d);
}

static void kf_close(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	struct keep_filter *k = (struct keep_filter *)s;
	struct kf_thread *th = state(k, t);
	struct kf_buf *b;

	if (k->mode == KF_MIN_DURATION || !th->nfr) {
		ctx_close(k, t, th, n);
		return;
	}
	b = th->fr[--th->nfr];
	/* a call whose entry was not observed is not told */
	if (!b && n->placeholder && rule_of(k, n->fn) >= 0)
		k->counts.keep_if_unreadable++;
	if (!th->nbufs) {
		ctx_close(k, t, th, n);
		return;
	}
	if (!b) {
		buffer(k, th, EV_CLOSE, n);
		return;
	}
	th->nbufs--;
	th->fr[th->nfr] = b; /* for buffer() */
	th->nfr++;
	buffer(k, th, EV_CLOSE, n);
	th->nfr--;
	settle(k, t, th, b, b->n && decide(k, b) > 0);
}

static void kf_leaf(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	struct keep_filter *k = (struct keep_filter *)s;
	struct kf_thread *th = state(k, t);

	if (k->mode == KF_KEEP_IF && rule_of(k, n->fn) >= 0)
		k->counts.keep_if_unreadable++; /* seen by its exit only */
	if (k->mode == KF_KEEP_IF && th->nbufs)
		buffer(k, th, EV_LEAF, n);
	else
		ctx_leaf(k, t, th, n);
}

/* its open was never passed: the inner sink writes it ahead of the thread's
 * nodes, so it is always written (a call running when tracing started) */
static void kf_wrap(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	struct keep_filter *k = (struct keep_filter *)s;

	if (k->mode == KF_KEEP_IF && rule_of(k, n->fn) >= 0)
		k->counts.keep_if_unreadable++; /* its entry predates tracing */
	flush(k, t, state(k, t));
	k->inner->ops->wrap(k->inner, t, n);
}

static int kf_thread_begin(struct tree_sink *s, struct thread_tree *t)
{
	struct keep_filter *k = (struct keep_filter *)s;
	struct kf_thread *th = calloc(1, sizeof(*th));
	int rc;

	if (!th || u64map_put(&k->threads, (uint64_t)(uintptr_t)t, th)) {
		free(th);
		return -ENOMEM;
	}
	rc = k->inner->ops->thread_begin(k->inner, t);
	return rc;
}

static int kf_thread_end(struct tree_sink *s, struct thread_tree *t)
{
	struct keep_filter *k = (struct keep_filter *)s;

	return k->inner->ops->thread_end(k->inner, t);
}

static int kf_thread_error(struct tree_sink *s, struct thread_tree *t)
{
	struct keep_filter *k = (struct keep_filter *)s;
	struct kf_thread *th = state(k, t);

	if (th && th->err)
		return th->err;
	return k->inner->ops->thread_error(k->inner, t);
}

static void free_thread(struct kf_thread *th)
{
	for (size_t i = 0; i < th->nctx; i++)
		free_node(&th->ctx[i].node);
	for (size_t i = 0; i < th->nfr; i++) {
		for (size_t j = 0; th->fr[i] && j < th->fr[i]->n; j++)
			free_node(&th->fr[i]->ev[j].node);
		if (th->fr[i])
			free(th->fr[i]->ev);
		free(th->fr[i]);
	}
	free(th->ctx);
	free(th->fr);
	free(th);
}

static void kf_thread_free(struct tree_sink *s, struct thread_tree *t)
{
	struct keep_filter *k = (struct keep_filter *)s;
	struct kf_thread *th = state(k, t);

	if (th) {
		free_thread(th);
		u64map_put(&k->threads, (uint64_t)(uintptr_t)t, NULL);
	}
	k->inner->ops->thread_free(k->inner, t);
}

static void kf_free(struct tree_sink *s)
{
	struct keep_filter *k = (struct keep_filter *)s;
	uint64_t key;
	void *v;

	for (size_t it = 0; u64map_next(&k->threads, &it, &key, &v);)
		if (v)
			free_thread(v);
	u64map_free(&k->threads);
	u64map_free(&k->rule_of);
	if (k->mem)
		fclose(k->mem);
	free(k->membuf);
	k->inner->ops->free(k->inner);
	free(k);
}

static const struct tree_sink_ops kf_ops = {
	.thread_begin = kf_thread_begin,
	.open = kf_open,
	.close = kf_close,
	.leaf = kf_leaf,
	.wrap = kf_wrap,
	.thread_end = kf_thread_end,
	.thread_error = kf_thread_error,
	.thread_free = kf_thread_free,
	.free = kf_free,
};

static struct tree_sink *wrap_one(struct tree_sink *inner, enum kf_mode mode,
				  const struct keep_filter_opts *o)
{
	struct keep_filter *k;

	if (!inner)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k) {
		inner->ops->free(inner);
		return NULL;
	}
	k->sink.ops = &kf_ops;
	k->inner = inner;
	k->mode = mode;
	k->min_ns = o->min_duration_ns;
	k->rules = o->rules;
	k->nrules = o->nrules;
	return &k->sink;
}

struct tree_sink *keep_filter_wrap(struct tree_sink *inner, const struct keep_filter_opts *o)
{
	if (o->min_duration)
		inner = wrap_one(inner, KF_MIN_DURATION, o);
	if (o->nrules)
		inner = wrap_one(inner, KF_KEEP_IF, o);
	return inner;
}

const struct tree_sink *keep_filter_inner(const struct tree_sink *s)
{
	while (s && s->ops == &kf_ops)
		s = ((const struct keep_filter *)s)->inner;
	return s;
}

bool keep_filter_counts(const struct tree_sink *s, struct keep_counts *c)
{
	bool any = false;

	memset(c, 0, sizeof(*c));
	for (; s && s->ops == &kf_ops; s = ((const struct keep_filter *)s)->inner) {
		const struct keep_counts *k = &((const struct keep_filter *)s)->counts;

		any = true;
		if (((const struct keep_filter *)s)->mode == KF_MIN_DURATION) {
			c->min_duration = true;
			c->min_duration_dropped = k->min_duration_dropped;
		} else {
			c->keep_if = true;
			c->keep_if_dropped = k->keep_if_dropped;
			c->keep_if_kept = k->keep_if_kept;
			c->keep_if_unreadable = k->keep_if_unreadable;
		}
	}
	return any;
}
