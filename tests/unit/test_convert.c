/* Unit tests for the trace converters and the report (user/cmds/cmd_convert.c,
 * user/cmds/cmd_report.c, user/write/flame_svg.c) on synthetic traces with partial
 * calls, arguments, a crash and lost events:
 *   folded: the weights sum to the tree's self times (or its calls), stacks
 *           merge across threads, even for calls named after their children;
 *   chrome: a B and an E event per call, each with the required fields, in
 *           time order and properly nested per thread; metadata and instants;
 *   svg:    the frames and their hover texts;
 *   report: self + children = total, sorting, the ×N tree;
 * and a 100,000-deep call chain through every consumer (no recursion). */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmds/commands.h"
#include "harness.h"

static const char docA[] =
	"{\"metadata\":{\"tool\":\"ctrace-bpf\",\"format_version\":1,\"duration_ns\":2000,\"command\":[\"./prog\"],"
	"\"pid\":10,\"executable\":\"/x/prog\",\"total_calls\":17,\"threads\":2,\"lost_events\":4},"
	"\"call_trees\":{"
	"\"10\":{\"thread_id\":10,\"thread_name\":\"prog\",\"total_calls\":11,\"lost_events\":4,\"root_calls\":["
	"{\"function\":\"main\",\"module\":\"prog\",\"start_ns\":100,\"children\":["
	"{\"function\":\"f\",\"module\":\"prog\",\"start_ns\":200,\"arguments\":[{\"name\":\"a\",\"type\":\"int\",\"value\":7}],"
	"\"children\":[{\"function\":\"leaf\",\"start_ns\":250,\"children\":[],\"end_ns\":260,\"duration_ns\":10}],"
	"\"end_ns\":500,\"duration_ns\":300,\"return_value\":{\"type\":\"int\",\"value\":42}},"
	"{\"function\":\"g<int>\",\"start_ns\":600,\"children\":[],\"end_ns\":700,\"duration_ns\":100},"
	"{\"function\":\"leaf\",\"start_ns\":710,\"children\":[],\"end_ns\":720,\"duration_ns\":10},"
	"{\"function\":\"leaf\",\"start_ns\":730,\"children\":[],\"end_ns\":740,\"duration_ns\":10},"
	"{\"function\":\"leaf\",\"start_ns\":750,\"children\":[],\"end_ns\":760,\"duration_ns\":10},"
	"{\"function\":\"leaf\",\"start_ns\":770,\"children\":[],\"end_ns\":780,\"duration_ns\":10},"
	"{\"function\":\"leaf\",\"start_ns\":790,\"children\":[],\"end_ns\":800,\"duration_ns\":10},"
	"{\"function\":\"h\",\"start_ns\":810,\"children\":[],\"end_ns\":null,\"duration_ns\":null,"
	"\"partial\":true,\"partial_reason\":\"exit not observed (events lost)\"},"
	"{\"function\":\"h2\",\"start_ns\":null,\"end_ns\":900,\"duration_ns\":null,\"children\":[],"
	"\"partial\":true,\"partial_reason\":\"entry not observed (events lost)\"}"
	"],\"end_ns\":1000,\"duration_ns\":900}]},"
	"\"11\":{\"thread_id\":11,\"thread_name\":\"worker-1\",\"total_calls\":6,\"lost_events\":0,\"root_calls\":["
	"{\"children\":["
	"{\"function\":\"work\",\"start_ns\":300,\"children\":[{\"function\":\"leaf\",\"start_ns\":310,\"children\":[],\"end_ns\":320,\"duration_ns\":10}],\"end_ns\":400,\"duration_ns\":100},"
	"{\"function\":\"work\",\"start_ns\":450,\"children\":[],\"end_ns\":500,\"duration_ns\":50}"
	"],\"function\":\"worker\",\"address\":null,\"module\":null,\"start_ns\":null,\"end_ns\":600,\"duration_ns\":null,"
	"\"partial\":true,\"partial_reason\":\"entry not observed (already running when tracing started)\"},"
	"{\"function\":\"worker\",\"start_ns\":700,\"children\":["
	"{\"function\":\"work\",\"start_ns\":710,\"children\":[],\"end_ns\":720,\"duration_ns\":10}"
	"],\"end_ns\":null,\"duration_ns\":null,\"partial\":true,\"partial_reason\":\"exit not observed (still running when tracing stopped)\"}"
	"]}},"
	"\"crash\":{\"signal\":11,\"signal_name\":\"SIGSEGV\",\"thread_id\":11,\"time_ns\":1500,\"call_stack\":[{\"function\":\"work\"}],"
	"\"cause\":{\"signal\":11,\"signal_name\":\"SIGSEGV\",\"si_code_name\":\"SEGV_ACCERR\",\"thread_id\":11,"
	"\"time_ns\":1400,\"call_stack\":[{\"function\":\"leaf\"}],\"cause\":null}}}\n";

/* ---- files and captured output ----------------------------------------------------- */

/* runs a subcommand with stdout and stderr going to files; returns its status */
static int run_cmd(int (*fn)(int, char **), char **out, char **err, ...)
{
	char *argv[16];
	int argc = 0, rc, so, se, fo, fe;
	va_list ap;

	va_start(ap, err);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	fo = open(path_in_tmp("stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fe = open(path_in_tmp("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fo);
	close(fe);
	*out = harness_read_file(path_in_tmp("stdout"));
	*err = harness_read_file(path_in_tmp("stderr"));
	return rc;
}

/* ---- an independent reading of the trace (cJSON, recursive: small inputs) -------- */

struct expect {
	uint64_t calls, self_ns;
};

static void expect_nodes(const cJSON *nodes, struct expect *e)
{
	const cJSON *n;

	cJSON_ArrayForEach(n, nodes)
	{
		const cJSON *d = cJSON_GetObjectItem(n, "duration_ns"), *c;
		uint64_t kids = 0;

		e->calls++;
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(n, "children"))
		{
			const cJSON *cd = cJSON_GetObjectItem(c, "duration_ns");

			if (cJSON_IsNumber(cd))
				kids += (uint64_t)cd->valuedouble;
		}
		if (cJSON_IsNumber(d) && d->valuedouble > (double)kids)
			e->self_ns += (uint64_t)d->valuedouble - kids;
		expect_nodes(cJSON_GetObjectItem(n, "children"), e);
	}
}

static struct expect expected(const char *doc)
{
	struct expect e = { 0 };
	cJSON *o = cJSON_Parse(doc), *t;

	cJSON_ArrayForEach(t, cJSON_GetObjectItem(o, "call_trees"))
		expect_nodes(cJSON_GetObjectItem(t, "root_calls"), &e);
	cJSON_Delete(o);
	return e;
}

/* ---- folded -------------------------------------------------------------------------------- */

static uint64_t folded_sum(const char *text, size_t *lines)
{
	uint64_t sum = 0;
	const char *p = text;

	*lines = 0;
	while (p && *p) {
		const char *nl = strchr(p, '\n'), *sp;

		if (!nl)
			break;
		for (sp = nl; sp > p && sp[-1] != ' '; sp--)
			;
		sum += strtoull(sp, NULL, 10);
		(*lines)++;
		p = nl + 1;
	}
	return sum;
}

TEST(test_folded)
{
	char err[256], *out;
	struct expect e = expected(docA);
	size_t lines;

	CHECK_INT(convert_file(path_in_tmp("a.json"), path_in_tmp("a.folded"), "folded", false, err,
			       sizeof(err)),
		  0);
	out = harness_read_file(path_in_tmp("a.folded"));
	CHECK_INT(folded_sum(out, &lines), e.self_ns);
	CHECK_INT(e.self_ns, 1060);
	/* merged across threads, sorted by name at each level; the call named
	 * after its children ("worker" in thread 11) merged with its namesake */
	CHECK_STR(out, "main 450\n"
		       "main;f 290\n"
		       "main;f;leaf 10\n"
		       "main;g<int> 100\n"
		       "main;leaf 50\n"
		       "worker;work 150\n"
		       "worker;work;leaf 10\n");
	free(out);

	CHECK_INT(convert_file(path_in_tmp("a.json"), path_in_tmp("c.folded"), "folded", true, err,
			       sizeof(err)),
		  0);
	out = harness_read_file(path_in_tmp("c.folded"));
	CHECK_INT(folded_sum(out, &lines), e.calls);
	CHECK_INT(e.calls, 17);
	CHECK(strstr(out, "main;leaf 5\n") != NULL);
	CHECK(strstr(out, "worker 2\n") != NULL);
	CHECK(strstr(out, "worker;work 3\n") != NULL);
	free(out);
}

TEST(test_folded_per_thread)
{
	char *out, *err;
	int rc = run_cmd(cmd_convert_main, &out, &err, "convert", path_in_tmp("a.json"), "--to",
			 "folded", "--per-thread", "-o", "-", NULL);

	CHECK_INT(rc, 0);
	CHECK_STR(err, "");
	CHECK(strstr(out, "prog [10];main 450\n") != NULL);
	CHECK(strstr(out, "worker-1 [11];worker;work 150\n") != NULL);
	free(out);
	free(err);
}

/* µs (as the Trace Event Format has them) to ns; libm's llround is not linked */
static int64_t ns_of(double us)
{
	double ns = us * 1000;

	return (int64_t)(ns < 0 ? ns - 0.5 : ns + 0.5);
}

/* ---- chrome ----------------------------------------------------------------------------------- */

/* the Trace Event Format's rules for duration events, as viewers apply them:
 * per thread, B and E events in time order, each E closing the innermost
 * open B of the same name, none left open. Returns the number of calls, or
 * -1 when one breaks them */
static long check_chrome(const char *text, cJSON **doc_out)
{
	cJSON *doc = cJSON_Parse(text), *ev;
	struct open {
		uint64_t tid;
		const char *name;
		double ts;
	} stack[4096];
	size_t sp = 0;
	long calls = 0, bad = 0;
	uint64_t tid = UINT64_MAX;
	double last = 0;

	*doc_out = doc;
	if (!cJSON_IsArray(cJSON_GetObjectItem(doc, "traceEvents")))
		return -1;
	cJSON_ArrayForEach(ev, cJSON_GetObjectItem(doc, "traceEvents"))
	{
		const cJSON *ph = cJSON_GetObjectItem(ev, "ph");
		const cJSON *name = cJSON_GetObjectItem(ev, "name"),
			    *ts = cJSON_GetObjectItem(ev, "ts");
		const cJSON *pid = cJSON_GetObjectItem(ev, "pid"),
			    *t = cJSON_GetObjectItem(ev, "tid");

		if (!cJSON_IsString(ph) ||
		    (strcmp(ph->valuestring, "B") && strcmp(ph->valuestring, "E")))
			continue;
		if (!cJSON_IsString(name) || !cJSON_IsNumber(ts) || !cJSON_IsNumber(pid) ||
		    !cJSON_IsNumber(t)) {
			bad++;
			continue;
		}
		/* a thread's events come together */
		if ((uint64_t)t->valuedouble != tid) {
			if (sp)
				bad++;
			sp = 0;
			tid = (uint64_t)t->valuedouble;
			last = ts->valuedouble;
		}
		if (ts->valuedouble < last && bad++ < 5)
			printf("tid %llu: %s at %f before %f\n", (unsigned long long)tid,
			       name->valuestring, ts->valuedouble, last);
		last = ts->valuedouble;
		if (ph->valuestring[0] == 'B') {
			if (sp == sizeof(stack) / sizeof(stack[0]))
				return -1;
			stack[sp++] = (struct open){ tid, name->valuestring, ts->valuedouble };
			calls++;
		} else if (!sp || strcmp(stack[--sp].name, name->valuestring)) {
			if (bad++ < 5)
				printf("tid %llu: E %s does not close the innermost call\n",
				       (unsigned long long)tid, name->valuestring);
		}
	}
	if (sp)
		bad++;
	return bad ? -1 : calls;
}

static const cJSON *find_event(const cJSON *doc, const char *ph, const char *name)
{
	const cJSON *ev;

	cJSON_ArrayForEach(ev, cJSON_GetObjectItem(doc, "traceEvents"))
	{
		const cJSON *p = cJSON_GetObjectItem(ev, "ph"),
			    *n = cJSON_GetObjectItem(ev, "name");

		if (cJSON_IsString(p) && !strcmp(p->valuestring, ph) && cJSON_IsString(n) &&
		    !strcmp(n->valuestring, name))
			return ev;
	}
	return NULL;
}

TEST(test_chrome)
{
	char err[256], *out;
	cJSON *doc;
	const cJSON *ev, *args;

	CHECK_INT(convert_file(path_in_tmp("a.json"), path_in_tmp("a.chrome.json"), "chrome", false,
			       err, sizeof(err)),
		  0);
	out = harness_read_file(path_in_tmp("a.chrome.json"));
	CHECK_INT(check_chrome(out, &doc), 17);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "displayTimeUnit")), "ns");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "otherData"),
							   "total_calls")),
		  17);

	/* ns precision kept: main starts at 0.100 µs and ends at 1.000 µs */
	CHECK(strstr(out, "\"name\":\"main\",\"cat\":\"prog\",\"ph\":\"B\",\"ts\":0.100,\"pid\":10,"
			  "\"tid\":10}") != NULL);
	CHECK(strstr(out, "\"name\":\"main\",\"cat\":\"prog\",\"ph\":\"E\",\"ts\":1.000,\"pid\":10,"
			  "\"tid\":10}") != NULL);
	/* arguments on the begin, the return value on the end */
	ev = find_event(doc, "B", "f");
	args = cJSON_GetObjectItem(ev, "args");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(
			  cJSON_GetArrayItem(cJSON_GetObjectItem(args, "arguments"), 0), "value")),
		  7);
	ev = find_event(doc, "E", "f");
	args = cJSON_GetObjectItem(ev, "args");
	CHECK_INT(cJSON_GetNumberValue(
			  cJSON_GetObjectItem(cJSON_GetObjectItem(args, "return_value"), "value")),
		  42);
	CHECK(cJSON_GetObjectItem(args, "partial_reason") == NULL);

	/* the call named after its children starts at the first time its
	 * thread knows (its first child's start), not at the trace's start */
	ev = find_event(doc, "B", "worker");
	CHECK_INT(ns_of(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "ts"))), 300);
	ev = find_event(doc, "E", "worker");
	CHECK_INT(ns_of(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "ts"))), 600);
	args = cJSON_GetObjectItem(ev, "args");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(args, "clamped")), "start");
	CHECK(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(args, "partial_reason")),
		     "entry not observed") != NULL);
	/* the one still running ends with the trace (metadata duration_ns) */
	CHECK(strstr(out, "\"name\":\"worker\",\"cat\":\"[unknown]\",\"ph\":\"B\",\"ts\":0.700,") !=
	      NULL);
	CHECK(strstr(out, "\"name\":\"worker\",\"cat\":\"[unknown]\",\"ph\":\"E\",\"ts\":2.000,") !=
	      NULL);
	/* h's exit was lost: it ends where the next call (h2, entry lost) begins */
	CHECK(strstr(out, "\"name\":\"h\",\"cat\":\"[unknown]\",\"ph\":\"B\",\"ts\":0.810,") !=
	      NULL);
	CHECK(strstr(out, "\"name\":\"h\",\"cat\":\"[unknown]\",\"ph\":\"E\",\"ts\":0.810,") !=
	      NULL);
	CHECK(strstr(out, "\"name\":\"h2\",\"cat\":\"[unknown]\",\"ph\":\"B\",\"ts\":0.811,") !=
	      NULL);
	CHECK(strstr(out, "\"name\":\"h2\",\"cat\":\"[unknown]\",\"ph\":\"E\",\"ts\":0.900,") !=
	      NULL);

	/* metadata and instant events */
	ev = find_event(doc, "M", "process_name");
	CHECK_STR(
		cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "args"), "name")),
		"prog");
	ev = find_event(doc, "M", "thread_name");
	CHECK(ev != NULL);
	ev = find_event(doc, "i", "crash: SIGSEGV");
	CHECK(ev != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "s")), "t");
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "tid")), 11);
	CHECK_INT(ns_of(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "ts"))), 1500);
	ev = find_event(doc, "i", "4 events lost");
	CHECK(ev != NULL);
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "tid")), 10);
	/* placed where the loss shows: the first call it cut short */
	CHECK_INT(ns_of(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "ts"))), 810);
	cJSON_Delete(doc);
	free(out);
}

/* ---- svg ------------------------------------------------------------------------------------------ */

/* occurrences of what in s (no strstr: under ASan each call scans all of s) */
static size_t count(const char *s, const char *what)
{
	size_t n = 0, w = strlen(what);

	for (const char *p = s; *p; p++)
		if (*p == *what && !strncmp(p, what, w))
			n++;
	return n;
}

TEST(test_svg)
{
	char err[256], *out;

	CHECK_INT(convert_file(path_in_tmp("a.json"), path_in_tmp("a.svg"), "svg", false, err,
			       sizeof(err)),
		  0);
	out = harness_read_file(path_in_tmp("a.svg"));
	CHECK(!strncmp(out, "<?xml", 5));
	CHECK(strstr(out, "<title>main — total 900 ns, self 450 ns, 1 call</title>") != NULL);
	CHECK(strstr(out, "<title>g&lt;int&gt; — total 100 ns, self 100 ns, 1 call</title>") !=
	      NULL);
	CHECK(strstr(out, "<title>leaf — total 50 ns, self 50 ns, 5 calls</title>") != NULL);
	CHECK(strstr(out, "<title>all — total 1.06 µs, self 0 ns, 17 calls</title>") != NULL);
	CHECK(strstr(out, "<title>worker — total 160 ns, self 0 ns, 2 calls</title>") != NULL);
	CHECK_INT(count(out, "<g class=\"f\""), count(out, "</g>"));
	/* all, main, f, f;leaf, g, main;leaf, worker, work, work;leaf: h and h2 have no time */
	CHECK_INT(count(out, "<g class=\"f\""), 9);
	CHECK(strstr(out, "http://") ==
	      strstr(out, "http://www.w3.org/2000/svg")); /* nothing fetched */
	CHECK(strstr(out, "</svg>\n") != NULL);
	free(out);
}

/* ---- report --------------------------------------------------------------------------------------- */

/* the row of function name: its columns as strings ("900 ns"), NULL when absent */
static bool row(const char *table, const char *name, char cols[5][16])
{
	char want[64];
	const char *p = table;

	snprintf(want, sizeof(want), "  %s\n", name);
	while ((p = strstr(p, want))) {
		const char *ls = p;
		char tok[10][16];
		int n;

		while (ls > table && ls[-1] != '\n')
			ls--;
		n = sscanf(ls, "%15s %15s %15s %15s %15s %15s %15s %15s %15s", tok[0], tok[1],
			   tok[2], tok[3], tok[4], tok[5], tok[6], tok[7], tok[8]);
		if (n == 9) {
			snprintf(cols[0], 16, "%s", tok[0]);
			for (int i = 0; i < 4; i++)
				snprintf(cols[i + 1], 16, "%s %s", tok[1 + 2 * i], tok[2 + 2 * i]);
			return true;
		}
		p++;
	}
	return false;
}

TEST(test_report_table)
{
	/* the columns of some rows (NULL: not checked); main: 900 total =
	 * 450 self + f 300 + g 100 + 5 leaf calls 50 */
	static const struct {
		const char *fn, *cols[5];
	} rows[] = {
		{ "main", { "1", "900 ns", "450 ns" } },
		{ "f", { NULL, "300 ns", "290 ns" } },
		{ "leaf", { "7", "70 ns", NULL, "10 ns" } },
		{ "work", { "3", "160 ns", "150 ns", NULL, "100 ns" } },
	};
	char *out, *err, c[5][16];
	int rc = run_cmd(cmd_report_main, &out, &err, "report", path_in_tmp("a.json"), NULL);

	CHECK_INT(rc, 0);
	CHECK_STR(err, "");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		CHECK(row(out, rows[i].fn, c));
		for (int k = 0; k < 5; k++)
			if (rows[i].cols[k])
				CHECK_STR(c[k], rows[i].cols[k]);
	}
	/* partial calls: counted, marked, not timed */
	CHECK(strstr(out, "      2*         -         -         -         -  worker\n") != NULL);
	/* sorted by self time; the summary */
	CHECK(strstr(out, "main") < strstr(out, "  f\n"));
	CHECK(strstr(out,
		     "* 4 partial calls (entry or exit not observed): counted, not timed\n"
		     "crashed: SIGSEGV in thread 11 in work\n"
		     "  while handling SIGSEGV (SEGV_ACCERR) in thread 11 in leaf\n"
		     "17 calls of 8 functions in 2 threads, traced for 2.00 µs, 4 lost events\n") !=
	      NULL);
	for (const char *l = out; *l; l = strchr(l, '\n') + 1) {
		size_t cols = 0;

		for (const char *p = l; *p && *p != '\n'; p++)
			cols += ((unsigned char)*p & 0xc0) != 0x80;
		HARNESS_RESULT(cols <= 80, printf("line over 80 columns: %.100s", l));
		if (!strchr(l, '\n'))
			break;
	}
	free(out);
	free(err);

	rc = run_cmd(cmd_report_main, &out, &err, "report", path_in_tmp("a.json"), "-s", "calls",
		     "-n", "2", NULL);
	CHECK_INT(rc, 0);
	CHECK(strstr(out, "  leaf\n") < strstr(out, "  work\n"));
	CHECK(strstr(out, "(6 more functions; -n 0 shows all)") != NULL);
	CHECK(strstr(out, "  main\n") == NULL);
	free(out);
	free(err);

	rc = run_cmd(cmd_report_main, &out, &err, "report", path_in_tmp("a.json"), "--threads",
		     NULL);
	CHECK_INT(rc, 0);
	CHECK(strstr(out, "== thread 10 (prog): 11 calls ==") != NULL);
	CHECK(strstr(out, "== thread 11 (worker-1): 6 calls ==") != NULL);
	free(out);
	free(err);
}

TEST(test_report_tree)
{
	char *out, *err;
	int rc = run_cmd(cmd_report_main, &out, &err, "report", path_in_tmp("a.json"), "--tree",
			 NULL);

	CHECK_INT(rc, 0);
	CHECK(strstr(out, "== thread 10 (prog) ==\n") != NULL);
	CHECK(strstr(out, "           | main() {\n") != NULL);
	CHECK(strstr(out, "           |   f(a=7) {\n") != NULL);
	CHECK(strstr(out, "     10 ns |     leaf();\n") != NULL);
	CHECK(strstr(out, "    300 ns |   } = 42; /* f */\n") != NULL);
	/* five identical calls in a row: one line, durations summed */
	CHECK(strstr(out, "     50 ns |   leaf();  ×5\n") != NULL);
	CHECK(strstr(out, "         - |   h(); /* partial: exit not observed (events lost) */\n") !=
	      NULL);
	/* named after its children: the name is put on its opening line */
	CHECK(strstr(out, "           | worker() {\n") != NULL);
	CHECK(strstr(out,
		     "         - | } /* worker */ /* partial: entry not observed (already running when tracing started) */\n") !=
	      NULL);
	CHECK(strstr(out, "    100 ns |   work() {\n") == NULL);
	free(out);
	free(err);
}

/* A call named after its children gets its name put on its "{" line, whose
 * text then lies after its children's in the window: folding and printing
 * must still keep every line's text. Around the point where the window is
 * flushed right as that call closes. */
TEST(test_report_tree_renamed_line)
{
	for (int n = 2036; n <= 2060; n++) {
		char *buf = NULL, *out, *err, *want = NULL;
		size_t len = 0, wlen = 0;
		FILE *m = open_memstream(&buf, &len), *w = open_memstream(&want, &wlen);
		int rc;

		fputs("{\"call_trees\":{\"1\":{\"thread_id\":1,\"root_calls\":[", m);
		for (int i = 0; i < n; i++) {
			fprintf(m,
				"{\"function\":\"f%d\",\"start_ns\":1,\"children\":[],\"end_ns\":2,\"duration_ns\":1},",
				i);
			fprintf(w, "      1 ns | f%d();\n", i);
		}
		for (int rep = 0; rep < 2; rep++)
			fprintf(m,
				"%s{\"children\":[{\"function\":\"k0\",\"children\":[]},{\"function\":\"k1\",\"children\":[]}],"
				"\"function\":\"worker\",\"start_ns\":null,\"partial\":true,\"partial_reason\":\"entry not observed\"}",
				rep ? "," : "");
		fputs("]}}}", m);
		fclose(m);
		fputs("           | worker() {  ×2\n         - |   k0();\n         - |   k1();\n"
		      "         - | } /* worker */ /* partial: entry not observed */\n",
		      w);
		fclose(w);
		harness_write_file(path_in_tmp("renamed.json"), buf, len);
		rc = run_cmd(cmd_report_main, &out, &err, "report", path_in_tmp("renamed.json"),
			     "--tree", NULL);
		CHECK_INT(rc, 0);
		HARNESS_RESULT(strstr(out, want) != NULL,
			       printf("n=%d: %.300s", n,
				      out + (strlen(out) > 600 ? strlen(out) - 600 : 0)));
		free(buf);
		free(want);
		free(out);
		free(err);
	}
}

TEST(test_errors)
{
	static const char bad[] =
		"{\"call_trees\":{\"1\":{\"root_calls\":[{\"function\":\"x\",\"children\":[}]}}}";
	char *out, *err, msg[256];
	int rc;

	harness_write_file(path_in_tmp("bad.json"), bad, strlen(bad));
	rc = run_cmd(cmd_report_main, &out, &err, "report", path_in_tmp("bad.json"), NULL);
	CHECK_INT(rc, 1);
	snprintf(msg, sizeof(msg), "ctrace-bpf report: '%s': byte 62: ", path_in_tmp("bad.json"));
	CHECK(!strncmp(err, msg, strlen(msg)));
	CHECK_INT(count(err, "\n"), 1);
	free(out);
	free(err);

	rc = run_cmd(cmd_convert_main, &out, &err, "convert", path_in_tmp("bad.json"), "--to",
		     "chrome", "-o", path_in_tmp("bad.out"), NULL);
	CHECK_INT(rc, 1);
	snprintf(msg, sizeof(msg), "ctrace-bpf convert: '%s': byte 62: ", path_in_tmp("bad.json"));
	CHECK(!strncmp(err, msg, strlen(msg)));
	CHECK(access(path_in_tmp("bad.out"), F_OK) != 0); /* no half-written output */
	free(out);
	free(err);

	rc = run_cmd(cmd_convert_main, &out, &err, "convert", path_in_tmp("a.json"), "--to", "png",
		     NULL);
	CHECK_INT(rc, 2);
	CHECK_STR(err, "ctrace-bpf convert: unknown format 'png': expected chrome, folded, "
		       "speedscope, svg, jsonl or perfetto\n");
	free(out);
	free(err);
	rc = run_cmd(cmd_convert_main, &out, &err, "convert", path_in_tmp("a.json"), NULL);
	CHECK_INT(rc, 2);
	CHECK(strstr(err, "--to") != NULL);
	free(out);
	free(err);
	rc = run_cmd(cmd_report_main, &out, &err, "report", "/nonexistent.json", NULL);
	CHECK_INT(rc, 1);
	CHECK_STR(
		err,
		"ctrace-bpf report: cannot read '/nonexistent.json': No such file or directory\n");
	free(out);
	free(err);
	rc = run_cmd(cmd_report_main, &out, &err, "report", "--help", NULL);
	CHECK_INT(rc, 0);
	CHECK(strstr(out, "Usage: ctrace-bpf report") != NULL);
	free(out);
	free(err);
}

/* ---- a 100,000-deep chain through every consumer ------------------------------------------------------- */

TEST(test_deep)
{
	const size_t depth = 100000;
	char *buf = NULL, *out, *err, e[256];
	size_t len = 0, lines;
	FILE *m = open_memstream(&buf, &len);
	int rc;

	/* properly nested times for chrome, and durations saying every call's
	 * time is its callee's: only the innermost has self time, so the folded
	 * output is one line (a stack per call would be 10^10 bytes) */
	fputs("{\"metadata\":{\"pid\":1,\"duration_ns\":1000,\"total_calls\":100000},"
	      "\"call_trees\":{\"1\":{\"thread_id\":1,\"root_calls\":[",
	      m);
	for (size_t i = 0; i < depth; i++)
		fprintf(m, "{\"function\":\"r\",\"start_ns\":%zu,\"children\":[", i);
	for (size_t i = depth; i-- > 0;)
		fprintf(m, "],\"end_ns\":%zu,\"duration_ns\":1000}", 2 * depth);
	fputs("]}},\"crash\":null}", m);
	fclose(m);
	harness_write_file(path_in_tmp("deep.json"), buf, len);
	free(buf);

	CHECK_INT(convert_file(path_in_tmp("deep.json"), path_in_tmp("deep.folded"), "folded",
			       false, e, sizeof(e)),
		  0);
	out = harness_read_file(path_in_tmp("deep.folded"));
	CHECK_INT(folded_sum(out, &lines), 1000);
	CHECK_INT(lines, 1);
	CHECK_INT(strlen(out), 2 * depth - 1 + strlen(" 1000\n"));
	free(out);
	CHECK_INT(convert_file(path_in_tmp("deep.json"), path_in_tmp("deep.chrome"), "chrome",
			       false, e, sizeof(e)),
		  0);
	out = harness_read_file(path_in_tmp("deep.chrome"));
	CHECK_INT(count(out, "\"ph\":\"B\""), depth);
	CHECK_INT(count(out, "\"ph\":\"E\""), depth);
	free(out);
	CHECK_INT(convert_file(path_in_tmp("deep.json"), path_in_tmp("deep.speedscope"),
			       "speedscope", false, e, sizeof(e)),
		  0);
	out = harness_read_file(path_in_tmp("deep.speedscope"));
	CHECK_INT(count(out, "{\"type\":\"O\""), depth);
	CHECK_INT(count(out, "{\"type\":\"C\""), depth);
	free(out);
	CHECK_INT(convert_file(path_in_tmp("deep.json"), path_in_tmp("deep.svg"), "svg", false, e,
			       sizeof(e)),
		  0);
	out = harness_read_file(path_in_tmp("deep.svg"));
	CHECK(strstr(out, "</svg>\n") != NULL);
	free(out);
	rc = run_cmd(cmd_report_main, &out, &err, "report", path_in_tmp("deep.json"), "--tree",
		     NULL);
	CHECK_INT(rc, 0);
	CHECK(strstr(out, "[depth 99999] r();\n") != NULL);
	free(out);
	free(err);
}

int main(void)
{
	if (!harness_tmp_make("test_convert"))
		return 2;
	/* the trace most cases read */
	harness_write_file(path_in_tmp("a.json"), docA, strlen(docA));
	harness_run_all();
	harness_tmp_remove();
	HARNESS_MAIN_END("test_convert");
}
