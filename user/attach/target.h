/* The traced process seen from outside: its stops, its end, its command line. */
#ifndef CTRACE_TARGET_H
#define CTRACE_TARGET_H
#include <sys/types.h>

/* the exit status of a process killed by signal N is this + N, as in the shell */
#define EXIT_SIGNALED 128

struct run_info;

/* waitpid for a stop (or the end) of pid, through signals: 0, or -1 */
int wait_stopped(pid_t pid, int *status);
/* the exit status to return for wait status st, noted in ri */
int exit_status_from_wait(int st, struct run_info *ri);
/* /proc/PID/cmdline as an argv (argc set; free v[0], then v), or NULL */
char **read_cmdline(pid_t pid, int *argc);

#endif
