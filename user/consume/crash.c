#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "consume/capture_decode.h"
#include "consume/crash.h"
#include "ctrace.h"
#include "write/jsonw.h"
#include "utils/log.h"
#include "consume/symbolize.h"
#include "rebuild/tree.h"
#include "consume/unwind.h"

const char *signal_name(int sig)
{
	static const char *const names[] = {
		[1] = "SIGHUP",	  [2] = "SIGINT",     [3] = "SIGQUIT",	[4] = "SIGILL",
		[5] = "SIGTRAP",  [6] = "SIGABRT",    [7] = "SIGBUS",	[8] = "SIGFPE",
		[9] = "SIGKILL",  [10] = "SIGUSR1",   [11] = "SIGSEGV", [12] = "SIGUSR2",
		[13] = "SIGPIPE", [14] = "SIGALRM",   [15] = "SIGTERM", [16] = "SIGSTKFLT",
		[17] = "SIGCHLD", [18] = "SIGCONT",   [19] = "SIGSTOP", [20] = "SIGTSTP",
		[21] = "SIGTTIN", [22] = "SIGTTOU",   [23] = "SIGURG",	[24] = "SIGXCPU",
		[25] = "SIGXFSZ", [26] = "SIGVTALRM", [27] = "SIGPROF", [28] = "SIGWINCH",
		[29] = "SIGIO",	  [30] = "SIGPWR",    [31] = "SIGSYS",
	};
	if (sig > 0 && sig < (int)(sizeof(names) / sizeof(names[0])) && names[sig])
		return names[sig];
	return "signal";
}

/* si_code's meaning, per signal (siginfo.h) */
static const char *code_name(int sig, int code)
{
	static const char *const segv[] = { NULL,	    "SEGV_MAPERR",  "SEGV_ACCERR",
					    "SEGV_BNDERR",  "SEGV_PKUERR",  "SEGV_ACCADI",
					    "SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR",
					    "SEGV_MTESERR", "SEGV_CPERR" };
	static const char *const bus[] = { NULL,	 "BUS_ADRALN",	  "BUS_ADRERR",
					   "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO" };
	static const char *const fpe[] = { NULL,	 "FPE_INTDIV", "FPE_INTOVF",
					   "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND",
					   "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB" };
	static const char *const ill[] = { NULL,	 "ILL_ILLOPC", "ILL_ILLOPN",
					   "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC",
					   "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK" };
	static const char *const trap[] = { NULL,	   "TRAP_BRKPT",  "TRAP_TRACE",
					    "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK" };
#define PICK(t) (code > 0 && code < (int)(sizeof(t) / sizeof(t[0])) ? t[code] : NULL)
	switch (code) {
	case 0: return "SI_USER";
	case 0x80: return "SI_KERNEL";
	case -1: return "SI_QUEUE";
	case -6: return "SI_TKILL";
	}
	switch (sig) {
	case 11: return PICK(segv);
	case 7: return PICK(bus);
	case 8: return PICK(fpe);
	case 4: return PICK(ill);
	case 5: return PICK(trap);
	case 31: return code == 1 ? "SYS_SECCOMP" : NULL;
	}
	return NULL;
#undef PICK
}

static bool has_fault_address(int sig, int code)
{
	return code > 0 && code < 0x80 &&
	       (sig == 11 || sig == 7 || sig == 8 || sig == 4 || sig == 5);
}

/* a fault the kernel raised, or an abort: what a handler may take before
 * the process dies another way (the BPF side's cause_signal) */
static bool cause_signal(int sig, int code)
{
	return sig == 6 || (code > 0 && (sig == 4 || sig == 5 || sig == 7 || sig == 8 ||
					 sig == 11 || sig == 31));
}

static void note_hold(struct crash_log *l, size_t idx1)
{
	if (idx1)
		l->v[idx1 - 1].refs++;
}

/* one keeper fewer: with none left, the details go, and its cause's keeper */
static void note_release(struct crash_log *l, size_t idx1)
{
	while (idx1) {
		struct signal_note *n = &l->v[idx1 - 1];

		if (!n->refs || --n->refs)
			return;
		for (size_t k = 0; k < n->nframes; k++)
			free(n->frames[k].args);
		free(n->frames);
		free(n->rec);
		n->frames = NULL;
		n->nframes = 0;
		n->rec = NULL;
		n->dropped = true;
		idx1 = n->cause;
	}
}

static void set_kept(struct crash_log *l, size_t *slot, size_t idx1)
{
	size_t old = *slot;

	note_hold(l, idx1);
	*slot = idx1;
	note_release(l, old);
}

/* the fault's traced calls are all still open in its thread: a handler
 * that left them by siglongjmp has not come back to them */
static bool frames_open(const struct signal_note *c, const struct thread_tree *t)
{
	size_t k = c->nframes;

	for (uint32_t i = 0; i < t->nstack && k; i++) {
		const struct frame *f = &t->stack[i];
		const struct crash_frame *cf;

		if (!f->visible)
			continue;
		cf = &c->frames[--k];
		if (cf->fn != f->fn || cf->start != f->start)
			return false;
	}
	return k == 0;
}

/* the earlier fault (seq + 1 as BPF sent it) whose handler the sender ran */
static size_t find_cause(const struct crash_log *l, uint32_t cause, const struct thread_tree *s)
{
	if (!cause || !s)
		return 0;
	for (size_t i = l->n - 1; i-- > 0;) {
		const struct signal_note *c = &l->v[i];

		if (c->seq != cause - 1)
			continue;
		if (c->tree != s || c->dropped || !cause_signal(c->sig, c->code) ||
		    !frames_open(c, s))
			return 0;
		return i + 1;
	}
	return 0;
}

static void copy_frames(struct signal_note *n, const struct thread_tree *t)
{
	size_t k = 0;

	n->frames = calloc(t->nstack ? t->nstack : 1, sizeof(*n->frames));
	if (!n->frames)
		return;
	/* innermost first; frames hidden by -F/-N are not traced calls */
	for (uint32_t i = t->nstack; i-- > 0;) {
		const struct frame *f = &t->stack[i];
		if (!f->visible)
			continue;
		n->frames[k].fn = f->fn;
		n->frames[k].start_known = f->fn != NULL;
		n->frames[k].start = f->start;
		if (f->args && (n->frames[k].args = malloc(f->args_size))) {
			memcpy(n->frames[k].args, f->args, f->args_size);
			n->frames[k].args_size = f->args_size;
		}
		k++;
	}
	n->nframes = k;
}

void crash_note_signal(struct crash_log *l, const void *ev, struct thread_tree *t,
		       struct thread_tree *sender, uint64_t ts)
{
	const struct ctrace_signal *e = ev;
	struct signal_note *n;
	size_t idx1;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		void *nv = realloc(l->v, nc * sizeof(*l->v));
		if (!nv)
			return;
		l->v = nv;
		l->cap = nc;
	}
	n = &l->v[l->n++];
	idx1 = l->n;
	memset(n, 0, sizeof(*n));
	n->seq = e->seq;
	n->tid = e->h.tid;
	n->pid = t ? t->pid : 0;
	n->tree = t;
	n->sig = e->sig;
	n->code = e->code;
	n->addr = e->addr;
	n->ts = ts;
	for (size_t i = 0; i < l->npending; i++) {
		if (l->pending[i]->seq == n->seq) {
			n->rec = l->pending[i];
			l->pending[i] = l->pending[--l->npending];
			break;
		}
	}
	if (!t)
		return;
	snprintf(n->thread_name, sizeof(n->thread_name), "%s", t->name);
	copy_frames(n, t);
	n->cause = find_cause(l, e->cause, sender);
	note_hold(l, n->cause);
	set_kept(l, &t->crash_last, idx1);
	if (cause_signal(n->sig, n->code))
		set_kept(l, &t->crash_cand, idx1);
}

int crash_on_record(void *ctx, void *data, size_t size)
{
	struct crash_log *l = ctx;
	const struct ctrace_crash_rec *r = data;

	struct ctrace_crash_rec *copy, **np;

	if (size < sizeof(*r))
		return 0;
	copy = malloc(sizeof(*r));
	if (!copy)
		return 0;
	memcpy(copy, r, sizeof(*r));
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].seq == r->seq && !l->v[i].rec) {
			if (l->v[i].dropped) /* superseded before its record came */
				free(copy);
			else
				l->v[i].rec = copy;
			return 0;
		}
	}
	/* the two buffers are drained in either order: keep it for its note */
	np = realloc(l->pending, (l->npending + 1) * sizeof(*np));
	if (!np) {
		free(copy);
		return 0;
	}
	l->pending = np;
	l->pending[l->npending++] = copy;
	return 0;
}

static bool of_process(const struct signal_note *n, int sig, uint32_t pid)
{
	return n->sig == sig && (!n->pid || n->pid == pid);
}

/* The same signal as delivered: a thread's own first (a signal sent to
 * the process is noted for the thread it names, which need not be the one
 * that takes it) */
void crash_note_fatal(struct crash_log *l, const void *ev, uint32_t pid)
{
	const struct ctrace_signal *e = ev;

	for (int own = 1; own >= 0; own--) {
		for (size_t i = l->n; i-- > 0;) {
			struct signal_note *n = &l->v[i];

			if (of_process(n, e->sig, pid) && n->code == e->code &&
			    n->addr == e->addr && (!own || n->tid == e->h.tid)) {
				n->fatal = true;
				return;
			}
		}
	}
}

const struct signal_note *crash_find(const struct crash_log *l, int sig, uint32_t pid)
{
	for (size_t i = l->n; i-- > 0;)
		if (l->v[i].fatal && of_process(&l->v[i], sig, pid))
			return &l->v[i];
	for (size_t i = l->n; i-- > 0;)
		if (of_process(&l->v[i], sig, pid))
			return &l->v[i];
	return NULL;
}

static void write_frame_ident(FILE *f, const struct func_info *fn)
{
	jsonw_key(f, "function");
	if (!fn) {
		fputs("\"[unknown]\",\"module\":null,\"address\":null", f);
		return;
	}
	jsonw_cstr(f, fn->name);
	jsonw_member_cstr(f, "module", fn->module);
	jsonw_member_hex(f, "address", fn->addr);
}

static void write_registers(FILE *f, const struct ctrace_crash_rec *r)
{
	fputc('{', f);
	for (int i = 0; i < CTRACE_NREGS; i++) {
		if (i)
			jsonw_next_key(f, ctrace_reg_name(i));
		else
			jsonw_key(f, ctrace_reg_name(i));
		jsonw_hex(f, r->regs[i]);
	}
	fputc('}', f);
}

/* the innermost frames' arguments, as the JSON holds them */
static void summary_args(FILE *s, struct capture *cap, const struct crash_frame *fr)
{
	struct tree_extra x;
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (!cap || !fr->fn || !fr->args)
		return;
	capture_args_extra(cap, fr->fn, fr->args, fr->args_size, &x);
	if (!x.write || !(m = open_memstream(&buf, &len)))
		return;
	x.write(m, x.arg);
	fclose(m);
	if (buf && len > 13) /* skip ,"arguments": */
		fprintf(s, "        arguments: %s\n", buf + 13);
	free(buf);
}

/* what the writer of a crash object needs, for each note of the chain */
struct crash_out {
	const struct crash_log *l;
	pid_t pid;
	const struct module *mods;
	size_t nmods;
	struct capture *cap;
	FILE *s; /* the stderr summary, or NULL */
};

/* causes nested deeper are left out (each one needed a handler running
 * inside the last one's) */
#define CAUSE_MAX 8

static void summary_head(FILE *s, const struct signal_note *n, const char *code, bool is_cause,
			 bool has_cause)
{
	fputs("ctrace-bpf: ", s);
	if (has_cause)
		fputs("while that handler ran, ", s);
	if (is_cause)
		fprintf(s, "the target got %s", signal_name(n->sig));
	else
		fprintf(s, "the target died of %s", signal_name(n->sig));
	if (code)
		fprintf(s, " (%s)", code);
	if (has_fault_address(n->sig, n->code))
		fprintf(s, " at address 0x%" PRIx64, n->addr);
	fprintf(s, " in thread %u (%s)%s\n", n->tid, n->thread_name,
		is_cause ? "; a handler took it:" : "");
}

static void summary(FILE *s, const struct signal_note *n, const char *code, bool is_cause,
		    const struct bt_frame *bt, size_t nbt, struct capture *cap)
{
	summary_head(s, n, code, is_cause, n->cause != 0);
	if (n->nframes) {
		fprintf(s, "ctrace-bpf: traced calls, innermost first:\n");
		for (size_t i = 0; i < n->nframes && i < 16; i++) {
			fprintf(s, "    #%zu %s (%s)\n", i,
				n->frames[i].fn ? n->frames[i].fn->name : "[unknown]",
				n->frames[i].fn ? n->frames[i].fn->module : "?");
			if (i < 3)
				summary_args(s, cap, &n->frames[i]);
		}
	}
	if (nbt) {
		fprintf(s, "ctrace-bpf: backtrace:\n");
		for (size_t i = 0; i < nbt && i < 16; i++) {
			fprintf(s, "    #%zu 0x%" PRIx64 " %s", i, bt[i].pc,
				bt[i].function ? bt[i].function : "??");
			if (bt[i].file)
				fprintf(s, " at %s:%d", bt[i].file, bt[i].line);
			fprintf(s, " (%s)\n", bt[i].module ? bt[i].module : "?");
		}
	}
}

static void write_call_stack(FILE *f, const struct signal_note *n, struct capture *cap)
{
	if (n->dropped) { /* superseded by the thread's later signals */
		fputs("null", f);
		return;
	}
	fputc('[', f);
	for (size_t i = 0; i < n->nframes; i++) {
		if (i)
			fputc(',', f);
		fputc('{', f);
		write_frame_ident(f, n->frames[i].fn);
		if (jsonw_member_or_null(f, "start_ns", n->frames[i].start_known))
			jsonw_u64(f, n->frames[i].start);
		if (cap && n->frames[i].fn) {
			struct tree_extra x;

			capture_args_extra(cap, n->frames[i].fn, n->frames[i].args,
					   n->frames[i].args_size, &x);
			if (x.write)
				x.write(f, x.arg);
		}
		fputc('}', f);
	}
	fputc(']', f);
}

static void write_backtrace(FILE *f, const struct bt_frame *bt, size_t nbt)
{
	fputc('[', f);
	for (size_t i = 0; i < nbt; i++) {
		if (i)
			fputc(',', f);
		fputc('{', f);
		jsonw_key(f, "pc");
		jsonw_hex(f, bt[i].pc);
		jsonw_member_cstr(f, "function", bt[i].function);
		if (jsonw_member_or_null(f, "offset", bt[i].function))
			jsonw_hex(f, bt[i].offset);
		jsonw_member_cstr(f, "module", bt[i].module);
		jsonw_member_cstr(f, "file", bt[i].file);
		if (jsonw_member_or_null(f, "line", bt[i].file))
			jsonw_i64(f, bt[i].line);
		fputc('}', f);
	}
	fputc(']', f);
}

/* one crash object; its cause is written (and summarised) first, so the
 * summary reads in the order things happened */
static void write_note(FILE *f, const struct crash_out *o, const struct signal_note *n,
		       unsigned level)
{
	const char *code = code_name(n->sig, n->code);
	struct bt_frame *bt = NULL;
	size_t nbt = 0;
	bool have_bt;

	fputc('{', f);
	jsonw_key(f, "signal");
	jsonw_i64(f, n->sig);
	jsonw_member_cstr(f, "signal_name", signal_name(n->sig));
	jsonw_member_i64(f, "si_code", n->code);
	jsonw_member_cstr(f, "si_code_name", code);
	jsonw_member_u64(f, "thread_id", n->tid);
	jsonw_member_cstr(f, "thread_name", n->thread_name);
	jsonw_member_u64(f, "time_ns", n->ts);
	if (jsonw_member_or_null(f, "fault_address", has_fault_address(n->sig, n->code)))
		jsonw_hex(f, n->addr);
	if (n->rec) {
		jsonw_next_key(f, "instruction_pointer");
		jsonw_hex(f, n->rec->regs[CTRACE_REG_RIP]);
		jsonw_next_key(f, "stack_pointer");
		jsonw_hex(f, n->rec->regs[CTRACE_REG_RSP]);
		jsonw_next_key(f, "registers");
		write_registers(f, n->rec);
	}
	jsonw_next_key(f, "call_stack");
	write_call_stack(f, n, o->cap);
	have_bt = n->rec && !unwind_crash(o->pid, n->rec, o->mods, o->nmods, &bt, &nbt);
	if (jsonw_member_or_null(f, "backtrace", have_bt))
		write_backtrace(f, bt, nbt);
	if (jsonw_member_or_null(f, "cause", n->cause && level < CAUSE_MAX))
		write_note(f, o, &o->l->v[n->cause - 1], level + 1);
	if (n->cause && level >= CAUSE_MAX)
		fputs(",\"cause_omitted\":true", f);
	fputc('}', f);
	if (o->s)
		summary(o->s, n, code, level > 0, bt, nbt, o->cap);
	unwind_free(bt, nbt);
}

void crash_write_json(FILE *f, const struct crash_log *l, const struct signal_note *n, pid_t pid,
		      const struct module *mods, size_t nmods, struct capture *cap, FILE *s,
		      const char *output)
{
	struct crash_out o = {
		.l = l, .pid = pid, .mods = mods, .nmods = nmods, .cap = cap, .s = s
	};

	write_note(f, &o, n, 0);
	if (s)
		fprintf(s, "ctrace-bpf: crash report in %s (.crash)\n", output);
}

void crash_write_thread_signals(FILE *f, const struct crash_log *l, const struct thread_tree *t,
				const struct signal_note *fatal)
{
	bool first = true;

	for (size_t i = 0; i < l->n; i++) {
		const struct signal_note *n = &l->v[i];

		if (n->tree != t)
			continue;
		fputs(first ? ",\"signals\":[" : ",", f);
		first = false;
		fputc('{', f);
		jsonw_key(f, "signal");
		jsonw_i64(f, n->sig);
		jsonw_member_cstr(f, "signal_name", signal_name(n->sig));
		jsonw_member_i64(f, "si_code", n->code);
		jsonw_member_u64(f, "time_ns", n->ts);
		if (jsonw_member_or_null(f, "fault_address", has_fault_address(n->sig, n->code)))
			jsonw_hex(f, n->addr);
		jsonw_next_key(f, "fatal");
		fputs(n == fatal ? "true" : "false", f);
		fputc('}', f);
	}
	if (!first)
		fputc(']', f);
}

void crash_free(struct crash_log *l)
{
	for (size_t i = 0; i < l->n; i++) {
		for (size_t k = 0; k < l->v[i].nframes; k++)
			free(l->v[i].frames[k].args);
		free(l->v[i].frames);
		free(l->v[i].rec);
	}
	for (size_t i = 0; i < l->npending; i++)
		free(l->pending[i]);
	free(l->pending);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
