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
	uint64_t addr;		      /* runtime address (this_fn) */
	char *name;		      /* demangled, or "0x…" when no symbol covers it */
	const char *module;	      /* basename of the ELF file, or "?" */
	bool allowed;		      /* passes -F/-N */
	char *source;		      /* --srcline: "FILE:LINE" (find/srcline.h), or NULL */
	uint32_t rec_id;	      /* its id in the compact trace (0: none yet) */
	struct func_info *next_stale; /* the symbolizer's own list */
};

struct module {
	uint64_t start, end, offset; /* one executable mapping */
	char *path;		     /* as the target sees it */
	char *name;		     /* basename */
	char *open_path;	     /* where we open it from */
	struct elf_image *img;	     /* NULL when it is not an ELF we can read */
};

struct symbolizer;

struct symbolizer *symbolizer_new(pid_t pid, const struct filter *f);
void symbolizer_free(struct symbolizer *s);
/* (re)read the target's executable mappings; 0 or -errno. The names of a
 * mapping that went away (dlclose) are forgotten: another library mapped at
 * its addresses gets its own. */
int symbolizer_load_maps(struct symbolizer *s);
/* The process changed its map (a dlopen or dlclose) and the new map could
 * not be read (it has exited since): what is mapped where is no longer
 * known, but for its executable. Every other module is forgotten (its
 * addresses named afresh: unnamed), as a load_maps that lost it would. */
void symbolizer_map_unknown(struct symbolizer *s);
/* the mappings that went away since the last call (the caller frees them
 * with symbolizer_free_modules) */
struct module *symbolizer_take_gone(struct symbolizer *s, size_t *n);
void symbolizer_free_modules(struct module *m, size_t n);
/* never NULL (on out of memory it aborts: the trace cannot be written anyway) */
const struct func_info *symbolize(struct symbolizer *s, uint64_t addr);
/* --srcline: every symbolizer names functions' source lines from sl (set
 * once, before the first symbolize; NULL: off) */
struct srclines;
void symbolizer_set_srclines(struct srclines *sl);
/* --srcline: a call site's line, interned per site (rec_id: its id in the
 * compact trace, 0: none yet) */
struct call_site_info {
	char *loc; /* "FILE:LINE", or NULL: none known */
	uint32_t rec_id;
	struct call_site_info *next_stale;
};
/* the call site of fn's entry (ENTER_SITE: site, the hook's call_site; at,
 * the hook call's return address), or NULL: no DWARF there, no srclines,
 * or fn's hook runs inlined in its caller (its call_site is the caller's) */
const struct call_site_info *symbolize_site(struct symbolizer *s, uint64_t fn, uint64_t site,
					    uint64_t at);
/* a mapping known without /proc (fuzzing): named by module, not by symbol */
void symbolizer_add_module(struct symbolizer *s, const struct module *m);
const struct filter *symbolizer_filter(const struct symbolizer *s);
/* the executable mappings known so far */
const struct module *symbolizer_modules(const struct symbolizer *s, size_t *n);

#endif
