/* One ELF file's DWARF: opening it, and which function holds an address.
 * Addresses are link-time vaddrs of the file (as in its symbols and DWARF). */
#ifndef CTRACE_DWARF_FILE_H
#define CTRACE_DWARF_FILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dwarf_ctx; /* one ELF file with its DWARF; owns every vtype it hands out */

/* Opens path and its DWARF: its own .debug_info, else the separate file named
 * by its build-id under /usr/lib/debug/.build-id/. Returns 0, or a negative
 * errno with one line in err:
 *   -ENODATA  no DWARF libdw can read (report "no debug info"),
 *   -ENOEXEC  not an ELF file, -ENOMEM, or -errno from open(). */
int dwarf_ctx_open(const char *path, struct dwarf_ctx **out, char *err, size_t errlen);
void dwarf_ctx_free(struct dwarf_ctx *c);

/* The function a hook call at pc belongs to, as DWARF tells: the innermost
 * DW_TAG_inlined_subroutine holding pc (inlined true), else the subprogram.
 * origin is the key its every copy in this compile unit shares (the
 * declaration behind abstract origins and specifications), as
 * dwarf_each_concrete gives; name its symbol name (linkage name, else name;
 * NULL if none), valid while c is. Usually one answer; several when the DWARF
 * of several units covers pc (the linker points that of the COMDAT copies it
 * discarded at the one it kept), and they may differ (each unit has its own
 * static helpers). Returns how many were written to out (0: no DWARF
 * function holds pc), or -E2BIG (more than max). */
#define DWARF_MAX_OWNERS 32
struct dwarf_owner {
	uint64_t origin;
	const char *name;
	bool inlined;
};
int dwarf_pc_owners(struct dwarf_ctx *c, uint64_t pc, struct dwarf_owner *out, size_t max);
/* cb once per address range of every out-of-line function (clones and split
 * cold parts included), with the key of its origin and the range's start */
void dwarf_each_concrete(struct dwarf_ctx *c, void (*cb)(void *arg, uint64_t origin, uint64_t lo),
			 void *arg);

#endif
