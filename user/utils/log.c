#include <stdio.h>
#include <bpf/libbpf.h>
#include "utils/log.h"

int log_verbose;

static void vlog(const char *tag, const char *fmt, va_list ap)
{
	fprintf(stderr, "ctrace-bpf: %s", tag);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* the body of each variadic front: hands its arguments to vlog under tag */
#define VLOG(tag)                   \
	do {                        \
		va_list ap;         \
		va_start(ap, fmt);  \
		vlog(tag, fmt, ap); \
		va_end(ap);         \
	} while (0)

void log_err(const char *fmt, ...)
{
	VLOG("");
}

void log_warn(const char *fmt, ...)
{
	VLOG("warning: ");
}

void log_info(const char *fmt, ...)
{
	VLOG("");
}

void log_dbg(const char *fmt, ...)
{
	if (log_verbose)
		VLOG("");
}

int log_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbose < 2)
		return 0;
	if (!log_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}
