/* Where an image calls the -finstrument-functions hooks: the uprobe sites. */
#ifndef CTRACE_HOOK_SITES_H
#define CTRACE_HOOK_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "find/elf_image.h"

enum { HOOK_ENTER = 0, HOOK_EXIT = 1 };

struct hook_site {
	uint64_t vaddr;	      /* address of the call (or tail-call jmp) instruction */
	uint64_t offset;      /* its file offset: what a uprobe is attached at */
	uint64_t this_fn;     /* vaddr the call passes as this_fn (in rdi), proven from
			       * the code before it (and, after site_owners, from
			       * DWARF too): the start of a function in img->syms,
			       * which differs from sym's when the call belongs to
			       * an inlined body; 0 when not proven */
	uint32_t sym;	      /* index into img->syms of the containing function */
	uint8_t kind;	      /* HOOK_ENTER / HOOK_EXIT */
	uint8_t len;	      /* instruction length */
	bool direct;	      /* true: rel32/rel8 branch, emulated by the kernel (cheap);
			       * false: indirect through the GOT (-fno-plt), single-stepped */
	uint8_t proof;	      /* SITE_BY_*: what proved this_fn (site_owner.h) */
	const char *ext_name; /* instead of this_fn: the call passes the function the
			       * GOT slot of this (dynamic) symbol holds, maybe in
			       * another file (an inlined copy of a libstdc++ inline
			       * function whose out-of-line copy is there); points
			       * into img's data. NULL: not that case */
	uint64_t dwarf_fn;    /* this_fn as DWARF tells (site_owners), 0: not known */
};

enum { SITE_BY_DECODER = 1, SITE_BY_DWARF = 2 };

/* Decodes every function of img (in executable sections) with Capstone and
 * returns the branches to the hooks, sorted by vaddr, in *out (free() it).
 * Besides `call`, GCC -O2 tail-calls the exit hook with `jmp` in functions that
 * return void; those are sites too (the frame is already gone at them).
 * Returns 0 or a negative errno with one line in err. On success err is empty,
 * or holds a one-line note about functions that could not be fully decoded
 * (their sites up to the undecodable byte are kept). this_fn is only proven
 * with a .symtab (without it, code between the exported symbols is unseen),
 * and stays 0 in functions with jumps it cannot resolve (switch tables).
 * -ENOTSUP: the image defines both hooks at one address (static glibc) and
 * calls it, so enter and exit calls cannot be told apart. */
int hook_sites_find(const struct elf_image *img, struct hook_site **out, size_t *n, char *err,
		    size_t errlen);

#endif
