/* Checks and restore of seccomp: the chain every thread shares installed with
 * TSYNC, each thread's own filters in it, strict mode; all before credentials. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "restore/part_restore.h"
#include "restore/validate.h"

#define CAP_SYS_ADMIN_BIT 21

/* How many threads hold each filter in their chain (filters[i] is in
 * thread t's chain when it is t's filter or an ancestor of it). */
static size_t *holders(const struct ps_seccomp *s)
{
	size_t *n = calloc(s->nfilters ? s->nfilters : 1, sizeof(*n));

	for (size_t t = 0; n && t < s->nthreads; t++)
		for (long f = s->threads[t].filter; f >= 0; f = s->filters[f].parent)
			n[f]++;
	return n;
}

/* A filter all threads hold is shared, installed once with TSYNC. */
static int is_shared(const struct ps_seccomp *s, const size_t *held, long f)
{
	return held[f] == s->nthreads;
}

static long first_thread_holding(const struct ps_seccomp *s, long filter, size_t skip)
{
	for (size_t t = 0; t < s->nthreads; t++)
		for (long f = s->threads[t].filter; t >= skip && f >= 0; f = s->filters[f].parent)
			if (f == filter)
				return (long)t;
	return -1;
}

/*
 * A filter some threads share and others do not was inherited by clone
 * from a thread that had it, after other threads were made: TSYNC, the
 * only way to give one filter to threads that exist, gives it to all.
 */
static int check_tree_shape(const struct ps_check *v, const struct ps_seccomp *s, const size_t *held)
{
	for (size_t f = 0; f < s->nfilters; f++) {
		long a, b;
		size_t t;

		if (held[f] < 2 || is_shared(s, held, (long)f))
			continue;
		a = first_thread_holding(s, (long)f, 0);
		b = first_thread_holding(s, (long)f, (size_t)a + 1);
		for (t = 0; t < s->nthreads && first_thread_holding(s, (long)f, t) == (long)t; t++)
			;
		return ps_refuse(v, -ENOTSUP, "threads %d and %d share seccomp filter %zu, which "
				 "thread %d does not have: only a filter every thread holds can be shared "
				 "again (SECCOMP_FILTER_FLAG_TSYNC), so this tree of filters cannot be "
				 "rebuilt", (int)s->threads[a].tid, (int)s->threads[b].tid, f,
				 (int)s->threads[t].tid);
	}
	return 0;
}

/* SECCOMP_RET_USER_NOTIF hands the syscall to whoever holds the filter's
 * listener fd, a supervisor procsnap cannot bring back. */
static int check_no_listener(const struct ps_check *v, const struct ps_seccomp *s)
{
	for (size_t f = 0; f < s->nfilters; f++)
		for (size_t i = 0; i < s->filters[f].ninsns; i++) {
			const struct ps_bpf_insn *in = &s->filters[f].insns[i];
			long t;

			if (in->code != (BPF_RET | BPF_K) ||
			    (in->k & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_USER_NOTIF)
				continue;
			t = first_thread_holding(s, (long)f, 0);
			return ps_refuse(v, -ENOTSUP, "seccomp filter %zu%s%d hands syscalls to a "
					 "supervisor (SECCOMP_RET_USER_NOTIF): its listener cannot be "
					 "rebuilt", f, t >= 0 ? " of thread " : " (held by no thread) ",
					 t >= 0 ? (int)s->threads[t].tid : 0);
		}
	return 0;
}

/* Installing a filter takes CAP_SYS_ADMIN or no_new_privs: a non-root
 * caller gets filters back only where the process itself could. */
static int check_caller_may_install(const struct ps_check *v, const struct ps_seccomp *s)
{
	const struct ps_creds *cr = &v->m->proc.creds;

	if (v->uid == 0 || cr->no_new_privs || (cr->cap_eff & (1ULL << CAP_SYS_ADMIN_BIT)))
		return 0;
	for (size_t t = 0; t < s->nthreads; t++)
		if (s->threads[t].mode == PS_SECCOMP_FILTER)
			return ps_refuse(v, -EPERM, "thread %d has seccomp filters, but the process had "
					 "neither no_new_privs nor CAP_SYS_ADMIN to install them: only "
					 "root may restore it", (int)s->threads[t].tid);
	return 0;
}

int ps_validate_seccomp(const struct ps_check *v)
{
	const struct ps_seccomp *s = &v->m->seccomp;
	size_t *held;
	int rc;

	if (!s->saved && v->m->proc.creds.seccomp != PS_SECCOMP_NONE)
		return ps_refuse(v, -ENOTSUP, "the process has seccomp %s, but the image has no "
				 "seccomp.json (made by an older procsnap) to restore it from",
				 v->m->proc.creds.seccomp == PS_SECCOMP_STRICT ? "strict mode" : "filters");
	if (!s->saved)
		return 0;
	if (s->threads[0].mode != v->m->proc.creds.seccomp)
		return ps_refuse(v, -EINVAL, "seccomp.json gives the main thread seccomp mode %d, "
				 "process.json mode %d", s->threads[0].mode, v->m->proc.creds.seccomp);
	held = holders(s);
	if (!held)
		return ps_refuse(v, -ENOMEM, "out of memory checking seccomp filters");
	rc = check_tree_shape(v, s, held);
	free(held);
	if (rc == 0)
		rc = check_no_listener(v, s);
	if (rc == 0)
		rc = check_caller_may_install(v, s);
	return rc;
}

static int image_has_seccomp(const struct ps_seccomp *s)
{
	for (size_t t = 0; t < s->nthreads; t++)
		if (s->threads[t].mode != PS_SECCOMP_NONE)
			return 1;
	return 0;
}

/*
 * The restorer's own syscalls run in the threads after their filters are
 * in: PTRACE_O_SUSPEND_SECCOMP keeps them unfiltered until the threads are
 * let go (it ends with the ptrace link). The options replace the ones set
 * before (restore/stub.c, restore/threads.c), which are kept.
 */
static int suspend_in_all(struct ps_rctx *c)
{
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE |
		    PTRACE_O_SUSPEND_SECCOMP;

	for (size_t i = 0; i < c->m->nthreads; i++) {
		pid_t tid = c->m->threads[i].tid;

		if (ptrace(PTRACE_SETOPTIONS, tid, 0, (void *)opts) < 0)
			return ps_rfail(c, -errno, "thread %d: PTRACE_O_SUSPEND_SECCOMP, which keeps "
					"procsnap's syscalls out of its filters: %s", tid, strerror(errno));
	}
	return 0;
}

/* The program goes in a mapping of its own (up to 32 KiB, more than the
 * scratch pages hold), unmapped once the kernel has copied it. */
static int install_filter(struct ps_rctx *c, pid_t tid, const struct ps_seccomp_filter *f,
			  size_t index, unsigned flags)
{
	size_t len = sizeof(struct sock_fprog) + f->ninsns * sizeof(struct sock_filter);
	struct sock_filter *prog = calloc(f->ninsns, sizeof(*prog));
	struct sock_fprog fprog;
	struct iovec local[2], remote;
	char what[128];
	long at, rc;

	if (!prog)
		return ps_rfail(c, -ENOMEM, "out of memory for seccomp filter %zu", index);
	for (size_t i = 0; i < f->ninsns; i++)
		prog[i] = (struct sock_filter){ f->insns[i].code, f->insns[i].jt, f->insns[i].jf,
						f->insns[i].k };
	snprintf(what, sizeof(what), "thread %d: memory for seccomp filter %zu", tid, index);
	at = ps_rcall(c, what, SYS_mmap, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      (uint64_t)-1, 0);
	if (at < 0) {
		free(prog);
		return (int)at;
	}
	fprog.len = (unsigned short)f->ninsns;
	fprog.filter = (struct sock_filter *)(at + sizeof(fprog));
	local[0] = (struct iovec){ &fprog, sizeof(fprog) };
	local[1] = (struct iovec){ prog, f->ninsns * sizeof(*prog) };
	remote = (struct iovec){ (void *)at, len };
	rc = process_vm_writev(c->pid, local, 2, &remote, 1, 0) == (ssize_t)len ? 0 : -EIO;
	free(prog);
	if (rc < 0)
		rc = ps_rfail(c, -EIO, "thread %d: writing seccomp filter %zu: %s", tid, index,
			      strerror(errno));
	snprintf(what, sizeof(what), "thread %d: installing seccomp filter %zu", tid, index);
	if (rc == 0)
		rc = ps_rcall(c, what, SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, (uint64_t)at, 0, 0, 0);
	/* With TSYNC, a positive result is the thread that could not follow. */
	if (rc > 0)
		rc = ps_rfail(c, -EBUSY, "thread %d: seccomp filter %zu could not be shared with "
			      "thread %ld (SECCOMP_FILTER_FLAG_TSYNC)", tid, index, rc);
	snprintf(what, sizeof(what), "thread %d: unmapping seccomp filter %zu", tid, index);
	if (ps_rcall(c, what, SYS_munmap, (uint64_t)at, len, 0, 0, 0, 0) < 0 && rc == 0)
		rc = -EIO;
	return (int)rc;
}

static unsigned flags_of(const struct ps_seccomp_filter *f)
{
	return f->log ? SECCOMP_FILTER_FLAG_LOG : 0;
}

/* Filters from the first installed to f (ancestors first), stopping at
 * the shared ones when skip_shared. n: how many were put in order. */
static size_t chain_of(const struct ps_seccomp *s, const size_t *held, long f, int skip_shared,
		       long *order)
{
	size_t n = 0;

	for (; f >= 0 && !(skip_shared && is_shared(s, held, f)); f = s->filters[f].parent)
		order[n++] = f;
	for (size_t i = 0; i < n / 2; i++) {
		long x = order[i];

		order[i] = order[n - 1 - i];
		order[n - 1 - i] = x;
	}
	return n;
}

/* Install thread tid's chain (shared: the part every thread holds, with
 * TSYNC; else: the part only it holds), oldest first. */
static int install_chain(struct ps_rctx *c, pid_t tid, long leaf, int shared)
{
	const struct ps_seccomp *s = &c->m->seccomp;
	size_t *held = holders(s), n;
	long *order = calloc(s->nfilters ? s->nfilters : 1, sizeof(*order));
	int rc = 0;

	if (!held || !order) {
		free(held);
		free(order);
		return ps_rfail(c, -ENOMEM, "out of memory installing seccomp filters");
	}
	if (shared) {
		while (leaf >= 0 && !is_shared(s, held, leaf))
			leaf = s->filters[leaf].parent;
		n = chain_of(s, held, leaf, 0, order);
	} else {
		n = chain_of(s, held, leaf, 1, order);
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = install_filter(c, tid, &s->filters[order[i]], (size_t)order[i],
				    flags_of(&s->filters[order[i]]) | (shared ? SECCOMP_FILTER_FLAG_TSYNC : 0));
	free(held);
	free(order);
	return rc;
}

/*
 * Once every thread exists, from the main thread: TSYNC gives the filters
 * to every thread of the process, which may not be in strict mode or hold
 * other filters yet: the shared chain goes first, before any thread's own.
 */
int ps_restore_seccomp_shared(struct ps_rctx *c)
{
	const struct ps_seccomp *s = &c->m->seccomp;
	int rc;

	if (!s->saved || !image_has_seccomp(s))
		return 0;
	rc = suspend_in_all(c);
	if (rc == 0 && s->threads[0].mode == PS_SECCOMP_FILTER)
		rc = install_chain(c, c->pid, s->threads[0].filter, 1);
	return rc;
}

static const struct ps_seccomp_thread *seccomp_of(const struct ps_seccomp *s, pid_t tid)
{
	for (size_t i = 0; i < s->nthreads; i++)
		if (s->threads[i].tid == tid)
			return &s->threads[i];
	return NULL;
}

/* Strict mode allows read, write, _exit and sigreturn only; it is entered
 * by the thread itself and cannot be left. */
int ps_restore_seccomp_thread(struct ps_rctx *c, const struct ps_thread *t)
{
	const struct ps_seccomp *s = &c->m->seccomp;
	const struct ps_seccomp_thread *st = s->saved ? seccomp_of(s, t->tid) : NULL;
	char what[96];
	long rc;

	if (!st || st->mode == PS_SECCOMP_NONE)
		return 0;
	if (st->mode == PS_SECCOMP_FILTER)
		return install_chain(c, t->tid, st->filter, 0);
	snprintf(what, sizeof(what), "thread %d: seccomp strict mode", t->tid);
	rc = ps_rcall(c, what, SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, 0, 0, 0, 0);
	return rc < 0 ? (int)rc : 0;
}
