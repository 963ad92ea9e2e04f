/* Find the branches to the instrumentation hooks with a real x86 decoder: a uprobe
 * placed inside an instruction would corrupt the target, so every site is an
 * instruction boundary reached by decoding linearly from a symbol's start. */
#include "hook_sites.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AMBIGUOUS 2                       /* a target that is both hooks */

struct addr_set {
	uint64_t *v;
	size_t n, cap;
};

struct targets {
	struct addr_set slot[2];          /* GOT slots holding hook k's address */
	struct addr_set stub[2];          /* PLT entry points that jump through them */
	uint64_t def[2];                  /* the hooks' own code, when defined here */
};

struct range {
	uint64_t addr, size;
};

struct code_seg {                         /* file bytes of one executable PT_LOAD */
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
	struct range *exec;               /* executable sections */
	size_t nexec;
	struct range plt[8];              /* .plt, .plt.sec, .plt.got */
	size_t nplt;
	struct hook_site *sites;
	size_t nsites, cap;
	size_t ambiguous;                 /* calls to a target that is both hooks */
	size_t undecoded;                 /* functions whose decoding stopped early */
	uint64_t undecoded_addr;
	const char *undecoded_name;
};

__attribute__((format(printf, 5, 6)))
static int msg(char *err, size_t errlen, int code, const char *path, const char *fmt, ...)
{
	if (err && errlen) {
		int n = snprintf(err, errlen, "%s: ", path);
		if (n >= 0 && (size_t)n < errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

static int set_add(struct addr_set *s, uint64_t a)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == a)
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = a;
	return 0;
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
	case X86_INS_JRCXZ:
		return false;             /* never a tail call, and not emulated */
	case X86_INS_CALL:
	case X86_INS_JMP:
		break;
	default: {
		bool rel = false;         /* Jcc: a conditional tail call */
		for (uint8_t i = 0; i < in->detail->groups_count; i++)
			rel |= in->detail->groups[i] == CS_GRP_BRANCH_RELATIVE;
		if (!rel)
			return false;
	}
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
	    op->mem.index == X86_REG_INVALID &&
	    op->mem.segment != X86_REG_FS && op->mem.segment != X86_REG_GS) {
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

/* GOT slots of the hooks from R_X86_64_JUMP_SLOT (PLT) and GLOB_DAT (-fno-plt) */
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
		if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || si == 0 || si >= nsym ||
		    !gelf_getsym(syms, (int)si, &s))
			continue;
		if (s.st_name >= strs->d_size ||
		    !memchr((const char *)strs->d_buf + s.st_name, '\0', strs->d_size - s.st_name))
			continue;
		int k = elf_hook_name_kind((const char *)strs->d_buf + s.st_name);
		if (k >= 0 && set_add(&sc->t.slot[k], r.r_offset))
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
		if (sh.sh_type != SHT_PROGBITS || (sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) !=
						  (SHF_ALLOC | SHF_EXECINSTR))
			continue;
		struct range r = { sh.sh_addr, sh.sh_size };
		sc->exec[sc->nexec++] = r;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && sc->nplt < sizeof(sc->plt) / sizeof(sc->plt[0]) &&
		    (!strcmp(name, ".plt") || !strcmp(name, ".plt.sec") || !strcmp(name, ".plt.got")))
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
			ssize_t r = pread(img->fd, b + got, l->filesz - got, (off_t)(l->offset + got));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return r < 0 ? -errno : -EIO;    /* shrank since it was opened */
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
		    const struct elf_load *l)
{
	if (sc->nsites == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		struct hook_site *v = realloc(sc->sites, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sc->sites = v;
		sc->cap = cap;
	}
	sc->sites[sc->nsites++] = (struct hook_site){
		.vaddr = in->address,
		.offset = l->offset + (in->address - l->vaddr),
		.sym = sym,
		.kind = (uint8_t)kind,
		.len = (uint8_t)in->size,
		.direct = direct,
	};
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
	while (left) {
		if (!cs_disasm_iter(sc->cs, &code, &left, &addr, sc->insn)) {
			/* resynchronising would be a guess: keep what we have, skip the rest */
			if (sc->undecoded++ == 0) {
				sc->undecoded_addr = addr;
				sc->undecoded_name = s->name;
			}
			return 0;
		}
		uint64_t target;
		bool mem;
		if (!branch_target(sc->insn, &target, &mem))
			continue;
		int k = mem ? match(sc->t.slot, NULL, target) : match(sc->t.stub, sc->t.def, target);
		if (k == AMBIGUOUS)
			sc->ambiguous++;
		else if (k >= 0 && add_site(sc, sc->insn, si, k, !mem, l))
			return -ENOMEM;
	}
	return 0;
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
	free(sc->sites);
	if (sc->insn)
		cs_free(sc->insn, 1);
	if (sc->cs)
		cs_close(&sc->cs);
}

int hook_sites_find(const struct elf_image *img, struct hook_site **out, size_t *n,
		    char *err, size_t errlen)
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
	if (!sc.t.slot[0].n && !sc.t.slot[1].n && !sc.t.def[0] && !sc.t.def[1])
		goto done;                /* nothing here can reach a hook */
	rc = read_code(&sc);
	if (rc) {
		msg(err, errlen, rc, img->path, "cannot read code: %s", strerror(-rc));
		goto fail;
	}
	cs_err ce = cs_open(CS_ARCH_X86, CS_MODE_64, &sc.cs);
	if (ce == CS_ERR_OK)
		ce = cs_option(sc.cs, CS_OPT_DETAIL, CS_OPT_ON);
	if (ce != CS_ERR_OK) {
		rc = msg(err, errlen, -EIO, img->path, "capstone: %s", cs_strerror(ce));
		goto fail;
	}
	sc.insn = cs_malloc(sc.cs);
	if (!sc.insn) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = find_stubs(&sc);
	for (uint32_t i = 0; !rc && i < img->nsyms; i++)
		rc = scan_function(&sc, i);
	if (rc)
		goto fail;
	if (sc.ambiguous) {
		rc = msg(err, errlen, -ENOTSUP, img->path,
			 "__cyg_profile_func_enter and __cyg_profile_func_exit are one function at 0x%llx "
			 "(static glibc?): %zu calls to it cannot be told apart as entry or exit",
			 (unsigned long long)img->hook_def[0], sc.ambiguous);
		goto fail;
	}
	if (sc.nsites)
		qsort(sc.sites, sc.nsites, sizeof(*sc.sites), site_cmp);
	size_t w = 0;             /* overlapping symbols decode the same bytes twice */
	for (size_t i = 0; i < sc.nsites; i++)
		if (w == 0 || sc.sites[w - 1].vaddr != sc.sites[i].vaddr)
			sc.sites[w++] = sc.sites[i];
	sc.nsites = w;
	if (sc.undecoded)
		msg(err, errlen, 0, img->path,
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
		msg(err, errlen, rc, img->path, "out of memory");
	scan_free(&sc);
	return rc;
}
