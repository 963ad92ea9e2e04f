/* The per-function table of `ctrace-bpf report` and of --summary: calls,
 * total, self, average and longest time, one row per function. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "consume/memory.h"
#include "rebuild/tree.h"
#include "utils/grow.h"
#include "utils/strutil.h"
#include "write/flame_svg.h"
#include "write/fn_table.h"

#define NAME_COLS 30 /* 80 columns less calls (8) and four times (10 each) */

/* ---- display helpers --------------------------------------------------------------------- */

static void pad_left(FILE *f, const char *s, size_t width)
{
	for (size_t c = utf8_chars(s); c < width; c++)
		putc_unlocked(' ', f);
	fputs(s, f);
}

/* s in at most width columns: a longer name keeps its start and ends with "…" */
static void put_trunc(FILE *f, const char *s, size_t width)
{
	size_t c = 0;

	if (utf8_chars(s) <= width) {
		fputs(s, f);
		return;
	}
	for (const char *p = s; *p; p++) {
		if ((*p & 0xc0) != 0x80 && ++c == width)
			break;
		putc_unlocked(*p, f);
	}
	fputs("…", f);
}

/* a duration right-aligned in width columns; "-" when not known */
void fn_table_put_dur(FILE *f, bool known, uint64_t ns, size_t width)
{
	char b[32];

	if (!known) {
		pad_left(f, "-", width);
		return;
	}
	flame_fmt_ns(b, sizeof(b), ns);
	pad_left(f, b, width);
}

/* ---- per-function statistics --------------------------------------------------------------- */

void fn_table_clear(struct fn_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	t->n = 0;
	if (t->ht)
		memset(t->ht, 0xff, t->htcap * sizeof(*t->ht));
}

void fn_table_free(struct fn_table *t)
{
	fn_table_clear(t);
	free(t->v);
	free(t->ht);
}

struct fn_stat *fn_table_get(struct fn_table *t, const char *name)
{
	struct fn_stat *nv;
	size_t i;

	if ((t->n + 1) * 2 > t->htcap) {
		size_t ncap = t->htcap ? t->htcap * 2 : 1024, *nh = malloc(ncap * sizeof(*nh));

		if (!nh)
			return NULL;
		memset(nh, 0xff, ncap * sizeof(*nh));
		for (size_t k = 0; k < t->n; k++) {
			for (i = str_hash(t->v[k].name) & (ncap - 1); nh[i] != SIZE_MAX;
			     i = (i + 1) & (ncap - 1))
				;
			nh[i] = k;
		}
		free(t->ht);
		t->ht = nh;
		t->htcap = ncap;
	}
	for (i = str_hash(name) & (t->htcap - 1); t->ht[i] != SIZE_MAX;
	     i = (i + 1) & (t->htcap - 1))
		if (!strcmp(t->v[t->ht[i]].name, name))
			return &t->v[t->ht[i]];
	nv = grow_array(t->v, &t->cap, t->n, sizeof(*nv), 256);
	if (!nv)
		return NULL;
	t->v = nv;
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	t->v[t->n].name = strdup(name);
	if (!t->v[t->n].name)
		return NULL;
	t->ht[i] = t->n;
	return &t->v[t->n++];
}

static int cmp_stat(const void *a, const void *b, void *arg)
{
	const struct fn_stat *x = a, *y = b;
	enum fn_sort k = *(const enum fn_sort *)arg;
	uint64_t vx = 0, vy = 0;

	switch (k) {
	case FN_SORT_SELF:
		vx = x->self;
		vy = y->self;
		break;
	case FN_SORT_CALLS:
		vx = x->calls;
		vy = y->calls;
		break;
	case FN_SORT_TOTAL:
		vx = x->total;
		vy = y->total;
		break;
	case FN_SORT_AVG:
		vx = x->timed ? x->total / x->timed : 0;
		vy = y->timed ? y->total / y->timed : 0;
		break;
	case FN_SORT_MAX:
		vx = x->max;
		vy = y->max;
		break;
	case FN_SORT_NAME: break;
	}
	if (vx != vy)
		return vx > vy ? -1 : 1;
	return strcmp(x->name, y->name);
}

void fn_table_print(FILE *f, struct fn_table *t, enum fn_sort key, size_t top, bool *any_partial)
{
	size_t shown = top && top < t->n ? top : t->n;
	char b[32];

	qsort_r(t->v, t->n, sizeof(*t->v), cmp_stat, &key);
	fputs("   Calls     Total      Self       Avg       Max  Function\n", f);
	for (size_t i = 0; i < shown; i++) {
		const struct fn_stat *s = &t->v[i];

		snprintf(b, sizeof(b), "%llu%s", (unsigned long long)s->calls,
			 s->partial ? "*" : "");
		pad_left(f, b, 8);
		fn_table_put_dur(f, s->timed, s->total, 10);
		fn_table_put_dur(f, s->timed, s->self, 10);
		fn_table_put_dur(f, s->timed, s->timed ? s->total / s->timed : 0, 10);
		fn_table_put_dur(f, s->timed, s->max, 10);
		fputs("  ", f);
		put_trunc(f, s->name, NAME_COLS);
		putc_unlocked('\n', f);
		*any_partial |= s->partial;
	}
	if (shown < t->n)
		fprintf(f, "   (%zu more function%s; -n 0 shows all)\n", t->n - shown,
			t->n - shown == 1 ? "" : "s");
}

/* ---- --memory ------------------------------------------------------------------------------ */

bool fn_table_add_memory(struct fn_stat *s, const char *memory)
{
	struct tree_mem m;

	if (!memory_node_parse(memory, &m))
		return false;
	s->allocs += m.allocs;
	s->alloc_bytes += m.alloc_bytes;
	s->frees += m.frees;
	s->free_bytes += m.free_bytes;
	return true;
}

static int cmp_mem(const void *a, const void *b)
{
	const struct fn_stat *x = a, *y = b;

	if (x->alloc_bytes != y->alloc_bytes)
		return x->alloc_bytes > y->alloc_bytes ? -1 : 1;
	if (x->allocs != y->allocs)
		return x->allocs > y->allocs ? -1 : 1;
	if (x->frees != y->frees)
		return x->frees > y->frees ? -1 : 1;
	return strcmp(x->name, y->name);
}

void fn_table_print_memory(FILE *f, struct fn_table *t, size_t top)
{
	size_t n = 0, shown;
	char b[32];

	for (size_t i = 0; i < t->n; i++)
		n += t->v[i].allocs || t->v[i].frees;
	if (!n)
		return;
	qsort(t->v, t->n, sizeof(*t->v), cmp_mem);
	shown = top && top < n ? top : n;
	fputs("\n  Allocs  Alloc bytes     Frees  Freed bytes  Function (--memory: its own)\n", f);
	for (size_t i = 0; i < shown; i++) {
		const struct fn_stat *s = &t->v[i];

		snprintf(b, sizeof(b), "%" PRIu64, s->allocs);
		pad_left(f, b, 8);
		snprintf(b, sizeof(b), "%" PRIu64, s->alloc_bytes);
		pad_left(f, b, 13);
		snprintf(b, sizeof(b), "%" PRIu64, s->frees);
		pad_left(f, b, 10);
		snprintf(b, sizeof(b), "%" PRIu64, s->free_bytes);
		pad_left(f, b, 13);
		fputs("  ", f);
		put_trunc(f, s->name, NAME_COLS);
		putc_unlocked('\n', f);
	}
	if (shown < n)
		fprintf(f, "   (%zu more function%s; -n 0 shows all)\n", n - shown,
			n - shown == 1 ? "" : "s");
}
