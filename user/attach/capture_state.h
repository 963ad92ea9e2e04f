/* The capture plans of the modules probed so far: what capture_plans.c
 * makes at attach time, and consume/capture_decode.c reads when the events
 * arrive. */
#ifndef CTRACE_CAPTURE_STATE_H
#define CTRACE_CAPTURE_STATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrace.h"
#include "ctrace_plan.h"
#include "find/dwarf_plans.h"
#include "utils/u64map.h"

struct cap_module {
	uint64_t start, end;
	unsigned gen; /* the image generation it was planned for */
	struct dwarf_ctx *dw;
	char why[160]; /* when dw is NULL */
};

struct site_entry {
	struct site_info *si;
	struct ctrace_site_plan plan; /* the copy BPF runs: how to read its bytes */
	/* CTRACE_PLAN_KEY of the call's runtime return address; of this_fn */
	uint64_t key, fn;
	const char *module; /* the module's name (the symbolizer's, interned) */
	uint8_t fnptrs;	    /* bit i: argument i is a function pointer */
};

struct ret_entry {
	struct arg_info info;
	struct ctrace_arg_plan plan;
	bool planned; /* a return probe reads it */
	const char *module;
	bool fnptr; /* the value is a function pointer */
};

/* A change to the plans, logged while recording: the replay steps through
 * them as the record's marks say, so each event is decoded with the plans
 * it was captured under (a dlclosed module's plans, or another library's
 * mapped at the same address later) */
enum plan_op_kind { PLAN_SITE, PLAN_RET, PLAN_MOD, PLAN_FORGET };
struct plan_op {
	enum plan_op_kind kind;
	uint64_t key;	       /* SITE, RET */
	void *v;	       /* SITE: struct site_entry; RET: struct ret_entry */
	struct cap_module mod; /* MOD: the module added; FORGET: start, end, gen */
};

/* replay: the functions the event's function pointers named when it was
 * recorded (the process map then, not the final one) */
#define CAP_FNPTRS (CTRACE_MAX_ARGS + 2)
struct cap_fnptr {
	uint64_t addr;
	const char *name;
};

struct capture {
	const struct config *cfg;
	struct ctrace_bpf *skel;
	struct symbolizer *sym;
	struct cap_module *mods;
	size_t nmods;
	struct u64map sites;	   /* plan key → struct site_entry */
	struct u64map rets;	   /* function runtime address → struct ret_entry */
	struct u64map fnptr_sites; /* live: the sites with function pointers (few) */
	struct u64map fn_sites;	   /* CTRACE_PLAN_KEY(fn, gen) → a site of fn: fn is planned */
	uint64_t nplans;
	/* what capture_decode.c's writers need for the event being written */
	const struct ctrace_call_args *ev;
	size_t ev_size;
	const struct site_entry *se;
	const struct ret_entry *re;
	const struct ctrace_retval *rv;
	const char *why;
	unsigned gen;	  /* capture_set_process: the event's process */
	char **ret_files; /* files whose return probes are attached */
	size_t nret_files;
	struct ctrace_call_args wide; /* a compact record, widened */
	bool preload;		      /* probes on the preloaded hooks */
	/* capture_log_changes: nothing is freed before capture_free */
	bool logging, replaying;
	struct plan_op *ops;
	size_t nops, capops, applied;
	bool names_recorded; /* replay: function pointers are named by fp only */
	struct cap_fnptr fp[CAP_FNPTRS];
	unsigned nfp;
};

/* a change read back from a record (record/ctrace_model.c): logged as if
 * made here; the capture owns its entries from now on */
void capture_load_op(struct capture *c, const struct plan_op *op);
/* the site or return entry op holds (not a module's DWARF) */
void capture_op_free_entry(struct plan_op *op);
/* bit i: argument i of si is a function pointer (CAP_FNPTRS bits at most) */
uint8_t capture_fnptr_args(const struct site_info *si);
bool capture_is_fnptr(const struct vtype *t);

#endif
