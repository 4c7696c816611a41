/* Per-thread capture through ptrace regsets and requests: general registers,
 * NT_X86_XSTATE, sigmask, pending queue, rseq registration, robust list. */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/proc_parse.h"
#include "backend/part_capture.h"
#include "backend/capture.h"
#include "backend/syscall_restart.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif

/* Layout from linux/ptrace.h (5.13+); declared here because glibc's
 * sys/ptrace.h and linux/ptrace.h do not mix. */
struct rseq_configuration {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

#define XSAVE_MAX (64 * 1024)

static int fail(char *err, size_t errlen, pid_t tid, const char *what)
{
	int e = errno;

	snprintf(err, errlen, "thread %d: %s: %s", tid, what, strerror(e));
	return -e;
}

/* The xsave area's size depends on the CPU's enabled features (AVX-512 makes
 * it ~2.7 KiB): the kernel trims iov_len to what it wrote. */
static int capture_xsave(pid_t tid, struct ps_thread *t, char *err, size_t errlen)
{
	struct iovec iov;

	t->xsave = malloc(XSAVE_MAX);
	if (!t->xsave)
		return -ENOMEM;
	iov.iov_base = t->xsave;
	iov.iov_len = XSAVE_MAX;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return fail(err, errlen, tid, "PTRACE_GETREGSET(NT_X86_XSTATE)");
	t->xsave_len = iov.iov_len;
	return 0;
}

int ps_read_rseq_config(pid_t tid, uint64_t *ptr, uint32_t *len, uint32_t *sig)
{
	struct rseq_configuration conf;

	memset(&conf, 0, sizeof(conf));
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof(conf), &conf) < 0)
		return -errno;
	*ptr = conf.rseq_abi_pointer;
	*len = conf.rseq_abi_size;
	*sig = conf.signature;
	return 0;
}

static int capture_rseq(pid_t tid, struct ps_thread *t, char *err, size_t errlen)
{
	int e = ps_read_rseq_config(tid, &t->rseq_ptr, &t->rseq_len, &t->rseq_sig);

	if (e < 0) {
		snprintf(err, errlen, "thread %d: PTRACE_GET_RSEQ_CONFIGURATION: %s", tid,
			 strerror(-e));
		return e;
	}
	return 0;
}

/* get_robust_list works on another thread given ptrace rights over it. */
static int capture_robust_list(pid_t tid, struct ps_thread *t, char *err, size_t errlen)
{
	void *head = NULL;
	size_t len = 0;

	if (syscall(SYS_get_robust_list, tid, &head, &len) < 0)
		return fail(err, errlen, tid, "get_robust_list");
	t->robust_list = (uint64_t)head;
	t->robust_list_len = len;
	return 0;
}

static void capture_comm(pid_t pid, pid_t tid, struct ps_thread *t)
{
	char path[64], *text;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	if (ps_read_file(path, &text, &len) < 0)
		return;
	if (len && text[len - 1] == '\n')
		text[--len] = 0;
	snprintf(t->comm, sizeof(t->comm), "%s", text);
	free(text);
}

/*
 * orig_rax >= 0 means the thread stopped on its way out of a syscall. If the
 * syscall was interrupted by our freeze, rax holds -ERESTARTSYS and friends:
 * the kernel rewinds rip by 2 (the length of `syscall`) and reloads rax from
 * orig_rax when the thread resumes. A restore must do the same.
 */
static void capture_syscall_state(struct ps_thread *t)
{
	t->in_syscall = (long)t->regs.orig_rax >= 0;
	t->syscall_nr = t->in_syscall ? (long)t->regs.orig_rax : -1;
	t->syscall_ret = t->in_syscall ? (long)t->regs.rax : 0;
}

int ps_capture_thread(pid_t pid, pid_t tid, const struct user_regs_struct *own_regs,
		      struct ps_thread *t, char *err, size_t errlen)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->tid = tid;
	if (own_regs)
		t->regs = *own_regs;
	else if (ptrace(PTRACE_GETREGS, tid, 0, &t->regs) < 0)
		return fail(err, errlen, tid, "PTRACE_GETREGS");
	capture_syscall_state(t);
	r = capture_xsave(tid, t, err, errlen);
	if (r == 0 && ptrace(PTRACE_GETSIGMASK, tid, sizeof(t->sigmask), &t->sigmask) < 0)
		r = fail(err, errlen, tid, "PTRACE_GETSIGMASK");
	if (r == 0)
		r = ps_peek_pending(tid, 0, &t->pending, &t->npending, err, errlen);
	if (r == 0)
		r = capture_rseq(tid, t, err, errlen);
	if (r == 0)
		r = capture_robust_list(tid, t, err, errlen);
	if (r == 0)
		capture_comm(pid, tid, t);
	return r;
}

/* A thread inside restart_syscall is saved as inside the call it resumes,
 * so that a restore can make that call again (restore/registers.c): the
 * restart block it needs dies with the process. */
static void restarted_call(struct ps_thread *t, const char *wchan)
{
	long nr = ps_restarted_call(wchan, &t->regs);

	if (nr < 0)
		return;
	t->regs.orig_rax = (uint64_t)nr;
	t->syscall_nr = nr;
}

int ps_capture_registers(struct ps_capture *c, char *err, size_t errlen)
{
	struct ps_model *m = &c->model;

	m->threads = calloc(c->frozen.ntids, sizeof(*m->threads));
	if (!m->threads)
		return -ENOMEM;
	for (size_t i = 0; i < c->frozen.ntids; i++) {
		const struct ps_frozen_thread *f = &c->frozen.threads[i];
		struct ps_thread *t = &m->threads[m->nthreads];
		/* A rewound wait is saved as the stop ended it: a restore makes
		 * it again with the time it had left (restore/registers.c). */
		int e = ps_capture_thread(c->frozen.pid, f->tid, f->rewound ? &f->own_regs : NULL, t,
					  err, errlen);

		if (e == -ESRCH)
			continue;       /* exited while stopped: it is not part of the state */
		if (e < 0)
			return e;
		t->asleep_ns = f->asleep_ns;
		restarted_call(t, f->wchan);
		m->nthreads++;
	}
	if (m->nthreads == 0) {
		snprintf(err, errlen, "process %d exited", c->frozen.pid);
		return -ESRCH;
	}
	return 0;
}

/* Per-thread state only the thread itself can read. */
static int remote_thread_state(struct ps_remote *r, uint64_t scratch, struct ps_thread *t,
			       char *err, size_t errlen)
{
	stack_t ss;
	uint64_t tid_addr;
	int e = ps_capture_read_call(r, SYS_sigaltstack, 0, scratch, scratch, &ss, sizeof(ss),
				     "sigaltstack", err, errlen);

	if (e < 0)
		return e;
	t->altstack_sp = (uint64_t)ss.ss_sp;
	t->altstack_size = ss.ss_size;
	t->altstack_flags = ss.ss_flags;
	e = ps_capture_read_call(r, SYS_prctl, PR_GET_TID_ADDRESS, scratch, scratch, &tid_addr,
				 sizeof(tid_addr), "prctl(PR_GET_TID_ADDRESS)", err, errlen);
	if (e < 0)
		return e;
	t->clear_child_tid = tid_addr;
	return 0;
}


/* The thread's own alternate-stack state: the kernel reports SS_ONSTACK from
 * the stack pointer of the call, and a call under a net runs below the
 * thread's own stack pointer. on_sig_stack() in the kernel: never with
 * SS_AUTODISARM, else sp in (ss_sp, ss_sp + ss_size]. */
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)     /* linux/signal.h; glibc 2.36 lacks it */
#endif

static void own_onstack(struct ps_thread *t, uint64_t sp)
{
	int on = !(t->altstack_flags & (SS_DISABLE | SS_AUTODISARM)) &&
		 sp > t->altstack_sp && sp - t->altstack_sp <= t->altstack_size;

	t->altstack_flags = (t->altstack_flags & ~SS_ONSTACK) | (on ? SS_ONSTACK : 0);
}

int ps_capture_registers_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
				size_t thread, char *err, size_t errlen)
{
	struct ps_thread *t = &m->threads[thread];
	int e = remote_thread_state(r, scratch, t, err, errlen);

	if (e == 0)
		own_onstack(t, r->saved.rsp);
	return e;
}
