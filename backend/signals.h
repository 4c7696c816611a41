/* Capture of signals.json: every signal's disposition, read inside the target
 * with remote rt_sigaction calls, and the process-wide pending queue. */
#ifndef PROCSNAP_SIGNALS_H
#define PROCSNAP_SIGNALS_H

#include "image/model.h"
#include "backend/remote_syscall.h"

/* scratch: the address of at least 2 KiB of writable memory in the target. */
int ps_capture_sigactions(struct ps_remote *r, uint64_t scratch, struct ps_signals *s,
			  char *err, size_t errlen);

int ps_capture_shared_pending(pid_t tid, struct ps_signals *s, char *err, size_t errlen);

#endif
