/* The compact trace's one reader (doc/ctrace-format.md). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "consume/symbolize.h"
#include "ctrace.h"
#include "ctrace_plan.h"
#include "record/ctrace_read.h"
#include "utils/u64map.h"
#include "utils/xalloc.h"

#define IN_SIZE (1u << 16)

struct ctrace_reader {
	FILE *f;
	struct ctrace_file_hdr hdr;
	uint8_t in[IN_SIZE];
	size_t ipos, ilen;
	bool eof, ended;
	char err[160];
	struct func_info **funcs; /* by id - 1 */
	uint32_t nfuncs, capfuncs;
	struct u64map threads;
	uint64_t nids_total;
	int32_t max_depth;
	uint32_t cur_tid;
	bool have_cur;
	uint64_t calls;
	char **sites; /* --srcline: call sites' lines, by id - 1 */
	uint32_t nsites;
	const char *site; /* the next ENTER's call site (EXT CALLSITE) */
	char *str; /* the last NAME/TEXT/EXT */
	size_t capstr, nstr;
	/* the decoded record: as large as the largest ring-buffer record */
	union {
		struct ctrace_call_args args;
		struct ctrace_crash_rec crash;
		uint8_t raw[CT_MAX_RAW];
	} rec;
};

static int fail(struct ctrace_reader *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->err[0]) {
		va_start(ap, fmt);
		vsnprintf(r->err, sizeof(r->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* the next byte; -1 at the end of the file */
static int next_byte(struct ctrace_reader *r)
{
	if (r->ipos == r->ilen) {
		if (r->eof)
			return -1;
		r->ilen = fread(r->in, 1, sizeof(r->in), r->f);
		r->ipos = 0;
		if (r->ilen == 0) {
			r->eof = true;
			return -1;
		}
	}
	return r->in[r->ipos++];
}

static int get_bytes(struct ctrace_reader *r, void *dst, size_t n)
{
	uint8_t *d = dst;

	while (n) {
		size_t k;

		if (r->ipos == r->ilen && next_byte(r) >= 0)
			r->ipos--; /* refilled */
		if (r->ipos == r->ilen)
			return fail(r, "the file ends inside a record");
		k = r->ilen - r->ipos < n ? r->ilen - r->ipos : n;
		memcpy(d, r->in + r->ipos, k);
		r->ipos += k;
		d += k;
		n -= k;
	}
	return 0;
}

static int varint(struct ctrace_reader *r, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		int b = next_byte(r);

		if (b < 0)
			return fail(r, "the file ends inside a record");
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return fail(r, "a number longer than 64 bits");
}

static int varint_u64(struct ctrace_reader *r, __u64 *v)
{
	uint64_t x;

	if (varint(r, &x))
		return -1;
	*v = x;
	return 0;
}

static int varint32(struct ctrace_reader *r, uint32_t *v)
{
	uint64_t x;

	if (varint(r, &x))
		return -1;
	if (x > UINT32_MAX)
		return fail(r, "a 32-bit field holds %llu", (unsigned long long)x);
	*v = (uint32_t)x;
	return 0;
}

static int svarint32(struct ctrace_reader *r, int32_t *v)
{
	uint64_t x;
	int64_t s;

	if (varint(r, &x))
		return -1;
	s = ct_unzigzag(x);
	if (s < INT32_MIN || s > INT32_MAX)
		return fail(r, "a 32-bit field holds %lld", (long long)s);
	*v = (int32_t)s;
	return 0;
}

/* a length-prefixed string, NUL-terminated in r->str */
static int get_str(struct ctrace_reader *r, size_t max)
{
	uint64_t n;

	if (varint(r, &n))
		return -1;
	if (n > max)
		return fail(r, "a string of %llu bytes", (unsigned long long)n);
	if (n + 1 > r->capstr) {
		r->str = xrealloc(r->str, n + 1);
		r->capstr = n + 1;
	}
	if (get_bytes(r, r->str, n))
		return -1;
	r->str[n] = 0;
	r->nstr = n;
	return (int)0;
}

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

bool ctr_is_ctrace(const void *head, size_t n)
{
	return n >= CTRACE_FILE_MAGIC_LEN &&
	       !memcmp(head, CTRACE_FILE_MAGIC, CTRACE_FILE_MAGIC_LEN);
}

struct ctrace_reader *ctr_open(FILE *f, char *err, size_t errlen)
{
	struct ctrace_reader *r = calloc(1, sizeof(*r));
	uint8_t h[CTRACE_FILE_HDR_LEN];

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->f = f;
	r->max_depth = CT_MAX_DEPTH;
	if (get_bytes(r, h, sizeof(h)) || !ctr_is_ctrace(h, sizeof(h))) {
		snprintf(err, errlen, "not a compact trace (.ctrace)");
		free(r);
		return NULL;
	}
	r->hdr.version = rd32(h + 8);
	if (r->hdr.version != CTRACE_FILE_VERSION && r->hdr.version != CTRACE_FILE_VERSION_1) {
		snprintf(err, errlen, "compact trace version %u (this ctrace-bpf reads %u)",
			 r->hdr.version, CTRACE_FILE_VERSION);
		free(r);
		return NULL;
	}
	r->hdr.pid = rd32(h + 12);
	r->hdr.t0 = rd64(h + 16);
	r->hdr.mono_base = rd64(h + 24);
	r->hdr.real_base = rd64(h + 32);
	r->hdr.flags = rd32(h + 40);
	return r;
}

void ctr_limit_depth(struct ctrace_reader *r, int32_t max)
{
	r->max_depth = max;
}

const struct ctrace_file_hdr *ctr_header(const struct ctrace_reader *r)
{
	return &r->hdr;
}

const char *ctr_error(const struct ctrace_reader *r)
{
	return r->err;
}

bool ctr_complete(const struct ctrace_reader *r)
{
	return r->ended;
}

uint64_t ctr_calls(const struct ctrace_reader *r)
{
	return r->calls;
}

static struct ct_thread *thread_of(struct ctrace_reader *r, uint32_t tid)
{
	struct ct_thread *t = u64map_get(&r->threads, tid);

	if (t)
		return t;
	t = xcalloc(1, sizeof(*t));
	t->last_ts = r->hdr.t0;
	if (u64map_put(&r->threads, tid, t))
		abort();
	return t;
}

static int func_of(struct ctrace_reader *r, uint64_t id, const struct func_info **fn)
{
	if (id > r->nfuncs)
		return fail(r, "function %llu is not defined", (unsigned long long)id);
	*fn = id ? r->funcs[id - 1] : NULL;
	return 0;
}

const struct func_info *ctr_func(const struct ctrace_reader *r, uint64_t id)
{
	return id && id <= r->nfuncs ? r->funcs[id - 1] : NULL;
}

static int read_func(struct ctrace_reader *r)
{
	struct func_info *fi;
	uint64_t id, addr;
	int allowed;
	char *module;

	if (varint(r, &id) || varint(r, &addr) || (allowed = next_byte(r)) < 0)
		return fail(r, "the file ends inside a record");
	if (id != (uint64_t)r->nfuncs + 1)
		return fail(r, "function %llu defined out of order", (unsigned long long)id);
	if (get_str(r, 4096))
		return -1;
	module = xstrdup(r->str);
	if (get_str(r, CT_MAX_BLOB)) {
		free(module);
		return -1;
	}
	fi = xcalloc(1, sizeof(*fi));
	fi->addr = addr;
	fi->module = module;
	fi->name = xstrdup(r->str);
	fi->allowed = allowed != 0;
	fi->rec_id = (uint32_t)id;
	if (r->nfuncs == r->capfuncs) {
		r->capfuncs = r->capfuncs ? 2 * r->capfuncs : 256;
		r->funcs = xrealloc(r->funcs, r->capfuncs * sizeof(*r->funcs));
	}
	r->funcs[r->nfuncs++] = fi;
	return 0;
}

static int call_head(struct ctrace_reader *r, unsigned op, unsigned flags, struct ctrace_call *e,
		     const struct func_info **fn)
{
	bool exit = op == CT_OP_EXIT;
	struct ct_thread *t;
	uint64_t id = 0, dts;
	uint32_t tid = r->cur_tid;

	if (flags & CT_F_TID) {
		if (varint32(r, &tid))
			return -1;
	} else if (!r->have_cur) {
		return fail(r, "a call record with no thread");
	}
	t = thread_of(r, tid);
	e->h.tid = tid;
	e->depth = exit ? t->depth : t->depth + 1;
	e->lost = t->lost;
	if ((flags & CT_F_DEPTH) && svarint32(r, &e->depth))
		return -1;
	if ((flags & CT_F_LOST) && varint32(r, &e->lost))
		return -1;
	if (e->depth > r->max_depth || e->depth < -r->max_depth)
		return fail(r, "a call at depth %d", e->depth);
	if (!exit || (flags & CT_F_FN)) {
		if (varint(r, &id))
			return -1;
	} else if (e->depth < 0 || (uint32_t)e->depth >= t->nids || !t->ids[e->depth]) {
		return fail(r, "an exit with no function at depth %d", e->depth);
	} else {
		id = t->ids[e->depth];
	}
	if (func_of(r, id, fn) || varint(r, &dts))
		return -1;
	e->h.ts = t->last_ts + (uint64_t)ct_unzigzag(dts);
	e->fn = *fn ? (*fn)->addr : 0;

	r->have_cur = true;
	r->cur_tid = tid;
	ct_thread_after_call(t, &r->nids_total, e->h.ts, e->lost, e->depth, exit, (uint32_t)id);
	return 0;
}

/* len bytes of which at most max are stored */
static int get_bounded(struct ctrace_reader *r, uint8_t *dst, uint32_t len, uint32_t max)
{
	return get_bytes(r, dst, len < max ? len : max);
}

static int get_cap(struct ctrace_reader *r, struct ctrace_arg_cap *a)
{
	if (svarint32(r, &a->val_err) || varint32(r, &a->val_len) ||
	    get_bounded(r, a->val, a->val_len, CTRACE_CAP_VAL) || svarint32(r, &a->tgt_err) ||
	    varint32(r, &a->tgt_len))
		return -1;
	return get_bounded(r, a->tgt, a->tgt_len, CTRACE_CAP_TGT);
}

static int get_args(struct ctrace_reader *r, struct ctrace_call_args *e, size_t *size)
{
	size_t off = __builtin_offsetof(struct ctrace_call_args, arg), moff, slots, mslots = 0;
	uint64_t n;

	moff = __builtin_offsetof(struct ctrace_call_args, mstr);
	if (varint(r, &n))
		return -1;
	if (n < off || n > sizeof(*e))
		return fail(r, "an arguments record of %llu bytes", (unsigned long long)n);
	*size = n;
	slots = (n - off) / sizeof(struct ctrace_arg_cap);
	if (slots > CTRACE_MAX_ARGS)
		slots = CTRACE_MAX_ARGS;
	if (n > moff)
		mslots = (n - moff) / sizeof(struct ctrace_mstr_cap);
	if (varint_u64(r, &e->key) || varint32(r, &e->nargs) || varint32(r, &e->nmstr))
		return -1;
	for (size_t i = 0; i < slots; i++)
		if (get_cap(r, &e->arg[i]))
			return -1;
	for (size_t i = 0; i < mslots && i < CTRACE_MAX_MSTR; i++) {
		struct ctrace_mstr_cap *m = &e->mstr[i];

		if (svarint32(r, &m->err) || varint32(r, &m->len) ||
		    get_bounded(r, m->str, m->len, CTRACE_CAP_TGT))
			return -1;
	}
	return 0;
}

static int get_small(struct ctrace_reader *r, struct ctrace_call_args_small *e)
{
	uint32_t n;

	if (varint_u64(r, &e->key) || varint32(r, &e->nargs) || varint32(r, &e->pad))
		return -1;
	n = e->nargs < CTRACE_MAX_ARGS ? e->nargs : CTRACE_MAX_ARGS;
	for (uint32_t i = 0; i < n; i++) {
		if (svarint32(r, &e->arg[i].val_err) || varint32(r, &e->arg[i].val_len) ||
		    get_bounded(r, e->arg[i].val, e->arg[i].val_len, 2 * CTRACE_SMALL_VAL))
			return -1;
	}
	return 0;
}

static int get_retval(struct ctrace_reader *r, unsigned flags, struct ctrace_retval *e,
		      const struct func_info **fn)
{
	struct ct_thread *t;
	uint32_t tid = r->cur_tid;
	uint64_t id, dts;

	if (flags & CT_F_TID) {
		if (varint32(r, &tid))
			return -1;
	} else if (!r->have_cur) {
		return fail(r, "a return value with no thread");
	}
	t = thread_of(r, tid);
	if (varint(r, &id) || func_of(r, id, fn) || varint(r, &dts) || varint_u64(r, &e->fn) ||
	    varint_u64(r, &e->key) || varint_u64(r, &e->rax) || varint_u64(r, &e->rdx) ||
	    get_cap(r, &e->ret))
		return -1;
	e->h.kind = CTRACE_EV_RETVAL;
	e->h.tid = tid;
	e->h.ts = t->last_ts + (uint64_t)ct_unzigzag(dts);
	r->have_cur = true;
	r->cur_tid = tid;
	t->last_ts = e->h.ts;
	return 0;
}

static int get_raw(struct ctrace_reader *r, struct ctr_rec *out)
{
	uint64_t id, n;

	if (varint(r, &id) || func_of(r, id, &out->fn) || varint(r, &n))
		return -1;
	if (n < sizeof(struct ctrace_hdr) || n > CT_MAX_RAW)
		return fail(r, "a record of %llu bytes", (unsigned long long)n);
	out->size = n;
	memset(r->rec.raw, 0, n);
	return get_bytes(r, r->rec.raw, n);
}

static int get_crash(struct ctrace_reader *r, struct ctr_rec *out)
{
	uint64_t size, keep;

	if (varint(r, &size) || varint(r, &keep))
		return -1;
	if (size > CT_MAX_RAW || keep > size)
		return fail(r, "a crash record of %llu bytes", (unsigned long long)size);
	out->size = size;
	memset(r->rec.raw, 0, size);
	return get_bytes(r, r->rec.raw, keep);
}

static int get_text(struct ctrace_reader *r, struct ctr_rec *out)
{
	uint32_t what = 0;

	if (varint32(r, &what) || varint(r, &out->count) || get_str(r, CT_MAX_BLOB))
		return -1;
	out->what = what;
	out->str = r->str;
	out->len = strlen(r->str);
	return 0;
}

/* the body stays opaque here: ctrace_model.c reads it */
/* EXT SOURCE (--srcline): a function's line, kept on its func_info */
static int set_source(struct ctrace_reader *r)
{
	const uint8_t *p = (const uint8_t *)r->str, *end = p + r->nstr;
	uint64_t id = 0;
	struct func_info *fi;

	for (unsigned sh = 0; p < end && sh < 64; sh += 7) {
		id |= (uint64_t)(*p & 0x7f) << sh;
		if (!(*p++ & 0x80))
			break;
	}
	if (!id || id > r->nfuncs || p > end || memchr(p, 0, (size_t)(end - p)))
		return fail(r, "a damaged source line record");
	fi = r->funcs[id - 1];
	free(fi->source);
	fi->source = xstrdup((const char *)p); /* r->str ends with a NUL */
	return 0;
}

/* EXT CALLSITE (--srcline): the next ENTER's call site, named by id; its
 * line comes with its first use */
static int set_site(struct ctrace_reader *r)
{
	const uint8_t *p = (const uint8_t *)r->str, *end = p + r->nstr;
	uint64_t id = 0;

	for (unsigned sh = 0; p < end && sh < 64; sh += 7) {
		id |= (uint64_t)(*p & 0x7f) << sh;
		if (!(*p++ & 0x80))
			break;
	}
	if (p < end && id == (uint64_t)r->nsites + 1 && !memchr(p, 0, (size_t)(end - p))) {
		r->sites = xrealloc(r->sites, (r->nsites + 1) * sizeof(*r->sites));
		r->sites[r->nsites++] = xstrdup((const char *)p); /* r->str ends with a NUL */
	}
	if (!id || id > r->nsites || (p < end && id != r->nsites))
		return fail(r, "a damaged call site record");
	r->site = r->sites[id - 1];
	return 0;
}

static int get_ext(struct ctrace_reader *r, struct ctr_rec *out)
{
	uint32_t sub = 0;

	if (r->hdr.version < CTRACE_FILE_VERSION)
		return fail(r, "unknown record kind %u", CT_OP_EXT);
	if (varint32(r, &sub) || get_str(r, CT_MAX_BLOB))
		return -1;
	if (sub == CT_EXT_SOURCE && set_source(r))
		return -1;
	if (sub == CT_EXT_CALLSITE && set_site(r))
		return -1;
	out->what = sub;
	out->str = r->str;
	out->len = r->nstr;
	return 0;
}

static int decode(struct ctrace_reader *r, unsigned op, unsigned flags, struct ctr_rec *out)
{
	struct ctrace_call *c = &r->rec.args.c;

	/* an EXT CALLSITE names the call site of the event record next (the
	 * plan changes and the function's name may come between): an entry's */
	if (op == CT_OP_ENTER || op == CT_OP_ARGS || op == CT_OP_ARGS_SMALL)
		out->site = r->site;
	if (op != CT_OP_EXT && op != CT_OP_MARK && op != CT_OP_FUNC)
		r->site = NULL;
	/* the decoded record starts zeroed: bytes not stored were not sent */
	if (op == CT_OP_ENTER || op == CT_OP_EXIT)
		memset(c, 0, sizeof(*c));
	else if (op == CT_OP_ARGS || op == CT_OP_ARGS_SMALL || op == CT_OP_RETVAL)
		memset(&r->rec, 0, sizeof(r->rec.args));
	switch (op) {
	case CT_OP_FUNC: return read_func(r);
	case CT_OP_ENTER:
	case CT_OP_EXIT:
		c->h.kind = op == CT_OP_ENTER ? CTRACE_EV_ENTER : CTRACE_EV_EXIT;
		out->size = sizeof(*c);
		r->calls += op == CT_OP_ENTER;
		return call_head(r, op, flags, c, &out->fn);
	case CT_OP_ARGS:
		c->h.kind = CTRACE_EV_ENTER_ARGS;
		r->calls++;
		return call_head(r, op, flags, c, &out->fn) ||
		       get_args(r, &r->rec.args, &out->size);
	case CT_OP_ARGS_SMALL:
		c->h.kind = CTRACE_EV_ENTER_ARGS_SMALL;
		out->size = sizeof(struct ctrace_call_args_small);
		r->calls++;
		return call_head(r, op, flags, c, &out->fn) ||
		       get_small(r, (struct ctrace_call_args_small *)&r->rec);
	case CT_OP_RETVAL:
		out->size = sizeof(struct ctrace_retval);
		return get_retval(r, flags, (struct ctrace_retval *)&r->rec, &out->fn);
	case CT_OP_RAW: return get_raw(r, out);
	case CT_OP_CRASH: return get_crash(r, out);
	case CT_OP_NAME:
		if (varint32(r, &out->tid) || get_str(r, 64))
			return -1;
		out->str = r->str;
		out->len = strlen(r->str);
		return 0;
	case CT_OP_LOST: return varint32(r, &out->tid) || varint(r, &out->count) ? -1 : 0;
	case CT_OP_TEXT: return get_text(r, out);
	case CT_OP_END: r->ended = true; return 0;
	case CT_OP_MARK: return varint(r, &out->count);
	case CT_OP_EXT: return get_ext(r, out);
	}
	return fail(r, "unknown record kind %u", op);
}

int ctr_next(struct ctrace_reader *r, struct ctr_rec *out)
{
	for (;;) {
		int b;
		unsigned op;

		if (r->err[0])
			return -1;
		b = next_byte(r);
		if (b < 0)
			return 0;
		op = (unsigned)b >> 4;
		memset(out, 0, sizeof(*out));
		out->op = op;
		if (decode(r, op, (unsigned)b & 15, out))
			return -1;
		if (op == CT_OP_FUNC)
			continue;
		out->data = &r->rec;
		if (op == CT_OP_END)
			return 0;
		return 1;
	}
}

void ctr_free(struct ctrace_reader *r)
{
	uint64_t k;
	void *v;

	if (!r)
		return;
	for (uint32_t i = 0; i < r->nsites; i++)
		free(r->sites[i]);
	free(r->sites);
	for (uint32_t i = 0; i < r->nfuncs; i++) {
		free(r->funcs[i]->name);
		free(r->funcs[i]->source);
		free((char *)r->funcs[i]->module);
		free(r->funcs[i]);
	}
	free(r->funcs);
	for (size_t it = 0; u64map_next(&r->threads, &it, &k, &v);) {
		free(((struct ct_thread *)v)->ids);
		free(v);
	}
	u64map_free(&r->threads);
	free(r->str);
	free(r);
}
