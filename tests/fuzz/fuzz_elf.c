/* libFuzzer harness: an ELF file from the target, through everything the
 * loader does with one at attach time: elf_image_open → hook_sites_find →
 * elf_sym_lookup → dwarf_ctx_open → dwarf_site_plan for each entry site and
 * dwarf_ret_plan for its function, and the values those plans describe
 * formatted with vfmt_arg from bytes of the input. No crash, leak or UB; the
 * results must keep the contracts the BPF side and the JSON rely on
 * (hook_sites.h, ctrace_plan.h, value_fmt.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrace_plan.h"
#include "find/dwarf_file.h"
#include "find/dwarf_plans.h"
#include "find/elf_image.h"
#include "fuzz_check.h"
#include "find/hook_sites.h"
#include "write/value_fmt.h"

/* per input, so one input stays fast */
#define MAX_SITES   64
#define MAX_LOOKUPS 64

static char *path; /* the input as a file, beside the binary */

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = -1;

	(void)argc;
	if (asprintf(&path, "%s/elf-input.XXXXXX", dirname(strdupa((*argv)[0]))) < 0 ||
	    (fd = mkstemp(path)) < 0) {
		perror("fuzz_elf: setup");
		abort();
	}
	close(fd);
	atexit(remove_file);
	return 0;
}

static void write_input(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t off = 0;

	FUZZ_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		FUZZ_ASSERT(n > 0, "write %s: %s", path, strerror(errno));
		off += (size_t)n;
	}
	close(fd);
}

static void check_sites(const struct elf_image *img, const struct hook_site *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t off;

		FUZZ_ASSERT(i == 0 || s[i - 1].vaddr < s[i].vaddr, "sites not sorted and unique");
		FUZZ_ASSERT(s[i].kind == HOOK_ENTER || s[i].kind == HOOK_EXIT, "site kind %u",
			    s[i].kind);
		FUZZ_ASSERT(s[i].len >= 1 && s[i].len <= 15, "site instruction length %u",
			    s[i].len);
		FUZZ_ASSERT(s[i].sym < img->nsyms, "site symbol index %u of %zu", s[i].sym,
			    img->nsyms);
		FUZZ_ASSERT(s[i].vaddr - img->syms[s[i].sym].addr < img->syms[s[i].sym].size,
			    "site 0x%llx outside its function", (unsigned long long)s[i].vaddr);
		FUZZ_ASSERT(!elf_vaddr_to_offset(img, s[i].vaddr, &off) && off == s[i].offset,
			    "site 0x%llx: offset is not its file offset",
			    (unsigned long long)s[i].vaddr);
		if (s[i].this_fn) {
			const struct elf_sym *f = elf_sym_lookup(img, s[i].this_fn);
			FUZZ_ASSERT(f && f->addr == s[i].this_fn,
				    "site 0x%llx: this_fn 0x%llx is not a function start",
				    (unsigned long long)s[i].vaddr,
				    (unsigned long long)s[i].this_fn);
		}
	}
}

static void check_lookups(const struct elf_image *img)
{
	uint64_t probe[4];

	for (size_t i = 0; i < img->nsyms; i++)
		FUZZ_ASSERT(i == 0 || img->syms[i - 1].addr < img->syms[i].addr,
			    "symbols not sorted and unique");
	for (size_t i = 0; i < img->nsyms && i < MAX_LOOKUPS; i++) {
		const struct elf_sym *sy = &img->syms[i];

		probe[0] = sy->addr;
		probe[1] = sy->addr + sy->size - 1;
		probe[2] = sy->addr + sy->size;
		probe[3] = sy->addr - 1;
		for (int k = 0; k < 4; k++) {
			const struct elf_sym *r = elf_sym_lookup(img, probe[k]);
			FUZZ_ASSERT(!r || probe[k] - r->addr < r->size,
				    "lookup 0x%llx: a symbol not covering it",
				    (unsigned long long)probe[k]);
		}
		FUZZ_ASSERT(elf_sym_lookup(img, sy->addr),
			    "symbol %zu not found at its own address", i);
	}
	for (size_t i = 0; i < img->nloads; i++) {
		uint64_t off, va;

		if (!elf_vaddr_to_offset(img, img->loads[i].vaddr, &off))
			FUZZ_ASSERT(!elf_offset_to_vaddr(img, off, &va),
				    "offset 0x%llx maps to no vaddr", (unsigned long long)off);
		elf_sym_lookup(img, img->loads[i].vaddr);
	}
	elf_sym_lookup(img, img->entry);
}

/* ctrace_plan.h's promises; site: a hook-call plan (no rdi, no rsi) */
static uint8_t check_arg_plan(const struct ctrace_arg_plan *ap, bool site)
{
	uint8_t flags = 0;
	uint32_t sum = 0;

	FUZZ_ASSERT(ap->npieces <= CTRACE_MAX_PIECES, "npieces %u", ap->npieces);
	FUZZ_ASSERT(ap->follow <= CTRACE_FOLLOW_DEREF, "follow %u", ap->follow);
	FUZZ_ASSERT(ap->follow_size <= CTRACE_FOLLOW_MAX, "follow_size %u", ap->follow_size);
	FUZZ_ASSERT(ap->size <= CTRACE_VALUE_MAX, "value size %u", ap->size);
	for (int k = 0; k < ap->npieces; k++) {
		const struct ctrace_piece *p = &ap->piece[k];
		bool regful = p->kind == CTRACE_LOC_REG || p->kind == CTRACE_LOC_MEM;

		FUZZ_ASSERT(p->kind >= CTRACE_LOC_REG && p->kind <= CTRACE_LOC_CONST,
			    "piece kind %u", p->kind);
		FUZZ_ASSERT(p->size >= 1 &&
				    p->size <= (p->kind == CTRACE_LOC_REG ||
								p->kind == CTRACE_LOC_CONST ?
							8 :
							CTRACE_VALUE_MAX),
			    "piece kind %u of %u bytes", p->kind, p->size);
		if (regful) {
			FUZZ_ASSERT(p->reg <= 15, "piece register %u", p->reg);
			FUZZ_ASSERT(!site || (p->reg != 4 && p->reg != 5),
				    "a site plan reads rsi/rdi");
			flags |= p->reg == CTRACE_REG_RSP ? CTRACE_SITE_USES_RSP : 0;
			flags |= p->reg == 10 || p->reg == 11 ? CTRACE_SITE_USES_R10_R11 : 0;
		}
		sum += p->size;
	}
	FUZZ_ASSERT(!ap->npieces || sum == ap->size, "pieces hold %u bytes, the value %u", sum,
		    ap->size);
	return flags;
}

static const char *sym_name(void *ctx, uint64_t addr)
{
	const struct elf_sym *s = elf_sym_lookup(ctx, addr);
	return s ? s->name : NULL;
}

/* ctrace_plan.h's promises for the member strings: each names a captured
 * argument and 8 bytes inside what BPF holds of it */
static void check_mstr_plan(const struct ctrace_site_plan *plan)
{
	FUZZ_ASSERT(plan->nmstr <= CTRACE_MAX_MSTR, "nmstr %u", plan->nmstr);
	FUZZ_ASSERT(!plan->nmstr || (plan->mstr_size >= 1 && plan->mstr_size <= CTRACE_FOLLOW_MAX),
		    "mstr_size %u", plan->mstr_size);
	for (unsigned k = 0; k < plan->nmstr && k < CTRACE_MAX_MSTR; k++) {
		const struct ctrace_mstr_plan *m = &plan->mstr[k];
		unsigned a = m->arg & ~CTRACE_MSTR_TGT;
		const struct ctrace_arg_plan *ap;

		FUZZ_ASSERT(a < plan->nargs, "member string %u of argument %u of %u", k, a,
			    plan->nargs);
		ap = &plan->arg[a];
		FUZZ_ASSERT(ap->npieces, "member string %u of an argument not captured", k);
		if (m->arg & CTRACE_MSTR_TGT)
			FUZZ_ASSERT(ap->follow == CTRACE_FOLLOW_DEREF &&
					    m->off + 8u <= ap->follow_size,
				    "member string at %u of a %u-byte target (follow %u)", m->off,
				    ap->follow_size, ap->follow);
		else
			FUZZ_ASSERT(ap->follow == CTRACE_FOLLOW_NONE && m->off + 8u <= ap->size,
				    "member string at %u of a %u-byte value", m->off, ap->size);
	}
}

/* the member strings of argument i, as BPF would have read them: bytes from
 * the input, where the plan's pointers lie in the bytes at hand */
static unsigned member_strs(const struct ctrace_site_plan *plan, unsigned i, const uint8_t *val,
			    uint32_t vlen, const uint8_t *tgt, uint32_t tlen, const uint8_t *data,
			    size_t size, size_t *pos, struct vfmt_str *out)
{
	unsigned n = 0;

	for (unsigned k = 0; plan && k < plan->nmstr && k < CTRACE_MAX_MSTR; k++) {
		const struct ctrace_mstr_plan *m = &plan->mstr[k];
		bool in_tgt = m->arg & CTRACE_MSTR_TGT;
		uint32_t len = in_tgt ? tlen : vlen;

		if ((m->arg & ~CTRACE_MSTR_TGT) != i || m->off + 8u > len || (in_tgt && !tgt))
			continue;
		out[n].at = (in_tgt ? tgt : val) + m->off;
		/* the string: input bytes, possibly invalid UTF-8 */
		out[n].len = data[(*pos)++ % size] % (plan->mstr_size + 1u);
		if (out[n].len > size)
			out[n].len = (uint32_t)size;
		out[n].str = data;
		out[n].err = data[*pos % size] % 3 == 0 ? -14 : 0;
		out[n].truncated = data[(*pos)++ % size] & 1;
		n++;
	}
	return n;
}

/* n bytes from the input (cycled) in an exact-size heap copy: ASan sees any
 * read past what BPF would send */
static uint8_t *take(const uint8_t *data, size_t size, size_t *pos, uint32_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	FUZZ_ASSERT(b, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		b[i] = data[(*pos)++ % size];
	return b;
}

/* one captured value, as BPF would have sent it for ap (argument i of plan,
 * when one): bytes from the input */
static void format(FILE *f, const struct arg_info *a, const struct ctrace_arg_plan *ap,
		   const struct ctrace_site_plan *plan, unsigned i, const uint8_t *data,
		   size_t size, size_t *pos, const struct vfmt_opts *o)
{
	struct vfmt_str strs[CTRACE_MAX_MSTR];
	struct vfmt_capture cap = { 0 };
	uint32_t vlen = ap ? ap->size : CTRACE_VALUE_MAX, tlen = ap ? ap->follow_size : 0;
	uint8_t *val, *tgt = NULL;

	if (size == 0 || a->unavailable[0] || !ap) {
		vfmt_arg(f, a->name, a->type_name, a->fmt_type, NULL,
			 a->unavailable[0] ? a->unavailable : "not captured", o);
		return;
	}
	val = take(data, size, pos, vlen);
	cap.val = val;
	cap.val_len = vlen;
	if (ap->follow && tlen) {
		tlen = data[(*pos)++ % size] % (tlen + 1);
		tgt = take(data, size, pos, tlen);
		cap.tgt = tgt;
		cap.tgt_len = tlen;
		cap.tgt_truncated = data[*pos % size] & 1;
	}
	cap.nstrs = member_strs(plan, i, val, vlen, tgt, tgt ? tlen : 0, data, size, pos, strs);
	cap.strs = strs;
	cap.strs_why = data[*pos % size] & 2 ? "past the slots" : NULL;
	vfmt_arg(f, a->name, a->type_name, a->fmt_type, &cap, NULL, o);
	free(val);
	free(tgt);
}

/* between the elements of the array plan_all writes */
static void sep(FILE *f)
{
	if (ftell(f) > 1)
		fputc(',', f);
}

static void check_info(const struct arg_info *a, bool ret)
{
	FUZZ_ASSERT(memchr(a->unavailable, 0, sizeof(a->unavailable)),
		    "unavailable is not terminated");
	FUZZ_ASSERT(ret || a->name, "a parameter without a name");
	if (a->type) {
		char *s = vtype_spell(a->type);
		FUZZ_ASSERT(s, "vtype_spell failed");
		free(s);
	}
}

static void plan_site(struct dwarf_ctx *dw, const struct elf_image *img, const struct hook_site *s,
		      const uint8_t *data, size_t size, size_t *pos, FILE *f)
{
	struct dwarf_plan_opts opts = { .str_max = 1 + data[*pos % size] % CTRACE_FOLLOW_MAX };
	struct vfmt_opts vo = { .symbolize = sym_name, .sym_ctx = (void *)img };
	struct ctrace_site_plan plan;
	struct ctrace_arg_plan rplan;
	struct arg_info ri = { 0 };
	struct site_info *si = NULL;
	char err[256];
	uint8_t flags = 0;

	if (!dwarf_site_plan(dw, s->this_fn, s->vaddr, s->len, &opts, &plan, &si, err,
			     sizeof(err))) {
		FUZZ_ASSERT(si && si->function, "a plan without its site_info");
		FUZZ_ASSERT(plan.site_vaddr == s->vaddr, "plan for another site");
		FUZZ_ASSERT(plan.nargs ==
				    (si->nargs < CTRACE_MAX_ARGS ? si->nargs : CTRACE_MAX_ARGS),
			    "plan has %u args, site_info %zu", plan.nargs, si->nargs);
		for (size_t i = 0; i < si->nargs; i++) {
			const struct ctrace_arg_plan *ap =
				i < CTRACE_MAX_ARGS ? &plan.arg[i] : NULL;

			check_info(&si->args[i], false);
			if (ap)
				flags |= check_arg_plan(ap, true);
			FUZZ_ASSERT(!ap || (ap->npieces == 0) == (si->args[i].unavailable[0] != 0),
				    "%s arg %zu: npieces %u but unavailable \"%s\"", si->function,
				    i, ap ? ap->npieces : 0, si->args[i].unavailable);
			sep(f);
			format(f, &si->args[i], ap, &plan, (unsigned)i, data, size, pos, &vo);
		}
		check_mstr_plan(&plan);
		FUZZ_ASSERT((plan.flags & (CTRACE_SITE_USES_RSP | CTRACE_SITE_USES_R10_R11)) ==
				    flags,
			    "site flags 0x%x, pieces need 0x%x", plan.flags, flags);
		site_info_free(si);
	}
	if (!s->this_fn || dwarf_ret_plan(dw, s->this_fn, &opts, &rplan, &ri, err, sizeof(err)))
		return;
	check_info(&ri, true);
	check_arg_plan(&rplan, false);
	sep(f);
	format(f, &ri, ri.type ? &rplan : NULL, NULL, 0, data, size, pos, &vo);
	arg_info_clear(&ri);
}

static void plan_all(const struct elf_image *img, const struct hook_site *sites, size_t n,
		     const uint8_t *data, size_t size)
{
	struct dwarf_ctx *dw;
	char err[256], *doc = NULL;
	size_t len = 0, pos = 0, done = 0;
	FILE *f;

	if (dwarf_ctx_open(path, &dw, err, sizeof(err)))
		return;
	f = open_memstream(&doc, &len);
	FUZZ_ASSERT(f, "open_memstream: %s", strerror(errno));
	fputc('[', f);
	for (size_t i = 0; i < n && done < MAX_SITES; i++) {
		if (sites[i].kind != HOOK_ENTER)
			continue;
		plan_site(dw, img, &sites[i], data, size, &pos, f);
		done++;
	}
	fputc(']', f);
	fclose(f);
	cJSON_Delete(fuzz_json_parse(doc, len, false, "formatted values"));
	free(doc);
	dwarf_ctx_free(dw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_image *img;
	struct hook_site *sites = NULL;
	size_t n = 0;
	char err[256];

	write_input(data, size);
	if (elf_image_open(path, &img, err, sizeof(err))) {
		FUZZ_ASSERT(!img, "elf_image_open failed but returned an image");
		return 0;
	}
	check_lookups(img);
	if (!hook_sites_find(img, &sites, &n, err, sizeof(err))) {
		check_sites(img, sites, n);
		plan_all(img, sites, n, data, size);
	}
	free(sites);
	elf_image_free(img);
	return 0;
}
