/* Unit tests for the JSONL form (user/write/jsonl.c, user/cmds/jsonlread.c):
 *   round trip: a JSON trace's visitor calls (every field of every callback)
 *               equal those of its JSONL, on traces with partial calls, calls
 *               named only at their exit, arguments, return values, a crash,
 *               members after "root_calls" and a 100,000-deep chain;
 *   the lines:  the documented types and members, ids in pre-order;
 *   the reader: every malformed line is one error naming its line, a cut
 *               trace never passes as whole, and the format is told by the
 *               first line. */
#include <stdint.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "cmds/jsonlread.h"
#include "cmds/jsonread.h"
#include "cmds/trace_input.h"
#include "harness.h"
#include "trace_recorder.h"

/* ---- sources from strings ------------------------------------------------------------- */

/* the walk's log, and its status in *rc */
static char *record(const char *doc, size_t len, trace_walk_fn walk, bool quiet, int *rc, char *err,
		    size_t errlen, struct trace_rec *out)
{
	struct trace_rec r = { .quiet = quiet };
	char *log;

	*rc = trace_rec_walk(&r, doc, len, walk, &log, err, errlen);
	CHECK_STR(r.bad, "");
	if (out)
		*out = r;
	return log;
}

/* doc (JSON, or JSONL with walk) in JSONL; *len its length */
static char *to_jsonl(const char *doc, size_t len, trace_walk_fn walk, size_t *outlen)
{
	char err[256] = "";
	char *jl = mem_trace_jsonl(doc, len, walk, outlen, err, sizeof(err));

	if (!jl)
		printf("jsonl_run: %s\n", err);
	return jl;
}

/* JSON -> JSONL -> visitor equals JSON -> visitor, and JSONL -> JSONL is the same bytes */
static void check_round_trip(const char *doc, size_t len, bool quiet, struct trace_rec *stats)
{
	char err1[256], err2[256];
	int rc1, rc2;
	size_t jl_len = 0, jl2_len = 0;
	char *jl = to_jsonl(doc, len, trace_walk, &jl_len);
	char *want = record(doc, len, trace_walk, quiet, &rc1, err1, sizeof(err1), NULL);
	char *got =
		jl ? record(jl, jl_len, jsonl_walk, quiet, &rc2, err2, sizeof(err2), stats) : NULL;
	char *jl2 = jl ? to_jsonl(jl, jl_len, jsonl_walk, &jl2_len) : NULL;

	CHECK(jl != NULL);
	CHECK_INT(rc1, 0);
	if (jl) {
		CHECK_INT(rc2, 0);
		CHECK_STR(err2, "");
		CHECK_STR(got, want);
		CHECK(jl2 && jl2_len == jl_len && !memcmp(jl, jl2, jl_len));
	}
	free(jl);
	free(jl2);
	free(want);
	free(got);
}

/* ---- traces ----------------------------------------------------------------------------- */

/* partial calls both ways, a call named at its exit with members after its
 * children, arguments and return values, a tid reused ("77#2") with members
 * after root_calls, unknown members, a crash with a cause */
static const char doc1[] =
	"{\"metadata\":{\"tool\":\"ctrace-bpf\",\"format_version\":1,\"duration_ns\":5000,\"command\":[\"./p\",\"x\"],"
	"\"pid\":77,\"executable\":\"/abs/p\",\"total_calls\":7,\"threads\":2,\"lost_events\":3,"
	"\"options\":{\"deep\":[[[]]]}},"
	"\"future_member\":{\"ignored\":[1,2,{\"x\":null}]},"
	"\"call_trees\":{"
	"\"77\":{\"thread_id\":77,\"thread_name\":\"p\\u00e9\\n\",\"total_calls\":4,\"lost_events\":0,\"root_calls\":["
	"{\"function\":\"main\",\"address\":\"0x10\",\"module\":\"p\",\"start_ns\":100,\"children\":["
	"{\"function\":\"f\",\"module\":\"p\",\"start_ns\":200,\"arguments\":[{\"name\":\"s\",\"type\":\"char *\","
	"\"value\":\"a\\\"b\\\\c\\u0001\",\"address\":\"0x7\"},{\"name\":\"st\",\"type\":\"struct s\",\"value\":{\"x\":[1,2.5,-3e7]}}],"
	"\"children\":[],\"end_ns\":300,\"duration_ns\":100,\"return_value\":{\"type\":\"int\",\"value\":42}},"
	"{\"start_ns\":400,\"function\":\"g\",\"children\":[{\"function\":\"h\",\"children\":[],\"start_ns\":410,\"end_ns\":420,\"duration_ns\":10}],"
	"\"end_ns\":null,\"duration_ns\":null,\"partial\":true,\"partial_reason\":\"exit not observed (events lost)\"},"
	"{\"function\":\"z\",\"start_ns\":500,\"children\":[],\"end_ns\":510,\"duration_ns\":10,\"partial\":false,"
	"\"return_value\":{\"value\":null,\"unavailable\":\"the return was not observed\"}}"
	"],\"end_ns\":1000,\"duration_ns\":900}"
	"]},"
	"\"77#2\":{\"root_calls\":["
	"{\"children\":[{\"function\":\"k\",\"module\":\"p\",\"start_ns\":2000,\"children\":[],\"end_ns\":2100,\"duration_ns\":100}],"
	"\"function\":\"worker\",\"address\":null,\"module\":null,\"start_ns\":null,\"end_ns\":2500,\"duration_ns\":null,"
	"\"partial\":true,\"partial_reason\":\"entry not observed\",\"extra\":[{}]}"
	"],\"thread_name\":\"late\",\"lost_events\":3,\"signals\":[{\"signal\":11}]}"
	"},\"crash\":{\"signal\":11,\"signal_name\":\"SIGSEGV\",\"thread_id\":77,\"call_stack\":[{\"function\":\"k\"}],"
	"\"cause\":{\"signal\":11,\"cause\":null}}}\n";

/* metadata after the threads, and no crash */
static const char doc_late_meta[] =
	"{\"call_trees\":{\"5\":{\"root_calls\":[{\"function\":\"a\",\"start_ns\":1,\"children\":[],"
	"\"end_ns\":2,\"duration_ns\":1}]}},\"crash\":null,\"metadata\":{\"pid\":5}}";

TEST(test_round_trip)
{
	static const char *const docs[] = {
		doc1,
		doc_late_meta,
		"{}",
		"{\"metadata\":null,\"call_trees\":{},\"crash\":null}",
		"{\"call_trees\":{\"x\":{}}}",
		"{\"call_trees\":{\"1\":{\"root_calls\":[{\"children\":[{\"children\":[]}]}]}}}",
	};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		check_round_trip(docs[i], strlen(docs[i]), false, NULL);
}

/* the lines themselves, as documented in doc/design.md §6 */
TEST(test_lines)
{
	static const char want[] =
		"{\"type\":\"metadata\",\"jsonl_version\":1,\"metadata\":{\"pid\":3}}\n"
		"{\"type\":\"thread\",\"thread\":\"3\",\"thread_id\":3,\"thread_name\":\"t\",\"total_calls\":2,\"lost_events\":0,\"more\":{\"resyncs\":0}}\n"
		"{\"type\":\"enter\",\"id\":1,\"parent\":null,\"depth\":0,\"thread\":\"3\",\"function\":\"main\",\"address\":\"0x1\",\"module\":\"m\",\"start_ns\":10}\n"
		"{\"type\":\"enter\",\"id\":2,\"parent\":1,\"depth\":1,\"thread\":\"3\",\"function\":\"f\",\"start_ns\":20,\"end_ns\":30,\"duration_ns\":10,\"arguments\":[{\"name\":\"a\",\"type\":\"int\",\"value\":1}]}\n"
		"{\"type\":\"call\",\"id\":2,\"parent\":1,\"depth\":1,\"thread\":\"3\",\"function\":\"f\",\"address\":null,\"module\":null,\"start_ns\":20,\"end_ns\":30,\"duration_ns\":10,\"arguments\":[{\"name\":\"a\",\"type\":\"int\",\"value\":1}]}\n"
		"{\"type\":\"call\",\"id\":1,\"parent\":null,\"depth\":0,\"thread\":\"3\",\"function\":\"main\",\"address\":\"0x1\",\"module\":\"m\",\"start_ns\":10,\"end_ns\":null,\"duration_ns\":null,\"partial\":true,\"partial_reason\":\"exit not observed\"}\n"
		"{\"type\":\"thread_end\",\"thread\":\"3\",\"thread_id\":3,\"thread_name\":\"t\",\"total_calls\":2,\"lost_events\":0,\"more\":{\"resyncs\":0,\"pid\":3,\"type\":\"x\"},\"calls\":2}\n"
		"{\"type\":\"crash\",\"crash\":{\"signal\":6}}\n";
	static const char doc[] =
		"{\"metadata\":{\"pid\":3},\"call_trees\":{\"3\":{\"thread_id\":3,\"thread_name\":\"t\",\"total_calls\":2,\"resyncs\":0,"
		"\"root_calls\":[{\"function\":\"main\",\"address\":\"0x1\",\"module\":\"m\",\"start_ns\":10,\"children\":["
		"{\"function\":\"f\",\"start_ns\":20,\"arguments\":[{\"name\":\"a\",\"type\":\"int\",\"value\":1}],"
		"\"children\":[],\"end_ns\":30,\"duration_ns\":10}],"
		"\"end_ns\":null,\"duration_ns\":null,\"partial\":true,\"partial_reason\":\"exit not observed\"}],"
		"\"pid\":3,\"type\":\"x\"}},"
		"\"crash\":{\"signal\":6}}";
	size_t len = 0;
	char *got = to_jsonl(doc, strlen(doc), trace_walk, &len);

	CHECK_STR(got, want);
	free(got);
}

/* docA of test_convert.c, built as the tracer writes: many threads, wide */
TEST(test_round_trip_wide)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	fputs("{\"metadata\":{\"pid\":1},\"call_trees\":{", m);
	for (int t = 0; t < 20; t++) {
		fprintf(m, "%s\"%d\":{\"thread_id\":%d,\"root_calls\":[", t ? "," : "", 100 + t,
			100 + t);
		for (int i = 0; i < 50; i++)
			fprintf(m,
				"%s{\"function\":\"f%d\",\"start_ns\":%d,\"children\":[{\"function\":"
				"\"g\",\"start_ns\":%d,\"children\":[],\"end_ns\":%d,\"duration_ns\":1}],"
				"\"end_ns\":%d,\"duration_ns\":5}",
				i ? "," : "", i % 7, i * 10, i * 10 + 1, i * 10 + 2, i * 10 + 5);
		fputs("]}", m);
	}
	fputs("},\"crash\":null}", m);
	fclose(m);
	check_round_trip(buf, len, false, NULL);
	free(buf);
}

/* a 100,000-deep chain: the writer and the reader hold one frame per level */
TEST(test_round_trip_deep)
{
	const size_t depth = 100000;
	size_t len = 0;
	char *buf = deep_chain_json(depth, &len);
	struct trace_rec stats = { 0 };

	check_round_trip(buf, len, true, &stats);
	CHECK_INT(stats.opens, depth);
	CHECK_INT(stats.closes, depth);
	CHECK_INT(stats.maxdepth, depth - 1);
	free(buf);
}

/* ---- the reader on bad input ------------------------------------------------------------ */

static int walk_jsonl(const char *doc, char *err, size_t errlen)
{
	int rc;
	char *log = record(doc, strlen(doc), jsonl_walk, false, &rc, err, errlen, NULL);

	free(log);
	return rc;
}

#define M	       "{\"type\":\"metadata\",\"metadata\":null}\n"
#define TH	       "{\"type\":\"thread\",\"thread\":\"1\"}\n"
#define TE	       "{\"type\":\"thread_end\",\"thread\":\"1\"}\n"
#define EN(id, par, d) "{\"type\":\"enter\",\"id\":" #id ",\"parent\":" #par ",\"depth\":" #d "}\n"
#define CA(id, d)      "{\"type\":\"call\",\"id\":" #id ",\"depth\":" #d "}\n"

TEST(test_reader_errors)
{
	static const struct {
		const char *doc, *says;
	} bad[] = {
		{ "", "line 0: the trace is empty" },
		{ M "[1]\n", "line 2: each line must be a JSON object" },
		{ M "{\"id\":1}\n", "line 2: a line without \"type\"" },
		{ M "{\"type\":1}\n", "line 2: \"type\" must be a string" },
		{ M "{\"type\":\"crash\"} {}\n", "line 2: byte 17: unexpected data after" },
		{ M "{\"type\":\"crash\"\n", "line 2: byte " },
		{ M EN(1, null, 0), "line 2: an \"enter\" line outside a thread" },
		{ M TH TH, "line 3: a \"thread\" line before the \"thread_end\"" },
		{ M "{\"type\":\"thread\"}\n", "line 2: a \"thread\" line needs \"thread\"" },
		{ M TH EN(1, null, 1), "line 3: \"depth\" 1, but 0 calls are open" },
		{ M TH EN(1, 5, 0), "line 3: \"parent\" is not the open call" },
		{ M TH EN(1, null, 0) EN(2, 3, 1), "line 4: \"parent\" is not the open call" },
		{ M TH "{\"type\":\"enter\",\"depth\":0}\n", "needs \"id\" and \"depth\"" },
		{ M TH CA(1, 0), "line 3: a \"call\" line with no \"enter\" line" },
		{ M TH EN(1, null, 0) CA(2, 0), "line 4: a \"call\" line whose \"id\" is not" },
		{ M TH EN(1, null, 0) CA(1, 3), "line 4: \"depth\" 3, but the call is at depth 0" },
		{ M TH EN(1, null, 0) TE, "line 4: \"thread_end\" while 1 calls are open" },
		{ M TH EN(1, null, 0), "line 3: the trace ends inside thread \"1\"" },
		{ M TH "{\"type\":\"enter\",\"id\":1,\"depth\":0,\"thread\":\"2\"}\n",
		  "line 3: an \"enter\" line of thread \"2\" inside thread \"1\"" },
		{ M TH "{\"type\":\"metadata\"}\n", "line 3: a \"metadata\" line inside thread" },
		{ M TH "{\"type\":\"crash\"}\n", "line 3: a \"crash\" line inside thread" },
		{ M TH EN(1, null, 0) "{\"type\":\"call\",\"id\":1,\"start_ns\":-1}\n",
		  "\"start_ns\" must be a whole number" },
		{ M TH EN(1, null, 0) "{\"type\":\"call\",\"id\":1,\"function\":7}\n",
		  "\"function\" must be a string or null" },
		{ M TH EN(1, null, 0) "{\"type\":\"call\",\"id\":1,\"partial\":\"yes\"}\n",
		  "\"partial\" must be true or false" },
		{ M "{\"type\":\"thread\",\"thread\":\"1\",\"thread_id\":\"x\"}\n",
		  "\"thread_id\" must be a whole number" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		int rc = walk_jsonl(bad[i].doc, err, sizeof(err));

		HARNESS_RESULT(rc == -1 && strstr(err, bad[i].says),
			       printf("case %zu -> rc %d, ", i, rc);
			       harness_print_str(err));
	}
}

/* blank lines, CRLF, members in any order, unknown types and members: all read */
TEST(test_reader_lenient)
{
	static const char doc[] =
		"\n{\"type\":\"metadata\",\"metadata\":{\"pid\":2}}\r\n"
		"{\"type\":\"annotation\",\"anything\":[1,{\"deep\":[]}]}\n"
		"  \n"
		"{\"thread\":\"2\",\"type\":\"thread\",\"future\":{}}\n"
		"{\"depth\":0,\"id\":7,\"type\":\"enter\",\"function\":\"a\"}\n"
		"{\"id\":7,\"type\":\"call\",\"function\":\"a\",\"start_ns\":1,\"end_ns\":3,\"duration_ns\":2}\n"
		"{\"type\":\"thread_end\",\"thread\":\"2\"}";
	char err[256];
	int rc;
	char *log = record(doc, strlen(doc), jsonl_walk, false, &rc, err, sizeof(err), NULL);

	CHECK_INT(rc, 0);
	CHECK_STR(log,
		  "META {\"pid\":2} pid=1:2 dur=0:0 total=0:0 lost=0 exe=(null) cmd=(null)\n"
		  "THREAD 2 tid=1:2 name=(null) total=0:0 lost=0 calls=0 more=(null)\n"
		  "OPEN 0 fn=a mod=(null) addr=(null) start=0:0 end=0:0 dur=0:0 partial=0:(null) "
		  "args=(null) ret=(null) kids=0/0/0\n"
		  "CLOSE 0 fn=a mod=(null) addr=(null) start=1:1 end=1:3 dur=1:2 partial=0:(null) "
		  "args=(null) ret=(null) kids=0/0/1\n"
		  "/THREAD 2 tid=1:2 name=(null) total=0:0 lost=0 calls=1 more=(null)\n");
	free(log);
}

/* every prefix of a JSONL trace is read without harm: it fails naming a line,
 * or it is whole lines that close every thread they open */
TEST(test_reader_truncated)
{
	size_t len = 0, failures = 0;
	char *jl = to_jsonl(doc1, strlen(doc1), trace_walk, &len);

	CHECK(jl != NULL);
	for (size_t i = 0; jl && i < len; i++) {
		char err[256] = "";
		unsigned long long line;
		int rc;
		char *log = record(jl, i, jsonl_walk, false, &rc, err, sizeof(err), NULL);
		bool ok = rc == -1 ? sscanf(err, "line %llu:", &line) == 1 :
				     rc == 0 && i > 0 && (jl[i - 1] == '\n' || jl[i] == '\n');

		if (!ok && failures++ < 5)
			printf("prefix %zu: rc %d err %s\n", i, rc, err);
		free(log);
	}
	CHECK_INT(failures, 0);
	free(jl);
}

/* a callback's non-zero return stops the walk with that value */
TEST(test_reader_stops)
{
	struct trace_visitor v = { .node_close = trace_stop_at };
	size_t len = 0;
	char *jl = to_jsonl(doc1, strlen(doc1), trace_walk, &len);
	struct mem_trace s = { jl, len, jsonl_walk };
	char err[256];

	CHECK_INT(mem_trace_walk(&s, &v, (void *)"k", err, sizeof(err)), 7);
	free(jl);
}

TEST(test_sniff)
{
	static const char *const yes[] = {
		"{\"type\":\"metadata\",\"jsonl_version\":1}",
		" \n{ \"type\" : \"metadata\"",
		"{\"type\":\"metadata\"",
	};
	static const char *const no[] = {
		"{\"metadata\":{\"type\":\"metadata\"}}",
		"{\"type\":\"thread\"}",
		"{\"type\":\"metad",
		"",
		"[{\"type\":\"metadata\"}]",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(jsonl_sniff((const unsigned char *)yes[i], strlen(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(!jsonl_sniff((const unsigned char *)no[i], strlen(no[i])));
	CHECK(!jsonl_sniff((const unsigned char *)"\0{\"type\":\"metadata\"", 19));
}

/* trace_input tells JSONL from JSON by the first line, from a file or a pipe */
TEST(test_trace_input)
{
	size_t len = 0;
	char *jl = to_jsonl(doc1, strlen(doc1), trace_walk, &len);
	char path[] = "/tmp/ctrace-test-jsonl-XXXXXX";
	int fd = mkstemp(path);
	struct trace_input in;
	char err[256];

	CHECK(fd >= 0 && jl && write(fd, jl, len) == (ssize_t)len);
	close(fd);
	CHECK_INT(trace_input_open(&in, path, err, sizeof(err)), 0);
	CHECK_STR(in.reader->name, "jsonl");
	trace_input_close(&in);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, doc1, strlen(doc1)) == (ssize_t)strlen(doc1));
	close(fd);
	CHECK_INT(trace_input_open(&in, path, err, sizeof(err)), 0);
	CHECK_STR(in.reader->name, "json");
	trace_input_close(&in);
	unlink(path);
	free(jl);
}

HARNESS_MAIN("test_jsonl")
