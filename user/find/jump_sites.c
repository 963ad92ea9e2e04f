/* Probe sites in the C library that must be proven, not guessed.
 *
 * Where the setjmp probe goes. A uprobe on __sigsetjmp's first instruction
 * (a store) is single-stepped: ~11 us a hit here, paid by every setjmp, and
 * interpreters set one per protected call. The kernel emulates a direct
 * jmp instead (~1 us), and glibc's __sigsetjmp reaches one (to the signal
 * mask part) before it touches the stack: probing there sees the same rsp
 * and return address as the entry. */
#include <elfutils/libdw.h>
#include <stdlib.h>
#include <unistd.h>
#include "find/code_scan.h"
#include "find/elf_image.h"
#include "find/jump_sites.h"

#define SCAN_BYTES 256

/* whether in writes rsp, or may leave the straight line */
static bool ends_scan(csh cs, const cs_insn *in)
{
	cs_regs rd, wr;
	uint8_t nrd, nwr;

	for (uint8_t i = 0; i < in->detail->groups_count; i++) {
		switch (in->detail->groups[i]) {
		case CS_GRP_JUMP:
		case CS_GRP_CALL:
		case CS_GRP_RET:
		case CS_GRP_INT:
		case CS_GRP_IRET: return true;
		}
	}
	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return true;
	for (uint8_t i = 0; i < nwr; i++)
		if (wr[i] == X86_REG_RSP || wr[i] == X86_REG_ESP || wr[i] == X86_REG_SP)
			return true;
	return false;
}

static bool direct_jmp(const cs_insn *in)
{
	return in->id == X86_INS_JMP && in->detail->x86.op_count == 1 &&
	       in->detail->x86.operands[0].type == X86_OP_IMM;
}

/* the first direct jmp before the straight line ends (site), or the end */
static bool setjmp_step(csh cs, const cs_insn *in, void *site)
{
	if (direct_jmp(in)) {
		*(uint64_t *)site = in->address;
		return true;
	}
	return ends_scan(cs, in);
}

uint64_t jump_sites_setjmp(const struct elf_image *img, uint64_t entry)
{
	uint64_t site = entry;

	code_scan(img, entry, SCAN_BYTES, true, setjmp_step, &site);
	return site;
}

/* Whether vaddr starts a signal trampoline (a restorer) of len bytes: the C
 * library gives its restorer a CFI entry marked as a signal frame, so that
 * unwinders can step through it, and that entry covers exactly the
 * trampoline's code, from one byte before it (unwinders look up pc - 1).
 * A byte match alone could sit inside another instruction, and a probe
 * there would corrupt the target. */
bool jump_sites_is_restorer(const struct elf_image *img, uint64_t vaddr, size_t len)
{
	Dwarf_CFI *cfi = dwarf_getcfi_elf(img->elf);
	Dwarf_Frame *fr = NULL;
	Dwarf_Addr start = 0, end = 0;
	bool signal = false;

	if (cfi && !dwarf_cfi_addrframe(cfi, vaddr, &fr))
		dwarf_frame_info(fr, &start, &end, &signal);
	free(fr);
	if (cfi)
		dwarf_cfi_end(cfi);
	return signal && start <= vaddr && vaddr - start <= 1 && vaddr + len == end;
}
