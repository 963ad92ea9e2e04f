/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* x86-64 registers, in the one order BPF and the loader name them: the DWARF
 * register numbers, as capture plans (ctrace_plan.h) use them, crash records
 * (ctrace.h) carry them and the unwinder takes them. ctrace_ptregs_slot()
 * says where the kernel's struct pt_regs holds each one. */
#ifndef CTRACE_REGS_H
#define CTRACE_REGS_H

enum ctrace_reg {
	CTRACE_REG_RAX = 0,
	CTRACE_REG_RDX = 1,
	CTRACE_REG_RCX = 2,
	CTRACE_REG_RBX = 3,
	CTRACE_REG_RSI = 4,
	CTRACE_REG_RDI = 5,
	CTRACE_REG_RBP = 6,
	CTRACE_REG_RSP = 7,
	CTRACE_REG_R8 = 8,
	CTRACE_REG_R9 = 9,
	CTRACE_REG_R10 = 10,
	CTRACE_REG_R11 = 11,
	CTRACE_REG_R12 = 12,
	CTRACE_REG_R13 = 13,
	CTRACE_REG_R14 = 14,
	CTRACE_REG_R15 = 15,
	CTRACE_REG_RIP = 16,	/* the DWARF return-address column */
	CTRACE_REG_EFLAGS = 17, /* crash records only: its DWARF number is 49 */
};

#define CTRACE_NGPRS	   16 /* rax..r15: the registers a plan may name */
#define CTRACE_DWARF_NREGS 17 /* rax..rip: the registers an unwind starts from */
#define CTRACE_NREGS	   18 /* rax..eflags: a crash record's registers */

/* The kernel's x86_64 struct pt_regs read as __u64[21]: r15 r14 r13 r12 bp
 * bx r11 r10 r9 r8 ax cx dx si di orig_ax ip cs flags sp ss */
#define CTRACE_PTREGS_NSLOTS 21

/* A register's slot in pt_regs (its byte offset is 8 times that), or -1.
 * Branches only (no table), so a BPF program can use it with a variable
 * register; with a constant one it folds to a constant. */
static inline int ctrace_ptregs_slot(unsigned int reg)
{
	switch (reg) {
	case CTRACE_REG_RAX: return 10;
	case CTRACE_REG_RDX: return 12;
	case CTRACE_REG_RCX: return 11;
	case CTRACE_REG_RBX: return 5;
	case CTRACE_REG_RSI: return 13;
	case CTRACE_REG_RDI: return 14;
	case CTRACE_REG_RBP: return 4;
	case CTRACE_REG_RSP: return 19;
	case CTRACE_REG_R8: return 9;
	case CTRACE_REG_R9: return 8;
	case CTRACE_REG_R10: return 7;
	case CTRACE_REG_R11: return 6;
	case CTRACE_REG_R12: return 3;
	case CTRACE_REG_R13: return 2;
	case CTRACE_REG_R14: return 1;
	case CTRACE_REG_R15: return 0;
	case CTRACE_REG_RIP: return 16;
	case CTRACE_REG_EFLAGS: return 18;
	default: return -1;
	}
}

/* The register's name as the loader writes it ("rax" .. "r15", "rip",
 * "eflags"), or NULL. */
static inline const char *ctrace_reg_name(unsigned int reg)
{
	static const char *const names[CTRACE_NREGS] = {
		[CTRACE_REG_RAX] = "rax", [CTRACE_REG_RDX] = "rdx", [CTRACE_REG_RCX] = "rcx",
		[CTRACE_REG_RBX] = "rbx", [CTRACE_REG_RSI] = "rsi", [CTRACE_REG_RDI] = "rdi",
		[CTRACE_REG_RBP] = "rbp", [CTRACE_REG_RSP] = "rsp", [CTRACE_REG_R8] = "r8",
		[CTRACE_REG_R9] = "r9",	  [CTRACE_REG_R10] = "r10", [CTRACE_REG_R11] = "r11",
		[CTRACE_REG_R12] = "r12", [CTRACE_REG_R13] = "r13", [CTRACE_REG_R14] = "r14",
		[CTRACE_REG_R15] = "r15", [CTRACE_REG_RIP] = "rip", [CTRACE_REG_EFLAGS] = "eflags",
	};

	return reg < CTRACE_NREGS ? names[reg] : 0;
}

#endif
