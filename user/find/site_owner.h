/* Which function each hook call site belongs to, proven two ways: by the
 * decoder (the instruction that sets rdi, hook_sites.c) and by DWARF (the
 * inlined instance, or else the function, whose code holds the call). */
#ifndef CTRACE_SITE_OWNER_H
#define CTRACE_SITE_OWNER_H
#include <stddef.h>

#include "find/hook_sites.h"

struct site_proofs {
	size_t sites;
	size_t both;	 /* DWARF and the decoder agree */
	size_t dwarf;	 /* DWARF only */
	size_t decoder;	 /* the decoder only */
	size_t unproven; /* neither, or the two disagree */
	size_t disagree; /* of those: the two named different functions */
	bool has_dwarf;	 /* the file has DWARF libdw can read */
};

/* Sets each site's this_fn to the function both proofs name, or the one a
 * single proof names, and 0 where they disagree or neither holds; proof
 * gets SITE_BY_DECODER / SITE_BY_DWARF. Without DWARF (no -g, or a DWARF
 * this cannot read) the decoder's proofs stand alone. Returns 0 or -ENOMEM. */
int site_owners(const struct elf_image *img, struct hook_site *sites, size_t n,
		struct site_proofs *st);
/* one line: "N hook call sites: ... proven by DWARF and the decoder, ..." */
void site_proofs_format(const struct site_proofs *st, char *buf, size_t len);

struct filter;

enum site_probe { SITE_SKIP, SITE_PROBE, SITE_PROBE_CHECKED };

/* Whether a site is probed under filter f (after site_owners): a site proven
 * to belong to an excluded function is not; one not proven by the decoder is
 * probed with a check of its this_fn in BPF (CTRACE_COOKIE_CHECK), so that
 * no other function's call reaches the depth accounting; the rest are.
 * Without a filter every site is probed. allowed: per symbol of img, -1
 * before the first call (a cache of the filter's answers). */
enum site_probe site_probe(const struct elf_image *img, const struct hook_site *s,
			   const struct filter *f, signed char *allowed);

#endif
