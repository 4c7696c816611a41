/* Capture of seccomp: each thread's mode (Seccomp: of its status) and its
 * chain of filters read with ptrace, identical chains saved once. */
#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#include "backend/part_capture.h"
#include "backend/proc_parse.h"
#include "backend/sentence.h"
#include "image/image_limits.h"

#define FLAG_LOG 2                     /* SECCOMP_FILTER_FLAG_LOG */

static int read_mode(pid_t tid, int *mode, char *err, size_t errlen)
{
	struct ps_status st;

	if (ps_read_status(tid, &st) < 0)
		return ps_fail(err, errlen, -EIO, "thread %d: reading its status for its seccomp mode", tid);
	free(st.groups);
	if (st.seccomp < PS_SECCOMP_NONE || st.seccomp > PS_SECCOMP_FILTER)
		return ps_fail(err, errlen, -ENOTSUP, "thread %d: seccomp mode %d, which procsnap does "
			       "not know", tid, st.seccomp);
	*mode = st.seccomp;
	return 0;
}

/*
 * PTRACE_SECCOMP_GET_FILTER counts from the first installed filter (0:
 * the kernel walks back from the newest to the oldest) to the most recent,
 * and fails with ENOENT past it; it needs CAP_SYS_ADMIN and a stopped
 * tracee. Called with no buffer it returns the program's length.
 */
static int read_filter(pid_t tid, unsigned long index, struct ps_seccomp_filter *f, char *err,
		       size_t errlen)
{
	struct __ptrace_seccomp_metadata md = { .filter_off = index };
	struct sock_filter *prog;
	long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)index, NULL);

	if (n < 0)
		return errno == ENOENT ? 1 :
			ps_fail(err, errlen, -errno, "thread %d: reading its seccomp filter %lu "
				"(PTRACE_SECCOMP_GET_FILTER): %s", tid, index, strerror(errno));
	if (n == 0 || n > PS_MAX_SECCOMP_INSNS)
		return ps_fail(err, errlen, -E2BIG, "thread %d: its seccomp filter %lu has %ld "
			       "instructions", tid, index, n);
	prog = calloc((size_t)n, sizeof(*prog));
	f->insns = calloc((size_t)n, sizeof(*f->insns));
	if (!prog || !f->insns) {
		free(prog);
		return -ENOMEM;
	}
	if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)index, prog) != n) {
		free(prog);
		return ps_fail(err, errlen, -EIO, "thread %d: its seccomp filter %lu changed while "
			       "being read", tid, index);
	}
	for (long i = 0; i < n; i++)
		f->insns[i] = (struct ps_bpf_insn){ prog[i].code, prog[i].jt, prog[i].jf, prog[i].k };
	free(prog);
	f->ninsns = (size_t)n;
	/* Only SECCOMP_FILTER_FLAG_LOG is kept by the kernel to be told. */
	if (ptrace(PTRACE_SECCOMP_GET_METADATA, tid, (void *)sizeof(md), &md) < 0)
		return ps_fail(err, errlen, -errno, "thread %d: the flags of its seccomp filter %lu "
			       "(PTRACE_SECCOMP_GET_METADATA): %s", tid, index, strerror(errno));
	f->log = (md.flags & FLAG_LOG) != 0;
	return 0;
}

static int same_filter(const struct ps_seccomp_filter *a, const struct ps_seccomp_filter *b)
{
	return a->parent == b->parent && a->log == b->log && a->ninsns == b->ninsns &&
	       memcmp(a->insns, b->insns, a->ninsns * sizeof(*a->insns)) == 0;
}

/* The index of f (its parent already set) among the saved filters: an
 * identical filter on an identical chain is the same one (the kernel offers
 * no kcmp for filters); f is taken over or freed. */
static long add_filter(struct ps_seccomp *s, struct ps_seccomp_filter *f)
{
	struct ps_seccomp_filter *grown;

	for (size_t i = 0; i < s->nfilters; i++)
		if (same_filter(&s->filters[i], f)) {
			free(f->insns);
			return (long)i;
		}
	if (s->nfilters == PS_MAX_SECCOMP_FILTERS) {
		free(f->insns);
		return -E2BIG;
	}
	grown = realloc(s->filters, (s->nfilters + 1) * sizeof(*grown));
	if (!grown) {
		free(f->insns);
		return -ENOMEM;
	}
	s->filters = grown;
	s->filters[s->nfilters] = *f;
	return (long)s->nfilters++;
}

/* The thread's chain, read and saved oldest first. */
static int capture_chain(pid_t tid, struct ps_seccomp *s, long *leaf, char *err, size_t errlen)
{
	struct ps_seccomp_filter *chain = NULL, *grown;
	size_t n = 0;
	long parent = -1;
	int rc = 0;

	for (;;) {
		struct ps_seccomp_filter f = { .parent = -1 };

		rc = n == PS_MAX_SECCOMP_FILTERS ? -E2BIG : read_filter(tid, n, &f, err, errlen);
		if (rc) {
			free(f.insns);
			break;
		}
		grown = realloc(chain, (n + 1) * sizeof(*grown));
		if (!grown) {
			free(f.insns);
			rc = -ENOMEM;
			break;
		}
		chain = grown;
		chain[n++] = f;
	}
	for (size_t i = 0; rc == 1 && i < n; i++) {
		chain[i].parent = parent;
		parent = add_filter(s, &chain[i]);
		chain[i].insns = NULL;
		if (parent < 0)
			rc = (int)parent;
	}
	if (rc == -E2BIG)
		ps_fail(err, errlen, rc, "thread %d: more than %d seccomp filters", tid,
			PS_MAX_SECCOMP_FILTERS);
	for (size_t i = 0; i < n; i++)
		free(chain[i].insns);
	free(chain);
	if (rc == 1 && parent < 0)
		return ps_fail(err, errlen, -EIO, "thread %d: its status says seccomp filter mode but "
			       "ptrace shows no filter", tid);
	*leaf = parent;
	return rc == 1 ? 0 : rc;
}

int ps_capture_seccomp(struct ps_capture *c, char *err, size_t errlen)
{
	struct ps_model *m = &c->model;
	struct ps_seccomp *s = &m->seccomp;
	int rc = 0;

	s->threads = calloc(m->nthreads ? m->nthreads : 1, sizeof(*s->threads));
	if (!s->threads)
		return -ENOMEM;
	s->saved = 1;
	s->nthreads = m->nthreads;
	for (size_t i = 0; rc == 0 && i < m->nthreads; i++) {
		struct ps_seccomp_thread *t = &s->threads[i];

		t->tid = m->threads[i].tid;
		t->filter = -1;
		rc = read_mode(t->tid, &t->mode, err, errlen);
		if (rc == 0 && t->mode == PS_SECCOMP_FILTER)
			rc = capture_chain(t->tid, s, &t->filter, err, errlen);
	}
	if (rc == -ENOMEM)
		ps_fail(err, errlen, rc, "out of memory reading seccomp filters");
	return rc;
}
