/* Streaming JSON tokenizer and trace walker (see jsonread.h).
 *
 * The tokenizer keeps one 256 KiB window of the file, a byte per open
 * container and the current token: strings are scanned a run of plain bytes
 * at a time and copied once. The walker keeps one frame per open call, each
 * with a reusable arena for its strings, so a long trace allocates nothing
 * per node once the deepest level has been reached. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cmds/jsonread.h"
#include "write/jsonw.h"

#define WINDOW		   (256u << 10)
#define DEFAULT_MAX_DEPTH  1000000u
#define DEFAULT_MAX_STRING (64u << 20)
#define MAX_META	   (64u << 20) /* metadata / crash objects, compact */
#define MAX_ARGS	   (1u << 20)  /* one call's arguments or return value */

enum state {
	ST_VALUE,     /* a value must come */
	ST_ARR_FIRST, /* after '[': a value or ']' */
	ST_OBJ_FIRST, /* after '{': a key or '}' */
	ST_KEY,	      /* after ',' in an object: a key */
	ST_AFTER,     /* after a value: ',' or the container's end (or EOF at top) */
	ST_DONE,
};

struct jr {
	FILE *f;       /* NULL: reading a buffer in memory */
	bool borrowed; /* buf is the caller's */
	unsigned char *buf;
	size_t pos, end;
	uint64_t base; /* file offset of buf[0] */
	bool eof, ioerr;
	unsigned char *stack; /* '{' or '[' per open container */
	size_t depth, cap, max_depth, max_string;
	enum state state;
	struct jr_buf tok;
	uint64_t tok_off;
	bool failed;
	char err[200];
};

/* ---- buffers ---------------------------------------------------------------- */

int jr_buf_put(struct jr_buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 64;
		char *np;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = ncap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

void jr_buf_free(struct jr_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* s[0..len) as a JSON string literal, quotes included */
static int put_jstr(struct jr_buf *out, const char *s, size_t len)
{
	size_t run = 0;

	if (jr_buf_put(out, "\"", 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t elen;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		elen = jsonw_escape_byte(c, esc);
		if (jr_buf_put(out, s + run, i - run) || jr_buf_put(out, esc, elen))
			return -1;
		run = i + 1;
	}
	return jr_buf_put(out, s + run, len - run) || jr_buf_put(out, "\"", 1) ? -1 : 0;
}

/* ---- the tokenizer ------------------------------------------------------------ */

static enum jr_tok fail(struct jr *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static enum jr_tok fail(struct jr *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->failed)
		return JR_ERROR;
	r->failed = true;
	n = snprintf(r->err, sizeof(r->err), "byte %llu: ", (unsigned long long)r->tok_off);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(r->err))
		vsnprintf(r->err + n, sizeof(r->err) - n, fmt, ap);
	va_end(ap);
	return JR_ERROR;
}

struct jr *jr_new(FILE *f, size_t max_depth, size_t max_string)
{
	struct jr *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->buf = malloc(WINDOW);
	if (!r->buf) {
		free(r);
		return NULL;
	}
	r->f = f;
	r->max_depth = max_depth ? max_depth : DEFAULT_MAX_DEPTH;
	r->max_string = max_string ? max_string : DEFAULT_MAX_STRING;
	r->state = ST_VALUE;
	return r;
}

struct jr *jr_new_mem(const char *p, size_t len, size_t max_depth, size_t max_string)
{
	struct jr *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	/* never written to: ensure() only moves or fills a window read from a file */
	r->buf = (unsigned char *)(uintptr_t)p;
	r->borrowed = true;
	r->end = len;
	r->eof = true;
	r->max_depth = max_depth ? max_depth : DEFAULT_MAX_DEPTH;
	r->max_string = max_string ? max_string : DEFAULT_MAX_STRING;
	r->state = ST_VALUE;
	return r;
}

void jr_reset_mem(struct jr *r, const char *p, size_t len)
{
	r->buf = (unsigned char *)(uintptr_t)p;
	r->pos = 0;
	r->end = len;
	r->base = 0;
	r->depth = 0;
	r->state = ST_VALUE;
	r->tok.len = 0;
	r->tok_off = 0;
	r->failed = false;
	r->err[0] = 0;
}

void jr_free(struct jr *r)
{
	if (!r)
		return;
	if (!r->borrowed)
		free(r->buf);
	free(r->stack);
	jr_buf_free(&r->tok);
	free(r);
}

const char *jr_text(const struct jr *r, size_t *len)
{
	if (len)
		*len = r->tok.len;
	return r->tok.p ? r->tok.p : "";
}

size_t jr_depth(const struct jr *r)
{
	return r->depth;
}

uint64_t jr_offset(const struct jr *r)
{
	return r->tok_off;
}

const char *jr_error(const struct jr *r)
{
	return r->failed ? r->err : "";
}

/* At least n bytes at buf[pos], unless the file ends first. */
static bool ensure(struct jr *r, size_t n)
{
	if (r->end - r->pos >= n)
		return true;
	if (!r->f)
		return false;
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->base += r->pos;
		r->end -= r->pos;
		r->pos = 0;
	}
	while (r->end < n && !r->eof) {
		size_t k = fread(r->buf + r->end, 1, WINDOW - r->end, r->f);

		if (k == 0) {
			r->eof = true;
			r->ioerr = ferror(r->f) != 0;
		}
		r->end += k;
	}
	return r->end - r->pos >= n;
}

/* the next non-whitespace byte (not consumed), -1 at the end of the input */
static int peek_nonws(struct jr *r)
{
	for (;;) {
		while (r->pos < r->end) {
			unsigned char c = r->buf[r->pos];

			if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
				return c;
			r->pos++;
		}
		if (!ensure(r, 1))
			return -1;
	}
}

static bool push(struct jr *r, unsigned char kind)
{
	if (r->depth >= r->max_depth) {
		fail(r, "nested deeper than %zu levels", r->max_depth);
		return false;
	}
	if (r->depth == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 256;
		unsigned char *ns = realloc(r->stack, ncap);

		if (!ns) {
			fail(r, "out of memory");
			return false;
		}
		r->stack = ns;
		r->cap = ncap;
	}
	r->stack[r->depth++] = kind;
	return true;
}

static bool tok_put(struct jr *r, const void *s, size_t n)
{
	if (r->tok.len + n > r->max_string) {
		fail(r, "a string or number longer than %zu bytes", r->max_string);
		return false;
	}
	if (jr_buf_put(&r->tok, s, n)) {
		fail(r, "out of memory");
		return false;
	}
	return true;
}

static bool put_utf8(struct jr *r, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | (cp >> 6);
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | (cp >> 12);
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | (cp >> 18);
		b[1] = 0x80 | ((cp >> 12) & 0x3f);
		b[2] = 0x80 | ((cp >> 6) & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	return tok_put(r, b, n);
}

/* four hex digits at buf[pos] (ensured), or -1 */
static long hex4(const unsigned char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static bool read_escape(struct jr *r)
{
	unsigned char c;
	long u, lo;
	char ch;

	if (!ensure(r, 2)) {
		fail(r, "unterminated string");
		return false;
	}
	c = r->buf[r->pos + 1];
	switch (c) {
	case '"': ch = '"'; break;
	case '\\': ch = '\\'; break;
	case '/': ch = '/'; break;
	case 'b': ch = '\b'; break;
	case 'f': ch = '\f'; break;
	case 'n': ch = '\n'; break;
	case 'r': ch = '\r'; break;
	case 't': ch = '\t'; break;
	case 'u':
		if (!ensure(r, 6) || (u = hex4(r->buf + r->pos + 2)) < 0) {
			fail(r, "invalid \\u escape in a string");
			return false;
		}
		r->pos += 6;
		if (u >= 0xd800 && u <= 0xdbff) {
			/* a high surrogate pairs with a following \uDC00-\uDFFF */
			if (ensure(r, 6) && r->buf[r->pos] == '\\' && r->buf[r->pos + 1] == 'u' &&
			    (lo = hex4(r->buf + r->pos + 2)) >= 0xdc00 && lo <= 0xdfff) {
				r->pos += 6;
				return put_utf8(r, 0x10000 + ((uint32_t)(u - 0xd800) << 10) +
							   (uint32_t)(lo - 0xdc00));
			}
			return put_utf8(r, 0xfffd);
		}
		return put_utf8(r, u >= 0xdc00 && u <= 0xdfff ? 0xfffd : (uint32_t)u);
	default:
		fail(r, "invalid escape '\\%c' in a string", c >= 0x20 && c < 0x7f ? c : '?');
		return false;
	}
	r->pos += 2;
	return tok_put(r, &ch, 1);
}

/* buf[pos] is the opening quote */
static bool read_string(struct jr *r)
{
	r->tok.len = 0;
	if (!tok_put(r, "", 0))
		return false;
	r->pos++;
	for (;;) {
		size_t start = r->pos;

		while (r->pos < r->end) {
			unsigned char c = r->buf[r->pos];

			if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
				break;
			r->pos++;
		}
		if (r->pos > start && !tok_put(r, r->buf + start, r->pos - start))
			return false;
		if (r->pos == r->end) {
			if (!ensure(r, 1)) {
				fail(r, "unterminated string");
				return false;
			}
			continue;
		}
		unsigned char c = r->buf[r->pos];

		if (c == '"') {
			r->pos++;
			return true;
		}
		if (c == '\\') {
			if (!read_escape(r))
				return false;
		} else if (c < 0x20) {
			fail(r, "control character 0x%02x inside a string", c);
			return false;
		} else {
			size_t bad, k;

			ensure(r, 4);
			k = jsonw_utf8_seq(r->buf + r->pos, r->end - r->pos, &bad);
			if (k ? !tok_put(r, r->buf + r->pos, k) : !tok_put(r, "\xef\xbf\xbd", 3))
				return false;
			r->pos += k ? k : bad;
		}
	}
}

static bool number_ok(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == 0;
}

static bool read_number(struct jr *r)
{
	r->tok.len = 0;
	if (!tok_put(r, "", 0))
		return false;
	for (;;) {
		size_t start = r->pos;

		while (r->pos < r->end) {
			unsigned char c = r->buf[r->pos];

			if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
			      c == 'e' || c == 'E'))
				break;
			r->pos++;
		}
		if (r->pos > start && !tok_put(r, r->buf + start, r->pos - start))
			return false;
		if (r->pos < r->end || !ensure(r, 1))
			break;
	}
	if (!number_ok(r->tok.p)) {
		fail(r, "malformed number '%.40s'", r->tok.p);
		return false;
	}
	return true;
}

static enum jr_tok literal(struct jr *r, const char *word, enum jr_tok tok)
{
	size_t n = strlen(word);

	if (!ensure(r, n) || memcmp(r->buf + r->pos, word, n))
		return fail(r, "invalid literal (expected true, false or null)");
	r->pos += n;
	r->state = ST_AFTER;
	return tok;
}

/* past the bracket that opens a container of kind '{' or '[' */
static enum jr_tok open_container(struct jr *r, unsigned char kind, enum state first,
				  enum jr_tok tok)
{
	if (!push(r, kind))
		return JR_ERROR;
	r->pos++;
	r->state = first;
	return tok;
}

/* past the bracket that closes the innermost container */
static enum jr_tok close_container(struct jr *r, enum jr_tok tok)
{
	r->pos++;
	r->depth--;
	r->state = ST_AFTER;
	return tok;
}

static enum jr_tok value(struct jr *r, int c)
{
	switch (c) {
	case '{': return open_container(r, '{', ST_OBJ_FIRST, JR_OBJ_BEGIN);
	case '[': return open_container(r, '[', ST_ARR_FIRST, JR_ARR_BEGIN);
	case '"':
		if (!read_string(r))
			return JR_ERROR;
		r->state = ST_AFTER;
		return JR_STRING;
	case 't': return literal(r, "true", JR_TRUE);
	case 'f': return literal(r, "false", JR_FALSE);
	case 'n': return literal(r, "null", JR_NULL);
	case -1: return fail(r, "unexpected end of input (expected a value)");
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		if (!read_number(r))
			return JR_ERROR;
		r->state = ST_AFTER;
		return JR_NUMBER;
	}
	if (c >= 0x20 && c < 0x7f)
		return fail(r, "unexpected character '%c' (expected a value)", c);
	return fail(r, "unexpected byte 0x%02x (expected a value)", c);
}

static enum jr_tok key(struct jr *r, int c)
{
	uint64_t off = r->tok_off;

	if (c != '"')
		return c < 0 ? fail(r, "unexpected end of input (expected a member name)") :
			       fail(r, "expected a member name in double quotes");
	if (!read_string(r))
		return JR_ERROR;
	r->tok_off = r->base + r->pos;
	c = peek_nonws(r);
	if (c != ':') {
		r->tok_off = r->base + r->pos;
		return fail(r, "expected ':' after a member name");
	}
	r->pos++;
	r->state = ST_VALUE;
	r->tok_off = off;
	return JR_KEY;
}

enum jr_tok jr_next(struct jr *r)
{
	int c;

	if (r->failed)
		return JR_ERROR;
	for (;;) {
		c = peek_nonws(r);
		r->tok_off = r->base + r->pos;
		if (c < 0 && r->ioerr)
			return fail(r, "read error: %s", strerror(errno));
		switch (r->state) {
		case ST_DONE: return JR_EOF;
		case ST_AFTER:
			if (r->depth == 0) {
				if (c < 0) {
					r->state = ST_DONE;
					return JR_EOF;
				}
				return fail(r, "unexpected data after the end of the document");
			}
			if (c == ',') {
				r->pos++;
				r->state = r->stack[r->depth - 1] == '{' ? ST_KEY : ST_VALUE;
				continue;
			}
			if (c == '}' && r->stack[r->depth - 1] == '{')
				return close_container(r, JR_OBJ_END);
			if (c == ']' && r->stack[r->depth - 1] == '[')
				return close_container(r, JR_ARR_END);
			if (c < 0)
				return fail(r, "unexpected end of input (truncated document)");
			return fail(r, "expected ',' or '%c'",
				    r->stack[r->depth - 1] == '{' ? '}' : ']');
		case ST_OBJ_FIRST:
			if (c == '}')
				return close_container(r, JR_OBJ_END);
			return key(r, c);
		case ST_KEY: return key(r, c);
		case ST_ARR_FIRST:
			if (c == ']')
				return close_container(r, JR_ARR_END);
			return value(r, c);
		case ST_VALUE: return value(r, c);
		}
	}
}

enum jr_tok jr_skip(struct jr *r, enum jr_tok first)
{
	size_t d = r->depth;
	enum jr_tok t = first;

	if (first != JR_OBJ_BEGIN && first != JR_ARR_BEGIN)
		return first;
	while (r->depth >= d) {
		t = jr_next(r);
		if (t == JR_ERROR)
			return t;
		if (t == JR_EOF)
			return fail(r, "unexpected end of input");
	}
	return t;
}

enum jr_tok jr_capture(struct jr *r, enum jr_tok first, struct jr_buf *out, size_t max)
{
	size_t d = r->depth, start = out->len;
	enum jr_tok t = first, prev = JR_ARR_BEGIN;
	const char *txt;
	size_t len;
	int rc;

	for (;;) {
		/* a comma between two members or elements */
		if (t != JR_OBJ_END && t != JR_ARR_END && prev != JR_OBJ_BEGIN &&
		    prev != JR_ARR_BEGIN && prev != JR_KEY && jr_buf_put(out, ",", 1))
			return fail(r, "out of memory");
		txt = jr_text(r, &len);
		switch (t) {
		case JR_OBJ_BEGIN: rc = jr_buf_put(out, "{", 1); break;
		case JR_OBJ_END: rc = jr_buf_put(out, "}", 1); break;
		case JR_ARR_BEGIN: rc = jr_buf_put(out, "[", 1); break;
		case JR_ARR_END: rc = jr_buf_put(out, "]", 1); break;
		case JR_KEY: rc = put_jstr(out, txt, len) || jr_buf_put(out, ":", 1); break;
		case JR_STRING: rc = put_jstr(out, txt, len); break;
		case JR_NUMBER: rc = jr_buf_put(out, txt, len); break;
		case JR_TRUE: rc = jr_buf_put(out, "true", 4); break;
		case JR_FALSE: rc = jr_buf_put(out, "false", 5); break;
		case JR_NULL: rc = jr_buf_put(out, "null", 4); break;
		case JR_EOF: return fail(r, "unexpected end of input");
		default: return JR_ERROR;
		}
		if (rc)
			return fail(r, "out of memory");
		if (out->len - start > max)
			return fail(r, "a value longer than %zu bytes", max);
		if ((first != JR_OBJ_BEGIN && first != JR_ARR_BEGIN) || r->depth < d)
			return t;
		prev = t;
		t = jr_next(r);
	}
}

bool jr_parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (!(*s >= '0' && *s <= '9'))
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (*s)
		return false;
	*v = x;
	return true;
}

/* ---- the trace walker ------------------------------------------------------------ */

enum {
	F_FUNCTION,
	F_MODULE,
	F_ADDRESS,
	F_REASON,
	F_ARGS,
	F_ARGS_WHY,
	F_RETVAL,
	F_SOURCE,
	F_MEMORY,
	F_SITE,
	NFIELDS
};

struct wframe {
	struct jr_buf s;     /* this node's strings, reused by the next node at this depth */
	size_t off[NFIELDS]; /* into s, or SIZE_MAX when absent */
	bool has_start, has_end, has_duration, partial, opened;
	uint64_t start, end, duration;
	uint64_t nchildren, children_ns;
	bool children_timed;
};

struct walker {
	struct jr *r;
	const struct trace_visitor *v;
	void *ctx;
	struct wframe *frames;
	size_t nframes, capframes;
	struct jr_buf meta, crash, leaks, thread_key, thread_name, thread_more;
	char *err;
	size_t errlen;
};

static int werr(struct walker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int werr(struct walker *w, const char *fmt, ...)
{
	va_list ap;
	char msg[160];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail(w->r, "%s", msg);
	return -1;
}

/* the walk stops at the tokenizer's error (its message is already set) */
static int tokerr(struct walker *w)
{
	return w->r->failed ? -1 : werr(w, "unexpected token");
}

static void node_view(const struct wframe *f, struct trace_node *n)
{
	const char *p = f->s.p;

	n->function = f->off[F_FUNCTION] != SIZE_MAX ? p + f->off[F_FUNCTION] : NULL;
	n->module = f->off[F_MODULE] != SIZE_MAX ? p + f->off[F_MODULE] : NULL;
	n->address = f->off[F_ADDRESS] != SIZE_MAX ? p + f->off[F_ADDRESS] : NULL;
	n->partial_reason = f->off[F_REASON] != SIZE_MAX ? p + f->off[F_REASON] : NULL;
	n->arguments = f->off[F_ARGS] != SIZE_MAX ? p + f->off[F_ARGS] : NULL;
	n->arguments_unavailable = f->off[F_ARGS_WHY] != SIZE_MAX ? p + f->off[F_ARGS_WHY] : NULL;
	n->return_value = f->off[F_RETVAL] != SIZE_MAX ? p + f->off[F_RETVAL] : NULL;
	n->source = f->off[F_SOURCE] != SIZE_MAX ? p + f->off[F_SOURCE] : NULL;
	n->memory = f->off[F_MEMORY] != SIZE_MAX ? p + f->off[F_MEMORY] : NULL;
	n->call_site = f->off[F_SITE] != SIZE_MAX ? p + f->off[F_SITE] : NULL;
	n->has_start = f->has_start;
	n->has_end = f->has_end;
	n->has_duration = f->has_duration;
	n->start_ns = f->start;
	n->end_ns = f->end;
	n->duration_ns = f->duration;
	n->partial = f->partial;
	n->nchildren = f->nchildren;
	n->children_ns = f->children_ns;
	n->children_timed = f->children_timed;
}

static struct wframe *frame_push(struct walker *w)
{
	struct wframe *f;

	if (w->nframes == w->capframes) {
		size_t ncap = w->capframes ? w->capframes * 2 : 64;
		struct wframe *nf = realloc(w->frames, ncap * sizeof(*nf));

		if (!nf)
			return NULL;
		memset(nf + w->capframes, 0, (ncap - w->capframes) * sizeof(*nf));
		w->frames = nf;
		w->capframes = ncap;
	}
	f = &w->frames[w->nframes++];
	f->s.len = 0;
	for (int i = 0; i < NFIELDS; i++)
		f->off[i] = SIZE_MAX;
	f->has_start = f->has_end = f->has_duration = f->partial = f->opened = false;
	f->start = f->end = f->duration = 0;
	f->nchildren = f->children_ns = 0;
	f->children_timed = true;
	return f;
}

static int fire_open(struct walker *w, struct wframe *f)
{
	struct trace_node n;

	f->opened = true;
	if (!w->v->node_open)
		return 0;
	node_view(f, &n);
	return w->v->node_open(w->ctx, &n, (size_t)(f - w->frames));
}

/* a string (or null) member into the frame's arena */
static int str_field(struct walker *w, struct wframe *f, int field, const char *what)
{
	enum jr_tok t = jr_next(w->r);
	size_t len;
	const char *s;

	if (t == JR_NULL) {
		f->off[field] = SIZE_MAX;
		return 0;
	}
	if (t != JR_STRING)
		return t == JR_ERROR ? tokerr(w) : werr(w, "\"%s\" must be a string or null", what);
	s = jr_text(w->r, &len);
	f->off[field] = f->s.len;
	if (jr_buf_put(&f->s, s, len + 1))
		return werr(w, "out of memory");
	return 0;
}

static int time_field(struct walker *w, bool *has, uint64_t *v, const char *what)
{
	enum jr_tok t = jr_next(w->r);

	if (t == JR_NULL) {
		*has = false;
		return 0;
	}
	if (t != JR_NUMBER || !jr_parse_u64(jr_text(w->r, NULL), v))
		return t == JR_ERROR ?
			       tokerr(w) :
			       werr(w, "\"%s\" must be a whole number of ns >= 0, or null", what);
	*has = true;
	return 0;
}

static int json_field(struct walker *w, struct wframe *f, int field)
{
	enum jr_tok t = jr_next(w->r);
	size_t off = f->s.len;

	if (t == JR_NULL) {
		f->off[field] = SIZE_MAX;
		return 0;
	}
	if (t == JR_ERROR || jr_capture(w->r, t, &f->s, MAX_ARGS) == JR_ERROR)
		return tokerr(w);
	/* the NUL after it ends it: the next string starts beyond */
	f->s.len++;
	if (jr_buf_put(&f->s, "", 0))
		return werr(w, "out of memory");
	f->off[field] = off;
	return 0;
}

/* one member of the node in the top frame; *children set when it opened "children" */
static int node_member(struct walker *w, bool *children)
{
	struct wframe *f = &w->frames[w->nframes - 1];
	/* k lives in the token buffer, which the value overwrites: messages name members with literals */
	const char *k = jr_text(w->r, NULL);
	enum jr_tok t;

	*children = false;
	switch (k[0]) {
	case 'f':
		if (!strcmp(k, "function"))
			return str_field(w, f, F_FUNCTION, "function");
		break;
	case 'm':
		if (!strcmp(k, "module"))
			return str_field(w, f, F_MODULE, "module");
		if (!strcmp(k, "memory"))
			return json_field(w, f, F_MEMORY);
		break;
	case 'a':
		if (!strcmp(k, "address"))
			return str_field(w, f, F_ADDRESS, "address");
		if (!strcmp(k, "arguments"))
			return json_field(w, f, F_ARGS);
		if (!strcmp(k, "arguments_unavailable"))
			return str_field(w, f, F_ARGS_WHY, "arguments_unavailable");
		break;
	case 's':
		if (!strcmp(k, "start_ns"))
			return time_field(w, &f->has_start, &f->start, "start_ns");
		if (!strcmp(k, "source"))
			return str_field(w, f, F_SOURCE, "source");
		break;
	case 'e':
		if (!strcmp(k, "end_ns"))
			return time_field(w, &f->has_end, &f->end, "end_ns");
		break;
	case 'd':
		if (!strcmp(k, "duration_ns"))
			return time_field(w, &f->has_duration, &f->duration, "duration_ns");
		break;
	case 'r':
		if (!strcmp(k, "return_value"))
			return json_field(w, f, F_RETVAL);
		break;
	case 'p':
		if (!strcmp(k, "partial")) {
			t = jr_next(w->r);
			if (t != JR_TRUE && t != JR_FALSE)
				return t == JR_ERROR ? tokerr(w) :
						       werr(w, "\"partial\" must be true or false");
			f->partial = t == JR_TRUE;
			return 0;
		}
		if (!strcmp(k, "partial_reason"))
			return str_field(w, f, F_REASON, "partial_reason");
		break;
	case 'c':
		if (!strcmp(k, "children")) {
			t = jr_next(w->r);
			if (t == JR_NULL)
				return 0;
			if (t != JR_ARR_BEGIN)
				return t == JR_ERROR ? tokerr(w) :
						       werr(w, "\"children\" must be an array");
			*children = true;
			return 0;
		}
		if (!strcmp(k, "call_site"))
			return str_field(w, f, F_SITE, "call_site");
		break;
	}
	t = jr_next(w->r);
	return t == JR_ERROR || jr_skip(w->r, t) == JR_ERROR ? tokerr(w) : 0;
}

/* The "root_calls" array, its '[' read: every node, without recursion. */
static int walk_nodes(struct walker *w, uint64_t *calls)
{
	bool members = false; /* reading the members of the top frame, else array elements */
	enum jr_tok t;
	int rc;

	w->nframes = 0;
	for (;;) {
		t = jr_next(w->r);
		if (t == JR_ERROR)
			return tokerr(w);
		if (members) {
			if (t == JR_KEY) {
				bool children;

				if ((rc = node_member(w, &children)))
					return rc;
				members = !children;
				continue;
			}
			if (t != JR_OBJ_END)
				return werr(w, "unexpected token in a call object");
			/* the node is complete */
			struct wframe *f = &w->frames[w->nframes - 1];
			struct trace_node n;
			size_t depth = w->nframes - 1;

			if (!f->opened && (rc = fire_open(w, f)))
				return rc;
			(*calls)++;
			node_view(f, &n);
			if (w->v->node_close && (rc = w->v->node_close(w->ctx, &n, depth)))
				return rc;
			if (depth > 0) {
				struct wframe *p = f - 1;

				p->nchildren++;
				p->children_ns += node_covered_ns(&n, n.children_ns);
				p->children_timed &= f->has_duration;
			}
			w->nframes--;
			members = false;
			continue;
		}
		if (t == JR_ARR_END) {
			if (w->nframes == 0)
				return 0;
			members = true; /* back in the parent's members after "children" */
			continue;
		}
		if (t != JR_OBJ_BEGIN)
			return werr(w, "expected a call object");
		if (w->nframes && !w->frames[w->nframes - 1].opened &&
		    (rc = fire_open(w, &w->frames[w->nframes - 1])))
			return rc;
		if (!frame_push(w))
			return werr(w, "out of memory");
		members = true;
	}
}

static const char *cjson_str(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static bool cjson_u64(const cJSON *o, const char *k, uint64_t *v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0) ||
	    x->valuedouble >= 18446744073709551616.0)
		return false;
	*v = (uint64_t)x->valuedouble;
	return true;
}

int trace_meta_visit(const char *json, size_t len, const struct trace_visitor *v, void *ctx)
{
	struct trace_meta m = { 0 };
	const cJSON *cmd;
	cJSON *o;
	uint64_t u;
	int rc;

	if (!v->metadata)
		return 0;
	/* valid JSON by now: cJSON fails only past its nesting limit (1000) or out of memory */
	o = cJSON_ParseWithLength(json, len);
	if (!o)
		return -2;
	m.json = json;
	m.has_duration = cjson_u64(o, "duration_ns", &m.duration_ns);
	m.has_total_calls = cjson_u64(o, "total_calls", &m.total_calls);
	cjson_u64(o, "lost_events", &m.lost_events);
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "pid")) && cjson_u64(o, "pid", &u) &&
	    u <= INT64_MAX) {
		m.has_pid = true;
		m.pid = (int64_t)u;
	}
	m.executable = cjson_str(o, "executable");
	cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
	if (cJSON_IsArray(cmd) && cJSON_IsString(cJSON_GetArrayItem(cmd, 0)))
		m.command0 = cJSON_GetArrayItem(cmd, 0)->valuestring;
	rc = v->metadata(ctx, &m);
	cJSON_Delete(o);
	return rc;
}

static int walk_metadata(struct walker *w, enum jr_tok t)
{
	int rc;

	w->meta.len = 0;
	if (t != JR_OBJ_BEGIN)
		return jr_skip(w->r, t) == JR_ERROR ? tokerr(w) : 0;
	if (jr_capture(w->r, t, &w->meta, MAX_META) == JR_ERROR)
		return tokerr(w);
	rc = trace_meta_visit(w->meta.p, w->meta.len, w->v, w->ctx);
	if (rc == -2)
		return werr(w, "cannot read \"metadata\": nested too deeply, or out of memory");
	return rc;
}

/* a member of a thread that the visitor has no field for, kept in th->more */
static int thread_more(struct walker *w, struct trace_thread *th)
{
	struct jr_buf *b = &w->thread_more;
	enum jr_tok t;

	if (b->len && jr_buf_put(b, ",", 1))
		return werr(w, "out of memory");
	if (jr_capture(w->r, JR_KEY, b, MAX_META) == JR_ERROR)
		return tokerr(w);
	t = jr_next(w->r);
	if (t == JR_ERROR || jr_capture(w->r, t, b, MAX_META) == JR_ERROR)
		return tokerr(w);
	if (b->len > MAX_META)
		return werr(w, "a thread's members are longer than %u bytes", MAX_META);
	th->more = b->p;
	return 0;
}

static int walk_thread(struct walker *w, const char *key)
{
	struct trace_thread th = { 0 };
	bool begun = false;
	enum jr_tok t;
	const char *k;
	int rc;

	w->thread_key.len = 0;
	w->thread_name.len = 0;
	w->thread_more.len = 0;
	if (jr_buf_put(&w->thread_key, key, strlen(key)))
		return werr(w, "out of memory");
	th.key = w->thread_key.p;
	/* "5813" or "5813#2": the tid until a thread_id says otherwise */
	{
		char num[24];
		size_t i = 0;

		while (i < sizeof(num) - 1 && key[i] >= '0' && key[i] <= '9') {
			num[i] = key[i];
			i++;
		}
		num[i] = 0;
		th.has_tid = i > 0 && jr_parse_u64(num, &th.tid);
	}
	t = jr_next(w->r);
	if (t != JR_OBJ_BEGIN)
		return t == JR_ERROR ? tokerr(w) :
				       werr(w, "a thread in \"call_trees\" must be an object");
	while ((t = jr_next(w->r)) == JR_KEY) {
		k = jr_text(w->r, NULL);
		if (!strcmp(k, "pid")) {
			/* kept with the members in more too, where the JSONL
			 * writer carries it in its place */
			size_t at = w->thread_more.len + (w->thread_more.len ? 1 : 0);
			uint64_t v;

			if ((rc = thread_more(w, &th)))
				return rc;
			if (jr_parse_u64(w->thread_more.p + at + strlen("\"pid\":"), &v) &&
			    v <= INT64_MAX) {
				th.pid = (int64_t)v;
				th.has_pid = true;
			}
		} else if (!strcmp(k, "thread_id") || !strcmp(k, "total_calls") ||
			   !strcmp(k, "lost_events")) {
			bool id = k[0] == 't' && k[1] == 'h', total = k[0] == 't' && k[1] == 'o';
			uint64_t v;

			t = jr_next(w->r);
			if (t == JR_NULL)
				continue;
			if (t != JR_NUMBER || !jr_parse_u64(jr_text(w->r, NULL), &v))
				return t == JR_ERROR ?
					       tokerr(w) :
					       werr(w, "a thread's counts must be whole numbers");
			if (id) {
				th.tid = v;
				th.has_tid = true;
			} else if (total) {
				th.total_calls = v;
				th.has_total_calls = true;
			} else {
				th.lost_events = v;
			}
		} else if (!strcmp(k, "thread_name")) {
			size_t len;
			const char *s;

			t = jr_next(w->r);
			if (t == JR_NULL)
				continue;
			if (t != JR_STRING)
				return t == JR_ERROR ? tokerr(w) :
						       werr(w, "\"thread_name\" must be a string");
			s = jr_text(w->r, &len);
			w->thread_name.len = 0;
			if (jr_buf_put(&w->thread_name, s, len))
				return werr(w, "out of memory");
			th.name = w->thread_name.p;
		} else if (!strcmp(k, "root_calls")) {
			t = jr_next(w->r);
			if (t == JR_NULL)
				continue;
			if (t != JR_ARR_BEGIN)
				return t == JR_ERROR ? tokerr(w) :
						       werr(w, "\"root_calls\" must be an array");
			if (!begun && w->v->thread_begin && (rc = w->v->thread_begin(w->ctx, &th)))
				return rc;
			begun = true;
			if ((rc = walk_nodes(w, &th.calls)))
				return rc;
		} else if ((rc = thread_more(w, &th))) {
			return rc;
		}
	}
	if (t != JR_OBJ_END)
		return tokerr(w);
	if (!begun && w->v->thread_begin && (rc = w->v->thread_begin(w->ctx, &th)))
		return rc;
	return w->v->thread_end ? w->v->thread_end(w->ctx, &th) : 0;
}

static int walk_doc(struct walker *w)
{
	enum jr_tok t = jr_next(w->r);
	struct jr_buf key = { 0 };
	int rc = 0;

	if (t != JR_OBJ_BEGIN)
		return t == JR_ERROR ? tokerr(w) : werr(w, "a trace is a JSON object");
	while (!rc && (t = jr_next(w->r)) == JR_KEY) {
		const char *k = jr_text(w->r, NULL);

		if (!strcmp(k, "metadata")) {
			t = jr_next(w->r);
			rc = t == JR_ERROR ? tokerr(w) : walk_metadata(w, t);
		} else if (!strcmp(k, "call_trees")) {
			t = jr_next(w->r);
			if (t == JR_NULL)
				continue;
			if (t != JR_OBJ_BEGIN) {
				rc = t == JR_ERROR ? tokerr(w) :
						     werr(w, "\"call_trees\" must be an object");
				break;
			}
			while (!rc && (t = jr_next(w->r)) == JR_KEY) {
				key.len = 0;
				if (jr_buf_put(&key, jr_text(w->r, NULL),
					       strlen(jr_text(w->r, NULL))))
					rc = werr(w, "out of memory");
				else
					rc = walk_thread(w, key.p);
			}
			if (!rc && t != JR_OBJ_END)
				rc = tokerr(w);
		} else if (!strcmp(k, "crash")) {
			t = jr_next(w->r);
			if (t == JR_OBJ_BEGIN) {
				w->crash.len = 0;
				if (jr_capture(w->r, t, &w->crash, MAX_META) == JR_ERROR)
					rc = tokerr(w);
				else if (w->v->crash)
					rc = w->v->crash(w->ctx, w->crash.p);
			} else if (t == JR_ERROR || jr_skip(w->r, t) == JR_ERROR) {
				rc = tokerr(w);
			}
		} else if (!strcmp(k, "leaks") && w->v->leaks) { /* --memory */
			t = jr_next(w->r);
			if (t == JR_OBJ_BEGIN) {
				w->leaks.len = 0;
				if (jr_capture(w->r, t, &w->leaks, MAX_META) == JR_ERROR)
					rc = tokerr(w);
				else
					rc = w->v->leaks(w->ctx, w->leaks.p);
			} else if (t == JR_ERROR || jr_skip(w->r, t) == JR_ERROR) {
				rc = tokerr(w);
			}
		} else {
			t = jr_next(w->r);
			if (t == JR_ERROR || jr_skip(w->r, t) == JR_ERROR)
				rc = tokerr(w);
		}
	}
	jr_buf_free(&key);
	if (rc)
		return rc;
	if (t != JR_OBJ_END)
		return tokerr(w);
	t = jr_next(w->r);
	return t == JR_EOF ? 0 : tokerr(w);
}

int trace_walk(FILE *f, const struct trace_visitor *v, void *ctx, char *err, size_t errlen)
{
	struct walker w = { .v = v, .ctx = ctx, .err = err, .errlen = errlen };
	int rc;

	if (errlen)
		err[0] = 0;
	w.r = jr_new(f, 0, 0);
	if (!w.r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = walk_doc(&w);
	if (rc && w.r->failed)
		snprintf(err, errlen, "%s", jr_error(w.r));
	for (size_t i = 0; i < w.capframes; i++)
		jr_buf_free(&w.frames[i].s);
	free(w.frames);
	jr_buf_free(&w.meta);
	jr_buf_free(&w.crash);
	jr_buf_free(&w.leaks);
	jr_buf_free(&w.thread_key);
	jr_buf_free(&w.thread_name);
	jr_buf_free(&w.thread_more);
	jr_free(w.r);
	return rc;
}

/* cJSON keeps numbers as doubles: an integer past 2^53 (clock.realtime_ns)
 * would come back rounded. Every number of the parsed tree gets its text
 * back, in document order, from the tokenizer over the same bytes. */
static bool keep_number_text(cJSON *item, struct jr *r)
{
	for (; item; item = item->next) {
		if (cJSON_IsNumber(item)) {
			enum jr_tok t;

			while ((t = jr_next(r)) != JR_NUMBER)
				if (t == JR_ERROR || t == JR_EOF)
					return false;
			/* a raw item prints its text as it is */
			item->type = cJSON_Raw;
			item->valuestring = strdup(jr_text(r, NULL));
			if (!item->valuestring)
				return false;
		}
		if (item->child && !keep_number_text(item->child, r))
			return false;
	}
	return true;
}

cJSON *jr_parse_exact(const char *json)
{
	cJSON *o = cJSON_Parse(json);
	struct jr *r = o ? jr_new_mem(json, strlen(json), 0, 0) : NULL;
	bool ok = r && keep_number_text(o, r);

	jr_free(r);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
