/* Part of the preloaded hooks library: keeps forked children alive.
 *
 * Linux 6.18 turns a uprobe on a 5-byte NOP into a call to a trampoline
 * page it maps into the process. fork() copies the patched code but not the
 * trampoline page, so a child that reaches a hook jumps into nothing and
 * dies of SIGSEGV (seen here with every forked child of a traced program).
 * The child handler below maps the hooks' code afresh from the file before
 * fork() returns in the child: the kernel then installs the probes the
 * child should have (none unless it is traced, --follow-forks) from the
 * start, as for any new mapping of a probed file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void __cyg_profile_func_enter(void *fn, void *site);

static char lib_path[4096];
static uintptr_t text_start, text_len, text_off;

static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t want = (uintptr_t)arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr, page = (uintptr_t)getpagesize();

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || want < start ||
		    want >= start + ph->p_memsz)
			continue;
		if (!info->dlpi_name || strlen(info->dlpi_name) >= sizeof(lib_path))
			return 1;
		strcpy(lib_path, info->dlpi_name);
		text_start = start & ~(page - 1);
		text_off = ph->p_offset & ~(page - 1);
		text_len = (start + ph->p_memsz + page - 1 - text_start) & ~(page - 1);
		return 1;
	}
	return 0;
}

__attribute__((no_instrument_function)) static void remap_hooks(void)
{
	int fd;

	if (!text_len)
		return;
	fd = open(lib_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* the same bytes at the same place: this code returns into its copy */
	mmap((void *)text_start, text_len, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd,
	     (off_t)text_off);
	close(fd);
}

__attribute__((constructor, no_instrument_function)) static void fork_fixup_init(void)
{
	dl_iterate_phdr(find_text, (void *)(uintptr_t)&__cyg_profile_func_enter);
	if (text_len)
		pthread_atfork(NULL, NULL, remap_hooks);
}
