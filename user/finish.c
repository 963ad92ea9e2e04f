// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The write-out: the stopped trace replayed from its compact record, then
 * written under the output's name (JSON, JSONL, .ctrace, --summary) with its
 * --format view. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "attach/target.h"
#include "cmds/commands.h"
#include "cmds/ctrace_input.h"
#include "cmds/jsonread.h"
#include "consume/memory.h"
#include "consume/crash.h"
#include "consume/trace.h"
#include "finish.h"
#include "rebuild/flight.h"
#include "rebuild/keep_filter.h"
#include "rebuild/tree.h"
#include "record/ctrace_model.h"
#include "record/ctrace_read.h"
#include "record/ctrace_write.h"
#include "record/replay.h"
#include "session.h"
#include "utils/clock.h"
#include "utils/log.h"
#include "utils/strutil.h"
#include "write/backend.h"
#include "write/node_spool.h"
#include "write/output.h"
#include "write/summary.h"

#define KIB 1024.0
#define MIB (1 << 20)

/* The complete record from its first byte (f: its stream, for replay_run);
 * NULL when it cannot be read back (said) */
static struct ctrace_reader *record_reader(struct session *s, FILE **f)
{
	struct ctrace_reader *r;
	char err[256];
	int fd;

	if (ctw_flush(s->rec)) {
		log_err("writing the trace beside '%s': %s", s->cfg.output,
			strerror(ctw_error(s->rec)));
		return NULL;
	}
	fd = dup(s->rec_fd);
	*f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!*f || lseek(fd, 0, SEEK_SET)) {
		log_err("reading the trace back: %s", strerror(errno));
		if (fd >= 0 && !*f)
			close(fd);
		if (*f)
			fclose(*f);
		return NULL;
	}
	r = ctr_open(*f, err, sizeof(err));
	if (!r) {
		log_err("reading the trace back: %s", err);
		fclose(*f);
	}
	return r;
}

void finish_filter_sink(struct session *s, struct trace *tr)
{
	const struct keep_filter_opts o = { .min_duration = s->cfg.min_duration,
					    .min_duration_ns = s->cfg.min_duration_ns,
					    .rules = s->cfg.keep_if,
					    .nrules = s->cfg.nkeep_if };
	struct tree_sink *in = tr->sink;

	if (!o.min_duration && !o.nrules)
		return;
	tr->sink = NULL; /* wrapped, not freed */
	trace_set_sink(tr, keep_filter_wrap(in, &o));
}

void finish_filter_wrap(void *session, struct trace *tr)
{
	finish_filter_sink(session, tr);
}

/* what --min-duration and --keep-if left out, said */
static void say_filtered(const struct trace *tr)
{
	struct keep_counts c;

	if (!keep_filter_counts(tr->sink, &c))
		return;
	if (c.min_duration)
		log_info("--min-duration: %lu shorter calls not written",
			 (unsigned long)c.min_duration_dropped);
	if (c.keep_if)
		log_info("--keep-if: %lu calls kept (with their subtrees), %lu calls not written",
			 (unsigned long)c.keep_if_kept, (unsigned long)c.keep_if_dropped);
	if (c.keep_if_unreadable)
		log_warn("--keep-if: %lu calls not kept because their condition could not be "
			 "told (an operand not readable for them, or their entry or exit not observed)",
			 (unsigned long)c.keep_if_unreadable);
}

/* where the replayed trees' nodes go: -o T.ctrace needs only their counts
 * (for the metadata and thread tails it stores); -o x.jsonl walks them from
 * the node spool; the JSON sink otherwise */
static void replay_sink(struct session *s)
{
	if (s->keep_ctrace) {
		trace_set_sink(&s->rtr, tree_sink_none());
		return;
	}
	if (!str_has_suffix(s->cfg.output, ".jsonl"))
		return;
	trace_set_sink(&s->rtr, node_spool_new(s->out.dirfd));
	s->rtr_nodes = true;
}

/* The trees from the compact record, now that it is complete */
int finish_replay(struct session *s, const char *reason)
{
	char err[256];
	uint64_t t;
	FILE *f;
	int rc;

	s->reader = record_reader(s, &f);
	if (!s->reader)
		return -1;
	trace_init_replay(&s->rtr, &s->tr);
	s->have_rtr = true;
	replay_sink(s);
	finish_filter_sink(s, &s->rtr);
	t = now_ns(CLOCK_MONOTONIC);
	rc = replay_run(s->reader, &s->rtr, reason, NULL, NULL, err, sizeof(err));
	if (rc)
		log_err("reading the trace back: %s", err);
	log_dbg("replayed %lu calls (%lu bytes) in %.1f ms", (unsigned long)ctr_calls(s->reader),
		(unsigned long)ctw_bytes(s->rec), (now_ns(CLOCK_MONOTONIC) - t) / NSEC_PER_MS);
	/* the table the replay looked processes up in stays live's */
	s->tr.procs = s->rtr.procs;
	fclose(f);
	if (!rc && trace_spool_error(&s->rtr)) {
		log_err("writing the trace beside '%s': %s", s->cfg.output, strerror(s->rtr.err));
		rc = -1;
	}
	if (s->rec_mode == REC_RECORD)
		s->res = &s->rtr;
	return rc;
}

/* --summary: the document and the table */
static int write_summary(struct session *s)
{
	s->ri.summary = &s->sum;
	if (output_write(&s->out, &s->tr, &s->ri) || output_commit(&s->out))
		return -1;
	summary_print(stderr, &s->sum);
	fprintf(stderr, "ctrace-bpf: summary of %lu calls in %zu threads -> %s\n",
		(unsigned long)summary_calls(&s->sum), s->tr.nthreads, s->cfg.output);
	return 0;
}

/* nt's trees (a node spool) as a trace source, with the JSON around them
 * rendered now; quiet: the JSON's messages were said already */
struct node_view {
	struct rendered_parts rp;
	struct stored_parts sp;
	struct node_source ns;
};

static int node_view_open(struct session *s, struct trace *nt, struct node_view *nv, bool quiet)
{
	struct run_info rri = s->ri;

	if (s->ri.exit_signal)
		rri.fatal = crash_find(&nt->crashes, s->ri.exit_signal, (uint32_t)s->targ);
	if (output_render_parts(&nv->rp, s->out.path, nt, &rri, quiet)) {
		log_err("out of memory");
		return -1;
	}
	nv->sp = output_parts_view(&nv->rp);
	node_source_init(&nv->ns, nt, &nv->sp);
	return 0;
}

/* the record replayed once more, into the node spool; *r: its reader,
 * freed after nt */
static int replay_nodes(struct session *s, struct trace *nt, struct ctrace_reader **r)
{
	char err[256];
	FILE *f;
	int rc;

	*r = record_reader(s, &f);
	if (!*r)
		return -1;
	trace_init_replay(nt, &s->tr);
	trace_set_sink(nt, node_spool_new(s->out.dirfd));
	finish_filter_sink(s, nt);
	rc = replay_run(*r, nt, STILL_RUNNING, NULL, NULL, err, sizeof(err));
	if (rc)
		log_err("reading the trace back: %s", err);
	s->tr.procs = nt->procs;
	fclose(f);
	if (!rc && trace_spool_error(nt)) {
		log_err("writing the trace beside '%s': %s", s->cfg.output, strerror(nt->err));
		rc = -1;
	}
	return rc;
}

/* --format from the record: its trees walked straight into the format */
static int format_from_record(struct session *s, const char *conv, char *err, size_t errlen)
{
	struct ctrace_reader *r = NULL;
	struct trace nt, *t = &s->rtr;
	struct node_view nv;
	int rc = -1;

	snprintf(err, errlen, "the trace could not be read back");
	if (!s->rtr_nodes && replay_nodes(s, t = &nt, &r))
		goto out;
	if (!node_view_open(s, t, &nv, true)) {
		rc = convert_source(&nv.ns.source, conv, s->cfg.format, false, err, errlen);
		output_parts_free(&nv.rp);
	}
out:
	if (t == &nt)
		trace_free(&nt); /* before its reader */
	ctr_free(r);
	return rc;
}

/* --format: the trace converted beside it */
static void write_format(struct session *s, const struct stat *st)
{
	const struct config *cfg = &s->cfg;
	char conv[PATH_MAX], err[256];
	bool direct = s->rec && !s->keep_ctrace;

	snprintf(err, sizeof(err), "the output name is too long");
	if (!S_ISREG(st->st_mode))
		log_warn("--format %s: %s is not a file to read back", cfg->format, cfg->output);
	else if (convert_output_name(cfg->output, cfg->format, conv, sizeof(conv)) ||
		 (direct ? format_from_record(s, conv, err, sizeof(err)) :
			   convert_file(cfg->output, conv, cfg->format, false, err, sizeof(err))))
		log_warn("--format %s: %s", cfg->format, err);
	else
		log_info("%s -> %s", cfg->format, conv);
}

/* -o x.jsonl: the replayed trees straight from the node spool */
static int write_jsonl(struct session *s)
{
	const struct format_opts o = { 0 };
	struct node_view nv;
	char err[256];
	int rc;

	if (node_view_open(s, &s->rtr, &nv, false))
		return -1;
	rc = format_find("jsonl")->run(&nv.ns.source, s->out.f, &o, err, sizeof(err));
	if (rc)
		log_err("writing '%s': %s", s->out.path, err);
	else if ((rc = fflush(s->out.f)))
		log_err("writing '%s': %s", s->out.path, strerror(errno));
	output_parts_free(&nv.rp);
	return rc ? -1 : 0;
}

static int walk_json_file(void *f, const struct trace_visitor *v, void *ctx, char *err,
			  size_t errlen)
{
	return trace_walk(f, v, ctx, err, errlen);
}

/* CTRACE_VERIFY_REPLAY with -o x.jsonl: the JSONL written from the node
 * spool must be the direct JSON's, converted as convert does */
static int verify_jsonl(struct session *s)
{
	FILE *direct = output_scratch(&s->out), *conv = output_scratch(&s->out);
	const struct format_opts o = { 0 };
	struct trace_source src = { .walk = walk_json_file, .src = direct };
	char err[256];
	int rc = -1;

	if (!direct || !conv)
		;
	else if (output_write_to(direct, s->out.path, &s->tr, &s->ri, true) ||
		 fseeko(direct, 0, SEEK_SET))
		log_err("replay verification: the direct JSON: %s", strerror(errno));
	else if (jsonl_run(&src, conv, &o, err, sizeof(err)))
		log_err("replay verification: converting the direct JSON: %s", err);
	else
		rc = output_verify_same(&s->out, fileno(s->out.f), conv,
					"the JSONL written from the node spool");
	if (direct)
		fclose(direct);
	if (conv)
		fclose(conv);
	return rc;
}

/* -o T.ctrace: the record, completed with the JSON rendered at stop (the
 * metadata, the crash: what needs the live process), copied to the output */
static int write_ctrace(struct session *s)
{
	char buf[1 << 16];
	off_t off = 0;
	ssize_t n;

	if (output_store_parts(s->rec, s->out.path, s->res, &s->ri)) {
		log_err("out of memory");
		return -1;
	}
	if (s->capture) /* the plans as tracing left them, complete */
		ctw_plans(s->rec, s->capture, s->tr.rec_marked);
	ctw_end(s->rec);
	if (ctw_flush(s->rec)) {
		log_err("writing the trace beside '%s': %s", s->cfg.output,
			strerror(ctw_error(s->rec)));
		return -1;
	}
	while ((n = pread(s->rec_fd, buf, sizeof(buf), off)) > 0) {
		if (fwrite(buf, 1, (size_t)n, s->out.f) != (size_t)n)
			break;
		off += n;
	}
	if (n != 0 || fflush(s->out.f)) {
		log_err("writing '%s': %s", s->cfg.output, strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

/* CTRACE_VERIFY_REPLAY with -o T.ctrace: the offline conversion of the file
 * just written must give the direct JSON */
static int verify_ctrace(struct session *s)
{
	FILE *direct = output_scratch(&s->out), *conv = output_scratch(&s->out), *in = NULL;
	char err[256];
	int fd = dup(s->rec_fd), rc = -1;

	if (fd >= 0 && !(in = fdopen(fd, "r")))
		close(fd);
	if (!direct || !conv || !in || lseek(fd, 0, SEEK_SET))
		log_err("replay verification: %s", strerror(errno));
	else if (output_write_to(direct, s->out.path, &s->tr, &s->ri, true))
		;
	else if (ctrace_to_json(in, conv, err, sizeof(err)))
		log_err("replay verification: converting '%s': %s", s->cfg.output, err);
	else
		rc = fflush(direct) ? -1 :
				      output_verify_same(&s->out, fileno(direct), conv,
							 "the JSON converted from the .ctrace");
	if (in)
		fclose(in);
	if (direct)
		fclose(direct);
	if (conv)
		fclose(conv);
	return rc;
}

/* what the metadata says of the run: the options, the target */
void finish_run_info(struct session *s)
{
	const struct config *cfg = &s->cfg;
	struct run_info *ri = &s->ri;

	ri->cfg = cfg;
	ri->pid = s->targ;
	ri->executable = s->exe;
	if (s->launch) {
		ri->command = cfg->argv;
		ri->ncommand = cfg->argc;
	} else if (!s->cmdline) {
		s->cmdline = read_cmdline(s->targ, &ri->ncommand);
		ri->command = s->cmdline;
	}
}

/* The trace under the output's name, its --format view and the summary;
 * -1 when no trace was left (the reason printed) */
int finish_write(struct session *s)
{
	const struct config *cfg = &s->cfg;
	struct run_info *ri = &s->ri;
	struct stat st;

	if (s->tr.err)
		return -1;
	finish_run_info(s);
	if (cfg->summary)
		return write_summary(s);
	if (s->keep_ctrace ? write_ctrace(s) :
	    s->rtr_nodes   ? write_jsonl(s) :
			     output_write(&s->out, s->res, ri))
		return -1;
	if (s->keep_ctrace && s->rec_mode == REC_VERIFY && verify_ctrace(s))
		return -1;
	if (s->rtr_nodes && s->rec_mode == REC_VERIFY && verify_jsonl(s))
		return -1;
	if (s->rec_mode == REC_VERIFY && !s->keep_ctrace && !s->rtr_nodes) {
		struct run_info rri = *ri;

		if (ri->exit_signal)
			rri.fatal = crash_find(&s->rtr.crashes, ri->exit_signal, (uint32_t)s->targ);
		if (output_verify(&s->out, &s->rtr, &rri))
			return -1;
	}
	if (output_commit(&s->out))
		return -1;
	if (!s->rtr_nodes) /* -o x.jsonl without a record (CTRACE_RECORD=direct) */
		convert_jsonl_output(cfg->output);
	if (ri->lost_events)
		log_warn("%lu events lost (the ring buffer was full): raise --buffer-size",
			 (unsigned long)ri->lost_events);
	if (trace_total_resyncs(s->res))
		log_warn("%lu gaps in the call trees that no lost event explains: a tracer "
			 "fault (the nodes concerned say so); please report it",
			 (unsigned long)trace_total_resyncs(s->res));
	if (stat(cfg->output, &st)) {
		st.st_size = 0;
		st.st_mode = 0;
	}
	if (cfg->format && strcmp(cfg->format, "json"))
		write_format(s, &st);
	say_filtered(s->res);
	memory_report(s->res, stderr); /* --memory */
	fprintf(stderr, "ctrace-bpf: %lu calls in %zu threads, %lu lost events -> %s (%.1f %s)\n",
		(unsigned long)trace_total_calls(s->res), s->res->nthreads,
		(unsigned long)ri->lost_events, cfg->output,
		st.st_size >= MIB ? st.st_size / (double)MIB : st.st_size / KIB,
		st.st_size >= MIB ? "MiB" : "KiB");
	return 0;
}

/* "trace.json" → "trace.K.json": the number goes before the extension */
static int snapshot_name(const char *out, unsigned k, char *buf, size_t n)
{
	const char *base = strrchr(out, '/'), *dot;

	base = base ? base + 1 : out;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		dot = out + strlen(out);
	return snprintf(buf, n, "%.*s.%u%s", (int)(dot - out), out, k, dot) >= (int)n ? -1 : 0;
}

int finish_snapshot(struct session *s, uint64_t lost)
{
	struct output o = { .dirfd = -1 };
	struct run_info ri;
	struct trace snap;
	char path[PATH_MAX];
	unsigned k = s->snapshots + 1;
	int rc;

	if (snapshot_name(s->cfg.output, k, path, sizeof(path))) {
		log_err("SIGUSR1: the snapshot's name is too long");
		return -1;
	}
	if (output_open(&o, path))
		return -1;
	s->snapshots = k;
	finish_run_info(s);
	ri = s->ri;
	ri.duration_ns = now_ns(CLOCK_MONOTONIC) - s->t0;
	ri.lost_events = lost;
	ri.snapshot = k;
	rc = flight_snapshot(&snap, &s->tr, false, finish_filter_wrap, s);
	if (rc)
		log_err("writing the snapshot beside '%s': %s", path, strerror(-rc));
	else if (output_write(&o, &snap, &ri) || output_commit(&o))
		rc = -1;
	else if (str_has_suffix(path, ".jsonl"))
		convert_jsonl_output(path);
	if (!rc)
		log_info("snapshot %u: %lu calls in %zu threads -> %s", k,
			 (unsigned long)trace_total_calls(&snap), snap.nthreads, path);
	else
		output_abort(&o);
	flight_release(&snap, &s->tr);
	return rc ? -1 : 0;
}
