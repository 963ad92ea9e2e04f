/* --probe batch: find the batch hooks library and put its probes in. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach/batch.h"
#include "attach/uprobe_multi.h"
#include "consume/symbolize.h"
#include "ctrace.skel.h"
#include "find/elf_image.h"
#include "find/pattern.h"
#include "utils/log.h"

int batch_find_lib(char *buf, size_t len, bool filtered)
{
	const char *env = getenv("CTRACE_BATCH_LIB");
	char hooks[PATH_MAX], *slash;

	if (env && *env)
		snprintf(hooks, sizeof(hooks), "%s", env);
	else if (modules_find_hooks_lib(hooks, sizeof(hooks)))
		return -1;
	slash = strrchr(hooks, '/');
	if (!slash)
		return -1;
	*slash = 0;
	if (env && *env && !filtered) {
		snprintf(buf, len, "%s", env);
		return access(buf, R_OK);
	}
	if ((size_t)snprintf(buf, len, "%s/%s", hooks,
			     filtered ? BATCH_FLIB_NAME : BATCH_LIB_NAME) >= len)
		return -1;
	return access(buf, R_OK);
}

/* one link of prog on the named functions of the file at path that exist */
static int attach_syms(struct probes *pr, struct bpf_program *prog, const char *path,
		       const struct elf_image *img, const char *const *names, size_t nnames)
{
	uint64_t offs[8];
	size_t n = 0;
	int fd;

	for (size_t k = 0; k < nnames && n < sizeof(offs) / sizeof(offs[0]); k++) {
		const struct elf_sym *s = elf_sym_find(img, names[k]);
		uint64_t off;

		if (s && !elf_vaddr_to_offset(img, s->addr, &off))
			offs[n++] = off;
	}
	if (!n)
		return 0;
	fd = uprobe_multi_attach(bpf_program__fd(prog), path, offs, NULL, n, pr->pid, false);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return probes_keep_link(pr, fd);
}

int batch_attach_lib(struct probes *pr, const char *lib)
{
	static const char *const flush[] = { "ctrace_batch_flush" };
	static const char *const hello[] = { "ctrace_batch_hello" };
	struct elf_image *img;
	char err[256];
	int rc;

	if (elf_image_open(lib, &img, err, sizeof(err))) {
		log_err("hooks library %s: %s", lib, err);
		return -1;
	}
	rc = elf_sym_find(img, flush[0]) ?
		     attach_syms(pr, pr->skel->progs.on_batch, lib, img, flush, 1) :
		     (errno = ENOENT, -1);
	if (rc)
		log_err("cannot probe ctrace_batch_flush in %s: %s", lib, strerror(errno));
	/* -F/-N: an image's first call waits for its selected functions */
	else if (!filter_is_empty(pr->filter) &&
		 (rc = elf_sym_find(img, hello[0]) ? attach_syms(pr, pr->skel->progs.on_batch_hello,
								 lib, img, hello, 1) :
						     (errno = ENOENT, -1)))
		log_err("cannot probe ctrace_batch_hello in %s: %s", lib, strerror(errno));
	elf_image_free(img);
	return rc;
}

/* the guard: wait for the tracer's end of the pipe to close, then continue
 * whatever BPF still holds stopped */
static void guard_run(int rfd, int map_fd)
{
	__u32 key;
	char c;

	signal(SIGINT, SIG_IGN); /* a ^C is for the tracer, which ends first */
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	while (read(rfd, &c, 1) < 0 && errno == EINTR)
		;
	while (!bpf_map_get_next_key(map_fd, NULL, &key)) {
		bpf_map_delete_elem(map_fd, &key);
		kill((pid_t)key, SIGCONT);
	}
	_exit(0);
}

int batch_guard_start(struct batch_guard *g, int map_fd)
{
	int p[2];

	g->pid = 0;
	g->wfd = -1;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	g->pid = fork();
	if (g->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (g->pid == 0) {
		/* only the pipe and the map: a link kept open here would
		 * outlive the tracer */
		int rfd = fcntl(p[0], F_DUPFD, 1000), mfd = fcntl(map_fd, F_DUPFD, 1001);

		if (rfd < 0 || mfd < 0)
			_exit(1);
		for (int fd = 3; fd < 1000; fd++)
			close(fd);
		close_range(1002, ~0u, 0);
		guard_run(rfd, mfd);
	}
	close(p[0]);
	g->wfd = p[1];
	return 0;
}

void batch_guard_stop(struct batch_guard *g)
{
	if (g->pid <= 0)
		return;
	if (g->wfd >= 0)
		close(g->wfd);
	g->wfd = -1;
	if (g->pid > 0)
		while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
			;
	g->pid = 0;
}
