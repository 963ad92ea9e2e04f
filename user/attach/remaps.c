/* The target's map as it changes while traced (exec, dlopen, a new image's
 * start-up), and the signal handlers a crash's cause is read from. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "attach/batch.h"
#include "attach/capture_plans.h"
#include "attach/modules.h"
#include "attach/probes.h"
#include "attach/remaps.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "ctrace.skel.h"
#include "find/elf_image.h"
#include "utils/log.h"

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
void modsets_free(struct modsets *m)
{
	modset_free(&m->probed);
	modset_free(&m->planned);
	modset_free(&m->restorers);
	modset_free(&m->selected);
}

void handle_remaps(struct trace *tr, struct probes *pr, struct capture *capture,
		   struct modsets *done, bool preload)
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
			    modules_probe_new(pr, p->sym, exe, &done->probed) < 0)
				log_warn("process %d: new code in %s is not traced", (int)p->pid,
					 exe);
			modules_forget_gone(capture, pr, p->sym, &done->planned, &done->selected,
					    p->gen);
			modules_select_new(pr, p->sym, &done->selected, p->gen);
			/* --probe batch: the process's own set, in the hooks */
			batch_sel_sync(pr, p->pid, p->sym);
			modules_plan_new(capture, pr, p->sym, &done->planned, p->gen);
			if (modules_watch_jumps(pr, p->sym, &done->probed))
				log_warn(
					"process %d: longjmp out of traced calls may misplace them",
					(int)p->pid);
			/* a new image's C library sits elsewhere */
			if (pr->skel->links.on_signal_deliver &&
			    modules_watch_sigreturn(pr, p->sym, &done->restorers) < 0)
				log_warn("process %d: signal handlers are not followed",
					 (int)p->pid);
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
void watch_handlers(struct probes *pr, struct symbolizer *sym, struct modset *done)
{
	struct ctrace_bpf *skel = pr->skel;

	if (!skel->links.on_signal_deliver)
		skel->links.on_signal_deliver = bpf_program__attach(skel->progs.on_signal_deliver);
	if (!skel->links.on_signal_deliver)
		log_warn("cannot attach to signal_deliver (%s): crashes are reported without "
			 "their cause",
			 strerror(errno));
	else if (modules_watch_sigreturn(pr, sym, done) <= 0)
		log_warn("no signal return trampoline found to probe: crashes are reported "
			 "without their cause");
}
