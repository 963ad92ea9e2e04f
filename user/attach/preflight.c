#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "utils/log.h"
#include "attach/preflight.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

int preflight_system(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data)) {
		log_err("cannot read this process's capabilities: %s", strerror(errno));
		return -1;
	}
	if (!has_cap(data, CAP_SYS_ADMIN) &&
	    !(has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON))) {
		log_err("needs root, or CAP_BPF and CAP_PERFMON (and CAP_SYS_PTRACE for -p): "
			"run it with sudo");
		return -1;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		log_err("this kernel has no BTF (/sys/kernel/btf/vmlinux): "
			"a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed");
		return -1;
	}
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		log_err("this kernel has no uprobes (CONFIG_UPROBE_EVENTS): "
			"a kernel built with uprobe support is needed");
		return -1;
	}
	return 0;
}

static int check_file(const char *path, char *buf, size_t len)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (access(path, X_OK))
		return -EACCES;
	if (!realpath(path, buf))
		return -errno;
	(void)len; /* buf is PATH_MAX */
	return 0;
}

int preflight_program(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char cand[PATH_MAX];
	int rc, first_err = -ENOENT;

	if (len < PATH_MAX)
		return -1;
	if (strchr(prog, '/')) {
		rc = check_file(prog, buf, len);
		if (rc) {
			log_err("cannot run '%s': %s", prog,
				rc == -EACCES ? "not executable (chmod +x?)" : strerror(-rc));
			return -1;
		}
		return 0;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		int w = snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, n ? path : ".", prog);

		path += n + (path[n] == ':');
		if (w < 0 || (size_t)w >= sizeof(cand))
			continue;
		rc = check_file(cand, buf, len);
		if (!rc)
			return 0;
		if (rc == -EACCES)
			first_err = rc;
	}
	log_err("cannot run '%s': %s", prog,
		first_err == -EACCES ? "not executable (chmod +x?)" :
				       "command not found (not in PATH; give a path like ./prog)");
	return -1;
}

int preflight_pid(pid_t pid, char *buf, size_t len)
{
	char path[64], state = 0, line[512];
	ssize_t n;
	FILE *f;

	if (kill(pid, 0) && errno == ESRCH) {
		log_err("no process with PID %d", (int)pid);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(line, sizeof(line), f)) {
			char *p = strrchr(line, ')');
			if (p && p[1])
				state = p[2];
		}
		fclose(f);
	}
	if (state == 'Z' || state == 'X') {
		log_err("process %d has exited (a zombie): nothing left to trace", (int)pid);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, len - 1);
	if (n < 0) {
		if (errno == ENOENT)
			log_err("process %d is a kernel thread or has no executable: nothing to trace",
				(int)pid);
		else if (errno == EACCES || errno == EPERM)
			log_err("cannot inspect process %d: %s (another user's process needs root "
				"or CAP_SYS_PTRACE)",
				(int)pid, strerror(errno));
		else
			log_err("cannot inspect process %d: %s", (int)pid, strerror(errno));
		return -1;
	}
	buf[n] = 0;
	return 0;
}
