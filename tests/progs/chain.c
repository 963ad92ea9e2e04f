/* Crash cause chains: poke() stores into a read-only page (SIGSEGV,
 * SEGV_ACCERR at the page), three traced calls below main; the SIGSEGV
 * handler logs the fault, then dies another way:
 *   chain raise      SIG_DFL, raise(SIGSEGV)         -> SIGSEGV SI_TKILL
 *   chain kill       SIG_DFL, kill(getpid(), SIGSEGV) -> SIGSEGV SI_USER
 *   chain dfl        SIG_DFL and return: the store faults again, fatally
 *   chain refault    scribble() stores through NULL   -> SIGSEGV SEGV_MAPERR at 0
 *   chain abort      abort()                          -> SIGABRT SI_TKILL
 *   chain recover    the handler makes the page writable and returns; poke()
 *                    goes on and aborts, in give_up(): no cause (the faulting
 *                    call is still open, but the handler has ended)
 *   chain thread     a second thread faults; its handler kill()s the
 *                    process (the kernel names the main thread)
 *   chain repeat N   N faults recovered (the page made writable), then one raised:
 *                    the cause is the last fault, not an earlier one
 *   chain wait FILE MODE   spins until FILE exists (for attach), then MODE
 *   chain nested     SA_NODEFER; the handler stores into a second read-only
 *                    page, a nested handler repairs that one and returns,
 *                    then the first handler raises: the cause is the first
 *                    fault
 *   chain exec MODE  execs itself with MODE: the new image's C library is
 *                    mapped elsewhere
 *   chain pending    with SIGSEGV blocked, a worker sends it to the main
 *                    thread, then to itself (never delivered: it is blocked
 *                    until the worker ends); main unblocks it and dies of
 *                    the first one, not of the last one sent
 * It prints the page's address first. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "common.h"

volatile int sink;
static char *page, *page2;
static const char *how = "raise";

void middle(int *where);

NOINLINE void log_fault(void *addr)
{
	/* what a server logs; write(2) is async-signal-safe */
	static const char msg[] = "fault logged\n";

	sink = (int)((unsigned long)addr & 0xff);
	if (write(1, msg, sizeof(msg) - 1) < 0)
		sink = -1;
}

NOINLINE void scribble(int *where)
{
	*where = 7;
	sink = 8;
}

NOINLINE void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	log_fault(si->si_addr);
	if (!strcmp(how, "recover") || !strcmp(how, "repeat") ||
	    (!strcmp(how, "nested") && si->si_addr == page2)) {
		mprotect(si->si_addr, 4096, PROT_READ | PROT_WRITE);
		return;
	}
	if (!strcmp(how, "nested"))
		middle((int *)page2);
	if (!strcmp(how, "refault"))
		scribble(NULL);
	if (!strcmp(how, "abort"))
		abort();
	signal(sig, SIG_DFL);
	if (!strcmp(how, "raise") || !strcmp(how, "nested"))
		raise(sig);
	else if (!strcmp(how, "kill") || !strcmp(how, "thread"))
		kill(getpid(), sig);
	/* thread: the kill goes to the main thread (this one blocks the
	 * signal in its handler); returning would race it with the store
	 * faulting again */
	while (!strcmp(how, "thread"))
		pause();
	/* dfl: return, and the store runs again with nobody to take it */
}

NOINLINE void give_up(void)
{
	sink = 5;
	abort();
}

NOINLINE void poke(int *where)
{
	*where = 42;
	sink = 2;
	if (!strcmp(how, "recover"))
		give_up();
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

static pthread_t main_thread;

NOINLINE void *sender(void *arg)
{
	printf("worker tid=%ld\n", (long)syscall(SYS_gettid));
	fflush(stdout);
	pthread_kill(main_thread, SIGSEGV);
	pthread_kill(pthread_self(), SIGSEGV);
	return arg;
}

NOINLINE void unblock(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGSEGV);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

NOINLINE void *worker(void *arg)
{
	printf("worker tid=%ld\n", (long)syscall(SYS_gettid));
	fflush(stdout);
	outer(arg);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc > 1)
		how = argv[1];
	if (!strcmp(how, "exec") && argc > 2) {
		execl("/proc/self/exe", argv[0], argv[2], (char *)NULL);
		return 127;
	}
	if (!strcmp(how, "wait") && argc > 3) {
		printf("waiting pid=%d\n", (int)getpid());
		fflush(stdout);
		while (access(argv[2], F_OK))
			usleep(2000);
		how = argv[3];
	}
	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	page2 = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED || page2 == MAP_FAILED)
		return 1;
	printf("page=%p\n", (void *)page);
	fflush(stdout);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | (!strcmp(how, "nested") ? SA_NODEFER : 0);
	sigaction(SIGSEGV, &sa, NULL);
	if (!strcmp(how, "pending")) {
		sigset_t set;
		pthread_t t;

		signal(SIGSEGV, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		main_thread = pthread_self();
		if (pthread_create(&t, NULL, sender, NULL))
			return 1;
		pthread_join(t, NULL);
		unblock();
		return 0;
	}
	if (!strcmp(how, "thread")) {
		pthread_t t;

		if (pthread_create(&t, NULL, worker, page))
			return 1;
		pthread_join(t, NULL);
		return 0;
	}
	if (!strcmp(how, "repeat")) {
		for (int i = argc > 2 ? atoi(argv[2]) : 0; i > 0; i--) {
			outer((int *)page);
			mprotect(page, 4096, PROT_READ);
		}
		how = "raise";
	}
	outer((int *)page);
	return 0;
}
