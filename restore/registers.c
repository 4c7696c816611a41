/* Per-thread restore: kernel registrations that point into the thread's
 * memory, the syscall-restart rewrite, and the registers themselves. */
#include <elf.h>
#include <errno.h>
#include <linux/rseq.h>
#include <signal.h>
#include <stdint.h>
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
 * not: it calls restart_syscall(), which runs the old task's in-kernel
 * restart block (a new task has none). The calls that end so, each
 * re-entered here for what was left of its time (the kernel's
 * set_restart_fn() callers on x86_64):
 *  - nanosleep and relative clock_nanosleep: on the remaining time the
 *    kernel wrote to rem, or, with no rem (glibc's usleep), on the request
 *    less what the thread had slept, written below its red zone;
 *  - futex FUTEX_WAIT with a timeout (relative): likewise, below the red
 *    zone; FUTEX_WAIT_BITSET and futex_wait(2) wait for an absolute time,
 *    which holds as it is (restore_timens keeps CLOCK_MONOTONIC as it was);
 *  - poll: its timeout (ms, in a register) is shortened by
 *    ps_shorten_restarted_timeout.
 * An absolute clock_nanosleep never ends with it (the kernel restarts it
 * with -ERESTARTNOHAND) but would hold as it is too.
 */
#ifndef SYS_futex_wait
#define SYS_futex_wait 455          /* Linux 6.7; older headers lack it */
#endif
#define FUTEX_CMD_MASK_ 0x7f        /* op without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME */
#define FUTEX_WAIT_ 0
#define RED_ZONE 128                /* the x86_64 ABI's, below rsp */

/* CPU-time clocks (CLOCK_PROCESS_CPUTIME_ID, or a negative clockid made
 * from a pid) do not run while the thread sleeps: asleep_ns says nothing
 * of them. */
static int is_cpu_clock(uint64_t clockid)
{
	int id = (int)clockid;

	return id < 0 || id == CLOCK_PROCESS_CPUTIME_ID || id == CLOCK_THREAD_CPUTIME_ID;
}

uint64_t ps_restart_timeout_arg(const struct user_regs_struct *regs)
{
	if ((long)regs->rax != -ERESTART_RESTARTBLOCK)
		return 0;
	switch ((long)regs->orig_rax) {
	case SYS_nanosleep:              /* (req, rem) */
		return regs->rsi ? 0 : regs->rdi;
	case SYS_clock_nanosleep:        /* (clock, flags, req, rem) */
		if ((regs->rsi & TIMER_ABSTIME) || regs->r10 || is_cpu_clock(regs->rdi))
			return 0;
		return regs->rdx;
	case SYS_futex:                  /* (uaddr, op, val, timeout, ...) */
		return (regs->rsi & FUTEX_CMD_MASK_) == FUTEX_WAIT_ ? regs->r10 : 0;
	default:
		return 0;
	}
}

/* timeout less asleep_ns, never below zero; an invalid timeout is kept
 * for the kernel to refuse as it did the first time. */
static struct timespec time_left(const struct timespec *timeout, uint64_t asleep_ns)
{
	struct timespec t = *timeout;
	int64_t ns;

	if (t.tv_sec < 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000L)
		return t;
	if ((uint64_t)t.tv_sec > INT64_MAX / 1000000000LL - 1)
		return t;
	ns = (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
	ns = asleep_ns >= (uint64_t)ns ? 0 : ns - (int64_t)asleep_ns;
	t.tv_sec = ns / 1000000000LL;
	t.tv_nsec = ns % 1000000000LL;
	return t;
}

/* The time left goes below the red zone, 16-byte aligned: the space a
 * signal frame would take, which the program cannot count on keeping. */
static uint64_t put_time_left(const struct user_regs_struct *regs, const struct timespec *timeout,
			      uint64_t asleep_ns, struct ps_restart_time *w)
{
	w->left = time_left(timeout, asleep_ns);
	w->at = (regs->rsp - RED_ZONE - sizeof(w->left)) & ~(uint64_t)15;
	return w->at;
}

void ps_restart_fixup(struct user_regs_struct *regs, const struct timespec *timeout,
		      uint64_t asleep_ns, int signal_due, struct ps_restart_time *w)
{
	long nr = (long)regs->orig_rax;

	w->at = 0;
	if (nr < 0 || (long)regs->rax != -ERESTART_RESTARTBLOCK)
		return;
	/* A handler about to run ends a restart-block call with EINTR
	 * (the kernel's handle_signal() does the same). */
	regs->rax = (uint64_t)(signal_due ? -EINTR : -ERESTARTNOINTR);
	if (signal_due)
		return;
	switch (nr) {
	case SYS_nanosleep:
		if (regs->rsi)
			regs->rdi = regs->rsi;
		else if (timeout)
			regs->rdi = put_time_left(regs, timeout, asleep_ns, w);
		return;
	case SYS_clock_nanosleep:
		if (regs->rsi & TIMER_ABSTIME)
			return;
		if (regs->r10)
			regs->rdx = regs->r10;
		else if (timeout)
			regs->rdx = put_time_left(regs, timeout, asleep_ns, w);
		return;
	case SYS_futex:
		if (timeout)
			regs->r10 = put_time_left(regs, timeout, asleep_ns, w);
		return;
	case SYS_futex_wait:
	case SYS_poll:
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

/* Where a restart-block sleep's time left must be in memory, it is
 * written into the thread's stack before the thread runs again. */
static int restart_sleep(struct ps_rctx *c, const struct ps_thread *t, int signal_due)
{
	uint64_t arg = ps_restart_timeout_arg(&c->r.saved);
	struct ps_restart_time w;
	struct timespec timeout;
	struct iovec local = { &w.left, sizeof(w.left) }, remote;

	if (arg && ps_rget(c, arg, &timeout, sizeof(timeout)) < 0)
		return ps_rfail(c, -EIO, "thread %d: reading the timeout of its interrupted syscall %lld "
				"at 0x%llx: %s", t->tid, (long long)t->regs.orig_rax,
				(unsigned long long)arg, strerror(EIO));
	ps_restart_fixup(&c->r.saved, arg ? &timeout : NULL, t->asleep_ns, signal_due, &w);
	/* A restart-block call of no kind above cannot be re-entered: the
	 * program sees EINTR, which the status note names. */
	if (!signal_due && (long)t->regs.rax == -ERESTART_RESTARTBLOCK &&
	    (long)c->r.saved.rax == -EINTR)
		ps_rnote(c, "thread %d: its interrupted syscall %lld returns EINTR (its kernel "
			 "restart state cannot be made again)", t->tid, (long long)t->regs.orig_rax);
	if (!w.at)
		return 0;
	remote.iov_base = (void *)w.at;
	remote.iov_len = sizeof(w.left);
	if (process_vm_writev(c->pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(w.left))
		return ps_rfail(c, -EIO, "thread %d: writing the time left of its interrupted syscall %lld "
				"below its stack pointer 0x%llx: %s", t->tid, (long long)t->regs.orig_rax,
				(unsigned long long)t->regs.rsp, strerror(errno));
	return 0;
}

int ps_restore_final_regs(struct ps_rctx *c, const struct ps_thread *t)
{
	int e = set_xsave(c, t), rewound = 0, signal_due = has_deliverable_signal(c->m, t);

	if (e < 0)
		return e;
	c->r.saved = t->regs;
	/* The checkpoint's own interrupt ended such a wait with EINTR. */
	if (!signal_due)
		rewound = ps_restart_interrupted_wait(&c->r.saved);
	e = restart_sleep(c, t, signal_due);
	if (e < 0)
		return e;
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
