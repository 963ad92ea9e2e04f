/* --args / --retval: capture plans from DWARF into the BPF maps when a
 * module is probed, and the captured bytes back into typed JSON when the
 * events arrive. The hot path does one hash lookup per event here. */
#ifndef CTRACE_CAPTURE_PLANS_H
#define CTRACE_CAPTURE_PLANS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct config;
struct ctrace_bpf;
struct ctrace_call_args;
struct ctrace_retval;
struct func_info;
struct module;
struct probes;
struct symbolizer;
struct tree_extra;

struct capture;

/* skel NULL: plans for decoding only (tests, fuzzing), none for BPF */
struct capture *capture_new(const struct config *cfg, struct ctrace_bpf *skel,
			    struct symbolizer *sym, bool preload);
void capture_free(struct capture *c);
/* the preload was refused: plans are for call-site probes after all */
void capture_set_preload(struct capture *c, bool preload);
/* plans for every traced function of a mapped module, for the processes of
 * image generation gen (ctrace.h) (and its return
 * probes with --retval); never fails the trace: what cannot be planned is
 * reported unavailable */
void capture_add_module(struct capture *c, struct probes *pr, const struct module *m, unsigned gen);
/* module m of the processes of generation gen went away (dlclose): its
 * plans go, so that code mapped there later never gets them */
void capture_forget_module(struct capture *c, const struct module *m, unsigned gen);

/* entry members of a node: "arguments" (x is filled, valid until the next call) */
void capture_args_extra(struct capture *c, const struct func_info *fn,
			const struct ctrace_call_args *ev, size_t size, struct tree_extra *x);
/* at a call's exit: 0 no return value to show (void, or not captured),
 * 1 one will come in a RETVAL event (hold the node), 2 it cannot be read:
 * x writes why */
int capture_exit(struct capture *c, const struct func_info *fn, struct tree_extra *x);
/* a RETVAL event's member "return_value" */
void capture_ret_extra(struct capture *c, const struct ctrace_retval *ev, struct tree_extra *x);
uint64_t capture_nplans(const struct capture *c);
/* the events that follow are of a process of image generation gen
 * (ctrace.h), whose addresses sym names */
void capture_set_process(struct capture *c, unsigned gen, struct symbolizer *sym);

#endif
