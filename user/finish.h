/* The write-out phases of a tracing run, once tracing stopped. */
#ifndef CTRACE_FINISH_H
#define CTRACE_FINISH_H

struct session;
struct trace;

/* tr's nodes go through --min-duration / --keep-if, when given */
void finish_filter_sink(struct session *s, struct trace *tr);
/* the same, as flight_snapshot calls it (session: a struct session) */
void finish_filter_wrap(void *session, struct trace *tr);

/* The trees from the compact record, now that it is complete */
int finish_replay(struct session *s, const char *reason);
/* The trace under the output's name, its --format view and the summary;
 * -1 when no trace was left (the reason printed) */
int finish_write(struct session *s);
/* the run's part of the metadata (options, target), for any write-out */
void finish_run_info(struct session *s);
/* --last: the windows as they are now, as the SIGUSR1 snapshot OUT.K.EXT
 * (lost: BPF's count of lost events so far). 0, or -1 (said) */
int finish_snapshot(struct session *s, uint64_t lost);

#endif
