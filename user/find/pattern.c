/* -F/-N/--filter-file: glob and /regex/ function filters (semantics in pattern.h). */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "find/pattern.h"

struct pattern {
	bool exclude;
	bool is_regex;
	char *glob; /* when !is_regex */
	regex_t re; /* when is_regex */
	char *src;  /* as given: a compact trace keeps --capture's (filter_pattern) */
};

struct filter {
	struct pattern *pats;
	size_t n, cap;
	size_t nincl, nexcl;
};

struct filter *filter_new(void)
{
	return calloc(1, sizeof(struct filter));
}

void filter_free(struct filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		if (f->pats[i].is_regex)
			regfree(&f->pats[i].re);
		else
			free(f->pats[i].glob);
		free(f->pats[i].src);
	}
	free(f->pats);
	free(f);
}

int filter_add(struct filter *f, const char *pattern, bool exclude, char *err, size_t errlen)
{
	size_t len = strlen(pattern);
	struct pattern p = { .exclude = exclude };

	if (!len) {
		snprintf(err, errlen, "empty pattern");
		return -1;
	}
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 8;
		struct pattern *np = realloc(f->pats, ncap * sizeof(*np));
		if (!np) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		f->pats = np;
		f->cap = ncap;
	}
	if (pattern[0] == '/') {
		if (len < 2 || pattern[len - 1] != '/') {
			snprintf(err, errlen, "regex has no closing '/'");
			return -1;
		}
		if (len == 2) {
			snprintf(err, errlen, "empty regex");
			return -1;
		}
		char *body = strndup(pattern + 1, len - 2);
		if (!body) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		int rc = regcomp(&p.re, body, REG_EXTENDED | REG_NOSUB);
		free(body);
		if (rc) {
			char msg[128];
			regerror(rc, &p.re, msg, sizeof(msg));
			snprintf(err, errlen, "bad regex: %s", msg);
			return -1;
		}
		p.is_regex = true;
	} else {
		p.glob = strdup(pattern);
		if (!p.glob) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (!(p.src = strdup(pattern))) {
		if (p.is_regex)
			regfree(&p.re);
		free(p.glob);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	f->pats[f->n++] = p;
	if (exclude)
		f->nexcl++;
	else
		f->nincl++;
	return 0;
}

const char *filter_pattern(const struct filter *f, size_t i, bool *exclude)
{
	if (i >= f->n)
		return NULL;
	*exclude = f->pats[i].exclude;
	return f->pats[i].src;
}

int filter_add_file(struct filter *f, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, reason[256];
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int ret = 0;

	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		char *s = line, *e = line + n;
		bool exclude = false;

		lineno++;
		if (memchr(line, '\0', n)) {
			snprintf(err, errlen, "%s:%zu: NUL byte in line", path, lineno);
			ret = -1;
			break;
		}
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		*e = '\0';
		if (s == e || *s == '#')
			continue;
		if (*s == '!') {
			exclude = true;
			for (s++; isspace((unsigned char)*s); s++)
				;
		}
		if (filter_add(f, s, exclude, reason, sizeof(reason))) {
			snprintf(err, errlen, "%s:%zu: %s", path, lineno, reason);
			ret = -1;
			break;
		}
	}
	if (!ret && ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		ret = -1;
	}
	free(line);
	fclose(fp);
	return ret;
}

/* "ns::Foo::bar(int) const [clone .isra.0]" → "ns::Foo::bar" into out (room for
 * strlen(dm)+1); false when there is no parameter list (a C name, "vtable for X"). */
static bool demangled_base(const char *dm, char *out)
{
	size_t end = strlen(dm);
	int depth = 0;

	for (;;) {
		while (end && dm[end - 1] == ' ')
			end--;
		if (!end || dm[end - 1] != ']')
			break;
		/* set a trailing [clone .constprop.0] aside */
		while (end && dm[end - 1] != '[')
			end--;
		if (!end)
			return false;
		end--;
	}
	/* trailing qualifiers: const, volatile, &, &&, noexcept ... */
	while (end && (isalpha((unsigned char)dm[end - 1]) || dm[end - 1] == '_' ||
		       dm[end - 1] == ' ' || dm[end - 1] == '&'))
		end--;
	if (!end || dm[end - 1] != ')')
		return false;
	do {
		end--;
		if (dm[end] == ')')
			depth++;
		else if (dm[end] == '(')
			depth--;
	} while (depth && end);
	if (depth)
		return false;
	while (end && dm[end - 1] == ' ')
		end--;
	/* copy, leaving out [abi:...] tags: they are ABI detail, not part of the name users type */
	size_t o = 0;
	for (size_t i = 0; i < end; i++) {
		if (dm[i] == '[' && !strncmp(dm + i, "[abi:", 5)) {
			const char *close = memchr(dm + i, ']', end - i);
			if (close) {
				i = (size_t)(close - dm);
				continue;
			}
		}
		out[o++] = dm[i];
	}
	out[o] = '\0';
	return o > 0;
}

static bool pattern_matches(const struct pattern *p, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p->is_regex ? !regexec(&p->re, names[i], 0, NULL, 0) :
				  !fnmatch(p->glob, names[i], 0))
			return true;
	}
	return false;
}

bool filter_allows(const struct filter *f, const char *raw, const char *demangled)
{
	const char *names[4];
	size_t n = 0, rlen = raw ? strlen(raw) : 0, dlen = demangled ? strlen(demangled) : 0;
	char stackbuf[512], *buf = stackbuf;
	bool included = f->nincl == 0, excluded = false;

	if (!f->n)
		return true;
	/* derived names need a copy; on out-of-memory only raw and demangled are tried */
	if (rlen + dlen + 2 > sizeof(stackbuf))
		buf = malloc(rlen + dlen + 2);
	if (raw)
		names[n++] = raw;
	if (demangled && (!raw || strcmp(raw, demangled)))
		names[n++] = demangled;
	if (buf) {
		const char *dot = raw ? strchr(raw, '.') : NULL;
		if (dot && dot != raw) {
			memcpy(buf, raw, (size_t)(dot - raw));
			buf[dot - raw] = '\0';
			names[n++] = buf;
		}
		if (demangled && demangled_base(demangled, buf + rlen + 1))
			names[n++] = buf + rlen + 1;
	}
	for (size_t i = 0; i < f->n && !excluded; i++) {
		const struct pattern *p = &f->pats[i];
		if (p->exclude)
			excluded = pattern_matches(p, names, n);
		else if (!included)
			included = pattern_matches(p, names, n);
	}
	if (buf != stackbuf)
		free(buf);
	return included && !excluded;
}

bool filter_is_empty(const struct filter *f)
{
	return f->n == 0;
}

size_t filter_count(const struct filter *f, bool exclude)
{
	return exclude ? f->nexcl : f->nincl;
}
