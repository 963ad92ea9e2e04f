#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "utils/log.h"
#include "consume/procs.h"
#include "consume/symbolize.h"
#include "utils/xalloc.h"

static void *grow(void *v, size_t *cap, size_t n, size_t elem)
{
	size_t nc;

	if (n < *cap)
		return v;
	nc = *cap ? *cap * 2 : 8;
	v = xrealloc(v, nc * elem);
	*cap = nc;
	return v;
}

void procs_init(struct proc_table *pt, pid_t main_pid, struct symbolizer *main_sym,
		const struct filter *filter)
{
	memset(pt, 0, sizeof(*pt));
	pt->filter = filter;
	pt->main_pid = main_pid;
	procs_add(pt, main_pid, 0, main_sym)->own_sym = true;
}

struct proc *procs_find(struct proc_table *pt, pid_t pid)
{
	if (pt->last && pt->last->pid == pid && !pt->last->exited)
		return pt->last;
	/* newest first: a pid reused after an exit names the newer process */
	for (size_t i = pt->n; i-- > 0;)
		if (pt->v[i]->pid == pid)
			return pt->last = pt->v[i];
	return NULL;
}

struct proc *procs_add(struct proc_table *pt, pid_t pid, pid_t ppid, struct symbolizer *sym)
{
	struct proc *p = xcalloc(1, sizeof(*p));

	pt->v = grow(pt->v, &pt->cap, pt->n, sizeof(*pt->v));
	p->pid = pid;
	p->ppid = ppid;
	p->sym = sym;
	pt->v[pt->n++] = p;
	return pt->last = p;
}

void procs_note_gen(struct proc_table *pt, const struct proc *p)
{
	pt->old_gens = grow(pt->old_gens, &pt->capold_gens, pt->nold_gens, sizeof(*pt->old_gens));
	pt->old_gens[pt->nold_gens].gen = p->gen;
	pt->old_gens[pt->nold_gens++].sym = p->sym;
}

struct symbolizer *procs_sym_of_gen(const struct proc_table *pt, unsigned gen)
{
	for (size_t i = 0; i < pt->n; i++)
		if (pt->v[i]->gen == gen)
			return pt->v[i]->sym;
	for (size_t i = 0; i < pt->nold_gens; i++)
		if (pt->old_gens[i].gen == gen)
			return pt->old_gens[i].sym;
	return NULL;
}

void procs_own_sym(struct proc_table *pt, struct proc *p)
{
	pt->syms = grow(pt->syms, &pt->capsyms, pt->nsyms, sizeof(*pt->syms));
	/* the old one may still name a parent's or a child's addresses */
	p->sym = pt->syms[pt->nsyms++] = symbolizer_new(p->pid, pt->filter);
	p->own_sym = true;
}

void procs_note_exec(struct proc *p, uint64_t ts, const char *path)
{
	p->execs = xrealloc(p->execs, (p->nexecs + 1) * sizeof(*p->execs));
	p->execs[p->nexecs].ts = ts;
	p->execs[p->nexecs++].path = xstrdup(path);
}

size_t procs_live(struct proc_table *pt)
{
	size_t n = 0;

	for (size_t i = 0; i < pt->n; i++)
		n += !pt->v[i]->exited;
	return n;
}

/* 'Z' (zombie), 'X' (dead), or 0 when there is no such process */
static char proc_state(pid_t pid)
{
	char path[64], line[512], st = 0, *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')) && p[1])
		st = p[2];
	fclose(f);
	return st;
}

void procs_reap_vanished(struct proc_table *pt)
{
	for (size_t i = 0; i < pt->n; i++) {
		struct proc *p = pt->v[i];
		char st;

		if (p->exited)
			continue;
		st = proc_state(p->pid);
		if (!st || st == 'Z' || st == 'X')
			p->exited = true;
	}
}

void procs_free(struct proc_table *pt)
{
	for (size_t i = 0; i < pt->n; i++) {
		for (size_t k = 0; k < pt->v[i]->nexecs; k++)
			free(pt->v[i]->execs[k].path);
		free(pt->v[i]->execs);
		free(pt->v[i]);
	}
	for (size_t i = 0; i < pt->nsyms; i++)
		symbolizer_free(pt->syms[i]);
	free(pt->v);
	free(pt->syms);
	free(pt->old_gens);
	memset(pt, 0, sizeof(*pt));
}
