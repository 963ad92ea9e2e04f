/* DWARF location expressions: where a value is at a given pc, as the
 * pieces the BPF side reads (see dwarf_locations.h). */
#include <dwarf.h>
#include <elfutils/known-dwarf.h>
#include <elfutils/libdw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "find/dwarf_internal.h"
#include "find/dwarf_locations.h"

#define EVAL_STACK 8
#define REG_NONE   0xff /* sval: an absolute address, no base register */

/* ---- locations ---- */

static const char *op_name(unsigned atom)
{
	switch (atom) {
#define DWARF_ONE_KNOWN_DW_OP(NAME, CODE) \
	case CODE: return "DW_OP_" #NAME;
		DWARF_ALL_KNOWN_DW_OP
#undef DWARF_ONE_KNOWN_DW_OP
	}
	return NULL;
}

enum { SV_CONST, SV_REG, SV_LOAD };

struct sval {	      /* a symbolic DWARF stack entry */
	uint8_t kind; /* CONST: k; REG: reg + k; LOAD: size bytes at (reg + k) */
	uint8_t reg;  /* REG_NONE: no register (LOAD from an absolute address) */
	uint8_t size;
	uint8_t flags; /* CTRACE_PIECE_BIAS: k is a link-time address */
	int64_t k;
};

bool dw_why(struct eval *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->why, e->whylen, fmt, ap);
	va_end(ap);
	return false;
}

static const char *const reg_names[17] = {
	"rax",
	"rdx",
	"rcx",
	"rbx",
	"rsi",
	"rdi",
	"rbp",
	"rsp",
	"r8",
	"r9",
	"r10",
	"r11",
	"r12",
	"r13",
	"r14",
	"r15",
	"the return address",
};

/* Can the BPF side read DWARF register reg (as a value, or as a base when
 * based is true)? */
static bool reg_ok(struct eval *e, uint64_t reg, bool based)
{
	const char *in = based ? "addressed through" : "in";

	if (e->site && (reg == 4 || reg == 5))
		return dw_why(e, "%s %s, which holds the hook's %s argument at the hook call", in,
			      reg_names[reg], reg == 5 ? "this_fn" : "call_site");
	if (reg < 16)
		return true;
	if (reg >= 17 && reg <= 32)
		return dw_why(e, "%s xmm%u: BPF cannot read vector registers", in,
			      (unsigned)(reg - 17));
	if (reg >= 33 && reg <= 40)
		return dw_why(e, "%s st(%u): BPF cannot read x87 registers", in,
			      (unsigned)(reg - 33));
	if (reg >= 41 && reg <= 48)
		return dw_why(e, "%s mm%u: BPF cannot read MMX registers", in,
			      (unsigned)(reg - 41));
	return dw_why(e, "%s DWARF register %llu: BPF cannot read it", in, (unsigned long long)reg);
}

static bool unsupported(struct eval *e, const Dwarf_Op *op)
{
	const char *n = op_name(op->atom);
	if (n)
		return dw_why(e, "unsupported DWARF expression (%s)", n);
	return dw_why(e, "unsupported DWARF expression (DW_OP 0x%x)", op->atom);
}

static bool run_ops(struct eval *e, const Dwarf_Op *ops, size_t n, struct sval *st, int *sp,
		    bool in_frame_base);

/* The frame's CFA at pc, from .eh_frame or .debug_frame. */
static bool cfa_at(struct eval *e, struct sval *out)
{
	Dwarf_CFI *cfis[2] = { e->c->eh_cfi, e->c->dbg_cfi };
	Dwarf_Frame *fr = NULL;
	Dwarf_Op *ops;
	size_t nops;
	struct sval st[EVAL_STACK];
	int sp = 0;
	bool ok;

	for (int i = 0; i < 2 && !fr; i++)
		if (cfis[i] && dwarf_cfi_addrframe(cfis[i], e->pc, &fr) != 0)
			fr = NULL;
	if (!fr)
		return dw_why(e, "no call frame information (CFI) at 0x%llx",
			      (unsigned long long)e->pc);
	if (dwarf_frame_cfa(fr, &ops, &nops) != 0 || nops == 0) {
		free(fr);
		return dw_why(e, "the CFA is unknown at 0x%llx", (unsigned long long)e->pc);
	}
	ok = run_ops(e, ops, nops, st, &sp, true);
	free(fr);
	if (!ok)
		return false;
	if (sp != 1 || st[0].kind != SV_REG)
		return dw_why(e, "the frame address is computed from memory (realigned stack)");
	*out = st[0];
	return true;
}

/* DW_AT_frame_base of the enclosing subprogram, at pc: a register + offset. */
static bool frame_base(struct eval *e, struct sval *out)
{
	Dwarf_Attribute a;
	Dwarf_Op *ops;
	size_t nops;
	int n;

	if (!e->frame || !dwarf_attr_integrate(e->frame, DW_AT_frame_base, &a))
		return dw_why(e, "DW_OP_fbreg without a frame base");
	n = dwarf_getlocation_addr(&a, e->pc, &ops, &nops, 1);
	if (n <= 0 || nops == 0)
		return dw_why(e, "frame base unknown at 0x%llx", (unsigned long long)e->pc);
	if (nops == 1 && ops[0].atom == DW_OP_call_frame_cfa)
		return cfa_at(e, out);
	if (nops == 1 && ops[0].atom >= DW_OP_reg0 && ops[0].atom <= DW_OP_reg31) {
		if (!reg_ok(e, ops[0].atom - DW_OP_reg0, true))
			return false;
		*out = (struct sval){ .kind = SV_REG, .reg = (uint8_t)(ops[0].atom - DW_OP_reg0) };
		return true;
	}
	if (nops == 1 && ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		if (!reg_ok(e, ops[0].atom - DW_OP_breg0, true))
			return false;
		*out = (struct sval){ .kind = SV_REG,
				      .reg = (uint8_t)(ops[0].atom - DW_OP_breg0),
				      .k = (int64_t)ops[0].number };
		return true;
	}
	return dw_why(e, "unsupported frame base expression (%s)",
		      op_name(ops[0].atom) ? op_name(ops[0].atom) : "?");
}

/* DWARF address arithmetic wraps (bad input must not be undefined behaviour) */
static int64_t wrap_add(int64_t a, uint64_t b)
{
	return (int64_t)((uint64_t)a + b);
}

static bool push(struct eval *e, struct sval *st, int *sp, struct sval v)
{
	if (*sp >= EVAL_STACK)
		return dw_why(e, "DWARF expression too deep");
	st[(*sp)++] = v;
	return true;
}

/* Runs the address/value computing ops of one piece on a symbolic stack:
 * constants, register + offset, and one load from such an address. */
static bool run_ops(struct eval *e, const Dwarf_Op *ops, size_t n, struct sval *st, int *sp,
		    bool in_frame_base)
{
	for (size_t i = 0; i < n; i++) {
		const Dwarf_Op *op = &ops[i];
		unsigned atom = op->atom;
		struct sval v = { .kind = SV_CONST };

		if (atom >= DW_OP_lit0 && atom <= DW_OP_lit31) {
			v.k = atom - DW_OP_lit0;
			if (!push(e, st, sp, v))
				return false;
			continue;
		}
		if ((atom >= DW_OP_breg0 && atom <= DW_OP_breg31) || atom == DW_OP_bregx) {
			uint64_t reg =
				atom == DW_OP_bregx ? op->number : (uint64_t)(atom - DW_OP_breg0);
			if (!reg_ok(e, reg, true))
				return false;
			v = (struct sval){ .kind = SV_REG,
					   .reg = (uint8_t)reg,
					   .k = (int64_t)(atom == DW_OP_bregx ? op->number2 :
										op->number) };
			if (!push(e, st, sp, v))
				return false;
			continue;
		}
		switch (atom) {
		case DW_OP_const1u:
		case DW_OP_const2u:
		case DW_OP_const4u:
		case DW_OP_const8u:
		case DW_OP_constu:
		case DW_OP_const1s:
		case DW_OP_const2s:
		case DW_OP_const4s:
		case DW_OP_const8s:
		case DW_OP_consts:
			/* libdw stores the signed forms sign-extended */
			v.k = (int64_t)op->number;
			if (!push(e, st, sp, v))
				return false;
			break;
		case DW_OP_addr:
			v.k = (int64_t)op->number;
			v.flags = CTRACE_PIECE_BIAS;
			if (!push(e, st, sp, v))
				return false;
			break;
		case DW_OP_addrx:
		case DW_OP_GNU_addr_index: {
			Dwarf_Attribute a;
			Dwarf_Addr addr;
			if (!e->attr || dwarf_getlocation_attr(e->attr, op, &a) != 0 ||
			    dwarf_formaddr(&a, &addr) != 0)
				return unsupported(e, op);
			v.k = (int64_t)addr;
			v.flags = CTRACE_PIECE_BIAS;
			if (!push(e, st, sp, v))
				return false;
			break;
		}
		case DW_OP_fbreg:
			if (in_frame_base || !frame_base(e, &v))
				return in_frame_base ? unsupported(e, op) : false;
			v.k = wrap_add(v.k, op->number);
			if (!push(e, st, sp, v))
				return false;
			break;
		case DW_OP_call_frame_cfa:
			if (in_frame_base || !cfa_at(e, &v))
				return in_frame_base ? unsupported(e, op) : false;
			if (!push(e, st, sp, v))
				return false;
			break;
		case DW_OP_plus_uconst:
			if (*sp < 1 || st[*sp - 1].kind == SV_LOAD)
				return unsupported(e, op);
			st[*sp - 1].k = wrap_add(st[*sp - 1].k, op->number);
			break;
		case DW_OP_plus:
		case DW_OP_minus: {
			if (*sp < 2)
				return unsupported(e, op);
			struct sval b = st[--*sp], *a = &st[*sp - 1];
			if (b.kind != SV_CONST || b.flags || a->kind == SV_LOAD) {
				/* reg + reg, or anything + a load: not one register and an offset */
				if (atom == DW_OP_minus || a->kind != SV_CONST || a->flags ||
				    b.kind == SV_LOAD)
					return unsupported(e, op);
				struct sval t = *a; /* const + reg: commute */
				*a = b;
				b = t;
			}
			a->k = wrap_add(a->k, atom == DW_OP_plus ? (uint64_t)b.k : -(uint64_t)b.k);
			break;
		}
		case DW_OP_deref:
		case DW_OP_deref_size: {
			if (*sp < 1 || st[*sp - 1].kind == SV_LOAD)
				return unsupported(e, op);
			struct sval *a = &st[*sp - 1];
			uint64_t size = atom == DW_OP_deref ? 8 : op->number;
			if (size == 0 || size > 8)
				return unsupported(e, op);
			if (a->kind == SV_CONST)
				a->reg = REG_NONE;
			a->kind = SV_LOAD;
			a->size = (uint8_t)size;
			break;
		}
		case DW_OP_nop: break;
		case DW_OP_entry_value:
		case DW_OP_GNU_entry_value:
			return dw_why(e, "only known as the value on entry (DW_OP_entry_value)");
		case DW_OP_GNU_parameter_ref:
			return dw_why(e, "only known in the caller (DW_OP_GNU_parameter_ref)");
		case DW_OP_implicit_pointer:
		case DW_OP_GNU_implicit_pointer:
			return dw_why(e,
				      "points to an optimized-out object (DW_OP_implicit_pointer)");
		default:
			if ((atom >= DW_OP_reg0 && atom <= DW_OP_reg31) || atom == DW_OP_regx)
				return dw_why(
					e,
					"unsupported DWARF expression (a register inside an expression)");
			return unsupported(e, op);
		}
	}
	return true;
}

bool dw_add_piece(struct eval *e, struct pieces *ps, uint8_t kind, uint8_t reg, uint64_t size,
		  int64_t val, uint8_t flags)
{
	if (ps->n >= CTRACE_MAX_PIECES)
		return dw_why(e, "split across more than %d locations", CTRACE_MAX_PIECES);
	if ((kind == CTRACE_LOC_REG || kind == CTRACE_LOC_CONST) && size > 8)
		return dw_why(e, "a %llu-byte value in one %s", (unsigned long long)size,
			      kind == CTRACE_LOC_REG ? "register" : "constant");
	if (ps->bytes + size > CTRACE_VALUE_MAX) {
		if (ps->n > 0 || (kind != CTRACE_LOC_MEM && kind != CTRACE_LOC_MEM_ABS))
			return dw_why(e, "split across locations and larger than %d bytes",
				      CTRACE_VALUE_MAX);
		size = CTRACE_VALUE_MAX; /* a big struct in memory: its start */
		ps->cut = true;
	}
	ps->p[ps->n++] = (struct ctrace_piece){
		.kind = kind, .reg = reg, .size = (uint8_t)size, .flags = flags, .val = val
	};
	ps->bytes += (uint32_t)size;
	return true;
}

/* One piece: ops[0..n) describe `size` bytes of the value. */
static bool eval_piece(struct eval *e, const Dwarf_Op *ops, size_t n, uint64_t size, bool only,
		       struct pieces *ps)
{
	struct sval st[EVAL_STACK];
	int sp = 0;
	const Dwarf_Op *last = &ops[n - 1];

	if (size == 0)
		return dw_why(e, "a zero-sized piece");
	if (n == 1 &&
	    ((last->atom >= DW_OP_reg0 && last->atom <= DW_OP_reg31) || last->atom == DW_OP_regx)) {
		uint64_t reg = last->atom == DW_OP_regx ? last->number :
							  (uint64_t)(last->atom - DW_OP_reg0);
		return reg_ok(e, reg, false) &&
		       dw_add_piece(e, ps, CTRACE_LOC_REG, (uint8_t)reg, size, 0, 0);
	}
	if (last->atom == DW_OP_implicit_value) {
		Dwarf_Block b;
		uint64_t v = 0;
		if (n != 1 || !e->attr || dwarf_getlocation_implicit_value(e->attr, last, &b) != 0)
			return unsupported(e, last);
		if (b.length > 8 || b.length < size)
			return dw_why(e, "a %llu-byte constant (DW_OP_implicit_value)",
				      (unsigned long long)b.length);
		for (size_t i = b.length; i-- > 0;)
			v = v << 8 | b.data[i];
		return dw_add_piece(e, ps, CTRACE_LOC_CONST, 0, size, (int64_t)v, 0);
	}
	bool value = last->atom == DW_OP_stack_value;
	if (!run_ops(e, ops, value ? n - 1 : n, st, &sp, false))
		return false;
	if (sp < 1)
		return dw_why(e, "empty DWARF expression");
	struct sval *t = &st[sp - 1];
	if (value) {
		switch (t->kind) {
		case SV_CONST:
			return dw_add_piece(e, ps, CTRACE_LOC_CONST, 0, size, t->k, t->flags);
		case SV_REG: return dw_add_piece(e, ps, CTRACE_LOC_REG, t->reg, size, t->k, 0);
		default:
			if (size > t->size)
				return dw_why(e,
					      "a %llu-byte value loaded with DW_OP_deref_size %u",
					      (unsigned long long)size, t->size);
			return dw_add_piece(
				e, ps, t->reg == REG_NONE ? CTRACE_LOC_MEM_ABS : CTRACE_LOC_MEM,
				t->reg == REG_NONE ? 0 : t->reg, size, t->k, t->flags);
		}
	}
	switch (t->kind) {
	case SV_REG: return dw_add_piece(e, ps, CTRACE_LOC_MEM, t->reg, size, t->k, 0);
	case SV_CONST: return dw_add_piece(e, ps, CTRACE_LOC_MEM_ABS, 0, size, t->k, t->flags);
	default:
		/* the object is at an address held in memory: C++ passes
		 * non-trivially-copyable classes by invisible reference */
		if (!only || t->size != 8)
			return dw_why(
				e,
				"unsupported DWARF expression (memory at an address loaded from memory)");
		ps->indirect = true;
		return dw_add_piece(e, ps, t->reg == REG_NONE ? CTRACE_LOC_MEM_ABS : CTRACE_LOC_MEM,
				    t->reg == REG_NONE ? 0 : t->reg, 8, t->k, t->flags);
	}
}

/* A whole location description: one piece, or pieces split by DW_OP_piece. */
bool dw_eval_loc(struct eval *e, const Dwarf_Op *ops, size_t n, uint32_t size, struct pieces *ps)
{
	bool has_piece = false;

	memset(ps, 0, sizeof(*ps));
	if (n == 0)
		return dw_why(e, "optimized out at this point");
	for (size_t i = 0; i < n; i++) {
		if (ops[i].atom == DW_OP_bit_piece)
			return unsupported(e, &ops[i]);
		has_piece |= ops[i].atom == DW_OP_piece;
	}
	if (!has_piece)
		return eval_piece(e, ops, n, size, true, ps);
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].atom != DW_OP_piece)
			continue;
		if (i == start)
			return dw_why(e, "partly optimized out (an empty DW_OP_piece)");
		if (!eval_piece(e, ops + start, i - start, ops[i].number, false, ps))
			return false;
		start = i + 1;
	}
	if (start != n)
		return dw_why(e, "unsupported DWARF expression (ops after the last DW_OP_piece)");
	return true;
}
