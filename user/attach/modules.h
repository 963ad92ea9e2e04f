/* The target's modules as they come and go (start-up, dlopen, dlclose). */
#ifndef CTRACE_MODULES_H
#define CTRACE_MODULES_H
#include <stdbool.h>
#include <stddef.h>

#define HOOKS_LIB_NAME "libctrace-hooks.so"

struct capture;
struct elf_image;
struct probes;
struct symbolizer;

/* The modules already handled, by path: libraries come and go, and a file
 * mapped by several executable segments is handled once. */
struct modset {
	char **v;
	size_t n;
};

bool modset_add(struct modset *s, const char *path); /* true when new */
bool modset_del(struct modset *s, const char *path); /* true when it was there */
void modset_free(struct modset *s);

/* a dynamically linked program (the preload needs ld.so) */
bool elf_has_interp(const struct elf_image *img);
/* the hooks library: $CTRACE_HOOKS_LIB, next to the tool (build tree) or in
 * ../lib/ctrace-bpf (installed); 0 when found */
int modules_find_hooks_lib(char *buf, size_t len);
/* whether the loader took the preload */
bool modules_hooks_mapped(struct symbolizer *sym);
/* Call-site probes on every instrumented module mapped now and not in done.
 * Libraries that define the hooks (libc, our own) are not instrumented.
 * Returns the number of sites probed, or -1 (printed). */
long modules_probe_new(struct probes *pr, struct symbolizer *sym, const char *exe,
		       struct modset *done);
/* --args/--retval plans for every module mapped now and not in done, for
 * the processes of image generation gen (ctrace.h) */
void modules_plan_new(struct capture *c, struct probes *pr, struct symbolizer *sym,
		      struct modset *done, unsigned gen);
/* probes on the C library's setjmp and longjmp in every mapped module that
 * has them and is not in done; 0, or -1 (printed) */
int modules_watch_jumps(struct probes *pr, struct symbolizer *sym, struct modset *done);
/* after a new look at the map: the plans and the selected functions of the
 * modules that went away (dlclose) are dropped, so code mapped at their
 * addresses later gets its own */
void modules_forget_gone(struct capture *c, struct probes *pr, struct symbolizer *sym,
			 struct modset *planned, struct modset *selected, unsigned gen);
/* With a filter: the selected functions of every instrumented module mapped
 * now and not in done, for the processes of image generation gen, into the
 * BPF `selected` map that the probes of unproven sites check */
void modules_select_new(struct probes *pr, struct symbolizer *sym, struct modset *done,
			unsigned gen);
/* launch mode: the stop on ld.so's _dl_debug_state (dlopen, dlclose) */
int modules_watch_loader(struct probes *pr, struct symbolizer *sym);
/* probes on the signal return trampolines of the C library, the loader or a
 * static executable, so that the end of a signal handler is seen (crash
 * causes): files in done are probed already, their new mappings' addresses
 * are added. The number of restorers mapped, or -1 */
int modules_watch_sigreturn(struct probes *pr, struct symbolizer *sym, struct modset *done);

#endif
