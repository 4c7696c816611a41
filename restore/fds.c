/* Recreating fds.json in the stub: the descriptors inherited from procsnap
 * closed, then each saved one made again by its kind and placed at its number. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image/fd_kinds.h"
#include "restore/fd_restore.h"

int ps_fd_setfl(struct ps_rctx *c, const struct ps_fd *f)
{
	char what[64];
	long rc;

	snprintf(what, sizeof(what), "fd %d: fcntl(F_SETFL)", f->fd);
	rc = ps_rcall(c, what, SYS_fcntl, (uint64_t)f->fd, F_SETFL,
		      (uint64_t)(f->flags & PS_FD_KEPT_FLAGS), 0, 0, 0);
	return rc < 0 ? (int)rc : 0;
}

uint64_t ps_fd_create_flags(const struct ps_fd *f)
{
	return (uint64_t)((f->flags & O_NONBLOCK) | (f->cloexec ? O_CLOEXEC : 0));
}

/* procsnap's own descriptors, inherited by the fork that became the stub. */
static int close_inherited(struct ps_rctx *c)
{
	long rc = ps_rcall(c, "closing the descriptors the new process inherited from procsnap",
			   SYS_close_range, 0, ~0U, 0, 0, 0, 0);

	return rc < 0 ? (int)rc : 0;
}

/* The stub runs with procsnap's RLIMIT_NOFILE until the image's own is set
 * (after the fds, by ps_restore_process_attrs); its soft limit may be below
 * the highest saved fd, and dup3 refuses a number at or above it. Raising
 * the soft limit up to the hard one needs no privilege. */
static int make_room_for(struct ps_rctx *c, int maxfd)
{
	struct rlimit lim;
	uint64_t addr = c->scratch;
	long rc;

	rc = ps_rcall(c, "prlimit64(RLIMIT_NOFILE)", SYS_prlimit64, 0, RLIMIT_NOFILE, 0, addr,
		      0, 0);
	if (rc < 0)
		return (int)rc;
	rc = ps_rget(c, addr, &lim, sizeof(lim));
	if (rc < 0)
		return (int)rc;
	if ((rlim_t)maxfd < lim.rlim_cur)
		return 0;
	lim.rlim_cur = lim.rlim_max;
	if (!ps_rput(c, 0, &lim, sizeof(lim)))
		return -EIO;
	rc = ps_rcall(c, "raising RLIMIT_NOFILE for the saved descriptors", SYS_prlimit64, 0,
		      RLIMIT_NOFILE, addr, 0, 0, 0);
	return rc < 0 ? (int)rc : 0;
}

/* Opened in ascending order after every inherited one was closed, nfd is a
 * gap below f->fd or f->fd itself, so dup3 never replaces a descriptor
 * already restored. */
int ps_fd_move(struct ps_rctx *c, const struct ps_fd *f, long nfd)
{
	char what[64];
	long rc;

	if (nfd == f->fd)
		return 0;
	snprintf(what, sizeof(what), "fd %d: dup3 from %ld", f->fd, nfd);
	rc = ps_rcall(c, what, SYS_dup3, (uint64_t)nfd, (uint64_t)f->fd,
		      f->cloexec ? O_CLOEXEC : 0, 0, 0, 0);
	if (rc < 0)
		return (int)rc;
	snprintf(what, sizeof(what), "fd %d: closing the temporary fd %ld", f->fd, nfd);
	rc = ps_rcall(c, what, SYS_close, (uint64_t)nfd, 0, 0, 0, 0, 0);
	return rc < 0 ? (int)rc : 0;
}

/* Only the kinds whose offset means something call it (regular files and
 * memfds: a directory's offset is a cookie of its filesystem, a device's
 * means nothing to lseek); an O_PATH fd has none. */
int ps_fd_seek(struct ps_rctx *c, const struct ps_fd *f)
{
	char what[96];
	long rc;

	if ((f->flags & O_PATH) || f->pos == 0)
		return 0;
	snprintf(what, sizeof(what), "fd %d: lseek to %llu", f->fd, (unsigned long long)f->pos);
	rc = ps_rcall(c, what, SYS_lseek, (uint64_t)f->fd, f->pos, SEEK_SET, 0, 0, 0);
	return rc < 0 ? (int)rc : 0;
}

/* A second fd of an open file restored before it (dup, inherited). */
static int restore_dup(struct ps_rctx *c, const struct ps_fd *f)
{
	char what[64];
	long rc;

	snprintf(what, sizeof(what), "fd %d: dup3 of fd %d", f->fd, f->dup_of);
	rc = ps_rcall(c, what, SYS_dup3, (uint64_t)f->dup_of, (uint64_t)f->fd,
		      f->cloexec ? O_CLOEXEC : 0, 0, 0, 0);
	return rc < 0 ? (int)rc : 0;
}

static int restore_fd(struct ps_rctx *c, const struct ps_fd *f)
{
	const char *kind = ps_fd_kind_json_name(f);

	if (f->is_dup)
		return restore_dup(c, f);
	if (!f->supported)
		return ps_rfail(c, -ENOTSUP, "fd %d (%s): %s", f->fd, kind ? kind : "?",
				f->unsupported_reason ? f->unsupported_reason : "not supported");
	return ps_fd_ops(f)->restore(c, f);
}

int ps_restore_fds(struct ps_rctx *c)
{
	const struct ps_fds *fds = &c->m->fds;
	int rc = close_inherited(c);

	if (!rc && fds->count)
		rc = make_room_for(c, fds->items[fds->count - 1].fd + 2);  /* + a pipe's ends */
	/* fds.json is sorted by number (its decoder checks it). */
	for (size_t i = 0; !rc && i < fds->count; i++)
		rc = restore_fd(c, &fds->items[i]);
	/* every entry of the kind, dups too (a dup of an epoll fd lists its
	 * registrations again: adding them twice fails with EEXIST) */
	for (size_t i = 0; !rc && i < fds->count; i++) {
		const struct ps_fd *f = &fds->items[i];

		if (ps_fd_ops(f)->restore_links)
			rc = ps_fd_ops(f)->restore_links(c, f);
	}
	return rc;
}
