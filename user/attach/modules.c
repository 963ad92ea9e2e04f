/* The target's modules as they come and go: probing and planning each new
 * instrumented one once, the preloaded hooks, the dynamic loader's hook. */
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include "attach/alloc_probes.h"
#include "attach/capture_plans.h"
#include "ctrace.h"
#include "ctrace.skel.h"
#include "utils/demangle.h"
#include "find/elf_image.h"
#include "find/jump_sites.h"
#include "utils/log.h"
#include "attach/modules.h"
#include "find/pattern.h"
#include "attach/probes.h"
#include "consume/symbolize.h"
#include "attach/uprobe_multi.h"

bool elf_has_interp(const struct elf_image *img)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(img->elf, &n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (gelf_getphdr(img->elf, (int)i, &ph) && ph.p_type == PT_INTERP)
			return true;
	return false;
}

/* next to the binary (build tree) or in ../lib/ctrace-bpf (installed) */
int modules_find_hooks_lib(char *buf, size_t len)
{
	const char *env = getenv("CTRACE_HOOKS_LIB");
	char self[PATH_MAX - 64], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return access(buf, R_OK);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -1;
	self[n] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = 0;
	if ((size_t)snprintf(buf, len, "%s/%s", self, HOOKS_LIB_NAME) < len && !access(buf, R_OK))
		return 0;
	if ((size_t)snprintf(buf, len, "%s/../lib/ctrace-bpf/%s", self, HOOKS_LIB_NAME) >= len)
		return -1;
	return access(buf, R_OK);
}

bool modset_add(struct modset *s, const char *path)
{
	char **nv;

	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], path))
			return false;
	nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
	if (!nv || !(nv[s->n] = strdup(path))) {
		if (nv)
			s->v = nv;
		return false;
	}
	s->v = nv;
	s->n++;
	return true;
}

bool modset_del(struct modset *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!strcmp(s->v[i], path)) {
			free(s->v[i]);
			s->v[i] = s->v[--s->n];
			return true;
		}
	}
	return false;
}

void modset_free(struct modset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

long modules_probe_new(struct probes *pr, struct symbolizer *sym, const char *exe,
		       struct modset *done)
{
	const struct module *m;
	size_t n;
	long total = 0;

	m = symbolizer_modules(sym, &n);
	for (size_t i = 0; i < n; i++) {
		long r;
		bool is_exe = !strcmp(m[i].path, exe);

		if (!m[i].img || !m[i].img->refs_hooks || (!is_exe && m[i].img->hook_def[0]) ||
		    !modset_add(done, m[i].path))
			continue;
		r = probes_attach_callsites(pr, m[i].open_path, m[i].path, m[i].img);
		if (r < 0)
			return -1;
		total += r;
	}
	return total;
}

/* The modules that went away since the last look (dlclose): the capture
 * plans of their addresses go with them, and a module mapped there later,
 * the same file again or another one, is planned afresh. */
static int select_module(struct probes *pr, const struct module *m, unsigned gen, bool add);

void modules_forget_gone(struct capture *c, struct probes *pr, struct symbolizer *sym,
			 struct modset *planned, struct modset *selected, unsigned gen)
{
	char key[PATH_MAX + 16];
	struct module *m;
	size_t n;

	m = symbolizer_take_gone(sym, &n);
	for (size_t i = 0; i < n; i++) {
		log_dbg("unmapped: %s at 0x%lx", m[i].path, (unsigned long)m[i].start);
		snprintf(key, sizeof(key), "%u:%s", gen, m[i].path);
		if (c) {
			capture_forget_module(c, &m[i], gen);
			modset_del(planned, key);
		}
		/* its functions are no longer selected at those addresses */
		if (m[i].img && modset_del(selected, key))
			select_module(pr, &m[i], gen, false);
	}
	symbolizer_free_modules(m, n);
}

/* --args/--retval: plans for every instrumented module mapped now */
void modules_plan_new(struct capture *c, struct probes *pr, struct symbolizer *sym,
		      struct modset *done, unsigned gen)
{
	const struct module *m;
	char key[PATH_MAX + 16];
	size_t n;

	if (!c || gen >= CTRACE_GEN_NONE)
		return;
	m = symbolizer_modules(sym, &n);
	for (size_t i = 0; i < n; i++) {
		/* a generation's modules are planned once each */
		snprintf(key, sizeof(key), "%u:%s", gen, m[i].path);
		if (modset_add(done, key))
			capture_add_module(c, pr, &m[i], gen);
	}
	log_dbg("capture plans for %lu call sites", (unsigned long)capture_nplans(c));
}

/* one module's selected functions, at their runtime addresses (add), or
 * no longer (!add: the module went away) */
static int select_module(struct probes *pr, const struct module *m, unsigned gen, bool add)
{
	const struct elf_image *img = m->img;
	int fd = bpf_map__fd(pr->skel->maps.selected), sfd = bpf_map__fd(pr->skel->maps.shape_fns);
	bool filtering = !filter_is_empty(pr->filter);
	uint64_t bias = 0, vaddr;
	size_t n = 0, ns = 0;
	__u8 one = 1;

	if (img->e_type == ET_DYN && !elf_offset_to_vaddr(img, m->offset, &vaddr))
		bias = m->start - vaddr;
	for (size_t i = 0; i < img->nsyms; i++) {
		const struct elf_sym *s = &img->syms[i];
		char *dm = demangle(s->name);
		bool ok = filtering && filter_allows(pr->filter, s->name, dm ? dm : s->name);
		/* --subtree/--caller: the functions that match, in shape_fns */
		bool shaped = pr->shape && filter_allows(pr->shape, s->name, dm ? dm : s->name);
		__u64 key = CTRACE_PLAN_KEY(s->addr + bias, gen);

		free(dm);
		if (!add) {
			if (ok)
				bpf_map_delete_elem(fd, &key);
			if (shaped)
				bpf_map_delete_elem(sfd, &key);
			continue;
		}
		if ((ok && bpf_map_update_elem(fd, &key, &one, BPF_ANY)) ||
		    (shaped && bpf_map_update_elem(sfd, &key, &one, BPF_ANY))) {
			log_warn("%s: cannot select its functions in BPF: %s", m->path,
				 strerror(errno));
			return -1;
		}
		n += ok;
		ns += shaped;
	}
	log_dbg("%s: %zu selected functions, %zu matching --subtree/--caller", m->path, n, ns);
	pr->nshaped += ns;
	return 0;
}

void modules_select_new(struct probes *pr, struct symbolizer *sym, struct modset *done,
			unsigned gen)
{
	const struct module *m;
	char key[PATH_MAX + 16];
	size_t n;

	if ((filter_is_empty(pr->filter) && !pr->shape) || gen >= CTRACE_GEN_NONE)
		return;
	m = symbolizer_modules(sym, &n);
	for (size_t i = 0; i < n; i++) {
		/* every file: an inlined copy passes the address of its
		 * out-of-line function, which may live in another (libstdc++) */
		if (!m[i].img)
			continue;
		snprintf(key, sizeof(key), "%u:%s", gen, m[i].path);
		if (modset_add(done, key))
			select_module(pr, &m[i], gen, true);
	}
}

bool modules_hooks_mapped(struct symbolizer *sym)
{
	const struct module *m;
	size_t n;

	m = symbolizer_modules(sym, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].name, HOOKS_LIB_NAME) ||
		    !strcmp(m[i].name, "libctrace-hooks-batch.so") ||
		    !strcmp(m[i].name, "libctrace-hooks-batch-filter.so"))
			return true;
	return false;
}

/* One link of prog on the addresses given (vaddrs of m, each once),
 * cookies[i] for vaddrs[i]; 0, or -1 */
static int attach_at(struct probes *pr, const struct module *m, struct bpf_program *prog,
		     const uint64_t *vaddrs, const uint64_t *cookies, size_t n)
{
	uint64_t off[8], ck[8];
	size_t k = 0;
	int fd;

	for (size_t i = 0; i < n && k < 8; i++) {
		size_t j;

		if (elf_vaddr_to_offset(m->img, vaddrs[i], &off[k]))
			continue;
		for (j = 0; j < k && off[j] != off[k]; j++)
			;
		if (j == k) /* longjmp and its aliases share one address */
			ck[k++] = cookies ? cookies[i] : 0;
	}
	if (!k)
		return 0;
	fd = uprobe_multi_attach(bpf_program__fd(prog), m->open_path, off, cookies ? ck : NULL, k,
				 pr->pid, false);
	if (fd < 0 || probes_keep_link(pr, fd))
		return -1;
	log_dbg("%s: %zu sites probed for %s", m->name, k, bpf_program__name(prog));
	return 0;
}

/* the same on the entries of the functions named (those m has) */
static int attach_named(struct probes *pr, const struct module *m, struct bpf_program *prog,
			const char *const *names, const uint64_t *cookies, size_t n)
{
	uint64_t va[8], ck[8];
	size_t k = 0;

	for (size_t i = 0; i < n && k < 8; i++) {
		const struct elf_sym *s = elf_sym_find(m->img, names[i]);

		if (!s)
			continue;
		va[k] = s->addr;
		ck[k++] = cookies ? cookies[i] : 0;
	}
	return attach_at(pr, m, prog, va, cookies ? ck : NULL, k);
}

/* The C library's setjmp/longjmp and ucontext functions: a jump skips the
 * exit hooks of the frames it leaves, and the depth at its setjmp says
 * which survive; a context switch moves the thread to another stack (the
 * BPF side, on_setjmp/on_longjmp/on_context). Probed in every process,
 * whether or not its own code imports them: an embedded library may jump
 * over our callbacks. */
static int watch_jumps_in(struct probes *pr, const struct module *m)
{
	static const char *const jumps[] = { "longjmp", "_longjmp", "siglongjmp", "__longjmp_chk" };
	static const char *const ctx[] = { "getcontext", "makecontext", "setcontext",
					   "swapcontext" };
	static const uint64_t ctx_kind[] = { CTRACE_CTX_GET, CTRACE_CTX_MAKE, CTRACE_CTX_SET,
					     CTRACE_CTX_SWAP };
	const struct elf_sym *sj = elf_sym_find(m->img, "__sigsetjmp");
	struct ctrace_bpf *skel = pr->skel;
	uint64_t set;

	if (!sj)
		return 0;
	set = jump_sites_setjmp(m->img, sj->addr); /* an emulated jmp, not a single-step */
	if (attach_at(pr, m, skel->progs.on_setjmp, &set, NULL, 1) ||
	    attach_named(pr, m, skel->progs.on_longjmp, jumps, NULL, 4) ||
	    attach_named(pr, m, skel->progs.on_context, ctx, ctx_kind, 4))
		return -1;
	return 0;
}

int modules_watch_jumps(struct probes *pr, struct symbolizer *sym, struct modset *done)
{
	const struct module *m;
	char key[PATH_MAX + 8];
	size_t n;

	m = symbolizer_modules(sym, &n);
	for (size_t i = 0; i < n; i++) {
		if (!m[i].img || !elf_sym_find(m[i].img, "__sigsetjmp"))
			continue;
		snprintf(key, sizeof(key), "jumps:%s", m[i].open_path);
		if (modset_add(done, key) && watch_jumps_in(pr, &m[i]) < 0) {
			log_err("cannot probe setjmp/longjmp in %s: %s", m[i].path,
				strerror(errno));
			return -1;
		}
	}
	/* --memory: the allocator comes with the C library, wherever it is */
	return pr->memory ? alloc_probes_watch(pr, sym, done) : 0;
}

/* Launch mode: ld.so calls _dl_debug_state around every dlopen and dlclose;
 * a probe there stops the target so the loader can drain what was recorded
 * with the old map, read the new one and probe new libraries before the
 * program's next instruction. */
int modules_watch_loader(struct probes *pr, struct symbolizer *sym)
{
	const struct module *m;
	size_t n;

	m = symbolizer_modules(sym, &n);
	for (size_t i = 0; i < n; i++) {
		const struct elf_sym *ds;
		uint64_t off;
		int fd;

		if (!m[i].img || !strstr(m[i].name, "ld-linux"))
			continue;
		ds = elf_sym_find(m[i].img, "_dl_debug_state");
		if (!ds || elf_vaddr_to_offset(m[i].img, ds->addr, &off))
			return -1;
		fd = uprobe_multi_attach(bpf_program__fd(pr->skel->progs.on_dl_state),
					 m[i].open_path, &off, NULL, 1, pr->pid, false);
		if (fd < 0)
			return -1;
		return probes_keep_link(pr, fd);
	}
	return -1;
}

/* x86-64's signal return trampoline, as glibc, musl and others write it:
 * mov $15,%rax (rt_sigreturn); syscall */
static const unsigned char restorer_code[] = { 0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05 };

/* the module that may hold the process's restorer: the C library, the
 * dynamic loader, or a static executable */
static bool may_hold_restorer(const struct module *m)
{
	return !strncmp(m->name, "libc.", 5) || !strncmp(m->name, "libc-", 5) ||
	       !strncmp(m->name, "ld-", 3) || !elf_has_interp(m->img);
}

/* the file offsets of restorers in m's executable mapping, into offs:
 * the code bytes find candidates, CFI and the decoder prove them */
static size_t find_restorers(const struct module *m, uint64_t *offs, size_t max)
{
	enum { CHUNK = 1 << 20, OVER = sizeof(restorer_code) - 1 };
	uint64_t len = m->end - m->start;
	unsigned char *buf = malloc(CHUNK + OVER);
	size_t n = 0;

	for (uint64_t at = 0; buf && at < len && n < max; at += CHUNK) {
		size_t want = len - at < CHUNK + OVER ? len - at : CHUNK + OVER;
		ssize_t got = pread(m->img->fd, buf, want, (off_t)(m->offset + at));
		unsigned char *p = buf, *hit;

		if (got <= 0)
			break;
		while (n < max && (hit = memmem(p, (size_t)got - (p - buf), restorer_code,
						sizeof(restorer_code)))) {
			uint64_t off = m->offset + at + (uint64_t)(hit - buf), va;

			/* the overlap is the next chunk's; a match is probed only
			 * where CFI and the decoder say a restorer starts */
			if (hit - buf < CHUNK && !elf_offset_to_vaddr(m->img, off, &va) &&
			    jump_sites_is_restorer(m->img, va, sizeof(restorer_code)))
				offs[n++] = off;
			p = hit + 1;
		}
	}
	free(buf);
	return n;
}

int modules_watch_sigreturn(struct probes *pr, struct symbolizer *sym, struct modset *done)
{
	const struct module *m;
	size_t nm;
	int found = 0;

	m = symbolizer_modules(sym, &nm);
	for (size_t i = 0; i < nm; i++) {
		uint64_t offs[8];
		size_t n;
		int fd;

		if (!m[i].img || !may_hold_restorer(&m[i]))
			continue;
		n = find_restorers(&m[i], offs, sizeof(offs) / sizeof(offs[0]));
		if (!n)
			continue;
		/* one probe per file (it fires at every mapping of it); the
		 * addresses of each new mapping are added */
		if (modset_add(done, m[i].open_path)) {
			fd = uprobe_multi_attach(bpf_program__fd(pr->skel->progs.on_restorer),
						 m[i].open_path, offs, NULL, n, pr->pid, false);
			if (fd < 0 || probes_keep_link(pr, fd))
				return -1;
		}
		/* the handlers returning there are followed from now on */
		for (size_t k = 0; k < n; k++) {
			uint64_t addr = m[i].start + offs[k] - m[i].offset;
			__u32 one = 1;

			if (bpf_map__update_elem(pr->skel->maps.restorers, &addr, sizeof(addr),
						 &one, sizeof(one), BPF_ANY))
				return -1;
			found++;
		}
	}
	return found;
}
