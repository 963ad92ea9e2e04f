/* A tiny header-only unit-test harness: checks count and report, never abort,
 * so one run shows every failure.
 *
 * A case is one function, written as TEST(name) { ... CHECK(...); ... }: it
 * registers itself, nothing else names it. harness_run_all() runs the cases
 * in the order they stand in the file (HARNESS_CASE=name in the environment:
 * only that one). A file whose cases need no setup ends with
 * HARNESS_MAIN("name"); one that needs setup (a scratch directory, a shared
 * fixture) writes its main(): setup, harness_run_all(), teardown, and
 * HARNESS_MAIN_END("name"). tests/README.md has more. */
#ifndef CTRACE_HARNESS_H
#define CTRACE_HARNESS_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_passed __attribute__((unused));
static int harness_failed __attribute__((unused));

/* the registry: a list kept in line order, filled by TEST's constructors
 * before main() (their own order is the linker's, not the file's) */
struct harness_case {
	const char *name;
	void (*fn)(void);
	int line;
	struct harness_case *next;
};
static struct harness_case *harness_cases;

static inline void harness_add(struct harness_case *c)
{
	struct harness_case **p = &harness_cases;

	while (*p && (*p)->line < c->line)
		p = &(*p)->next;
	c->next = *p;
	*p = c;
}

#define TEST(name)                                                                 \
	static void name(void);                                                    \
	static struct harness_case name##_case_ = { #name, name, __LINE__, NULL }; \
	__attribute__((constructor)) static void name##_register_(void)            \
	{                                                                          \
		harness_add(&name##_case_);                                        \
	}                                                                          \
	static void name(void)

/* every registered case (or HARNESS_CASE's alone); a case that failed
 * checks is named after its failures */
static inline void harness_run_all(void)
{
	const char *only = getenv("HARNESS_CASE");

	for (struct harness_case *c = harness_cases; c; c = c->next) {
		int failed = harness_failed;

		if (only && *only && strcmp(only, c->name))
			continue;
		c->fn();
		if (harness_failed > failed)
			printf("  in %s: %d failed\n", c->name, harness_failed - failed);
	}
}

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

#define HARNESS_RESULT(ok, ...)                        \
	do {                                           \
		if (ok) {                              \
			harness_passed++;              \
			break;                         \
		}                                      \
		harness_failed++;                      \
		printf("%s:%d: ", __FILE__, __LINE__); \
		__VA_ARGS__;                           \
		putchar('\n');                         \
	} while (0)

#define CHECK(cond) HARNESS_RESULT((cond), printf("CHECK(%s) failed", #cond))

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *a_ = (a), *b_ = (b);                             \
		HARNESS_RESULT(a_ &&b_ ? !strcmp(a_, b_) : a_ == b_,         \
			       printf("CHECK_STR(%s, %s): ", #a, #b);        \
			       harness_print_str(a_); fputs(" != ", stdout); \
			       harness_print_str(b_));                       \
	} while (0)

#define CHECK_INT(a, b)                                                                    \
	do {                                                                               \
		long long a_ = (long long)(a), b_ = (long long)(b);                        \
		HARNESS_RESULT(a_ == b_,                                                   \
			       printf("CHECK_INT(%s, %s): %lld != %lld", #a, #b, a_, b_)); \
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

/* A scratch directory for the files a test writes: harness_tmp_make("test_x")
 * makes $TMPDIR/test_x.XXXXXX (under /tmp without TMPDIR), path_in_tmp(name)
 * names a file in it (the last eight names stay valid), and
 * harness_tmp_remove() deletes it unless a check failed. */
static char harness_tmp[256] __attribute__((unused));

static inline bool harness_tmp_make(const char *prefix)
{
	const char *td = getenv("TMPDIR");

	snprintf(harness_tmp, sizeof(harness_tmp), "%s/%s.XXXXXX", td && *td ? td : "/tmp", prefix);
	if (mkdtemp(harness_tmp))
		return true;
	perror("mkdtemp");
	return false;
}

static inline char *path_in_tmp(const char *name)
{
	static char buf[8][512];
	static int i;
	char *p = buf[i++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", harness_tmp, name);
	return p;
}

/* path holds exactly len bytes of s; a test cannot go on without it */
static inline void harness_write_file(const char *path, const char *s, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(s, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(2);
	}
}

/* a file's whole text, NUL-terminated (free it); NULL when it cannot be read */
static inline char *harness_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[65536];
	FILE *m;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

static inline void harness_tmp_remove(void)
{
	if (harness_failed == 0)
		run("rm -rf '%s'", harness_tmp);
	else
		printf("  files kept in %s\n", harness_tmp);
}

/* the one final line; exit status 1 when anything failed */
#define HARNESS_MAIN_END(name)                                                                \
	do {                                                                                  \
		printf("%s: %d passed, %d failed\n", (name), harness_passed, harness_failed); \
		return harness_failed > 0;                                                    \
	} while (0)

/* the whole main() of a file whose cases need no setup */
#define HARNESS_MAIN(name)              \
	int main(void)                  \
	{                               \
		harness_run_all();      \
		HARNESS_MAIN_END(name); \
	}

#endif
