/* Capture plans from DWARF (see dwarf_plans.h): for each parameter at a hook
 * call or a function's entry, and for the return value. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "find/dwarf_internal.h"
#include "find/dwarf_locations.h"
#include "find/dwarf_plans.h"
#include "find/dwarf_types.h"

/* ---- sites ---- */

void arg_info_clear(struct arg_info *a)
{
	if (!a)
		return;
	free(a->name);
	free(a->type_name);
	memset(a, 0, sizeof(*a));
}

void site_info_free(struct site_info *si)
{
	if (!si)
		return;
	for (size_t i = 0; i < si->nargs; i++)
		arg_info_clear(&si->args[i]);
	free(si->args);
	free(si->function);
	free(si);
}

static void plan_opts(const struct dwarf_plan_opts *o, uint32_t *str_max, uint32_t *deref_max)
{
	*str_max = o && o->str_max ? o->str_max : CTRACE_FOLLOW_MAX;
	*deref_max = o && o->deref_max ? o->deref_max : CTRACE_FOLLOW_MAX;
}

static void fill_plan(struct ctrace_arg_plan *ap, const struct pieces *ps,
		      const struct vcap_spec *spec, uint32_t type_size, uint32_t deref_max)
{
	ap->npieces = (uint8_t)ps->n;
	memcpy(ap->piece, ps->p, sizeof(ps->p));
	ap->size = (uint16_t)ps->bytes;
	if (ps->indirect) {
		uint32_t f = type_size < deref_max ? type_size : deref_max;
		ap->follow = CTRACE_FOLLOW_DEREF;
		ap->follow_size = (uint16_t)(f < CTRACE_FOLLOW_MAX ? f : CTRACE_FOLLOW_MAX);
	} else if (spec->follow && ps->bytes >= 8) {
		ap->follow = spec->follow;
		ap->follow_size = spec->follow_size;
	}
}

/* At a function's first instruction a location list (-O2) means what it says,
 * but a single location is the one the body uses (-O0: a stack slot the
 * prologue has not written yet). Only the caller's part of the frame (stack
 * arguments, at CFA + n = rsp + 8 + n there) and constants hold already. */
static bool entry_valid(Dwarf_Attribute *a, const struct pieces *ps)
{
	unsigned form = dwarf_whatform(a);

	if (form != DW_FORM_exprloc && form != DW_FORM_block && form != DW_FORM_block1 &&
	    form != DW_FORM_block2 && form != DW_FORM_block4)
		return true;
	for (int i = 0; i < ps->n; i++) {
		const struct ctrace_piece *p = &ps->p[i];
		if (p->kind != CTRACE_LOC_CONST &&
		    !(p->kind == CTRACE_LOC_MEM && p->reg == CTRACE_REG_RSP && p->val >= 8))
			return false;
	}
	return !ps->indirect;
}

/* The plan for one parameter: conc is its concrete DIE (NULL: none). */
static void plan_param(struct eval *e, Dwarf_Die *conc, struct arg_info *ai,
		       struct ctrace_arg_plan *ap, uint32_t str_max, uint32_t deref_max)
{
	struct vcap_spec spec;
	struct pieces ps;
	Dwarf_Attribute a;
	Dwarf_Op *ops;
	size_t nops;
	int n;

	e->why = ai->unavailable;
	e->whylen = sizeof(ai->unavailable);
	vtype_capture_spec(ai->type, str_max, deref_max, &spec);
	if (spec.size == 0) {
		dw_why(e, "type of unknown size");
		return;
	}
	if (!conc) {
		dw_why(e, "optimized out");
		return;
	}
	e->attr = &a;
	if (dwarf_attr(conc, DW_AT_location, &a)) {
		n = dwarf_getlocation_addr(&a, e->pc, &ops, &nops, 1);
		if (n < 0) {
			dw_why(e, "unreadable location: %s", dwarf_errmsg(-1));
			return;
		}
		if (n == 0) {
			dw_why(e, "optimized out at this point");
			return;
		}
		if (!dw_eval_loc(e, ops, nops, spec.size, &ps))
			return;
		if (e->entry && !entry_valid(&a, &ps)) {
			dw_why(e,
			       "valid only after the prologue (one DWARF location for the whole body)");
			return;
		}
	} else if (dwarf_attr(conc, DW_AT_const_value, &a)) {
		Dwarf_Word w = 0;
		Dwarf_Sword s = 0;
		Dwarf_Block b;
		memset(&ps, 0, sizeof(ps));
		if (dwarf_formblock(&a, &b) == 0) {
			if (b.length > 8 || b.length < spec.size) {
				dw_why(e, "a %llu-byte constant", (unsigned long long)b.length);
				return;
			}
			for (size_t i = b.length; i-- > 0;)
				w = w << 8 | b.data[i];
		} else if (dwarf_whatform(&a) == DW_FORM_sdata ||
			   dwarf_whatform(&a) == DW_FORM_implicit_const) {
			dwarf_formsdata(&a, &s);
			w = (Dwarf_Word)s;
		} else if (dwarf_formudata(&a, &w) != 0) {
			dw_why(e, "unreadable constant value");
			return;
		}
		if (!dw_add_piece(e, &ps, CTRACE_LOC_CONST, 0, spec.size, (int64_t)w, 0))
			return;
	} else {
		dw_why(e, "optimized out");
		return;
	}
	ai->fmt_type = ps.indirect ? dw_ref_to(e->c, ai->type) : ai->type;
	if (!ai->fmt_type) {
		dw_why(e, "out of memory");
		return;
	}
	const struct vtype *s = vtype_strip(ai->type);
	fill_plan(ap, &ps, &spec, s ? s->size : 0, deref_max);
}

/* The concrete parameter DIE of fn whose origin is decl. */
static bool concrete_param(Dwarf_Die *fn, Dwarf_Die *decl, Dwarf_Die *out)
{
	Dwarf_Die ch, o;
	Dwarf_Off want = dwarf_dieoffset(decl);

	if (dwarf_child(fn, &ch) != 0)
		return false;
	do {
		if (dwarf_tag(&ch) == DW_TAG_formal_parameter &&
		    dw_ref_die(&ch, DW_AT_abstract_origin, &o) && dwarf_dieoffset(&o) == want) {
			*out = ch;
			return true;
		}
	} while (dwarf_siblingof(&ch, &ch) == 0);
	return false;
}

struct mstr_walk {
	struct ctrace_site_plan *plan;
	uint8_t arg; /* with CTRACE_MSTR_TGT */
};

static bool add_mstr(void *ctx, uint32_t off)
{
	struct mstr_walk *w = ctx;
	struct ctrace_mstr_plan *m;

	if (w->plan->nmstr >= CTRACE_MAX_MSTR || off > UINT16_MAX)
		return false;
	m = &w->plan->mstr[w->plan->nmstr++];
	m->arg = w->arg;
	m->off = (uint16_t)off;
	return true;
}

/* The char * members of argument i (a struct by value, or behind the pointer
 * the plan follows) whose strings are read at the probe, while there is room. */
static void plan_member_strings(struct ctrace_site_plan *plan, unsigned i,
				const struct arg_info *ai, uint32_t str_max)
{
	const struct ctrace_arg_plan *ap = &plan->arg[i];
	const struct vtype *s = vtype_strip(ai->fmt_type);
	struct mstr_walk w = { plan, (uint8_t)i };

	if (!ap->npieces || !s)
		return;
	plan->mstr_size = (uint16_t)(str_max < CTRACE_FOLLOW_MAX ? str_max : CTRACE_FOLLOW_MAX);
	if (ap->follow == CTRACE_FOLLOW_DEREF) {
		w.arg |= CTRACE_MSTR_TGT;
		vtype_member_strings(s->target, ap->follow_size, add_mstr, &w);
	} else if (ap->follow == CTRACE_FOLLOW_NONE) {
		vtype_member_strings(s, ap->size, add_mstr, &w);
	}
}

static int collect_params(struct dwarf_ctx *c, Dwarf_Die *fn, struct eval *e, struct site_info *si,
			  struct ctrace_site_plan *plan, const struct dwarf_plan_opts *o)
{
	Dwarf_Die abs, ch;
	bool has_abs = dw_ref_die(fn, DW_AT_abstract_origin, &abs);
	Dwarf_Die *decl = has_abs ? &abs : fn;
	uint32_t str_max, deref_max;
	size_t cap = 0;

	plan_opts(o, &str_max, &deref_max);
	if (dwarf_child(decl, &ch) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&ch);
		if (tag == DW_TAG_unspecified_parameters)
			si->varargs = true;
		if (tag != DW_TAG_formal_parameter)
			continue;
		if (si->nargs == MAX_PARAMS)
			break;
		if (si->nargs == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct arg_info *n = realloc(si->args, ncap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			si->args = n;
			cap = ncap;
		}
		struct arg_info *ai = &si->args[si->nargs++];
		memset(ai, 0, sizeof(*ai));
		const char *nm = dwarf_diename(&ch);
		ai->name = nm ? strdup(nm) : NULL;
		if (!ai->name && asprintf(&ai->name, "arg%zu", si->nargs) < 0)
			ai->name = NULL;
		ai->type = dw_type_of(c, &ch, 0);
		ai->fmt_type = ai->type;
		ai->type_name = vtype_spell(ai->type);
		if (!ai->name || !ai->type_name || c->oom)
			return -ENOMEM;
		if (si->nargs > CTRACE_MAX_ARGS) {
			snprintf(ai->unavailable, sizeof(ai->unavailable),
				 "beyond the first %d parameters", CTRACE_MAX_ARGS);
			continue;
		}
		Dwarf_Die conc, *cp = &ch;
		if (has_abs)
			cp = concrete_param(fn, &ch, &conc) ? &conc : NULL;
		plan_param(e, cp, ai, &plan->arg[si->nargs - 1], str_max, deref_max);
		plan_member_strings(plan, (unsigned)si->nargs - 1, ai, str_max);
	} while (dwarf_siblingof(&ch, &ch) == 0);
	plan->nargs = (uint8_t)(si->nargs < CTRACE_MAX_ARGS ? si->nargs : CTRACE_MAX_ARGS);
	return 0;
}

static int build_plan(struct dwarf_ctx *c, uint64_t func_vaddr, uint64_t site_vaddr,
		      uint8_t insn_len, bool entry, const struct dwarf_plan_opts *o,
		      struct ctrace_site_plan *plan, struct site_info **info, char *err,
		      size_t errlen)
{
	struct scopes *sc;
	Dwarf_Die sub, fd;
	uint64_t want = 0;
	int fi = -1, rc;

	memset(plan, 0, sizeof(*plan));
	plan->site_vaddr = site_vaddr;
	plan->insn_len = insn_len;
	*info = NULL;
	if (!dw_find_func(c, site_vaddr, &sub)) {
		dw_seterr(err, errlen, "no DWARF function covers 0x%llx",
			  (unsigned long long)site_vaddr);
		return -ENOENT;
	}
	if (func_vaddr) {
		if (!dw_find_func(c, func_vaddr, &fd)) {
			dw_seterr(err, errlen, "no DWARF function at 0x%llx",
				  (unsigned long long)func_vaddr);
			return -ENOENT;
		}
		want = dw_origin_key(c, &fd);
	}
	sc = malloc(sizeof(*sc));
	if (!sc) {
		dw_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	dw_descend(&sub, site_vaddr, sc);
	for (int i = sc->n - 1; i >= 0 && fi < 0; i--) {
		int tag = dwarf_tag(&sc->d[i]);
		if ((tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) &&
		    (!func_vaddr || dw_origin_key(c, &sc->d[i]) == want))
			fi = i;
	}
	if (fi < 0) {
		dw_seterr(err, errlen, "no DWARF scope of the function at 0x%llx covers 0x%llx",
			  (unsigned long long)func_vaddr, (unsigned long long)site_vaddr);
		free(sc);
		return -ENOENT;
	}
	struct site_info *si = calloc(1, sizeof(*si));
	if (!si) {
		free(sc);
		dw_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	si->site_vaddr = site_vaddr;
	si->inlined = dwarf_tag(&sc->d[fi]) == DW_TAG_inlined_subroutine;
	Dwarf_Attribute na;
	const char *fname = dwarf_formstring(dwarf_attr_integrate(&sc->d[fi], DW_AT_name, &na));
	si->function = strdup(fname ? fname : "?");
	struct eval e = {
		.c = c, .pc = site_vaddr, .frame = &sc->d[0], .site = !entry, .entry = entry
	};
	rc = si->function ? collect_params(c, &sc->d[fi], &e, si, plan, o) : -ENOMEM;
	free(sc);
	if (rc) {
		site_info_free(si);
		memset(plan, 0, sizeof(*plan));
		dw_seterr(err, errlen, "out of memory");
		return rc;
	}
	for (int i = 0; i < plan->nargs; i++)
		for (int k = 0; k < plan->arg[i].npieces; k++) {
			const struct ctrace_piece *p = &plan->arg[i].piece[k];
			if (p->kind != CTRACE_LOC_REG && p->kind != CTRACE_LOC_MEM)
				continue;
			if (p->reg == CTRACE_REG_RSP)
				plan->flags |= CTRACE_SITE_USES_RSP;
			if (p->reg == CTRACE_REG_R10 || p->reg == CTRACE_REG_R11)
				plan->flags |= CTRACE_SITE_USES_R10_R11;
		}
	*info = si;
	return 0;
}

int dwarf_site_plan(struct dwarf_ctx *c, uint64_t func_vaddr, uint64_t site_vaddr, uint8_t insn_len,
		    const struct dwarf_plan_opts *o, struct ctrace_site_plan *plan,
		    struct site_info **info, char *err, size_t errlen)
{
	return build_plan(c, func_vaddr, site_vaddr, insn_len, false, o, plan, info, err, errlen);
}

int dwarf_entry_plan(struct dwarf_ctx *c, uint64_t func_vaddr, const struct dwarf_plan_opts *o,
		     struct ctrace_site_plan *plan, struct site_info **info, char *err,
		     size_t errlen)
{
	return build_plan(c, func_vaddr, func_vaddr, 0, true, o, plan, info, err, errlen);
}

/* ---- return values ---- */

enum { CL_NONE, CL_SSE, CL_INT, CL_MEM, CL_X87 };

/* C++ classes that are not trivially copyable come back through memory, like
 * big structs (SysV ABI). GCC does not emit DW_AT_calling_convention, so this
 * follows the rule: a user-provided copy/move constructor or destructor, a
 * virtual function or base, or such a member or base. */
static bool nontrivial(struct dwarf_ctx *c, Dwarf_Die *d, int depth)
{
	Dwarf_Attribute a;
	Dwarf_Word cc;
	Dwarf_Die ch, t, pt;

	if (depth > 8)
		return false;
	if (dwarf_attr(d, DW_AT_calling_convention, &a) && dwarf_formudata(&a, &cc) == 0)
		return cc == DW_CC_pass_by_reference;
	if (!dw_is_cxx(d) || dwarf_child(d, &ch) != 0)
		return false;
	const char *cls = dwarf_diename(d);
	do {
		int tag = dwarf_tag(&ch);
		if (dwarf_hasattr(&ch, DW_AT_virtuality))
			return true;
		if ((tag == DW_TAG_member || tag == DW_TAG_inheritance) &&
		    !dwarf_hasattr(&ch, DW_AT_external) && !dwarf_hasattr(&ch, DW_AT_declaration) &&
		    dw_ref_die(&ch, DW_AT_type, &t) && dwarf_peel_type(&t, &pt) == 0 &&
		    (dwarf_tag(&pt) == DW_TAG_structure_type ||
		     dwarf_tag(&pt) == DW_TAG_class_type || dwarf_tag(&pt) == DW_TAG_union_type) &&
		    nontrivial(c, &pt, depth + 1))
			return true;
		if (tag != DW_TAG_subprogram || dwarf_hasattr(&ch, DW_AT_artificial))
			continue;
		Dwarf_Word def = 0;
		if (dwarf_attr(&ch, DW_AT_defaulted, &a))
			dwarf_formudata(&a, &def);
		if (def == DW_DEFAULTED_in_class || dwarf_hasattr(&ch, DW_AT_deleted))
			continue;
		const char *n = dwarf_diename(&ch);
		if (!n || !cls)
			continue;
		if (n[0] == '~')
			return true;
		if (strcmp(n, cls) != 0)
			continue;
		/* a constructor: copy/move when its one parameter after `this` is a
		 * reference to this class */
		Dwarf_Die p;
		int np = 0;
		bool selfref = false;
		if (dwarf_child(&ch, &p) != 0)
			continue;
		do {
			if (dwarf_tag(&p) != DW_TAG_formal_parameter ||
			    dwarf_hasattr(&p, DW_AT_artificial))
				continue;
			np++;
			Dwarf_Die rt, rp;
			selfref = dw_ref_die(&p, DW_AT_type, &rt) &&
				  (dwarf_tag(&rt) == DW_TAG_reference_type ||
				   dwarf_tag(&rt) == DW_TAG_rvalue_reference_type) &&
				  dw_ref_die(&rt, DW_AT_type, &rp) &&
				  dwarf_peel_type(&rp, &rp) == 0 &&
				  dwarf_dieoffset(&rp) == dwarf_dieoffset(d);
		} while (dwarf_siblingof(&p, &p) == 0);
		if (np == 1 && selfref)
			return true;
	} while (dwarf_siblingof(&ch, &ch) == 0);
	return false;
}

static void classify(const struct vtype *t, uint64_t off, int cls[2], int depth)
{
	const struct vtype *s = vtype_strip(t);
	int k;

	if (!s || depth > 16)
		return;
	if (s->kind == VT_STRUCT || s->kind == VT_UNION) {
		for (uint32_t i = 0; s->members && i < s->nmembers; i++) {
			const struct vmember *m = &s->members[i];
			if (m->bit_size) {
				uint64_t eb = (m->offset + off) / 8;
				if (eb < 2 && cls[eb] != CL_MEM && cls[eb] != CL_X87)
					cls[eb] = CL_INT;
				continue;
			}
			classify(m->type, off + m->offset, cls, depth + 1);
		}
		return;
	}
	if (s->kind == VT_ARRAY) {
		const struct vtype *e = vtype_strip(s->target);
		for (uint32_t i = 0; e && e->size && i < s->count && i < 16; i++)
			classify(s->target, off + (uint64_t)i * e->size, cls, depth + 1);
		return;
	}
	if (s->size == 0)
		return;
	if (off % (s->size >= 8 ? 8 : s->size)) {
		cls[0] = CL_MEM; /* unaligned (packed) */
		return;
	}
	if (s->kind == VT_FLOAT || s->kind == VT_COMPLEX)
		k = s->size >= 16 && s->kind == VT_FLOAT && !(s->name && strstr(s->name, "128")) ?
			    CL_X87 :
			    CL_SSE;
	else
		k = CL_INT;
	for (uint64_t eb = off / 8; eb < 2 && eb <= (off + s->size - 1) / 8; eb++) {
		if (cls[eb] == CL_MEM || cls[eb] == CL_X87)
			continue;
		if (k == CL_X87 || k == CL_INT || cls[eb] == CL_NONE)
			cls[eb] = k;
	}
}

int dwarf_ret_plan(struct dwarf_ctx *c, uint64_t func_vaddr, const struct dwarf_plan_opts *o,
		   struct ctrace_arg_plan *plan, struct arg_info *info, char *err, size_t errlen)
{
	Dwarf_Die sub, td, pt;
	uint32_t str_max, deref_max;
	struct vcap_spec spec;
	struct pieces ps;
	char dummy[8];
	struct eval e = { .c = c, .why = dummy, .whylen = sizeof(dummy) };

	memset(plan, 0, sizeof(*plan));
	memset(info, 0, sizeof(*info));
	memset(&ps, 0, sizeof(ps));
	plan_opts(o, &str_max, &deref_max);
	if (!dw_find_func(c, func_vaddr, &sub)) {
		dw_seterr(err, errlen, "no DWARF function at 0x%llx",
			  (unsigned long long)func_vaddr);
		return -ENOENT;
	}
	info->type = dw_type_of(c, &sub, 0);
	info->fmt_type = info->type;
	info->type_name = vtype_spell(info->type);
	if (!info->type_name || c->oom) {
		arg_info_clear(info);
		dw_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	const struct vtype *s = vtype_strip(info->type);
	char *why = info->unavailable;
	size_t wl = sizeof(info->unavailable);
	if (!info->type || (s && s->kind == VT_VOID))
		return 0;
	vtype_capture_spec(info->type, str_max, deref_max, &spec);
	if (!s || spec.size == 0) {
		snprintf(why, wl, "type of unknown size");
		return 0;
	}
	switch (s->kind) {
	case VT_FLOAT:
	case VT_COMPLEX:
		if (s->kind == VT_FLOAT && s->size == 16 && !(s->name && strstr(s->name, "128")))
			snprintf(why, wl, "returned in st(0) (x87): BPF cannot read x87 registers");
		else
			snprintf(
				why, wl,
				"returned in xmm0 (floating point): BPF cannot read vector registers");
		return 0;
	case VT_STRUCT:
	case VT_UNION:
	case VT_ARRAY: {
		int cls[2] = { CL_NONE, CL_NONE };
		bool mem = s->size > 16;
		if (!mem && dw_ref_die(&sub, DW_AT_type, &td) && dwarf_peel_type(&td, &pt) == 0)
			mem = nontrivial(c, &pt, 0);
		if (!mem) {
			classify(s, 0, cls, 0);
			mem = cls[0] == CL_MEM || cls[1] == CL_MEM;
		}
		if (mem) {
			/* the caller's buffer, whose address comes back in rax */
			dw_add_piece(&e, &ps, CTRACE_LOC_MEM, 0, s->size, 0, 0);
			break;
		}
		if (cls[0] == CL_X87 || cls[1] == CL_X87) {
			snprintf(why, wl, "returned in st(0) (x87): BPF cannot read x87 registers");
			return 0;
		}
		if (cls[0] == CL_SSE || cls[1] == CL_SSE) {
			snprintf(why, wl,
				 "returned partly in xmm registers (floating-point members): "
				 "BPF cannot read vector registers");
			return 0;
		}
		dw_add_piece(&e, &ps, CTRACE_LOC_REG, 0, s->size < 8 ? s->size : 8, 0, 0);
		if (s->size > 8)
			dw_add_piece(&e, &ps, CTRACE_LOC_REG, 1, s->size - 8, 0, 0);
		break;
	}
	default:
		if (s->size > 16) {
			snprintf(why, wl, "a %u-byte scalar", s->size);
			return 0;
		}
		dw_add_piece(&e, &ps, CTRACE_LOC_REG, 0, s->size < 8 ? s->size : 8, 0, 0);
		if (s->size > 8)
			dw_add_piece(&e, &ps, CTRACE_LOC_REG, 1, s->size - 8, 0, 0);
		break;
	}
	fill_plan(plan, &ps, &spec, s->size, deref_max);
	return 0;
}
