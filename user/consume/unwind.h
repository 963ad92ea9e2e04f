/* A full backtrace at a crash, through untraced frames too: libdwfl unwinds
 * the registers and stack copy that BPF took at the signal, with the CFI of
 * the modules the process had mapped. The process may be gone by now; only
 * our open file descriptors of its modules are needed. */
#ifndef CTRACE_UNWIND_H
#define CTRACE_UNWIND_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ctrace_crash_rec;
struct module;

struct bt_frame {
	uint64_t pc;	    /* the return address (or the faulting pc, frame 0) */
	char *function;	    /* demangled, NULL when no symbol covers it */
	uint64_t offset;    /* pc - function start */
	const char *module; /* basename; points into mods */
	char *file;	    /* source file from DWARF line info, or NULL */
	int line;
};

/* 0 and *out (free with unwind_free) or -1; never fails the trace */
int unwind_crash(pid_t pid, const struct ctrace_crash_rec *rec, const struct module *mods,
		 size_t nmods, struct bt_frame **out, size_t *n);
void unwind_free(struct bt_frame *f, size_t n);

#endif
