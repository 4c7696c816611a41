/* Capture of the signals part: dispositions (no /proc file shows the handlers'
 * addresses, so rt_sigaction runs inside the target) and pending queues. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "backend/part_capture.h"
#include "backend/sentence.h"

/* The kernel's struct sigaction on x86_64 (not glibc's): handler, flags,
 * restorer, then a 64-bit mask. rt_sigaction writes exactly this. */
struct kernel_sigaction {
	uint64_t handler, flags, restorer, mask;
};

int ps_capture_sigactions(struct ps_remote *r, uint64_t scratch, struct ps_signals *s,
			  char *err, size_t errlen)
{
	struct kernel_sigaction ka[PS_NSIG];
	struct iovec local = { ka, sizeof(ka) }, remote = { (void *)scratch, sizeof(ka) };

	for (int sig = 1; sig <= PS_NSIG; sig++) {
		/* Reading works for every signal, SIGKILL and SIGSTOP included:
		 * only setting them is refused. sigsetsize must be 8. */
		uint64_t args[6] = { sig, 0, scratch + (sig - 1) * sizeof(ka[0]), 8, 0, 0 };
		long ret;
		int e = ps_remote_syscall(r, SYS_rt_sigaction, args, &ret, err, errlen);

		if (e < 0)
			return e;
		if (ret < 0) {
			snprintf(err, errlen, "rt_sigaction(%d) in process failed: %s", sig,
				 strerror((int)-ret));
			return (int)ret;
		}
	}
	if (process_vm_readv(r->tid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(ka)) {
		snprintf(err, errlen, "reading signal handlers back from thread %d: %s", r->tid,
			 strerror(errno));
		return -EIO;
	}
	for (int sig = 1; sig <= PS_NSIG; sig++) {
		s->act[sig].handler = ka[sig - 1].handler;
		s->act[sig].flags = ka[sig - 1].flags;
		s->act[sig].restorer = ka[sig - 1].restorer;
		s->act[sig].mask = ka[sig - 1].mask;
	}
	return 0;
}

int ps_peek_pending(pid_t tid, int shared, struct ps_siginfo **out, size_t *n,
		    char *err, size_t errlen)
{
	struct __ptrace_peeksiginfo_args args = {
		.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
		.nr = 1,
	};
	siginfo_t si;

	*out = NULL;
	*n = 0;
	for (;;) {
		long r = ptrace(PTRACE_PEEKSIGINFO, tid, &args, &si);
		struct ps_siginfo *grown;

		if (r < 0)
			return ps_fail(err, errlen, -errno, "thread %d: PTRACE_PEEKSIGINFO: %s", tid,
				       strerror(errno));
		if (r == 0)
			return 0;
		grown = realloc(*out, (*n + 1) * sizeof(**out));
		if (!grown)
			return -ENOMEM;
		*out = grown;
		memset(&grown[*n], 0, sizeof(grown[*n]));
		memcpy(grown[*n].raw, &si, sizeof(grown[*n].raw));
		grown[*n].signo = si.si_signo;
		grown[*n].err = si.si_errno;
		grown[*n].code = si.si_code;
		(*n)++;
		args.off++;
	}
}

int ps_capture_signals_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
			      size_t thread, char *err, size_t errlen)
{
	return thread == 0 ? ps_capture_sigactions(r, scratch, &m->signals, err, errlen) : 0;
}

int ps_capture_signals(struct ps_capture *c, char *err, size_t errlen)
{
	struct ps_signals *s = &c->model.signals;

	return ps_peek_pending(c->model.threads[0].tid, 1, &s->shared_pending,
			       &s->nshared_pending, err, errlen);
}
