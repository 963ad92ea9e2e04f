/* libFuzzer harness: ring-buffer records → trace_on_event() → the whole JSON
 * document (output_write) and the crash report (crash_write_json), which must
 * always be valid JSON with consistent call nodes, whatever the records say.
 *
 * Input: one flags byte (bit 0: attach mode; bit 1: a filter that hides every
 * function; bit 2: --min-duration 1us; bit 3: --keep-if rules on functions
 * of the seeds, rebuild/keep_filter.h), then chunks of a little-endian u16 header and that many bytes.
 * The header's low 15 bits are the length; with bit 15 set the bytes are the
 * start of a crash-buffer record (zero-padded to its fixed size) for
 * crash_on_record(), else they are one main-buffer record, passed with its
 * exact size in a buffer of that size (so ASan sees any over-read).
 *
 * The symbolizer is for a pid with no /proc entry: every address is named
 * "0x…" and no ELF is read. The crash report unwinds through one fake module,
 * the ELF named by FUZZ_UNWIND_ELF (a seed of fuzz_elf), loaded at
 * UNWIND_BASE, so registers and stack bytes drive libdwfl's CFI unwinder.
 * The same module is planned for --args from its DWARF (no BPF maps), and
 * every ENTER_ARGS record's key and function are moved onto one of its
 * sites (chosen by the key), so the argument records are decoded: values,
 * followed targets and member strings from the input's bytes. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "attach/capture_plans.h"
#include "cli.h"
#include "consume/crash.h"
#include "ctrace.h"
#include "find/elf_image.h"
#include "find/hook_sites.h"
#include "fuzz_check.h"
#include "write/output.h"
#include "find/pattern.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "find/keep_expr.h"
#include "rebuild/keep_filter.h"
#include "rebuild/tree.h"

#define FAKE_PID 0x7ffffff0 /* above any pid_max: symbolize() names addresses "0x…" */
#define T0	 1000000000ull
/* Depth jumps cost one placeholder frame per level, and the JSON nests two
 * levels per frame: cJSON parses at most 1000, so depths stay within ±200
 * (records beyond that are dropped, not clamped). */
#define DEPTH_LIMIT 200
#define UNWIND_BASE 0x10000000ull

static int spool_dirfd = -1;
static FILE *devnull;
static struct module unwind_mod;
static size_t unwind_nmods;
/* --args on the module: its entry sites' plan keys and functions */
static struct capture *cap;
static struct config cap_cfg = { .args = true, .string_size = 128 };
static uint64_t *site_keys, *site_fns;
static size_t nsites;

static void load_unwind_module(void)
{
#ifdef FUZZ_UNWIND_ELF
	struct elf_image *img;
	char err[256];

	if (elf_image_open(FUZZ_UNWIND_ELF, &img, err, sizeof(err))) {
		fprintf(stderr, "fuzz_events: no module for the unwinder: %s\n", err);
		return;
	}
	for (size_t i = 0; i < img->nloads; i++) {
		const struct elf_load *l = &img->loads[i];
		uint64_t bias = img->e_type == ET_DYN ? UNWIND_BASE : 0;

		if (!(l->flags & PF_X))
			continue;
		/* a mapping, as /proc/PID/maps would show the executable segment */
		unwind_mod.start = bias + (l->vaddr & ~0xfffull);
		unwind_mod.end = bias + l->vaddr + l->memsz;
		unwind_mod.offset = l->offset & ~0xfffull;
		unwind_mod.path = unwind_mod.open_path = img->path;
		unwind_mod.name = "unwind-module";
		unwind_mod.img = img;
		unwind_nmods = 1;
		fprintf(stderr, "fuzz_events: unwinder module %s at 0x%llx-0x%llx\n", img->path,
			(unsigned long long)unwind_mod.start, (unsigned long long)unwind_mod.end);
		return;
	}
	elf_image_free(img);
#endif
}

static void plan_unwind_module(void)
{
	struct hook_site *s = NULL;
	uint64_t bias = UNWIND_BASE;
	size_t n = 0;
	char err[256];

	if (!unwind_nmods || hook_sites_find(unwind_mod.img, &s, &n, err, sizeof(err)))
		return;
	cap_cfg.filter = filter_new();
	cap = cap_cfg.filter ? capture_new(&cap_cfg, NULL, NULL, false) : NULL;
	site_keys = calloc(n ? n : 1, sizeof(*site_keys));
	site_fns = calloc(n ? n : 1, sizeof(*site_fns));
	FUZZ_ASSERT(cap && site_keys && site_fns, "out of memory");
	if (unwind_mod.img->e_type != ET_DYN)
		bias = 0;
	capture_add_module(cap, NULL, &unwind_mod, 0);
	for (size_t i = 0; i < n; i++) {
		if (s[i].kind != HOOK_ENTER || !s[i].this_fn)
			continue;
		site_keys[nsites] = bias + s[i].vaddr + s[i].len;
		site_fns[nsites++] = bias + s[i].this_fn;
	}
	free(s);
	fprintf(stderr, "fuzz_events: %zu entry sites, %llu planned\n", nsites,
		(unsigned long long)capture_nplans(cap));
}

/* Spools are unnamed (O_TMPFILE) files in a directory beside the binary:
 * nothing is left behind, even by a crash. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *dir = NULL;

	(void)argc;
	if (asprintf(&dir, "%s/spool", dirname(strdupa((*argv)[0]))) < 0 ||
	    (mkdir(dir, 0700) && errno != EEXIST) ||
	    (spool_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    !(devnull = fopen("/dev/null", "w"))) {
		perror("fuzz_events: setup");
		abort();
	}
	free(dir);
	load_unwind_module();
	plan_unwind_module();
	return 0;
}

static bool is_proc_record(uint32_t kind)
{
	return kind == CTRACE_EV_FORK || kind == CTRACE_EV_EXEC || kind == CTRACE_EV_DLSTATE;
}

static bool is_call_record(uint32_t kind)
{
	return kind != CTRACE_EV_THREAD && kind != CTRACE_EV_THREAD_EXIT &&
	       kind != CTRACE_EV_SIGNAL && kind != CTRACE_EV_RETVAL && !is_proc_record(kind);
}

/* process ids above pid_max, so that no symbolizer reads a real /proc entry */
static uint32_t fake_pid(uint32_t pid)
{
	return FAKE_PID + (pid & 7);
}

static void feed(struct trace *tr, const uint8_t *p, size_t len, bool crash_rec)
{
	if (crash_rec) {
		struct ctrace_crash_rec *r = calloc(1, sizeof(*r));

		FUZZ_ASSERT(r, "out of memory");
		memcpy(r, p, len < sizeof(*r) ? len : sizeof(*r));
		crash_on_record(&tr->crashes, r, sizeof(*r));
		free(r);
		return;
	}
	uint8_t *rec = malloc(len ? len : 1);

	FUZZ_ASSERT(rec, "out of memory");
	memcpy(rec, p, len);
	if (len >= sizeof(struct ctrace_proc) && is_proc_record(((struct ctrace_hdr *)rec)->kind)) {
		struct ctrace_proc *e = (struct ctrace_proc *)rec;

		e->tgid = fake_pid(e->tgid);
		if (e->h.kind == CTRACE_EV_FORK)
			e->parent = fake_pid(e->parent);
	}
	if (len >= sizeof(struct ctrace_thread) &&
	    (((struct ctrace_hdr *)rec)->kind == CTRACE_EV_THREAD ||
	     ((struct ctrace_hdr *)rec)->kind == CTRACE_EV_THREAD_EXIT))
		((struct ctrace_thread *)rec)->tgid = fake_pid(((struct ctrace_thread *)rec)->tgid);
	if (len >= sizeof(struct ctrace_call) && is_call_record(((struct ctrace_hdr *)rec)->kind)) {
		int32_t d = ((struct ctrace_call *)rec)->depth;

		if (d > DEPTH_LIMIT || d < -DEPTH_LIMIT) {
			free(rec);
			return;
		}
	}
	if (nsites && len >= __builtin_offsetof(struct ctrace_call_args, arg) &&
	    (((struct ctrace_hdr *)rec)->kind == CTRACE_EV_ENTER_ARGS ||
	     ((struct ctrace_hdr *)rec)->kind == CTRACE_EV_ENTER_ARGS_SMALL)) {
		/* the small record has the same head */
		struct ctrace_call_args *e = (struct ctrace_call_args *)rec;
		size_t k = e->key % nsites;

		e->key = site_keys[k];
		e->c.fn = site_fns[k];
	}
	trace_on_event(tr, rec, len);
	free(rec);
}

static bool is_null_or_number(const cJSON *v)
{
	return v && (cJSON_IsNull(v) || cJSON_IsNumber(v));
}

/* One call node and its children; returns how many nodes. The contract
 * (README "Output"): times not observed are null, and such a node says why. */
static uint64_t check_node(const cJSON *n)
{
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(n, "function");
	const cJSON *start = cJSON_GetObjectItemCaseSensitive(n, "start_ns");
	const cJSON *end = cJSON_GetObjectItemCaseSensitive(n, "end_ns");
	const cJSON *dur = cJSON_GetObjectItemCaseSensitive(n, "duration_ns");
	const cJSON *kids = cJSON_GetObjectItemCaseSensitive(n, "children");
	const cJSON *partial = cJSON_GetObjectItemCaseSensitive(n, "partial");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(n, "partial_reason");
	const cJSON *k;
	uint64_t count = 1;

	FUZZ_ASSERT(cJSON_IsObject(n), "a call node is not an object");
	FUZZ_ASSERT(cJSON_IsString(fn), "a call node without a function name");
	FUZZ_ASSERT(cJSON_GetObjectItemCaseSensitive(n, "address") &&
			    cJSON_GetObjectItemCaseSensitive(n, "module"),
		    "%s: no address or module", fn->valuestring);
	FUZZ_ASSERT(is_null_or_number(start) && is_null_or_number(end) && is_null_or_number(dur),
		    "%s: start_ns/end_ns/duration_ns missing or not numbers", fn->valuestring);
	FUZZ_ASSERT(cJSON_IsNull(dur) == (cJSON_IsNull(start) || cJSON_IsNull(end)),
		    "%s: duration_ns known iff start and end are", fn->valuestring);
	FUZZ_ASSERT(!(cJSON_IsNull(start) || cJSON_IsNull(end)) || cJSON_IsTrue(partial),
		    "%s: a time is null but the node is not partial", fn->valuestring);
	FUZZ_ASSERT(!partial || (cJSON_IsTrue(partial) && cJSON_IsString(reason)),
		    "%s: partial without a partial_reason", fn->valuestring);
	FUZZ_ASSERT(cJSON_IsArray(kids), "%s: children is not an array", fn->valuestring);
	cJSON_ArrayForEach(k, kids) count += check_node(k);
	return count;
}

static void check_document(const char *doc, size_t len)
{
	cJSON *root = fuzz_json_parse(doc, len, true, "trace document");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
	const cJSON *trees = cJSON_GetObjectItemCaseSensitive(root, "call_trees");
	const cJSON *t, *n;
	double total = 0;

	FUZZ_ASSERT(cJSON_IsObject(meta) && cJSON_IsObject(trees), "no metadata or call_trees");
	cJSON_ArrayForEach(t, trees)
	{
		const cJSON *calls = cJSON_GetObjectItemCaseSensitive(t, "total_calls");
		const cJSON *roots = cJSON_GetObjectItemCaseSensitive(t, "root_calls");
		uint64_t count = 0;

		FUZZ_ASSERT(cJSON_IsNumber(calls) && cJSON_IsArray(roots),
			    "thread %s: no total_calls or root_calls", t->string);
		cJSON_ArrayForEach(n, roots) count += check_node(n);
		FUZZ_ASSERT((double)count == calls->valuedouble,
			    "thread %s: total_calls %.0f but %llu nodes", t->string,
			    calls->valuedouble, (unsigned long long)count);
		total += calls->valuedouble;
	}
	n = cJSON_GetObjectItemCaseSensitive(meta, "total_calls");
	FUZZ_ASSERT(cJSON_IsNumber(n) && n->valuedouble == total,
		    "metadata.total_calls is not the sum");
	cJSON_Delete(root);
}

/* --min-duration / --keep-if of this input (flags bits 2 and 3) */
static struct keep_filter_opts keep;
static struct keep_rule keep_rules[3];

static void keep_setup(struct trace *tr, uint8_t flags)
{
	/* functions of the seeds (named by address: no /proc for FAKE_PID) */
	static const char *const text[] = { "0x10000c80: retval < 0 || arg.a == 1",
					    "0x555555555040: duration > 100ns && arg.b == 0",
					    "0x10000f00: retval == 0x0 || duration >= 1us" };
	struct tree_sink *in = tr->sink;
	char err[128];

	if (!keep_rules[0].func)
		for (size_t i = 0; i < 3; i++)
			FUZZ_ASSERT(!keep_rule_parse(&keep_rules[i], text[i], err, sizeof(err)),
				    "keep-if: %s", err);
	keep = (struct keep_filter_opts){ .min_duration = flags & 4,
					  .min_duration_ns = 1000,
					  .rules = keep_rules,
					  .nrules = flags & 8 ? 3 : 0 };
	if (!keep.min_duration && !keep.nrules)
		return;
	tr->sink = NULL;
	trace_set_sink(tr, keep_filter_wrap(in, &keep));
	FUZZ_ASSERT(tr->sink, "out of memory");
}

/* output_write() as main.c calls it, into memory */
static void write_document(struct trace *tr, struct filter *flt, const struct signal_note *fatal,
			   const struct run_info *exit_ri)
{
	struct config cfg = { .output = "fuzz.json",
			      .filter = flt,
			      .buffer_size = 1 << 24,
			      .probe = PROBE_CALLSITE,
			      .min_duration = keep.min_duration,
			      .min_duration_ns = keep.min_duration_ns,
			      .keep_if = keep_rules,
			      .nkeep_if = keep.nrules };
	char *argv[] = { "prog", "arg" };
	struct run_info ri = *exit_ri;
	struct output o = { .path = "fuzz.json", .dirfd = -1 };
	char *doc = NULL;
	size_t len = 0;
	FILE *saved = stderr;
	int rc;

	ri.cfg = &cfg;
	ri.command = argv;
	ri.ncommand = 2;
	ri.pid = FAKE_PID;
	ri.executable = "/fuzz/prog";
	ri.probe_mode = "callsite";
	ri.fatal = fatal;
	ri.mods = &unwind_mod;
	ri.nmods = unwind_nmods;
	o.f = open_memstream(&doc, &len);
	FUZZ_ASSERT(o.f, "open_memstream: %s", strerror(errno));
	/* the crash summary goes to stderr: keep the fuzzer's log readable */
	stderr = devnull;
	rc = output_write(&o, tr, &ri);
	stderr = saved;
	FUZZ_ASSERT(rc == 0, "output_write failed");
	fclose(o.f);
	check_document(doc, len);
	if (getenv("FUZZ_EVENTS_DUMP")) /* replaying one input: see what it made */
		fwrite(doc, 1, len, saved);
	free(doc);
}

/* every signal's crash report, its summary into memory */
static void write_crash_reports(const struct trace *tr)
{
	for (size_t i = 0; i < tr->crashes.n; i++) {
		char *doc = NULL, *sum = NULL;
		size_t len = 0, slen = 0;
		FILE *f = open_memstream(&doc, &len), *s = open_memstream(&sum, &slen);

		FUZZ_ASSERT(f && s, "open_memstream: %s", strerror(errno));
		crash_write_json(f, &tr->crashes, &tr->crashes.v[i], FAKE_PID, &unwind_mod,
				 unwind_nmods, NULL, s, "fuzz.json");
		fclose(f);
		fclose(s);
		cJSON_Delete(fuzz_json_parse(doc, len, true, "crash report"));
		free(doc);
		free(sum);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_info exit_ri = { 0 };
	const struct signal_note *fatal = NULL;
	struct symbolizer *sym;
	struct filter *flt;
	struct trace tr;
	char err[128];

	if (size < 1)
		return 0;
	flt = filter_new();
	FUZZ_ASSERT(flt, "out of memory");
	if (data[0] & 2)
		FUZZ_ASSERT(!filter_add(flt, "*", true, err, sizeof(err)), "filter: %s", err);
	sym = symbolizer_new(FAKE_PID, flt);
	if (unwind_nmods)
		symbolizer_add_module(sym, &unwind_mod);
	trace_init(&tr, FAKE_PID, sym, data[0] & 1, T0, spool_dirfd);
	keep_setup(&tr, data[0]);
	tr.capture = cap;
	for (size_t i = 1; size - i >= 2;) {
		uint16_t h = (uint16_t)(data[i] | data[i + 1] << 8);
		size_t len = h & 0x7fff;

		i += 2;
		if (len > size - i)
			len = size - i;
		feed(&tr, data + i, len, h & 0x8000);
		i += len;
	}
	trace_finish(&tr, "exit not observed (still running when tracing stopped)");
	if (tr.proc_exited) { /* as main.c reports an attached process's end */
		int st = (int)tr.proc_exit_code;

		exit_ri.exit_known = true;
		if (WIFSIGNALED(st)) {
			exit_ri.exit_signal = WTERMSIG(st);
			exit_ri.exit_code = -1;
			fatal = crash_find(&tr.crashes, exit_ri.exit_signal, FAKE_PID);
		} else {
			exit_ri.exit_code = WEXITSTATUS(st);
		}
	}
	write_document(&tr, flt, fatal, &exit_ri);
	write_crash_reports(&tr);
	trace_free(&tr);
	symbolizer_free(sym);
	filter_free(flt);
	return 0;
}
