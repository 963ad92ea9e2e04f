/* The flight recorder (--last N): each live tree keeps the raw call events
 * of its last N calls in a ring, in memory; a snapshot rebuilds ordinary
 * trees from the rings with a fresh builder, for the ordinary writers.
 *
 * The live trace still builds its trees (with the flight sink, which writes
 * nothing): that keeps the process table, the thread names, the exact call
 * stacks of crash reports and why each thread's last calls never returned.
 * Memory is bounded by N calls per thread, plus the exits and return values
 * of calls whose entry left the window (at most the call depth).
 *
 * A window that lost its oldest calls starts at an entry: the calls whose
 * entry it does not hold (its ancestors) are partial, "entry not observed
 * (before the --last window)"; calls still running at a SIGUSR1 snapshot
 * are "exit not observed (still running at the snapshot)". */
#ifndef CTRACE_FLIGHT_H
#define CTRACE_FLIGHT_H
#include <stdbool.h>
#include <stdint.h>

struct trace;

#define FLIGHT_BEFORE  "entry not observed (before the --last window)"
#define FLIGHT_RUNNING "exit not observed (still running at the snapshot)"

/* the live trace keeps each tree's last n calls from now on (before its
 * first event). 0, or -ENOMEM */
int flight_start(struct trace *live, uint32_t n);
/* snap: a trace of live's windows, every tree closed. final: tracing has
 * stopped (every tree's open calls say why, as live's did); else the calls
 * still running say FLIGHT_RUNNING. live's crash log is lent to snap, its
 * notes pointing at snap's trees, until flight_release. wrap (may be NULL)
 * gets snap before its first node: the filters of what is written. 0 or -errno */
int flight_snapshot(struct trace *snap, struct trace *live, bool final,
		    void (*wrap)(void *ctx, struct trace *snap), void *ctx);
/* snap freed, the crash log given back to live */
void flight_release(struct trace *snap, struct trace *live);

#endif
