/* Unit test for user/find/elf_image.c, user/find/hook_sites.c, user/utils/demangle.c.
 * Builds small targets with gcc/g++ into a temp dir and checks what the loader
 * finds in them against what the compiler is known to emit.
 * Usage: test_elf [DATA_DIR]   (default tests/unit/data, run from the repo root) */
#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "utils/demangle.h"
#include "find/elf_image.h"
#include "find/jump_sites.h"
#include "harness.h"
#include "find/hook_sites.h"

/* CHECK with a printf-style explanation of the failure */
#define CHECKM(cond, ...) \
	HARNESS_RESULT((cond), printf("CHECK(%s) failed: ", #cond); printf(__VA_ARGS__))

static const char *data_dir = "tests/unit/data";
static csh cs;

/* gcc/g++ CC FLAGS SOURCES -> tmp/OUT */
static bool build(const char *out, const char *cc, const char *flags, const char *srcs)
{
	char s[1024] = "";
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", srcs);
	for (char *sv, *tok = strtok_r(buf, " ", &sv); tok; tok = strtok_r(NULL, " ", &sv)) {
		size_t l = strlen(s);
		snprintf(s + l, sizeof(s) - l, "%s/%s ", data_dir, tok);
	}
	bool ok = run("%s %s %s -o %s", cc, flags, s, path_in_tmp(out));
	CHECKM(ok, "building %s", out);
	return ok;
}

static struct elf_image *open_ok(const char *path)
{
	struct elf_image *img = NULL;
	char err[512];
	int rc = elf_image_open(path, &img, err, sizeof(err));
	CHECKM(rc == 0 && img, "elf_image_open(%s) = %d: %s", path, rc, err);
	return rc == 0 ? img : NULL;
}

static const struct elf_sym *sym_named(const struct elf_image *img, const char *name)
{
	for (size_t i = 0; i < img->nsyms; i++)
		if (strcmp(img->syms[i].name, name) == 0)
			return &img->syms[i];
	return NULL;
}

static int count(const struct elf_image *img, const struct hook_site *s, size_t n, const char *fn,
		 int kind)
{
	int c = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i].kind == kind && strcmp(img->syms[s[i].sym].name, fn) == 0)
			c++;
	return c;
}

/* Is vaddr an instruction boundary when the function is decoded from its start? */
static bool on_boundary(const uint8_t *fbytes, size_t fsize, const struct elf_image *img,
			const struct elf_sym *sym, uint64_t vaddr)
{
	uint64_t off;
	if (elf_vaddr_to_offset(img, sym->addr, &off) != 0 || off > fsize ||
	    sym->size > fsize - off)
		return false;
	const uint8_t *code = fbytes + off;
	size_t left = sym->size;
	uint64_t addr = sym->addr;
	cs_insn *in = cs_malloc(cs);
	bool found = false;
	while (left && addr <= vaddr && !found) {
		found = addr == vaddr;
		if (!cs_disasm_iter(cs, &code, &left, &addr, in))
			break;
	}
	cs_free(in, 1);
	return found;
}

static uint8_t *slurp(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	uint8_t *b = malloc((size_t)st.st_size + 1);
	ssize_t r = b ? pread(fd, b, (size_t)st.st_size, 0) : -1;
	close(fd);
	if (r != st.st_size) {
		free(b);
		return NULL;
	}
	*size = (size_t)st.st_size;
	return b;
}

/* Invariants every site list must satisfy, checked against the file re-read from disk. */
static void verify_sites(const struct elf_image *img, const struct hook_site *s, size_t n)
{
	size_t fsize = 0;
	uint8_t *fb = slurp(img->path, &fsize);
	CHECKM(fb != NULL, "re-reading %s", img->path);
	if (!fb)
		return;
	cs_insn *in = cs_malloc(cs);
	for (size_t i = 0; i < n; i++) {
		const struct hook_site *h = &s[i];
		CHECKM(i == 0 || s[i - 1].vaddr < h->vaddr, "sites sorted at %zu", i);
		CHECKM(h->sym < img->nsyms, "site %zu sym index", i);
		if (h->sym >= img->nsyms)
			continue;
		const struct elf_sym *sym = &img->syms[h->sym];
		CHECKM(h->vaddr >= sym->addr && h->vaddr + h->len <= sym->addr + sym->size,
		       "site 0x%llx inside %s", (unsigned long long)h->vaddr, sym->name);
		CHECKM(elf_sym_lookup(img, h->vaddr) == sym, "lookup of site 0x%llx",
		       (unsigned long long)h->vaddr);
		uint64_t off = 0, va = 0;
		CHECKM(elf_vaddr_to_offset(img, h->vaddr, &off) == 0 && off == h->offset,
		       "vaddr->offset of 0x%llx", (unsigned long long)h->vaddr);
		CHECKM(elf_offset_to_vaddr(img, h->offset, &va) == 0 && va == h->vaddr,
		       "offset->vaddr of 0x%llx", (unsigned long long)h->offset);
		CHECKM(h->kind == HOOK_ENTER || h->kind == HOOK_EXIT, "site kind %u", h->kind);
		CHECKM(on_boundary(fb, fsize, img, sym, h->vaddr),
		       "site 0x%llx on an instruction boundary of %s", (unsigned long long)h->vaddr,
		       sym->name);

		/* the bytes at `offset` in the file decode to a branch of `len` bytes */
		const uint8_t *code = fb + h->offset;
		size_t left = h->offset < fsize ? fsize - h->offset : 0;
		uint64_t addr = h->vaddr;
		bool dec = left && cs_disasm_iter(cs, &code, &left, &addr, in);
		CHECKM(dec, "decoding site 0x%llx", (unsigned long long)h->vaddr);
		if (!dec)
			continue;
		CHECKM(in->size == h->len, "site 0x%llx len %u vs %u", (unsigned long long)h->vaddr,
		       in->size, h->len);
		bool branch = in->id == X86_INS_CALL || in->id == X86_INS_JMP;
		for (uint8_t g = 0; g < in->detail->groups_count; g++)
			branch |= in->detail->groups[g] == CS_GRP_BRANCH_RELATIVE;
		CHECKM(branch, "site 0x%llx is '%s %s'", (unsigned long long)h->vaddr, in->mnemonic,
		       in->op_str);
		const cs_x86_op *op = &in->detail->x86.operands[0];
		CHECKM(in->detail->x86.op_count == 1 &&
			       (h->direct ? op->type == X86_OP_IMM : op->type == X86_OP_MEM),
		       "site 0x%llx direct=%d but '%s %s'", (unsigned long long)h->vaddr, h->direct,
		       in->mnemonic, in->op_str);
	}
	cs_free(in, 1);
	free(fb);
}

static bool find(const struct elf_image *img, struct hook_site **s, size_t *n)
{
	char err[512];
	int rc = hook_sites_find(img, s, n, err, sizeof(err));
	CHECKM(rc == 0, "hook_sites_find(%s) = %d: %s", img->path, rc, err);
	CHECKM(rc != 0 || err[0] == '\0', "unexpected note for %s: %s", img->path, err);
	if (rc == 0)
		verify_sites(img, *s, *n);
	return rc == 0;
}

struct expect {
	const char *fn;
	int enter, exit;
};

/* elf_basic.c: at -O0 every function has one enter and one exit call */
static const struct expect basic_O0[] = {
	{ "main", 1, 1 }, { "a", 1, 1 }, { "b", 1, 1 }, { "c", 1, 1 }, { "sq", 1, 1 },
};
/* at -O2 sq() is inlined into a() with its hooks (and still emitted: its address
 * is the hooks' this_fn) */
static const struct expect basic_O2[] = {
	{ "main", 1, 1 }, { "a", 2, 2 }, { "b", 1, 1 }, { "c", 1, 1 }, { "sq", 1, 1 },
};

/* elf_hookaddr.c: the hooks' stubs live in .plt.got */
static const struct expect hookaddr[] = { { "main", 1, 1 }, { "b", 1, 1 } };

/* Guards against a toolchain change making a layout test vacuous. */
static void has_section(const char *name, const char *scn)
{
	CHECKM(run("readelf -SW %s | grep -q ' %s '", path_in_tmp(name), scn), "%s has %s", name,
	       scn);
}

/* Checks counts per function, the total, and the `direct` flag of every site. */
static void check_target(const char *name, const struct expect *ex, size_t nex, int direct,
			 uint16_t e_type)
{
	struct elf_image *img = open_ok(path_in_tmp(name));
	if (!img)
		return;
	CHECKM(img->e_type == e_type, "%s e_type %u", name, img->e_type);
	CHECKM(img->refs_hooks, "%s refs_hooks", name);
	CHECKM(img->has_symtab && img->has_debug_info, "%s symtab %d debug %d", name,
	       img->has_symtab, img->has_debug_info);
	struct hook_site *s = NULL;
	size_t n = 0;
	if (find(img, &s, &n)) {
		int total = 0;
		for (size_t i = 0; i < nex; i++) {
			int en = count(img, s, n, ex[i].fn, HOOK_ENTER);
			int ex_ = count(img, s, n, ex[i].fn, HOOK_EXIT);
			CHECKM(en == ex[i].enter && ex_ == ex[i].exit,
			       "%s: %s has %d enter / %d exit, want %d / %d", name, ex[i].fn, en,
			       ex_, ex[i].enter, ex[i].exit);
			total += ex[i].enter + ex[i].exit;
		}
		CHECKM((int)n == total, "%s: %zu sites, want %d", name, n, total);
		for (size_t i = 0; i < n; i++)
			CHECKM(s[i].direct == direct, "%s: site 0x%llx direct=%d", name,
			       (unsigned long long)s[i].vaddr, s[i].direct);
	}
	free(s);
	elf_image_free(img);
}

/* elf_basic.c: every hook call passes its own function as this_fn, but with
 * inlined (-O2) the two calls of sq() inlined into a() pass sq. Whatever this_fn
 * is proven must be 0 or a function's start. In a -fPIC library a global
 * function's address is read from the GOT (it may be interposed): unproven. */
static void check_this_fn(const char *name, bool inlined, bool pic)
{
	struct elf_image *img = open_ok(path_in_tmp(name));
	struct hook_site *s = NULL;
	size_t n = 0;
	if (!img || !find(img, &s, &n))
		goto out;
	const struct elf_sym *sq = sym_named(img, "sq");
	int in_a = 0;
	for (size_t i = 0; i < n; i++) {
		const struct elf_sym *f = elf_sym_lookup(img, s[i].this_fn),
				     *own = &img->syms[s[i].sym];
		CHECKM(s[i].this_fn == 0 || (f && f->addr == s[i].this_fn),
		       "%s: site 0x%llx this_fn 0x%llx is a function", name,
		       (unsigned long long)s[i].vaddr, (unsigned long long)s[i].this_fn);
		bool sq_in_a =
			inlined && sq && strcmp(own->name, "a") == 0 && s[i].this_fn == sq->addr;
		in_a += sq_in_a;
		CHECKM(s[i].this_fn == own->addr || sq_in_a || (pic && !s[i].this_fn),
		       "%s: site 0x%llx in %s has this_fn 0x%llx (%s)", name,
		       (unsigned long long)s[i].vaddr, own->name, (unsigned long long)s[i].this_fn,
		       f ? f->name : "none");
	}
	CHECKM(in_a == (inlined ? 2 : 0), "%s: %d sites of sq inlined into a", name, in_a);
out:
	free(s);
	elf_image_free(img);
}

/* elf_thisfn.S: a hook call in known_* passes `target`, in zero_* nothing proven,
 * in eh_* `target` but nothing proven where there are landing pads. */
static void check_this_fn_traps(const char *name, bool eh)
{
	struct elf_image *img = open_ok(path_in_tmp(name));
	struct hook_site *s = NULL;
	size_t n = 0;
	if (!img || !find(img, &s, &n))
		goto out;
	const struct elf_sym *target = sym_named(img, "target");
	CHECK(target != NULL);
	for (size_t i = 0; target && i < n; i++) {
		const char *fn = img->syms[s[i].sym].name;
		bool known = !strncmp(fn, "known_", 6) || (!eh && !strncmp(fn, "eh_", 3));
		CHECKM(s[i].this_fn == (known ? target->addr : 0),
		       "%s: site 0x%llx in %s has this_fn 0x%llx", name,
		       (unsigned long long)s[i].vaddr, fn, (unsigned long long)s[i].this_fn);
	}
	for (size_t i = 0; i < img->nsyms; i++) { /* no case is vacuous */
		const char *fn = img->syms[i].name;
		if (strchr(fn, '.')) /* cold parts */
			continue;
		if (!strncmp(fn, "known_", 6) || !strncmp(fn, "zero_", 5) || !strncmp(fn, "eh_", 3))
			CHECKM(count(img, s, n, fn, HOOK_ENTER) + count(img, s, n, fn, HOOK_EXIT) >
				       0,
			       "%s: %s has sites", name, fn);
	}
out:
	free(s);
	elf_image_free(img);
}

/* -O2 void c(): the exit hook is reached by a tail-call jmp; it must be a site */
static void check_tail_jmp(const char *name)
{
	struct elf_image *img = open_ok(path_in_tmp(name));
	struct hook_site *s = NULL;
	size_t n = 0;
	if (!img || !find(img, &s, &n))
		goto out;
	size_t fsize;
	uint8_t *fb = slurp(img->path, &fsize);
	bool jmp = false;
	cs_insn *in = cs_malloc(cs);
	for (size_t i = 0; fb && i < n; i++) {
		if (s[i].kind != HOOK_EXIT || strcmp(img->syms[s[i].sym].name, "c") != 0)
			continue;
		const uint8_t *code = fb + s[i].offset;
		size_t left = fsize - s[i].offset;
		uint64_t addr = s[i].vaddr;
		jmp = cs_disasm_iter(cs, &code, &left, &addr, in) && in->id == X86_INS_JMP;
	}
	cs_free(in, 1);
	free(fb);
	CHECKM(jmp, "%s: exit site of c() is a tail-call jmp", name);
out:
	free(s);
	elf_image_free(img);
}

static void check_own_hooks(void)
{
	struct elf_image *img = open_ok(path_in_tmp("own_hooks"));
	if (!img)
		return;
	const struct elf_sym *en = sym_named(img, "__cyg_profile_func_enter");
	const struct elf_sym *ex = sym_named(img, "__cyg_profile_func_exit");
	CHECK(en && ex && img->hook_def[0] == en->addr && img->hook_def[1] == ex->addr &&
	      en->addr != ex->addr);
	elf_image_free(img);
	/* -fno-plt calls to locally defined hooks are relaxed to `addr32 call rel32` */
	check_target("own_hooks", basic_O2, sizeof(basic_O2) / sizeof(basic_O2[0]), 1, ET_DYN);
}

static void check_uninstrumented(void)
{
	struct elf_image *img = open_ok(path_in_tmp("noinstr"));
	if (!img)
		return;
	CHECK(!img->refs_hooks);
	CHECK(!img->has_debug_info);
	CHECK(sym_named(img, "a") && sym_named(img, "main"));
	struct hook_site *s = (struct hook_site *)1;
	size_t n = 99;
	char err[256];
	CHECK(hook_sites_find(img, &s, &n, err, sizeof(err)) == 0 && n == 0 && s == NULL);
	elf_image_free(img);
}

static void check_cxx(void)
{
	struct elf_image *img = open_ok(path_in_tmp("cxx"));
	struct hook_site *s = NULL;
	size_t n = 0;
	if (!img || !find(img, &s, &n))
		goto out;
	const char *raw = NULL;
	for (size_t i = 0; i < img->nsyms && !raw; i++) {
		char *d = demangle(img->syms[i].name);
		if (d && strcmp(d, "ns::Widget::area() const") == 0)
			raw = img->syms[i].name;
		free(d);
	}
	CHECKM(raw && strcmp(raw, "_ZNK2ns6Widget4areaEv") == 0, "C++ method found, raw %s",
	       raw ? raw : "(none)");
	if (raw)
		CHECK(count(img, s, n, raw, HOOK_ENTER) == 1 &&
		      count(img, s, n, raw, HOOK_EXIT) == 1);
out:
	free(s);
	elf_image_free(img);
}

static void check_stripped(void)
{
	struct elf_image *img = open_ok(path_in_tmp("stripped"));
	if (!img)
		return;
	CHECK(!img->has_symtab && !img->has_debug_info);
	CHECKM(img->refs_hooks, "stripped binary still imports the hooks via .dynsym");
	struct hook_site *s = NULL;
	size_t n = 0;
	find(img, &s, &n);
	free(s);
	elf_image_free(img);

	/* exported functions call the hooks, but the code between them is unseen:
	 * it may jump into them, so no this_fn is proven */
	img = open_ok(path_in_tmp("stripped_rdynamic"));
	if (img && find(img, &s, &n)) {
		bool none = true;
		for (size_t i = 0; i < n; i++)
			none &= s[i].this_fn == 0;
		CHECKM(n == 10 && none, "stripped_rdynamic: %zu sites, none with this_fn: %d", n,
		       none);
		free(s);
	}
	elf_image_free(img);

	/* a debuglink alone is not debug info */
	img = open_ok(path_in_tmp("debuglink"));
	if (img) {
		CHECK(img->has_symtab && !img->has_debug_info);
		elf_image_free(img);
	}
}

static void check_static(void)
{
	struct elf_image *img = open_ok(path_in_tmp("static"));
	if (!img)
		return;
	CHECK(img->hook_def[0] && img->hook_def[0] == img->hook_def[1]);
	struct hook_site *s = NULL;
	size_t n = 0;
	char err[512];
	int rc = hook_sites_find(img, &s, &n, err, sizeof(err));
	CHECKM(rc == -ENOTSUP && n == 0 && strstr(err, "cannot be told apart"), "static: %d %s", rc,
	       err);
	free(s);
	elf_image_free(img);
}

static void check_lookups(void)
{
	struct elf_image *img = open_ok(path_in_tmp("basic_O0"));
	if (!img)
		return;
	const struct elf_sym *a = sym_named(img, "a");
	CHECK(a != NULL);
	if (a) {
		CHECK(elf_sym_lookup(img, a->addr) == a);
		CHECK(elf_sym_lookup(img, a->addr + a->size - 1) == a);
		CHECK(elf_sym_lookup(img, a->addr + a->size) != a);
	}
	CHECK(elf_sym_lookup(img, 0) == NULL);
	CHECK(elf_sym_lookup(img, UINT64_MAX) == NULL);
	for (size_t i = 1; i < img->nsyms; i++)
		CHECKM(img->syms[i - 1].addr < img->syms[i].addr, "syms sorted, unique at %zu", i);
	uint64_t off, va;
	CHECK(elf_vaddr_to_offset(img, UINT64_MAX, &off) == -1);
	CHECK(elf_offset_to_vaddr(img, UINT64_MAX, &va) == -1);
	for (size_t i = 0; i < img->nloads; i++) /* data segments are not code */
		if (!(img->loads[i].flags & PF_X) && img->loads[i].filesz)
			CHECK(elf_vaddr_to_offset(img, img->loads[i].vaddr, &off) == -1);
	CHECK(elf_vaddr_to_offset(img, img->entry, &off) == 0 &&
	      elf_offset_to_vaddr(img, off, &va) == 0 && va == img->entry);
	elf_image_free(img);
}

TEST(check_demangle)
{
	static const char *const cases[][2] = {
		{ "_ZNK2ns6Widget4areaEv", "ns::Widget::area() const" },
		{ "_Z3bari.isra.0", "bar(int) [clone .isra.0]" },
		{ "_ZN2ns6Widget4areaEv.cold", "ns::Widget::area() [clone .cold]" },
		{ "foo.constprop.0", "foo.constprop.0" },
		{ "main", "main" },
		{ "i", "i" }, /* a C function named like a type code */
		{ "_Zgarbage", "_Zgarbage" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = demangle(cases[i][0]);
		CHECKM(d && strcmp(d, cases[i][1]) == 0, "demangle(%s) = %s", cases[i][0],
		       d ? d : "NULL");
		free(d);
	}
}

static bool write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0)
		return false;
	bool ok = write(fd, buf, len) == (ssize_t)len;
	return close(fd) == 0 && ok;
}

/* Opens path expecting failure; the message must be one line naming the file. */
static void expect_fail(const char *path, const char *want)
{
	struct elf_image *img = (struct elf_image *)1;
	char err[512];
	int rc = elf_image_open(path, &img, err, sizeof(err));
	CHECKM(rc < 0 && img == NULL, "%s: rc %d", path, rc);
	CHECKM(strstr(err, want) && strncmp(err, path, strlen(path)) == 0 && !strchr(err, '\n'),
	       "%s: err '%s', want '%s'", path, err, want);
	if (rc == 0)
		elf_image_free(img);
}

/* Opening must fail or succeed without crashing; on success the rest must work too. */
static void open_survives(const char *path)
{
	struct elf_image *img = NULL;
	char err[512];
	if (elf_image_open(path, &img, err, sizeof(err)) != 0) {
		CHECKM(err[0] && !strchr(err, '\n'), "error message for %s", path);
		return;
	}
	struct hook_site *s = NULL;
	size_t n = 0;
	if (hook_sites_find(img, &s, &n, err, sizeof(err)) == 0) {
		bool inside = true;
		for (size_t i = 0; i < n; i++)
			inside &= s[i].sym < img->nsyms &&
				  elf_sym_lookup(img, s[i].vaddr) == &img->syms[s[i].sym];
		CHECKM(inside, "sites inside symbols for %s", path);
	}
	for (size_t i = 0; i < img->nsyms; i++) /* names must be readable */
		free(demangle(img->syms[i].name));
	free(s);
	elf_image_free(img);
}

static void check_bad_files(void)
{
	expect_fail(path_in_tmp("does-not-exist"), strerror(ENOENT));
	expect_fail(harness_tmp, "not a regular file");

	char *p = path_in_tmp("text");
	write_file(p, "hello, world\n", 13);
	expect_fail(p, "not an ELF file");
	p = path_in_tmp("empty");
	write_file(p, "", 0);
	expect_fail(p, "not an ELF file");

	size_t size;
	uint8_t *bin = slurp(path_in_tmp("basic_O2"), &size);
	CHECK(bin && size > 4096);
	if (!bin)
		return;

	Elf64_Ehdr eh;
	memcpy(&eh, bin, sizeof(eh));
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_machine = EM_386;
	p = path_in_tmp("elf32");
	write_file(p, &eh, sizeof(eh));
	expect_fail(p, "32-bit ELF not supported");

	memcpy(&eh, bin, sizeof(eh));
	eh.e_machine = EM_AARCH64;
	p = path_in_tmp("aarch64");
	write_file(p, &eh, sizeof(eh));
	expect_fail(p, "not an x86_64 ELF (machine 183)");

	expect_fail(path_in_tmp("basic.o"), "not an executable or shared object");

	static const char *const trunc_names[] = { "trunc10", "trunc64", "trunc200", "trunchalf",
						   "trunc-1" };
	size_t lens[] = { 10, 64, 200, size / 2, size - 1 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		p = path_in_tmp(trunc_names[i]);
		write_file(p, bin, lens[i]);
		expect_fail(p, "malformed ELF");
	}

	/* Random damage to the headers and tables libelf and we read: no crash,
	 * and either a clean error or a usable image. Fixed seed: reproducible. */
	uint8_t *copy = malloc(size);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	memcpy(&eh, bin, sizeof(eh));
	struct {
		uint64_t off, size;
	} tabs[16]; /* symbol, string and relocation tables */
	size_t ntabs = 0;
	for (size_t i = 0; i < eh.e_shnum && ntabs < 16; i++) {
		Elf64_Shdr sh;
		memcpy(&sh, bin + eh.e_shoff + i * sizeof(sh), sizeof(sh));
		if ((sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM ||
		     sh.sh_type == SHT_RELA || sh.sh_type == SHT_STRTAB) &&
		    sh.sh_size) {
			tabs[ntabs].off = sh.sh_offset;
			tabs[ntabs].size = sh.sh_size;
			ntabs++;
		}
	}
	CHECK(ntabs >= 4);
	p = path_in_tmp("fuzz");
	for (int iter = 0; copy && iter < 600; iter++) {
		memcpy(copy, bin, size);
		int nflip = 1 + iter % 6;
		for (int f = 0; f < nflip; f++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t r = seed >> 17;
			size_t at;
			switch (r % (ntabs ? 5 : 4)) {
			case 4: /* inside a symbol, string or relocation table */
				at = tabs[(r >> 8) % ntabs].off;
				at += (r >> 16) % tabs[(r >> 8) % ntabs].size;
				break;
			case 0: /* a section header field */
				at = eh.e_shoff +
				     (r >> 8) % ((size_t)eh.e_shnum * sizeof(Elf64_Shdr));
				break;
			case 1: /* a program header field */
				at = eh.e_phoff +
				     (r >> 8) % ((size_t)eh.e_phnum * sizeof(Elf64_Phdr));
				break;
			case 2: /* the ELF header past the ident */
				at = EI_NIDENT + (r >> 8) % (sizeof(Elf64_Ehdr) - EI_NIDENT);
				break;
			default: /* anywhere */ at = (r >> 8) % size;
			}
			if (at < size)
				copy[at] = (uint8_t)(r >> 40);
		}
		write_file(p, copy, size);
		open_survives(p);
	}
	free(copy);
	free(bin);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* 2000 instrumented functions at -O2: one enter and one exit call each (+ main). */
TEST(check_many)
{
	enum { NFUNC = 2000 };
	char *src = path_in_tmp("many.c");
	FILE *f = fopen(src, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	for (int i = 0; i < NFUNC; i++)
		fprintf(f, "__attribute__((noinline)) int f%d(int x) { return x * %d + 1; }\n", i,
			i);
	fprintf(f, "int main(int argc, char **argv) { (void)argv; int s = 0;\n");
	for (int i = 0; i < NFUNC; i++)
		fprintf(f, "s += f%d(argc);\n", i);
	fprintf(f, "return s & 1; }\n");
	fclose(f);
	if (!run("gcc -finstrument-functions -g -O2 %s -o %s", src, path_in_tmp("many")))
		return;

	double best = 1e9;
	size_t n = 0, known = 0;
	for (int rep = 0; rep < 5; rep++) {
		double t0 = now_ms();
		struct elf_image *img = NULL;
		struct hook_site *s = NULL;
		char err[256];
		if (elf_image_open(path_in_tmp("many"), &img, err, sizeof(err)) == 0 &&
		    hook_sites_find(img, &s, &n, err, sizeof(err)) == 0) {
			double dt = now_ms() - t0;
			best = dt < best ? dt : best;
			if (rep == 0)
				verify_sites(img, s, n);
			for (size_t i = 0; rep == 0 && i < n; i++)
				known += s[i].this_fn == img->syms[s[i].sym].addr;
		}
		free(s);
		elf_image_free(img);
	}
	CHECKM(n == 2 * NFUNC + 2, "many: %zu sites, want %d", n, 2 * NFUNC + 2);
	CHECKM(known == n, "many: %zu of %zu sites with their function as this_fn", known, n);
	printf("elf: %d-function -O2 program: %zu sites (%zu with this_fn), "
	       "elf_image_open+hook_sites_find %.2f ms (best of 5)\n",
	       NFUNC, n, known, best);
}

/* The setjmp probe on this system's C library: the direct jmp __sigsetjmp
 * reaches before it touches rsp (emulated by the kernel), never the
 * single-stepped entry store (Debian 12's glibc has one). */
TEST(check_setjmp_site)
{
	struct elf_image *img = open_ok("/lib/x86_64-linux-gnu/libc.so.6");
	const struct elf_sym *sj = img ? elf_sym_find(img, "__sigsetjmp") : NULL;
	uint64_t site, off;
	uint8_t code[16];
	cs_insn *in = NULL;

	CHECK(sj != NULL);
	if (!sj)
		goto out;
	site = jump_sites_setjmp(img, sj->addr);
	CHECKM(site > sj->addr && site < sj->addr + sj->size,
	       "site 0x%lx in __sigsetjmp [0x%lx, +%lu)", (unsigned long)site,
	       (unsigned long)sj->addr, (unsigned long)sj->size);
	CHECK(elf_vaddr_to_offset(img, site, &off) == 0 &&
	      pread(img->fd, code, sizeof(code), (off_t)off) == (ssize_t)sizeof(code));
	CHECK(cs_disasm(cs, code, sizeof(code), site, 1, &in) == 1 && in[0].id == X86_INS_JMP &&
	      in[0].detail->x86.operands[0].type == X86_OP_IMM);
	if (in)
		cs_free(in, 1);
out:
	elf_image_free(img);
}

/* ---- the targets, built once before the cases: a case checks built(name) ---- */

#define INSTR "-finstrument-functions -g"

static const struct target_build {
	const char *out, *cc, *flags, *srcs;
} targets[] = {
	{ "basic_O0", "gcc", INSTR " -O0", "elf_basic.c" },
	{ "basic_O2", "gcc", INSTR " -O2", "elf_basic.c" },
	{ "noplt", "gcc", INSTR " -O2 -fno-plt", "elf_basic.c" },
	{ "nopie", "gcc", INSTR " -O0 -fno-pie -no-pie", "elf_basic.c" },
	{ "nopie_O2", "gcc", INSTR " -O2 -fno-pie -no-pie", "elf_basic.c" },
	{ "ibt", "gcc", INSTR " -O2 -fcf-protection=full -Wl,-z,ibtplt", "elf_basic.c" },
	{ "own_hooks", "gcc", INSTR " -O2 -fno-plt", "elf_basic.c elf_hooks.c" },
	{ "hookaddr", "gcc", INSTR " -O0", "elf_hookaddr.c" },
	{ "hookaddr_ibt", "gcc", INSTR " -O0 -fcf-protection=full -Wl,-z,ibtplt",
	  "elf_hookaddr.c" },
	{ "libbasic.so", "gcc", INSTR " -O2 -fPIC -shared", "elf_basic.c" },
	{ "noinstr", "gcc", "-O2", "elf_basic.c" },
	{ "cxx", "g++", INSTR " -O0", "elf_cxx.cc" },
	{ "static", "gcc", INSTR " -O0 -static", "elf_basic.c" },
	{ "thisfn", "gcc", "-g", "elf_thisfn.S" },
	{ "thisfn_eh", "gcc", "-g -DWITH_EH", "elf_thisfn.S" },
	{ "basic.o", "gcc", "-c", "elf_basic.c" },
	{ "rdynamic", "gcc", INSTR " -O2 -rdynamic", "elf_basic.c" },
};
static bool targets_ok[sizeof(targets) / sizeof(targets[0])];
static bool ok_strip; /* stripped, stripped_rdynamic and debuglink, made from the above */

static bool built(const char *name)
{
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (!strcmp(targets[i].out, name))
			return targets_ok[i];
	return false;
}

static void build_all(void)
{
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		targets_ok[i] =
			build(targets[i].out, targets[i].cc, targets[i].flags, targets[i].srcs);
	ok_strip =
		built("basic_O2") && built("rdynamic") &&
		run("strip -o %s %s", path_in_tmp("stripped"), path_in_tmp("basic_O2")) &&
		run("strip -o %s %s", path_in_tmp("stripped_rdynamic"), path_in_tmp("rdynamic")) &&
		run("objcopy --strip-debug --add-gnu-debuglink=%s %s %s", path_in_tmp("basic_O2"),
		    path_in_tmp("basic_O2"), path_in_tmp("debuglink"));
}

/* ---- the cases on them ---- */

#define N_O0 (sizeof(basic_O0) / sizeof(basic_O0[0]))
#define N_O2 (sizeof(basic_O2) / sizeof(basic_O2[0]))

TEST(test_basic_O0)
{
	if (!built("basic_O0"))
		return;
	check_target("basic_O0", basic_O0, N_O0, 1, ET_DYN);
	check_this_fn("basic_O0", false, false);
	check_lookups();
}

TEST(test_basic_O2)
{
	if (!built("basic_O2"))
		return;
	check_target("basic_O2", basic_O2, N_O2, 1, ET_DYN);
	check_this_fn("basic_O2", true, false);
	check_tail_jmp("basic_O2");
	check_bad_files();
}

TEST(test_noplt)
{
	if (!built("noplt"))
		return;
	check_target("noplt", basic_O2, N_O2, 0, ET_DYN);
	check_this_fn("noplt", true, false);
	check_tail_jmp("noplt");
}

TEST(test_nopie)
{
	if (built("nopie")) {
		check_target("nopie", basic_O0, N_O0, 1, ET_EXEC);
		check_this_fn("nopie", false, false);
	}
	if (built("nopie_O2"))
		check_this_fn("nopie_O2", true, false);
}

TEST(test_ibt)
{
	if (!built("ibt"))
		return;
	has_section("ibt", ".plt.sec");
	check_target("ibt", basic_O2, N_O2, 1, ET_DYN);
	check_this_fn("ibt", true, false);
}

TEST(test_this_fn_traps)
{
	if (built("thisfn"))
		check_this_fn_traps("thisfn", false);
	if (built("thisfn_eh")) {
		has_section("thisfn_eh", ".gcc_except_table");
		check_this_fn_traps("thisfn_eh", true);
	}
}

TEST(test_hookaddr)
{
	if (built("hookaddr")) {
		has_section("hookaddr", ".plt.got");
		check_target("hookaddr", hookaddr, 2, 1, ET_DYN);
	}
	if (built("hookaddr_ibt")) {
		has_section("hookaddr_ibt", ".plt.got");
		check_target("hookaddr_ibt", hookaddr, 2, 1, ET_DYN);
	}
}

/* an instrumented library: calls between its functions go via PLT */
TEST(test_library)
{
	if (!built("libbasic.so"))
		return;
	check_target("libbasic.so", basic_O2, N_O2, 1, ET_DYN);
	check_this_fn("libbasic.so", true, true);
}

TEST(test_other_targets)
{
	if (built("own_hooks"))
		check_own_hooks();
	if (built("noinstr"))
		check_uninstrumented();
	if (built("cxx"))
		check_cxx();
	if (built("static"))
		check_static();
	if (ok_strip)
		check_stripped();
}

int main(int argc, char **argv)
{
	if (argc > 1)
		data_dir = argv[1];
	if (!harness_tmp_make("test_elf") || cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		perror("setup");
		return 1;
	}
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	build_all();
	harness_run_all();
	cs_close(&cs);
	harness_tmp_remove();
	HARNESS_MAIN_END("elf");
}
