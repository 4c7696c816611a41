/* Recreating signals.json in the stub: every disposition with rt_sigaction,
 * and the process-wide pending queue with rt_sigqueueinfo. */
#ifndef PROCSNAP_RESTORE_SIGNALS_H
#define PROCSNAP_RESTORE_SIGNALS_H

#include "restore/rctx.h"

int ps_restore_sigactions(struct ps_rctx *c);
/* Queue the shared pending signals and each thread's own (tid = the
 * thread's, already existing). Signals are blocked while this runs. */
int ps_restore_shared_pending(struct ps_rctx *c);
int ps_restore_thread_pending(struct ps_rctx *c, const struct ps_thread *t);

#endif
