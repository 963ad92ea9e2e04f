// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The --keep-if conditions and --min-duration values: a recursive-descent
 * parser over the option's text, errors pointing at the token. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "find/keep_expr.h"

/* the numeric part of a duration: digits, an optional fraction */
static const char *scan_number(const char *s, double *v)
{
	const char *p = s;
	double frac = 0.1;

	*v = 0;
	while (isdigit((unsigned char)*p))
		*v = *v * 10 + (*p++ - '0');
	if (*p == '.' && p > s) {
		p++;
		if (!isdigit((unsigned char)*p))
			return s;
		for (; isdigit((unsigned char)*p); frac /= 10)
			*v += (*p++ - '0') * frac;
	}
	return p;
}

/* a duration at s; *end: just past it. -1 when none starts at s */
static int scan_duration(const char *s, uint64_t *ns, const char **end)
{
	static const struct {
		const char *unit;
		double mul;
	} units[] = { { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 } };
	const char *p;
	double v;

	p = scan_number(s, &v);
	if (p == s)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].unit);

		if (strncmp(p, units[i].unit, n) || isalnum((unsigned char)p[n]))
			continue;
		v = round(v * units[i].mul);
		if (v >= 18446744073709551615.0)
			return -1;
		*ns = (uint64_t)v;
		*end = p + n;
		return 0;
	}
	return -1;
}

int keep_parse_duration(const char *s, uint64_t *ns, const char **bad)
{
	const char *end;

	*bad = s;
	if (scan_duration(s, ns, &end))
		return -1;
	*bad = end;
	return *end ? -1 : 0;
}

struct parser {
	struct keep_rule *r;
	const char *p;
	char *err;
	size_t errlen;
	int depth;
};

static void skip_ws(struct parser *ps)
{
	while (isspace((unsigned char)*ps->p))
		ps->p++;
}

/* "expected WHAT at 'REST'": one line, whatever the rest holds */
static int fail(struct parser *ps, const char *what)
{
	char rest[64];
	size_t n = 0;

	for (const char *p = ps->p; *p && n < sizeof(rest) - 4; p++)
		rest[n++] = (unsigned char)*p < ' ' ? '?' : *p;
	if (ps->p[n] && n == sizeof(rest) - 4)
		memcpy(rest + n, "...", 3), n += 3;
	rest[n] = 0;
	if (*ps->p)
		snprintf(ps->err, ps->errlen, "expected %s at '%s'", what, rest);
	else
		snprintf(ps->err, ps->errlen, "expected %s at the end", what);
	return -1;
}

static int new_node(struct parser *ps, enum keep_kind kind)
{
	struct keep_rule *r = ps->r;
	struct keep_node *n = realloc(r->nodes, (size_t)(r->nnodes + 1) * sizeof(*n));

	if (!n) {
		snprintf(ps->err, ps->errlen, "out of memory");
		return -1;
	}
	r->nodes = n;
	memset(&n[r->nnodes], 0, sizeof(*n));
	n[r->nnodes].kind = kind;
	return r->nnodes++;
}

static bool is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* retval | duration | arg.NAME; the word's length, 0 when none */
static size_t word(const char *p)
{
	size_t n = 0;

	while (is_ident(p[n]))
		n++;
	return n;
}

static int parse_operand(struct parser *ps, struct keep_node *n)
{
	size_t len = word(ps->p);

	if (len == 6 && !strncmp(ps->p, "retval", 6)) {
		n->what = KEEP_RETVAL;
		ps->r->needs_retval = true;
	} else if (len == 8 && !strncmp(ps->p, "duration", 8)) {
		n->what = KEEP_DURATION;
	} else if (len == 3 && !strncmp(ps->p, "arg", 3) && ps->p[3] == '.' &&
		   (isalpha((unsigned char)ps->p[4]) || ps->p[4] == '_')) {
		n->what = KEEP_ARG;
		len = 4 + word(ps->p + 4);
		n->arg = strndup(ps->p + 4, len - 4);
		if (!n->arg) {
			snprintf(ps->err, ps->errlen, "out of memory");
			return -1;
		}
		ps->r->needs_args = true;
	} else {
		return fail(ps, "retval, duration or arg.NAME");
	}
	ps->p += len;
	return 0;
}

static int parse_op(struct parser *ps, struct keep_node *n)
{
	static const char *const ops[] = { "==", "!=", "<", "<=", ">", ">=" };
	size_t len = strspn(ps->p, "=!<>");

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (len && strlen(ops[i]) == len && !strncmp(ps->p, ops[i], len)) {
			n->op = (enum keep_op)i;
			ps->p += len;
			return 0;
		}
	return fail(ps, "a comparison");
}

/* [-]decimal | [-]0xhex | NULL, or a duration for duration */
static int parse_value(struct parser *ps, struct keep_node *n)
{
	const char *s = ps->p, *end;
	bool neg = *s == '-';
	unsigned long long u;
	uint64_t ns;

	if (n->what == KEEP_DURATION) {
		if (scan_duration(s, &ns, &end) || is_ident(*end) || *end == '.')
			return fail(ps, "a duration with its unit (ns, us, ms, s)");
		n->v.i = ns;
		ps->p = end;
		return 0;
	}
	if (word(s) == 4 && !strncmp(s, "NULL", 4)) {
		n->v.i = 0;
		ps->p += 4;
		return 0;
	}
	if (neg)
		s++;
	if (!isdigit((unsigned char)*s))
		return fail(ps, "a number or NULL");
	errno = 0;
	u = strtoull(s, (char **)&end, 0);
	if (errno || is_ident(*end) || *end == '.')
		return fail(ps, "a whole number (decimal or 0x hex) or NULL");
	n->v.i = neg ? -(__int128)u : (__int128)u;
	ps->p = end;
	return 0;
}

static int parse_or(struct parser *ps);

static int parse_test(struct parser *ps)
{
	int i, rc;

	skip_ws(ps);
	if (*ps->p == '(') {
		if (++ps->depth > 64)
			return fail(ps, "fewer parentheses");
		ps->p++;
		i = parse_or(ps);
		if (i < 0)
			return -1;
		skip_ws(ps);
		if (*ps->p != ')')
			return fail(ps, "')'");
		ps->p++;
		ps->depth--;
		return i;
	}
	i = new_node(ps, KEEP_TEST);
	if (i < 0)
		return -1;
	rc = parse_operand(ps, &ps->r->nodes[i]);
	skip_ws(ps);
	if (!rc)
		rc = parse_op(ps, &ps->r->nodes[i]);
	skip_ws(ps);
	if (!rc)
		rc = parse_value(ps, &ps->r->nodes[i]);
	return rc ? -1 : i;
}

/* AND and OR: left-associative chains of one operator */
static int parse_chain(struct parser *ps, const char *tok, enum keep_kind kind,
		       int (*sub)(struct parser *))
{
	int l = sub(ps), r, n;

	while (l >= 0) {
		skip_ws(ps);
		if (strncmp(ps->p, tok, 2))
			break;
		ps->p += 2;
		r = sub(ps);
		if (r < 0 || (n = new_node(ps, kind)) < 0)
			return -1;
		ps->r->nodes[n].l = l;
		ps->r->nodes[n].r = r;
		l = n;
	}
	return l;
}

static int parse_and(struct parser *ps)
{
	return parse_chain(ps, "&&", KEEP_AND, parse_test);
}

static int parse_or(struct parser *ps)
{
	return parse_chain(ps, "||", KEEP_OR, parse_and);
}

/* the ':' between FUNC and CONDITION: the first one that is not half of a
 * C++ '::' */
static const char *func_end(const char *s)
{
	for (const char *p = s; (p = strchr(p, ':')); p++) {
		if (p[1] == ':') {
			p++;
			continue;
		}
		return p;
	}
	return NULL;
}

int keep_rule_parse(struct keep_rule *r, const char *text, char *err, size_t errlen)
{
	struct parser ps = { .r = r, .err = err, .errlen = errlen };
	const char *colon = func_end(text), *b = text, *e;

	memset(r, 0, sizeof(*r));
	r->text = text;
	if (!colon) {
		snprintf(err, errlen, "expected 'FUNC: CONDITION', e.g. 'read_file: retval < 0'");
		return -1;
	}
	for (e = colon; e > b && isspace((unsigned char)e[-1]); e--)
		;
	while (b < e && isspace((unsigned char)*b))
		b++;
	if (b == e) {
		snprintf(err, errlen, "expected a function name before ':'");
		return -1;
	}
	r->func = strndup(b, (size_t)(e - b));
	ps.p = colon + 1;
	if (!r->func || (r->root = parse_or(&ps)) < 0)
		goto fail;
	skip_ws(&ps);
	if (*ps.p) {
		fail(&ps, "&&, || or the end");
		goto fail;
	}
	return 0;
fail:
	if (!r->func)
		snprintf(err, errlen, "out of memory");
	keep_rule_free(r);
	return -1;
}

void keep_rule_free(struct keep_rule *r)
{
	for (int i = 0; i < r->nnodes; i++)
		free(r->nodes[i].arg);
	free(r->nodes);
	free(r->func);
	memset(r, 0, sizeof(*r));
}

bool keep_compare(const struct keep_val *v, enum keep_op op, const struct keep_val *w)
{
	int c;

	if (v->is_float || w->is_float) {
		double a = v->is_float ? v->d : (double)v->i, b = w->is_float ? w->d : (double)w->i;

		if (isnan(a) || isnan(b))
			return op == KEEP_NE;
		c = a < b ? -1 : a > b;
	} else {
		c = v->i < w->i ? -1 : v->i > w->i;
	}
	switch (op) {
	case KEEP_EQ: return c == 0;
	case KEEP_NE: return c != 0;
	case KEEP_LT: return c < 0;
	case KEEP_LE: return c <= 0;
	case KEEP_GT: return c > 0;
	case KEEP_GE: return c >= 0;
	}
	return false;
}

/* Kleene's three-valued logic: an unreadable operand matters only when the
 * other side does not decide */
static int eval(const struct keep_rule *r, int i, keep_lookup_fn lookup, void *ctx)
{
	const struct keep_node *n = &r->nodes[i];
	struct keep_val v;
	int a, b;

	if (n->kind == KEEP_TEST)
		return lookup(ctx, n, &v) ? -1 : keep_compare(&v, n->op, &n->v);
	a = eval(r, n->l, lookup, ctx);
	if (n->kind == KEEP_AND ? a == 0 : a == 1)
		return a;
	b = eval(r, n->r, lookup, ctx);
	if (n->kind == KEEP_AND ? b == 0 : b == 1)
		return b;
	return a < 0 || b < 0 ? -1 : a;
}

int keep_rule_eval(const struct keep_rule *r, keep_lookup_fn lookup, void *ctx)
{
	return r->nnodes ? eval(r, r->root, lookup, ctx) : -1;
}
