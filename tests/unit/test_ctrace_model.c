/* Unit tests for record/ctrace_model.c: the type table, the capture plans
 * and the settings written into a compact trace come back as they went in
 * (spelled and formatted the same); damaged tables are refused; a
 * version-1 file still converts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/capture_plans.h"
#include "attach/capture_state.h"
#include "cli.h"
#include "cmds/ctrace_input.h"
#include "find/dwarf_plans.h"
#include "find/pattern.h"
#include "harness.h"
#include "record/ctrace_format.h"
#include "record/ctrace_model.h"
#include "record/ctrace_read.h"
#include "record/ctrace_write.h"
#include "utils/u64map.h"
#include "write/value_fmt.h"

/* a little C program's types: a self-referencing struct (by pointer, through
 * a typedef), bit-fields, an enum, a function pointer, an array, a union */
static struct vtype t_int = { .kind = VT_INT, .size = 4, .name = "int" };
static struct vtype t_uint = { .kind = VT_UINT, .size = 4, .name = "unsigned int" };
static struct vtype t_char = { .kind = VT_CHAR, .size = 1, .name = "char", .is_signed = true };
static struct vtype t_cchar = { .kind = VT_QUAL, .quals = VTQ_CONST, .target = &t_char };
static struct vtype t_str = { .kind = VT_POINTER, .size = 8, .target = &t_cchar };
static struct vtype t_tag = { .kind = VT_ARRAY, .size = 8, .count = 8, .target = &t_char };
static struct venum colors[] = { { "RED", 0 }, { "GREEN", 5 }, { "NEG", -2 } };
static struct vtype t_color = { .kind = VT_ENUM,
				.size = 4,
				.name = "color",
				.nmembers = 3,
				.enumerators = colors,
				.target = &t_uint,
				.is_signed = true };
static struct vtype t_node;
static struct vtype t_node_t = { .kind = VT_TYPEDEF, .name = "node_t", .target = &t_node };
static struct vtype t_nodep = { .kind = VT_POINTER, .size = 8, .target = &t_node_t };
static const struct vtype *params[] = { &t_int, &t_nodep };
static struct vtype t_fn = {
	.kind = VT_FUNC, .count = 2, .params = params, .target = &t_int, .prototyped = true
};
static struct vtype t_fnp = { .kind = VT_POINTER, .size = 8, .target = &t_fn };
static struct vmember node_members[] = {
	{ .name = "v", .type = &t_int, .offset = 0 },
	{ .name = "bits", .type = &t_uint, .offset = 4, .bit_size = 3, .bit_offset = 2 },
	{ .name = "next", .type = &t_nodep, .offset = 8 },
	{ .name = "name", .type = &t_str, .offset = 16 },
	{ .name = "tag", .type = &t_tag, .offset = 24 },
	{ .name = "col", .type = &t_color, .offset = 32 },
	{ .name = "cb", .type = &t_fnp, .offset = 40 },
};
static struct vtype t_node = {
	.kind = VT_STRUCT, .size = 48, .name = "node", .nmembers = 7, .members = node_members
};

static const struct vtype *arg_types[] = { &t_node, &t_nodep, &t_fnp, &t_color, NULL };
#define NARGS 5

static struct site_entry *make_site(void)
{
	struct site_entry *se = calloc(1, sizeof(*se));
	struct site_info *si = calloc(1, sizeof(*si));

	se->si = si;
	se->key = 0x1234;
	se->fn = 0x1000;
	se->module = "prog";
	se->plan.nargs = 4;
	se->plan.arg[0] = (struct ctrace_arg_plan){ .npieces = 1, .size = 48 };
	se->plan.arg[0].piece[0] =
		(struct ctrace_piece){ .kind = CTRACE_LOC_MEM, .reg = 7, .size = 48, .val = -40 };
	se->plan.arg[1].follow = CTRACE_FOLLOW_DEREF;
	se->plan.arg[1].follow_size = 48;
	se->plan.nmstr = 1;
	se->plan.mstr_size = 129;
	se->plan.mstr[0] = (struct ctrace_mstr_plan){ .arg = 0, .off = 16 };
	si->function = strdup("work");
	si->site_vaddr = 0x1004;
	si->varargs = true;
	si->nargs = NARGS;
	si->args = calloc(NARGS, sizeof(*si->args));
	for (int i = 0; i < NARGS; i++) {
		char name[8];

		snprintf(name, sizeof(name), "a%d", i);
		si->args[i].name = strdup(name);
		si->args[i].type = si->args[i].fmt_type = arg_types[i];
		si->args[i].type_name = i == 0 ? strdup("node_t") : NULL;
	}
	snprintf(si->args[4].unavailable, sizeof(si->args[4].unavailable), "optimized out");
	return se;
}

/* a file with the settings and plans of c: its bytes (malloc'd) */
static uint8_t *write_model(struct capture *c, const struct config *cfg, size_t *len)
{
	struct ctrace_file_hdr h = { .pid = 1, .t0 = 5, .flags = CTRACE_FILE_F_ARGS };
	FILE *f = tmpfile();
	struct ctrace_writer *w = ctw_new(fileno(f), &h);
	uint8_t *buf;

	ctw_config(w, cfg);
	ctw_plans(w, c, 0);
	ctw_end(w);
	ctw_flush(w);
	ctw_free(w);
	*len = (size_t)ftell(f);
	buf = malloc(*len);
	rewind(f);
	if (fread(buf, 1, *len, f) != *len)
		*len = 0;
	fclose(f);
	return buf;
}

/* every EXT record of buf into m: 0, or -1 */
static int read_model(const uint8_t *buf, size_t len, struct ctrace_model *m, unsigned *version)
{
	FILE *f = fmemopen((void *)buf, len, "r");
	struct ctrace_reader *r = ctr_open(f, NULL, 0);
	struct ctr_rec rec;
	char err[160];
	int rc = -1;

	if (!r) {
		fclose(f);
		return -1;
	}
	*version = ctr_header(r)->version;
	while ((rc = ctr_next(r, &rec)) > 0)
		if (rec.op == CT_OP_EXT &&
		    model_apply(m, rec.what, (const uint8_t *)rec.str, rec.len, err, sizeof(err)))
			rc = -1;
	ctr_free(r);
	fclose(f);
	return rc;
}

/* t's spelling and a value of it formatted, as one string */
static char *render(const struct vtype *t, const void *val, size_t len)
{
	char *s = NULL, *sp = vtype_spell(t);
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	fprintf(f, "%s=", sp ? sp : "?");
	vfmt_value(f, t, val, len, NULL);
	fclose(f);
	free(sp);
	return s;
}

TEST(test_types_and_plans_round_trip)
{
	struct config cfg = { .args = true, .retval = true, .capture_filter = filter_new() };
	struct capture *c = capture_new(&cfg, NULL, NULL, false);
	struct site_entry *se = make_site();
	struct plan_op op = { .kind = PLAN_SITE, .key = se->key, .v = se };
	struct plan_op mod = { .kind = PLAN_MOD, .mod = { .start = 1, .end = 9, .gen = 2 } };
	struct ctrace_model *m = model_new();
	uint8_t val[48] = { 7, 0, 0, 0, 0x14 }, *buf;
	unsigned version = 0;
	char err[64];
	size_t len;

	val[24] = 'h';
	val[32] = 5;
	CHECK_INT(filter_add(cfg.capture_filter, "/^wo/", false, err, sizeof(err)), 0);
	snprintf(mod.mod.why, sizeof(mod.mod.why), "no debug info for x");
	capture_log_changes(c);
	capture_load_op(c, &mod);
	capture_load_op(c, &op);
	buf = write_model(c, &cfg, &len);
	CHECK_INT(read_model(buf, len, m, &version), 0);
	CHECK_INT(version, CTRACE_FILE_VERSION);

	struct capture *mc = model_capture(m);
	const struct site_entry *got;

	CHECK(mc->cfg->args && mc->cfg->retval && mc->cfg->capture_filter);
	CHECK(filter_allows(mc->cfg->capture_filter, "work", "work"));
	CHECK(!filter_allows(mc->cfg->capture_filter, "other", "other"));
	capture_replay_begin(mc);
	capture_replay_to(mc, SIZE_MAX);
	CHECK_INT(mc->nmods, 1);
	CHECK(mc->nmods == 1 && !strcmp(mc->mods[0].why, mod.mod.why) && mc->mods[0].gen == 2);
	got = u64map_get(&mc->sites, se->key);
	CHECK(got != NULL);
	if (got) {
		CHECK(!memcmp(&got->plan, &se->plan, sizeof(se->plan)));
		CHECK_STR(got->module, "prog");
		CHECK_STR(got->si->function, "work");
		CHECK(got->si->varargs && !got->si->inlined && got->si->site_vaddr == 0x1004);
		CHECK_INT(got->si->nargs, NARGS);
		for (int i = 0; i < NARGS && (size_t)i < got->si->nargs; i++) {
			const struct arg_info *a = &se->si->args[i], *b = &got->si->args[i];
			char *x = render(a->type, val, sizeof(val)),
			     *y = render(b->type, val, sizeof(val));

			CHECK_STR(b->name, a->name);
			CHECK_STR(b->type_name, a->type_name);
			CHECK_STR(b->unavailable, a->unavailable);
			CHECK_STR(y, x);
			CHECK(b->fmt_type == b->type);
			free(x);
			free(y);
		}
	}
	/* the struct's pointer member leads back to the struct itself */
	CHECK(got && got->si->args[1].type->target->target == got->si->args[0].type);
	model_free(m);
	capture_free(c);
	filter_free(cfg.capture_filter);
	free(buf);
}

/* one TYPES body applied to a fresh model */
static int apply_types(const uint8_t *body, size_t len)
{
	struct ctrace_model *m = model_new();
	char err[160];
	int rc = model_apply(m, CT_EXT_TYPES, body, len, err, sizeof(err));

	model_free(m);
	return rc;
}

TEST(test_damaged_type_tables_refused)
{
	/* first count | kind flags quals size count nmembers name target nlist ... */
	static const uint8_t ok[] = { 0, 1, VT_INT, 0, 0, 4, 0, 0, 4, 'i', 'n', 't', 0, 0 };
	/* a struct holding itself by value: a cycle with no pointer */
	static const uint8_t self[] = { 0, 1, VT_STRUCT, 0, 0, 8, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0 };
	/* a pointer to itself: a cycle no spelling stops on */
	static const uint8_t ptr[] = { 0, 1, VT_POINTER, 0, 0, 8, 0, 0, 0, 1, 0 };
	/* a reference past the table */
	static const uint8_t past[] = { 0, 1, VT_POINTER, 0, 0, 8, 0, 0, 0, 2, 0 };
	/* out of order, an unknown kind, a name past the body, a count too big */
	static const uint8_t order[] = { 3, 1, VT_INT, 0, 0, 4, 0, 0, 0, 0, 0 };
	static const uint8_t kind[] = { 0, 1, 99, 0, 0, 4, 0, 0, 0, 0, 0 };
	static const uint8_t name[] = { 0, 1, VT_INT, 0, 0, 4, 0, 0, 50, 'i' };
	static const uint8_t many[] = { 0, 0xff, 0xff, 0xff, 0x7f };

	CHECK_INT(apply_types(ok, sizeof(ok)), 0);
	CHECK_INT(apply_types(self, sizeof(self)), -1);
	CHECK_INT(apply_types(ptr, sizeof(ptr)), -1);
	CHECK_INT(apply_types(past, sizeof(past)), -1);
	CHECK_INT(apply_types(order, sizeof(order)), -1);
	CHECK_INT(apply_types(kind, sizeof(kind)), -1);
	CHECK_INT(apply_types(name, sizeof(name)), -1);
	CHECK_INT(apply_types(many, sizeof(many)), -1);
	CHECK_INT(apply_types(ok, sizeof(ok) - 1), -1);
}

/* written before version 2 (tests/progs/basic.c): converts as it did then */
TEST(test_version_1_file_converts)
{
	FILE *in = fopen("tests/unit/data/v1-basic.ctrace", "r");
	FILE *want = fopen("tests/unit/data/v1-basic.json", "r");
	char *got = NULL, exp[8192], err[256];
	size_t n = 0, k = 0;
	FILE *out = open_memstream(&got, &n);
	uint8_t head[12];

	CHECK(in && want);
	if (!in || !want)
		return;
	CHECK(fread(head, 1, sizeof(head), in) == sizeof(head) && head[8] == 1);
	rewind(in);
	CHECK_INT(ctrace_to_json(in, out, err, sizeof(err)), 0);
	fclose(out);
	k = fread(exp, 1, sizeof(exp) - 1, want);
	exp[k] = 0;
	CHECK_STR(got, exp);
	free(got);
	fclose(in);
	fclose(want);
}

HARNESS_MAIN("test_ctrace_model")
