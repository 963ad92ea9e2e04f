/* Probe sites in the C library's jump functions (see jump_sites.c). */
#ifndef CTRACE_JUMP_SITES_H
#define CTRACE_JUMP_SITES_H
#include <stdint.h>

struct elf_image;

/* the address (vaddr) to probe for __sigsetjmp at entry: the first direct
 * jmp on its straight line before anything writes rsp, else entry itself */
uint64_t jump_sites_setjmp(const struct elf_image *img, uint64_t entry);

#endif
