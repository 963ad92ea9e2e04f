#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "utils/demangle.h"
#include "find/elf_image.h"
#include "find/srcline.h"
#include "utils/log.h"
#include "find/pattern.h"
#include "utils/procmaps.h"
#include "utils/u64map.h"
#include "utils/xalloc.h"
#include "consume/symbolize.h"

struct slot {
	uint64_t addr;
	struct func_info *fi;
};

struct symbolizer {
	pid_t pid;
	const struct filter *filter;
	struct module *mods;
	size_t nmods;
	/* addr → func_info: every event goes through here, so open addressing */
	struct slot *tab;
	size_t cap, used;
	/* module names outlive refreshes of the maps: func_info points at them */
	char **names;
	size_t nnames;
	bool gone;		  /* the maps can no longer be read: the process is gone */
	char *exe;		  /* its executable's path when it was made, or NULL */
	struct func_info *stale;  /* forgotten when their code went away */
	struct module *gone_mods; /* mappings that went away since the last take */
	size_t ngone;
	/* --srcline: site → call_site_info; a hook call's return address →
	 * (void *)1 when its function runs there out of line, else the site
	 * of the call that inlined it (inlined_at) */
	struct u64map sites, outlined;
	struct call_site_info *stale_sites; /* forgotten with their code */
};

/* --srcline: one for the run, shared by every process's symbolizer (a forked
 * child's code is its parent's files) */
static struct srclines *srclines;

void symbolizer_set_srclines(struct srclines *sl)
{
	srclines = sl;
}

/* /proc/PID/exe's target (malloc'd), or NULL */
static char *proc_exe_path(pid_t pid)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	if (pid <= 0)
		return NULL;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return NULL;
	path[n] = 0;
	return xstrdup(path);
}

struct symbolizer *symbolizer_new(pid_t pid, const struct filter *f)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));

	s->pid = pid;
	s->filter = f;
	s->exe = proc_exe_path(pid);
	s->cap = 1024;
	s->tab = xcalloc(s->cap, sizeof(*s->tab));
	return s;
}

static void free_modules(struct module *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].path);
		free(m[i].open_path);
		if (m[i].img)
			elf_image_free(m[i].img);
	}
	free(m);
}

/* the sites' lines are forgotten (code went away, or at the end); the
 * site_infos stay allocated: the compact trace's writer names them by id */
static void forget_sites(struct symbolizer *s)
{
	uint64_t k;
	void *v;

	for (size_t it = 0; u64map_next(&s->sites, &it, &k, &v);) {
		struct call_site_info *si = v;
		si->next_stale = s->stale_sites;
		s->stale_sites = si;
	}
	u64map_free(&s->sites);
	u64map_free(&s->outlined);
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++) {
		if (s->tab[i].fi && s->tab[i].addr != UINT64_MAX) {
			free(s->tab[i].fi->name);
			free(s->tab[i].fi->source);
			free(s->tab[i].fi);
		}
	}
	while (s->stale) {
		struct func_info *n = s->stale->next_stale;
		free(s->stale->name);
		free(s->stale->source);
		free(s->stale);
		s->stale = n;
	}
	forget_sites(s);
	while (s->stale_sites) {
		struct call_site_info *n = s->stale_sites->next_stale;
		free(s->stale_sites->loc);
		free(s->stale_sites);
		s->stale_sites = n;
	}
	u64map_free(&s->sites);
	u64map_free(&s->outlined);
	free(s->tab);
	free(s->exe);
	free_modules(s->mods, s->nmods);
	free_modules(s->gone_mods, s->ngone);
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	free(s);
}

/* Keep the images of mappings that are still there: reopening libc at each
 * refresh would be wasted work. */
static struct elf_image *reuse_image(struct symbolizer *s, const char *path, uint64_t start)
{
	for (size_t i = 0; i < s->nmods; i++) {
		if (s->mods[i].start == start && s->mods[i].img && !strcmp(s->mods[i].path, path)) {
			struct elf_image *img = s->mods[i].img;
			s->mods[i].img = NULL;
			return img;
		}
	}
	return NULL;
}

static char *intern(struct symbolizer *s, const char *name)
{
	for (size_t i = 0; i < s->nnames; i++)
		if (!strcmp(s->names[i], name))
			return s->names[i];
	s->names = xrealloc(s->names, (s->nnames + 1) * sizeof(*s->names));
	return s->names[s->nnames++] = xstrdup(name);
}

/* [addr, addr+len) holds other code from now on (dlclose, and maybe another
 * library mapped there): names cached there are forgotten */
static void forget_range(struct symbolizer *s, uint64_t addr, uint64_t len)
{
	forget_sites(s); /* rare (dlclose): all of them, looked up again */
	/* entries stay allocated (open frames point at them) but leave the
	 * table: the next event at such an address is resolved afresh */
	for (size_t i = 0; i < s->cap; i++) {
		struct slot *sl = &s->tab[i];

		if (sl->fi && sl->addr != UINT64_MAX && sl->addr >= addr && sl->addr - addr < len) {
			sl->fi->next_stale = s->stale;
			s->stale = sl->fi;
			sl->addr = UINT64_MAX; /* a tombstone: probing goes on past it */
		}
	}
}

static bool same_mapping(const struct module *a, const struct module *b)
{
	return a->start == b->start && a->end == b->end && a->offset == b->offset &&
	       !strcmp(a->path, b->path);
}

/* The old mappings that the new map does not hold any more: their names are
 * forgotten, and they are kept for symbolizer_take_gone (the capture plans
 * made for them must go too). */
static void note_gone(struct symbolizer *s, const struct module *mods, size_t n)
{
	for (size_t i = 0; i < s->nmods; i++) {
		struct module *old = &s->mods[i];
		bool kept = false;

		for (size_t k = 0; k < n && !kept; k++)
			kept = same_mapping(old, &mods[k]);
		if (kept)
			continue;
		forget_range(s, old->start, old->end - old->start);
		s->gone_mods = xrealloc(s->gone_mods, (s->ngone + 1) * sizeof(*s->gone_mods));
		s->gone_mods[s->ngone++] = *old;
		memset(old, 0, sizeof(*old)); /* moved: not freed with the old map */
	}
}

void symbolizer_map_unknown(struct symbolizer *s)
{
	size_t k = 0;

	for (size_t i = 0; i < s->nmods; i++) {
		struct module *m = &s->mods[i];

		if (s->exe && !strcmp(m->path, s->exe)) {
			s->mods[k++] = *m;
			continue;
		}
		forget_range(s, m->start, m->end - m->start);
		s->gone_mods = xrealloc(s->gone_mods, (s->ngone + 1) * sizeof(*s->gone_mods));
		s->gone_mods[s->ngone++] = *m;
	}
	s->nmods = k;
}

void symbolizer_add_module(struct symbolizer *s, const struct module *m)
{
	struct module *nm;

	s->mods = xrealloc(s->mods, (s->nmods + 1) * sizeof(*s->mods));
	nm = &s->mods[s->nmods++];
	*nm = *m;
	nm->path = xstrdup(m->path);
	nm->open_path = xstrdup(m->open_path);
	nm->name = intern(s, m->name);
	nm->img = NULL; /* the caller's */
}

struct module *symbolizer_take_gone(struct symbolizer *s, size_t *n)
{
	struct module *g = s->gone_mods;

	*n = s->ngone;
	s->gone_mods = NULL;
	s->ngone = 0;
	return g;
}

void symbolizer_free_modules(struct module *m, size_t n)
{
	free_modules(m, n);
}

int symbolizer_load_maps(struct symbolizer *s)
{
	struct proc_maps pm;
	struct module *mods;
	size_t n = 0;
	char err[256];
	int rc;

	rc = proc_maps_read(s->pid, &pm);
	if (rc) {
		s->gone = true;
		return rc;
	}
	mods = xcalloc(pm.n ? pm.n : 1, sizeof(*mods));
	for (size_t i = 0; i < pm.n; i++) {
		const struct map_entry *e = &pm.v[i];
		struct module *m;
		char open_path[128];
		const char *base;

		if (!e->exec || !e->path || e->path[0] != '/')
			continue;
		m = &mods[n++];
		m->start = e->start;
		m->end = e->end;
		m->offset = e->offset;
		m->path = xstrdup(e->path);
		base = strrchr(e->path, '/');
		m->name = intern(s, base ? base + 1 : e->path);
		proc_maps_file_path(s->pid, e, open_path, sizeof(open_path));
		m->open_path = xstrdup(open_path);
		m->img = reuse_image(s, m->path, m->start);
		if (!m->img && elf_image_open(open_path, &m->img, err, sizeof(err))) {
			log_dbg("%s: %s", m->path, err);
			m->img = NULL;
		}
	}
	proc_maps_free(&pm);
	if (n == 0 && s->nmods) {
		/* a live process has its executable mapped: this one has exited
		 * (a zombie's maps are empty), and its names still hold */
		free_modules(mods, n);
		s->gone = true;
		return -ESRCH;
	}
	note_gone(s, mods, n);
	s->gone = false;
	free_modules(s->mods, s->nmods);
	s->mods = mods;
	s->nmods = n;
	return 0;
}

const struct filter *symbolizer_filter(const struct symbolizer *s)
{
	return s->filter;
}

const struct module *symbolizer_modules(const struct symbolizer *s, size_t *n)
{
	*n = s->nmods;
	return s->mods;
}

static const struct module *find_module(const struct symbolizer *s, uint64_t addr)
{
	for (size_t i = 0; i < s->nmods; i++)
		if (addr >= s->mods[i].start && addr < s->mods[i].end)
			return &s->mods[i];
	return NULL;
}

static struct func_info *resolve(struct symbolizer *s, uint64_t addr, bool *complete)
{
	struct func_info *fi = xcalloc(1, sizeof(*fi));
	const struct module *m = find_module(s, addr);
	const struct elf_sym *sym = NULL;
	char buf[32];
	uint64_t vaddr;

	fi->addr = addr;
	fi->module = m ? m->name : "?";
	if (m && m->img && !elf_offset_to_vaddr(m->img, addr - m->start + m->offset, &vaddr))
		sym = elf_sym_lookup(m->img, vaddr);
	*complete = m != NULL;
	if (sym) {
		char *dm = xcheck(demangle(sym->name));
		fi->name = dm;
		fi->allowed = filter_allows(s->filter, sym->name, dm);
		if (srclines) /* once per function: fi is interned */
			fi->source = srcline_of(srclines, m->img->fd, vaddr);
	} else {
		/* an honest address beats a wrong neighbour's name */
		snprintf(buf, sizeof(buf), "0x%" PRIx64, addr);
		fi->name = xstrdup(buf);
		fi->allowed = filter_is_empty(s->filter);
	}
	return fi;
}

static void grow(struct symbolizer *s)
{
	size_t ncap = s->cap * 2;
	struct slot *nt = xcalloc(ncap, sizeof(*nt));

	for (size_t i = 0; i < s->cap; i++) {
		if (!s->tab[i].fi || s->tab[i].addr == UINT64_MAX)
			continue;
		size_t j = (s->tab[i].addr * 0x9E3779B97F4A7C15ull) >> 20 & (ncap - 1);
		while (nt[j].fi)
			j = (j + 1) & (ncap - 1);
		nt[j] = s->tab[i];
	}
	free(s->tab);
	s->tab = nt;
	s->cap = ncap;
}

const struct func_info *symbolize(struct symbolizer *s, uint64_t addr)
{
	size_t j = (addr * 0x9E3779B97F4A7C15ull) >> 20 & (s->cap - 1);
	struct func_info *fi;
	bool complete;

	while (s->tab[j].fi) {
		if (s->tab[j].addr == addr)
			return s->tab[j].fi;
		j = (j + 1) & (s->cap - 1);
	}
	if (addr == UINT64_MAX) { /* never an address of code; the tombstone key */
		static struct func_info none = { .addr = UINT64_MAX,
						 .name = "0xffffffffffffffff",
						 .module = "?" };
		return &none;
	}
	fi = resolve(s, addr, &complete);
	if (!complete && !s->gone && symbolizer_load_maps(s) == 0) {
		/* a library mapped since the last look (dlopen) */
		free(fi->name);
		free(fi->source);
		free(fi);
		fi = resolve(s, addr, &complete);
	}
	s->tab[j].addr = addr;
	s->tab[j].fi = fi;
	if (++s->used * 2 > s->cap)
		grow(s);
	return fi;
}

/* the function symbol holding runtime address addr, and its module */
static const struct elf_sym *sym_at(const struct symbolizer *s, uint64_t addr,
				    const struct module **m, uint64_t *vaddr)
{
	*m = find_module(s, addr);
	if (!*m || !(*m)->img ||
	    elf_offset_to_vaddr((*m)->img, addr - (*m)->start + (*m)->offset, vaddr))
		return NULL;
	return elf_sym_lookup((*m)->img, *vaddr);
}

/* fn's hook call returning to at: (void *)1 when it sits in fn's own body;
 * else the site of the call that inlined fn there (its loc NULL when none
 * is known). Inlined, the hook's call_site is its caller's own. */
static struct call_site_info *inlined_at(struct symbolizer *s, uint64_t fn, uint64_t at)
{
	const struct module *m, *mf;
	const struct elf_sym *a, *f;
	struct call_site_info *si = u64map_get(&s->outlined, at);
	uint64_t v, va;

	if (si)
		return si;
	a = at ? sym_at(s, at - 1, &m, &va) : NULL;
	f = a ? sym_at(s, fn, &mf, &v) : NULL;
	if (a && a == f && m == mf) {
		si = (void *)1;
	} else {
		si = xcalloc(1, sizeof(*si));
		if (a && f && m == mf)
			si->loc = srcline_inlined_call(srclines, m->img->fd, va, f->name);
		si->next_stale = s->stale_sites;
		s->stale_sites = si;
	}
	u64map_put(&s->outlined, at, si); /* on ENOMEM: looked up again */
	return si;
}

const struct call_site_info *symbolize_site(struct symbolizer *s, uint64_t fn, uint64_t site,
					    uint64_t at)
{
	struct call_site_info *si;
	const struct module *m;
	uint64_t vaddr;

	if (!srclines || !site)
		return NULL;
	si = inlined_at(s, fn, at);
	if (si != (void *)1)
		return si->loc ? si : NULL;
	si = u64map_get(&s->sites, site);
	if (si)
		return si->loc ? si : NULL;
	si = xcalloc(1, sizeof(*si));
	/* the call instruction's line: a return address is the one after it,
	 * so addr2line -i's rule, address - 1 */
	m = find_module(s, site - 1);
	if (m && m->img && !elf_offset_to_vaddr(m->img, site - 1 - m->start + m->offset, &vaddr))
		si->loc = srcline_of(srclines, m->img->fd, vaddr);
	if (u64map_put(&s->sites, site, si)) {
		si->next_stale = s->stale_sites;
		s->stale_sites = si;
	}
	return si->loc ? si : NULL;
}
