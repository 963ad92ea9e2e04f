/* Runtime addresses of the target → functions: module, symbol, demangled
 * name, and whether the filters let the function be shown. */
#ifndef CTRACE_SYMBOLIZE_H
#define CTRACE_SYMBOLIZE_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct filter;
struct elf_image;

struct func_info {
	uint64_t addr;      /* runtime address (this_fn) */
	char *name;         /* demangled, or "0x…" when no symbol covers it */
	const char *module; /* basename of the ELF file, or "?" */
	bool allowed;       /* passes -F/-N */
	struct func_info *next_stale; /* the symbolizer's own list */
};

struct module {
	uint64_t start, end, offset; /* one executable mapping */
	char *path;                  /* as the target sees it */
	char *name;                  /* basename */
	char *open_path;             /* where we open it from */
	struct elf_image *img;       /* NULL when it is not an ELF we can read */
};

struct symbolizer;

struct symbolizer *symbolizer_new(pid_t pid, const struct filter *f);
void symbolizer_free(struct symbolizer *s);
/* (re)read the target's executable mappings; 0 or -errno */
int symbolizer_load_maps(struct symbolizer *s);
/* never NULL (on out of memory it aborts: the trace cannot be written anyway) */
const struct func_info *symbolize(struct symbolizer *s, uint64_t addr);
/* [addr, addr+len) was unmapped (dlclose): names cached there are forgotten */
void symbolizer_forget(struct symbolizer *s, uint64_t addr, uint64_t len);
const struct filter *symbolizer_filter(const struct symbolizer *s);
/* the executable mappings known so far */
const struct module *symbolizer_modules(const struct symbolizer *s, size_t *n);

#endif
