/* Unit tests for --summary's userspace part (write/summary.c,
 * cmds/summary_file.c): rows of one function merge (two addresses, two
 * images), per thread they stay apart, the JSON holds every row and every
 * reason, and a written file reads back to the same summary. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "cmds/summary_file.h"
#include "harness.h"
#include "write/summary.h"

static struct ctrace_sum_val val(uint64_t calls, uint64_t timed, uint64_t total, uint64_t self,
				 uint64_t min, uint64_t max)
{
	return (struct ctrace_sum_val){ calls, timed, total, self, min, max };
}

static const struct sum_row *row(const struct summary *s, const char *fn, uint32_t tid)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->rows[i].function, fn) && s->rows[i].tid == tid)
			return &s->rows[i];
	return NULL;
}

TEST(merge)
{
	struct summary s = { 0 };
	struct ctrace_sum_val a = val(3, 3, 30, 20, 5, 15), b = val(2, 1, 7, 7, 7, 7);
	struct ctrace_sum_val none = val(4, 0, 0, 0, UINT64_MAX, 0);
	const struct sum_row *r;

	CHECK_INT(summary_add(&s, "f", "m", 0, &a), 0);
	CHECK_INT(summary_add(&s, "f", "m", 0, &b), 0);
	CHECK_INT(summary_add(&s, "f", "other", 0, &none), 0);
	CHECK_INT(s.n, 2);
	r = row(&s, "f", 0);
	CHECK(r && !strcmp(r->module, "m"));
	if (r) {
		CHECK_INT(r->v.calls, 5);
		CHECK_INT(r->v.timed, 4);
		CHECK_INT(r->v.total, 37);
		CHECK_INT(r->v.self, 27);
		CHECK_INT(r->v.min, 5);
		CHECK_INT(r->v.max, 15);
	}
	/* a row with no timed call keeps no extremes */
	CHECK_INT(s.rows[1].v.max, 0);
	CHECK(s.rows[1].v.min == UINT64_MAX);
	CHECK_INT(summary_calls(&s), 9);
	summary_free(&s);
}

TEST(json_and_read_back)
{
	struct summary s = { .per_thread = true }, back = { 0 };
	struct ctrace_sum_val a = val(3, 2, 30, 20, 10, 20), b = val(1, 0, 0, 0, UINT64_MAX, 0);
	char path[] = "/tmp/ctrace-summary-XXXXXX", err[256] = "";
	FILE *f;
	int fd = mkstemp(path);
	const struct sum_row *r;

	CHECK(fd >= 0);
	f = fdopen(fd, "w");
	summary_add(&s, "f", "m", 11, &a);
	summary_add(&s, "f", "m", 12, &b);
	s.untimed[CTRACE_SUM_UNWOUND] = 1;
	s.hidden = 4;
	/* the document as the tracer writes it, options and all */
	fputs("{\"metadata\":{\"options\":{\"probe_mode\":\"preload\",\"summary\":\"thread\"}}", f);
	summary_write_json(f, &s);
	fputs(",\"crash\":null}\n", f);
	fclose(f);
	CHECK_INT(summary_file_read(path, &back, err, sizeof(err)), 0);
	CHECK(back.per_thread);
	CHECK_INT(back.n, 2);
	CHECK_INT(back.untimed[CTRACE_SUM_UNWOUND], 1);
	CHECK_INT(back.hidden, 4);
	r = row(&back, "f", 11);
	CHECK(r && r->v.calls == 3 && r->v.timed == 2 && r->v.min == 10 && r->v.max == 20);
	r = row(&back, "f", 12);
	CHECK(r && r->v.calls == 1 && r->v.timed == 0);
	summary_free(&back);
	summary_free(&s);
	unlink(path);
}

TEST(not_a_summary)
{
	char path[] = "/tmp/ctrace-summary-XXXXXX", err[256] = "";
	struct summary s = { 0 };
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs("{\"metadata\":{\"options\":{}},\"call_trees\":{}}\n", f);
	fclose(f);
	CHECK_INT(summary_file_read(path, &s, err, sizeof(err)), 1);
	CHECK_INT(summary_file_read("/nonexistent/x.json", &s, err, sizeof(err)), 1);
	CHECK_INT(s.n, 0);
	unlink(path);
}

HARNESS_MAIN("summary")
