/* Find the branches to the instrumentation hooks with a real x86 decoder: a uprobe
 * placed inside an instruction would corrupt the target, so every site is an
 * instruction boundary reached by decoding linearly from a symbol's start.
 * The same decode proves, where it can, the this_fn each site passes: inlined
 * functions' hook calls sit inside their callers. */
#include "find/hook_sites.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "utils/bsearch.h"

#define AMBIGUOUS 2 /* a target that is both hooks */

struct addr_set {
	uint64_t *v;
	size_t n, cap;
};

enum { NGPR = 16, RAX = 0, RSP = 4, RBP = 5, RDI = 7 }; /* general registers by number */

struct known {		 /* a register's value, when proven */
	uint64_t val;	 /* 0: unknown */
	uint64_t since;	 /* the instruction it was produced at */
	uint64_t copied; /* from: where it was copied... */
	uint8_t from;	 /* ...from register from - 1 (0: not a copy) */
};

/* A register written once in a function, by an address load before the function
 * first branches or calls, holds that address everywhere after it on every path:
 * gcc -O2 keeps this_fn in such a callee-saved register across the body. */
struct pin {
	uint64_t val, at;
	unsigned writes; /* saturates at 2 */
};

struct regs { /* one function's linear decode */
	const struct elf_sym *f;
	struct known r[NGPR];
	struct pin pin[NGPR];
	unsigned restored; /* popped since the last other write */
	bool entry;	   /* still on the straight line from its start */
};

struct proof {		       /* per site: what its this_fn relies on */
	uint64_t since;	       /* no branch lands in (since, site] */
	uint64_t out, out_end; /* none from another function in (out, out_end] */
	uint64_t copied;       /* rdi was copied from register from - 1 there */
	uint8_t from;
	bool pinned; /* this_fn is that register's pin */
};

struct targets {
	struct addr_set slot[2]; /* GOT slots holding hook k's address */
	struct addr_set stub[2]; /* PLT entry points that jump through them */
	uint64_t def[2];	 /* the hooks' own code, when defined here */
};

struct range {
	uint64_t addr, size;
};

struct got_sym {
	uint64_t slot;
	const char *name;
};

/* A value tracked as "what GOT slot X holds" (a function of this or another
 * file, by its dynamic symbol): above any user address. */
#define GOT_MARK (1ull << 63)

struct code_seg { /* file bytes of one executable PT_LOAD */
	const struct elf_load *load;
	uint8_t *bytes;
};

struct scan {
	const struct elf_image *img;
	csh cs;
	cs_insn *insn;
	struct targets t;
	struct code_seg *segs;
	size_t nsegs;
	struct range *exec; /* executable sections */
	size_t nexec;
	struct range plt[8]; /* .plt, .plt.sec, .plt.got */
	size_t nplt;
	struct range got[2]; /* .got, .got.plt */
	size_t ngot;
	struct got_sym *gsyms; /* GLOB_DAT slots of functions, by slot */
	size_t ngsyms, capgsyms;
	bool eh;		  /* has exception landing pads */
	struct addr_set jump_in;  /* every direct branch target (unsorted, repeats) */
	struct addr_set jump_out; /* those outside the branching function */
	bool *opaque;		  /* per symbol: has jumps we cannot follow */
	struct hook_site *sites;
	struct proof *proof; /* per site */
	size_t nsites, cap;
	size_t ambiguous; /* calls to a target that is both hooks */
	size_t undecoded; /* functions whose decoding stopped early */
	uint64_t undecoded_addr;
	const char *undecoded_name;
};

static int vec_push(struct addr_set *s, uint64_t a)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = a;
	return 0;
}

static int set_add(struct addr_set *s, uint64_t a)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == a)
			return 0;
	return vec_push(s, a);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void sort_set(struct addr_set *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), u64_cmp);
}

/* index of the first element >= a in sorted v[n] */
static size_t lower_bound(const uint64_t *v, size_t n, uint64_t a)
{
	return PARTITION_POINT(n, m, v[m] < a);
}

static bool set_has(const struct addr_set *s, uint64_t a)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == a)
			return true;
	return false;
}

/* HOOK_ENTER / HOOK_EXIT / AMBIGUOUS for a branch target, -1 if not a hook */
static int match(const struct addr_set sets[2], const uint64_t def[2], uint64_t a)
{
	int kind = -1;

	for (int k = 0; k < 2; k++) {
		if ((def && def[k] && def[k] == a) || set_has(&sets[k], a)) {
			if (kind >= 0)
				return AMBIGUOUS;
			kind = k;
		}
	}
	return kind;
}

static bool contains(const struct range *r, uint64_t addr, uint64_t size)
{
	return addr >= r->addr && addr - r->addr <= r->size && size <= r->size - (addr - r->addr);
}

/* Bytes at [vaddr, vaddr+size) when they all lie in one executable segment's file part */
static const uint8_t *code_at(const struct scan *sc, uint64_t vaddr, uint64_t size,
			      const struct elf_load **load)
{
	for (size_t i = 0; i < sc->nsegs; i++) {
		const struct elf_load *l = sc->segs[i].load;
		struct range r = { l->vaddr, l->filesz };
		if (contains(&r, vaddr, size)) {
			*load = l;
			return sc->segs[i].bytes + (vaddr - l->vaddr);
		}
	}
	return NULL;
}

static bool in_group(const cs_insn *in, uint8_t group)
{
	for (uint8_t i = 0; i < in->detail->groups_count; i++)
		if (in->detail->groups[i] == group)
			return true;
	return false;
}

/* Branch target of a call/jmp/jcc: *mem tells whether it is read from memory
 * (then the target is the address of the memory slot). */
static bool branch_target(const cs_insn *in, uint64_t *target, bool *mem)
{
	const cs_x86 *x = &in->detail->x86;

	switch (in->id) {
	case X86_INS_LOOP:
	case X86_INS_LOOPE:
	case X86_INS_LOOPNE:
	case X86_INS_JCXZ:
	case X86_INS_JECXZ:
	case X86_INS_JRCXZ: return false; /* never a tail call, and not emulated */
	case X86_INS_CALL:
	case X86_INS_JMP: break;
	default: /* Jcc: a conditional tail call */
		if (!in_group(in, CS_GRP_BRANCH_RELATIVE))
			return false;
	}
	if (x->op_count != 1)
		return false;
	const cs_x86_op *op = &x->operands[0];
	if (op->type == X86_OP_IMM) {
		*target = (uint64_t)op->imm;
		*mem = false;
		return true;
	}
	if (op->type == X86_OP_MEM && op->mem.base == X86_REG_RIP &&
	    op->mem.index == X86_REG_INVALID && op->mem.segment != X86_REG_FS &&
	    op->mem.segment != X86_REG_GS) {
		*target = in->address + in->size + (uint64_t)op->mem.disp;
		*mem = true;
		return true;
	}
	return false;
}

static Elf_Data *section_data(Elf *elf, size_t ndx, size_t shnum, GElf_Shdr *sh)
{
	Elf_Scn *scn = ndx && ndx < shnum ? elf_getscn(elf, ndx) : NULL;
	if (!scn || !gelf_getshdr(scn, sh))
		return NULL;
	Elf_Data *d = elf_getdata(scn, NULL);
	return d && (d->d_buf || !d->d_size) ? d : NULL;
}

static int add_got_sym(struct scan *sc, uint64_t slot, const char *name)
{
	if (sc->ngsyms == sc->capgsyms) {
		size_t cap = sc->capgsyms ? sc->capgsyms * 2 : 256;
		struct got_sym *v = realloc(sc->gsyms, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sc->gsyms = v;
		sc->capgsyms = cap;
	}
	sc->gsyms[sc->ngsyms++] = (struct got_sym){ slot, name };
	return 0;
}

static int got_sym_cmp(const void *a, const void *b)
{
	const struct got_sym *x = a, *y = b;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* the function symbol whose GOT slot is at slot (gsyms sorted), or NULL */
static const char *got_name(const struct scan *sc, uint64_t slot)
{
	size_t lo = PARTITION_POINT(sc->ngsyms, m, sc->gsyms[m].slot < slot);

	return lo < sc->ngsyms && sc->gsyms[lo].slot == slot ? sc->gsyms[lo].name : NULL;
}

/* GOT slots of the hooks from R_X86_64_JUMP_SLOT (PLT) and GLOB_DAT (-fno-plt);
 * and those of other functions (GLOB_DAT), which this_fn may be loaded from */
static int read_relocs(struct scan *sc, Elf_Scn *scn, const GElf_Shdr *sh, size_t shnum)
{
	GElf_Shdr symsh, strsh;
	Elf *elf = sc->img->elf;

	if (sh->sh_entsize != sizeof(Elf64_Rela))
		return 0;
	Elf_Data *syms = section_data(elf, sh->sh_link, shnum, &symsh);
	if (!syms || (symsh.sh_type != SHT_DYNSYM && symsh.sh_type != SHT_SYMTAB) ||
	    symsh.sh_entsize != sizeof(Elf64_Sym))
		return 0;
	Elf_Data *strs = section_data(elf, symsh.sh_link, shnum, &strsh);
	Elf_Data *rel = elf_getdata(scn, NULL);
	if (!strs || strsh.sh_type != SHT_STRTAB || !rel || !rel->d_buf)
		return 0;

	size_t nrel = rel->d_size / sizeof(Elf64_Rela);
	size_t nsym = syms->d_size / sizeof(Elf64_Sym);
	if (nrel > INT_MAX || nsym > INT_MAX)
		return 0;
	for (size_t i = 0; i < nrel; i++) {
		GElf_Rela r;
		GElf_Sym s;
		if (!gelf_getrela(rel, (int)i, &r))
			break;
		uint64_t type = GELF_R_TYPE(r.r_info), si = GELF_R_SYM(r.r_info);
		if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || si == 0 ||
		    si >= nsym || !gelf_getsym(syms, (int)si, &s))
			continue;
		if (s.st_name >= strs->d_size ||
		    !memchr((const char *)strs->d_buf + s.st_name, '\0', strs->d_size - s.st_name))
			continue;
		const char *name = (const char *)strs->d_buf + s.st_name;
		int k = elf_hook_name_kind(name);
		if (k >= 0 && set_add(&sc->t.slot[k], r.r_offset))
			return -ENOMEM;
		if (k < 0 && type == R_X86_64_GLOB_DAT && *name &&
		    (GELF_ST_TYPE(s.st_info) == STT_FUNC ||
		     GELF_ST_TYPE(s.st_info) == STT_GNU_IFUNC ||
		     (s.st_shndx == SHN_UNDEF && GELF_ST_TYPE(s.st_info) == STT_NOTYPE)) &&
		    add_got_sym(sc, r.r_offset, name))
			return -ENOMEM;
	}
	return 0;
}

/* Sections: executable ranges, PLT sections, and relocations. */
static int read_sections(struct scan *sc)
{
	Elf *elf = sc->img->elf;
	size_t shnum, shstrndx;

	if (elf_getshdrnum(elf, &shnum) != 0 || shnum == 0)
		return 0;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	sc->exec = calloc(shnum, sizeof(*sc->exec));
	if (!sc->exec)
		return -ENOMEM;
	for (size_t i = 1; i < shnum; i++) {
		Elf_Scn *scn = elf_getscn(elf, i);
		GElf_Shdr sh;
		if (!scn || !gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_RELA) {
			int rc = read_relocs(sc, scn, &sh, shnum);
			if (rc)
				return rc;
		}
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".gcc_except_table"))
			sc->eh = true;
		if (name && sc->ngot < 2 && (!strcmp(name, ".got") || !strcmp(name, ".got.plt")))
			sc->got[sc->ngot++] = (struct range){ sh.sh_addr, sh.sh_size };
		if (sh.sh_type != SHT_PROGBITS ||
		    (sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR))
			continue;
		struct range r = { sh.sh_addr, sh.sh_size };
		sc->exec[sc->nexec++] = r;
		if (name && sc->nplt < sizeof(sc->plt) / sizeof(sc->plt[0]) &&
		    (!strcmp(name, ".plt") || !strcmp(name, ".plt.sec") ||
		     !strcmp(name, ".plt.got")))
			sc->plt[sc->nplt++] = r;
	}
	return 0;
}

static int read_code(struct scan *sc)
{
	const struct elf_image *img = sc->img;

	sc->segs = calloc(img->nloads, sizeof(*sc->segs));
	if (!sc->segs)
		return -ENOMEM;
	for (size_t i = 0; i < img->nloads; i++) {
		const struct elf_load *l = &img->loads[i];
		if (!(l->flags & PF_X) || l->filesz == 0)
			continue;
		uint8_t *b = malloc(l->filesz);
		if (!b)
			return -ENOMEM;
		sc->segs[sc->nsegs++] = (struct code_seg){ l, b };
		for (uint64_t got = 0; got < l->filesz;) {
			ssize_t r =
				pread(img->fd, b + got, l->filesz - got, (off_t)(l->offset + got));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return r < 0 ? -errno : -EIO; /* shrank since it was opened */
			got += (uint64_t)r;
		}
	}
	return 0;
}

/* A PLT entry whose `jmp [rip+X]` reads hook k's GOT slot is hook k's stub; with
 * IBT (.plt.sec) the entry starts with endbr64 just before the jmp, and that is
 * where callers land. */
static int find_stubs(struct scan *sc)
{
	for (size_t p = 0; p < sc->nplt; p++) {
		const struct elf_load *l;
		const uint8_t *base = code_at(sc, sc->plt[p].addr, sc->plt[p].size, &l);
		if (!base)
			continue;
		const uint8_t *code = base;
		size_t left = sc->plt[p].size;
		uint64_t addr = sc->plt[p].addr, prev_addr = 0, prev_end = 0;
		bool prev_endbr = false;
		while (left) {
			if (!cs_disasm_iter(sc->cs, &code, &left, &addr, sc->insn)) {
				/* padding we cannot decode: resume at the next entry (8-byte aligned) */
				size_t pos = (size_t)(code - base), next = (pos + 8) & ~(size_t)7;
				if (next >= sc->plt[p].size)
					break;
				code = base + next;
				left = sc->plt[p].size - next;
				addr = sc->plt[p].addr + next;
				prev_endbr = false;
				continue;
			}
			const cs_insn *in = sc->insn;
			uint64_t slot;
			bool mem;
			if (in->id == X86_INS_JMP && branch_target(in, &slot, &mem) && mem) {
				int k = match(sc->t.slot, NULL, slot);
				if (k == HOOK_ENTER || k == HOOK_EXIT) {
					if (set_add(&sc->t.stub[k], in->address))
						return -ENOMEM;
					if (prev_endbr && prev_end == in->address &&
					    set_add(&sc->t.stub[k], prev_addr))
						return -ENOMEM;
				}
			}
			prev_endbr = in->id == X86_INS_ENDBR64;
			prev_addr = in->address;
			prev_end = in->address + in->size;
		}
	}
	return 0;
}

static int add_site(struct scan *sc, const cs_insn *in, uint32_t sym, int kind, bool direct,
		    const struct elf_load *l, const struct known *rdi)
{
	if (sc->nsites == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		struct hook_site *v = realloc(sc->sites, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sc->sites = v;
		struct proof *proof = realloc(sc->proof, cap * sizeof(*proof));
		if (!proof)
			return -ENOMEM;
		sc->proof = proof;
		sc->cap = cap;
	}
	sc->proof[sc->nsites] = (struct proof){ rdi->since,  rdi->since, in->address,
						rdi->copied, rdi->from,	 false };
	sc->sites[sc->nsites++] = (struct hook_site){
		.vaddr = in->address,
		.offset = l->offset + (in->address - l->vaddr),
		.this_fn = rdi->val,
		.sym = sym,
		.kind = (uint8_t)kind,
		.len = (uint8_t)in->size,
		.direct = direct,
	};
	return 0;
}

#define ALL_GPRS     0xffffu
#define CALLER_SAVED 0x0fc7u /* rax rcx rdx rsi rdi r8-r11 */

/* The general registers' numbers (+1); sub-registers map to their whole. */
#define GPR(i, q, d, w, b)                                                         \
	[X86_REG_##q] = (i) + 1, [X86_REG_##d] = (i) + 1, [X86_REG_##w] = (i) + 1, \
	[X86_REG_##b] = (i) + 1
static const uint8_t gpr_num[X86_REG_ENDING] = {
	GPR(0, RAX, EAX, AX, AL),	[X86_REG_AH] = 1,
	GPR(1, RCX, ECX, CX, CL),	[X86_REG_CH] = 2,
	GPR(2, RDX, EDX, DX, DL),	[X86_REG_DH] = 3,
	GPR(3, RBX, EBX, BX, BL),	[X86_REG_BH] = 4,
	GPR(4, RSP, ESP, SP, SPL),	GPR(5, RBP, EBP, BP, BPL),
	GPR(6, RSI, ESI, SI, SIL),	GPR(7, RDI, EDI, DI, DIL),
	GPR(8, R8, R8D, R8W, R8B),	GPR(9, R9, R9D, R9W, R9B),
	GPR(10, R10, R10D, R10W, R10B), GPR(11, R11, R11D, R11W, R11B),
	GPR(12, R12, R12D, R12W, R12B), GPR(13, R13, R13D, R13W, R13B),
	GPR(14, R14, R14D, R14W, R14B), GPR(15, R15, R15D, R15W, R15B),
};

static int gpr(unsigned reg)
{
	return reg < X86_REG_ENDING ? gpr_num[reg] - 1 : -1;
}

/* Mask of the general registers in may change. */
static unsigned written(csh cs, const cs_insn *in)
{
	cs_regs rd, wr;
	uint8_t nrd, nwr;
	unsigned m = 0;

	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return ALL_GPRS;
	for (uint8_t i = 0; i < nwr; i++)
		if (gpr(wr[i]) >= 0)
			m |= 1u << gpr(wr[i]);
	const cs_x86 *x = &in->detail->x86;
	for (uint8_t i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_REG && (x->operands[i].access & CS_AC_WRITE) &&
		    gpr(x->operands[i].reg) >= 0)
			m |= 1u << gpr(x->operands[i].reg);
	/* implicit writes Capstone 4 leaves out of its lists */
	if (in->id == X86_INS_CMPXCHG || in->id == X86_INS_XLATB)
		m |= 1u << RAX;
	if (in->id == X86_INS_ENTER)
		m |= 1u << RBP | 1u << RSP;
	if (in_group(in, CS_GRP_INT)) /* syscall: rax rcx r11 */
		m |= CALLER_SAVED;
	return m;
}

/* Never falls through: what follows is only reached by a jump (or is a landing pad). */
static bool ends_block(const cs_insn *in)
{
	switch (in->id) {
	case X86_INS_JMP:
	case X86_INS_LJMP:
	case X86_INS_UD0:
	case X86_INS_UD2:
	case X86_INS_UD2B:
	case X86_INS_HLT:
	case X86_INS_INT3: return true;
	}
	return in_group(in, CS_GRP_RET) || in_group(in, CS_GRP_IRET);
}

/* Steps the proven register values over one instruction. Only addresses count as
 * values: lea reg, [rip+X]; mov reg, imm in a non-PIE image; copies of those. */
static void track(const struct scan *sc, const cs_insn *in, struct regs *st, bool hook)
{
	const cs_x86 *x = &in->detail->x86;
	const cs_x86_op *d = &x->operands[0], *s = &x->operands[1];
	int dst = x->op_count == 2 && d->type == X86_OP_REG ? gpr(d->reg) : -1;
	struct known v = { 0, in->address, 0, 0 };

	if (dst < 0)
		;
	else if (in->id == X86_INS_LEA && d->size == 8 && s->type == X86_OP_MEM &&
		 s->mem.base == X86_REG_RIP && s->mem.index == X86_REG_INVALID)
		v.val = in->address + in->size + (uint64_t)s->mem.disp;
	else if (in->id == X86_INS_MOV && d->size == 8 && s->type == X86_OP_MEM &&
		 s->mem.base == X86_REG_RIP && s->mem.index == X86_REG_INVALID &&
		 s->mem.segment == X86_REG_INVALID &&
		 got_name(sc, in->address + in->size + (uint64_t)s->mem.disp))
		v.val = GOT_MARK | (in->address + in->size + (uint64_t)s->mem.disp);
	else if ((in->id == X86_INS_MOV || in->id == X86_INS_MOVABS) && s->type == X86_OP_IMM &&
		 sc->img->e_type == ET_EXEC) /* PIE code has no absolute addresses */
		v.val = d->size == 8 ? (uint64_t)s->imm : d->size == 4 ? (uint32_t)s->imm : 0;
	else if (in->id == X86_INS_MOV && s->type == X86_OP_REG && gpr(s->reg) >= 0 &&
		 s->size == d->size && (d->size == 8 || d->size == 4)) {
		v = st->r[gpr(s->reg)];
		v.copied = in->address;
		v.from = (uint8_t)(gpr(s->reg) + 1);
		if (d->size == 4) /* keeps only what fits in 32 bits */
			v = (struct known){ v.val <= UINT32_MAX ? v.val : 0, v.since, 0, 0 };
	}

	bool call = in_group(in, CS_GRP_CALL), end = ends_block(in);
	bool jump = !call && (in_group(in, CS_GRP_JUMP) || in_group(in, CS_GRP_BRANCH_RELATIVE));
	unsigned w = written(sc->cs, in) | (call ? CALLER_SAVED : 0), counted = w;
	/* The epilogue's pops do not unpin: nothing reads the registers after them
	 * when they are followed only by stack adjustments and a return (or a tail
	 * call out of the function). */
	if (in_group(in, CS_GRP_RET) ||
	    (in->id == X86_INS_JMP && x->op_count == 1 &&
	     ((d->type == X86_OP_MEM && d->mem.base == X86_REG_RIP) ||
	      (d->type == X86_OP_IMM && (uint64_t)d->imm - st->f->addr >= st->f->size))))
		st->restored = 0;
	else if (in->id == X86_INS_POP || in->id == X86_INS_LEAVE)
		st->restored |= w, counted = 0;
	else if (call || jump || (w & ~(1u << RSP)))
		counted |= st->restored, st->restored = 0;
	for (int i = 0; i < NGPR; i++) {
		struct pin *p = &st->pin[i];
		if (!(counted >> i & 1) || p->writes == 2)
			continue;
		if (p->writes++ == 0 && st->entry && i == dst && !v.from)
			*p = (struct pin){ v.val, in->address, 1 };
	}
	/* With landing pads, the code after a call that never returns may be a pad,
	 * entered from another call with other values: only the hooks surely return. */
	if ((call && sc->eh && !hook) || end)
		w = ALL_GPRS;
	for (int i = 0; i < NGPR; i++)
		if (w >> i & 1)
			st->r[i] = (struct known){ 0, 0, 0, 0 };
	if (v.val || v.from)
		st->r[dst] = v;
	if ((call && !hook) || jump || end) /* the hooks return, and do not throw */
		st->entry = false;
}

/* After a function's decode, its sites whose rdi was copied from a pinned
 * register after the pinning load get that register's value, with a proof that
 * does not care about joins between the two. */
static void pin_sites(struct scan *sc, size_t first, const struct regs *st)
{
	for (size_t i = first; i < sc->nsites; i++) {
		struct proof *p = &sc->proof[i];
		const struct pin *q = p->from ? &st->pin[p->from - 1] : NULL;
		if (!q || q->writes != 1 || !q->val || q->at >= p->copied)
			continue;
		sc->sites[i].this_fn = q->val;
		p->pinned = true;
		p->since = p->copied; /* a join after the copy may bring another rdi */
		p->out = q->at;	      /* a jump in from elsewhere after the load may */
		p->out_end = st->f->addr + st->f->size - 1; /* come back to the copy */
	}
}

/* Collects where branches may enter code. A jump we cannot follow (switch table,
 * computed goto) may land anywhere in its function: that makes it opaque. */
static int note_jumps(struct scan *sc, uint32_t si, const cs_insn *in)
{
	const struct elf_sym *f = &sc->img->syms[si];
	const cs_x86 *x = &in->detail->x86;
	const cs_x86_op *op = &x->operands[0];
	bool call = in_group(in, CS_GRP_CALL);

	if (!call && !in_group(in, CS_GRP_JUMP) && !in_group(in, CS_GRP_BRANCH_RELATIVE))
		return 0;
	if (x->op_count == 1 && op->type == X86_OP_IMM) {
		uint64_t t = (uint64_t)op->imm;
		if (t - f->addr >= f->size && vec_push(&sc->jump_out, t))
			return -ENOMEM;
		return vec_push(&sc->jump_in, t);
	}
	if (call)
		return 0; /* a call through a pointer enters a function at its start */
	if (x->op_count == 1 && op->type == X86_OP_MEM && op->mem.base == X86_REG_RIP &&
	    op->mem.index == X86_REG_INVALID) {
		uint64_t slot = in->address + in->size + (uint64_t)op->mem.disp;
		for (size_t i = 0; i < sc->ngot; i++)
			if (contains(&sc->got[i], slot, 8))
				return 0; /* a tail call through the GOT: to a function start */
	}
	sc->opaque[si] = true;
	return 0;
}

static bool in_exec_section(const struct scan *sc, uint64_t addr, uint64_t size)
{
	for (size_t i = 0; i < sc->nexec; i++)
		if (contains(&sc->exec[i], addr, size))
			return true;
	return false;
}

static int scan_function(struct scan *sc, uint32_t si)
{
	const struct elf_sym *s = &sc->img->syms[si];
	const struct elf_load *l;

	if (!in_exec_section(sc, s->addr, s->size))
		return 0;
	const uint8_t *code = code_at(sc, s->addr, s->size, &l);
	if (!code)
		return 0;
	size_t left = s->size;
	uint64_t addr = s->addr;
	struct regs st = { .f = s, .entry = true };
	size_t first = sc->nsites;
	while (left) {
		if (!cs_disasm_iter(sc->cs, &code, &left, &addr, sc->insn)) {
			/* resynchronising would be a guess: keep what we have, skip the rest;
			 * the rest may jump anywhere in the function */
			sc->opaque[si] = true;
			if (sc->undecoded++ == 0) {
				sc->undecoded_addr = addr;
				sc->undecoded_name = s->name;
			}
			return 0;
		}
		const cs_insn *in = sc->insn;
		if (note_jumps(sc, si, in))
			return -ENOMEM;
		uint64_t target;
		bool mem;
		int k = -1;
		if (branch_target(in, &target, &mem))
			k = mem ? match(sc->t.slot, NULL, target) :
				  match(sc->t.stub, sc->t.def, target);
		if (k == AMBIGUOUS)
			sc->ambiguous++;
		else if (k >= 0 && add_site(sc, in, si, k, !mem, l, &st.r[RDI]))
			return -ENOMEM;
		track(sc, in, &st, k >= 0);
	}
	pin_sites(sc, first, &st);
	return 0;
}

/* gcc moves a function's cold blocks to foo.cold, and jumps both ways between
 * the two: they share one name up to ".cold" */
static uint64_t family(const char *name)
{
	const char *end = strstr(name, ".cold");
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (const char *p = name; *p && p != end; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	return h;
}

/* How many times sorted s holds a */
static size_t count(const struct addr_set *s, uint64_t a)
{
	size_t i = lower_bound(s->v, s->n, a), c = 0;
	while (i + c < s->n && s->v[i + c] == a)
		c++;
	return c;
}

/* Does a branch land in (after, upto]? s is sorted. */
static bool lands(const struct addr_set *s, uint64_t after, uint64_t upto)
{
	size_t t = lower_bound(s->v, s->n, after + 1);
	return t < s->n && s->v[t] <= upto;
}

/* Keeps a site's this_fn only when no branch lands where the value could come
 * from elsewhere (see struct proof), its function family has no jump we could
 * not follow, and it names a function. */
static int settle_this_fn(struct scan *sc)
{
	const struct elf_image *img = sc->img;
	struct addr_set opaque = { 0 }, split = { 0 }; /* families */
	int rc = 0;

	for (size_t i = 0; !rc && i < img->nsyms; i++) {
		uint64_t fh = family(img->syms[i].name);
		if (sc->opaque[i])
			rc = vec_push(&opaque, fh);
		/* a pin also holds in the function's landing pads, as gcc keeps them in
		 * the part (hot or cold) of the calls that reach them; without counting
		 * on that, pins hold only in functions that are not split */
		if (!rc && sc->eh)
			rc = vec_push(&split, fh);
	}
	sort_set(&opaque);
	sort_set(&split);
	sort_set(&sc->jump_in);
	sort_set(&sc->jump_out);
	for (size_t i = 0; !rc && i < sc->nsites; i++) {
		struct hook_site *h = &sc->sites[i];
		const struct proof *p = &sc->proof[i];
		const char *ext =
			h->this_fn & GOT_MARK ? got_name(sc, h->this_fn & ~GOT_MARK) : NULL;
		const struct elf_sym *f = ext ? NULL : elf_sym_lookup(img, h->this_fn);
		uint64_t fh = family(img->syms[h->sym].name);
		if (!img->has_symtab || (!ext && (!f || f->addr != h->this_fn)) ||
		    count(&opaque, fh) || (p->pinned && count(&split, fh) > 1) ||
		    lands(&sc->jump_in, p->since, h->vaddr) ||
		    lands(&sc->jump_out, p->out, p->out_end))
			h->this_fn = 0;
		else if (ext) {
			h->this_fn = 0;
			h->ext_name = ext;
		}
	}
	free(opaque.v);
	free(split.v);
	return rc;
}

static int site_cmp(const void *a, const void *b)
{
	const struct hook_site *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static void scan_free(struct scan *sc)
{
	for (int k = 0; k < 2; k++) {
		free(sc->t.slot[k].v);
		free(sc->t.stub[k].v);
	}
	for (size_t i = 0; i < sc->nsegs; i++)
		free(sc->segs[i].bytes);
	free(sc->segs);
	free(sc->exec);
	free(sc->jump_in.v);
	free(sc->jump_out.v);
	free(sc->gsyms);
	free(sc->opaque);
	free(sc->sites);
	free(sc->proof);
	if (sc->insn)
		cs_free(sc->insn, 1);
	if (sc->cs)
		cs_close(&sc->cs);
}

int hook_sites_find(const struct elf_image *img, struct hook_site **out, size_t *n, char *err,
		    size_t errlen)
{
	struct scan sc = { .img = img };
	int rc;

	*out = NULL;
	*n = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!img->refs_hooks || img->nsyms == 0 || img->nsyms > UINT32_MAX)
		return 0;
	sc.t.def[0] = img->hook_def[0];
	sc.t.def[1] = img->hook_def[1];

	rc = read_sections(&sc);
	if (rc)
		goto fail;
	if (sc.ngsyms)
		qsort(sc.gsyms, sc.ngsyms, sizeof(*sc.gsyms), got_sym_cmp);
	if (!sc.t.slot[0].n && !sc.t.slot[1].n && !sc.t.def[0] && !sc.t.def[1])
		goto done; /* nothing here can reach a hook */
	rc = read_code(&sc);
	if (rc) {
		elf_errf(err, errlen, rc, img->path, "cannot read code: %s", strerror(-rc));
		goto fail;
	}
	cs_err ce = cs_open(CS_ARCH_X86, CS_MODE_64, &sc.cs);
	if (ce == CS_ERR_OK)
		ce = cs_option(sc.cs, CS_OPT_DETAIL, CS_OPT_ON);
	if (ce != CS_ERR_OK) {
		rc = elf_errf(err, errlen, -EIO, img->path, "capstone: %s", cs_strerror(ce));
		goto fail;
	}
	sc.insn = cs_malloc(sc.cs);
	sc.opaque = calloc(img->nsyms, sizeof(*sc.opaque));
	if (!sc.insn || !sc.opaque) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = find_stubs(&sc);
	for (uint32_t i = 0; !rc && i < img->nsyms; i++)
		rc = scan_function(&sc, i);
	if (!rc)
		rc = settle_this_fn(&sc);
	if (rc)
		goto fail;
	if (sc.ambiguous) {
		rc = elf_errf(
			err, errlen, -ENOTSUP, img->path,
			"__cyg_profile_func_enter and __cyg_profile_func_exit are one function at 0x%llx "
			"(static glibc?): %zu calls to it cannot be told apart as entry or exit",
			(unsigned long long)img->hook_def[0], sc.ambiguous);
		goto fail;
	}
	if (sc.nsites)
		qsort(sc.sites, sc.nsites, sizeof(*sc.sites), site_cmp);
	size_t w = 0; /* overlapping symbols decode the same bytes twice */
	for (size_t i = 0; i < sc.nsites; i++)
		if (w == 0 || sc.sites[w - 1].vaddr != sc.sites[i].vaddr)
			sc.sites[w++] = sc.sites[i];
	sc.nsites = w;
	for (size_t i = 0; i < sc.nsites; i++)
		sc.sites[i].proof =
			sc.sites[i].this_fn || sc.sites[i].ext_name ? SITE_BY_DECODER : 0;
	if (sc.undecoded)
		elf_errf(
			err, errlen, 0, img->path,
			"%zu function(s) not fully decoded, rest of each skipped (first: %s at 0x%llx)",
			sc.undecoded, sc.undecoded_name, (unsigned long long)sc.undecoded_addr);
done:
	*out = sc.sites;
	*n = sc.nsites;
	sc.sites = NULL;
	scan_free(&sc);
	return 0;
fail:
	if (rc == -ENOMEM)
		elf_errf(err, errlen, rc, img->path, "out of memory");
	scan_free(&sc);
	return rc;
}
