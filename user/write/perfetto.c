/* perfetto: Perfetto's protobuf trace format (ui.perfetto.dev, trace_processor),
 * TrackEvent slices: a track per thread under a track per process, a
 * SLICE_BEGIN and a SLICE_END per call, arguments and return values as debug
 * annotations, the crash, forks and execs as instant events, each thread's
 * creation (its "created_by") as a flow between two instants.
 *
 * The file is a Trace message written as a stream: each TracePacket is one
 * "field 1, length, bytes" record. Field numbers are Perfetto's public schema;
 * tests/integration/perfetto/trace_subset.proto holds the part written here.
 *
 * Size (about 24 bytes a call): each thread's calls are one packet sequence
 * whose first packet sets TracePacketDefaults (the thread's track, and a
 * sequence-scoped incremental clock, so a timestamp is the ns since the
 * sequence's previous packet: 1-3 bytes) and clears the incremental state;
 * event names are interned per sequence, so a BEGIN names its call with a
 * one- or two-byte iid. SEQ_NEEDS_INCREMENTAL_STATE is left off the packets
 * that follow: a reader only uses it to skip packets of a sequence whose
 * incremental state it has not seen cleared (a ring buffer that wrapped), and
 * a file written whole always starts each sequence with that packet. Setting
 * it would cost 4 bytes a call.
 *
 * Clock: ctrace's times are ns since the trace started, on CLOCK_MONOTONIC,
 * and the trace does not record that clock's absolute value. They are written
 * as they are, in the trace's default clock domain (BOOTTIME): a ClockSnapshot
 * first says BOOTTIME 0 is the trace start, and ties REALTIME to it (the
 * metadata's "timestamp"), so the UI can show wall-clock times; each sequence's
 * own snapshot ties its incremental clock to BOOTTIME 0. Claiming an absolute
 * MONOTONIC value we do not know would mislead more than a documented base:
 * the trace does not line up with a Perfetto system trace either way.
 *
 * Partial calls come clamped as the chrome writer reads them
 * (source_walk_clamped, write/clamp.c), so that every slice nests in its
 * caller; such a slice carries the debug annotations "partial_reason" and
 * "clamped". A call whose name is only known
 * when it returns (its entry was not observed) has its BEGIN written then,
 * with an absolute timestamp before its first child's: readers sort events by
 * time (ties in file order, so a child that would tie with it is moved a ns
 * later), and the incremental clock is left untouched.
 *
 * Memory is bounded by call depth, the distinct names of one thread and the
 * number of threads. A thread's process is only known at the end of its tree
 * in the JSON, and its track must be described before its events: when the
 * trace has more than one process, each thread's packets are spooled to an
 * unlinked temporary file and copied out after its descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "write/backend.h"
#include "write/created_by.h"
#include "write/protobuf.h"
#include "cmds/jsonread.h"

/* ---- field numbers (protos/perfetto/trace/..., see trace_subset.proto) ---- */
enum {
	TRACE_PACKET = 1,
	/* TracePacket */
	TP_CLOCK_SNAPSHOT = 6,
	TP_TIMESTAMP = 8,
	TP_SEQ_ID = 10,
	TP_TRACK_EVENT = 11,
	TP_INTERNED_DATA = 12,
	TP_SEQ_FLAGS = 13,
	TP_CLOCK_ID = 58,
	TP_DEFAULTS = 59,
	TP_TRACK_DESCRIPTOR = 60,
	TP_FIRST_ON_SEQUENCE = 87,
	/* TracePacketDefaults, TrackEventDefaults */
	DEF_CLOCK_ID = 58,
	DEF_TRACK_EVENT = 11,
	TED_TRACK_UUID = 11,
	/* ClockSnapshot, ClockSnapshot.Clock */
	CS_CLOCKS = 1,
	CS_PRIMARY = 2,
	CLK_ID = 1,
	CLK_TIMESTAMP = 2,
	CLK_INCREMENTAL = 3,
	/* TrackDescriptor, ProcessDescriptor, ThreadDescriptor */
	TD_UUID = 1,
	TD_NAME = 2,
	TD_PROCESS = 3,
	TD_THREAD = 4,
	TD_PARENT = 5,
	TD_COUNTER = 8,
	CD_UNIT = 3,
	UNIT_SIZE_BYTES = 3,
	PD_PID = 1,
	PD_CMDLINE = 2,
	PD_NAME = 6,
	THD_PID = 1,
	THD_TID = 2,
	THD_NAME = 5,
	/* TrackEvent */
	TE_ANNOTATIONS = 4,
	TE_TYPE = 9,
	TE_NAME_IID = 10,
	TE_TRACK_UUID = 11,
	TE_NAME = 23,
	TE_COUNTER_VALUE = 30,
	TE_SOURCE_LOCATION_IID = 34,
	TE_FLOW_IDS = 47,
	TE_TERMINATING_FLOW_IDS = 48,
	/* DebugAnnotation */
	DA_NAME_IID = 1,
	DA_BOOL = 2,
	DA_UINT = 3,
	DA_INT = 4,
	DA_DOUBLE = 5,
	DA_STRING = 6,
	DA_POINTER = 7,
	DA_NAME = 10,
	DA_DICT = 11,
	DA_ARRAY = 12,
	/* InternedData, EventName / DebugAnnotationName */
	ID_EVENT_NAMES = 2,
	ID_ANNOTATION_NAMES = 3,
	ID_SOURCE_LOCATIONS = 4,
	/* SourceLocation */
	SL_IID = 1,
	SL_FILE = 2,
	SL_FUNCTION = 3,
	SL_LINE = 4,
	IN_IID = 1,
	IN_NAME = 2,
};

enum { TYPE_BEGIN = 1, TYPE_END = 2, TYPE_INSTANT = 3, TYPE_COUNTER = 4 };
enum { SEQ_CLEARED = 1 };
enum { PCLK_REALTIME = 1, PCLK_BOOTTIME = 6, PCLK_INCREMENTAL = 64 };
#define SEQ_GLOBAL 1 /* descriptors, the crash, forks, execs, lineage; threads from 2 */
#define NEST_MAX   8 /* deeper argument values become their JSON text */

/* ---- interning: one index per sequence and kind ---------------------------------- */

struct intern {
	struct {
		char *s;
		uint64_t iid;
	} * v;
	size_t n, cap; /* cap: a power of two, or 0 */
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void intern_clear(struct intern *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->v[i].s);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static int intern_grow(struct intern *t)
{
	struct intern nt = { .cap = t->cap ? t->cap * 2 : 256 };

	nt.v = calloc(nt.cap, sizeof(*nt.v));
	if (!nt.v)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->v[i].s)
			continue;
		size_t j = str_hash(t->v[i].s) & (nt.cap - 1);

		while (nt.v[j].s)
			j = (j + 1) & (nt.cap - 1);
		nt.v[j] = t->v[i];
	}
	nt.n = t->n;
	free(t->v);
	*t = nt;
	return 0;
}

/* s's iid (from 1); *fresh when s was not in the index yet. 0: out of memory */
static uint64_t intern(struct intern *t, const char *s, bool *fresh)
{
	size_t i;

	*fresh = false;
	if ((t->n + 1) * 2 > t->cap && intern_grow(t))
		return 0;
	i = str_hash(s) & (t->cap - 1);
	while (t->v[i].s) {
		if (!strcmp(t->v[i].s, s))
			return t->v[i].iid;
		i = (i + 1) & (t->cap - 1);
	}
	t->v[i].s = strdup(s);
	if (!t->v[i].s)
		return 0;
	t->v[i].iid = ++t->n;
	*fresh = true;
	return t->v[i].iid;
}

/* ---- the writer's state ------------------------------------------------------------ */

struct pf_exec {
	uint64_t ts;
	char *path;
};

struct pf_proc {
	int64_t pid, ppid;
	bool forked, described, listed;
	uint64_t uuid, start_ns;
	char *name, *crash; /* crash: a forked child's report as JSON, or NULL */
	struct pf_exec *execs;
	size_t nexecs;
};

/* a thread's tree, once written */
struct pf_tree {
	int64_t pid;
	uint64_t tid, uuid; /* uuid: the track its calls are on */
	bool thread_track;  /* uuid is the thread's own track (not a later tree's) */
	uint64_t last;	    /* the latest time in it */
};

/* a thread's "created_by": a flow from its creator to its track */
struct pf_lineage {
	int64_t pid;
	uint64_t tid, uuid; /* uuid: its track */
	struct created_by cb;
};

/* an open call */
struct frame {
	uint64_t start, prev_last, first_inner;
	bool deferred, args_done, waiting;
};

struct pf {
	FILE *out;
	char err[256];
	bool header;
	/* metadata */
	bool has_meta;
	struct meta_copy meta;
	bool wall_known;
	uint64_t wall_ns;
	bool single; /* one process: every thread's pid is single_pid */
	int64_t single_pid;
	char *cmdline_json; /* metadata.command */
	struct pf_proc *procs;
	size_t nprocs;
	uint64_t next_uuid;
	uint32_t next_seq;
	/* trees written */
	struct pf_tree *trees;
	size_t ntrees, captrees;
	/* the tree being read */
	FILE *target; /* out, or spool */
	FILE *spool;
	uint32_t seq;
	uint64_t tree_uuid;
	uint64_t tid;
	char *thread_name, *thread_key;
	bool seen;
	uint64_t last;	   /* the latest time in this tree (times come clamped) */
	uint64_t seq_last; /* the incremental clock's value */
	struct intern names, anames, locs; /* locs: --srcline's SourceLocations */
	struct frame *frames;
	size_t capframes;
	size_t nwaiting;
	bool lost_seen;
	uint64_t lost_at;
	uint64_t thread_lost_sum, end; /* end: the latest time of every tree */
	/* building */
	struct pb_buf pkt, interned;
	char *crash;
	char *leaks; /* --memory: the "leaks" object */
	struct pf_lineage *lineage;
	size_t nlineage;
};

static int oom(struct pf *pf)
{
	snprintf(pf->err, sizeof(pf->err), "out of memory");
	return -1;
}

/* ---- packets ------------------------------------------------------------------------- */

static size_t pkt_begin(struct pf *pf)
{
	pb_reset(&pf->pkt);
	pb_reset(&pf->interned);
	return pb_open(&pf->pkt, TRACE_PACKET);
}

static int pkt_end(struct pf *pf, size_t mark, FILE *f)
{
	if (pf->interned.len && !pf->interned.oom)
		pb_bytes(&pf->pkt, TP_INTERNED_DATA, pf->interned.p, pf->interned.len);
	pb_close(&pf->pkt, mark);
	if (pf->pkt.oom || pf->interned.oom)
		return oom(pf);
	if (fwrite_unlocked(pf->pkt.p, 1, pf->pkt.len, f) != pf->pkt.len) {
		snprintf(pf->err, sizeof(pf->err), "writing: %s", strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

/* the iid of an event name (0: out of memory), its InternedData entry added when new */
static uint64_t name_iid(struct pf *pf, struct intern *t, uint32_t field, const char *s)
{
	bool fresh;
	uint64_t iid = intern(t, s, &fresh);

	if (!iid)
		pf->pkt.oom = true; /* pkt_end reports it */
	if (fresh) {
		size_t m = pb_open(&pf->interned, field);

		pb_uint(&pf->interned, IN_IID, iid);
		pb_str(&pf->interned, IN_NAME, s);
		pb_close(&pf->interned, m);
	}
	return iid;
}

/* A timestamp on the incremental clock: never backwards, so a time earlier
 * than the sequence's last (inconsistent input) is written as that one. */
static uint64_t put_time(struct pf *pf, uint64_t t)
{
	if (t < pf->seq_last)
		t = pf->seq_last;
	/* each call waiting for its BEGIN needs a ns of its own before this
	 * event: their BEGINs are written later, and ties sort in file order */
	if (pf->nwaiting && t < pf->seq_last + pf->nwaiting)
		t = pf->seq_last + pf->nwaiting;
	pb_uint(&pf->pkt, TP_TIMESTAMP, t - pf->seq_last);
	pf->seq_last = t;
	if (pf->nwaiting) {
		/* the first time inside the calls whose BEGIN waits for their name */
		for (size_t i = 0; i < pf->capframes && pf->nwaiting; i++)
			if (pf->frames[i].waiting) {
				pf->frames[i].waiting = false;
				pf->frames[i].first_inner = t;
				pf->nwaiting--;
			}
	}
	return t;
}

/* an absolute timestamp (BOOTTIME: ns since the trace start), off the sequence's clock */
static void put_abs_time(struct pf *pf, uint64_t t)
{
	pb_uint(&pf->pkt, TP_TIMESTAMP, t);
	pb_uint(&pf->pkt, TP_CLOCK_ID, PCLK_BOOTTIME);
}

/* ---- JSON values as debug annotations ------------------------------------------------ */

static void put_json(struct pb_buf *b, struct jr *r, enum jr_tok t, int depth);

static void put_number(struct pb_buf *b, const char *s)
{
	uint64_t u;
	char *end;

	if (jr_parse_u64(s, &u)) {
		if (u <= INT64_MAX)
			pb_int(b, DA_INT, (int64_t)u);
		else
			pb_uint(b, DA_UINT, u);
		return;
	}
	if (s[0] == '-' && jr_parse_u64(s + 1, &u) && u <= (uint64_t)INT64_MAX + 1) {
		pb_int(b, DA_INT, (int64_t)(0 - u));
		return;
	}
	double d = strtod(s, &end);
	if (*end)
		pb_str(b, DA_STRING, s);
	else
		pb_double(b, DA_DOUBLE, d);
}

/* The value whose first token is t, as the value fields of the annotation
 * open in b: objects as dict_entries, arrays as array_values, deeper than
 * NEST_MAX as its JSON text. */
static void put_json(struct pb_buf *b, struct jr *r, enum jr_tok t, int depth)
{
	size_t len, m;
	const char *s;

	switch (t) {
	case JR_STRING:
		s = jr_text(r, &len);
		pb_bytes(b, DA_STRING, s, len);
		break;
	case JR_NUMBER: put_number(b, jr_text(r, NULL)); break;
	case JR_TRUE:
	case JR_FALSE: pb_uint(b, DA_BOOL, t == JR_TRUE); break;
	case JR_NULL: pb_str(b, DA_STRING, "null"); break;
	case JR_OBJ_BEGIN:
	case JR_ARR_BEGIN:
		if (depth >= NEST_MAX) {
			struct jr_buf text = { 0 };

			if (jr_capture(r, t, &text, 1u << 20) != JR_ERROR && text.p)
				pb_bytes(b, DA_STRING, text.p, text.len);
			jr_buf_free(&text);
			break;
		}
		while ((t = jr_next(r)) != JR_OBJ_END && t != JR_ARR_END && t != JR_ERROR &&
		       t != JR_EOF) {
			if (t == JR_KEY) {
				m = pb_open(b, DA_DICT);
				s = jr_text(r, &len);
				pb_bytes(b, DA_NAME, s, len);
				t = jr_next(r);
			} else {
				m = pb_open(b, DA_ARRAY);
			}
			if (t == JR_ERROR || t == JR_EOF) {
				pb_close(b, m);
				break;
			}
			put_json(b, r, t, depth + 1);
			pb_close(b, m);
		}
		break;
	default: break;
	}
}

/* One top-level annotation named by an interned iid, its value the JSON text v */
static void annotate_json(struct pf *pf, const char *name, const char *v, size_t len)
{
	size_t m = pb_open(&pf->pkt, TE_ANNOTATIONS);
	struct jr *r = jr_new_mem(v, len, 64, 0);

	pb_uint(&pf->pkt, DA_NAME_IID, name_iid(pf, &pf->anames, ID_ANNOTATION_NAMES, name));
	if (r) {
		enum jr_tok t = jr_next(r);

		if (t != JR_ERROR && t != JR_EOF)
			put_json(&pf->pkt, r, t, 0);
		jr_free(r);
	} else {
		pf->pkt.oom = true;
	}
	pb_close(&pf->pkt, m);
}

static void annotate_str(struct pf *pf, const char *name, const char *v)
{
	size_t m = pb_open(&pf->pkt, TE_ANNOTATIONS);

	pb_uint(&pf->pkt, DA_NAME_IID, name_iid(pf, &pf->anames, ID_ANNOTATION_NAMES, name));
	pb_str(&pf->pkt, DA_STRING, v);
	pb_close(&pf->pkt, m);
}

/* a pointer's value, "0x..." (JSON text v), of a pointer type that is not a string */
static bool is_pointer(const char *type, const char *v)
{
	size_t n = strlen(v), tl = type ? strlen(type) : 0;

	/* "char *" and "const char *" hold strings, "char **" a pointer */
	while (tl && type[tl - 1] == ' ')
		tl--;
	if (!tl || type[tl - 1] != '*')
		return false;
	for (tl--; tl && type[tl - 1] == ' ';)
		tl--;
	if ((tl >= 4 && !strncmp(type + tl - 4, "char", 4)) || n < 5 || n > 21 ||
	    strncmp(v, "\"0x", 3) || v[n - 1] != '"')
		return false;
	return strspn(v + 3, "0123456789abcdefABCDEF") == n - 4;
}

/* An argument or return value {"name":..,"type":..,"value":..,...}: the
 * annotation is its value; with more to say ("address" of a string, "raw"
 * of an enum, why it is "unavailable") a dict of those and the value. */
static void annotate_arg(struct pf *pf, const char *fallback, struct jr *r)
{
	struct jr_buf name = { 0 }, type = { 0 }, text = { 0 };
	size_t value = SIZE_MAX, extras = 0, off[8], klen[8], nkeys = 0;
	enum jr_tok t;

	/* the members as compact JSON, "k":v after one another in text */
	while ((t = jr_next(r)) == JR_KEY) {
		size_t len;
		const char *k = jr_text(r, &len);
		bool is_name = !strcmp(k, "name"), is_type = !strcmp(k, "type");
		bool is_value = !strcmp(k, "value"); /* k lasts until the next token */

		if (nkeys < 8 && !is_name && !is_type) {
			off[nkeys] = text.len;
			klen[nkeys] = len;
			if (jr_buf_put(&text, k, len + 1))
				break;
		}
		t = jr_next(r);
		if (t == JR_ERROR || t == JR_EOF)
			break;
		if (is_name && t == JR_STRING) {
			size_t n;
			const char *s = jr_text(r, &n);

			name.len = 0;
			jr_buf_put(&name, s, n);
		} else if (is_type && t == JR_STRING) {
			size_t n;
			const char *s = jr_text(r, &n);

			type.len = 0;
			jr_buf_put(&type, s, n);
		} else if (is_name || is_type || nkeys >= 8) {
			jr_skip(r, t);
		} else {
			if (is_value)
				value = nkeys;
			else
				extras++;
			if (jr_capture(r, t, &text, 1u << 20) == JR_ERROR ||
			    jr_buf_put(&text, "", 1))
				break;
			nkeys++;
		}
	}
	if (t != JR_OBJ_END) {
		jr_buf_free(&name);
		jr_buf_free(&type);
		jr_buf_free(&text);
		return;
	}
	size_t m = pb_open(&pf->pkt, TE_ANNOTATIONS);

	pb_uint(&pf->pkt, DA_NAME_IID,
		name_iid(pf, &pf->anames, ID_ANNOTATION_NAMES, name.p ? name.p : fallback));
	for (size_t i = 0; i < nkeys; i++) {
		const char *k = text.p + off[i], *v = k + klen[i] + 1;
		struct jr *vr = jr_new_mem(v, strlen(v), 64, 0);
		size_t dm = 0;

		if (!vr) {
			pf->pkt.oom = true;
			break;
		}
		if (extras) {
			dm = pb_open(&pf->pkt, DA_DICT);
			pb_bytes(&pf->pkt, DA_NAME, k, klen[i]);
		}
		if (!extras && i == value && is_pointer(type.p, v)) {
			pb_uint(&pf->pkt, DA_POINTER, strtoull(v + 3, NULL, 16));
		} else if (extras || i == value) {
			t = jr_next(vr);
			if (t != JR_ERROR && t != JR_EOF)
				put_json(&pf->pkt, vr, t, 1);
		}
		if (extras)
			pb_close(&pf->pkt, dm);
		jr_free(vr);
	}
	pb_close(&pf->pkt, m);
	jr_buf_free(&name);
	jr_buf_free(&type);
	jr_buf_free(&text);
}

/* "arguments" (an array of arguments) or "return_value" (one), as annotations */
static void annotate_values(struct pf *pf, const char *json, bool is_return)
{
	struct jr *r = jr_new_mem(json, strlen(json), 64, 0);
	enum jr_tok t;

	if (!r) {
		pf->pkt.oom = true;
		return;
	}
	t = jr_next(r);
	if (is_return && t == JR_OBJ_BEGIN) {
		annotate_arg(pf, "return_value", r);
	} else if (is_return || t != JR_ARR_BEGIN) {
		jr_free(r);
		annotate_json(pf, is_return ? "return_value" : "arguments", json, strlen(json));
		return;
	} else {
		char fallback[32];
		unsigned i = 0;

		while ((t = jr_next(r)) == JR_OBJ_BEGIN) {
			snprintf(fallback, sizeof(fallback), "arg%u", i++);
			annotate_arg(pf, fallback, r);
		}
	}
	jr_free(r);
}

/* ---- descriptors and the header ------------------------------------------------------ */

static uint64_t parse_iso_ns(const char *s, bool *ok)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	uint64_t frac = 0, scale = 1000000000;

	*ok = false;
	if (!p)
		return 0;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
	if (*p != 'Z')
		return 0;
	time_t t = timegm(&tm);
	if (t < 0)
		return 0;
	*ok = true;
	return (uint64_t)t * 1000000000 + frac;
}

/* The trace's clocks, first: BOOTTIME is the trace's own time (0 = start) */
static int write_header(struct pf *pf)
{
	size_t m, cs, c;

	if (pf->header)
		return 0;
	pf->header = true;
	m = pkt_begin(pf);
	pb_uint(&pf->pkt, TP_SEQ_ID, SEQ_GLOBAL);
	cs = pb_open(&pf->pkt, TP_CLOCK_SNAPSHOT);
	c = pb_open(&pf->pkt, CS_CLOCKS);
	pb_uint(&pf->pkt, CLK_ID, PCLK_BOOTTIME);
	pb_uint(&pf->pkt, CLK_TIMESTAMP, 0);
	pb_close(&pf->pkt, c);
	if (pf->wall_known) {
		c = pb_open(&pf->pkt, CS_CLOCKS);
		pb_uint(&pf->pkt, CLK_ID, PCLK_REALTIME);
		pb_uint(&pf->pkt, CLK_TIMESTAMP, pf->wall_ns);
		pb_close(&pf->pkt, c);
	}
	pb_uint(&pf->pkt, CS_PRIMARY, PCLK_BOOTTIME);
	pb_close(&pf->pkt, cs);
	return pkt_end(pf, m, pf->out);
}

static struct pf_proc *find_proc(struct pf *pf, int64_t pid)
{
	for (size_t i = 0; i < pf->nprocs; i++)
		if (pf->procs[i].pid == pid)
			return &pf->procs[i];
	return NULL;
}

static struct pf_proc *add_proc(struct pf *pf, int64_t pid)
{
	struct pf_proc *np = realloc(pf->procs, (pf->nprocs + 1) * sizeof(*np));

	if (!np)
		return NULL;
	pf->procs = np;
	np = &pf->procs[pf->nprocs++];
	memset(np, 0, sizeof(*np));
	np->pid = pid;
	np->uuid = pf->next_uuid++;
	return np;
}

static const char *proc_name(struct pf *pf, const struct pf_proc *p)
{
	const char *exe = p->nexecs ? p->execs[p->nexecs - 1].path : NULL;

	if (p->name)
		return p->name;
	if (!exe)
		exe = pf->meta.executable ? pf->meta.executable : pf->meta.command0;
	return exe ? basename(exe) : NULL;
}

static int describe_proc(struct pf *pf, struct pf_proc *p)
{
	size_t m, td, pd;
	const char *name = proc_name(pf, p);

	if (p->described)
		return 0;
	p->described = true;
	m = pkt_begin(pf);
	td = pb_open(&pf->pkt, TP_TRACK_DESCRIPTOR);
	pb_uint(&pf->pkt, TD_UUID, p->uuid);
	pd = pb_open(&pf->pkt, TD_PROCESS);
	pb_int(&pf->pkt, PD_PID, p->pid);
	if (name)
		pb_str(&pf->pkt, PD_NAME, name);
	if (pf->cmdline_json && pf->has_meta && p == &pf->procs[0] && !p->forked) {
		cJSON *cmd = cJSON_Parse(pf->cmdline_json), *a;

		cJSON_ArrayForEach(a, cmd) if (cJSON_IsString(a))
			pb_str(&pf->pkt, PD_CMDLINE, a->valuestring);
		cJSON_Delete(cmd);
	}
	pb_close(&pf->pkt, pd);
	pb_close(&pf->pkt, td);
	return pkt_end(pf, m, pf->out);
}

static uint64_t json_u64(const cJSON *o, const char *k, bool *ok)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	*ok = cJSON_IsNumber(v) && v->valuedouble >= 0;
	return *ok ? (uint64_t)v->valuedouble : 0;
}

/* metadata.processes: a track per process, with its forks and execs */
static int read_processes(struct pf *pf, const cJSON *list)
{
	const cJSON *o, *e;
	bool ok;

	cJSON_ArrayForEach(o, list)
	{
		uint64_t pid = json_u64(o, "pid", &ok);
		struct pf_proc *p;

		if (!ok)
			continue;
		p = find_proc(pf, (int64_t)pid);
		if (!p && !(p = add_proc(pf, (int64_t)pid)))
			return -1;
		if (p->listed)
			continue;
		p->listed = true;
		p->ppid = (int64_t)json_u64(o, "parent_pid", &p->forked);
		p->start_ns = json_u64(o, "start_ns", &ok);
		p->forked = p->forked && ok;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "execs"))
		{
			const cJSON *path = cJSON_GetObjectItemCaseSensitive(e, "path");
			uint64_t ts = json_u64(e, "ts_ns", &ok);
			struct pf_exec *nx;

			if (!ok || !cJSON_IsString(path))
				continue;
			nx = realloc(p->execs, (p->nexecs + 1) * sizeof(*nx));
			if (!nx)
				return -1;
			p->execs = nx;
			nx[p->nexecs].ts = ts;
			if (!(nx[p->nexecs].path = strdup(path->valuestring)))
				return -1;
			p->nexecs++;
		}
		e = cJSON_GetObjectItemCaseSensitive(o, "crash");
		if (cJSON_IsObject(e) && !(p->crash = cJSON_PrintUnformatted(e)))
			return -1;
	}
	return 0;
}

static int pf_metadata(void *ctx, const struct trace_meta *m)
{
	struct pf *pf = ctx;
	cJSON *o, *procs, *ts, *cmd;
	int rc = 0;

	if (keep_meta(&pf->meta, m))
		return oom(pf);
	pf->has_meta = true;
	o = cJSON_Parse(m->json);
	ts = cJSON_GetObjectItemCaseSensitive(o, "timestamp");
	if (cJSON_IsString(ts))
		pf->wall_ns = parse_iso_ns(ts->valuestring, &pf->wall_known);
	cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
	free(pf->cmdline_json);
	pf->cmdline_json = cJSON_IsArray(cmd) ? cJSON_PrintUnformatted(cmd) : NULL;
	/* the target first, then what it forked */
	if (m->has_pid && !find_proc(pf, m->pid) && !add_proc(pf, m->pid))
		rc = -1;
	procs = cJSON_GetObjectItemCaseSensitive(o, "processes");
	if (!rc && cJSON_IsArray(procs))
		rc = read_processes(pf, procs);
	/* without the list, the threads' own "pid" says (they come at their end) */
	if (!rc && pf->nprocs == 1 && cJSON_GetArraySize(procs) == 1) {
		pf->single = true;
		pf->single_pid = pf->procs[0].pid;
	}
	cJSON_Delete(o);
	if (rc)
		return oom(pf);
	if (write_header(pf))
		return -1;
	for (size_t i = 0; i < pf->nprocs; i++)
		if (describe_proc(pf, &pf->procs[i]))
			return -1;
	return 0;
}

/* ---- threads ------------------------------------------------------------------------- */

static struct pf_tree *find_thread_track(struct pf *pf, int64_t pid, uint64_t tid)
{
	for (size_t i = 0; i < pf->ntrees; i++)
		if (pf->trees[i].thread_track && pf->trees[i].pid == pid && pf->trees[i].tid == tid)
			return &pf->trees[i];
	return NULL;
}

/* The tree's track: the thread's own, or under it for a later tree of the
 * same thread (an exec'd image, another stack, a reused id). The tree is
 * recorded in trees[]. */
static int describe_tree(struct pf *pf, int64_t pid)
{
	struct pf_proc *p = find_proc(pf, pid);
	struct pf_tree *owner = find_thread_track(pf, pid, pf->tid);
	size_t m, td, th;

	if (!p) {
		if (!(p = add_proc(pf, pid)))
			return oom(pf);
	}
	if (describe_proc(pf, p))
		return -1;
	m = pkt_begin(pf);
	td = pb_open(&pf->pkt, TP_TRACK_DESCRIPTOR);
	pb_uint(&pf->pkt, TD_UUID, pf->tree_uuid);
	if (owner) {
		char name[256];

		pb_uint(&pf->pkt, TD_PARENT, owner->uuid);
		snprintf(name, sizeof(name), "%s [%s]", pf->thread_name ? pf->thread_name : "",
			 pf->thread_key ? pf->thread_key : "");
		pb_str(&pf->pkt, TD_NAME, name);
	} else {
		pb_uint(&pf->pkt, TD_PARENT, p->uuid);
		th = pb_open(&pf->pkt, TD_THREAD);
		pb_int(&pf->pkt, THD_PID, pid);
		pb_int(&pf->pkt, THD_TID, (int64_t)pf->tid);
		if (pf->thread_name)
			pb_str(&pf->pkt, THD_NAME, pf->thread_name);
		pb_close(&pf->pkt, th);
	}
	pb_close(&pf->pkt, td);
	if (pkt_end(pf, m, pf->out))
		return -1;
	if (pf->ntrees == pf->captrees) {
		size_t ncap = pf->captrees ? pf->captrees * 2 : 16;
		struct pf_tree *nt = realloc(pf->trees, ncap * sizeof(*nt));

		if (!nt)
			return oom(pf);
		pf->trees = nt;
		pf->captrees = ncap;
	}
	pf->trees[pf->ntrees++] = (struct pf_tree){
		.pid = pid, .tid = pf->tid, .uuid = pf->tree_uuid, .thread_track = !owner
	};
	return 0;
}

/* The sequence's first packet: its incremental state cleared, its defaults
 * (the tree's track, the incremental clock) and that clock at BOOTTIME 0 */
static int start_sequence(struct pf *pf)
{
	size_t m = pkt_begin(pf), d, te, cs, c;

	pb_uint(&pf->pkt, TP_SEQ_ID, pf->seq);
	pb_uint(&pf->pkt, TP_SEQ_FLAGS, SEQ_CLEARED);
	pb_uint(&pf->pkt, TP_FIRST_ON_SEQUENCE, 1);
	d = pb_open(&pf->pkt, TP_DEFAULTS);
	pb_uint(&pf->pkt, DEF_CLOCK_ID, PCLK_INCREMENTAL);
	te = pb_open(&pf->pkt, DEF_TRACK_EVENT);
	pb_uint(&pf->pkt, TED_TRACK_UUID, pf->tree_uuid);
	pb_close(&pf->pkt, te);
	pb_close(&pf->pkt, d);
	cs = pb_open(&pf->pkt, TP_CLOCK_SNAPSHOT);
	c = pb_open(&pf->pkt, CS_CLOCKS);
	pb_uint(&pf->pkt, CLK_ID, PCLK_INCREMENTAL);
	pb_uint(&pf->pkt, CLK_TIMESTAMP, 0);
	pb_uint(&pf->pkt, CLK_INCREMENTAL, 1);
	pb_close(&pf->pkt, c);
	c = pb_open(&pf->pkt, CS_CLOCKS);
	pb_uint(&pf->pkt, CLK_ID, PCLK_BOOTTIME);
	pb_uint(&pf->pkt, CLK_TIMESTAMP, 0);
	pb_close(&pf->pkt, c);
	pb_close(&pf->pkt, cs);
	return pkt_end(pf, m, pf->target);
}

static int open_spool(struct pf *pf)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (pf->spool)
		return 0;
	snprintf(path, sizeof(path), "%s/ctrace-perfetto.XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		snprintf(pf->err, sizeof(pf->err), "a temporary file in %s: %s",
			 dir && *dir ? dir : "/tmp", strerror(errno));
		return -1;
	}
	unlink(path);
	pf->spool = fdopen(fd, "w+");
	if (!pf->spool) {
		close(fd);
		return oom(pf);
	}
	return 0;
}

static int pf_thread_begin(void *ctx, const struct trace_thread *t)
{
	struct pf *pf = ctx;

	if (write_header(pf))
		return -1;
	pf->tid = t->has_tid ? t->tid : 0;
	free(pf->thread_name);
	free(pf->thread_key);
	pf->thread_name = t->name ? strdup(t->name) : NULL;
	pf->thread_key = strdup(t->key);
	if (!pf->thread_key || (t->name && !pf->thread_name))
		return oom(pf);
	pf->seq = ++pf->next_seq;
	pf->tree_uuid = pf->next_uuid++;
	pf->seen = false;
	pf->last = pf->seq_last = 0;
	pf->nwaiting = 0;
	pf->lost_seen = false;
	intern_clear(&pf->names);
	intern_clear(&pf->anames);
	intern_clear(&pf->locs);
	if (pf->single || t->has_pid) {
		pf->target = pf->out;
		if (describe_tree(pf, t->has_pid ? t->pid : pf->single_pid))
			return -1;
	} else {
		if (open_spool(pf))
			return -1;
		pf->target = pf->spool;
	}
	return start_sequence(pf);
}

/* the spooled packets, after the tree's descriptor */
static int flush_spool(struct pf *pf, int64_t pid)
{
	char buf[1 << 16];
	size_t n;

	if (describe_tree(pf, pid))
		return -1;
	if (fflush(pf->spool) || fseek(pf->spool, 0, SEEK_SET))
		goto fail;
	while ((n = fread(buf, 1, sizeof(buf), pf->spool)) > 0)
		if (fwrite_unlocked(buf, 1, n, pf->out) != n)
			goto fail;
	if (ferror(pf->spool) || fseek(pf->spool, 0, SEEK_SET) || ftruncate(fileno(pf->spool), 0))
		goto fail;
	return 0;
fail:
	snprintf(pf->err, sizeof(pf->err), "the temporary file: %s", strerror(errno ? errno : EIO));
	return -1;
}

/* ---- calls --------------------------------------------------------------------------- */

static void seen_time(struct pf *pf, uint64_t t)
{
	if (!pf->seen || t > pf->last)
		pf->last = t;
	pf->seen = true;
}

static void annotate_partial(struct pf *pf, const char *reason, bool start_clamped,
			     bool end_clamped)
{
	if (reason)
		annotate_str(pf, "partial_reason", reason);
	if (start_clamped || end_clamped)
		annotate_str(pf, "clamped",
			     start_clamped && end_clamped ? "start and end" :
			     start_clamped		  ? "start" :
							    "end");
}

struct end_ev {
	const char *args, *retval, *reason;
	bool start_clamped, end_clamped;
};

static int emit_end(struct pf *pf, uint64_t t, const struct end_ev *e)
{
	size_t m = pkt_begin(pf), te;

	put_time(pf, t);
	pb_uint(&pf->pkt, TP_SEQ_ID, pf->seq);
	te = pb_open(&pf->pkt, TP_TRACK_EVENT);
	pb_uint(&pf->pkt, TE_TYPE, TYPE_END);
	if (e->args)
		annotate_values(pf, e->args, false);
	if (e->retval)
		annotate_values(pf, e->retval, true);
	annotate_partial(pf, e->reason, e->start_clamped, e->end_clamped);
	pb_close(&pf->pkt, te);
	return pkt_end(pf, m, pf->target);
}

/* A BEGIN: on the incremental clock, or (abs) at an absolute time */
/* why: with no args, why the arguments are unavailable (or NULL) */
/* --srcline: the iid of a call's SourceLocation ("FILE:LINE" and its
 * function), its InternedData entry added when new; 0: out of memory */
static uint64_t loc_iid(struct pf *pf, const char *source, const char *fn)
{
	const char *colon = strrchr(source, ':');
	char *key = NULL, *end = NULL;
	unsigned long line = colon && colon[1] ? strtoul(colon + 1, &end, 10) : 0;
	bool fresh, has_line = line && end && !*end;
	uint64_t iid;
	size_t m;

	if (asprintf(&key, "%s\n%s", fn, source) < 0)
		return (pf->pkt.oom = true), 0;
	iid = intern(&pf->locs, key, &fresh);
	free(key);
	if (!iid)
		pf->pkt.oom = true;
	if (fresh) {
		m = pb_open(&pf->interned, ID_SOURCE_LOCATIONS);
		pb_uint(&pf->interned, SL_IID, iid);
		pb_bytes(&pf->interned, SL_FILE, source,
			 has_line ? (size_t)(colon - source) : strlen(source));
		pb_str(&pf->interned, SL_FUNCTION, fn);
		if (has_line)
			pb_uint(&pf->interned, SL_LINE, line);
		pb_close(&pf->interned, m);
	}
	return iid;
}

static int emit_begin(struct pf *pf, uint64_t t, bool abs, const char *name, const char *args,
		      const char *why, const char *source, const char *site)
{
	size_t m = pkt_begin(pf), te;
	uint64_t iid;

	if (abs)
		put_abs_time(pf, t);
	else
		put_time(pf, t);
	pb_uint(&pf->pkt, TP_SEQ_ID, pf->seq);
	te = pb_open(&pf->pkt, TP_TRACK_EVENT);
	pb_uint(&pf->pkt, TE_TYPE, TYPE_BEGIN);
	iid = name_iid(pf, &pf->names, ID_EVENT_NAMES, name ? name : "[unknown]");
	if (!iid)
		return oom(pf);
	pb_uint(&pf->pkt, TE_NAME_IID, iid);
	if (source && name && (iid = loc_iid(pf, source, name)))
		pb_uint(&pf->pkt, TE_SOURCE_LOCATION_IID, iid);
	if (args)
		annotate_values(pf, args, false);
	else if (why)
		annotate_str(pf, "arguments_unavailable", why);
	if (site) /* --srcline: the call's own line (the location is the function's) */
		annotate_str(pf, "call_site", site);
	pb_close(&pf->pkt, te);
	return pkt_end(pf, m, pf->target);
}

static int grow_frames(struct pf *pf, size_t depth)
{
	size_t ncap = pf->capframes ? pf->capframes : 256;
	struct frame *nf;

	if (depth < pf->capframes)
		return 0;
	while (ncap <= depth)
		ncap *= 2;
	nf = realloc(pf->frames, ncap * sizeof(*nf));
	if (!nf)
		return oom(pf);
	memset(nf + pf->capframes, 0, (ncap - pf->capframes) * sizeof(*nf));
	pf->frames = nf;
	pf->capframes = ncap;
	return 0;
}

static int pf_open(void *ctx, const struct trace_node *n, size_t depth)
{
	struct pf *pf = ctx;
	struct frame *f;
	uint64_t s = n->start_ns;

	if (grow_frames(pf, depth))
		return -1;
	f = &pf->frames[depth];
	memset(f, 0, sizeof(*f));
	if (!n->function) {
		/* its name comes with its return: its BEGIN is written then */
		f->deferred = f->waiting = true;
		f->prev_last = pf->seq_last;
		f->first_inner = UINT64_MAX;
		/* a ns of its own in the chain of calls waiting (see put_time) */
		f->start = s < pf->seq_last + pf->nwaiting ? pf->seq_last + pf->nwaiting : s;
		pf->nwaiting++;
		seen_time(pf, f->start);
		return 0;
	}
	f->args_done = n->arguments != NULL;
	if (emit_begin(pf, s, false, n->function, n->arguments, n->arguments_unavailable, n->source,
		       n->call_site))
		return -1;
	f->start = pf->seq_last;
	seen_time(pf, f->start);
	return 0;
}

static int pf_close(void *ctx, const struct trace_node *n, size_t depth)
{
	struct pf *pf = ctx;
	struct frame *f = &pf->frames[depth];
	uint64_t start = f->start, end = n->end_ns;
	const char *args = f->args_done ? NULL : n->arguments;
	struct end_ev e = { .args = args,
			    .retval = n->return_value,
			    .reason = n->partial_reason,
			    .start_clamped = n->start_clamped,
			    .end_clamped = n->end_clamped };

	if (!pf->lost_seen && n->partial_reason && strstr(n->partial_reason, "events lost")) {
		pf->lost_seen = true;
		pf->lost_at = start;
	}
	if (f->deferred) {
		/* before its first child, not before what came before it */
		uint64_t t = start;

		if (f->first_inner != UINT64_MAX && t >= f->first_inner)
			t = f->first_inner ? f->first_inner - 1 : 0;
		if (t < f->prev_last)
			t = f->prev_last;
		if (f->waiting) {
			f->waiting = false;
			pf->nwaiting--;
		}
		if (emit_begin(pf, t, true, n->function, NULL, NULL, n->source, NULL))
			return -1;
		start = t;
		/* a caller that waits too must begin before this one */
		if (depth && pf->frames[depth - 1].deferred) {
			struct frame *up = &pf->frames[depth - 1];

			if (up->waiting) {
				up->waiting = false;
				pf->nwaiting--;
			}
			if (t < up->first_inner)
				up->first_inner = t;
		}
	}
	if (end < start) /* inconsistent input: keep it after its start */
		end = start;
	if (emit_end(pf, end, &e))
		return -1;
	seen_time(pf, pf->seq_last);
	return 0;
}

/* an instant on the current tree's track at an absolute time */
static int emit_lost(struct pf *pf, uint64_t t, uint64_t lost)
{
	size_t m = pkt_begin(pf), te, a;
	char name[64];

	put_abs_time(pf, t);
	pb_uint(&pf->pkt, TP_SEQ_ID, pf->seq);
	te = pb_open(&pf->pkt, TP_TRACK_EVENT);
	pb_uint(&pf->pkt, TE_TYPE, TYPE_INSTANT);
	snprintf(name, sizeof(name), "%" PRIu64 " events lost", lost);
	pb_str(&pf->pkt, TE_NAME, name);
	a = pb_open(&pf->pkt, TE_ANNOTATIONS);
	pb_uint(&pf->pkt, DA_NAME_IID,
		name_iid(pf, &pf->anames, ID_ANNOTATION_NAMES, "lost_events"));
	pb_int(&pf->pkt, DA_INT, (int64_t)lost);
	pb_close(&pf->pkt, a);
	pb_close(&pf->pkt, te);
	return pkt_end(pf, m, pf->target);
}

static int keep_lineage(struct pf *pf, const struct trace_thread *t)
{
	struct created_by cb;
	struct pf_lineage *l;
	int rc = created_by_read(t->more, &cb);

	if (rc <= 0)
		return rc ? oom(pf) : 0;
	l = realloc(pf->lineage, (pf->nlineage + 1) * sizeof(*l));
	if (!l) {
		created_by_free(&cb);
		return oom(pf);
	}
	pf->lineage = l;
	l += pf->nlineage++;
	l->pid = pf->trees[pf->ntrees - 1].pid;
	l->uuid = pf->trees[pf->ntrees - 1].uuid;
	l->tid = pf->trees[pf->ntrees - 1].tid;
	l->cb = cb;
	return 0;
}

static int pf_thread_end(void *ctx, const struct trace_thread *t)
{
	struct pf *pf = ctx;
	int64_t pid;

	if (t->lost_events && emit_lost(pf, pf->lost_seen ? pf->lost_at : pf->last, t->lost_events))
		return -1;
	if (pf->target == pf->spool) {
		/* no metadata to say: the main thread's id is the pid */
		pid = t->has_pid		     ? t->pid :
		      pf->has_meta && pf->nprocs > 0 ? pf->procs[0].pid :
						       (int64_t)pf->tid;
		if (flush_spool(pf, pid))
			return -1;
	}
	pf->trees[pf->ntrees - 1].last = pf->seen ? pf->last : 0;
	if (keep_lineage(pf, t))
		return -1;
	pf->thread_lost_sum += t->lost_events;
	if (pf->seen && pf->last > pf->end)
		pf->end = pf->last;
	return 0;
}

/* --memory: the heap's size over time ("leaks"."heap"), for a counter track */
static int pf_leaks(void *ctx, const char *json)
{
	struct pf *pf = ctx;

	free(pf->leaks);
	pf->leaks = strdup(json);
	return pf->leaks ? 0 : oom(pf);
}

static int pf_crash(void *ctx, const char *json)
{
	struct pf *pf = ctx;

	free(pf->crash);
	pf->crash = strdup(json);
	return pf->crash ? 0 : oom(pf);
}

/* ---- the end: crash, forks, execs ---------------------------------------------------- */

/* the track for events of (pid, tid): the tid's latest tree, else the
 * process's thread tid == pid, its first thread, its process track */
static uint64_t track_for(struct pf *pf, int64_t pid, bool has_tid, uint64_t tid, uint64_t *last)
{
	struct pf_proc *p;

	*last = 0;
	if (has_tid)
		for (size_t i = pf->ntrees; i-- > 0;)
			if (pf->trees[i].tid == tid) {
				*last = pf->trees[i].last;
				return pf->trees[i].uuid;
			}
	for (size_t i = 0; i < pf->ntrees; i++)
		if (pf->trees[i].pid == pid && pf->trees[i].tid == (uint64_t)pid) {
			*last = pf->trees[i].last;
			return pf->trees[i].uuid;
		}
	for (size_t i = 0; i < pf->ntrees; i++)
		if (pf->trees[i].pid == pid) {
			*last = pf->trees[i].last;
			return pf->trees[i].uuid;
		}
	p = find_proc(pf, pid);
	return p ? p->uuid : 0;
}

/* An instant on a track of the global sequence; annotations from a JSON object */
static int emit_instant(struct pf *pf, uint64_t track, uint64_t t, const char *name,
			const char *json, uint64_t flow, bool terminating)
{
	size_t m = pkt_begin(pf), te;

	pb_uint(&pf->pkt, TP_TIMESTAMP, t);
	pb_uint(&pf->pkt, TP_SEQ_ID, SEQ_GLOBAL);
	te = pb_open(&pf->pkt, TP_TRACK_EVENT);
	pb_uint(&pf->pkt, TE_TYPE, TYPE_INSTANT);
	if (track)
		pb_uint(&pf->pkt, TE_TRACK_UUID, track);
	pb_str(&pf->pkt, TE_NAME, name);
	if (flow)
		pb_fixed64(&pf->pkt, terminating ? TE_TERMINATING_FLOW_IDS : TE_FLOW_IDS, flow);
	if (json) {
		struct jr *r = jr_new_mem(json, strlen(json), 64, 0);
		enum jr_tok tok;

		if (!r)
			return oom(pf);
		if (jr_next(r) == JR_OBJ_BEGIN)
			while ((tok = jr_next(r)) == JR_KEY) {
				size_t len, a = pb_open(&pf->pkt, TE_ANNOTATIONS);
				const char *k = jr_text(r, &len);

				pb_bytes(&pf->pkt, DA_NAME, k, len);
				tok = jr_next(r);
				if (tok == JR_ERROR || tok == JR_EOF) {
					pb_close(&pf->pkt, a);
					break;
				}
				put_json(&pf->pkt, r, tok, 1);
				pb_close(&pf->pkt, a);
			}
		jr_free(r);
	}
	pb_close(&pf->pkt, te);
	return pkt_end(pf, m, pf->out);
}

static int crash_instant(struct pf *pf, const char *json, int64_t pid)
{
	cJSON *o = cJSON_Parse(json);
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(o, "signal_name");
	bool has_tid, has_t;
	uint64_t tid = json_u64(o, "thread_id", &has_tid), t = json_u64(o, "time_ns", &has_t);
	uint64_t last, track = track_for(pf, pid, has_tid, tid, &last);
	char name[96];
	int rc;

	snprintf(name, sizeof(name), "crash: %s",
		 cJSON_IsString(sig) ? sig->valuestring : "signal");
	cJSON_Delete(o);
	rc = emit_instant(pf, track, has_t ? t : last, name, json, 0, false);
	return rc;
}

/* Thread lineage: an instant on the creator's track at the clone (inside
 * the creating call's slice), a flow from it to an instant on the new
 * thread's track; flow ids above the forks' */
static int lineage_flows(struct pf *pf)
{
	char name[512];
	uint64_t last;

	for (size_t i = 0; i < pf->nlineage; i++) {
		const struct pf_lineage *l = &pf->lineage[i];
		uint64_t flow = (1ull << 32) + i;

		snprintf(name, sizeof(name), "created thread %" PRIu64, l->tid);
		if (emit_instant(pf, track_for(pf, l->pid, true, l->cb.tid, &last), l->cb.time_ns,
				 name, NULL, flow, false))
			return -1;
		snprintf(name, sizeof(name), "created by thread %" PRIu64 " in %.400s", l->cb.tid,
			 l->cb.function ? l->cb.function : "(not known)");
		if (emit_instant(pf, l->uuid, l->cb.time_ns, name, l->cb.json, flow, true))
			return -1;
	}
	return 0;
}

/* --memory: a counter track of the heap's size (every traced process's
 * blocks), under the target's process track */
static int heap_counter(struct pf *pf)
{
	cJSON *o = pf->leaks ? cJSON_Parse(pf->leaks) : NULL, *pt;
	const cJSON *heap = cJSON_GetObjectItemCaseSensitive(o, "heap");
	uint64_t uuid = pf->next_uuid++;
	size_t m, td, cd;
	int rc = 0;

	if (!cJSON_IsArray(heap) || !cJSON_GetArraySize(heap)) {
		cJSON_Delete(o);
		return 0;
	}
	m = pkt_begin(pf);
	td = pb_open(&pf->pkt, TP_TRACK_DESCRIPTOR);
	pb_uint(&pf->pkt, TD_UUID, uuid);
	if (pf->nprocs)
		pb_uint(&pf->pkt, TD_PARENT, pf->procs[0].uuid);
	pb_str(&pf->pkt, TD_NAME, "heap bytes (--memory)");
	cd = pb_open(&pf->pkt, TD_COUNTER);
	pb_uint(&pf->pkt, CD_UNIT, UNIT_SIZE_BYTES);
	pb_close(&pf->pkt, cd);
	pb_close(&pf->pkt, td);
	rc = pkt_end(pf, m, pf->out);
	cJSON_ArrayForEach(pt, heap)
	{
		const cJSON *t = cJSON_GetArrayItem(pt, 0), *v = cJSON_GetArrayItem(pt, 1);
		size_t te;

		if (rc || !cJSON_IsNumber(t) || !cJSON_IsNumber(v))
			continue;
		m = pkt_begin(pf);
		pb_uint(&pf->pkt, TP_TIMESTAMP, (uint64_t)t->valuedouble);
		pb_uint(&pf->pkt, TP_SEQ_ID, SEQ_GLOBAL);
		te = pb_open(&pf->pkt, TP_TRACK_EVENT);
		pb_uint(&pf->pkt, TE_TYPE, TYPE_COUNTER);
		pb_uint(&pf->pkt, TE_TRACK_UUID, uuid);
		pb_int(&pf->pkt, TE_COUNTER_VALUE, (int64_t)v->valuedouble);
		pb_close(&pf->pkt, te);
		rc = pkt_end(pf, m, pf->out);
	}
	cJSON_Delete(o);
	return rc;
}

static int pf_finish(struct pf *pf)
{
	uint64_t last;
	char name[4200];

	if (write_header(pf))
		return -1;
	for (size_t i = 0; i < pf->nprocs; i++)
		if (describe_proc(pf, &pf->procs[i]))
			return -1;
	/* a fork: a flow from the parent's thread to the child's */
	for (size_t i = 0; i < pf->nprocs; i++) {
		const struct pf_proc *p = &pf->procs[i];
		uint64_t flow = i + 1;

		if (!p->forked)
			continue;
		snprintf(name, sizeof(name), "fork: pid %" PRId64, p->pid);
		if (emit_instant(pf, track_for(pf, p->ppid, false, 0, &last), p->start_ns, name,
				 NULL, flow, false))
			return -1;
		snprintf(name, sizeof(name), "forked from pid %" PRId64, p->ppid);
		if (emit_instant(pf, track_for(pf, p->pid, false, 0, &last), p->start_ns, name,
				 NULL, flow, true))
			return -1;
	}
	for (size_t i = 0; i < pf->nprocs; i++) {
		const struct pf_proc *p = &pf->procs[i];

		for (size_t k = 0; k < p->nexecs; k++) {
			snprintf(name, sizeof(name), "exec: %.4000s", p->execs[k].path);
			if (emit_instant(pf, track_for(pf, p->pid, false, 0, &last), p->execs[k].ts,
					 name, NULL, 0, false))
				return -1;
		}
		if (p->crash && crash_instant(pf, p->crash, p->pid))
			return -1;
	}
	if (lineage_flows(pf) || heap_counter(pf))
		return -1;
	/* losses no thread owns: on the target's process track, at the end */
	if (pf->has_meta && pf->meta.lost_events > pf->thread_lost_sum && pf->nprocs) {
		uint64_t n = pf->meta.lost_events - pf->thread_lost_sum;
		char json[64];

		if (pf->meta.has_duration && pf->meta.duration_ns > pf->end)
			pf->end = pf->meta.duration_ns;
		snprintf(name, sizeof(name), "%" PRIu64 " events lost", n);
		snprintf(json, sizeof(json), "{\"lost_events\":%" PRIu64 "}", n);
		if (emit_instant(pf, pf->procs[0].uuid, pf->end, name, json, 0, false))
			return -1;
	}
	if (pf->crash)
		return crash_instant(pf, pf->crash,
				     pf->nprocs ? pf->procs[0].pid : (int64_t)pf->tid);
	return 0;
}

int perfetto_run(const struct trace_source *in, FILE *out, const struct format_opts *o, char *err,
		 size_t errlen)
{
	struct pf pf = { .out = out, .next_uuid = 1, .next_seq = SEQ_GLOBAL };
	const struct trace_visitor v = {
		.metadata = pf_metadata,
		.thread_begin = pf_thread_begin,
		.node_open = pf_open,
		.node_close = pf_close,
		.thread_end = pf_thread_end,
		.crash = pf_crash,
		.leaks = pf_leaks,
	};
	int rc;

	(void)o;
	rc = source_walk_clamped(in, &v, &pf, err, errlen);
	if (!rc)
		rc = pf_finish(&pf);
	if (rc && !err[0])
		snprintf(err, errlen, "%s", pf.err[0] ? pf.err : "out of memory");
	for (size_t i = 0; i < pf.nprocs; i++) {
		for (size_t k = 0; k < pf.procs[i].nexecs; k++)
			free(pf.procs[i].execs[k].path);
		free(pf.procs[i].execs);
		free(pf.procs[i].crash);
	}
	if (pf.spool)
		fclose(pf.spool);
	intern_clear(&pf.names);
	intern_clear(&pf.anames);
	intern_clear(&pf.locs);
	pb_free(&pf.pkt);
	pb_free(&pf.interned);
	for (size_t i = 0; i < pf.nlineage; i++)
		created_by_free(&pf.lineage[i].cb);
	free(pf.lineage);
	free(pf.procs);
	free(pf.trees);
	free(pf.frames);
	free(pf.thread_name);
	free(pf.thread_key);
	free(pf.cmdline_json);
	free(pf.crash);
	free(pf.leaks);
	free_meta(&pf.meta);
	return rc ? -1 : 0;
}
