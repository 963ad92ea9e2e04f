/* libFuzzer harness: jsonw_str() on arbitrary bytes must write one JSON string
 * in valid UTF-8 that cJSON parses, and that decodes to exactly the input with
 * every maximal ill-formed subsequence replaced by U+FFFD (checked against a
 * reference written here from Unicode §3.9, Table 3-7); jsonw_utf8_valid()
 * must agree with that reference. The first 8 bytes also go through
 * jsonw_double(), which must read back as the same double ("nan"/"inf" strings
 * for NaN/inf),
 * and jsonw_u64/i64/hex, whose text must be exact. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "write/jsonw.h"

/* the bytes of a well-formed sequence led by c: the second byte's range (later
 * bytes are 80..BF) and the length; 0 when c cannot lead one */
static size_t lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	static const struct {
		unsigned char first, last, lo, hi, len;
	} t[] = {
		{ 0x00, 0x7f, 0, 0, 1 },       { 0xc2, 0xdf, 0x80, 0xbf, 2 },
		{ 0xe0, 0xe0, 0xa0, 0xbf, 3 }, { 0xe1, 0xec, 0x80, 0xbf, 3 },
		{ 0xed, 0xed, 0x80, 0x9f, 3 }, { 0xee, 0xef, 0x80, 0xbf, 3 },
		{ 0xf0, 0xf0, 0x90, 0xbf, 4 }, { 0xf1, 0xf3, 0x80, 0xbf, 4 },
		{ 0xf4, 0xf4, 0x80, 0x8f, 4 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (c >= t[i].first && c <= t[i].last) {
			*lo = t[i].lo;
			*hi = t[i].hi;
			return t[i].len;
		}
	}
	return 0;
}

/* s with U+FFFD for each maximal subpart; returns the replacements */
static size_t reference(const unsigned char *s, size_t n, unsigned char *out, size_t *outlen)
{
	size_t i = 0, o = 0, nrep = 0;

	while (i < n) {
		unsigned char lo, hi;
		size_t len = lead(s[i], &lo, &hi), k = 1;

		while (k < len && i + k < n && s[i + k] >= lo && s[i + k] <= hi) {
			k++;
			lo = 0x80;
			hi = 0xbf;
		}
		if (len && k == len) {
			memcpy(out + o, s + i, len);
			o += len;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			nrep++;
		}
		i += k;
	}
	*outlen = o;
	return nrep;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 :
				      -1;
}

/* the JSON string literal lit[0..len) (quotes included), decoded: only the
 * escapes jsonw may write, none of them a surrogate */
static void decode_literal(const char *lit, size_t len, unsigned char *out, size_t *outlen)
{
	size_t o = 0;

	FUZZ_ASSERT(len >= 2 && lit[0] == '"' && lit[len - 1] == '"', "not a string literal");
	for (size_t i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)lit[i];

		FUZZ_ASSERT(c >= 0x20 && c != '"', "raw control character or quote 0x%02x at %zu",
			    c, i);
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		FUZZ_ASSERT(i + 1 < len - 1, "escape cut short");
		switch (lit[++i]) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			int v = 0;

			FUZZ_ASSERT(i + 4 < len - 1, "\\u escape cut short");
			for (int k = 1; k <= 4; k++) {
				int h = hexval(lit[i + k]);
				FUZZ_ASSERT(h >= 0, "bad hex digit in \\u escape");
				v = v << 4 | h;
			}
			/* jsonw escapes control characters only: everything else is UTF-8 */
			FUZZ_ASSERT(v < 0x20, "unexpected escape \\u%04x", v);
			out[o++] = (unsigned char)v;
			i += 4;
			break;
		}
		default: FUZZ_ASSERT(0, "unknown escape \\%c", lit[i]);
		}
	}
	*outlen = o;
}

static char *capture(void (*write)(FILE *, const void *, size_t), const void *arg, size_t n,
		     size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	FUZZ_ASSERT(f, "open_memstream: %s", strerror(errno));
	write(f, arg, n);
	fclose(f);
	return buf;
}

static size_t last_nrep;

static void write_str(FILE *f, const void *s, size_t n)
{
	last_nrep = jsonw_str(f, s, n);
}

static void write_double(FILE *f, const void *v, size_t n)
{
	(void)n;
	jsonw_double(f, *(const double *)v);
}

static void check_str(const uint8_t *data, size_t size)
{
	unsigned char *want = malloc(size * 3 + 1), *got = malloc(size * 3 + 1);
	size_t wlen, glen, len, nrep;
	char *lit;
	cJSON *v;

	FUZZ_ASSERT(want && got, "out of memory");
	lit = capture(write_str, data, size, &len);
	nrep = reference(data, size, want, &wlen);
	FUZZ_ASSERT(last_nrep == nrep, "jsonw_str counted %zu replacements, the reference %zu",
		    last_nrep, nrep);
	FUZZ_ASSERT(jsonw_utf8_valid((const char *)data, size) == (nrep == 0),
		    "jsonw_utf8_valid disagrees with the reference");
	FUZZ_ASSERT(fuzz_utf8_valid(data, size) == (nrep == 0),
		    "the two reference validators disagree");
	v = fuzz_json_parse(lit, len, true, "jsonw_str");
	FUZZ_ASSERT(cJSON_IsString(v), "jsonw_str did not write a string");
	decode_literal(lit, len, got, &glen);
	FUZZ_ASSERT(glen == wlen && !memcmp(got, want, wlen),
		    "jsonw_str output decodes to other bytes than the reference");
	/* cJSON stops at an embedded NUL: compare what it kept */
	FUZZ_ASSERT(!strncmp(v->valuestring, (const char *)want, wlen) &&
			    strlen(v->valuestring) == strnlen((const char *)want, wlen),
		    "cJSON decodes the string differently");
	cJSON_Delete(v);
	free(lit);
	free(want);
	free(got);
}

static void check_numbers(const uint8_t *data)
{
	uint64_t u;
	int64_t i;
	double d;
	char *buf = NULL, want[80];
	size_t len = 0;
	FILE *f;

	memcpy(&u, data, 8);
	memcpy(&i, data, 8);
	memcpy(&d, data, 8);

	buf = capture(write_double, &d, 0, &len);
	if (!isfinite(d)) {
		const char *name = isnan(d) ? (signbit(d) ? "\"-nan\"" : "\"nan\"") :
				   d < 0    ? "\"-inf\"" :
					      "\"inf\"";

		FUZZ_ASSERT(len == strlen(name) && !memcmp(buf, name, len),
			    "jsonw_double(non-finite) is not %s", name);
	} else {
		cJSON *v = fuzz_json_parse(buf, len, true, "jsonw_double");
		FUZZ_ASSERT(cJSON_IsNumber(v) && (v->valuedouble == d),
			    "jsonw_double(%a) wrote %.*s", d, (int)len, buf);
		FUZZ_ASSERT(!memchr(buf, ',', len), "jsonw_double wrote a decimal comma");
		cJSON_Delete(v);
	}
	free(buf);

	f = open_memstream(&buf, &len);
	FUZZ_ASSERT(f, "open_memstream: %s", strerror(errno));
	jsonw_u64(f, u);
	fputc(' ', f);
	jsonw_i64(f, i);
	fputc(' ', f);
	jsonw_hex(f, u);
	fclose(f);
	snprintf(want, sizeof(want), "%" PRIu64 " %" PRId64 " \"0x%" PRIx64 "\"", u, i, u);
	FUZZ_ASSERT(!strcmp(buf, want), "jsonw_u64/i64/hex wrote \"%s\", want \"%s\"", buf, want);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_str(data, size);
	if (size >= 8)
		check_numbers(data);
	return 0;
}
