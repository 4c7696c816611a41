/* Waits that the kernel ends with EINTR when their thread is merely stopped
 * (by SIGSTOP, or by our PTRACE_INTERRUPT), and how to restart them instead. */
#ifndef PROCSNAP_SYSCALL_RESTART_H
#define PROCSNAP_SYSCALL_RESTART_H

#include <stdint.h>
#include <sys/user.h>

/* If regs are those of a thread stopped on its way out of epoll_wait,
 * epoll_pwait(2), rt_sigtimedwait, semop or semtimedop with -EINTR, rewind
 * them so that the call is made again (with its full timeout) and return
 * 1; else leave them and return 0. The caller must know that no signal
 * handler is about to run: then EINTR is the right answer. */
int ps_restart_interrupted_wait(struct user_regs_struct *regs);

/* The kernel's restart codes (include/linux/errno.h, not exported). */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

/* regs leave a syscall that the kernel will make again from registers. */
int ps_syscall_restarts(const struct user_regs_struct *regs);

/* The syscall a thread stopped inside restart_syscall (orig_rax 219) is
 * resuming, told by its wchan as read before it was interrupted and by its
 * argument registers (which restart_syscall leaves as the call had them):
 * SYS_poll, SYS_futex, SYS_nanosleep or SYS_clock_nanosleep; -1 when regs
 * are not in restart_syscall or the wchan names none of them. */
long ps_restarted_call(const char *wchan, const struct user_regs_struct *regs);

/* Take asleep_ns, what the thread had waited before it was frozen, off
 * the timeout of poll or epoll_wait(2) (syscall nr) about to be made again. */
void ps_shorten_restarted_timeout(struct user_regs_struct *regs, long nr, uint64_t asleep_ns);

#endif
