/* The first instructions of a function, decoded one at a time (Capstone):
 * where a probe may go is proven by the code, never guessed from bytes. */
#ifndef CTRACE_CODE_SCAN_H
#define CTRACE_CODE_SCAN_H
#include <capstone/capstone.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_image;

/* called per instruction, in order from entry; true stops the scan */
typedef bool (*code_scan_fn)(csh cs, const cs_insn *in, void *ctx);

/* Decodes up to len bytes (at most 256) of img's code from vaddr entry,
 * with Capstone's details if detail, handing each instruction to visit
 * until it returns true or the bytes run out. 0, or -1 when the code could
 * not be read or decoded at all (visit then never ran). */
int code_scan(const struct elf_image *img, uint64_t entry, size_t len, bool detail,
	      code_scan_fn visit, void *ctx);

#endif
