/* signalfds made again in the stub with the mask of signals they read. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "restore/fd_restore.h"

static long restore_signalfd(struct ps_rctx *c, const struct ps_fd *f)
{
	uint64_t at = ps_rput(c, 0, &f->u.sigmask, sizeof(f->u.sigmask));
	char what[96];

	if (!at)
		return -EIO;
	snprintf(what, sizeof(what), "fd %d: signalfd4(mask %#llx)", f->fd,
		 (unsigned long long)f->u.sigmask);
	return ps_rcall(c, what, SYS_signalfd4, (uint64_t)-1, at, sizeof(f->u.sigmask),
			ps_fd_create_flags(f), 0, 0);
}

int ps_restore_fd_signalfd(struct ps_rctx *c, const struct ps_fd *f)
{
	long fd = restore_signalfd(c, f);

	if (fd < 0)
		return (int)fd;
	return ps_fd_move(c, f, fd);
}
