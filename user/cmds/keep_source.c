/* --min-duration and --keep-if after the fact; see keep_source.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmds/ctrace_input.h"
#include "cmds/keep_source.h"
#include "cmds/trace_input.h"
#include "find/keep_expr.h"

static int add_rule(struct keep_spec *k, const char *arg, const char *cmd)
{
	struct keep_rule *r = realloc(k->rules, (k->nrules + 1) * sizeof(*r));
	char err[256];

	if (!r) {
		fprintf(stderr, "%s: out of memory\n", cmd);
		return 2;
	}
	k->rules = r;
	if (keep_rule_parse(&r[k->nrules], arg, err, sizeof(err))) {
		fprintf(stderr, "%s: --keep-if: %s\n", cmd, err);
		return 2;
	}
	k->nrules++;
	k->o.rules = k->rules;
	k->o.nrules = k->nrules;
	return 0;
}

int keep_option(struct keep_spec *k, int code, const char *arg, const char *cmd)
{
	const char *bad;

	if (code == KEEP_OPT_KEEP_IF)
		return add_rule(k, arg, cmd);
	if (keep_parse_duration(arg, &k->o.min_duration_ns, &bad)) {
		fprintf(stderr,
			"%s: invalid --min-duration '%s': expected a duration with its unit "
			"(ns, us, ms, s), e.g. 500us\n",
			cmd, arg);
		return 2;
	}
	k->o.min_duration = true;
	return 0;
}

bool keep_active(const struct keep_spec *k)
{
	return k && (k->o.min_duration || k->nrules);
}

void keep_spec_free(struct keep_spec *k)
{
	for (size_t i = 0; i < k->nrules; i++)
		keep_rule_free(&k->rules[i]);
	free(k->rules);
	memset(k, 0, sizeof(*k));
}

int keep_input_check(const struct keep_spec *k, const struct trace_input *in, char *err,
		     size_t errlen)
{
	if (!keep_active(k) || !strcmp(in->reader->name, "ctrace"))
		return 0;
	/* the JSON holds the trees as written: the events they came from, and
	 * the arguments' types, are not in it */
	snprintf(err, errlen,
		 "%s after the fact reads a compact trace (-o T.ctrace), and '%.200s' is %s: "
		 "record with -o T.ctrace, or give it while tracing",
		 k->o.min_duration ? "--min-duration" : "--keep-if", in->path,
		 !strcmp(in->reader->name, "jsonl") ? "JSONL" : "JSON");
	return -1;
}

static int walk_keep(void *src, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	struct keep_source *ks = src;

	if (keep_input_check(ks->spec, ks->in, err, errlen))
		return -1;
	return ctrace_walk_keep(ks->in->f, &ks->spec->o, v, ctx, err, errlen);
}

void keep_source_init(struct keep_source *ks, const struct keep_spec *spec, struct trace_input *in)
{
	*ks = (struct keep_source){ .source = { .walk = walk_keep, .src = ks },
				    .spec = spec,
				    .in = in };
}
