/* Unit tests for user/cmds/jsonread.c: the tokenizer on valid, truncated,
 * malformed and deeply nested input, string decoding (escapes, surrogates,
 * ill-formed UTF-8), captures, and the trace walker: members in any order,
 * null times, partial calls, thread keys, a 100,000-deep call tree, and
 * every prefix of a trace failing cleanly with an offset. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include <cjson/cJSON.h>
#include "cmds/jsonread.h"

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

struct rec {
	struct jr_buf log;
	struct trace_meta meta;
	char meta_exe[64];
	unsigned threads, crashes;
	uint64_t opens, closes, maxdepth;
	uint64_t children_ns_sum, self_sum;
};

static void logf_(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct rec *r, const char *fmt, ...)
{
	char b[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	jr_buf_put(&r->log, b, strlen(b));
}

static int on_meta(void *ctx, const struct trace_meta *m)
{
	struct rec *r = ctx;

	r->meta = *m;
	snprintf(r->meta_exe, sizeof(r->meta_exe), "%s", m->executable ? m->executable : "-");
	r->meta.json = NULL;
	r->meta.executable = NULL;
	r->meta.command0 = NULL;
	return 0;
}

static int on_tbegin(void *ctx, const struct trace_thread *t)
{
	logf_(ctx, "T(%s,%llu,%s) ", t->key, (unsigned long long)t->tid, t->name ? t->name : "-");
	return 0;
}

static int on_tend(void *ctx, const struct trace_thread *t)
{
	struct rec *r = ctx;

	r->threads++;
	logf_(r, "/T(%s,%s,%llu,%llu) ", t->key, t->name ? t->name : "-",
	      (unsigned long long)t->calls, (unsigned long long)t->lost_events);
	return 0;
}

static void fmt_time(char *b, size_t n, bool has, uint64_t v)
{
	if (has)
		snprintf(b, n, "%llu", (unsigned long long)v);
	else
		snprintf(b, n, "null");
}

static int on_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct rec *r = ctx;

	r->opens++;
	if (depth > r->maxdepth)
		r->maxdepth = depth;
	if (r->opens < 100)
		logf_(r, "<%s@%zu ", n->function ? n->function : "?", depth);
	return 0;
}

static int on_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct rec *r = ctx;
	char s[24], e[24], d[24];

	r->closes++;
	r->children_ns_sum += n->children_ns;
	if (r->closes >= 100)
		return 0;
	fmt_time(s, sizeof(s), n->has_start, n->start_ns);
	fmt_time(e, sizeof(e), n->has_end, n->end_ns);
	fmt_time(d, sizeof(d), n->has_duration, n->duration_ns);
	logf_(r, "%s@%zu[%s,%s,%s,%s,%s%s%s%s%s,c=%llu/%llu%s] ", n->function ? n->function : "?",
	      depth, n->module ? n->module : "-", s, e, d, n->partial ? "P:" : "",
	      n->partial_reason ? n->partial_reason : "", n->arguments ? ",a=" : "",
	      n->arguments ? n->arguments : "", n->return_value ? n->return_value : "",
	      (unsigned long long)n->nchildren, (unsigned long long)n->children_ns,
	      n->children_timed ? "" : "?");
	return 0;
}

static int on_crash(void *ctx, const char *json)
{
	struct rec *r = ctx;

	r->crashes++;
	logf_(r, "CRASH%s", json);
	return 0;
}

static const struct trace_visitor visitor = {
	.metadata = on_meta,
	.thread_begin = on_tbegin,
	.thread_end = on_tend,
	.node_open = on_open,
	.node_close = on_close,
	.crash = on_crash,
};

static int walk_str(const char *doc, size_t len, struct rec *r, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)doc, len, "r");
	int rc;

	memset(r, 0, sizeof(*r));
	jr_buf_put(&r->log, "", 0);
	rc = trace_walk(f, &visitor, r, err, errlen);
	fclose(f);
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
	struct rec r;
	char err[256];

	CHECK_INT(walk_str(doc1, strlen(doc1), &r, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_STR(
		r.log.p,
		"T(77,77,p) <main@0 <f@1 f@1[p,200,300,100,,a=[{\"name\":\"a\",\"type\":\"int\",\"value\":7}]"
		"{\"type\":\"int\",\"value\":42},c=0/0] "
		"<g@1 <h@2 h@2[-,410,420,10,,c=0/0] "
		"g@1[-,400,null,null,P:exit not observed (events lost),c=1/10] "
		"main@0[p,100,1000,900,,c=2/100?] /T(77,p,4,0) "
		"T(77#2,77,-) <?@0 <k@1 k@1[p,2000,2100,100,,c=0/0] "
		"worker@0[-,null,2500,null,P:entry not observed,c=1/100] /T(77#2,late,2,3) "
		"CRASH{\"signal\":11,\"thread_id\":77}");
	CHECK(r.meta.has_pid && r.meta.pid == 77);
	CHECK(r.meta.has_duration && r.meta.duration_ns == 5000);
	CHECK(r.meta.has_total_calls && r.meta.total_calls == 6);
	CHECK_INT(r.meta.lost_events, 3);
	CHECK_STR(r.meta_exe, "/abs/p");
	CHECK_INT(r.threads, 2);
	CHECK_INT(r.crashes, 1);
	jr_buf_free(&r.log);
}

/* a callback's non-zero return stops the walk with that value */
static int stop_at_g(void *ctx, const struct trace_node *n, size_t depth)
{
	(void)ctx;
	(void)depth;
	return n->function && !strcmp(n->function, "g") ? 7 : 0;
}

TEST(test_walk_stops)
{
	struct trace_visitor v = { .node_close = stop_at_g };
	FILE *f = fmemopen((void *)doc1, strlen(doc1), "r");
	char err[256];

	CHECK_INT(trace_walk(f, &v, NULL, err, sizeof(err)), 7);
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
		struct rec r;
		char err[256];
		int rc = walk_str(bad[i].doc, strlen(bad[i].doc), &r, err, sizeof(err));

		HARNESS_RESULT(rc == -1 && !strncmp(err, "byte ", 5) && strstr(err, bad[i].says),
			       printf("%s -> rc %d, ", bad[i].doc, rc);
			       harness_print_str(err));
		jr_buf_free(&r.log);
	}
}

/* every prefix of a trace fails with an offset inside it; none crashes */
TEST(test_walk_truncated)
{
	size_t n = strlen(doc1), failures = 0;

	for (size_t i = 0; i + 1 < n; i++) { /* the last byte is the newline */
		struct rec r;
		char err[256];
		unsigned long long off = ~0ull;
		int rc = walk_str(doc1, i, &r, err, sizeof(err));

		if (rc != -1 || sscanf(err, "byte %llu:", &off) != 1 || off > i) {
			if (failures++ < 5)
				printf("prefix %zu: rc %d err %s\n", i, rc, err);
		}
		jr_buf_free(&r.log);
	}
	CHECK_INT(failures, 0);
}

/* a 100,000-deep chain of calls (recursion gone wild) streams with heap frames */
TEST(test_walk_deep)
{
	const size_t depth = 100000;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	struct rec r;
	char err[256];

	fputs("{\"call_trees\":{\"1\":{\"thread_id\":1,\"root_calls\":[", m);
	for (size_t i = 0; i < depth; i++)
		fprintf(m, "{\"function\":\"r\",\"start_ns\":%zu,\"children\":[", i);
	for (size_t i = depth; i-- > 0;)
		fprintf(m, "],\"end_ns\":%zu,\"duration_ns\":%zu}", 2 * depth - i,
			2 * depth - 2 * i);
	fputs("]}},\"crash\":null}", m);
	fclose(m);
	CHECK_INT(walk_str(buf, len, &r, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(r.opens, depth);
	CHECK_INT(r.closes, depth);
	CHECK_INT(r.maxdepth, depth - 1);
	/* call i lasts 2(depth - i) ns; its children_ns is call i+1's: the sum of 2j, j = 1..depth-1 */
	CHECK_INT(r.children_ns_sum, (uint64_t)(depth - 1) * depth);
	free(buf);
	jr_buf_free(&r.log);
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
