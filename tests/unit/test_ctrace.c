/* Unit tests for user/record/: every record the writer gets comes back from
 * the reader as it went in (the implied thread, depth, loss count and exit
 * function included), with its function; a damaged file is refused. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consume/symbolize.h"
#include "ctrace.h"
#include "harness.h"
#include "record/ctrace_read.h"
#include "record/ctrace_write.h"

#define T0 1000000ull

struct sent {
	uint8_t buf[sizeof(struct ctrace_call_args)];
	size_t size;
	struct func_info *fn;
};

static struct func_info fns[3] = {
	{ .addr = 0x401000, .name = "main", .module = "prog", .allowed = true },
	{ .addr = 0x401100, .name = "work", .module = "prog", .allowed = true },
	{ .addr = 0x7f0000001000, .name = "lib_fn", .module = "lib.so" },
};

/* a call event (or the head of one with arguments: the caller adds them and
 * sets the size) */
static void call(struct sent *s, uint32_t kind, uint32_t tid, uint64_t ts, int32_t depth,
		 struct func_info *fn, uint32_t lost)
{
	struct ctrace_call *c = (void *)s->buf;

	memset(s, 0, sizeof(*s));
	c->h.kind = kind;
	c->h.tid = tid;
	c->h.ts = ts;
	c->depth = depth;
	c->fn = fn->addr;
	c->lost = lost;
	s->size = sizeof(*c);
	s->fn = fn;
}

static size_t make_events(struct sent *v)
{
	size_t n = 0;
	uint64_t ts = T0 + 5;
	struct ctrace_call_args *a;
	struct ctrace_call_args_small *sm;
	struct ctrace_retval *rv;
	struct ctrace_thread *th;

	call(&v[n++], CTRACE_EV_ENTER, 10, ts += 3, 1, &fns[0], 0);
	call(&v[n++], CTRACE_EV_ENTER, 10, ts += 300, 2, &fns[1], 0);
	call(&v[n++], CTRACE_EV_ENTER, 11, ts -= 2, 1, &fns[2], 0); /* another thread, earlier */
	call(&v[n++], CTRACE_EV_EXIT, 10, ts += 100000, 2, &fns[1], 0);
	call(&v[n++], CTRACE_EV_EXIT, 10, ts += 1, 7, &fns[2], 3); /* a gap: depth, fn, loss */
	call(&v[n++], CTRACE_EV_ENTER, 10, ts += 1, -4, &fns[0], 3);
	call(&v[n++], CTRACE_EV_EXIT, 11, ts += 1ull << 40, 1, &fns[2], 0);
	/* an ENTER_ARGS with two slots: a string and an int */
	call(&v[n], CTRACE_EV_ENTER_ARGS, 11, ts += 9, 1, &fns[2], 0);
	a = (void *)v[n].buf;
	a->key = fns[2].addr | 5ull << 48;
	a->nargs = 2;
	a->arg[0].val_len = 8;
	memcpy(a->arg[0].val, "\x10\x20\x30\x40\x50\x60\x70\x00", 8);
	a->arg[0].tgt_len = 6;
	memcpy(a->arg[0].tgt, "hello", 6);
	a->arg[1].val_len = 4;
	a->arg[1].val[0] = 42;
	a->arg[1].tgt_err = 1;
	v[n++].size = __builtin_offsetof(struct ctrace_call_args, arg) + 2 * sizeof(a->arg[0]);
	call(&v[n], CTRACE_EV_ENTER_ARGS_SMALL, 11, ts += 9, 2, &fns[1], 0);
	sm = (void *)v[n].buf;
	sm->key = 77;
	sm->nargs = 1;
	sm->arg[0].val_len = 4;
	sm->arg[0].val_err = -14;
	v[n++].size = sizeof(*sm);
	memset(&v[n], 0, sizeof(v[n]));
	rv = (void *)v[n].buf;
	rv->h.kind = CTRACE_EV_RETVAL;
	rv->h.tid = 11;
	rv->h.ts = ts += 2;
	rv->fn = fns[1].addr;
	rv->key = 99;
	rv->rax = 0xffffffffffffffffull;
	rv->ret.val_len = 8;
	rv->ret.tgt_err = 1;
	v[n].size = sizeof(*rv);
	v[n++].fn = &fns[1];
	memset(&v[n], 0, sizeof(v[n]));
	th = (void *)v[n].buf;
	th->h.kind = CTRACE_EV_THREAD_EXIT;
	th->h.tid = 11;
	th->h.ts = ts += 2;
	th->tgid = 10;
	th->group_dead = 1;
	memcpy(th->comm, "worker", 7);
	v[n++].size = sizeof(*th);
	return n;
}

static void test_round_trip(void)
{
	struct sent v[16];
	size_t n = make_events(v), i = 0;
	struct ctrace_file_hdr h = { .pid = 10, .t0 = T0, .mono_base = T0, .real_base = 7 };
	FILE *f = tmpfile();
	struct ctrace_writer *w = ctw_new(fileno(f), &h);
	struct ctrace_reader *r;
	struct ctr_rec rec;
	char err[128];
	uint8_t crash[64] = { 1, 2, 3 };
	int rc;

	for (size_t k = 0; k < 3; k++)
		fns[k].rec_id = 0;
	for (size_t k = 0; k < n; k++)
		ctw_event(w, v[k].buf, v[k].size, v[k].fn ? ctw_func(w, v[k].fn) : 0);
	ctw_crash(w, crash, sizeof(crash));
	ctw_name(w, 10, "renamed");
	ctw_lost(w, 11, 5);
	ctw_text(w, 1, 0, "{}", 2);
	ctw_end(w);
	CHECK_INT(ctw_flush(w), 0);
	CHECK_INT(ctw_calls(w), 6);
	ctw_free(w);
	rewind(f);
	r = ctr_open(f, err, sizeof(err));
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_INT(ctr_header(r)->pid, 10);
	CHECK(ctr_header(r)->t0 == T0 && ctr_header(r)->real_base == 7);
	while ((rc = ctr_next(r, &rec)) > 0 && i < n) {
		CHECK_INT(rec.size, v[i].size);
		CHECK(!memcmp(rec.data, v[i].buf, v[i].size));
		if (v[i].fn) {
			CHECK(rec.fn && rec.fn->addr == v[i].fn->addr);
			CHECK(rec.fn && !strcmp(rec.fn->name, v[i].fn->name));
			CHECK(rec.fn && !strcmp(rec.fn->module, v[i].fn->module));
			CHECK(rec.fn && rec.fn->allowed == v[i].fn->allowed);
		}
		i++;
	}
	CHECK_INT(i, n);
	CHECK(rec.op == CT_OP_CRASH && rec.size == sizeof(crash) && !memcmp(rec.data, crash, 3));
	CHECK(ctr_next(r, &rec) == 1 && rec.op == CT_OP_NAME && rec.tid == 10 &&
	      !strcmp(rec.str, "renamed"));
	CHECK(ctr_next(r, &rec) == 1 && rec.op == CT_OP_LOST && rec.tid == 11 && rec.count == 5);
	CHECK(ctr_next(r, &rec) == 1 && rec.op == CT_OP_TEXT && !strcmp(rec.str, "{}"));
	CHECK_INT(ctr_next(r, &rec), 0);
	CHECK(ctr_complete(r));
	ctr_free(r);
	fclose(f);
}

/* the file cut anywhere: refused or ended, never misread */
static void test_truncated(void)
{
	struct sent v[16];
	size_t n = make_events(v);
	struct ctrace_file_hdr h = { .pid = 10, .t0 = T0 };
	char *buf = NULL, err[128];
	size_t len = 0, bad = 0;
	FILE *f = tmpfile();
	struct ctrace_writer *w = ctw_new(fileno(f), &h);

	for (size_t k = 0; k < 3; k++)
		fns[k].rec_id = 0;
	for (size_t k = 0; k < n; k++)
		ctw_event(w, v[k].buf, v[k].size, v[k].fn ? ctw_func(w, v[k].fn) : 0);
	ctw_end(w);
	ctw_flush(w);
	ctw_free(w);
	len = (size_t)ftell(f);
	buf = malloc(len);
	rewind(f);
	CHECK(fread(buf, 1, len, f) == len);
	fclose(f);
	for (size_t cut = 0; cut < len; cut++) {
		FILE *m = fmemopen(buf, cut, "r");
		struct ctrace_reader *r = m ? ctr_open(m, err, sizeof(err)) : NULL;
		struct ctr_rec rec;
		int rc = -1;

		while (r && (rc = ctr_next(r, &rec)) > 0)
			;
		bad += !r || rc < 0 || !ctr_complete(r);
		ctr_free(r);
		if (m)
			fclose(m);
	}
	CHECK_INT(bad, len); /* every cut is noticed: no END */
	free(buf);
}

int main(void)
{
	test_round_trip();
	test_truncated();
	HARNESS_MAIN_END("test_ctrace");
}
