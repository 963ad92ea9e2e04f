/* Oracles shared by the fuzz harnesses. A failed check prints why and aborts:
 * libFuzzer reports that as a crash and keeps the input. */
#ifndef CTRACE_FUZZ_CHECK_H
#define CTRACE_FUZZ_CHECK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cjson/cJSON.h>

#define FUZZ_ASSERT(cond, ...)                                                               \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz check failed at %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                                        \
			fputc('\n', stderr);                                                 \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* s[0..n) is well-formed UTF-8: written apart from jsonw's own check, so the
 * two can be compared */
bool fuzz_utf8_valid(const unsigned char *s, size_t n);

/* doc[0..len) must be one JSON value in valid UTF-8, with no raw NUL and, with
 * unique_keys, no object holding one key twice (keys the tool chooses itself;
 * member names from DWARF are data: a corrupt struct may repeat one); what
 * names it in the failure message. Returns the parsed tree (cJSON_Delete it). */
cJSON *fuzz_json_parse(const char *doc, size_t len, bool unique_keys, const char *what);

#endif
