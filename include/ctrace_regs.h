/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef CTRACE_REGS_H
#define CTRACE_REGS_H

#define CTRACE_REG_RSP 7          /* DWARF number of rsp */

/* x86-64 user registers at the signal, in DWARF register-number order
 * (rax rdx rcx rbx rsi rdi rbp rsp r8..r15), then rip and eflags */
#define CTRACE_NREGS 18

/* DWARF register numbers 0..16 as indexes into the kernel's x86_64
 * struct pt_regs read as __u64[21] (r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx
 * dx si di orig_ax ip cs flags sp ss); its byte offset is 8 times that. 16 is
 * the DWARF return-address column: ip. */
#define CTRACE_PTREGS_SLOTS { 10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0, 16 }
#define CTRACE_PTREGS_NSLOTS 21

/* Branches only (no table), so a BPF program can use it with a variable regno. */
static inline int ctrace_ptregs_slot(unsigned int regno)
{
	switch (regno) {
	case 0: return 10;  /* rax */
	case 1: return 12;  /* rdx */
	case 2: return 11;  /* rcx */
	case 3: return 5;   /* rbx */
	case 4: return 13;  /* rsi */
	case 5: return 14;  /* rdi */
	case 6: return 4;   /* rbp */
	case 7: return 19;  /* rsp */
	case 8: return 9;   /* r8 */
	case 9: return 8;   /* r9 */
	case 10: return 7;  /* r10 */
	case 11: return 6;  /* r11 */
	case 12: return 3;  /* r12 */
	case 13: return 2;  /* r13 */
	case 14: return 1;  /* r14 */
	case 15: return 0;  /* r15 */
	case 16: return 16; /* return address column: ip */
	default: return -1;
	}
}

#endif
