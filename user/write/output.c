#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "consume/capture_decode.h"
#include "cli.h"
#include "consume/crash.h"
#include "consume/memory.h"
#include "write/jsonw.h"
#include "utils/log.h"
#include "write/output.h"
#include "write/summary.h"
#include "find/pattern.h"
#include "consume/symbolize.h"
#include "find/elf_image.h"
#include "find/srcline.h"
#include "consume/trace.h"
#include "find/keep_expr.h"
#include "rebuild/keep_filter.h"
#include "rebuild/tree.h"
#include "write/json_tree.h"
#include "record/ctrace_write.h"

/* /dev/stdout, a FIFO, /dev/null: written in place. Renaming a temporary
 * file over them would replace the device node itself. */
static int open_special(struct output *o, const char *path)
{
	const char *tmpdir = getenv("TMPDIR");
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0) {
		log_err("cannot write the output '%s': %s", path, strerror(errno));
		return -1;
	}
	o->dirfd = open(tmpdir && *tmpdir ? tmpdir : "/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	o->f = fdopen(fd, "w");
	if (o->dirfd < 0 || !o->f) {
		log_err("cannot set up the output '%s': %s", path, strerror(errno));
		if (!o->f)
			close(fd);
		return -1;
	}
	setvbuf(o->f, NULL, _IOFBF, 1 << 20);
	return 0;
}

int output_open(struct output *o, const char *path)
{
	char *dcopy, *dir;
	struct stat st;
	int fd;

	memset(o, 0, sizeof(*o));
	o->dirfd = -1;
	o->path = strdup(path);
	if (!o->path) {
		log_err("out of memory");
		return -1;
	}
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			log_err("cannot write the output '%s': it is a directory", path);
			return -1;
		}
		return open_special(o, path);
	}
	dcopy = strdup(path);
	if (!o->path || !dcopy || asprintf(&o->tmp, "%s.tmp.XXXXXX", path) < 0) {
		free(dcopy);
		log_err("out of memory");
		return -1;
	}
	dir = dirname(dcopy);
	o->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dirfd < 0) {
		log_err("cannot write the output '%s': directory '%s': %s", path, dir,
			strerror(errno));
		free(dcopy);
		return -1;
	}
	free(dcopy);
	/* traces hold the target's memory: not world-readable */
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		log_err("cannot write the output '%s': %s", path, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	o->f = fdopen(fd, "w");
	if (!o->f) {
		close(fd);
		output_abort(o);
		return -1;
	}
	setvbuf(o->f, NULL, _IOFBF, 1 << 20);
	return 0;
}

void output_abort(struct output *o)
{
	if (o->f)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	if (o->dirfd >= 0)
		close(o->dirfd);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
	o->dirfd = -1;
}

static void key(FILE *f, const char *k, bool first)
{
	if (first)
		jsonw_key(f, k);
	else
		jsonw_next_key(f, k);
}

/* a member whose value may not be known */
static void key_num(FILE *f, const char *k, bool known, int64_t v)
{
	if (jsonw_member_or_null(f, k, known))
		jsonw_i64(f, v);
}

static void write_timestamp(FILE *f, int64_t ns)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	char buf[64];

	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "\"%s.%06ldZ\"", buf, (long)(ns % 1000000000 / 1000));
}

static void write_options(FILE *f, const struct config *c, const char *probe_mode)
{
	fputc('{', f);
	key(f, "args", true);
	fputs(c->args ? "true" : "false", f);
	key(f, "retval", false);
	fputs(c->retval ? "true" : "false", f);
	key_num(f, "max_depth", c->max_depth, c->max_depth);
	jsonw_member_u64(f, "filters", filter_count(c->filter, false));
	jsonw_member_u64(f, "excludes", filter_count(c->filter, true));
	jsonw_member_cstr(f, "filter_file", c->filter_file);
	if (jsonw_member_or_null(f, "duration_s", c->duration > 0))
		jsonw_double(f, c->duration);
	jsonw_member_u64(f, "buffer_size", c->buffer_size);
	key(f, "follow_forks", false);
	fputs(c->follow_forks ? "true" : "false", f);
	if (c->srcline)
		fputs(",\"srcline\":true", f);
	if (c->memory)
		fputs(",\"memory\":true", f);
	jsonw_member_cstr(f, "mode", c->pid ? "attach" : "launch");
	jsonw_member_cstr(f, "probe_mode", probe_mode);
	if (c->last)
		jsonw_member_u64(f, "last", c->last);
	if (c->summary)
		jsonw_member_cstr(f, "summary",
				  c->summary == SUMMARY_THREAD ? "thread" : "function");
	if (c->shape) { /* --subtree / --caller: the patterns as given */
		bool excl;

		key(f, c->shape_mode == CTRACE_SHAPE_SUBTREE ? "subtree" : "caller", false);
		fputc('[', f);
		for (size_t i = 0; filter_pattern(c->shape, i, &excl); i++) {
			if (i)
				fputc(',', f);
			jsonw_cstr(f, filter_pattern(c->shape, i, &excl));
		}
		fputc(']', f);
	}
	fputc('}', f);
}

/* "modules": the process's executable mappings, for `--srcline` after the
 * fact (cmds/srcline_after.c): the file, its build id, and where it is
 * mapped (an address less start plus offset is its file offset) */
static void write_modules(FILE *f, const struct symbolizer *sym)
{
	const struct module *m;
	size_t n = 0;
	char id[128];

	m = sym ? symbolizer_modules(sym, &n) : NULL;
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",{" : "{", f);
		key(f, "path", true);
		jsonw_cstr(f, m[i].path);
		key(f, "build_id", false);
		if (m[i].img && srcline_build_id(m[i].img->elf, id, sizeof(id)))
			jsonw_cstr(f, id);
		else
			fputs("null", f);
		jsonw_member_hex(f, "start", m[i].start);
		jsonw_member_hex(f, "end", m[i].end);
		jsonw_member_hex(f, "offset", m[i].offset);
		fputc('}', f);
	}
	fputc(']', f);
}

/* every traced process: the target first, then the ones it forked
 * (--follow-forks), with the images each exec'd; a forked one that a fault
 * killed has its crash report here (the target's is the top-level one) */
static void write_processes(FILE *f, const struct trace *tr, const char *output, bool quiet)
{
	const struct proc_table *pt = &tr->procs;

	fputc('[', f);
	for (size_t i = 0; i < pt->n; i++) {
		const struct proc *p = pt->v[i];

		if (i)
			fputc(',', f);
		fputc('{', f);
		key(f, "pid", true);
		jsonw_i64(f, p->pid);
		key_num(f, "parent_pid", p->forked, p->ppid);
		key_num(f, "start_ns", p->forked, (int64_t)p->start_ns);
		key_num(f, "end_ns", p->exited && p->end_ns, (int64_t)p->end_ns);
		key(f, "execs", false);
		fputc('[', f);
		for (size_t k = 0; k < p->nexecs; k++) {
			fputs(k ? ",{" : "{", f);
			key(f, "ts_ns", true);
			jsonw_u64(f, p->execs[k].ts);
			jsonw_member_cstr(f, "path", p->execs[k].path);
			fputc('}', f);
		}
		fputc(']', f);
		key(f, "modules", false);
		write_modules(f, p->sym);
		key_num(f, "exit_code", p->exited && !(p->exit_code & 0x7f),
			(p->exit_code >> 8) & 0xff);
		key_num(f, "exit_signal", p->exited && (p->exit_code & 0x7f), p->exit_code & 0x7f);
		if (p->pid != pt->main_pid) {
			const struct signal_note *n = NULL;
			const struct module *mods;
			size_t nmods;

			if (p->exited && (p->exit_code & 0x7f))
				n = crash_find(&tr->crashes, p->exit_code & 0x7f, (uint32_t)p->pid);
			key(f, "crash", false);
			if (n && n->pid == (uint32_t)p->pid) {
				mods = symbolizer_modules(p->sym, &nmods);
				if (tr->capture)
					capture_set_process(tr->capture, p->gen, p->sym);
				crash_write_json(f, &tr->crashes, n, p->pid, mods, nmods,
						 tr->capture, NULL, output);
				if (!quiet)
					log_warn("forked process %d died of %s: its crash report "
						 "is .metadata.processes[%zu].crash in %s",
						 (int)p->pid, signal_name(n->sig), i, output);
			} else {
				fputs("null", f);
			}
		}
		fputc('}', f);
	}
	fputc(']', f);
}

/* ,"filtered":{…}: what --min-duration and --keep-if left out */
void output_write_filtered(FILE *f, const struct trace *tr, uint64_t min_duration_ns,
			   const struct keep_rule *rules, size_t nrules)
{
	struct keep_counts c;

	if (!keep_filter_counts(tr->sink, &c))
		return;
	key(f, "filtered", false);
	fputc('{', f);
	key(f, "min_duration_ns", true); /* null: no --min-duration */
	if (c.min_duration)
		jsonw_u64(f, min_duration_ns);
	else
		fputs("null", f);
	jsonw_member_u64(f, "min_duration_dropped", c.min_duration_dropped);
	key(f, "keep_if", false);
	fputc('[', f);
	for (size_t i = 0; i < nrules; i++) {
		if (i)
			fputc(',', f);
		jsonw_cstr(f, rules[i].text);
	}
	fputc(']', f);
	jsonw_member_u64(f, "keep_if_kept", c.keep_if_kept);
	jsonw_member_u64(f, "keep_if_dropped", c.keep_if_dropped);
	jsonw_member_u64(f, "keep_if_unreadable", c.keep_if_unreadable);
	fputc('}', f);
}

static void write_filtered(FILE *f, const struct trace *tr, const struct config *cfg)
{
	output_write_filtered(f, tr, cfg->min_duration_ns, cfg->keep_if, cfg->nkeep_if);
}

/* the document of tr to f; quiet: say nothing on stderr (a second copy) */
/* the "metadata" object */
static void write_metadata(FILE *f, const char *path, const struct trace *tr,
			   const struct run_info *ri, bool quiet)
{
	fputc('{', f);
	key(f, "tool", true);
	jsonw_cstr(f, "ctrace-bpf");
	jsonw_member_cstr(f, "version", CTRACE_VERSION);
	jsonw_member_u64(f, "format_version", 1);
	key(f, "timestamp", false);
	write_timestamp(f, ri->wall_start_ns);
	jsonw_member_u64(f, "duration_ns", ri->duration_ns);
	/* the start on the events' clock and the wall clock, to line it up with other traces */
	key(f, "clock", false);
	fputc('{', f);
	key(f, "monotonic_ns", true);
	jsonw_u64(f, ri->mono_start_ns);
	key(f, "realtime_ns", false);
	jsonw_i64(f, ri->wall_start_ns);
	fputc('}', f);
	key(f, "command", false);
	fputc('[', f);
	for (int i = 0; i < ri->ncommand; i++) {
		if (i)
			fputc(',', f);
		jsonw_cstr(f, ri->command[i]);
	}
	fputc(']', f);
	jsonw_member_i64(f, "pid", ri->pid);
	jsonw_member_cstr(f, "executable", ri->executable);
	jsonw_member_u64(f, "total_calls",
			 ri->summary ? summary_calls(ri->summary) : trace_total_calls(tr));
	jsonw_member_u64(f, "threads", tr->nthreads);
	jsonw_member_u64(f, "lost_events", ri->lost_events);
	jsonw_member_u64(f, "resyncs", trace_total_resyncs(tr));
	if (ri->snapshot)
		jsonw_member_u64(f, "snapshot", ri->snapshot);
	write_filtered(f, tr, ri->cfg);
	key_num(f, "exit_code", ri->exit_known && !ri->exit_signal, ri->exit_code);
	key_num(f, "exit_signal", ri->exit_known && ri->exit_signal, ri->exit_signal);
	key(f, "processes", false);
	write_processes(f, tr, path, quiet);
	key(f, "options", false);
	write_options(f, ri->cfg, ri->probe_mode);
	fputc('}', f);
}

/* a thread object's members after "root_calls" */
static void write_thread_tail(FILE *f, const struct trace *tr, const struct thread_tree *t,
			      const struct run_info *ri)
{
	jsonw_member_u64(f, "pid", t->pid);
	if (t->stack_id) /* a coroutine's stack (ucontext) */
		jsonw_member_u64(f, "stack", t->stack_id);
	else /* null: its creation was not seen (consume/lineage.c) */
		fprintf(f, ",\"created_by\":%s", t->created_by ? t->created_by : "null");
	crash_write_thread_signals(f, &tr->crashes, t, ri->fatal);
}

/* the "crash" value */
static void write_crash(FILE *f, const char *path, const struct trace *tr,
			const struct run_info *ri, bool quiet)
{
	if (ri->fatal && tr->capture)
		capture_set_process(tr->capture, tr->procs.v[0]->gen, tr->procs.v[0]->sym);
	if (ri->fatal)
		crash_write_json(f, &tr->crashes, ri->fatal, ri->pid, ri->mods, ri->nmods,
				 tr->capture, quiet ? NULL : stderr, path);
	else
		fputs("null", f);
}

/* ,"call_trees":{...} */
static int write_trees(FILE *f, const char *path, const struct trace *tr, const struct run_info *ri,
		       const struct stored_parts *sp)
{
	int rc;

	fputs(",\"call_trees\":{", f);
	for (size_t i = 0; i < tr->nthreads; i++) {
		const struct thread_tree *t = tr->threads[i];
		char k[48];
		unsigned reuse = 0;

		/* a tid the kernel reused for a later thread keeps its keys apart */
		for (size_t j = 0; j < i; j++)
			reuse += tr->threads[j]->tid == t->tid;
		if (reuse)
			snprintf(k, sizeof(k), "%u#%u", t->tid, reuse + 1);
		else
			snprintf(k, sizeof(k), "%u", t->tid);
		key(f, k, i == 0);
		rc = json_tree_write_thread(tr->threads[i], f);
		if (rc) {
			log_err("writing '%s': %s", path, strerror(-rc));
			return -1;
		}
		if (sp)
			fputs(i < sp->ntails && sp->tails[i] ? sp->tails[i] : "", f);
		else
			write_thread_tail(f, tr, t, ri);
		fputc('}', f);
	}
	fputc('}', f);
	return 0;
}

/* the document of tr to f: its parts rendered now (ri), or as stored in a
 * compact trace (sp); quiet: say nothing on stderr (a second copy) */
static int write_doc(FILE *f, const char *path, const struct trace *tr, const struct run_info *ri,
		     const struct stored_parts *sp, bool quiet)
{
	int rc = 0;

	fputs("{\"metadata\":", f);
	if (sp)
		fputs(sp->metadata, f);
	else
		write_metadata(f, path, tr, ri, quiet);
	if (ri && ri->summary) /* --summary: no call trees, its rows instead */
		summary_write_json(f, ri->summary);
	else
		rc = write_trees(f, path, tr, ri, sp);
	if (rc)
		return -1;
	fputs(",\"crash\":", f);
	if (sp)
		fputs(sp->crash ? sp->crash : "null", f);
	else
		write_crash(f, path, tr, ri, quiet);
	if (sp && sp->leaks) /* --memory */
		fprintf(f, ",\"leaks\":%s", sp->leaks);
	else
		memory_write_leaks(f, tr);
	fputs("}\n", f);
	if (fflush(f) || ferror(f)) {
		log_err("writing '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int output_write(struct output *o, const struct trace *tr, const struct run_info *ri)
{
	return write_doc(o->f, o->path, tr, ri, NULL, false);
}

int output_write_stored(FILE *f, const char *path, const struct trace *tr,
			const struct stored_parts *sp)
{
	return write_doc(f, path, tr, NULL, sp, true);
}

/* what the parts are rendered from; i: the thread */
struct part_ctx {
	const char *path;
	const struct trace *tr;
	const struct run_info *ri;
	bool quiet;
	size_t i;
};

static void part_metadata(FILE *f, const struct part_ctx *c)
{
	write_metadata(f, c->path, c->tr, c->ri, c->quiet);
}

static void part_tail(FILE *f, const struct part_ctx *c)
{
	write_thread_tail(f, c->tr, c->tr->threads[c->i], c->ri);
}

static void part_crash(FILE *f, const struct part_ctx *c)
{
	write_crash(f, c->path, c->tr, c->ri, c->quiet);
}

/* one part as a string; NULL: out of memory */
static char *render(void (*part)(FILE *, const struct part_ctx *), const struct part_ctx *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	part(m, c);
	/* the stream's buffer is set when it is closed */
	if (fclose(m)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int render_all(struct rendered_parts *rp, struct part_ctx *c)
{
	if (!(rp->metadata = render(part_metadata, c)))
		return -1;
	rp->tails = calloc(c->tr->nthreads ? c->tr->nthreads : 1, sizeof(*rp->tails));
	if (!rp->tails)
		return -1;
	for (c->i = 0; c->i < c->tr->nthreads; c->i++, rp->ntails++)
		if (!(rp->tails[c->i] = render(part_tail, c)))
			return -1;
	rp->crash = render(part_crash, c);
	return rp->crash ? 0 : -1;
}

int output_render_parts(struct rendered_parts *rp, const char *path, const struct trace *tr,
			const struct run_info *ri, bool quiet)
{
	struct part_ctx c = { .path = path, .tr = tr, .ri = ri, .quiet = quiet };

	memset(rp, 0, sizeof(*rp));
	if (render_all(rp, &c)) {
		output_parts_free(rp);
		return -1;
	}
	return 0;
}

void output_parts_free(struct rendered_parts *rp)
{
	free(rp->metadata);
	free(rp->crash);
	for (size_t i = 0; i < rp->ntails; i++)
		free(rp->tails[i]);
	free(rp->tails);
	memset(rp, 0, sizeof(*rp));
}

struct stored_parts output_parts_view(const struct rendered_parts *rp)
{
	return (struct stored_parts){ .metadata = rp->metadata,
				      .tails = (const char *const *)rp->tails,
				      .ntails = rp->ntails,
				      .crash = rp->crash };
}

int output_store_parts(struct ctrace_writer *w, const char *path, const struct trace *tr,
		       const struct run_info *ri)
{
	struct rendered_parts rp;

	if (output_render_parts(&rp, path, tr, ri, false))
		return -1;
	ctw_text(w, CT_TEXT_METADATA, 0, rp.metadata, strlen(rp.metadata));
	for (size_t i = 0; i < rp.ntails; i++)
		ctw_text(w, CT_TEXT_THREAD, i, rp.tails[i], strlen(rp.tails[i]));
	ctw_text(w, CT_TEXT_CRASH, 0, rp.crash, strlen(rp.crash));
	output_parts_free(&rp);
	return 0;
}

/* the first offset where a and b differ; -1 when they are the same */
static off_t first_difference(int a, int b)
{
	char ba[1 << 16], bb[1 << 16];
	off_t off = 0;

	for (;;) {
		ssize_t na = pread(a, ba, sizeof(ba), off), nb = pread(b, bb, sizeof(bb), off);
		ssize_t n = na < nb ? na : nb;

		if (na < 0 || nb < 0)
			return off;
		for (ssize_t i = 0; i < n; i++)
			if (ba[i] != bb[i])
				return off + i;
		if (na != nb)
			return off + n;
		if (!na)
			return -1;
		off += na;
	}
}

FILE *output_scratch(struct output *o)
{
	int fd = openat(o->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w+") : tmpfile();

	if (!f)
		log_err("no temporary file beside '%s': %s", o->path, strerror(errno));
	return f;
}

int output_write_to(FILE *f, const char *path, const struct trace *tr, const struct run_info *ri,
		    bool quiet)
{
	return write_doc(f, path, tr, ri, NULL, quiet);
}

int output_verify_same(struct output *o, int direct_fd, FILE *replayed, const char *what)
{
	char keep[PATH_MAX];
	off_t at;

	if (fflush(replayed))
		return -1;
	at = first_difference(direct_fd, fileno(replayed));
	if (at >= 0) {
		/* kept beside the output, to see what differs */
		FILE *k;
		char buf[1 << 16];
		ssize_t n;
		off_t off = 0;

		snprintf(keep, sizeof(keep), "%s.replayed", o->path);
		k = fopen(keep, "we");
		while (k && (n = pread(fileno(replayed), buf, sizeof(buf), off)) > 0) {
			fwrite(buf, 1, (size_t)n, k);
			off += n;
		}
		if (k)
			fclose(k);
		log_err("replay verification failed: %s differs from the direct JSON at byte %lld "
			"(its copy: %s)",
			what, (long long)at, keep);
		return -1;
	}
	return 0;
}

int output_verify(struct output *o, const struct trace *tr, const struct run_info *ri)
{
	FILE *f = output_scratch(o);
	int rc;

	if (!f)
		return -1;
	rc = write_doc(f, o->path, tr, ri, NULL, true);
	if (!rc)
		rc = output_verify_same(o, fileno(o->f), f,
					"the JSON replayed from the compact record");
	fclose(f);
	return rc;
}

int output_commit(struct output *o)
{
	const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");
	int fd = fileno(o->f);

	if (!o->tmp) { /* a device or FIFO, written in place */
		int rc = fclose(o->f);
		o->f = NULL;
		if (rc)
			log_err("writing '%s': %s", o->path, strerror(errno));
		output_abort(o);
		return rc ? -1 : 0;
	}

	/* under sudo the trace belongs to the user who asked for it */
	if (uid && gid && getuid() == 0) {
		if (fchown(fd, (uid_t)strtoul(uid, NULL, 10), (gid_t)strtoul(gid, NULL, 10)))
			log_warn("cannot give '%s' to uid %s: %s", o->path, uid, strerror(errno));
	}
	if (fsync(fd) && errno != EINVAL) {
		log_err("writing '%s': %s", o->path, strerror(errno));
		return -1;
	}
	if (fclose(o->f)) {
		o->f = NULL;
		log_err("writing '%s': %s", o->path, strerror(errno));
		return -1;
	}
	o->f = NULL;
	if (rename(o->tmp, o->path)) {
		log_err("cannot rename '%s' to '%s': %s", o->tmp, o->path, strerror(errno));
		return -1;
	}
	free(o->tmp);
	o->tmp = NULL;
	output_abort(o); /* with nothing left to remove: frees and closes */
	return 0;
}
