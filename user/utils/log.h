/* Diagnostics: every message starts with "ctrace-bpf: " and is one line. */
#ifndef CTRACE_LOG_H
#define CTRACE_LOG_H
#include <stdarg.h>
#include <stdbool.h>
#include <bpf/libbpf.h>

extern int log_verbose; /* -v count */

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* the one libbpf print callback: silent unless -v */
int log_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap);

#endif
