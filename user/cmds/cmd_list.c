/* ctrace-bpf list: the instrumented functions of a binary, one per line.
 * ctrace-bpf check: whether a binary can be traced, and what to rebuild with.
 * Both read the file only (no root, no BPF): the ELF image, its symbols, and
 * the calls to the -finstrument-functions hooks found by decoding its code. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>

#include "cmds/commands.h"
#include "utils/demangle.h"
#include "find/elf_image.h"
#include "attach/modules.h"
#include "find/hook_sites.h"
#include "find/pattern.h"
#include "find/site_owner.h"

static const char list_usage[] =
	"Usage: ctrace-bpf list BINARY [-F PATTERN]... [-N PATTERN]... [--filter-file FILE]\n"
	"\n"
	"Prints the functions of BINARY (an executable or a shared library) that were\n"
	"built with -finstrument-functions, i.e. the functions ctrace-bpf can trace:\n"
	"one demangled name per line, sorted, each a glob that matches only itself\n"
	"(`*`, `?`, `[` and `\\` escaped), so the list, edited, is a --filter-file.\n"
	"No root needed.\n"
	"\n"
	"  -F, --filter PATTERN     only functions matching PATTERN (repeatable)\n"
	"  -N, --exclude PATTERN    leave out functions matching PATTERN (repeatable)\n"
	"      --filter-file FILE   patterns from FILE, as the tracer reads them\n"
	"      --sites              instead: its calls to the hooks (the probe sites),\n"
	"                           which function each belongs to as proven by DWARF\n"
	"                           and by decoding the code, and how many the tracer\n"
	"                           probes with the filters given\n"
	"  -h, --help               this help\n"
	"\n"
	"Patterns work as in tracing (see ctrace-bpf --help): a glob, or a /regex/,\n"
	"matched against the symbol, the demangled name and the name without its\n"
	"parameters.\n"
	"\n"
	"Examples:\n"
	"  ctrace-bpf list ./app\n"
	"  ctrace-bpf list ./app -F 'parse_*'\n"
	"  ctrace-bpf list ./app > funcs.txt; $EDITOR funcs.txt; sudo ctrace-bpf --filter-file funcs.txt -- ./app\n";

static const char check_usage[] =
	"Usage: ctrace-bpf check BINARY\n"
	"\n"
	"Says whether ctrace-bpf can trace BINARY and, if not, how to rebuild it:\n"
	"  - an x86_64 ELF executable or shared library?\n"
	"  - built with -finstrument-functions (it calls __cyg_profile_func_enter/exit)?\n"
	"    and how many of its functions are instrumented;\n"
	"  - DWARF debug info (-g), which typed arguments and return values need?\n"
	"  - a symbol table (not stripped), which names the functions?\n"
	"No root needed. Exit status: 0 when BINARY is traceable, 1 when it is not.\n"
	"\n"
	"  -h, --help   this help\n"
	"\n"
	"Example:\n"
	"  ctrace-bpf check ./app || gcc -finstrument-functions -g -O2 app.c -o app\n";

/* The instrumented functions of img: indexes into img->syms, each once,
 * in address order. A call site names the function whose this_fn it passes
 * (an inlined callee's calls sit inside its caller), else its container. */
static int instrumented(const struct elf_image *img, size_t **out, size_t *nout, char *err,
			size_t errlen)
{
	struct hook_site *sites = NULL;
	struct site_proofs proofs;
	size_t n = 0, k = 0;
	bool *mark;
	int rc;

	*out = NULL;
	*nout = 0;
	rc = hook_sites_find(img, &sites, &n, err, errlen);
	if (rc)
		return rc;
	if (site_owners(img, sites, n, &proofs)) {
		free(sites);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	mark = calloc(img->nsyms ? img->nsyms : 1, sizeof(*mark));
	*out = malloc((img->nsyms ? img->nsyms : 1) * sizeof(**out));
	if (!mark || !*out) {
		free(mark);
		free(*out);
		free(sites);
		*out = NULL;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		/* the entry calls: an exit call may sit in a split-off part (main.cold) */
		if (sites[i].kind != HOOK_ENTER)
			continue;
		const struct elf_sym *fn =
			sites[i].this_fn ? elf_sym_lookup(img, sites[i].this_fn) : NULL;
		size_t idx;

		if (fn && fn->addr != sites[i].this_fn)
			fn = NULL;
		if (fn)
			idx = (size_t)(fn - img->syms);
		else if (sites[i].sym < img->nsyms)
			idx = sites[i].sym;
		else
			continue;
		mark[idx] = true;
	}
	for (size_t i = 0; i < img->nsyms; i++)
		if (mark[i])
			(*out)[k++] = i;
	*nout = k;
	free(mark);
	free(sites);
	return 0;
}

/* elf_image's messages start with the path, which ours already name */
static const char *reason(const char *err, const char *path)
{
	size_t n = strlen(path);

	return !strncmp(err, path, n) && err[n] == ':' && err[n + 1] == ' ' ? err + n + 2 : err;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the name as a glob that matches just itself; a leading '!' or '#' would
 * mean "exclude" or "comment" in a filter file */
static void put_glob(FILE *f, const char *s)
{
	if (*s == '!' || *s == '#')
		putc('\\', f);
	for (; *s; s++) {
		if (*s == '*' || *s == '?' || *s == '[' || *s == '\\')
			putc('\\', f);
		putc(*s, f);
	}
	putc('\n', f);
}

enum { OPT_FILTER_FILE = 256, OPT_SITES };

/* list --sites: the proofs of the sites' functions, and what a trace with
 * these filters probes (the same choice as the tracer's, site_probe) */
static int list_sites(const struct elf_image *img, const char *path, const struct filter *filt)
{
	struct hook_site *sites = NULL;
	struct site_proofs proofs;
	size_t n = 0, probed[2] = { 0, 0 }, checked = 0, funcs = 0;
	signed char *allowed = NULL;
	uint32_t last = UINT32_MAX;
	char err[256];
	int rc;

	rc = hook_sites_find(img, &sites, &n, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ctrace-bpf list: '%s': %s\n", path, reason(err, path));
		return 1;
	}
	allowed = malloc(img->nsyms ? img->nsyms : 1);
	if (!allowed || site_owners(img, sites, n, &proofs)) {
		fprintf(stderr, "ctrace-bpf list: out of memory\n");
		free(allowed);
		free(sites);
		return 1;
	}
	memset(allowed, -1, img->nsyms);
	for (size_t i = 0; i < n; i++) {
		enum site_probe how = site_probe(img, &sites[i], filt, allowed);

		if (how == SITE_SKIP || sites[i].kind > HOOK_EXIT)
			continue;
		probed[sites[i].kind]++;
		checked += how == SITE_PROBE_CHECKED;
		funcs += sites[i].sym != last;
		last = sites[i].sym;
	}
	site_proofs_format(&proofs, err, sizeof(err));
	printf("%s: %s\n", path, err);
	printf("probed%s: %zu enter + %zu exit call sites in %zu functions, %zu of them "
	       "checked in BPF\n",
	       filter_is_empty(filt) ? "" : " with these filters", probed[HOOK_ENTER],
	       probed[HOOK_EXIT], funcs, checked);
	free(allowed);
	free(sites);
	return fflush(stdout) ? 1 : 0;
}

int cmd_list_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "filter", required_argument, NULL, 'F' },
		{ "exclude", required_argument, NULL, 'N' },
		{ "filter-file", required_argument, NULL, OPT_FILTER_FILE },
		{ "sites", no_argument, NULL, OPT_SITES },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct filter *filt = filter_new();
	struct elf_image *img = NULL;
	size_t *idx = NULL, nidx = 0, nnames = 0;
	char **names = NULL, err[256];
	bool sites = false;
	int c, ret = 1;

	if (!filt) {
		fprintf(stderr, "ctrace-bpf list: out of memory\n");
		return 1;
	}
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":F:N:h", opts, NULL)) != -1) {
		switch (c) {
		case 'F':
		case 'N':
			if (filter_add(filt, optarg, c == 'N', err, sizeof(err))) {
				fprintf(stderr, "ctrace-bpf list: invalid %s pattern '%s': %s\n",
					c == 'F' ? "--filter" : "--exclude", optarg, err);
				ret = 2;
				goto out;
			}
			break;
		case OPT_FILTER_FILE:
			if (filter_add_file(filt, optarg, err, sizeof(err))) {
				fprintf(stderr, "ctrace-bpf list: --filter-file: %s\n", err);
				ret = 2;
				goto out;
			}
			break;
		case OPT_SITES: sites = true; break;
		default:
			ret = cmd_other_option("ctrace-bpf list", list_usage, c, argv, optind);
			goto out;
		}
	}
	if (optind != argc - 1) {
		ret = cmd_one_operand("ctrace-bpf list", optind == argc, "binary", "BINARY");
		goto out;
	}
	if (elf_image_open(argv[optind], &img, err, sizeof(err))) {
		img = NULL;
		fprintf(stderr, "ctrace-bpf list: '%s': %s\n", argv[optind],
			reason(err, argv[optind]));
		goto out;
	}
	if (!img->refs_hooks) {
		fprintf(stderr,
			"ctrace-bpf list: '%s' was not built with -finstrument-functions: "
			"no function is instrumented (see ctrace-bpf check)\n",
			argv[optind]);
		goto out;
	}
	if (sites) {
		ret = list_sites(img, argv[optind], filt);
		goto out;
	}
	if (instrumented(img, &idx, &nidx, err, sizeof(err))) {
		fprintf(stderr, "ctrace-bpf list: '%s': %s\n", argv[optind], err);
		goto out;
	}
	names = calloc(nidx ? nidx : 1, sizeof(*names));
	if (!names) {
		fprintf(stderr, "ctrace-bpf list: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < nidx; i++) {
		const struct elf_sym *s = &img->syms[idx[i]];
		char *dm = demangle(s->name);

		if (!dm) {
			fprintf(stderr, "ctrace-bpf list: out of memory\n");
			goto out;
		}
		if (filter_allows(filt, s->name, dm))
			names[nnames++] = dm;
		else
			free(dm);
	}
	qsort(names, nnames, sizeof(*names), by_str);
	for (size_t i = 0; i < nnames; i++)
		if (!i || strcmp(names[i], names[i - 1]))
			put_glob(stdout, names[i]);
	if (!nnames) {
		fprintf(stderr, "ctrace-bpf list: '%s': %s\n", argv[optind],
			nidx ? "no instrumented function matches the patterns" :
			       "no instrumented function found (stripped? see ctrace-bpf check)");
		goto out;
	}
	ret = fflush(stdout) ? 1 : 0;
out:
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(idx);
	if (img)
		elf_image_free(img);
	filter_free(filt);
	return ret;
}

static void line(const char *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(const char *status, const char *fmt, ...)
{
	va_list ap;

	printf("  %-5s ", status);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int cmd_check_main(int argc, char **argv)
{
	struct elf_image *img = NULL;
	size_t *idx = NULL, nidx = 0;
	char err[256], note[256] = "";
	const char *path, *kind;
	bool ok = true, need_instr = false, need_g = false, need_symtab = false;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(
			argc, argv, "h",
			(const struct option[]){ { "help", no_argument, NULL, 'h' }, { 0 } },
			NULL)) != -1)
		return cmd_other_option("ctrace-bpf check", check_usage, c, argv, optind);
	if (optind != argc - 1)
		return cmd_one_operand("ctrace-bpf check", optind == argc, "binary", "BINARY");
	path = argv[optind];
	rc = elf_image_open(path, &img, err, sizeof(err));
	if (rc && rc != -ENOEXEC && rc != -EINVAL) {
		fprintf(stderr, "ctrace-bpf check: '%s': %s\n", path, reason(err, path));
		return 1;
	}
	printf("%s\n", path);
	if (rc) {
		line("FAIL", "not an x86_64 ELF executable or library: %s", reason(err, path));
		printf("not traceable: ctrace-bpf traces x86_64 ELF programs built with "
		       "`gcc -finstrument-functions -g`\n");
		return 1;
	}
	kind = img->e_type == ET_EXEC ? "executable" :
	       elf_has_interp(img)    ? "position-independent executable" :
					"shared library (or static PIE)";
	line("ok", "x86_64 ELF %s, %s", kind,
	     elf_has_interp(img)    ? "dynamically linked" :
	     img->e_type == ET_EXEC ? "statically linked" :
				      "no interpreter");

	if (!img->refs_hooks) {
		ok = false;
		need_instr = true;
		line("FAIL",
		     "no calls to __cyg_profile_func_enter/exit: not built with -finstrument-functions");
	} else if (img->hook_def[0] && img->hook_def[0] == img->hook_def[1]) {
		ok = false;
		line("FAIL",
		     "statically linked with glibc's hooks, which share one address: entry and "
		     "exit cannot be told apart; link it dynamically");
	} else {
		rc = instrumented(img, &idx, &nidx, note, sizeof(note));
		if (rc) {
			ok = false;
			line("FAIL", "cannot decode its code: %s", note);
		} else {
			if (img->nsyms)
				line("ok",
				     "built with -finstrument-functions: %zu of %zu function%s instrumented",
				     nidx, img->nsyms, img->nsyms == 1 ? "" : "s");
			else
				line("ok",
				     "built with -finstrument-functions (it calls the hooks; with no "
				     "symbol table its functions cannot be counted)");
			if (note[0])
				line("note", "%s", note);
			if (!nidx && img->has_symtab)
				line("warn", "no function calls the hooks: only code built with "
					     "-finstrument-functions is traced (its libraries?)");
		}
	}
	if (img->has_debug_info) {
		line("ok", "DWARF debug info (-g): arguments and return values can be typed");
	} else {
		need_g = true;
		line("warn", "no DWARF debug info: add -g for typed arguments and return values "
			     "(calls are still traced)");
	}
	if (img->has_symtab) {
		line("ok", "symbol table present: every function has a name");
	} else {
		need_symtab = true;
		line("warn", "stripped (no .symtab): only exported functions can be named or "
			     "filtered; calls of the others show as [unknown]");
	}
	if (ok)
		printf("traceable%s\n", need_g || need_symtab ? ", with the warnings above" : "");
	else
		printf("not traceable\n");
	if (need_instr || need_g || need_symtab)
		printf("to fix: %s%s%s%s%s\n", need_instr || need_g ? "rebuild with `gcc" : "",
		       need_instr ? " -finstrument-functions" : "", need_g ? " -g" : "",
		       need_instr || need_g ? " ...`" : "",
		       need_symtab ?
			       (need_instr || need_g ?
					" and do not strip it" :
					"do not strip it (strip --strip-debug keeps the symbol table)") :
			       "");
	free(idx);
	elf_image_free(img);
	return ok ? 0 : 1;
}
