#include <errno.h>
#include <limits.h>
/* Typed values as JSON (see value_fmt.h). Every byte comes from the target and
 * every type from its debug info: all reads are bounded by the captured length,
 * all walks by depth limits, so bad input gives nulls, never a crash. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctrace_plan.h"
#include "write/jsonw.h"
#include "write/value_fmt.h"

#define STRIP_MAX   64 /* typedef/qualifier chain: longer means a cycle */
#define SPELL_DEPTH 32 /* declarator nesting spelled before giving up */

const struct vtype *vtype_strip(const struct vtype *t)
{
	for (int i = 0; t && i < STRIP_MAX; i++) {
		if (t->kind != VT_TYPEDEF && t->kind != VT_QUAL)
			return t;
		t = t->target;
	}
	return NULL;
}

/* ---- spelling ---- */

/* err is the capture's -errno, read from the record: any int */
static const char *read_error_text(int err)
{
	return strerror(err == INT_MIN ? EIO : err < 0 ? -err : err);
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* "const", "const volatile", ...: written into buf */
static const char *quals_str(uint8_t q, bool cxx, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", q & VTQ_CONST ? " const" : "",
		 q & VTQ_VOLATILE ? " volatile" : "",
		 q & VTQ_RESTRICT ? (cxx ? " __restrict" : " restrict") : "",
		 q & VTQ_ATOMIC ? " _Atomic" : "");
	return buf[0] ? buf + 1 : buf;
}

static char *spell(const struct vtype *t, const char *decl, int depth);

/* a specifier with the declarator after it: "int", "int *", "struct p [4]" */
static char *with_decl(const char *spec, const char *decl)
{
	return *decl ? dupf("%s %s", spec, decl) : strdup(spec);
}

static char *spell_params(const struct vtype *t, int depth)
{
	char *s = strdup("");
	for (uint32_t i = 0; s && i < t->count && t->params; i++) {
		char *p = spell(t->params[i], "", depth + 1);
		char *n = p ? dupf("%s%s%s", s, i ? ", " : "", p) : NULL;
		free(p);
		free(s);
		s = n;
	}
	if (s && t->varargs) {
		char *n = dupf("%s%s...", s, t->count ? ", " : "");
		free(s);
		s = n;
	}
	if (s && !*s && t->prototyped && !t->cxx) {
		free(s);
		s = strdup("void");
	}
	return s;
}

static char *spell(const struct vtype *t, const char *decl, int depth)
{
	char *nd = NULL, *r = NULL, *tmp = NULL;
	const char *kw;

	if (depth > SPELL_DEPTH)
		return with_decl("?", decl);
	if (!t)
		return with_decl("void", decl);
	switch (t->kind) {
	case VT_QUAL: {
		char qbuf[48];
		const char *q = quals_str(t->quals, t->cxx, qbuf, sizeof(qbuf));
		enum vt_kind tk = t->target ? t->target->kind : VT_VOID;
		if (tk == VT_POINTER || tk == VT_REF || tk == VT_RVREF) {
			/* a qualified pointer: "char *const" */
			nd = *decl ? dupf("%s %s", q, decl) : strdup(q);
			r = nd ? spell(t->target, nd, depth + 1) : NULL;
		} else {
			tmp = spell(t->target, decl, depth + 1);
			r = tmp ? (*q ? dupf("%s %s", q, tmp) : strdup(tmp)) : NULL;
		}
		break;
	}
	case VT_POINTER:
	case VT_REF:
	case VT_RVREF: {
		const char *op = t->kind == VT_POINTER ? "*" : t->kind == VT_REF ? "&" : "&&";
		enum vt_kind tk = t->target ? t->target->kind : VT_VOID;
		if (tk == VT_ARRAY || tk == VT_FUNC)
			nd = dupf("(%s%s)", op, decl);
		else
			nd = dupf("%s%s", op, decl);
		r = nd ? spell(t->target, nd, depth + 1) : NULL;
		break;
	}
	case VT_ARRAY:
		nd = t->count ? dupf("%s[%u]", decl, t->count) : dupf("%s[]", decl);
		r = nd ? spell(t->target, nd, depth + 1) : NULL;
		break;
	case VT_FUNC:
		tmp = spell_params(t, depth);
		nd = tmp ? dupf("%s(%s)", decl, tmp) : NULL;
		r = nd ? spell(t->target, nd, depth + 1) : NULL;
		break;
	case VT_STRUCT:
	case VT_UNION:
	case VT_ENUM:
		kw = t->kind == VT_UNION ? "union" :
		     t->kind == VT_ENUM	 ? "enum" :
		     t->is_class	 ? "class" :
					   "struct";
		if (t->cxx)
			tmp = t->name ? strdup(t->name) : dupf("%s {...}", kw);
		else
			tmp = dupf("%s %s", kw, t->name ? t->name : "{...}");
		r = tmp ? with_decl(tmp, decl) : NULL;
		break;
	case VT_VOID: r = with_decl("void", decl); break;
	case VT_NULLPTR: r = with_decl(t->name ? t->name : "decltype(nullptr)", decl); break;
	default: r = with_decl(t->name ? t->name : "?", decl); break;
	}
	free(nd);
	free(tmp);
	return r;
}

char *vtype_spell(const struct vtype *t)
{
	return spell(t, "", 0);
}

/* ---- what to capture ---- */

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* The follow action for a stripped type, and what it points to. */
static int follow_of(const struct vtype *s, const struct vtype **pointee)
{
	const struct vtype *p;

	*pointee = NULL;
	if (!s || s->size != 8)
		return CTRACE_FOLLOW_NONE;
	p = vtype_strip(s->target);
	*pointee = p;
	if (!p || p->size == 0)
		return CTRACE_FOLLOW_NONE;
	if (s->kind == VT_POINTER) {
		if (p->kind == VT_CHAR && p->size == 1)
			return CTRACE_FOLLOW_STRING;
		if (p->kind == VT_STRUCT || p->kind == VT_UNION)
			return CTRACE_FOLLOW_DEREF;
	} else if (s->kind == VT_REF || s->kind == VT_RVREF) {
		if (p->kind != VT_FUNC && p->kind != VT_VOID && p->kind != VT_UNKNOWN)
			return CTRACE_FOLLOW_DEREF;
	}
	return CTRACE_FOLLOW_NONE;
}

void vtype_capture_spec(const struct vtype *t, uint32_t str_max, uint32_t deref_max,
			struct vcap_spec *out)
{
	const struct vtype *s = vtype_strip(t), *p;

	memset(out, 0, sizeof(*out));
	if (!s || s->size == 0 || s->kind == VT_VOID || s->kind == VT_FUNC || s->kind == VT_UNKNOWN)
		return;
	out->size = min32(s->size, CTRACE_VALUE_MAX);
	out->cut = s->size > CTRACE_VALUE_MAX;
	switch (follow_of(s, &p)) {
	case CTRACE_FOLLOW_STRING:
		out->follow_size = (uint16_t)min32(str_max, CTRACE_FOLLOW_MAX);
		break;
	case CTRACE_FOLLOW_DEREF:
		out->follow_size = (uint16_t)min32(min32(p->size, deref_max), CTRACE_FOLLOW_MAX);
		break;
	default: return;
	}
	if (out->follow_size)
		out->follow = (uint8_t)follow_of(s, &p);
}

#define WALK_DEPTH 4  /* as the writer's default max_depth */
#define WALK_ELEMS 64 /* as its default max_elems */

static bool walk_strings(const struct vtype *t, uint64_t off, uint32_t len, unsigned depth,
			 bool (*found)(void *ctx, uint32_t off), void *ctx)
{
	const struct vtype *s = vtype_strip(t), *p, *e;

	if (!s)
		return true;
	if (follow_of(s, &p) == CTRACE_FOLLOW_STRING && s->kind == VT_POINTER)
		return off + 8 > len || found(ctx, (uint32_t)off);
	if (depth >= WALK_DEPTH)
		return true;
	if (s->kind == VT_STRUCT || s->kind == VT_UNION) {
		for (uint32_t i = 0; s->members && i < s->nmembers; i++)
			if (!s->members[i].bit_size &&
			    !walk_strings(s->members[i].type, off + s->members[i].offset, len,
					  depth + 1, found, ctx))
				return false;
	} else if (s->kind == VT_ARRAY && (e = vtype_strip(s->target)) && e->size) {
		for (uint32_t i = 0; i < s->count && i < WALK_ELEMS; i++)
			if (!walk_strings(s->target, off + (uint64_t)i * e->size, len, depth + 1,
					  found, ctx))
				return false;
	}
	return true;
}

void vtype_member_strings(const struct vtype *t, uint32_t len,
			  bool (*found)(void *ctx, uint32_t off), void *ctx)
{
	const struct vtype *s = vtype_strip(t);

	/* a char * itself is the value's own string, not a member's */
	if (s && (s->kind == VT_STRUCT || s->kind == VT_UNION || s->kind == VT_ARRAY))
		walk_strings(s, 0, len, 0, found, ctx);
}

/* ---- values ---- */

struct fmt {
	FILE *f;
	const struct vfmt_opts *o;
	unsigned max_depth, max_elems;
	const struct vfmt_capture *cap; /* an ARG's capture: its member strings */
};

/* little-endian unsigned of size bytes (1..8) */
static uint64_t get_le(const uint8_t *b, uint32_t size)
{
	uint64_t v = 0;
	for (uint32_t i = size; i-- > 0;)
		v = v << 8 | b[i];
	return v;
}

static int64_t sext(uint64_t v, uint32_t bits)
{
	if (bits == 0 || bits >= 64)
		return (int64_t)v;
	uint64_t m = 1ull << (bits - 1);
	v &= (m << 1) - 1;
	return (int64_t)((v ^ m) - m);
}

static void put_u128(FILE *f, unsigned __int128 v, bool neg)
{
	char buf[48];
	int i = sizeof(buf);
	buf[--i] = '\0';
	do {
		buf[--i] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	if (neg)
		buf[--i] = '-';
	fputs(buf + i, f);
}

static bool is_signed_int(const struct vtype *s)
{
	if (s->kind == VT_INT)
		return true;
	if (s->kind == VT_CHAR || s->kind == VT_ENUM)
		return s->is_signed;
	return false;
}

static void put_enum(FILE *f, const struct vtype *s, int64_t raw)
{
	for (uint32_t i = 0; s->enumerators && i < s->nmembers; i++)
		if (s->enumerators[i].value == raw && s->enumerators[i].name) {
			jsonw_cstr(f, s->enumerators[i].name);
			return;
		}
	if (s->is_signed)
		jsonw_i64(f, raw);
	else
		jsonw_u64(f, (uint64_t)raw);
}

/* an integer-like value already extracted (bit-fields, enums, small ints) */
static void put_intlike(FILE *f, const struct vtype *s, uint64_t v, uint32_t bits)
{
	if (s->kind == VT_BOOL)
		fputs(v ? "true" : "false", f);
	else if (s->kind == VT_ENUM)
		put_enum(f, s, s->is_signed ? sext(v, bits) : (int64_t)v);
	else if (is_signed_int(s))
		jsonw_i64(f, sext(v, bits));
	else
		jsonw_u64(f, v);
}

static double half_to_double(uint16_t h)
{
	int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v;
	if (e == 0)
		v = m / 16777216.0; /* subnormal: m * 2^-24 */
	else if (e == 31)
		v = m ? __builtin_nan("") : __builtin_inf();
	else
		v = (1.0 + m / 1024.0) * __builtin_ldexp(1.0, e - 15);
	return h & 0x8000 ? -v : v;
}

static bool put_float(FILE *f, const struct vtype *s, const uint8_t *b)
{
	switch (s->size) {
	case 2: jsonw_double(f, half_to_double((uint16_t)get_le(b, 2))); return true;
	case 4: {
		float v;
		memcpy(&v, b, 4);
		jsonw_double(f, v);
		return true;
	}
	case 8: {
		double v;
		memcpy(&v, b, 8);
		jsonw_double(f, v);
		return true;
	}
	case 16:
		if (s->name && strstr(s->name, "128")) {
			__float128 q;
			memcpy(&q, b, 16);
			jsonw_double(f, (double)q);
		} else {
			long double v = 0; /* x87 extended in 16 bytes, as on x86-64 */
			memcpy(&v, b, 10);
			jsonw_double(f, (double)v);
		}
		return true;
	default: return false;
	}
}

static bool fmt_value(struct fmt *x, const struct vtype *t, const uint8_t *b, size_t len,
		      unsigned depth);

/* A char * member of a captured value: its string, as gdb shows it, or why not */
static void put_member_string(struct fmt *x, const uint8_t *b)
{
	const struct vfmt_capture *c = x->cap;
	uint64_t addr = get_le(b, 8);
	const struct vfmt_str *m = NULL;
	char why[160];

	for (unsigned i = 0; i < c->nstrs && !m; i++)
		if (c->strs[i].at == b)
			m = &c->strs[i];
	fputs("{\"value\":", x->f);
	if (addr && m && !m->err)
		jsonw_str(x->f, m->str, m->len);
	else
		fputs("null", x->f);
	fputs(",\"address\":", x->f);
	jsonw_hex(x->f, addr);
	if (addr && m && !m->err && m->truncated)
		fputs(",\"truncated\":true", x->f);
	if (addr && (!m || m->err)) {
		if (m && m->err < 0)
			snprintf(why, sizeof(why), "cannot read the string at 0x%llx: %s",
				 (unsigned long long)addr, read_error_text(m->err));
		else
			snprintf(why, sizeof(why), "%s",
				 c->strs_why ? c->strs_why : "not captured");
		fputs(",\"unavailable\":", x->f);
		jsonw_cstr(x->f, why);
	}
	fputc('}', x->f);
}

/* a string of at most n bytes: up to the first NUL */
static void put_chars(FILE *f, const uint8_t *b, size_t n)
{
	const void *nul = memchr(b, 0, n);
	jsonw_str(f, (const char *)b, nul ? (size_t)((const uint8_t *)nul - b) : n);
}

static bool fmt_array(struct fmt *x, const struct vtype *s, const uint8_t *b, size_t len,
		      unsigned depth)
{
	const struct vtype *e = vtype_strip(s->target);
	bool cut = false;

	/* plain char arrays hold text; signed/unsigned char arrays are bytes */
	if (e && e->kind == VT_CHAR && e->size == 1 && e->name && !strcmp(e->name, "char")) {
		size_t n = s->count < len ? s->count : len;
		cut = s->count > len && !memchr(b, 0, len);
		put_chars(x->f, b, n);
		return cut;
	}
	fputc('[', x->f);
	if (e && e->size) {
		for (uint32_t i = 0; i < s->count; i++) {
			uint64_t off = (uint64_t)i * e->size;
			if (i >= x->max_elems || off + e->size > len) {
				cut = true;
				break;
			}
			if (i)
				fputc(',', x->f);
			cut |= fmt_value(x, s->target, b + off, e->size, depth + 1);
		}
	}
	fputc(']', x->f);
	return cut;
}

/* The bits of a bit-field, from up to 9 bytes. false when they were not captured. */
static bool get_bits(const uint8_t *b, size_t len, const struct vmember *m, uint64_t *v)
{
	uint64_t first = m->offset + m->bit_offset / 8;
	uint32_t shift = m->bit_offset % 8;
	uint32_t nbytes = (shift + m->bit_size + 7) / 8;
	unsigned __int128 acc = 0;

	if (m->bit_size == 0 || m->bit_size > 64 || first > len || nbytes > len - first)
		return false;
	for (uint32_t i = nbytes; i-- > 0;)
		acc = acc << 8 | b[first + i];
	acc >>= shift;
	*v = (uint64_t)acc & (m->bit_size == 64 ? ~0ull : (1ull << m->bit_size) - 1);
	return true;
}

static bool fmt_members(struct fmt *x, const struct vtype *s, const uint8_t *b, size_t len,
			unsigned depth, bool *first)
{
	bool cut = false;

	for (uint32_t i = 0; s->members && i < s->nmembers; i++) {
		const struct vmember *m = &s->members[i];
		const struct vtype *ms = vtype_strip(m->type);
		bool aggr = ms && (ms->kind == VT_STRUCT || ms->kind == VT_UNION);

		if (!m->name && !(aggr && (m->is_base || !m->bit_size)))
			continue; /* unnamed padding bit-fields */
		if (m->bit_size) {
			uint64_t v;
			if (!ms || !get_bits(b, len, m, &v)) {
				cut = true;
				continue;
			}
			fputs(*first ? "" : ",", x->f);
			*first = false;
			jsonw_cstr(x->f, m->name);
			fputc(':', x->f);
			put_intlike(x->f, ms, v, m->bit_size);
			continue;
		}
		/* a scalar must be whole; an aggregate shows what was captured */
		if (m->offset >= len ||
		    (!aggr && ms && ms->kind != VT_ARRAY && ms->size > len - m->offset)) {
			cut = true;
			continue;
		}
		if (!m->name && !m->is_base) {
			/* an anonymous struct or union: its members belong to this object */
			if (depth + 1 >= x->max_depth)
				cut = true;
			else
				cut |= fmt_members(x, ms, b + m->offset, len - m->offset, depth + 1,
						   first);
			continue;
		}
		fputs(*first ? "" : ",", x->f);
		*first = false;
		if (m->is_base) {
			char *bn = vtype_spell(m->type);
			bool clash = false;

			/* struct B : A { int A; } is valid C++: keys must stay unique */
			for (uint32_t k = 0; bn && k < s->nmembers; k++)
				clash |= !s->members[k].is_base && s->members[k].name &&
					 !strcmp(s->members[k].name, bn);
			if (clash) {
				char *key = NULL;

				if (asprintf(&key, "base %s", bn) < 0)
					key = NULL;
				jsonw_cstr(x->f, key ? key : "base");
				free(key);
			} else {
				jsonw_cstr(x->f, bn ? bn : "?");
			}
			free(bn);
		} else {
			jsonw_cstr(x->f, m->name);
		}
		fputc(':', x->f);
		cut |= fmt_value(x, m->type, b + m->offset, len - m->offset, depth + 1);
	}
	return cut;
}

static bool fmt_value(struct fmt *x, const struct vtype *t, const uint8_t *b, size_t len,
		      unsigned depth)
{
	const struct vtype *s = vtype_strip(t);
	FILE *f = x->f;

	if (!s || s->kind == VT_VOID || s->kind == VT_UNKNOWN || s->kind == VT_FUNC ||
	    s->kind == VT_NULLPTR) {
		fputs("null", f);
		return false;
	}
	if (s->kind == VT_STRUCT || s->kind == VT_UNION || s->kind == VT_ARRAY) {
		bool cut = len < s->size, first = true;
		if (depth >= x->max_depth) {
			fputs("null", f);
			return true;
		}
		if (s->kind == VT_ARRAY)
			return fmt_array(x, s, b, len < s->size ? len : s->size, depth) || cut;
		fputc('{', f);
		cut |= fmt_members(x, s, b, len < s->size ? len : s->size, depth, &first);
		fputc('}', f);
		return cut;
	}
	if (s->size == 0 || len < s->size) {
		fputs("null", f);
		return true;
	}
	switch (s->kind) {
	case VT_INT:
	case VT_UINT:
	case VT_CHAR:
	case VT_BOOL:
	case VT_ENUM:
		if (s->size == 16 && s->kind != VT_ENUM && s->kind != VT_BOOL) {
			unsigned __int128 v;
			memcpy(&v, b, 16);
			bool neg = is_signed_int(s) && (__int128)v < 0;
			put_u128(f, neg ? -v : v, neg);
		} else if (s->size <= 8) {
			put_intlike(f, s, get_le(b, s->size), s->size * 8);
		} else {
			fputs("null", f);
		}
		return false;
	case VT_FLOAT:
		if (!put_float(f, s, b))
			fputs("null", f);
		return false;
	case VT_COMPLEX: {
		struct vtype half = { .kind = VT_FLOAT, .size = s->size / 2, .name = s->name };
		if (half.size != 4 && half.size != 8 && half.size != 16) {
			fputs("null", f);
			return false;
		}
		fputc('[', f);
		put_float(f, &half, b);
		fputc(',', f);
		put_float(f, &half, b + half.size);
		fputc(']', f);
		return false;
	}
	case VT_POINTER:
	case VT_REF:
	case VT_RVREF: {
		const struct vtype *p;

		if (x->cap && depth > 0 && s->kind == VT_POINTER &&
		    follow_of(s, &p) == CTRACE_FOLLOW_STRING) {
			put_member_string(x, b);
			return false;
		}
		if (s->size > 8)
			fputs("null", f);
		else
			jsonw_hex(f, get_le(b, s->size));
		return false;
	}
	default: fputs("null", f); return false;
	}
}

static void fmt_init(struct fmt *x, FILE *f, const struct vfmt_opts *o)
{
	static const struct vfmt_opts none;
	x->f = f;
	x->o = o ? o : &none;
	x->max_depth = x->o->max_depth ? x->o->max_depth : 4;
	x->max_elems = x->o->max_elems ? x->o->max_elems : 64;
	x->cap = NULL;
}

bool vfmt_value(FILE *f, const struct vtype *t, const void *buf, size_t len,
		const struct vfmt_opts *o)
{
	struct fmt x;
	fmt_init(&x, f, o);
	return fmt_value(&x, t, buf, len, 0);
}

static void put_unavailable(FILE *f, const char *why)
{
	fputs("\"value\":null,\"unavailable\":", f);
	jsonw_cstr(f, why);
}

static void put_read_error(FILE *f, const char *what, uint64_t addr, bool with_addr, int err)
{
	char why[160];
	if (with_addr)
		snprintf(why, sizeof(why), "cannot read %s at 0x%llx: %s", what,
			 (unsigned long long)addr, read_error_text(err));
	else
		snprintf(why, sizeof(why), "cannot read %s: %s", what, read_error_text(err));
	put_unavailable(f, why);
}

/* The "value" (and companions) of one ARG object. */
static void fmt_arg_value(struct fmt *x, const struct vtype *t, const struct vfmt_capture *c)
{
	FILE *f = x->f;
	const struct vtype *s = vtype_strip(t), *p;
	const uint8_t *val = c->val;
	bool cut;

	if (c->val_err) {
		put_read_error(f, "the value", 0, false, c->val_err);
		return;
	}
	if (!s || s->kind == VT_VOID || s->kind == VT_UNKNOWN || s->size == 0) {
		put_unavailable(f, "type not supported");
		return;
	}
	if (!val ||
	    (c->val_len < s->size && s->kind != VT_STRUCT && s->kind != VT_UNION &&
	     s->kind != VT_ARRAY) ||
	    c->val_len == 0) {
		put_unavailable(f, "value not captured");
		return;
	}
	int follow = follow_of(s, &p);
	if (follow != CTRACE_FOLLOW_NONE) {
		uint64_t addr = get_le(val, 8);
		fputs("\"value\":", f);
		if (addr == 0) {
			fputs("null,\"address\":", f);
			jsonw_hex(f, 0);
			return;
		}
		if (c->tgt_err || !c->tgt) {
			fputs("null,\"address\":", f);
			jsonw_hex(f, addr);
			fputs(",\"unavailable\":", f);
			char why[160];
			if (c->tgt_err)
				snprintf(why, sizeof(why), "cannot read %s at 0x%llx: %s",
					 follow == CTRACE_FOLLOW_STRING ? "the string" : "memory",
					 (unsigned long long)addr, read_error_text(c->tgt_err));
			else
				snprintf(why, sizeof(why), "pointee not captured");
			jsonw_cstr(f, why);
			return;
		}
		if (follow == CTRACE_FOLLOW_STRING) {
			jsonw_str(f, c->tgt, c->tgt_len);
			cut = c->tgt_truncated;
		} else {
			x->cap = c;
			cut = fmt_value(x, s->target, c->tgt, c->tgt_len, 0);
			x->cap = NULL;
		}
		fputs(",\"address\":", f);
		jsonw_hex(f, addr);
		if (cut)
			fputs(",\"truncated\":true", f);
		return;
	}
	fputs("\"value\":", f);
	x->cap = c;
	cut = fmt_value(x, s, val, c->val_len, 0);
	x->cap = NULL;
	if (s->kind == VT_ENUM && s->size <= 8) {
		uint64_t raw = get_le(val, s->size);
		fputs(",\"raw\":", f);
		if (s->is_signed)
			jsonw_i64(f, sext(raw, s->size * 8));
		else
			jsonw_u64(f, raw);
	}
	if (s->kind == VT_POINTER && p && p->kind == VT_FUNC && x->o->symbolize) {
		const char *fn = x->o->symbolize(x->o->sym_ctx, get_le(val, 8));
		if (fn) {
			fputs(",\"function\":", f);
			jsonw_cstr(f, fn);
		}
	}
	if (cut)
		fputs(",\"truncated\":true", f);
}

void vfmt_arg(FILE *f, const char *name, const char *type_name, const struct vtype *t,
	      const struct vfmt_capture *cap, const char *unavailable, const struct vfmt_opts *o)
{
	struct fmt x;
	char *spelled = NULL;

	fmt_init(&x, f, o);
	fputc('{', f);
	if (name) {
		fputs("\"name\":", f);
		jsonw_cstr(f, name);
		fputc(',', f);
	}
	if (!type_name)
		type_name = spelled = vtype_spell(t);
	fputs("\"type\":", f);
	jsonw_cstr(f, type_name ? type_name : "?");
	fputc(',', f);
	free(spelled);
	if (unavailable)
		put_unavailable(f, unavailable);
	else if (!cap)
		put_unavailable(f, "value not captured");
	else
		fmt_arg_value(&x, t, cap);
	fputc('}', f);
}
