#include <stdint.h>
#include <string.h>
#include "fuzz_check.h"

bool fuzz_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp, min;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			k = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			k = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			k = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i < k)
			return false;
		for (size_t j = 1; j < k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k;
	}
	return true;
}

static void check_keys(const cJSON *v, const char *what)
{
	for (const cJSON *c = v->child; c; c = c->next) {
		if (cJSON_IsObject(v))
			for (const cJSON *d = c->next; d; d = d->next)
				FUZZ_ASSERT(strcmp(c->string, d->string) != 0,
					    "%s: key \"%s\" twice in one object", what, c->string);
		check_keys(c, what);
	}
}

cJSON *fuzz_json_parse(const char *doc, size_t len, bool unique_keys, const char *what)
{
	const char *end = NULL;
	cJSON *v;

	FUZZ_ASSERT(!memchr(doc, 0, len), "%s: a raw NUL byte in the JSON text", what);
	FUZZ_ASSERT(fuzz_utf8_valid((const unsigned char *)doc, len), "%s: not valid UTF-8", what);
	v = cJSON_ParseWithLengthOpts(doc, len, &end, false);
	if (!v) {
		size_t at = end ? (size_t)(end - doc) : 0;
		if (getenv("FUZZ_DUMP"))
			fwrite(doc, 1, len, stderr);
		fprintf(stderr, "%s: invalid JSON near byte %zu of %zu: %.*s\n", what, at, len,
			(int)(len - at < 120 ? len - at : 120), doc + at);
		FUZZ_ASSERT(0, "%s: cJSON cannot parse the output", what);
	}
	while (end && end < doc + len && strchr(" \t\r\n", *end))
		end++;
	FUZZ_ASSERT(end == doc + len, "%s: bytes after the JSON value", what);
	if (unique_keys)
		check_keys(v, what);
	return v;
}
