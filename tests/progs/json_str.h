/* The programs that print their own ground truth as JSON: a string's bytes
 * as a JSON string's content. Not instrumented: the trace stays the program's. */
#ifndef CTRACE_TEST_JSON_STR_H
#define CTRACE_TEST_JSON_STR_H
#include <stdio.h>
#include "common.h"

/* quotes and backslashes escaped, any other byte outside printable ASCII as
 * \u00XX: a raw byte, as the tests compare bytes */
NOINSTR static inline void json_chars(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
}

#endif
