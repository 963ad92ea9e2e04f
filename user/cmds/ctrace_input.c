/* A compact trace for the offline commands; see ctrace_input.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cmds/ctrace_input.h"
#include "cmds/jsonread.h"
#include "consume/trace.h"
#include "record/ctrace_model.h"
#include "record/ctrace_read.h"
#include "record/replay.h"
#include "write/jsonw.h"
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
	if (!jsonw_utf8_valid(s, strlen(s)) ||
	    (members && asprintf(&w, "{\"x\":0%s}", s) < 0))
		return false;
	/* null-terminated: a valid value followed by more bytes is not one */
	j = cJSON_ParseWithOpts(members ? w : s, NULL, 1);
	free(w);
	cJSON_Delete(j);
	return j != NULL;
}

/* the stored JSON goes into the document as it is: it must be JSON */
static bool parts_ok(const struct replay_texts *tx, size_t nthreads)
{
	if (!json_ok(tx->metadata, false) || (tx->crash && !json_ok(tx->crash, false)))
		return false;
	for (size_t i = 0; i < tx->ntails && i < nthreads; i++)
		if (tx->tails[i] && !json_ok(tx->tails[i], true))
			return false;
	return true;
}

static int replay_doc(struct ctrace_reader *r, FILE *out, int dirfd, char *err, size_t errlen)
{
	const struct ctrace_file_hdr *h = ctr_header(r);
	struct replay_texts tx = { 0 };
	struct stored_parts sp;
	struct trace tr;
	/* captured values: typed with the plans and types the file holds */
	struct ctrace_model *m = h->flags & CTRACE_FILE_F_ARGS ? model_new() : NULL;
	char why[160];
	int rc = -1;

	trace_init(&tr, (pid_t)h->pid, NULL, h->flags & CTRACE_FILE_F_ATTACH, h->t0, dirfd);
	tr.replay = true;
	tr.capture = m ? model_capture(m) : NULL;
	if (replay_run(r, &tr, STILL_RUNNING, &tx, m, why, sizeof(why))) {
		snprintf(err, errlen, "a damaged compact trace: %s", why);
	} else if (!ctr_complete(r) || !tx.metadata) {
		snprintf(err, errlen, "an incomplete compact trace (the tracer did not finish it)");
	} else if (!parts_ok(&tx, tr.nthreads)) {
		snprintf(err, errlen, "a damaged compact trace: its stored JSON is not valid");
	} else if (trace_spool_error(&tr)) {
		snprintf(err, errlen, "writing the call trees aside: %s", strerror(tr.err));
	} else {
		sp = (struct stored_parts){ .metadata = tx.metadata,
					    .tails = (const char *const *)tx.tails,
					    .ntails = tx.ntails,
					    .crash = tx.crash };
		rc = output_write_stored(out, "the output", &tr, &sp);
		if (rc)
			snprintf(err, errlen, "writing the JSON: %s", strerror(errno));
	}
	trace_free(&tr);
	model_free(m);
	replay_texts_free(&tx);
	return rc;
}

int ctrace_to_json(FILE *in, FILE *out, char *err, size_t errlen)
{
	return ctrace_to_json_depth(in, out, CT_MAX_DEPTH, err, errlen);
}

int ctrace_to_json_depth(FILE *in, FILE *out, int max_depth, char *err, size_t errlen)
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
	rc = replay_doc(r, out, dirfd, err, errlen);
	ctr_free(r);
	close(dirfd);
	return rc;
}

/* the other formats read the JSON: written aside, then walked */
int ctrace_walk(FILE *f, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	FILE *tmp = tmpfile();
	int rc;

	if (!tmp) {
		snprintf(err, errlen, "no temporary file: %s", strerror(errno));
		return -1;
	}
	rc = ctrace_to_json(f, tmp, err, errlen);
	if (!rc) {
		rewind(tmp);
		rc = trace_walk(tmp, v, ctx, err, errlen);
	}
	fclose(tmp);
	return rc;
}
