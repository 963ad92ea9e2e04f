/* The target's map as it changes while traced (exec, dlopen, a new image's
 * start-up), and the signal handlers a crash's cause is read from. */
#ifndef CTRACE_REMAPS_H
#define CTRACE_REMAPS_H
#include <stdbool.h>
#include "attach/modules.h"

struct capture;
struct probes;
struct symbolizer;
struct trace;

/* The modules already handled, by what was done to them */
struct modsets {
	struct modset probed;	 /* call sites (or hooks) probed, jumps watched */
	struct modset planned;	 /* --args/--retval plans made */
	struct modset restorers; /* signal restorers probed */
	struct modset selected;	 /* the filter's functions selected */
};

void modsets_free(struct modsets *m);

/* each process whose map changed: probe, select and plan what is new, and
 * let it go on if it was stopped for this */
void handle_remaps(struct trace *tr, struct probes *pr, struct capture *capture,
		   struct modsets *done, bool preload);
/* the signal_deliver tracepoint and the restorers of sym's map not in done */
void watch_handlers(struct probes *pr, struct symbolizer *sym, struct modset *done);

#endif
