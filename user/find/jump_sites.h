/* Probe sites in the C library that must be proven (see jump_sites.c). */
#ifndef CTRACE_JUMP_SITES_H
#define CTRACE_JUMP_SITES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_image;

/* the address (vaddr) to probe for __sigsetjmp at entry: the first direct
 * jmp on its straight line before anything writes rsp, else entry itself */
uint64_t jump_sites_setjmp(const struct elf_image *img, uint64_t entry);

/* whether the len bytes at vaddr start an instruction of a signal
 * trampoline (a restorer), by the C library's own CFI and the decoder */
bool jump_sites_is_restorer(const struct elf_image *img, uint64_t vaddr, size_t len);

#endif
