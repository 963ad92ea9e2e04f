/* The compact trace's writer: ring-buffer records appended as they come,
 * through a buffer, to a file (doc/ctrace-format.md). The drain loop's only
 * per-event work besides the process table. */
#ifndef CTRACE_WRITE_H
#define CTRACE_WRITE_H
#include <stddef.h>
#include <stdint.h>
#include "record/ctrace_format.h"

struct ctrace_writer;
struct func_info;

/* writes the header to fd (which stays the caller's); NULL: out of memory */
struct ctrace_writer *ctw_new(int fd, const struct ctrace_file_hdr *h);
/* fn's id in the trace: defined by a FUNC record the first time */
uint32_t ctw_func(struct ctrace_writer *w, struct func_info *fn);
/* a record of the main ring buffer; fn: its function's id (0: none) */
void ctw_event(struct ctrace_writer *w, const void *data, size_t size, uint32_t fn);
/* --srcline: the next ENTER's call site (NULL: none known) */
struct call_site_info;
void ctw_site(struct ctrace_writer *w, struct call_site_info *si);
/* a record of the crash ring buffer */
void ctw_crash(struct ctrace_writer *w, const void *data, size_t size);
/* at stop: a live thread's name, BPF's loss count of a thread */
void ctw_name(struct ctrace_writer *w, uint32_t tid, const char *comm);
void ctw_lost(struct ctrace_writer *w, uint32_t tid, uint64_t n);
/* JSON rendered at stop (CT_TEXT_*) */
void ctw_text(struct ctrace_writer *w, unsigned what, uint64_t key, const char *s, size_t len);
void ctw_end(struct ctrace_writer *w);
/* an EXT record (version 2; ctrace_model.h writes them) */
void ctw_ext(struct ctrace_writer *w, unsigned sub, const void *body, size_t len);
struct model_enc **ctw_model_enc(struct ctrace_writer *w);
/* the capture plans have changed n times so far */
void ctw_mark(struct ctrace_writer *w, uint64_t n);
/* write out what is buffered: 0, or the first error (an errno) */
int ctw_flush(struct ctrace_writer *w);
/* the first write error (an errno), 0 while all is well */
int ctw_error(const struct ctrace_writer *w);
uint64_t ctw_bytes(const struct ctrace_writer *w);
uint64_t ctw_calls(const struct ctrace_writer *w);
void ctw_free(struct ctrace_writer *w);

#endif
