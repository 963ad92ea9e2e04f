/* The compact record back into the tree builder. */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "attach/capture_plans.h"
#include "attach/capture_state.h"
#include "consume/capture_decode.h"
#include "consume/crash.h"
#include "consume/trace.h"
#include "record/ctrace_model.h"
#include "record/ctrace_read.h"
#include "record/replay.h"
#include "utils/xalloc.h"

struct lost {
	uint32_t tid;
	uint64_t n;
};

void replay_texts_free(struct replay_texts *t)
{
	free(t->metadata);
	free(t->crash);
	for (size_t i = 0; i < t->ntails; i++)
		free(t->tails[i]);
	free(t->tails);
	memset(t, 0, sizeof(*t));
}

static void keep_text(struct replay_texts *t, const struct ctr_rec *rec)
{
	char **slot = NULL;

	if (rec->what == CT_TEXT_METADATA) {
		slot = &t->metadata;
	} else if (rec->what == CT_TEXT_CRASH) {
		slot = &t->crash;
	} else if (rec->what == CT_TEXT_THREAD && rec->count < (1u << 24)) {
		if (rec->count >= t->ntails) {
			size_t n = rec->count + 1;

			t->tails = xrealloc(t->tails, n * sizeof(*t->tails));
			memset(t->tails + t->ntails, 0, (n - t->ntails) * sizeof(*t->tails));
			t->ntails = n;
		}
		slot = &t->tails[rec->count];
	}
	if (!slot)
		return;
	free(*slot);
	*slot = xstrdup(rec->str);
}

/* a FNPTR record: what the next event's function pointers named */
static int fnptrs(struct ctrace_reader *r, struct trace *tr, const struct ctr_rec *rec)
{
	uint64_t addr[CAP_FNPTRS], ids[CAP_FNPTRS];
	const struct func_info *fi[CAP_FNPTRS];
	int n = model_fnptrs((const uint8_t *)rec->str, rec->len, addr, ids, CAP_FNPTRS);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		fi[i] = ctr_func(r, ids[i]);
	if (tr->capture)
		capture_replay_fnptrs(tr->capture, addr, fi, (unsigned)n);
	return 0;
}

/* an EXT record: the model's into it (offline), FNPTR for the next event */
static int ext(struct ctrace_reader *r, struct trace *tr, struct ctrace_model *m,
	       const struct ctr_rec *rec, char *err, size_t errlen)
{
	if (rec->what == CT_EXT_FNPTR) {
		if (fnptrs(r, tr, rec) == 0)
			return 0;
		snprintf(err, errlen, "a damaged function pointer record");
		return -1;
	}
	return m ? model_apply(m, rec->what, (const uint8_t *)rec->str, rec->len, err, errlen) : 0;
}

int replay_run(struct ctrace_reader *r, struct trace *tr, const char *reason,
	       struct replay_texts *texts, struct ctrace_model *model, char *err, size_t errlen)
{
	struct lost *lost = NULL;
	size_t nlost = 0, caplost = 0;
	struct ctr_rec rec;
	int rc;

	capture_replay_begin(tr->capture);
	while ((rc = ctr_next(r, &rec)) > 0) {
		switch (rec.op) {
		case CT_OP_CRASH: crash_on_record(&tr->crashes, (void *)rec.data, rec.size); break;
		case CT_OP_NAME: trace_replay_name(tr, rec.tid, rec.str); break;
		case CT_OP_LOST:
			/* BPF's counts at stop: applied after the stop's closing */
			if (nlost == caplost) {
				caplost = caplost ? 2 * caplost : 16;
				lost = xrealloc(lost, caplost * sizeof(*lost));
			}
			lost[nlost++] = (struct lost){ rec.tid, rec.count };
			break;
		case CT_OP_TEXT:
			if (texts)
				keep_text(texts, &rec);
			break;
		case CT_OP_MARK: capture_replay_to(tr->capture, rec.count); break;
		case CT_OP_EXT:
			if (ext(r, tr, model, &rec, err, errlen))
				rc = -2;
			break;
		case CT_OP_END:
		case CT_OP_FUNC: break;
		default:
			tr->replay_fn = rec.fn;
			tr->replay_site = rec.site;
			trace_on_event(tr, (void *)rec.data, rec.size);
			if (tr->capture)
				capture_replay_fnptrs(tr->capture, NULL, NULL, 0);
			break;
		}
		if (rc < 0)
			break;
	}
	if (rc == -1)
		snprintf(err, errlen, "%s", ctr_error(r));
	if (rc < 0) {
		free(lost);
		return -1;
	}
	/* the plans as tracing left them, for what is written at the end */
	capture_replay_to(tr->capture, SIZE_MAX);
	trace_finish(tr, reason);
	for (size_t i = 0; i < nlost; i++)
		trace_replay_lost(tr, lost[i].tid, lost[i].n);
	free(lost);
	return 0;
}
