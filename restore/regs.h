/* A restored thread's own state: rseq, robust list, clear_child_tid,
 * sigaltstack, then its registers, xsave area and signal mask, last. */
#ifndef PROCSNAP_RESTORE_REGS_H
#define PROCSNAP_RESTORE_REGS_H

#include <sys/user.h>

#include "restore/rctx.h"

/* The stub inherited procsnap's rseq registration: the kernel would write
 * into that area (soon unmapped) on every return to user space. */
int ps_restore_unregister_rseq(struct ps_rctx *c);

/* sigaltstack, set_robust_list, set_tid_address, rseq, run in the thread. */
int ps_restore_thread_state(struct ps_rctx *c, const struct ps_thread *t);

/* Turn an interrupted restart-block syscall (ERESTART_RESTARTBLOCK, whose
 * in-kernel restart state died with the old process) into one the kernel
 * restarts from registers alone, or into EINTR when that is impossible. */
void ps_restart_fixup(struct user_regs_struct *regs);

/* Load the thread's registers, xsave area and signal mask and park it in
 * an interrupt stop, from which the kernel restarts an interrupted syscall
 * exactly as it would have in the original process. */
int ps_restore_final_regs(struct ps_rctx *c, const struct ps_thread *t);

#endif
