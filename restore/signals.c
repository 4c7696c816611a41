/* Checks and restore of the signals part: every disposition with rt_sigaction,
 * then the pending queues, each siginfo exactly as it was saved. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "restore/part_restore.h"
#include "restore/validate.h"

/* The kernel's struct sigaction on x86_64 (not glibc's): handler, flags,
 * restorer, then the 64-bit mask; what backend/signals.c read. */
struct kernel_sigaction {
	uint64_t handler, flags, restorer, mask;
};

/* "SIGUSR1", or "signal 40" for the real-time ones glibc does not name. */
static void signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "signal %d", sig);
}

int ps_restore_sigactions(struct ps_rctx *c)
{
	struct kernel_sigaction ka[PS_NSIG];
	uint64_t base;

	for (int sig = 1; sig <= PS_NSIG; sig++) {
		const struct ps_sigaction *a = &c->m->signals.act[sig];

		ka[sig - 1] = (struct kernel_sigaction){ a->handler, a->flags, a->restorer, a->mask };
	}
	base = ps_rput(c, 0, ka, sizeof(ka));
	if (!base)
		return -EIO;
	for (int sig = 1; sig <= PS_NSIG; sig++) {
		char name[32], what[64];
		long rc;

		/* Their dispositions cannot be changed: rt_sigaction says EINVAL. */
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		signal_name(sig, name, sizeof(name));
		snprintf(what, sizeof(what), "rt_sigaction(%s)", name);
		/* sigsetsize must be 8, the kernel's sigset_t on x86_64. */
		rc = ps_rcall(c, what, SYS_rt_sigaction, (uint64_t)sig,
			      base + (uint64_t)(sig - 1) * sizeof(ka[0]), 0, 8, 0, 0);
		if (rc < 0)
			return (int)rc;
	}
	return 0;
}

/* Queue one saved siginfo; tid 0 means the process-wide queue. The kernel
 * refuses a forged si_code (>= 0, or SI_TKILL) unless the sender is the
 * target itself: these calls run in the stub's main thread, so for the
 * process (tgid = its pid) and for that thread they keep every field; for
 * any other thread the call would have to run in that thread. Signals stay
 * blocked throughout, so none is delivered or discarded as ignored here. */
static int queue_siginfo(struct ps_rctx *c, pid_t tid, const struct ps_siginfo *si)
{
	char name[32], what[96];
	uint64_t addr = ps_rput(c, 0, si->raw, PS_SIGINFO_SIZE);
	long rc;

	if (!addr)
		return -EIO;
	signal_name(si->signo, name, sizeof(name));
	if (tid) {
		snprintf(what, sizeof(what), "queueing pending %s (si_code %d) for thread %d",
			 name, si->code, tid);
		rc = ps_rcall(c, what, SYS_rt_tgsigqueueinfo, (uint64_t)c->pid, (uint64_t)tid,
			      (uint64_t)si->signo, addr, 0, 0);
	} else {
		snprintf(what, sizeof(what), "queueing pending %s (si_code %d)", name, si->code);
		rc = ps_rcall(c, what, SYS_rt_sigqueueinfo, (uint64_t)c->pid, (uint64_t)si->signo,
			      addr, 0, 0, 0);
	}
	return rc < 0 ? (int)rc : 0;
}

int ps_restore_shared_pending(struct ps_rctx *c)
{
	const struct ps_signals *s = &c->m->signals;
	int rc = 0;

	for (size_t i = 0; !rc && i < s->nshared_pending; i++)
		rc = queue_siginfo(c, 0, &s->shared_pending[i]);
	return rc;
}

int ps_restore_thread_pending(struct ps_rctx *c, const struct ps_thread *t)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < t->npending; i++)
		rc = queue_siginfo(c, t->tid, &t->pending[i]);
	return rc;
}

static int check_pending_list(const struct ps_check *v, const struct ps_siginfo *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (q[i].signo == SIGKILL)
			return ps_refuse(v, -EINVAL, "a SIGKILL is pending: the process was being "
					 "killed at the checkpoint");
		/* Queued in the stub, a stop would take effect in the middle
		 * of the restore, which drives the stub by ptrace. */
		if (q[i].signo == SIGSTOP)
			return ps_refuse(v, -ENOTSUP, "a SIGSTOP is pending: restoring a pending "
					 "stop is not supported yet");
	}
	return 0;
}

/* The process-wide queue, then each thread's own. */
int ps_validate_signals(const struct ps_check *v)
{
	const struct ps_model *m = v->m;
	int rc = check_pending_list(v, m->signals.shared_pending, m->signals.nshared_pending);

	for (size_t i = 0; !rc && i < m->nthreads; i++)
		rc = check_pending_list(v, m->threads[i].pending, m->threads[i].npending);
	return rc;
}
