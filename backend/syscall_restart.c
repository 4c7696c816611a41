/* Restarting the waits that stop signals interrupt: signal(7) lists them;
 * without this a checkpoint would hand the program a spurious EINTR. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>

#include "backend/syscall_restart.h"

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
 * timeout in a register is shortened by ps_shorten_restarted_timeout, one in
 * memory starts over (a longer wait is allowed where EINTR was not).
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

int ps_syscall_restarts(const struct user_regs_struct *regs)
{
	long ret = (long)regs->rax;

	return (long)regs->orig_rax >= 0 &&
	       (ret == -ERESTARTSYS || ret == -ERESTARTNOINTR || ret == -ERESTARTNOHAND);
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * A call interrupted with -ERESTART_RESTARTBLOCK and resumed (after a
 * SIGSTOP, a debugger, an earlier snapshot) runs as restart_syscall, which
 * replays the task's in-kernel restart block: the registers say 219, not
 * which call. Only a few calls set a restart block (set_restart_fn), and
 * each sleeps in a function of its own, which wchan names: the poll and
 * futex waits theirs, the sleeps' paths are all scheduler functions, so
 * wchan shows the syscall entry or a nanosleep function. A clockid is a
 * small number, a request a pointer: that tells clock_nanosleep from
 * nanosleep.
 */
long ps_restarted_call(const char *wchan, const struct user_regs_struct *regs)
{
	if ((long)regs->orig_rax != SYS_restart_syscall)
		return -1;
	if (starts_with(wchan, "poll_schedule_timeout") || strcmp(wchan, "do_sys_poll") == 0)
		return SYS_poll;
	if (starts_with(wchan, "futex_"))
		return SYS_futex;
	if (strcmp(wchan, "do_syscall_64") == 0 || starts_with(wchan, "do_nanosleep") ||
	    starts_with(wchan, "hrtimer_nanosleep") || starts_with(wchan, "alarmtimer_do_nsleep") ||
	    starts_with(wchan, "do_cpu_nanosleep"))
		return regs->rdi < 4096 ? SYS_clock_nanosleep : SYS_nanosleep;
	return -1;
}

/*
 * poll and epoll_wait keep their timeout in milliseconds in a register and,
 * restarted from registers, would wait it whole again. What the thread had
 * already slept when it was frozen is taken off (rounded down: the wait may
 * end a little late, never early). A negative timeout waits forever, 0 not
 * at all: both stay.
 */
void ps_shorten_restarted_timeout(struct user_regs_struct *regs, long nr, uint64_t asleep_ns)
{
	long long waited = (long long)(asleep_ns / 1000000), ms;
	unsigned long long *arg;

	switch (nr) {
	case SYS_poll:                   /* (fds, nfds, timeout) */
		arg = &regs->rdx;
		break;
	case SYS_epoll_wait:             /* (epfd, events, maxevents, timeout) */
	case SYS_epoll_pwait:
		arg = &regs->r10;
		break;
	default:
		return;
	}
	ms = (int)*arg;
	if (ms <= 0 || waited <= 0)
		return;
	*arg = (unsigned long long)(unsigned int)(ms > waited ? ms - waited : 0);
}
