/* The EXT records of the compact trace (ctrace_model.h,
 * doc/ctrace-format.md): encoded from the live capture while recording,
 * read back into a capture of their own offline. Everything read is
 * bounded and checked: the bytes may come from anywhere. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "attach/capture_plans.h"
#include "attach/capture_state.h"
#include "cli.h"
#include "find/dwarf_plans.h"
#include "find/pattern.h"
#include "record/ctrace_format.h"
#include "record/ctrace_model.h"
#include "record/ctrace_write.h"
#include "utils/u64map.h"
#include "utils/xalloc.h"
#include "write/value_fmt.h"

/* what a reader accepts: far beyond any real program's debug info */
#define MAX_TYPES   (1u << 22)
#define MAX_LIST    (1u << 16) /* members, enumerators, parameters of one type */
#define MAX_NAME    4096u
#define MAX_SITEARG 4096u /* named parameters of one function */

enum { TF_SIGNED = 1, TF_CXX = 2, TF_CLASS = 4, TF_VARARGS = 8, TF_PROTO = 16 };
enum { SF_INLINED = 1, SF_VARARGS = 2 };

/* ---- encoding ---- */

struct mbuf {
	uint8_t *p;
	size_t n, cap;
};

static uint8_t *mb_room(struct mbuf *b, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = b->cap ? b->cap : 256;
		while (b->n + n > b->cap)
			b->cap *= 2;
		b->p = xrealloc(b->p, b->cap);
	}
	return b->p + b->n;
}

static void mb_u(struct mbuf *b, uint64_t v)
{
	b->n += ct_put_varint(mb_room(b, 10), v);
}

static void mb_bytes(struct mbuf *b, const void *s, size_t n)
{
	memcpy(mb_room(b, n), s, n);
	b->n += n;
}

static void mb_str(struct mbuf *b, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	mb_u(b, n);
	mb_bytes(b, s, n);
}

/* a string that may be NULL: 0, else its length + 1 */
static void mb_nstr(struct mbuf *b, const char *s)
{
	size_t n = s ? strnlen(s, MAX_NAME) : 0;

	mb_u(b, s ? n + 1 : 0);
	if (s)
		mb_bytes(b, s, n);
}

struct model_enc {
	struct u64map idx; /* struct vtype * → its index + 1 */
	uint32_t ntypes;
	struct mbuf body, types;
	const struct vtype **todo; /* types indexed, not yet written */
	size_t ntodo, captodo;
};

void model_enc_free(struct model_enc *e)
{
	if (!e)
		return;
	u64map_free(&e->idx);
	free(e->body.p);
	free(e->types.p);
	free(e->todo);
	free(e);
}

static struct model_enc *enc_of(struct ctrace_writer *w)
{
	struct model_enc **e = ctw_model_enc(w);

	if (!*e)
		*e = xcalloc(1, sizeof(**e));
	return *e;
}

/* a type's reference: its index + 1, 0 for NULL (void); indexed (and
 * queued for writing) the first time */
static uint64_t type_ref(struct model_enc *e, const struct vtype *t)
{
	uintptr_t i;

	if (!t)
		return 0;
	i = (uintptr_t)u64map_get(&e->idx, (uintptr_t)t);
	if (i)
		return i;
	if (u64map_put(&e->idx, (uintptr_t)t, (void *)(uintptr_t)(e->ntypes + 1)))
		abort();
	if (e->ntodo == e->captodo) {
		e->captodo = e->captodo ? 2 * e->captodo : 64;
		e->todo = xrealloc(e->todo, e->captodo * sizeof(*e->todo));
	}
	e->todo[e->ntodo++] = t;
	return ++e->ntypes;
}

static void put_type(struct model_enc *e, struct mbuf *b, const struct vtype *t)
{
	unsigned fl = (t->is_signed ? TF_SIGNED : 0) | (t->cxx ? TF_CXX : 0) |
		      (t->is_class ? TF_CLASS : 0) | (t->varargs ? TF_VARARGS : 0) |
		      (t->prototyped ? TF_PROTO : 0);
	uint32_t nlist = 0;

	mb_u(b, t->kind);
	mb_u(b, fl);
	mb_u(b, t->quals);
	mb_u(b, t->size);
	mb_u(b, t->count);
	mb_u(b, t->nmembers);
	mb_nstr(b, t->name);
	mb_u(b, type_ref(e, t->target));
	if ((t->kind == VT_STRUCT || t->kind == VT_UNION) && t->members)
		nlist = t->nmembers;
	else if (t->kind == VT_ENUM && t->enumerators)
		nlist = t->nmembers;
	else if (t->kind == VT_FUNC && t->params)
		nlist = t->count;
	mb_u(b, nlist);
	for (uint32_t i = 0; i < nlist; i++) {
		if (t->kind == VT_FUNC) {
			mb_u(b, type_ref(e, t->params[i]));
		} else if (t->kind == VT_ENUM) {
			mb_nstr(b, t->enumerators[i].name);
			mb_u(b, ct_zigzag(t->enumerators[i].value));
		} else {
			const struct vmember *m = &t->members[i];

			mb_nstr(b, m->name);
			mb_u(b, type_ref(e, m->type));
			mb_u(b, m->offset);
			mb_u(b, m->bit_size);
			mb_u(b, m->bit_offset);
			mb_u(b, m->is_base);
		}
	}
}

/* The types queued by type_ref, and every type they reach, in one TYPES
 * record: references may point forward within it (cycles through pointers) */
static void flush_types(struct ctrace_writer *w, struct model_enc *e)
{
	uint32_t first = e->ntypes - (uint32_t)e->ntodo;
	size_t done = 0;

	if (!e->ntodo)
		return;
	e->types.n = 0;
	while (done < e->ntodo) /* put_type may queue more */
		put_type(e, &e->types, e->todo[done++]);
	e->body.n = 0;
	mb_u(&e->body, first);
	mb_u(&e->body, e->ntodo);
	mb_bytes(&e->body, e->types.p, e->types.n);
	e->ntodo = 0;
	ctw_ext(w, CT_EXT_TYPES, e->body.p, e->body.n);
}

static void put_arg_plan(struct mbuf *b, const struct ctrace_arg_plan *a)
{
	mb_u(b, a->npieces);
	mb_u(b, a->follow);
	mb_u(b, a->follow_size);
	mb_u(b, a->size);
	for (unsigned k = 0; k < a->npieces && k < CTRACE_MAX_PIECES; k++) {
		const struct ctrace_piece *p = &a->piece[k];

		mb_u(b, p->kind);
		mb_u(b, p->reg);
		mb_u(b, p->size);
		mb_u(b, p->flags);
		mb_u(b, ct_zigzag(p->val));
	}
}

static void put_site_plan(struct mbuf *b, const struct ctrace_site_plan *p)
{
	mb_u(b, p->site_vaddr);
	mb_u(b, p->nargs);
	mb_u(b, p->flags);
	mb_u(b, p->insn_len);
	mb_u(b, p->nmstr);
	mb_u(b, p->mstr_size);
	for (unsigned i = 0; i < p->nargs && i < CTRACE_MAX_ARGS; i++)
		put_arg_plan(b, &p->arg[i]);
	for (unsigned i = 0; i < p->nmstr && i < CTRACE_MAX_MSTR; i++) {
		mb_u(b, p->mstr[i].arg);
		mb_u(b, p->mstr[i].off);
	}
}

static void put_arg_info(struct model_enc *e, struct mbuf *b, const struct arg_info *a)
{
	mb_nstr(b, a->name);
	mb_nstr(b, a->type_name);
	mb_u(b, type_ref(e, a->type));
	mb_u(b, type_ref(e, a->fmt_type));
	mb_str(b, a->unavailable, sizeof(a->unavailable));
}

static void put_op(struct model_enc *e, struct mbuf *b, const struct plan_op *op)
{
	const struct site_entry *se = op->v;
	const struct ret_entry *re = op->v;

	mb_u(b, op->kind);
	switch (op->kind) {
	case PLAN_SITE:
		mb_u(b, op->key);
		mb_u(b, se->fn);
		mb_str(b, se->module, MAX_NAME);
		put_site_plan(b, &se->plan);
		mb_nstr(b, se->si->function);
		mb_u(b, se->si->site_vaddr);
		mb_u(b, (se->si->inlined ? SF_INLINED : 0) | (se->si->varargs ? SF_VARARGS : 0));
		mb_u(b, se->si->nargs);
		for (size_t i = 0; i < se->si->nargs; i++)
			put_arg_info(e, b, &se->si->args[i]);
		break;
	case PLAN_RET:
		mb_u(b, op->key);
		mb_str(b, re->module, MAX_NAME);
		mb_u(b, re->planned);
		put_arg_plan(b, &re->plan);
		put_arg_info(e, b, &re->info);
		break;
	case PLAN_MOD:
	case PLAN_FORGET:
		mb_u(b, op->mod.start);
		mb_u(b, op->mod.end);
		mb_u(b, op->mod.gen);
		mb_str(b, op->kind == PLAN_MOD ? op->mod.why : "", sizeof(op->mod.why));
		break;
	}
}

void ctw_plans(struct ctrace_writer *w, const struct capture *c, size_t from)
{
	struct model_enc *e = enc_of(w);
	struct mbuf op = { 0 };

	for (size_t i = from; i < c->nops; i++) {
		op.n = 0;
		put_op(e, &op, &c->ops[i]);
		flush_types(w, e); /* before the first record that uses them */
		ctw_ext(w, CT_EXT_PLAN, op.p, op.n);
	}
	free(op.p);
}

void ctw_config(struct ctrace_writer *w, const struct config *cfg)
{
	const struct filter *f = cfg->capture_filter;
	struct mbuf b = { 0 };
	size_t n = 0;
	bool excl;

	while (f && filter_pattern(f, n, &excl))
		n++;
	mb_u(&b, (cfg->args ? 1 : 0) | (cfg->retval ? 2 : 0));
	mb_u(&b, n);
	for (size_t i = 0; i < n; i++) {
		const char *s = filter_pattern(f, i, &excl);

		mb_u(&b, excl);
		mb_str(&b, s, MAX_NAME);
	}
	ctw_ext(w, CT_EXT_CONFIG, b.p, b.n);
	free(b.p);
}

void ctw_fnptrs(struct ctrace_writer *w, const uint64_t *addr, const uint32_t *ids, unsigned n)
{
	uint8_t buf[1 + CAP_FNPTRS * 20];
	size_t k = 0;

	n = n < CAP_FNPTRS ? n : CAP_FNPTRS;
	k += ct_put_varint(buf + k, n);
	for (unsigned i = 0; i < n; i++) {
		k += ct_put_varint(buf + k, addr[i]);
		k += ct_put_varint(buf + k, ids[i]);
	}
	ctw_ext(w, CT_EXT_FNPTR, buf, k);
}

/* ---- reading ---- */

struct mcur {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t mc_u(struct mcur *c)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64 && c->p < c->end; shift += 7) {
		uint8_t b = *c->p++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return x;
	}
	c->bad = true;
	return 0;
}

/* a number of at most max */
static uint64_t mc_max(struct mcur *c, uint64_t max)
{
	uint64_t v = mc_u(c);

	if (v > max) {
		c->bad = true;
		return 0;
	}
	return v;
}

/* a string of at most max bytes, malloc'd (NUL-free strings only) */
static char *mc_take(struct mcur *c, uint64_t n, size_t max)
{
	char *s;

	if (c->bad || n > max || n > (uint64_t)(c->end - c->p) || memchr(c->p, 0, n)) {
		c->bad = true;
		return NULL;
	}
	s = xrealloc(NULL, n + 1);
	memcpy(s, c->p, n);
	s[n] = 0;
	c->p += n;
	return s;
}

static char *mc_str(struct mcur *c, size_t max)
{
	return mc_take(c, mc_u(c), max);
}

static char *mc_nstr(struct mcur *c)
{
	uint64_t n = mc_u(c);

	return n ? mc_take(c, n - 1, MAX_NAME) : NULL;
}

/* into a fixed buffer of len bytes (NUL included) */
static void mc_fixed(struct mcur *c, char *dst, size_t len)
{
	char *s = mc_str(c, len - 1);

	if (s)
		strcpy(dst, s);
	free(s);
}

struct tbatch {
	struct vtype *v;
	uint32_t n;
};

struct ctrace_model {
	struct config cfg;
	struct capture *cap;
	struct vtype **types; /* by index */
	uint32_t ntypes, captypes;
	struct tbatch *batches;
	size_t nbatches;
	char **modules; /* interned module names */
	size_t nmodules;
};

struct ctrace_model *model_new(void)
{
	struct ctrace_model *m = xcalloc(1, sizeof(*m));

	m->cap = capture_new(&m->cfg, NULL, NULL, false);
	if (!m->cap)
		abort();
	capture_log_changes(m->cap);
	return m;
}

struct capture *model_capture(struct ctrace_model *m)
{
	return m->cap;
}

const struct vtype *model_type(const struct ctrace_model *m, uint32_t idx)
{
	return idx < m->ntypes ? m->types[idx] : NULL;
}

static void free_type(struct vtype *t)
{
	free((char *)t->name);
	if (t->kind == VT_ENUM)
		for (uint32_t i = 0; t->enumerators && i < t->nmembers; i++)
			free((char *)t->enumerators[i].name);
	else
		for (uint32_t i = 0; t->members && i < t->nmembers; i++)
			free((char *)t->members[i].name);
	free((void *)t->members);
	free((void *)t->enumerators);
	free((void *)t->params);
}

void model_free(struct ctrace_model *m)
{
	if (!m)
		return;
	capture_free(m->cap);
	for (size_t i = 0; i < m->nbatches; i++) {
		for (uint32_t k = 0; k < m->batches[i].n; k++)
			free_type(&m->batches[i].v[k]);
		free(m->batches[i].v);
	}
	free(m->batches);
	free(m->types);
	for (size_t i = 0; i < m->nmodules; i++)
		free(m->modules[i]);
	free(m->modules);
	filter_free(m->cfg.capture_filter);
	free(m);
}

/* a reference: a type read so far (or in this batch), or NULL */
static const struct vtype *mc_type(struct mcur *c, const struct ctrace_model *m)
{
	uint64_t r = mc_max(c, m->ntypes);

	return r ? m->types[r - 1] : NULL;
}

static void get_members(struct mcur *c, struct ctrace_model *m, struct vtype *t, uint32_t n)
{
	struct vmember *v = xcalloc(n ? n : 1, sizeof(*v));

	t->members = v;
	t->nmembers = n; /* what is allocated: free_type frees that many */
	for (uint32_t i = 0; i < n && !c->bad; i++) {
		v[i].name = mc_nstr(c);
		v[i].type = mc_type(c, m);
		v[i].offset = mc_u(c);
		v[i].bit_size = (uint32_t)mc_max(c, UINT32_MAX);
		v[i].bit_offset = (uint32_t)mc_max(c, UINT32_MAX);
		v[i].is_base = mc_max(c, 1);
	}
}

static void get_enumerators(struct mcur *c, struct vtype *t, uint32_t n)
{
	struct venum *v = xcalloc(n ? n : 1, sizeof(*v));

	t->enumerators = v;
	t->nmembers = n;
	for (uint32_t i = 0; i < n && !c->bad; i++) {
		v[i].name = mc_nstr(c);
		v[i].value = ct_unzigzag(mc_u(c));
	}
}

static void get_type(struct mcur *c, struct ctrace_model *m, struct vtype *t)
{
	uint64_t fl, nmembers, nlist;

	t->kind = (enum vt_kind)mc_max(c, VT_NULLPTR);
	fl = mc_max(c, 31);
	t->quals = (uint8_t)mc_max(c, 15);
	t->size = (uint32_t)mc_max(c, UINT32_MAX);
	t->count = (uint32_t)mc_max(c, UINT32_MAX);
	nmembers = mc_max(c, UINT32_MAX);
	t->is_signed = fl & TF_SIGNED;
	t->cxx = fl & TF_CXX;
	t->is_class = fl & TF_CLASS;
	t->varargs = fl & TF_VARARGS;
	t->prototyped = fl & TF_PROTO;
	t->name = mc_nstr(c);
	t->target = mc_type(c, m);
	nlist = mc_max(c, MAX_LIST);
	if (nlist > (uint64_t)(c->end - c->p)) /* each item takes a byte at least */
		c->bad = true;
	if (c->bad)
		return;
	if (t->kind == VT_STRUCT || t->kind == VT_UNION) {
		if (nlist)
			get_members(c, m, t, (uint32_t)nlist);
	} else if (t->kind == VT_ENUM) {
		if (nlist)
			get_enumerators(c, t, (uint32_t)nlist);
	} else if (t->kind == VT_FUNC && nlist) {
		const struct vtype **p = xcalloc(nlist, sizeof(*p));

		t->params = p;
		for (uint64_t i = 0; i < nlist && !c->bad; i++)
			p[i] = mc_type(c, m);
		if (nlist != t->count) /* the writers walk count of them */
			c->bad = true;
	} else if (nlist) {
		c->bad = true;
	}
	/* a list, when given, is the whole of it: the walks trust nmembers */
	if (nlist && nlist != nmembers && t->kind != VT_FUNC)
		c->bad = true;
	if (!nlist || t->kind == VT_FUNC)
		t->nmembers = (uint32_t)nmembers;
}

/* The walks stop at pointers (formatting) and at named types (spelling):
 * every cycle must pass through one of each, as any C or C++ type's does,
 * or bad input could make them loop or fan out without end. */
static bool stops(const struct vtype *t, bool spelling)
{
	if (spelling)
		return t->kind == VT_STRUCT || t->kind == VT_UNION || t->kind == VT_ENUM ||
		       t->kind == VT_TYPEDEF;
	return t->kind == VT_POINTER || t->kind == VT_REF || t->kind == VT_RVREF;
}

/* the i-th edge out of t (target, then members or parameters); false past the end */
static bool edge(const struct vtype *t, uint32_t i, const struct vtype **to)
{
	if (i == 0) {
		*to = t->target;
		return true;
	}
	i--;
	if ((t->kind == VT_STRUCT || t->kind == VT_UNION) && t->members && i < t->nmembers)
		*to = t->members[i].type;
	else if (t->kind == VT_FUNC && t->params && i < t->count)
		*to = t->params[i];
	else
		return false;
	return true;
}

/* a cycle among the batch's types that no walk stops on; iterative DFS */
static bool has_cycle(const struct tbatch *b, bool spelling)
{
	uint8_t *state = xcalloc(b->n, 1); /* 0 new, 1 on the stack, 2 done */
	uint32_t *stack = xrealloc(NULL, b->n * sizeof(*stack)),
		 *next = xcalloc(b->n, sizeof(*next));
	bool cyc = false;

	for (uint32_t s = 0; s < b->n && !cyc; s++) {
		size_t sp = 0;

		if (state[s])
			continue;
		state[s] = 1;
		stack[sp++] = s;
		while (sp && !cyc) {
			uint32_t u = stack[sp - 1];
			const struct vtype *to;

			if (stops(&b->v[u], spelling) || !edge(&b->v[u], next[u]++, &to)) {
				state[u] = 2;
				sp--;
				continue;
			}
			if (!to || to < b->v || to >= b->v + b->n)
				continue; /* void, or an earlier batch: checked already */
			if (state[to - b->v] == 1)
				cyc = true;
			else if (!state[to - b->v]) {
				state[to - b->v] = 1;
				stack[sp++] = (uint32_t)(to - b->v);
			}
		}
	}
	free(state);
	free(stack);
	free(next);
	return cyc;
}

static int get_types(struct mcur *c, struct ctrace_model *m, char *err, size_t errlen)
{
	uint64_t first = mc_u(c), n = mc_u(c);
	struct tbatch *b;

	if (c->bad || first != m->ntypes || n == 0 || n > MAX_TYPES - m->ntypes ||
	    n > (uint64_t)(c->end - c->p)) {
		snprintf(err, errlen, "a type table out of order or too large");
		return -1;
	}
	m->batches = xrealloc(m->batches, (m->nbatches + 1) * sizeof(*m->batches));
	b = &m->batches[m->nbatches++];
	b->n = (uint32_t)n;
	b->v = xcalloc(n, sizeof(*b->v));
	if (m->ntypes + n > m->captypes) {
		while (m->ntypes + n > m->captypes)
			m->captypes = m->captypes ? 2 * m->captypes : 256;
		m->types = xrealloc(m->types, m->captypes * sizeof(*m->types));
	}
	/* all of them indexed first: references may point forward in the batch */
	for (uint32_t i = 0; i < n; i++)
		m->types[m->ntypes++] = &b->v[i];
	for (uint32_t i = 0; i < n && !c->bad; i++)
		get_type(c, m, &b->v[i]);
	if (c->bad || c->p != c->end || has_cycle(b, false) || has_cycle(b, true)) {
		m->ntypes -= b->n; /* no reference reaches them (freed with the model) */
		snprintf(err, errlen, "a damaged type table");
		return -1;
	}
	return 0;
}

static const char *intern_module(struct ctrace_model *m, char *s)
{
	for (size_t i = 0; i < m->nmodules; i++)
		if (!strcmp(m->modules[i], s)) {
			free(s);
			return m->modules[i];
		}
	m->modules = xrealloc(m->modules, (m->nmodules + 1) * sizeof(*m->modules));
	return m->modules[m->nmodules++] = s;
}

static void get_arg_plan(struct mcur *c, struct ctrace_arg_plan *a)
{
	a->npieces = (uint8_t)mc_max(c, CTRACE_MAX_PIECES);
	a->follow = (uint8_t)mc_max(c, CTRACE_FOLLOW_DEREF);
	a->follow_size = (uint16_t)mc_max(c, CTRACE_FOLLOW_MAX);
	a->size = (uint16_t)mc_max(c, CTRACE_VALUE_MAX);
	for (unsigned k = 0; k < a->npieces && !c->bad; k++) {
		struct ctrace_piece *p = &a->piece[k];

		p->kind = (uint8_t)mc_max(c, CTRACE_LOC_CONST);
		p->reg = (uint8_t)mc_max(c, 15);
		p->size = (uint8_t)mc_max(c, CTRACE_VALUE_MAX);
		p->flags = (uint8_t)mc_max(c, 255);
		p->val = ct_unzigzag(mc_u(c));
	}
}

static void get_site_plan(struct mcur *c, struct ctrace_site_plan *p)
{
	p->site_vaddr = mc_u(c);
	p->nargs = (uint8_t)mc_max(c, CTRACE_MAX_ARGS);
	p->flags = (uint8_t)mc_max(c, 255);
	p->insn_len = (uint8_t)mc_max(c, 255);
	p->nmstr = (uint8_t)mc_max(c, CTRACE_MAX_MSTR);
	p->mstr_size = (uint16_t)mc_max(c, CTRACE_FOLLOW_MAX);
	for (unsigned i = 0; i < p->nargs && !c->bad; i++)
		get_arg_plan(c, &p->arg[i]);
	for (unsigned i = 0; i < p->nmstr && !c->bad; i++) {
		p->mstr[i].arg = (uint8_t)mc_max(c, 255);
		p->mstr[i].off = (uint16_t)mc_max(c, UINT16_MAX);
	}
}

static void get_arg_info(struct mcur *c, const struct ctrace_model *m, struct arg_info *a)
{
	a->name = mc_nstr(c);
	a->type_name = mc_nstr(c);
	a->type = mc_type(c, m);
	a->fmt_type = mc_type(c, m);
	mc_fixed(c, a->unavailable, sizeof(a->unavailable));
}

static struct site_entry *get_site(struct mcur *c, struct ctrace_model *m, uint64_t *key)
{
	struct site_entry *se = xcalloc(1, sizeof(*se));
	struct site_info *si = xcalloc(1, sizeof(*si));
	uint64_t fl;
	char *mod;

	se->si = si;
	*key = mc_u(c);
	se->key = *key;
	se->fn = mc_u(c);
	mod = mc_str(c, MAX_NAME);
	se->module = mod ? intern_module(m, mod) : "";
	get_site_plan(c, &se->plan);
	si->function = mc_nstr(c);
	si->site_vaddr = mc_u(c);
	fl = mc_max(c, SF_INLINED | SF_VARARGS);
	si->inlined = fl & SF_INLINED;
	si->varargs = fl & SF_VARARGS;
	si->nargs = (size_t)mc_max(c, MAX_SITEARG);
	if (!c->bad && si->nargs > (size_t)(c->end - c->p))
		c->bad = true; /* each takes bytes: no huge allocation for a short record */
	if (c->bad)
		si->nargs = 0;
	si->args = xcalloc(si->nargs ? si->nargs : 1, sizeof(*si->args));
	for (size_t i = 0; i < si->nargs && !c->bad; i++)
		get_arg_info(c, m, &si->args[i]);
	return se;
}

static struct ret_entry *get_ret(struct mcur *c, struct ctrace_model *m, uint64_t *key)
{
	struct ret_entry *re = xcalloc(1, sizeof(*re));
	char *mod;

	*key = mc_u(c);
	mod = mc_str(c, MAX_NAME);
	re->module = mod ? intern_module(m, mod) : "";
	re->planned = mc_max(c, 1);
	get_arg_plan(c, &re->plan);
	get_arg_info(c, m, &re->info);
	return re;
}

static int get_plan(struct mcur *c, struct ctrace_model *m, char *err, size_t errlen)
{
	struct plan_op op = { .kind = (enum plan_op_kind)mc_max(c, PLAN_FORGET) };

	if (c->bad)
		goto bad;
	switch (op.kind) {
	case PLAN_SITE: op.v = get_site(c, m, &op.key); break;
	case PLAN_RET: op.v = get_ret(c, m, &op.key); break;
	case PLAN_MOD:
	case PLAN_FORGET:
		op.mod.start = mc_u(c);
		op.mod.end = mc_u(c);
		op.mod.gen = (unsigned)mc_max(c, UINT32_MAX);
		mc_fixed(c, op.mod.why, sizeof(op.mod.why));
		break;
	}
	if (c->bad || c->p != c->end) {
		capture_op_free_entry(&op);
		goto bad;
	}
	capture_load_op(m->cap, &op);
	return 0;
bad:
	snprintf(err, errlen, "a damaged capture plan");
	return -1;
}

static int get_config(struct mcur *c, struct ctrace_model *m, char *err, size_t errlen)
{
	uint64_t fl = mc_max(c, 3), n = mc_max(c, MAX_LIST);
	char why[256];

	m->cfg.args = fl & 1;
	m->cfg.retval = fl & 2;
	for (uint64_t i = 0; i < n && !c->bad; i++) {
		bool excl = mc_max(c, 1);
		char *s = mc_str(c, MAX_NAME);

		if (!m->cfg.capture_filter)
			m->cfg.capture_filter = filter_new();
		if (s && filter_add(m->cfg.capture_filter, s, excl, why, sizeof(why)))
			c->bad = true;
		free(s);
	}
	if (c->bad || c->p != c->end) {
		snprintf(err, errlen, "damaged settings");
		return -1;
	}
	return 0;
}

int model_apply(struct ctrace_model *m, unsigned sub, const uint8_t *body, size_t len, char *err,
		size_t errlen)
{
	struct mcur c = { body, body + len, false };

	switch (sub) {
	case CT_EXT_CONFIG: return get_config(&c, m, err, errlen);
	case CT_EXT_TYPES: return get_types(&c, m, err, errlen);
	case CT_EXT_PLAN: return get_plan(&c, m, err, errlen);
	}
	return 0;
}

int model_fnptrs(const uint8_t *body, size_t len, uint64_t *addr, uint64_t *ids, unsigned max)
{
	struct mcur c = { body, body + len, false };
	uint64_t n = mc_max(&c, max);

	for (uint64_t i = 0; i < n; i++) {
		addr[i] = mc_u(&c);
		ids[i] = mc_u(&c);
	}
	return c.bad || c.p != c.end ? -1 : (int)n;
}
