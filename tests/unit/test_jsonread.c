/* Unit tests for user/cmds/jsonread.c: the tokenizer on valid, truncated,
 * malformed and deeply nested input, string decoding (escapes, surrogates,
 * ill-formed UTF-8), captures, and the trace walker: members in any order,
 * null times, partial calls, thread keys, a 100,000-deep call tree, and
 * every prefix of a trace failing cleanly with an offset. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include <cjson/cJSON.h>
#include "cmds/jsonread.h"
#include "trace_recorder.h"

#define FFFD "\xef\xbf\xbd"

/* ---- tokenizer ------------------------------------------------------------------ */

/* the whole token stream of s as text: "{ k:a s:b n:1 [ ] t f z }" ; "ERR" ends it on error */
static char *tokens(const char *s, size_t len, char *errbuf, size_t errlen)
{
	struct jr *r = jr_new_mem(s, len, 0, 0);
	struct jr_buf out = { 0 };
	enum jr_tok t;

	if (errbuf)
		errbuf[0] = 0;
	while ((t = jr_next(r)) > JR_EOF) {
		const char *txt = jr_text(r, NULL);

		switch (t) {
		case JR_OBJ_BEGIN: jr_buf_put(&out, "{ ", 2); break;
		case JR_OBJ_END: jr_buf_put(&out, "} ", 2); break;
		case JR_ARR_BEGIN: jr_buf_put(&out, "[ ", 2); break;
		case JR_ARR_END: jr_buf_put(&out, "] ", 2); break;
		case JR_KEY:
			jr_buf_put(&out, "k:", 2);
			jr_buf_put(&out, txt, strlen(txt));
			jr_buf_put(&out, " ", 1);
			break;
		case JR_STRING:
			jr_buf_put(&out, "s:", 2);
			jr_buf_put(&out, txt, strlen(txt));
			jr_buf_put(&out, " ", 1);
			break;
		case JR_NUMBER:
			jr_buf_put(&out, "n:", 2);
			jr_buf_put(&out, txt, strlen(txt));
			jr_buf_put(&out, " ", 1);
			break;
		case JR_TRUE: jr_buf_put(&out, "t ", 2); break;
		case JR_FALSE: jr_buf_put(&out, "f ", 2); break;
		case JR_NULL: jr_buf_put(&out, "z ", 2); break;
		default: break;
		}
	}
	if (t == JR_ERROR) {
		jr_buf_put(&out, "ERR", 3);
		if (errbuf)
			snprintf(errbuf, errlen, "%s", jr_error(r));
	} else if (out.len) {
		out.p[--out.len] = 0;
	}
	jr_free(r);
	if (!out.p)
		jr_buf_put(&out, "", 0);
	return out.p;
}

static void check_tokens(const char *in, const char *want)
{
	char *got = tokens(in, strlen(in), NULL, 0);

	CHECK_STR(got, want);
	free(got);
}

/* malformed input: an error whose message names the byte offset */
static void check_error(const char *in, unsigned long long offset, const char *says)
{
	char err[256], want[64];
	char *got = tokens(in, strlen(in), err, sizeof(err));

	snprintf(want, sizeof(want), "byte %llu: ", offset);
	HARNESS_RESULT(strstr(got, "ERR") != NULL, printf("accepted malformed ");
		       harness_print_str(in));
	HARNESS_RESULT(!strncmp(err, want, strlen(want)) && strstr(err, says), printf("error for ");
		       harness_print_str(in); printf(": "); harness_print_str(err);
		       printf(" (wanted %s...%s)", want, says));
	free(got);
}

TEST(test_tokens)
{
	check_tokens("{}", "{ }");
	check_tokens(" [ ] ", "[ ]");
	check_tokens("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"x\"}}",
		     "{ k:a n:1 k:b [ t f z ] k:c { k:d s:x } }");
	check_tokens("[-0, 1.5e+3, 0.25, -12E-2, 18446744073709551615]",
		     "[ n:-0 n:1.5e+3 n:0.25 n:-12E-2 n:18446744073709551615 ]");
	check_tokens("\"top\"", "s:top");
	check_tokens("42", "n:42");
	check_tokens("\t\r\n{ \"k\" : [ 1 , 2 ] }\n", "{ k:k [ n:1 n:2 ] }");
}

TEST(test_malformed)
{
	check_error("", 0, "end of input");
	check_error("   ", 3, "end of input");
	check_error("{\"a\":1,}", 7, "member name");
	check_error("[1,]", 3, "expected a value");
	check_error("[1 2]", 3, "expected ','");
	check_error("{\"a\" 1}", 5, "':'");
	check_error("{\"a\":1]", 6, "'}'");
	check_error("[1}", 2, "']'");
	check_error("{1:2}", 1, "member name");
	check_error("[01]", 1, "malformed number");
	check_error("[1.]", 1, "malformed number");
	check_error("[-]", 1, "malformed number");
	check_error("[1e]", 1, "malformed number");
	check_error("[+1]", 1, "unexpected character '+'");
	check_error("[tru]", 1, "invalid literal");
	check_error("[nul", 1, "invalid literal");
	check_error("{} {}", 3, "after the end");
	check_error("[\"a\nb\"]", 1, "control character");
	check_error("[\"\\x\"]", 1, "invalid escape");
	check_error("[\"\\u12G4\"]", 1, "\\u escape");
	check_error("[\"abc", 1, "unterminated string");
	check_error("[\"abc\\", 1, "unterminated string");
	check_error("\x01", 0, "byte 0x01");
	check_error("[1", 2, "truncated");
	check_error("{\"a\":", 5, "end of input");
}

TEST(test_strings)
{
	char *got;

	check_tokens("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[ s:\"\\/\b\f\n\r\t ]");
	check_tokens("[\"\\u00e9\\u20AC\"]", "[ s:\xc3\xa9\xe2\x82\xac ]");
	/* a surrogate pair is one code point; lone halves become U+FFFD */
	check_tokens("[\"\\ud83d\\ude00\"]", "[ s:\xf0\x9f\x98\x80 ]");
	check_tokens("[\"\\ud83dx\"]", "[ s:" FFFD "x ]");
	check_tokens("[\"\\ude00\"]", "[ s:" FFFD " ]");
	check_tokens("[\"\\ud83d\\u0041\"]", "[ s:" FFFD "A ]");
	/* raw UTF-8 passes, ill-formed bytes become U+FFFD (one per maximal subpart) */
	check_tokens("[\"\xc3\xa9\xf0\x9f\x98\x80\"]", "[ s:\xc3\xa9\xf0\x9f\x98\x80 ]");
	check_tokens("[\"a\xff"
		     "b\xc3\"]",
		     "[ s:a" FFFD "b" FFFD " ]");
	check_tokens("[\"\xe2\x82\"]", "[ s:" FFFD " ]");
	check_tokens("[\"\xed\xa0\x80\"]", "[ s:" FFFD FFFD FFFD " ]");
	check_tokens("[\"\xc0\xaf\"]", "[ s:" FFFD FFFD " ]");
	/* \u0000 is kept: the length says so */
	{
		struct jr *r = jr_new_mem("\"a\\u0000b\"", 10, 0, 0);
		size_t len = 0;
		const char *s;

		CHECK_INT(jr_next(r), JR_STRING);
		s = jr_text(r, &len);
		CHECK_INT(len, 3);
		CHECK(s[0] == 'a' && s[1] == 0 && s[2] == 'b');
		jr_free(r);
	}
	/* a string longer than the limit is an error, not an allocation */
	{
		struct jr *r = jr_new_mem("[\"0123456789\"]", 14, 0, 5);

		CHECK_INT(jr_next(r), JR_ARR_BEGIN);
		CHECK_INT(jr_next(r), JR_ERROR);
		CHECK(strstr(jr_error(r), "longer than 5") != NULL);
		jr_free(r);
	}
	got = tokens("[\"x\"]", 5, NULL, 0);
	CHECK_STR(got, "[ s:x ]");
	free(got);
}

/* every proper prefix of a valid document is an error, and never a crash */
TEST(test_truncated)
{
	const char *doc = "{\"a\":[1,2.5e3,\"s\\u00e9\\ud83d\\ude00\",{\"b\":null}],\"c\":true}";
	size_t n = strlen(doc), failures = 0;

	for (size_t i = 0; i < n; i++) {
		char *got = tokens(doc, i, NULL, 0);

		failures += strstr(got, "ERR") == NULL;
		free(got);
	}
	CHECK_INT(failures, 0);
}

TEST(test_deep)
{
	size_t depth = 100000, n = 2 * depth;
	char *s = malloc(n + 1);
	struct jr *r;
	enum jr_tok t;
	size_t maxd = 0, count = 0;

	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[n] = 0;
	r = jr_new_mem(s, n, 0, 0);
	while ((t = jr_next(r)) > JR_EOF) {
		count++;
		if (jr_depth(r) > maxd)
			maxd = jr_depth(r);
	}
	CHECK_INT(t, JR_EOF);
	CHECK_INT(count, n);
	CHECK_INT(maxd, depth);
	jr_free(r);

	/* skipping and capturing go by the depth counter, not by recursion */
	r = jr_new_mem(s, n, 0, 0);
	CHECK_INT(jr_skip(r, jr_next(r)), JR_ARR_END);
	CHECK_INT(jr_next(r), JR_EOF);
	jr_free(r);

	/* a nesting limit is an error */
	r = jr_new_mem(s, n, 1000, 0);
	while ((t = jr_next(r)) > JR_EOF)
		;
	CHECK_INT(t, JR_ERROR);
	CHECK(strstr(jr_error(r), "deeper than 1000") != NULL);
	jr_free(r);
	free(s);
}

TEST(test_capture)
{
	const char *in =
		"{ \"x\" : [ 1 , \"a\\\"b\\n\" , { \"k\" : null , \"t\":true} , [ ] , { } ], \"y\": 2 }";
	struct jr *r = jr_new_mem(in, strlen(in), 0, 0);
	struct jr_buf b = { 0 };

	CHECK_INT(jr_next(r), JR_OBJ_BEGIN);
	CHECK_INT(jr_next(r), JR_KEY);
	CHECK_INT(jr_capture(r, jr_next(r), &b, 1000), JR_ARR_END);
	CHECK_STR(b.p, "[1,\"a\\\"b\\n\",{\"k\":null,\"t\":true},[],{}]");
	CHECK_INT(jr_next(r), JR_KEY);
	b.len = 0;
	CHECK_INT(jr_capture(r, jr_next(r), &b, 1000), JR_NUMBER);
	CHECK_STR(b.p, "2");
	CHECK_INT(jr_next(r), JR_OBJ_END);
	CHECK_INT(jr_next(r), JR_EOF);
	jr_free(r);

	/* a capture past its bound fails */
	r = jr_new_mem(in, strlen(in), 0, 0);
	jr_next(r);
	jr_next(r);
	b.len = 0;
	CHECK_INT(jr_capture(r, jr_next(r), &b, 10), JR_ERROR);
	CHECK(strstr(jr_error(r), "longer than 10") != NULL);
	jr_free(r);
	jr_buf_free(&b);
}

TEST(test_numbers)
{
	uint64_t u;

	CHECK(jr_parse_u64("0", &u) && u == 0);
	CHECK(jr_parse_u64("18446744073709551615", &u) && u == UINT64_MAX);
	CHECK(!jr_parse_u64("18446744073709551616", &u));
	CHECK(!jr_parse_u64("-1", &u));
	CHECK(!jr_parse_u64("1.0", &u));
	CHECK(!jr_parse_u64("1e3", &u));
	CHECK(!jr_parse_u64("", &u));
}

/* ---- the walker ------------------------------------------------------------------------ */

/* walks doc with the recorder into r: the walk's status; *log the text (free it) */
static int walk_str(const char *doc, size_t len, bool quiet, struct trace_rec *r, char **log,
		    char *err, size_t errlen)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->quiet = quiet;
	rc = trace_rec_walk(r, doc, len, trace_walk, log, err, errlen);
	CHECK_STR(r->bad, "");
	return rc;
}

static const char doc1[] =
	"{\"metadata\":{\"tool\":\"ctrace-bpf\",\"format_version\":1,\"duration_ns\":5000,\"command\":[\"./p\",\"x\"],"
	"\"pid\":77,\"executable\":\"/abs/p\",\"total_calls\":6,\"threads\":2,\"lost_events\":3,"
	"\"options\":{\"deep\":[[[]]]}},"
	"\"future_member\":{\"ignored\":[1,2,{\"x\":null}]},"
	"\"call_trees\":{"
	"\"77\":{\"thread_id\":77,\"thread_name\":\"p\",\"total_calls\":4,\"lost_events\":0,\"root_calls\":["
	"{\"function\":\"main\",\"address\":\"0x10\",\"module\":\"p\",\"start_ns\":100,\"children\":["
	"{\"function\":\"f\",\"module\":\"p\",\"start_ns\":200,\"arguments\":[{\"name\":\"a\",\"type\":\"int\",\"value\":7}],"
	"\"children\":[],\"end_ns\":300,\"duration_ns\":100,\"return_value\":{\"type\":\"int\",\"value\":42}},"
	"{\"start_ns\":400,\"function\":\"g\",\"children\":[{\"function\":\"h\",\"children\":[],\"start_ns\":410,\"end_ns\":420,\"duration_ns\":10}],"
	"\"end_ns\":null,\"duration_ns\":null,\"partial\":true,\"partial_reason\":\"exit not observed (events lost)\"}"
	"],\"end_ns\":1000,\"duration_ns\":900}"
	"]},"
	"\"77#2\":{\"root_calls\":["
	"{\"children\":[{\"function\":\"k\",\"module\":\"p\",\"start_ns\":2000,\"children\":[],\"end_ns\":2100,\"duration_ns\":100}],"
	"\"function\":\"worker\",\"address\":null,\"module\":null,\"start_ns\":null,\"end_ns\":2500,\"duration_ns\":null,"
	"\"partial\":true,\"partial_reason\":\"entry not observed\",\"extra\":[{}]}"
	"],\"thread_name\":\"late\",\"lost_events\":3,\"signals\":[{\"signal\":11}]}"
	"},\"crash\":{\"signal\":11,\"thread_id\":77}}\n";

TEST(test_walk)
{
	struct trace_rec r;
	char *log;
	char err[256];

	CHECK_INT(walk_str(doc1, strlen(doc1), false, &r, &log, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_STR(
		log,
		"META {\"tool\":\"ctrace-bpf\",\"format_version\":1,\"duration_ns\":5000,\"command\":[\"./p\",\"x\"],\"pid\":77,\"executable\":\"/abs/p\",\"total_calls\":6,\"threads\":2,\"lost_events\":3,\"options\":{\"deep\":[[[]]]}} pid=1:77 dur=1:5000 total=1:6 lost=3 exe=/abs/p cmd=./p\n"
		"THREAD 77 tid=1:77 name=p total=1:4 lost=0 calls=0 more=(null)\n"
		"OPEN 0 fn=main mod=p addr=0x10 start=1:100 end=0:0 dur=0:0 partial=0:(null) args=(null) ret=(null) kids=0/0/0\n"
		"OPEN 1 fn=f mod=p addr=(null) start=1:200 end=1:300 dur=1:100 partial=0:(null) args=[{\"name\":\"a\",\"type\":\"int\",\"value\":7}] ret={\"type\":\"int\",\"value\":42} kids=0/0/0\n"
		"CLOSE 1 fn=f mod=p addr=(null) start=1:200 end=1:300 dur=1:100 partial=0:(null) args=[{\"name\":\"a\",\"type\":\"int\",\"value\":7}] ret={\"type\":\"int\",\"value\":42} kids=0/0/1\n"
		"OPEN 1 fn=g mod=(null) addr=(null) start=1:400 end=0:0 dur=0:0 partial=0:(null) args=(null) ret=(null) kids=0/0/0\n"
		"OPEN 2 fn=h mod=(null) addr=(null) start=1:410 end=1:420 dur=1:10 partial=0:(null) args=(null) ret=(null) kids=0/0/0\n"
		"CLOSE 2 fn=h mod=(null) addr=(null) start=1:410 end=1:420 dur=1:10 partial=0:(null) args=(null) ret=(null) kids=0/0/1\n"
		"CLOSE 1 fn=g mod=(null) addr=(null) start=1:400 end=0:0 dur=0:0 partial=1:exit not observed (events lost) args=(null) ret=(null) kids=1/10/1\n"
		/* children_ns 110: f's 100 and the 10 of h inside g, which has no duration */
		"CLOSE 0 fn=main mod=p addr=0x10 start=1:100 end=1:1000 dur=1:900 partial=0:(null) args=(null) ret=(null) kids=2/110/0\n"
		"/THREAD 77 tid=1:77 name=p total=1:4 lost=0 calls=4 more=(null)\n"
		"THREAD 77#2 tid=1:77 name=(null) total=0:0 lost=0 calls=0 more=(null)\n"
		"OPEN 0 fn=(null) mod=(null) addr=(null) start=0:0 end=0:0 dur=0:0 partial=0:(null) args=(null) ret=(null) kids=0/0/0\n"
		"OPEN 1 fn=k mod=p addr=(null) start=1:2000 end=1:2100 dur=1:100 partial=0:(null) args=(null) ret=(null) kids=0/0/0\n"
		"CLOSE 1 fn=k mod=p addr=(null) start=1:2000 end=1:2100 dur=1:100 partial=0:(null) args=(null) ret=(null) kids=0/0/1\n"
		"CLOSE 0 fn=worker mod=(null) addr=(null) start=0:0 end=1:2500 dur=0:0 partial=1:entry not observed args=(null) ret=(null) kids=1/100/1\n"
		"/THREAD 77#2 tid=1:77 name=late total=0:0 lost=3 calls=2 more=\"signals\":[{\"signal\":11}]\n"
		"CRASH {\"signal\":11,\"thread_id\":77}\n");
	CHECK_INT(r.threads, 2);
	CHECK_INT(r.crashes, 1);
	free(log);
}

/* a callback's non-zero return stops the walk with that value */
TEST(test_walk_stops)
{
	struct trace_visitor v = { .node_close = trace_stop_at };
	FILE *f = fmemopen((void *)doc1, strlen(doc1), "r");
	char err[256];

	CHECK_INT(trace_walk(f, &v, (void *)"g", err, sizeof(err)), 7);
	fclose(f);
}

TEST(test_walk_errors)
{
	static const struct {
		const char *doc, *says;
	} bad[] = {
		{ "[]", "a trace is a JSON object" },
		{ "{\"call_trees\":[]}", "\"call_trees\" must be an object" },
		{ "{\"call_trees\":{\"1\":[]}}", "must be an object" },
		{ "{\"call_trees\":{\"1\":{\"root_calls\":{}}}}",
		  "\"root_calls\" must be an array" },
		{ "{\"call_trees\":{\"1\":{\"root_calls\":[1]}}}", "expected a call object" },
		{ "{\"call_trees\":{\"1\":{\"root_calls\":[{\"children\":{}}]}}}",
		  "\"children\" must be an array" },
		{ "{\"call_trees\":{\"1\":{\"root_calls\":[{\"start_ns\":-5}]}}}",
		  "\"start_ns\" must be a whole number" },
		{ "{\"call_trees\":{\"1\":{\"root_calls\":[{\"start_ns\":1.5}]}}}",
		  "\"start_ns\" must be a whole number" },
		{ "{\"call_trees\":{\"1\":{\"root_calls\":[{\"function\":3}]}}}",
		  "\"function\" must be a string" },
		{ "{\"call_trees\":{\"1\":{\"root_calls\":[{\"partial\":1}]}}}",
		  "\"partial\" must be true or false" },
		{ "{\"call_trees\":{\"1\":{\"thread_id\":\"x\"}}}", "whole numbers" },
		{ "{\"call_trees\":{}} x", "after the end" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct trace_rec r;
		char *log;
		char err[256];
		int rc =
			walk_str(bad[i].doc, strlen(bad[i].doc), false, &r, &log, err, sizeof(err));

		HARNESS_RESULT(rc == -1 && !strncmp(err, "byte ", 5) && strstr(err, bad[i].says),
			       printf("%s -> rc %d, ", bad[i].doc, rc);
			       harness_print_str(err));
		free(log);
	}
}

/* every prefix of a trace fails with an offset inside it; none crashes */
TEST(test_walk_truncated)
{
	size_t n = strlen(doc1), failures = 0;

	for (size_t i = 0; i + 1 < n; i++) { /* the last byte is the newline */
		struct trace_rec r;
		char *log;
		char err[256];
		unsigned long long off = ~0ull;
		int rc = walk_str(doc1, i, false, &r, &log, err, sizeof(err));

		if (rc != -1 || sscanf(err, "byte %llu:", &off) != 1 || off > i) {
			if (failures++ < 5)
				printf("prefix %zu: rc %d err %s\n", i, rc, err);
		}
		free(log);
	}
	CHECK_INT(failures, 0);
}

/* a 100,000-deep chain of calls (recursion gone wild) streams with heap frames */
TEST(test_walk_deep)
{
	const size_t depth = 100000;
	size_t len = 0;
	char *buf = deep_chain_json(depth, &len);
	struct trace_rec r;
	char *log;
	char err[256];

	CHECK_INT(walk_str(buf, len, true, &r, &log, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(r.opens, depth);
	CHECK_INT(r.closes, depth);
	CHECK_INT(r.maxdepth, depth - 1);
	/* call i lasts 2(depth - i) ns; its children_ns is call i+1's: the sum of 2j, j = 1..depth-1 */
	CHECK_INT(r.children_ns, (uint64_t)(depth - 1) * depth);
	free(buf);
	free(log);
}

/* Numbers come back as written, past 2^53 too (cJSON alone rounds them) */
TEST(test_parse_exact)
{
	const char *in = "{\"a\":18446744073709551615,\"b\":[-9007199254740993,1.5e3],"
			 "\"c\":{\"d\":1795951239297185962},\"e\":\"x\"}";
	cJSON *o = jr_parse_exact(in);
	char *out = o ? cJSON_PrintUnformatted(o) : NULL;

	CHECK(o != NULL);
	CHECK_STR(out ? out : "", in);
	cJSON_free(out);
	cJSON_Delete(o);
	CHECK(jr_parse_exact("{\"a\":") == NULL);
}

HARNESS_MAIN("test_jsonread")
