/* Human-readable function names. */
#ifndef CTRACE_DEMANGLE_H
#define CTRACE_DEMANGLE_H

/* malloc'd: the demangled C++ name (clone suffixes shown as "[clone .isra.0]"),
 * or a copy of raw when it is not a mangled name. NULL only when out of memory. */
char *demangle(const char *raw);

#endif
