// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ctrace-bpf: launch or attach, probe, consume, write the trace. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include "attach/capture_plans.h"
#include "cli.h"
#include "cmds/commands.h"
#include "consume/crash.h"
#include "ctrace.skel.h"
#include "find/elf_image.h"
#include "attach/launch.h"
#include "utils/log.h"
#include "attach/modules.h"
#include "write/output.h"
#include "find/pattern.h"
#include "attach/preflight.h"
#include "attach/probes.h"
#include "consume/status.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "rebuild/tree.h"
#include "attach/uprobe_multi.h"


#define POLL_MS 50
#define CONSUMER_NICE -15

static volatile sig_atomic_t sig_count, sig_last, sig_from_user;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	sig_last = sig;
	/* kill(2)/sigqueue (si_code <= 0) vs the terminal (SI_KERNEL) */
	sig_from_user = si && si->si_code <= 0;
	sig_count++;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
	const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int wait_stopped(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, WUNTRACED);
	while (r < 0 && errno == EINTR);
	return r == pid ? 0 : -1;
}

static int exit_status_from_wait(int st, struct run_info *ri)
{
	ri->exit_known = true;
	if (WIFSIGNALED(st)) {
		ri->exit_signal = WTERMSIG(st);
		ri->exit_code = -1;
		return 128 + WTERMSIG(st);
	}
	ri->exit_code = WEXITSTATUS(st);
	return ri->exit_code;
}

static bool target_gone(const struct trace *tr, int pidfd, pid_t pid)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return tr->proc_exited || (pidfd >= 0 && poll(&p, 1, 0) > 0) ||
	       (pidfd < 0 && kill(pid, 0) && errno == ESRCH);
}

static char **read_cmdline(pid_t pid, int *argc)
{
	char path[64], *buf = NULL, **v = NULL;
	size_t len = 0, cap = 0;
	FILE *f;
	int n = 0, c;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "re");
	if (!f)
		goto out;
	while ((c = fgetc(f)) != EOF) {
		if (len + 2 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 256);
			if (!nb)
				break;
			buf = nb;
		}
		buf[len++] = (char)c;
	}
	fclose(f);
	if (!buf)
		goto out;
	buf[len] = 0;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		goto out;
	n = 0;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		v[n++] = buf + i;
	*argc = n;
	return v;
out:
	free(buf);
	*argc = 0;
	return NULL;
}

/* a dynamically linked image whose start-up has not mapped its libraries
 * yet: only the executable and the dynamic loader are there */
static bool before_startup(struct symbolizer *sym, const char *exe)
{
	size_t n, files = 0;
	const struct module *m = symbolizer_modules(sym, &n);
	bool dynamic = false;

	for (size_t i = 0; i < n; i++) {
		files += !i || strcmp(m[i].path, m[i - 1].path);
		if (!strcmp(m[i].path, exe) && m[i].img)
			dynamic = elf_has_interp(m[i].img);
	}
	return dynamic && files <= 2;
}

/* Processes whose map changed (an exec, a dlopen, a new image's start-up):
 * name and probe the new code, plan captures where the plans hold, and let
 * the ones stopped for this go on. */
static void handle_remaps(struct trace *tr, struct probes *pr, struct capture *capture,
			  struct modset *probed, struct modset *planned, struct modset *restorers,
			  struct modset *selected,
			  bool preload)
{
	for (size_t i = 0; i < tr->procs.n; i++) {
		struct proc *p = tr->procs.v[i];
		char exe[PATH_MAX], path[64];
		ssize_t n;

		if (!p->remap)
			continue;
		p->remap = false;
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)p->pid);
		n = readlink(path, exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = 0;
		if (n > 0 && !symbolizer_load_maps(p->sym)) {
			/* a new image in preload mode: its loader's start-up stop
			 * comes next, with the preload mapped or refused */
			bool wait = preload && p->nexecs && before_startup(p->sym, exe);

			if (!wait && !(preload && modules_hooks_mapped(p->sym)) &&
			    modules_probe_new(pr, p->sym, exe, probed) < 0)
				log_warn("process %d: new code in %s is not traced", (int)p->pid, exe);
			modules_forget_gone(capture, pr, p->sym, planned, selected, p->gen);
			modules_select_new(pr, p->sym, selected, p->gen);
			modules_plan_new(capture, pr, p->sym, planned, p->gen);
			if (modules_watch_jumps(pr, p->sym, probed))
				log_warn("process %d: longjmp out of traced calls may misplace them", (int)p->pid);
			/* a new image's C library sits elsewhere */
			if (pr->skel->links.on_signal_deliver &&
			    modules_watch_sigreturn(pr, p->sym, restorers) < 0)
				log_warn("process %d: signal handlers are not followed", (int)p->pid);
			log_dbg("process %d: map changed (%s)", (int)p->pid, exe);
		}
		if (p->stopped) {
			p->stopped = false;
			kill(p->pid, SIGCONT);
		}
	}
}

/* A fault's handler is followed from its delivery to its return into the
 * restorer: without both, crashes have no cause (and none made up). */
static void watch_handlers(struct probes *pr, struct symbolizer *sym, struct modset *done)
{
	struct ctrace_bpf *skel = pr->skel;

	if (!skel->links.on_signal_deliver)
		skel->links.on_signal_deliver = bpf_program__attach(skel->progs.on_signal_deliver);
	if (!skel->links.on_signal_deliver)
		log_warn("cannot attach to signal_deliver (%s): crashes are reported without "
			 "their cause", strerror(errno));
	else if (modules_watch_sigreturn(pr, sym, done) <= 0)
		log_warn("no signal return trampoline found to probe: crashes are reported "
			 "without their cause");
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct ctrace_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct elf_image *img = NULL;
	struct symbolizer *sym = NULL;
	struct capture *capture = NULL;
	struct modset probed = { 0 }, planned = { 0 }, restorer_files = { 0 }, selected = { 0 };
	struct probes pr = { 0 };
	struct output out = { .dirfd = -1 };
	struct trace tr = { 0 };
	struct child child = { 0 };
	struct run_info ri = { 0 };
	struct status progress;
	char exe[PATH_MAX], hooks[PATH_MAX], err[256], **cmdline = NULL;
	const char *img_path, *delay;
	bool launch, preload = false, child_alive = false, trace_ok = false, no_trace = false;
	int entry_fd = -1, pidfd = -1, status = 0, ret = 1, rc;
	sig_atomic_t handled = 0;
	uint64_t t0, t_attach, deadline = 0;
	pid_t targ = 0;

	/* subcommands that read traces or inspect binaries; no BPF, no root */
	if (argc > 1 && !strcmp(argv[1], "convert"))
		return cmd_convert_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return cmd_report_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "list"))
		return cmd_list_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "check"))
		return cmd_check_main(argc - 1, argv + 1);

	rc = cli_parse(argc, argv, &cfg);
	if (rc) {
		filter_free(cfg.filter);
		filter_free(cfg.capture_filter);
		return rc > 0 ? 0 : 2;
	}
	log_verbose = cfg.verbose;
	libbpf_set_print(log_libbpf);
	launch = cfg.pid == 0;

	if (preflight_system())
		goto cleanup;
	if (launch ? preflight_program(cfg.argv[0], exe, sizeof(exe))
		   : preflight_pid(cfg.pid, exe, sizeof(exe)))
		goto cleanup;
	if (!launch)
		snprintf(hooks, sizeof(hooks), "/proc/%d/exe", (int)cfg.pid);
	img_path = launch ? exe : hooks;
	if (elf_image_open(img_path, &img, err, sizeof(err))) {
		log_err("cannot trace '%s': %s", exe, err);
		img = NULL;
		goto cleanup;
	}
	if (launch && !img->refs_hooks) {
		log_err("'%s' was not built with -finstrument-functions: rebuild it with "
			"`gcc -finstrument-functions -g ...` (and link its libraries the same way)", exe);
		goto cleanup;
	}
	if (!img->has_debug_info)
		log_warn("'%s' has no DWARF: names come from the symbol table; arguments and "
			 "return values need -g", exe);
	if (output_open(&out, cfg.output))
		goto cleanup;

	/* probe placement: the preloaded NOP hooks are the cheapest sites, but
	 * only the call sites let a filter leave other functions unprobed */
	if (launch && cfg.probe != PROBE_CALLSITE) {
		bool can = elf_has_interp(img) && !img->hook_def[0] && !modules_find_hooks_lib(hooks, sizeof(hooks));

		if (cfg.probe == PROBE_PRELOAD && !can) {
			log_err("--probe preload: %s", elf_has_interp(img) && !img->hook_def[0] ?
				"the hooks library " HOOKS_LIB_NAME " was not found (set CTRACE_HOOKS_LIB)" :
				"the program is statically linked or defines the hooks itself");
			goto cleanup;
		}
		preload = can && (cfg.probe == PROBE_PRELOAD || filter_is_empty(cfg.filter));
	}

	t0 = now_ns(CLOCK_MONOTONIC);
	ri.wall_start_ns = (int64_t)now_ns(CLOCK_REALTIME);
	if (launch) {
		if (launch_fork(&child, exe, cfg.argv, preload ? hooks : NULL, cfg.user))
			goto cleanup;
		targ = child.pid;
	} else {
		targ = cfg.pid;
	}

	{
		/* one spool file per live thread: as many as allowed. After the
		 * fork, so the target keeps its own limit */
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	skel = ctrace_bpf__open();
	if (!skel) {
		log_err("cannot open the BPF object: %s", strerror(errno));
		goto cleanup;
	}
	skel->rodata->targ_tgid = targ;
	skel->rodata->max_depth = cfg.max_depth;
	skel->rodata->wake_bytes = cfg.buffer_size / 4;
	skel->rodata->follow_forks = cfg.follow_forks;
	bpf_map__set_max_entries(skel->maps.rb, cfg.buffer_size);
	{
		/* every uprobe program is attached through uprobe_multi links */
		struct bpf_program *up[] = { skel->progs.on_hook, skel->progs.on_hook_args,
					     skel->progs.on_ret, skel->progs.on_entry_point,
					     skel->progs.on_dl_state, skel->progs.on_setjmp,
					     skel->progs.on_longjmp, skel->progs.on_context,
					     skel->progs.on_hit_empty, skel->progs.on_restorer };

		for (size_t i = 0; i < sizeof(up) / sizeof(up[0]); i++)
			bpf_program__set_expected_attach_type(up[i], CTRACE_BPF_TRACE_UPROBE_MULTI);
	}
	/* the capture programs are sleepable and need kernel 6.12's string kfunc */
	bpf_program__set_autoload(skel->progs.on_hook_args, cfg.args);
	bpf_program__set_autoload(skel->progs.on_ret, cfg.retval);
	rc = ctrace_bpf__load(skel);
	if (rc) {
		log_err("cannot load the BPF programs: %s (run with -vv for the verifier's log)",
			strerror(-rc));
		goto cleanup;
	}
	{
		/* a launched target's stops are ours to give; an attached
		 * one's parent (a shell) would see them */
		__u32 key = (__u32)targ, st[2] = { launch ? 1 /* PROC_MAY_STOP */ : 0, 0 /* gen */ };

		if (bpf_map__update_elem(skel->maps.procs, &key, sizeof(key), st, sizeof(st), 0)) {
			log_err("cannot set up the process table: %s", strerror(errno));
			goto cleanup;
		}
	}
	skel->links.on_fork = bpf_program__attach(skel->progs.on_fork);
	skel->links.on_exec = bpf_program__attach(skel->progs.on_exec);
	if (!skel->links.on_fork || !skel->links.on_exec) {
		log_err("cannot attach to sched_process_fork/exec: %s", strerror(errno));
		goto cleanup;
	}
	skel->links.on_task_exit = bpf_program__attach(skel->progs.on_task_exit);
	if (!skel->links.on_task_exit) {
		log_err("cannot attach to sched_process_exit: %s", strerror(errno));
		goto cleanup;
	}
	skel->links.on_signal = bpf_program__attach(skel->progs.on_signal);
	if (!skel->links.on_signal) {
		log_err("cannot attach to signal_generate: %s", strerror(errno));
		goto cleanup;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), trace_on_event, &tr, NULL);
	if (!rb || ring_buffer__add(rb, bpf_map__fd(skel->maps.crash_rb), crash_on_record,
				    &tr.crashes)) {
		log_err("cannot set up the ring buffers: %s", strerror(errno));
		goto cleanup;
	}
	sym = symbolizer_new(targ, cfg.filter);
	trace_init(&tr, targ, sym, !launch, t0, out.dirfd);
	pr.skel = skel;
	pr.filter = cfg.filter;
	/* forked children run the same files: with --follow-forks the links
	 * are not filtered by pid, the BPF side keeps to the traced ones */
	pr.pid = cfg.follow_forks ? 0 : targ;
	pr.empty = cfg.bench_empty;
	pr.args = cfg.args;
	if (cfg.args || cfg.retval) {
		capture = capture_new(&cfg, skel, sym, preload);
		if (!capture) {
			log_err("out of memory");
			goto cleanup;
		}
		tr.capture = capture;
	}
	t_attach = now_ns(CLOCK_MONOTONIC);

	if (launch) {
		if (preload ? probes_attach_hooks_lib(&pr, hooks)
			    : probes_attach_callsites(&pr, exe, exe, img) < 0)
			goto cleanup;
		entry_fd = probes_attach_entry_stop(&pr, exe, img);
		if (entry_fd < 0)
			goto cleanup;
		skel->bss->armed = 1;
		rc = launch_release(&child);
		if (rc) {
			child.pid = 0;
			log_err("cannot execute '%s': %s", exe, strerror(-rc));
			goto cleanup;
		}
		child_alive = true;
		if (wait_stopped(child.pid, &status)) {
			log_err("lost track of the target: %s", strerror(errno));
			goto cleanup;
		}
		if (WIFSTOPPED(status)) {
			/* at the entry point: the libraries are mapped, nothing ran yet */
			if (symbolizer_load_maps(sym))
				log_warn("cannot read the target's memory map: names may be missing");
			if (preload && !modules_hooks_mapped(sym)) {
				/* the loader refused the preload (an unreadable path for
				 * -u USER, a setuid program): probe the call sites */
				log_warn("%s was not preloaded: probing the call sites instead", hooks);
				probes_detach_all(&pr);
				preload = false;
				if (capture)
					capture_set_preload(capture, false);
			} else if (!preload) {
				modset_add(&probed, exe); /* probed before the exec */
			}
			if (!preload && modules_probe_new(&pr, sym, exe, &probed) < 0)
				goto cleanup;
			modules_select_new(&pr, sym, &selected, 0);
			modules_plan_new(capture, &pr, sym, &planned, 0);
			if (modules_watch_loader(&pr, sym))
				log_warn("cannot watch the dynamic loader: libraries loaded "
					 "later with dlopen%s", preload ? " may lack names" : " will not be traced");
			if (modules_watch_jumps(&pr, sym, &probed))
				goto cleanup;
			watch_handlers(&pr, sym, &restorer_files);
			skel->bss->watch_exec = 1;
			close(entry_fd);
			entry_fd = -1;
			kill(child.pid, SIGCONT);
		} else {
			child_alive = false; /* died before its entry point (e.g. in ld.so) */
		}
		ri.probe_mode = preload ? "preload" : "callsite";
	} else {
		long n;

		if (symbolizer_load_maps(sym)) {
			log_err("cannot read the memory map of process %d: %s", (int)targ, strerror(errno));
			goto cleanup;
		}
		n = modules_probe_new(&pr, sym, exe, &probed);
		if (n < 0)
			goto cleanup;
		modules_select_new(&pr, sym, &selected, 0);
		modules_plan_new(capture, &pr, sym, &planned, 0);
		if (n == 0) {
			log_err("process %d (%s) has no instrumented function%s: build it with "
				"-finstrument-functions", (int)targ, exe,
				filter_is_empty(cfg.filter) ? "" : " matching the filters");
			goto cleanup;
		}
		/* no stop here: libraries loaded later are probed as soon as
		 * the loader says so, their first calls may be missed */
		if (modules_watch_loader(&pr, sym))
			log_warn("cannot watch the dynamic loader: libraries loaded later with "
				 "dlopen will not be traced");
		if (modules_watch_jumps(&pr, sym, &probed))
			goto cleanup;
		watch_handlers(&pr, sym, &restorer_files);
		skel->bss->watch_exec = 1;
		skel->bss->armed = 1;
		pidfd = (int)syscall(SYS_pidfd_open, targ, 0);
		ri.probe_mode = "callsite";
	}
	log_dbg("tracing pid %d: %s probes, %lu call sites in %lu functions, attached in %.1f ms",
		(int)targ, ri.probe_mode, (unsigned long)pr.nsites, (unsigned long)pr.nfuncs,
		(now_ns(CLOCK_MONOTONIC) - t_attach) / 1e6);
	install_signals();
	/* A target that keeps every CPU busy must not starve the consumer into
	 * losing events: it only runs while there is something to drain. Set
	 * after the fork, so the target keeps its own priority. */
	if (setpriority(PRIO_PROCESS, 0, CONSUMER_NICE))
		log_dbg("cannot raise the consumer's priority: %s", strerror(errno));
	if (cfg.duration > 0)
		deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)(cfg.duration * 1e9);

	/* the loop: drain on a cadence (BPF wakes us only when the buffer fills) */
	status_init(&progress, now_ns(CLOCK_MONOTONIC));
	/* tests only: a consumer that falls behind, to check loss accounting */
	delay = getenv("CTRACE_TEST_CONSUMER_DELAY_MS");
	for (;;) {
		status_update(&progress, now_ns(CLOCK_MONOTONIC), trace_total_calls(&tr),
			      skel->bss->lost_total, tr.nthreads);
		if (delay)
			usleep(1000 * (useconds_t)atoi(delay));
		rc = ring_buffer__poll(rb, POLL_MS);
		if (rc >= 0 || rc == -EINTR)
			rc = ring_buffer__consume(rb);
		if (rc < 0 && rc != -EINTR) {
			log_err("reading the ring buffer: %s", strerror(-rc));
			break;
		}
		if (trace_spool_error(&tr)) {
			/* nothing more can be kept: stop probing, the target runs on */
			log_err("writing the trace beside '%s': %s; tracing stopped, the program "
				"runs on untraced", cfg.output, strerror(tr.err));
			break;
		}
		/* the stops BPF asked for (exec, dlopen) end here; a user's
		 * kill -STOP is left alone */
		handle_remaps(&tr, &pr, capture, &probed, &planned, &restorer_files, &selected, preload);
		if (launch && child_alive) {
			pid_t r = waitpid(child.pid, &status, WNOHANG);

			if (r == child.pid) {
				child_alive = false;
				/* the exit is known even if its event was lost */
				if (!tr.procs.v[0]->exited) {
					tr.procs.v[0]->exited = true;
					tr.procs.v[0]->exit_code = (uint32_t)status;
				}
			}
		}
		if (launch ? !child_alive : target_gone(&tr, pidfd, targ)) {
			/* with --follow-forks, until the last one has exited */
			if (!cfg.follow_forks)
				break;
			tr.procs.v[0]->exited = true;
			procs_reap_vanished(&tr.procs);
			if (!procs_live(&tr.procs)) {
				ring_buffer__consume(rb);
				break;
			}
		}
		if (deadline && now_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		if (sig_count > handled) {
			handled = sig_count;
			/* attach: detach now. launch: the target decides, as under
			 * strace; a second signal stops tracing */
			if (!launch || handled > 1)
				break;
			/* the terminal signals the target too; kill(1) does not */
			if (sig_from_user)
				kill(child.pid, sig_last);
		}
	}

	status_clear(&progress);
	/* disarm, detach, then drain what was already recorded */
	skel->bss->armed = 0;
	t_attach = now_ns(CLOCK_MONOTONIC);
	probes_detach_all(&pr);
	log_dbg("detached in %.1f ms", (now_ns(CLOCK_MONOTONIC) - t_attach) / 1e6);
	ring_buffer__consume(rb);
	trace_finish(&tr, "exit not observed (still running when tracing stopped)");
	ri.duration_ns = now_ns(CLOCK_MONOTONIC) - t0;
	ri.lost_events = skel->bss->lost_total + skel->bss->untracked_total;
	/* per thread, from BPF's own count: the events that carried the count
	 * may be among the lost */
	for (size_t i = 0; i < tr.nthreads; i++) {
		__u32 tid = tr.threads[i]->tid;
		__u64 n;

		if (!bpf_map__lookup_elem(skel->maps.thread_lost, &tid, sizeof(tid), &n, sizeof(n), 0))
			tr.threads[i]->lost = n;
	}
	trace_ok = true;
	ret = 0;
	if (launch && !child_alive && child.pid > 0)
		ret = exit_status_from_wait(status, &ri);
	else if (!launch && tr.proc_exited)
		ret = exit_status_from_wait((int)tr.proc_exit_code, &ri);
	if (ri.exit_signal) {
		ri.fatal = crash_find(&tr.crashes, ri.exit_signal, (uint32_t)targ);
		/* the map it died with: after an exec, not the first one */
		ri.mods = symbolizer_modules(tr.procs.v[0]->sym, &ri.nmods);
	}

cleanup:
	if (entry_fd >= 0)
		close(entry_fd);
	probes_detach_all(&pr);
	if (trace_ok && tr.err) {
		output_abort(&out);
		no_trace = true;
	} else if (trace_ok) {
		ri.cfg = &cfg;
		ri.pid = targ;
		ri.executable = exe;
		if (launch) {
			ri.command = cfg.argv;
			ri.ncommand = cfg.argc;
		} else {
			cmdline = read_cmdline(targ, &ri.ncommand);
			ri.command = cmdline;
		}
		if (output_write(&out, &tr, &ri) || output_commit(&out)) {
			output_abort(&out);
			no_trace = true;
		} else {
			struct stat st;
			if (ri.lost_events)
				log_warn("%lu events lost (the ring buffer was full): raise --buffer-size",
					 (unsigned long)ri.lost_events);
			if (trace_total_resyncs(&tr))
				log_warn("%lu gaps in the call trees that no lost event explains: a tracer "
					 "fault (the nodes concerned say so); please report it",
					 (unsigned long)trace_total_resyncs(&tr));
			if (stat(cfg.output, &st)) {
				st.st_size = 0;
				st.st_mode = 0;
			}
			if (cfg.format && strcmp(cfg.format, "json")) {
				char conv[PATH_MAX];

				snprintf(err, sizeof(err), "the output name is too long");
				if (!S_ISREG(st.st_mode))
					log_warn("--format %s: %s is not a file to read back", cfg.format,
						 cfg.output);
				else if (convert_output_name(cfg.output, cfg.format, conv, sizeof(conv)) ||
					 convert_file(cfg.output, conv, cfg.format, false, err, sizeof(err)))
					log_warn("--format %s: %s", cfg.format, err);
				else
					log_info("%s -> %s", cfg.format, conv);
			}
			fprintf(stderr, "ctrace-bpf: %lu calls in %zu threads, %lu lost events -> %s (%.1f %s)\n",
				(unsigned long)trace_total_calls(&tr), tr.nthreads,
				(unsigned long)ri.lost_events, cfg.output,
				st.st_size >= (1 << 20) ? st.st_size / 1048576.0 : st.st_size / 1024.0,
				st.st_size >= (1 << 20) ? "MiB" : "KiB");
		}
	} else {
		output_abort(&out);
	}
	if (launch && child.pid > 0 && child_alive) {
		/* tracing stopped early (--duration, second Ctrl-C): the target
		 * runs on untraced; its exit status is still ours to return */
		if (!trace_ok) {
			launch_kill(&child);
		} else {
			pid_t r;

			handled = sig_count;
			while ((r = waitpid(child.pid, &status, 0)) < 0 && errno == EINTR) {
				if (sig_count > handled && sig_from_user)
					kill(child.pid, sig_last);
				if (sig_count - handled >= 2)
					break;
			}
			if (r == child.pid) {
				ret = exit_status_from_wait(status, &ri);
			} else {
				log_warn("process %d left running untraced", (int)child.pid);
				ret = 128 + SIGINT;
			}
		}
	} else if (launch && !trace_ok && child.pid > 0 && !child_alive) {
		launch_kill(&child);
	}
	/* no trace: whatever the target did, scripts must see the failure */
	if (no_trace)
		ret = 1;
	if (cmdline) {
		free(cmdline[0]);
		free(cmdline);
	}
	if (pidfd >= 0)
		close(pidfd);
	trace_free(&tr);
	modset_free(&probed);
	modset_free(&planned);
	modset_free(&restorer_files);
	modset_free(&selected);
	capture_free(capture);
	symbolizer_free(sym);
	ring_buffer__free(rb);
	ctrace_bpf__destroy(skel);
	if (img)
		elf_image_free(img);
	filter_free(cfg.filter);
	filter_free(cfg.capture_filter);
	return ret;
}
