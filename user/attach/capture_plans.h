/* --args / --retval at attach time: capture plans from DWARF into the BPF
 * maps when a module is probed (consume/capture_decode.h turns the captured
 * bytes back into typed JSON). */
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

uint64_t capture_nplans(const struct capture *c);

/* Recording (doc/ctrace-format.md): log every change to the plans from now
 * on; capture_changes counts them, for the record's marks */
void capture_log_changes(struct capture *c);
size_t capture_changes(const struct capture *c);
/* Replay: back to no plans, then the first n changes applied (more as the
 * marks come; SIZE_MAX: all, the state tracing ended with) */
void capture_replay_begin(struct capture *c);
void capture_replay_to(struct capture *c, size_t n);

#endif
