/* speedscope: its own file format (https://www.speedscope.app/file-format-schema.json),
 * one "evented" profile per thread in ns, frames shared. speedscope loads it
 * in linear time; its Trace Event import is quadratic in the events.
 *
 * Its importer throws unless every profile's open ("O") and close ("C")
 * events are balanced, properly nested and in time order, so the calls come
 * clamped (source_walk_clamped, write/clamp.c) as the chrome back end reads
 * them. The events stream out in one pass: memory follows depth and distinct
 * frames. JSON members come in any order, so each profile's name and extent
 * follow its events, and the frames come last. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "write/backend.h"
#include "write/jsonw.h"
#include "utils/strutil.h"

#define NONE UINT32_MAX

struct sframe {
	char *name, *module; /* name NULL: a call whose name comes at its close */
};

struct sopen {
	uint32_t frame;
	bool placeholder;
};

struct speedscope {
	FILE *out;
	struct meta_copy meta;
	struct sframe *frames;
	uint32_t nframes, capframes;
	uint32_t *ht; /* (name, module) -> frame, open addressing */
	uint32_t htcap;
	uint64_t nprofiles;
	/* the thread being read */
	bool started;	   /* its profile's header is written */
	uint64_t nevents;  /* events written in it */
	uint64_t first_at; /* the first event's time */
	uint64_t at;	   /* the latest event's time */
	struct sopen *stack;
	size_t capstack;
	char err[256];
};

static uint64_t frame_hash(const char *name, const char *module)
{
	return str_hash(name) * 31 + (module ? str_hash(module) : 0);
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int ht_grow(struct speedscope *s)
{
	uint32_t ncap = s->htcap ? s->htcap * 2 : 1024, *nt = malloc(ncap * sizeof(*nt));

	if (!nt)
		return -1;
	memset(nt, 0xff, ncap * sizeof(*nt));
	for (uint32_t i = 0; i < s->nframes; i++) {
		uint32_t j;

		if (!s->frames[i].name)
			continue;
		j = (uint32_t)frame_hash(s->frames[i].name, s->frames[i].module) & (ncap - 1);
		while (nt[j] != NONE)
			j = (j + 1) & (ncap - 1);
		nt[j] = i;
	}
	free(s->ht);
	s->ht = nt;
	s->htcap = ncap;
	return 0;
}

/* a new frame: name NULL reserves one for a call named at its close */
static uint32_t frame_new(struct speedscope *s, const char *name, const char *module)
{
	struct sframe *f;

	if (s->nframes == s->capframes) {
		uint32_t ncap = s->capframes ? s->capframes * 2 : 256;
		struct sframe *nf = realloc(s->frames, ncap * sizeof(*nf));

		if (!nf)
			return NONE;
		s->frames = nf;
		s->capframes = ncap;
	}
	f = &s->frames[s->nframes];
	f->name = name ? strdup(name) : NULL;
	f->module = module ? strdup(module) : NULL;
	if ((name && !f->name) || (module && !f->module)) {
		free(f->name);
		free(f->module);
		return NONE;
	}
	return s->nframes++;
}

/* the slot of (name, module) in ht: its frame, or the empty slot to use */
static uint32_t *frame_slot(struct speedscope *s, const char *name, const char *module)
{
	uint32_t mask = s->htcap - 1, i = (uint32_t)frame_hash(name, module) & mask;

	for (; s->ht[i] != NONE; i = (i + 1) & mask) {
		const struct sframe *f = &s->frames[s->ht[i]];

		if (!strcmp(f->name, name) && same(f->module, module))
			break;
	}
	return &s->ht[i];
}

static uint32_t frame_of(struct speedscope *s, const char *name, const char *module)
{
	uint32_t *slot;

	if ((s->nframes + 1) * 2 > s->htcap && ht_grow(s))
		return NONE;
	slot = frame_slot(s, name, module);
	if (*slot == NONE)
		*slot = frame_new(s, name, module);
	return *slot;
}

/* A reserved frame gets its name. The events before it already point at it,
 * so it stays its own frame even when another has the same name. */
static int frame_name(struct speedscope *s, uint32_t x, const char *name, const char *module)
{
	struct sframe *f = &s->frames[x];
	uint32_t *slot;

	f->name = strdup(name);
	f->module = module ? strdup(module) : NULL;
	if (!f->name || (module && !f->module))
		return -1;
	if ((s->nframes + 1) * 2 > s->htcap && ht_grow(s))
		return -1;
	slot = frame_slot(s, name, module);
	if (*slot == NONE)
		*slot = x;
	return 0;
}

/* The document starts with the first event, so that a trace which cannot
 * be read leaves nothing on standard output. */
static void doc_begin(FILE *f)
{
	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"profiles\":[\n",
	      f);
}

static void emit(struct speedscope *s, bool open, uint32_t frame, uint64_t at)
{
	FILE *f = s->out;

	if (!s->started) {
		if (!s->nprofiles)
			doc_begin(f);
		fputs(s->nprofiles ? ",\n{" : "{", f);
		fputs("\"type\":\"evented\",\"unit\":\"nanoseconds\",\"events\":[\n", f);
		s->started = true;
		s->nprofiles++;
		s->first_at = at;
	} else {
		fputs_unlocked(",\n", f);
	}
	/* never back in time, whatever the input says: the importer would throw */
	if (s->nevents && at < s->at)
		at = s->at;
	fputs_unlocked(open ? "{\"type\":\"O\",\"frame\":" : "{\"type\":\"C\",\"frame\":", f);
	jsonw_u64(f, frame);
	fputs_unlocked(",\"at\":", f);
	jsonw_u64(f, at);
	fputc_unlocked('}', f);
	s->at = at;
	s->nevents++;
}

static int ss_metadata(void *ctx, const struct trace_meta *m)
{
	return keep_meta(&((struct speedscope *)ctx)->meta, m);
}

static int ss_thread_begin(void *ctx, const struct trace_thread *t)
{
	struct speedscope *s = ctx;

	s->started = false;
	s->nevents = 0;
	s->at = 0;
	return 0;
}

static int ss_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct speedscope *s = ctx;
	struct sopen *o;

	if (depth >= s->capstack) {
		size_t ncap = s->capstack ? s->capstack * 2 : 256;
		struct sopen *ns;

		while (ncap <= depth)
			ncap *= 2;
		ns = realloc(s->stack, ncap * sizeof(*ns));
		if (!ns)
			goto nomem;
		s->stack = ns;
		s->capstack = ncap;
	}
	o = &s->stack[depth];
	o->placeholder = !n->function;
	o->frame = n->function ? frame_of(s, n->function, n->module) : frame_new(s, NULL, NULL);
	if (o->frame == NONE)
		goto nomem;
	emit(s, true, o->frame, n->start_ns);
	return 0;
nomem:
	snprintf(s->err, sizeof(s->err), "out of memory");
	return -1;
}

static int ss_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct speedscope *s = ctx;
	struct sopen *o = &s->stack[depth];

	if (o->placeholder &&
	    frame_name(s, o->frame, n->function ? n->function : "[unknown]", n->module)) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	emit(s, false, o->frame, n->end_ns);
	return 0;
}

static int ss_thread_end(void *ctx, const struct trace_thread *t)
{
	struct speedscope *s = ctx;
	char name[512];
	int k;

	if (!s->started)
		return 0; /* no calls: no profile */
	k = snprintf(name, sizeof(name), "%s (tid %s)", t->name ? t->name : "thread", t->key);
	if (t->lost_events && k > 0 && (size_t)k < sizeof(name))
		snprintf(name + k, sizeof(name) - (size_t)k, ", %llu events lost",
			 (unsigned long long)t->lost_events);
	fputs("\n],\"name\":", s->out);
	jsonw_cstr(s->out, name);
	fputs(",\"startValue\":", s->out);
	jsonw_u64(s->out, s->first_at);
	fputs(",\"endValue\":", s->out);
	jsonw_u64(s->out, s->at);
	fputc('}', s->out);
	return 0;
}

static void ss_finish(struct speedscope *s)
{
	FILE *f = s->out;
	const char *what = s->meta.executable ? s->meta.executable : s->meta.command0;
	const char *base = what ? strrchr(what, '/') : NULL;

	if (!s->nprofiles)
		doc_begin(f);
	fputs("\n],\"name\":", f);
	jsonw_cstr(f, base ? base + 1 : what ? what : "ctrace-bpf trace");
	fputs(",\"activeProfileIndex\":0,\"exporter\":\"ctrace-bpf " CTRACE_VERSION "\","
	      "\"shared\":{\"frames\":[",
	      f);
	for (uint32_t i = 0; i < s->nframes; i++) {
		fputs(i ? ",\n{\"name\":" : "\n{\"name\":", f);
		jsonw_cstr(f, s->frames[i].name ? s->frames[i].name : "[unknown]");
		if (s->frames[i].module) {
			fputs(",\"file\":", f);
			jsonw_cstr(f, s->frames[i].module);
		}
		fputc('}', f);
	}
	fputs("]}}\n", f);
}

int speedscope_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
		   size_t errlen)
{
	struct speedscope s = { .out = out };
	const struct trace_visitor v = {
		.metadata = ss_metadata,
		.thread_begin = ss_thread_begin,
		.node_open = ss_open,
		.node_close = ss_close,
		.thread_end = ss_thread_end,
	};
	int rc;

	(void)o;
	rc = source_walk_clamped(in, &v, &s, err, errlen);
	if (rc && !err[0])
		snprintf(err, errlen, "%s", s.err[0] ? s.err : "out of memory");
	if (!rc) {
		ss_finish(&s);
		if (ferror(out)) {
			snprintf(err, errlen, "writing the output: %s",
				 strerror(errno ? errno : EIO));
			rc = -1;
		}
	}
	for (uint32_t i = 0; i < s.nframes; i++) {
		free(s.frames[i].name);
		free(s.frames[i].module);
	}
	free(s.frames);
	free(s.ht);
	free(s.stack);
	free_meta(&s.meta);
	return rc ? -1 : 0;
}
