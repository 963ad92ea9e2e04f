/* --srcline: the source line of a function, from its file's DWARF line
 * table at the function's entry address (what `addr2line -e FILE ADDR`
 * says): the line of its opening, not DW_AT_decl_line. A file without a
 * line table gives none, never a neighbour's. */
#ifndef CTRACE_SRCLINE_H
#define CTRACE_SRCLINE_H
#include <stdint.h>

struct srclines; /* every file's DWARF opened so far */

struct srclines *srclines_new(void);
void srclines_free(struct srclines *s);
/* "FILE:LINE" for link-time vaddr of the ELF file open as fd (malloc'd),
 * or NULL: no DWARF, no line there, or out of memory */
char *srcline_of(struct srclines *s, int fd, uint64_t vaddr);

#endif
