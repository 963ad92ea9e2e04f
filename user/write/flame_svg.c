/* Merged call stacks, folded lines and the SVG flame graph (see flame_svg.h). */
#include <stdlib.h>
#include <string.h>

#include "write/flame_svg.h"
#include "utils/strutil.h"

#define NONE	UINT32_MAX
#define UNNAMED UINT32_MAX /* name id of a placeholder */

struct fnode {
	uint32_t parent, name, first, next; /* name: index into names */
	uint64_t self_ns, calls;
	uint64_t tot_ns, tot_calls; /* subtree sums, filled before rendering */
};

struct flame {
	struct fnode *n;
	uint32_t nn, capn;
	/* interned names */
	char **names;
	uint32_t nnames, capnames;
	uint32_t *name_ht; /* open addressing: name id or NONE */
	uint32_t name_htcap;
	/* (parent, name) -> node */
	uint32_t *node_ht;
	uint32_t node_htcap, node_htused;
	bool sorted;
};

static uint64_t hash_pair(uint32_t a, uint32_t b)
{
	uint64_t h = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ull;

	return h ^ (h >> 29);
}

struct flame *flame_new(void)
{
	struct flame *fl = calloc(1, sizeof(*fl));

	if (!fl)
		return NULL;
	fl->capn = 1024;
	fl->n = malloc(fl->capn * sizeof(*fl->n));
	fl->name_htcap = 1024;
	fl->name_ht = malloc(fl->name_htcap * sizeof(uint32_t));
	fl->node_htcap = 4096;
	fl->node_ht = malloc(fl->node_htcap * sizeof(uint32_t));
	if (!fl->n || !fl->name_ht || !fl->node_ht) {
		flame_free(fl);
		return NULL;
	}
	memset(fl->name_ht, 0xff, fl->name_htcap * sizeof(uint32_t));
	memset(fl->node_ht, 0xff, fl->node_htcap * sizeof(uint32_t));
	fl->n[0] = (struct fnode){ .parent = NONE, .name = UNNAMED, .first = NONE, .next = NONE };
	fl->nn = 1;
	return fl;
}

void flame_free(struct flame *fl)
{
	if (!fl)
		return;
	for (uint32_t i = 0; i < fl->nnames; i++)
		free(fl->names[i]);
	free(fl->names);
	free(fl->name_ht);
	free(fl->node_ht);
	free(fl->n);
	free(fl);
}

static uint32_t intern(struct flame *fl, const char *s)
{
	uint32_t mask = fl->name_htcap - 1, i = (uint32_t)str_hash(s) & mask;

	for (; fl->name_ht[i] != NONE; i = (i + 1) & mask)
		if (!strcmp(fl->names[fl->name_ht[i]], s))
			return fl->name_ht[i];
	if (fl->nnames == fl->capnames) {
		uint32_t ncap = fl->capnames ? fl->capnames * 2 : 256;
		char **nv = realloc(fl->names, ncap * sizeof(*nv));

		if (!nv)
			return NONE;
		fl->names = nv;
		fl->capnames = ncap;
	}
	fl->names[fl->nnames] = strdup(s);
	if (!fl->names[fl->nnames])
		return NONE;
	fl->name_ht[i] = fl->nnames++;
	if (fl->nnames * 2 > fl->name_htcap) {
		uint32_t ncap = fl->name_htcap * 2;
		uint32_t *nt = malloc(ncap * sizeof(uint32_t));

		if (!nt)
			return NONE;
		memset(nt, 0xff, ncap * sizeof(uint32_t));
		for (uint32_t k = 0; k < fl->nnames; k++) {
			uint32_t j = (uint32_t)str_hash(fl->names[k]) & (ncap - 1);

			while (nt[j] != NONE)
				j = (j + 1) & (ncap - 1);
			nt[j] = k;
		}
		free(fl->name_ht);
		fl->name_ht = nt;
		fl->name_htcap = ncap;
	}
	return fl->nnames - 1;
}

/* the slot of (parent, name) in node_ht: its node, or the empty slot to use */
static uint32_t *node_slot(struct flame *fl, uint32_t parent, uint32_t name)
{
	uint32_t mask = fl->node_htcap - 1, i = (uint32_t)hash_pair(parent, name) & mask;

	for (; fl->node_ht[i] != NONE; i = (i + 1) & mask) {
		const struct fnode *x = &fl->n[fl->node_ht[i]];

		if (x->parent == parent && x->name == name)
			break;
	}
	return &fl->node_ht[i];
}

static int node_ht_grow(struct flame *fl)
{
	uint32_t ncap = fl->node_htcap * 2, *old = fl->node_ht, oldcap = fl->node_htcap;

	fl->node_ht = malloc(ncap * sizeof(uint32_t));
	if (!fl->node_ht) {
		fl->node_ht = old;
		return -1;
	}
	memset(fl->node_ht, 0xff, ncap * sizeof(uint32_t));
	fl->node_htcap = ncap;
	for (uint32_t k = 0; k < oldcap; k++)
		if (old[k] != NONE)
			*node_slot(fl, fl->n[old[k]].parent, fl->n[old[k]].name) = old[k];
	free(old);
	return 0;
}

static uint32_t new_node(struct flame *fl, uint32_t parent, uint32_t name)
{
	struct fnode *x;

	if (fl->nn == fl->capn) {
		uint32_t ncap = fl->capn * 2;
		struct fnode *nv;

		if (ncap <= fl->capn || !(nv = realloc(fl->n, (size_t)ncap * sizeof(*nv))))
			return NONE;
		fl->n = nv;
		fl->capn = ncap;
	}
	x = &fl->n[fl->nn];
	*x = (struct fnode){
		.parent = parent, .name = name, .first = NONE, .next = fl->n[parent].first
	};
	fl->n[parent].first = fl->nn;
	fl->sorted = false;
	return fl->nn++;
}

static uint32_t insert_named(struct flame *fl, uint32_t parent, uint32_t name)
{
	uint32_t *slot, id;

	if ((fl->node_htused + 1) * 2 > fl->node_htcap && node_ht_grow(fl))
		return NONE;
	slot = node_slot(fl, parent, name);
	if (*slot != NONE)
		return *slot;
	id = new_node(fl, parent, name);
	if (id != NONE) {
		*slot = id;
		fl->node_htused++;
	}
	return id;
}

uint32_t flame_child(struct flame *fl, uint32_t parent, const char *name)
{
	uint32_t nm = intern(fl, name);

	return nm == NONE ? NONE : insert_named(fl, parent, nm);
}

uint32_t flame_placeholder(struct flame *fl, uint32_t parent)
{
	return new_node(fl, parent, UNNAMED);
}

static void unlink_child(struct flame *fl, uint32_t node)
{
	uint32_t *p = &fl->n[fl->n[node].parent].first;

	while (*p != node)
		p = &fl->n[*p].next;
	*p = fl->n[node].next;
}

/* Linear-probing deletion: later entries of the same probe run move up, so
 * lookups never stop early at the freed slot. */
static void node_ht_del(struct flame *fl, uint32_t parent, uint32_t name)
{
	uint32_t mask = fl->node_htcap - 1,
		 i = (uint32_t)(node_slot(fl, parent, name) - fl->node_ht);

	if (fl->node_ht[i] == NONE)
		return;
	fl->node_ht[i] = NONE;
	fl->node_htused--;
	for (uint32_t j = (i + 1) & mask; fl->node_ht[j] != NONE; j = (j + 1) & mask) {
		const struct fnode *x = &fl->n[fl->node_ht[j]];
		uint32_t home = (uint32_t)hash_pair(x->parent, x->name) & mask;

		/* the entry at j may fill i when i lies cyclically in [home, j) */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			fl->node_ht[i] = fl->node_ht[j];
			fl->node_ht[j] = NONE;
			i = j;
		}
	}
}

/* Moves src's weights and children into dst (the same stack), merging
 * children of the same name pairwise: a worklist, not recursion, so depth
 * costs heap. Every child is named: a placeholder cannot sit below a call
 * that has returned. Re-keying keeps the table's load as it was. */
static int merge(struct flame *fl, uint32_t src, uint32_t dst)
{
	uint32_t *work = NULL, nwork = 0, capwork = 0;
	int rc = 0;

	for (;;) {
		uint32_t c = fl->n[src].first;

		fl->n[dst].self_ns += fl->n[src].self_ns;
		fl->n[dst].calls += fl->n[src].calls;
		fl->n[src].self_ns = fl->n[src].calls = 0;
		fl->n[src].first = NONE;
		while (c != NONE) {
			uint32_t next = fl->n[c].next, name = fl->n[c].name, *slot;

			node_ht_del(fl, src, name);
			slot = node_slot(fl, dst, name);
			if (*slot == NONE) {
				fl->n[c].parent = dst;
				fl->n[c].next = fl->n[dst].first;
				fl->n[dst].first = c;
				*slot = c;
				fl->node_htused++;
			} else {
				if (nwork + 2 > capwork) {
					uint32_t ncap = capwork ? capwork * 2 : 64, *nw;

					nw = realloc(work, ncap * sizeof(*nw));
					if (!nw) {
						rc = -1;
						goto out;
					}
					work = nw;
					capwork = ncap;
				}
				work[nwork++] = c;
				work[nwork++] = *slot;
			}
			c = next;
		}
		if (!nwork)
			break;
		dst = work[--nwork];
		src = work[--nwork];
	}
out:
	free(work);
	fl->sorted = false;
	return rc;
}

uint32_t flame_resolve(struct flame *fl, uint32_t node, const char *name)
{
	uint32_t nm = intern(fl, name), parent = fl->n[node].parent, *slot;

	if (nm == NONE)
		return NONE;
	if ((fl->node_htused + 1) * 2 > fl->node_htcap && node_ht_grow(fl))
		return NONE;
	slot = node_slot(fl, parent, nm);
	if (*slot == NONE) {
		fl->n[node].name = nm;
		*slot = node;
		fl->node_htused++;
		fl->sorted = false;
		return node;
	}
	unlink_child(fl, node);
	return merge(fl, node, *slot) ? NONE : *slot;
}

void flame_add(struct flame *fl, uint32_t node, uint64_t self_ns, uint64_t calls)
{
	fl->n[node].self_ns += self_ns;
	fl->n[node].calls += calls;
}

/* ---- rendering -------------------------------------------------------------- */

static int by_name(const void *a, const void *b, void *arg)
{
	const struct flame *fl = arg;
	const struct fnode *x = &fl->n[*(const uint32_t *)a], *y = &fl->n[*(const uint32_t *)b];

	return strcmp(x->name == UNNAMED ? "" : fl->names[x->name],
		      y->name == UNNAMED ? "" : fl->names[y->name]);
}

/* Children lists in name order (flamegraph.pl's sort), and subtree sums. */
static int prepare(struct flame *fl)
{
	uint32_t *tmp = NULL, cap = 0, *order;
	uint32_t no = 0;

	if (fl->sorted)
		return 0;
	for (uint32_t i = 0; i < fl->nn; i++) {
		uint32_t k = 0;

		for (uint32_t c = fl->n[i].first; c != NONE; c = fl->n[c].next) {
			if (k == cap) {
				uint32_t ncap = cap ? cap * 2 : 64,
					 *nt = realloc(tmp, ncap * sizeof(*nt));

				if (!nt) {
					free(tmp);
					return -1;
				}
				tmp = nt;
				cap = ncap;
			}
			tmp[k++] = c;
		}
		if (k < 2)
			continue;
		qsort_r(tmp, k, sizeof(*tmp), by_name, fl);
		fl->n[i].first = tmp[0];
		for (uint32_t j = 0; j + 1 < k; j++)
			fl->n[tmp[j]].next = tmp[j + 1];
		fl->n[tmp[k - 1]].next = NONE;
	}
	free(tmp);
	/* subtree sums: a breadth-first list walked backwards visits children first */
	order = malloc((size_t)fl->nn * sizeof(*order));
	if (!order)
		return -1;
	order[no++] = 0;
	for (uint32_t i = 0; i < no; i++)
		for (uint32_t c = fl->n[order[i]].first; c != NONE; c = fl->n[c].next)
			order[no++] = c;
	for (uint32_t i = 0; i < fl->nn; i++) {
		fl->n[i].tot_ns = fl->n[i].self_ns;
		fl->n[i].tot_calls = fl->n[i].calls;
	}
	for (uint32_t i = no; i-- > 1;) {
		struct fnode *x = &fl->n[order[i]];

		fl->n[x->parent].tot_ns += x->tot_ns;
		fl->n[x->parent].tot_calls += x->tot_calls;
	}
	free(order);
	fl->sorted = true;
	return 0;
}

static const char *name_of(const struct flame *fl, uint32_t node)
{
	return fl->n[node].name == UNNAMED ? "[unknown]" : fl->names[fl->n[node].name];
}

/* the explicit stack of the walks below: depth costs heap, not C stack */
struct walk {
	uint32_t *stack;
	size_t n, cap;
};

static int walk_push(struct walk *w, uint32_t v)
{
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 256;
		uint32_t *ns = realloc(w->stack, ncap * sizeof(*ns));

		if (!ns)
			return -1;
		w->stack = ns;
		w->cap = ncap;
	}
	w->stack[w->n++] = v;
	return 0;
}

static void put_folded_name(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		putc_unlocked(c == ';' ? ':' : c < 0x20 || c == 0x7f ? ' ' : c, out);
	}
}

int flame_write_folded(struct flame *fl, FILE *out, bool weight_calls)
{
	struct walk w = { 0 };
	uint32_t *path = NULL; /* the nodes from the root's child down to the current one */
	size_t npath = 0, cappath = 0;
	int rc = 0;

	if (prepare(fl))
		return -1;
	/* a DFS that keeps the path from the root's child down to the current node */
	if (fl->n[0].first != NONE && walk_push(&w, fl->n[0].first))
		rc = -1;
	while (!rc && w.n) {
		uint32_t x = w.stack[--w.n];
		uint64_t weight;

		/* drop the path back to x's parent */
		while (npath && path[npath - 1] != fl->n[x].parent)
			npath--;
		if (npath == cappath) {
			size_t ncap = cappath ? cappath * 2 : 256;
			uint32_t *np = realloc(path, ncap * sizeof(*np));

			if (!np) {
				rc = -1;
				break;
			}
			path = np;
			cappath = ncap;
		}
		path[npath++] = x;
		/* siblings after x, then x's children (pushed so the first pops first) */
		if (fl->n[x].next != NONE && walk_push(&w, fl->n[x].next))
			rc = -1;
		if (fl->n[x].first != NONE && walk_push(&w, fl->n[x].first))
			rc = -1;
		weight = weight_calls ? fl->n[x].calls : fl->n[x].self_ns;
		if (!weight)
			continue;
		for (size_t i = 0; i < npath; i++) {
			if (i)
				putc_unlocked(';', out);
			put_folded_name(out, name_of(fl, path[i]));
		}
		fprintf(out, " %llu\n", (unsigned long long)weight);
	}
	free(path);
	free(w.stack);
	return rc || ferror(out) ? -1 : 0;
}

void flame_fmt_ns(char *buf, size_t len, uint64_t ns)
{
	static const char *const units[] = { "µs", "ms", "s" };
	double v = (double)ns;

	if (ns < 1000) {
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
		return;
	}
	for (int u = 0; u < 3; u++) {
		v /= 1000;
		if (v < 999.5 || u == 2) {
			snprintf(buf, len,
				 v < 9.995 ? "%.2f %s" :
				 v < 99.95 ? "%.1f %s" :
					     "%.0f %s",
				 v, units[u]);
			return;
		}
	}
}

/* ---- SVG ------------------------------------------------------------------------ */

#define FRAME_H	  16
#define FONT_SIZE 12
#define FONT_W	  0.59 /* average glyph width in font sizes (Verdana), as flamegraph.pl */
#define XPAD	  10
#define MIN_W	  0.1

/* s as XML text; when it has more than max_chars characters, its first
 * max_chars - 2 and "..", as flamegraph.pl shortens names */
static void xml_text(FILE *out, const char *s, size_t max_chars)
{
	size_t chars = 0, keep = utf8_chars(s) > max_chars ? max_chars - 2 : SIZE_MAX;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xc0) != 0x80 && chars++ == keep) {
			fputs("..", out);
			return;
		}
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		default:
			/* XML 1.0 has no place for other C0 controls */
			putc_unlocked(*p < 0x20 && *p != '\t' ? ' ' : *p, out);
		}
	}
}

/* A warm colour from the name alone: the same function looks the same in
 * every graph (flamegraph.pl --hash does the same with its own hash). */
static void color_of(const char *name, int rgb[3])
{
	uint64_t h = str_hash(name);

	rgb[0] = 205 + (int)(h % 51);
	rgb[1] = (int)((h >> 16) % 231);
	rgb[2] = (int)((h >> 32) % 56);
}

/* "name — total 1.20 ms, self 300 µs, 4 calls": the calls of this function
 * at this stack (for "all", every call) */
static void frame_title(FILE *out, const struct flame *fl, uint32_t x, const char *name)
{
	char tot[32], self[32];
	uint64_t calls = x ? fl->n[x].calls : fl->n[x].tot_calls;

	flame_fmt_ns(tot, sizeof(tot), fl->n[x].tot_ns);
	flame_fmt_ns(self, sizeof(self), fl->n[x].self_ns);
	xml_text(out, name, SIZE_MAX);
	fprintf(out, " — total %s, self %s, %llu call%s", tot, self, (unsigned long long)calls,
		calls == 1 ? "" : "s");
}

static const char svg_script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"// click a frame to zoom into it; Reset Zoom, the background or Escape resets;\n"
	"// Search (or Ctrl-F, or NAME.svg?s=REGEX) highlights the frames whose name matches\n"
	"var svg = document.documentElement, W = +svg.getAttribute('width'), XP = 10;\n"
	"var resetBtn = document.getElementById('reset'), searchBtn = document.getElementById('search');\n"
	"var matched = document.getElementById('matched'), term = null;\n"
	"function fit(g) {\n"
	"  var r = g.querySelector('rect'), t = g.querySelector('text'), w = +r.getAttribute('width');\n"
	"  var name = g.getAttribute('data-name'), n = Math.floor(w / (12 * 0.59));\n"
	"  t.setAttribute('x', +r.getAttribute('x') + 3);\n"
	"  t.textContent = n < 3 ? '' : name.length <= n ? name : name.slice(0, n - 2) + '..';\n"
	"}\n"
	"function zoom(target) {\n"
	"  var tx = +target.getAttribute('data-x'), tw = +target.getAttribute('data-w');\n"
	"  var ty = +target.querySelector('rect').getAttribute('y'), k = (W - 2 * XP) / tw;\n"
	"  resetBtn.style.opacity = 1;\n"
	"  document.querySelectorAll('g.f').forEach(function (g) {\n"
	"    var x = +g.getAttribute('data-x'), w = +g.getAttribute('data-w');\n"
	"    var r = g.querySelector('rect'), y = +r.getAttribute('y');\n"
	"    var inside = x >= tx - 1e-9 && x + w <= tx + tw + 1e-9 && y <= ty;\n"
	"    var below = y > ty && x <= tx + 1e-9 && x + w >= tx + tw - 1e-9;\n"
	"    g.style.display = inside || below ? '' : 'none';\n"
	"    g.style.opacity = below ? 0.5 : 1;\n"
	"    r.setAttribute('x', below ? XP : XP + (x - tx) * k);\n"
	"    r.setAttribute('width', below ? W - 2 * XP : w * k);\n"
	"    if (inside || below) fit(g);\n"
	"  });\n"
	"}\n"
	"function reset() {\n"
	"  resetBtn.style.opacity = 0.4;\n"
	"  document.querySelectorAll('g.f').forEach(function (g) {\n"
	"    var r = g.querySelector('rect');\n"
	"    g.style.display = ''; g.style.opacity = 1;\n"
	"    r.setAttribute('x', XP + +g.getAttribute('data-x'));\n"
	"    r.setAttribute('width', g.getAttribute('data-w'));\n"
	"    fit(g);\n"
	"  });\n"
	"}\n"
	"document.querySelectorAll('g.f').forEach(function (g) {\n"
	"  g.addEventListener('click', function (e) { e.stopPropagation(); zoom(g); });\n"
	"  g.addEventListener('mouseover', function () {\n"
	"    document.getElementById('details').textContent = g.querySelector('title').textContent;\n"
	"  });\n"
	"  g.addEventListener('mouseout', function () {\n"
	"    document.getElementById('details').textContent = ' ';\n"
	"  });\n"
	"});\n"
	"// the share of the whole that matching frames cover: nested matches count once\n"
	"function search(t) {\n"
	"  var re, spans = [], sum = 0, end = -1;\n"
	"  try { re = t ? new RegExp(t) : null; } catch (e) { matched.textContent = 'bad regex: ' + t; return; }\n"
	"  term = re ? t : null;\n"
	"  document.querySelectorAll('g.f').forEach(function (g) {\n"
	"    var r = g.querySelector('rect'), on = re && !g.hasAttribute('data-root') &&\n"
	"        re.test(g.getAttribute('data-name'));\n"
	"    if (!r.hasAttribute('data-fill')) r.setAttribute('data-fill', r.getAttribute('fill'));\n"
	"    r.setAttribute('fill', on ? 'rgb(230,0,230)' : r.getAttribute('data-fill'));\n"
	"    if (on) spans.push([+g.getAttribute('data-x'), +g.getAttribute('data-w')]);\n"
	"  });\n"
	"  spans.sort(function (a, b) { return a[0] - b[0]; });\n"
	"  spans.forEach(function (v) {\n"
	"    var s = Math.max(v[0], end), e = v[0] + v[1];\n"
	"    if (e > s) sum += e - s;\n"
	"    end = Math.max(end, e);\n"
	"  });\n"
	"  var all = +document.querySelector('g.f[data-root]').getAttribute('data-w');\n"
	"  searchBtn.textContent = term ? 'Clear search' : 'Search';\n"
	"  matched.textContent = term ? 'Matched: ' + (all ? (100 * sum / all).toFixed(1) : '0.0') +\n"
	"      '% (' + spans.length + ' frame' + (spans.length == 1 ? '' : 's') + ' /' + t + '/)' : ' ';\n"
	"}\n"
	"function ask() {\n"
	"  if (term !== null) { search(null); return; }\n"
	"  var t = prompt('Search frames (a regular expression):', '');\n"
	"  if (t) search(t);\n"
	"}\n"
	"resetBtn.addEventListener('click', reset);\n"
	"searchBtn.addEventListener('click', ask);\n"
	"document.getElementById('bg').addEventListener('click', reset);\n"
	"document.addEventListener('keydown', function (e) {\n"
	"  if (e.key === 'Escape') reset();\n"
	"  if (e.key === 'f' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); ask(); }\n"
	"});\n"
	"var q = /[?&#]s=([^&]*)/.exec(location.href);\n"
	"if (q) search(decodeURIComponent(q[1]));\n"
	"]]></script>\n";

int flame_write_svg(struct flame *fl, FILE *out, const struct flame_svg_opts *o)
{
	unsigned width = o->width ? o->width : 1200;
	double scale;
	uint64_t total;
	uint32_t maxdepth = 0;
	int height, ypad1 = FONT_SIZE * 3 + (o->subtitle ? 16 : 0), ypad2 = FONT_SIZE * 2 + 10;
	struct walk w = { 0 };
	double *xs = NULL; /* left edge of each node, in weight units */
	uint32_t *depth = NULL;
	int rc = 0;

	if (prepare(fl))
		return -1;
	total = o->weight_calls ? fl->n[0].tot_calls : fl->n[0].tot_ns;
	scale = total ? (width - 2.0 * XPAD) / (double)total : 0;
	xs = calloc(fl->nn, sizeof(*xs));
	depth = calloc(fl->nn, sizeof(*depth));
	if (!xs || !depth) {
		rc = -1;
		goto out;
	}
	/* pass 1: positions and the deepest visible level */
	if (walk_push(&w, 0))
		rc = -1;
	while (!rc && w.n) {
		uint32_t x = w.stack[--w.n];
		double cx = xs[x];

		for (uint32_t c = fl->n[x].first; c != NONE; c = fl->n[c].next) {
			uint64_t cw = o->weight_calls ? fl->n[c].tot_calls : fl->n[c].tot_ns;

			xs[c] = cx;
			cx += (double)cw;
			if ((double)cw * scale < MIN_W)
				continue;
			depth[c] = depth[x] + 1;
			if (depth[c] > maxdepth)
				maxdepth = depth[c];
			if (walk_push(&w, c))
				rc = -1;
		}
	}
	if (rc)
		goto out;
	height = (int)(maxdepth + 1) * FRAME_H + ypad1 + ypad2;
	fprintf(out,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%u\" height=\"%d\" viewBox=\"0 0 %u %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		/* XML forbids "--" inside a comment */
		"<!-- a flame graph by ctrace-bpf; frame widths: %s -->\n"
		"<defs><linearGradient id=\"bgg\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		"<stop stop-color=\"#eeeeee\" offset=\"5%%\"/><stop stop-color=\"#eeeeb0\" offset=\"95%%\"/>"
		"</linearGradient></defs>\n"
		"<style>text { font-family: Verdana, sans-serif; font-size: %dpx; fill: #000; } "
		"g.f:hover rect { stroke: #000; stroke-width: 0.5; } g.f { cursor: pointer; }</style>\n"
		"<rect id=\"bg\" x=\"0\" y=\"0\" width=\"%u\" height=\"%d\" fill=\"url(#bgg)\"/>\n"
		"<text x=\"%u\" y=\"%d\" text-anchor=\"middle\" style=\"font-size: 17px\">",
		width, height, width, height,
		o->weight_calls ? "call counts" : "total time in ns (the call and its callees)",
		FONT_SIZE, width, height, width / 2, FONT_SIZE * 2);
	xml_text(out, o->title ? o->title : "Flame Graph", SIZE_MAX);
	fputs("</text>\n", out);
	if (o->subtitle) {
		fprintf(out, "<text x=\"%u\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">",
			width / 2, FONT_SIZE * 2 + 14);
		xml_text(out, o->subtitle, SIZE_MAX);
		fputs("</text>\n", out);
	}
	fprintf(out, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", XPAD,
		height - ypad2 / 2 + 2);
	fprintf(out,
		"<text id=\"reset\" x=\"%d\" y=\"%d\" style=\"cursor: pointer; opacity: 0.4\">"
		"Reset Zoom</text>\n"
		"<text id=\"search\" x=\"%d\" y=\"%d\" text-anchor=\"end\" "
		"style=\"cursor: pointer\">Search</text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"> </text>\n",
		XPAD, FONT_SIZE * 2, width - XPAD, FONT_SIZE * 2, width - XPAD,
		height - ypad2 / 2 + 2);

	/* pass 2: the frames, "all" at the bottom */
	if (walk_push(&w, 0))
		rc = -1;
	while (!rc && w.n) {
		uint32_t x = w.stack[--w.n];
		uint64_t xw = o->weight_calls ? fl->n[x].tot_calls : fl->n[x].tot_ns;
		double px = XPAD + xs[x] * scale, pw = (double)xw * scale;
		int y = height - ypad2 - (int)(depth[x] + 1) * FRAME_H;
		const char *name = x ? name_of(fl, x) : "all";
		int rgb[3];
		size_t fit = (size_t)(pw / (FONT_SIZE * FONT_W));

		if (x)
			color_of(name, rgb);
		else
			rgb[0] = 250, rgb[1] = 200, rgb[2] = 80;
		fprintf(out, "<g class=\"f\"%s data-x=\"%.4f\" data-w=\"%.4f\" data-name=\"",
			x ? "" : " data-root=\"\"", xs[x] * scale, pw);
		xml_text(out, name, SIZE_MAX);
		fputs("\"><title>", out);
		frame_title(out, fl, x, name);
		fprintf(out,
			"</title><rect x=\"%.4f\" y=\"%d\" width=\"%.4f\" height=\"%d\" "
			"fill=\"rgb(%d,%d,%d)\" rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%d\">",
			px, y, pw, FRAME_H - 1, rgb[0], rgb[1], rgb[2], px + 3, y + FRAME_H - 5);
		if (fit >= 3)
			xml_text(out, name, fit);
		fputs("</text></g>\n", out);
		for (uint32_t c = fl->n[x].first; c != NONE; c = fl->n[c].next)
			if (depth[c] == depth[x] + 1 && walk_push(&w, c))
				rc = -1;
	}
	fputs(svg_script, out);
	fputs("</svg>\n", out);
out:
	free(xs);
	free(depth);
	free(w.stack);
	return rc || ferror(out) ? -1 : 0;
}
