/* Unit tests for user/find/pattern.c: -F/-N/--filter-file semantics. */
#include <regex.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "find/pattern.h"

/* a filter from "+pat" (include) / "-pat" (exclude) strings; NULL-terminated */
static struct filter *mk(const char *const *pats)
{
	struct filter *f = filter_new();
	char err[256];

	for (; *pats; pats++) {
		int rc = filter_add(f, *pats + 1, **pats == '-', err, sizeof(err));
		CHECK_INT(rc, 0);
		if (rc)
			printf("  pattern %s: %s\n", *pats, err);
	}
	return f;
}

#define FILTER(...)	   mk((const char *const[]){ __VA_ARGS__, NULL })
#define ALLOWS(f, raw, dm) CHECK(filter_allows((f), (raw), (dm)))
#define DENIES(f, raw, dm) CHECK(!filter_allows((f), (raw), (dm)))

TEST(test_empty)
{
	struct filter *f = filter_new();

	CHECK(filter_is_empty(f));
	CHECK_INT(filter_count(f, false), 0);
	CHECK_INT(filter_count(f, true), 0);
	ALLOWS(f, "main", "main");
	ALLOWS(f, NULL, NULL);
	filter_free(f);
	filter_free(NULL);
}

TEST(test_glob)
{
	struct filter *f = FILTER("+leaf_*", "+m?in", "+[xy]z");

	CHECK(!filter_is_empty(f));
	CHECK_INT(filter_count(f, false), 3);
	CHECK_INT(filter_count(f, true), 0);
	ALLOWS(f, "leaf_add", "leaf_add");
	ALLOWS(f, "leaf_", NULL);
	ALLOWS(f, "main", "main");
	ALLOWS(f, "yz", NULL);
	DENIES(f, "zz", NULL);
	DENIES(f, "leaf", "leaf"); /* a glob matches the whole name */
	DENIES(f, "my_leaf_add", NULL);
	DENIES(f, "maain", NULL);
	filter_free(f);

	/* no FNM_PATHNAME: '*' crosses '::' and '/' */
	f = FILTER("+a*z", "+x\\*y");
	ALLOWS(f, "a::b/c::z", NULL);
	ALLOWS(f, "x*y", NULL); /* backslash escapes */
	DENIES(f, "xqy", NULL);
	filter_free(f);
}

TEST(test_regex)
{
	struct filter *f = FILTER("+/add/");

	ALLOWS(f, "leaf_add", NULL); /* unanchored */
	ALLOWS(f, "adder", NULL);
	DENIES(f, "main", NULL);
	filter_free(f);

	f = FILTER("+/^leaf_(add|sub)$/", "+/^ma+in$/");
	ALLOWS(f, "leaf_add", NULL);
	ALLOWS(f, "leaf_sub", NULL);
	ALLOWS(f, "maaain", NULL);
	DENIES(f, "leaf_add2", NULL);
	DENIES(f, "my_leaf_add", NULL);
	DENIES(f, "min", NULL);
	filter_free(f);

	/* '/' inside a regex is fine; only the outer pair delimits it */
	f = FILTER("+/operator\\/|a/b/");
	ALLOWS(f, "operator/", NULL);
	ALLOWS(f, "xa/by", NULL);
	DENIES(f, "operator*", NULL);
	filter_free(f);
}

TEST(test_include_exclude)
{
	/* the patterns, how many include and exclude, the names they trace and
	 * those they do not */
	static const struct {
		const char *pats[4];
		int includes, excludes;
		const char *allow[3], *deny[4];
	} cases[] = {
		/* main: includes exist and none matches */
		{ { "+leaf_*", "-leaf_sub", "-/^leaf_m/" },
		  1,
		  2,
		  { "leaf_add" },
		  { "leaf_sub", "leaf_mul", "main" } },
		/* only excludes: everything else is traced */
		{ { "-main", "-/^_/" }, 0, 2, { "leaf_add" }, { "main", "_start" } },
		/* exclude wins, whatever the order */
		{ { "-main", "+main" }, 1, 1, { NULL }, { "main" } },
		/* several includes: any one is enough */
		{ { "+a", "+b" }, 2, 0, { "a", "b" }, { "c" } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct filter *f = mk(cases[i].pats);

		CHECK_INT(filter_count(f, false), cases[i].includes);
		CHECK_INT(filter_count(f, true), cases[i].excludes);
		for (const char *const *n = cases[i].allow; *n; n++) /* the arrays end in NULL */
			HARNESS_RESULT(filter_allows(f, *n, NULL),
				       printf("%s: %s denied", cases[i].pats[0], *n));
		for (const char *const *n = cases[i].deny; *n; n++)
			HARNESS_RESULT(!filter_allows(f, *n, NULL),
				       printf("%s: %s allowed", cases[i].pats[0], *n));
		filter_free(f);
	}
}

TEST(test_cxx)
{
	const char *raw = "_ZNK2ns3Foo3barEi", *dm = "ns::Foo::bar(int) const";
	struct filter *f;

	f = FILTER("+ns::Foo::*");
	ALLOWS(f, raw, dm);
	DENIES(f, "_ZN2ns3Baz3barEv", "ns::Baz::bar()");
	filter_free(f);

	/* one pattern each: does it select raw/dm? */
	static const struct {
		const char *pat;
		bool allows;
	} one[] = {
		{ "+ns::Foo::bar", true },	      /* the base: parameters and const set aside */
		{ "+ns::Foo::bar(int) const", true }, /* the full demangled name */
		{ "+ns::Foo::bar(int)", false },      /* neither the full name nor the base */
		{ "+bar", false },		      /* a glob matches whole names only */
		{ "+/bar/", true },
		{ "+_ZNK2ns3Foo*", true }, /* the raw symbol */
		{ "+*(int)*", true },
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		f = FILTER(one[i].pat);
		HARNESS_RESULT(
			filter_allows(f, raw, dm) == one[i].allows,
			printf("%s %s %s", one[i].pat, one[i].allows ? "denies" : "allows", dm));
		filter_free(f);
	}

	f = FILTER("+/^ns::Foo::bar$/"); /* anchored on the base */
	ALLOWS(f, raw, dm);
	DENIES(f, "_ZN2ns3Foo4barxEv", "ns::Foo::barx()");
	filter_free(f);

	/* parentheses that belong to the name stay in the base */
	f = FILTER("+Foo::operator()", "+main::{lambda(int)#1}::operator()",
		   "+std::function<void (int)>::operator()", "+Foo::operator int");
	ALLOWS(f, "_ZN3FooclEi", "Foo::operator()(int)");
	ALLOWS(f, "_ZN3FooclEv", "Foo::operator()() const &");
	ALLOWS(f, "_ZZ4mainENKUliE_clEi", "main::{lambda(int)#1}::operator()(int) const");
	ALLOWS(f, "x", "std::function<void (int)>::operator()(int) const");
	ALLOWS(f, "_ZNK3FoocviEv", "Foo::operator int() const");
	filter_free(f);

	/* GCC clones: the suffix is set aside in both the raw and the demangled name */
	f = FILTER("+foo", "+helper");
	ALLOWS(f, "_Z3fooi.constprop.0", "foo(int) [clone .constprop.0]");
	ALLOWS(f, "_Z3fooi.isra.0", "foo(int) [clone .isra.0] [clone .cold]");
	ALLOWS(f, "helper.constprop.0", "helper.constprop.0");
	ALLOWS(f, "helper.part.0", NULL);
	DENIES(f, ".helper", NULL);
	filter_free(f);

	/* ABI tags are left out of the base; template functions keep their return type */
	f = FILTER("+make_name", "+int add<int>");
	ALLOWS(f, "_Z9make_nameB5cxx11i", "make_name[abi:cxx11](int)");
	ALLOWS(f, "_Z3addIiET_S0_S0_", "int add<int>(int, int)");
	filter_free(f);
	f = FILTER("+add<*");
	DENIES(f, "_Z3addIiET_S0_S0_", "int add<int>(int, int)");
	filter_free(f);

	/* names with no parameter list have no base */
	f = FILTER("+Foo");
	DENIES(f, "_ZTV3Foo", "vtable for Foo");
	DENIES(f, "x", "Foo)");
	DENIES(f, "x", ")(");
	DENIES(f, "x", "Foo [clone");
	filter_free(f);

	/* excludes see the demangled name too */
	f = FILTER("-std::*");
	DENIES(f, "_ZNSt6vectorIiSaIiEE9push_backERKi",
	       "std::vector<int, std::allocator<int> >::push_back(int const&)");
	ALLOWS(f, "main", "main");
	filter_free(f);

	/* a name longer than the on-stack buffer */
	char big[2048];
	snprintf(big, sizeof(big), "ns::%0*d::f(int)", 1500, 7);
	f = FILTER("+ns::*::f");
	ALLOWS(f, "_Zbig", big);
	filter_free(f);
}

TEST(test_raw_vs_demangled)
{
	struct filter *f = FILTER("+leaf_add");

	ALLOWS(f, "leaf_add", NULL);
	ALLOWS(f, NULL, "leaf_add");
	ALLOWS(f, "_Z8leaf_addii", "leaf_add(int, int)");
	DENIES(f, NULL, NULL); /* nothing known cannot match an include */
	filter_free(f);

	f = FILTER("-leaf_add");
	ALLOWS(f, NULL, NULL); /* ... and is not excluded either */
	DENIES(f, "_Z8leaf_addii", "leaf_add(int, int)");
	filter_free(f);
}

TEST(test_bad_patterns)
{
	struct filter *f = filter_new();
	char err[256], msg[128], want[200];
	regex_t re;

	err[0] = '\0';
	CHECK_INT(filter_add(f, "", false, err, sizeof(err)), -1);
	CHECK_STR(err, "empty pattern");
	CHECK_INT(filter_add(f, "/", false, err, sizeof(err)), -1);
	CHECK_STR(err, "regex has no closing '/'");
	CHECK_INT(filter_add(f, "/abc", true, err, sizeof(err)), -1);
	CHECK_STR(err, "regex has no closing '/'");
	CHECK_INT(filter_add(f, "//", false, err, sizeof(err)), -1);
	CHECK_STR(err, "empty regex");

	/* the reason is regerror's own text */
	int rc = regcomp(&re, "a(", REG_EXTENDED | REG_NOSUB);
	CHECK(rc != 0);
	regerror(rc, &re, msg, sizeof(msg));
	snprintf(want, sizeof(want), "bad regex: %s", msg);
	CHECK_INT(filter_add(f, "/a(/", false, err, sizeof(err)), -1);
	CHECK_STR(err, want);
	CHECK_INT(filter_add(f, "/[z-a]/", true, err, sizeof(err)), -1);
	CHECK(!strncmp(err, "bad regex: ", 11) && strlen(err) > 11);

	/* a short err buffer truncates, never overflows */
	char tiny[6];
	CHECK_INT(filter_add(f, "", false, tiny, sizeof(tiny)), -1);
	CHECK_STR(tiny, "empty");

	/* failed adds leave the filter as it was */
	CHECK(filter_is_empty(f));
	CHECK_INT(filter_count(f, false), 0);
	CHECK_INT(filter_count(f, true), 0);
	filter_free(f);

	/* many patterns: the table grows */
	f = filter_new();
	for (int i = 0; i < 100; i++) {
		char p[16];
		snprintf(p, sizeof(p), "f%d", i);
		CHECK_INT(filter_add(f, p, i % 2, err, sizeof(err)), 0);
	}
	CHECK_INT(filter_count(f, false), 50);
	CHECK_INT(filter_count(f, true), 50);
	ALLOWS(f, "f98", NULL);
	DENIES(f, "f99", NULL);
	DENIES(f, "f100", NULL);
	filter_free(f);
}

/* writes text to a fresh temp file; the caller unlinks path */
static void write_tmp(char *path, const char *text)
{
	strcpy(path, "/tmp/ctrace-test-filter-XXXXXX");
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(write(fd, text, strlen(text)), strlen(text));
	close(fd);
}

TEST(test_filter_file)
{
	char path[64], err[512], want[600];
	struct filter *f = filter_new();

	write_tmp(path, "# functions to trace\n"
			"\n"
			"   \t\n"
			"  leaf_*  \n"
			"!leaf_sub\n"
			"! \t/^leaf_m/\r\n"
			"\t# an indented comment\n"
			"/^ns::/\r\n"
			"{lambda#1}"); /* no final newline; '#' inside a pattern is literal */
	CHECK_INT(filter_add_file(f, path, err, sizeof(err)), 0);
	CHECK_INT(filter_count(f, false), 3);
	CHECK_INT(filter_count(f, true), 2);
	ALLOWS(f, "leaf_add", NULL);
	DENIES(f, "leaf_sub", NULL);
	DENIES(f, "leaf_mul", NULL);
	ALLOWS(f, "x", "ns::f(int)");
	ALLOWS(f, "{lambda#1}", NULL);
	DENIES(f, "main", NULL);
	unlink(path);

	/* a second file adds to the same filter */
	write_tmp(path, "main\n");
	CHECK_INT(filter_add_file(f, path, err, sizeof(err)), 0);
	ALLOWS(f, "main", NULL);
	CHECK_INT(filter_count(f, false), 4);
	unlink(path);
	filter_free(f);

	/* an empty file (or only comments) adds nothing */
	f = filter_new();
	write_tmp(path, "# nothing\n\n");
	CHECK_INT(filter_add_file(f, path, err, sizeof(err)), 0);
	CHECK(filter_is_empty(f));
	unlink(path);

	/* errors name FILE:LINE */
	write_tmp(path, "# ok\nmain\n/a(/\nleaf\n");
	CHECK_INT(filter_add_file(f, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: bad regex: ", path);
	CHECK(!strncmp(err, want, strlen(want)));
	if (strncmp(err, want, strlen(want)))
		printf("  got: %s\n", err);
	unlink(path);

	write_tmp(path, "main\n  !  \n");
	CHECK_INT(filter_add_file(f, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: empty pattern", path);
	CHECK_STR(err, want);
	unlink(path);

	write_tmp(path, "\n\n\n/unterminated\n");
	CHECK_INT(filter_add_file(f, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:4: regex has no closing '/'", path);
	CHECK_STR(err, want);
	unlink(path);

	strcpy(path, "/tmp/ctrace-test-filter-nul");
	FILE *fp = fopen(path, "w");
	CHECK(fp != NULL);
	if (fp) {
		fwrite("a\nb\0c\n", 1, 6, fp);
		fclose(fp);
		CHECK_INT(filter_add_file(f, path, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
		CHECK_STR(err, want);
		unlink(path);
	}

	CHECK_INT(filter_add_file(f, "/nonexistent/ctrace-filters", err, sizeof(err)), -1);
	CHECK_STR(err, "/nonexistent/ctrace-filters: No such file or directory");
	filter_free(f);
}

HARNESS_MAIN("test_pattern")
