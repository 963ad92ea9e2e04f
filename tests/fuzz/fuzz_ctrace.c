/* libFuzzer harness: the compact trace's reader (record/ctrace_read.c), fed
 * any bytes as a .ctrace file, and what the offline commands do with one
 * (cmds/ctrace_input.c: replay into the tree builder, then the JSON
 * document with the metadata and crash stored in it). The EXT records go
 * into a type model (record/ctrace_model.c) whatever the header's flags,
 * and every type it accepted is spelled and formatted: the walks must end.
 *
 * Checks: no memory error, leak or undefined behaviour; a conversion that
 * succeeds writes one JSON value (when it nests within cJSON's limit);
 * reading the same bytes twice gives the same records; the walk the other
 * formats take (the node spool, write/node_spool.c) gives every visitor
 * callback, with every field, that the JSON reader gives for that JSON. Calls deeper than
 * DEPTH_LIMIT are refused (a real trace's depth is bounded by BPF; the
 * tree builder opens one placeholder frame per level skipped). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds/ctrace_input.h"
#include "cmds/jsonread.h"
#include "consume/symbolize.h"
#include "fuzz_check.h"
#include "record/ctrace_model.h"
#include "record/ctrace_read.h"
#include "write/value_fmt.h"

#define DEPTH_LIMIT 200

/* the deepest nesting of doc, outside strings */
static size_t nesting(const char *doc, size_t n)
{
	size_t d = 0, max = 0;
	bool str = false;

	for (size_t i = 0; i < n; i++) {
		char c = doc[i];

		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
		} else if (c == '"') {
			str = true;
		} else if (c == '{' || c == '[') {
			if (++d > max)
				max = d;
		} else if ((c == '}' || c == ']') && d) {
			d--;
		}
	}
	return max;
}

/* every record read, counted; -1 on a damaged file */
static long read_all(const uint8_t *data, size_t size, uint64_t *sum, struct ctrace_model *model)
{
	FILE *f = fmemopen((void *)data, size, "r");
	struct ctrace_reader *r;
	struct ctr_rec rec;
	char err[256];
	long n = 0;
	int rc;

	if (!f)
		return -2;
	r = ctr_open(f, err, sizeof(err));
	if (!r) {
		fclose(f);
		return -1;
	}
	while ((rc = ctr_next(r, &rec)) > 0) {
		n++;
		*sum += rec.op * 31 + rec.size + (rec.fn ? rec.fn->addr : 0) + rec.count;
		if (rec.op == CT_OP_EXT && model &&
		    model_apply(model, rec.what, (const uint8_t *)rec.str, rec.len, err,
				sizeof(err)) < 0)
			FUZZ_ASSERT(err[0], "a refused EXT record says nothing");
	}
	ctr_free(r);
	fclose(f);
	return rc < 0 ? -1 : n;
}

/* ---- every visitor callback, hashed ---------------------------------------------- */

static void mix(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 0x100000001b3ull;
	*h = (*h ^ 0xff) * 0x100000001b3ull; /* ends it: "ab","c" is not "a","bc" */
}

static void mix_str(uint64_t *h, const char *s)
{
	mix(h, s ? s : "\1null", s ? strlen(s) : 5);
}

static void mix_u64(uint64_t *h, uint64_t v)
{
	mix(h, &v, sizeof(v));
}

static int h_node(void *ctx, const struct trace_node *n, size_t depth, int which)
{
	uint64_t *h = ctx;

	mix_u64(h, (uint64_t)which << 32 | depth);
	mix_str(h, n->function);
	mix_str(h, n->module);
	mix_str(h, n->address);
	mix_str(h, n->partial_reason);
	mix_str(h, n->arguments);
	mix_str(h, n->return_value);
	mix_u64(h, (uint64_t)n->has_start | n->has_end << 1 | n->has_duration << 2 |
			   n->partial << 3 | n->children_timed << 4);
	mix_u64(h, n->has_start ? n->start_ns : 0);
	mix_u64(h, n->has_end ? n->end_ns : 0);
	mix_u64(h, n->has_duration ? n->duration_ns : 0);
	mix_u64(h, which == 2 ? n->nchildren : 0);
	mix_u64(h, which == 2 ? n->children_ns : 0);
	return 0;
}

static int h_open(void *ctx, const struct trace_node *n, size_t depth)
{
	return h_node(ctx, n, depth, 1);
}

static int h_close(void *ctx, const struct trace_node *n, size_t depth)
{
	return h_node(ctx, n, depth, 2);
}

static int h_thread(void *ctx, const struct trace_thread *t, int which)
{
	uint64_t *h = ctx;

	mix_u64(h, (uint64_t)which);
	mix_str(h, t->key);
	mix_str(h, t->name);
	mix_str(h, t->more);
	mix_u64(h, (uint64_t)t->has_tid | t->has_total_calls << 1 | t->has_pid << 2);
	mix_u64(h, t->tid);
	mix_u64(h, t->total_calls);
	mix_u64(h, t->lost_events);
	mix_u64(h, t->calls);
	mix_u64(h, t->has_pid ? (uint64_t)t->pid : 0);
	return 0;
}

static int h_begin(void *ctx, const struct trace_thread *t)
{
	return h_thread(ctx, t, 3);
}

static int h_end(void *ctx, const struct trace_thread *t)
{
	return h_thread(ctx, t, 4);
}

static int h_meta(void *ctx, const struct trace_meta *m)
{
	mix_str(ctx, m->json);
	return 0;
}

static int h_crash(void *ctx, const char *json)
{
	mix_str(ctx, json);
	return 0;
}

static const struct trace_visitor hasher = { .metadata = h_meta,
					     .thread_begin = h_begin,
					     .node_open = h_open,
					     .node_close = h_close,
					     .thread_end = h_end,
					     .crash = h_crash };

/* a converted document's callbacks against the node spool's */
static void check_walks(const uint8_t *data, size_t size, const char *doc, size_t len)
{
	uint64_t hj = 0xcbf29ce484222325ull, hn = hj;
	FILE *in = fmemopen((void *)data, size, "r"), *d = fmemopen((void *)doc, len, "r");
	char err[512];

	if (!in || !d)
		abort();
	/* the JSON reader refuses what nests past its limits: nothing to compare */
	if (trace_walk(d, &hasher, &hj, err, sizeof(err))) {
		fclose(in);
		fclose(d);
		return;
	}
	FUZZ_ASSERT(!ctrace_walk_depth(in, DEPTH_LIMIT, &hasher, &hn, err, sizeof(err)),
		    "a compact trace converts to JSON but its node spool walk fails");
	FUZZ_ASSERT(hj == hn, "the node spool walk differs from the JSON's");
	fclose(in);
	fclose(d);
}

/* the types the model accepted, spelled and formatted from the input's bytes */
static void walk_types(const struct ctrace_model *m, const uint8_t *data, size_t size)
{
	uint8_t val[256] = { 0 };
	const struct vtype *t;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	memcpy(val, data, size < sizeof(val) ? size : sizeof(val));
	for (uint32_t i = 0; i < 256 && (t = model_type(m, i)); i++) {
		free(vtype_spell(t));
		vfmt_value(f, t, val, sizeof(val), NULL);
	}
	fclose(f);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctrace_model *model = model_new();
	uint64_t s1 = 0, s2 = 0;
	char *doc = NULL, err[512];
	size_t len = 0;
	FILE *in, *out;
	int rc;

	FUZZ_ASSERT(read_all(data, size, &s1, model) == read_all(data, size, &s2, NULL) &&
			    s1 == s2,
		    "the same bytes read twice differ");
	walk_types(model, data, size);
	model_free(model);
	in = fmemopen((void *)data, size, "r");
	out = open_memstream(&doc, &len);
	if (!in || !out)
		abort();
	rc = ctrace_to_json_depth(in, out, DEPTH_LIMIT, err, sizeof(err));
	fclose(in);
	fclose(out);
	if (!rc && nesting(doc, len) < 900)
		cJSON_Delete(fuzz_json_parse(doc, len, false, "the JSON of a compact trace"));
	if (!rc)
		check_walks(data, size, doc, len);
	else
		FUZZ_ASSERT(err[0], "a failed conversion says nothing");
	free(doc);
	return 0;
}
