/* Reading the JSONL form of a trace (doc/design.md §6, "JSONL"; written by
 * write/jsonl.c) back as a visitor walk, like the JSON document's.
 *
 * It streams: one line in memory at a time, and one frame per open call. The
 * "enter" lines come before a call's children and the "call" lines after, so
 * node_open and node_close are simply those lines. Input is untrusted; every
 * error is one line naming the line number. */
#ifndef CTRACE_JSONLREAD_H
#define CTRACE_JSONLREAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "write/backend.h"

/* The first line of a JSONL trace starts {"type":"metadata" (spaces allowed
 * between the tokens). head: the file's first n bytes. */
bool jsonl_sniff(const unsigned char *head, size_t n);

/* Walks the JSONL trace in f: 0, a callback's non-zero value, or -1 with one
 * line in err ("line N: ..."). Lines of types it does not know, and members
 * it does not know, are skipped, so later additions read fine. */
int jsonl_walk(FILE *f, const struct trace_visitor *v, void *ctx, char *err, size_t errlen);

#endif
