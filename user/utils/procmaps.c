#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "utils/procmaps.h"

int proc_maps_read(pid_t pid, struct proc_maps *out)
{
	char path[64], *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;
	FILE *f;
	int err = 0;

	out->v = NULL;
	out->n = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0) {
		uint64_t start, end, off, inode;
		char perms[8];
		unsigned dmaj, dmin;
		int pos = 0;
		struct map_entry *e;

		if (line[len - 1] == '\n')
			line[--len] = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &start, &end, perms, &off, &dmaj, &dmin, &inode, &pos) < 7)
			continue;
		if (out->n == alloc) {
			size_t na = alloc ? alloc * 2 : 64;
			void *nv = realloc(out->v, na * sizeof(*out->v));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			out->v = nv;
			alloc = na;
		}
		e = &out->v[out->n++];
		e->start = start;
		e->end = end;
		e->offset = off;
		e->inode = inode;
		e->exec = perms[2] == 'x';
		e->path = (pos > 0 && line[pos]) ? strdup(line + pos) : NULL;
	}
	free(line);
	fclose(f);
	if (err)
		proc_maps_free(out);
	return err;
}

void proc_maps_free(struct proc_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

void proc_maps_file_path(pid_t pid, const struct map_entry *e, char *buf, size_t len)
{
	char alt[PATH_MAX + 64];
	struct stat st;
	int fd;

	/* map_files reaches the very file mapped, even when it was replaced or
	 * deleted on disk since, and across mount namespaces */
	snprintf(buf, len, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, e->start, e->end);
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return;
	}
	/* map_files needs CAP_SYS_ADMIN: without it, the path through the
	 * process's root, if it still names the same file */
	if ((errno != EPERM && errno != EACCES) || !e->path || e->path[0] != '/')
		return;
	snprintf(alt, sizeof(alt), "/proc/%d/root%s", (int)pid, e->path);
	if (!stat(alt, &st) && st.st_ino == e->inode && strlen(alt) < len)
		strcpy(buf, alt);
}
