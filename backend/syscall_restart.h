/* Waits that the kernel ends with EINTR when their thread is merely stopped
 * (by SIGSTOP, or by our PTRACE_INTERRUPT), and how to restart them instead. */
#ifndef PROCSNAP_SYSCALL_RESTART_H
#define PROCSNAP_SYSCALL_RESTART_H

#include <sys/user.h>

/* If regs are those of a thread stopped on its way out of epoll_wait,
 * epoll_pwait(2), rt_sigtimedwait, semop or semtimedop with -EINTR, rewind
 * them so that the call is made again (with its full timeout) and return
 * 1; else leave them and return 0. The caller must know that no signal
 * handler is about to run: then EINTR is the right answer. */
int ps_restart_interrupted_wait(struct user_regs_struct *regs);

#endif
