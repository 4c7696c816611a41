/* Per-thread restore: kernel registrations that point into the thread's
 * memory, the syscall-restart rewrite, and the registers themselves. */
#include <elf.h>
#include <errno.h>
#include <linux/rseq.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "backend/part_capture.h"
#include "backend/syscall_restart.h"
#include "restore/part_restore.h"
#include "restore/validate.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)   /* linux/signal.h; glibc 2.36 lacks it */
#endif

int ps_restore_unregister_rseq(struct ps_rctx *c)
{
	uint64_t ptr;
	uint32_t len, sig;
	long ret;
	int e = ps_read_rseq_config(c->pid, &ptr, &len, &sig);

	if (e < 0)
		return ps_rfail(c, e, "PTRACE_GET_RSEQ_CONFIGURATION: %s", strerror(-e));
	if (!ptr)
		return 0;
	ret = ps_rcall(c, "unregistering the new process's inherited rseq area", SYS_rseq,
		       ptr, len, RSEQ_FLAG_UNREGISTER, sig, 0, 0);
	return ret < 0 ? (int)ret : 0;
}

static int restore_altstack(struct ps_rctx *c, const struct ps_thread *t)
{
	stack_t ss = { .ss_sp = (void *)t->altstack_sp, .ss_size = t->altstack_size };
	uint64_t at;
	long ret;

	/* SS_ONSTACK is a reading, not a setting: whether the thread is on
	 * the alternate stack follows from its rsp. Only SS_DISABLE and
	 * SS_AUTODISARM are flags one can set. */
	ss.ss_flags = t->altstack_flags & (SS_DISABLE | SS_AUTODISARM);
	if (ss.ss_flags & SS_DISABLE) {
		ss.ss_sp = NULL;
		ss.ss_size = 0;
	}
	at = ps_rput(c, 0, &ss, sizeof(ss));
	if (!at)
		return -EIO;
	ret = ps_rcall(c, "sigaltstack", SYS_sigaltstack, at, 0, 0, 0, 0, 0);
	return ret < 0 ? (int)ret : 0;
}

/* PR_SET_NAME names the calling thread; the main thread's name is the
 * process's comm. */
static int restore_comm(struct ps_rctx *c, const struct ps_thread *t)
{
	uint64_t at = ps_rput(c, 0, t->comm, PS_COMM_LEN);
	long ret;

	if (!at)
		return -EIO;
	ret = ps_rcall(c, "prctl(PR_SET_NAME)", SYS_prctl, PR_SET_NAME, at, 0, 0, 0, 0);
	return ret < 0 ? (int)ret : 0;
}

int ps_restore_thread_state(struct ps_rctx *c, const struct ps_thread *t)
{
	long ret = 0;
	int e = restore_comm(c, t);

	if (e == 0)
		e = restore_altstack(c, t);
	if (e < 0)
		return e;
	if (t->robust_list)
		ret = ps_rcall(c, "set_robust_list", SYS_set_robust_list, t->robust_list,
			       t->robust_list_len, 0, 0, 0, 0);
	if (ret >= 0)
		ret = ps_rcall(c, "set_tid_address", SYS_set_tid_address, t->clear_child_tid,
			       0, 0, 0, 0, 0);
	/* rseq last: from now on the kernel writes the cpu number into that
	 * area at every return to user space, so it must be mapped. */
	if (ret >= 0 && t->rseq_ptr)
		ret = ps_rcall(c, "rseq registration", SYS_rseq, t->rseq_ptr, t->rseq_len, 0,
			       t->rseq_sig, 0, 0);
	return ret < 0 ? (int)ret : 0;
}

/*
 * The kernel restarts an interrupted syscall on the thread's way back to
 * user space: with rax = -ERESTARTSYS and friends it reloads rax from
 * orig_rax and rewinds rip by 2 (the length of `syscall`). That works from
 * registers alone, so it survives a restore. -ERESTART_RESTARTBLOCK does
 * not: it calls restart_syscall(), which needs the old process's in-kernel
 * restart block. For sleeps, the kernel has already written the remaining
 * time to the caller's `rem`, so we re-issue the sleep on that; poll
 * restarts with what was left of its timeout when the thread was frozen
 * (ps_shorten_restarted_timeout), futex waits with their full timeout (a
 * longer wait is allowed, a spurious EINTR is not). Only where nothing is known does EINTR remain,
 * which every caller must handle anyway.
 */
void ps_restart_fixup(struct user_regs_struct *regs)
{
	long nr = (long)regs->orig_rax;

	if (nr < 0 || (long)regs->rax != -ERESTART_RESTARTBLOCK)
		return;
	regs->rax = (uint64_t)-ERESTARTNOINTR;
	switch (nr) {
	case SYS_nanosleep:              /* (req, rem) */
		if (regs->rsi)
			regs->rdi = regs->rsi;
		else
			regs->rax = (uint64_t)-EINTR;
		return;
	case SYS_clock_nanosleep:        /* (clock, flags, req, rem) */
		if (regs->rsi & TIMER_ABSTIME)
			return;
		if (regs->r10)
			regs->rdx = regs->r10;
		else
			regs->rax = (uint64_t)-EINTR;
		return;
	case SYS_poll:
	case SYS_futex:
		return;
	default:
		regs->rax = (uint64_t)-EINTR;
	}
}

static int set_xsave(struct ps_rctx *c, const struct ps_thread *t)
{
	struct iovec iov = { t->xsave, t->xsave_len };

	if (!t->xsave_len)
		return 0;
	if (ptrace(PTRACE_SETREGSET, t->tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return ps_rfail(c, -errno, "thread %d: loading its FPU/SSE/AVX state "
				"(PTRACE_SETREGSET NT_X86_XSTATE): %s", t->tid, strerror(errno));
	return 0;
}

static int blocked(const struct ps_thread *t, int signo)
{
	return signo >= 1 && signo <= PS_NSIG && (t->sigmask & (1ULL << (signo - 1)));
}

/* Whether t takes a signal as soon as it runs (then a wait's EINTR stays). */
static int has_deliverable_signal(const struct ps_model *m, const struct ps_thread *t)
{
	for (size_t i = 0; i < t->npending; i++)
		if (!blocked(t, t->pending[i].signo))
			return 1;
	for (size_t i = 0; i < m->signals.nshared_pending; i++)
		if (!blocked(t, m->signals.shared_pending[i].signo))
			return 1;
	return 0;
}

int ps_restore_final_regs(struct ps_rctx *c, const struct ps_thread *t)
{
	int e = set_xsave(c, t), rewound = 0;

	if (e < 0)
		return e;
	c->r.saved = t->regs;
	/* The checkpoint's own interrupt ended such a wait with EINTR. */
	if (!has_deliverable_signal(c->m, t))
		rewound = ps_restart_interrupted_wait(&c->r.saved);
	ps_restart_fixup(&c->r.saved);
	if (rewound || ps_syscall_restarts(&c->r.saved))
		ps_shorten_restarted_timeout(&c->r.saved, (long)t->regs.orig_rax, t->asleep_ns);
	c->r.saved_mask = t->sigmask;
	return ps_remote_end(&c->r, c->err, c->errlen);
}

/* One thread per tid, the main thread first. */
int ps_validate_registers(const struct ps_check *v)
{
	const struct ps_model *m = v->m;

	if (m->nthreads == 0)
		return ps_refuse(v, -EINVAL, "the image has no threads");
	for (size_t i = 1; i < m->nthreads; i++)
		for (size_t j = 0; j < i; j++)
			if (m->threads[i].tid == m->threads[j].tid)
				return ps_refuse(v, -EINVAL, "the image lists thread %d twice",
					      m->threads[i].tid);
	if (m->threads[0].tid != m->proc.pid)
		return ps_refuse(v, -EINVAL, "the image's first thread is tid %d, not the process's "
			      "pid %d", m->threads[0].tid, m->proc.pid);
	return 0;
}
