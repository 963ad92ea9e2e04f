/* Typed values as JSON: a small C/C++ type model (built from DWARF by
 * find/dwarf_types.c, or by hand), how much of a value to capture, and the ARG /
 * return_value objects of doc/design.md §6 written from captured bytes.
 * Nothing here touches DWARF or the target: it only reads the bytes it is given,
 * and bounds every walk (nesting depth, array length, cycles in bad debug info). */
#ifndef CTRACE_VALUE_FMT_H
#define CTRACE_VALUE_FMT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum vt_kind {
	VT_UNKNOWN, /* not modelled: spelled by name, its value is "unavailable" */
	VT_VOID,
	VT_INT, /* signed integer of 1, 2, 4, 8 or 16 bytes (wchar_t, char32_t too) */
	VT_UINT,
	VT_BOOL,
	VT_CHAR,    /* char, signed char, unsigned char (is_signed): a number;
		      * pointers to any of them are strings, arrays of plain
		      * char (name "char") are strings */
	VT_FLOAT,   /* 2, 4, 8 bytes; 16: long double (x87) or _Float128 (by name) */
	VT_COMPLEX, /* complex float/double: [re, im] */
	VT_ENUM,    /* target: the underlying integer type, when known */
	VT_POINTER, /* target NULL: void * */
	VT_REF,	    /* C++ T& */
	VT_RVREF,   /* C++ T&& */
	VT_STRUCT,  /* struct or class */
	VT_UNION,
	VT_ARRAY, /* count elements of target (count 0: bound unknown) */
	VT_FUNC,  /* a function type; only behind a pointer */
	VT_TYPEDEF,
	VT_QUAL,    /* quals applied to target */
	VT_NULLPTR, /* C++ decltype(nullptr) */
};

enum { VTQ_CONST = 1, VTQ_VOLATILE = 2, VTQ_RESTRICT = 4, VTQ_ATOMIC = 8 };

struct vtype;

struct vmember {
	const char *name; /* NULL: an anonymous struct/union (its members are
				    * written into the enclosing object) or unnamed padding */
	const struct vtype *type;
	uint64_t offset;     /* bytes from the start of the enclosing type */
	uint32_t bit_size;   /* bit-fields: width; 0 otherwise */
	uint32_t bit_offset; /* bit-fields: bits past offset (little-endian) */
	bool is_base;	     /* C++ base-class subobject: written as a nested
				    * object under the base's name */
};

struct venum {
	const char *name;
	int64_t value; /* unsigned enumerators are stored as their bit pattern */
};

struct vtype {
	enum vt_kind kind;
	uint32_t size;		    /* bytes; 0 when unknown (incomplete type) */
	uint32_t count;		    /* ARRAY: elements (0: unknown); FUNC: nparams */
	uint32_t nmembers;	    /* STRUCT/UNION: members; ENUM: enumerators */
	uint8_t quals;		    /* QUAL: VTQ_* */
	bool is_signed;		    /* CHAR, ENUM: how to extend the bytes */
	bool cxx;		    /* C++ spelling: "point", not "struct point" */
	bool is_class;		    /* STRUCT declared with `class` (C++ spelling only) */
	bool varargs;		    /* FUNC: ends with ... */
	bool prototyped;	    /* FUNC: C prototype ("(void)" when no params) */
	const char *name;	    /* the name of a base type, struct, union, enum or
				    * typedef (NULL: anonymous); C++: qualified */
	const struct vtype *target; /* POINTER, REF, RVREF, ARRAY, TYPEDEF, QUAL, FUNC
				    * (return type), ENUM (underlying); NULL: void */
	const struct vmember *members;
	const struct venum *enumerators;
	const struct vtype *const *params; /* FUNC: count parameter types */
};

/* The type behind typedefs and qualifiers (bounded: bad debug info can loop).
 * NULL stays NULL (void). */
const struct vtype *vtype_strip(const struct vtype *t);

/* The C/C++ spelling of t, as in a declaration without the name: "int",
 * "unsigned long", "const char *", "struct point *", "enum color",
 * "char [16]", "int (*)(int, int)", "S *const", "const T &".
 * malloc'd; NULL only when out of memory. */
char *vtype_spell(const struct vtype *t);

/* What to capture for a value of type t (ctrace_plan.h terms). */
struct vcap_spec {
	uint32_t size;	      /* bytes of the value, at most CTRACE_VALUE_MAX; 0: nothing
			       * to capture (void, unknown size) */
	bool cut;	      /* the value is larger than size (a big struct) */
	uint8_t follow;	      /* enum ctrace_follow */
	uint16_t follow_size; /* STRING: max bytes incl. NUL; DEREF: bytes */
};
/* Pointers to char follow a string of up to str_max bytes; pointers to a
 * struct or union, C++ references and `this` follow up to deref_max bytes of
 * the pointee (both capped at CTRACE_FOLLOW_MAX). Everything else: NONE. */
void vtype_capture_spec(const struct vtype *t, uint32_t str_max, uint32_t deref_max,
			struct vcap_spec *out);

/* Where the char * members of a value of type t are, in the order they are
 * written (members, nested structs, array elements; depth and length bounded
 * as the writer bounds them), among its first len bytes: calls found(ctx, off)
 * for each, with the member's byte offset, until it returns false. */
void vtype_member_strings(const struct vtype *t, uint32_t len,
			  bool (*found)(void *ctx, uint32_t off), void *ctx);

/* The string read for one char * member inside a captured value. */
struct vfmt_str {
	const void *at;	 /* where the member's pointer lies in the captured bytes */
	const void *str; /* the string, without its NUL */
	uint32_t len;
	int err; /* 0, a negative errno, or 1: not read */
	bool truncated;
};

/* The bytes captured for one value (by the BPF side, executing a plan). */
struct vfmt_capture {
	const void *val;  /* the value's bytes, little-endian */
	uint32_t val_len; /* fewer than the type's size: a cut struct (members past
			       * the end are left out, "truncated": true), else unavailable */
	int val_err;	  /* 0, or a negative errno: the value could not be read */
	const void *tgt;  /* follow: the string (without its NUL) or the pointee;
			       * NULL when the pointer was NULL or nothing was read */
	uint32_t tgt_len;
	int tgt_err;	    /* 0, or a negative errno: the pointee could not be read */
	bool tgt_truncated; /* STRING: cut at follow_size (bpf_probe_read_user_str
			       * returned follow_size: the string may be longer) */
	/* char * members inside the value: written as
	 * {"value":STRING,"address":"0x…"[,"truncated":true]}, or with "value":
	 * null and "unavailable" when their string was not read (strs_why, or
	 * "not captured" when NULL) */
	const struct vfmt_str *strs;
	unsigned nstrs;
	const char *strs_why;
};

struct vfmt_opts {
	/* function pointers: a runtime address -> function name, or NULL */
	const char *(*symbolize)(void *ctx, uint64_t addr);
	void *sym_ctx;
	unsigned max_depth; /* nested aggregates written; deeper ones are null (0: 4) */
	unsigned max_elems; /* array elements written (0: 64) */
};

/* Writes one ARG object of doc/design.md §6:
 *   {"name":N,"type":T,"value":V[,"address":"0x…"][,"raw":R][,"function":F][,"truncated":true]}
 * or, when unavailable is not NULL or the capture failed,
 *   {"name":N,"type":T,"value":null,"unavailable":"<why>"}.
 * name NULL leaves "name" out (the return_value object). type_name NULL spells t.
 * Values: integers and floats as numbers (NaN/inf: null), bool as true/false,
 * pointers as "0x…", char * as the string with "address" (NULL: value null with
 * "address":"0x0"), a struct behind a pointer or reference as an object with
 * "address", enums as the enumerator's name (the number when none matches)
 * with "raw", function pointers as "0x…" with "function" when symbolized,
 * structs and unions as objects, arrays as arrays (arrays of plain char as
 * strings, up to the first NUL); in a struct, union or array, a char * as an
 * object like an ARG's value: {"value":STRING or null,"address":"0x…",…}. */
void vfmt_arg(FILE *f, const char *name, const char *type_name, const struct vtype *t,
	      const struct vfmt_capture *cap, const char *unavailable, const struct vfmt_opts *o);

/* Just the value of t held in buf[0..len), as a nested JSON value (no keys);
 * returns true when something was cut (bytes missing, depth or length bounds). */
bool vfmt_value(FILE *f, const struct vtype *t, const void *buf, size_t len,
		const struct vfmt_opts *o);

#endif
