/* Open one ELF file read-only, validate it, and summarise what probe placement needs.
 * Every offset and size taken from the file is checked against the file before use. */
#include "find/elf_image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/bsearch.h"

static const char *const hook_names[2] = {
	"__cyg_profile_func_enter",
	"__cyg_profile_func_exit",
};

int elf_hook_name_kind(const char *name)
{
	for (int k = 0; k < 2; k++) {
		size_t n = strlen(hook_names[k]);
		/* .symtab of a dynamic binary spells imports "name@VERSION" */
		if (strncmp(name, hook_names[k], n) == 0 && (name[n] == '\0' || name[n] == '@'))
			return k;
	}
	return -1;
}

int elf_errf(char *err, size_t errlen, int code, const char *path, const char *fmt, ...)
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

static bool in_file(uint64_t off, uint64_t len, uint64_t fsize)
{
	return off <= fsize && len <= fsize - off;
}

/* Checks on the raw header first, so each kind of bad input gets its own message
 * before libelf sees it. */
static int check_ehdr(int fd, uint64_t fsize, const char *path, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	ssize_t n = pread(fd, &eh, sizeof(eh), 0);

	if (n < 0)
		return elf_errf(err, errlen, -errno, path, "cannot read: %s", strerror(errno));
	if (n < SELFMAG || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return elf_errf(err, errlen, -ENOEXEC, path, "not an ELF file");
	if (n <= EI_CLASS)
		return elf_errf(err, errlen, -EINVAL, path,
				"malformed ELF: truncated ELF header (%zd bytes)", n);
	if (eh.e_ident[EI_CLASS] == ELFCLASS32)
		return elf_errf(err, errlen, -ENOEXEC, path, "32-bit ELF not supported");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return elf_errf(err, errlen, -EINVAL, path, "malformed ELF: invalid ELF class %u",
				eh.e_ident[EI_CLASS]);
	if ((size_t)n < sizeof(eh))
		return elf_errf(err, errlen, -EINVAL, path,
				"malformed ELF: truncated ELF header (%zd bytes)", n);

	uint16_t machine = eh.e_machine, type = eh.e_type;
	if (eh.e_ident[EI_DATA] == ELFDATA2MSB) {
		machine = (uint16_t)__builtin_bswap16(machine);
		type = (uint16_t)__builtin_bswap16(type);
	} else if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		return elf_errf(err, errlen, -EINVAL, path,
				"malformed ELF: invalid data encoding %u", eh.e_ident[EI_DATA]);
	}
	if (machine != EM_X86_64)
		return elf_errf(err, errlen, -ENOEXEC, path, "not an x86_64 ELF (machine %u)",
				machine);
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return elf_errf(err, errlen, -EINVAL, path, "malformed ELF: big-endian x86_64");
	if (type != ET_EXEC && type != ET_DYN) {
		const char *what = type == ET_REL  ? "relocatable object file" :
				   type == ET_CORE ? "core dump" :
						     "unknown e_type";
		return elf_errf(err, errlen, -ENOEXEC, path,
				"not an executable or shared object (%s, e_type %u)", what, type);
	}
	if (eh.e_phnum == 0)
		return elf_errf(err, errlen, -EINVAL, path, "malformed ELF: no program headers");
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return elf_errf(err, errlen, -EINVAL, path, "malformed ELF: program header size %u",
				eh.e_phentsize);
	if (!in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), fsize))
		return elf_errf(
			err, errlen, -EINVAL, path,
			"malformed ELF: program headers extend past end of file (truncated?)");
	if (eh.e_shoff != 0) {
		if (eh.e_shentsize != sizeof(Elf64_Shdr))
			return elf_errf(err, errlen, -EINVAL, path,
					"malformed ELF: section header size %u", eh.e_shentsize);
		/* e_shnum == 0 means the count lives in section 0; check that one exists */
		uint64_t cnt = eh.e_shnum ? eh.e_shnum : 1;
		if (!in_file(eh.e_shoff, cnt * sizeof(Elf64_Shdr), fsize))
			return elf_errf(
				err, errlen, -EINVAL, path,
				"malformed ELF: section headers extend past end of file (truncated?)");
	}
	return 0;
}

struct sym_tmp {
	struct elf_sym s;
	int rank; /* 0 GLOBAL, 1 WEAK, 2 LOCAL: lower wins among aliases */
};

struct sym_vec {
	struct sym_tmp *v;
	size_t n, cap;
};

static int sym_push(struct sym_vec *vec, uint64_t addr, uint64_t size, const char *name, int rank)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 256;
		struct sym_tmp *v = realloc(vec->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	char *dup = strdup(name);
	if (!dup)
		return -ENOMEM;
	vec->v[vec->n++] = (struct sym_tmp){ { addr, size, dup }, rank };
	return 0;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym_tmp *x = a, *y = b;

	if (x->s.addr != y->s.addr)
		return x->s.addr < y->s.addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	size_t lx = strlen(x->s.name), ly = strlen(y->s.name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->s.name, y->s.name);
}

static int bind_rank(unsigned bind)
{
	switch (bind) {
	case STB_GLOBAL:
	case STB_GNU_UNIQUE: return 0;
	case STB_WEAK: return 1;
	default: return 2;
	}
}

static bool sym_defined(const GElf_Sym *s)
{
	return s->st_shndx != SHN_UNDEF &&
	       (s->st_shndx < SHN_LORESERVE || s->st_shndx == SHN_XINDEX);
}

/* Reads one symbol table: hook references/definitions always, functions when vec is set. */
static int read_symtab(struct elf_image *img, Elf_Scn *scn, const GElf_Shdr *sh, size_t shnum,
		       const char *tabname, struct sym_vec *vec, char *err, size_t errlen)
{
	const char *path = img->path;

	if (sh->sh_entsize != sizeof(Elf64_Sym))
		return elf_errf(err, errlen, -EINVAL, path, "malformed ELF: %s entry size %llu",
				tabname, (unsigned long long)sh->sh_entsize);
	if (sh->sh_link == 0 || sh->sh_link >= shnum)
		return elf_errf(err, errlen, -EINVAL, path,
				"malformed ELF: %s sh_link %u out of range", tabname, sh->sh_link);

	Elf_Scn *strscn = elf_getscn(img->elf, sh->sh_link);
	GElf_Shdr strsh;
	if (!strscn || !gelf_getshdr(strscn, &strsh) || strsh.sh_type != SHT_STRTAB)
		return elf_errf(err, errlen, -EINVAL, path,
				"malformed ELF: %s sh_link %u is not a string table", tabname,
				sh->sh_link);

	Elf_Data *sd = elf_getdata(scn, NULL);
	Elf_Data *st = elf_getdata(strscn, NULL);
	if (!sd || !st || (sd->d_size && !sd->d_buf) || (st->d_size && !st->d_buf))
		return elf_errf(err, errlen, -EINVAL, path, "malformed ELF: cannot read %s: %s",
				tabname, elf_errmsg(-1));

	const char *strs = st->d_buf;
	size_t nsym = sd->d_size / sizeof(Elf64_Sym);
	if (nsym > INT_MAX) /* gelf_getsym takes an int index */
		return elf_errf(err, errlen, -EINVAL, path, "malformed ELF: %s is too large",
				tabname);
	for (size_t i = 1; i < nsym; i++) {
		GElf_Sym s;
		if (!gelf_getsym(sd, (int)i, &s))
			return elf_errf(err, errlen, -EINVAL, path,
					"malformed ELF: %s symbol %zu: %s", tabname, i,
					elf_errmsg(-1));
		if (s.st_name >= st->d_size ||
		    !memchr(strs + s.st_name, '\0', st->d_size - s.st_name))
			return elf_errf(
				err, errlen, -EINVAL, path,
				"malformed ELF: %s symbol %zu has its name outside the string table",
				tabname, i);
		const char *name = strs + s.st_name;
		unsigned type = GELF_ST_TYPE(s.st_info);

		int k = elf_hook_name_kind(name);
		if (k >= 0) {
			img->refs_hooks = true;
			/* an IFUNC's value is its resolver, not the hook */
			if (sym_defined(&s) && s.st_value &&
			    (type == STT_FUNC || type == STT_NOTYPE) && !img->hook_def[k])
				img->hook_def[k] = s.st_value;
		}
		if (vec && (type == STT_FUNC || type == STT_GNU_IFUNC) && s.st_size > 0 &&
		    sym_defined(&s) && *name) {
			int rc = sym_push(vec, s.st_value, s.st_size, name,
					  bind_rank(GELF_ST_BIND(s.st_info)));
			if (rc)
				return elf_errf(err, errlen, rc, path, "out of memory");
		}
	}
	return 0;
}

/* Sorts, collapses aliases, and moves the result into img. */
static int finish_syms(struct elf_image *img, struct sym_vec *vec)
{
	if (vec->n == 0)
		return 0;
	qsort(vec->v, vec->n, sizeof(*vec->v), sym_cmp);
	img->syms = calloc(vec->n, sizeof(*img->syms));
	if (!img->syms)
		return -ENOMEM;
	for (size_t i = 0; i < vec->n; i++) {
		if (img->nsyms && img->syms[img->nsyms - 1].addr == vec->v[i].s.addr) {
			free(vec->v[i].s.name); /* the sort put the preferred alias first */
			continue;
		}
		img->syms[img->nsyms++] = vec->v[i].s;
	}
	free(vec->v);
	vec->v = NULL;
	vec->n = 0;
	return 0;
}

static int read_loads(struct elf_image *img, uint64_t fsize, char *err, size_t errlen)
{
	size_t phnum;

	if (elf_getphdrnum(img->elf, &phnum) != 0)
		return elf_errf(err, errlen, -EINVAL, img->path, "malformed ELF: %s",
				elf_errmsg(-1));
	img->loads = calloc(phnum ? phnum : 1, sizeof(*img->loads));
	if (!img->loads)
		return elf_errf(err, errlen, -ENOMEM, img->path, "out of memory");
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(img->elf, (int)i, &ph))
			return elf_errf(err, errlen, -EINVAL, img->path,
					"malformed ELF: program header %zu: %s", i, elf_errmsg(-1));
		if (ph.p_type != PT_LOAD)
			continue;
		if (!in_file(ph.p_offset, ph.p_filesz, fsize))
			return elf_errf(
				err, errlen, -EINVAL, img->path,
				"malformed ELF: PT_LOAD %zu extends past end of file (truncated?)",
				i);
		if (ph.p_filesz > ph.p_memsz || ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
			return elf_errf(err, errlen, -EINVAL, img->path,
					"malformed ELF: PT_LOAD %zu has inconsistent sizes", i);
		img->loads[img->nloads++] = (struct elf_load){
			.vaddr = ph.p_vaddr,
			.memsz = ph.p_memsz,
			.offset = ph.p_offset,
			.filesz = ph.p_filesz,
			.flags = ph.p_flags,
		};
	}
	if (img->nloads == 0)
		return elf_errf(err, errlen, -EINVAL, img->path,
				"malformed ELF: no PT_LOAD segment");
	return 0;
}

static int read_sections(struct elf_image *img, uint64_t fsize, char *err, size_t errlen)
{
	size_t shnum, shstrndx;
	GElf_Ehdr eh;

	if (elf_getshdrnum(img->elf, &shnum) != 0 || !gelf_getehdr(img->elf, &eh))
		return elf_errf(err, errlen, -EINVAL, img->path, "malformed ELF: %s",
				elf_errmsg(-1));
	if (shnum == 0)
		return 0; /* section headers stripped: no symbols, still usable */
	if (!in_file(eh.e_shoff, (uint64_t)shnum * sizeof(Elf64_Shdr), fsize))
		return elf_errf(
			err, errlen, -EINVAL, img->path,
			"malformed ELF: section headers extend past end of file (truncated?)");
	if (elf_getshdrstrndx(img->elf, &shstrndx) != 0 || shstrndx >= shnum)
		return elf_errf(err, errlen, -EINVAL, img->path,
				"malformed ELF: bad section name table index");

	Elf_Scn *symtab = NULL, *dynsym = NULL;
	GElf_Shdr symtab_sh, dynsym_sh;
	for (size_t i = 1; i < shnum; i++) {
		Elf_Scn *scn = elf_getscn(img->elf, i);
		GElf_Shdr sh;
		if (!scn || !gelf_getshdr(scn, &sh))
			return elf_errf(err, errlen, -EINVAL, img->path,
					"malformed ELF: section %zu: %s", i, elf_errmsg(-1));
		const char *name = elf_strptr(img->elf, shstrndx, sh.sh_name);
		if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL &&
		    !in_file(sh.sh_offset, sh.sh_size, fsize))
			return elf_errf(
				err, errlen, -EINVAL, img->path,
				"malformed ELF: section %zu (%s) extends past end of file (truncated?)",
				i, name ? name : "?");
		if (name && sh.sh_type == SHT_PROGBITS && sh.sh_size > 0 &&
		    strcmp(name, ".debug_info") == 0)
			img->has_debug_info = true;
		if (sh.sh_type == SHT_SYMTAB && !symtab) {
			symtab = scn;
			symtab_sh = sh;
		} else if (sh.sh_type == SHT_DYNSYM && !dynsym) {
			dynsym = scn;
			dynsym_sh = sh;
		}
	}

	struct sym_vec vec = { 0 };
	int rc = 0;
	img->has_symtab = symtab != NULL;
	/* both tables are scanned for hooks: a stripped binary imports them via .dynsym only */
	if (symtab)
		rc = read_symtab(img, symtab, &symtab_sh, shnum, ".symtab", &vec, err, errlen);
	if (!rc && dynsym)
		rc = read_symtab(img, dynsym, &dynsym_sh, shnum, ".dynsym", symtab ? NULL : &vec,
				 err, errlen);
	if (!rc && finish_syms(img, &vec) != 0)
		rc = elf_errf(err, errlen, -ENOMEM, img->path, "out of memory");
	for (size_t i = 0; i < vec.n; i++)
		free(vec.v[i].s.name);
	free(vec.v);
	return rc;
}

int elf_image_open(const char *path, struct elf_image **out, char *err, size_t errlen)
{
	struct elf_image *img;
	struct stat st;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	img = calloc(1, sizeof(*img));
	if (!img)
		return elf_errf(err, errlen, -ENOMEM, path, "out of memory");
	img->fd = -1;
	img->path = strdup(path);
	if (!img->path) {
		rc = elf_errf(err, errlen, -ENOMEM, path, "out of memory");
		goto out;
	}
	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0) {
		rc = elf_errf(err, errlen, -errno, path, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(img->fd, &st) != 0) {
		rc = elf_errf(err, errlen, -errno, path, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = elf_errf(err, errlen, -EINVAL, path, "not a regular file");
		goto out;
	}
	rc = check_ehdr(img->fd, (uint64_t)st.st_size, path, err, errlen);
	if (rc)
		goto out;

	elf_version(EV_CURRENT);
	/* ELF_C_READ (not MMAP): a file truncated under us gives a read error, not SIGBUS */
	img->elf = elf_begin(img->fd, ELF_C_READ, NULL);
	if (!img->elf || elf_kind(img->elf) != ELF_K_ELF) {
		rc = elf_errf(err, errlen, -EINVAL, path, "malformed ELF: %s", elf_errmsg(-1));
		goto out;
	}
	GElf_Ehdr eh;
	if (!gelf_getehdr(img->elf, &eh)) {
		rc = elf_errf(err, errlen, -EINVAL, path, "malformed ELF: %s", elf_errmsg(-1));
		goto out;
	}
	img->e_type = eh.e_type;
	img->entry = eh.e_entry;

	rc = read_loads(img, (uint64_t)st.st_size, err, errlen);
	if (!rc)
		rc = read_sections(img, (uint64_t)st.st_size, err, errlen);
out:
	if (rc) {
		elf_image_free(img);
		return rc;
	}
	*out = img;
	return 0;
}

void elf_image_free(struct elf_image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->nsyms; i++)
		free(img->syms[i].name);
	free(img->syms);
	free(img->loads);
	if (img->elf)
		elf_end(img->elf);
	if (img->fd >= 0)
		close(img->fd);
	free(img->path);
	free(img);
}

ssize_t elf_read_code(const struct elf_image *img, uint64_t vaddr, void *buf, size_t len)
{
	uint64_t off;
	ssize_t n;

	if (elf_vaddr_to_offset(img, vaddr, &off) || (n = pread(img->fd, buf, len, (off_t)off)) <= 0)
		return -1;
	return n;
}

int elf_vaddr_to_offset(const struct elf_image *img, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < img->nloads; i++) {
		const struct elf_load *l = &img->loads[i];
		if ((l->flags & PF_X) && vaddr >= l->vaddr && vaddr - l->vaddr < l->filesz) {
			*off = l->offset + (vaddr - l->vaddr);
			return 0;
		}
	}
	return -1;
}

int elf_offset_to_vaddr(const struct elf_image *img, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < img->nloads; i++) {
		const struct elf_load *l = &img->loads[i];
		if (off >= l->offset && off - l->offset < l->filesz) {
			*vaddr = l->vaddr + (off - l->offset);
			return 0;
		}
	}
	return -1;
}

const struct elf_sym *elf_sym_find(const struct elf_image *img, const char *name)
{
	for (size_t i = 0; i < img->nsyms; i++)
		if (!strcmp(img->syms[i].name, name))
			return &img->syms[i];
	return NULL;
}

const struct elf_sym *elf_sym_lookup(const struct elf_image *img, uint64_t vaddr)
{
	/* find the last symbol with addr <= vaddr */
	size_t lo = PARTITION_POINT(img->nsyms, m, img->syms[m].addr <= vaddr);

	if (lo == 0)
		return NULL;
	const struct elf_sym *s = &img->syms[lo - 1];
	return vaddr - s->addr < s->size ? s : NULL;
}
