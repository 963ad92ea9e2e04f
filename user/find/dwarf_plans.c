/* Capture plans from DWARF (see dwarf_plans.h).
 *
 * The DWARF is the target's, so untrusted: libdw bounds-checks the parsing;
 * here every walk is bounded (scope and type nesting, chains of origins), types
 * are cached before their parts are converted (cycles end), and any location
 * expression outside the small set understood below is reported as
 * unsupported rather than approximated. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dwarf.h>
#include <elfutils/known-dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "find/dwarf_plans.h"

#define MAX_SCOPES 64     /* nested blocks and inlined calls under one function */
#define CONV_DEPTH 48     /* type nesting converted (pointer -> struct -> member ...) */
#define MAX_MEMBERS 512
#define MAX_ENUMS 4096
#define MAX_PARAMS 64
#define ORIGIN_HOPS 8
#define EVAL_STACK 8
#define REG_NONE 0xff     /* sval: an absolute address, no base register */

struct omap {                     /* uint64 -> pointer, open addressing */
	uint64_t *keys;           /* key + 1; 0: empty */
	void **vals;
	size_t cap, n;
};

struct func_range {
	uint64_t lo, hi;
	Dwarf_Off die;
};

struct dwarf_ctx {
	int fd, dfd;
	Elf *elf, *delf;          /* the file; the separate debug file (or NULL) */
	Dwarf *dbg;
	Dwarf_CFI *eh_cfi;        /* the file's .eh_frame (ours to end) */
	Dwarf_CFI *dbg_cfi;       /* .debug_frame (owned by dbg) */
	struct func_range *funcs; /* every DW_TAG_subprogram range, sorted by lo */
	size_t nfuncs, capfuncs;
	struct omap types;        /* type DIE -> struct vtype */
	struct omap parents;      /* C++: DIE -> enclosing namespace/class DIE + 1 */
	struct omap cus_done;     /* CUs whose parents are in `parents` */
	void **allocs;            /* everything the vtypes point to */
	size_t nallocs, capallocs;
	bool oom;
};

static const struct vtype unknown_type = { .kind = VT_UNKNOWN, .name = "?" };

static void seterr(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* ---- small helpers: map, ownership ---- */

static uint64_t mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

static void *omap_get(const struct omap *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = mix64(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == 0)
			return NULL;
		if (m->keys[i] == key + 1)
			return m->vals[i];
	}
}

static bool omap_put(struct omap *m, uint64_t key, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		uint64_t *nk = calloc(ncap, sizeof(*nk));
		void **nv = calloc(ncap, sizeof(*nv));
		if (!nk || !nv) {
			free(nk);
			free(nv);
			return false;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			size_t j = mix64(m->keys[i] - 1) & (ncap - 1);
			while (nk[j])
				j = (j + 1) & (ncap - 1);
			nk[j] = m->keys[i];
			nv[j] = m->vals[i];
		}
		free(m->keys);
		free(m->vals);
		m->keys = nk;
		m->vals = nv;
		m->cap = ncap;
	}
	size_t i = mix64(key) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != key + 1)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = key + 1;
	m->vals[i] = val;
	return true;
}

static void omap_free(struct omap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* p becomes the context's (freed with it); NULL when p is NULL or on failure */
static void *own(struct dwarf_ctx *c, void *p)
{
	if (!p) {
		c->oom = true;
		return NULL;
	}
	if (c->nallocs == c->capallocs) {
		size_t ncap = c->capallocs ? c->capallocs * 2 : 256;
		void **n = realloc(c->allocs, ncap * sizeof(*n));
		if (!n) {
			free(p);
			c->oom = true;
			return NULL;
		}
		c->allocs = n;
		c->capallocs = ncap;
	}
	c->allocs[c->nallocs++] = p;
	return p;
}

static const char *op_name(unsigned atom)
{
	switch (atom) {
#define DWARF_ONE_KNOWN_DW_OP(NAME, CODE) case CODE: return "DW_OP_" #NAME;
	DWARF_ALL_KNOWN_DW_OP
#undef DWARF_ONE_KNOWN_DW_OP
	}
	return NULL;
}

/* DIEs keyed by offset, with a bit for each other offset space: a
 * supplementary (dwz) file, and type units (DWARF 4 puts them in .debug_types) */
static uint64_t die_key(const struct dwarf_ctx *c, Dwarf_Die *d)
{
	uint64_t off = dwarf_dieoffset(d);
	uint8_t ut = 0;

	if (dwarf_cu_getdwarf(d->cu) != c->dbg)
		off |= 1ull << 63;
	if (dwarf_cu_info(d->cu, NULL, &ut, NULL, NULL, NULL, NULL, NULL) == 0 &&
	    (ut == DW_UT_type || ut == DW_UT_split_type))
		off |= 1ull << 62;
	return off;
}

static bool ref_die(Dwarf_Die *d, int at, Dwarf_Die *out)
{
	Dwarf_Attribute a;
	return dwarf_attr(d, at, &a) && dwarf_formref_die(&a, out);
}

/* ---- opening, function index ---- */

static int cmp_range(const void *a, const void *b)
{
	const struct func_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void add_ranges(struct dwarf_ctx *c, Dwarf_Die *die)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t o = 0;

	while ((o = dwarf_ranges(die, o, &base, &lo, &hi)) > 0) {
		if (hi <= lo)
			continue;
		if (c->nfuncs == c->capfuncs) {
			size_t ncap = c->capfuncs ? c->capfuncs * 2 : 256;
			struct func_range *n = realloc(c->funcs, ncap * sizeof(*n));
			if (!n) {
				c->oom = true;
				return;
			}
			c->funcs = n;
			c->capfuncs = ncap;
		}
		c->funcs[c->nfuncs++] = (struct func_range){ lo, hi, dwarf_dieoffset(die) };
	}
}

/* Subprograms sit at CU level, in namespaces, and (GCC nested functions)
 * inside other subprograms and their blocks. */
static void index_walk(struct dwarf_ctx *c, Dwarf_Die *parent, int depth)
{
	Dwarf_Die ch;

	if (depth > MAX_SCOPES || dwarf_child(parent, &ch) != 0)
		return;
	do {
		switch (dwarf_tag(&ch)) {
		case DW_TAG_subprogram:
			add_ranges(c, &ch);
			/* fall through */
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_lexical_block:
			index_walk(c, &ch, depth + 1);
			break;
		default:
			break;
		}
	} while (!c->oom && dwarf_siblingof(&ch, &ch) == 0);
}

static int index_funcs(struct dwarf_ctx *c)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	uint8_t unit_type;
	bool any = false;

	while (dwarf_get_units(c->dbg, cu, &cu, NULL, &unit_type, &cudie, NULL) == 0) {
		if (unit_type == DW_UT_type || unit_type == DW_UT_split_type)
			continue;
		any = true;
		index_walk(c, &cudie, 0);
		if (c->oom)
			return -ENOMEM;
	}
	if (c->nfuncs)
		qsort(c->funcs, c->nfuncs, sizeof(*c->funcs), cmp_range);
	return any ? 0 : -ENODATA;
}

/* The index of the first function range starting past pc (they are sorted
 * by start). */
static size_t funcs_after(const struct dwarf_ctx *c, uint64_t pc)
{
	size_t lo = 0, hi = c->nfuncs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->funcs[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The innermost DW_TAG_subprogram whose ranges hold pc. */
static bool find_func(struct dwarf_ctx *c, uint64_t pc, Dwarf_Die *out)
{
	size_t lo = funcs_after(c, pc);

	/* ranges of distinct functions do not overlap, but a few entries back
	 * may still be the right one when several share a start */
	for (size_t i = lo, k = 0; i-- > 0 && k < 16; k++)
		if (pc < c->funcs[i].hi)
			return dwarf_offdie(c->dbg, c->funcs[i].die, out) != NULL;
	return false;
}

static bool has_units(Dwarf *dbg)
{
	Dwarf_CU *cu = NULL;
	return dwarf_get_units(dbg, NULL, &cu, NULL, NULL, NULL, NULL) == 0;
}

/* the separate debug file of a stripped file, by build-id */
static void open_debuglink(struct dwarf_ctx *c)
{
	const unsigned char *id;
	char path[512];
	ssize_t n = dwelf_elf_gnu_build_id(c->elf, (const void **)&id);
	int o;

	if (n < 2 || n > 64)
		return;
	o = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", id[0]);
	for (ssize_t i = 1; i < n; i++)
		o += snprintf(path + o, sizeof(path) - (size_t)o, "%02x", id[i]);
	snprintf(path + o, sizeof(path) - (size_t)o, ".debug");
	c->dfd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->dfd < 0)
		return;
	c->delf = elf_begin(c->dfd, ELF_C_READ_MMAP, NULL);
	if (c->delf && elf_kind(c->delf) == ELF_K_ELF)
		c->dbg = dwarf_begin_elf(c->delf, DWARF_C_READ, NULL);
	if (c->dbg && !has_units(c->dbg)) {
		dwarf_end(c->dbg);
		c->dbg = NULL;
	}
}

int dwarf_ctx_open(const char *path, struct dwarf_ctx **out, char *err, size_t errlen)
{
	struct dwarf_ctx *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->fd = c->dfd = -1;
	elf_version(EV_CURRENT);
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0) {
		rc = -errno;
		seterr(err, errlen, "cannot open %s: %s", path, strerror(-rc));
		goto fail;
	}
	c->elf = elf_begin(c->fd, ELF_C_READ_MMAP, NULL);
	if (!c->elf || elf_kind(c->elf) != ELF_K_ELF) {
		rc = -ENOEXEC;
		seterr(err, errlen, "%s: not an ELF file", path);
		goto fail;
	}
	c->dbg = dwarf_begin_elf(c->elf, DWARF_C_READ, NULL);
	if (c->dbg && !has_units(c->dbg)) {
		dwarf_end(c->dbg);
		c->dbg = NULL;
	}
	if (!c->dbg)
		open_debuglink(c);
	if (!c->dbg) {
		rc = -ENODATA;
		seterr(err, errlen, "%s: no debug info (DWARF)", path);
		goto fail;
	}
	c->eh_cfi = dwarf_getcfi_elf(c->elf);
	c->dbg_cfi = dwarf_getcfi(c->dbg);
	rc = index_funcs(c);
	if (rc == -ENOMEM) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	if (rc) {
		seterr(err, errlen, "%s: no debug info (DWARF compile units)", path);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	dwarf_ctx_free(c);
	return rc;
}

void dwarf_ctx_free(struct dwarf_ctx *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nallocs; i++)
		free(c->allocs[i]);
	free(c->allocs);
	omap_free(&c->types);
	omap_free(&c->parents);
	omap_free(&c->cus_done);
	free(c->funcs);
	if (c->eh_cfi)
		dwarf_cfi_end(c->eh_cfi);
	if (c->dbg)
		dwarf_end(c->dbg);
	if (c->delf)
		elf_end(c->delf);
	if (c->elf)
		elf_end(c->elf);
	if (c->dfd >= 0)
		close(c->dfd);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* ---- types ---- */

static bool is_cxx(Dwarf_Die *d)
{
	Dwarf_Die cu;
	if (!dwarf_diecu(d, &cu, NULL, NULL))
		return false;
	switch (dwarf_srclang(&cu)) {
	case DW_LANG_C_plus_plus:
	case DW_LANG_C_plus_plus_03:
	case DW_LANG_C_plus_plus_11:
	case DW_LANG_C_plus_plus_14:
	case DW_LANG_ObjC_plus_plus:
		return true;
	default:
		return false;
	}
}

static void parents_walk(struct dwarf_ctx *c, Dwarf_Die *parent, int depth)
{
	Dwarf_Die ch;
	uint64_t poff = dwarf_dieoffset(parent);
	bool scope = dwarf_tag(parent) != DW_TAG_compile_unit && dwarf_tag(parent) != DW_TAG_partial_unit;

	if (depth > MAX_SCOPES || dwarf_child(parent, &ch) != 0)
		return;
	do {
		if (scope && !omap_put(&c->parents, dwarf_dieoffset(&ch), (void *)(uintptr_t)(poff + 1))) {
			c->oom = true;
			return;
		}
		switch (dwarf_tag(&ch)) {
		case DW_TAG_namespace:
		case DW_TAG_structure_type:
		case DW_TAG_class_type:
		case DW_TAG_union_type:
			parents_walk(c, &ch, depth + 1);
			break;
		default:
			break;
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
	if (!omap_get(&c->cus_done, cuoff)) {
		parents_walk(c, &cu, 0);
		if (!omap_put(&c->cus_done, cuoff, (void *)1))
			c->oom = true;
	}
	uint64_t off = (uintptr_t)omap_get(&c->parents, dwarf_dieoffset(d));
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
		off = (uintptr_t)omap_get(&c->parents, off - 1);
	}
	return q ? own(c, q) : name;
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
static const struct vtype *conv_type_of(struct dwarf_ctx *c, Dwarf_Die *d, int depth)
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
	ms = own(c, calloc(max, sizeof(*ms)));
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
		m->type = conv_type_of(c, &ch, depth);
		m->offset = off;
		if (dwarf_attr(&ch, DW_AT_bit_size, &a) && dwarf_formudata(&a, &w) == 0 && w && w <= 64) {
			uint64_t bits;
			m->bit_size = (uint32_t)w;
			if (dwarf_attr(&ch, DW_AT_data_bit_offset, &a) && dwarf_formudata(&a, &w) == 0) {
				bits = w;
			} else if (dwarf_attr(&ch, DW_AT_bit_offset, &a) && dwarf_formudata(&a, &w) == 0) {
				/* DWARF 2/3: from the storage unit's most significant bit */
				Dwarf_Word unit;
				if (!(dwarf_attr(&ch, DW_AT_byte_size, &a) && dwarf_formudata(&a, &unit) == 0)) {
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
	case DW_FORM_implicit_const:
		dwarf_formsdata(a, &s);
		return s;
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

	t->target = conv_type_of(c, d, depth);
	const struct vtype *u = vtype_strip(t->target);
	if (u)
		t->is_signed = u->kind == VT_INT || (u->kind == VT_CHAR && u->is_signed);
	else if (dwarf_attr(d, DW_AT_encoding, &a) && dwarf_formudata(&a, &enc) == 0)
		t->is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
	uint32_t max = count_children(d, DW_TAG_enumerator, DW_TAG_enumerator, MAX_ENUMS);
	if (max == 0 || dwarf_child(d, &ch) != 0)
		return;
	es = own(c, calloc(max, sizeof(*es)));
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
	const struct vtype *elem = conv_type_of(c, d, depth);

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
		struct vtype *in = own(c, calloc(1, sizeof(*in)));
		const struct vtype *es = vtype_strip(elem);
		if (!in)
			return;
		in->kind = VT_ARRAY;
		in->count = dims[i];
		in->target = elem;
		in->cxx = t->cxx;
		in->size = es && (uint64_t)es->size * dims[i] <= UINT32_MAX ? es->size * dims[i] : 0;
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

	t->target = conv_type_of(c, d, depth);
	t->prototyped = dwarf_hasattr(d, DW_AT_prototyped);
	t->size = 0;
	uint32_t max = count_children(d, DW_TAG_formal_parameter, DW_TAG_formal_parameter, MAX_PARAMS);
	t->varargs = count_children(d, DW_TAG_unspecified_parameters, DW_TAG_unspecified_parameters, 1);
	if (max == 0 || dwarf_child(d, &ch) != 0)
		return;
	ps = own(c, calloc(max, sizeof(*ps)));
	if (!ps)
		return;
	do {
		if (dwarf_tag(&ch) == DW_TAG_formal_parameter)
			ps[n++] = conv_type_of(c, &ch, depth);
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
	case DW_ATE_boolean:
		t->kind = VT_BOOL;
		break;
	case DW_ATE_signed:
		t->kind = VT_INT;
		break;
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
	case DW_ATE_float:
		t->kind = VT_FLOAT;
		break;
	case DW_ATE_complex_float:
		t->kind = VT_COMPLEX;
		break;
	default:
		t->kind = VT_UNKNOWN; /* fixed point, decimal float, ... */
		break;
	}
}

static const struct vtype *conv(struct dwarf_ctx *c, Dwarf_Die *d, int depth)
{
	uint64_t key = die_key(c, d);
	struct vtype *t = omap_get(&c->types, key);

	if (t)
		return t;
	if (depth > CONV_DEPTH || c->oom)
		return &unknown_type;
	t = own(c, calloc(1, sizeof(*t)));
	if (!t || !omap_put(&c->types, key, t)) {
		c->oom = true;
		return &unknown_type;
	}
	/* cached before its parts: a type that refers to itself ends here */
	t->cxx = is_cxx(d);
	t->name = dwarf_diename(d);
	t->size = die_size(d);
	switch (dwarf_tag(d)) {
	case DW_TAG_base_type:
		conv_base(d, t);
		break;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		t->kind = dwarf_tag(d) == DW_TAG_pointer_type ? VT_POINTER :
			  dwarf_tag(d) == DW_TAG_reference_type ? VT_REF : VT_RVREF;
		if (!t->size)
			t->size = 8;
		t->target = conv_type_of(c, d, depth);
		break;
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
	case DW_TAG_restrict_type:
	case DW_TAG_atomic_type:
		t->kind = VT_QUAL;
		t->quals = dwarf_tag(d) == DW_TAG_const_type ? VTQ_CONST :
			   dwarf_tag(d) == DW_TAG_volatile_type ? VTQ_VOLATILE :
			   dwarf_tag(d) == DW_TAG_restrict_type ? VTQ_RESTRICT : VTQ_ATOMIC;
		t->target = conv_type_of(c, d, depth);
		t->size = t->target ? t->target->size : 0;
		break;
	case DW_TAG_typedef:
		t->kind = VT_TYPEDEF;
		t->name = t->cxx ? qualify(c, d, t->name) : t->name;
		t->target = conv_type_of(c, d, depth);
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

/* ---- locations ---- */

enum { SV_CONST, SV_REG, SV_LOAD };

struct sval {             /* a symbolic DWARF stack entry */
	uint8_t kind;     /* CONST: k; REG: reg + k; LOAD: size bytes at (reg + k) */
	uint8_t reg;      /* REG_NONE: no register (LOAD from an absolute address) */
	uint8_t size;
	uint8_t flags;    /* CTRACE_PIECE_BIAS: k is a link-time address */
	int64_t k;
};

struct eval {
	struct dwarf_ctx *c;
	uint64_t pc;
	Dwarf_Die *frame;        /* the subprogram whose frame the pc is in */
	bool site;               /* at a hook call: rdi and rsi are the hook's */
	bool entry;              /* at the function's first instruction */
	Dwarf_Attribute *attr;   /* the attribute the ops came from */
	char *why;
	size_t whylen;
};

static bool why(struct eval *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool why(struct eval *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->why, e->whylen, fmt, ap);
	va_end(ap);
	return false;
}

static const char *const reg_names[17] = {
	"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "the return address",
};

/* Can the BPF side read DWARF register reg (as a value, or as a base when
 * based is true)? */
static bool reg_ok(struct eval *e, uint64_t reg, bool based)
{
	const char *in = based ? "addressed through" : "in";

	if (e->site && (reg == 4 || reg == 5))
		return why(e, "%s %s, which holds the hook's %s argument at the hook call", in,
			   reg_names[reg], reg == 5 ? "this_fn" : "call_site");
	if (reg < 16)
		return true;
	if (reg >= 17 && reg <= 32)
		return why(e, "%s xmm%u: BPF cannot read vector registers", in, (unsigned)(reg - 17));
	if (reg >= 33 && reg <= 40)
		return why(e, "%s st(%u): BPF cannot read x87 registers", in, (unsigned)(reg - 33));
	if (reg >= 41 && reg <= 48)
		return why(e, "%s mm%u: BPF cannot read MMX registers", in, (unsigned)(reg - 41));
	return why(e, "%s DWARF register %llu: BPF cannot read it", in, (unsigned long long)reg);
}

static bool unsupported(struct eval *e, const Dwarf_Op *op)
{
	const char *n = op_name(op->atom);
	if (n)
		return why(e, "unsupported DWARF expression (%s)", n);
	return why(e, "unsupported DWARF expression (DW_OP 0x%x)", op->atom);
}

static bool run_ops(struct eval *e, const Dwarf_Op *ops, size_t n, struct sval *st, int *sp,
		    bool in_frame_base);

/* The frame's CFA at pc, from .eh_frame or .debug_frame. */
static bool cfa_at(struct eval *e, struct sval *out)
{
	Dwarf_CFI *cfis[2] = { e->c->eh_cfi, e->c->dbg_cfi };
	Dwarf_Frame *fr = NULL;
	Dwarf_Op *ops;
	size_t nops;
	struct sval st[EVAL_STACK];
	int sp = 0;
	bool ok;

	for (int i = 0; i < 2 && !fr; i++)
		if (cfis[i] && dwarf_cfi_addrframe(cfis[i], e->pc, &fr) != 0)
			fr = NULL;
	if (!fr)
		return why(e, "no call frame information (CFI) at 0x%llx", (unsigned long long)e->pc);
	if (dwarf_frame_cfa(fr, &ops, &nops) != 0 || nops == 0) {
		free(fr);
		return why(e, "the CFA is unknown at 0x%llx", (unsigned long long)e->pc);
	}
	ok = run_ops(e, ops, nops, st, &sp, true);
	free(fr);
	if (!ok)
		return false;
	if (sp != 1 || st[0].kind != SV_REG)
		return why(e, "the frame address is computed from memory (realigned stack)");
	*out = st[0];
	return true;
}

/* DW_AT_frame_base of the enclosing subprogram, at pc: a register + offset. */
static bool frame_base(struct eval *e, struct sval *out)
{
	Dwarf_Attribute a;
	Dwarf_Op *ops;
	size_t nops;
	int n;

	if (!e->frame || !dwarf_attr_integrate(e->frame, DW_AT_frame_base, &a))
		return why(e, "DW_OP_fbreg without a frame base");
	n = dwarf_getlocation_addr(&a, e->pc, &ops, &nops, 1);
	if (n <= 0 || nops == 0)
		return why(e, "frame base unknown at 0x%llx", (unsigned long long)e->pc);
	if (nops == 1 && ops[0].atom == DW_OP_call_frame_cfa)
		return cfa_at(e, out);
	if (nops == 1 && ops[0].atom >= DW_OP_reg0 && ops[0].atom <= DW_OP_reg31) {
		if (!reg_ok(e, ops[0].atom - DW_OP_reg0, true))
			return false;
		*out = (struct sval){ .kind = SV_REG, .reg = (uint8_t)(ops[0].atom - DW_OP_reg0) };
		return true;
	}
	if (nops == 1 && ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		if (!reg_ok(e, ops[0].atom - DW_OP_breg0, true))
			return false;
		*out = (struct sval){ .kind = SV_REG, .reg = (uint8_t)(ops[0].atom - DW_OP_breg0),
				      .k = (int64_t)ops[0].number };
		return true;
	}
	return why(e, "unsupported frame base expression (%s)",
		   op_name(ops[0].atom) ? op_name(ops[0].atom) : "?");
}

/* DWARF address arithmetic wraps (bad input must not be undefined behaviour) */
static int64_t wrap_add(int64_t a, uint64_t b)
{
	return (int64_t)((uint64_t)a + b);
}

static bool push(struct eval *e, struct sval *st, int *sp, struct sval v)
{
	if (*sp >= EVAL_STACK)
		return why(e, "DWARF expression too deep");
	st[(*sp)++] = v;
	return true;
}

/* Runs the address/value computing ops of one piece on a symbolic stack:
 * constants, register + offset, and one load from such an address. */
static bool run_ops(struct eval *e, const Dwarf_Op *ops, size_t n, struct sval *st, int *sp,
		    bool in_frame_base)
{
	for (size_t i = 0; i < n; i++) {
		const Dwarf_Op *op = &ops[i];
		unsigned atom = op->atom;
		struct sval v = { .kind = SV_CONST };

		if (atom >= DW_OP_lit0 && atom <= DW_OP_lit31) {
			v.k = atom - DW_OP_lit0;
			if (!push(e, st, sp, v))
				return false;
			continue;
		}
		if ((atom >= DW_OP_breg0 && atom <= DW_OP_breg31) || atom == DW_OP_bregx) {
			uint64_t reg = atom == DW_OP_bregx ? op->number : (uint64_t)(atom - DW_OP_breg0);
			if (!reg_ok(e, reg, true))
				return false;
			v = (struct sval){ .kind = SV_REG, .reg = (uint8_t)reg,
					   .k = (int64_t)(atom == DW_OP_bregx ? op->number2 : op->number) };
			if (!push(e, st, sp, v))
				return false;
			continue;
		}
		switch (atom) {
		case DW_OP_const1u: case DW_OP_const2u: case DW_OP_const4u: case DW_OP_const8u:
		case DW_OP_constu: case DW_OP_const1s: case DW_OP_const2s: case DW_OP_const4s:
		case DW_OP_const8s: case DW_OP_consts:
			/* libdw stores the signed forms sign-extended */
			v.k = (int64_t)op->number;
			if (!push(e, st, sp, v))
				return false;
			break;
		case DW_OP_addr:
			v.k = (int64_t)op->number;
			v.flags = CTRACE_PIECE_BIAS;
			if (!push(e, st, sp, v))
				return false;
			break;
		case DW_OP_addrx:
		case DW_OP_GNU_addr_index: {
			Dwarf_Attribute a;
			Dwarf_Addr addr;
			if (!e->attr || dwarf_getlocation_attr(e->attr, op, &a) != 0 ||
			    dwarf_formaddr(&a, &addr) != 0)
				return unsupported(e, op);
			v.k = (int64_t)addr;
			v.flags = CTRACE_PIECE_BIAS;
			if (!push(e, st, sp, v))
				return false;
			break;
		}
		case DW_OP_fbreg:
			if (in_frame_base || !frame_base(e, &v))
				return in_frame_base ? unsupported(e, op) : false;
			v.k = wrap_add(v.k, op->number);
			if (!push(e, st, sp, v))
				return false;
			break;
		case DW_OP_call_frame_cfa:
			if (in_frame_base || !cfa_at(e, &v))
				return in_frame_base ? unsupported(e, op) : false;
			if (!push(e, st, sp, v))
				return false;
			break;
		case DW_OP_plus_uconst:
			if (*sp < 1 || st[*sp - 1].kind == SV_LOAD)
				return unsupported(e, op);
			st[*sp - 1].k = wrap_add(st[*sp - 1].k, op->number);
			break;
		case DW_OP_plus:
		case DW_OP_minus: {
			if (*sp < 2)
				return unsupported(e, op);
			struct sval b = st[--*sp], *a = &st[*sp - 1];
			if (b.kind != SV_CONST || b.flags || a->kind == SV_LOAD) {
				/* reg + reg, or anything + a load: not one register and an offset */
				if (atom == DW_OP_minus || a->kind != SV_CONST || a->flags || b.kind == SV_LOAD)
					return unsupported(e, op);
				struct sval t = *a; /* const + reg: commute */
				*a = b;
				b = t;
			}
			a->k = wrap_add(a->k, atom == DW_OP_plus ? (uint64_t)b.k : -(uint64_t)b.k);
			break;
		}
		case DW_OP_deref:
		case DW_OP_deref_size: {
			if (*sp < 1 || st[*sp - 1].kind == SV_LOAD)
				return unsupported(e, op);
			struct sval *a = &st[*sp - 1];
			uint64_t size = atom == DW_OP_deref ? 8 : op->number;
			if (size == 0 || size > 8)
				return unsupported(e, op);
			if (a->kind == SV_CONST)
				a->reg = REG_NONE;
			a->kind = SV_LOAD;
			a->size = (uint8_t)size;
			break;
		}
		case DW_OP_nop:
			break;
		case DW_OP_entry_value:
		case DW_OP_GNU_entry_value:
			return why(e, "only known as the value on entry (DW_OP_entry_value)");
		case DW_OP_GNU_parameter_ref:
			return why(e, "only known in the caller (DW_OP_GNU_parameter_ref)");
		case DW_OP_implicit_pointer:
		case DW_OP_GNU_implicit_pointer:
			return why(e, "points to an optimized-out object (DW_OP_implicit_pointer)");
		default:
			if ((atom >= DW_OP_reg0 && atom <= DW_OP_reg31) || atom == DW_OP_regx)
				return why(e, "unsupported DWARF expression (a register inside an expression)");
			return unsupported(e, op);
		}
	}
	return true;
}

struct pieces {
	struct ctrace_piece p[CTRACE_MAX_PIECES];
	int n;
	uint32_t bytes;
	bool indirect;            /* the location holds the object's address */
	bool cut;
};

static bool add_piece(struct eval *e, struct pieces *ps, uint8_t kind, uint8_t reg, uint64_t size,
		      int64_t val, uint8_t flags)
{
	if (ps->n >= CTRACE_MAX_PIECES)
		return why(e, "split across more than %d locations", CTRACE_MAX_PIECES);
	if ((kind == CTRACE_LOC_REG || kind == CTRACE_LOC_CONST) && size > 8)
		return why(e, "a %llu-byte value in one %s", (unsigned long long)size,
			   kind == CTRACE_LOC_REG ? "register" : "constant");
	if (ps->bytes + size > CTRACE_VALUE_MAX) {
		if (ps->n > 0 || (kind != CTRACE_LOC_MEM && kind != CTRACE_LOC_MEM_ABS))
			return why(e, "split across locations and larger than %d bytes", CTRACE_VALUE_MAX);
		size = CTRACE_VALUE_MAX; /* a big struct in memory: its start */
		ps->cut = true;
	}
	ps->p[ps->n++] = (struct ctrace_piece){ .kind = kind, .reg = reg, .size = (uint8_t)size,
						.flags = flags, .val = val };
	ps->bytes += (uint32_t)size;
	return true;
}

/* One piece: ops[0..n) describe `size` bytes of the value. */
static bool eval_piece(struct eval *e, const Dwarf_Op *ops, size_t n, uint64_t size, bool only,
		       struct pieces *ps)
{
	struct sval st[EVAL_STACK];
	int sp = 0;
	const Dwarf_Op *last = &ops[n - 1];

	if (size == 0)
		return why(e, "a zero-sized piece");
	if (n == 1 && ((last->atom >= DW_OP_reg0 && last->atom <= DW_OP_reg31) || last->atom == DW_OP_regx)) {
		uint64_t reg = last->atom == DW_OP_regx ? last->number : (uint64_t)(last->atom - DW_OP_reg0);
		return reg_ok(e, reg, false) && add_piece(e, ps, CTRACE_LOC_REG, (uint8_t)reg, size, 0, 0);
	}
	if (last->atom == DW_OP_implicit_value) {
		Dwarf_Block b;
		uint64_t v = 0;
		if (n != 1 || !e->attr || dwarf_getlocation_implicit_value(e->attr, last, &b) != 0)
			return unsupported(e, last);
		if (b.length > 8 || b.length < size)
			return why(e, "a %llu-byte constant (DW_OP_implicit_value)",
				   (unsigned long long)b.length);
		for (size_t i = b.length; i-- > 0;)
			v = v << 8 | b.data[i];
		return add_piece(e, ps, CTRACE_LOC_CONST, 0, size, (int64_t)v, 0);
	}
	bool value = last->atom == DW_OP_stack_value;
	if (!run_ops(e, ops, value ? n - 1 : n, st, &sp, false))
		return false;
	if (sp < 1)
		return why(e, "empty DWARF expression");
	struct sval *t = &st[sp - 1];
	if (value) {
		switch (t->kind) {
		case SV_CONST:
			return add_piece(e, ps, CTRACE_LOC_CONST, 0, size, t->k, t->flags);
		case SV_REG:
			return add_piece(e, ps, CTRACE_LOC_REG, t->reg, size, t->k, 0);
		default:
			if (size > t->size)
				return why(e, "a %llu-byte value loaded with DW_OP_deref_size %u",
					   (unsigned long long)size, t->size);
			return add_piece(e, ps, t->reg == REG_NONE ? CTRACE_LOC_MEM_ABS : CTRACE_LOC_MEM,
					 t->reg == REG_NONE ? 0 : t->reg, size, t->k, t->flags);
		}
	}
	switch (t->kind) {
	case SV_REG:
		return add_piece(e, ps, CTRACE_LOC_MEM, t->reg, size, t->k, 0);
	case SV_CONST:
		return add_piece(e, ps, CTRACE_LOC_MEM_ABS, 0, size, t->k, t->flags);
	default:
		/* the object is at an address held in memory: C++ passes
		 * non-trivially-copyable classes by invisible reference */
		if (!only || t->size != 8)
			return why(e, "unsupported DWARF expression (memory at an address loaded from memory)");
		ps->indirect = true;
		return add_piece(e, ps, t->reg == REG_NONE ? CTRACE_LOC_MEM_ABS : CTRACE_LOC_MEM,
				 t->reg == REG_NONE ? 0 : t->reg, 8, t->k, t->flags);
	}
}

/* A whole location description: one piece, or pieces split by DW_OP_piece. */
static bool eval_loc(struct eval *e, const Dwarf_Op *ops, size_t n, uint32_t size, struct pieces *ps)
{
	bool has_piece = false;

	memset(ps, 0, sizeof(*ps));
	if (n == 0)
		return why(e, "optimized out at this point");
	for (size_t i = 0; i < n; i++) {
		if (ops[i].atom == DW_OP_bit_piece)
			return unsupported(e, &ops[i]);
		has_piece |= ops[i].atom == DW_OP_piece;
	}
	if (!has_piece)
		return eval_piece(e, ops, n, size, true, ps);
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].atom != DW_OP_piece)
			continue;
		if (i == start)
			return why(e, "partly optimized out (an empty DW_OP_piece)");
		if (!eval_piece(e, ops + start, i - start, ops[i].number, false, ps))
			return false;
		start = i + 1;
	}
	if (start != n)
		return why(e, "unsupported DWARF expression (ops after the last DW_OP_piece)");
	return true;
}

/* ---- sites ---- */

struct scopes {
	Dwarf_Die d[MAX_SCOPES]; /* d[0]: the subprogram; then nested blocks and inlined calls */
	int n;
};

/* The child scope of parent (an inlined call or a block) that holds pc. A
 * lexical block with no addresses of its own is looked through. */
static bool child_scope(Dwarf_Die *parent, uint64_t pc, Dwarf_Die *out, int depth)
{
	Dwarf_Die ch;

	if (depth > 8 || dwarf_child(parent, &ch) != 0)
		return false;
	do {
		int tag = dwarf_tag(&ch);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_lexical_block)
			continue;
		if (dwarf_haspc(&ch, pc) == 1) {
			*out = ch;
			return true;
		}
		if (tag == DW_TAG_lexical_block && !dwarf_hasattr(&ch, DW_AT_low_pc) &&
		    !dwarf_hasattr(&ch, DW_AT_ranges) && child_scope(&ch, pc, out, depth + 1))
			return true;
	} while (dwarf_siblingof(&ch, &ch) == 0);
	return false;
}

static void descend(Dwarf_Die *sub, uint64_t pc, struct scopes *s)
{
	Dwarf_Die ch;

	s->d[0] = *sub;
	s->n = 1;
	while (s->n < MAX_SCOPES && child_scope(&s->d[s->n - 1], pc, &ch, 0))
		s->d[s->n++] = ch;
}

/* The declaration behind concrete instances, inlined copies and out-of-line
 * definitions of one function: equal for all of them. */
static uint64_t origin_key(struct dwarf_ctx *c, Dwarf_Die *d)
{
	Dwarf_Die cur = *d, nx;

	for (int i = 0; i < ORIGIN_HOPS; i++) {
		if (!ref_die(&cur, DW_AT_abstract_origin, &nx) && !ref_die(&cur, DW_AT_specification, &nx))
			break;
		cur = nx;
	}
	return die_key(c, &cur);
}

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

static const struct vtype *ref_to(struct dwarf_ctx *c, const struct vtype *t)
{
	struct vtype *r = own(c, calloc(1, sizeof(*r)));
	if (!r)
		return NULL;
	r->kind = VT_REF;
	r->size = 8;
	r->target = t;
	r->cxx = true;
	return r;
}

static void fill_plan(struct ctrace_arg_plan *ap, const struct pieces *ps, const struct vcap_spec *spec,
		      uint32_t type_size, uint32_t deref_max)
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
		if (p->kind != CTRACE_LOC_CONST && !(p->kind == CTRACE_LOC_MEM && p->reg == CTRACE_REG_RSP && p->val >= 8))
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
		why(e, "type of unknown size");
		return;
	}
	if (!conc) {
		why(e, "optimized out");
		return;
	}
	e->attr = &a;
	if (dwarf_attr(conc, DW_AT_location, &a)) {
		n = dwarf_getlocation_addr(&a, e->pc, &ops, &nops, 1);
		if (n < 0) {
			why(e, "unreadable location: %s", dwarf_errmsg(-1));
			return;
		}
		if (n == 0) {
			why(e, "optimized out at this point");
			return;
		}
		if (!eval_loc(e, ops, nops, spec.size, &ps))
			return;
		if (e->entry && !entry_valid(&a, &ps)) {
			why(e, "valid only after the prologue (one DWARF location for the whole body)");
			return;
		}
	} else if (dwarf_attr(conc, DW_AT_const_value, &a)) {
		Dwarf_Word w = 0;
		Dwarf_Sword s = 0;
		Dwarf_Block b;
		memset(&ps, 0, sizeof(ps));
		if (dwarf_formblock(&a, &b) == 0) {
			if (b.length > 8 || b.length < spec.size) {
				why(e, "a %llu-byte constant", (unsigned long long)b.length);
				return;
			}
			for (size_t i = b.length; i-- > 0;)
				w = w << 8 | b.data[i];
		} else if (dwarf_whatform(&a) == DW_FORM_sdata || dwarf_whatform(&a) == DW_FORM_implicit_const) {
			dwarf_formsdata(&a, &s);
			w = (Dwarf_Word)s;
		} else if (dwarf_formudata(&a, &w) != 0) {
			why(e, "unreadable constant value");
			return;
		}
		if (!add_piece(e, &ps, CTRACE_LOC_CONST, 0, spec.size, (int64_t)w, 0))
			return;
	} else {
		why(e, "optimized out");
		return;
	}
	ai->fmt_type = ps.indirect ? ref_to(e->c, ai->type) : ai->type;
	if (!ai->fmt_type) {
		why(e, "out of memory");
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
		if (dwarf_tag(&ch) == DW_TAG_formal_parameter && ref_die(&ch, DW_AT_abstract_origin, &o) &&
		    dwarf_dieoffset(&o) == want) {
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
static void plan_member_strings(struct ctrace_site_plan *plan, unsigned i, const struct arg_info *ai,
				uint32_t str_max)
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
	bool has_abs = ref_die(fn, DW_AT_abstract_origin, &abs);
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
		ai->type = conv_type_of(c, &ch, 0);
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

static int build_plan(struct dwarf_ctx *c, uint64_t func_vaddr, uint64_t site_vaddr, uint8_t insn_len,
		      bool entry, const struct dwarf_plan_opts *o, struct ctrace_site_plan *plan,
		      struct site_info **info, char *err, size_t errlen)
{
	struct scopes *sc;
	Dwarf_Die sub, fd;
	uint64_t want = 0;
	int fi = -1, rc;

	memset(plan, 0, sizeof(*plan));
	plan->site_vaddr = site_vaddr;
	plan->insn_len = insn_len;
	*info = NULL;
	if (!find_func(c, site_vaddr, &sub)) {
		seterr(err, errlen, "no DWARF function covers 0x%llx", (unsigned long long)site_vaddr);
		return -ENOENT;
	}
	if (func_vaddr) {
		if (!find_func(c, func_vaddr, &fd)) {
			seterr(err, errlen, "no DWARF function at 0x%llx", (unsigned long long)func_vaddr);
			return -ENOENT;
		}
		want = origin_key(c, &fd);
	}
	sc = malloc(sizeof(*sc));
	if (!sc) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	descend(&sub, site_vaddr, sc);
	for (int i = sc->n - 1; i >= 0 && fi < 0; i--) {
		int tag = dwarf_tag(&sc->d[i]);
		if ((tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) &&
		    (!func_vaddr || origin_key(c, &sc->d[i]) == want))
			fi = i;
	}
	if (fi < 0) {
		seterr(err, errlen, "no DWARF scope of the function at 0x%llx covers 0x%llx",
		       (unsigned long long)func_vaddr, (unsigned long long)site_vaddr);
		free(sc);
		return -ENOENT;
	}
	struct site_info *si = calloc(1, sizeof(*si));
	if (!si) {
		free(sc);
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	si->site_vaddr = site_vaddr;
	si->inlined = dwarf_tag(&sc->d[fi]) == DW_TAG_inlined_subroutine;
	Dwarf_Attribute na;
	const char *fname = dwarf_formstring(dwarf_attr_integrate(&sc->d[fi], DW_AT_name, &na));
	si->function = strdup(fname ? fname : "?");
	struct eval e = { .c = c, .pc = site_vaddr, .frame = &sc->d[0], .site = !entry, .entry = entry };
	rc = si->function ? collect_params(c, &sc->d[fi], &e, si, plan, o) : -ENOMEM;
	free(sc);
	if (rc) {
		site_info_free(si);
		memset(plan, 0, sizeof(*plan));
		seterr(err, errlen, "out of memory");
		return rc;
	}
	for (int i = 0; i < plan->nargs; i++)
		for (int k = 0; k < plan->arg[i].npieces; k++) {
			const struct ctrace_piece *p = &plan->arg[i].piece[k];
			if (p->kind != CTRACE_LOC_REG && p->kind != CTRACE_LOC_MEM)
				continue;
			if (p->reg == CTRACE_REG_RSP)
				plan->flags |= CTRACE_SITE_USES_RSP;
			if (p->reg == 10 || p->reg == 11)
				plan->flags |= CTRACE_SITE_USES_R10_R11;
		}
	*info = si;
	return 0;
}

int dwarf_site_plan(struct dwarf_ctx *c, uint64_t func_vaddr, uint64_t site_vaddr,
		    uint8_t insn_len, const struct dwarf_plan_opts *o,
		    struct ctrace_site_plan *plan, struct site_info **info,
		    char *err, size_t errlen)
{
	return build_plan(c, func_vaddr, site_vaddr, insn_len, false, o, plan, info, err, errlen);
}

int dwarf_entry_plan(struct dwarf_ctx *c, uint64_t func_vaddr, const struct dwarf_plan_opts *o,
		     struct ctrace_site_plan *plan, struct site_info **info, char *err, size_t errlen)
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
	if (!is_cxx(d) || dwarf_child(d, &ch) != 0)
		return false;
	const char *cls = dwarf_diename(d);
	do {
		int tag = dwarf_tag(&ch);
		if (dwarf_hasattr(&ch, DW_AT_virtuality))
			return true;
		if ((tag == DW_TAG_member || tag == DW_TAG_inheritance) && !dwarf_hasattr(&ch, DW_AT_external) &&
		    !dwarf_hasattr(&ch, DW_AT_declaration) && ref_die(&ch, DW_AT_type, &t) &&
		    dwarf_peel_type(&t, &pt) == 0 &&
		    (dwarf_tag(&pt) == DW_TAG_structure_type || dwarf_tag(&pt) == DW_TAG_class_type ||
		     dwarf_tag(&pt) == DW_TAG_union_type) && nontrivial(c, &pt, depth + 1))
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
			if (dwarf_tag(&p) != DW_TAG_formal_parameter || dwarf_hasattr(&p, DW_AT_artificial))
				continue;
			np++;
			Dwarf_Die rt, rp;
			selfref = ref_die(&p, DW_AT_type, &rt) &&
				  (dwarf_tag(&rt) == DW_TAG_reference_type ||
				   dwarf_tag(&rt) == DW_TAG_rvalue_reference_type) &&
				  ref_die(&rt, DW_AT_type, &rp) && dwarf_peel_type(&rp, &rp) == 0 &&
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
		k = s->size >= 16 && s->kind == VT_FLOAT && !(s->name && strstr(s->name, "128")) ? CL_X87 : CL_SSE;
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
	if (!find_func(c, func_vaddr, &sub)) {
		seterr(err, errlen, "no DWARF function at 0x%llx", (unsigned long long)func_vaddr);
		return -ENOENT;
	}
	info->type = conv_type_of(c, &sub, 0);
	info->fmt_type = info->type;
	info->type_name = vtype_spell(info->type);
	if (!info->type_name || c->oom) {
		arg_info_clear(info);
		seterr(err, errlen, "out of memory");
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
			snprintf(why, wl, "returned in xmm0 (floating point): BPF cannot read vector registers");
		return 0;
	case VT_STRUCT:
	case VT_UNION:
	case VT_ARRAY: {
		int cls[2] = { CL_NONE, CL_NONE };
		bool mem = s->size > 16;
		if (!mem && ref_die(&sub, DW_AT_type, &td) && dwarf_peel_type(&td, &pt) == 0)
			mem = nontrivial(c, &pt, 0);
		if (!mem) {
			classify(s, 0, cls, 0);
			mem = cls[0] == CL_MEM || cls[1] == CL_MEM;
		}
		if (mem) {
			/* the caller's buffer, whose address comes back in rax */
			add_piece(&e, &ps, CTRACE_LOC_MEM, 0, s->size, 0, 0);
			break;
		}
		if (cls[0] == CL_X87 || cls[1] == CL_X87) {
			snprintf(why, wl, "returned in st(0) (x87): BPF cannot read x87 registers");
			return 0;
		}
		if (cls[0] == CL_SSE || cls[1] == CL_SSE) {
			snprintf(why, wl, "returned partly in xmm registers (floating-point members): "
				 "BPF cannot read vector registers");
			return 0;
		}
		add_piece(&e, &ps, CTRACE_LOC_REG, 0, s->size < 8 ? s->size : 8, 0, 0);
		if (s->size > 8)
			add_piece(&e, &ps, CTRACE_LOC_REG, 1, s->size - 8, 0, 0);
		break;
	}
	default:
		if (s->size > 16) {
			snprintf(why, wl, "a %u-byte scalar", s->size);
			return 0;
		}
		add_piece(&e, &ps, CTRACE_LOC_REG, 0, s->size < 8 ? s->size : 8, 0, 0);
		if (s->size > 8)
			add_piece(&e, &ps, CTRACE_LOC_REG, 1, s->size - 8, 0, 0);
		break;
	}
	fill_plan(plan, &ps, &spec, s->size, deref_max);
	return 0;
}

/* ---- which function a hook call belongs to ---- */

/* a function's symbol name: its linkage name (C++), else its name */
static const char *link_name(Dwarf_Die *d)
{
	Dwarf_Attribute a;
	const char *n = NULL;

	if (dwarf_attr_integrate(d, DW_AT_linkage_name, &a) ||
	    dwarf_attr_integrate(d, DW_AT_MIPS_linkage_name, &a))
		n = dwarf_formstring(&a);
	return n ? n : dwarf_diename(d) ? dwarf_diename(d) : (dwarf_attr_integrate(d, DW_AT_name, &a) ?
							       dwarf_formstring(&a) : NULL);
}

/* Every DW_TAG_subprogram whose ranges hold pc most narrowly: one, unless
 * the linker pointed the DWARF of discarded COMDAT copies (C++ inline
 * functions, one per unit) at the copy it kept. */
static size_t find_funcs(struct dwarf_ctx *c, uint64_t pc, Dwarf_Off *dies, size_t max)
{
	size_t lo = funcs_after(c, pc), n = 0;
	uint64_t best = UINT64_MAX;

	for (size_t i = lo, k = 0; i-- > 0 && k < 256; k++) {
		const struct func_range *r = &c->funcs[i];

		if (pc >= r->hi || r->hi - r->lo > best)
			continue;
		if (r->hi - r->lo < best) {
			best = r->hi - r->lo;
			n = 0;
		}
		if (n < max)
			dies[n++] = r->die;
		else
			return max + 1;   /* too many to tell */
	}
	return n;
}

int dwarf_pc_owners(struct dwarf_ctx *c, uint64_t pc, struct dwarf_owner *out, size_t max)
{
	Dwarf_Off dies[DWARF_MAX_OWNERS];
	size_t n = find_funcs(c, pc, dies, max < DWARF_MAX_OWNERS ? max : DWARF_MAX_OWNERS);
	struct scopes s;
	Dwarf_Die sub;

	if (n > max || n > DWARF_MAX_OWNERS)
		return -E2BIG;
	for (size_t k = 0; k < n; k++) {
		Dwarf_Die *d = &sub;

		if (!dwarf_offdie(c->dbg, dies[k], &sub))
			return -ENOENT;
		descend(&sub, pc, &s);
		out[k].inlined = false;
		for (int i = s.n - 1; i > 0; i--) {
			if (dwarf_tag(&s.d[i]) == DW_TAG_inlined_subroutine) {
				d = &s.d[i];
				out[k].inlined = true;
				break;
			}
		}
		out[k].origin = origin_key(c, d);
		out[k].name = link_name(d);
	}
	return (int)n;
}

void dwarf_each_concrete(struct dwarf_ctx *c, void (*cb)(void *arg, uint64_t origin, uint64_t lo),
			 void *arg)
{
	Dwarf_Die d;

	for (size_t i = 0; i < c->nfuncs; i++)
		if (dwarf_offdie(c->dbg, c->funcs[i].die, &d))
			cb(arg, origin_key(c, &d), c->funcs[i].lo);
}
