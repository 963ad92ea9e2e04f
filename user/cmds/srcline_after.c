#include <inttypes.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cmds/srcline_after.h"
#include "find/elf_image.h"
#include "find/srcline.h"
#include "utils/log.h"
#include "utils/u64map.h"

/* one mapping of metadata.processes[].modules */
struct sa_map {
	uint64_t start, end, offset;
	size_t file; /* in files (which moves as it grows) */
};

/* one file those name, opened once */
struct sa_file {
	char *path;
	const char *name;      /* its base name: what nodes' "module" says */
	struct elf_image *img; /* NULL: gone, unreadable or another build */
};

struct srcline_after {
	struct trace_source source;
	const struct trace_source *in;
	const struct trace_visitor *v;
	void *ctx;
	struct sa_map *maps;
	size_t nmaps;
	struct sa_file *files;
	size_t nfiles;
	struct srclines *sl;
	struct u64map lines; /* address → "FILE:LINE", or &none */
};

static char none;

/* the file at path, checked against the build id the trace recorded */
static ssize_t file_of(struct srcline_after *s, const char *path, const char *id)
{
	char err[256], have[128];
	struct sa_file *f;
	const char *why = NULL;

	for (size_t i = 0; i < s->nfiles; i++)
		if (!strcmp(s->files[i].path, path))
			return (ssize_t)i;
	f = realloc(s->files, (s->nfiles + 1) * sizeof(*f));
	if (!f)
		return -1;
	s->files = f;
	f += s->nfiles++;
	f->path = strdup(path);
	f->name = f->path ? (strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path) : "";
	f->img = NULL;
	if (!id)
		why = "the trace recorded no build id for it";
	else if (!f->path || elf_image_open(path, &f->img, err, sizeof(err)))
		why = "it cannot be read now";
	else if (!srcline_build_id(f->img->elf, have, sizeof(have)) || strcmp(have, id))
		why = "it is not the build that was traced (another build id)";
	if (why) {
		if (f->img)
			elf_image_free(f->img);
		f->img = NULL;
		log_warn("--srcline: no source lines for %s: %s", path, why);
	}
	return (ssize_t)(s->nfiles - 1);
}

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool hex_of(const cJSON *o, const char *k, uint64_t *v)
{
	const char *s = str_of(o, k);
	char *end;

	if (!s || strncmp(s, "0x", 2))
		return false;
	*v = strtoull(s + 2, &end, 16);
	return end != s + 2 && !*end;
}

/* every process's modules, from the metadata */
static void read_modules(struct srcline_after *s, const char *json)
{
	cJSON *root = cJSON_Parse(json), *p, *m;
	const cJSON *procs = cJSON_GetObjectItemCaseSensitive(root, "processes");
	bool any = false;

	cJSON_ArrayForEach(p, procs)
	{
		const cJSON *mods = cJSON_GetObjectItemCaseSensitive(p, "modules");

		any |= cJSON_IsArray(mods);
		cJSON_ArrayForEach(m, mods)
		{
			struct sa_map v, *nv;
			const char *path = str_of(m, "path");
			ssize_t k;

			if (!path || !hex_of(m, "start", &v.start) || !hex_of(m, "end", &v.end) ||
			    !hex_of(m, "offset", &v.offset) ||
			    (k = file_of(s, path, str_of(m, "build_id"))) < 0)
				continue;
			v.file = (size_t)k;
			if (!(nv = realloc(s->maps, (s->nmaps + 1) * sizeof(*nv))))
				break;
			s->maps = nv;
			s->maps[s->nmaps++] = v;
		}
	}
	if (!any)
		log_warn("--srcline: the trace does not record its modules (metadata.processes"
			 "[].modules): no source lines");
	cJSON_Delete(root);
}

/* the line of the function at runtime address a in the module named
 * module: what the tracer's --srcline gives (consume/symbolize.c), from
 * the one file every mapping there of that name agrees on */
static const char *line_at(struct srcline_after *s, uint64_t a, const char *module)
{
	const struct sa_map *hit = NULL;
	const struct sa_file *f;
	uint64_t vaddr;
	char *line = NULL;

	for (size_t i = 0; i < s->nmaps; i++) {
		const struct sa_map *m = &s->maps[i];

		if (a < m->start || a >= m->end || strcmp(s->files[m->file].name, module))
			continue;
		if (hit &&
		    (hit->file != m->file || hit->start - hit->offset != m->start - m->offset))
			return NULL; /* processes disagree: no guess */
		hit = m;
	}
	f = hit ? &s->files[hit->file] : NULL;
	if (f && f->img && !elf_offset_to_vaddr(f->img, a - hit->start + hit->offset, &vaddr) &&
	    elf_sym_lookup(f->img, vaddr))
		line = srcline_of(s->sl, f->img->fd, vaddr);
	return line;
}

static const char *source_of(struct srcline_after *s, const struct trace_node *n)
{
	char *end, *line;
	uint64_t a;

	if (n->source || !n->address || !n->module || strncmp(n->address, "0x", 2))
		return n->source;
	a = strtoull(n->address + 2, &end, 16);
	if (*end)
		return NULL;
	line = u64map_get(&s->lines, a);
	if (!line) {
		line = (char *)line_at(s, a, n->module);
		if (u64map_put(&s->lines, a, line ? line : &none)) {
			free(line);
			return NULL;
		}
	}
	return line == &none ? NULL : line;
}

static int sa_metadata(void *ctx, const struct trace_meta *m)
{
	struct srcline_after *s = ctx;

	if (m->json)
		read_modules(s, m->json);
	return s->v->metadata ? s->v->metadata(s->ctx, m) : 0;
}

static int sa_thread_begin(void *ctx, const struct trace_thread *t)
{
	struct srcline_after *s = ctx;

	return s->v->thread_begin ? s->v->thread_begin(s->ctx, t) : 0;
}

static int sa_node(struct srcline_after *s, const struct trace_node *n, size_t depth, bool open)
{
	int (*cb)(void *, const struct trace_node *, size_t) =
		open ? s->v->node_open : s->v->node_close;
	struct trace_node c;

	if (!cb)
		return 0;
	c = *n;
	c.source = source_of(s, n);
	return cb(s->ctx, &c, depth);
}

static int sa_node_open(void *ctx, const struct trace_node *n, size_t depth)
{
	return sa_node(ctx, n, depth, true);
}

static int sa_node_close(void *ctx, const struct trace_node *n, size_t depth)
{
	return sa_node(ctx, n, depth, false);
}

static int sa_thread_end(void *ctx, const struct trace_thread *t)
{
	struct srcline_after *s = ctx;

	return s->v->thread_end ? s->v->thread_end(s->ctx, t) : 0;
}

static int sa_crash(void *ctx, const char *json)
{
	struct srcline_after *s = ctx;

	return s->v->crash ? s->v->crash(s->ctx, json) : 0;
}

static int sa_walk(void *src, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	struct srcline_after *s = src;
	const struct trace_visitor w = {
		.metadata = sa_metadata,
		.thread_begin = sa_thread_begin,
		.node_open = v->node_open ? sa_node_open : NULL,
		.node_close = v->node_close ? sa_node_close : NULL,
		.thread_end = sa_thread_end,
		.crash = sa_crash,
		.no_values = v->no_values,
	};

	s->v = v;
	s->ctx = ctx;
	return source_walk(s->in, &w, s, err, errlen);
}

struct srcline_after *srcline_after_new(const struct trace_source *in)
{
	struct srcline_after *s = calloc(1, sizeof(*s));

	if (!s || !(s->sl = srclines_new())) {
		free(s);
		return NULL;
	}
	s->in = in;
	s->source = (struct trace_source){ .walk = sa_walk, .src = s };
	return s;
}

const struct trace_source *srcline_after_source(struct srcline_after *s)
{
	return &s->source;
}

void srcline_after_free(struct srcline_after *s)
{
	uint64_t k;
	void *v;

	if (!s)
		return;
	for (size_t it = 0; u64map_next(&s->lines, &it, &k, &v);)
		if (v != &none)
			free(v);
	u64map_free(&s->lines);
	for (size_t i = 0; i < s->nfiles; i++) {
		if (s->files[i].img)
			elf_image_free(s->files[i].img);
		free(s->files[i].path);
	}
	free(s->files);
	free(s->maps);
	srclines_free(s->sl);
	free(s);
}
