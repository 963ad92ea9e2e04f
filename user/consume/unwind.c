#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elfutils/libdwfl.h>
#include "ctrace.h"
#include "utils/demangle.h"
#include "find/elf_image.h"
#include "utils/log.h"
#include "consume/symbolize.h"
#include "consume/unwind.h"

#define MAX_FRAMES 64

struct ctx {
	pid_t tid;
	const struct ctrace_crash_rec *rec;
	const struct module *mods;
	size_t nmods;
	struct bt_frame *frames;
	size_t n;
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct ctx *c = arg;

	(void)dwfl;
	if (*thread_argp)
		return 0;
	*thread_argp = c;
	return c->tid;
}

/* only the stack copy is memory we have: the process may be gone */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct ctx *c = arg;
	uint64_t sp = c->rec->regs[CTRACE_REG_RSP], len = c->rec->stack_len;

	/* the record says how much it holds; never more than it can */
	if (len > CTRACE_STACK_MAX)
		len = CTRACE_STACK_MAX;
	(void)dwfl;
	if (addr < sp || addr - sp > len || len - (addr - sp) < sizeof(*result))
		return false;
	memcpy(result, c->rec->stack + (addr - sp), sizeof(*result));
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct ctx *c = arg;
	Dwarf_Word regs[CTRACE_DWARF_NREGS];

	/* the record's order is the DWARF numbering: rax..r15, then the
	 * return address column */
	for (int i = 0; i < CTRACE_DWARF_NREGS; i++)
		regs[i] = c->rec->regs[i];
	return dwfl_thread_state_registers(thread, 0, CTRACE_DWARF_NREGS, regs);
}

static const char *module_name(const struct ctx *c, uint64_t pc)
{
	for (size_t i = 0; i < c->nmods; i++)
		if (pc >= c->mods[i].start && pc < c->mods[i].end)
			return c->mods[i].name;
	return NULL;
}

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct ctx *c = arg;
	Dwarf_Addr pc, lookup;
	bool activation;
	struct bt_frame *f;
	Dwfl_Module *mod;
	const char *name, *file;
	GElf_Off off = 0;
	GElf_Sym sym;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	f = &c->frames[c->n++];
	memset(f, 0, sizeof(*f));
	f->pc = pc;
	/* a return address points after the call: look up the call itself */
	lookup = activation ? pc : pc - 1;
	f->module = module_name(c, lookup);
	mod = dwfl_addrmodule(dwfl_thread_dwfl(dwfl_frame_thread(state)), lookup);
	if (mod) {
		name = dwfl_module_addrinfo(mod, lookup, &off, &sym, NULL, NULL, NULL);
		if (name) {
			/* "__libc_start_main@@GLIBC_2.34": the version is not the name */
			char *base = strndup(name, strcspn(name, "@"));
			f->function = base ? demangle(base) : NULL;
			free(base);
			f->offset = pc - (lookup - off);
		}
		Dwfl_Line *line = dwfl_module_getsrc(mod, lookup);
		if (line && (file = dwfl_lineinfo(line, NULL, &f->line, NULL, NULL, NULL)))
			f->file = strdup(file);
	}
	return c->n < MAX_FRAMES ? DWARF_CB_OK : DWARF_CB_ABORT;
}

static const Dwfl_Callbacks dwfl_cb = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static const Dwfl_Thread_Callbacks thread_cb = {
	.next_thread = next_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

int unwind_crash(pid_t pid, const struct ctrace_crash_rec *rec, const struct module *mods,
		 size_t nmods, struct bt_frame **out, size_t *n)
{
	struct ctx c = { .tid = rec->tid, .rec = rec, .mods = mods, .nmods = nmods };
	Dwfl *dwfl = dwfl_begin(&dwfl_cb);
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (!dwfl)
		return -1;
	c.frames = calloc(MAX_FRAMES, sizeof(*c.frames));
	if (!c.frames)
		goto out;
	dwfl_report_begin(dwfl);
	for (size_t i = 0; i < nmods; i++) {
		const struct module *m = &mods[i];
		uint64_t vaddr;
		bool seen = false;
		int fd;

		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(mods[j].path, m->path);
		if (seen || !m->img || elf_offset_to_vaddr(m->img, m->offset, &vaddr))
			continue;
		/* dwfl owns the descriptor it is given */
		fd = dup(m->img->fd);
		if (fd < 0)
			continue;
		if (!dwfl_report_elf(dwfl, m->name, m->path, fd,
				     m->img->e_type == ET_DYN ? m->start - vaddr : 0, false))
			close(fd);
	}
	dwfl_report_end(dwfl, NULL, NULL);
	if (!dwfl_attach_state(dwfl, NULL, pid, &thread_cb, &c)) {
		log_dbg("backtrace: %s", dwfl_errmsg(-1));
		goto out;
	}
	/* an unwinder stops where CFI ends: what it found so far is the answer */
	if (dwfl_getthread_frames(dwfl, c.tid, on_frame, &c) && !c.n)
		log_dbg("backtrace: %s", dwfl_errmsg(-1));
	rc = 0;
out:
	dwfl_end(dwfl);
	if (rc) {
		unwind_free(c.frames, c.n);
		return rc;
	}
	*out = c.frames;
	*n = c.n;
	return 0;
}

void unwind_free(struct bt_frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].function);
		free(f[i].file);
	}
	free(f);
}
