/* Per-thread spools; see tspool.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/statvfs.h>
#include "write/tspool.h"

FILE *tspool_tmpfile(int dirfd)
{
	int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0) /* a filesystem without O_TMPFILE */
		return tmpfile();
	f = fdopen(fd, "w+");
	if (!f)
		close(fd);
	return f;
}

int tspool_open(struct tspool *sp, int dirfd)
{
	memset(sp, 0, sizeof(*sp));
	sp->f = tspool_tmpfile(dirfd);
	return sp->f ? 0 : -(errno ? errno : ENOMEM);
}

/* A file that failed: stdio keeps no errno, so flush once more, and when
 * that says nothing either, a full filesystem is still worth naming. */
static int file_errno(FILE *s)
{
	struct statvfs v;

	clearerr(s);
	errno = 0;
	if (fflush(s) && errno)
		return errno;
	if (!fstatvfs(fileno(s), &v) && (!v.f_bavail || !v.f_bfree))
		return ENOSPC;
	return EIO;
}

static int append(FILE *from, FILE *archive, uint64_t *len)
{
	char buf[1 << 16];
	size_t n;

	rewind(from);
	while ((n = fread(buf, 1, sizeof(buf), from)) > 0) {
		if (fwrite(buf, 1, n, archive) != n)
			return -file_errno(archive);
		*len += n;
	}
	return ferror(from) ? -EIO : 0;
}

int tspool_archive(struct tspool *sp, FILE **archive, int dirfd)
{
	off_t off;
	int rc;

	/* no archive: the thread keeps its file open */
	if (!*archive && !(*archive = tspool_tmpfile(dirfd)))
		return 0;
	if (!sp->f)
		return 0;
	if (fflush(sp->f) || ferror(sp->f))
		return -file_errno(sp->f);
	if (fseeko(*archive, 0, SEEK_END) || (off = ftello(*archive)) < 0)
		return -file_errno(*archive);
	sp->len = 0;
	rc = append(sp->f, *archive, &sp->len);
	if (rc)
		return rc;
	fclose(sp->f);
	sp->f = NULL;
	sp->archive = *archive;
	sp->off = (uint64_t)off;
	return 0;
}

FILE *tspool_rewind(struct tspool *sp, uint64_t *len)
{
	FILE *f = sp->f ? sp->f : sp->archive;
	off_t end;

	if (!f || fflush(f) || ferror(f))
		return NULL;
	if (sp->f) {
		if (fseeko(f, 0, SEEK_END) || (end = ftello(f)) < 0 || fseeko(f, 0, SEEK_SET))
			return NULL;
		*len = (uint64_t)end;
		return f;
	}
	if (fseeko(f, (off_t)sp->off, SEEK_SET))
		return NULL;
	*len = sp->len;
	return f;
}

int tspool_copy(struct tspool *sp, FILE *out)
{
	char buf[1 << 16];
	uint64_t left;
	FILE *f = tspool_rewind(sp, &left);
	size_t n;

	if (!f)
		return -EIO;
	while (left && (n = fread(buf, 1, left < sizeof(buf) ? left : sizeof(buf), f)) > 0) {
		if (fwrite(buf, 1, n, out) != n)
			return -(errno ? errno : EIO);
		left -= n;
	}
	return left ? -EIO : 0;
}

int tspool_error(const struct tspool *sp)
{
	FILE *f = sp->f ? sp->f : sp->archive;

	return f && ferror(f) ? file_errno(f) : 0;
}

void tspool_close(struct tspool *sp)
{
	if (sp->f)
		fclose(sp->f);
	memset(sp, 0, sizeof(*sp));
}
