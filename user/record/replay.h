/* After tracing stops: the compact record read back into the tree
 * builder (consume/trace.c), the same way the ring buffer fed it live, so
 * the JSON is the one the direct path writes. */
#ifndef CTRACE_REPLAY_H
#define CTRACE_REPLAY_H

struct ctrace_model;
struct ctrace_reader;
struct trace;

/* the TEXT records (a .ctrace result's JSON parts), kept when asked */
struct replay_texts {
	char *metadata, *crash;
	char **tails; /* by thread index */
	size_t ntails;
};
void replay_texts_free(struct replay_texts *t);

/* every record of r into tr (trace_init_replay), then tr's open calls closed
 * for reason, as at stop; texts (or NULL) gets the TEXT records; model (or
 * NULL: tr's capture is the live one) the plans and types (offline, its
 * capture is tr's). tr's functions point into r, which must outlive it.
 * 0, or -1 when the record is damaged, with how in err */
int replay_run(struct ctrace_reader *r, struct trace *tr, const char *reason,
	       struct replay_texts *texts, struct ctrace_model *model, char *err, size_t errlen);

#endif
