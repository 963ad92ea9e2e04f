#include <string.h>

#include "attach/capture_state.h"
#include "cli.h"
#include "consume/capture_decode.h"
#include "consume/symbolize.h"
#include "find/pattern.h"
#include "rebuild/tree.h"
#include "write/jsonw.h"

void capture_set_process(struct capture *c, unsigned gen, struct symbolizer *sym)
{
	c->gen = gen;
	c->sym = sym;
}

/* Attached, the target is not stopped at dlopen and dlclose: until the
 * tracer has read the new map, a library mapped where another one was runs
 * with the plans of the one before. */
#define RELOADED "not captured: another library was mapped at this address a moment ago"
/* ... or its library had just been mapped: BPF had no plan for the call yet */
#define PLANNED_LATE "not captured: its library had just been mapped; the call ran before its capture plan was in place"

/* a function's name, or NULL for an address no symbol covers ("0x…") */
static const char *fn_name(const struct func_info *fi)
{
	return fi && fi->name[0] != '0' ? fi->name : NULL;
}

/* live: the map now; replay: as the record says it named the address when
 * the event came (the final map may have another library there), or none */
static const char *symbolize_cb(void *ctx, uint64_t addr)
{
	const struct capture *c = ctx;

	if (!c->names_recorded)
		return fn_name(symbolize(c->sym, addr));
	for (unsigned i = 0; i < c->nfp; i++)
		if (c->fp[i].addr == addr)
			return c->fp[i].name;
	return NULL;
}

void capture_replay_fnptrs(struct capture *c, const uint64_t *addr, const struct func_info **fi,
			   unsigned n)
{
	c->nfp = 0;
	for (unsigned i = 0; i < n && i < CAP_FNPTRS; i++)
		c->fp[c->nfp++] = (struct cap_fnptr){ addr[i], fn_name(fi[i]) };
}

/* slot i of an arguments record, either layout: its value if it was read */
static bool slot_value(const void *data, size_t size, unsigned i, uint64_t *v)
{
	const struct ctrace_call_args *a = data;
	const struct ctrace_call_args_small *s = data;

	if (a->c.h.kind == CTRACE_EV_ENTER_ARGS_SMALL) {
		if (size < sizeof(*s) || i >= s->nargs || s->arg[i].val_err ||
		    s->arg[i].val_len < 8)
			return false;
		memcpy(v, s->arg[i].val, 8);
		return true;
	}
	if (size < __builtin_offsetof(struct ctrace_call_args, arg) + (i + 1) * sizeof(a->arg[0]) ||
	    i >= a->nargs || a->arg[i].val_err || a->arg[i].val_len < 8)
		return false;
	memcpy(v, a->arg[i].val, 8);
	return true;
}

unsigned capture_fnptrs(struct capture *c, const void *data, size_t size, uint64_t *addr)
{
	const struct ctrace_hdr *h = data;
	const struct site_entry *se;
	const struct ret_entry *re;
	unsigned n = 0;

	if (h->kind == CTRACE_EV_RETVAL) {
		const struct ctrace_retval *rv = data;

		if (size < sizeof(*rv) || !(re = u64map_get(&c->rets, rv->key)) || !re->fnptr ||
		    rv->ret.val_err || rv->ret.val_len < 8)
			return 0;
		memcpy(addr, rv->ret.val, 8);
		return 1;
	}
	/* the small map: most calls' sites take no function pointer */
	if ((!c->fnptr_sites.n && !c->fnptr_sites.has_zero) ||
	    size < __builtin_offsetof(struct ctrace_call_args, arg) ||
	    !(se = u64map_get(&c->fnptr_sites, ((const struct ctrace_call_args *)data)->key)))
		return 0;
	for (unsigned i = 0; i < CTRACE_MAX_ARGS; i++)
		if ((se->fnptrs >> i & 1) && slot_value(data, size, i, &addr[n]))
			n++;
	return n;
}

/* a BPF capture as value_fmt wants it; the string rules are those of the
 * BPF side: it read two bytes more than it shows */
static void to_vcap(const struct ctrace_arg_cap *a, const struct ctrace_arg_plan *ap,
		    struct vfmt_capture *v)
{
	memset(v, 0, sizeof(*v));
	v->val = a->val;
	v->val_len = a->val_len > CTRACE_VALUE_MAX ? CTRACE_VALUE_MAX : a->val_len;
	v->val_err = a->val_err;
	if (a->tgt_err == 1)
		return;
	v->tgt = a->tgt;
	v->tgt_err = a->tgt_err;
	if (a->tgt_err)
		return;
	if (ap->follow == CTRACE_FOLLOW_STRING) {
		uint32_t shown = ap->follow_size ? ap->follow_size - 1u : 0;
		uint32_t len = a->tgt_len ? a->tgt_len - 1 : 0; /* without its NUL */

		if (len > CTRACE_CAP_TGT - 1)
			len = CTRACE_CAP_TGT - 1;
		v->tgt_truncated = len > shown;
		v->tgt_len = len > shown ? shown : len;
	} else {
		v->tgt_len = a->tgt_len > CTRACE_FOLLOW_MAX ? CTRACE_FOLLOW_MAX : a->tgt_len;
	}
}

#define MSTR_WHY "not captured: only the first 4 char * members of a call's arguments are read"
_Static_assert(CTRACE_MAX_MSTR == 4, "MSTR_WHY says 4");

/* the member strings of argument i that the record holds */
static unsigned member_strings(const struct ctrace_call_args *ev, size_t size,
			       const struct ctrace_site_plan *plan, unsigned i,
			       struct vfmt_str *out)
{
	unsigned n = 0;

	if (ev->nmstr == 0 || ev->nmstr > CTRACE_MAX_MSTR ||
	    size < __builtin_offsetof(struct ctrace_call_args, mstr) +
			    ev->nmstr * sizeof(struct ctrace_mstr_cap))
		return 0;
	for (unsigned k = 0; k < ev->nmstr && k < plan->nmstr && k < CTRACE_MAX_MSTR; k++) {
		const struct ctrace_mstr_plan *mp = &plan->mstr[k];
		const struct ctrace_mstr_cap *m = &ev->mstr[k];
		uint32_t shown = plan->mstr_size ? plan->mstr_size - 1u : 0;
		uint32_t len = m->len ? m->len - 1 : 0; /* without its NUL */
		struct vfmt_str *o = &out[n];

		if ((mp->arg & ~CTRACE_MSTR_TGT) != i)
			continue;
		if (len > CTRACE_CAP_TGT - 1)
			len = CTRACE_CAP_TGT - 1;
		o->at = (mp->arg & CTRACE_MSTR_TGT ? ev->arg[i].tgt : ev->arg[i].val) + mp->off;
		o->str = m->str;
		o->err = m->err;
		o->truncated = len > shown;
		o->len = len > shown ? shown : len;
		n++;
	}
	return n;
}

static void write_args(FILE *f, void *arg)
{
	struct capture *c = arg;
	const struct site_info *si = c->se->si;
	const struct ctrace_call_args *ev = c->ev;
	struct vfmt_opts o = { .symbolize = symbolize_cb, .sym_ctx = c };
	size_t have = (c->ev_size - __builtin_offsetof(struct ctrace_call_args, arg)) /
		      sizeof(struct ctrace_arg_cap);

	fputs(",\"arguments\":[", f);
	for (size_t i = 0; i < si->nargs; i++) {
		const struct arg_info *a = &si->args[i];
		struct vfmt_capture v;
		const char *why = a->unavailable[0] ? a->unavailable : NULL;

		if (i)
			fputc(',', f);
		if (!why && (i >= ev->nargs || i >= have || i >= CTRACE_MAX_ARGS))
			why = "not captured (beyond the first 6 parameters)";
		if (why) {
			vfmt_arg(f, a->name, a->type_name, a->fmt_type, NULL, why, &o);
			continue;
		}
		struct vfmt_str strs[CTRACE_MAX_MSTR];

		to_vcap(&ev->arg[i], &c->se->plan.arg[i], &v);
		v.nstrs = member_strings(ev, c->ev_size, &c->se->plan, (unsigned)i, strs);
		v.strs = strs;
		/* with every slot taken, a member without one is past them */
		v.strs_why = c->se->plan.nmstr == CTRACE_MAX_MSTR && ev->nmstr ? MSTR_WHY :
										 "not captured";
		vfmt_arg(f, a->name, a->type_name, a->fmt_type, &v, NULL, &o);
	}
	fputc(']', f);
}

static void write_args_missing(FILE *f, void *arg)
{
	struct capture *c = arg;

	fputs(",\"arguments\":null,\"arguments_unavailable\":", f);
	jsonw_cstr(f, c->why);
}

static const struct cap_module *module_of(const struct capture *c, uint64_t addr)
{
	for (size_t i = 0; i < c->nmods; i++)
		if (c->mods[i].gen == c->gen && addr >= c->mods[i].start && addr < c->mods[i].end)
			return &c->mods[i];
	return NULL;
}

static bool capture_wanted_fn(const struct capture *c, const struct func_info *fn)
{
	return !c->cfg->capture_filter || filter_allows(c->cfg->capture_filter, fn->name, fn->name);
}

/* the compact record, widened: the writer reads one layout */
static const struct ctrace_call_args *widen(struct capture *c, const void *data, size_t *size)
{
	const struct ctrace_call_args_small *s = data;
	struct ctrace_call_args *w = &c->wide;
	uint32_t n;

	if (*size < sizeof(*s))
		return NULL;
	n = s->nargs > CTRACE_MAX_ARGS ? CTRACE_MAX_ARGS : s->nargs;
	memcpy(&w->c, &s->c, sizeof(w->c));
	w->key = s->key;
	w->nargs = n;
	w->nmstr = 0;
	for (uint32_t i = 0; i < n; i++) {
		w->arg[i].val_err = s->arg[i].val_err;
		w->arg[i].val_len =
			s->arg[i].val_len > CTRACE_SMALL_VAL ? CTRACE_SMALL_VAL : s->arg[i].val_len;
		memcpy(w->arg[i].val, s->arg[i].val, CTRACE_SMALL_VAL);
		w->arg[i].tgt_err = 1;
		w->arg[i].tgt_len = 0;
	}
	*size = __builtin_offsetof(struct ctrace_call_args, arg) +
		n * sizeof(struct ctrace_arg_cap);
	return w;
}

void capture_args_extra(struct capture *c, const struct func_info *fn,
			const struct ctrace_call_args *ev, size_t size, struct tree_extra *x)
{
	const struct cap_module *cm;

	if (ev && ev->c.h.kind == CTRACE_EV_ENTER_ARGS_SMALL)
		ev = widen(c, ev, &size);

	x->write = NULL;
	x->arg = c;
	x->unavailable = NULL;
	if (!c->cfg->args || !capture_wanted_fn(c, fn))
		return;
	if (ev && ev->c.h.kind == CTRACE_EV_CALLER) {
		c->why = "not captured: --caller sends a caller's entry only once a call it "
			 "makes matches";
		x->write = write_args_missing;
		x->unavailable = c->why;
		return;
	}
	if (ev && size >= __builtin_offsetof(struct ctrace_call_args, arg) &&
	    (c->se = u64map_get(&c->sites, ev->key))) {
		if (strcmp(c->se->module, fn->module)) {
			c->why = RELOADED;
			x->write = write_args_missing;
			x->unavailable = c->why;
			return;
		}
		c->ev = ev;
		c->ev_size = size;
		x->write = write_args;
		return;
	}
	cm = module_of(c, fn->addr);
	c->why = c->gen >= CTRACE_GEN_NONE ? "not captured: more than 65,534 images were traced" :
		 cm && cm->why[0]	   ? cm->why :
		 /* a traced call's module is always planned: not yet, then */
		 !cm || (!ev && u64map_get(&c->fn_sites, CTRACE_PLAN_KEY(fn->addr, c->gen))) ?
					     PLANNED_LATE :
					     "no DWARF description of this call site";
	x->write = write_args_missing;
	x->unavailable = c->why;
}

static void write_ret(FILE *f, void *arg)
{
	struct capture *c = arg;
	struct vfmt_opts o = { .symbolize = symbolize_cb, .sym_ctx = c };
	struct vfmt_capture v;

	fputs(",\"return_value\":", f);
	if (!c->rv) {
		vfmt_arg(f, NULL, c->re->info.type_name, c->re->info.fmt_type, NULL,
			 c->re->info.unavailable[0] ? c->re->info.unavailable : c->why, &o);
		return;
	}
	to_vcap(&c->rv->ret, &c->re->plan, &v);
	v.strs_why = "not captured: the strings inside a return value are not read";
	vfmt_arg(f, NULL, c->re->info.type_name, c->re->info.fmt_type, &v, NULL, &o);
}

int capture_exit(struct capture *c, const struct func_info *fn, struct tree_extra *x)
{
	const struct cap_module *cm;

	x->write = write_ret;
	x->arg = c;
	x->unavailable = NULL;
	c->rv = NULL;
	if (!c->cfg->retval || !capture_wanted_fn(c, fn))
		return 0;
	c->re = u64map_get(&c->rets, CTRACE_PLAN_KEY(fn->addr, c->gen));
	if (c->re && strcmp(c->re->module, fn->module)) {
		static const struct ret_entry none;

		c->re = &none;
		c->why = RELOADED;
		return 2;
	}
	if (c->re)
		return c->re->planned ? 1 : 2;
	cm = module_of(c, fn->addr);
	if (cm && cm->why[0]) { /* no DWARF (read back: no dw, the why kept) */
		static const struct ret_entry none;
		c->re = &none;
		c->why = cm->why;
		return 2;
	}
	return 0; /* void, or a function DWARF does not describe */
}

void capture_ret_extra(struct capture *c, const struct func_info *fn,
		       const struct ctrace_retval *ev, struct tree_extra *x)
{
	x->write = NULL;
	x->arg = c;
	x->unavailable = NULL;
	c->re = u64map_get(&c->rets, ev->key);
	if (!c->re || strcmp(c->re->module, fn->module))
		return;
	c->rv = ev;
	x->write = write_ret;
}
