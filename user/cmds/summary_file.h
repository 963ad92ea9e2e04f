/* A trace file written with --summary: no call trees, a "summary" array. */
#ifndef CTRACE_SUMMARY_FILE_H
#define CTRACE_SUMMARY_FILE_H
#include <stddef.h>

struct summary;

/* 1 when path is not a summary file (or cannot be opened: its reader says
 * why), 0 with s filled, -1 with err set */
int summary_file_read(const char *path, struct summary *s, char *err, size_t errlen);

#endif
