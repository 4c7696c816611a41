/* eventfds made again in the stub with their counter and EFD_SEMAPHORE. */
#include <errno.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include "restore/fd_restore.h"

/* The counter is written after creation: eventfd2's initval is only 32 bits. */
static long restore_eventfd(struct ps_rctx *c, const struct ps_fd *f)
{
	uint64_t flags = ps_fd_create_flags(f) | (f->u.eventfd.semaphore ? EFD_SEMAPHORE : 0), at;
	char what[96];
	long fd, rc;

	snprintf(what, sizeof(what), "fd %d: eventfd2", f->fd);
	fd = ps_rcall(c, what, SYS_eventfd2, 0, flags, 0, 0, 0, 0);
	if (fd < 0 || f->u.eventfd.count == 0)
		return fd;
	at = ps_rput(c, 0, &f->u.eventfd.count, sizeof(f->u.eventfd.count));
	if (!at)
		return -EIO;
	snprintf(what, sizeof(what), "fd %d: setting the eventfd's count to %llu", f->fd,
		 (unsigned long long)f->u.eventfd.count);
	rc = ps_rcall(c, what, SYS_write, (uint64_t)fd, at, sizeof(uint64_t), 0, 0, 0);
	return rc < 0 ? rc : fd;
}

int ps_restore_fd_eventfd(struct ps_rctx *c, const struct ps_fd *f)
{
	long fd = restore_eventfd(c, f);

	if (fd < 0)
		return (int)fd;
	return ps_fd_move(c, f, fd);
}
