/* The output formats, and the metadata every back end keeps. */
#include <stdlib.h>
#include <string.h>
#include "write/backend.h"

static const struct format formats[] = {
	/* not *.chrome.json: speedscope takes that name for a DevTools profile */
	{ "chrome", ".trace.json", chrome_run },
	{ "folded", ".folded", folded_run },
	{ "speedscope", ".speedscope.json", speedscope_run },
	{ "svg", ".svg", svg_run },
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
	return "chrome, folded, speedscope or svg";
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
