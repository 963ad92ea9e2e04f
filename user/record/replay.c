/* The compact record back into the tree builder. */
#include <stdlib.h>
#include "consume/crash.h"
#include "consume/trace.h"
#include "record/ctrace_read.h"
#include "record/replay.h"
#include "utils/log.h"
#include "utils/xalloc.h"

struct lost {
	uint32_t tid;
	uint64_t n;
};

int replay_run(struct ctrace_reader *r, struct trace *tr, const char *reason)
{
	struct lost *lost = NULL;
	size_t nlost = 0, caplost = 0;
	struct ctr_rec rec;
	int rc;

	while ((rc = ctr_next(r, &rec)) > 0) {
		switch (rec.op) {
		case CT_OP_CRASH:
			crash_on_record(&tr->crashes, (void *)rec.data, rec.size);
			break;
		case CT_OP_NAME:
			trace_replay_name(tr, rec.tid, rec.str);
			break;
		case CT_OP_LOST:
			/* BPF's counts at stop: applied after the stop's closing */
			if (nlost == caplost) {
				caplost = caplost ? 2 * caplost : 16;
				lost = xrealloc(lost, caplost * sizeof(*lost));
			}
			lost[nlost++] = (struct lost){ rec.tid, rec.count };
			break;
		case CT_OP_TEXT:
		case CT_OP_END:
		case CT_OP_FUNC:
			break;
		default:
			tr->replay_fn = rec.fn;
			trace_on_event(tr, (void *)rec.data, rec.size);
			break;
		}
	}
	if (rc < 0) {
		log_err("reading the compact trace back: %s", ctr_error(r));
		free(lost);
		return -1;
	}
	trace_finish(tr, reason);
	for (size_t i = 0; i < nlost; i++)
		trace_replay_lost(tr, lost[i].tid, lost[i].n);
	free(lost);
	return 0;
}
