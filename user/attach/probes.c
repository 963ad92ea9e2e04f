#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "ctrace.h"
#include "ctrace.skel.h"
#include "find/elf_image.h"
#include "find/hook_sites.h"
#include "utils/log.h"
#include "find/pattern.h"
#include "attach/probes.h"
#include "attach/batch.h"
#include "find/site_owner.h"
#include "attach/uprobe_multi.h"

int probes_keep_link(struct probes *p, int fd)
{
	if (p->nlinks == p->caplinks) {
		size_t nc = p->caplinks ? p->caplinks * 2 : 16;
		int *nl = realloc(p->links, nc * sizeof(*nl));
		if (!nl) {
			close(fd);
			log_err("out of memory");
			return -1;
		}
		p->links = nl;
		p->caplinks = nc;
	}
	p->links[p->nlinks++] = fd;
	return 0;
}

/* one link for all the given sites of a file */
static int attach(struct probes *p, const char *path, const char *display, const uint64_t *offs,
		  const uint64_t *cookies, size_t n)
{
	struct bpf_program *prog = p->empty   ? p->skel->progs.on_hit_empty :
				   p->args    ? p->skel->progs.on_hook_args :
				   p->summary ? p->skel->progs.on_hook_sum :
						p->skel->progs.on_hook;
	int fd = uprobe_multi_attach(bpf_program__fd(prog), path, offs, cookies, n, p->pid, false);

	if (fd < 0) {
		log_err("cannot attach %zu uprobe(s) to %s: %s%s", n, display, strerror(-fd),
			fd == -EINVAL || fd == -EOPNOTSUPP ?
				" (uprobe_multi links need Linux >= 6.6)" :
				"");
		return -1;
	}
	return probes_keep_link(p, fd);
}

int probes_attach_hooks_lib(struct probes *p, const char *lib)
{
	static const char *const names[2] = { "__cyg_profile_func_enter",
					      "__cyg_profile_func_exit" };
	struct elf_image *img;
	/* every call reaches the hooks: with a filter, BPF checks each this_fn */
	uint64_t check = filter_is_empty(p->filter) ? 0 : CTRACE_COOKIE_CHECK;
	uint64_t offs[2], cookies[2] = { CTRACE_COOKIE_HOOK | check,
					 CTRACE_COOKIE_HOOK | CTRACE_COOKIE_EXIT | check };
	char err[256];
	int rc = -1;

	if (elf_image_open(lib, &img, err, sizeof(err))) {
		log_err("hooks library %s: %s", lib, err);
		return -1;
	}
	for (int k = 0; k < 2; k++) {
		const struct elf_sym *s = elf_sym_find(img, names[k]);

		if (!s || elf_vaddr_to_offset(img, s->addr, &offs[k])) {
			log_err("hooks library %s has no %s", lib, names[k]);
			goto out;
		}
	}
	if (p->srcline_rdx)
		offs[0] += CTRACE_HOOK_SRCLINE_OFF;
	if (attach(p, lib, lib, offs, cookies, 2))
		goto out;
	log_dbg("probes on the hooks of %s", lib);
	rc = 0;
out:
	elf_image_free(img);
	return rc;
}

long probes_attach_callsites(struct probes *p, const char *attach_path, const char *display,
			     const struct elf_image *img)
{
	struct hook_site *sites = NULL;
	struct site_proofs proofs;
	size_t n = 0, cnt = 0, nexit = 0, nchecked = 0;
	uint64_t *offs = NULL, *cookies = NULL;
	signed char *allowed = NULL; /* per symbol: -1 unknown, 0 no, 1 yes */
	bool filtering = !filter_is_empty(p->filter);
	char err[256];
	long rc = -1;
	uint32_t last_sym = UINT32_MAX;

	if (hook_sites_find(img, &sites, &n, err, sizeof(err))) {
		log_err("%s: %s", display, err);
		return -1;
	}
	if (!n) {
		free(sites);
		return 0;
	}
	offs = calloc(n, sizeof(uint64_t));
	cookies = calloc(n, sizeof(uint64_t));
	allowed = malloc(img->nsyms ? img->nsyms : 1);
	if (!offs || !cookies || !allowed ||
	    ((filtering || log_verbose) && site_owners(img, sites, n, &proofs))) {
		log_err("out of memory");
		goto out;
	}
	if (filtering || log_verbose) {
		site_proofs_format(&proofs, err, sizeof(err));
		log_dbg("%s: %s", display, err);
	}
	memset(allowed, -1, img->nsyms);
	for (size_t i = 0; i < n; i++) {
		const struct hook_site *s = &sites[i];
		uint64_t check = 0;

		if (s->sym >= img->nsyms || s->kind > HOOK_EXIT)
			continue;
		switch (site_probe(img, s, p->filter, allowed)) {
		case SITE_SKIP: continue;
		case SITE_PROBE_CHECKED:
			check = CTRACE_COOKIE_CHECK;
			nchecked++;
			break;
		default: break;
		}
		if (s->sym != last_sym)
			p->nfuncs++;
		last_sym = s->sym;
		offs[cnt] = s->offset;
		cookies[cnt++] = (s->kind == HOOK_EXIT ? CTRACE_COOKIE_EXIT : 0) | check |
				 (uint64_t)(s->len & CTRACE_COOKIE_LEN_MASK)
					 << CTRACE_COOKIE_LEN_SHIFT;
		nexit += s->kind == HOOK_EXIT;
	}
	if (cnt && attach(p, attach_path, display, offs, cookies, cnt))
		goto out;
	p->nsites += cnt;
	log_dbg("%s: %zu enter + %zu exit call sites probed (%zu checked in BPF)", display,
		cnt - nexit, nexit, nchecked);
	rc = (long)cnt;
out:
	free(allowed);
	free(offs);
	free(cookies);
	free(sites);
	return rc;
}

int probes_attach_entry_stop(struct probes *p, const char *attach_path, const struct elf_image *img)
{
	uint64_t off;
	int fd;

	if (elf_vaddr_to_offset(img, img->entry, &off)) {
		log_err("%s: its entry point 0x%lx is not in an executable segment", attach_path,
			(unsigned long)img->entry);
		return -1;
	}
	fd = uprobe_multi_attach(bpf_program__fd(p->skel->progs.on_entry_point), attach_path, &off,
				 NULL, 1, p->pid, false);
	if (fd < 0) {
		log_err("cannot attach the start-up probe to %s: %s", attach_path, strerror(-fd));
		return -1;
	}
	return fd;
}

int probes_attach_returns(struct probes *p, const char *attach_path, const char *display,
			  const uint64_t *offs, size_t n)
{
	int fd = uprobe_multi_attach(bpf_program__fd(p->skel->progs.on_ret), attach_path, offs,
				     NULL, n, p->pid, true);

	if (fd < 0) {
		log_err("cannot attach %zu return probe(s) to %s: %s", n, display, strerror(-fd));
		return -1;
	}
	log_dbg("%s: %zu return probes", display, n);
	return probes_keep_link(p, fd);
}

#define DETACH_THREADS 8

struct closer {
	const int *fds;
	size_t n;
};

static void *close_some(void *arg)
{
	const struct closer *c = arg;

	for (size_t i = 0; i < c->n; i++)
		close(c->fds[i]);
	return NULL;
}

/* Each link's close waits for its own grace period (~30-70 ms here): the
 * links close in parallel, so detaching costs about one. */
void probes_detach_all(struct probes *p)
{
	pthread_t th[DETACH_THREADS];
	struct closer c[DETACH_THREADS];
	size_t nth = p->nlinks < DETACH_THREADS ? p->nlinks : DETACH_THREADS, started = 0;

	for (size_t k = 0; k < nth && nth > 1; k++) {
		size_t from = p->nlinks * k / nth, to = p->nlinks * (k + 1) / nth;

		c[k].fds = p->links + from;
		c[k].n = to - from;
		if (pthread_create(&th[k], NULL, close_some, &c[k]))
			break;
		started = to;
	}
	for (size_t i = started; i < p->nlinks; i++)
		close(p->links[i]);
	for (size_t k = 0; k < nth && nth > 1 && p->nlinks * k / nth < started; k++)
		pthread_join(th[k], NULL);
	batch_sel_free(p->bsel);
	p->bsel = NULL;
	free(p->links);
	p->links = NULL;
	p->nlinks = p->caplinks = 0;
}
