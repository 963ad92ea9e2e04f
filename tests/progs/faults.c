/* More ways to die (or not): SIGILL, SIGBUS, a SIGSEGV the program handles
 * and survives (the handler makes the page writable and the store is
 * retried, so no traced frame is skipped), a crash on request (for attach), and a child process of the
 * same binary that crashes while the traced parent lives on.
 *   faults ill|bus|trap|sys|handled|spawn
 *   (trap: int3 -> SIGTRAP; sys: a seccomp filter traps getppid -> SIGSYS)
 *   faults wait FILE     spins until FILE exists, then SIGSEGV */
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

volatile int sink;
static char *page;

NOINLINE void on_segv(int sig)
{
	(void)sig;
	mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

NOINLINE void illegal(void)
{
	sink = 1;
	__builtin_trap();
}

NOINLINE void breakpoint(void)
{
	sink = 5;
	__asm__ volatile("int3");
}

NOINSTR static int forbid_getppid(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	       prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

NOINLINE long forbidden_call(void)
{
	sink = 6;
	return syscall(__NR_getppid);
}

NOINLINE int bus_error(void)
{
	char path[] = "/tmp/faults-busXXXXXX";
	int fd = mkstemp(path);
	volatile char *p;

	if (fd < 0 || ftruncate(fd, 4096))
		return 1;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	unlink(path);
	if (p == MAP_FAILED || ftruncate(fd, 0))
		return 1;
	return p[0]; /* the page is past the end of the file now */
}

NOINLINE void poke(int *where)
{
	*where = 42;
	sink = 2;
}

NOINLINE void middle(int *where)
{
	poke(where);
	sink = 3;
}

NOINLINE void outer(int *where)
{
	middle(where);
	sink = 4;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "ill";

	if (!strcmp(what, "ill")) {
		illegal();
	} else if (!strcmp(what, "trap")) {
		breakpoint();
	} else if (!strcmp(what, "sys")) {
		if (forbid_getppid())
			return 1;
		return (int)forbidden_call();
	} else if (!strcmp(what, "bus")) {
		return bus_error();
	} else if (!strcmp(what, "handled")) {
		page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page == MAP_FAILED)
			return 1;
		signal(SIGSEGV, on_segv);
		outer((int *)page);
		printf("recovered %d\n", *(int *)page);
		return 0;
	} else if (!strcmp(what, "wait") && argc > 2) {
		printf("waiting pid=%d\n", (int)getpid());
		fflush(stdout);
		while (access(argv[2], F_OK))
			usleep(2000);
		outer(NULL);
	} else if (!strcmp(what, "spawn")) {
		pid_t child = fork();
		int st;

		if (child == 0) {
			execl("/proc/self/exe", argv[0], "child", (char *)NULL);
			_exit(127);
		}
		waitpid(child, &st, 0);
		printf("child died of %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		return 0;
	} else if (!strcmp(what, "child")) {
		outer(NULL);
	}
	return 0;
}
