/* The C/C++ type model (value_fmt.h) from DWARF types (see dwarf_types.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "find/dwarf_internal.h"
#include "find/dwarf_types.h"

#define CONV_DEPTH  48 /* type nesting converted (pointer -> struct -> member ...) */
#define MAX_MEMBERS 512
#define MAX_ENUMS   4096

static const struct vtype unknown_type = { .kind = VT_UNKNOWN, .name = "?" };

/* ---- types ---- */

bool dw_is_cxx(Dwarf_Die *d)
{
	Dwarf_Die cu;
	if (!dwarf_diecu(d, &cu, NULL, NULL))
		return false;
	switch (dwarf_srclang(&cu)) {
	case DW_LANG_C_plus_plus:
	case DW_LANG_C_plus_plus_03:
	case DW_LANG_C_plus_plus_11:
	case DW_LANG_C_plus_plus_14:
	case DW_LANG_ObjC_plus_plus: return true;
	default: return false;
	}
}

static void parents_walk(struct dwarf_ctx *c, Dwarf_Die *parent, int depth)
{
	Dwarf_Die ch;
	uint64_t poff = dwarf_dieoffset(parent);
	bool scope = dwarf_tag(parent) != DW_TAG_compile_unit &&
		     dwarf_tag(parent) != DW_TAG_partial_unit;

	if (depth > MAX_SCOPES || dwarf_child(parent, &ch) != 0)
		return;
	do {
		if (scope &&
		    u64map_put(&c->parents, dwarf_dieoffset(&ch), (void *)(uintptr_t)(poff + 1))) {
			c->oom = true;
			return;
		}
		switch (dwarf_tag(&ch)) {
		case DW_TAG_namespace:
		case DW_TAG_structure_type:
		case DW_TAG_class_type:
		case DW_TAG_union_type: parents_walk(c, &ch, depth + 1); break;
		default: break;
		}
	} while (dwarf_siblingof(&ch, &ch) == 0);
}

/* "ns::Outer::Name" for a C++ type of the main file */
static const char *qualify(struct dwarf_ctx *c, Dwarf_Die *d, const char *name)
{
	Dwarf_Die cu, p;
	char *q = NULL;

	if (!name || dwarf_cu_getdwarf(d->cu) != c->dbg || !dwarf_diecu(d, &cu, NULL, NULL))
		return name;
	uint64_t cuoff = dwarf_dieoffset(&cu);
	if (!u64map_get(&c->cus_done, cuoff)) {
		parents_walk(c, &cu, 0);
		if (u64map_put(&c->cus_done, cuoff, (void *)1))
			c->oom = true;
	}
	uint64_t off = (uintptr_t)u64map_get(&c->parents, dwarf_dieoffset(d));
	for (int i = 0; off && i < MAX_SCOPES; i++) {
		if (!dwarf_offdie(c->dbg, off - 1, &p))
			break;
		const char *pn = dwarf_diename(&p);
		if (!pn)
			pn = dwarf_tag(&p) == DW_TAG_namespace ? "(anonymous namespace)" : "{...}";
		char *n = NULL;
		if (asprintf(&n, "%s::%s", pn, q ? q : name) < 0)
			n = NULL;
		free(q);
		q = n;
		if (!q)
			break;
		off = (uintptr_t)u64map_get(&c->parents, off - 1);
	}
	return q ? dw_own(c, q) : name;
}

/* GCC's base type names, as C programmers write them */
static const char *base_name(const char *n)
{
	static const char *const map[][2] = {
		{ "long int", "long" },
		{ "long unsigned int", "unsigned long" },
		{ "short int", "short" },
		{ "short unsigned int", "unsigned short" },
		{ "long long int", "long long" },
		{ "long long unsigned int", "unsigned long long" },
		{ "__int128 unsigned", "unsigned __int128" },
	};
	for (size_t i = 0; n && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(n, map[i][0]))
			return map[i][1];
	return n;
}

static uint32_t die_size(Dwarf_Die *d)
{
	Dwarf_Word w;
	if (dwarf_aggregate_size(d, &w) != 0 || w > UINT32_MAX)
		return 0;
	return (uint32_t)w;
}

static const struct vtype *conv(struct dwarf_ctx *c, Dwarf_Die *d, int depth);

/* the type a DIE's DW_AT_type names; NULL: void */
const struct vtype *dw_type_of(struct dwarf_ctx *c, Dwarf_Die *d, int depth)
{
	Dwarf_Attribute a;
	Dwarf_Die t;

	if (!dwarf_attr_integrate(d, DW_AT_type, &a))
		return NULL;
	if (!dwarf_formref_die(&a, &t))
		return &unknown_type;
	return conv(c, &t, depth + 1);
}

/* children of d with tag a or b, at most max: how many entries to allocate */
static uint32_t count_children(Dwarf_Die *d, int a, int b, uint32_t max)
{
	Dwarf_Die ch;
	uint32_t n = 0;

	if (dwarf_child(d, &ch) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&ch);
		n += tag == a || tag == b;
	} while (n < max && dwarf_siblingof(&ch, &ch) == 0);
	return n;
}

static bool member_offset(Dwarf_Die *m, uint64_t *off)
{
	Dwarf_Attribute a;
	Dwarf_Word w;
	Dwarf_Op *ops;
	size_t nops;

	*off = 0;
	if (!dwarf_attr(m, DW_AT_data_member_location, &a))
		return true; /* union members */
	if (dwarf_formudata(&a, &w) == 0) {
		*off = w;
		return true;
	}
	/* DWARF 2 style expression: only a plain offset is a fixed position
	 * (virtual bases are not) */
	if (dwarf_getlocation(&a, &ops, &nops) == 0 && nops == 1 &&
	    ops[0].atom == DW_OP_plus_uconst) {
		*off = ops[0].number;
		return true;
	}
	return false;
}

static void conv_members(struct dwarf_ctx *c, Dwarf_Die *d, struct vtype *t, int depth)
{
	Dwarf_Die ch;
	struct vmember *ms;
	uint32_t n = 0;

	uint32_t max = count_children(d, DW_TAG_member, DW_TAG_inheritance, MAX_MEMBERS);

	if (max == 0 || dwarf_child(d, &ch) != 0)
		return;
	ms = dw_own(c, calloc(max, sizeof(*ms)));
	if (!ms)
		return;
	do {
		int tag = dwarf_tag(&ch);
		Dwarf_Attribute a;
		Dwarf_Word w;
		uint64_t off;

		if ((tag != DW_TAG_member && tag != DW_TAG_inheritance) ||
		    dwarf_hasattr(&ch, DW_AT_declaration) || dwarf_hasattr(&ch, DW_AT_external))
			continue; /* static members, member functions, nested types */
		if (!member_offset(&ch, &off))
			continue;
		struct vmember *m = &ms[n];
		m->name = tag == DW_TAG_member ? dwarf_diename(&ch) : NULL;
		m->is_base = tag == DW_TAG_inheritance;
		m->type = dw_type_of(c, &ch, depth);
		m->offset = off;
		if (dwarf_attr(&ch, DW_AT_bit_size, &a) && dwarf_formudata(&a, &w) == 0 && w &&
		    w <= 64) {
			uint64_t bits;
			m->bit_size = (uint32_t)w;
			if (dwarf_attr(&ch, DW_AT_data_bit_offset, &a) &&
			    dwarf_formudata(&a, &w) == 0) {
				bits = w;
			} else if (dwarf_attr(&ch, DW_AT_bit_offset, &a) &&
				   dwarf_formudata(&a, &w) == 0) {
				/* DWARF 2/3: from the storage unit's most significant bit */
				Dwarf_Word unit;
				if (!(dwarf_attr(&ch, DW_AT_byte_size, &a) &&
				      dwarf_formudata(&a, &unit) == 0)) {
					const struct vtype *mt = vtype_strip(m->type);
					unit = mt ? mt->size : 0;
				}
				if (unit * 8 < w + m->bit_size)
					continue;
				bits = off * 8 + unit * 8 - w - m->bit_size;
			} else {
				bits = off * 8;
			}
			m->offset = bits / 8;
			m->bit_offset = (uint32_t)(bits % 8);
		}
		n++;
	} while (n < max && dwarf_siblingof(&ch, &ch) == 0);
	t->members = ms;
	t->nmembers = n;
}

static int64_t enum_value(Dwarf_Attribute *a, bool is_signed)
{
	Dwarf_Word u = 0;
	Dwarf_Sword s = 0;
	unsigned bits;

	switch (dwarf_whatform(a)) {
	case DW_FORM_sdata:
	case DW_FORM_implicit_const: dwarf_formsdata(a, &s); return s;
	case DW_FORM_data1: bits = 8; break;
	case DW_FORM_data2: bits = 16; break;
	case DW_FORM_data4: bits = 32; break;
	default: bits = 64; break;
	}
	dwarf_formudata(a, &u);
	if (is_signed && bits < 64 && (u >> (bits - 1) & 1))
		u |= ~0ull << bits;
	return (int64_t)u;
}

static void conv_enum(struct dwarf_ctx *c, Dwarf_Die *d, struct vtype *t, int depth)
{
	Dwarf_Die ch;
	Dwarf_Attribute a;
	Dwarf_Word enc;
	struct venum *es;
	uint32_t n = 0;

	t->target = dw_type_of(c, d, depth);
	const struct vtype *u = vtype_strip(t->target);
	if (u)
		t->is_signed = u->kind == VT_INT || (u->kind == VT_CHAR && u->is_signed);
	else if (dwarf_attr(d, DW_AT_encoding, &a) && dwarf_formudata(&a, &enc) == 0)
		t->is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
	uint32_t max = count_children(d, DW_TAG_enumerator, DW_TAG_enumerator, MAX_ENUMS);
	if (max == 0 || dwarf_child(d, &ch) != 0)
		return;
	es = dw_own(c, calloc(max, sizeof(*es)));
	if (!es)
		return;
	do {
		if (dwarf_tag(&ch) != DW_TAG_enumerator || !dwarf_attr(&ch, DW_AT_const_value, &a))
			continue;
		es[n].name = dwarf_diename(&ch);
		es[n].value = enum_value(&a, t->is_signed);
		n++;
	} while (n < max && dwarf_siblingof(&ch, &ch) == 0);
	t->enumerators = es;
	t->nmembers = n;
}

static uint32_t subrange_count(Dwarf_Die *sr)
{
	Dwarf_Attribute a;
	Dwarf_Word w, lo = 0;

	if (dwarf_attr(sr, DW_AT_count, &a))
		return dwarf_formudata(&a, &w) == 0 && w <= UINT32_MAX ? (uint32_t)w : 0;
	if (!dwarf_attr(sr, DW_AT_upper_bound, &a) || dwarf_formudata(&a, &w) != 0)
		return 0; /* flexible or variable length */
	if (dwarf_attr(sr, DW_AT_lower_bound, &a) && dwarf_formudata(&a, &lo) != 0)
		return 0;
	return w >= lo && w - lo < UINT32_MAX ? (uint32_t)(w - lo + 1) : 0;
}

static void conv_array(struct dwarf_ctx *c, Dwarf_Die *d, struct vtype *t, int depth)
{
	uint32_t dims[8], nd = 0;
	Dwarf_Die ch;
	const struct vtype *elem = dw_type_of(c, d, depth);

	if (dwarf_child(d, &ch) == 0) {
		do {
			if (dwarf_tag(&ch) == DW_TAG_subrange_type && nd < 8)
				dims[nd++] = subrange_count(&ch);
		} while (dwarf_siblingof(&ch, &ch) == 0);
	}
	if (nd == 0)
		dims[nd++] = 0;
	/* int a[2][3]: an array of 2 arrays of 3 */
	for (uint32_t i = nd; i-- > 1;) {
		struct vtype *in = dw_own(c, calloc(1, sizeof(*in)));
		const struct vtype *es = vtype_strip(elem);
		if (!in)
			return;
		in->kind = VT_ARRAY;
		in->count = dims[i];
		in->target = elem;
		in->cxx = t->cxx;
		in->size =
			es && (uint64_t)es->size * dims[i] <= UINT32_MAX ? es->size * dims[i] : 0;
		elem = in;
	}
	t->count = dims[0];
	t->target = elem;
	const struct vtype *es = vtype_strip(elem);
	if (!t->size && es && (uint64_t)es->size * dims[0] <= UINT32_MAX)
		t->size = es->size * dims[0];
}

static void conv_func(struct dwarf_ctx *c, Dwarf_Die *d, struct vtype *t, int depth)
{
	Dwarf_Die ch;
	const struct vtype **ps;
	uint32_t n = 0;

	t->target = dw_type_of(c, d, depth);
	t->prototyped = dwarf_hasattr(d, DW_AT_prototyped);
	t->size = 0;
	uint32_t max =
		count_children(d, DW_TAG_formal_parameter, DW_TAG_formal_parameter, MAX_PARAMS);
	t->varargs =
		count_children(d, DW_TAG_unspecified_parameters, DW_TAG_unspecified_parameters, 1);
	if (max == 0 || dwarf_child(d, &ch) != 0)
		return;
	ps = dw_own(c, calloc(max, sizeof(*ps)));
	if (!ps)
		return;
	do {
		if (dwarf_tag(&ch) == DW_TAG_formal_parameter)
			ps[n++] = dw_type_of(c, &ch, depth);
	} while (n < max && dwarf_siblingof(&ch, &ch) == 0);
	t->params = (const struct vtype *const *)ps;
	t->count = n;
}

static void conv_base(Dwarf_Die *d, struct vtype *t)
{
	Dwarf_Attribute a;
	Dwarf_Word enc = 0;

	t->name = base_name(t->name);
	if (dwarf_attr(d, DW_AT_encoding, &a))
		dwarf_formudata(&a, &enc);
	switch (enc) {
	case DW_ATE_boolean: t->kind = VT_BOOL; break;
	case DW_ATE_signed: t->kind = VT_INT; break;
	case DW_ATE_unsigned:
	case DW_ATE_UTF:
		/* char8_t is a character type too: its pointers are strings */
		t->kind = t->size == 1 && enc == DW_ATE_UTF ? VT_CHAR : VT_UINT;
		break;
	case DW_ATE_signed_char:
	case DW_ATE_unsigned_char:
		t->kind = t->size == 1 ? VT_CHAR : enc == DW_ATE_signed_char ? VT_INT : VT_UINT;
		t->is_signed = enc == DW_ATE_signed_char;
		break;
	case DW_ATE_float: t->kind = VT_FLOAT; break;
	case DW_ATE_complex_float: t->kind = VT_COMPLEX; break;
	default:
		t->kind = VT_UNKNOWN; /* fixed point, decimal float, ... */
		break;
	}
}

static const struct vtype *conv(struct dwarf_ctx *c, Dwarf_Die *d, int depth)
{
	uint64_t key = dw_die_key(c, d);
	struct vtype *t = u64map_get(&c->types, key);

	if (t)
		return t;
	if (depth > CONV_DEPTH || c->oom)
		return &unknown_type;
	t = dw_own(c, calloc(1, sizeof(*t)));
	if (!t || u64map_put(&c->types, key, t)) {
		c->oom = true;
		return &unknown_type;
	}
	/* cached before its parts: a type that refers to itself ends here */
	t->cxx = dw_is_cxx(d);
	t->name = dwarf_diename(d);
	t->size = die_size(d);
	switch (dwarf_tag(d)) {
	case DW_TAG_base_type: conv_base(d, t); break;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		t->kind = dwarf_tag(d) == DW_TAG_pointer_type	? VT_POINTER :
			  dwarf_tag(d) == DW_TAG_reference_type ? VT_REF :
								  VT_RVREF;
		if (!t->size)
			t->size = 8;
		t->target = dw_type_of(c, d, depth);
		break;
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
	case DW_TAG_restrict_type:
	case DW_TAG_atomic_type:
		t->kind = VT_QUAL;
		t->quals = dwarf_tag(d) == DW_TAG_const_type	? VTQ_CONST :
			   dwarf_tag(d) == DW_TAG_volatile_type ? VTQ_VOLATILE :
			   dwarf_tag(d) == DW_TAG_restrict_type ? VTQ_RESTRICT :
								  VTQ_ATOMIC;
		t->target = dw_type_of(c, d, depth);
		t->size = t->target ? t->target->size : 0;
		break;
	case DW_TAG_typedef:
		t->kind = VT_TYPEDEF;
		t->name = t->cxx ? qualify(c, d, t->name) : t->name;
		t->target = dw_type_of(c, d, depth);
		t->size = t->target ? t->target->size : 0;
		break;
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
		t->kind = dwarf_tag(d) == DW_TAG_union_type ? VT_UNION : VT_STRUCT;
		t->is_class = dwarf_tag(d) == DW_TAG_class_type;
		t->name = t->cxx ? qualify(c, d, t->name) : t->name;
		if (dwarf_hasattr(d, DW_AT_declaration))
			t->size = 0; /* opaque here */
		else
			conv_members(c, d, t, depth);
		break;
	case DW_TAG_enumeration_type:
		t->kind = VT_ENUM;
		t->name = t->cxx ? qualify(c, d, t->name) : t->name;
		conv_enum(c, d, t, depth);
		break;
	case DW_TAG_array_type:
		t->kind = VT_ARRAY;
		conv_array(c, d, t, depth);
		break;
	case DW_TAG_subroutine_type:
		t->kind = VT_FUNC;
		conv_func(c, d, t, depth);
		break;
	case DW_TAG_unspecified_type:
		if (t->name && !strcmp(t->name, "decltype(nullptr)")) {
			t->kind = VT_NULLPTR;
			t->size = 8;
		} else {
			t->kind = VT_UNKNOWN;
		}
		break;
	default: /* pointers to members, string types, ... */
		t->kind = VT_UNKNOWN;
		t->name = NULL;
		break;
	}
	return t;
}

const struct vtype *dw_ref_to(struct dwarf_ctx *c, const struct vtype *t)
{
	struct vtype *r = dw_own(c, calloc(1, sizeof(*r)));
	if (!r)
		return NULL;
	r->kind = VT_REF;
	r->size = 8;
	r->target = t;
	r->cxx = true;
	return r;
}
