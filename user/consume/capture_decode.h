/* --args / --retval when the events arrive: the captured bytes back into
 * typed JSON, by the plans attach/capture_plans.h made. The hot path does one
 * hash lookup per event here. */
#ifndef CTRACE_CAPTURE_DECODE_H
#define CTRACE_CAPTURE_DECODE_H
#include <stddef.h>
#include <stdint.h>

struct capture;
struct ctrace_call_args;
struct ctrace_retval;
struct func_info;
struct symbolizer;
struct tree_extra;

/* the events that follow are of a process of image generation gen
 * (ctrace.h), whose addresses sym names */
void capture_set_process(struct capture *c, unsigned gen, struct symbolizer *sym);

/* entry members of a node: "arguments" (x is filled, valid until the next call) */
void capture_args_extra(struct capture *c, const struct func_info *fn,
			const struct ctrace_call_args *ev, size_t size, struct tree_extra *x);
/* at a call's exit: 0 no return value to show (void, or not captured),
 * 1 one will come in a RETVAL event (hold the node), 2 it cannot be read:
 * x writes why */
int capture_exit(struct capture *c, const struct func_info *fn, struct tree_extra *x);
/* a RETVAL event's member "return_value"; fn: the function at ev->fn */
void capture_ret_extra(struct capture *c, const struct func_info *fn,
		       const struct ctrace_retval *ev, struct tree_extra *x);

/* Recording: the values of ev's function pointers (an ARGS or RETVAL
 * record), at most CTRACE_MAX_ARGS, into addr: the caller names them with
 * the map of now (ctw_fnptrs). Replay: what they named, for the next event
 * (n 0: none) */
unsigned capture_fnptrs(struct capture *c, const void *ev, size_t size, uint64_t *addr);
void capture_replay_fnptrs(struct capture *c, const uint64_t *addr, const struct func_info **fi,
			   unsigned n);

#endif
