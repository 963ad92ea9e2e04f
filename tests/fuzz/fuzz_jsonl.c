/* libFuzzer harness: the trace readers on arbitrary bytes, told apart as
 * cmds/trace_input.c does (jsonl_sniff: the JSONL reader, else the JSON
 * document's). A walk must call the visitor in order, with NUL-terminated
 * strings (the recorder, tests/unit/trace_recorder.h, checks the order:
 * node_open and node_close paired at the depth of the calls open, inside
 * thread_begin/thread_end), and either fail with one line naming where
 * ("line N: " or "byte N: ") or end outside a thread. A trace read whole is
 * then written as JSONL (write/jsonl.c), which must be valid UTF-8, one JSON
 * object per line, read back to exactly the same visitor calls, and written
 * again to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmds/jsonlread.h"
#include "cmds/jsonread.h"
#include "fuzz_check.h"
#include "trace_recorder.h"
#include "write/backend.h"

/* the walk's log; its status in *rc (0, or -1 with err naming where) */
static char *record(const uint8_t *p, size_t n, trace_walk_fn walk, int *rc)
{
	struct trace_rec r = { 0 };
	char *log, err[512] = "";

	*rc = trace_rec_walk(&r, p, n, walk, &log, err, sizeof(err));
	FUZZ_ASSERT(!r.bad[0], "the visitor was called out of order: %s", r.bad);
	FUZZ_ASSERT(*rc == 0 || *rc == -1, "walk returned %d", *rc);
	if (*rc) {
		unsigned long long at;

		FUZZ_ASSERT(sscanf(err, "line %llu: ", &at) == 1 ||
				    sscanf(err, "byte %llu: ", &at) == 1,
			    "an error that names no place: %s", err);
		FUZZ_ASSERT(!strchr(err, '\n'), "an error of more than one line");
	} else {
		FUZZ_ASSERT(!r.in_thread && !r.open, "the walk ended inside a thread");
	}
	return log;
}

static char *to_jsonl(const uint8_t *p, size_t n, trace_walk_fn walk, size_t *len)
{
	char err[512] = "";
	char *out = mem_trace_jsonl(p, n, walk, len, err, sizeof(err));

	FUZZ_ASSERT(out, "jsonl_run failed on a trace that reads: %s", err);
	return out;
}

/* valid UTF-8, each line one JSON object, the first a metadata line */
static void check_lines(const char *jl, size_t len)
{
	struct jr *r = jr_new_mem("", 0, 0, 0);
	size_t start = 0, lines = 0;

	FUZZ_ASSERT(r, "out of memory");
	FUZZ_ASSERT(fuzz_utf8_valid((const unsigned char *)jl, len), "JSONL not valid UTF-8");
	FUZZ_ASSERT(len && jl[len - 1] == '\n', "JSONL does not end with a newline");
	FUZZ_ASSERT(jsonl_sniff((const unsigned char *)jl, len), "no metadata line first");
	while (start < len) {
		const char *nl = memchr(jl + start, '\n', len - start);
		size_t n = (size_t)(nl - (jl + start));
		enum jr_tok t;

		jr_reset_mem(r, jl + start, n);
		t = jr_next(r);
		FUZZ_ASSERT(t == JR_OBJ_BEGIN, "line %zu is not an object", lines + 1);
		FUZZ_ASSERT(jr_skip(r, t) == JR_OBJ_END && jr_next(r) == JR_EOF,
			    "line %zu is not one JSON object: %s", lines + 1, jr_error(r));
		start += n + 1;
		lines++;
	}
	jr_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	trace_walk_fn walk = jsonl_sniff(data, size < 64 ? size : 64) ? jsonl_walk : trace_walk;
	int rc, rc2;
	size_t len = 0, len2 = 0;
	char *want = record(data, size, walk, &rc), *jl, *got, *jl2;

	if (rc) {
		free(want);
		return 0;
	}
	jl = to_jsonl(data, size, walk, &len);
	check_lines(jl, len);
	got = record((const uint8_t *)jl, len, jsonl_walk, &rc2);
	FUZZ_ASSERT(rc2 == 0, "the JSONL written does not read back");
	FUZZ_ASSERT(!strcmp(got, want), "the JSONL reads back to other calls:\n%s\n---\n%s", want,
		    got);
	jl2 = to_jsonl((const uint8_t *)jl, len, jsonl_walk, &len2);
	FUZZ_ASSERT(len2 == len && !memcmp(jl, jl2, len), "JSONL -> JSONL changed the bytes");
	free(jl2);
	free(got);
	free(jl);
	free(want);
	return 0;
}
