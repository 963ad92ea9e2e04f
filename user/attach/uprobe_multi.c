#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include "attach/uprobe_multi.h"

/* bpf_attr.link_create as of Linux 6.6; the 6.1 UAPI headers predate it. */
struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t um_flags;
	uint32_t pid;
	uint32_t pad;
};

#define UPROBE_MULTI_RETURN 1u

int uprobe_multi_attach(int prog_fd, const char *path, const uint64_t *offsets,
			const uint64_t *cookies, size_t cnt, pid_t pid, bool ret)
{
	union {
		struct link_create_uprobe_multi lc;
		char pad[128]; /* the kernel wants the tail of bpf_attr zeroed */
	} attr;
	int fd;

	if (!cnt || cnt > UINT32_MAX)
		return -EINVAL;
	memset(&attr, 0, sizeof(attr));
	attr.lc.prog_fd = prog_fd;
	attr.lc.attach_type = CTRACE_BPF_TRACE_UPROBE_MULTI;
	attr.lc.path = (uint64_t)(uintptr_t)path;
	attr.lc.offsets = (uint64_t)(uintptr_t)offsets;
	attr.lc.cookies = (uint64_t)(uintptr_t)cookies;
	attr.lc.cnt = (uint32_t)cnt;
	attr.lc.um_flags = ret ? UPROBE_MULTI_RETURN : 0;
	attr.lc.pid = pid > 0 ? (uint32_t)pid : 0;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}
