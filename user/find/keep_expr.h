/* --min-duration DUR and --keep-if 'FUNC: CONDITION': their text, parsed
 * (rebuild/keep_filter.h applies them to the call trees).
 *
 * CONDITION := OR;  OR := AND ('||' AND)*;  AND := TEST ('&&' TEST)*
 * TEST := '(' OR ')' | OPERAND OP VALUE
 * OPERAND := retval | duration | arg.NAME;  OP := == != < <= > >=
 * VALUE := [-]decimal | [-]0xhex | NULL | a duration (duration only: 5ms) */
#ifndef CTRACE_KEEP_EXPR_H
#define CTRACE_KEEP_EXPR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum keep_what { KEEP_RETVAL, KEEP_DURATION, KEEP_ARG };
enum keep_op { KEEP_EQ, KEEP_NE, KEEP_LT, KEEP_LE, KEEP_GT, KEEP_GE };
enum keep_kind { KEEP_TEST, KEEP_AND, KEEP_OR };

/* an operand's value: an integer (pointers, enums' raw values, bools) or a
 * floating-point number */
struct keep_val {
	bool is_float;
	__int128 i;
	double d;
};

struct keep_node {
	enum keep_kind kind;
	int l, r; /* AND/OR: indexes of the operands in keep_rule.nodes */
	/* TEST */
	enum keep_what what;
	char *arg; /* KEEP_ARG: the parameter's name */
	enum keep_op op;
	struct keep_val v;
};

struct keep_rule {
	char *func;		 /* FUNC, as written */
	const char *text;	 /* the option's value (argv) */
	struct keep_node *nodes; /* the root is nodes[root] */
	int nnodes, root;
	bool needs_args, needs_retval;
};

/* "500us", "2ms", "1.5s", "100ns" → ns; -1 (and *bad: where it went wrong)
 * when s is not one */
int keep_parse_duration(const char *s, uint64_t *ns, const char **bad);
/* one --keep-if value into r; -1 with err ("expected a comparison at
 * '<> 0'") when it cannot be parsed */
int keep_rule_parse(struct keep_rule *r, const char *text, char *err, size_t errlen);
void keep_rule_free(struct keep_rule *r);

struct elf_image;
/* Before anything is attached: every arg.NAME is a parameter of FUNC and
 * FUNC does not return void, as the DWARF of path (img) says. FUNC not
 * found there (a library's), or no DWARF: not checked (its calls are then
 * counted unreadable if they are). -1 with err when one is wrong */
int keep_rules_check(const struct keep_rule *r, size_t n, const char *path,
		     const struct elf_image *img, char *err, size_t errlen);

/* an operand of a call: 0 known (*v), -1 cannot be read for this call */
typedef int (*keep_lookup_fn)(void *ctx, const struct keep_node *test, struct keep_val *v);
/* 1 holds, 0 does not, -1 cannot be told (an operand it needs is unreadable) */
int keep_rule_eval(const struct keep_rule *r, keep_lookup_fn lookup, void *ctx);
/* v op w */
bool keep_compare(const struct keep_val *v, enum keep_op op, const struct keep_val *w);

#endif
