/* A compact trace for the offline commands; see ctrace_input.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cmds/ctrace_input.h"
#include "cmds/jsonread.h"
#include "cmds/keep_source.h"
#include "consume/trace.h"
#include "record/ctrace_model.h"
#include "record/ctrace_read.h"
#include "record/replay.h"
#include "find/keep_expr.h"
#include "rebuild/keep_filter.h"
#include "rebuild/tree.h"
#include "write/jsonw.h"
#include "write/node_spool.h"
#include "write/output.h"

#define STILL_RUNNING "exit not observed (still running when tracing stopped)"

bool ctrace_sniff(const unsigned char *head, size_t n)
{
	return ctr_is_ctrace(head, n);
}

/* where the replay's spools go */
static int spool_dir(void)
{
	const char *d = getenv("TMPDIR");

	return open(d && *d ? d : "/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* s is one JSON value in UTF-8 (wrapped in {"x":0 s} when members) */
static bool json_ok(const char *s, bool members)
{
	char *w = NULL;
	cJSON *j;

	/* cJSON takes any bytes in strings; the document must be UTF-8 */
	if (!jsonw_utf8_valid(s, strlen(s)) || (members && asprintf(&w, "{\"x\":0%s}", s) < 0))
		return false;
	/* null-terminated: a valid value followed by more bytes is not one */
	j = cJSON_ParseWithOpts(members ? w : s, NULL, 1);
	free(w);
	cJSON_Delete(j);
	return j != NULL;
}

/* doc as the JSON reader writes a value back (jr_capture): compact, so the
 * node spool's walk, which hands the stored text on as it is, gives what a
 * walk of the JSON document gives */
static bool compact(const char *doc)
{
	struct jr *r = jr_new_mem(doc, strlen(doc), 0, 0);
	struct jr_buf out = { 0 };
	enum jr_tok t = r ? jr_next(r) : JR_ERROR;
	bool ok = t != JR_ERROR && jr_capture(r, t, &out, SIZE_MAX) != JR_ERROR &&
		  jr_next(r) == JR_EOF && out.len == strlen(doc) && !memcmp(out.p, doc, out.len);

	jr_buf_free(&out);
	jr_free(r);
	return ok;
}

/* a thread's members (in {"x":0 ...}) hold none the reader takes for its own */
static bool tail_keys_ok(const char *doc)
{
	static const char *const own[] = { "thread_id", "thread_name", "total_calls", "lost_events",
					   "root_calls" };
	struct jr *r = jr_new_mem(doc, strlen(doc), 0, 0);
	enum jr_tok t = r ? jr_next(r) : JR_ERROR;
	bool ok = t == JR_OBJ_BEGIN;

	while (ok && (t = jr_next(r)) == JR_KEY) {
		for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
			ok = ok && strcmp(jr_text(r, NULL), own[i]);
		t = jr_next(r);
		ok = ok && t != JR_ERROR && jr_skip(r, t) != JR_ERROR;
	}
	jr_free(r);
	return ok;
}

static bool tail_ok(const char *tail)
{
	char *w = NULL;
	bool ok;

	if (asprintf(&w, "{\"x\":0%s}", tail) < 0)
		return false;
	ok = compact(w) && tail_keys_ok(w);
	free(w);
	return ok;
}

/* The stored JSON goes into the document as it is: it must be JSON, and as
 * the tracer writes it (a metadata object, a crash object or null, compact) */
static bool parts_ok(const struct replay_texts *tx, size_t nthreads)
{
	if (!json_ok(tx->metadata, false) || (tx->crash && !json_ok(tx->crash, false)))
		return false;
	if (tx->metadata[0] != '{' || !compact(tx->metadata) ||
	    (tx->crash &&
	     ((tx->crash[0] != '{' && strcmp(tx->crash, "null")) || !compact(tx->crash))))
		return false;
	for (size_t i = 0; i < tx->ntails && i < nthreads; i++)
		if (tx->tails[i] && (!json_ok(tx->tails[i], true) || !tail_ok(tx->tails[i])))
			return false;
	return true;
}

/* the record holds no captured values (made without --args/--retval/
 * --capture), and a --keep-if rule tests one: it could tell no call */
static int keep_values_check(const struct ctrace_file_hdr *h, const struct keep_filter_opts *keep,
			     char *err, size_t errlen)
{
	if (!keep || h->flags & CTRACE_FILE_F_ARGS)
		return 0;
	return keep_values_refused(keep, err, errlen);
}

static bool keep_needs_values(const struct keep_filter_opts *keep)
{
	for (size_t i = 0; keep && i < keep->nrules; i++)
		if (keep->rules[i].needs_args || keep->rules[i].needs_retval)
			return true;
	return false;
}

/* r's trees into tr (their nodes to sink, through the filters keep asks
 * for, or NULL), its stored JSON into tx; *m: the plans and types its
 * captured values are typed with (model_free after trace_free), NULL when it
 * holds none or values is false (then they are not rendered) */
static int replay_trees(struct ctrace_reader *r, struct trace *tr, struct tree_sink *sink,
			const struct keep_filter_opts *keep, struct replay_texts *tx, bool values,
			struct ctrace_model **m, int dirfd, char *err, size_t errlen)
{
	const struct ctrace_file_hdr *h = ctr_header(r);
	bool typed = (values || keep_needs_values(keep)) && h->flags & CTRACE_FILE_F_ARGS;
	char why[160], *meta = NULL;

	*m = NULL;
	if (keep_values_check(h, keep, err, errlen)) {
		if (sink)
			sink->ops->free(sink);
		return -1;
	}
	*m = typed ? model_new() : NULL;
	trace_init(tr, (pid_t)h->pid, NULL, h->flags & CTRACE_FILE_F_ATTACH, h->t0, dirfd);
	if (sink)
		trace_set_sink(tr, sink);
	if (keep)
		keep_wrap_sink(tr, keep);
	tr->replay = true;
	tr->capture = *m ? model_capture(*m) : NULL;
	if (!tr->sink || (typed && !*m))
		snprintf(err, errlen, "out of memory");
	else if (replay_run(r, tr, STILL_RUNNING, tx, *m, why, sizeof(why)))
		snprintf(err, errlen, "a damaged compact trace: %s", why);
	else if (!ctr_complete(r) || !tx->metadata)
		snprintf(err, errlen, "an incomplete compact trace (the tracer did not finish it)");
	else if (!parts_ok(tx, tr->nthreads))
		snprintf(err, errlen, "a damaged compact trace: its stored JSON is not valid");
	else if (trace_spool_error(tr))
		snprintf(err, errlen, "writing the call trees aside: %s", strerror(tr->err));
	else if (keep && !(meta = keep_source_metadata(tx->metadata, tr, keep)))
		snprintf(err, errlen, "out of memory");
	else {
		if (keep) {
			free(tx->metadata);
			tx->metadata = meta;
		}
		return 0;
	}
	trace_free(tr);
	model_free(*m);
	*m = NULL;
	return -1;
}

static struct stored_parts parts_of(const struct replay_texts *tx)
{
	return (struct stored_parts){ .metadata = tx->metadata,
				      .tails = (const char *const *)tx->tails,
				      .ntails = tx->ntails,
				      .crash = tx->crash };
}

static int replay_doc(struct ctrace_reader *r, FILE *out, const struct keep_filter_opts *keep,
		      int dirfd, char *err, size_t errlen)
{
	struct replay_texts tx = { 0 };
	struct ctrace_model *m;
	struct stored_parts sp;
	struct trace tr;
	int rc;

	if (replay_trees(r, &tr, NULL, keep, &tx, true, &m, dirfd, err, errlen)) {
		replay_texts_free(&tx);
		return -1;
	}
	sp = parts_of(&tx);
	rc = output_write_stored(out, "the output", &tr, &sp);
	if (rc)
		snprintf(err, errlen, "writing the JSON: %s", strerror(errno));
	trace_free(&tr);
	model_free(m);
	replay_texts_free(&tx);
	return rc;
}

/* the nodes straight to v: no JSON in between */
static int replay_walk(struct ctrace_reader *r, const struct keep_filter_opts *keep,
		       const struct trace_visitor *v, void *ctx, int dirfd, char *err,
		       size_t errlen)
{
	struct replay_texts tx = { 0 };
	struct ctrace_model *m;
	struct node_source ns;
	struct stored_parts sp;
	struct trace tr;
	int rc;

	if (replay_trees(r, &tr, node_spool_new(dirfd), keep, &tx, !v->no_values, &m, dirfd, err,
			 errlen)) {
		replay_texts_free(&tx);
		return -1;
	}
	sp = parts_of(&tx);
	node_source_init(&ns, &tr, &sp);
	rc = source_walk(&ns.source, v, ctx, err, errlen);
	trace_free(&tr);
	model_free(m);
	replay_texts_free(&tx);
	return rc;
}

/* in's trees (through the filters keep asks for, or NULL): to v when
 * given, else as JSON to out */
static int with_reader(FILE *in, int max_depth, const struct keep_filter_opts *keep, FILE *out,
		       const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	struct ctrace_reader *r = ctr_open(in, err, errlen);
	int dirfd, rc;

	if (!r)
		return -1;
	ctr_limit_depth(r, max_depth);
	dirfd = spool_dir();
	if (dirfd < 0) {
		snprintf(err, errlen, "no directory for temporary files: %s", strerror(errno));
		ctr_free(r);
		return -1;
	}
	rc = v ? replay_walk(r, keep, v, ctx, dirfd, err, errlen) :
		 replay_doc(r, out, keep, dirfd, err, errlen);
	ctr_free(r);
	close(dirfd);
	return rc;
}

int ctrace_walk(FILE *f, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	return ctrace_walk_depth(f, CT_MAX_DEPTH, v, ctx, err, errlen);
}

int ctrace_walk_depth(FILE *f, int max_depth, const struct trace_visitor *v, void *ctx, char *err,
		      size_t errlen)
{
	return with_reader(f, max_depth, NULL, NULL, v, ctx, err, errlen);
}

int ctrace_walk_keep(FILE *f, const struct keep_filter_opts *keep, const struct trace_visitor *v,
		     void *ctx, char *err, size_t errlen)
{
	return with_reader(f, CT_MAX_DEPTH, keep, NULL, v, ctx, err, errlen);
}

int ctrace_to_json(FILE *in, FILE *out, char *err, size_t errlen)
{
	return ctrace_to_json_depth(in, out, CT_MAX_DEPTH, err, errlen);
}

int ctrace_to_json_depth(FILE *in, FILE *out, int max_depth, char *err, size_t errlen)
{
	return with_reader(in, max_depth, NULL, out, NULL, NULL, err, errlen);
}

int ctrace_to_json_keep(FILE *in, FILE *out, const struct keep_filter_opts *keep, char *err,
			size_t errlen)
{
	return with_reader(in, CT_MAX_DEPTH, keep, out, NULL, NULL, err, errlen);
}
