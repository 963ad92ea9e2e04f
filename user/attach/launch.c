#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include "attach/launch.h"
#include "utils/log.h"

static void set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;

	/* keep the user's own preloads, ours first so its hooks win */
	if (old && *old) {
		if (asprintf(&v, "%s:%s", lib, old) < 0)
			_exit(127);
		setenv("LD_PRELOAD", v, 1);
	} else {
		setenv("LD_PRELOAD", lib, 1);
	}
}

int launch_fork(struct child *c, const char *path, char **argv, const char *preload,
		const char *user)
{
	struct passwd *pw = NULL;
	int go[2], err[2];
	char b, *end;

	if (user) {
		unsigned long uid = strtoul(user, &end, 10);

		pw = *end || !*user ? getpwnam(user) : getpwuid((uid_t)uid);
		if (!pw) {
			log_err("-u %s: no such user", user);
			return -1;
		}
	}
	if (pipe2(go, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		log_err("pipe: %s", strerror(errno));
		return -1;
	}
	c->pid = fork();
	if (c->pid < 0) {
		log_err("fork: %s", strerror(errno));
		return -1;
	}
	if (c->pid == 0) {
		int e;

		close(go[1]);
		close(err[0]);
		/* EOF: the tracer gave up (or died) before the probes were in */
		if (read(go[0], &b, 1) != 1)
			_exit(127);
		if (preload)
			set_preload(preload);
		/* groups first: once the uid is dropped they cannot change */
		if (pw && (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) ||
			   setuid(pw->pw_uid))) {
			e = errno;
			if (write(err[1], &e, sizeof(e)) < 0)
				_exit(127);
			_exit(127);
		}
		execv(path, argv);
		e = errno;
		if (write(err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	c->go_fd = go[1];
	c->err_fd = err[0];
	return 0;
}

int launch_release(struct child *c)
{
	char b = 1;
	int e = 0;
	ssize_t n;

	if (write(c->go_fd, &b, 1) != 1) {
		e = errno;
		close(c->go_fd);
		close(c->err_fd);
		launch_kill(c);
		return -e;
	}
	close(c->go_fd);
	do
		n = read(c->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(c->err_fd);
	if (n == (ssize_t)sizeof(e)) {
		waitpid(c->pid, NULL, 0);
		return -e;
	}
	return 0;
}

void launch_kill(struct child *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	c->pid = 0;
}
