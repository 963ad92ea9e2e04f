/* Reading traces back: a streaming JSON tokenizer and, on top of it, a walker
 * over the trace document (doc/design.md §6) that calls a visitor per node.
 *
 * Traces can hold tens of millions of calls, so nothing here loads a whole
 * document: memory is bounded by the nesting depth and the longest string.
 * Nothing recurses on depth either: a 100,000-deep tree costs heap, not C stack.
 * Input is untrusted; every error is one line naming the byte offset. */
#ifndef CTRACE_JSONREAD_H
#define CTRACE_JSONREAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "write/backend.h"

/* ---- the tokenizer -------------------------------------------------------- */

enum jr_tok {
	JR_ERROR = -1, /* malformed input, I/O error or a limit: see jr_error() */
	JR_EOF = 0,    /* the document ended well (only whitespace after it) */
	JR_OBJ_BEGIN,
	JR_OBJ_END,
	JR_ARR_BEGIN,
	JR_ARR_END,
	JR_KEY,	   /* an object member's name (its ':' is consumed too) */
	JR_STRING, /* decoded UTF-8: escapes resolved, ill-formed bytes -> U+FFFD */
	JR_NUMBER, /* the number's text, checked against the JSON grammar */
	JR_TRUE,
	JR_FALSE,
	JR_NULL,
};

struct jr;

/* A growable byte buffer, always NUL-terminated when p != NULL. */
struct jr_buf {
	char *p;
	size_t len, cap;
};
int jr_buf_put(struct jr_buf *b, const void *s, size_t n); /* 0 or -1 (ENOMEM) */
void jr_buf_free(struct jr_buf *b);

/* Reads f (not closed by jr_free). max_depth bounds nesting (0: 1,000,000) and
 * max_string the length of one string or number token (0: 64 MiB). */
struct jr *jr_new(FILE *f, size_t max_depth, size_t max_string);
/* Reads p[0..len), which must stay valid and unchanged until jr_free. */
struct jr *jr_new_mem(const char *p, size_t len, size_t max_depth, size_t max_string);
void jr_free(struct jr *r);

enum jr_tok jr_next(struct jr *r);
/* The text of the last KEY/STRING/NUMBER token (NUL-terminated; a string may
 * also hold NUL bytes from \u0000, hence len). Valid until the next jr_next. */
const char *jr_text(const struct jr *r, size_t *len);
/* Containers open after the last token (the top-level value's inside is 1). */
size_t jr_depth(const struct jr *r);
/* Byte offset where the last token began. */
uint64_t jr_offset(const struct jr *r);
/* "byte N: what was wrong" once JR_ERROR was returned; "" otherwise. */
const char *jr_error(const struct jr *r);

/* Call right after a value's first token: consumes the rest of that value
 * (nothing for scalars). Returns its last token (JR_OBJ_END...), or JR_ERROR. */
enum jr_tok jr_skip(struct jr *r, enum jr_tok first);
/* Same, appending the value as compact JSON to out. More than max bytes of it
 * is an error ("longer than ..."), so one huge value cannot exhaust memory. */
enum jr_tok jr_capture(struct jr *r, enum jr_tok first, struct jr_buf *out, size_t max);

/* cJSON_Parse, but every number comes back as a raw item holding its exact
 * text (cJSON keeps doubles: a 64-bit integer past 2^53 would be rounded).
 * NULL when json is not valid or out of memory. */
struct cJSON;
struct cJSON *jr_parse_exact(const char *json);

/* Number text -> value: false when it is not a whole number in range (a
 * fraction, an exponent or a sign makes it not one). */
bool jr_parse_u64(const char *s, uint64_t *v);

/* ---- the trace walker ----------------------------------------------------- */

/* Walks the trace in f. depth 0 is a root call. Returns 0, a callback's
 * non-zero value, or -1 with one line in err ("byte N: ..."). Unknown members
 * are skipped, so later format additions read fine. */
int trace_walk(FILE *f, const struct trace_visitor *v, void *ctx, char *err, size_t errlen);

#endif
