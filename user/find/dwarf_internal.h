/* What the find/dwarf_*.c files share: the context of one file's DWARF and
 * the helpers around it. Not for the rest of the loader (dwarf_file.h,
 * dwarf_plans.h).
 *
 * The DWARF is the target's, so untrusted: libdw bounds-checks the parsing;
 * here every walk is bounded (scope and type nesting, chains of origins), types
 * are cached before their parts are converted (cycles end), and any location
 * expression outside the small set dwarf_locations.c understands is reported as
 * unsupported rather than approximated. */
#ifndef CTRACE_DWARF_INTERNAL_H
#define CTRACE_DWARF_INTERNAL_H
#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "find/dwarf_file.h"
#include "utils/u64map.h"

#define MAX_SCOPES 64 /* nested blocks and inlined calls under one function */
#define MAX_PARAMS 64

struct func_range {
	uint64_t lo, hi;
	Dwarf_Off die;
};

struct dwarf_ctx {
	int fd, dfd;
	Elf *elf, *delf; /* the file; the separate debug file (or NULL) */
	Dwarf *dbg;
	Dwarf_CFI *eh_cfi;	  /* the file's .eh_frame (ours to end) */
	Dwarf_CFI *dbg_cfi;	  /* .debug_frame (owned by dbg) */
	struct func_range *funcs; /* every DW_TAG_subprogram range, sorted by lo */
	size_t nfuncs, capfuncs;
	struct u64map types;	/* type DIE -> struct vtype */
	struct u64map parents;	/* C++: DIE -> enclosing namespace/class DIE + 1 */
	struct u64map cus_done; /* CUs whose parents are in `parents` */
	void **allocs;		/* everything the vtypes point to */
	size_t nallocs, capallocs;
	bool oom;
};

struct scopes {
	Dwarf_Die d[MAX_SCOPES]; /* d[0]: the subprogram; then nested blocks and inlined calls */
	int n;
};

void dw_seterr(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* p becomes the context's (freed with it); NULL when p is NULL or on failure */
void *dw_own(struct dwarf_ctx *c, void *p);
uint64_t dw_die_key(const struct dwarf_ctx *c, Dwarf_Die *d);
bool dw_ref_die(Dwarf_Die *d, int at, Dwarf_Die *out);
/* The innermost DW_TAG_subprogram whose ranges hold pc. */
bool dw_find_func(struct dwarf_ctx *c, uint64_t pc, Dwarf_Die *out);
void dw_descend(Dwarf_Die *sub, uint64_t pc, struct scopes *s);
/* The declaration behind concrete instances, inlined copies and out-of-line
 * definitions of one function: equal for all of them. */
uint64_t dw_origin_key(struct dwarf_ctx *c, Dwarf_Die *d);

#endif
