/* The order of a capture: freeze, then every part of image/parts.h in its
 * three passes (/proc and ptrace, remote syscalls in each thread, the rest). */
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
#include "backend/warnings.h"
#include "backend/remote_syscall.h"
#include "image/parts.h"

int ps_capture_call(struct ps_remote *r, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		    long *ret, char *err, size_t errlen)
{
	uint64_t args[6] = { a0, a1, a2, 0, 0, 0 };

	return ps_remote_syscall(r, nr, args, ret, err, errlen);
}

int ps_capture_read_call(struct ps_remote *r, long nr, uint64_t a0, uint64_t a1,
			 uint64_t scratch, void *out, size_t len, const char *what,
			 char *err, size_t errlen)
{
	struct iovec local = { out, len }, remote = { (void *)scratch, len };
	long ret;
	int e = ps_capture_call(r, nr, a0, a1, scratch, &ret, err, errlen);

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

	return ps_capture_call(r, SYS_munmap, scratch, PS_NET_SCRATCH, 0, &ret, err, errlen);
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
	for (size_t p = 0; e == 0 && p < ps_nparts; p++)
		if (ps_parts[p].capture_remote)
			e = ps_parts[p].capture_remote(&r, scratch, m, i, err, errlen);
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

/* Every part in three passes (backend/part_capture.h): what /proc and
 * ptrace show, then each thread's remote session, then what must not see a
 * scratch page (the address space). */
static int capture_frozen(struct ps_capture *c, char *err, size_t errlen)
{
	int e = 0;

	for (size_t p = 0; e == 0 && p < ps_nparts; p++)
		if (ps_parts[p].capture)
			e = ps_parts[p].capture(c, err, errlen);
	if (e == 0)
		e = capture_remote(&c->model, err, errlen);
	for (size_t p = 0; e == 0 && p < ps_nparts; p++)
		if (ps_parts[p].capture_late)
			e = ps_parts[p].capture_late(c, err, errlen);
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
