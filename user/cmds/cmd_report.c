/* ctrace-bpf report: what a trace says, for a terminal.
 *   default   one row per function: calls, total, self, average and longest time
 *   --threads the same table for each thread
 *   --tree    the calls in order, indented like `uftrace replay`, with runs of
 *             identical sibling calls folded into one "×N" entry
 * One pass over the trace; memory bounded by the number of functions (tables)
 * or by a fixed window of lines (tree). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cmds/commands.h"
#include "write/created_by.h"
#include "write/flame_svg.h"
#include "cmds/jsonread.h"
#include "cmds/keep_source.h"
#include "cmds/slice.h"
#include "cmds/srcline_after.h"
#include "cmds/trace_input.h"
#include "write/fn_table.h"
#include "write/summary.h"
#include "cmds/summary_file.h"
#include "utils/strutil.h"

#define CMD		"ctrace-bpf report"
#define WIDTH		80
#define TREE_WINDOW	512 /* lines one subtree may span and still fold into a run */
#define TREE_MAX_INDENT 40  /* deeper calls are indented as this deep, with their depth */
#define VALUE_MAX	60  /* characters of one argument or return value shown */

static const char usage_text[] =
	"Usage: ctrace-bpf report TRACE.json [OPTIONS]\n"
	"\n"
	"Summarises a trace written by ctrace-bpf: by default a table with one row per\n"
	"function, sorted by self time. The trace is read in one pass, in bounded memory.\n"
	"\n"
	"  -s, --sort KEY     calls, total, self (default), avg, max or name\n"
	"  -n, --top N        only the first N rows of each table (default: all)\n"
	"      --threads      one table per thread instead of one for the process\n"
	"      --tree         the calls in the order they happened, one line per call\n"
	"                     indented by depth (like `uftrace replay`), with durations and\n"
	"                     the arguments and return values the trace holds; a run of\n"
	"                     identical consecutive calls (same callees, arguments and\n"
	"                     return values) is one entry marked \"×N\", its durations\n"
	"                     summed over the N calls\n"
	"      --srcline      --tree: each function's FILE:LINE from the DWARF of the\n"
	"                     traced files, when their build ids match the trace's,\n"
	"                     for a trace made without --srcline, e.g.\n"
	"                     ctrace-bpf report t.json --tree --srcline\n"
	SLICE_HELP("                     ")
	KEEP_HELP("                     ")
	"  -h, --help         this help\n"
	"\n"
	"Columns: Calls (a \"*\" marks functions with partial calls, whose entry or exit\n"
	"was not observed: they count as calls but add no time), Total (time inside the\n"
	"function, callees included), Self (total less the callees' time; a partial\n"
	"callee's time is that of the timed calls inside it), Avg\n"
	"(total / timed calls), Max (the longest call). A recursive function's total\n"
	"counts every level of the recursion. A trace written with --summary holds\n"
	"only this table: it is printed as the tracer did (no --tree, no slices).\n"
	"\n"
	"Examples:\n"
	"  ctrace-bpf report trace.json\n"
	"  ctrace-bpf report trace.json -s calls -n 20\n"
	"  ctrace-bpf report trace.json --tree | less\n"
	"  ctrace-bpf report trace.json --tid 5813 --threads\n"
	"  ctrace-bpf report trace.json --tree --time-range 200ms:210ms\n"
	"  ctrace-bpf report t.ctrace --tree --keep-if 'read_file: retval < 0'\n";

/* ---- the tree ------------------------------------------------------------------------------ */

enum { L_OPEN, L_LEAF, L_CLOSE };

struct tline {
	uint32_t depth;
	uint8_t kind;
	bool has_dur;
	uint64_t dur;	 /* summed over a run */
	uint64_t repeat; /* on a run's first line: its length */
	size_t off, len; /* text, in the arena */
	uint64_t hash;
};

struct tlevel {		    /* one open call, and the run of its children */
	uint64_t first;	    /* absolute index of its first line */
	bool deferred;	    /* its "name(args) {" is not written: no child yet */
	bool unnamed;	    /* opened without a name: its line says so until patched */
	struct jr_buf head; /* "name(args)" */
	/* the run of identical finished children */
	bool run;
	uint64_t run_first, run_len;
};

struct tree {
	FILE *out;
	struct tline *v; /* lines not printed yet; v[0] has absolute index base */
	size_t n, cap;
	uint64_t base;
	struct jr_buf text;
	struct tlevel *lv;  /* per depth: the open call at depth d, and the run of its children */
	size_t caplv, nbig; /* the outermost nbig open calls are too long to fold */
	struct tlevel root; /* the run at depth 0 */
	struct jr_buf tmp;
};

static struct tlevel *level(struct tree *t, size_t d)
{
	if (d >= t->caplv) {
		size_t ncap = t->caplv ? t->caplv * 2 : 64;
		struct tlevel *nl;

		while (ncap <= d)
			ncap *= 2;
		nl = realloc(t->lv, ncap * sizeof(*nl));
		if (!nl)
			return NULL;
		memset(nl + t->caplv, 0, (ncap - t->caplv) * sizeof(*nl));
		t->lv = nl;
		t->caplv = ncap;
	}
	return &t->lv[d];
}

/* the run of the children at depth d lives with their parent (d-1) or the root */
static struct tlevel *run_of(struct tree *t, size_t d)
{
	return d == 0 ? &t->root : &t->lv[d - 1];
}

static void print_line(struct tree *t, const struct tline *l)
{
	FILE *f = t->out;
	uint32_t ind = l->depth > TREE_MAX_INDENT ? TREE_MAX_INDENT : l->depth;

	if (l->kind == L_OPEN)
		fputs("           | ", f);
	else {
		fn_table_put_dur(f, l->has_dur, l->dur, 10);
		fputs(" | ", f);
	}
	if (l->depth > TREE_MAX_INDENT)
		fprintf(f, "%*s[depth %u] ", (int)(2 * ind), "", l->depth);
	else
		fprintf(f, "%*s", (int)(2 * ind), "");
	fwrite(t->text.p + l->off, 1, l->len, f);
	if (l->repeat > 1)
		fprintf(f, "  ×%llu", (unsigned long long)l->repeat);
	putc_unlocked('\n', f);
}

/* prints the lines before absolute index upto and forgets them */
static void flush_to(struct tree *t, uint64_t upto)
{
	size_t k = (size_t)(upto - t->base), keep_from;

	if (upto <= t->base)
		return;
	for (size_t i = 0; i < k; i++)
		print_line(t, &t->v[i]);
	/* compact the arena: the kept lines' texts move to its start. Offsets
	 * grow with the lines but for a renamed "{" line (text appended later) */
	keep_from = t->text.len;
	for (size_t i = k; i < t->n; i++)
		if (t->v[i].off < keep_from)
			keep_from = t->v[i].off;
	memmove(t->text.p, t->text.p + keep_from, t->text.len - keep_from);
	t->text.len -= keep_from;
	memmove(t->v, t->v + k, (t->n - k) * sizeof(*t->v));
	t->n -= k;
	for (size_t i = 0; i < t->n; i++)
		t->v[i].off -= keep_from;
	t->base = upto;
}

static uint64_t tree_end(const struct tree *t)
{
	return t->base + t->n;
}

/* Keeps the window bounded: everything before the first line that may still
 * fold into a run is printed. Open calls longer than the window are "big"
 * and never fold; the outermost open call that is not, and the run of its
 * siblings just before it, must stay. */
static void maybe_flush(struct tree *t, size_t depth_open)
{
	uint64_t keep;
	struct tlevel *r;

	/* twice what must stay: a flush prints at least a window's worth */
	if (t->n <= 4 * TREE_WINDOW)
		return;
	while (t->nbig < depth_open && tree_end(t) - t->lv[t->nbig].first > TREE_WINDOW)
		t->nbig++;
	r = run_of(t, t->nbig);
	keep = t->nbig < depth_open ? t->lv[t->nbig].first : tree_end(t);
	if (r->run && r->run_first >= t->base && r->run_len <= TREE_WINDOW && r->run_first < keep)
		keep = r->run_first;
	flush_to(t, keep);
}

static int add_line(struct tree *t, uint32_t depth, int kind, bool has_dur, uint64_t dur,
		    const char *text, size_t len)
{
	struct tline *l;

	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 256;
		struct tline *nv = realloc(t->v, ncap * sizeof(*nv));

		if (!nv)
			return -1;
		t->v = nv;
		t->cap = ncap;
	}
	l = &t->v[t->n];
	l->depth = depth;
	l->kind = (uint8_t)kind;
	l->has_dur = has_dur;
	l->dur = dur;
	l->repeat = 1;
	l->off = t->text.len;
	l->len = len;
	l->hash = str_hash(text) ^ ((uint64_t)kind << 56);
	if (jr_buf_put(&t->text, text, len))
		return -1;
	t->n++;
	return 0;
}

/* Appends a value's text, shortened to VALUE_MAX characters. Strings keep
 * their quotes, numbers and literals show as written, objects and arrays as
 * compact JSON. */
static void put_value(struct jr_buf *b, const char *json, size_t len)
{
	size_t c = 0, i;

	for (i = 0; i < len; i++) {
		if (((unsigned char)json[i] & 0xc0) != 0x80 && ++c > VALUE_MAX)
			break;
		jr_buf_put(b, json + i, 1);
	}
	if (i < len)
		jr_buf_put(b, "…", strlen("…"));
}

/* One argument or return-value object: {"name":…, "value":…, ...}. */
static void put_arg(struct jr_buf *b, const cJSON *arg, bool with_name)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(arg, "name");
	const cJSON *val = cJSON_GetObjectItemCaseSensitive(arg, "value");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(arg, "type");
	char *s;

	if (with_name && cJSON_IsString(name)) {
		jr_buf_put(b, name->valuestring, strlen(name->valuestring));
		jr_buf_put(b, "=", 1);
	}
	if (!val || cJSON_IsNull(val)) {
		jr_buf_put(b, "?", 1);
		return;
	}
	/* an enumerator's name reads better bare */
	if (cJSON_IsString(val) && cJSON_IsString(type) && !strncmp(type->valuestring, "enum", 4)) {
		jr_buf_put(b, val->valuestring, strlen(val->valuestring));
		return;
	}
	s = cJSON_PrintUnformatted(val);
	if (s) {
		put_value(b, s, strlen(s));
		cJSON_free(s);
	}
}

/* "name(a=1, b=2)" into t->tmp */
/* A demangled C++ name carries its parameter list: the last balanced
 * "(...)" group. *open and *close index its parentheses. */
static bool param_list(const char *name, size_t *open, size_t *close)
{
	const char *c = strrchr(name, ')');
	size_t depth = 0;

	if (!c)
		return false;
	for (const char *p = c; p >= name; p--) {
		depth += *p == ')';
		depth -= *p == '(';
		if (!depth) {
			*open = (size_t)(p - name);
			*close = (size_t)(c - name);
			return p > name;
		}
	}
	return false;
}

/* --srcline: " [file.c:12]", the file by its base name; with the call's
 * own line, " [file.c:12, called at main.c:40]" */
static void src_note(struct jr_buf *b, const struct trace_node *n)
{
	const char *s = n->source ? strrchr(n->source, '/') : NULL;

	s = s ? s + 1 : n->source;
	if (!s)
		return;
	jr_buf_put(b, " [", 2);
	jr_buf_put(b, s, strlen(s));
	jr_buf_put(b, "]", 1);
	s = n->call_site ? strrchr(n->call_site, '/') : NULL;
	s = s ? s + 1 : n->call_site;
	if (!s)
		return;
	b->len--;
	jr_buf_put(b, ", called at ", 12);
	jr_buf_put(b, s, strlen(s));
	jr_buf_put(b, "]", 1);
}

/* "name(a=1, b=2)" into t->tmp; a C++ name shows its own parameter list,
 * or the argument values in its place: "geo::Point::scaled(k=2) const" */
static void head_text(struct tree *t, const struct trace_node *n, bool unnamed)
{
	struct jr_buf *b = &t->tmp;
	const char *name = n->function ? n->function : "[unknown]";
	size_t open, close, len = strlen(name);
	bool params = param_list(name, &open, &close);

	b->len = 0;
	if (unnamed) {
		/* a call whose entry was not observed is named after its children */
		jr_buf_put(b, "[entry not observed]", strlen("[entry not observed]"));
		return;
	}
	if (params && !n->arguments) {
		jr_buf_put(b, name, len);
		src_note(b, n);
		return;
	}
	jr_buf_put(b, name, params ? open : len);
	jr_buf_put(b, "(", 1);
	if (n->arguments) {
		cJSON *a = jr_parse_exact(n->arguments), *x;
		bool first = true;

		cJSON_ArrayForEach(x, a)
		{
			if (!first)
				jr_buf_put(b, ", ", 2);
			put_arg(b, x, true);
			first = false;
		}
		cJSON_Delete(a);
	}
	jr_buf_put(b, ")", 1);
	if (params)
		jr_buf_put(b, name + close + 1, len - close - 1);
	src_note(b, n);
}

static void tail_text(struct jr_buf *b, const struct trace_node *n)
{
	if (n->return_value) {
		cJSON *r = jr_parse_exact(n->return_value);

		jr_buf_put(b, " = ", 3);
		put_arg(b, r, false);
		cJSON_Delete(r);
	}
}

static void partial_note(struct jr_buf *b, const struct trace_node *n)
{
	if (!n->partial && !n->partial_reason)
		return;
	jr_buf_put(b, " /* partial: ", strlen(" /* partial: "));
	if (n->partial_reason)
		jr_buf_put(b, n->partial_reason, strlen(n->partial_reason));
	else
		jr_buf_put(b, "entry or exit not observed", strlen("entry or exit not observed"));
	jr_buf_put(b, " */", 3);
}

static int tree_open(struct tree *t, const struct trace_node *n, size_t depth)
{
	struct tlevel *l;

	if (depth > 0) {
		struct tlevel *p = &t->lv[depth - 1];

		/* the parent has a child: its "{" line goes out now */
		if (p->deferred) {
			p->deferred = false;
			if (jr_buf_put(&p->head, " {", 2) ||
			    add_line(t, (uint32_t)depth - 1, L_OPEN, false, 0, p->head.p,
				     p->head.len))
				return -1;
		}
	}
	if (!(l = level(t, depth)))
		return -1;
	l->first = tree_end(t);
	l->deferred = true;
	l->unnamed = !n->function;
	l->run = false;
	head_text(t, n, l->unnamed);
	l->head.len = 0;
	if (jr_buf_put(&l->head, t->tmp.p, t->tmp.len))
		return -1;
	maybe_flush(t, depth + 1);
	return 0;
}

static bool same_lines(const struct tree *t, uint64_t a, uint64_t b, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		const struct tline *x = &t->v[a - t->base + i], *y = &t->v[b - t->base + i];

		/* the first line's repeat counts the run itself */
		if (x->hash != y->hash || x->depth != y->depth || x->kind != y->kind ||
		    (i && x->repeat != y->repeat) || x->len != y->len ||
		    memcmp(t->text.p + x->off, t->text.p + y->off, x->len))
			return false;
	}
	return true;
}

static int tree_close(struct tree *t, const struct trace_node *n, size_t depth)
{
	struct tlevel *l = &t->lv[depth], *r = run_of(t, depth);
	struct jr_buf *b = &t->tmp;
	uint64_t first = l->first, len;
	int rc;

	if (l->deferred) {
		/* no children: one line */
		head_text(t, n, false);
		tail_text(b, n);
		jr_buf_put(b, ";", 1);
		partial_note(b, n);
		rc = add_line(t, (uint32_t)depth, L_LEAF, n->has_duration, n->duration_ns, b->p,
			      b->len);
	} else {
		if (l->unnamed && first >= t->base) {
			/* its name came after its children: put it on its "{" line */
			struct tline *o = &t->v[first - t->base];

			head_text(t, n, false);
			jr_buf_put(b, " {", 2);
			o->off = t->text.len;
			o->len = b->len;
			o->hash = str_hash(b->p) ^ ((uint64_t)L_OPEN << 56);
			if (jr_buf_put(&t->text, b->p, b->len))
				return -1;
		}
		b->len = 0;
		jr_buf_put(b, "}", 1);
		tail_text(b, n);
		if (n->return_value)
			jr_buf_put(b, ";", 1);
		jr_buf_put(b, " /* ", 4);
		jr_buf_put(b, n->function ? n->function : "[unknown]",
			   strlen(n->function ? n->function : "[unknown]"));
		jr_buf_put(b, " */", 3);
		partial_note(b, n);
		rc = add_line(t, (uint32_t)depth, L_CLOSE, n->has_duration, n->duration_ns, b->p,
			      b->len);
	}
	if (rc || !b->p)
		return -1;
	if (t->nbig > depth)
		t->nbig = depth; /* it closed; its parent stays big if it was */
	len = tree_end(t) - first;
	/* fold into the run of identical siblings just before it */
	if (r->run && first >= t->base && r->run_first >= t->base &&
	    r->run_first + r->run_len == first && r->run_len == len && len <= TREE_WINDOW &&
	    same_lines(t, r->run_first, first, len)) {
		for (uint64_t i = 0; i < len; i++) {
			struct tline *x = &t->v[r->run_first - t->base + i];
			const struct tline *y = &t->v[first - t->base + i];

			x->has_dur &= y->has_dur;
			x->dur += y->dur;
		}
		t->v[r->run_first - t->base].repeat++;
		/* drop its lines and their texts, from the lowest offset (a
		 * renamed "{" line's text sits after its children's) */
		for (uint64_t i = 0; i < len; i++)
			if (t->v[first - t->base + i].off < t->text.len)
				t->text.len = t->v[first - t->base + i].off;
		t->n = (size_t)(first - t->base);
	} else {
		r->run = true;
		r->run_first = first;
		r->run_len = len;
	}
	maybe_flush(t, depth);
	return 0;
}

/* ---- the report ------------------------------------------------------------------------------- */

struct report {
	FILE *out;
	enum fn_sort key;
	size_t top;
	bool threads, tree, srcline;
	struct fn_table tab;
	struct tree tr;
	/* totals */
	uint64_t calls, timed, nthreads, partial;
	bool any_partial;
	bool has_meta;
	uint64_t meta_calls, meta_lost, meta_duration;
	bool meta_has_calls, meta_has_duration;
	char *crash;
	char *leaks; /* --memory: the leak report's line */
	struct slice_spec slice; /* --tid, --time-range */
	struct slice sl;
	struct keep_spec keep; /* --min-duration, --keep-if */
	struct keep_source ks;
	uint64_t thread_lost;
};

static int rep_metadata(void *ctx, const struct trace_meta *m)
{
	struct report *r = ctx;

	r->has_meta = true;
	r->meta_calls = m->total_calls;
	r->meta_has_calls = m->has_total_calls;
	r->meta_lost = m->lost_events;
	r->meta_duration = m->duration_ns;
	r->meta_has_duration = m->has_duration;
	return 0;
}

static int rep_thread_begin(void *ctx, const struct trace_thread *th)
{
	struct report *r = ctx;

	if (r->tree) {
		/* a new thread: its calls fold only among themselves */
		flush_to(&r->tr, tree_end(&r->tr));
		r->tr.root.run = false;
		r->tr.nbig = 0;
		if (r->nthreads)
			putc_unlocked('\n', r->out);
		fprintf(r->out, "== thread %llu", (unsigned long long)th->tid);
		if (th->name)
			fprintf(r->out, " (%s)", th->name);
		fputs(" ==\n  DURATION | FUNCTION\n", r->out);
	}
	return 0;
}

/* thread lineage: "created by thread 5813 in main > spawn > make_worker" */
static int print_created_by(FILE *out, const struct trace_thread *th)
{
	struct created_by cb;
	int rc = created_by_read(th->more, &cb);

	if (rc <= 0)
		return rc;
	fprintf(out, "  created by thread %llu ", (unsigned long long)cb.tid);
	if (cb.function)
		fprintf(out, "in %s\n", cb.path ? cb.path : cb.function);
	else
		fprintf(out, "(its call: %s)\n", cb.unavailable ? cb.unavailable : "not known");
	created_by_free(&cb);
	return 0;
}

static int rep_thread_end(void *ctx, const struct trace_thread *th)
{
	struct report *r = ctx;

	r->nthreads++;
	r->thread_lost += th->lost_events;
	if (r->tree) {
		flush_to(&r->tr, tree_end(&r->tr));
		return print_created_by(r->out, th);
	}
	if (r->threads) {
		fprintf(r->out, "%s== thread %llu (%s): %llu call%s", r->nthreads > 1 ? "\n" : "",
			(unsigned long long)th->tid, th->name ? th->name : th->key,
			(unsigned long long)th->calls, th->calls == 1 ? "" : "s");
		if (th->has_total_calls && th->total_calls != th->calls)
			fprintf(r->out, " (the trace says %llu)",
				(unsigned long long)th->total_calls);
		fputs(" ==\n", r->out);
		if (print_created_by(r->out, th))
			return -1;
		fn_table_print(r->out, &r->tab, r->key, r->top, &r->any_partial);
		fn_table_print_memory(r->out, &r->tab, r->top);
		fn_table_clear(&r->tab);
	}
	return 0;
}

static int rep_open(void *ctx, const struct trace_node *n, size_t depth)
{
	return tree_open(&((struct report *)ctx)->tr, n, depth);
}

static int rep_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct report *r = ctx;
	struct fn_stat *s;

	r->calls++;
	if (n->has_duration)
		r->timed++;
	else
		r->partial++;
	if (r->tree)
		return tree_close(&r->tr, n, depth);
	s = fn_table_get(&r->tab, n->function ? n->function : "[unknown]");
	if (!s)
		return -1;
	s->calls++;
	fn_table_add_memory(s, n->memory); /* --memory */
	if (n->has_duration) {
		s->timed++;
		s->total += n->duration_ns;
		s->self += node_self_ns(n, n->children_ns);
		if (n->duration_ns > s->max)
			s->max = n->duration_ns;
	} else {
		s->partial = true;
	}
	return 0;
}

/* "SIGSEGV (SEGV_ACCERR) in thread 11 in work": a crash object's signal,
 * thread and innermost traced call */
static char *crash_line(const cJSON *o, bool with_code)
{
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(o, "signal_name");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "si_code_name");
	const cJSON *tid = cJSON_GetObjectItemCaseSensitive(o, "thread_id");
	const cJSON *top = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "call_stack"), 0);
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(top, "function");
	char thread[48] = "", how[48] = "";
	char *line;

	if (cJSON_IsNumber(tid))
		snprintf(thread, sizeof(thread), " in thread %.0f", tid->valuedouble);
	if (with_code && cJSON_IsString(code))
		snprintf(how, sizeof(how), " (%s)", code->valuestring);
	if (asprintf(&line, "%s%s%s%s%s", cJSON_IsString(sig) ? sig->valuestring : "signal", how,
		     thread, cJSON_IsString(fn) ? " in " : "",
		     cJSON_IsString(fn) ? fn->valuestring : "") < 0)
		return NULL;
	return line;
}

static int rep_crash(void *ctx, const char *json)
{
	struct report *r = ctx;
	cJSON *o = cJSON_Parse(json);
	const cJSON *cause = cJSON_GetObjectItemCaseSensitive(o, "cause");
	char *fatal = crash_line(o, false), *first = NULL;

	/* the fault a handler was taking when the fatal signal came */
	if (cJSON_IsObject(cause))
		first = crash_line(cause, true);
	free(r->crash);
	free(r->leaks);
	if (asprintf(&r->crash, "crashed: %s%s%s", fatal ? fatal : "signal",
		     first ? "\n  while handling " : "", first ? first : "") < 0)
		r->crash = NULL;
	free(fatal);
	free(first);
	cJSON_Delete(o);
	return 0;
}

/* --memory: the leak report's totals, a line of the summary */
static int rep_leaks(void *ctx, const char *json)
{
	struct report *r = ctx;
	cJSON *o = cJSON_Parse(json);
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "bytes");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "blocks");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "stacks");

	free(r->leaks);
	r->leaks = NULL;
	if (cJSON_IsNumber(b) && cJSON_IsNumber(n) &&
	    asprintf(&r->leaks,
		     "never freed (--memory): %.0f bytes in %.0f blocks from %d call stacks",
		     b->valuedouble, n->valuedouble, cJSON_GetArraySize(s)) < 0)
		r->leaks = NULL;
	cJSON_Delete(o);
	return 0;
}

/* notes, then the one summary line that ends every report */
static void print_summary(struct report *r)
{
	char dur[32];

	if (r->partial)
		fprintf(r->out,
			"%s%llu partial call%s (entry or exit not observed): counted, not timed\n",
			r->any_partial ? "* " : "", (unsigned long long)r->partial,
			r->partial == 1 ? "" : "s");
	if (r->meta_has_calls && r->meta_calls != r->calls)
		fprintf(r->out, "note: the metadata says %llu calls\n",
			(unsigned long long)r->meta_calls);
	if (r->crash)
		fprintf(r->out, "%s\n", r->crash);
	if (r->leaks)
		fprintf(r->out, "%s\n", r->leaks);
	if (slice_active(&r->slice)) {
		/* a slice's losses: its threads' (where in time they fell is not known) */
		char what[256];

		slice_describe(&r->slice, what, sizeof(what));
		fprintf(r->out, "slice: %s", what);
		if (r->sl.has_trace_calls)
			fprintf(r->out, " (the whole trace: %llu calls)",
				(unsigned long long)r->sl.trace_calls);
		putc_unlocked('\n', r->out);
		r->meta_lost = r->thread_lost;
	}
	fprintf(r->out, "%llu call%s", (unsigned long long)r->calls, r->calls == 1 ? "" : "s");
	if (!r->tree && !r->threads)
		fprintf(r->out, " of %zu function%s", r->tab.n, r->tab.n == 1 ? "" : "s");
	fprintf(r->out, " in %llu thread%s", (unsigned long long)r->nthreads,
		r->nthreads == 1 ? "" : "s");
	if (r->meta_has_duration) {
		flame_fmt_ns(dur, sizeof(dur), r->meta_duration);
		fprintf(r->out, ", traced for %s", dur);
	}
	fprintf(r->out, ", %llu lost event%s\n", (unsigned long long)r->meta_lost,
		r->meta_lost == 1 ? "" : "s");
}

static int report(const char *in, struct report *r, char *err, size_t errlen)
{
	const struct trace_visitor v = {
		.metadata = rep_metadata,
		.thread_begin = rep_thread_begin,
		.node_open = r->tree ? rep_open : NULL,
		.node_close = rep_close,
		.thread_end = rep_thread_end,
		.crash = rep_crash,
		.leaks = rep_leaks,
		.no_values = !r->tree, /* the table reads times only */
	};
	struct srcline_after *sa = NULL;
	struct trace_input input;
	const struct trace_source *src = &input.source;
	int rc;

	if (trace_input_open(&input, in, err, errlen))
		return -1;
	r->tr.out = r->out;
	if (keep_active(&r->keep)) {
		keep_source_init(&r->ks, &r->keep, &input);
		src = &r->ks.source;
	}
	slice_init(&r->sl, &r->slice, src);
	if (slice_active(&r->slice))
		src = &r->sl.source;
	if (r->srcline && (sa = srcline_after_new(src)))
		src = srcline_after_source(sa);
	rc = source_walk(src, &v, r, err, errlen);
	srcline_after_free(sa);
	trace_input_close(&input);
	if (rc) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err[0] ? err : "out of memory");
		snprintf(err, errlen, "'%.200s': %.280s", in, msg);
	} else {
		if (!r->tree && !r->threads) {
			fn_table_print(r->out, &r->tab, r->key, r->top, &r->any_partial);
			fn_table_print_memory(r->out, &r->tab, r->top);
		}
		putc_unlocked('\n', r->out);
		print_summary(r);
	}
	fn_table_free(&r->tab);
	free(r->tr.v);
	jr_buf_free(&r->tr.text);
	jr_buf_free(&r->tr.tmp);
	for (size_t i = 0; i < r->tr.caplv; i++)
		jr_buf_free(&r->tr.lv[i].head);
	free(r->tr.lv);
	free(r->crash);
	slice_spec_free(&r->slice);
	keep_spec_free(&r->keep);
	if (fflush(r->out) && !rc) {
		snprintf(err, errlen, "writing the report: %s", strerror(errno));
		rc = -1;
	}
	return rc ? -1 : 0;
}

/* a --summary file: its table (it has no calls for --tree or a slice);
 * 1 when the file is not one */
static int report_summary(const char *in, const struct report *r, char *err, size_t errlen)
{
	struct summary s = { 0 };
	int rc;

	err[0] = 0;
	rc = summary_file_read(in, &s, err, errlen);
	if (!rc && (r->tree || slice_active(&r->slice) || keep_active(&r->keep))) {
		snprintf(err, errlen,
			 "'%.200s' is a --summary trace: it has no calls for --tree, --tid, "
			 "--time-range, --min-duration or --keep-if",
			 in);
		rc = -1;
	}
	if (!rc)
		summary_print(r->out, &s);
	summary_free(&s);
	return rc;
}

enum { OPT_THREADS = 256, OPT_TREE, OPT_SRCLINE };

int cmd_report_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 'n' },
		{ "threads", no_argument, NULL, OPT_THREADS },
		{ "tree", no_argument, NULL, OPT_TREE },
		{ "srcline", no_argument, NULL, OPT_SRCLINE },
		SLICE_LONG_OPTIONS,
		KEEP_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const keys[] = { "self", "calls", "total", "avg", "max", "name" };
	static struct report r; /* static: an early return leaves its slice reachable */
	char err[512], *end;
	int c;

	slice_spec_free(&r.slice);
	keep_spec_free(&r.keep);
	r = (struct report){ .out = stdout, .key = FN_SORT_SELF };
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': {
			size_t k = 0;

			while (k < sizeof(keys) / sizeof(keys[0]) && strcmp(optarg, keys[k]))
				k++;
			if (k == sizeof(keys) / sizeof(keys[0])) {
				fprintf(stderr,
					CMD
					": invalid --sort '%s': expected calls, total, self, avg, "
					"max or name\n",
					optarg);
				return 2;
			}
			r.key = (enum fn_sort)k;
			break;
		}
		case 'n':
			errno = 0;
			r.top = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-') {
				fprintf(stderr,
					CMD
					": invalid -n '%s': expected a number of rows (0: all)\n",
					optarg);
				return 2;
			}
			break;
		case OPT_THREADS: r.threads = true; break;
		case OPT_TREE: r.tree = true; break;
		case OPT_SRCLINE: r.srcline = true; break;
		case SLICE_OPT_TID:
		case SLICE_OPT_RANGE:
			if (slice_option(&r.slice, c, optarg, CMD))
				return 2;
			break;
		case KEEP_OPT_MIN_DURATION:
		case KEEP_OPT_KEEP_IF:
			if (keep_option(&r.keep, c, optarg, CMD))
				return 2;
			break;
		default: return cmd_other_option(CMD, usage_text, c, argv, optind);
		}
	}
	if (optind != argc - 1)
		return cmd_one_operand(CMD, optind == argc, "trace", "TRACE.json");
	if (r.tree && r.threads) {
		fprintf(stderr, CMD
			": --tree already lists each thread; give one of --tree and --threads\n");
		return 2;
	}
	if (report_summary(argv[optind], &r, err, sizeof(err)) <= 0)
		return err[0] ? (fprintf(stderr, CMD ": %s\n", err), 1) : 0;
	if (report(argv[optind], &r, err, sizeof(err))) {
		fprintf(stderr, CMD ": %s\n", err);
		return 1;
	}
	return 0;
}
