/* Unit tests for what viewers need of the converted traces (user/write/speedscope.c,
 * chrome.c, stacks.c, flame_svg.c), on synthetic traces:
 *   speedscope: per profile, O/C events balanced, nested and in time order
 *               (speedscope's importer throws otherwise), frames shared,
 *               partial calls clamped as chrome clamps them;
 *   chrome:     a parent and a child that end on the same ns end on the same
 *               number (B/E events, not ts + dur);
 *   folded/svg: a call with no duration does not make its caller count the
 *               time of the calls inside it twice. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmds/commands.h"
#include "harness.h"

/* converts doc to fmt; the output's text */
static char *convert(const char *doc, const char *fmt)
{
	char err[256];

	harness_write_file(path_in_tmp("in.json"), doc, strlen(doc));
	if (convert_file(path_in_tmp("in.json"), path_in_tmp("out"), fmt, false, err,
			 sizeof(err))) {
		printf("convert --to %s: %s\n", fmt, err);
		return NULL;
	}
	return harness_read_file(path_in_tmp("out"));
}

/* Thread 10: main calls f (whose exit was lost) and h2 (whose entry was
 * lost); thread 11: a call already running when tracing started, named only
 * at its end, and one still running when tracing stopped. */
static const char docS[] =
	"{\"metadata\":{\"duration_ns\":2000,\"executable\":\"/x/prog\",\"pid\":10},"
	"\"call_trees\":{"
	"\"10\":{\"thread_id\":10,\"thread_name\":\"prog\",\"root_calls\":["
	"{\"function\":\"main\",\"module\":\"prog\",\"start_ns\":100,\"children\":["
	"{\"function\":\"f\",\"start_ns\":200,\"children\":["
	"{\"function\":\"leaf\",\"start_ns\":250,\"children\":[],\"end_ns\":260,\"duration_ns\":10}],"
	"\"end_ns\":null,\"duration_ns\":null,\"partial\":true,\"partial_reason\":\"exit not observed\"},"
	"{\"function\":\"h2\",\"start_ns\":null,\"end_ns\":900,\"duration_ns\":null,\"children\":[],"
	"\"partial\":true,\"partial_reason\":\"entry not observed\"}"
	"],\"end_ns\":1000,\"duration_ns\":900}]},"
	"\"11\":{\"thread_id\":11,\"thread_name\":\"worker\",\"lost_events\":3,\"root_calls\":["
	"{\"children\":["
	"{\"function\":\"work\",\"start_ns\":300,\"children\":[],\"end_ns\":400,\"duration_ns\":100}"
	"],\"function\":\"loop\",\"module\":\"prog\",\"start_ns\":null,\"end_ns\":600,\"duration_ns\":null,"
	"\"partial\":true,\"partial_reason\":\"already running\"},"
	"{\"function\":\"loop\",\"module\":\"prog\",\"start_ns\":700,\"children\":[],\"end_ns\":null,"
	"\"duration_ns\":null,\"partial\":true,\"partial_reason\":\"still running\"}"
	"]}},\"crash\":null}";

/* speedscope's rules for an evented profile (its CallTreeProfileBuilder):
 * the events of each profile in "O at" / "C at" form, one a line, as
 * frame names; NULL when a rule is broken */
static char *replay_profile(const cJSON *p, const cJSON *frames, FILE *log)
{
	const cJSON *ev;
	int stack[64], sp = 0;
	double last = -1;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	bool ok = true;

	cJSON_ArrayForEach(ev, cJSON_GetObjectItem(p, "events"))
	{
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "type"));
		int frame = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "frame"));
		double at = cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "at"));
		const char *name = cJSON_GetStringValue(
			cJSON_GetObjectItem(cJSON_GetArrayItem(frames, frame), "name"));

		if (!name || at < last || !type) {
			fprintf(log, "bad event at %g (last %g)\n", at, last);
			ok = false;
			break;
		}
		last = at;
		if (!strcmp(type, "O")) {
			if (sp == 64) {
				ok = false;
				break;
			}
			stack[sp++] = frame;
		} else if (!sp || stack[--sp] != frame) {
			fprintf(log, "C %s at %g is not the top\n", name, at);
			ok = false;
			break;
		}
		fprintf(m, "%s %s %.0f\n", type, name, at);
	}
	if (sp)
		ok = false;
	if (cJSON_GetNumberValue(cJSON_GetObjectItem(p, "startValue")) > last ||
	    cJSON_GetNumberValue(cJSON_GetObjectItem(p, "endValue")) != last)
		ok = false;
	fclose(m);
	if (!ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

TEST(test_speedscope)
{
	char *out = convert(docS, "speedscope"), *ev;
	cJSON *doc = cJSON_Parse(out);
	const cJSON *profiles = cJSON_GetObjectItem(doc, "profiles");
	const cJSON *frames = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "shared"), "frames");
	const cJSON *p;

	CHECK(doc != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "$schema")),
		  "https://www.speedscope.app/file-format-schema.json");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "name")), "prog");
	CHECK_INT(cJSON_GetArraySize(profiles), 2);
	/* frames are shared, with their module as the file */
	CHECK_INT(cJSON_GetArraySize(frames), 6);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(frames, 0), "file")),
		  "prog");

	p = cJSON_GetArrayItem(profiles, 0);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p, "type")), "evented");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p, "unit")), "nanoseconds");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")), "prog (tid 10)");
	ev = replay_profile(p, frames, stdout);
	/* f's end is lost: it ends just before h2, whose start is lost: it
	 * starts just after f */
	CHECK_STR(ev, "O main 100\n"
		      "O f 200\n"
		      "O leaf 250\n"
		      "C leaf 260\n"
		      "C f 260\n"
		      "O h2 261\n"
		      "C h2 900\n"
		      "C main 1000\n");
	free(ev);

	p = cJSON_GetArrayItem(profiles, 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")),
		  "worker (tid 11), 3 events lost");
	ev = replay_profile(p, frames, stdout);
	/* the call already running starts at the thread's first known time; the
	 * one still running ends with the trace */
	CHECK_STR(ev, "O loop 300\n"
		      "O work 300\n"
		      "C work 400\n"
		      "C loop 600\n"
		      "O loop 700\n"
		      "C loop 2000\n");
	free(ev);
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(p, "startValue")), 300);
	cJSON_Delete(doc);
	free(out);
}

TEST(test_speedscope_unreadable)
{
	static const char cut[] = "{\"call_trees\":{\"1\":{\"root_calls\":[{\"fun";
	char err[256];

	harness_write_file(path_in_tmp("cut.json"), cut, strlen(cut));
	CHECK(convert_file(path_in_tmp("cut.json"), path_in_tmp("cut.out"), "speedscope", false,
			   err, sizeof(err)) != 0);
	CHECK(access(path_in_tmp("cut.out"), F_OK) != 0);
}

/* A parent and its child ending on the same ns, at times where µs with 3
 * decimals, added as doubles (ts + dur of complete events), put the child's
 * end after the parent's: as B/E events both ends are the same number. */
TEST(test_chrome_equal_ends)
{
	static const char doc[] =
		"{\"metadata\":{\"pid\":1},\"call_trees\":{\"1\":{\"thread_id\":1,\"root_calls\":["
		"{\"function\":\"parent\",\"start_ns\":623347459259,\"children\":["
		"{\"function\":\"child\",\"start_ns\":623348300495,\"children\":[],"
		"\"end_ns\":623348347957,\"duration_ns\":47462}],"
		"\"end_ns\":623348347957,\"duration_ns\":888698}]}},\"crash\":null}";
	char *out = convert(doc, "chrome");

	/* the naive sums differ: the case is real */
	CHECK(623348300.495 + 47.462 != 623347459.259 + 888.698);
	CHECK(strstr(out,
		     "{\"name\":\"child\",\"cat\":\"[unknown]\",\"ph\":\"E\",\"ts\":623348347.957,\"pid\":1,\"tid\":1},\n"
		     "{\"name\":\"parent\",\"cat\":\"[unknown]\",\"ph\":\"E\",\"ts\":623348347.957,\"pid\":1,\"tid\":1}") !=
	      NULL);
	free(out);
}

/* A call already running when tracing started wraps 50,000 calls: its
 * name comes after them all, so they wait in the spill file; its begin
 * comes first, named, at its first child's start. */
TEST(test_chrome_named_at_close)
{
	char *buf = NULL, *out;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	const char *b, *e;

	fputs("{\"metadata\":{\"pid\":1},\"call_trees\":{\"1\":{\"thread_id\":1,\"root_calls\":["
	      "{\"children\":[",
	      m);
	for (int i = 0; i < 50000; i++)
		fprintf(m,
			"%s{\"function\":\"leaf\",\"start_ns\":%d,\"children\":[],\"end_ns\":%d,"
			"\"duration_ns\":5}",
			i ? "," : "", 1000 + 10 * i, 1005 + 10 * i);
	fputs("],\"function\":\"outer\",\"start_ns\":null,\"end_ns\":600000,\"duration_ns\":null,"
	      "\"partial\":true,\"partial_reason\":\"already running\"}]}},\"crash\":null}",
	      m);
	fclose(m);
	out = convert(buf, "chrome");
	b = strstr(
		out,
		"{\"name\":\"outer\",\"cat\":\"[unknown]\",\"ph\":\"B\",\"ts\":1.000,\"pid\":1,\"tid\":1},\n"
		"{\"name\":\"leaf\",\"cat\":\"[unknown]\",\"ph\":\"B\",\"ts\":1.000,");
	e = strstr(out, "{\"name\":\"outer\",\"cat\":\"[unknown]\",\"ph\":\"E\",\"ts\":600.000,");
	CHECK(b != NULL);
	CHECK(e != NULL && e > b);
	{
		cJSON *d;
		long calls = 0;
		const cJSON *ev;

		d = cJSON_Parse(out);
		cJSON_ArrayForEach(ev, cJSON_GetObjectItem(d, "traceEvents")) calls +=
			!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "ph")), "B");
		CHECK_INT(calls, 50001);
		cJSON_Delete(d);
	}
	free(out);
	free(buf);
}

/* parent (1000 ns) > a call with no duration > leaf (800 ns): the parent's
 * self time is 200, and the whole is 1000, not 1800 */
static const char docP[] =
	"{\"metadata\":{\"pid\":1,\"duration_ns\":1000},\"call_trees\":{\"1\":{\"thread_id\":1,"
	"\"root_calls\":["
	"{\"function\":\"parent\",\"start_ns\":0,\"children\":["
	"{\"children\":[{\"function\":\"leaf\",\"start_ns\":100,\"children\":[],\"end_ns\":900,"
	"\"duration_ns\":800}],\"function\":\"lost\",\"start_ns\":null,\"end_ns\":null,"
	"\"duration_ns\":null,\"partial\":true,\"partial_reason\":\"events lost\"}],"
	"\"end_ns\":1000,\"duration_ns\":1000}]}},\"crash\":null}";

TEST(test_folded_partial_counts_once)
{
	char *out = convert(docP, "folded");

	CHECK_STR(out, "parent 200\n"
		       "parent;lost;leaf 800\n");
	free(out);
	out = convert(docP, "svg");
	CHECK(strstr(out, "<title>all — total 1.00 µs, self 0 ns, 3 calls</title>") != NULL);
	CHECK(strstr(out, "<title>parent — total 1.00 µs, self 200 ns, 1 call</title>") != NULL);
	CHECK(strstr(out, "<title>lost — total 800 ns, self 0 ns, 1 call</title>") != NULL);
	/* the unit of the weights, the search and the reset */
	CHECK(strstr(out, "width: time in ns") != NULL);
	CHECK(strstr(out, "<text id=\"search\"") != NULL);
	CHECK(strstr(out, ">Reset Zoom</text>") != NULL);
	CHECK(strstr(out, "<text id=\"matched\"") != NULL);
	free(out);
}

int main(void)
{
	if (!harness_tmp_make("test_viewer_formats"))
		return 2;
	harness_run_all();
	harness_tmp_remove();
	HARNESS_MAIN_END("test_viewer_formats");
}
