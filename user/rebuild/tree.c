#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "utils/log.h"
#include "consume/symbolize.h"
#include "rebuild/tree.h"
#include "utils/xalloc.h"

#define R_LOST_ENTRY "entry not observed (events lost)"
#define R_LOST_EXIT  "exit not observed (events lost)"
/* the same gaps when no loss was counted for the thread: a tracer fault */
#define R_RESYNC_ENTRY	 "entry not observed (tracer fault: resynchronised, no event was lost)"
#define R_RESYNC_EXIT	 "exit not observed (tracer fault: resynchronised, no event was lost)"
#define R_UNWOUND	 "exit not observed (left by longjmp)"
#define R_UNWOUND_UNSEEN "exit not observed (tracer fault: a longjmp to a setjmp it did not see)"
#define R_BEFORE	 "entry not observed (already running when tracing started)"

int tree_init(struct thread_tree *t, uint32_t tid, struct tree_sink *sink, bool attach)
{
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->sink = sink;
	t->base = 1;
	t->attach = attach;
	return sink->ops->thread_begin(sink, t);
}

int tree_end(struct thread_tree *t)
{
	return t->sink->ops->thread_end(t->sink, t);
}

int tree_error(struct thread_tree *t)
{
	return t->sink->ops->thread_error(t->sink, t);
}

void tree_free(struct thread_tree *t)
{
	for (uint32_t i = 0; i < t->nstack; i++)
		free(t->stack[i].args);
	if (t->sink)
		t->sink->ops->thread_free(t->sink, t);
	free(t->stack);
	t->stack = NULL;
	t->sink = NULL;
}

enum gap { GAP_ENTRY, GAP_EXIT };

/* Each event starts here: a gap it finds is counted once. */
static void begin_event(struct thread_tree *t)
{
	t->gap_counted = false;
}

static struct frame *top(struct thread_tree *t)
{
	return t->nstack ? &t->stack[t->nstack - 1] : NULL;
}

/* Why calls are shown without their entry or exit: "events lost" only when
 * BPF counted a loss for the thread while the frame on top (the one closed,
 * or the caller of a call whose entry is missing) was open, or since the
 * thread was last at its root level; a loss can show later than the event
 * after it (a lost exit and a lost entry at one depth nest the next call
 * under the wrong frame until that frame's own exit comes). Anything else
 * is the tracer's fault, counted once per event. */
static const char *gap_reason(struct thread_tree *t, enum gap g)
{
	static const char *const lost[] = { R_LOST_ENTRY, R_LOST_EXIT };
	static const char *const fault[] = { R_RESYNC_ENTRY, R_RESYNC_EXIT };
	uint64_t since = t->nstack ? top(t)->lost_at : t->lost_root;

	if (t->lost > since)
		return lost[g];
	if (!t->gap_counted) {
		t->gap_counted = true;
		t->resyncs++;
	}
	return fault[g];
}

/* why: a placeholder's reason when it is known (else a gap's) */
static void push_why(struct thread_tree *t, int32_t depth, const struct func_info *fn, uint64_t ts,
		     const struct tree_extra *x, const char *why)
{
	struct frame *f;
	const char *entry_gap;
	uint64_t lost_at;

	if (t->nstack == t->capstack) {
		uint32_t ncap = t->capstack ? t->capstack * 2 : 64;
		t->stack = xrealloc(t->stack, ncap * sizeof(*t->stack));
		t->capstack = ncap;
	}
	/* a placeholder's entry came at some point while its caller ran */
	entry_gap = fn ? NULL : why ? why : gap_reason(t, GAP_ENTRY);
	lost_at = fn ? t->lost : (t->nstack ? top(t)->lost_at : t->lost_root);
	f = &t->stack[t->nstack++];
	f->depth = depth;
	f->fn = fn;
	f->start = ts;
	f->args = NULL;
	f->args_size = 0;
	memset(&f->mem, 0, sizeof(f->mem));
	f->entry_gap = entry_gap;
	f->lost_at = lost_at;
	/* a placeholder is shown: its name is learnt only when it returns */
	f->visible = !fn || fn->allowed;
	if (!f->visible)
		return;
	t->sink->ops->open(t->sink, t,
			   &(struct tree_node){ .fn = fn,
						.placeholder = !fn,
						.has_start = fn != NULL,
						.start = ts,
						.x = x });
	t->calls++;
}

static void push(struct thread_tree *t, int32_t depth, const struct func_info *fn, uint64_t ts,
		 const struct tree_extra *x)
{
	push_why(t, depth, fn, ts, x, NULL);
}

/* the rest of a node: exit_fn/end known when its exit was observed */
static void write_close(struct thread_tree *t, const struct frame *f,
			const struct func_info *exit_fn, bool end_known, uint64_t end,
			const char *reason, const struct tree_extra *x)
{
	struct tree_node n = { .fn = f->fn ? f->fn : exit_fn,
			       .placeholder = !f->fn,
			       .has_end = end_known,
			       .end = end,
			       .has_duration = end_known && f->fn,
			       .duration = end - f->start,
			       .partial_reason = reason ? reason : f->entry_gap,
			       .x = x,
			       .mem = &f->mem };
	char both[256];

	if (!f->visible)
		return;
	if (f->entry_gap && reason) {
		snprintf(both, sizeof(both), "%s; %s", f->entry_gap, reason);
		n.partial_reason = both;
	}
	t->sink->ops->close(t->sink, t, &n);
}

static void pop(struct thread_tree *t, const struct func_info *exit_fn, bool end_known,
		uint64_t end, const char *reason)
{
	t->nstack--;
	if (!t->nstack)
		t->lost_root = t->lost;
	free(t->stack[t->nstack].args);
	write_close(t, &t->stack[t->nstack], exit_fn, end_known, end, reason, NULL);
}

static void write_no_return(FILE *f, void *arg)
{
	(void)arg;
	fputs(",\"return_value\":{\"value\":null,\"unavailable\":\"the return was not observed\"}",
	      f);
}

/* A held call's node waits for its return value; any other event of the
 * thread means it will not come. */
static void settle(struct thread_tree *t)
{
	static const struct tree_extra none = { .write = write_no_return };

	if (t->held) {
		t->held = false;
		write_close(t, &t->held_frame, t->held_frame.fn, true, t->held_end, NULL, &none);
	}
}

void tree_keep_args(struct thread_tree *t, const void *ev, size_t size)
{
	struct frame *f = top(t);

	if (!f || f->args || !(f->args = malloc(size)))
		return;
	memcpy(f->args, ev, size);
	f->args_size = (uint32_t)size;
}

void tree_return(struct thread_tree *t, const struct func_info *fn, const struct tree_extra *x)
{
	if (!t->held || t->held_frame.fn != fn)
		return;
	t->held = false;
	write_close(t, &t->held_frame, fn, true, t->held_end, NULL, x);
}

/* a node whose entry was not observed, with no observed children */
static void leaf_entry_lost(struct thread_tree *t, const struct func_info *fn, uint64_t end)
{
	if (!fn->allowed)
		return;
	t->sink->ops->leaf(t->sink, t,
			   &(struct tree_node){ .fn = fn,
						.has_end = true,
						.end = end,
						.partial_reason = gap_reason(t, GAP_ENTRY) });
	t->calls++;
}

/* Everything at the root level so far becomes the children of a call that
 * was running before it: the sink opens it ahead of the thread's nodes. */
static void wrap(struct thread_tree *t, const struct func_info *fn, bool end_known, uint64_t end)
{
	const char *entry =
		t->attach ? (t->before ? t->before : R_BEFORE) : gap_reason(t, GAP_ENTRY);
	char reason[256];

	/* with no exit either, the levels between were skipped by a gap */
	snprintf(reason, sizeof(reason), "%s%s%s", entry, end_known ? "" : "; ",
		 end_known ? "" : gap_reason(t, GAP_EXIT));

	t->wraps++;
	t->base--;
	t->calls++;
	t->sink->ops->wrap(t->sink, t,
			   &(struct tree_node){ .fn = fn,
						.placeholder = true,
						.has_end = end_known,
						.end = end,
						.partial_reason = reason });
}

/* what an entry and an exit at ts each start with */
static void call_event(struct thread_tree *t, uint64_t ts)
{
	settle(t);
	begin_event(t);
	if (!t->first_ts)
		t->first_ts = ts;
	t->last_ts = ts;
}

static void close_deeper(struct thread_tree *t, int32_t depth)
{
	while (t->nstack && top(t)->depth > depth)
		pop(t, NULL, false, 0, gap_reason(t, GAP_EXIT));
}

void tree_enter(struct thread_tree *t, int32_t depth, const struct func_info *fn, uint64_t ts,
		const struct tree_extra *x)
{
	int32_t d;

	call_event(t, ts);
	close_deeper(t, depth - 1);
	/* calls at depth..base-1 were running, and their exits were lost */
	while (depth < t->base)
		wrap(t, NULL, false, 0);
	d = t->nstack ? top(t)->depth : t->base - 1;
	while (++d < depth)
		push(t, d, NULL, 0, NULL);
	push(t, depth, fn, ts, x);
}

void tree_elided(struct thread_tree *t, int32_t depth, const char *why)
{
	int32_t d;

	settle(t);
	begin_event(t);
	close_deeper(t, depth - 1);
	while (depth < t->base)
		wrap(t, NULL, false, 0);
	d = t->nstack ? top(t)->depth : t->base - 1;
	while (++d <= depth)
		push_why(t, d, NULL, 0, NULL, why);
}

/* one function, named twice: a forked child's first dlopen gives it an
 * image generation of its own, whose functions are interned afresh while
 * calls named in the old one are still open */
static bool same_fn(const struct func_info *a, const struct func_info *b)
{
	return a == b ||
	       (a && b && a->addr == b->addr && a->name && b->name && !strcmp(a->name, b->name) &&
		a->module && b->module && !strcmp(a->module, b->module));
}

void tree_exit(struct thread_tree *t, int32_t depth, const struct func_info *fn, uint64_t ts,
	       bool hold)
{
	struct frame *f;

	call_event(t, ts);
	close_deeper(t, depth);
	f = top(t);
	if (f && f->depth == depth) {
		if (same_fn(f->fn, fn) && hold && f->visible) {
			t->held = true;
			t->held_frame = *f;
			t->held_frame.args = NULL;
			free(f->args);
			t->held_end = ts;
			t->nstack--;
			return;
		}
		if (!f->fn || same_fn(f->fn, fn)) {
			pop(t, fn, true, ts, NULL);
			return;
		}
		/* another call's exit at this depth: this frame's exit and the
		 * other call's entry were both lost */
		pop(t, NULL, false, 0, gap_reason(t, GAP_EXIT));
		leaf_entry_lost(t, fn, ts);
		return;
	}
	if (depth >= t->base) {
		leaf_entry_lost(t, fn, ts);
		return;
	}
	/* shallower than the root level: open frames (none here, they were
	 * closed above) and calls between depth and base without exits */
	while (depth < t->base - 1)
		wrap(t, NULL, false, 0);
	if (fn->allowed)
		wrap(t, fn, true, ts);
	else
		t->base--; /* hidden: what it wrapped stays at the root level */
}

void tree_unwind(struct thread_tree *t, int32_t depth, uint64_t ts, bool seen)
{
	const char *why = seen || t->attach ? R_UNWOUND : R_UNWOUND_UNSEEN;

	settle(t);
	begin_event(t);
	t->last_ts = ts;
	/* a jump to a setjmp that predates tracing is expected when calls may
	 * predate it too (attach, a forked child); otherwise one was missed */
	if (!seen && !t->attach && t->nstack && top(t)->depth > depth)
		t->resyncs++;
	while (t->nstack && top(t)->depth > depth)
		pop(t, NULL, false, 0, why);
}

void tree_close_all(struct thread_tree *t, const char *reason)
{
	settle(t);
	while (t->nstack)
		pop(t, NULL, false, 0, reason);
}

void tree_wrap_open(struct thread_tree *t, const struct func_info *fn, const char *reason)
{
	settle(t);
	t->base--;
	if (fn && !fn->allowed)
		return; /* hidden: what it wraps stays at the root level */
	t->wraps++;
	t->calls++;
	t->sink->ops->wrap(
		t->sink, t,
		&(struct tree_node){ .fn = fn, .placeholder = true, .partial_reason = reason });
}

static int none_begin(struct tree_sink *s, struct thread_tree *t)
{
	(void)s;
	(void)t;
	return 0;
}

static void none_node(struct tree_sink *s, struct thread_tree *t, const struct tree_node *n)
{
	(void)s;
	(void)t;
	(void)n;
}

static void none_free_thread(struct tree_sink *s, struct thread_tree *t)
{
	(void)s;
	(void)t;
}

static void none_free(struct tree_sink *s)
{
	(void)s;
}

struct tree_sink *tree_sink_none(void)
{
	static const struct tree_sink_ops ops = {
		.thread_begin = none_begin,
		.open = none_node,
		.close = none_node,
		.leaf = none_node,
		.wrap = none_node,
		.thread_end = none_begin,
		.thread_error = none_begin,
		.thread_free = none_free_thread,
		.free = none_free,
	};
	static struct tree_sink none = { &ops };

	return &none;
}
