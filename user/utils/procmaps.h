/* /proc/PID/maps, parsed. */
#ifndef CTRACE_PROCMAPS_H
#define CTRACE_PROCMAPS_H
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

struct map_entry {
	uint64_t start, end, offset;
	uint64_t inode;
	bool exec;
	char *path; /* NULL for anonymous mappings; "[vdso]" etc. kept as is */
};

struct proc_maps {
	struct map_entry *v;
	size_t n;
};

/* 0, or -errno (ENOENT: no such process) */
int proc_maps_read(pid_t pid, struct proc_maps *out);
void proc_maps_free(struct proc_maps *m);
/* a path of a mapped file that can be opened from this mount namespace */
void proc_maps_file_path(pid_t pid, const struct map_entry *e, char *buf, size_t len);

#endif
