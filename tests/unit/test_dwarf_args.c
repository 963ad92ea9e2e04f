/* Unit test for user/find/dwarf_*.c (capture plans) and user/write/value_fmt.c
 * (typed JSON values).
 * - value formatting and type spelling on synthetic types and bytes (exact JSON);
 * - files without DWARF, not ELF, missing: clean errors;
 * - plans for tests/unit/data/args_c.c and args_cxx.cc built at -O0 and -O2:
 *   names, types, kinds; -O0 offsets against the code's own stores; -O2
 *   registers against a register-copy trace of the disassembly;
 * - end to end without BPF: gdb stops the targets at every enter-hook call
 *   (and, for return values, at each function's return), this binary executes
 *   the plan on the registers and memory there (--exec / --ret, the way the BPF
 *   side will) and the values must equal what the program printed about its own
 *   arguments. Skipped when gdb is missing.
 * Usage: test_dwarf_args [DATA_DIR]     (default tests/unit/data, from the repo root)
 *        test_dwarf_args --dump FILE    (every enter site's plan, for debugging) */
#include <asm/ptrace.h>
#include <capstone/capstone.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "find/dwarf_file.h"
#include "find/dwarf_plans.h"
#include "find/elf_image.h"
#include "harness.h"
#include "find/hook_sites.h"
#include "write/jsonw.h"
#include "write/value_fmt.h"

#define CHECKM(cond, ...) \
	HARNESS_RESULT((cond), printf("CHECK(%s) failed: ", #cond); printf(__VA_ARGS__))

static const char *data_dir = "tests/unit/data";
static bool gdb; /* the runs against real processes need it */

static const char *const regname[17] = {
	"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8",
	"r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip",
};

/* ---- helpers ---- */

/* what fn writes to a memory stream */
#define CAPTURE(buf, stmt)                               \
	do {                                             \
		size_t len_;                             \
		FILE *f = open_memstream(&(buf), &len_); \
		stmt;                                    \
		fclose(f);                               \
	} while (0)

static char *plan_desc(const struct ctrace_arg_plan *ap)
{
	char *s = NULL;
	size_t len;
	FILE *f = open_memstream(&s, &len);
	for (int i = 0; i < ap->npieces && i < CTRACE_MAX_PIECES; i++) {
		const struct ctrace_piece *p = &ap->piece[i];
		const char *r = p->reg < 17 ? regname[p->reg] : "?";
		if (i)
			fputc(' ', f);
		switch (p->kind) {
		case CTRACE_LOC_REG:
			fprintf(f, p->val ? "reg %s%+lld" : "reg %s", r, (long long)p->val);
			break;
		case CTRACE_LOC_MEM: fprintf(f, "mem [%s%+lld]", r, (long long)p->val); break;
		case CTRACE_LOC_MEM_ABS:
			fprintf(f, "mem [0x%llx%s]", (unsigned long long)p->val,
				p->flags & CTRACE_PIECE_BIAS ? "+bias" : "");
			break;
		case CTRACE_LOC_CONST:
			fprintf(f, "const %lld%s", (long long)p->val,
				p->flags & CTRACE_PIECE_BIAS ? "+bias" : "");
			break;
		default: fprintf(f, "kind %u", p->kind);
		}
		fprintf(f, ":%u", p->size);
	}
	if (ap->follow == CTRACE_FOLLOW_STRING)
		fprintf(f, " -> str %u", ap->follow_size);
	else if (ap->follow == CTRACE_FOLLOW_DEREF)
		fprintf(f, " -> deref %u", ap->follow_size);
	fclose(f);
	return s;
}

/* ---- the plan record ---- */

/* The register -> pt_regs slot map BPF reads registers with (ctrace_regs.h),
 * against the uapi struct pt_regs. */
TEST(test_ptregs)
{
	static const size_t off[CTRACE_NREGS] = {
		offsetof(struct pt_regs, rax), offsetof(struct pt_regs, rdx),
		offsetof(struct pt_regs, rcx), offsetof(struct pt_regs, rbx),
		offsetof(struct pt_regs, rsi), offsetof(struct pt_regs, rdi),
		offsetof(struct pt_regs, rbp), offsetof(struct pt_regs, rsp),
		offsetof(struct pt_regs, r8),  offsetof(struct pt_regs, r9),
		offsetof(struct pt_regs, r10), offsetof(struct pt_regs, r11),
		offsetof(struct pt_regs, r12), offsetof(struct pt_regs, r13),
		offsetof(struct pt_regs, r14), offsetof(struct pt_regs, r15),
		offsetof(struct pt_regs, rip), offsetof(struct pt_regs, eflags),
	};
	CHECK_INT(sizeof(struct pt_regs), CTRACE_PTREGS_NSLOTS * 8);
	for (unsigned r = 0; r < CTRACE_NREGS; r++)
		CHECK_INT(ctrace_ptregs_slot(r) * 8, off[r]);
	CHECK_INT(ctrace_ptregs_slot(CTRACE_NREGS), -1);
	CHECK_INT(sizeof(struct ctrace_site_plan), 272);
}

/* ---- synthetic types ---- */

static const struct vtype t_int = { .kind = VT_INT, .size = 4, .name = "int" };
static const struct vtype t_uint = { .kind = VT_UINT, .size = 4, .name = "unsigned int" };
static const struct vtype t_long = { .kind = VT_INT, .size = 8, .name = "long" };
static const struct vtype t_ulong = { .kind = VT_UINT, .size = 8, .name = "unsigned long" };
static const struct vtype t_short = { .kind = VT_INT, .size = 2, .name = "short" };
static const struct vtype t_i128 = { .kind = VT_INT, .size = 16, .name = "__int128" };
static const struct vtype t_char = {
	.kind = VT_CHAR, .size = 1, .is_signed = true, .name = "char"
};
static const struct vtype t_uchar = { .kind = VT_CHAR, .size = 1, .name = "unsigned char" };
static const struct vtype t_bool = { .kind = VT_BOOL, .size = 1, .name = "_Bool" };
static const struct vtype t_float = { .kind = VT_FLOAT, .size = 4, .name = "float" };
static const struct vtype t_double = { .kind = VT_FLOAT, .size = 8, .name = "double" };
static const struct vtype t_ldouble = { .kind = VT_FLOAT, .size = 16, .name = "long double" };
static const struct vtype t_half = { .kind = VT_FLOAT, .size = 2, .name = "_Float16" };
static const struct vtype t_cdouble = { .kind = VT_COMPLEX, .size = 16, .name = "complex double" };
static const struct vtype t_cchar = {
	.kind = VT_QUAL, .quals = VTQ_CONST, .size = 1, .target = &t_char
};
static const struct vtype t_pcchar = { .kind = VT_POINTER, .size = 8, .target = &t_cchar };
static const struct vtype t_cpcchar = {
	.kind = VT_QUAL, .quals = VTQ_CONST, .size = 8, .target = &t_pcchar
};
static const struct vtype t_pvoid = { .kind = VT_POINTER, .size = 8, .target = NULL };
static const struct vtype t_ppcchar = { .kind = VT_POINTER, .size = 8, .target = &t_pcchar };
static const struct venum colors[] = { { "RED", 0 }, { "GREEN", 5 }, { "BLUE", -1 } };
static const struct vtype t_color = { .kind = VT_ENUM,
				      .size = 4,
				      .is_signed = true,
				      .name = "color",
				      .target = &t_int,
				      .enumerators = colors,
				      .nmembers = 3 };
static const struct vtype t_size = {
	.kind = VT_TYPEDEF, .size = 8, .name = "size_t", .target = &t_ulong
};
static const struct vmember point_m[] = { { .name = "x", .type = &t_int, .offset = 0 },
					  { .name = "y", .type = &t_int, .offset = 4 } };
static const struct vtype t_point = {
	.kind = VT_STRUCT, .size = 8, .name = "point", .members = point_m, .nmembers = 2
};
static const struct vtype t_ppoint = { .kind = VT_POINTER, .size = 8, .target = &t_point };
static const struct vtype t_cpoint = {
	.kind = VT_QUAL, .quals = VTQ_CONST, .size = 8, .target = &t_point
};
static const struct vtype t_pcpoint = { .kind = VT_POINTER, .size = 8, .target = &t_cpoint };
static const struct vtype t_chars16 = {
	.kind = VT_ARRAY, .size = 16, .count = 16, .target = &t_char
};
static const struct vtype t_ints3 = { .kind = VT_ARRAY, .size = 12, .count = 3, .target = &t_int };
static const struct vtype t_ints2x2_in = {
	.kind = VT_ARRAY, .size = 8, .count = 2, .target = &t_int
};
static const struct vtype t_ints2x2 = {
	.kind = VT_ARRAY, .size = 16, .count = 2, .target = &t_ints2x2_in
};
static const struct vmember anon_m[] = { { .name = "u", .type = &t_short, .offset = 0 },
					 { .name = "v", .type = &t_short, .offset = 2 } };
static const struct vtype t_anon = {
	.kind = VT_STRUCT, .size = 4, .members = anon_m, .nmembers = 2
};
static const struct vmember rec_m[] = {
	{ .name = "name", .type = &t_chars16, .offset = 0 },
	{ .name = "at", .type = &t_point, .offset = 16 },
	{ .name = NULL, .type = &t_anon, .offset = 24 },
	{ .name = "vals", .type = &t_ints3, .offset = 28 },
	{ .name = "next", .type = &t_pvoid, .offset = 40 },
	{ .name = "c", .type = &t_color, .offset = 48 },
	{ .name = "lo", .type = &t_uint, .offset = 52, .bit_size = 3, .bit_offset = 0 },
	{ .name = "mid", .type = &t_int, .offset = 52, .bit_size = 5, .bit_offset = 3 },
	{ .name = "flag", .type = &t_bool, .offset = 53, .bit_size = 1, .bit_offset = 0 },
	{ .name = NULL, .type = &t_int, .offset = 53, .bit_size = 7, .bit_offset = 1 },
};
static const struct vtype t_rec = {
	.kind = VT_STRUCT, .size = 56, .name = "rec", .members = rec_m, .nmembers = 10
};
static const struct vtype t_prec = { .kind = VT_POINTER, .size = 8, .target = &t_rec };
static const struct vmember num_m[] = { { .name = "i", .type = &t_int },
					{ .name = "f", .type = &t_float },
					{ .name = "b", .type = &t_uchar } };
static const struct vtype t_num = {
	.kind = VT_UNION, .size = 4, .name = "num", .members = num_m, .nmembers = 3
};
static const struct vtype *const binop_params[] = { &t_int, &t_int };
static const struct vtype t_binop = {
	.kind = VT_FUNC, .count = 2, .prototyped = true, .target = &t_int, .params = binop_params
};
static const struct vtype t_pbinop = { .kind = VT_POINTER, .size = 8, .target = &t_binop };
static const struct vtype t_voidfn = { .kind = VT_FUNC, .prototyped = true };
static const struct vtype t_pvoidfn = { .kind = VT_POINTER, .size = 8, .target = &t_voidfn };
static const struct vtype t_pints3 = { .kind = VT_POINTER, .size = 8, .target = &t_ints3 };
static const struct vtype t_pconst = {
	.kind = VT_QUAL, .quals = VTQ_CONST, .size = 8, .target = &t_ppoint
};
static const struct vtype t_cxxs = { .kind = VT_STRUCT,
				     .size = 8,
				     .name = "ns::S",
				     .cxx = true,
				     .members = point_m,
				     .nmembers = 2 };
static const struct vtype t_ccxxs = {
	.kind = VT_QUAL, .quals = VTQ_CONST, .size = 8, .target = &t_cxxs, .cxx = true
};
static const struct vtype t_refs = { .kind = VT_REF, .size = 8, .target = &t_ccxxs, .cxx = true };
static const struct vtype t_rvint = { .kind = VT_RVREF, .size = 8, .target = &t_int, .cxx = true };
static const struct vtype t_this = {
	.kind = VT_QUAL, .quals = VTQ_CONST, .size = 8, .target = &t_pcpoint
};
static const struct vtype t_unknown = { .kind = VT_UNKNOWN, .name = "?" };
static const struct vtype t_loop = {
	.kind = VT_TYPEDEF, .size = 4, .name = "loop", .target = &t_loop
};
static const struct vmember big_m[] = { { .name = "head", .type = &t_int, .offset = 0 },
					{ .name = "tail", .type = &t_int, .offset = 96 } };
static const struct vtype t_big = {
	.kind = VT_STRUCT, .size = 100, .name = "big", .members = big_m, .nmembers = 2
};
static const struct vtype t_nested_in = {
	.kind = VT_STRUCT, .size = 8, .name = "in", .members = point_m, .nmembers = 2
};
static const struct vmember mid_m[] = { { .name = "in", .type = &t_nested_in } };
static const struct vtype t_mid = {
	.kind = VT_STRUCT, .size = 8, .name = "mid", .members = mid_m, .nmembers = 1
};
static const struct vmember out_m[] = { { .name = "mid", .type = &t_mid } };
static const struct vtype t_outer = {
	.kind = VT_STRUCT, .size = 8, .name = "outer", .members = out_m, .nmembers = 1
};

static void check_spell(const struct vtype *t, const char *want)
{
	char *s = vtype_spell(t);
	CHECK_STR(s, want);
	free(s);
}

TEST(test_spelling)
{
	check_spell(&t_int, "int");
	check_spell(NULL, "void");
	check_spell(&t_pcchar, "const char *");
	check_spell(&t_cpcchar, "const char *const");
	check_spell(&t_ppcchar, "const char **");
	check_spell(&t_pvoid, "void *");
	check_spell(&t_color, "enum color");
	check_spell(&t_size, "size_t");
	check_spell(&t_point, "struct point");
	check_spell(&t_ppoint, "struct point *");
	check_spell(&t_pcpoint, "const struct point *");
	check_spell(&t_pconst, "struct point *const");
	check_spell(&t_num, "union num");
	check_spell(&t_chars16, "char [16]");
	check_spell(&t_ints2x2, "int [2][2]");
	check_spell(&t_pints3, "int (*)[3]");
	check_spell(&t_pbinop, "int (*)(int, int)");
	check_spell(&t_pvoidfn, "void (*)(void)");
	check_spell(&t_anon, "struct {...}");
	check_spell(&t_refs, "const ns::S &");
	check_spell(&t_rvint, "int &&");
	check_spell(&t_this, "const struct point *const");
	check_spell(&t_loop, "loop");
	CHECK(vtype_strip(&t_loop) == NULL); /* a typedef cycle ends */
}

/* one ARG object from bytes */
static char *arg_json(const char *name, const struct vtype *t, const void *val, uint32_t len,
		      const void *tgt, uint32_t tlen, int terr, bool ttrunc,
		      const struct vfmt_opts *o)
{
	struct vfmt_capture cap = { .val = val,
				    .val_len = len,
				    .tgt = tgt,
				    .tgt_len = tlen,
				    .tgt_err = terr,
				    .tgt_truncated = ttrunc };
	char *out = NULL;
	CAPTURE(out, vfmt_arg(f, name, NULL, t, &cap, NULL, o));
	return out;
}

#define CHECK_ARG(want, ...)                        \
	do {                                        \
		char *got_ = arg_json(__VA_ARGS__); \
		CHECK_STR(got_, want);              \
		free(got_);                         \
	} while (0)

/* a CHECK_ARGS case: what arg_json gives for the rest */
struct arg_case {
	const char *want, *name;
	const struct vtype *t;
	const void *val;
	uint32_t len;
	const void *tgt;
	uint32_t tlen;
	int terr;
	bool ttrunc;
	const struct vfmt_opts *o;
};

static void check_args(const struct arg_case *c)
{
	for (; c->want; c++)
		CHECK_ARG(c->want, c->name, c->t, c->val, c->len, c->tgt, c->tlen, c->terr,
			  c->ttrunc, c->o);
}

/* CHECK_ARG for each case: CHECK_ARGS({ want, name, type, val, len[, tgt, ...] }, ...) */
#define CHECK_ARGS(...) check_args((const struct arg_case[]){ __VA_ARGS__, { 0 } })

static const char *sym_cb(void *ctx, uint64_t addr)
{
	(void)ctx;
	return addr == 0x401136 ? "add_ints" : NULL;
}

TEST(test_format)
{
	int32_t i = -7;
	uint32_t u = 4000000000u;
	int64_t l = INT64_MIN;
	uint64_t ul = UINT64_MAX;
	int16_t sh = -300;
	unsigned __int128 big = ((unsigned __int128)1 << 100) + 5;
	__int128 nbig = -(__int128)big;
	char ch = 'A';
	unsigned char uc = 200;
	uint8_t bt = 1, bf = 0;
	float fl = 1.5f;
	double db = 0.1, nan = __builtin_nan("");
	long double ld = 2.5L;
	uint16_t half = 0x3e00; /* 1.5 */
	double cplx[2] = { 1.5, -2 };

	CHECK_ARGS(
		{ "{\"name\":\"a\",\"type\":\"int\",\"value\":-7}", "a", &t_int, &i, 4, NULL, 0, 0,
		  false, NULL },
		{ "{\"name\":\"a\",\"type\":\"unsigned int\",\"value\":4000000000}", "a", &t_uint,
		  &u, 4, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"l\",\"type\":\"long\",\"value\":-9223372036854775808}", "l", &t_long,
		  &l, 8, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"l\",\"type\":\"size_t\",\"value\":18446744073709551615}", "l",
		  &t_size, &ul, 8, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"s\",\"type\":\"short\",\"value\":-300}", "s", &t_short, &sh, 2, NULL,
		  0, 0, false, NULL },
		{ "{\"name\":\"q\",\"type\":\"__int128\",\"value\":1267650600228229401496703205381}",
		  "q", &t_i128, &big, 16, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"q\",\"type\":\"__int128\",\"value\":-1267650600228229401496703205381}",
		  "q", &t_i128, &nbig, 16, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"c\",\"type\":\"char\",\"value\":65}", "c", &t_char, &ch, 1, NULL, 0,
		  0, false, NULL },
		{ "{\"name\":\"c\",\"type\":\"unsigned char\",\"value\":200}", "c", &t_uchar, &uc,
		  1, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"b\",\"type\":\"_Bool\",\"value\":true}", "b", &t_bool, &bt, 1, NULL,
		  0, 0, false, NULL },
		{ "{\"name\":\"b\",\"type\":\"_Bool\",\"value\":false}", "b", &t_bool, &bf, 1, NULL,
		  0, 0, false, NULL },
		{ "{\"name\":\"f\",\"type\":\"float\",\"value\":1.5}", "f", &t_float, &fl, 4, NULL,
		  0, 0, false, NULL },
		{ "{\"name\":\"d\",\"type\":\"double\",\"value\":0.1}", "d", &t_double, &db, 8,
		  NULL, 0, 0, false, NULL },
		{ "{\"name\":\"d\",\"type\":\"double\",\"value\":\"nan\"}", "d", &t_double, &nan, 8,
		  NULL, 0, 0, false, NULL },
		{ "{\"name\":\"d\",\"type\":\"long double\",\"value\":2.5}", "d", &t_ldouble, &ld,
		  16, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"h\",\"type\":\"_Float16\",\"value\":1.5}", "h", &t_half, &half, 2,
		  NULL, 0, 0, false, NULL },
		{ "{\"name\":\"z\",\"type\":\"complex double\",\"value\":[1.5,-2]}", "z",
		  &t_cdouble, cplx, 16, NULL, 0, 0, false, NULL });

	/* enums: the name, or the number, always with raw */
	int32_t e5 = 5, em1 = -1, e9 = 9;
	CHECK_ARGS({ "{\"name\":\"c\",\"type\":\"enum color\",\"value\":\"GREEN\",\"raw\":5}", "c",
		     &t_color, &e5, 4, NULL, 0, 0, false, NULL },
		   { "{\"name\":\"c\",\"type\":\"enum color\",\"value\":\"BLUE\",\"raw\":-1}", "c",
		     &t_color, &em1, 4, NULL, 0, 0, false, NULL },
		   { "{\"name\":\"c\",\"type\":\"enum color\",\"value\":9,\"raw\":9}", "c",
		     &t_color, &e9, 4, NULL, 0, 0, false, NULL });

	/* pointers and strings */
	uint64_t p = 0x7ffd1000, nul = 0, fp = 0x401136;
	CHECK_ARGS(
		{ "{\"name\":\"p\",\"type\":\"void *\",\"value\":\"0x7ffd1000\"}", "p", &t_pvoid,
		  &p, 8, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"s\",\"type\":\"const char *\",\"value\":\"hi \\\"x\\\"\\n\",\"address\":\"0x7ffd1000\"}",
		  "s", &t_pcchar, &p, 8, "hi \"x\"\n", 7, 0, false, NULL },
		{ "{\"name\":\"s\",\"type\":\"const char *\",\"value\":\"ab\xef\xbf\xbd"
		  "c\",\"address\":\"0x7ffd1000\",\"truncated\":true}",
		  "s", &t_pcchar, &p, 8,
		  "ab\xff"
		  "c",
		  4, 0, true, NULL },
		{ "{\"name\":\"s\",\"type\":\"const char *\",\"value\":null,\"address\":\"0x0\"}",
		  "s", &t_pcchar, &nul, 8, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"s\",\"type\":\"const char *\",\"value\":null,\"address\":\"0x7ffd1000\",\"unavailable\":\"cannot read the string at 0x7ffd1000: Bad address\"}",
		  "s", &t_pcchar, &p, 8, NULL, 0, -EFAULT, false, NULL },
		{ "{\"name\":\"pp\",\"type\":\"const char **\",\"value\":\"0x7ffd1000\"}", "pp",
		  &t_ppcchar, &p, 8, NULL, 0, 0, false, NULL });
	struct vfmt_opts so = { .symbolize = sym_cb };
	CHECK_ARGS(
		{ "{\"name\":\"op\",\"type\":\"int (*)(int, int)\",\"value\":\"0x401136\",\"function\":\"add_ints\"}",
		  "op", &t_pbinop, &fp, 8, NULL, 0, 0, false, &so },
		{ "{\"name\":\"op\",\"type\":\"int (*)(int, int)\",\"value\":\"0x7ffd1000\"}", "op",
		  &t_pbinop, &p, 8, NULL, 0, 0, false, &so });

	/* structs: by value, behind a pointer, cut, nested, bit-fields, anonymous members */
	int32_t pt[2] = { 3, -4 };
	CHECK_ARGS(
		{ "{\"name\":\"q\",\"type\":\"struct point\",\"value\":{\"x\":3,\"y\":-4}}", "q",
		  &t_point, pt, 8, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"q\",\"type\":\"struct point *\",\"value\":{\"x\":3,\"y\":-4},\"address\":\"0x7ffd1000\"}",
		  "q", &t_ppoint, &p, 8, pt, 8, 0, false, NULL },
		{ "{\"name\":\"q\",\"type\":\"const struct point *\",\"value\":{\"x\":3},\"address\":\"0x7ffd1000\",\"truncated\":true}",
		  "q", &t_pcpoint, &p, 8, pt, 6, 0, false, NULL },
		{ "{\"name\":\"q\",\"type\":\"struct point *\",\"value\":null,\"address\":\"0x7ffd1000\",\"unavailable\":\"cannot read memory at 0x7ffd1000: Bad address\"}",
		  "q", &t_ppoint, &p, 8, NULL, 0, -EFAULT, false, NULL },
		{ "{\"name\":\"q\",\"type\":\"struct point *\",\"value\":null,\"address\":\"0x0\"}",
		  "q", &t_ppoint, &nul, 8, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"r\",\"type\":\"const ns::S &\",\"value\":{\"x\":3,\"y\":-4},\"address\":\"0x7ffd1000\"}",
		  "r", &t_refs, &p, 8, pt, 8, 0, false, NULL },
		{ "{\"name\":\"r\",\"type\":\"int &&\",\"value\":3,\"address\":\"0x7ffd1000\"}",
		  "r", &t_rvint, &p, 8, pt, 4, 0, false, NULL });

	uint8_t rec[56];
	memset(rec, 0, sizeof(rec));
	memcpy(rec, "name\0junk", 9);
	memcpy(rec + 16, pt, 8);
	int16_t uv[2] = { -1, 2 };
	memcpy(rec + 24, uv, 4);
	int32_t vals[3] = { 10, 20, 30 };
	memcpy(rec + 28, vals, 12);
	memcpy(rec + 40, &p, 8);
	memcpy(rec + 48, &e5, 4);
	rec[52] = 5 | (0x1e << 3); /* lo = 5, mid = 0b11110 = -2 */
	rec[53] = 1 | 0xfe;	   /* flag, then 7 bits of unnamed padding */
	const char *rec_json =
		"{\"name\":\"name\",\"at\":{\"x\":3,\"y\":-4},\"u\":-1,\"v\":2,\"vals\":[10,20,30],"
		"\"next\":\"0x7ffd1000\",\"c\":\"GREEN\",\"lo\":5,\"mid\":-2,\"flag\":true}";
	char want[1024];
	snprintf(want, sizeof(want), "{\"name\":\"r\",\"type\":\"struct rec\",\"value\":%s}",
		 rec_json);
	CHECK_ARG(want, "r", &t_rec, rec, 56, NULL, 0, 0, false, NULL);
	snprintf(
		want, sizeof(want),
		"{\"name\":\"r\",\"type\":\"struct rec *\",\"value\":%s,\"address\":\"0x7ffd1000\"}",
		rec_json);
	CHECK_ARG(want, "r", &t_prec, &p, 8, rec, 56, 0, false, NULL);
	/* only 30 bytes: members past them are left out */
	CHECK_ARG(
		"{\"name\":\"r\",\"type\":\"struct rec\",\"value\":{\"name\":\"name\",\"at\":{\"x\":3,\"y\":-4},\"u\":-1,\"v\":2,\"vals\":[]},\"truncated\":true}",
		"r", &t_rec, rec, 30, NULL, 0, 0, false, NULL);
	/* a char array without NUL, cut by the capture */
	CHECK_ARG(
		"{\"name\":\"r\",\"type\":\"struct rec\",\"value\":{\"name\":\"abcdefgh\"},\"truncated\":true}",
		"r", &t_rec, "abcdefgh", 8, NULL, 0, 0, false, NULL);
	uint8_t bigb[100] = { 7 };
	CHECK_ARG(
		"{\"name\":\"b\",\"type\":\"struct big\",\"value\":{\"head\":7},\"truncated\":true}",
		"b", &t_big, bigb, 64, NULL, 0, 0, false, NULL);
	float pi = 3.140625f;
	CHECK_ARG(
		"{\"name\":\"n\",\"type\":\"union num\",\"value\":{\"i\":1078525952,\"f\":3.140625,\"b\":0}}",
		"n", &t_num, &pi, 4, NULL, 0, 0, false, NULL);
	int32_t i4[4] = { 1, 2, 3, 4 };
	CHECK_ARG("{\"name\":\"m\",\"type\":\"int [2][2]\",\"value\":[[1,2],[3,4]]}", "m",
		  &t_ints2x2, i4, 16, NULL, 0, 0, false, NULL);
	struct vfmt_opts shallow = { .max_depth = 2 };
	CHECK_ARG(
		"{\"name\":\"o\",\"type\":\"struct outer\",\"value\":{\"mid\":{\"in\":null}},\"truncated\":true}",
		"o", &t_outer, pt, 8, NULL, 0, 0, false, &shallow);
	struct vfmt_opts few = { .max_elems = 2 };
	CHECK_ARG("{\"name\":\"m\",\"type\":\"int [3]\",\"value\":[1,2],\"truncated\":true}", "m",
		  &t_ints3, i4, 12, NULL, 0, 0, false, &few);

	/* unavailable: given, read errors, short captures, unknown types */
	char *out = NULL;
	CAPTURE(out, vfmt_arg(f, "a", "int", &t_int, NULL,
			      "in xmm1: BPF cannot read vector registers", NULL));
	CHECK_STR(
		out,
		"{\"name\":\"a\",\"type\":\"int\",\"value\":null,\"unavailable\":\"in xmm1: BPF cannot read vector registers\"}");
	free(out);
	struct vfmt_capture bad = { .val_err = -EFAULT };
	CAPTURE(out, vfmt_arg(f, "a", NULL, &t_int, &bad, NULL, NULL));
	CHECK_STR(
		out,
		"{\"name\":\"a\",\"type\":\"int\",\"value\":null,\"unavailable\":\"cannot read the value: Bad address\"}");
	free(out);
	CHECK_ARGS(
		{ "{\"name\":\"a\",\"type\":\"long\",\"value\":null,\"unavailable\":\"value not captured\"}",
		  "a", &t_long, &i, 4, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"a\",\"type\":\"?\",\"value\":null,\"unavailable\":\"type not supported\"}",
		  "a", &t_unknown, &i, 4, NULL, 0, 0, false, NULL },
		{ "{\"name\":\"a\",\"type\":\"loop\",\"value\":null,\"unavailable\":\"type not supported\"}",
		  "a", &t_loop, &i, 4, NULL, 0, 0, false, NULL });
	/* return values have no name; member names from the target are escaped */
	CAPTURE(out, vfmt_arg(f, NULL, NULL, &t_int,
			      &(struct vfmt_capture){ .val = &i, .val_len = 4 }, NULL, NULL));
	CHECK_STR(out, "{\"type\":\"int\",\"value\":-7}");
	free(out);
	static const struct vmember evil_m[] = { { .name = "a\"b\xff", .type = &t_int } };
	static const struct vtype t_evil = {
		.kind = VT_STRUCT, .size = 4, .name = "e\x01", .members = evil_m, .nmembers = 1
	};
	CHECK_ARG(
		"{\"name\":\"e\",\"type\":\"struct e\\u0001\",\"value\":{\"a\\\"b\xef\xbf\xbd\":-7}}",
		"e", &t_evil, &i, 4, NULL, 0, 0, false, NULL);

	/* what the plan builder is told to capture */
	struct vcap_spec sp;
	vtype_capture_spec(&t_int, 64, 64, &sp);
	CHECK(sp.size == 4 && sp.follow == CTRACE_FOLLOW_NONE && !sp.cut);
	vtype_capture_spec(&t_cpcchar, 100, 64, &sp);
	CHECK(sp.size == 8 && sp.follow == CTRACE_FOLLOW_STRING && sp.follow_size == 100);
	vtype_capture_spec(&t_pcchar, 1000, 64, &sp);
	CHECK(sp.follow == CTRACE_FOLLOW_STRING && sp.follow_size == CTRACE_FOLLOW_MAX);
	vtype_capture_spec(&t_prec, 64, 32, &sp);
	CHECK(sp.size == 8 && sp.follow == CTRACE_FOLLOW_DEREF && sp.follow_size == 32);
	vtype_capture_spec(&t_ppoint, 64, 64, &sp);
	CHECK(sp.follow == CTRACE_FOLLOW_DEREF && sp.follow_size == 8);
	vtype_capture_spec(&t_refs, 64, 64, &sp);
	CHECK(sp.follow == CTRACE_FOLLOW_DEREF && sp.follow_size == 8);
	vtype_capture_spec(&t_ppcchar, 64, 64, &sp);
	CHECK(sp.size == 8 && sp.follow == CTRACE_FOLLOW_NONE);
	vtype_capture_spec(&t_pbinop, 64, 64, &sp);
	CHECK(sp.size == 8 && sp.follow == CTRACE_FOLLOW_NONE);
	vtype_capture_spec(&t_big, 64, 64, &sp);
	CHECK(sp.size == 64 && sp.cut);
	vtype_capture_spec(NULL, 64, 64, &sp);
	CHECK(sp.size == 0);
	vtype_capture_spec(&t_cpcchar, 0, 64, &sp);
	CHECK(sp.size == 8 && sp.follow == CTRACE_FOLLOW_NONE);
}

/* ---- files without (usable) DWARF ---- */

TEST(test_errors)
{
	struct dwarf_ctx *c = NULL;
	char err[256];
	int rc;

	CHECK(run("gcc -O1 %s/args_c.c -o %s", data_dir, path_in_tmp("nodebug")));
	rc = dwarf_ctx_open(path_in_tmp("nodebug"), &c, err, sizeof(err));
	CHECKM(rc == -ENODATA && !c && strstr(err, "no debug info"), "rc %d: %s", rc, err);
	rc = dwarf_ctx_open(path_in_tmp("missing"), &c, err, sizeof(err));
	CHECKM(rc == -ENOENT && !c, "rc %d: %s", rc, err);
	FILE *f = fopen(path_in_tmp("text"), "w");
	if (f) {
		fputs("not an ELF file\n", f);
		fclose(f);
	}
	rc = dwarf_ctx_open(path_in_tmp("text"), &c, err, sizeof(err));
	CHECKM(rc == -ENOEXEC && !c, "rc %d: %s", rc, err);
	/* a truncated copy of a file with DWARF: an error or a context, never a crash */
	CHECK(run("gcc -g -O2 -finstrument-functions %s/args_c.c -o %s && head -c 9000 %s > %s",
		  data_dir, path_in_tmp("full"), path_in_tmp("full"), path_in_tmp("cut")));
	rc = dwarf_ctx_open(path_in_tmp("cut"), &c, err, sizeof(err));
	CHECKM(rc != 0 || c, "rc %d", rc);
	dwarf_ctx_free(c);
	c = NULL;
	/* debug info with its .debug_info bytes scrambled (sizes kept) */
	CHECK(run("cp %s %s && objcopy --dump-section .debug_info=%s %s", path_in_tmp("full"),
		  path_in_tmp("scrambled"), path_in_tmp("di.bin"), path_in_tmp("full")));
	FILE *di = fopen(path_in_tmp("di.bin"), "r+b");
	if (di) {
		unsigned seed = 12345;
		fseek(di, 0, SEEK_END);
		long n = ftell(di);
		for (long i = 12; i < n; i += 7) {
			seed = seed * 1103515245 + 12345;
			fseek(di, i, SEEK_SET);
			fputc((int)(seed >> 16) & 0xff, di);
		}
		fclose(di);
	}
	CHECK(run("objcopy --update-section .debug_info=%s %s", path_in_tmp("di.bin"),
		  path_in_tmp("scrambled")));
	rc = dwarf_ctx_open(path_in_tmp("scrambled"), &c, err, sizeof(err));
	if (rc == 0) {
		/* plans for every address of the text: whatever comes back, no crash */
		struct ctrace_site_plan plan;
		struct site_info *si;
		struct ctrace_arg_plan rp;
		struct arg_info ri;
		for (uint64_t a = 0x1000; a < 0x2000; a += 3) {
			if (dwarf_site_plan(c, a, a + 5, 5, NULL, &plan, &si, err, sizeof(err)) ==
			    0)
				site_info_free(si);
			if (dwarf_ret_plan(c, a, NULL, &rp, &ri, err, sizeof(err)) == 0)
				arg_info_clear(&ri);
		}
	}
	dwarf_ctx_free(c);
}

/* ---- plans for the targets ---- */

struct target {
	const char *name; /* "args_c0" ... */
	bool cxx;
	int opt;
	struct elf_image *img;
	struct hook_site *sites;
	size_t nsites;
	struct dwarf_ctx *dw;
};

static bool target_open(struct target *t, const char *name, bool cxx, int opt)
{
	char err[512];
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->cxx = cxx;
	t->opt = opt;
	if (!run("%s -g -O%d -finstrument-functions %s/%s -o %s", cxx ? "g++" : "gcc", opt,
		 data_dir, cxx ? "args_cxx.cc" : "args_c.c", path_in_tmp(name)))
		return false;
	int rc = elf_image_open(path_in_tmp(name), &t->img, err, sizeof(err));
	CHECKM(rc == 0, "elf_image_open(%s): %s", name, err);
	if (rc)
		return false;
	rc = hook_sites_find(t->img, &t->sites, &t->nsites, err, sizeof(err));
	CHECKM(rc == 0, "hook_sites_find(%s): %s", name, err);
	if (rc)
		return false;
	rc = dwarf_ctx_open(path_in_tmp(name), &t->dw, err, sizeof(err));
	CHECKM(rc == 0, "dwarf_ctx_open(%s): %s", name, err);
	return rc == 0;
}

static void target_close(struct target *t)
{
	free(t->sites);
	elf_image_free(t->img);
	dwarf_ctx_free(t->dw);
}

static const struct elf_sym *sym_named(const struct elf_image *img, const char *name)
{
	for (size_t i = 0; i < img->nsyms; i++)
		if (strcmp(img->syms[i].name, name) == 0)
			return &img->syms[i];
	return NULL;
}

/* The k-th (0-based) enter site whose this_fn is the symbol `fn` (raw name). */
static const struct hook_site *enter_site(const struct target *t, const char *fn, int k)
{
	const struct elf_sym *s = sym_named(t->img, fn);
	for (size_t i = 0; s && i < t->nsites; i++)
		if (t->sites[i].kind == HOOK_ENTER && t->sites[i].this_fn == s->addr && k-- == 0)
			return &t->sites[i];
	return NULL;
}

struct plan_out {
	struct ctrace_site_plan plan;
	struct site_info *si;
};

static bool plan_for(struct target *t, const char *fn, int k, struct plan_out *po)
{
	char err[512];
	const struct hook_site *h = enter_site(t, fn, k);
	CHECKM(h != NULL, "%s: enter site #%d of %s", t->name, k, fn);
	if (!h)
		return false;
	int rc = dwarf_site_plan(t->dw, h->this_fn, h->vaddr, h->len, NULL, &po->plan, &po->si, err,
				 sizeof(err));
	CHECKM(rc == 0, "%s: plan for %s at 0x%llx: %s", t->name, fn, (unsigned long long)h->vaddr,
	       err);
	return rc == 0;
}

/* "name:type" of every parameter, space separated */
static char *sig(const struct site_info *si)
{
	char *s = NULL;
	size_t len;
	FILE *f = open_memstream(&s, &len);
	for (size_t i = 0; i < si->nargs; i++)
		fprintf(f, "%s%s:%s", i ? " " : "", si->args[i].name, si->args[i].type_name);
	fclose(f);
	return s;
}

struct expect_sig {
	const char *fn;
	const char *sig;
};

static const struct expect_sig c_sigs[] = {
	{ "mix", "a:int b:int c:int" },
	{ "chars", "c:char sc:signed char uc:unsigned char s:short us:unsigned short b:_Bool" },
	{ "wides",
	  "l:long ul:unsigned long ll:long long ull:unsigned long long w:wchar_t t:u64_t" },
	{ "floats", "f:float d:double ld:long double" },
	{ "strs", "s:const char * buf:char * u:const unsigned char * none:const char *" },
	{ "paint", "c:enum color other:enum color" },
	{ "byval", "p:struct pair q:struct point b:struct big" },
	{ "byptr", "p:struct point * b:const struct big * n:struct nested * opaque:void *" },
	{ "bits", "f:struct flags u:union num" },
	{ "calls", "op:binop_t cb:int (*)(const char *) x:int" },
	{ "seven", "a:int b:int c:int d:int e:int f:int g:int" },
	{ "vlog", "fmt:const char *" },
	{ "huge_fn", "h:struct huge" },
	{ "use_sq", "v:int" },
	{ "sq", "x:int" },
};

static const struct expect_sig cxx_sigs[] = {
	{ "_ZNK3geo5Shape4areaEi", "this:const geo::Shape *const scale:int" },
	{ "_Z4refsRiRKN3geo3VecEOS1_bNS0_3DirEDn",
	  "r:int & v:const geo::Vec & rv:geo::Vec && flag:bool d:geo::Dir np:std::nullptr_t" },
	{ "_Z4take7NonTrivN3geo3VecE", "n:NonTriv v:geo::Vec" },
	{ "_Z5twiceIiET_S0_", "v:int" },
	{ "_Z5twiceIlET_S0_", "v:long" },
};

/* -O0: every parameter is in the frame, addressed from rbp (CFA = rbp + 16). */
static void check_o0_plan(const struct target *t, const char *fn, const struct plan_out *po)
{
	for (size_t i = 0; i < po->si->nargs && i < CTRACE_MAX_ARGS; i++) {
		const struct ctrace_arg_plan *ap = &po->plan.arg[i];
		const struct arg_info *ai = &po->si->args[i];
		char *d = plan_desc(ap);
		CHECKM(ai->unavailable[0] == '\0', "%s %s(%s): unavailable: %s", t->name, fn,
		       ai->name, ai->unavailable);
		CHECKM(ap->npieces == 1 && ap->piece[0].kind == CTRACE_LOC_MEM &&
			       ap->piece[0].reg == 6 && ap->piece[0].val < 64 &&
			       ap->piece[0].val > -512,
		       "%s %s(%s): %s", t->name, fn, ai->name, d);
		free(d);
	}
}

/* n bytes of the target's file at off; false when they cannot be read */
static bool read_code(const struct target *t, uint64_t off, uint8_t *code, size_t n)
{
	int fd = open(t->img->path, O_RDONLY);
	bool ok = fd >= 0 && pread(fd, code, n, (off_t)off) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* an x86-64 disassembler with operand details, and an instruction for it */
static bool disasm_open(csh *cs, cs_insn **in)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, cs) != CS_ERR_OK)
		return false;
	cs_option(*cs, CS_OPT_DETAIL, CS_OPT_ON);
	*in = cs_malloc(*cs);
	return true;
}

/* The rbp displacement each argument register is stored to in the -O0
 * prologue (mov %edi,-0x14(%rbp) ...), by ABI argument register index. */
static void prologue_stores(const struct target *t, const char *fn, int64_t disp[6])
{
	static const x86_reg argregs[6][4] = {
		{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL },
		{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL },
		{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL },
		{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL },
		{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B },
		{ X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B },
	};
	const struct elf_sym *s = sym_named(t->img, fn);
	uint64_t off;
	for (int i = 0; i < 6; i++)
		disp[i] = INT64_MIN;
	if (!s || elf_vaddr_to_offset(t->img, s->addr, &off) != 0)
		return;
	uint8_t code[256];
	size_t n = s->size < sizeof(code) ? s->size : sizeof(code);
	csh cs;
	cs_insn *in;
	if (!read_code(t, off, code, n) || !disasm_open(&cs, &in))
		return;
	const uint8_t *p = code;
	uint64_t addr = s->addr;
	while (n && cs_disasm_iter(cs, &p, &n, &addr, in)) {
		if (in->id == X86_INS_CALL)
			break; /* the enter hook: the stores are done */
		cs_x86 *x = &in->detail->x86;
		if (in->id != X86_INS_MOV || x->op_count != 2 ||
		    x->operands[0].type != X86_OP_MEM || x->operands[0].mem.base != X86_REG_RBP ||
		    x->operands[1].type != X86_OP_REG)
			continue;
		for (int i = 0; i < 6; i++)
			for (int k = 0; k < 4; k++)
				if (x->operands[1].reg == argregs[i][k])
					disp[i] = x->operands[0].mem.disp;
	}
	cs_free(in, 1);
	cs_close(&cs);
}

/* Which parameter each register holds at the enter call of fn, by following
 * register-to-register copies from the entry (edi=0, esi=1, edx=2, ...);
 * -1: none known. DWARF numbering. */
static void o2_register_trace(const struct target *t, const char *fn, uint64_t site, int holds[16])
{
	static const struct {
		x86_reg r[4];
		int dw;
	} map[] = {
		{ { X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL }, 0 },
		{ { X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL }, 1 },
		{ { X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL }, 2 },
		{ { X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL }, 3 },
		{ { X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL }, 4 },
		{ { X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL }, 5 },
		{ { X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL }, 6 },
		{ { X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL }, 7 },
		{ { X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B }, 8 },
		{ { X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B }, 9 },
		{ { X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B }, 10 },
		{ { X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B }, 11 },
		{ { X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B }, 12 },
		{ { X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B }, 13 },
		{ { X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B }, 14 },
		{ { X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B }, 15 },
	};
	static const int abi[6] = { 5, 4, 1, 2, 8, 9 };
	const struct elf_sym *s = sym_named(t->img, fn);
	uint64_t off;

	for (int i = 0; i < 16; i++)
		holds[i] = -1;
	for (int i = 0; i < 6; i++)
		holds[abi[i]] = i;
	if (!s || site < s->addr || elf_vaddr_to_offset(t->img, s->addr, &off) != 0)
		return;
	uint8_t code[512];
	size_t n = site - s->addr < sizeof(code) ? site - s->addr : sizeof(code);
	csh cs;
	cs_insn *in;
	if (!read_code(t, off, code, n) || !disasm_open(&cs, &in))
		return;
	const uint8_t *p = code;
	uint64_t addr = s->addr;
	while (n && cs_disasm_iter(cs, &p, &n, &addr, in)) {
		cs_regs rd, wr;
		uint8_t nrd, nwr;
		int src = -2;
		cs_x86 *x = &in->detail->x86;
		if (in->id == X86_INS_MOV && x->op_count == 2 &&
		    x->operands[0].type == X86_OP_REG && x->operands[1].type == X86_OP_REG &&
		    x->operands[0].size >= 4)
			for (size_t m = 0; m < 16; m++)
				for (int k = 0; k < 4; k++)
					if (x->operands[1].reg == map[m].r[k])
						src = holds[map[m].dw];
		if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != 0)
			continue;
		for (uint8_t w = 0; w < nwr; w++)
			for (size_t m = 0; m < 16; m++)
				for (int k = 0; k < 4; k++)
					if (wr[w] == map[m].r[k])
						holds[map[m].dw] = src >= -1 ? src : -1;
	}
	cs_free(in, 1);
	cs_close(&cs);
}

static void free_po(struct plan_out *po)
{
	site_info_free(po->si);
	po->si = NULL;
}

/* the plan at e->fn's first enter site, whose parameters must be e->sig's;
 * at -O0 every one of them in the frame */
static bool plan_sig(struct target *t, const struct expect_sig *e, struct plan_out *po)
{
	if (!plan_for(t, e->fn, 0, po))
		return false;
	char *s = sig(po->si);
	CHECKM(s && !strcmp(s, e->sig), "%s %s: %s", t->name, e->fn, s);
	free(s);
	if (t->opt == 0)
		check_o0_plan(t, e->fn, po);
	return true;
}

/* the return value of fn: its type, its plan and why it has none ("" for a value it has) */
struct expect_ret {
	const char *fn, *type, *plan, *why;
};

static void check_ret(const struct target *t, const struct expect_ret *r)
{
	const struct elf_sym *s = sym_named(t->img, r->fn);
	struct ctrace_arg_plan rp;
	struct arg_info ri;
	char err[256];
	CHECKM(s != NULL, "%s: symbol %s", t->name, r->fn);
	if (!s || dwarf_ret_plan(t->dw, s->addr, NULL, &rp, &ri, err, sizeof(err)) != 0) {
		CHECKM(false, "%s: ret plan %s: %s", t->name, r->fn, s ? err : "");
		return;
	}
	char *d = plan_desc(&rp);
	CHECK_STR(ri.type_name, r->type);
	CHECK_STR(d, r->plan);
	CHECK_STR(ri.unavailable, r->why);
	free(d);
	arg_info_clear(&ri);
}

static void test_c_plans(struct target *t)
{
	struct plan_out po;
	for (size_t i = 0; i < sizeof(c_sigs) / sizeof(c_sigs[0]); i++) {
		const char *fn = c_sigs[i].fn;
		if (!plan_sig(t, &c_sigs[i], &po))
			continue;
		CHECK_STR(po.si->function, fn);
		CHECK_INT(po.plan.nargs, po.si->nargs < 6 ? po.si->nargs : 6);
		CHECK(po.plan.site_vaddr == enter_site(t, fn, 0)->vaddr);
		if (t->opt == 0)
			CHECK(po.si->inlined == false);
		/* every entry: a location, or unavailable with a reason */
		for (size_t k = 0; k < po.plan.nargs; k++) {
			const struct ctrace_arg_plan *ap = &po.plan.arg[k];
			bool have = ap->npieces > 0;
			CHECKM(have != (po.si->args[k].unavailable[0] != '\0'),
			       "%s %s(%s): pieces %u, why '%s'", t->name, fn, po.si->args[k].name,
			       ap->npieces, po.si->args[k].unavailable);
			uint32_t sum = 0;
			for (int p = 0; p < ap->npieces; p++) {
				CHECK(ap->piece[p].reg != 4 &&
				      ap->piece[p].reg != 5); /* never rdi/rsi */
				sum += ap->piece[p].size;
			}
			CHECK(sum == ap->size && ap->size <= CTRACE_VALUE_MAX);
		}
		if (!strcmp(fn, "seven")) {
			CHECK_INT(po.si->nargs, 7);
			CHECK_STR(po.si->args[6].unavailable, "beyond the first 6 parameters");
		}
		if (!strcmp(fn, "vlog"))
			CHECK(po.si->varargs);
		free_po(&po);
	}

	/* exact plans where they are fixed by the ABI and the code */
	if (t->opt == 0 && plan_for(t, "mix", 0, &po)) {
		int64_t disp[6];
		CHECK(po.plan.flags == 0); /* rbp-based: the same in both probe modes */
		prologue_stores(t, "mix", disp);
		for (int i = 0; i < 3; i++) {
			CHECKM(po.plan.arg[i].piece[0].val == disp[i] &&
				       po.plan.arg[i].piece[0].size == 4,
			       "mix arg %d: plan rbp%+lld, code stores it at rbp%+lld", i,
			       (long long)po.plan.arg[i].piece[0].val, (long long)disp[i]);
		}
		free_po(&po);
	}
	if (t->opt == 0 && plan_for(t, "strs", 0, &po)) {
		int64_t disp[6];
		prologue_stores(t, "strs", disp);
		for (int i = 0; i < 4; i++) {
			char *d = plan_desc(&po.plan.arg[i]);
			char want[64];
			snprintf(want, sizeof(want), "mem [rbp%+lld]:8 -> str %d",
				 (long long)disp[i], CTRACE_FOLLOW_MAX);
			CHECK_STR(d, want);
			free(d);
		}
		free_po(&po);
	}
	if (t->opt == 0 && plan_for(t, "byptr", 0, &po)) {
		static const char *const follow[4] = { " -> deref 8", " -> deref 48",
						       " -> deref 36", "" };
		int64_t disp[6];
		prologue_stores(t, "byptr", disp);
		for (int i = 0; i < 4; i++) {
			char *d = plan_desc(&po.plan.arg[i]);
			char want[64];
			snprintf(want, sizeof(want), "mem [rbp%+lld]:8%s", (long long)disp[i],
				 follow[i]);
			CHECK_STR(d, want);
			free(d);
		}
		free_po(&po);
	}
	if (t->opt == 0 && plan_for(t, "byval", 0, &po)) {
		/* passed in memory above the return address: CFA + 0 = rbp + 16 */
		char *d = plan_desc(&po.plan.arg[2]);
		CHECK_STR(d, "mem [rbp+16]:48");
		free(d);
		free_po(&po);
	}
	if (t->opt == 0 && plan_for(t, "huge_fn", 0, &po)) {
		char *d = plan_desc(&po.plan.arg[0]);
		CHECK_STR(d, "mem [rbp+16]:64"); /* 104 bytes, cut */
		free(d);
		free_po(&po);
	}
	if (t->opt == 2 && plan_for(t, "mix", 0, &po)) {
		int holds[16];
		o2_register_trace(t, "mix", po.plan.site_vaddr, holds);
		for (int i = 0; i < 3; i++) {
			const struct ctrace_piece *p = &po.plan.arg[i].piece[0];
			CHECKM(po.plan.arg[i].npieces == 1 && p->kind == CTRACE_LOC_REG &&
				       p->reg < 16 && holds[p->reg] == i,
			       "-O2 mix arg %d: plan says %s, the code has it in %s", i,
			       p->reg < 16 ? regname[p->reg] : "?", po.si->args[i].unavailable);
		}
		free_po(&po);
	}
	if (t->opt == 2 && plan_for(t, "floats", 0, &po)) {
		/* float and double arrive in xmm0/xmm1; long double in memory, found
		 * from the CFA, which is rsp-based here */
		CHECK(po.plan.arg[2].npieces == 1 &&
		      po.plan.arg[2].piece[0].kind == CTRACE_LOC_MEM &&
		      po.plan.arg[2].piece[0].reg == CTRACE_REG_RSP);
		CHECK(po.plan.flags & CTRACE_SITE_USES_RSP);
		for (int i = 0; i < 2; i++)
			CHECKM(po.plan.arg[i].npieces ||
				       strstr(po.si->args[i].unavailable, "xmm") ||
				       strstr(po.si->args[i].unavailable, "entry"),
			       "floats arg %d: %s", i, po.si->args[i].unavailable);
		free_po(&po);
	}
	if (t->opt == 2) {
		/* sq is inlined into use_sq, twice (this_fn = the out-of-line sq) */
		const struct elf_sym *u = sym_named(t->img, "use_sq"),
				     *sq = sym_named(t->img, "sq");
		int inl = 0;
		for (size_t i = 0; u && sq && i < t->nsites; i++) {
			const struct hook_site *h = &t->sites[i];
			struct ctrace_site_plan plan;
			struct site_info *si;
			char err[256];
			if (h->kind != HOOK_ENTER || h->this_fn != sq->addr || h->vaddr < u->addr ||
			    h->vaddr >= u->addr + u->size)
				continue;
			inl++;
			if (dwarf_site_plan(t->dw, h->this_fn, h->vaddr, h->len, NULL, &plan, &si,
					    err, sizeof(err)) != 0) {
				CHECKM(false, "inlined sq at 0x%llx: %s",
				       (unsigned long long)h->vaddr, err);
				continue;
			}
			CHECK(si->inlined);
			CHECK_STR(si->function, "sq");
			CHECK(plan.arg[0].npieces == 1);
			site_info_free(si);
		}
		CHECK_INT(inl, 2);
	}

	/* entry plans: -O2 finds every integer parameter in its ABI register (even
	 * those the hook call plan only knows as entry values); -O0 only the stack
	 * arguments, above the return address */
	struct {
		const char *fn;
		int opt;
		const char *plans[4];
	} entries[] = {
		{ "mix", 2, { "reg rdi:4", "reg rsi:4", "reg rdx:4" } },
		{ "chars", 2, { "reg rdi:1", "reg rsi:1", "reg rdx:1", "reg rcx:2" } },
		{ "byval", 2, { "reg rdi:8 reg rsi:8", "reg rdx:8", "mem [rsp+8]:48" } },
		{ "strs",
		  2,
		  { "reg rdi:8 -> str 256", "reg rsi:8 -> str 256", "reg rdx:8 -> str 256",
		    "reg rcx:8 -> str 256" } },
		{ "mix", 0, { "", "", "" } },
		{ "byval", 0, { "", "", "mem [rsp+8]:48" } },
		{ "huge_fn", 0, { "mem [rsp+8]:64" } },
	};
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		const struct elf_sym *s = sym_named(t->img, entries[i].fn);
		struct ctrace_site_plan plan;
		struct site_info *si;
		char err[256];
		if (entries[i].opt != t->opt)
			continue;
		if (!s ||
		    dwarf_entry_plan(t->dw, s->addr, NULL, &plan, &si, err, sizeof(err)) != 0) {
			CHECKM(false, "%s: entry plan of %s: %s", t->name, entries[i].fn,
			       s ? err : "no symbol");
			continue;
		}
		CHECK(plan.site_vaddr == s->addr);
		for (size_t k = 0; k < 4 && entries[i].plans[k]; k++) {
			char *d = plan_desc(&plan.arg[k]);
			CHECKM(!strcmp(d, entries[i].plans[k]), "%s entry %s(%s): %s, want %s (%s)",
			       t->name, entries[i].fn, si->args[k].name, d, entries[i].plans[k],
			       si->args[k].unavailable);
			if (!entries[i].plans[k][0])
				CHECK_STR(
					si->args[k].unavailable,
					"valid only after the prologue (one DWARF location for the whole body)");
			free(d);
		}
		site_info_free(si);
	}

	/* return values */
	static const struct expect_ret rets[] = {
		{ "ret_int", "int", "reg rax:4", "" },
		{ "ret_uint", "unsigned int", "reg rax:4", "" },
		{ "ret_ptr", "struct point *", "reg rax:8 -> deref 8", "" },
		{ "ret_bool", "_Bool", "reg rax:1", "" },
		{ "ret_enum", "enum color", "reg rax:4", "" },
		{ "ret_str", "const char *", "reg rax:8 -> str 256", "" },
		{ "ret_double", "double", "",
		  "returned in xmm0 (floating point): BPF cannot read vector registers" },
		{ "ret_pair", "struct pair", "reg rax:8 reg rdx:8", "" },
		{ "ret_point", "struct point", "reg rax:8", "" },
		{ "ret_big", "struct big", "mem [rax+0]:48", "" },
		{ "ret_mixed", "struct mixed", "",
		  "returned partly in xmm registers (floating-point members): BPF cannot read vector registers" },
		{ "mix", "int", "reg rax:4", "" },
		{ "bits", "int", "reg rax:4", "" },
	};
	for (size_t i = 0; i < sizeof(rets) / sizeof(rets[0]); i++)
		check_ret(t, &rets[i]);
}

static void test_cxx_plans(struct target *t)
{
	struct plan_out po;
	for (size_t i = 0; i < sizeof(cxx_sigs) / sizeof(cxx_sigs[0]); i++)
		if (plan_sig(t, &cxx_sigs[i], &po))
			free_po(&po);
	if (plan_for(t, "_Z4take7NonTrivN3geo3VecE", 0, &po)) {
		/* n is passed by invisible reference: at -O0 a stack slot holds its
		 * address (DW_OP_fbreg; DW_OP_deref); at -O2 a register does, and
		 * DWARF says the object is in memory there (DW_OP_breg6 0) */
		const struct ctrace_arg_plan *ap = &po.plan.arg[0];
		char *d = plan_desc(ap);
		if (t->opt == 0) {
			CHECKM(ap->npieces == 1 && ap->size == 8 &&
				       ap->follow == CTRACE_FOLLOW_DEREF && ap->follow_size == 8,
			       "%s take(n): %s", t->name, d);
			CHECK(po.si->args[0].fmt_type && po.si->args[0].fmt_type->kind == VT_REF);
		} else {
			CHECKM(!strcmp(d, "mem [rbp+0]:8"), "%s take(n): %s", t->name, d);
		}
		free(d);
		free_po(&po);
	}
	static const struct expect_ret rets[] = {
		{ "_Z4makel", "NonTriv", "mem [rax+0]:8", "" },
		{ "_Z4pickRN3geo3VecE", "geo::Vec &", "reg rax:8 -> deref 8", "" },
		{ "_ZNK3geo5Shape4areaEi", "int", "reg rax:4", "" },
	};
	for (size_t i = 0; i < sizeof(rets) / sizeof(rets[0]); i++)
		check_ret(t, &rets[i]);
}

/* Every enter site of the file gets a plan (or a clean error), and every
 * entry is a location or a reason. Returns the number of sites planned. */
static size_t plan_all(struct target *t, FILE *dump)
{
	size_t planned = 0;
	for (size_t i = 0; i < t->nsites; i++) {
		const struct hook_site *h = &t->sites[i];
		struct ctrace_site_plan plan;
		struct site_info *si = NULL;
		char err[256];
		if (h->kind != HOOK_ENTER)
			continue;
		int rc = dwarf_site_plan(t->dw, h->this_fn, h->vaddr, h->len, NULL, &plan, &si, err,
					 sizeof(err));
		if (dump)
			fprintf(dump, "0x%llx %s", (unsigned long long)h->vaddr,
				t->img->syms[h->sym].name);
		if (rc != 0) {
			if (dump)
				fprintf(dump, ": %s\n", err);
			continue;
		}
		planned++;
		if (dump)
			fprintf(dump, " -> %s%s%s\n", si->function, si->inlined ? " (inlined)" : "",
				plan.flags & CTRACE_SITE_USES_RSP ? " [rsp]" : "");
		for (size_t k = 0; k < si->nargs; k++) {
			char *d = k < CTRACE_MAX_ARGS ? plan_desc(&plan.arg[k]) : strdup("");
			if (dump)
				fprintf(dump, "    %s (%s): %s%s%s%s\n", si->args[k].name,
					si->args[k].type_name, d,
					si->args[k].unavailable[0] ? "unavailable: " : "",
					si->args[k].unavailable,
					si->args[k].fmt_type != si->args[k].type ?
						" (by invisible reference)" :
						"");
			free(d);
		}
		site_info_free(si);
	}
	return planned;
}

/* ---- executing plans on a stopped process (what the BPF side does) ---- */

struct proc {
	int memfd;
	uint64_t regs[17]; /* DWARF numbering */
	uint64_t bias;
};

static int read_mem(const struct proc *p, uint64_t addr, void *buf, size_t len)
{
	ssize_t r = pread(p->memfd, buf, len, (off_t)addr);
	return r == (ssize_t)len ? 0 : r < 0 ? -errno : -EFAULT;
}

/* Executes one arg plan as documented in ctrace_plan.h. */
static void exec_plan(const struct proc *p, const struct ctrace_arg_plan *ap, uint8_t *val,
		      uint8_t *tgt, struct vfmt_capture *cap)
{
	uint32_t off = 0;
	memset(cap, 0, sizeof(*cap));
	for (int i = 0; i < ap->npieces && i < CTRACE_MAX_PIECES; i++) {
		const struct ctrace_piece *pc = &ap->piece[i];
		uint64_t base = pc->reg < 17 ? p->regs[pc->reg] : 0;
		uint64_t v = (uint64_t)pc->val + (pc->flags & CTRACE_PIECE_BIAS ? p->bias : 0);
		if (off + pc->size > CTRACE_VALUE_MAX)
			break;
		switch (pc->kind) {
		case CTRACE_LOC_REG:
			v = base + (uint64_t)pc->val;
			memcpy(val + off, &v, pc->size);
			break;
		case CTRACE_LOC_CONST: memcpy(val + off, &v, pc->size); break;
		case CTRACE_LOC_MEM:
			cap->val_err = cap->val_err ? cap->val_err :
						      read_mem(p, base + (uint64_t)pc->val,
							       val + off, pc->size);
			break;
		case CTRACE_LOC_MEM_ABS:
			cap->val_err =
				cap->val_err ? cap->val_err : read_mem(p, v, val + off, pc->size);
			break;
		}
		off += pc->size;
	}
	cap->val = val;
	cap->val_len = off;
	if (ap->follow == CTRACE_FOLLOW_NONE || cap->val_err || off < 8)
		return;
	uint64_t ptr;
	memcpy(&ptr, val, 8);
	if (!ptr)
		return;
	cap->tgt = tgt;
	if (ap->follow == CTRACE_FOLLOW_DEREF) {
		cap->tgt_err = read_mem(p, ptr, tgt, ap->follow_size);
		cap->tgt_len = ap->follow_size;
		return;
	}
	/* a string: byte by byte up to the NUL, like bpf_probe_read_user_str */
	uint32_t n = 0;
	for (; n < ap->follow_size; n++) {
		int e = read_mem(p, ptr + n, tgt + n, 1);
		if (e) {
			if (n == 0)
				cap->tgt_err = e;
			break;
		}
		if (tgt[n] == 0)
			break;
	}
	cap->tgt_len = n;
	cap->tgt_truncated = n == ap->follow_size && ap->follow_size > 0;
	if (cap->tgt_truncated)
		cap->tgt_len = n - 1; /* the last byte read is where the NUL would go */
}

static const struct elf_image *sym_img;
static uint64_t sym_bias;

static const char *exec_symbolize(void *ctx, uint64_t addr)
{
	(void)ctx;
	const struct elf_sym *s =
		addr >= sym_bias ? elf_sym_lookup(sym_img, addr - sym_bias) : NULL;
	return s && s->addr == addr - sym_bias ? s->name : NULL;
}

/* --exec  TARGET SITE PID BIAS R0..R16 [name=addr...] [val:name=gdb's value...]
 * --entry TARGET FUNC PID BIAS R0..R16     (hex numbers)
 * --ret   TARGET FUNC PID BIAS R0..R16 */
static int exec_main(int argc, char **argv)
{
	bool ret = !strcmp(argv[1], "--ret");
	struct elf_image *img = NULL;
	struct dwarf_ctx *dw = NULL;
	struct hook_site *sites = NULL;
	size_t nsites = 0;
	char err[512], path[64];
	struct proc p;
	int rc = 1;

	if (argc < 6 + 17)
		return 2;
	uint64_t at = strtoull(argv[3], NULL, 16);
	int pid = atoi(argv[4]);
	p.bias = strtoull(argv[5], NULL, 16);
	for (int i = 0; i < 17; i++)
		p.regs[i] = strtoull(argv[6 + i], NULL, 16);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	p.memfd = open(path, O_RDONLY);
	if (p.memfd < 0 || elf_image_open(argv[2], &img, err, sizeof(err)) != 0 ||
	    dwarf_ctx_open(argv[2], &dw, err, sizeof(err)) != 0) {
		printf("ERROR setup: %s\n", err);
		goto out;
	}
	sym_img = img;
	sym_bias = p.bias;
	struct vfmt_opts fo = { .symbolize = exec_symbolize };
	uint8_t val[CTRACE_VALUE_MAX], tgt[CTRACE_FOLLOW_MAX];
	struct vfmt_capture cap;
	if (ret) {
		struct ctrace_arg_plan rp;
		struct arg_info ri;
		struct ctrace_site_plan sp;
		struct site_info *si = NULL;
		if (dwarf_site_plan(dw, at, at, 0, NULL, &sp, &si, err, sizeof(err)) != 0 ||
		    dwarf_ret_plan(dw, at, NULL, &rp, &ri, err, sizeof(err)) != 0) {
			printf("ERROR ret plan: %s\n", err);
			site_info_free(si);
			goto out;
		}
		exec_plan(&p, &rp, val, tgt, &cap);
		printf("RET %s ", si->function);
		site_info_free(si);
		vfmt_arg(stdout, NULL, ri.type_name, ri.fmt_type, &cap,
			 ri.unavailable[0] ? ri.unavailable : NULL, &fo);
		printf("\n");
		arg_info_clear(&ri);
		rc = 0;
		goto out;
	}
	struct ctrace_site_plan plan;
	struct site_info *si;
	if (!strcmp(argv[1], "--entry")) {
		if (dwarf_entry_plan(dw, at, NULL, &plan, &si, err, sizeof(err)) != 0) {
			printf("ERROR entry plan at 0x%llx: %s\n", (unsigned long long)at, err);
			goto out;
		}
	} else {
		if (hook_sites_find(img, &sites, &nsites, err, sizeof(err)) != 0) {
			printf("ERROR sites: %s\n", err);
			goto out;
		}
		const struct hook_site *h = NULL;
		for (size_t i = 0; i < nsites; i++)
			if (sites[i].vaddr == at)
				h = &sites[i];
		if (!h || dwarf_site_plan(dw, h->this_fn, h->vaddr, h->len, NULL, &plan, &si, err,
					  sizeof(err)) != 0) {
			printf("ERROR plan at 0x%llx: %s\n", (unsigned long long)at,
			       h ? err : "no site");
			goto out;
		}
	}
	printf("ARGS %s [", si->function);
	for (size_t i = 0; i < si->nargs; i++) {
		const struct arg_info *ai = &si->args[i];
		if (i)
			putchar(',');
		if (i < plan.nargs && !ai->unavailable[0])
			exec_plan(&p, &plan.arg[i], val, tgt, &cap);
		vfmt_arg(stdout, ai->name, ai->type_name, ai->fmt_type, &cap,
			 ai->unavailable[0] ? ai->unavailable : NULL, &fo);
	}
	printf("]\n");
	/* the addresses gdb gives for the parameters in memory, and its values */
	for (int i = 6 + 17; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq)
			continue;
		if (!strncmp(argv[i], "val:", 4)) {
			*eq = '\0';
			printf("GDBVAL %s=%s\n", argv[i] + 4, eq + 1);
			continue;
		}
		*eq = '\0';
		uint64_t gdb_addr = strtoull(eq + 1, NULL, 16);
		for (size_t k = 0; k < si->nargs && k < plan.nargs; k++) {
			const struct ctrace_arg_plan *ap = &plan.arg[k];
			if (strcmp(si->args[k].name, argv[i]) || ap->npieces != 1 ||
			    ap->piece[0].kind != CTRACE_LOC_MEM)
				continue;
			uint64_t a = p.regs[ap->piece[0].reg] + (uint64_t)ap->piece[0].val;
			const struct vtype *ft = vtype_strip(si->args[k].fmt_type);
			if (ft && (ft->kind == VT_REF ||
				   ft->kind == VT_RVREF)) /* gdb: &ref is the referent's */
				read_mem(&p, a, &a, 8);
			printf("ADDR %s %s %s plan=0x%llx gdb=0x%llx\n", si->function, argv[i],
			       a == gdb_addr ? "ok" : "BAD", (unsigned long long)a,
			       (unsigned long long)gdb_addr);
		}
	}
	site_info_free(si);
	rc = 0;
out:
	fflush(stdout);
	if (p.memfd >= 0)
		close(p.memfd);
	free(sites);
	dwarf_ctx_free(dw);
	elf_image_free(img);
	return rc;
}

/* ---- gdb: plans executed on the real process ---- */

static const char gdb_script[] =
	"import gdb, os, subprocess\n"
	"exe, target, mode = os.environ['CT_EXE'], os.environ['CT_TARGET'], os.environ['CT_MODE']\n"
	"addrs = [int(a, 16) for a in os.environ['CT_ADDRS'].split(',') if a]\n"
	"out = open(os.environ['CT_OUT'], 'w')\n"
	"gdb.execute('set pagination off')\n"
	"gdb.execute('set confirm off')\n"
	"gdb.execute('starti', to_string=True)\n"
	"pid = gdb.selected_inferior().pid\n"
	"bias = 0\n"
	"if os.environ['CT_PIE'] == '1':\n"
	"    for line in open('/proc/%d/maps' % pid):\n"
	"        f = line.split()\n"
	"        if len(f) >= 6 and int(f[2], 16) == 0 and os.path.realpath(f[5]) == os.path.realpath(target):\n"
	"            bias = int(f[0].split('-')[0], 16)\n"
	"            break\n"
	"for a in addrs:\n"
	"    gdb.execute('break *0x%x' % (bias + a), to_string=True)\n"
	"regs = ['rax','rdx','rcx','rbx','rsi','rdi','rbp','rsp','r8','r9','r10','r11','r12','r13','r14','r15','rip']\n"
	"M = (1 << 64) - 1\n"
	"while True:\n"
	"    try:\n"
	"        gdb.execute('continue', to_string=True)\n"
	"    except gdb.error:\n"
	"        break\n"
	"    if not gdb.selected_inferior().pid:\n"
	"        break\n"
	"    pc = int(gdb.parse_and_eval('$pc')) & M\n"
	"    extra = []\n"
	"    if mode == 'ret':\n"
	"        gdb.execute('finish', to_string=True)\n"
	"    elif mode == 'exec':\n"
	"        blk = gdb.selected_frame().block()\n"
	"        while blk is not None and blk.function is None:\n"
	"            blk = blk.superblock\n"
	"        for sym in (blk or []):\n"
	"            if sym.is_argument:\n"
	"                try:\n"
	"                    extra.append('%s=%x' % (sym.name, int(gdb.parse_and_eval('&' + sym.name)) & M))\n"
	"                except gdb.error:\n"
	"                    pass\n"
	"                try:\n"
	"                    v = str(sym.value(gdb.selected_frame())).replace('\\n', ' ')\n"
	"                    extra.append('val:%s=%s' % (sym.name, v))\n"
	"                except gdb.error:\n"
	"                    pass\n"
	"    vals = ['%x' % (int(gdb.parse_and_eval('$' + r)) & M) for r in regs]\n"
	"    r = subprocess.run([exe, '--' + mode, target, '%x' % (pc - bias), str(pid), '%x' % bias] + vals + extra,\n"
	"                       capture_output=True, text=True)\n"
	"    out.write(r.stdout + r.stderr)\n"
	"    out.flush()\n";

/* DW_AT_name of the function starting at addr (malloc'd), NULL if none */
static char *dwarf_name_at(const struct target *t, uint64_t addr)
{
	struct ctrace_site_plan sp;
	struct site_info *si;
	char err[128], *n;
	if (dwarf_site_plan(t->dw, addr, addr, 0, NULL, &sp, &si, err, sizeof(err)) != 0)
		return NULL;
	n = strdup(si->function);
	site_info_free(si);
	return n;
}

static bool have_gdb(void)
{
	return system("gdb --version >/dev/null 2>&1") == 0;
}

/* lines "KIND func JSON" of a file, in order */
struct lines {
	char **v;
	size_t n;
};

static void read_lines(const char *path, struct lines *l)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	memset(l, 0, sizeof(*l));
	if (!f)
		return;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
		if (!nv)
			break;
		l->v = nv;
		l->v[l->n++] = strdup(line);
	}
	free(line);
	fclose(f);
}

static void free_lines(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* "KIND fn JSON": fn is what lies between "KIND " and the first " [" or " {"
 * (C++ names hold spaces: "twice<long int>") */
static bool split_line(const char *line, const char *kind, char *fn, size_t fnlen,
		       const char **json)
{
	size_t kl = strlen(kind);
	if (strncmp(line, kind, kl) || line[kl] != ' ')
		return false;
	const char *f = line + kl + 1, *a = strstr(f, " ["), *o = strstr(f, " {");
	const char *e = a && (!o || a < o) ? a : o;
	if (!e || (size_t)(e - f) >= fnlen)
		return false;
	memcpy(fn, f, (size_t)(e - f));
	fn[e - f] = '\0';
	*json = e + 1;
	return true;
}

/* the index of the k-th "KIND fn ..." line, -1 if none */
static int find_call(const struct lines *l, const char *kind, const char *fn, int k)
{
	char f[256];
	const char *j;
	for (size_t i = 0; i < l->n; i++)
		if (split_line(l->v[i], kind, f, sizeof(f), &j) && !strcmp(f, fn) && k-- == 0)
			return (int)i;
	return -1;
}

/* what gdb printed for parameter `name` at the stop of got line idx */
static const char *gdb_value(const struct lines *got, int idx, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = (size_t)idx + 1; i < got->n && strncmp(got->v[i], "ARGS ", 5); i++)
		if (!strncmp(got->v[i], "GDBVAL ", 7) && !strncmp(got->v[i] + 7, name, nl) &&
		    got->v[i][7 + nl] == '=')
			return got->v[i] + 8 + nl;
	return NULL;
}

/* a captured value in gdb's print syntax: integers, booleans, structs, arrays */
static bool gdb_syntax(const cJSON *v, FILE *f)
{
	if (cJSON_IsBool(v)) {
		fputs(cJSON_IsTrue(v) ? "true" : "false", f);
	} else if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble) {
		fprintf(f, "%lld", (long long)v->valuedouble);
	} else if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		fputc('{', f);
		for (const cJSON *c = v->child; c; c = c->next) {
			if (cJSON_IsObject(v))
				fprintf(f, "%s = ", c->string);
			if (!gdb_syntax(c, f))
				return false;
			if (c->next)
				fputs(", ", f);
		}
		fputc('}', f);
	} else {
		return false;
	}
	return true;
}

struct cmp_stats {
	int compared, unavailable, dwarf_off;
};

/* expected vs captured ARG object: equal, except that a captured value may be
 * unavailable (not at -O0), an "address" the program could not know is not
 * compared, and at -O2 a value that differs exactly as gdb's reading of the
 * same DWARF does is the compiler's location being off, not ours */
static void compare_arg(const struct target *t, const char *fn, cJSON *want, cJSON *got,
			bool strict, const char *gdbval, struct cmp_stats *st)
{
	cJSON *wu = cJSON_GetObjectItemCaseSensitive(want, "unavailable");
	cJSON *gu = cJSON_GetObjectItemCaseSensitive(got, "unavailable");
	if (gu && !wu) {
		char *gs = cJSON_PrintUnformatted(got);
		st->unavailable++;
		CHECKM(!strict, "%s %s: unavailable at -O0: %s", t->name, fn, gs);
		CHECK(cJSON_IsString(gu) && gu->valuestring[0]);
		free(gs);
		return;
	}
	if (!cJSON_GetObjectItemCaseSensitive(want, "address"))
		cJSON_DeleteItemFromObjectCaseSensitive(got, "address");
	char *ws = cJSON_PrintUnformatted(want), *gs = cJSON_PrintUnformatted(got);
	bool same = cJSON_Compare(want, got, true);
	if (!same && t->opt != 0 && gdbval) {
		char *ours = NULL;
		size_t len;
		FILE *f = open_memstream(&ours, &len);
		bool ok = gdb_syntax(cJSON_GetObjectItemCaseSensitive(got, "value"), f);
		fclose(f);
		if (ok && !strcmp(ours, gdbval)) {
			printf("  note: %s %s: the program had %s; DWARF locates %s, as gdb reads it too: %s\n",
			       t->name, fn, ws, ours, "the compiler's location list is off here");
			st->dwarf_off++;
			same = true;
		}
		free(ours);
	}
	st->compared++;
	CHECKM(same, "%s %s:\n   want %s\n   got  %s\n   gdb  %s", t->name, fn, ws, gs,
	       gdbval ? gdbval : "-");
	free(ws);
	free(gs);
}

/* strict: no value may be unavailable; partial: calls not captured are skipped */
static void compare_runs(const struct target *t, const struct lines *want, const struct lines *got,
			 const char *kind, bool strict, bool partial, struct cmp_stats *st)
{
	char fn[256];
	const char *w, *g;
	for (size_t i = 0; i < want->n; i++) {
		if (!split_line(want->v[i], kind, fn, sizeof(fn), &w))
			continue;
		int k = 0; /* which call of fn this is */
		for (size_t j = 0; j < i; j++) {
			char f2[256];
			const char *j2;
			k += split_line(want->v[j], kind, f2, sizeof(f2), &j2) && !strcmp(f2, fn);
		}
		int gi = find_call(got, kind, fn, k);
		CHECKM(gi >= 0 || partial, "%s: no captured %s line #%d for %s", t->name, kind, k,
		       fn);
		if (gi < 0 || !split_line(got->v[gi], kind, fn, sizeof(fn), &g))
			continue;
		cJSON *wj = cJSON_Parse(w), *gj = cJSON_Parse(g);
		CHECKM(wj && gj, "%s %s: JSON: want %s / got %s", t->name, fn, w, g);
		if (wj && gj && cJSON_IsArray(wj)) {
			CHECKM(cJSON_GetArraySize(wj) == cJSON_GetArraySize(gj), "%s %s: %s vs %s",
			       t->name, fn, w, g);
			for (int a = 0; a < cJSON_GetArraySize(wj) && a < cJSON_GetArraySize(gj);
			     a++) {
				cJSON *wa = cJSON_GetArrayItem(wj, a);
				cJSON *name = cJSON_GetObjectItemCaseSensitive(wa, "name");
				compare_arg(t, fn, wa, cJSON_GetArrayItem(gj, a), strict,
					    cJSON_IsString(name) ?
						    gdb_value(got, gi, name->valuestring) :
						    NULL,
					    st);
			}
		} else if (wj && gj) {
			/* return values: floating point ones are never available */
			compare_arg(t, fn, wj, gj, false, NULL, st);
		}
		cJSON_Delete(wj);
		cJSON_Delete(gj);
	}
}

/* "a,b,..." hex addresses of the functions whose DWARF name has a KIND line */
static void functions_named(const struct target *t, const struct lines *want, const char *kind,
			    char *addrs, size_t size)
{
	size_t o = 0;
	addrs[0] = '\0';
	for (size_t s = 0; s < t->img->nsyms && o < size; s++) {
		char *name = dwarf_name_at(t, t->img->syms[s].addr);
		char key[160];
		snprintf(key, sizeof(key), "%s %s ", kind, name ? name : "?");
		for (size_t i = 0; name && i < want->n; i++)
			if (!strncmp(want->v[i], key, strlen(key))) {
				o += (size_t)snprintf(addrs + o, size - o, "%llx,",
						      (unsigned long long)t->img->syms[s].addr);
				break;
			}
		free(name);
	}
}

/* one gdb pass over t in CT_MODE mode, breaking at addrs: the values the
 * program printed (want) and what the plans read (got); a line starting
 * "ERROR" in got fails */
static void gdb_pass(struct target *t, const char *self, const char *pie, const char *addrs,
		     const char *mode, const char *want_file, const char *got_file,
		     struct lines *want, struct lines *got)
{
	/* path_in_tmp keeps its last 8 results: these 6 stay valid */
	const char *want_path = path_in_tmp(want_file), *got_path = path_in_tmp(got_file);

	CHECK(run("CT_EXE=%s CT_TARGET=%s CT_MODE=%s CT_ADDRS=%s CT_OUT=%s CT_PIE=%s "
		  "gdb -nx -batch -x %s --args %s %s >%s 2>&1",
		  self, path_in_tmp(t->name), mode, addrs, got_path, pie,
		  path_in_tmp("validate.py"), path_in_tmp(t->name), want_path,
		  path_in_tmp("gdb.log")));
	read_lines(want_path, want);
	read_lines(got_path, got);
	for (size_t i = 0; i < got->n; i++)
		CHECKM(strncmp(got->v[i], "ERROR", 5) != 0, "%s: %s", t->name, got->v[i]);
}

/* a further pass on the functions of the kind lines in *want (freed): *want
 * and *got become the pass's lines; their comparison (entry: mode "entry") */
static struct cmp_stats gdb_pass_on(struct target *t, const char *self, const char *pie,
				    const char *kind, const char *mode, const char *want_file,
				    const char *got_file, struct lines *want, struct lines *got)
{
	char addrs[8192];
	struct cmp_stats st = { 0, 0, 0 };

	functions_named(t, want, kind, addrs, sizeof(addrs));
	free_lines(want);
	gdb_pass(t, self, pie, addrs, mode, want_file, got_file, want, got);
	compare_runs(t, want, got, kind, false, !strcmp(mode, "entry"), &st);
	return st;
}

static void gdb_validate(struct target *t)
{
	char self[512], addrs[8192] = "";
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	FILE *f = fopen(path_in_tmp("validate.py"), "w");
	if (!f)
		return;
	fputs(gdb_script, f);
	fclose(f);

	/* arguments: a breakpoint on every enter-hook call */
	size_t o = 0;
	for (size_t i = 0; i < t->nsites; i++)
		if (t->sites[i].kind == HOOK_ENTER && t->sites[i].this_fn && o < sizeof(addrs))
			o += (size_t)snprintf(addrs + o, sizeof(addrs) - o, "%llx,",
					      (unsigned long long)t->sites[i].vaddr);
	const char *pie = t->img->e_type == ET_DYN ? "1" : "0";
	struct lines want, got;
	gdb_pass(t, self, pie, addrs, "exec", "want.txt", "got_args.txt", &want, &got);
	CHECKM(want.n >= 5 && got.n >= want.n, "%s: %zu expected lines, %zu captured (see %s)",
	       t->name, want.n, got.n, path_in_tmp("gdb.log"));
	struct cmp_stats st = { 0, 0, 0 };
	compare_runs(t, &want, &got, "ARGS", t->opt == 0, false, &st);
	int addr_ok = 0;
	for (size_t i = 0; i < got.n; i++) {
		if (!strncmp(got.v[i], "ADDR", 4)) {
			CHECKM(strstr(got.v[i], " ok ") != NULL, "%s: %s", t->name, got.v[i]);
			addr_ok++;
		}
	}
	if (t->opt == 0)
		CHECKM(addr_ok >= 20, "%s: %d parameter addresses checked against gdb", t->name,
		       addr_ok);
	printf("  %s: %d argument values equal to the program's own (%d of them only to gdb's), %d unavailable, "
	       "%d addresses equal to gdb's\n",
	       t->name, st.compared, st.dwarf_off, st.unavailable, addr_ok);
	CHECKM(st.compared >= (t->opt == 0 ? 40 : 15) || (t->cxx && st.compared >= 8),
	       "%s: only %d compared", t->name, st.compared);
	free_lines(&got);

	/* return values: a breakpoint on each function, then `finish` */
	st = gdb_pass_on(t, self, pie, "RET", "ret", "want2.txt", "got_ret.txt", &want, &got);
	printf("  %s: %d return values equal to the program's own, %d unavailable\n", t->name,
	       st.compared, st.unavailable);
	CHECKM(st.compared >= (t->cxx ? 3 : 8), "%s: only %d return values compared", t->name,
	       st.compared);
	free_lines(&got);

	/* entry plans: a breakpoint on the first instruction of each function */
	st = gdb_pass_on(t, self, pie, "ARGS", "entry", "want3.txt", "got_entry.txt", &want, &got);
	printf("  %s: entry plans: %d argument values equal to the program's own (%d of them only to gdb's), "
	       "%d unavailable\n",
	       t->name, st.compared, st.dwarf_off, st.unavailable);
	if (t->opt == 2)
		CHECKM(st.compared >= (t->cxx ? 8 : 45), "%s: only %d entry values compared",
		       t->name, st.compared);
	free_lines(&got);
	free_lines(&want);
}

static void test_target(const char *name, bool cxx, int opt)
{
	struct target t;
	if (!target_open(&t, name, cxx, opt)) {
		target_close(&t);
		return;
	}
	size_t planned = plan_all(&t, NULL), enters = 0;
	for (size_t i = 0; i < t.nsites; i++)
		enters += t.sites[i].kind == HOOK_ENTER;
	CHECKM(planned == enters, "%s: %zu of %zu enter sites planned", name, planned, enters);
	if (cxx)
		test_cxx_plans(&t);
	else
		test_c_plans(&t);
	if (gdb)
		gdb_validate(&t);
	target_close(&t);
}

TEST(test_args_c0)
{
	test_target("args_c0", false, 0);
}
TEST(test_args_c2)
{
	test_target("args_c2", false, 2);
}
TEST(test_args_cxx0)
{
	test_target("args_cxx0", true, 0);
}
TEST(test_args_cxx2)
{
	test_target("args_cxx2", true, 2);
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--exec") || !strcmp(argv[1], "--ret") ||
			 !strcmp(argv[1], "--entry")))
		return exec_main(argc, argv);
	if (argc > 2 && !strcmp(argv[1], "--dump")) {
		struct target t = { .name = argv[2] };
		char err[512];
		if (elf_image_open(argv[2], &t.img, err, sizeof(err)) ||
		    hook_sites_find(t.img, &t.sites, &t.nsites, err, sizeof(err)) ||
		    dwarf_ctx_open(argv[2], &t.dw, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			target_close(&t);
			return 1;
		}
		plan_all(&t, stdout);
		target_close(&t);
		return 0;
	}
	if (argc > 1)
		data_dir = argv[1];
	if (!harness_tmp_make("test_dwarf_args"))
		return 1;
	gdb = have_gdb();
	if (!gdb)
		printf("  gdb not found: skipping the runs against real processes\n");
	harness_run_all();
	harness_tmp_remove();
	HARNESS_MAIN_END("test_dwarf_args");
}
