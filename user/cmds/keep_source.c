/* --min-duration and --keep-if after the fact; see keep_source.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmds/ctrace_input.h"
#include "cmds/jsonread.h"
#include "cmds/keep_source.h"
#include "cmds/trace_input.h"
#include "consume/trace.h"
#include "find/keep_expr.h"
#include "write/jsonw.h"
#include "write/output.h"

/* ---- the metadata ---- */

char *keep_source_metadata(const char *meta, const struct trace *tr,
			   const struct keep_filter_opts *keep)
{
	struct jr *r = jr_new_mem(meta, strlen(meta), 0, 0);
	struct jr_buf val = { 0 };
	enum jr_tok t = r ? jr_next(r) : JR_ERROR;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool first = true, total = false, filtered = false, ok = f && t == JR_OBJ_BEGIN;

	if (ok)
		fputc('{', f);
	while (ok && (t = jr_next(r)) == JR_KEY) {
		char *k = strdup(jr_text(r, NULL));

		val.len = 0;
		t = jr_next(r);
		ok = k && t != JR_ERROR && jr_capture(r, t, &val, SIZE_MAX) != JR_ERROR;
		if (ok && !first && !filtered && !strcmp(k, "exit_code")) {
			output_write_filtered(f, tr, keep->min_duration_ns, keep->rules,
					      keep->nrules);
			filtered = true;
		}
		if (ok && strcmp(k, "filtered")) {
			fputs(first ? "" : ",", f);
			jsonw_cstr(f, k);
			fputc(':', f);
			if (!strcmp(k, "total_calls"))
				jsonw_u64(f, trace_total_calls(tr));
			else
				fwrite(val.p, 1, val.len, f);
			total |= !strcmp(k, "total_calls");
			first = false;
		}
		free(k);
	}
	/* a metadata object not the tracer's: what it lacks at its end */
	if (ok && !total) {
		fputs(first ? "\"total_calls\":" : ",\"total_calls\":", f);
		jsonw_u64(f, trace_total_calls(tr));
	}
	if (ok && !filtered)
		output_write_filtered(f, tr, keep->min_duration_ns, keep->rules, keep->nrules);
	ok = ok && t == JR_OBJ_END;
	if (f) {
		fputc('}', f);
		ok = !fclose(f) && ok;
	}
	jr_buf_free(&val);
	jr_free(r);
	if (!ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

void keep_wrap_sink(struct trace *tr, const struct keep_filter_opts *o)
{
	struct tree_sink *in = tr->sink;

	if (!in)
		return;
	tr->sink = NULL; /* wrapped, not freed */
	trace_set_sink(tr, keep_filter_wrap(in, o));
}

int keep_values_refused(const struct keep_filter_opts *o, char *err, size_t errlen)
{
	for (size_t i = 0; i < o->nrules; i++)
		if (o->rules[i].needs_args || o->rules[i].needs_retval) {
			snprintf(err, errlen,
				 "--keep-if '%s' tests %s, and this trace holds no captured "
				 "values (it was recorded without --args, --retval or --capture)",
				 o->rules[i].text,
				 o->rules[i].needs_retval ? "retval" : "an argument");
			return -1;
		}
	return 0;
}

/* ---- the options ---- */

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

static int walk_keep(void *src, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	struct keep_source *ks = src;

	if (strcmp(ks->in->reader->name, "ctrace"))
		return keep_json_walk(&ks->in->source, ks->spec, v, ctx, err, errlen);
	return ctrace_walk_keep(ks->in->f, &ks->spec->o, v, ctx, err, errlen);
}

void keep_source_init(struct keep_source *ks, const struct keep_spec *spec, struct trace_input *in)
{
	*ks = (struct keep_source){ .source = { .walk = walk_keep, .src = ks },
				    .spec = spec,
				    .in = in };
}
