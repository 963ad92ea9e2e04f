/* libFuzzer harness: --keep-if and --min-duration values (find/keep_expr.c)
 * from arbitrary text: a rule parses, or fails with one line that names what
 * was expected; a parsed rule evaluates (operands from the input's bytes,
 * some unreadable) to 1, 0 or -1, the same twice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "find/keep_expr.h"
#include "fuzz_check.h"

struct vals {
	const uint8_t *data;
	size_t size;
};

static int lookup(void *ctx, const struct keep_node *t, struct keep_val *v)
{
	const struct vals *x = ctx;
	uint8_t b = x->size ? x->data[(size_t)t->what % x->size] : 0;

	memset(v, 0, sizeof(*v));
	if (b & 1)
		return -1;
	v->is_float = b & 2;
	v->d = (double)(int8_t)b / 3;
	v->i = (int8_t)b;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[256];
	struct vals x = { data, size };
	struct keep_rule r;
	const char *bad;
	uint64_t ns;

	FUZZ_ASSERT(text, "out of memory");
	memcpy(text, data, size);
	text[size] = 0;
	if (keep_parse_duration(text, &ns, &bad) == 0)
		FUZZ_ASSERT(*bad == 0, "a duration with something after it");
	err[0] = 0;
	if (keep_rule_parse(&r, text, err, sizeof(err))) {
		FUZZ_ASSERT(err[0] && !strchr(err, '\n'), "error not one line: '%s'", err);
		FUZZ_ASSERT(!strncmp(err, "expected ", 9), "error: '%s'", err);
	} else {
		int a = keep_rule_eval(&r, lookup, &x), b = keep_rule_eval(&r, lookup, &x);

		FUZZ_ASSERT(a == b && a >= -1 && a <= 1, "eval %d then %d", a, b);
		FUZZ_ASSERT(r.func && r.func[0] && r.root >= 0 && r.root < r.nnodes, "no rule");
		keep_rule_free(&r);
	}
	free(text);
	return 0;
}
