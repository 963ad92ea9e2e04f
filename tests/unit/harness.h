/* A tiny header-only unit-test harness: checks count and report, never abort,
 * so one run shows every failure. End main() with HARNESS_MAIN_END("name"). */
#ifndef CTRACE_HARNESS_H
#define CTRACE_HARNESS_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_passed __attribute__((unused));
static int harness_failed __attribute__((unused));

/* strings under test may hold any byte: print them C-escaped so failures stay readable */
static inline void harness_print_str(const char *s)
{
	if (!s) {
		fputs("NULL", stdout);
		return;
	}
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		printf(*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\' ? "\\x%02x" : "%c", *p);
	putchar('"');
}

#define HARNESS_RESULT(ok, ...) do { \
	if (ok) { harness_passed++; break; } \
	harness_failed++; \
	printf("%s:%d: ", __FILE__, __LINE__); \
	__VA_ARGS__; \
	putchar('\n'); \
} while (0)

#define CHECK(cond) HARNESS_RESULT((cond), printf("CHECK(%s) failed", #cond))

#define CHECK_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	HARNESS_RESULT(a_ && b_ ? !strcmp(a_, b_) : a_ == b_, \
		printf("CHECK_STR(%s, %s): ", #a, #b); harness_print_str(a_); \
		fputs(" != ", stdout); harness_print_str(b_)); \
} while (0)

#define CHECK_INT(a, b) do { \
	long long a_ = (long long)(a), b_ = (long long)(b); \
	HARNESS_RESULT(a_ == b_, printf("CHECK_INT(%s, %s): %lld != %lld", #a, #b, a_, b_)); \
} while (0)

/* a shell command (building test programs): true when it succeeded; the
 * command is printed when it did not */
static inline bool run(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static inline bool run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st != 0)
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
	return st == 0;
}

/* the one final line; exit status 1 when anything failed */
#define HARNESS_MAIN_END(name) do { \
	printf("%s: %d passed, %d failed\n", (name), harness_passed, harness_failed); \
	return harness_failed > 0; \
} while (0)

#endif
