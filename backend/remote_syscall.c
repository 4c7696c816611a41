/* Remote syscalls: the thread's registers are pointed at an existing
 * `syscall` instruction and driven through one syscall with PTRACE_SYSCALL. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "backend/fault_point.h"
#include "backend/freeze.h"
#include "backend/remote_syscall.h"

static int take_state(struct ps_remote *r, pid_t tid, uint64_t syscall_insn, char *err,
		      size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->tid = tid;
	r->syscall_insn = syscall_insn;
	if (ptrace(PTRACE_GETREGS, tid, 0, &r->saved) == 0 &&
	    ptrace(PTRACE_GETSIGMASK, tid, sizeof(r->saved_mask), &r->saved_mask) == 0)
		return 0;
	snprintf(err, errlen, "thread %d: preparing a remote syscall: %s", tid, strerror(errno));
	return -errno;
}

int ps_remote_begin(struct ps_remote *r, pid_t tid, uint64_t syscall_insn,
		    char *err, size_t errlen)
{
	return take_state(r, tid, syscall_insn, err, errlen);
}

/*
 * The first call under a net fills the frame's alternate stack with the
 * thread's own (sigaltstack(NULL, &uc_stack)): rt_sigreturn sets the
 * alternate stack from the frame, and only the thread can tell what it is.
 * Until that call has run, the return path cannot be taken: it starts
 * after a syscall, and this is the first one.
 */
static int fill_frame_altstack(struct ps_remote *r, char *err, size_t errlen)
{
	uint64_t args[6] = { 0, r->net.uc_stack, 0, 0, 0, 0 };
	long ret;
	int e = ps_remote_syscall(r, SYS_sigaltstack, args, &ret, err, errlen);

	if (e == 0 && ret < 0) {
		snprintf(err, errlen, "thread %d: sigaltstack: %s", r->tid, strerror((int)-ret));
		e = (int)ret;
	}
	return e;
}

int ps_remote_begin_safe(struct ps_remote *r, pid_t pid, pid_t tid, const struct ps_gadgets *g,
			 char *why, size_t whylen, char *err, size_t errlen)
{
	int e = take_state(r, tid, g->syscall_insn, err, errlen);

	why[0] = '\0';
	if (e < 0)
		return e;
	if (ps_net_lay(pid, tid, g, &r->saved, r->saved_mask, &r->net, why, whylen) < 0)
		return 0;
	r->syscall_insn = g->syscall_ret;
	ps_fault_point("net-laid");
	e = fill_frame_altstack(r, err, errlen);
	if (e < 0) {
		char err2[128];

		ps_remote_end(r, err2, sizeof(err2));
	}
	return e;
}

uint64_t ps_remote_scratch(const struct ps_remote *r)
{
	return r->net.rsp ? r->net.scratch : 0;
}

/* Resume with PTRACE_SYSCALL and wait for the next syscall-stop. */
static int step_to_syscall_stop(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
		return -errno;
	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80))
			return 0;
		/* All signals are blocked while the thread is borrowed, so a
		 * signal-delivery-stop here can only be one the kernel forces;
		 * pass it on rather than lose it. */
		if (WIFSTOPPED(status) && !(status >> 16)) {
			if (ptrace(PTRACE_SYSCALL, tid, 0, (void *)(long)WSTOPSIG(status)) < 0)
				return -errno;
			continue;
		}
		if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
			return -errno;
	}
}

/* Block every signal while the thread runs our syscalls: a signal already
 * pending would otherwise be dequeued on the first resume and its handler
 * would run on borrowed registers. It stays pending. Done once the
 * borrowed registers are in place: should procsnap die in between, the
 * net's frame (or, without a net, nothing) gives the thread its own mask
 * back, and a thread with its own registers must not be left masked. */
static int block_signals(struct ps_remote *r)
{
	uint64_t all = ~0ULL;

	if (r->masked)
		return 0;
	if (ptrace(PTRACE_SETSIGMASK, r->tid, sizeof(all), &all) < 0)
		return -errno;
	r->masked = 1;
	return 0;
}

static void borrowed_regs(const struct ps_remote *r, long nr, const uint64_t args[6],
			  struct user_regs_struct *regs)
{
	*regs = r->saved;
	regs->rip = r->syscall_insn;
	if (r->net.rsp)
		regs->rsp = r->net.rsp;
	regs->rax = (uint64_t)nr;
	/* orig_rax = -1 tells the kernel the thread is not inside a syscall,
	 * so it does not apply restart rewinding to the registers we set. */
	regs->orig_rax = (uint64_t)-1;
	regs->rdi = args[0];
	regs->rsi = args[1];
	regs->rdx = args[2];
	regs->r10 = args[3];
	regs->r8 = args[4];
	regs->r9 = args[5];
}

int ps_remote_syscall(struct ps_remote *r, long nr, const uint64_t args[6], long *ret,
		      char *err, size_t errlen)
{
	struct user_regs_struct regs;
	int e = 0;

	borrowed_regs(r, nr, args, &regs);
	if (ptrace(PTRACE_SETREGS, r->tid, 0, &regs) < 0)
		e = -errno;
	if (e == 0) {
		r->borrowed = 1;
		ps_fault_point("remote-set");
		e = block_signals(r);
	}
	if (e == 0)
		e = step_to_syscall_stop(r->tid);          /* entry */
	if (e == 0) {
		ps_fault_point("remote-entry");
		e = step_to_syscall_stop(r->tid);          /* exit */
	}
	if (e == 0 && ptrace(PTRACE_GETREGS, r->tid, 0, &regs) < 0)
		e = -errno;
	if (e < 0) {
		snprintf(err, errlen, "thread %d: remote syscall %ld: %s", r->tid, nr, strerror(-e));
		return e;
	}
	ps_fault_point("remote-exit");
	*ret = (long)regs.rax;
	return 0;
}

/*
 * After a remote syscall the thread sits in a syscall-exit-stop. Had we
 * detached from there with its own registers back, a syscall it had been
 * interrupted in would return -ERESTARTSYS to the program: the kernel only
 * rewinds a restartable syscall on its way out of a signal check. So we
 * interrupt it again and let it run to that check, where it traps into the
 * same kind of stop as the freeze left it in, registers untouched. (Should
 * procsnap die in between, the kernel's ptrace unlink sets TIF_SIGPENDING
 * on the thread, so it passes that check all the same.)
 *
 * The mask goes back before the registers: with borrowed registers a death
 * of procsnap takes the net's path, which restores the mask too, but with
 * its own registers the thread would run on with every signal blocked.
 */
int ps_remote_end(struct ps_remote *r, char *err, size_t errlen)
{
	int e = 0;

	if (r->masked &&
	    ptrace(PTRACE_SETSIGMASK, r->tid, sizeof(r->saved_mask), &r->saved_mask) < 0)
		e = -errno;
	r->masked = 0;
	ps_fault_point("end-mask");
	if (r->borrowed && ptrace(PTRACE_SETREGS, r->tid, 0, &r->saved) < 0 && !e)
		e = -errno;
	ps_fault_point("end-regs");
	if (ps_net_remove(r->tid, &r->net) < 0 && !e)
		e = -EFAULT;
	if (r->borrowed && e == 0 && ptrace(PTRACE_INTERRUPT, r->tid, 0, 0) < 0)
		e = -errno;
	if (r->borrowed && e == 0 && ptrace(PTRACE_CONT, r->tid, 0, 0) < 0)
		e = -errno;
	if (r->borrowed && e == 0)
		e = ps_wait_interrupt_stop(r->tid);
	r->borrowed = 0;
	if (e < 0)
		snprintf(err, errlen, "thread %d: putting its registers back: %s",
			 r->tid, strerror(-e));
	return e;
}
