/* DWARF location expressions: where a value is at a given pc, as the
 * pieces of a ctrace_arg_plan. Private to find/dwarf_*.c. */
#ifndef CTRACE_DWARF_LOCATIONS_H
#define CTRACE_DWARF_LOCATIONS_H
#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrace_plan.h"

struct dwarf_ctx;

struct eval {
	struct dwarf_ctx *c;
	uint64_t pc;
	Dwarf_Die *frame;      /* the subprogram whose frame the pc is in */
	bool site;	       /* at a hook call: rdi and rsi are the hook's */
	bool entry;	       /* at the function's first instruction */
	Dwarf_Attribute *attr; /* the attribute the ops came from */
	char *why;
	size_t whylen;
};

struct pieces {
	struct ctrace_piece p[CTRACE_MAX_PIECES];
	int n;
	uint32_t bytes;
	bool indirect; /* the location holds the object's address */
	bool cut;
};

bool dw_why(struct eval *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool dw_add_piece(struct eval *e, struct pieces *ps, uint8_t kind, uint8_t reg, uint64_t size,
		  int64_t val, uint8_t flags);
/* A whole location description: one piece, or pieces split by DW_OP_piece. */
bool dw_eval_loc(struct eval *e, const Dwarf_Op *ops, size_t n, uint32_t size, struct pieces *ps);

#endif
