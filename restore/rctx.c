/* Syscalls and memory access inside the stub during a restore: thin wrappers
 * over the remote-syscall machinery that turn failures into sentences. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/fileio.h"
#include "backend/sentence.h"
#include "restore/as_caller.h"
#include "restore/batch.h"
#include "restore/rctx.h"

int ps_rfail(struct ps_rctx *c, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ps_vfail(c->err, c->errlen, e, fmt, ap);
	va_end(ap);
	return e;
}

/*
 * pidfd_getfd (Linux 5.6) dups another process's open file into ours, as
 * SCM_RIGHTS would, after a ptrace-attach permission check that procsnap,
 * the stub's tracer and root, passes.
 */
int ps_rgrab(struct ps_rctx *c, long fd)
{
	int pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0), local;

	if (pidfd < 0)
		return ps_rfail(c, -errno, "pidfd_open of the new process %d: %s", c->pid,
				strerror(errno));
	local = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
	if (local < 0)
		local = ps_rfail(c, -errno, "pidfd_getfd of fd %ld of the new process: %s", fd,
				 strerror(errno));
	close(pidfd);
	return local;
}

void ps_rnote(struct ps_rctx *c, const char *fmt, ...)
{
	size_t used = strlen(c->note);
	va_list ap;

	if (used && used + 2 < sizeof(c->note))
		used += (size_t)snprintf(c->note + used, sizeof(c->note) - used, "; ");
	if (used >= sizeof(c->note) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(c->note + used, sizeof(c->note) - used, fmt, ap);
	va_end(ap);
}

long ps_rcall(struct ps_rctx *c, const char *what, long nr, uint64_t a0, uint64_t a1,
	      uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	uint64_t args[6] = { a0, a1, a2, a3, a4, a5 };
	long ret;
	int e = ps_rcall_flush(c);

	if (e < 0)
		return e;
	if (!ps_caller_may_run(c, nr))
		return ps_rfail(c, -EPERM, "internal: %s would reach a path with procsnap's rights "
				"instead of uid %u's", what, (unsigned)c->uid);
	e = ps_remote_syscall(&c->r, nr, args, &ret, c->err, c->errlen);
	if (e < 0)
		return e;
	if (ret < 0 && ret > -4096)
		return ps_rfail(c, (int)ret, "%s: %s", what, strerror((int)-ret));
	return ret;
}

uint64_t ps_rput(struct ps_rctx *c, size_t off, const void *data, size_t len)
{
	struct iovec local = { (void *)data, len };
	struct iovec remote = { (void *)(c->scratch + off), len };

	if (ps_rcall_flush(c) < 0)
		return 0;
	if (off + len > PS_SCRATCH_SIZE) {
		ps_rfail(c, -E2BIG, "internal: %zu bytes do not fit the restore scratch area", len);
		return 0;
	}
	if (process_vm_writev(c->pid, &local, 1, &remote, 1, 0) != (ssize_t)len) {
		ps_rfail(c, -EIO, "writing %zu bytes into the new process: %s", len, strerror(errno));
		return 0;
	}
	return c->scratch + off;
}

int ps_rget(struct ps_rctx *c, uint64_t addr, void *out, size_t len)
{
	struct iovec local = { out, len }, remote = { (void *)addr, len };
	int e = ps_rcall_flush(c);

	if (e < 0)
		return e;
	if (process_vm_readv(c->pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return ps_rfail(c, -EIO, "reading %zu bytes at 0x%llx of the new process: %s", len,
				(unsigned long long)addr, strerror(errno));
	return 0;
}

int ps_image_open(const struct ps_rctx *c, const char *name)
{
	int dir = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;

	if (dir < 0)
		return -1;
	fd = ps_open_beneath(dir, name, O_RDONLY | O_NONBLOCK, 0);
	close(dir);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}
