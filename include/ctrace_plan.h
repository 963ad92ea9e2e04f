/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Capture plans: where a traced function's arguments are at one hook call, and
 * where its return value is when it returns, precomputed from DWARF by the
 * loader (user/find/dwarf_plans.c) so the BPF programs only copy bytes. Fixed-width
 * types only, no pointers: the same layout on both sides.
 *
 * Registers. A register number is a DWARF x86-64 number, 0..15 (enum
 * ctrace_reg: 0 rax, 1 rdx, 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8-15
 * r8-r15); ctrace_ptregs_slot() maps it to the kernel's struct pt_regs. In a site plan every register means its value
 * AT THE HOOK CALL INSTRUCTION (struct ctrace_site_plan.site_vaddr):
 * - call-site probes fire on that instruction: pt_regs are exactly that;
 * - preload probes fire on the hook's first instruction: every register is the
 *   same except rsp, which is 8 lower (the pushed return address). So in
 *   preload mode reg 7 (rsp) must read as regs->sp + 8, wherever it appears.
 *   CTRACE_SITE_USES_RSP says whether a plan has any rsp-based piece.
 *   Also in preload mode: on the first call through a lazily bound PLT slot
 *   the dynamic linker's resolver runs between the call and the hook, and it
 *   preserves every register a plan may use except r10 and r11 (its scratch
 *   registers); CTRACE_SITE_USES_R10_R11 flags plans that read them.
 * A plan never uses rdi or rsi: at the hook call they hold the hook's own
 * arguments (this_fn, call_site), so such locations are left unavailable.
 * In a return plan (for a uretprobe on the function) registers are those at
 * the return: rax, rdx, or memory at rax.
 *
 * Record layout (little-endian, sizes in bytes):
 *   struct ctrace_piece      16   kind reg size flags | pad[4] | val (s64)
 *   struct ctrace_arg_plan   40   npieces follow follow_size size pad | piece[2]
 *   struct ctrace_mstr_plan   4   arg off
 *   struct ctrace_site_plan 272   site_vaddr | nargs flags insn_len nmstr mstr_size pad[2] |
 *                                 arg[6] | mstr[4]
 *
 * Executing an arg plan (npieces == 0: not captured, the loader knows why):
 *   for each piece p, appended at byte (sum of the previous pieces' sizes):
 *     REG      the low p.size bytes of (reg + p.val)      (val: an addend, usually 0)
 *     MEM      p.size bytes read at (reg + p.val)
 *     MEM_ABS  p.size bytes read at (p.val [+ load bias])
 *     CONST    the low p.size bytes of (p.val [+ load bias])
 *   [+ load bias] when p.flags has CTRACE_PIECE_BIAS: p.val is a link-time
 *   address of the module that holds the site; bias = runtime address of the
 *   hook call - site_vaddr (call-site mode: regs->ip - site_vaddr; preload
 *   mode: the hook's rsi, the return address, - (site_vaddr + insn_len)).
 *   The value is `size` bytes (the sum). Then, when follow is not NONE, the
 *   value's first 8 bytes are a pointer p into the target:
 *     STRING   read a NUL-terminated string at p, at most follow_size bytes
 *     DEREF    read follow_size bytes at p (a struct behind a pointer, a C++
 *              reference, `this`)
 *   A NULL p is not read.
 *
 * Strings inside structs: after the arguments, for each of the site's nmstr
 * member strings m (a `char *` member of a struct argument, by value or
 * behind the followed pointer, in the order the value is written):
 *     p = the 8 bytes at m.off in argument m.arg's value (or, with
 *         CTRACE_MSTR_TGT, in what it points to, when that was read);
 *     read a NUL-terminated string at p, at most mstr_size bytes, as STRING.
 *   Members past CTRACE_MAX_MSTR are not read: the loader says so. */
#ifndef CTRACE_PLAN_H
#define CTRACE_PLAN_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "ctrace_regs.h"

#define CTRACE_MAX_ARGS	  6   /* parameters captured per call (the first ones) */
#define CTRACE_MAX_PIECES 2   /* locations one value may be split across */
#define CTRACE_VALUE_MAX  64  /* bytes of one value; larger by-value structs are cut */
#define CTRACE_FOLLOW_MAX 256 /* bytes read behind one pointer (string or struct) */
#define CTRACE_MAX_MSTR	  4   /* strings of char * members read per call */

enum ctrace_loc_kind {
	CTRACE_LOC_NONE = 0,
	CTRACE_LOC_REG = 1,
	CTRACE_LOC_MEM = 2,
	CTRACE_LOC_MEM_ABS = 3,
	CTRACE_LOC_CONST = 4,
};

enum ctrace_follow {
	CTRACE_FOLLOW_NONE = 0,
	CTRACE_FOLLOW_STRING = 1,
	CTRACE_FOLLOW_DEREF = 2,
};

#define CTRACE_PIECE_BIAS	 0x01 /* val is a link-time address: add the load bias */
#define CTRACE_SITE_USES_RSP	 0x01 /* some piece reads rsp (preload mode: + 8) */
#define CTRACE_SITE_USES_R10_R11 0x02 /* some piece reads r10/r11 (see above) */

struct ctrace_piece {
	__u8 kind;  /* enum ctrace_loc_kind */
	__u8 reg;   /* REG, MEM: DWARF register number (0..15) */
	__u8 size;  /* bytes: 1..8 for REG and CONST, 1..CTRACE_VALUE_MAX for MEM* */
	__u8 flags; /* CTRACE_PIECE_BIAS */
	__u8 pad[4];
	__s64 val; /* REG: addend; MEM: displacement; MEM_ABS: address; CONST: value */
};

struct ctrace_arg_plan {
	__u8 npieces;	   /* 0..CTRACE_MAX_PIECES; 0: not captured */
	__u8 follow;	   /* enum ctrace_follow */
	__u16 follow_size; /* STRING: max bytes incl. the NUL; DEREF: bytes; <= CTRACE_FOLLOW_MAX */
	__u16 size;	   /* the value's bytes: sum of piece sizes, <= CTRACE_VALUE_MAX */
	__u16 pad;
	struct ctrace_piece piece[CTRACE_MAX_PIECES];
};

/* a char * member whose string is read (see above) */
#define CTRACE_MSTR_TGT 0x80 /* in arg: the member is in the followed target */
struct ctrace_mstr_plan {
	__u8 arg; /* the argument's index, | CTRACE_MSTR_TGT */
	__u8 pad;
	__u16 off; /* the member's byte offset in the value or in the target */
};

/* One per hook call site; arg[i] is the function's i-th parameter (C++ `this`
 * first), for i < nargs. Parameters past CTRACE_MAX_ARGS are not captured. */
struct ctrace_site_plan {
	__u64 site_vaddr; /* link-time vaddr of the hook call instruction */
	__u8 nargs;	  /* 0..CTRACE_MAX_ARGS */
	__u8 flags;	  /* CTRACE_SITE_USES_RSP, CTRACE_SITE_USES_R10_R11 */
	__u8 insn_len;	  /* length of the call instruction (0 when not given) */
	__u8 nmstr;	  /* 0..CTRACE_MAX_MSTR member strings */
	__u16 mstr_size;  /* their max bytes incl. the NUL; <= CTRACE_FOLLOW_MAX */
	__u8 pad[2];
	struct ctrace_arg_plan arg[CTRACE_MAX_ARGS];
	struct ctrace_mstr_plan mstr[CTRACE_MAX_MSTR];
};

_Static_assert(sizeof(struct ctrace_piece) == 16, "ctrace_piece layout");
_Static_assert(sizeof(struct ctrace_arg_plan) == 40, "ctrace_arg_plan layout");
_Static_assert(sizeof(struct ctrace_mstr_plan) == 4, "ctrace_mstr_plan layout");
_Static_assert(sizeof(struct ctrace_site_plan) == 272, "ctrace_site_plan layout");

#endif
