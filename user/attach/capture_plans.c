#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach/capture_plans.h"
#include "attach/capture_state.h"
#include "cli.h"
#include "ctrace.h"
#include "ctrace.skel.h"
#include "ctrace_plan.h"
#include "utils/demangle.h"
#include "find/dwarf_file.h"
#include "find/dwarf_plans.h"
#include "find/elf_image.h"
#include "find/hook_sites.h"
#include "utils/log.h"
#include "utils/u64map.h"
#include "find/pattern.h"
#include "attach/probes.h"
#include "consume/symbolize.h"

/* the BPF side's fn_plans value */
struct fn_plan {
	uint64_t key;
	struct ctrace_site_plan plan;
};

/* small enough for the compact record: no pointer followed, <= 16 bytes */
static bool is_small(const struct ctrace_site_plan *p)
{
	for (unsigned i = 0; i < p->nargs && i < CTRACE_MAX_ARGS; i++)
		if (p->arg[i].follow != CTRACE_FOLLOW_NONE || p->arg[i].size > CTRACE_SMALL_VAL)
			return false;
	return p->nmstr == 0;
}

/* At a preloaded hook, r10 and r11 may have been changed on the way: the
 * first call through a lazily bound PLT slot runs glibc's resolver, which
 * does not preserve them. Such values are not read, and say why. */
static void drop_r10_r11(struct site_entry *se)
{
	for (unsigned i = 0; i < se->plan.nargs && i < CTRACE_MAX_ARGS && i < se->si->nargs; i++) {
		struct ctrace_arg_plan *ap = &se->plan.arg[i];
		unsigned reg = 0;

		for (unsigned k = 0; k < ap->npieces && k < CTRACE_MAX_PIECES; k++)
			if ((ap->piece[k].kind == CTRACE_LOC_REG ||
			     ap->piece[k].kind == CTRACE_LOC_MEM) &&
			    (ap->piece[k].reg == CTRACE_REG_R10 ||
			     ap->piece[k].reg == CTRACE_REG_R11))
				reg = ap->piece[k].reg;
		if (!reg)
			continue;
		memset(ap, 0, sizeof(*ap));
		snprintf(se->si->args[i].unavailable, sizeof(se->si->args[i].unavailable),
			 "in r%u, which the PLT resolver may change before the preloaded hook runs "
			 "(use --probe callsite)",
			 reg);
	}
}

/* The BPF maps' copies of the plans; without a skeleton (the fuzzing
 * harness decodes records it made up) there are none. */
enum plan_map { PLANS, FN_PLANS, RET_PLANS };

static int map_fd(const struct capture *c, enum plan_map m)
{
	return m == PLANS    ? bpf_map__fd(c->skel->maps.plans) :
	       m == FN_PLANS ? bpf_map__fd(c->skel->maps.fn_plans) :
			       bpf_map__fd(c->skel->maps.ret_plans);
}

static int bpf_put(const struct capture *c, enum plan_map m, const void *key, const void *val)
{
	return c->skel ? bpf_map_update_elem(map_fd(c, m), key, val, BPF_ANY) : 0;
}

static void bpf_del(const struct capture *c, enum plan_map m, const void *key)
{
	if (c->skel)
		bpf_map_delete_elem(map_fd(c, m), key);
}

struct capture *capture_new(const struct config *cfg, struct ctrace_bpf *skel,
			    struct symbolizer *sym, bool preload)
{
	struct capture *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->preload = preload;
	c->cfg = cfg;
	c->skel = skel;
	c->sym = sym;
	return c;
}

void capture_set_preload(struct capture *c, bool preload)
{
	c->preload = preload;
}

static void log_op(struct capture *c, enum plan_op_kind kind, uint64_t key, void *v,
		   const struct cap_module *mod)
{
	struct plan_op *op;

	if (!c->logging || c->replaying)
		return;
	if (c->nops == c->capops) {
		c->capops = c->capops ? 2 * c->capops : 256;
		c->ops = realloc(c->ops, c->capops * sizeof(*c->ops));
		if (!c->ops) {
			log_err("out of memory");
			abort();
		}
	}
	op = &c->ops[c->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->key = key;
	op->v = v;
	if (mod)
		op->mod = *mod;
}

void capture_load_op(struct capture *c, const struct plan_op *op)
{
	log_op(c, op->kind, op->key, op->v, &op->mod);
}

bool capture_is_fnptr(const struct vtype *t)
{
	const struct vtype *s = vtype_strip(t), *p = s ? vtype_strip(s->target) : NULL;

	return s && s->kind == VT_POINTER && s->size == 8 && p && p->kind == VT_FUNC;
}

uint8_t capture_fnptr_args(const struct site_info *si)
{
	uint8_t m = 0;

	for (size_t i = 0; i < si->nargs && i < CTRACE_MAX_ARGS; i++)
		if (!si->args[i].unavailable[0] && capture_is_fnptr(si->args[i].fmt_type))
			m |= (uint8_t)(1u << i);
	return m;
}

void capture_op_free_entry(struct plan_op *op)
{
	if (op->kind == PLAN_SITE) {
		site_info_free(((struct site_entry *)op->v)->si);
		free(op->v);
	} else if (op->kind == PLAN_RET) {
		arg_info_clear(&((struct ret_entry *)op->v)->info);
		free(op->v);
	}
}

/* logging: every entry and module ever added is in the log, freed once */
static void free_logged(struct capture *c)
{
	for (size_t i = 0; i < c->nops; i++) {
		struct plan_op *op = &c->ops[i];

		capture_op_free_entry(op);
		if (op->kind == PLAN_MOD)
			dwarf_ctx_free(op->mod.dw);
	}
	free(c->ops);
	u64map_free(&c->sites);
	u64map_free(&c->rets);
	u64map_free(&c->fn_sites);
	c->nmods = 0;
}

void capture_free(struct capture *c)
{
	uint64_t key;
	void *v;

	if (!c)
		return;
	if (c->logging)
		free_logged(c);
	for (size_t it = 0; u64map_next(&c->sites, &it, &key, &v);) {
		struct site_entry *se = v;
		site_info_free(se->si);
		free(se);
	}
	for (size_t it = 0; u64map_next(&c->rets, &it, &key, &v);) {
		struct ret_entry *r = v;
		arg_info_clear(&r->info);
		free(r);
	}
	u64map_free(&c->sites);
	u64map_free(&c->rets);
	u64map_free(&c->fn_sites);
	u64map_free(&c->fnptr_sites);
	for (size_t i = 0; i < c->nmods; i++)
		dwarf_ctx_free(c->mods[i].dw);
	free(c->mods);
	for (size_t i = 0; i < c->nret_files; i++)
		free(c->ret_files[i]);
	free(c->ret_files);
	free(c);
}

/* true the first time a file is seen: its return probes serve every
 * generation (the probes are on the file, the plans per generation) */
static bool first_ret_file(struct capture *c, const char *path)
{
	char **nv;

	for (size_t i = 0; i < c->nret_files; i++)
		if (!strcmp(c->ret_files[i], path))
			return false;
	nv = realloc(c->ret_files, (c->nret_files + 1) * sizeof(*nv));
	if (!nv)
		return false;
	c->ret_files = nv;
	if (!(nv[c->nret_files] = strdup(path)))
		return false;
	c->nret_files++;
	return true;
}

uint64_t capture_nplans(const struct capture *c)
{
	return c->nplans;
}

/* -F/-N decide what is traced; --capture narrows what is captured */
static bool wanted(const struct capture *c, const struct elf_sym *s)
{
	char *dm;
	bool ok;

	if (!s)
		return !c->cfg->capture_filter && filter_is_empty(c->cfg->filter);
	dm = demangle(s->name);
	ok = filter_allows(c->cfg->filter, s->name, dm ? dm : s->name) &&
	     (!c->cfg->capture_filter ||
	      filter_allows(c->cfg->capture_filter, s->name, dm ? dm : s->name));
	free(dm);
	return ok;
}

static void plan_returns(struct capture *c, struct probes *pr, const struct module *m, unsigned gen,
			 struct dwarf_ctx *dw, uint64_t bias, const uint64_t *funcs, size_t nf,
			 const struct dwarf_plan_opts *o)
{
	uint64_t *offs = calloc(nf ? nf : 1, sizeof(*offs));
	size_t n = 0;
	char err[256];

	if (!offs)
		return;
	for (size_t i = 0; i < nf; i++) {
		struct ctrace_arg_plan plan;
		struct ret_entry *r;
		uint64_t key = CTRACE_PLAN_KEY(funcs[i] + bias, gen), off;

		if (u64map_get(&c->rets, key) || !(r = calloc(1, sizeof(*r))))
			continue;
		if (dwarf_ret_plan(dw, funcs[i], o, &plan, &r->info, err, sizeof(err))) {
			free(r);
			continue;
		}
		if (!r->info.type && !r->info.unavailable[0]) { /* void */
			arg_info_clear(&r->info);
			free(r);
			continue;
		}
		r->plan = plan;
		r->module = m->name;
		r->fnptr = capture_is_fnptr(r->info.fmt_type);
		if (!r->info.unavailable[0] && plan.npieces &&
		    !elf_vaddr_to_offset(m->img, funcs[i], &off) &&
		    !bpf_put(c, RET_PLANS, &key, &plan)) {
			r->planned = true;
			offs[n++] = off;
		}
		if (u64map_put(&c->rets, key, r)) {
			arg_info_clear(&r->info);
			free(r);
		} else {
			log_op(c, PLAN_RET, key, r, NULL);
		}
	}
	if (n && first_ret_file(c, m->path) &&
	    probes_attach_returns(pr, m->open_path, m->path, offs, n))
		log_warn("%s: return values will be missing", m->path);
	free(offs);
}

/* a site of module m, planned for generation gen */
static bool in_module(const struct site_entry *se, const struct module *m, unsigned gen)
{
	uint64_t addr = se->key & CTRACE_ADDR_MASK;

	return se->fn && se->key >> CTRACE_GEN_SHIFT == gen && addr >= m->start && addr < m->end;
}

/* Functions with exactly one planned site of this module get a plan keyed by
 * this_fn too (preloaded hooks find it without reading the stack). */
static void index_by_function(struct capture *c, const struct module *m, unsigned gen)
{
	struct u64map count = { 0 };
	uint64_t key;
	void *v;

	for (size_t it = 0; u64map_next(&c->sites, &it, &key, &v);) {
		struct site_entry *se = v;

		if (in_module(se, m, gen))
			u64map_put(&count, se->fn,
				   (void *)((uintptr_t)u64map_get(&count, se->fn) + 1));
	}
	for (size_t it = 0; u64map_next(&c->sites, &it, &key, &v);) {
		struct site_entry *se = v;
		struct fn_plan fp;

		if (!in_module(se, m, gen) || (uintptr_t)u64map_get(&count, se->fn) != 1)
			continue;
		fp.key = se->key;
		fp.plan = se->plan;
		bpf_put(c, FN_PLANS, &se->fn, &fp);
	}
	u64map_free(&count);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void add_module(struct capture *c, struct probes *pr, const struct module *m, unsigned gen);

void capture_add_module(struct capture *c, struct probes *pr, const struct module *m, unsigned gen)
{
	size_t n = c->nmods;

	add_module(c, pr, m, gen);
	/* logged as it ended up (its DWARF opened or why not) */
	if (c->nmods > n)
		log_op(c, PLAN_MOD, 0, NULL, &c->mods[c->nmods - 1]);
}

static void add_module(struct capture *c, struct probes *pr, const struct module *m, unsigned gen)
{
	struct dwarf_plan_opts o = { .str_max = c->cfg->string_size + 1 };
	struct hook_site *sites = NULL;
	struct cap_module *cm;
	uint64_t bias = 0, vaddr, *funcs = NULL;
	size_t n = 0, nf = 0;
	char err[256];
	void *nv;

	if (!m->img || !m->img->refs_hooks || m->img->hook_def[0])
		return;
	nv = realloc(c->mods, (c->nmods + 1) * sizeof(*c->mods));
	if (!nv)
		return;
	c->mods = nv;
	cm = &c->mods[c->nmods++];
	memset(cm, 0, sizeof(*cm));
	cm->start = m->start;
	cm->end = m->end;
	cm->gen = gen;
	if (dwarf_ctx_open(m->open_path, &cm->dw, err, sizeof(err))) {
		cm->dw = NULL;
		snprintf(cm->why, sizeof(cm->why), "no debug info for %s (build it with -g)",
			 m->name);
		log_dbg("%s: %s", m->path, err);
		return;
	}
	if (m->img->e_type == ET_DYN && !elf_offset_to_vaddr(m->img, m->offset, &vaddr))
		bias = m->start - vaddr;
	if (hook_sites_find(m->img, &sites, &n, err, sizeof(err)))
		return;
	funcs = calloc(n ? n : 1, sizeof(*funcs));
	for (size_t i = 0; i < n; i++) {
		const struct hook_site *s = &sites[i];
		const struct elf_sym *fs;
		struct site_entry *se;
		uint64_t key, func;

		if (s->kind != HOOK_ENTER || s->sym >= m->img->nsyms)
			continue;
		func = s->this_fn;
		fs = func ? elf_sym_lookup(m->img, func) : NULL;
		/* an unproven this_fn: plan it anyway (the innermost function
		 * covering the site); the output is filtered by name later */
		if (fs && !wanted(c, fs))
			continue;
		se = calloc(1, sizeof(*se));
		if (!se)
			continue;
		if (dwarf_site_plan(cm->dw, func, s->vaddr, s->len, &o, &se->plan, &se->si, err,
				    sizeof(err))) {
			log_dbg("%s: site 0x%lx: %s", m->name, (unsigned long)s->vaddr, err);
			free(se);
			continue;
		}
		key = CTRACE_PLAN_KEY(bias + s->vaddr + s->len, gen);
		if (c->preload && (se->plan.flags & CTRACE_SITE_USES_R10_R11))
			drop_r10_r11(se);
		se->plan.flags |= is_small(&se->plan) ? CTRACE_SITE_SMALL : 0;
		se->key = key;
		se->module = m->name;
		se->fnptrs = capture_fnptr_args(se->si);
		se->fn = func ? CTRACE_PLAN_KEY(func + bias, gen) : 0;
		if (bpf_put(c, PLANS, &key, &se->plan) || u64map_put(&c->sites, key, se)) {
			site_info_free(se->si);
			free(se);
			continue;
		}
		if (se->fn)
			u64map_put(&c->fn_sites, se->fn, se); /* out of memory: a vaguer reason */
		log_op(c, PLAN_SITE, key, se, NULL);
		if (se->fnptrs && u64map_put(&c->fnptr_sites, key, se))
			se->fnptrs = 0; /* out of memory: those calls name no function */
		c->nplans++;
		/* return probes: the function the site reports, else the one whose
		 * code holds it (what an unproven this_fn most likely is) */
		if (funcs && fs && fs->addr == func)
			funcs[nf++] = func;
		else if (funcs && !func && wanted(c, &m->img->syms[s->sym]))
			funcs[nf++] = m->img->syms[s->sym].addr;
	}
	index_by_function(c, m, gen);
	if (c->cfg->retval && funcs && nf) {
		qsort(funcs, nf, sizeof(*funcs), cmp_u64);
		size_t u = 0;
		for (size_t i = 0; i < nf; i++)
			if (!u || funcs[u - 1] != funcs[i])
				funcs[u++] = funcs[i];
		plan_returns(c, pr, m, gen, cm->dw, bias, funcs, u, &o);
	}
	free(funcs);
	free(sites);
}

/* a key of generation gen whose address is in [start, end) */
static bool key_in(uint64_t key, uint64_t start, uint64_t end, unsigned gen)
{
	uint64_t addr = key & CTRACE_ADDR_MASK;

	return key >> CTRACE_GEN_SHIFT == gen && addr >= start && addr < end;
}

/* drop the entries for which gone() is true (rebuilt: open addressing has
 * no simple delete) */
static void map_drop(struct capture *c, struct u64map *m,
		     bool (*gone)(struct capture *c, uint64_t key, void *v,
				  const struct module *mod),
		     const struct module *mod)
{
	struct u64map keep = { 0 };
	uint64_t key;
	void *v;

	for (size_t it = 0; u64map_next(m, &it, &key, &v);)
		if (!gone(c, key, v, mod) && u64map_put(&keep, key, v)) {
			log_err("out of memory");
			abort();
		}
	u64map_free(m);
	*m = keep;
}

static bool site_gone(struct capture *c, uint64_t key, void *v, const struct module *m)
{
	struct site_entry *se = v;

	if (!key_in(key, m->start, m->end, c->gen))
		return false;
	c->nplans--;
	if (c->replaying)
		return true;
	bpf_del(c, PLANS, &key);
	if (se->fn)
		bpf_del(c, FN_PLANS, &se->fn);
	if (!c->logging) {
		site_info_free(se->si);
		free(se);
	}
	return true;
}

static bool ret_gone(struct capture *c, uint64_t key, void *v, const struct module *m)
{
	struct ret_entry *r = v;

	if (!key_in(key, m->start, m->end, c->gen))
		return false;
	if (c->replaying)
		return true;
	if (r->planned)
		bpf_del(c, RET_PLANS, &key);
	if (!c->logging) {
		arg_info_clear(&r->info);
		free(r);
	}
	return true;
}

/* an entry keyed by a runtime address of m (fnptr_sites, fn_sites) */
static bool key_gone(struct capture *c, uint64_t key, void *v, const struct module *m)
{
	return key_in(key, m->start, m->end, c->gen);
}

void capture_forget_module(struct capture *c, const struct module *m, unsigned gen)
{
	unsigned cur = c->gen;
	struct cap_module gone = { .start = m->start, .end = m->end, .gen = gen };
	size_t k = 0;

	log_op(c, PLAN_FORGET, 0, NULL, &gone);
	c->gen = gen; /* what site_gone and ret_gone match */
	map_drop(c, &c->fnptr_sites, key_gone, m); /* before site_gone frees them */
	map_drop(c, &c->fn_sites, key_gone, m);
	map_drop(c, &c->sites, site_gone, m);
	map_drop(c, &c->rets, ret_gone, m);
	c->gen = cur;
	for (size_t i = 0; i < c->nmods; i++) {
		if (c->mods[i].gen == gen && c->mods[i].start < m->end &&
		    m->start < c->mods[i].end) {
			if (!c->logging)
				dwarf_ctx_free(c->mods[i].dw);
		} else
			c->mods[k++] = c->mods[i];
	}
	c->nmods = k;
}

void capture_log_changes(struct capture *c)
{
	if (c)
		c->logging = true;
}

size_t capture_changes(const struct capture *c)
{
	return c->nops;
}

void capture_replay_begin(struct capture *c)
{
	if (!c || !c->logging)
		return;
	u64map_free(&c->sites);
	u64map_free(&c->rets);
	u64map_free(&c->fn_sites);
	c->nmods = 0;
	c->nplans = 0;
	c->applied = 0;
	c->names_recorded = true;
}

void capture_replay_to(struct capture *c, size_t n)
{
	if (!c || !c->logging)
		return;
	c->replaying = true;
	for (; c->applied < n && c->applied < c->nops; c->applied++) {
		struct plan_op *op = &c->ops[c->applied];
		struct module m = { .start = op->mod.start, .end = op->mod.end };
		void *nv;

		switch (op->kind) {
		case PLAN_SITE:
			if (u64map_put(&c->sites, op->key, op->v))
				abort();
			if (((struct site_entry *)op->v)->fn)
				u64map_put(&c->fn_sites, ((struct site_entry *)op->v)->fn, op->v);
			c->nplans++;
			break;
		case PLAN_RET:
			if (u64map_put(&c->rets, op->key, op->v))
				abort();
			break;
		case PLAN_MOD:
			nv = realloc(c->mods, (c->nmods + 1) * sizeof(*c->mods));
			if (!nv)
				abort();
			c->mods = nv;
			c->mods[c->nmods++] = op->mod;
			break;
		case PLAN_FORGET: capture_forget_module(c, &m, op->mod.gen); break;
		}
	}
	c->replaying = false;
}
