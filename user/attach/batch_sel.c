/* --probe batch with -F/-N: the selected functions of each process, written
 * into the filtering hooks library's set (include/ctrace.h: struct
 * ctrace_batch_sel) wherever the per-event modes fill BPF's `selected` map
 * (a new image's start-up, a dlopen or dlclose, the image's first call).
 *
 * The set is the process's own: a forked child starts with a copy of its
 * parent's, an exec'd image with an empty one. Each sync reads the set back
 * from the process and writes only the slots that change, each one word
 * whose every intermediate state a concurrent search reads correctly: a
 * key goes into a free slot or one removed before this sync, a removed key
 * becomes CTRACE_BATCH_SEL_TOMB, so no slot on a present key's search path
 * ever reads as free. */
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "attach/batch.h"
#include "consume/symbolize.h"
#include "ctrace.h"
#include "find/elf_image.h"
#include "find/pattern.h"
#include "utils/demangle.h"
#include "utils/log.h"
#include "utils/u64map.h"
#include "utils/xalloc.h"

/* one file's selected functions, by vaddr: the filter is matched once per file */
struct sel_file {
	char *path;
	uint64_t *va;
	size_t n;
};

struct batch_sel {
	struct sel_file *f;
	size_t n;
	bool warned;
};

#define SEL_MASK     (CTRACE_BATCH_SEL_SLOTS - 1)
#define SEL_MAX_USED (CTRACE_BATCH_SEL_SLOTS / 4 * 3)
#define SEL_LIVE(k)  ((k) && (k) != CTRACE_BATCH_SEL_TOMB)

void batch_sel_free(struct batch_sel *bs)
{
	if (!bs)
		return;
	for (size_t i = 0; i < bs->n; i++) {
		free(bs->f[i].path);
		free(bs->f[i].va);
	}
	free(bs->f);
	free(bs);
}

static const struct sel_file *file_of(struct batch_sel *bs, const struct filter *flt,
				      const struct module *m)
{
	const struct elf_image *img = m->img;
	struct sel_file *f;

	for (size_t i = 0; i < bs->n; i++)
		if (!strcmp(bs->f[i].path, m->path))
			return &bs->f[i];
	bs->f = xrealloc(bs->f, (bs->n + 1) * sizeof(*bs->f));
	f = &bs->f[bs->n++];
	f->path = xstrdup(m->path);
	f->va = xcalloc(img->nsyms ? img->nsyms : 1, sizeof(*f->va));
	f->n = 0;
	/* as modules.c select_module matches them */
	for (size_t i = 0; i < img->nsyms; i++) {
		const struct elf_sym *s = &img->syms[i];
		char *dm = demangle(s->name);

		if (filter_allows(flt, s->name, dm ? dm : s->name))
			f->va[f->n++] = s->addr;
		free(dm);
	}
	return f;
}

static uint64_t bias_of(const struct module *m)
{
	uint64_t vaddr;

	if (m->img->e_type == ET_DYN && !elf_offset_to_vaddr(m->img, m->offset, &vaddr))
		return m->start - vaddr;
	return 0;
}

/* the vaddr of a data symbol (elf_image keeps functions only) */
static int data_sym(const struct elf_image *img, const char *name, uint64_t *va)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(img->elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) || !sh.sh_entsize ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (gelf_getsym(d, (int)i, &s) && s.st_shndx != SHN_UNDEF &&
			    (n = elf_strptr(img->elf, sh.sh_link, s.st_name)) && !strcmp(n, name)) {
				*va = s.st_value;
				return 0;
			}
		}
	}
	return -1;
}

/* where the set is in pid's memory: 0 when the filtering library is not mapped */
static uint64_t table_addr(const struct module *m, size_t n)
{
	uint64_t va;

	for (size_t i = 0; i < n; i++)
		if (m[i].img && !strcmp(m[i].name, BATCH_FLIB_NAME) &&
		    !data_sym(m[i].img, "ctrace_batch_sel", &va))
			return va + bias_of(&m[i]);
	return 0;
}

/* the slot key goes in: the first free one on its path, or one already
 * removed in the process before this sync (old); -1 when full */
static long slot_for(const __u64 *slot, const __u64 *old, uint64_t key)
{
	uint32_t i = CTRACE_BATCH_SEL_HASH(key);

	for (uint32_t k = 0; k < CTRACE_BATCH_SEL_SLOTS; k++, i = (i + 1) & SEL_MASK)
		if (!slot[i] ||
		    (slot[i] == CTRACE_BATCH_SEL_TOMB && old[i] == CTRACE_BATCH_SEL_TOMB))
			return i;
	return -1;
}

static int writev_all(pid_t pid, const struct iovec *l, const struct iovec *r, size_t n)
{
	ssize_t want = 0;

	for (size_t k = 0; k < n; k++)
		want += (ssize_t)l[k].iov_len;
	return n && process_vm_writev(pid, l, n, r, n, 0) != want ? -1 : 0;
}

/* the changed slots, runs of them one iovec each */
static int write_slots(pid_t pid, uint64_t at, __u64 *slot, const __u64 *old)
{
	enum { NIOV = 512 };
	struct iovec l[NIOV], r[NIOV];
	size_t n = 0;

	for (uint32_t i = 0, j; i < CTRACE_BATCH_SEL_SLOTS; i = j) {
		for (j = i; j < CTRACE_BATCH_SEL_SLOTS && slot[j] != old[j]; j++)
			;
		if (j == i) {
			j++;
			continue;
		}
		l[n].iov_base = &slot[i];
		r[n].iov_base = (void *)(uintptr_t)(at + i * sizeof(*slot));
		l[n].iov_len = r[n].iov_len = (j - i) * sizeof(*slot);
		if (++n == NIOV) {
			if (writev_all(pid, l, r, n))
				return -1;
			n = 0;
		}
	}
	return writev_all(pid, l, r, n);
}

int batch_sel_sync(struct probes *pr, pid_t pid, struct symbolizer *sym)
{
	struct ctrace_batch_sel *cur = NULL, *old = NULL;
	struct u64map want = { 0 };
	const struct module *m;
	size_t n, live = 0, used = 0, missing = 0;
	uint64_t at, key, one = 1;
	struct iovec l, r;
	void *v;
	int rc = -1;

	if (filter_is_empty(pr->filter))
		return 0;
	m = symbolizer_modules(sym, &n);
	at = table_addr(m, n);
	if (!at)
		return 0;
	if (!pr->bsel)
		pr->bsel = xcalloc(1, sizeof(*pr->bsel));
	for (size_t i = 0; i < n; i++) {
		const struct sel_file *f;
		uint64_t b;

		if (!m[i].img)
			continue;
		f = file_of(pr->bsel, pr->filter, &m[i]);
		b = bias_of(&m[i]);
		for (size_t k = 0; k < f->n; k++)
			if (u64map_put(&want, f->va[k] + b, (void *)1))
				goto out;
	}
	cur = xcheck(malloc(sizeof(*cur)));
	old = xcheck(malloc(sizeof(*old)));
	l.iov_base = old;
	r.iov_base = (void *)(uintptr_t)at;
	l.iov_len = r.iov_len = sizeof(*old);
	if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(*old))
		goto out; /* gone since */
	memcpy(cur, old, sizeof(*cur));
	/* what is there and no longer selected goes; what is there stays */
	for (uint32_t i = 0; i < CTRACE_BATCH_SEL_SLOTS; i++) {
		if (!SEL_LIVE(cur->slot[i]))
			continue;
		if (!u64map_get(&want, cur->slot[i]))
			cur->slot[i] = CTRACE_BATCH_SEL_TOMB;
		else if (!u64map_put(&want, cur->slot[i], NULL))
			live++;
	}
	for (uint32_t i = 0; i < CTRACE_BATCH_SEL_SLOTS; i++)
		used += cur->slot[i] != 0;
	/* never more than 3/4 used: a search always meets a free slot */
	for (size_t it = 0; u64map_next(&want, &it, &key, &v);) {
		long s;

		if (!v)
			continue;
		s = slot_for(cur->slot, old->slot, key);
		if (s < 0 || (!cur->slot[s] && used + 1 > SEL_MAX_USED)) {
			missing++;
			continue;
		}
		used += !cur->slot[s];
		cur->slot[s] = key;
		live++;
	}
	if (missing && !pr->bsel->warned) {
		pr->bsel->warned = true;
		log_err("process %d: %zu selected functions do not fit in --probe batch's table "
			"(%u): their calls are missing; use --probe preload",
			(int)pid, missing, SEL_MAX_USED);
	}
	if (write_slots(pid, at + offsetof(struct ctrace_batch_sel, slot), cur->slot, old->slot))
		goto out;
	/* after the set: a hook that reads told reads the set it tells of */
	l.iov_base = &one;
	r.iov_base = (void *)(uintptr_t)at;
	l.iov_len = r.iov_len = sizeof(one);
	if (!old->told && process_vm_writev(pid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(one))
		goto out;
	log_dbg("process %d: %zu functions selected in the batch hooks", (int)pid, live);
	rc = 0;
out:
	if (rc && errno != ESRCH)
		log_warn("process %d: cannot write its selected functions: %s", (int)pid,
			 strerror(errno));
	u64map_free(&want);
	free(cur);
	free(old);
	return rc;
}
