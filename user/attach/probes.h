/* Probe placement: which instructions get a uprobe, attached as uprobe_multi
 * links (one per program and file) filtered to the target's pid. */
#ifndef CTRACE_PROBES_H
#define CTRACE_PROBES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ctrace_bpf;
struct elf_image;
struct filter;

struct probes {
	struct ctrace_bpf *skel;
	const struct filter *filter;
	pid_t pid;
	bool empty;   /* attach the empty program instead (benchmark floor) */
	bool args;    /* attach the program that runs capture plans (--args) */
	bool summary; /* attach the program that keeps statistics (--summary) */
	bool memory;  /* probe the allocator too (--memory) */
	bool srcline_rdx; /* the enter hook's second probe site (ctrace.h) */
	/* --subtree/--caller patterns (or NULL), and the functions they matched */
	const struct filter *shape;
	size_t nshaped;
	struct batch_sel *bsel; /* --probe batch with -F/-N (attach/batch_sel.c) */
	int *links;
	size_t nlinks, caplinks;
	uint64_t nsites; /* call sites probed */
	uint64_t nfuncs; /* functions with at least one probed site */
};

/* Preload mode: the NOP heading each hook of our hooks library.
 * 0 or -1 (printed). */
int probes_attach_hooks_lib(struct probes *p, const char *lib);
/* Call-site mode: the calls to the hooks inside every function of img that
 * the filter selects. attach_path names the file for the kernel. Returns the
 * number of sites probed, or -1 (printed). */
long probes_attach_callsites(struct probes *p, const char *attach_path, const char *display,
			     const struct elf_image *img);
/* Launch mode: the stop at the executable's entry point; returns a link fd
 * (close it to detach) or -1 (printed). */
int probes_attach_entry_stop(struct probes *p, const char *attach_path,
			     const struct elf_image *img);
/* --retval: return probes on these function entry offsets of a file */
int probes_attach_returns(struct probes *p, const char *attach_path, const char *display,
			  const uint64_t *offs, size_t n);
/* a link made elsewhere, detached with the others; on failure fd is closed */
int probes_keep_link(struct probes *p, int fd);
void probes_detach_all(struct probes *p);

#endif
