/* Small string helpers more than one stage needs. */
#include <string.h>
#include "utils/strutil.h"

uint64_t str_hash(const char *s)
{
	/* FNV-1a, though its offset basis lacks the standard one's last digit:
	 * flame-graph colours come from these values, so it stays */
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += (*s & 0xc0) != 0x80;
	return n;
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && !strcmp(s + n - k, suffix);
}
