/* The output formats, the metadata every back end keeps, and the time a call covers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "write/backend.h"

static const struct format formats[] = {
	/* not *.chrome.json: speedscope takes that name for a DevTools profile */
	{ "chrome", ".trace.json", chrome_run },
	{ "folded", ".folded", folded_run },
	{ "speedscope", ".speedscope.json", speedscope_run },
	{ "svg", ".svg", svg_run },
	{ "jsonl", ".jsonl", jsonl_run },
	{ "perfetto", ".perfetto-trace", perfetto_run },
};

const struct format *format_find(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(formats[i].name, name))
			return &formats[i];
	return NULL;
}

const char *format_names(void)
{
	static char names[128];

	/* "a, b or c", from the table: the messages list every format there is */
	if (!names[0]) {
		size_t n = sizeof(formats) / sizeof(formats[0]);

		for (size_t i = 0; i < n; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i == 0 ? "" : i + 1 == n ? " or " : ", ", formats[i].name);
	}
	return names;
}

uint64_t node_covered_ns(const struct trace_node *n, uint64_t children_ns)
{
	if (n->has_duration)
		return n->duration_ns;
	if (n->has_start && n->has_end && n->end_ns >= n->start_ns)
		return n->end_ns - n->start_ns;
	return children_ns;
}

uint64_t node_self_ns(const struct trace_node *n, uint64_t children_ns)
{
	if (!n->has_duration || n->duration_ns < children_ns)
		return 0;
	return n->duration_ns - children_ns;
}

int keep_meta(struct meta_copy *mc, const struct trace_meta *m)
{
	free(mc->json);
	free(mc->command0);
	free(mc->executable);
	memset(mc, 0, sizeof(*mc));
	mc->json = strdup(m->json);
	mc->command0 = m->command0 ? strdup(m->command0) : NULL;
	mc->executable = m->executable ? strdup(m->executable) : NULL;
	mc->has_duration = m->has_duration;
	mc->duration_ns = m->duration_ns;
	mc->lost_events = m->lost_events;
	return mc->json ? 0 : -1;
}

void free_meta(struct meta_copy *mc)
{
	free(mc->json);
	free(mc->command0);
	free(mc->executable);
}
