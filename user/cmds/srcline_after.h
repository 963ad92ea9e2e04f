/* `convert --srcline` / `report --srcline`: a trace made without --srcline
 * gets its functions' "source" after the fact, from the DWARF of the files
 * its metadata names (metadata.processes[].modules), each checked against
 * the build id the trace recorded: a rebuilt or missing file gives no
 * location, and one warning naming it, never another build's lines. */
#ifndef CTRACE_SRCLINE_AFTER_H
#define CTRACE_SRCLINE_AFTER_H
#include "write/backend.h"

struct srcline_after;

/* a source that walks in and fills in each node's "source" (NULL: out of
 * memory); srcline_after_free after the walk */
struct srcline_after *srcline_after_new(const struct trace_source *in);
const struct trace_source *srcline_after_source(struct srcline_after *s);
void srcline_after_free(struct srcline_after *s);

#endif
