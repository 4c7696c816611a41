/* Capture of the attributes part: what a process and each of its threads set
 * on themselves (scheduling, io priority, prctl and arch_prctl settings). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sched/types.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "backend/part_capture.h"
#include "backend/prctl_abi.h"
#include "backend/proc_parse.h"
#include "backend/sentence.h"

/* ---- what procsnap reads from outside: /proc, sched_getattr, ioprio_get, ptrace ---- */

static int read_proc_number(pid_t pid, const char *name, int hex, long long *out, char *err,
			    size_t errlen)
{
	char path[64], *text, *end;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	rc = ps_read_file(path, &text, &len);
	if (rc < 0)
		return ps_fail(err, errlen, rc, "reading %s: %s", path, strerror(-rc));
	errno = 0;
	*out = strtoll(text, &end, hex ? 16 : 10);
	rc = errno || end == text || (*end != '\n' && *end != '\0') ? -EINVAL : 0;
	free(text);
	if (rc)
		return ps_fail(err, errlen, rc, "parsing %s: not a number", path);
	return 0;
}

static int parse_autogroup(const char *text, size_t len, void *nice)
{
	(void)len;
	return ps_parse_autogroup(text, nice);
}

/* The file exists only with CONFIG_SCHED_AUTOGROUP; without it the process
 * has no autogroup nice (0). */
static int read_autogroup_nice(pid_t pid, int *nice, char *err, size_t errlen)
{
	int rc = ps_proc_parse(pid, "autogroup", parse_autogroup, nice);

	if (rc == -ENOENT) {
		*nice = 0;
		return 0;
	}
	if (rc < 0)
		return ps_fail(err, errlen, rc, "reading /proc/%d/autogroup: %s", (int)pid,
			       rc == -EINVAL ? "no nice value in it" : strerror(-rc));
	return 0;
}

/* LAM's mask (all ones without LAM) and the user shadow stack, from the
 * status file of the process (a pid) or of one thread (a tid). */
static int capture_status_features(pid_t id, uint64_t *untag_mask, int *shstk, char *err,
				   size_t errlen)
{
	struct ps_status st;
	int rc = ps_read_status(id, &st);

	if (rc < 0)
		return ps_fail(err, errlen, rc, "reading /proc/%d/status: %s", (int)id,
			       strerror(-rc));
	free(st.groups);
	if (untag_mask)
		*untag_mask = st.untag_mask;
	if (shstk)
		*shstk = st.shstk;
	return 0;
}

static int capture_affinity(pid_t tid, uint64_t cpus[PS_CPU_WORDS], char *err, size_t errlen)
{
	memset(cpus, 0, PS_CPU_WORDS * sizeof(uint64_t));
	if (syscall(SYS_sched_getaffinity, tid, PS_CPU_WORDS * sizeof(uint64_t), cpus) < 0)
		return ps_fail(err, errlen, -errno, "sched_getaffinity of thread %d: %s", tid,
			       strerror(errno));
	return 0;
}

static int capture_process_files(pid_t pid, struct ps_attributes *a, char *err, size_t errlen)
{
	long long v;
	int rc = read_proc_number(pid, "oom_score_adj", 0, &v, err, errlen);

	if (rc == 0)
		a->oom_score_adj = (int)v;
	/* loginuid is absent without CONFIG_AUDIT: then it is "unset". */
	if (rc == 0 && access("/proc/self/loginuid", F_OK) == 0)
		rc = read_proc_number(pid, "loginuid", 0, &v, err, errlen);
	else
		v = (uint32_t)-1;
	if (rc == 0)
		a->loginuid = (uint32_t)v;
	if (rc == 0)
		rc = read_proc_number(pid, "coredump_filter", 1, &v, err, errlen);
	if (rc == 0)
		a->coredump_filter = (uint32_t)v;
	if (rc == 0)
		rc = read_autogroup_nice(pid, &a->autogroup_nice, err, errlen);
	if (rc == 0)
		rc = capture_status_features(pid, &a->untag_mask, NULL, err, errlen);
	return rc;
}

/* sched_getattr fills as much of struct sched_attr as both the kernel and
 * the caller know (its size argument); util clamps read 0 and 1024 when
 * the thread never asked for any, and 0 and 0 from a kernel without
 * CONFIG_UCLAMP_TASK (which has no sched_util_clamp_max sysctl): those are
 * saved as the defaults, which restore leaves alone. */
static int capture_sched(pid_t tid, struct ps_sched *s, char *err, size_t errlen)
{
	struct sched_attr at;

	memset(&at, 0, sizeof(at));
	if (syscall(SYS_sched_getattr, tid, &at, sizeof(at), 0) < 0)
		return ps_fail(err, errlen, -errno, "sched_getattr of thread %d: %s", tid,
			       strerror(errno));
	*s = (struct ps_sched){ .policy = at.sched_policy, .flags = at.sched_flags,
				.nice = at.sched_nice, .priority = at.sched_priority,
				.runtime = at.sched_runtime, .deadline = at.sched_deadline,
				.period = at.sched_period, .util_min = at.sched_util_min,
				.util_max = at.sched_util_max };
	if (access("/proc/sys/kernel/sched_util_clamp_max", F_OK) < 0) {
		s->util_min = 0;
		s->util_max = PS_SCHED_UTIL_MAX;
	}
	return 0;
}

/* ioprio_get(IOPRIO_WHO_PROCESS, tid) is one thread's, despite the name. */
static int capture_ioprio(pid_t tid, uint32_t *ioprio, char *err, size_t errlen)
{
	long v = syscall(SYS_ioprio_get, PS_IOPRIO_WHO_PROCESS, tid);

	if (v < 0)
		return ps_fail(err, errlen, -errno, "ioprio_get of thread %d: %s", tid,
			       strerror(errno));
	*ioprio = (uint32_t)v;
	return 0;
}

/* The config is only readable through ptrace (the thread is stopped in
 * the freeze); EINVAL/EIO from a kernel without it means "off". */
static int capture_sud(pid_t tid, uint64_t *mode, char *err, size_t errlen)
{
	struct ps_sud_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	if (ptrace(PS_PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG, tid, sizeof(cfg), &cfg) < 0) {
		if (errno == EINVAL || errno == EIO)
			cfg.mode = 0;
		else
			return ps_fail(err, errlen, -errno, "reading thread %d's syscall user "
				       "dispatch (ptrace): %s", tid, strerror(errno));
	}
	*mode = cfg.mode;
	return 0;
}

/* PR_GET_IO_FLUSHER needs CAP_SYS_RESOURCE even to read; the flags it
 * sets (PF_MEMALLOC_NOIO | PF_LOCAL_THROTTLE) are field 9 of the
 * thread's stat, which anyone who may trace it reads. */
static int capture_io_flusher(pid_t pid, pid_t tid, int *io_flusher, char *err, size_t errlen)
{
	char path[64], *text;
	struct ps_stat st;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	rc = ps_read_file(path, &text, &len);
	if (rc < 0)
		return ps_fail(err, errlen, rc, "reading %s: %s", path, strerror(-rc));
	rc = ps_parse_stat(text, &st);
	free(text);
	if (rc < 0)
		return ps_fail(err, errlen, rc, "parsing %s: %s", path, strerror(-rc));
	*io_flusher = (st.flags & PS_PF_IO_FLUSHER) == PS_PF_IO_FLUSHER;
	return 0;
}

int ps_capture_attributes(struct ps_capture *c, char *err, size_t errlen)
{
	struct ps_model *m = &c->model;
	struct ps_attributes *a = &m->attrs;
	int rc;

	a->threads = calloc(m->nthreads ? m->nthreads : 1, sizeof(*a->threads));
	if (!a->threads)
		return ps_fail(err, errlen, -ENOMEM, "attributes: out of memory");
	a->nthreads = m->nthreads;
	a->present = 1;
	rc = capture_process_files(m->meta.pid, a, err, errlen);
	for (size_t i = 0; rc == 0 && i < m->nthreads; i++) {
		struct ps_thread_attrs *t = &a->threads[i];

		t->tid = m->threads[i].tid;
		rc = capture_sched(t->tid, &t->sched, err, errlen);
		if (rc == 0)
			rc = capture_ioprio(t->tid, &t->ioprio, err, errlen);
		if (rc == 0)
			rc = capture_sud(t->tid, &t->sud_mode, err, errlen);
		if (rc == 0)
			rc = capture_io_flusher(m->meta.pid, t->tid, &t->io_flusher, err, errlen);
		if (rc == 0)
			rc = capture_affinity(t->tid, t->cpus, err, errlen);
		if (rc == 0)
			rc = capture_status_features(t->tid, NULL, &t->shstk, err, errlen);
	}
	return rc;
}

/* ---- what only a prctl or arch_prctl inside the thread reads ---- */

/* Run a GET in the thread. Every one here only reads: the thread is left
 * as it was whatever happens to procsnap. */
static int remote_get(struct ps_remote *r, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		      long *ret, const char *what, char *err, size_t errlen)
{
	int e = ps_capture_call(r, nr, a0, a1, a2, ret, err, errlen);

	if (e < 0)
		return e;
	if (*ret < 0 && *ret != -EINVAL && *ret != -ENODEV && *ret != -EOPNOTSUPP)
		return ps_fail(err, errlen, (int)*ret, "%s in thread %d: %s", what, r->tid,
			       strerror((int)-*ret));
	return 0;
}

/* A GET that writes its answer at its second argument's address: the
 * scratch area takes it; unknown to the kernel: 0. */
static int remote_get_into(struct ps_remote *r, long nr, uint64_t a0, uint64_t scratch, void *out, size_t len, const char *what, char *err,
			   size_t errlen)
{
	struct iovec local = { out, len }, remote = { (void *)scratch, len };
	long ret;
	int e;

	memset(out, 0, len);
	if (process_vm_writev(r->tid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return ps_fail(err, errlen, -EIO, "clearing the scratch area of thread %d: %s",
			       r->tid, strerror(errno));
	e = remote_get(r, nr, a0, scratch, 0, &ret, what, err, errlen);
	if (e < 0 || ret < 0)
		return e;
	if (process_vm_readv(r->tid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return ps_fail(err, errlen, -EIO, "reading the result of %s from thread %d: %s",
			       what, r->tid, strerror(errno));
	return 0;
}

static int remote_value(struct ps_remote *r, uint64_t option, int unknown, int *out,
			const char *what, char *err, size_t errlen)
{
	long ret;
	int e = remote_get(r, SYS_prctl, option, 0, 0, &ret, what, err, errlen);

	if (e == 0)
		*out = ret < 0 ? unknown : (int)ret;
	return e;
}

/* PR_GET_SPECULATION_CTRL per misfeature: EINVAL (not this CPU's, or not
 * this kernel's) keeps -1, which restore leaves alone. */
static int remote_speculation(struct ps_remote *r, struct ps_thread_attrs *t, char *err,
			      size_t errlen)
{
	int e = 0;

	for (int which = 0; e == 0 && which < 3; which++) {
		long ret;

		e = remote_get(r, SYS_prctl, PR_GET_SPECULATION_CTRL, (uint64_t)which, 0, &ret,
			       "prctl(PR_GET_SPECULATION_CTRL)", err, errlen);
		if (e == 0)
			t->spec[which] = ret < 0 ? -1 : (int)ret;
	}
	return e;
}

/* get_mempolicy(&mode, NULL, 0, 0, 0): the thread's own NUMA policy;
 * ENOSYS without CONFIG_NUMA, where every thread has the default. */
static int remote_mempolicy(struct ps_remote *r, uint64_t scratch, int *mode, char *err,
			    size_t errlen)
{
	struct iovec local = { mode, sizeof(int) }, remote = { (void *)scratch, sizeof(int) };
	long ret;
	int e = ps_capture_call(r, SYS_get_mempolicy, scratch, 0, 0, &ret, err, errlen);

	*mode = 0;
	if (e < 0 || ret == -ENOSYS)
		return e;
	if (ret < 0)
		return ps_fail(err, errlen, (int)ret, "get_mempolicy in thread %d: %s", r->tid,
			       strerror((int)-ret));
	if (process_vm_readv(r->tid, &local, 1, &remote, 1, 0) != sizeof(int))
		return ps_fail(err, errlen, -EIO, "reading the result of get_mempolicy from thread "
			       "%d: %s", r->tid, strerror(errno));
	return 0;
}

/* PR_SCHED_CORE_GET(tid 0 = this thread, PIDTYPE_PID = 0, the cookie's
 * address, its fifth argument): EINVAL without core scheduling, which
 * means no cookie. */
static int remote_core_cookie(struct ps_remote *r, uint64_t scratch, uint64_t *cookie,
			      char *err, size_t errlen)
{
	uint64_t args[6] = { PR_SCHED_CORE, PS_PR_SCHED_CORE_GET, 0, 0, scratch, 0 };
	struct iovec local = { cookie, sizeof(*cookie) }, remote = { (void *)scratch, sizeof(*cookie) };
	long ret;
	int e;

	*cookie = 0;
	if (process_vm_writev(r->tid, &local, 1, &remote, 1, 0) != sizeof(*cookie))
		return ps_fail(err, errlen, -EIO, "clearing the scratch area of thread %d: %s",
			       r->tid, strerror(errno));
	e = ps_remote_syscall(r, SYS_prctl, args, &ret, err, errlen);
	if (e == 0 && ret == 0 &&
	    process_vm_readv(r->tid, &local, 1, &remote, 1, 0) != sizeof(*cookie))
		return ps_fail(err, errlen, -EIO, "reading thread %d's core scheduling cookie: %s",
			       r->tid, strerror(errno));
	return e;
}

static int remote_thread(struct ps_remote *r, uint64_t scratch, struct ps_thread_attrs *t,
			 char *err, size_t errlen)
{
	int securebits = 0;
	long ret;
	int e = remote_get(r, SYS_prctl, PR_GET_TIMERSLACK, 0, 0, &ret,
			   "prctl(PR_GET_TIMERSLACK)", err, errlen);

	if (e == 0)
		t->timerslack_ns = (uint64_t)ret;
	if (e == 0)
		e = remote_get_into(r, SYS_prctl, PR_GET_PDEATHSIG, scratch, &t->pdeathsig,
				    sizeof(int), "prctl(PR_GET_PDEATHSIG)", err, errlen);
	if (e == 0)
		e = remote_speculation(r, t, err, errlen);
	if (e == 0)
		e = remote_mempolicy(r, scratch, &t->mempolicy, err, errlen);
	if (e == 0)
		e = remote_value(r, PR_GET_SECUREBITS, 0, &securebits, "prctl(PR_GET_SECUREBITS)",
				 err, errlen);
	t->securebits = (uint32_t)securebits;
	if (e == 0)
		e = remote_value(r, PR_GET_NO_NEW_PRIVS, 0, &t->no_new_privs,
				 "prctl(PR_GET_NO_NEW_PRIVS)", err, errlen);
	if (e == 0)
		e = remote_value(r, PR_MCE_KILL_GET, 0, &t->mce_kill, "prctl(PR_MCE_KILL_GET)",
				 err, errlen);
	if (e == 0)
		e = remote_get_into(r, SYS_prctl, PR_GET_TSC, scratch, &t->tsc, sizeof(int),
				    "prctl(PR_GET_TSC)", err, errlen);
	if (e == 0)
		e = remote_get(r, SYS_arch_prctl, PS_ARCH_GET_CPUID, 0, 0, &ret,
			       "arch_prctl(ARCH_GET_CPUID)", err, errlen);
	if (e == 0)
		t->cpuid = ret < 0 ? 1 : (int)ret;
	if (e == 0)
		e = remote_core_cookie(r, scratch, &t->core_cookie, err, errlen);
	return e;
}

/*
 * membarrier has no GET for registrations: a private expedited barrier of
 * each kind is -EPERM in a process that did not register for it, and in
 * one that did, a barrier among threads that are all stopped, which
 * changes nothing.
 */
static int remote_membarrier(struct ps_remote *r, uint32_t *regs, char *err, size_t errlen)
{
	static const struct { uint32_t cmd, reg; } kinds[] = {
		{ PS_MEMBARRIER_CMD_PRIVATE_EXPEDITED, PS_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED },
		{ PS_MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE,
		  PS_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE },
		{ PS_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
		  PS_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ },
	};
	int e = 0;

	*regs = 0;
	for (size_t i = 0; e == 0 && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		long ret;

		e = ps_capture_call(r, SYS_membarrier, kinds[i].cmd, 0, 0, &ret, err, errlen);
		if (e == 0 && ret == 0)
			*regs |= kinds[i].reg;
	}
	return e;
}

static int remote_process(struct ps_remote *r, uint64_t scratch, struct ps_attributes *a,
			  char *err, size_t errlen)
{
	long ret;
	int e = remote_value(r, PR_GET_THP_DISABLE, 0, &a->thp_disable,
			     "prctl(PR_GET_THP_DISABLE)", err, errlen);

	if (e == 0)
		e = remote_get_into(r, SYS_prctl, PR_GET_CHILD_SUBREAPER, scratch,
				    &a->child_subreaper, sizeof(int),
				    "prctl(PR_GET_CHILD_SUBREAPER)", err, errlen);
	if (e == 0)
		e = remote_value(r, PS_PR_GET_MEMORY_MERGE, -1, &a->memory_merge,
				 "prctl(PR_GET_MEMORY_MERGE)", err, errlen);
	if (e == 0)
		e = remote_value(r, PS_PR_GET_MDWE, -1, &a->mdwe, "prctl(PR_GET_MDWE)", err, errlen);
	if (e == 0)
		e = remote_membarrier(r, &a->membarrier, err, errlen);
	/* Linux 6.17: the size of the process's private futex hash (0: the
	 * global one, which a single-threaded process uses until it has a
	 * second thread). */
	if (e == 0)
		e = remote_get(r, SYS_prctl, PS_PR_FUTEX_HASH, PS_PR_FUTEX_HASH_GET_SLOTS, 0, &ret,
			       "prctl(PR_FUTEX_HASH_GET_SLOTS)", err, errlen);
	if (e == 0)
		a->futex_slots = ret < 0 ? -1 : (int)ret;
	if (e == 0)
		e = remote_get_into(r, SYS_arch_prctl, PS_ARCH_GET_XCOMP_PERM, scratch,
				    &a->xcomp_perm, sizeof(uint64_t),
				    "arch_prctl(ARCH_GET_XCOMP_PERM)", err, errlen);
	return e;
}

int ps_capture_attributes_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
				 size_t thread, char *err, size_t errlen)
{
	int e;

	if (!m->attrs.present || thread >= m->attrs.nthreads)
		return 0;
	e = remote_thread(r, scratch, &m->attrs.threads[thread], err, errlen);
	if (e == 0 && thread == 0)
		e = remote_process(r, scratch, &m->attrs, err, errlen);
	return e;
}
