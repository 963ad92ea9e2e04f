/* --srcline: the source line of a function, from its file's DWARF line
 * table at the function's entry address (what `addr2line -e FILE ADDR`
 * says): the line of its opening, not DW_AT_decl_line. A file without a
 * line table gives none, never a neighbour's. */
#ifndef CTRACE_SRCLINE_H
#define CTRACE_SRCLINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srclines; /* every file's DWARF opened so far */

struct srclines *srclines_new(void);
void srclines_free(struct srclines *s);
/* "FILE:LINE" for link-time vaddr of the ELF file open as fd (malloc'd),
 * or NULL: no DWARF, no line there, or out of memory */
char *srcline_of(struct srclines *s, int fd, uint64_t vaddr);
/* "FILE:LINE" where the function named fn (its symbol) is called from, when
 * the code at vaddr is that function inlined: the innermost inlined
 * instance's DW_AT_call_file/line there (addr2line -i's second line); NULL
 * when the innermost one there is not fn's, or no DWARF says */
char *srcline_inlined_call(struct srclines *s, int fd, uint64_t vaddr, const char *fn);

/* the GNU build id of an ELF file as lowercase hex into out (NUL-ended);
 * false when it has none or it does not fit */
struct Elf;
bool srcline_build_id(struct Elf *elf, char *out, size_t n);

#endif
