/* libFuzzer harness: the compact trace's reader (record/ctrace_read.c), fed
 * any bytes as a .ctrace file, and what the offline commands do with one
 * (cmds/ctrace_input.c: replay into the tree builder, then the JSON
 * document with the metadata and crash stored in it). The EXT records go
 * into a type model (record/ctrace_model.c) whatever the header's flags,
 * and every type it accepted is spelled and formatted: the walks must end.
 *
 * Checks: no memory error, leak or undefined behaviour; a conversion that
 * succeeds writes one JSON value (when it nests within cJSON's limit);
 * reading the same bytes twice gives the same records. Calls deeper than
 * DEPTH_LIMIT are refused (a real trace's depth is bounded by BPF; the
 * tree builder opens one placeholder frame per level skipped). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds/ctrace_input.h"
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
	else if (rc)
		FUZZ_ASSERT(err[0], "a failed conversion says nothing");
	free(doc);
	return 0;
}
