/* Checks and restore of the attributes part: what the process and each thread
 * set on themselves, put back by injected calls, or refused by name. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/sched/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "backend/prctl_abi.h"
#include "backend/proc_parse.h"
#include "restore/part_restore.h"
#include "restore/validate.h"

#define SCHED_FIFO_NR 1
#define SCHED_RR_NR 2
#define SCHED_DEADLINE_NR 6

static const char *const spec_names[3] = {
	"speculative store bypass", "indirect branch speculation", "L1D flush",
};

static int call_ok(long rc)
{
	return rc < 0 ? (int)rc : 0;
}

/* ---- checks ---- */

/* The number in /proc/<name> ("self/loginuid", "1234/loginuid"); def
 * when the file is missing. */
static long long proc_number(const char *name, long long def)
{
	char path[64], *text;
	size_t len;
	long long v = def;

	snprintf(path, sizeof(path), "/proc/%s", name);
	if (ps_read_file(path, &text, &len) == 0) {
		v = strtoll(text, NULL, 10);
		free(text);
	}
	return v;
}

static int own_cap(int cap)
{
	struct ps_status st;

	if (ps_read_status(getpid(), &st) < 0)
		return 0;
	free(st.groups);
	return (st.cap_eff >> cap) & 1;
}

/*
 * A value below the process's oom_score_adj_min needs CAP_SYS_RESOURCE.
 * The min is not shown anywhere; the stub inherits procsnap's, which is at
 * most procsnap's own oom_score_adj: anything from there up can be set.
 */
static int check_oom(const struct ps_check *v, const struct ps_attributes *a)
{
	long long own = proc_number("self/oom_score_adj", 0);

	if (a->oom_score_adj < own && !own_cap(CAP_SYS_RESOURCE))
		return ps_refuse(v, -EPERM, "oom_score_adj %d is below procsnap's own (%lld): "
				 "lowering it needs CAP_SYS_RESOURCE, which procsnap lacks",
				 a->oom_score_adj, own);
	if (v->uid && a->oom_score_adj < 0)
		return ps_refuse(v, -EPERM, "oom_score_adj %d is below 0: only root may restore "
				 "a process the OOM killer spares", a->oom_score_adj);
	return 0;
}

static int check_process(const struct ps_check *v)
{
	const struct ps_attributes *a = &v->m->attrs;
	long long loginuid = proc_number("self/loginuid", (uint32_t)-1);
	int rc = check_oom(v, a);

	if (rc)
		return rc;
	if (a->untag_mask != UINT64_MAX)
		return ps_refuse(v, -ENOTSUP, "the process uses linear address masking (untag mask "
				 "%#llx): restoring it is not supported",
				 (unsigned long long)a->untag_mask);
	/* The stub inherits procsnap's loginuid. A task may set its own
	 * while it is unset, with no privilege; once set, a change needs
	 * CAP_AUDIT_CONTROL. A non-root caller gets only procsnap's, or its
	 * own uid (which its login gave its processes) over an unset one. */
	if (v->uid && a->loginuid != (uint32_t)loginuid &&
	    (a->loginuid != v->uid || (uint32_t)loginuid != (uint32_t)-1))
		return ps_refuse(v, -EPERM, "loginuid %u is neither procsnap's (%u) nor yours over "
				 "an unset one: setting it needs CAP_AUDIT_CONTROL, only root may "
				 "restore it", a->loginuid, (uint32_t)loginuid);
	if (a->autogroup_nice && v->m->proc.sid != v->m->proc.pid)
		return ps_refuse(v, -ENOTSUP, "autogroup nice %d belongs to the session of %d, "
				 "which the restore does not make: setting it would change that "
				 "session's other processes", a->autogroup_nice, v->m->proc.sid);
	if (v->uid && a->autogroup_nice < 0)
		return ps_refuse(v, -EPERM, "autogroup nice %d is below 0: only root may restore it",
				 a->autogroup_nice);
	return 0;
}

/* The soft limit res will have once restored for a non-root caller: the
 * image's, clamped to the hard limit the stub inherits from procsnap
 * (caller mode cannot raise a hard limit). */
static uint64_t restored_limit(const struct ps_check *v, int res)
{
	uint64_t want = v->m->proc.rlimits[res].cur;
	struct rlimit own;

	if (getrlimit(res, &own) == 0 && own.rlim_max != RLIM_INFINITY && own.rlim_max < want)
		return own.rlim_max;
	return want;
}

/* What an unprivileged process may set of its own scheduling (the
 * kernel's rules: RLIMIT_NICE and RLIMIT_RTPRIO bound nice and real-time
 * priority; SCHED_DEADLINE needs CAP_SYS_NICE). */
static int check_sched_unprivileged(const struct ps_check *v, const struct ps_thread_attrs *t)
{
	const struct ps_sched *s = &t->sched;
	uint64_t nice_lim = restored_limit(v, RLIMIT_NICE);
	uint64_t rt_lim = restored_limit(v, RLIMIT_RTPRIO);

	if (s->policy == SCHED_DEADLINE_NR)
		return ps_refuse(v, -EPERM, "thread %d runs SCHED_DEADLINE: only root may restore it",
				 t->tid);
	if (s->nice < 0 && (uint64_t)(20 - s->nice) > nice_lim)
		return ps_refuse(v, -EPERM, "thread %d has nice %d, below what its RLIMIT_NICE "
				 "(%llu) allows without CAP_SYS_NICE", t->tid, s->nice,
				 (unsigned long long)nice_lim);
	if ((s->policy == SCHED_FIFO_NR || s->policy == SCHED_RR_NR) && s->priority > rt_lim)
		return ps_refuse(v, -EPERM, "thread %d has real-time priority %u, above what its "
				 "RLIMIT_RTPRIO (%llu) allows without CAP_SYS_NICE", t->tid,
				 s->priority, (unsigned long long)rt_lim);
	if ((t->ioprio >> PS_IOPRIO_CLASS_SHIFT) == PS_IOPRIO_CLASS_RT)
		return ps_refuse(v, -EPERM, "thread %d has a real-time io priority: only root may "
				 "restore it", t->tid);
	return 0;
}

static int check_thread(const struct ps_check *v, const struct ps_thread_attrs *t)
{
	const struct ps_creds *cr = &v->m->proc.creds;

	if (t->io_flusher)
		return ps_refuse(v, -EPERM, "thread %d is an IO flusher (PR_SET_IO_FLUSHER): setting "
				 "it needs CAP_SYS_RESOURCE, which procsnap does not use", t->tid);
	if (t->core_cookie)
		return ps_refuse(v, -ENOTSUP, "thread %d has a core scheduling cookie "
				 "(PR_SCHED_CORE): the tasks it shares it with cannot be found "
				 "again", t->tid);
	if (t->sud_mode)
		return ps_refuse(v, -ENOTSUP, "thread %d has syscall user dispatch on: restoring "
				 "it is not supported", t->tid);
	if (t->mempolicy)
		return ps_refuse(v, -ENOTSUP, "thread %d has a NUMA memory policy (set_mempolicy "
				 "mode %d): restoring it is not supported", t->tid, t->mempolicy);
	if (t->shstk)
		return ps_refuse(v, -ENOTSUP, "thread %d has a user shadow stack: restoring it is "
				 "not supported", t->tid);
	if (t->securebits != cr->securebits || t->no_new_privs != cr->no_new_privs)
		return ps_refuse(v, -ENOTSUP, "thread %d's securebits %#x and no_new_privs %d differ "
				 "from the main thread's (%#x, %d): per-thread credentials are not "
				 "restored", t->tid, (unsigned)t->securebits, t->no_new_privs,
				 (unsigned)cr->securebits, cr->no_new_privs);
	return v->uid ? check_sched_unprivileged(v, t) : 0;
}

int ps_validate_attributes(const struct ps_check *v)
{
	const struct ps_attributes *a = &v->m->attrs;
	int rc;

	if (!a->present)
		return 0;
	rc = check_process(v);
	for (size_t i = 0; rc == 0 && i < a->nthreads; i++)
		rc = check_thread(v, &a->threads[i]);
	return rc;
}

/* ---- the process's, from the main thread, before the credentials ---- */

/* Write text to /proc/<stub>/<name> from procsnap: the kernel checks the
 * writer's rights (oom_score_adj: CAP_SYS_RESOURCE below the min), which
 * validation already matched against the caller's. */
static int write_stub_file(struct ps_rctx *c, const char *name, const char *text)
{
	char path[64];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", c->pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		rc = ps_rfail(c, -errno, "writing \"%s\" to %s: %s", text, path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The stub's /proc/self/loginuid, opened for writing. The files of a task's
 * /proc directory belong to its euid only while it is dumpable (to root
 * otherwise), and caller mode's uid change has made the stub non-dumpable:
 * made dumpable for the open, the file is the caller's to open. (Dumpable
 * opens no ptrace: the stub's saved uid 0 and permitted capabilities still
 * keep the caller out.) */
static long open_own_loginuid(struct ps_rctx *c, uint64_t path)
{
	long was = 1, fd, rc = 0;

	if (c->as_caller)
		was = ps_rcall(c, "prctl(PR_GET_DUMPABLE)", SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0, 0);
	if (was < 0)
		return was;
	if (was != 1)
		rc = ps_rcall(c, "prctl(PR_SET_DUMPABLE, 1)", SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0, 0);
	if (rc < 0)
		return rc;
	fd = ps_rcall(c, "open /proc/self/loginuid", SYS_openat, (uint64_t)AT_FDCWD, path,
		      O_WRONLY | O_CLOEXEC, 0, 0, 0);
	if (was != 1)
		rc = ps_rcall(c, "prctl(PR_SET_DUMPABLE) back", SYS_prctl, PR_SET_DUMPABLE, (uint64_t)was,
			      0, 0, 0, 0);
	if (rc < 0 && fd >= 0)
		ps_rcall(c, "close", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
	return rc < 0 ? rc : fd;
}

/* loginuid can only be written by the process itself (the kernel refuses
 * any other writer), so the stub writes its own, in caller mode for a
 * non-root caller (a process step): the kernel checks the writer's rights
 * at the write, and then allows only what needs no privilege, setting an
 * unset one. Nothing when the stub already has the image's. */
int ps_restore_loginuid(struct ps_rctx *c)
{
	static const char path[] = "/proc/self/loginuid";
	uint32_t loginuid = c->m->attrs.loginuid;
	char text[16], file[64];
	uint64_t addr;
	long fd;
	int rc;

	snprintf(file, sizeof(file), "%d/loginuid", c->pid);
	if (!c->m->attrs.present || proc_number(file, -1) == (long long)loginuid ||
	    access("/proc/self/loginuid", F_OK) < 0)
		return 0;
	snprintf(text, sizeof(text), "%u", loginuid);
	addr = ps_rput(c, 0, path, sizeof(path));
	if (!addr || !ps_rput(c, 64, text, strlen(text)))
		return -EIO;
	fd = open_own_loginuid(c, addr);
	if (fd < 0)
		return (int)fd;
	rc = call_ok(ps_rcall(c, "write loginuid", SYS_write, (uint64_t)fd, addr + 64,
			      strlen(text), 0, 0, 0));
	ps_rcall(c, "close", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
	return rc;
}

/* A prctl GET in the stub, compared with the image's value; the SET runs
 * only when they differ, so an attribute left at its default costs one
 * call and never needs a right. */
static int set_if_different(struct ps_rctx *c, const char *name, uint64_t get, uint64_t set,
			    long want)
{
	char what[96];
	long now;

	snprintf(what, sizeof(what), "prctl(PR_GET_%s)", name);
	now = ps_rcall(c, what, SYS_prctl, get, 0, 0, 0, 0, 0);
	if (now < 0 || now == want)
		return now < 0 ? (int)now : 0;
	snprintf(what, sizeof(what), "prctl(PR_SET_%s, %ld)", name, want);
	return call_ok(ps_rcall(c, what, SYS_prctl, set, (uint64_t)want, 0, 0, 0, 0));
}

static int restore_membarrier(struct ps_rctx *c, uint32_t regs)
{
	for (uint32_t bit = 1; bit && regs; bit <<= 1) {
		char what[64];
		int rc;

		if (!(regs & bit))
			continue;
		regs &= ~bit;
		snprintf(what, sizeof(what), "membarrier(register %#x)", bit);
		rc = call_ok(ps_rcall(c, what, SYS_membarrier, bit, 0, 0, 0, 0, 0));
		if (rc)
			return rc;
	}
	return 0;
}

/* The stub's ARCH_GET_XCOMP_PERM, through the scratch area. */
static int get_xcomp(struct ps_rctx *c, uint64_t *have)
{
	uint64_t addr = ps_rput(c, 0, have, sizeof(*have));
	long rc;

	if (!addr)
		return -EIO;
	rc = ps_rcall(c, "arch_prctl(ARCH_GET_XCOMP_PERM)", SYS_arch_prctl, PS_ARCH_GET_XCOMP_PERM,
		      addr, 0, 0, 0, 0);
	return rc < 0 ? (int)rc : ps_rget(c, addr, have, sizeof(*have));
}

/* ARCH_REQ_XCOMP_PERM takes one dynamic feature (AMX's tile data, 18) at
 * a time and grants the ones it depends on with it: asked for each
 * feature still missing, in order. */
static int restore_xcomp(struct ps_rctx *c, uint64_t want)
{
	uint64_t have = 0;
	int rc = get_xcomp(c, &have);

	for (int bit = 0; rc == 0 && bit < 64; bit++) {
		char what[64];

		if (!(want & ~have & (1ULL << bit)))
			continue;
		snprintf(what, sizeof(what), "arch_prctl(ARCH_REQ_XCOMP_PERM, %d)", bit);
		rc = call_ok(ps_rcall(c, what, SYS_arch_prctl, PS_ARCH_REQ_XCOMP_PERM, (uint64_t)bit,
				      0, 0, 0, 0));
		if (rc == 0)
			rc = get_xcomp(c, &have);
	}
	return rc;
}

/* The private futex hash's size, once the threads exist (the kernel makes
 * a default one with the second thread): set only when it differs from
 * the one the new process got, since a size set is no longer resized as
 * threads come, and 0 (the global hash) is for good. The kernel replaces
 * the hash when no futex operation uses the old one. */
static int restore_futex_hash(struct ps_rctx *c, int slots)
{
	char what[64];
	long now;

	if (slots < 0)
		return 0;
	now = ps_rcall(c, "prctl(PR_FUTEX_HASH_GET_SLOTS)", SYS_prctl, PS_PR_FUTEX_HASH,
		       PS_PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0, 0);
	if (now < 0 || now == slots)
		return now < 0 ? (int)now : 0;
	snprintf(what, sizeof(what), "prctl(PR_FUTEX_HASH_SET_SLOTS, %d)", slots);
	return call_ok(ps_rcall(c, what, SYS_prctl, PS_PR_FUTEX_HASH, PS_PR_FUTEX_HASH_SET_SLOTS,
				(uint64_t)slots, 0, 0, 0));
}

static int restore_process_files(struct ps_rctx *c, const struct ps_attributes *a)
{
	char text[32];
	int rc;

	snprintf(text, sizeof(text), "%d", a->oom_score_adj);
	rc = write_stub_file(c, "oom_score_adj", text);
	snprintf(text, sizeof(text), "%#x", (unsigned)a->coredump_filter);
	if (!rc)
		rc = write_stub_file(c, "coredump_filter", text);
	/* The stub leads its own session by now when the image's process led
	 * one (validation refused a nice for any other session). */
	snprintf(text, sizeof(text), "%d", a->autogroup_nice);
	if (!rc && c->m->proc.sid == c->m->proc.pid && access("/proc/self/autogroup", F_OK) == 0)
		rc = write_stub_file(c, "autogroup", text);
	return rc;
}

int ps_restore_process_attributes(struct ps_rctx *c)
{
	const struct ps_attributes *a = &c->m->attrs;
	int rc;

	if (!a->present)
		return 0;
	rc = restore_process_files(c, a);
	if (!rc)
		rc = set_if_different(c, "THP_DISABLE", PR_GET_THP_DISABLE, PR_SET_THP_DISABLE,
				      a->thp_disable);
	if (!rc)
		rc = call_ok(ps_rcall(c, "prctl(PR_SET_CHILD_SUBREAPER)", SYS_prctl,
				      PR_SET_CHILD_SUBREAPER, (uint64_t)a->child_subreaper, 0, 0, 0,
				      0));
	if (!rc && a->memory_merge >= 0)
		rc = set_if_different(c, "MEMORY_MERGE", PS_PR_GET_MEMORY_MERGE,
				      PS_PR_SET_MEMORY_MERGE, a->memory_merge);
	if (!rc)
		rc = restore_membarrier(c, a->membarrier);
	if (!rc)
		rc = restore_xcomp(c, a->xcomp_perm);
	if (!rc)
		rc = restore_futex_hash(c, a->futex_slots);
	return rc;
}

/* PR_SET_MDWE forbids any later mapping or mprotect that makes memory
 * writable and executable, and cannot be undone: once the layout is
 * whole, as late as possible. */
int ps_restore_mdwe(struct ps_rctx *c)
{
	const struct ps_attributes *a = &c->m->attrs;

	if (!a->present || a->mdwe <= 0)
		return 0;
	return set_if_different(c, "MDWE", PS_PR_GET_MDWE, PS_PR_SET_MDWE, a->mdwe);
}

/* ---- each thread's, in the thread, before the credentials ---- */

/* For a fair policy, sched_runtime is the thread's time slice (Linux
 * 6.12), which sched_getattr reports even when it is the default: a
 * runtime equal to the stub's is passed as 0 (the default), so that it is
 * not pinned as a slice of the thread's own choosing. */
static int fair_runtime(struct ps_rctx *c, const struct ps_sched *s, uint64_t *runtime)
{
	struct sched_attr now;
	uint64_t addr;
	long rc;

	*runtime = s->runtime;
	if (s->policy == SCHED_DEADLINE_NR || !s->runtime)
		return 0;
	memset(&now, 0, sizeof(now));
	addr = ps_rput(c, 0, &now, sizeof(now));
	if (!addr)
		return -EIO;
	rc = ps_rcall(c, "sched_getattr", SYS_sched_getattr, 0, addr, sizeof(now), 0, 0, 0);
	if (rc == 0)
		rc = ps_rget(c, addr, &now, sizeof(now));
	if (rc == 0 && now.sched_runtime == s->runtime)
		*runtime = 0;
	return call_ok(rc);
}

/*
 * The timer slack first: the kernel ignores PR_SET_TIMERSLACK in a
 * real-time or deadline thread. Then nice with setpriority (sched_setattr
 * keeps a nice only for the fair policies), then the policy with its
 * parameters, reset-on-fork and, when not the defaults, the util clamps
 * (a kernel without CONFIG_UCLAMP_TASK refuses their flags).
 */
static int restore_sched(struct ps_rctx *c, const struct ps_thread_attrs *t)
{
	const struct ps_sched *s = &t->sched;
	struct sched_attr at;
	uint64_t addr, runtime;
	char what[96];
	long rc;

	rc = fair_runtime(c, s, &runtime);
	if (rc < 0)
		return (int)rc;
	snprintf(what, sizeof(what), "thread %d: setpriority(nice %d)", t->tid, s->nice);
	rc = ps_rcall(c, what, SYS_setpriority, PRIO_PROCESS, 0, (uint64_t)(int64_t)s->nice, 0, 0,
		      0);
	if (rc < 0)
		return (int)rc;
	memset(&at, 0, sizeof(at));
	at.size = sizeof(at);
	at.sched_policy = s->policy;
	at.sched_flags = s->flags & PS_SCHED_FLAG_RESET_ON_FORK;
	at.sched_nice = s->nice;
	at.sched_priority = s->priority;
	at.sched_runtime = runtime;
	at.sched_deadline = s->deadline;
	at.sched_period = s->period;
	if (s->util_min != 0 || s->util_max != PS_SCHED_UTIL_MAX) {
		at.sched_flags |= PS_SCHED_FLAG_UTIL_CLAMP;
		at.sched_util_min = s->util_min;
		at.sched_util_max = s->util_max;
	}
	addr = ps_rput(c, 0, &at, sizeof(at));
	if (!addr)
		return -EIO;
	snprintf(what, sizeof(what), "thread %d: sched_setattr(policy %u, priority %u)", t->tid,
		 s->policy, s->priority);
	return call_ok(ps_rcall(c, what, SYS_sched_setattr, 0, addr, 0, 0, 0, 0));
}

/* The CPUs the thread may run on; the kernel keeps those of them the
 * cpuset allows, and fails (EINVAL) when that leaves none. */
static int restore_affinity(struct ps_rctx *c, const struct ps_thread_attrs *t)
{
	uint64_t addr = ps_rput(c, 0, t->cpus, sizeof(t->cpus));
	char what[96];

	if (!addr)
		return -EIO;
	snprintf(what, sizeof(what), "thread %d: sched_setaffinity(CPUs %#llx...)", t->tid,
		 (unsigned long long)t->cpus[0]);
	return call_ok(ps_rcall(c, what, SYS_sched_setaffinity, 0, sizeof(t->cpus), addr, 0, 0,
				0));
}

/* Only when it differs from the stub's: an io priority never set follows
 * the nice value, and setting the one it reads now would pin it. */
static int restore_ioprio(struct ps_rctx *c, const struct ps_thread_attrs *t)
{
	char what[96];
	long now = ps_rcall(c, "ioprio_get", SYS_ioprio_get, PS_IOPRIO_WHO_PROCESS, 0, 0, 0, 0, 0);

	if (now < 0 || (uint32_t)now == t->ioprio)
		return call_ok(now);
	snprintf(what, sizeof(what), "thread %d: ioprio_set(%#x)", t->tid, (unsigned)t->ioprio);
	return call_ok(ps_rcall(c, what, SYS_ioprio_set, PS_IOPRIO_WHO_PROCESS, 0, t->ioprio, 0, 0,
				0));
}

/* Only the misfeatures the kernel lets a task control (PR_SPEC_PRCTL in
 * what it reported) and whose state differs from the stub's. */
static int restore_speculation(struct ps_rctx *c, const struct ps_thread_attrs *t)
{
	for (int which = 0; which < 3; which++) {
		int want = t->spec[which];
		char what[128];
		long now;

		if (want < 0 || !(want & PS_PR_SPEC_PRCTL))
			continue;
		now = ps_rcall(c, "prctl(PR_GET_SPECULATION_CTRL)", SYS_prctl,
			       PR_GET_SPECULATION_CTRL, (uint64_t)which, 0, 0, 0, 0);
		if (now < 0)
			return (int)now;
		if (now == want)
			continue;
		if (now & PS_PR_SPEC_FORCE_DISABLE)
			return ps_rfail(c, -EPERM, "thread %d: %s was force-disabled in the new "
					"process, which cannot be undone", t->tid,
					spec_names[which]);
		snprintf(what, sizeof(what), "thread %d: prctl(PR_SET_SPECULATION_CTRL, %s, %#x)",
			 t->tid, spec_names[which], (unsigned)(want & ~PS_PR_SPEC_PRCTL));
		now = ps_rcall(c, what, SYS_prctl, PR_SET_SPECULATION_CTRL, (uint64_t)which,
			       (uint64_t)(want & ~PS_PR_SPEC_PRCTL), 0, 0, 0);
		if (now < 0)
			return (int)now;
	}
	return 0;
}

static int restore_thread_flags(struct ps_rctx *c, const struct ps_thread_attrs *t)
{
	char what[96];
	long rc = 0;

	/* PR_MCE_KILL_GET said LATE (0) or EARLY (1) for a thread that chose,
	 * DEFAULT (2) for one that follows the sysctl. */
	if (t->mce_kill != PR_MCE_KILL_DEFAULT) {
		snprintf(what, sizeof(what), "thread %d: prctl(PR_MCE_KILL, %d)", t->tid, t->mce_kill);
		rc = ps_rcall(c, what, SYS_prctl, PR_MCE_KILL, PR_MCE_KILL_SET, (uint64_t)t->mce_kill,
			      0, 0, 0);
	}
	if (rc >= 0 && t->tsc == PR_TSC_SIGSEGV) {
		snprintf(what, sizeof(what), "thread %d: prctl(PR_SET_TSC, PR_TSC_SIGSEGV)", t->tid);
		rc = ps_rcall(c, what, SYS_prctl, PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0, 0);
	}
	/* ARCH_SET_CPUID fails with ENODEV on a CPU without CPUID faulting;
	 * the capture then read 1 (allowed), so it is only asked for 0. */
	if (rc >= 0 && !t->cpuid) {
		snprintf(what, sizeof(what), "thread %d: arch_prctl(ARCH_SET_CPUID, 0)", t->tid);
		rc = ps_rcall(c, what, SYS_arch_prctl, PS_ARCH_SET_CPUID, 0, 0, 0, 0, 0);
	}
	return call_ok(rc);
}

int ps_restore_thread_attributes(struct ps_rctx *c, const struct ps_thread *t)
{
	const struct ps_attributes *a = &c->m->attrs;
	const struct ps_thread_attrs *ta = NULL;
	char what[96];
	int rc;

	for (size_t i = 0; a->present && i < a->nthreads && !ta; i++)
		if (a->threads[i].tid == t->tid)
			ta = &a->threads[i];
	if (!ta)
		return 0;
	snprintf(what, sizeof(what), "thread %d: prctl(PR_SET_TIMERSLACK, %llu)", t->tid,
		 (unsigned long long)ta->timerslack_ns);
	rc = call_ok(ps_rcall(c, what, SYS_prctl, PR_SET_TIMERSLACK, ta->timerslack_ns, 0, 0, 0,
			      0));
	if (!rc)
		rc = restore_ioprio(c, ta);
	if (!rc)
		rc = restore_affinity(c, ta);
	if (!rc)
		rc = restore_speculation(c, ta);
	if (!rc)
		rc = restore_thread_flags(c, ta);
	if (!rc)
		rc = restore_sched(c, ta);
	return rc;
}

/* ---- each thread's, after the credentials ---- */

/* A change of credentials clears the parent-death signal (commit_creds),
 * so it is set once they are final. */
int ps_restore_thread_pdeathsig(struct ps_rctx *c, const struct ps_thread *t)
{
	const struct ps_attributes *a = &c->m->attrs;
	char what[96];

	for (size_t i = 0; a->present && i < a->nthreads; i++) {
		if (a->threads[i].tid != t->tid || !a->threads[i].pdeathsig)
			continue;
		snprintf(what, sizeof(what), "thread %d: prctl(PR_SET_PDEATHSIG, %d)", t->tid,
			 a->threads[i].pdeathsig);
		return call_ok(ps_rcall(c, what, SYS_prctl, PR_SET_PDEATHSIG,
					(uint64_t)a->threads[i].pdeathsig, 0, 0, 0, 0));
	}
	return 0;
}
