/* Restarting the waits that stop signals interrupt: signal(7) lists them;
 * without this a checkpoint would hand the program a spurious EINTR. */
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "syscall_restart.h"

static int is_stop_interrupted_wait(long nr)
{
	switch (nr) {
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
	case SYS_rt_sigtimedwait:
	case SYS_semop:
	case SYS_semtimedop:
		return 1;
	default:
		return 0;
	}
}

/*
 * These calls return -EINTR, not a restart code, when their thread is
 * stopped, so the kernel never rewinds them. Rewinding by hand: rip back
 * over the 2-byte `syscall`, rax = the syscall number again. The arguments
 * are still in their registers (the syscall ABI preserves them); a relative
 * timeout starts over, and a longer wait is allowed where EINTR was not.
 * orig_rax = -1 keeps the kernel from applying its own restart logic on top.
 */
int ps_restart_interrupted_wait(struct user_regs_struct *regs)
{
	long nr = (long)regs->orig_rax;

	if (nr < 0 || (long)regs->rax != -EINTR || !is_stop_interrupted_wait(nr))
		return 0;
	regs->rip -= 2;
	regs->rax = (uint64_t)nr;
	regs->orig_rax = (uint64_t)-1;
	return 1;
}
