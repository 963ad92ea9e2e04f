/* The decoder of --probe batch's BATCH records (consume/batch.c): which
 * slots count as written. A slot reserved by an append that a signal
 * handler interrupted may be copied before it is written; its lap must
 * tell it apart, in the buffer's first lap (fresh zeros) as in later ones
 * (the previous lap's record). */
#include <fcntl.h>
#include <unistd.h>
#include "harness.h"
#include "consume/batch.h"
#include "consume/symbolize.h"
#include "consume/trace.h"
#include "ctrace.h"
#include "find/pattern.h"

#define TID 4242

static struct trace tr;

static struct ctrace_batch_rec rec(uint64_t index, uint64_t fn, int64_t depth, bool exit)
{
	struct ctrace_batch_rec r = {
		.w0 = (fn & CTRACE_BATCH_FN_MASK) | ((uint64_t)depth & 0xffff) << 47 |
		      (exit ? CTRACE_BATCH_EXIT : 0),
		.w1 = (1000 + index) | CTRACE_BATCH_LAP(index) << 56,
	};
	return r;
}

/* a BATCH of records [first, first + n), r[hole] as the buffer held it */
static uint64_t decode_with_hole(uint64_t first, struct ctrace_batch_rec hole_rec)
{
	struct {
		struct ctrace_batch b;
		struct ctrace_batch_rec r[4];
	} m = { .b = { .h = { .kind = CTRACE_EV_BATCH, .tid = TID, .ts = 1000000 },
		       .first = first, .d0 = 0, .n = 4 } };
	struct batch_decoder d;
	uint64_t unwritten;

	m.b.r[0] = rec(first, 0x1000, 1, false);
	m.b.r[1] = rec(first + 1, 0x2000, 2, false);
	m.b.r[2] = hole_rec;
	m.b.r[3] = rec(first + 3, 0x3000, 3, false);
	batch_decoder_init(&d, &tr, 0);
	batch_on_event(&d, &m, sizeof(m));
	unwritten = d.unwritten;
	batch_decoder_free(&d);
	return unwritten;
}

TEST(test_written_slots_are_decoded)
{
	CHECK_INT(decode_with_hole(0, rec(2, 0x2100, 3, false)), 0);
	CHECK_INT(decode_with_hole(CTRACE_BATCH_CAP * 5, rec(CTRACE_BATCH_CAP * 5 + 2, 0x2100, 3,
							     false)),
		  0);
}

TEST(test_first_lap_slot_never_written_is_not_a_call)
{
	struct ctrace_batch_rec zero = { 0, 0 };

	CHECK_INT(decode_with_hole(0, zero), 1);
}

TEST(test_slot_holding_the_previous_lap_is_not_a_call)
{
	uint64_t first = CTRACE_BATCH_CAP;

	CHECK_INT(decode_with_hole(first, rec(2, 0x2100, 3, false)), 1);
}

int main(void)
{
	struct filter *f = filter_new();
	struct symbolizer *sym = symbolizer_new((pid_t)TID, f);
	int dirfd = open("/tmp", O_RDONLY | O_DIRECTORY);

	trace_init(&tr, (pid_t)TID, sym, false, 1000, dirfd);
	harness_run_all();
	trace_finish(&tr, "end");
	trace_free(&tr);
	symbolizer_free(sym);
	filter_free(f);
	close(dirfd);
	HARNESS_MAIN_END("batch_decode");
}
