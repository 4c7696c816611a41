/* Recreating process.json's per-process attributes in the stub: cwd, root,
 * umask, rlimits, personality, comm, interval timers, session and group. */
#ifndef PROCSNAP_RESTORE_PROCESS_H
#define PROCSNAP_RESTORE_PROCESS_H

#include "restore/rctx.h"

int ps_restore_process_attrs(struct ps_rctx *c);

#endif
