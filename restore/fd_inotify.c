/* inotify descriptors made again in the stub, each watch added back on the
 * inode it watched, with its number. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "restore/as_caller.h"
#include "restore/fd_restore.h"

/* how many watch numbers restore may skip to reach a watch's own */
#define MAX_WD_SKIP (1 << 20)

/* The watched inode itself (a symlink is not followed: the saved path
 * names what was watched), reached as the caller; it must still be the
 * inode that was watched. */
static long open_watched(struct ps_rctx *c, const struct ps_inotify_watch *w, const char *who)
{
	long fd = ps_caller_open(c, who, w->path.data, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	struct stat st;
	int rc = fd < 0 ? (int)fd : ps_caller_fstat(c, who, fd, &st);

	if (rc == 0 && st.st_ino != w->ino)
		rc = ps_rfail(c, -ESTALE, "%s: %s is no longer the file that was watched", who,
			      w->path.data);
	if (rc == 0)
		return fd;
	if (fd >= 0)
		ps_rcall(c, "close", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
	return rc;
}

/*
 * inotify hands out watch numbers cyclically, each one above the last it
 * gave, so adding the watches in wd order gets their numbers back; a gap
 * (a watch removed before the checkpoint) is skipped by adding and removing
 * a watch until the next number is the wanted one. The watch is added
 * through link, /proc/self/fd/<n> of the inode opened and checked above,
 * so the link is followed (no IN_DONT_FOLLOW) to that very inode; inotify
 * asks the caller for the right to read it.
 */
static int watch_with_number(struct ps_rctx *c, const struct ps_fd *f, long fd,
			     const struct ps_inotify_watch *w, const char *who, const char *link)
{
	uint64_t mask = w->mask & ~(uint32_t)(IN_MASK_ADD | IN_MASK_CREATE | IN_DONT_FOLLOW);
	char deed[PS_PATH_MAX + 16];

	snprintf(deed, sizeof(deed), "watch %s", w->path.data);
	for (long tries = 0; tries < MAX_WD_SKIP; tries++) {
		uint64_t at = ps_rput(c, 0, link, strlen(link) + 1);
		long wd;

		if (!at)
			return -EIO;
		wd = ps_caller_call(c, who, deed, SYS_inotify_add_watch, (uint64_t)fd, at, mask, 0, 0,
				    0);
		if (wd < 0 || wd == w->wd)
			return wd < 0 ? (int)wd : 0;
		if (wd > w->wd)
			break;
		if (ps_rcall(c, "inotify_rm_watch of a skipped watch number", SYS_inotify_rm_watch,
			     (uint64_t)fd, (uint64_t)wd, 0, 0, 0, 0) < 0)
			return -EIO;
	}
	return ps_rfail(c, -EBUSY, "fd %d: inotify watch %d on %s could not get its number back",
			f->fd, w->wd, w->path.data);
}

static int add_watch(struct ps_rctx *c, const struct ps_fd *f, long fd,
		     const struct ps_inotify_watch *w)
{
	char who[64], link[64];
	long target;
	int rc;

	snprintf(who, sizeof(who), "fd %d: inotify watch %d", f->fd, w->wd);
	target = open_watched(c, w, who);
	if (target < 0)
		return (int)target;
	snprintf(link, sizeof(link), "/proc/self/fd/%ld", target);
	rc = watch_with_number(c, f, fd, w, who, link);
	ps_rcall(c, "close", SYS_close, (uint64_t)target, 0, 0, 0, 0, 0);
	return rc;
}

/* Each skipped watch number queued an IN_IGNORED event the program must not
 * see: read them off through procsnap's own dup of the fd. FIONREAD says how
 * much is queued, so the read never blocks. */
static int drain_inotify(struct ps_rctx *c, const struct ps_fd *f, long fd)
{
	char buf[4096];
	int local = ps_rgrab(c, fd), queued = 0, rc = 0;

	if (local < 0)
		return local;
	while (rc == 0 && ioctl(local, FIONREAD, &queued) == 0 && queued > 0)
		if (read(local, buf, sizeof(buf)) < 0)
			rc = ps_rfail(c, -errno, "fd %d: reading the events of skipped inotify "
				      "watches: %s", f->fd, strerror(errno));
	close(local);
	return rc;
}

static long restore_inotify(struct ps_rctx *c, const struct ps_fd *f)
{
	char what[64];
	long fd;
	int rc = 0;

	snprintf(what, sizeof(what), "fd %d: inotify_init1", f->fd);
	fd = ps_rcall(c, what, SYS_inotify_init1, ps_fd_create_flags(f), 0, 0, 0, 0, 0);
	if (fd < 0)
		return fd;
	for (size_t i = 0; rc == 0 && i < f->u.inotify.nwatches; i++)
		rc = add_watch(c, f, fd, &f->u.inotify.watches[i]);
	if (rc == 0)
		rc = drain_inotify(c, f, fd);
	return rc < 0 ? rc : fd;
}

int ps_restore_fd_inotify(struct ps_rctx *c, const struct ps_fd *f)
{
	long fd = restore_inotify(c, f);

	if (fd < 0)
		return (int)fd;
	return ps_fd_move(c, f, fd);
}

/* Each watched inode is read as the caller: inotify asks for that right. */
int ps_probe_fd_inotify(struct ps_probes *ps, const struct ps_fd *f)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < f->u.inotify.nwatches; i++) {
		const struct ps_inotify_watch *w = &f->u.inotify.watches[i];
		char who[64];

		snprintf(who, sizeof(who), "fd %d: inotify watch %d", f->fd, w->wd);
		rc = ps_probe_add(ps, who, w->path.data, R_OK, 0, "watch %s", w->path.data);
	}
	return rc;
}
