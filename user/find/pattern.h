/* Function filters for -F/--filter, -N/--exclude and --filter-file.
 *
 * A pattern is a glob (fnmatch(3) with no flags: `*` also matches `:` and `/`,
 * `\` escapes) unless it is written `/regex/`: a POSIX extended regex,
 * case-sensitive and unanchored (`/^main$/` anchors it).
 *
 * A function is traced when (there are no include patterns OR at least one
 * include matches) AND no exclude matches.
 *
 * A pattern matches a function when it matches any of these names:
 *   1. the raw symbol:                     _ZNK2ns3Foo3barEi   helper.constprop.0
 *   2. the raw symbol up to its first '.'  (GCC clone suffixes .constprop.N, .isra.N,
 *      .part.N, .cold ...; identifiers and mangled names never contain '.'):  helper
 *   3. the demangled name:                 ns::Foo::bar(int) const
 *   4. the demangled name without its parameter list, i.e. before the last
 *      balanced (...) group, once trailing qualifiers (const, volatile, &, &&,
 *      noexcept) and [clone ...] groups are set aside; [abi:...] tags removed:
 *                                          ns::Foo::bar
 *      Foo::operator()(int) gives Foo::operator(); make_name[abi:cxx11](int) gives
 *      make_name; a template function keeps its return type: int add<int>(int, int)
 *      gives "int add<int>".
 * So -F 'ns::Foo::*' and -F ns::Foo::bar select ns::Foo::bar(int) const, but the
 * glob bar does not (a glob matches a whole name); the unanchored /bar/ does.
 */
#ifndef CTRACE_PATTERN_H
#define CTRACE_PATTERN_H
#include <stdbool.h>
#include <stddef.h>

struct filter;

struct filter *filter_new(void);
void filter_free(struct filter *f);
/* Adds one pattern; exclude=true for -N. Returns 0, or -1 with a one-line reason
 * in err (empty pattern, unterminated or empty /regex/, regerror's text). */
int filter_add(struct filter *f, const char *pattern, bool exclude, char *err, size_t errlen);
/* Reads one pattern per line: surrounding whitespace is trimmed, blank lines and
 * lines whose first non-blank character is '#' are skipped, a leading '!' makes
 * the rest of the line an exclude. Errors name FILE:LINE. */
int filter_add_file(struct filter *f, const char *path, char *err, size_t errlen);
/* raw and demangled may each be NULL (unknown) */
bool filter_allows(const struct filter *f, const char *raw, const char *demangled);
/* no patterns at all: every function is traced */
bool filter_is_empty(const struct filter *f);
size_t filter_count(const struct filter *f, bool exclude);
/* the i-th pattern as it was added (NULL past the last) */
const char *filter_pattern(const struct filter *f, size_t i, bool *exclude);

#endif
