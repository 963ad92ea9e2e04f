/* One ELF file's DWARF (see dwarf_file.h): opening it, its functions by
 * address, and which function a hook call belongs to. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "find/dwarf_internal.h"
#include "utils/bsearch.h"
#include "utils/grow.h"

#define ORIGIN_HOPS 8

void dw_seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* ---- small helpers: ownership ---- */

/* p becomes the context's (freed with it); NULL when p is NULL or on failure */
void *dw_own(struct dwarf_ctx *c, void *p)
{
	if (!p) {
		c->oom = true;
		return NULL;
	}
	void **n = grow_array(c->allocs, &c->capallocs, c->nallocs, sizeof(*n), 256);
	if (!n) {
		free(p);
		c->oom = true;
		return NULL;
	}
	c->allocs = n;
	c->allocs[c->nallocs++] = p;
	return p;
}

/* DIEs keyed by offset, with a bit for each other offset space: a
 * supplementary (dwz) file, and type units (DWARF 4 puts them in .debug_types) */
uint64_t dw_die_key(const struct dwarf_ctx *c, Dwarf_Die *d)
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

bool dw_ref_die(Dwarf_Die *d, int at, Dwarf_Die *out)
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
		struct func_range *n =
			grow_array(c->funcs, &c->capfuncs, c->nfuncs, sizeof(*n), 256);
		if (!n) {
			c->oom = true;
			return;
		}
		c->funcs = n;
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
		case DW_TAG_lexical_block: index_walk(c, &ch, depth + 1); break;
		default: break;
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
	return PARTITION_POINT(c->nfuncs, m, c->funcs[m].lo <= pc);
}

/* The innermost DW_TAG_subprogram whose ranges hold pc. */
bool dw_find_func(struct dwarf_ctx *c, uint64_t pc, Dwarf_Die *out)
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
		dw_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->fd = c->dfd = -1;
	elf_version(EV_CURRENT);
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0) {
		rc = -errno;
		dw_seterr(err, errlen, "cannot open %s: %s", path, strerror(-rc));
		goto fail;
	}
	c->elf = elf_begin(c->fd, ELF_C_READ_MMAP, NULL);
	if (!c->elf || elf_kind(c->elf) != ELF_K_ELF) {
		rc = -ENOEXEC;
		dw_seterr(err, errlen, "%s: not an ELF file", path);
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
		dw_seterr(err, errlen, "%s: no debug info (DWARF)", path);
		goto fail;
	}
	c->eh_cfi = dwarf_getcfi_elf(c->elf);
	c->dbg_cfi = dwarf_getcfi(c->dbg);
	rc = index_funcs(c);
	if (rc == -ENOMEM) {
		dw_seterr(err, errlen, "out of memory");
		goto fail;
	}
	if (rc) {
		dw_seterr(err, errlen, "%s: no debug info (DWARF compile units)", path);
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
	u64map_free(&c->types);
	u64map_free(&c->parents);
	u64map_free(&c->cus_done);
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

/* ---- scopes ---- */

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

void dw_descend(Dwarf_Die *sub, uint64_t pc, struct scopes *s)
{
	Dwarf_Die ch;

	s->d[0] = *sub;
	s->n = 1;
	while (s->n < MAX_SCOPES && child_scope(&s->d[s->n - 1], pc, &ch, 0))
		s->d[s->n++] = ch;
}

/* The declaration behind concrete instances, inlined copies and out-of-line
 * definitions of one function: equal for all of them. */
uint64_t dw_origin_key(struct dwarf_ctx *c, Dwarf_Die *d)
{
	Dwarf_Die cur = *d, nx;

	for (int i = 0; i < ORIGIN_HOPS; i++) {
		if (!dw_ref_die(&cur, DW_AT_abstract_origin, &nx) &&
		    !dw_ref_die(&cur, DW_AT_specification, &nx))
			break;
		cur = nx;
	}
	return dw_die_key(c, &cur);
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
	return n ? n :
	       dwarf_diename(d) ?
		   dwarf_diename(d) :
		   (dwarf_attr_integrate(d, DW_AT_name, &a) ? dwarf_formstring(&a) : NULL);
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
			return max + 1; /* too many to tell */
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
		dw_descend(&sub, pc, &s);
		out[k].inlined = false;
		for (int i = s.n - 1; i > 0; i--) {
			if (dwarf_tag(&s.d[i]) == DW_TAG_inlined_subroutine) {
				d = &s.d[i];
				out[k].inlined = true;
				break;
			}
		}
		out[k].origin = dw_origin_key(c, d);
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
			cb(arg, dw_origin_key(c, &d), c->funcs[i].lo);
}
