/* Any trace file, opened for the offline commands: its format is told by its
 * first bytes (not its name), and it is read through the one reader of that
 * format as a trace_source (write/backend.h). Standard input ("-") works too:
 * the bytes read to tell the format are handed back to the reader. */
#ifndef CTRACE_TRACE_INPUT_H
#define CTRACE_TRACE_INPUT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "write/backend.h"

#define TRACE_SNIFF_LEN 64

/* One trace format the offline commands read */
struct trace_reader {
	const char *name;
	/* head: the file's first n bytes (n < TRACE_SNIFF_LEN when it is shorter);
	 * NULL for the last reader, which takes what no other claims */
	bool (*sniff)(const unsigned char *head, size_t n);
	int (*walk)(FILE *f, const struct trace_visitor *v, void *ctx, char *err, size_t errlen);
};

struct trace_input {
	const char *path;
	FILE *f; /* the whole file, from its first byte */
	const struct trace_reader *reader;
	struct trace_source source;
};

/* Opens path ("-": stdin) and tells its format: 0, or -1 with one line in err */
int trace_input_open(struct trace_input *in, const char *path, char *err, size_t errlen);
void trace_input_close(struct trace_input *in);

#endif
