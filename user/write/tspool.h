/* A thread's nodes, written aside while it runs: an unlinked temporary file
 * per live thread, whose bytes move to one archive file (shared by every
 * ended thread) when the thread ends, so open files stay bounded by the live
 * threads. The JSON and node-spool sinks both keep their nodes so. */
#ifndef CTRACE_TSPOOL_H
#define CTRACE_TSPOOL_H
#include <stdint.h>
#include <stdio.h>

struct tspool {
	FILE *f;       /* the live thread's file; NULL once archived */
	FILE *archive; /* then its bytes are [off, off + len) of this */
	uint64_t off, len;
};

/* an unlinked file in dirfd (or tmpfile() without O_TMPFILE); NULL: errno */
FILE *tspool_tmpfile(int dirfd);
/* 0, or -errno */
int tspool_open(struct tspool *sp, int dirfd);
/* the bytes to the end of *archive (created in dirfd when NULL), the
 * thread's file closed. 0 or -errno (the file is kept then) */
int tspool_archive(struct tspool *sp, FILE **archive, int dirfd);
/* positioned at the first byte to read, with how many there are; NULL: -EIO */
FILE *tspool_rewind(struct tspool *sp, uint64_t *len);
/* every byte to out. 0 or -errno */
int tspool_copy(struct tspool *sp, FILE *out);
/* the first write error, as an errno; 0: none */
int tspool_error(const struct tspool *sp);
void tspool_close(struct tspool *sp);

#endif
