/* --memory: the allocator's entry points, found by name in each module the
 * target maps (the C library, or a static executable), probed
 * at entry (on_alloc) and at return (on_alloc_ret). The cookie says which
 * entry point: how to read its arguments (ctrace.h, enum ctrace_mem_op). */
#include <errno.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "attach/alloc_probes.h"
#include "attach/modules.h"
#include "attach/probes.h"
#include "attach/uprobe_multi.h"
#include "consume/symbolize.h"
#include "ctrace.h"
#include "ctrace.skel.h"
#include "find/code_scan.h"
#include "find/elf_image.h"
#include "utils/log.h"

static const struct {
	const char *name;
	unsigned op;
} entry_points[] = {
	{ "malloc", CTRACE_MEM_MALLOC },
	{ "calloc", CTRACE_MEM_CALLOC },
	{ "realloc", CTRACE_MEM_REALLOC },
	{ "reallocarray", CTRACE_MEM_REALLOCARRAY },
	{ "free", CTRACE_MEM_FREE },
	{ "memalign", CTRACE_MEM_MEMALIGN },
	{ "aligned_alloc", CTRACE_MEM_MEMALIGN },
	{ "posix_memalign", CTRACE_MEM_POSIX_MEMALIGN },
	{ "valloc", CTRACE_MEM_MALLOC },
	{ "pvalloc", CTRACE_MEM_MALLOC },
	/* the same functions under glibc's own names: the image keeps one
	 * name per address, which may be either */
	{ "__libc_malloc", CTRACE_MEM_MALLOC },
	{ "__libc_calloc", CTRACE_MEM_CALLOC },
	{ "__libc_realloc", CTRACE_MEM_REALLOC },
	{ "__libc_free", CTRACE_MEM_FREE },
	{ "__libc_memalign", CTRACE_MEM_MEMALIGN },
	{ "__libc_valloc", CTRACE_MEM_MALLOC },
	{ "__libc_pvalloc", CTRACE_MEM_MALLOC },
	{ "__posix_memalign", CTRACE_MEM_POSIX_MEMALIGN },
};

#define NENTRY (sizeof(entry_points) / sizeof(entry_points[0]))

/* Where to probe a function: a uprobe on an instruction the kernel does not
 * emulate is single-stepped, ~10 us a hit here against ~1 us (glibc's free
 * starts with a test: it made a malloc/free pair 12 us slower). A leading
 * endbr64 is passed (it touches no register), and, with null_check (free's
 * entry-only probe), the test of rdi and the jump taken when it is NULL
 * (then nothing is freed): the registers and rsp are still the entry's. */
struct site_scan {
	uint64_t entry, site;
	bool null_check, tested;
};

static bool site_step(csh cs, const cs_insn *in, void *ctx)
{
	struct site_scan *sc = ctx;
	uint64_t next = in->address + in->size;

	(void)cs;
	if (in->id == X86_INS_ENDBR64 && in->address == sc->entry) {
		sc->site = next;
		return false;
	}
	if (sc->null_check && !sc->tested && in->id == X86_INS_TEST &&
	    !strcmp(in->op_str, "rdi, rdi")) {
		sc->tested = true;
		return false;
	}
	if (sc->tested && in->id == X86_INS_JE)
		sc->site = next;
	return true;
}

static uint64_t probe_site(const struct elf_image *img, uint64_t entry, bool null_check)
{
	struct site_scan sc = { .entry = entry, .site = entry, .null_check = null_check };

	code_scan(img, entry, 32, false, site_step, &sc);
	return sc.site;
}

/* a module that defines an allocator: both malloc and free (the C library,
 * a static executable). C++'s operator new and delete are not probed: the
 * C++ runtime's call malloc and free (through the PLT, so their probes see
 * them), and a return probe on a new that throws std::bad_alloc would leave
 * the unwinder a trampoline it cannot step through (the target aborts) */
static bool allocator_module(const struct elf_image *img)
{
	return (elf_sym_find(img, "malloc") || elf_sym_find(img, "__libc_malloc")) &&
	       (elf_sym_find(img, "free") || elf_sym_find(img, "__libc_free"));
}

/* One link of prog on the n offsets; 0, or -1 with errno set */
static int attach_links(struct probes *pr, const struct module *m, struct bpf_program *prog,
			const uint64_t *off, const uint64_t *ck, size_t n, bool ret)
{
	int fd;

	if (!n)
		return 0;
	fd = uprobe_multi_attach(bpf_program__fd(prog), m->open_path, off, ck, n, pr->pid, ret);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return probes_keep_link(pr, fd);
}

/* Every entry point but free gets a return probe too: the address
 * returned, and the end of the call (an allocator calling another through
 * its exported address is counted once). free needs none: it only looks
 * whether it runs inside another allocator call. */
static int attach_module(struct probes *pr, const struct module *m)
{
	uint64_t off[NENTRY], ck[NENTRY], roff[NENTRY], rck[NENTRY];
	size_t k = 0, nr = 0;

	for (size_t i = 0; i < NENTRY; i++) {
		const char *name = entry_points[i].name;
		const struct elf_sym *s = elf_sym_find(m->img, name);
		bool libc_free = !strcmp(name, "free") || !strcmp(name, "__libc_free");
		size_t j;

		if (!s ||
		    elf_vaddr_to_offset(m->img, probe_site(m->img, s->addr, libc_free), &off[k]))
			continue;
		for (j = 0; j < k && off[j] != off[k]; j++)
			;
		if (j < k) /* aliases (valloc, memalign) share an address */
			continue;
		ck[k] = entry_points[i].op | (libc_free ? CTRACE_MEM_ENTRY_ONLY : 0);
		if (!libc_free) {
			roff[nr] = off[k];
			rck[nr++] = ck[k];
		}
		k++;
	}
	if (attach_links(pr, m, pr->skel->progs.on_alloc, off, ck, k, false) ||
	    attach_links(pr, m, pr->skel->progs.on_alloc_ret, roff, rck, nr, true))
		return -1;
	if (k)
		log_dbg("%s: %zu allocator entry points probed", m->name, k);
	return 0;
}

int alloc_probes_watch(struct probes *pr, struct symbolizer *sym, struct modset *done)
{
	const struct module *m;
	char key[PATH_MAX + 8];
	size_t n;

	m = symbolizer_modules(sym, &n);
	for (size_t i = 0; i < n; i++) {
		if (!m[i].img || !allocator_module(m[i].img))
			continue;
		snprintf(key, sizeof(key), "alloc:%s", m[i].open_path);
		if (modset_add(done, key) && attach_module(pr, &m[i]) < 0) {
			log_err("cannot probe the allocator in %s: %s", m[i].path, strerror(errno));
			return -1;
		}
	}
	return 0;
}
