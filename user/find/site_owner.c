/* A hook call passes this_fn, the out-of-line address of the function whose
 * body made the call; in an inlined copy, that is the inlined function. The
 * decoder proves it where it sees the instruction that sets rdi. DWARF proves
 * it from where the call sits: each instruction belongs to the innermost
 * DW_TAG_inlined_subroutine holding it (else to its DW_TAG_subprogram), and
 * that instance's abstract origin is the function; its out-of-line copy
 * (the one whose symbol is its own name, not a .constprop/.part/.cold
 * part) is this_fn. Where both hold they must agree: a site they disagree on
 * is left unproven rather than trusted either way. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utils/bsearch.h"
#include "utils/demangle.h"
#include "utils/grow.h"
#include "find/dwarf_file.h"
#include "find/pattern.h"
#include "find/site_owner.h"

struct origin_addr {
	uint64_t origin, addr;
	bool plain; /* its symbol's name has no .suffix */
};

struct origins {
	const struct elf_image *img;
	struct origin_addr *v;
	size_t n, cap;
	const struct elf_sym **by_name; /* img's symbols sorted by name */
	bool oom;
};

/* a range of an out-of-line copy: a candidate this_fn when a symbol starts
 * there (the cold part of a split function is never one) */
static void add_origin(void *arg, uint64_t origin, uint64_t lo)
{
	struct origins *o = arg;
	const struct elf_sym *s = elf_sym_lookup(o->img, lo);

	if (o->oom || !s || s->addr != lo || strstr(s->name, ".cold"))
		return;
	struct origin_addr *v = grow_array(o->v, &o->cap, o->n, sizeof(*v), 256);
	if (!v) {
		o->oom = true;
		return;
	}
	o->v = v;
	o->v[o->n++] = (struct origin_addr){ origin, lo, !strchr(s->name, '.') };
}

static int by_origin(const void *a, const void *b)
{
	const struct origin_addr *x = a, *y = b;

	if (x->origin != y->origin)
		return x->origin < y->origin ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int sym_name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct elf_sym *const *)a)->name,
		      (*(const struct elf_sym *const *)b)->name);
}

/* The one symbol called name; 0 when none or several (statics of other
 * files) */
static uint64_t unique_sym(const struct origins *o, const char *name)
{
	size_t lo = PARTITION_POINT(o->img->nsyms, m, strcmp(o->by_name[m]->name, name) < 0);

	if (lo >= o->img->nsyms || strcmp(o->by_name[lo]->name, name))
		return 0;
	if (lo + 1 < o->img->nsyms && !strcmp(o->by_name[lo + 1]->name, name) &&
	    o->by_name[lo + 1]->addr != o->by_name[lo]->addr)
		return 0;
	return o->by_name[lo]->addr;
}

/* The this_fn of a function, by its origin: its one out-of-line copy in this
 * unit with a plain name (clones and parts carry a suffix). A function with
 * no such copy here (C99/gnu_inline `extern inline`, a C++ inline function
 * whose copy the linker kept from another unit) is the one symbol of its
 * name. 0 when unclear. */
static uint64_t origin_fn(const struct origins *o, uint64_t origin, const char *name)
{
	size_t lo = PARTITION_POINT(o->n, m, o->v[m].origin < origin);
	size_t plain = 0, all = 0;
	uint64_t p = 0, any = 0;

	for (size_t i = lo; i < o->n && o->v[i].origin == origin; i++) {
		if (o->v[i].addr == any)
			continue; /* sorted: a repeat of the same copy */
		any = o->v[i].addr;
		all++;
		if (o->v[i].plain) {
			p = o->v[i].addr;
			plain++;
		}
	}
	if (plain)
		return plain == 1 ? p : 0;
	/* no copy of its own name here: a clone's or a split part's address is
	 * never this_fn, the original's is (an `extern inline` or C++ inline
	 * function may be kept from another unit) */
	(void)all;
	return name ? unique_sym(o, name) : 0;
}

/* DWARF's answer, when every unit that describes the site gives the same */
static void prove_by_dwarf(struct dwarf_ctx *dw, const struct origins *o, struct hook_site *s)
{
	struct dwarf_owner own[DWARF_MAX_OWNERS];
	int n = dwarf_pc_owners(dw, s->vaddr, own, DWARF_MAX_OWNERS);
	uint64_t fn = 0;

	s->dwarf_fn = 0;
	for (int i = 0; i < n; i++) {
		uint64_t f = origin_fn(o, own[i].origin, own[i].name);

		if (!f || (fn && f != fn))
			return;
		fn = f;
	}
	s->dwarf_fn = fn;
}

/* The decoder named the function through its GOT slot (ext_name): DWARF
 * agrees when it names a copy of that name, and disagrees when it names
 * another function. */
static void prove_ext(const struct elf_image *img, struct hook_site *s, struct site_proofs *st)
{
	const struct elf_sym *f = s->dwarf_fn ? elf_sym_lookup(img, s->dwarf_fn) : NULL;

	s->this_fn = 0;
	s->proof = SITE_BY_DECODER;
	if (f && f->addr == s->dwarf_fn && !strcmp(f->name, s->ext_name)) {
		s->proof |= SITE_BY_DWARF;
	} else if (s->dwarf_fn) {
		s->proof = 0;
		s->ext_name = NULL;
		st->disagree++;
	}
}

int site_owners(const struct elf_image *img, struct hook_site *sites, size_t n,
		struct site_proofs *st)
{
	struct origins o = { .img = img };
	struct dwarf_ctx *dw = NULL;
	char err[256];
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->sites = n;
	if (n && img->has_symtab && !dwarf_ctx_open(img->path, &dw, err, sizeof(err))) {
		st->has_dwarf = true;
		dwarf_each_concrete(dw, add_origin, &o);
		o.by_name = malloc(img->nsyms * sizeof(*o.by_name));
		if (o.oom || !o.by_name) {
			rc = -ENOMEM;
			goto out;
		}
		if (o.n)
			qsort(o.v, o.n, sizeof(*o.v), by_origin);
		for (size_t i = 0; i < img->nsyms; i++)
			o.by_name[i] = &img->syms[i];
		qsort(o.by_name, img->nsyms, sizeof(*o.by_name), sym_name_cmp);
	}
	for (size_t i = 0; i < n; i++) {
		struct hook_site *s = &sites[i];
		uint64_t dec = s->this_fn;

		if (dw)
			prove_by_dwarf(dw, &o, s);
		if (s->ext_name)
			prove_ext(img, s, st);
		else if (dec && s->dwarf_fn && dec != s->dwarf_fn) {
			s->proof = 0;
			s->this_fn = 0;
			st->disagree++;
		} else {
			s->proof = (dec ? SITE_BY_DECODER : 0) | (s->dwarf_fn ? SITE_BY_DWARF : 0);
			s->this_fn = dec ? dec : s->dwarf_fn;
		}
		switch (s->proof) {
		case SITE_BY_DECODER | SITE_BY_DWARF: st->both++; break;
		case SITE_BY_DWARF: st->dwarf++; break;
		case SITE_BY_DECODER: st->decoder++; break;
		default: st->unproven++; break;
		}
	}
out:
	free(o.v);
	free(o.by_name);
	dwarf_ctx_free(dw);
	return rc;
}

void site_proofs_format(const struct site_proofs *st, char *buf, size_t len)
{
	snprintf(buf, len,
		 "%zu hook call sites: %zu proven by DWARF and the decoder, %zu by DWARF "
		 "only, %zu by the decoder only, %zu unproven (%zu where the two disagree)%s",
		 st->sites, st->both, st->dwarf, st->decoder, st->unproven, st->disagree,
		 st->has_dwarf ? "" : "; no DWARF");
}

enum site_probe site_probe(const struct elf_image *img, const struct hook_site *s,
			   const struct filter *f, signed char *allowed)
{
	const struct elf_sym *fn;
	size_t k;

	if (filter_is_empty(f))
		return SITE_PROBE;
	if (s->ext_name) {
		/* by name; its address is known in the target only (another
		 * file's, or this one's if not interposed): checked there */
		char *dm = demangle(s->ext_name);
		bool ok = filter_allows(f, s->ext_name, dm ? dm : s->ext_name);

		free(dm);
		return ok ? SITE_PROBE_CHECKED : SITE_SKIP;
	}
	fn = s->this_fn ? elf_sym_lookup(img, s->this_fn) : NULL;
	if (fn && fn->addr == s->this_fn) {
		k = (size_t)(fn - img->syms);
		if (allowed[k] < 0) {
			char *dm = demangle(fn->name);
			allowed[k] = filter_allows(f, fn->name, dm ? dm : fn->name);
			free(dm);
		}
		if (!allowed[k])
			return SITE_SKIP;
	}
	/* DWARF's word alone is checked too: were it wrong, the call of
	 * another function would still not count */
	return s->proof & SITE_BY_DECODER ? SITE_PROBE : SITE_PROBE_CHECKED;
}
