/* One ELF file opened read-only, validated and summarised for probe placement. */
#ifndef CTRACE_ELF_IMAGE_H
#define CTRACE_ELF_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <gelf.h>

struct elf_sym {
	uint64_t addr;
	uint64_t size;
	char *name; /* raw symbol name, as in the file */
};

struct elf_load { /* one PT_LOAD */
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags; /* PF_R / PF_W / PF_X */
};

struct elf_image {
	char *path;
	int fd;
	Elf *elf;	 /* kept open for hook_sites */
	uint16_t e_type; /* ET_EXEC / ET_DYN */
	uint64_t entry;	 /* e_entry (vaddr) */
	struct elf_load *loads;
	size_t nloads;
	/* STT_FUNC / STT_GNU_IFUNC with size > 0 in a defined section, from .symtab,
	 * else .dynsym; sorted by addr; aliases at one addr collapsed into one entry,
	 * preferring GLOBAL over WEAK over LOCAL, then the shorter name. */
	struct elf_sym *syms;
	size_t nsyms;
	bool has_symtab;      /* false: only .dynsym names (stripped) */
	bool has_debug_info;  /* a real .debug_info section is present */
	bool refs_hooks;      /* references or defines __cyg_profile_func_enter/_exit */
	uint64_t hook_def[2]; /* vaddr of THIS image's enter [0] / exit [1], 0 if undefined here */
};

/* Returns 0, or a negative errno-style code with one line in err:
 * -errno (cannot open/read), -ENOEXEC (not ELF, not x86_64, 32-bit, not ET_EXEC/ET_DYN),
 * -EINVAL (malformed or truncated), -ENOMEM. */
int elf_image_open(const char *path, struct elf_image **out, char *err, size_t errlen);
void elf_image_free(struct elf_image *img);

/* File offset of a vaddr inside the file-backed part of an executable PT_LOAD; -1 if none. */
int elf_vaddr_to_offset(const struct elf_image *img, uint64_t vaddr, uint64_t *off);
/* Up to len bytes of code at vaddr, from the file: how many (> 0), or -1 */
ssize_t elf_read_code(const struct elf_image *img, uint64_t vaddr, void *buf, size_t len);

/* Vaddr of a file offset inside the file-backed part of a PT_LOAD; -1 if none.
 * Note: a mapping in /proc/PID/maps may start (pgoff) up to a page before its
 * segment's p_offset; translate an address inside the segment, not the map start. */
int elf_offset_to_vaddr(const struct elf_image *img, uint64_t off, uint64_t *vaddr);

/* The symbol whose [addr, addr+size) contains vaddr, NULL if none. */
const struct elf_sym *elf_sym_lookup(const struct elf_image *img, uint64_t vaddr);
/* the first function symbol named name, or NULL */
const struct elf_sym *elf_sym_find(const struct elf_image *img, const char *name);

/* HOOK_ENTER (0) / HOOK_EXIT (1) when name is __cyg_profile_func_enter/_exit,
 * optionally followed by an @VERSION suffix; -1 otherwise. */
int elf_hook_name_kind(const char *name);

/* "path: <fmt ...>" into err (when given), for the readers of ELF files;
 * returns code */
int elf_errf(char *err, size_t errlen, int code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
