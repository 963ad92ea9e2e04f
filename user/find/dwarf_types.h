/* The C/C++ type model (write/value_fmt.h) of DWARF types, owned by the
 * dwarf_ctx. Private to find/dwarf_*.c. */
#ifndef CTRACE_DWARF_TYPES_H
#define CTRACE_DWARF_TYPES_H
#include <elfutils/libdw.h>
#include <stdbool.h>

#include "write/value_fmt.h"

struct dwarf_ctx;

bool dw_is_cxx(Dwarf_Die *d);
/* the type a DIE's DW_AT_type names; NULL: void */
const struct vtype *dw_type_of(struct dwarf_ctx *c, Dwarf_Die *d, int depth);
const struct vtype *dw_ref_to(struct dwarf_ctx *c, const struct vtype *t);

#endif
