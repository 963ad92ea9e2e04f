// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reading back a --summary file, for report (its table) and convert (a
 * clear refusal). A summary file is small, so it is parsed whole; the
 * sniff reads only the metadata's options, so a full trace is never parsed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cmds/summary_file.h"
#include "write/summary.h"

#define SNIFF_BYTES (1 << 20) /* the metadata, options last, comes first */

/* options."summary" is written right after "probe_mode", and only then */
static bool is_summary(FILE *f)
{
	char *buf = malloc(SNIFF_BYTES + 1);
	size_t n = buf ? fread(buf, 1, SNIFF_BYTES, f) : 0;
	bool yes;

	if (!buf)
		return false;
	buf[n] = 0;
	yes = n && buf[0] == '{' &&
	      (strstr(buf, "\"summary\":\"function\"}") ||
	       strstr(buf, "\"summary\":\"thread\"}")) &&
	      strstr(buf, "\"summary\":[");
	free(buf);
	return yes;
}

static uint64_t num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "?";
}

static int fill(struct summary *s, const cJSON *doc, char *err, size_t errlen)
{
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "summary"), *r;
	const cJSON *untimed = cJSON_GetObjectItemCaseSensitive(doc, "untimed");

	cJSON_ArrayForEach(r, rows)
	{
		const cJSON *tid = cJSON_GetObjectItemCaseSensitive(r, "thread_id");
		struct ctrace_sum_val v = {
			.calls = num(r, "calls"),
			.timed = num(r, "timed_calls"),
			.total = num(r, "total_ns"),
			.self = num(r, "self_ns"),
			.min = num(r, "min_ns"),
			.max = num(r, "max_ns"),
		};

		s->per_thread |= cJSON_IsNumber(tid);
		if (summary_add(s, str(r, "function"), str(r, "module"),
				cJSON_IsNumber(tid) ? (uint32_t)tid->valuedouble : 0, &v)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	for (int i = 0; i < CTRACE_SUM_NREASONS; i++)
		s->untimed[i] = num(untimed, summary_reason_key[i]);
	s->hidden = num(untimed, "hidden_by_filters");
	s->untracked = num(untimed, "untracked_events");
	s->extremes_missed = num(untimed, "extremes_missed");
	return 0;
}

int summary_file_read(const char *path, struct summary *s, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	cJSON *doc;
	int rc;

	if (!f)
		return 1;
	if (!is_summary(f)) {
		fclose(f);
		return 1;
	}
	rewind(f);
	if (getdelim(&text, &len, 0, f) < 0) {
		snprintf(err, errlen, "'%.200s': cannot read it", path);
		fclose(f);
		free(text);
		return -1;
	}
	fclose(f);
	doc = cJSON_Parse(text);
	free(text);
	if (!doc) {
		snprintf(err, errlen, "'%.200s': not valid JSON", path);
		return -1;
	}
	rc = fill(s, doc, err, errlen);
	cJSON_Delete(doc);
	return rc;
}
