/* The write-out phases of a tracing run, once tracing stopped. */
#ifndef CTRACE_FINISH_H
#define CTRACE_FINISH_H

struct session;
struct trace;

/* tr's nodes go through --min-duration / --keep-if, when given */
void finish_filter_sink(struct session *s, struct trace *tr);

/* The trees from the compact record, now that it is complete */
int finish_replay(struct session *s, const char *reason);
/* The trace under the output's name, its --format view and the summary;
 * -1 when no trace was left (the reason printed) */
int finish_write(struct session *s);

#endif
