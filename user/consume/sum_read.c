// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --summary: BPF's per-function table and the coroutine stacks left open,
 * named and merged into a struct summary. */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "consume/procs.h"
#include "consume/sum_read.h"
#include "consume/symbolize.h"
#include "utils/log.h"
#include "write/summary.h"

/* the map of an image generation: a process's, or one that was */
static struct symbolizer *sym_of_gen(struct proc_table *procs, unsigned gen)
{
	struct symbolizer *sym = procs_sym_of_gen(procs, gen);

	return sym ? sym : procs->v[0]->sym;
}

static int add_row(struct summary *s, struct proc_table *procs, uint64_t key, uint32_t tid,
		   const struct ctrace_sum_val *v)
{
	const struct func_info *fi =
		symbolize(sym_of_gen(procs, key >> CTRACE_GEN_SHIFT), key & CTRACE_ADDR_MASK);

	if (!fi->allowed) {
		s->hidden += v->calls;
		return 0;
	}
	return summary_add(s, fi->name, fi->module, tid, v);
}

static int read_sums(struct summary *s, int fd, struct proc_table *procs)
{
	struct ctrace_sum_key k, next, *prev = NULL;
	struct ctrace_sum_val v;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		if (add_row(s, procs, k.fn, k.tid, &v))
			return -ENOMEM;
	}
	return errno == ENOENT ? 0 : -errno;
}

/* the rows BPF keeps in an array (per function): struct sum_fast_row */
static int read_fast(struct summary *s, int fd, struct proc_table *procs)
{
	struct ctrace_sum_fast_row e;
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return fd < 0 ? 0 : -errno;
	for (__u32 i = 0; i < info.max_entries; i++) {
		if (bpf_map_lookup_elem(fd, &i, &e))
			return -errno;
		if (e.key && add_row(s, procs, e.key, 0, &e.v))
			return -ENOMEM;
	}
	return 0;
}

/* a suspended coroutine's open calls: each in its function's row */
static int read_rings(struct summary *s, int fd, struct proc_table *procs)
{
	static struct ctrace_sum_ring ring;
	struct ctrace_sum_val one = { .calls = 1 };
	__u32 k, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &ring))
			continue;
		for (int i = 0; i < CTRACE_SUM_DEPTH; i++) {
			if (!ring.f[i].t)
				continue;
			s->untimed[CTRACE_SUM_COROUTINE]++;
			/* the generation is the target's: coroutines are not
			 * followed across an exec */
			if (add_row(s, procs, ring.f[i].fn & CTRACE_ADDR_MASK, 0, &one))
				return -ENOMEM;
		}
	}
	return errno == ENOENT ? 0 : -errno;
}

int sum_read(struct summary *s, int sums_fd, int fast_fd, int co_fd, struct proc_table *procs)
{
	int rc = read_sums(s, sums_fd, procs);

	if (!rc)
		rc = read_fast(s, fast_fd, procs);
	if (!rc)
		rc = read_rings(s, co_fd, procs);
	if (rc)
		log_err("reading the summary from BPF: %s", strerror(-rc));
	return rc ? -1 : 0;
}
