/* After tracing stops: the compact record read back into the tree
 * builder (consume/trace.c), the same way the ring buffer fed it live, so
 * the JSON is the one the direct path writes. */
#ifndef CTRACE_REPLAY_H
#define CTRACE_REPLAY_H

struct ctrace_reader;
struct trace;

/* every record of r into tr (trace_init_replay), then tr's open calls closed
 * for reason, as at stop; tr's functions point into r, which must outlive
 * it. 0, or -1 when the record is damaged (the reason printed) */
int replay_run(struct ctrace_reader *r, struct trace *tr, const char *reason);

#endif
