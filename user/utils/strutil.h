/* Small string helpers more than one stage needs. */
#ifndef CTRACE_STRUTIL_H
#define CTRACE_STRUTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* FNV-1a of a NUL-terminated string, for hash tables and colours keyed by name */
uint64_t str_hash(const char *s);
/* code points in UTF-8 text (its display columns: names are not CJK-wide) */
size_t utf8_chars(const char *s);
/* s ends in suffix, and is longer than it (".jsonl" alone is no name) */
bool str_has_suffix(const char *s, const char *suffix);

#endif
