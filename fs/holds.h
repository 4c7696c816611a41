/* The table of held snapshots: at most one per pid, shared by every reader,
 * kept while handles are open and for the hold time after, then released. */
#ifndef PROCSNAP_HOLDS_H
#define PROCSNAP_HOLDS_H

#include <stddef.h>
#include <sys/types.h>

struct ps_snapshot;
struct ps_hold;

/* Start the reaper thread. hold_seconds: how long a snapshot outlives its
 * last user. 0 or -errno with a sentence in err. */
int ps_holds_start(double hold_seconds, char *err, size_t errlen);

/* Stop the reaper and release every snapshot, in use or not. Call only once
 * no FUSE request can run any more. */
void ps_holds_stop(void);

/* The held snapshot of pid, taking one if none is held; a concurrent caller
 * for the same pid waits for that one take and shares it. The caller owns
 * one use of *out until ps_holds_put. On failure returns -errno (-EBUSY:
 * another tracer has the process, -ESRCH: it is gone) with the backend's
 * sentence in why, which has been logged too. */
#define PS_HOLD_WHY_MAX 512
int ps_holds_get(pid_t pid, struct ps_hold **out, char *why, size_t whylen);

struct ps_snapshot *ps_hold_snapshot(const struct ps_hold *h);

/* Give back one use. The last one starts the hold time. */
void ps_holds_put(struct ps_hold *h);

/* Whether a snapshot of pid is held now and its process lives: pid was
 * then a shown process when it was taken, and is still the same one. */
int ps_holds_has_current(pid_t pid);

#endif
