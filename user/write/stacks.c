/* folded and svg: the calls merged into stacks, for flame graphs */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "write/backend.h"
#include "write/flame_svg.h"
#include "cmds/jsonread.h"

/* ---- folded and svg: merged stacks ----------------------------------------------------------- */

struct stacks {
	struct flame *fl;
	bool per_thread;
	struct meta_copy meta;
	uint32_t base; /* the thread's node (--per-thread) or the root */
	bool base_placeholder;
	uint32_t *node; /* per open depth */
	bool *placeholder;
	uint64_t *inner; /* per open depth: the time its children account for */
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
		if (np)
			s->placeholder = np;
		uint64_t *ni = np ? realloc(s->inner, ncap * sizeof(*ni)) : NULL;
		if (!ni)
			return -1;
		s->inner = ni;
		s->cap = ncap;
	}
	parent = depth ? s->node[depth - 1] : s->base;
	s->inner[depth] = 0;
	s->placeholder[depth] = !n->function;
	s->node[depth] = n->function ? flame_child(s->fl, parent, n->function) :
				       flame_placeholder(s->fl, parent);
	return s->node[depth] == UINT32_MAX ? -1 : 0;
}

static int stacks_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct stacks *s = ctx;
	uint32_t x = s->node[depth];
	uint64_t inner = s->inner[depth];

	if (s->placeholder[depth]) {
		x = flame_resolve(s->fl, x, n->function ? n->function : "[unknown]");
		if (x == UINT32_MAX)
			return -1;
	}
	/* inner, not n->children_ns: through a slice, only the children kept */
	if (depth)
		s->inner[depth - 1] += node_covered_ns(n, inner);
	flame_add(s->fl, x, node_self_ns(n, inner), 1);
	s->calls++;
	return 0;
}

static int run_stacks(const struct trace_source *in, FILE *out, const char *fmt, bool weight_calls,
		      bool per_thread, char *err, size_t errlen)
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
	rc = source_walk(in, &v, &s, err, errlen);
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
			 weight_calls ? "call counts" : "time in ns",
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
	free(s.inner);
	free_meta(&s.meta);
	return rc ? -1 : 0;
}

int folded_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
	       size_t errlen)
{
	return run_stacks(in, out, "folded", o->weight_calls, o->per_thread, err, errlen);
}

int svg_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
	    size_t errlen)
{
	return run_stacks(in, out, "svg", o->weight_calls, o->per_thread, err, errlen);
}
