/* A small streaming JSON writer: writes text straight to a FILE* (no DOM), so
 * call trees of any length stream to disk. Output is always valid UTF-8 JSON,
 * whatever bytes the target held. Callers place the structural characters
 * ({ } [ ] ,) themselves.
 * - Speed: it writes with the unlocked stdio calls (fwrite_unlocked), so only one
 *   thread may write a given FILE at a time (or hold flockfile(f) around it).
 * - Numbers assume the C numeric locale (the tool never calls setlocale). */
#ifndef CTRACE_JSONW_H
#define CTRACE_JSONW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s[0..len) as a JSON string literal, quotes included: escapes '"', '\'
 * and control characters (\b \f \n \r \t, others \u00xx; NUL bytes count as
 * characters), copies valid UTF-8 through and writes U+FFFD for every maximal
 * ill-formed subsequence (invalid or stray bytes, overlongs, surrogates, beyond
 * U+10FFFF, sequences cut short) as Unicode recommends, like Python's
 * decode("utf-8", "replace"). Returns the number of U+FFFD written. */
size_t jsonw_str(FILE *f, const char *s, size_t len);
/* a NUL-terminated string; NULL writes null */
size_t jsonw_cstr(FILE *f, const char *s);
void jsonw_u64(FILE *f, uint64_t v);
void jsonw_i64(FILE *f, int64_t v);
/* the shortest of %.15g/%.16g/%.17g that reads back as the same double;
 * NaN and infinities (which JSON cannot express) write the strings gdb
 * prints: "nan", "-nan", "inf", "-inf" */
void jsonw_double(FILE *f, double v);
/* "0x1a2b", as a string */
void jsonw_hex(FILE *f, uint64_t v);
/* "key": (key is trusted ASCII, written as is) */
void jsonw_key(FILE *f, const char *key);
/* the JSON escape of a byte that needs one (a quote, a backslash, a control
 * character) into esc; returns its length (2 or 6) */
size_t jsonw_escape_byte(unsigned char c, char esc[6]);
/* ",\"key\":": a member after the first */
void jsonw_next_key(FILE *f, const char *key);
/* ",\"key\":value": a whole member after the first, in one call */
void jsonw_member_u64(FILE *f, const char *key, uint64_t v);
void jsonw_member_i64(FILE *f, const char *key, int64_t v);
void jsonw_member_hex(FILE *f, const char *key, uint64_t v);
size_t jsonw_member_cstr(FILE *f, const char *key, const char *s);
/* ",\"key\":" and, when the value is not known, null. Returns known, so the
 * caller writes the value after it:
 *   if (jsonw_member_or_null(f, "line", have_line)) jsonw_i64(f, line); */
bool jsonw_member_or_null(FILE *f, const char *key, bool known);
/* s[0..len) is well-formed UTF-8 (U+0000 included) */
bool jsonw_utf8_valid(const char *s, size_t len);
/* Length of the well-formed sequence starting at a non-ASCII byte p[0] (2..4),
 * or 0 with *bad = length of its maximal ill-formed prefix (1..3): the bytes
 * one U+FFFD stands for (Unicode §3.9). Shared with the trace reader. */
size_t jsonw_utf8_seq(const unsigned char *p, size_t n, size_t *bad);

#endif
