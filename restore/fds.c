/* Recreating fds.json in the stub: the descriptors inherited from procsnap
 * closed, then each saved one opened again at its number, flags and offset. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "restore/as_caller.h"
#include "restore/fds.h"
#include "restore/fds_anon.h"
#include "restore/fds_content.h"
#include "restore/pipes.h"
#include "restore/sockets.h"

/* The open flags a reopen keeps. Dropped: O_CREAT, O_EXCL, O_TRUNC (the
 * kernel clears them after open anyway, and a forged O_TRUNC must not empty
 * a file), __O_TMPFILE (it would make a new file), and O_ASYNC (open()
 * ignores it; it needs F_SETOWN, whose owner is not saved). O_LARGEFILE
 * is forced by the kernel on 64-bit. */
#define KEPT_FLAGS (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | \
		    O_NOATIME | O_NOFOLLOW | O_DIRECTORY | O_PATH)

/* Every open is O_NONBLOCK (as_caller.c): a FIFO, a lease or a modem line
 * must never keep the stub waiting inside our syscall. */
static int open_flags(const struct ps_fd *f)
{
	int flags = f->flags & KEPT_FLAGS;

	if (f->type == PS_FD_DIR)
		flags |= O_DIRECTORY;
	return flags;
}

/* The status flags a file opened by path (O_NONBLOCK, see above) or an
 * epoll fd (epoll_create1 takes no O_NONBLOCK) was not created with. */
static int restore_status_flags(struct ps_rctx *c, const struct ps_fd *f)
{
	int by_path = f->type == PS_FD_REG || f->type == PS_FD_DIR || f->type == PS_FD_CHR ||
		      f->type == PS_FD_FIFO;
	int blocks = by_path && !(f->flags & (O_NONBLOCK | O_PATH));
	int epoll_nonblock = ps_fd_is_epoll(f) && (f->flags & O_NONBLOCK);
	char what[64];
	long rc;

	if (!blocks && !epoll_nonblock)
		return 0;
	snprintf(what, sizeof(what), "fd %d: fcntl(F_SETFL)", f->fd);
	rc = ps_rcall(c, what, SYS_fcntl, (uint64_t)f->fd, F_SETFL, (uint64_t)(f->flags & KEPT_FLAGS),
		      0, 0, 0);
	return rc < 0 ? (int)rc : 0;
}

int ps_fd_is_terminal(const struct ps_fd *f)
{
	return f->type == PS_FD_CHR &&
	       (f->rdev_major == 4 || f->rdev_major == 5 ||
		(f->rdev_major >= 136 && f->rdev_major <= 143));
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

static const char *type_word(mode_t type)
{
	return type == S_IFDIR ? "directory" : type == S_IFIFO ? "FIFO" :
	       type == S_IFCHR ? "character device" : "regular file";
}

/* What the path led to is what the image says f was: the same kind of
 * file, and for a device the same device (a path swapped since the
 * checkpoint, or a forged type, is refused rather than trusted). */
static int check_opened(struct ps_rctx *c, const struct ps_fd *f, const struct stat *st)
{
	mode_t want = f->type == PS_FD_DIR ? S_IFDIR : f->type == PS_FD_FIFO ? S_IFIFO :
		      f->type == PS_FD_CHR ? S_IFCHR : S_IFREG;

	if ((st->st_mode & S_IFMT) != want)
		return ps_rfail(c, -ESTALE, "fd %d: %s is no longer a %s", f->fd, f->path.data,
				type_word(want));
	if (want == S_IFCHR && (major(st->st_rdev) != f->rdev_major ||
				minor(st->st_rdev) != f->rdev_minor))
		return ps_rfail(c, -ESTALE, "fd %d: %s is now device %u:%u, not %u:%u as at the "
				"checkpoint", f->fd, f->path.data, major(st->st_rdev),
				minor(st->st_rdev), f->rdev_major, f->rdev_minor);
	return 0;
}

/* f's file opened and checked, or -errno with err filled; *new_pty says
 * that a pty made after the checkpoint is at its path (-ENOENT then). */
static long open_checked(struct ps_rctx *c, const struct ps_fd *f, int flags, const char *who,
			 int *new_pty)
{
	long nfd = ps_caller_open(c, who, f->path.data, flags, 0);
	struct stat st;
	int rc;

	*new_pty = 0;
	if (nfd < 0)
		return nfd;
	rc = ps_caller_fstat(c, who, nfd, &st);
	if (rc == 0)
		rc = check_opened(c, f, &st);
	if (rc == 0 && ps_fd_is_terminal(f) && is_new_pty(c, f, &st)) {
		*new_pty = 1;
		rc = -ENOENT;
	}
	if (rc == 0)
		return nfd;
	ps_rcall(c, "close", SYS_close, (uint64_t)nfd, 0, 0, 0, 0, 0);
	return rc;
}

/* Open f's file in the stub; returns the new descriptor (the lowest free
 * number, at most f->fd) or -errno. O_NOCTTY always: the restored process
 * must not pick up a controlling terminal by reopening one. */
static long open_file(struct ps_rctx *c, const struct ps_fd *f)
{
	int flags = open_flags(f);
	int extra = O_NOCTTY | (f->cloexec ? O_CLOEXEC : 0);
	char who[32];
	int new_pty;
	long nfd;

	snprintf(who, sizeof(who), "fd %d", f->fd);
	nfd = open_checked(c, f, flags | extra, who, &new_pty);
	/* A terminal that is gone (a closed pty: ENOENT; /dev/tty without a
	 * controlling terminal: ENXIO; a hung-up one: EIO), is another one
	 * now, or is no longer the caller's to open becomes /dev/null, as a
	 * daemon's would, and status says so. */
	if (ps_fd_is_terminal(f) && (nfd == -ENOENT || nfd == -ENXIO || nfd == -EIO ||
				     nfd == -EACCES)) {
		const char *why = nfd == -EACCES ? "may no longer be opened by this user"
				  : new_pty ? "is another terminal now (made after the checkpoint)"
				  : "is gone";

		nfd = ps_caller_open(c, who, "/dev/null", (flags & O_ACCMODE) | extra, 0);
		if (nfd >= 0)
			note_replaced(c, f, why);
	}
	return nfd;
}

/* Move the descriptor from nfd to f->fd. Opened in ascending order after
 * every inherited one was closed, nfd is a gap below f->fd or f->fd itself,
 * so dup3 never replaces a descriptor already restored. */
static int move_to(struct ps_rctx *c, const struct ps_fd *f, long nfd)
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

/* Only regular files and memfds: a directory's offset is a cookie of its
 * filesystem, a device's means nothing to lseek, an O_PATH fd has none. */
static int seek_to(struct ps_rctx *c, const struct ps_fd *f)
{
	char what[96];
	long rc;

	if ((f->type != PS_FD_REG && !ps_fd_has_content(f)) || (f->flags & O_PATH) || f->pos == 0)
		return 0;
	snprintf(what, sizeof(what), "fd %d: lseek to %llu", f->fd, (unsigned long long)f->pos);
	rc = ps_rcall(c, what, SYS_lseek, (uint64_t)f->fd, f->pos, SEEK_SET, 0, 0, 0);
	return rc < 0 ? (int)rc : 0;
}

static long create_epoll(struct ps_rctx *c, const struct ps_fd *f)
{
	char what[64];

	snprintf(what, sizeof(what), "fd %d: epoll_create1", f->fd);
	return ps_rcall(c, what, SYS_epoll_create1, f->cloexec ? EPOLL_CLOEXEC : 0, 0, 0, 0, 0, 0);
}

/* struct epoll_event is packed on x86_64: 4 bytes of events, 8 of data. */
struct packed_epoll_event {
	uint32_t events;
	uint64_t data;
} __attribute__((packed));

/* Registrations go in once every descriptor exists, watched ones included
 * (an epoll fd may come before what it watches, or watch another epoll). */
static int register_epoll_targets(struct ps_rctx *c, const struct ps_fd *f)
{
	for (size_t i = 0; i < f->nepoll; i++) {
		const struct ps_epoll_target *t = &f->epoll[i];
		struct packed_epoll_event ev = { t->events, t->data };
		uint64_t at = ps_rput(c, 0, &ev, sizeof(ev));
		char what[96];
		long rc;

		if (!at)
			return -EIO;
		snprintf(what, sizeof(what), "fd %d: epoll_ctl(EPOLL_CTL_ADD) of fd %d", f->fd, t->fd);
		rc = ps_rcall(c, what, SYS_epoll_ctl, (uint64_t)f->fd, EPOLL_CTL_ADD,
			      (uint64_t)t->fd, at, 0, 0);
		if (rc < 0)
			return (int)rc;
	}
	return 0;
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
	long nfd;
	int rc;

	if (f->is_dup)
		return restore_dup(c, f);
	if (!f->supported)
		return ps_rfail(c, -ENOTSUP, "fd %d (%s): %s", f->fd, f->kind ? f->kind : "?",
				f->unsupported_reason ? f->unsupported_reason : "not supported");
	if (f->type == PS_FD_PIPE)
		return ps_restore_pipe(c, f);
	if (f->sock) {
		rc = ps_restore_socket(c, f, &nfd);
		if (rc < 0 || nfd < 0)
			return rc;
		return move_to(c, f, nfd);
	}
	if (ps_fd_is_epoll(f))
		nfd = create_epoll(c, f);
	else if (ps_anon_restorable(f))
		nfd = ps_restore_anon_fd(c, f);
	else if (ps_fd_has_content(f))
		nfd = ps_restore_content_fd(c, f, f->flags & KEPT_FLAGS);
	else if (f->type != PS_FD_REG && f->type != PS_FD_DIR && f->type != PS_FD_CHR &&
		 f->type != PS_FD_FIFO)
		return ps_rfail(c, -ENOTSUP, "fd %d (%s): not supported yet", f->fd,
				f->kind ? f->kind : "?");
	else
		nfd = open_file(c, f);
	if (nfd < 0)
		return (int)nfd;
	rc = move_to(c, f, nfd);
	if (!rc)
		rc = restore_status_flags(c, f);
	if (!rc && f->type == PS_FD_FIFO)
		rc = ps_refill_fifo(c, f);
	return rc ? rc : seek_to(c, f);
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
	for (size_t i = 0; !rc && i < fds->count; i++)
		if (ps_fd_is_epoll(&fds->items[i]))
			rc = register_epoll_targets(c, &fds->items[i]);
	return rc;
}
