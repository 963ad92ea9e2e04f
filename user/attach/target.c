/* The traced process seen from outside: its stops, its end, its command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "attach/target.h"
#include "write/output.h"

int wait_stopped(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, WUNTRACED);
	while (r < 0 && errno == EINTR);
	return r == pid ? 0 : -1;
}

int exit_status_from_wait(int st, struct run_info *ri)
{
	ri->exit_known = true;
	if (WIFSIGNALED(st)) {
		ri->exit_signal = WTERMSIG(st);
		ri->exit_code = -1;
		return EXIT_SIGNALED + WTERMSIG(st);
	}
	ri->exit_code = WEXITSTATUS(st);
	return ri->exit_code;
}

char **read_cmdline(pid_t pid, int *argc)
{
	char path[64], *buf = NULL, **v = NULL;
	size_t len = 0, cap = 0;
	FILE *f;
	int n = 0, c;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "re");
	if (!f)
		goto out;
	while ((c = fgetc(f)) != EOF) {
		if (len + 2 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 256);
			if (!nb)
				break;
			buf = nb;
		}
		buf[len++] = (char)c;
	}
	fclose(f);
	if (!buf)
		goto out;
	buf[len] = 0;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		goto out;
	n = 0;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		v[n++] = buf + i;
	*argc = n;
	return v;
out:
	free(buf);
	*argc = 0;
	return NULL;
}
