/* The compact trace's writer (doc/ctrace-format.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "consume/symbolize.h"
#include "ctrace.h"
#include "ctrace_plan.h"
#include "record/ctrace_model.h"
#include "record/ctrace_write.h"
#include "utils/u64map.h"
#include "utils/xalloc.h"

#define BUF_SIZE (1u << 20)
/* the largest record but a blob: an ENTER_ARGS with everything captured */
#define REC_MAX 8192

struct ctrace_writer {
	int fd;
	int err;
	uint8_t *buf;
	size_t pos;
	uint64_t bytes, calls;
	uint64_t t0;
	uint32_t nfuncs;
	uint32_t nsites; /* --srcline: call sites named so far */
	uint64_t nids_total;
	struct u64map threads; /* tid → struct ct_thread */
	uint32_t cur_tid;
	bool have_cur;
	struct model_enc *model; /* ctrace_model.c's type index */
};

static void flush_buf(struct ctrace_writer *w)
{
	size_t off = 0;

	while (off < w->pos && !w->err) {
		ssize_t n = write(w->fd, w->buf + off, w->pos - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			w->err = n < 0 ? errno : EIO;
		else
			off += (size_t)n;
	}
	w->pos = 0;
}

static uint8_t *room(struct ctrace_writer *w, size_t n)
{
	if (w->pos + n > BUF_SIZE)
		flush_buf(w);
	return w->buf + w->pos;
}

static void commit(struct ctrace_writer *w, const uint8_t *end)
{
	size_t n = (size_t)(end - (w->buf + w->pos));

	w->pos += n;
	w->bytes += n;
}

/* a blob of any length: through the buffer when small, else straight out */
static void put_bytes(struct ctrace_writer *w, const void *p, size_t n)
{
	if (n <= BUF_SIZE / 4) {
		memcpy(room(w, n), p, n);
		w->pos += n;
		w->bytes += n;
		return;
	}
	flush_buf(w);
	for (size_t off = 0; off < n && !w->err;) {
		ssize_t k = write(w->fd, (const char *)p + off, n - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			w->err = k < 0 ? errno : EIO;
		else
			off += (size_t)k;
	}
	w->bytes += n;
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

struct ctrace_writer *ctw_new(int fd, const struct ctrace_file_hdr *h)
{
	struct ctrace_writer *w = calloc(1, sizeof(*w));
	uint8_t hdr[CTRACE_FILE_HDR_LEN] = { 0 };

	if (!w || !(w->buf = malloc(BUF_SIZE))) {
		free(w);
		return NULL;
	}
	w->fd = fd;
	w->t0 = h->t0;
	memcpy(hdr, CTRACE_FILE_MAGIC, CTRACE_FILE_MAGIC_LEN);
	/* only a file with captured values has EXT records: the others stay
	 * readable by version-1 readers */
	le32(hdr + 8, h->flags & (CTRACE_FILE_F_ARGS | CTRACE_FILE_F_SRCLINE) ?
			      CTRACE_FILE_VERSION :
			      CTRACE_FILE_VERSION_1);
	le32(hdr + 12, h->pid);
	le64(hdr + 16, h->t0);
	le64(hdr + 24, h->mono_base);
	le64(hdr + 32, h->real_base);
	le32(hdr + 40, h->flags);
	put_bytes(w, hdr, sizeof(hdr));
	return w;
}

static struct ct_thread *thread_of(struct ctrace_writer *w, uint32_t tid)
{
	struct ct_thread *t = u64map_get(&w->threads, tid);

	if (t)
		return t;
	t = xcalloc(1, sizeof(*t));
	t->last_ts = w->t0;
	if (u64map_put(&w->threads, tid, t))
		abort(); /* out of memory: xalloc's policy */
	return t;
}

static uint8_t *put_str(uint8_t *p, const char *s, size_t n)
{
	p += ct_put_varint(p, n);
	memcpy(p, s, n);
	return p + n;
}

/* EXT SOURCE: the function's line, once, beside its FUNC record */
static void put_source(struct ctrace_writer *w, const struct func_info *fn)
{
	size_t n = strnlen(fn->source, 4096);
	uint8_t *b = malloc(10 + n), *p = b;

	if (!b) {
		w->err = w->err ? w->err : ENOMEM;
		return;
	}
	p += ct_put_varint(p, fn->rec_id);
	memcpy(p, fn->source, n);
	ctw_ext(w, CT_EXT_SOURCE, b, (size_t)(p - b) + n);
	free(b);
}

void ctw_site(struct ctrace_writer *w, struct call_site_info *si)
{
	size_t n = 0;
	uint8_t *b, *p;

	if (!si)
		return;
	if (!si->rec_id) { /* its first use: the line goes with it */
		si->rec_id = ++w->nsites;
		n = strnlen(si->loc, 4096);
	}
	b = p = malloc(10 + n);
	if (!b) {
		w->err = w->err ? w->err : ENOMEM;
		return;
	}
	p += ct_put_varint(p, si->rec_id);
	memcpy(p, si->loc, n);
	ctw_ext(w, CT_EXT_CALLSITE, b, (size_t)(p - b) + n);
	free(b);
}

uint32_t ctw_func(struct ctrace_writer *w, struct func_info *fn)
{
	size_t ml, nl;
	uint8_t *p;

	if (fn->rec_id)
		return fn->rec_id;
	fn->rec_id = ++w->nfuncs;
	/* a name longer than a quarter of the buffer is cut there (any real
	 * name is far shorter), so the record always fits the buffer */
	ml = strnlen(fn->module, 4096);
	nl = strnlen(fn->name, BUF_SIZE / 4);
	p = room(w, 40 + ml + nl);
	*p++ = CT_OP_FUNC << 4;
	p += ct_put_varint(p, fn->rec_id);
	p += ct_put_varint(p, fn->addr);
	*p++ = fn->allowed;
	p = put_str(p, fn->module, ml);
	p = put_str(p, fn->name, nl);
	commit(w, p);
	if (fn->source) /* --srcline */
		put_source(w, fn);
	return fn->rec_id;
}

/* The head of a call record: what the reader cannot imply from the thread's
 * state, then the time since the thread's previous call record. */
static uint8_t *call_head(struct ctrace_writer *w, uint8_t *p, enum ctrace_op op,
			  const struct ctrace_call *e, uint32_t fn)
{
	struct ct_thread *t = thread_of(w, e->h.tid);
	bool exit = op == CT_OP_EXIT;
	int32_t implied = exit ? t->depth : t->depth + 1;
	uint8_t *opp = p++;
	unsigned flags = 0;

	if (!w->have_cur || e->h.tid != w->cur_tid) {
		flags |= CT_F_TID;
		p += ct_put_varint(p, e->h.tid);
	}
	if (e->depth != implied) {
		flags |= CT_F_DEPTH;
		p += ct_put_varint(p, ct_zigzag(e->depth));
	}
	if (e->lost != t->lost) {
		flags |= CT_F_LOST;
		p += ct_put_varint(p, e->lost);
	}
	if (!exit || !fn || e->depth < 0 || (uint32_t)e->depth >= t->nids ||
	    t->ids[e->depth] != fn) {
		if (exit)
			flags |= CT_F_FN;
		p += ct_put_varint(p, fn);
	}
	p += ct_put_varint(p, ct_zigzag((int64_t)(e->h.ts - t->last_ts)));
	*opp = (uint8_t)(op << 4 | flags);

	w->have_cur = true;
	w->cur_tid = e->h.tid;
	ct_thread_after_call(t, &w->nids_total, e->h.ts, e->lost, e->depth, exit, fn);
	return p;
}

static uint8_t *put_bounded(uint8_t *p, const uint8_t *b, uint32_t len, uint32_t max)
{
	uint32_t n = len < max ? len : max;

	memcpy(p, b, n);
	return p + n;
}

static uint8_t *put_cap(uint8_t *p, const struct ctrace_arg_cap *a)
{
	p += ct_put_varint(p, ct_zigzag(a->val_err));
	p += ct_put_varint(p, a->val_len);
	p = put_bounded(p, a->val, a->val_len, CTRACE_CAP_VAL);
	p += ct_put_varint(p, ct_zigzag(a->tgt_err));
	p += ct_put_varint(p, a->tgt_len);
	return put_bounded(p, a->tgt, a->tgt_len, CTRACE_CAP_TGT);
}

/* the captures: only the bytes each value was given */
static uint8_t *put_args(uint8_t *p, const struct ctrace_call_args *e, size_t size)
{
	size_t off = __builtin_offsetof(struct ctrace_call_args, arg), moff;
	size_t slots = (size - off) / sizeof(struct ctrace_arg_cap), mslots = 0;

	moff = __builtin_offsetof(struct ctrace_call_args, mstr);
	if (slots > CTRACE_MAX_ARGS)
		slots = CTRACE_MAX_ARGS;
	if (size > moff)
		mslots = (size - moff) / sizeof(struct ctrace_mstr_cap);
	p += ct_put_varint(p, size);
	p += ct_put_varint(p, e->key);
	p += ct_put_varint(p, e->nargs);
	p += ct_put_varint(p, e->nmstr);
	for (size_t i = 0; i < slots; i++)
		p = put_cap(p, &e->arg[i]);
	for (size_t i = 0; i < mslots && i < CTRACE_MAX_MSTR; i++) {
		p += ct_put_varint(p, ct_zigzag(e->mstr[i].err));
		p += ct_put_varint(p, e->mstr[i].len);
		p = put_bounded(p, e->mstr[i].str, e->mstr[i].len, CTRACE_CAP_TGT);
	}
	return p;
}

static uint8_t *put_small(uint8_t *p, const struct ctrace_call_args_small *e)
{
	uint32_t n = e->nargs < CTRACE_MAX_ARGS ? e->nargs : CTRACE_MAX_ARGS;

	p += ct_put_varint(p, e->key);
	p += ct_put_varint(p, e->nargs);
	p += ct_put_varint(p, e->pad);
	for (uint32_t i = 0; i < n; i++) {
		p += ct_put_varint(p, ct_zigzag(e->arg[i].val_err));
		p += ct_put_varint(p, e->arg[i].val_len);
		p = put_bounded(p, e->arg[i].val, e->arg[i].val_len, 2 * CTRACE_SMALL_VAL);
	}
	return p;
}

static uint8_t *put_retval(struct ctrace_writer *w, uint8_t *p, const struct ctrace_retval *e,
			   uint32_t fn)
{
	struct ct_thread *t = thread_of(w, e->h.tid);
	uint8_t *opp = p++;
	unsigned flags = 0;

	if (!w->have_cur || e->h.tid != w->cur_tid) {
		flags |= CT_F_TID;
		p += ct_put_varint(p, e->h.tid);
	}
	*opp = (uint8_t)(CT_OP_RETVAL << 4 | flags);
	p += ct_put_varint(p, fn);
	p += ct_put_varint(p, ct_zigzag((int64_t)(e->h.ts - t->last_ts)));
	p += ct_put_varint(p, e->fn);
	p += ct_put_varint(p, e->key);
	p += ct_put_varint(p, e->rax);
	p += ct_put_varint(p, e->rdx);
	w->have_cur = true;
	w->cur_tid = e->h.tid;
	t->last_ts = e->h.ts;
	return put_cap(p, &e->ret);
}

static void put_raw(struct ctrace_writer *w, const void *data, size_t size, uint32_t fn)
{
	uint8_t *p = room(w, 24);

	*p++ = CT_OP_RAW << 4;
	p += ct_put_varint(p, fn);
	p += ct_put_varint(p, size);
	commit(w, p);
	put_bytes(w, data, size);
}

void ctw_event(struct ctrace_writer *w, const void *data, size_t size, uint32_t fn)
{
	const struct ctrace_hdr *h = data;
	uint8_t *p;

	if (size < sizeof(*h) || size > CT_MAX_RAW)
		return;
	p = room(w, REC_MAX);
	switch (h->kind) {
	case CTRACE_EV_ENTER_SITE: /* its site went just before (ctw_site) */
		if (size != sizeof(struct ctrace_call_site))
			break;
		size = sizeof(struct ctrace_call);
		/* fall through */
	case CTRACE_EV_ENTER:
	case CTRACE_EV_EXIT:
		if (size != sizeof(struct ctrace_call))
			break;
		w->calls += h->kind != CTRACE_EV_EXIT;
		commit(w, call_head(w, p, h->kind != CTRACE_EV_EXIT ? CT_OP_ENTER : CT_OP_EXIT,
				    data, fn));
		return;
	case CTRACE_EV_ENTER_ARGS:
		if (size < __builtin_offsetof(struct ctrace_call_args, arg) ||
		    size > sizeof(struct ctrace_call_args))
			break;
		w->calls++;
		p = call_head(w, p, CT_OP_ARGS, data, fn);
		commit(w, put_args(p, data, size));
		return;
	case CTRACE_EV_ENTER_ARGS_SMALL:
		if (size != sizeof(struct ctrace_call_args_small))
			break;
		w->calls++;
		p = call_head(w, p, CT_OP_ARGS_SMALL, data, fn);
		commit(w, put_small(p, data));
		return;
	case CTRACE_EV_RETVAL:
		if (size != sizeof(struct ctrace_retval))
			break;
		commit(w, put_retval(w, p, data, fn));
		return;
	}
	put_raw(w, data, size, fn);
}

void ctw_crash(struct ctrace_writer *w, const void *data, size_t size)
{
	const struct ctrace_crash_rec *r = data;
	size_t keep = size, head = __builtin_offsetof(struct ctrace_crash_rec, stack);
	uint8_t *p;

	if (size > CT_MAX_RAW)
		return;
	/* the stack copy: only what BPF filled */
	if (size >= sizeof(*r) && r->stack_len <= CTRACE_STACK_MAX)
		keep = head + r->stack_len;
	p = room(w, 24);
	*p++ = CT_OP_CRASH << 4;
	p += ct_put_varint(p, size);
	p += ct_put_varint(p, keep);
	commit(w, p);
	put_bytes(w, data, keep);
}

void ctw_name(struct ctrace_writer *w, uint32_t tid, const char *comm)
{
	size_t n = strnlen(comm, 64);
	uint8_t *p = room(w, 96);

	*p++ = CT_OP_NAME << 4;
	p += ct_put_varint(p, tid);
	commit(w, put_str(p, comm, n));
}

void ctw_lost(struct ctrace_writer *w, uint32_t tid, uint64_t n)
{
	uint8_t *p = room(w, 24);

	*p++ = CT_OP_LOST << 4;
	p += ct_put_varint(p, tid);
	p += ct_put_varint(p, n);
	commit(w, p);
}

void ctw_text(struct ctrace_writer *w, unsigned what, uint64_t key, const char *s, size_t len)
{
	uint8_t *p = room(w, 32);

	if (len > CT_MAX_BLOB) {
		w->err = w->err ? w->err : EFBIG;
		return;
	}
	*p++ = CT_OP_TEXT << 4;
	p += ct_put_varint(p, what);
	p += ct_put_varint(p, key);
	p += ct_put_varint(p, len);
	commit(w, p);
	put_bytes(w, s, len);
}

void ctw_mark(struct ctrace_writer *w, uint64_t n)
{
	uint8_t *p = room(w, 12);

	*p++ = CT_OP_MARK << 4;
	p += ct_put_varint(p, n);
	commit(w, p);
}

void ctw_ext(struct ctrace_writer *w, unsigned sub, const void *body, size_t len)
{
	uint8_t *p = room(w, 24);

	if (len > CT_MAX_BLOB) {
		w->err = w->err ? w->err : EFBIG;
		return;
	}
	*p++ = CT_OP_EXT << 4;
	p += ct_put_varint(p, sub);
	p += ct_put_varint(p, len);
	commit(w, p);
	put_bytes(w, body, len);
}

struct model_enc **ctw_model_enc(struct ctrace_writer *w)
{
	return &w->model;
}

void ctw_end(struct ctrace_writer *w)
{
	uint8_t *p = room(w, 1);

	*p++ = CT_OP_END << 4;
	commit(w, p);
}

int ctw_flush(struct ctrace_writer *w)
{
	flush_buf(w);
	return w->err;
}

int ctw_error(const struct ctrace_writer *w)
{
	return w->err;
}

uint64_t ctw_bytes(const struct ctrace_writer *w)
{
	return w->bytes;
}

uint64_t ctw_calls(const struct ctrace_writer *w)
{
	return w->calls;
}

void ctw_free(struct ctrace_writer *w)
{
	uint64_t k;
	void *v;

	if (!w)
		return;
	for (size_t it = 0; u64map_next(&w->threads, &it, &k, &v);) {
		free(((struct ct_thread *)v)->ids);
		free(v);
	}
	u64map_free(&w->threads);
	model_enc_free(w->model);
	free(w->buf);
	free(w);
}
