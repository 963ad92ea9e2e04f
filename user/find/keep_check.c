// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --keep-if's operands against FUNC's DWARF, before anything is attached:
 * a name FUNC has no parameter for, or the return value of a void FUNC,
 * is a mistake in the command, said at once. */
#include <stdio.h>
#include <string.h>
#include "find/dwarf_file.h"
#include "find/dwarf_plans.h"
#include "find/elf_image.h"
#include "find/keep_expr.h"

/* the parameters' names, for the message: "a, b" */
static void list_args(const struct site_info *si, char *out, size_t len)
{
	size_t n = 0;

	out[0] = 0;
	for (size_t i = 0; i < si->nargs && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s", i ? ", " : "",
				      si->args[i].name ? si->args[i].name : "?");
}

static int check_args(struct dwarf_ctx *c, const struct keep_rule *r, uint64_t addr, char *err,
		      size_t errlen)
{
	struct dwarf_plan_opts o = { 0 };
	struct ctrace_site_plan plan;
	struct site_info *si = NULL;
	char names[128];
	int rc = 0;

	if (dwarf_entry_plan(c, addr, &o, &plan, &si, err, errlen))
		return 0; /* DWARF does not describe it: told per call */
	for (int i = 0; i < r->nnodes && !rc; i++) {
		const struct keep_node *t = &r->nodes[i];
		size_t k = 0;

		if (t->kind != KEEP_TEST || t->what != KEEP_ARG)
			continue;
		while (k < si->nargs && (!si->args[k].name || strcmp(si->args[k].name, t->arg)))
			k++;
		if (k < si->nargs)
			continue;
		list_args(si, names, sizeof(names));
		snprintf(err, errlen, "%s has no parameter '%s' (%s%s)", r->func, t->arg,
			 si->nargs ? "it has: " : "it has none", names);
		rc = -1;
	}
	site_info_free(si);
	return rc;
}

static int check_retval(struct dwarf_ctx *c, const struct keep_rule *r, uint64_t addr, char *err,
			size_t errlen)
{
	struct dwarf_plan_opts o = { 0 };
	struct ctrace_arg_plan plan;
	struct arg_info ai = { 0 };
	int rc = 0;

	if (dwarf_ret_plan(c, addr, &o, &plan, &ai, err, errlen))
		return 0;
	if (!ai.type && !ai.unavailable[0]) {
		snprintf(err, errlen, "%s returns void: it has no retval to test", r->func);
		rc = -1;
	}
	arg_info_clear(&ai);
	return rc;
}

int keep_rules_check(const struct keep_rule *r, size_t n, const char *path,
		     const struct elf_image *img, char *err, size_t errlen)
{
	struct dwarf_ctx *c = NULL;
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		const struct elf_sym *s = elf_sym_find(img, r[i].func);

		if (!s || !(r[i].needs_args || r[i].needs_retval))
			continue;
		if (!c && dwarf_ctx_open(path, &c, err, errlen))
			break; /* no DWARF: each call says it */
		if (r[i].needs_args)
			rc = check_args(c, &r[i], s->addr, err, errlen);
		if (!rc && r[i].needs_retval)
			rc = check_retval(c, &r[i], s->addr, err, errlen);
	}
	dwarf_ctx_free(c);
	return rc;
}
