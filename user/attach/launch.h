/* Launch mode: the target is forked first and held before exec, so the
 * probes (filtered to its pid) are in place before it runs one instruction. */
#ifndef CTRACE_LAUNCH_H
#define CTRACE_LAUNCH_H
#include <sys/types.h>

struct child {
	pid_t pid;
	int go_fd;  /* write a byte to let it exec */
	int err_fd; /* exec failure: the child writes errno; EOF means exec done */
};

/* fork; the child waits, then execs path with argv (env plus LD_PRELOAD=preload
 * when preload is not NULL), as user (name or uid; NULL: as we are), like
 * strace -u. 0 or -1 (printed). */
int launch_fork(struct child *c, const char *path, char **argv, const char *preload,
		const char *user);
/* let it exec: 0 when the exec succeeded, else -errno (child reaped) */
int launch_release(struct child *c);
/* before release: kill and reap */
void launch_kill(struct child *c);

#endif
