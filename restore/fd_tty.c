/* Terminals (virtual consoles, /dev/tty, /dev/console, pty slaves): opened
 * again by their path; one that is gone or not the caller's any more
 * becomes /dev/null. A pty master is refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "restore/as_caller.h"
#include "restore/fd_restore.h"

/* The master side of a pseudo-terminal (/dev/ptmx, 5:2): opening it again
 * would make a new terminal pair, not the one the process had. */
static int is_pty_master(const struct ps_fd *f)
{
	return f->rdev_major == 5 && f->rdev_minor == 2;
}

int ps_validate_fd_tty(const struct ps_check *v, const struct ps_fd *f)
{
	int rc = ps_fd_check_absolute(v, f);

	if (rc == 0 && is_pty_master(f))
		return ps_refuse(v, -ENOTSUP, "fd %d: %s is a pseudo-terminal master: restoring "
				    "terminal pairs is not supported yet", f->fd, f->path.data);
	return rc;
}

/* A pty slave (136-143) whose node was made after the checkpoint: the
 * kernel reuses the numbers of closed ptys, so /dev/pts/3 may now be some
 * other session's terminal. devpts sets a node's ctime when it makes it. */
static int is_new_pty(const struct ps_rctx *c, const struct ps_fd *f, const struct stat *st)
{
	const struct ps_image_meta *meta = &c->m->meta;

	if (f->rdev_major < 136 || f->rdev_major > 143)
		return 0;
	return st->st_ctim.tv_sec > meta->taken_sec ||
	       (st->st_ctim.tv_sec == meta->taken_sec && st->st_ctim.tv_nsec > meta->taken_nsec);
}

/* "fd 0 (and 1, 2 sharing it): /dev/pts/3 is gone, ..." for status. */
static void note_replaced(struct ps_rctx *c, const struct ps_fd *f, const char *why)
{
	const struct ps_fds *fds = &c->m->fds;
	char also[96] = "";
	size_t used = 0;

	for (size_t i = 0; i < fds->count && used < sizeof(also) - 16; i++)
		if (fds->items[i].is_dup && fds->items[i].dup_of == f->fd)
			used += (size_t)snprintf(also + used, sizeof(also) - used, "%s%d",
						 used ? ", " : " (and ", fds->items[i].fd);
	ps_rnote(c, "fd %d%s%s: %s %s, /dev/null is open there instead", f->fd, also,
		 used ? " sharing it)" : "", f->path.data, why);
}

/* The terminal, or -ENOENT with *new_pty set when a pty made after the
 * checkpoint is at its path. */
static long open_terminal(struct ps_rctx *c, const struct ps_fd *f, int *new_pty)
{
	struct stat st;
	long nfd = ps_fd_reopen(c, f, &st);

	*new_pty = 0;
	if (nfd < 0 || !is_new_pty(c, f, &st))
		return nfd;
	*new_pty = 1;
	ps_rcall(c, "close", SYS_close, (uint64_t)nfd, 0, 0, 0, 0, 0);
	return -ENOENT;
}

int ps_restore_fd_tty(struct ps_rctx *c, const struct ps_fd *f)
{
	int flags = (f->flags & O_ACCMODE) | O_NOCTTY | (f->cloexec ? O_CLOEXEC : 0);
	char who[32];
	int new_pty;
	long nfd = open_terminal(c, f, &new_pty);

	/* A terminal that is gone (a closed pty: ENOENT; /dev/tty without a
	 * controlling terminal: ENXIO; a hung-up one: EIO), is another one
	 * now, or is no longer the caller's to open becomes /dev/null, as a
	 * daemon's would, and status says so. */
	if (nfd == -ENOENT || nfd == -ENXIO || nfd == -EIO || nfd == -EACCES) {
		const char *why = nfd == -EACCES ? "may no longer be opened by this user"
				  : new_pty ? "is another terminal now (made after the checkpoint)"
				  : "is gone";

		snprintf(who, sizeof(who), "fd %d", f->fd);
		nfd = ps_caller_open(c, who, "/dev/null", flags, 0);
		if (nfd >= 0)
			note_replaced(c, f, why);
	}
	if (nfd < 0)
		return (int)nfd;
	return ps_fd_place_reopened(c, f, nfd);
}
