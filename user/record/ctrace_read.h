/* The compact trace's one reader (doc/ctrace-format.md): records back into
 * the ring-buffer structs of ctrace.h, with the functions the FUNC records
 * defined standing in for the symbolizer. Every length is checked: the
 * bytes may come from anywhere. */
#ifndef CTRACE_READ_H
#define CTRACE_READ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "record/ctrace_format.h"

struct ctrace_reader;
struct func_info;

struct ctr_rec {
	enum ctrace_op op;
	/* CALL/ARGS/RETVAL/RAW: the main ring buffer's record; CRASH: the
	 * crash buffer's (valid until the next call) */
	const void *data;
	size_t size;
	const struct func_info *fn; /* its function, NULL when none */
	const char *site;	    /* ENTER: its call site (--srcline), or NULL */
	/* NAME, LOST, TEXT */
	uint32_t tid;
	uint64_t count; /* LOST; TEXT: its key; MARK: the plan changes */
	unsigned what;	/* TEXT; EXT: its sub (str, len: its body) */
	const char *str;
	size_t len;
};

/* does the file start like a compact trace? */
bool ctr_is_ctrace(const void *head, size_t n);
/* reads the header from f (the reader does not close it); NULL with the
 * reason in err */
struct ctrace_reader *ctr_open(FILE *f, char *err, size_t errlen);
const struct ctrace_file_hdr *ctr_header(const struct ctrace_reader *r);
/* calls deeper than max (either way) make the file damaged (CT_MAX_DEPTH) */
void ctr_limit_depth(struct ctrace_reader *r, int32_t max);
/* 1: a record in *out; 0: the end; -1: a damaged file (ctr_error says how) */
int ctr_next(struct ctrace_reader *r, struct ctr_rec *out);
const char *ctr_error(const struct ctrace_reader *r);
bool ctr_complete(const struct ctrace_reader *r); /* the END record was read */
uint64_t ctr_calls(const struct ctrace_reader *r);
/* a FUNC record's function; NULL for 0 or an id not defined yet */
const struct func_info *ctr_func(const struct ctrace_reader *r, uint64_t id);
void ctr_free(struct ctrace_reader *r);

#endif
