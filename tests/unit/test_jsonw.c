/* Unit tests for user/write/jsonw.c: exact output, then every produced document is
 * parsed back with cJSON, and glibc's iconv (strict UTF-8: no overlongs,
 * surrogates or values beyond U+10FFFF) checks the decoded strings independently. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <iconv.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "write/jsonw.h"

#define FFFD "\xef\xbf\xbd"

/* the random cases draw from one sequence: the seed is argv[1] or fixed */
static uint64_t random_seed;
static FILE *mem;
static char *membuf;
static size_t memsz;

static void mem_open(void)
{
	mem = open_memstream(&membuf, &memsz);
	if (!mem) {
		perror("open_memstream");
		exit(2);
	}
}

/* the text written since mem_open(); the caller frees it */
static char *mem_close(void)
{
	fclose(mem);
	return membuf;
}

static bool iconv_valid(const char *s, size_t len)
{
	iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
	char out[256], *in = (char *)s;
	size_t inleft = len;
	bool ok = true;

	if (cd == (iconv_t)-1) {
		perror("iconv_open");
		exit(2);
	}
	while (ok && inleft) {
		char *o = out;
		size_t oleft = sizeof(out);
		/* E2BIG only means the output chunk is full */
		if (iconv(cd, &in, &inleft, &o, &oleft) == (size_t)-1 && errno != E2BIG)
			ok = false;
	}
	iconv_close(cd);
	return ok;
}

static size_t count_fffd(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i + 3 <= len; i++)
		if (!memcmp(s + i, FFFD, 3))
			n++;
	return n;
}

/* Renders s[0..len) with jsonw_str, parses the output back with cJSON and
 * checks that the decoded string is valid UTF-8, holds one U+FFFD per reported
 * replacement, and equals the input when nothing was replaced. Returns the
 * output (caller frees) and the replacement count in *nrep. */
static char *render_checked(const char *s, size_t len, size_t *nrep, int line)
{
	mem_open();
	*nrep = jsonw_str(mem, s, len);
	char *out = mem_close();
	cJSON *j = cJSON_ParseWithLength(out, strlen(out));

	CHECK(j && cJSON_IsString(j));
	if (!j || !cJSON_IsString(j)) {
		printf("  (line %d) cJSON rejected: ", line);
		harness_print_str(out);
		putchar('\n');
		cJSON_Delete(j);
		return out;
	}
	/* cJSON's strings stop at the first NUL: compare what it can hold */
	const char *dec = j->valuestring;
	int failed_before = harness_failed;
	size_t dlen = strlen(dec), inlen = s ? strnlen(s, len) : 0;
	bool in_valid = jsonw_utf8_valid(s, len);

	CHECK(jsonw_utf8_valid(dec, dlen));
	CHECK(iconv_valid(dec, dlen));
	CHECK(in_valid == iconv_valid(s, len));
	CHECK(in_valid == (*nrep == 0));
	if (inlen == len)
		CHECK_INT(count_fffd(dec, dlen), *nrep + count_fffd(s, len));
	if (!*nrep)
		CHECK(dlen == inlen && (!inlen || !memcmp(dec, s, inlen)));
	if (harness_failed != failed_before)
		printf("  (line %d)\n", line);
	cJSON_Delete(j);
	return out;
}

#define EXPECT_STR(in, len, want, want_rep)                                \
	do {                                                               \
		size_t rep_;                                               \
		char *out_ = render_checked((in), (len), &rep_, __LINE__); \
		CHECK_STR(out_, (want));                                   \
		CHECK_INT(rep_, (want_rep));                               \
		free(out_);                                                \
	} while (0)
/* for literals: the length excludes the terminating NUL only */
#define EXPECT_LIT(lit, want, want_rep) EXPECT_STR((lit), sizeof(lit) - 1, (want), (want_rep))

TEST(test_ascii_and_escapes)
{
	EXPECT_LIT("", "\"\"", 0);
	EXPECT_LIT("leaf_add", "\"leaf_add\"", 0);
	EXPECT_LIT("hello, world! ~{}[]:/", "\"hello, world! ~{}[]:/\"", 0);
	EXPECT_LIT("say \"hi\"", "\"say \\\"hi\\\"\"", 0);
	EXPECT_LIT("C:\\dir\\", "\"C:\\\\dir\\\\\"", 0);
	EXPECT_LIT("\x7f", "\"\x7f\"", 0);	/* DEL needs no escape */
	EXPECT_LIT("a\0b", "\"a\\u0000b\"", 0); /* length-based: NUL is a character */
	EXPECT_LIT("\0", "\"\\u0000\"", 0);

	/* every control character, alone and between other bytes */
	for (int c = 0; c < 0x20; c++) {
		char in[4] = { 'a', (char)c, 'b', 0 }, want[16], esc[8];
		switch (c) {
		case '\b': strcpy(esc, "\\b"); break;
		case '\t': strcpy(esc, "\\t"); break;
		case '\n': strcpy(esc, "\\n"); break;
		case '\f': strcpy(esc, "\\f"); break;
		case '\r': strcpy(esc, "\\r"); break;
		default: snprintf(esc, sizeof(esc), "\\u%04x", c);
		}
		snprintf(want, sizeof(want), "\"a%sb\"", esc);
		EXPECT_STR(in, 3, want, 0);
		snprintf(want, sizeof(want), "\"%s\"", esc);
		EXPECT_STR(in + 1, 1, want, 0);
	}

	/* len, not the NUL, bounds the string */
	EXPECT_STR("abcdef", 3, "\"abc\"", 0);
	EXPECT_STR(NULL, 0, "\"\"", 0);
}

TEST(test_long_strings)
{
	/* longer than the writer's local buffer, with escapes at both ends and inside */
	char in[1200], want[1300];
	size_t w = 0;

	want[w++] = '"';
	for (size_t i = 0; i < sizeof(in); i++) {
		in[i] = (char)('a' + i % 26);
		if (i == 0 || i == 700 || i == sizeof(in) - 1)
			in[i] = '\n';
		if (in[i] == '\n') {
			want[w++] = '\\';
			want[w++] = 'n';
		} else {
			want[w++] = in[i];
		}
	}
	want[w++] = '"';
	want[w] = '\0';
	EXPECT_STR(in, sizeof(in), want, 0);

	/* many escapes in a row fill the local buffer several times */
	char ctl[300], wctl[300 * 6 + 3];
	w = 0;
	wctl[w++] = '"';
	for (size_t i = 0; i < sizeof(ctl); i++) {
		ctl[i] = 1;
		memcpy(wctl + w, "\\u0001", 6);
		w += 6;
	}
	wctl[w++] = '"';
	wctl[w] = '\0';
	EXPECT_STR(ctl, sizeof(ctl), wctl, 0);
}

TEST(test_valid_utf8)
{
	static const char *const ok[] = {
		"\xc3\xa9",	    /* é, 2 bytes */
		"\xe2\x82\xac",	    /* €, 3 bytes */
		"\xf0\x9f\x98\x80", /* 😀, 4 bytes */
		"\xc2\x80",	    /* U+0080, smallest 2-byte */
		"\xdf\xbf",	    /* U+07FF */
		"\xe0\xa0\x80",	    /* U+0800, smallest 3-byte */
		"\xed\x9f\xbf",	    /* U+D7FF, just below the surrogates */
		"\xee\x80\x80",	    /* U+E000, just above them */
		"\xef\xbf\xbf",	    /* U+FFFF */
		"\xef\xbf\xbd",	    /* U+FFFD itself */
		"\xf0\x90\x80\x80", /* U+10000, smallest 4-byte */
		"\xf4\x8f\xbf\xbf", /* U+10FFFF, the last code point */
		"caf\xc3\xa9 \xe2\x82\xac 5 \xf0\x9f\x98\x80!",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "\"%s\"", ok[i]);
		EXPECT_STR(ok[i], strlen(ok[i]), want, 0);
		CHECK(jsonw_utf8_valid(ok[i], strlen(ok[i])));
	}
	CHECK(jsonw_utf8_valid("", 0));
	CHECK(jsonw_utf8_valid("a\0b", 3));
}

TEST(test_invalid_utf8)
{
	/* stray continuation bytes and bad continuations */
	EXPECT_LIT("a\x80z", "\"a" FFFD "z\"", 1);
	EXPECT_LIT("\x80\xbf", "\"" FFFD FFFD "\"", 2);
	EXPECT_LIT("\xc3(", "\"" FFFD "(\"", 1);
	EXPECT_LIT("\xe2(\xa1", "\"" FFFD "(" FFFD "\"", 2);
	EXPECT_LIT("\xe2\x82(", "\"" FFFD "(\"", 1); /* E2 82 is one maximal subpart */
	EXPECT_LIT("\xf0\x9f\x98(", "\"" FFFD "(\"", 1);
	EXPECT_LIT("\xc3\xc3\xa9", "\"" FFFD "\xc3\xa9\"", 1); /* a new lead ends the bad one */

	/* sequences cut short by the end of the buffer */
	EXPECT_LIT("ab\xc3", "\"ab" FFFD "\"", 1);
	EXPECT_LIT("ab\xe2\x82", "\"ab" FFFD "\"", 1);
	EXPECT_LIT("ab\xf0\x9f\x98", "\"ab" FFFD "\"", 1);
	EXPECT_STR("\xe2\x82\xac", 2, "\"" FFFD "\"", 1); /* valid bytes beyond len are not read */

	/* overlongs */
	EXPECT_LIT("\xc0\x80", "\"" FFFD FFFD "\"", 2);
	EXPECT_LIT("\xc1\xbf", "\"" FFFD FFFD "\"", 2);
	EXPECT_LIT("\xe0\x80\x80", "\"" FFFD FFFD FFFD "\"", 3);
	EXPECT_LIT("\xe0\x9f\xbf", "\"" FFFD FFFD FFFD "\"", 3);
	EXPECT_LIT("\xf0\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"", 4);
	EXPECT_LIT("\xf0\x8f\xbf\xbf", "\"" FFFD FFFD FFFD FFFD "\"", 4);

	/* UTF-16 surrogates */
	EXPECT_LIT("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"", 3);
	EXPECT_LIT("\xed\xbf\xbf", "\"" FFFD FFFD FFFD "\"", 3);
	EXPECT_LIT("\xed\xa0\xbd\xed\xb8\x80", "\"" FFFD FFFD FFFD FFFD FFFD FFFD "\"", 6);

	/* beyond U+10FFFF, and bytes that never occur in UTF-8 */
	EXPECT_LIT("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"", 4);
	EXPECT_LIT("\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff",
		   "\"" FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD "\"", 11);
	EXPECT_LIT("\xf8\x88\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD FFFD "\"",
		   5); /* old 5-byte form */

	/* mixed with escapes and valid text */
	EXPECT_LIT("\"\xff\n\xc3\xa9\x80", "\"\\\"" FFFD "\\n\xc3\xa9" FFFD "\"", 2);

	static const char *const bad[] = { "\x80", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
					   "\xf5", "\xff",     "\xe2\x82",     "a\xc3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!jsonw_utf8_valid(bad[i], strlen(bad[i])));
}

TEST(test_cstr)
{
	char *out;

	mem_open();
	CHECK_INT(jsonw_cstr(mem, NULL), 0);
	fputc(' ', mem);
	CHECK_INT(jsonw_cstr(mem, "x\ny\xff"), 1);
	out = mem_close();
	CHECK_STR(out, "null \"x\\ny" FFFD "\"");
	free(out);
}

/* renders one number with fn and checks the exact text and that cJSON reads it */
#define EXPECT_NUM(call, want)                                                               \
	do {                                                                                 \
		mem_open();                                                                  \
		call;                                                                        \
		char *out_ = mem_close();                                                    \
		CHECK_STR(out_, (want));                                                     \
		cJSON *j_ = cJSON_Parse(out_);                                               \
		CHECK(j_ && (cJSON_IsNumber(j_) || cJSON_IsNull(j_) || cJSON_IsString(j_))); \
		cJSON_Delete(j_);                                                            \
		free(out_);                                                                  \
	} while (0)

TEST(test_numbers)
{
	EXPECT_NUM(jsonw_u64(mem, 0), "0");
	EXPECT_NUM(jsonw_u64(mem, 7), "7");
	EXPECT_NUM(jsonw_u64(mem, 1234567890123ull), "1234567890123");
	EXPECT_NUM(jsonw_u64(mem, UINT64_MAX), "18446744073709551615");
	EXPECT_NUM(jsonw_i64(mem, 0), "0");
	EXPECT_NUM(jsonw_i64(mem, -1), "-1");
	EXPECT_NUM(jsonw_i64(mem, 42), "42");
	EXPECT_NUM(jsonw_i64(mem, INT64_MAX), "9223372036854775807");
	EXPECT_NUM(jsonw_i64(mem, INT64_MIN), "-9223372036854775808");
	EXPECT_NUM(jsonw_i64(mem, INT64_MIN + 1), "-9223372036854775807");

	EXPECT_NUM(jsonw_double(mem, 0.0), "0");
	EXPECT_NUM(jsonw_double(mem, -0.0), "-0");
	EXPECT_NUM(jsonw_double(mem, 0.1), "0.1");
	EXPECT_NUM(jsonw_double(mem, 1.5), "1.5");
	EXPECT_NUM(jsonw_double(mem, -2.25), "-2.25");
	EXPECT_NUM(jsonw_double(mem, 1.0 / 3), "0.3333333333333333");
	EXPECT_NUM(jsonw_double(mem, 0.1 + 0.2), "0.30000000000000004");
	EXPECT_NUM(jsonw_double(mem, 1e300), "1e+300");
	EXPECT_NUM(jsonw_double(mem, 5e-324), "4.94065645841247e-324");
	EXPECT_NUM(jsonw_double(mem, 1.7976931348623157e308), "1.7976931348623157e+308");
	EXPECT_NUM(jsonw_double(mem, NAN), "\"nan\"");
	EXPECT_NUM(jsonw_double(mem, -NAN), "\"-nan\"");
	EXPECT_NUM(jsonw_double(mem, INFINITY), "\"inf\"");
	EXPECT_NUM(jsonw_double(mem, -INFINITY), "\"-inf\"");

	EXPECT_NUM(jsonw_hex(mem, 0), "\"0x0\"");
	EXPECT_NUM(jsonw_hex(mem, 0x1a2b), "\"0x1a2b\"");
	EXPECT_NUM(jsonw_hex(mem, 0x401136), "\"0x401136\"");
	EXPECT_NUM(jsonw_hex(mem, UINT64_MAX), "\"0xffffffffffffffff\"");
}

/* random bit patterns: every finite double reads back exactly */
TEST(test_double_roundtrip)
{
	uint64_t *seed = &random_seed;
	int bad = 0;

	for (int i = 0; i < 10000; i++) {
		uint64_t bits;
		double v;

		*seed ^= *seed << 13, *seed ^= *seed >> 7, *seed ^= *seed << 17;
		bits = *seed;
		memcpy(&v, &bits, sizeof(v));
		mem_open();
		jsonw_double(mem, v);
		char *out = mem_close();
		cJSON *j = cJSON_Parse(out);
		if (isnan(v))
			bad += !(j && cJSON_IsString(j) &&
				 !strcmp(j->valuestring, signbit(v) ? "-nan" : "nan"));
		else if (isinf(v))
			bad += !(j && cJSON_IsString(j) &&
				 !strcmp(j->valuestring, v < 0 ? "-inf" : "inf"));
		else
			bad += !(j && cJSON_IsNumber(j) && strtod(out, NULL) == v &&
				 signbit(strtod(out, NULL)) == signbit(v));
		cJSON_Delete(j);
		free(out);
	}
	CHECK_INT(bad, 0);
}

TEST(test_object)
{
	mem_open();
	fputc('{', mem);
	jsonw_key(mem, "function");
	jsonw_cstr(mem, "leaf_add");
	fputc(',', mem);
	jsonw_key(mem, "address");
	jsonw_hex(mem, 0x401136);
	fputc(',', mem);
	jsonw_key(mem, "start_ns");
	jsonw_u64(mem, 123);
	fputc(',', mem);
	jsonw_key(mem, "value");
	jsonw_i64(mem, -7);
	fputc(',', mem);
	jsonw_key(mem, "d");
	jsonw_double(mem, 2.5);
	fputc('}', mem);
	char *out = mem_close();

	CHECK_STR(out, "{\"function\":\"leaf_add\",\"address\":\"0x401136\",\"start_ns\":123,"
		       "\"value\":-7,\"d\":2.5}");
	cJSON *j = cJSON_Parse(out);
	CHECK(j != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "function")), "leaf_add");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "address")), "0x401136");
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "start_ns")) == 123);
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "value")) == -7);
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "d")) == 2.5);
	cJSON_Delete(j);
	free(out);
}

/* 10,000 random byte strings, biased towards the bytes that make UTF-8 hard */
TEST(test_random)
{
	uint64_t *seed = &random_seed;
	static const unsigned char special[] = { 0x00, 0x1f, '"',  '\\', 0x7f, 0x80, 0xbf, 0xc0,
						 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4,
						 0xf5, 0xff, 0xa0, 0x9f, 0x8f, 0x90 };
	static const char *const seqs[] = { "\xc3\xa9",	    "\xe2\x82\xac",	"\xf0\x9f\x98\x80",
					    "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf", FFFD };
	int failed_before = harness_failed, replaced = 0;

	for (int n = 0; n < 10000 && harness_failed == failed_before; n++) {
		unsigned char buf[96];
		size_t len = 0, want_len;
		bool clean;

		*seed ^= *seed << 13, *seed ^= *seed >> 7, *seed ^= *seed << 17;
		want_len = *seed % sizeof(buf);
		/* half the strings avoid arbitrary bytes, so valid ones with all kinds of characters occur */
		clean = *seed >> 32 & 1;
		while (len < want_len) {
			uint64_t r;
			*seed ^= *seed << 13, *seed ^= *seed >> 7, *seed ^= *seed << 17;
			r = *seed;
			switch (clean && r % 4 == 1 ? 0 : clean && r % 4 == 2 ? 4 : r % 4) {
			case 0: /* printable ASCII */
				buf[len++] = (unsigned char)(0x20 + (r >> 8) % 0x5f);
				break;
			case 1: /* any byte */ buf[len++] = (unsigned char)(r >> 8); break;
			case 2: buf[len++] = special[(r >> 8) % sizeof(special)]; break;
			case 4: /* a control character or one JSON escapes */
				buf[len++] = special[(r >> 8) % 5];
				break;
			default: { /* a whole valid sequence, when it fits */
				const char *s = seqs[(r >> 8) % (sizeof(seqs) / sizeof(seqs[0]))];
				if (len + strlen(s) <= want_len) {
					memcpy(buf + len, s, strlen(s));
					len += strlen(s);
				}
			}
			}
		}
		size_t nrep;
		free(render_checked((const char *)buf, len, &nrep, __LINE__));
		replaced += nrep > 0;
		if (harness_failed != failed_before) {
			printf("  random case %d failed, input: ", n);
			for (size_t i = 0; i < len; i++)
				printf("%02x", buf[i]);
			putchar('\n');
		}
	}
	/* the generator must exercise both paths */
	CHECK(replaced > 2000 && replaced < 8000);
	if (replaced <= 2000 || replaced >= 8000)
		printf("  %d of 10000 random strings had replacements\n", replaced);
}

int main(int argc, char **argv)
{
	random_seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x5eed1234abcdull;
	printf("random seed 0x%llx\n", (unsigned long long)random_seed);
	harness_run_all();
	HARNESS_MAIN_END("test_jsonw");
}
