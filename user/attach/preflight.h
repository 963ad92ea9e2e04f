/* Checks made before anything is started, each failing with one line that
 * says what to do. */
#ifndef CTRACE_PREFLIGHT_H
#define CTRACE_PREFLIGHT_H
#include <stddef.h>
#include <sys/types.h>

/* CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN), BTF, uprobes; 0 or -1 (printed) */
int preflight_system(void);
/* PROGRAM as execvp would find it → absolute path in buf; 0 or -1 (printed) */
int preflight_program(const char *prog, char *buf, size_t len);
/* a live user process we may trace; its executable in buf; 0 or -1 (printed) */
int preflight_pid(pid_t pid, char *buf, size_t len);

#endif
