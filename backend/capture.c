/* The order of a capture: freeze, per-thread registers, remote syscalls in
 * each thread, then the address space, fds and pending signals. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "backend/capture.h"
#include "backend/fds.h"
#include "backend/warnings.h"
#include "backend/process.h"
#include "backend/regs.h"
#include "backend/remote_syscall.h"
#include "backend/signals.h"
#include "backend/syscall_restart.h"
#include "backend/proc_parse.h"

static int remote_call(struct ps_remote *r, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		       long *ret, char *err, size_t errlen)
{
	uint64_t args[6] = { a0, a1, a2, 0, 0, 0 };

	return ps_remote_syscall(r, nr, args, ret, err, errlen);
}

/* Run a remote syscall that writes len bytes at scratch, and copy them out. */
static int remote_read_call(struct ps_remote *r, long nr, uint64_t a0, uint64_t a1,
			    uint64_t scratch, void *out, size_t len, const char *what,
			    char *err, size_t errlen)
{
	struct iovec local = { out, len }, remote = { (void *)scratch, len };
	long ret;
	int e = remote_call(r, nr, a0, a1, scratch, &ret, err, errlen);

	if (e < 0)
		return e;
	if (ret < 0) {
		snprintf(err, errlen, "%s in thread %d failed: %s", what, r->tid, strerror((int)-ret));
		return (int)ret;
	}
	if (process_vm_readv(r->tid, &local, 1, &remote, 1, 0) != (ssize_t)len) {
		snprintf(err, errlen, "reading the result of %s from thread %d: %s", what, r->tid,
			 strerror(errno));
		return -EIO;
	}
	return 0;
}

static uint64_t timeval_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ULL + (uint64_t)tv->tv_usec * 1000ULL;
}

static uint64_t timespec_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

static int remote_itimers(struct ps_remote *r, uint64_t scratch, struct ps_process *p,
			  char *err, size_t errlen)
{
	for (int which = 0; which < 3; which++) {
		struct itimerval itv;
		int e = remote_read_call(r, SYS_getitimer, which, scratch, scratch, &itv,
					 sizeof(itv), "getitimer", err, errlen);

		if (e < 0)
			return e;
		p->itimers[which].value_ns = timeval_ns(&itv.it_value);
		p->itimers[which].interval_ns = timeval_ns(&itv.it_interval);
	}
	return 0;
}

static int remote_posix_timers(struct ps_remote *r, uint64_t scratch, struct ps_process *p,
			       char *err, size_t errlen)
{
	for (size_t i = 0; i < p->ntimers; i++) {
		struct ps_posix_timer *t = &p->timers[i];
		struct itimerspec its;
		long ret;
		int e = remote_read_call(r, SYS_timer_gettime, t->id, scratch, scratch, &its,
					 sizeof(its), "timer_gettime", err, errlen);

		if (e < 0)
			return e;
		t->value_ns = timespec_ns(&its.it_value);
		t->interval_ns = timespec_ns(&its.it_interval);
		e = remote_call(r, SYS_timer_getoverrun, t->id, 0, 0, &ret, err, errlen);
		if (e < 0)
			return e;
		t->overrun = ret < 0 ? 0 : (int)ret;
	}
	return 0;
}

/* State of the whole process that only a syscall inside it can read. */
static int remote_process_state(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
				char *err, size_t errlen)
{
	long ret;
	int e = ps_capture_sigactions(r, scratch, &m->signals, err, errlen);

	/* brk(0) fails by design and so returns the current break. */
	if (e == 0)
		e = remote_call(r, SYS_brk, 0, 0, 0, &ret, err, errlen);
	if (e == 0)
		m->proc.mm.brk = (uint64_t)ret;
	if (e == 0)
		e = remote_call(r, SYS_prctl, PR_GET_SECUREBITS, 0, 0, &ret, err, errlen);
	if (e == 0)
		m->proc.creds.securebits = ret < 0 ? 0 : (uint32_t)ret;
	if (e == 0)
		e = remote_call(r, SYS_prctl, PR_GET_DUMPABLE, 0, 0, &ret, err, errlen);
	if (e == 0)
		m->proc.creds.dumpable = ret < 0 ? 1 : (int)ret;
	if (e == 0)
		e = remote_itimers(r, scratch, &m->proc, err, errlen);
	if (e == 0)
		e = remote_posix_timers(r, scratch, &m->proc, err, errlen);
	return e;
}

/* Per-thread state only the thread itself can read. */
static int remote_thread_state(struct ps_remote *r, uint64_t scratch, struct ps_thread *t,
			       char *err, size_t errlen)
{
	stack_t ss;
	uint64_t tid_addr;
	int e = remote_read_call(r, SYS_sigaltstack, 0, scratch, scratch, &ss, sizeof(ss),
				 "sigaltstack", err, errlen);

	if (e < 0)
		return e;
	t->altstack_sp = (uint64_t)ss.ss_sp;
	t->altstack_size = ss.ss_size;
	t->altstack_flags = ss.ss_flags;
	e = remote_read_call(r, SYS_prctl, PR_GET_TID_ADDRESS, scratch, scratch, &tid_addr,
			     sizeof(tid_addr), "prctl(PR_GET_TID_ADDRESS)", err, errlen);
	if (e < 0)
		return e;
	t->clear_child_tid = tid_addr;
	return 0;
}

static int remote_map_scratch(struct ps_remote *r, uint64_t *scratch, char *err, size_t errlen)
{
	uint64_t args[6] = { 0, PS_NET_SCRATCH, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0 };
	long ret;
	int e = ps_remote_syscall(r, SYS_mmap, args, &ret, err, errlen);

	if (e < 0)
		return e;
	if (ret < 0 && ret > -4096) {
		snprintf(err, errlen, "mmap of a scratch page in process failed: %s",
			 strerror((int)-ret));
		return (int)ret;
	}
	*scratch = (uint64_t)ret;
	return 0;
}

static int remote_unmap_scratch(struct ps_remote *r, uint64_t scratch, char *err, size_t errlen)
{
	long ret;

	return remote_call(r, SYS_munmap, scratch, PS_NET_SCRATCH, 0, &ret, err, errlen);
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

/*
 * One remote session per thread, each over its own safety net, whose
 * scratch area (dead stack) holds the syscalls' arguments and results. A
 * thread that cannot have a net gets a scratch page mapped and unmapped in
 * its session, before the address space is read, so it never shows in the
 * image; procsnap's death in that session could harm it, and the log says
 * so.
 */
static int capture_thread_remote(struct ps_model *m, size_t i, const struct ps_gadgets *g,
				 char *err, size_t errlen)
{
	struct ps_thread *t = &m->threads[i];
	struct ps_remote r;
	char why[160], err2[256];
	uint64_t scratch = 0;
	int e = ps_remote_begin_safe(&r, m->meta.pid, t->tid, g, why, sizeof(why), err, errlen);

	if (e < 0)
		return e;
	if (why[0])
		ps_warn("process %d, thread %d: no safety net for its remote syscalls (%s): "
			"killing procsnap during this capture could harm it", m->meta.pid, t->tid,
			why);
	scratch = ps_remote_scratch(&r);
	if (!scratch)
		e = remote_map_scratch(&r, &scratch, err, errlen);
	if (e == 0 && i == 0)
		e = remote_process_state(&r, scratch, m, err, errlen);
	if (e == 0)
		e = remote_thread_state(&r, scratch, t, err, errlen);
	if (e == 0)
		own_onstack(t, r.saved.rsp);
	if (scratch && !ps_remote_scratch(&r))
		remote_unmap_scratch(&r, scratch, err2, sizeof(err2));
	if (ps_remote_end(&r, err2, sizeof(err2)) < 0 && e == 0) {
		snprintf(err, errlen, "%s", err2);
		e = -EIO;
	}
	return e;
}

static int capture_remote(struct ps_model *m, char *err, size_t errlen)
{
	struct ps_gadgets g;
	int e = ps_find_gadgets(m->meta.pid, &g, err, errlen);

	for (size_t i = 0; e == 0 && i < m->nthreads; i++)
		e = capture_thread_remote(m, i, &g, err, errlen);
	return e;
}

static int capture_threads(struct ps_capture *c, char *err, size_t errlen)
{
	struct ps_model *m = &c->model;

	m->threads = calloc(c->frozen.ntids, sizeof(*m->threads));
	if (!m->threads)
		return -ENOMEM;
	for (size_t i = 0; i < c->frozen.ntids; i++) {
		const struct ps_frozen_thread *f = &c->frozen.threads[i];
		struct ps_thread *t = &m->threads[m->nthreads];
		/* A rewound wait is saved as the stop ended it: a restore makes
		 * it again with the time it had left (restore/regs.c). */
		int e = ps_capture_thread(c->frozen.pid, f->tid, f->rewound ? &f->own_regs : NULL, t,
					  err, errlen);

		if (e == -ESRCH)
			continue;       /* exited while stopped: it is not part of the state */
		if (e < 0)
			return e;
		t->asleep_ns = f->asleep_ns;
		m->nthreads++;
	}
	if (m->nthreads == 0) {
		snprintf(err, errlen, "process %d exited", c->frozen.pid);
		return -ESRCH;
	}
	return 0;
}

static int open_mem(struct ps_capture *c, char *err, size_t errlen)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", c->frozen.pid);
	c->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->memfd < 0) {
		int e = errno;

		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

static int capture_frozen(struct ps_capture *c, char *err, size_t errlen)
{
	struct ps_model *m = &c->model;
	pid_t pid = c->frozen.pid;
	int e = ps_capture_process_proc(pid, &m->proc, err, errlen);

	if (e == 0)
		e = capture_threads(c, err, errlen);
	if (e == 0)
		e = capture_remote(m, err, errlen);
	if (e == 0)
		e = ps_capture_maps(pid, &m->maps, err, errlen);
	if (e == 0)
		e = ps_capture_fds(pid, &m->fds, err, errlen);
	if (e == 0)
		e = ps_capture_shared_pending(m->threads[0].tid, &m->signals, err, errlen);
	if (e == 0)
		e = open_mem(c, err, errlen);
	return e;
}

static uint64_t now_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int ps_capture_take(pid_t pid, struct ps_capture *c, char *err, size_t errlen)
{
	struct timespec taken;
	uint64_t t0 = now_us(CLOCK_MONOTONIC);
	int e;

	memset(c, 0, sizeof(*c));
	c->memfd = -1;
	c->model.meta.pid = pid;
	e = ps_freeze(pid, &c->frozen, err, errlen);
	if (e < 0)
		return e;
	clock_gettime(CLOCK_REALTIME, &taken);
	c->model.meta.monotonic_ns = now_ns(CLOCK_MONOTONIC);
	c->model.meta.boottime_ns = now_ns(CLOCK_BOOTTIME);
	c->model.meta.has_clocks = 1;
	e = capture_frozen(c, err, errlen);
	if (e < 0) {
		ps_capture_release(c);
		return e;
	}
	c->model.meta.taken_sec = taken.tv_sec;
	c->model.meta.taken_nsec = taken.tv_nsec;
	c->model.meta.freeze_us = now_us(CLOCK_MONOTONIC) - t0;
	return 0;
}

void ps_capture_release(struct ps_capture *c)
{
	ps_thaw(&c->frozen);
	if (c->memfd >= 0)
		close(c->memfd);
	c->memfd = -1;
	ps_model_free(&c->model);
}
