/* Capture of one stopped thread's own state: registers, xsave area, signal
 * mask and pending signals, rseq and robust list. Tracer thread only. */
#ifndef PROCSNAP_REGS_H
#define PROCSNAP_REGS_H

#include "image/model.h"

/* Fill everything of t that ptrace and /proc give; altstack and
 * clear_child_tid need a remote syscall and are filled by the caller.
 * own_regs, if not NULL, are the registers to save instead of the ones the
 * thread has now (the freeze rewound a wait in it). */
int ps_capture_thread(pid_t pid, pid_t tid, const struct user_regs_struct *own_regs,
		      struct ps_thread *t, char *err, size_t errlen);

/* Read a pending-signal queue with PTRACE_PEEKSIGINFO: the thread's own
 * (shared = 0) or the process-wide one (shared = 1), without dequeuing. */
int ps_peek_pending(pid_t tid, int shared, struct ps_siginfo **out, size_t *n,
		    char *err, size_t errlen);

/* The thread's rseq registration (PTRACE_GET_RSEQ_CONFIGURATION): area,
 * length and signature; ptr 0 when none. 0 or -errno. */
int ps_read_rseq_config(pid_t tid, uint64_t *ptr, uint32_t *len, uint32_t *sig);

#endif
