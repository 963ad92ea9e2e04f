/* The traced processes: the target, the ones it forks (--follow-forks), and
 * what happens to them (exec, a map that changes, exit). Each is symbolized
 * with the map it has: a forked child shares its parent's symbolizer until
 * its own map changes. */
#ifndef CTRACE_PROCS_H
#define CTRACE_PROCS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "ctrace.h"

struct filter;
struct symbolizer;

struct proc_exec {
	uint64_t ts; /* ns since trace start */
	char *path;  /* as execve was given it */
};

struct proc {
	pid_t pid, ppid; /* ppid 0: not forked while traced */
	char comm[CTRACE_COMM_LEN + 1];
	struct symbolizer *sym; /* the map its addresses are named with */
	bool own_sym;		/* sym is its own, not its parent's */
	/* its image generation (ctrace.h): which capture plans fit its map;
	 * a new one after an exec, or a dlopen after the fork */
	unsigned gen;
	bool forked;	   /* seen being forked */
	uint64_t start_ns; /* fork time */
	struct proc_exec *execs;
	size_t nexecs;
	bool exited;
	uint32_t exit_code; /* wait-status form */
	uint64_t end_ns;
	/* for the loader: its map changed (probe what is new), and it was
	 * stopped for that (resume it when done) */
	bool remap, stopped;
};

struct proc_table {
	struct proc **v;
	size_t n, cap;
	struct proc *last;
	struct symbolizer **syms; /* the ones made here (freed here) */
	size_t nsyms, capsyms;
	const struct filter *filter;
	pid_t main_pid;
	/* the maps of generations no process has any more (an exec, a
	 * dlopen), for what was counted under them (--summary) */
	struct gen_sym {
		unsigned gen;
		struct symbolizer *sym;
	} *old_gens;
	size_t nold_gens, capold_gens;
};

/* main_sym names the target's addresses; it stays the caller's */
void procs_init(struct proc_table *pt, pid_t main_pid, struct symbolizer *main_sym,
		const struct filter *filter);
/* NULL when not known */
struct proc *procs_find(struct proc_table *pt, pid_t pid);
/* a process first seen now; sym as for its parent. Never NULL (aborts) */
struct proc *procs_add(struct proc_table *pt, pid_t pid, pid_t ppid, struct symbolizer *sym);
/* p's generation is about to change: remember the map that named it */
void procs_note_gen(struct proc_table *pt, const struct proc *p);
/* the map of a generation: a process's, or one that was; NULL: not known */
struct symbolizer *procs_sym_of_gen(const struct proc_table *pt, unsigned gen);
/* give p a symbolizer of its own (its map is no longer its parent's) */
void procs_own_sym(struct proc_table *pt, struct proc *p);
void procs_note_exec(struct proc *p, uint64_t ts, const char *path);
/* processes not known to have exited */
size_t procs_live(struct proc_table *pt);
/* a live one that is gone without its exit being seen (events lost), or a
 * zombie: mark it exited */
void procs_reap_vanished(struct proc_table *pt);
void procs_free(struct proc_table *pt);

#endif
