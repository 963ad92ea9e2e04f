/* The tests' ground truth, for checking the expected trees without BPF: linked
 * into a test program (compiled WITHOUT -finstrument-functions), these hooks
 * replace glibc's and append one line per event to the file named by
 * $CTRACE_ORACLE:
 *     E|X TID NS THIS_FN LOAD_BASE COMM<TAB>MODULE_PATH
 * NS is CLOCK_MONOTONIC; MODULE_PATH is what dladdr() says ("" for the main
 * executable). Each line is one O_APPEND write, so threads do not interleave
 * and everything before a crash is on disk. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static int oracle_fd = -1;

__attribute__((no_instrument_function)) static int get_fd(void)
{
	int fd = __atomic_load_n(&oracle_fd, __ATOMIC_ACQUIRE);
	const char *path;
	int expected = -1;

	if (fd >= 0)
		return fd;
	path = getenv("CTRACE_ORACLE");
	if (!path)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (!__atomic_compare_exchange_n(&oracle_fd, &expected, fd, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		close(fd);
		fd = expected;
	}
	return fd;
}

__attribute__((no_instrument_function)) static void emit(char kind, void *fn)
{
	char line[4352], comm[17] = "";
	struct timespec ts;
	Dl_info info = { 0 };
	int fd = get_fd(), n;

	if (fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	prctl(PR_GET_NAME, comm);
	dladdr(fn, &info);
	n = snprintf(line, sizeof(line), "%c %d %lld %lx %lx %s\t%s\n", kind, (int)gettid(),
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (unsigned long)fn,
		     (unsigned long)info.dli_fbase, comm, info.dli_fname ? info.dli_fname : "");
	if (n > 0 && n < (int)sizeof(line) && write(fd, line, (size_t)n) != n)
		abort();
}

__attribute__((no_instrument_function)) void __cyg_profile_func_enter(void *fn, void *site)
{
	(void)site;
	emit('E', fn);
}

__attribute__((no_instrument_function)) void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)site;
	emit('X', fn);
}
