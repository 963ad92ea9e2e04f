// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --summary's rows: merged by function (and thread), printed as the
 * `report` table, written as JSON. */
#include <stdlib.h>
#include <string.h>

#include "utils/grow.h"
#include "utils/strutil.h"
#include "write/fn_table.h"
#include "write/jsonw.h"
#include "write/summary.h"

#define XSTR(x) #x
#define STR(x)	XSTR(x)

const char *const summary_reason_key[CTRACE_SUM_NREASONS] = {
	[CTRACE_SUM_EARLIER] = "before_tracing", [CTRACE_SUM_DEEP] = "too_deep",
	[CTRACE_SUM_UNWOUND] = "longjmp",	 [CTRACE_SUM_ENDED] = "thread_ended",
	[CTRACE_SUM_RUNNING] = "still_running",	 [CTRACE_SUM_COROUTINE] = "suspended_coroutine",
	[CTRACE_SUM_NOSTACK] = "no_stack_room",	 [CTRACE_SUM_FULL] = "table_full",
};

/* what each reason means, for the notes under the table */
static const char *const reason_text[CTRACE_SUM_NREASONS] = {
	[CTRACE_SUM_EARLIER] = "began before tracing started",
	[CTRACE_SUM_DEEP] = "had more than " STR(CTRACE_SUM_DEPTH) " calls open inside them",
	[CTRACE_SUM_UNWOUND] = "were left by a longjmp",
	[CTRACE_SUM_ENDED] = "were open when their thread ended or exec'd",
	[CTRACE_SUM_RUNNING] = "were still running when tracing stopped",
	[CTRACE_SUM_COROUTINE] = "were open on a coroutine stack no thread was running",
	[CTRACE_SUM_NOSTACK] = "found no room for their shadow stack",
	[CTRACE_SUM_FULL] = "found the function table full (in no row)",
};

static int same_row(const struct sum_row *r, const char *function, const char *module, uint32_t tid)
{
	return r->tid == tid && !strcmp(r->function, function) && !strcmp(r->module, module);
}

/* the row of (function, module, tid), or NULL: by the index, else (two
 * keys of one hash, or rows sorted since) by looking at every row */
static struct sum_row *find_row(struct summary *s, uint64_t h, const char *function,
				const char *module, uint32_t tid)
{
	uintptr_t at = (uintptr_t)u64map_get(&s->index, h);

	if (!at)
		return NULL;
	if (at <= s->n && same_row(&s->rows[at - 1], function, module, tid))
		return &s->rows[at - 1];
	for (size_t i = 0; i < s->n; i++)
		if (same_row(&s->rows[i], function, module, tid))
			return &s->rows[i];
	return NULL;
}

int summary_add(struct summary *s, const char *function, const char *module, uint32_t tid,
		const struct ctrace_sum_val *v)
{
	/* rows are functions x threads: tens of thousands in a big program */
	uint64_t h = (str_hash(function) * 31 + str_hash(module)) * 31 + tid;
	struct sum_row *r = find_row(s, h, function, module, tid);

	if (!r) {
		struct sum_row *nv = grow_array(s->rows, &s->cap, s->n, sizeof(*nv), 64);

		if (!nv)
			return -1;
		s->rows = nv;
		r = &s->rows[s->n];
		r->function = strdup(function);
		r->module = strdup(module);
		if (!r->function || !r->module) {
			free(r->function);
			free(r->module);
			return -1;
		}
		r->tid = tid;
		memset(&r->v, 0, sizeof(r->v));
		r->v.min = UINT64_MAX;
		s->n++;
		if (u64map_put(&s->index, h, (void *)(uintptr_t)s->n))
			return -1;
	}
	r->v.calls += v->calls;
	r->v.timed += v->timed;
	r->v.total += v->total;
	r->v.self += v->self;
	if (v->timed && v->min < r->v.min)
		r->v.min = v->min;
	if (v->timed && v->max > r->v.max)
		r->v.max = v->max;
	return 0;
}

uint64_t summary_calls(const struct summary *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->rows[i].v.calls;
	return n;
}

static int cmp_tid(const void *a, const void *b)
{
	const struct sum_row *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return strcmp(x->function, y->function);
}

/* rows [from, to) as one table */
static void print_rows(FILE *f, const struct summary *s, size_t from, size_t to, bool *partial)
{
	struct fn_table t = { 0 };
	struct fn_stat *st;

	for (size_t i = from; i < to; i++) {
		const struct sum_row *r = &s->rows[i];

		st = fn_table_get(&t, r->function);
		if (!st)
			break;
		st->calls += r->v.calls;
		st->timed += r->v.timed;
		st->total += r->v.total;
		st->self += r->v.self;
		if (r->v.timed && r->v.max > st->max)
			st->max = r->v.max;
		st->partial |= r->v.calls != r->v.timed;
	}
	fn_table_print(f, &t, FN_SORT_SELF, 0, partial);
	fn_table_free(&t);
}

void summary_print(FILE *f, struct summary *s)
{
	uint64_t calls = summary_calls(s), untimed = 0;
	bool partial = false;
	size_t i, j, threads = 0;

	qsort(s->rows, s->n, sizeof(*s->rows), cmp_tid);
	if (!s->per_thread) {
		print_rows(f, s, 0, s->n, &partial);
	} else {
		for (i = 0; i < s->n; i = j) {
			uint64_t n = 0;

			for (j = i; j < s->n && s->rows[j].tid == s->rows[i].tid; j++)
				n += s->rows[j].v.calls;
			fprintf(f, "%s== thread %u: %llu call%s ==\n", threads++ ? "\n" : "",
				s->rows[i].tid, (unsigned long long)n, n == 1 ? "" : "s");
			print_rows(f, s, i, j, &partial);
		}
	}
	for (int r = 0; r < CTRACE_SUM_NREASONS; r++) {
		if (!s->untimed[r])
			continue;
		untimed += s->untimed[r];
		fprintf(f, "%s%llu call%s %s: counted, not timed\n", partial ? "* " : "",
			(unsigned long long)s->untimed[r], s->untimed[r] == 1 ? "" : "s",
			reason_text[r]);
	}
	if (s->hidden)
		fprintf(f, "%llu calls of functions the filters hide: not in the table\n",
			(unsigned long long)s->hidden);
	if (s->untracked)
		fprintf(f, "%llu hook events of threads the tracer had no room for: not counted\n",
			(unsigned long long)s->untracked);
	if (s->extremes_missed)
		fprintf(f, "%llu min/max updates lost to contention: Longest may be short\n",
			(unsigned long long)s->extremes_missed);
	fprintf(f, "%llu call%s of %zu function%s, %llu untimed (summary: no call trees kept)\n",
		(unsigned long long)calls, calls == 1 ? "" : "s", s->n, s->n == 1 ? "" : "s",
		(unsigned long long)untimed);
}

void summary_write_json(FILE *f, struct summary *s)
{
	qsort(s->rows, s->n, sizeof(*s->rows), cmp_tid);
	fputs(",\"summary\":[", f);
	for (size_t i = 0; i < s->n; i++) {
		const struct sum_row *r = &s->rows[i];

		fputs(i ? ",{" : "{", f);
		jsonw_key(f, "function");
		jsonw_cstr(f, r->function);
		jsonw_member_cstr(f, "module", r->module);
		if (s->per_thread)
			jsonw_member_u64(f, "thread_id", r->tid);
		jsonw_member_u64(f, "calls", r->v.calls);
		jsonw_member_u64(f, "timed_calls", r->v.timed);
		jsonw_member_u64(f, "total_ns", r->v.total);
		jsonw_member_u64(f, "self_ns", r->v.self);
		if (jsonw_member_or_null(f, "min_ns", r->v.timed))
			jsonw_u64(f, r->v.min);
		if (jsonw_member_or_null(f, "max_ns", r->v.timed))
			jsonw_u64(f, r->v.max);
		fputc('}', f);
	}
	fputs("],\"untimed\":{", f);
	for (int r = 0; r < CTRACE_SUM_NREASONS; r++) {
		if (r)
			jsonw_member_u64(f, summary_reason_key[r], s->untimed[r]);
		else {
			jsonw_key(f, summary_reason_key[r]);
			jsonw_u64(f, s->untimed[r]);
		}
	}
	jsonw_member_u64(f, "hidden_by_filters", s->hidden);
	jsonw_member_u64(f, "untracked_events", s->untracked);
	if (s->extremes_missed)
		jsonw_member_u64(f, "extremes_missed", s->extremes_missed);
	fputc('}', f);
}

void summary_free(struct summary *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->rows[i].function);
		free(s->rows[i].module);
	}
	free(s->rows);
	u64map_free(&s->index);
	memset(s, 0, sizeof(*s));
}
