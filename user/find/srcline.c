#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include "find/dwarf_file.h"
#include "find/dwarf_internal.h"
#include "find/srcline.h"

struct sl_file {
	dev_t dev; /* the file, as the fd it was opened from says */
	ino_t ino;
	struct dwarf_ctx *dw; /* NULL: it has no DWARF we can read */
};

struct srclines {
	struct sl_file *v;
	size_t n;
};

struct srclines *srclines_new(void)
{
	return calloc(1, sizeof(struct srclines));
}

void srclines_free(struct srclines *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].dw)
			dwarf_ctx_free(s->v[i].dw);
	}
	free(s->v);
	free(s);
}

/* the DWARF of the file open as fd, opened once (a file without is
 * remembered as such); by fd, since the target may be gone by now */
static struct dwarf_ctx *file_of(struct srclines *s, int fd)
{
	char err[256], path[64];
	struct sl_file *v;
	struct stat st;

	if (fstat(fd, &st))
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].dev == st.st_dev && s->v[i].ino == st.st_ino)
			return s->v[i].dw;
	v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	s->v = v;
	v += s->n++;
	v->dev = st.st_dev;
	v->ino = st.st_ino;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (dwarf_ctx_open(path, &v->dw, err, sizeof(err)))
		v->dw = NULL;
	return v->dw;
}

char *srcline_of(struct srclines *s, int fd, uint64_t vaddr)
{
	struct dwarf_ctx *c = fd >= 0 ? file_of(s, fd) : NULL;
	Dwarf_Die cu;
	Dwarf_Line *l;
	const char *file;
	char *out;
	int line;

	if (!c || !dwarf_addrdie(c->dbg, vaddr, &cu))
		return NULL;
	l = dwarf_getsrc_die(&cu, vaddr);
	/* the row holding vaddr, as addr2line reads it */
	if (!l || dwarf_lineno(l, &line) || line <= 0 || !(file = dwarf_linesrc(l, NULL, NULL)))
		return NULL;
	if (asprintf(&out, "%s:%d", file, line) < 0)
		return NULL;
	return out;
}

/* is die an instance of the function whose symbol is fn? By its linkage
 * name (C++), else its name (C), both through its abstract origin */
static bool names_fn(Dwarf_Die *die, const char *fn)
{
	Dwarf_Attribute a;
	const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));

	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	if (!n)
		n = dwarf_diename(die);
	return n && !strcmp(n, fn);
}

char *srcline_inlined_call(struct srclines *s, int fd, uint64_t vaddr, const char *fn)
{
	struct dwarf_ctx *c = fd >= 0 ? file_of(s, fd) : NULL;
	Dwarf_Die cu, *scopes = NULL;
	Dwarf_Attribute a;
	Dwarf_Files *files;
	Dwarf_Word fidx, line;
	const char *file;
	char *out = NULL;
	size_t nfiles;
	int n;

	if (!c || !dwarf_addrdie(c->dbg, vaddr, &cu) ||
	    (n = dwarf_getscopes(&cu, vaddr, &scopes)) <= 0)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		/* the innermost: the code at vaddr is its body */
		if (names_fn(&scopes[i], fn) &&
		    !dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &a), &fidx) &&
		    !dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &a), &line) && line &&
		    !dwarf_getsrcfiles(&cu, &files, &nfiles) && fidx < nfiles &&
		    (file = dwarf_filesrc(files, fidx, NULL, NULL)) &&
		    asprintf(&out, "%s:%lu", file, (unsigned long)line) < 0)
			out = NULL;
		break;
	}
	free(scopes);
	return out;
}

bool srcline_build_id(struct Elf *elf, char *out, size_t n)
{
	const unsigned char *id;
	ssize_t len = elf ? dwelf_elf_gnu_build_id(elf, (const void **)&id) : -1;

	if (len <= 0 || (size_t)len * 2 >= n)
		return false;
	for (ssize_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
	return true;
}
