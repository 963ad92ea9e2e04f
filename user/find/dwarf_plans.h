/* Capture plans from DWARF: where each parameter of a traced function is at one
 * hook call, and where its return value is when it returns (ctrace_plan.h),
 * plus the host-side types and names to format what the BPF side captured
 * (value_fmt.h). All DWARF work happens in find/dwarf_*.c, once per site, at
 * attach time.
 *
 * Addresses are link-time vaddrs of the file (as in its symbols and DWARF).
 * What is not known for certain is reported as unavailable, with the reason;
 * nothing is guessed. */
#ifndef CTRACE_DWARF_PLANS_H
#define CTRACE_DWARF_PLANS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrace_plan.h"
#include "write/value_fmt.h"

struct dwarf_ctx;

struct dwarf_plan_opts {
	uint32_t str_max;   /* char * strings: bytes read incl. the NUL (0: CTRACE_FOLLOW_MAX) */
	uint32_t deref_max; /* structs behind a pointer or reference (0: CTRACE_FOLLOW_MAX) */
};

#define DWARF_WHY_LEN 112

/* One parameter (or the return value) as the formatter needs it. */
struct arg_info {
	char *name;			 /* "a", "this"; "arg3" when DWARF has no name;
				       * NULL for a return value */
	char *type_name;		 /* the declared type, spelled: "const char *" */
	const struct vtype *type;	 /* owned by the dwarf_ctx; NULL: void */
	const struct vtype *fmt_type;	 /* what the captured bytes hold: type, or a
				       * reference to it when the object is passed
				       * by invisible reference (C++ non-trivial
				       * class by value); pass this to vfmt_arg */
	char unavailable[DWARF_WHY_LEN]; /* "" when the plan captures it, else why */
};

struct site_info {
	char *function; /* DW_AT_name of the function the site belongs to */
	uint64_t site_vaddr;
	bool inlined; /* the site is in an inlined copy of the function */
	bool varargs; /* the function also takes `...` (never captured) */
	size_t nargs; /* every named parameter, even past CTRACE_MAX_ARGS;
				   * args[i] goes with plan->arg[i] for i < CTRACE_MAX_ARGS,
				   * the rest are unavailable ("beyond the first 6") */
	struct arg_info *args;
};
void site_info_free(struct site_info *si);
void arg_info_clear(struct arg_info *a);

/* The plan for the hook call at site_vaddr (a hook_site's vaddr, insn_len its
 * len, or 0) inside the function whose entry is func_vaddr (the hook's this_fn
 * as a link-time vaddr; for an inlined copy that is the out-of-line function
 * whose inlined body holds the call, which is how DWARF is matched: the
 * DW_TAG_subprogram or DW_TAG_inlined_subroutine covering site_vaddr that has
 * the same origin as the function at func_vaddr). func_vaddr 0: not known,
 * the innermost function covering the site is taken.
 * Every parameter's location is evaluated AT site_vaddr. On success *plan is
 * filled and *info is malloc'd (site_info_free). Returns 0, or a negative errno
 * with one line in err: -ENOENT no DWARF function covers the site (or none
 * with func_vaddr's origin), -ENOMEM. A parameter that cannot be captured is
 * not an error: its plan entry has npieces 0 and its arg_info says why. */
int dwarf_site_plan(struct dwarf_ctx *c, uint64_t func_vaddr, uint64_t site_vaddr, uint8_t insn_len,
		    const struct dwarf_plan_opts *o, struct ctrace_site_plan *plan,
		    struct site_info **info, char *err, size_t errlen);

/* The same for a probe on the function's first instruction (func_vaddr), for
 * parameters the hook-call plan cannot see: at -O2 GCC often keeps a
 * parameter only in its argument register, which the hook call overwrites
 * ("only known as the value on entry"); at the entry they are all still there.
 * Registers here are those at that instruction (rsp points to the return
 * address; no preload adjustment: CTRACE_SITE_USES_RSP is informational), rdi
 * and rsi included. A parameter with one DWARF location for the whole body
 * (-O0) is unavailable here unless it is a stack argument or a constant: the
 * prologue has not stored it yet. site_vaddr is func_vaddr, insn_len 0.
 * Returns as dwarf_site_plan. */
int dwarf_entry_plan(struct dwarf_ctx *c, uint64_t func_vaddr, const struct dwarf_plan_opts *o,
		     struct ctrace_site_plan *plan, struct site_info **info, char *err,
		     size_t errlen);

/* Where the return value of the function at func_vaddr is when it returns (for
 * a uretprobe: rax, rax:rdx, or a struct in memory at rax), following the SysV
 * x86-64 ABI. *info gets the type (NULL and nothing to capture for void) or the
 * reason it is not capturable ("returned in xmm0 ..."). Returns 0, -ENOENT (no
 * DWARF function at func_vaddr) or -ENOMEM with one line in err. */
int dwarf_ret_plan(struct dwarf_ctx *c, uint64_t func_vaddr, const struct dwarf_plan_opts *o,
		   struct ctrace_arg_plan *plan, struct arg_info *info, char *err, size_t errlen);

#endif
