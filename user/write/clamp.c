/* Clamping partial calls, for the back ends that draw calls on a time line
 * (chrome, speedscope, perfetto): source_walk_clamped passes a trace on with
 * a start at every node_open and an end at every node_close.
 *
 * A start the trace lacks (and cannot compute as end - duration) is just
 * after the latest time the thread knows, or, before the thread's first
 * known time, that time: a call already running when tracing began starts
 * with the first thing seen in its thread, not at the trace's start. An end
 * it lacks is just before the next time the thread knows (the trace's end
 * after the thread's last call) and not before anything inside the call, so
 * calls still nest. Times never go back within a thread, whatever the input
 * says. Made-up times are marked start_clamped / end_clamped.
 *
 * The events that wait for a time (the opens before a thread's first known
 * time, the closes of a chain of calls whose ends are missing) are copied
 * and passed on, in order, when it comes: memory follows them, not the
 * calls. */
#include <stdlib.h>
#include <string.h>

#include "write/backend.h"
#include "cmds/jsonread.h"
#include "utils/grow.h"

enum { S_FUNCTION, S_MODULE, S_ADDRESS, S_REASON, S_ARGS, S_ARGS_WHY, S_RETVAL, NSTR };

/* an event waiting for a time; its strings are in the clamp's arena */
struct waiting {
	bool open;
	size_t depth;
	struct trace_node n;
	size_t off[NSTR];    /* SIZE_MAX: NULL */
	uint64_t inner_last; /* a close: the latest time inside its call */
};

struct cframe {
	uint64_t start;
	bool clamped;
};

struct clamp {
	const struct trace_visitor *down;
	void *dctx;
	bool has_duration; /* the metadata's duration_ns: the trace's end */
	uint64_t duration_ns;
	bool seen;     /* a time is known in this thread */
	uint64_t last; /* the latest time passed on in it */
	struct cframe *f;
	size_t capf;
	struct waiting *w;
	size_t nw, capw;
	struct jr_buf s;
	char *err;
	size_t errlen;
};

static int nomem(struct clamp *c)
{
	snprintf(c->err, c->errlen, "out of memory");
	return -1;
}

static const char **str_at(struct trace_node *n, int i)
{
	const char **v[NSTR] = { &n->function,	    &n->module,
				 &n->address,	    &n->partial_reason,
				 &n->arguments,	    &n->arguments_unavailable,
				 &n->return_value };

	return v[i];
}

static int wait_for_time(struct clamp *c, bool open, const struct trace_node *n, size_t depth,
			 uint64_t inner_last)
{
	struct waiting *w = grow_array(c->w, &c->capw, c->nw, sizeof(*w), 16);

	if (!w)
		return nomem(c);
	c->w = w;
	w = &c->w[c->nw++];
	*w = (struct waiting){ .open = open, .depth = depth, .n = *n, .inner_last = inner_last };
	for (int i = 0; i < NSTR; i++) {
		const char *s = *str_at(&w->n, i);

		w->off[i] = s ? c->s.len : SIZE_MAX;
		if (s && jr_buf_put(&c->s, s, strlen(s) + 1))
			return nomem(c);
	}
	return 0;
}

static void seen_time(struct clamp *c, uint64_t t)
{
	if (!c->seen || t > c->last)
		c->last = t;
	c->seen = true;
}

static int pass(struct clamp *c, bool open, const struct trace_node *n, size_t depth)
{
	int (*cb)(void *, const struct trace_node *, size_t) =
		open ? c->down->node_open : c->down->node_close;

	return cb ? cb(c->dctx, n, depth) : 0;
}

/* Before the thread's first known time, the waiting events all happen at it */
static void first_time(struct clamp *c, uint64_t bound)
{
	for (size_t i = 0; i < c->nw; i++) {
		struct waiting *w = &c->w[i];

		if (w->open)
			c->f[w->depth].start = bound;
		else
			w->n.end_ns = bound;
		w->n.start_ns = bound;
	}
	if (c->nw)
		seen_time(c, bound);
}

/* After it only closes wait, innermost first: each ends just before the
 * call around it (the outermost just before bound), after all inside it */
static void ends_before(struct clamp *c, uint64_t bound)
{
	uint64_t b = bound;

	for (size_t i = c->nw; i-- > 0;) {
		struct waiting *w = &c->w[i];
		uint64_t end = b ? b - 1 : 0;

		if (end < w->inner_last)
			end = w->inner_last;
		if (end < w->n.start_ns)
			end = w->n.start_ns;
		w->n.end_ns = end;
		b = end;
		seen_time(c, end);
	}
}

/* The waiting events get their times from bound, the next known time
 * (exclusive after the thread's first), and are passed on. */
static int resolve(struct clamp *c, uint64_t bound)
{
	int rc = 0;

	if (!c->nw)
		return 0;
	if (!c->seen)
		first_time(c, bound);
	else
		ends_before(c, bound);
	for (size_t i = 0; i < c->nw && !rc; i++) {
		struct waiting *w = &c->w[i];

		for (int k = 0; k < NSTR; k++)
			*str_at(&w->n, k) = w->off[k] == SIZE_MAX ? NULL : c->s.p + w->off[k];
		rc = pass(c, w->open, &w->n, w->depth);
	}
	c->nw = 0;
	c->s.len = 0;
	return rc;
}

/* t, known: the waiting events come first, and time never goes back */
static int at_time(struct clamp *c, uint64_t *t)
{
	int rc = resolve(c, *t);

	if (*t < c->last)
		*t = c->last;
	seen_time(c, *t);
	return rc;
}

static int cl_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct clamp *c = ctx;
	struct trace_node o = *n;
	struct cframe *f = grow_array(c->f, &c->capf, depth, sizeof(*f), 256);
	int rc;

	if (!f)
		return nomem(c);
	c->f = f; /* depth is at most one more than the calls open: one doubling will do */
	o.has_start = true;
	o.start_clamped = false;
	if (n->has_start) {
		o.start_ns = n->start_ns;
	} else if (n->has_end && n->has_duration && n->end_ns >= n->duration_ns) {
		o.start_ns = n->end_ns - n->duration_ns;
	} else {
		o.start_clamped = true;
		if (!c->seen) { /* at the thread's first known time, when it comes */
			c->f[depth] = (struct cframe){ .clamped = true };
			return wait_for_time(c, true, &o, depth, 0);
		}
		o.start_ns = c->last + 1; /* just after everything before it */
	}
	if ((rc = at_time(c, &o.start_ns)))
		return rc;
	c->f[depth] = (struct cframe){ .start = o.start_ns, .clamped = o.start_clamped };
	return pass(c, true, &o, depth);
}

static int cl_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct clamp *c = ctx;
	const struct cframe *f = &c->f[depth];
	struct trace_node o = *n;
	int rc;

	/* the thread's first time may be this one: it is the start of calls waiting */
	if (n->has_end && (rc = resolve(c, n->end_ns)))
		return rc;
	o.has_start = o.has_end = true;
	o.start_ns = f->start;
	o.start_clamped = f->clamped;
	o.end_clamped = false;
	if (n->has_end || (n->has_duration && !f->clamped)) {
		o.end_ns = n->has_end ? n->end_ns : f->start + n->duration_ns;
		if ((rc = at_time(c, &o.end_ns)))
			return rc;
		return pass(c, false, &o, depth);
	}
	/* the end is not known: it waits for the next known time */
	o.end_clamped = true;
	return wait_for_time(c, false, &o, depth, c->last > f->start ? c->last : f->start);
}

static int cl_metadata(void *ctx, const struct trace_meta *m)
{
	struct clamp *c = ctx;

	c->has_duration = m->has_duration;
	c->duration_ns = m->duration_ns;
	return c->down->metadata ? c->down->metadata(c->dctx, m) : 0;
}

static int cl_thread_begin(void *ctx, const struct trace_thread *t)
{
	struct clamp *c = ctx;

	c->seen = false;
	c->last = 0;
	c->nw = 0;
	c->s.len = 0;
	return c->down->thread_begin ? c->down->thread_begin(c->dctx, t) : 0;
}

static int cl_thread_end(void *ctx, const struct trace_thread *t)
{
	struct clamp *c = ctx;
	uint64_t end = c->has_duration ? c->duration_ns : 0;
	int rc;

	/* still running when tracing stopped: they end with the trace */
	if (c->seen && end < c->last)
		end = c->last;
	/* no time at all in the thread: the trace's end */
	if ((rc = resolve(c, c->seen ? end + 1 : end)))
		return rc;
	return c->down->thread_end ? c->down->thread_end(c->dctx, t) : 0;
}

static int cl_crash(void *ctx, const char *json)
{
	struct clamp *c = ctx;

	return c->down->crash ? c->down->crash(c->dctx, json) : 0;
}

static int cl_leaks(void *ctx, const char *json)
{
	struct clamp *c = ctx;

	return c->down->leaks ? c->down->leaks(c->dctx, json) : 0;
}

int source_walk_clamped(const struct trace_source *s, const struct trace_visitor *v, void *ctx,
			char *err, size_t errlen)
{
	struct clamp c = { .down = v, .dctx = ctx, .err = err, .errlen = errlen };
	const struct trace_visitor mine = {
		.metadata = cl_metadata,
		.thread_begin = cl_thread_begin,
		.node_open = cl_open,
		.node_close = cl_close,
		.thread_end = cl_thread_end,
		.crash = cl_crash,
		.leaks = cl_leaks,
	};
	int rc = source_walk(s, &mine, &c, err, errlen);

	free(c.f);
	free(c.w);
	jr_buf_free(&c.s);
	return rc;
}
