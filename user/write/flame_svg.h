/* Merged call stacks — the data of a flame graph — and its two renderings:
 * Brendan Gregg's folded lines ("main;parse;lex 1234") and a self-contained
 * SVG flame graph in the style of flamegraph.pl.
 *
 * The stacks are kept as a calling-context tree: one node per distinct stack,
 * so memory follows the program's structure, not the trace's length. Node 0
 * is the root (the empty stack). */
#ifndef CTRACE_FLAME_SVG_H
#define CTRACE_FLAME_SVG_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct flame;

struct flame *flame_new(void);
void flame_free(struct flame *fl);

/* The node for stack parent;name, created on first use. UINT32_MAX when out of memory. */
uint32_t flame_child(struct flame *fl, uint32_t parent, const char *name);
/* A node under parent whose name is not known yet (a call that names itself
 * only after its children). Name it with flame_resolve once known. */
uint32_t flame_placeholder(struct flame *fl, uint32_t parent);
/* Names placeholder node; when parent;name already exists the two merge.
 * Returns the node that now stands for it, UINT32_MAX when out of memory. */
uint32_t flame_resolve(struct flame *fl, uint32_t node, const char *name);
/* One call ending at this stack: its self time and count. */
void flame_add(struct flame *fl, uint32_t node, uint64_t self_ns, uint64_t calls);

/* Folded lines, children in name order, one line per stack with a non-zero
 * weight (self ns, or calls). ';' in a name is written ':', control
 * characters as spaces, so every line parses. 0 or -1 (write error). */
int flame_write_folded(struct flame *fl, FILE *out, bool weight_calls);

struct flame_svg_opts {
	const char *title;    /* the heading */
	const char *subtitle; /* a line under it, or NULL */
	bool weight_calls;    /* widths by call counts instead of time */
	unsigned width;	      /* 0: 1200 px */
};
/* The SVG flame graph: root at the bottom, children sorted by name, frames
 * narrower than 0.1 px left out; hover shows "name — total, self, calls",
 * click zooms, Reset Zoom undoes it, Search (or ?s=REGEX in its URL)
 * highlights the matching frames and shows the share they cover.
 * 0 or -1 (write error). */
int flame_write_svg(struct flame *fl, FILE *out, const struct flame_svg_opts *o);

/* "12 ns", "3.40 µs", "1.25 ms", "2.00 s": 3 significant digits, for humans. */
void flame_fmt_ns(char *buf, size_t len, uint64_t ns);

#endif
