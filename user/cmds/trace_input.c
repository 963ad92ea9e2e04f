/* Opening a trace whatever its format; see trace_input.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cmds/jsonlread.h"
#include "cmds/ctrace_input.h"
#include "cmds/jsonread.h"
#include "cmds/trace_input.h"

/* Most specific first: the last one, the JSON document, takes what no other
 * claims (its reader says what is wrong with anything else) */
static const struct trace_reader readers[] = {
	{ "ctrace", ctrace_sniff, ctrace_walk },
	{ "jsonl", jsonl_sniff, jsonl_walk },
	{ "json", NULL, trace_walk },
};

/* A stream that gives back the sniffed bytes, then the rest of the file:
 * standard input cannot be rewound */
struct replay {
	FILE *f;
	unsigned char head[TRACE_SNIFF_LEN];
	size_t n, pos;
};

static ssize_t replay_read(void *cookie, char *buf, size_t len)
{
	struct replay *r = cookie;

	if (r->pos < r->n) {
		size_t k = r->n - r->pos < len ? r->n - r->pos : len;

		memcpy(buf, r->head + r->pos, k);
		r->pos += k;
		return (ssize_t)k;
	}
	len = fread_unlocked(buf, 1, len, r->f);
	return ferror_unlocked(r->f) ? -1 : (ssize_t)len;
}

static int replay_close(void *cookie)
{
	struct replay *r = cookie;
	int rc = r->f != stdin ? fclose(r->f) : 0;

	free(r);
	return rc;
}

static FILE *open_file(const char *path, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	struct stat st;

	if (!f) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (!fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot read '%s': it is a directory", path);
		fclose(f);
		return NULL;
	}
	return f;
}

static int walk_input(void *src, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	struct trace_input *in = src;

	return in->reader->walk(in->f, v, ctx, err, errlen);
}

int trace_input_open(struct trace_input *in, const char *path, char *err, size_t errlen)
{
	static const cookie_io_functions_t io = { .read = replay_read, .close = replay_close };
	struct replay *r = calloc(1, sizeof(*r));
	size_t nreaders = sizeof(readers) / sizeof(readers[0]);

	memset(in, 0, sizeof(*in));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->f = open_file(path, err, errlen);
	if (!r->f) {
		free(r);
		return -1;
	}
	r->n = fread(r->head, 1, sizeof(r->head), r->f);
	in->reader = &readers[nreaders - 1];
	for (size_t i = 0; i + 1 < nreaders; i++)
		if (readers[i].sniff(r->head, r->n)) {
			in->reader = &readers[i];
			break;
		}
	in->f = fopencookie(r, "r", io);
	if (!in->f) {
		replay_close(r);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	setvbuf(in->f, NULL, _IOFBF, 1 << 20);
	in->path = path;
	in->source = (struct trace_source){ .walk = walk_input, .src = in };
	return 0;
}

void trace_input_close(struct trace_input *in)
{
	if (in->f)
		fclose(in->f);
	in->f = NULL;
}
