// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ctrace-bpf: launch or attach, probe, consume, write the trace. main()
 * dispatches the offline subcommands, else runs the tracing phases in order
 * (preflight, hold the target, open/configure/load BPF, start, consume,
 * stop, then finish.c's write-out) over one session (session.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach/capture_plans.h"
#include "cli.h"
#include "cmds/commands.h"
#include "consume/crash.h"
#include "consume/loop.h"
#include "ctrace.skel.h"
#include "finish.h"
#include "find/keep_expr.h"
#include "session.h"
#include "find/elf_image.h"
#include "attach/launch.h"
#include "attach/remaps.h"
#include "attach/target.h"
#include "utils/clock.h"
#include "utils/log.h"
#include "utils/strutil.h"
#include "attach/modules.h"
#include "write/output.h"
#include "write/summary.h"
#include "consume/sum_read.h"
#include "find/pattern.h"
#include "attach/preflight.h"
#include "attach/probes.h"
#include "consume/status.h"
#include "consume/symbolize.h"
#include "find/srcline.h"
#include "consume/memory.h"
#include "consume/trace.h"
#include "record/ctrace_read.h"
#include "record/ctrace_write.h"
#include "record/ctrace_model.h"
#include "rebuild/flight.h"
#include "attach/uprobe_multi.h"
#include "attach/batch.h"

#define CONSUMER_NICE -15
/* BPF wakes the consumer when the ring buffer is this fraction full */
#define WAKE_FRACTION 4

static volatile sig_atomic_t sig_count, sig_last, sig_from_user, snapshots_asked;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	sig_last = sig;
	/* kill(2)/sigqueue (si_code <= 0) vs the terminal (SI_KERNEL) */
	sig_from_user = si && si->si_code <= 0;
	sig_count++;
}

/* --last: SIGUSR1 asks for a snapshot; the drain loop writes it */
static void on_usr1(int sig)
{
	(void)sig;
	snapshots_asked++;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
	const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* this process's CPU time so far (user and system) */
static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NSEC_PER_SEC +
	       ((uint64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* The target and its image: can it be traced, and where the trace goes */
static int preflight(struct session *s)
{
	const char *img_path;
	char err[256];

	if (preflight_system())
		return -1;
	if (s->launch ? preflight_program(s->cfg.argv[0], s->exe, sizeof(s->exe)) :
			preflight_pid(s->cfg.pid, s->exe, sizeof(s->exe)))
		return -1;
	if (!s->launch)
		snprintf(s->hooks, sizeof(s->hooks), "/proc/%d/exe", (int)s->cfg.pid);
	img_path = s->launch ? s->exe : s->hooks;
	if (elf_image_open(img_path, &s->img, err, sizeof(err))) {
		log_err("cannot trace '%s': %s", s->exe, err);
		s->img = NULL;
		return -1;
	}
	if (s->launch && !s->img->refs_hooks) {
		log_err("'%s' was not built with -finstrument-functions: rebuild it with "
			"`gcc -finstrument-functions -g ...` (and link its libraries the same way)",
			s->exe);
		return -1;
	}
	if (!s->img->has_debug_info)
		log_warn("'%s' has no DWARF: names come from the symbol table; arguments and "
			 "return values need -g",
			 s->exe);
	if (keep_rules_check(s->cfg.keep_if, s->cfg.nkeep_if, img_path, s->img, err,
			     sizeof(err))) {
		log_err("--keep-if: %s", err);
		return -1;
	}
	return output_open(&s->out, s->cfg.output);
}

/* --probe batch: the batch hooks library is preloaded, and probed */
static int choose_batch(struct session *s)
{
	if (!elf_has_interp(s->img) || s->img->hook_def[0]) {
		log_err("--probe batch: the program is statically linked or defines the hooks itself");
		return -1;
	}
	if (batch_find_lib(s->hooks, sizeof(s->hooks), !filter_is_empty(s->cfg.filter))) {
		log_err("--probe batch: the hooks library %s"
			" was not found (set CTRACE_BATCH_LIB)",
			filter_is_empty(s->cfg.filter) ? BATCH_LIB_NAME : BATCH_FLIB_NAME);
		return -1;
	}
	s->preload = s->batch = true;
	return 0;
}

/* --probe auto in launch mode: batch where it can (a dynamic program that
 * leaves the hooks to us, and no option batch does not take); the
 * per-event probes otherwise, and -v says why */
static bool auto_batch(struct session *s)
{
	const char *why = cli_batch_refusal(&s->cfg);

	if (!why && (!elf_has_interp(s->img) || s->img->hook_def[0]))
		why = "a static program, or one that defines the hooks";
	if (!why && batch_find_lib(s->hooks, sizeof(s->hooks), !filter_is_empty(s->cfg.filter)))
		why = "no batch hooks library";
	if (why) {
		log_dbg("per-event probes, not batch: %s", why);
		return false;
	}
	s->preload = s->batch = true;
	return true;
}

/* probe placement: the preloaded NOP hooks are the cheapest sites, but
 * only the call sites let a filter leave other functions unprobed */
static int choose_probes(struct session *s)
{
	const struct config *cfg = &s->cfg;
	bool can;

	if (!s->launch || cfg->probe == PROBE_CALLSITE)
		return 0;
	if (cfg->probe == PROBE_BATCH)
		return choose_batch(s);
	if (cfg->probe == PROBE_AUTO && auto_batch(s))
		return 0;
	can = elf_has_interp(s->img) && !s->img->hook_def[0] &&
	      !modules_find_hooks_lib(s->hooks, sizeof(s->hooks));
	if (cfg->probe == PROBE_PRELOAD && !can) {
		log_err("--probe preload: %s",
			elf_has_interp(s->img) && !s->img->hook_def[0] ?
				"the hooks library " HOOKS_LIB_NAME
				" was not found (set CTRACE_HOOKS_LIB)" :
				"the program is statically linked or defines the hooks itself");
		return -1;
	}
	s->preload = can && (cfg->probe == PROBE_PRELOAD || filter_is_empty(cfg->filter));
	return 0;
}

/* launch mode: the target forked, held before its exec */
static int hold_target(struct session *s)
{
	if (!s->launch) {
		s->targ = s->cfg.pid;
		return 0;
	}
	if (launch_fork(&s->child, s->exe, s->cfg.argv, s->preload ? s->hooks : NULL, s->cfg.user))
		return -1;
	s->targ = s->child.pid;
	return 0;
}

/* one spool file per live thread: as many as allowed. After the fork, so
 * the target keeps its own limit */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* --summary: the loader's part of BPF's configuration */
static void summary_configure(struct ctrace_bpf *skel, int mode)
{
	skel->rodata->summary = mode;
	bpf_program__set_autoload(skel->progs.on_hook_sum, mode);
	bpf_program__set_autoload(skel->progs.sum_stop, mode);
	/* their code is dead without the option: no map, no file descriptor */
	bpf_map__set_autocreate(skel->maps.sums, mode);
	bpf_map__set_autocreate(skel->maps.sum_rings, mode);
	bpf_map__set_autocreate(skel->maps.co_rings, mode);
	bpf_map__set_autocreate(skel->maps.ring_slots, mode);
	bpf_map__set_autocreate(skel->maps.sum_fast, mode);
	/* a row per function, or per function and thread */
	bpf_map__set_max_entries(skel->maps.sums, mode == SUMMARY_THREAD ? 1 << 18 : 1 << 16);
	if (mode)
		bpf_map__set_max_entries(skel->maps.ring_slots, CTRACE_SUM_RING_SLOTS);
	if (mode == SUMMARY_FUNCTION)
		bpf_map__set_max_entries(skel->maps.sum_fast, CTRACE_SUM_FAST);
}

/* open the skeleton, configure it for this target and these options, load it */
static int bpf_open_load(struct session *s)
{
	struct ctrace_bpf *skel;
	int rc;

	skel = s->skel = ctrace_bpf__open();
	if (!skel) {
		log_err("cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	skel->rodata->targ_tgid = s->targ;
	skel->rodata->max_depth = s->cfg.max_depth;
	skel->rodata->wake_bytes = s->cfg.buffer_size / WAKE_FRACTION;
	skel->rodata->follow_forks = s->cfg.follow_forks;
	skel->rodata->shape = s->cfg.shape_mode;
	/* the hook's return address: from rdx at the enter hook's second
	 * probe site, or from the stack when --args reads the registers */
	skel->rodata->srcline = !s->cfg.srcline ? 0 : s->cfg.args ? 1 : 2;
	skel->rodata->batch = s->batch;
	skel->rodata->batch_chunk = batch_chunk_for(s->cfg.buffer_size);
	bpf_map__set_autocreate(skel->maps.batch_forks, s->batch);
	bpf_map__set_autocreate(skel->maps.batch_stopped, s->batch);
	bpf_program__set_autoload(skel->progs.on_batch, s->batch);
	bpf_program__set_autoload(skel->progs.on_prepare_exec, s->batch);
	/* batch probes no hook; the empty program is --bench-empty's */
	bpf_program__set_autoload(skel->progs.on_hook, !s->batch);
	bpf_program__set_autoload(skel->progs.on_hit_empty, s->cfg.bench_empty);
	bpf_program__set_autoload(skel->progs.on_batch_hello,
				  s->batch && !filter_is_empty(s->cfg.filter));
	bpf_map__set_autocreate(skel->maps.batch_vforks, s->batch);
	/* their code is dead without the option: no map, no file descriptor */
	bpf_map__set_autocreate(skel->maps.shape_fns, s->cfg.shape_mode);
	bpf_map__set_autocreate(skel->maps.caller_rings, s->cfg.shape_mode == CTRACE_SHAPE_CALLER);
	bpf_map__set_autocreate(skel->maps.co_caller_rings,
				s->cfg.shape_mode == CTRACE_SHAPE_CALLER);
	bpf_map__set_max_entries(skel->maps.rb, s->cfg.buffer_size);
	{
		/* every uprobe program is attached through uprobe_multi links */
		struct bpf_program *up[] = { skel->progs.on_hook,      skel->progs.on_hook_args,
					     skel->progs.on_ret,       skel->progs.on_entry_point,
					     skel->progs.on_dl_state,  skel->progs.on_setjmp,
					     skel->progs.on_longjmp,   skel->progs.on_context,
					     skel->progs.on_hit_empty, skel->progs.on_restorer,
					     skel->progs.on_hook_sum,  skel->progs.on_alloc,
					     skel->progs.on_alloc_ret, skel->progs.on_batch,
					     skel->progs.on_batch_hello };

		for (size_t i = 0; i < sizeof(up) / sizeof(up[0]); i++)
			bpf_program__set_expected_attach_type(up[i], CTRACE_BPF_TRACE_UPROBE_MULTI);
	}
	/* the capture programs are sleepable and need kernel 6.12's string kfunc */
	bpf_program__set_autoload(skel->progs.on_hook_args, s->cfg.args);
	bpf_program__set_autoload(skel->progs.on_ret, s->cfg.retval);
	{
		/* only those two use the plans: without either, no map and no
		 * file descriptor (a target's limit may be low: -u, prlimit) */
		struct bpf_map *plan_maps[] = { skel->maps.plans, skel->maps.fn_plans,
						skel->maps.args_scratch, skel->maps.ret_plans,
						skel->maps.ret_scratch };

		for (size_t i = 0; i < sizeof(plan_maps) / sizeof(plan_maps[0]); i++)
			bpf_map__set_autocreate(plan_maps[i], s->cfg.args || s->cfg.retval);
	}
	bpf_program__set_autoload(skel->progs.on_alloc, s->cfg.memory);
	bpf_program__set_autoload(skel->progs.on_alloc_ret, s->cfg.memory);
	bpf_map__set_autocreate(skel->maps.mem_calls, s->cfg.memory);
	summary_configure(skel, s->cfg.summary);
	rc = ctrace_bpf__load(skel);
	if (rc) {
		log_err("cannot load the BPF programs: %s (run with -vv for the verifier's log)",
			strerror(-rc));
		return -1;
	}
	return 0;
}

/* the target in the process table, the process tracepoints, the ring buffers */
static int bpf_setup(struct session *s)
{
	struct ctrace_bpf *skel = s->skel;
	/* a launched target's stops are ours to give; an attached
	 * one's parent (a shell) would see them */
	__u32 key = (__u32)s->targ;
	struct ctrace_proc_state st = { .flags = s->launch ? CTRACE_PROC_MAY_STOP : 0, .gen = 0 };

	if (bpf_map__update_elem(skel->maps.procs, &key, sizeof(key), &st, sizeof(st), 0)) {
		log_err("cannot set up the process table: %s", strerror(errno));
		return -1;
	}
	skel->links.on_fork = bpf_program__attach(skel->progs.on_fork);
	skel->links.on_exec = bpf_program__attach(skel->progs.on_exec);
	if (!skel->links.on_fork || !skel->links.on_exec) {
		log_err("cannot attach to sched_process_fork/exec: %s", strerror(errno));
		return -1;
	}
	if (s->batch && !(skel->links.on_prepare_exec = bpf_program__attach(skel->progs.on_prepare_exec))) {
		log_err("cannot attach to sched_prepare_exec: %s", strerror(errno));
		return -1;
	}
	skel->links.on_task_exit = bpf_program__attach(skel->progs.on_task_exit);
	if (!skel->links.on_task_exit) {
		log_err("cannot attach to sched_process_exit: %s", strerror(errno));
		return -1;
	}
	skel->links.on_signal = bpf_program__attach(skel->progs.on_signal);
	if (!skel->links.on_signal) {
		log_err("cannot attach to signal_generate: %s", strerror(errno));
		return -1;
	}
	if (s->batch) { /* BATCH records become the calls they hold */
		batch_decoder_init(&s->bd, &s->tr, s->cfg.max_depth);
		if (batch_guard_start(&s->guard, bpf_map__fd(skel->maps.batch_stopped)))
			log_warn("cannot start the batch guard: %s", strerror(errno));
	}
	s->rb = s->batch ? ring_buffer__new(bpf_map__fd(skel->maps.rb), batch_on_event, &s->bd, NULL) :
			   ring_buffer__new(bpf_map__fd(skel->maps.rb), trace_on_event, &s->tr, NULL);
	if (!s->rb ||
	    ring_buffer__add(s->rb, bpf_map__fd(skel->maps.crash_rb), trace_on_crash, &s->tr)) {
		log_err("cannot set up the ring buffers: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The compact record: an unlinked file beside the output, like the spools */
static int record_setup(struct session *s)
{
	const char *mode = getenv("CTRACE_RECORD"), *verify = getenv("CTRACE_VERIFY_REPLAY");
	struct ctrace_file_hdr h = { .pid = (uint32_t)s->targ,
				     .t0 = s->t0,
				     .mono_base = s->t0,
				     .real_base = (uint64_t)s->ri.wall_start_ns,
				     .flags = s->cfg.args || s->cfg.retval ? CTRACE_FILE_F_ARGS :
									     0 };

	/* --summary sends no calls: there is nothing to record */
	/* --last keeps the windows in memory, its live trees are the record */
	s->rec_mode = s->cfg.summary || s->cfg.last			 ? REC_DIRECT :
		      verify && *verify && strcmp(verify, "0")		 ? REC_VERIFY :
		      mode && !strcmp(mode, "direct") && !s->keep_ctrace ? REC_DIRECT :
									   REC_RECORD;
	if (!s->launch)
		h.flags |= CTRACE_FILE_F_ATTACH;
	if (s->cfg.srcline)
		h.flags |= CTRACE_FILE_F_SRCLINE;
	s->res = &s->tr;
	if (s->rec_mode == REC_DIRECT)
		return 0;
	s->rec_fd = openat(s->out.dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->rec_fd < 0) { /* a filesystem without O_TMPFILE */
		s->rec_tmp = tmpfile();
		s->rec_fd = s->rec_tmp ? fileno(s->rec_tmp) : -1;
	}
	if (s->rec_fd < 0 || !(s->rec = ctw_new(s->rec_fd, &h))) {
		log_err("cannot write the trace beside '%s': %s", s->cfg.output,
			strerror(errno ? errno : ENOMEM));
		return -1;
	}
	s->tr.rec = s->rec;
	s->tr.live_only = s->rec_mode == REC_RECORD;
	if (h.flags & CTRACE_FILE_F_ARGS) /* what typing the values offline needs */
		ctw_config(s->rec, &s->cfg);
	return 0;
}

/* the names, the trees, the probes' settings and the capture plans */
static int consumer_setup(struct session *s)
{
	s->sym = symbolizer_new(s->targ, s->cfg.filter);
	if (s->cfg.srcline) /* before the first function is named */
		symbolizer_set_srclines(s->srclines = srclines_new());
	trace_init(&s->tr, s->targ, s->sym, !s->launch, s->t0, s->out.dirfd);
	if (s->cfg.memory)
		memory_enable(&s->tr);
	if (s->cfg.last && flight_start(&s->tr, s->cfg.last)) {
		log_err("out of memory");
		return -1;
	}
	if (!s->cfg.last) /* --last: each snapshot's trees are filtered */
		finish_filter_sink(s, &s->tr);
	if (record_setup(s))
		return -1;
	s->pr.skel = s->skel;
	s->pr.filter = s->cfg.filter;
	/* forked children run the same files: with --follow-forks the links
	 * are not filtered by pid, the BPF side keeps to the traced ones */
	s->pr.pid = s->cfg.follow_forks ? 0 : s->targ;
	s->pr.empty = s->cfg.bench_empty;
	s->pr.args = s->cfg.args;
	s->pr.summary = s->cfg.summary;
	s->pr.memory = s->cfg.memory;
	s->pr.srcline_rdx = s->cfg.srcline && !s->cfg.args;
	s->pr.shape = s->cfg.shape;
	if (s->cfg.args || s->cfg.retval) {
		s->capture = capture_new(&s->cfg, s->skel, s->sym, s->preload);
		if (!s->capture) {
			log_err("out of memory");
			return -1;
		}
		s->tr.capture = s->capture;
		if (s->rec) /* the replay steps through the plans' changes */
			capture_log_changes(s->capture);
	}
	return 0;
}

/* --subtree/--caller patterns that match nothing: as with -F, the trace is
 * empty, unless a library loaded later has a match */
static void shape_check(const struct session *s)
{
	if (s->cfg.shape && !s->pr.nshaped)
		log_warn("no function matches the --%s patterns (yet): nothing is recorded "
			 "unless a library loaded later has one",
			 s->cfg.shape_mode == CTRACE_SHAPE_SUBTREE ? "subtree" : "caller");
}

/* at the entry point: the libraries are mapped, nothing ran yet */
static int at_entry_point(struct session *s)
{
	if (symbolizer_load_maps(s->sym))
		log_warn("cannot read the target's memory map: names may be missing");
	if (s->preload && !modules_hooks_mapped(s->sym)) {
		/* the loader refused the preload (an unreadable path for
		 * -u USER, a setuid program): probe the call sites */
		log_warn("%s was not preloaded: probing the call sites instead", s->hooks);
		probes_detach_all(&s->pr);
		s->preload = false;
		if (s->capture)
			capture_set_preload(s->capture, false);
	} else if (!s->preload) {
		modset_add(&s->done.probed, s->exe); /* probed before the exec */
	}
	if (!s->preload && modules_probe_new(&s->pr, s->sym, s->exe, &s->done.probed) < 0)
		return -1;
	modules_select_new(&s->pr, s->sym, &s->done.selected, 0);
	if (s->batch)
		batch_sel_sync(&s->pr, s->child.pid, s->sym);
	shape_check(s);
	modules_plan_new(s->capture, &s->pr, s->sym, &s->done.planned, 0);
	if (modules_watch_loader(&s->pr, s->sym))
		log_warn("cannot watch the dynamic loader: libraries loaded "
			 "later with dlopen%s",
			 s->preload ? " may lack names" : " will not be traced");
	if (modules_watch_jumps(&s->pr, s->sym, &s->done.probed))
		return -1;
	watch_handlers(&s->pr, s->sym, &s->done.restorers);
	s->skel->bss->watch_exec = 1;
	close(s->entry_fd);
	s->entry_fd = -1;
	kill(s->child.pid, SIGCONT);
	return 0;
}

/* launch: probe the program, let it exec, and probe the rest at its entry point */
static int start_launched(struct session *s)
{
	int rc;

	if (s->batch	  ? batch_attach_lib(&s->pr, s->hooks) :
	    s->preload ? probes_attach_hooks_lib(&s->pr, s->hooks) :
			 probes_attach_callsites(&s->pr, s->exe, s->exe, s->img) < 0)
		return -1;
	s->entry_fd = probes_attach_entry_stop(&s->pr, s->exe, s->img);
	if (s->entry_fd < 0)
		return -1;
	s->skel->bss->armed = 1;
	rc = launch_release(&s->child);
	if (rc) {
		s->child.pid = 0;
		log_err("cannot execute '%s': %s", s->exe, strerror(-rc));
		return -1;
	}
	s->child_alive = true;
	if (wait_stopped(s->child.pid, &s->status)) {
		log_err("lost track of the target: %s", strerror(errno));
		return -1;
	}
	if (!WIFSTOPPED(s->status))
		s->child_alive = false; /* died before its entry point (e.g. in ld.so) */
	else if (at_entry_point(s))
		return -1;
	s->ri.probe_mode = s->batch ? "batch" : s->preload ? "preload" : "callsite";
	return 0;
}

/* attach: probe what the process has mapped, as it runs */
static int start_attached(struct session *s)
{
	long n;

	if (symbolizer_load_maps(s->sym)) {
		log_err("cannot read the memory map of process %d: %s", (int)s->targ,
			strerror(errno));
		return -1;
	}
	n = modules_probe_new(&s->pr, s->sym, s->exe, &s->done.probed);
	if (n < 0)
		return -1;
	modules_select_new(&s->pr, s->sym, &s->done.selected, 0);
	shape_check(s);
	modules_plan_new(s->capture, &s->pr, s->sym, &s->done.planned, 0);
	if (n == 0) {
		log_err("process %d (%s) has no instrumented function%s: build it with "
			"-finstrument-functions",
			(int)s->targ, s->exe,
			filter_is_empty(s->cfg.filter) ? "" : " matching the filters");
		return -1;
	}
	/* no stop here: libraries loaded later are probed as soon as
	 * the loader says so, their first calls may be missed */
	if (modules_watch_loader(&s->pr, s->sym))
		log_warn("cannot watch the dynamic loader: libraries loaded later with "
			 "dlopen will not be traced");
	if (modules_watch_jumps(&s->pr, s->sym, &s->done.probed))
		return -1;
	watch_handlers(&s->pr, s->sym, &s->done.restorers);
	s->skel->bss->watch_exec = 1;
	s->skel->bss->armed = 1;
	/* from here on every call is traced: scripts wait for this line */
	log_info("attached to process %d (%s): %ld call sites probed; Ctrl-C detaches",
		 (int)s->targ, s->exe, n);
	s->pidfd = (int)syscall(SYS_pidfd_open, s->targ, 0);
	s->ri.probe_mode = "callsite";
	return 0;
}

/* the probes in place, the target running under them */
static int start(struct session *s)
{
	uint64_t t = now_ns(CLOCK_MONOTONIC);

	if (s->launch ? start_launched(s) : start_attached(s))
		return -1;
	log_dbg("tracing pid %d: %s probes, %lu call sites in %lu functions, attached in %.1f ms",
		(int)s->targ, s->ri.probe_mode, (unsigned long)s->pr.nsites,
		(unsigned long)s->pr.nfuncs, (now_ns(CLOCK_MONOTONIC) - t) / NSEC_PER_MS);
	return 0;
}

/* The target has ended: with --follow-forks, the last process it forked too */
static bool target_ended(struct session *s)
{
	struct trace *tr = &s->tr;
	bool gone;

	if (s->launch && s->child_alive) {
		pid_t r = waitpid(s->child.pid, &s->status, WNOHANG);

		if (r == s->child.pid) {
			s->child_alive = false;
			/* the exit is known even if its event was lost */
			if (!tr->procs.v[0]->exited) {
				tr->procs.v[0]->exited = true;
				tr->procs.v[0]->exit_code = (uint32_t)s->status;
			}
		}
	}
	gone = s->launch ? !s->child_alive : target_gone(tr, s->pidfd, s->targ);
	if (!gone)
		return false;
	if (!s->cfg.follow_forks)
		return true;
	tr->procs.v[0]->exited = true;
	procs_reap_vanished(&tr->procs);
	if (procs_live(&tr->procs))
		return false;
	ring_buffer__consume(s->rb);
	return true;
}

/* attach: a signal detaches now. launch: the target decides, as under
 * strace; a second signal stops tracing */
static bool stop_asked(struct session *s, sig_atomic_t *handled)
{
	if (sig_count <= *handled)
		return false;
	*handled = sig_count;
	if (!s->launch || *handled > 1)
		return true;
	/* the terminal signals the target too; kill(1) does not */
	if (sig_from_user)
		kill(s->child.pid, sig_last);
	return false;
}

/* drain until the target ends, --duration runs out, a signal says stop or
 * the trace cannot be kept */
static void consume(struct session *s)
{
	struct status progress;
	sig_atomic_t handled = 0, snapshots_done = 0;
	uint64_t deadline = 0;
	const char *delay;
	uint64_t cpu0 = cpu_ns();

	install_signals();
	/* A target that keeps every CPU busy must not starve the consumer into
	 * losing events: it only runs while there is something to drain. Set
	 * after the fork, so the target keeps its own priority. */
	if (setpriority(PRIO_PROCESS, 0, CONSUMER_NICE))
		log_dbg("cannot raise the consumer's priority: %s", strerror(errno));
	if (s->cfg.duration > 0)
		deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)(s->cfg.duration * NSEC_PER_SEC);

	/* the loop: drain on a cadence (BPF wakes us only when the buffer fills) */
	status_init(&progress, now_ns(CLOCK_MONOTONIC));
	/* tests only: a consumer that falls behind, to check loss accounting */
	delay = getenv("CTRACE_TEST_CONSUMER_DELAY_MS");
	for (;;) {
		/* --summary: the calls are counted in BPF, read at the end */
		if (!s->cfg.summary)
			status_update(&progress, now_ns(CLOCK_MONOTONIC), trace_total_calls(&s->tr),
				      s->skel->bss->lost_total, trace_threads_seen(&s->tr));
		if (consume_round(s->rb, &s->tr, s->cfg.output, delay))
			break;
		/* requests that came together make one snapshot */
		if (snapshots_asked != snapshots_done) {
			snapshots_done = snapshots_asked;
			finish_snapshot(s,
					s->skel->bss->lost_total + s->skel->bss->untracked_total);
		}
		/* the stops BPF asked for (exec, dlopen) end here; a user's
		 * kill -STOP is left alone */
		handle_remaps(&s->tr, &s->pr, s->capture, &s->done, s->preload);
		if (s->batch)
			batch_resume(&s->bd, s->skel, s->rb, false);
		if (target_ended(s))
			break;
		if (deadline && now_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		if (stop_asked(s, &handled))
			break;
	}
	status_clear(&progress);
	log_dbg("drain loop: %lu events, %.0f ns of consumer CPU each", (unsigned long)s->tr.events,
		s->tr.events ? (cpu_ns() - cpu0) / (double)s->tr.events : 0.0);
}

static int lost_lookup(void *ctx, uint32_t tid, uint64_t *n)
{
	struct session *s = ctx;
	uint64_t b = s->batch ? batch_thread_lost(&s->bd, tid) : 0;
	__u64 v;

	if (bpf_map__lookup_elem(s->skel->maps.thread_lost, &tid, sizeof(tid), &v, sizeof(v), 0)) {
		if (!b)
			return -1;
		v = 0;
	}
	*n = v + b;
	return 0;
}

/* --summary, once the probes are gone: the calls still open in live threads
 * are counted (the iterator), then BPF's tables are read */
static int summary_collect(struct session *s)
{
	struct ctrace_bpf *skel = s->skel;
	struct bpf_link *it = bpf_program__attach_iter(skel->progs.sum_stop, NULL);
	char buf[64];
	int fd = it ? bpf_iter_create(bpf_link__fd(it)) : -1;

	if (fd < 0) {
		log_err("cannot count the calls still running: %s", strerror(errno));
		bpf_link__destroy(it);
		return -1;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	bpf_link__destroy(it);
	s->sum.per_thread = s->cfg.summary == SUMMARY_THREAD;
	memcpy(s->sum.untimed, skel->bss->sum_untimed, sizeof(s->sum.untimed));
	s->sum.untracked = skel->bss->untracked_total;
	s->sum.extremes_missed = skel->bss->sum_extremes_missed;
	if (sum_read(&s->sum, bpf_map__fd(skel->maps.sums),
		     s->cfg.summary == SUMMARY_FUNCTION ? bpf_map__fd(skel->maps.sum_fast) : -1,
		     bpf_map__fd(skel->maps.co_rings), &s->tr.procs))
		return -1;
	/* what the rings held is counted now */
	memcpy(skel->bss->sum_untimed, s->sum.untimed, sizeof(s->sum.untimed));
	return 0;
}

/* disarm, detach, then drain what was already recorded */
static void stop(struct session *s)
{
	struct ctrace_bpf *skel = s->skel;
	struct trace *tr = &s->tr;
	uint64_t t;

	skel->bss->armed = 0;
	t = now_ns(CLOCK_MONOTONIC);
	probes_detach_all(&s->pr);
	log_dbg("detached in %.1f ms", (now_ns(CLOCK_MONOTONIC) - t) / NSEC_PER_MS);
	ring_buffer__consume(s->rb);
	if (s->batch) { /* nothing is left stopped */
		batch_resume(&s->bd, s->skel, s->rb, true);
		batch_guard_stop(&s->guard);
	}
	if (s->cfg.summary && summary_collect(s))
		tr->err = EIO;
	trace_finish(tr, STILL_RUNNING);
	s->ri.duration_ns = now_ns(CLOCK_MONOTONIC) - s->t0;
	s->ri.lost_events = skel->bss->lost_total + skel->bss->untracked_total +
			    (s->batch ? s->bd.unwritten : 0);
	/* per thread, from BPF's own count: the events that carried the count
	 * may be among the lost */
	trace_set_lost(tr, lost_lookup, s);
	if (s->cfg.last && !tr->err) { /* the trace written is the windows' */
		s->have_ftr = true;
		if (flight_snapshot(&s->ftr, tr, true, finish_filter_wrap, s))
			tr->err = EIO;
		s->res = &s->ftr;
	}
	if (s->rec && !tr->err && finish_replay(s, STILL_RUNNING))
		tr->err = EIO;
}

/* the target's, when it ended while traced; 0 while it runs on */
static int exit_status(struct session *s)
{
	int ret = 0;

	if (s->launch && !s->child_alive && s->child.pid > 0)
		ret = exit_status_from_wait(s->status, &s->ri);
	else if (!s->launch && s->tr.proc_exited)
		ret = exit_status_from_wait((int)s->tr.proc_exit_code, &s->ri);
	if (s->ri.exit_signal) {
		s->ri.fatal = crash_find(&s->res->crashes, s->ri.exit_signal, (uint32_t)s->targ);
		/* the map it died with: after an exec, not the first one */
		s->ri.mods = symbolizer_modules(s->tr.procs.v[0]->sym, &s->ri.nmods);
	}
	return ret;
}

/* Launch mode, at the end. Tracing stopped early (--duration, second
 * Ctrl-C): the target runs on untraced; its exit status is still ours to
 * return. Tracing never ran: the target goes. */
static int finish_child(struct session *s, int ret)
{
	sig_atomic_t handled;
	pid_t r;

	if (!s->launch || s->child.pid <= 0)
		return ret;
	if (!s->trace_ok) {
		launch_kill(&s->child);
		return ret;
	}
	if (!s->child_alive)
		return ret;
	handled = sig_count;
	while ((r = waitpid(s->child.pid, &s->status, 0)) < 0 && errno == EINTR) {
		if (sig_count > handled && sig_from_user)
			kill(s->child.pid, sig_last);
		if (sig_count - handled >= 2)
			break;
	}
	if (r == s->child.pid)
		return exit_status_from_wait(s->status, &s->ri);
	log_warn("process %d left running untraced", (int)s->child.pid);
	return EXIT_SIGNALED + SIGINT;
}

static void session_free(struct session *s)
{
	if (s->cmdline) {
		free(s->cmdline[0]);
		free(s->cmdline);
	}
	if (s->pidfd >= 0)
		close(s->pidfd);
	if (s->have_rtr)
		trace_free(&s->rtr); /* before the reader: its crash notes name functions */
	if (s->have_ftr)
		flight_release(&s->ftr, &s->tr);
	ctr_free(s->reader);
	trace_free(&s->tr);
	ctw_free(s->rec);
	if (s->rec_tmp)
		fclose(s->rec_tmp);
	else if (s->rec_fd >= 0)
		close(s->rec_fd);
	modsets_free(&s->done);
	capture_free(s->capture);
	symbolizer_free(s->sym);
	srclines_free(s->srclines);
	ring_buffer__free(s->rb);
	if (s->batch) {
		batch_guard_stop(&s->guard);
		batch_decoder_free(&s->bd);
	}
	ctrace_bpf__destroy(s->skel);
	if (s->img)
		elf_image_free(s->img);
	filter_free(s->cfg.filter);
	filter_free(s->cfg.capture_filter);
	cli_free_keep_if(&s->cfg);
	filter_free(s->cfg.shape);
	summary_free(&s->sum);
}

int main(int argc, char **argv)
{
	struct session s = { .out = { .dirfd = -1 }, .entry_fd = -1, .pidfd = -1, .rec_fd = -1 };
	bool no_trace = false;
	int ret = 1, rc;

	/* subcommands that read traces or inspect binaries; no BPF, no root */
	if (argc > 1 && !strcmp(argv[1], "convert"))
		return cmd_convert_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return cmd_report_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "list"))
		return cmd_list_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "check"))
		return cmd_check_main(argc - 1, argv + 1);

	rc = cli_parse(argc, argv, &s.cfg);
	if (rc) {
		filter_free(s.cfg.filter);
		filter_free(s.cfg.capture_filter);
		cli_free_keep_if(&s.cfg);
		filter_free(s.cfg.shape);
		return rc > 0 ? 0 : 2;
	}
	log_verbose = s.cfg.verbose;
	if (s.cfg.last) /* from the start: a snapshot asked early must not kill us */
		signal(SIGUSR1, on_usr1);
	s.keep_ctrace = str_has_suffix(s.cfg.output, ".ctrace");
	libbpf_set_print(log_libbpf);
	s.launch = s.cfg.pid == 0;

	if (preflight(&s) || choose_probes(&s))
		goto cleanup;
	s.t0 = now_ns(CLOCK_MONOTONIC);
	s.ri.wall_start_ns = (int64_t)now_ns(CLOCK_REALTIME);
	s.ri.mono_start_ns = s.t0;
	if (hold_target(&s))
		goto cleanup;
	raise_fd_limit();
	if (bpf_open_load(&s) || bpf_setup(&s) || consumer_setup(&s))
		goto cleanup;
	if (start(&s))
		goto cleanup;
	consume(&s);
	stop(&s);
	s.trace_ok = true;
	ret = exit_status(&s);

cleanup:
	if (s.entry_fd >= 0)
		close(s.entry_fd);
	probes_detach_all(&s.pr);
	if (s.trace_ok && finish_write(&s))
		no_trace = true;
	if (!s.trace_ok || no_trace)
		output_abort(&s.out);
	ret = finish_child(&s, ret);
	/* no trace: whatever the target did, scripts must see the failure */
	if (no_trace)
		ret = 1;
	session_free(&s);
	return ret;
}
