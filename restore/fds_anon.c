/* Recreating eventfd, timerfd, signalfd and inotify descriptors in the stub
 * with their counters, timers, masks and watches. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "restore/as_caller.h"
#include "restore/fds_anon.h"

/* <linux/timerfd.h>, which clashes with glibc's fcntl.h: _IOW('T', 0, __u64) */
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
/* how many watch numbers restore may skip to reach a watch's own */
#define MAX_WD_SKIP (1 << 20)

/* eventfd2, timerfd_create, signalfd4 and inotify_init1 take O_NONBLOCK
 * and O_CLOEXEC under their own names with the same values. */
static uint64_t create_flags(const struct ps_fd *f)
{
	return (uint64_t)((f->flags & O_NONBLOCK) | (f->cloexec ? O_CLOEXEC : 0));
}

/* The counter is written after creation: eventfd2's initval is only 32 bits. */
static long restore_eventfd(struct ps_rctx *c, const struct ps_fd *f)
{
	uint64_t flags = create_flags(f) | (f->eventfd.semaphore ? EFD_SEMAPHORE : 0), at;
	char what[96];
	long fd, rc;

	snprintf(what, sizeof(what), "fd %d: eventfd2", f->fd);
	fd = ps_rcall(c, what, SYS_eventfd2, 0, flags, 0, 0, 0, 0);
	if (fd < 0 || f->eventfd.count == 0)
		return fd;
	at = ps_rput(c, 0, &f->eventfd.count, sizeof(f->eventfd.count));
	if (!at)
		return -EIO;
	snprintf(what, sizeof(what), "fd %d: setting the eventfd's count to %llu", f->fd,
		 (unsigned long long)f->eventfd.count);
	rc = ps_rcall(c, what, SYS_write, (uint64_t)fd, at, sizeof(uint64_t), 0, 0, 0);
	return rc < 0 ? rc : fd;
}

static struct timespec ts_of(uint64_t ns)
{
	return (struct timespec){ (time_t)(ns / PS_NSEC_PER_SEC), (long)(ns % PS_NSEC_PER_SEC) };
}

/*
 * A relative timer resumes with the time it had left at the checkpoint (the
 * time the process was gone does not count, as for its sleeps); an absolute
 * one keeps its expiry. timerfd_settime clears the expiration count, so the
 * unread expirations are put back after it with TFD_IOC_SET_TICKS, which
 * exists for checkpoint/restore.
 */
static int arm_timerfd(struct ps_rctx *c, const struct ps_fd *f, long fd)
{
	const struct ps_timerfd *t = &f->timerfd;
	int abs = (t->settime_flags & TFD_TIMER_ABSTIME) != 0;
	struct itimerspec its = { ts_of(t->interval_ns), ts_of(abs ? t->expires_ns : t->value_ns) };
	char what[96];
	uint64_t at;
	long rc;

	if (t->value_ns) {
		at = ps_rput(c, 0, &its, sizeof(its));
		if (!at)
			return -EIO;
		snprintf(what, sizeof(what), "fd %d: timerfd_settime", f->fd);
		rc = ps_rcall(c, what, SYS_timerfd_settime, (uint64_t)fd, (uint64_t)t->settime_flags,
			      at, 0, 0, 0);
		if (rc < 0)
			return (int)rc;
	}
	if (!t->ticks)
		return 0;
	at = ps_rput(c, 0, &t->ticks, sizeof(t->ticks));
	if (!at)
		return -EIO;
	snprintf(what, sizeof(what), "fd %d: ioctl(TFD_IOC_SET_TICKS)", f->fd);
	rc = ps_rcall(c, what, SYS_ioctl, (uint64_t)fd, TFD_IOC_SET_TICKS, at, 0, 0, 0);
	return rc < 0 ? (int)rc : 0;
}

static long restore_timerfd(struct ps_rctx *c, const struct ps_fd *f)
{
	char what[96];
	long fd;
	int rc;

	snprintf(what, sizeof(what), "fd %d: timerfd_create(clock %d)", f->fd, f->timerfd.clock);
	fd = ps_rcall(c, what, SYS_timerfd_create, (uint64_t)f->timerfd.clock, create_flags(f), 0,
		      0, 0, 0);
	if (fd < 0)
		return fd;
	rc = arm_timerfd(c, f, fd);
	return rc < 0 ? rc : fd;
}

static long restore_signalfd(struct ps_rctx *c, const struct ps_fd *f)
{
	uint64_t at = ps_rput(c, 0, &f->sigmask, sizeof(f->sigmask));
	char what[96];

	if (!at)
		return -EIO;
	snprintf(what, sizeof(what), "fd %d: signalfd4(mask %#llx)", f->fd,
		 (unsigned long long)f->sigmask);
	return ps_rcall(c, what, SYS_signalfd4, (uint64_t)-1, at, sizeof(f->sigmask),
			create_flags(f), 0, 0);
}

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
	fd = ps_rcall(c, what, SYS_inotify_init1, create_flags(f), 0, 0, 0, 0, 0);
	if (fd < 0)
		return fd;
	for (size_t i = 0; rc == 0 && i < f->nwatches; i++)
		rc = add_watch(c, f, fd, &f->watches[i]);
	if (rc == 0)
		rc = drain_inotify(c, f, fd);
	return rc < 0 ? rc : fd;
}

int ps_anon_restorable(const struct ps_fd *f)
{
	return f->type == PS_FD_ANON &&
	       (ps_fd_kind_is(f, "eventfd") || ps_fd_kind_is(f, "timerfd") ||
		ps_fd_kind_is(f, "signalfd") || ps_fd_kind_is(f, "inotify"));
}

long ps_restore_anon_fd(struct ps_rctx *c, const struct ps_fd *f)
{
	if (ps_fd_kind_is(f, "eventfd"))
		return restore_eventfd(c, f);
	if (ps_fd_kind_is(f, "timerfd"))
		return restore_timerfd(c, f);
	if (ps_fd_kind_is(f, "signalfd"))
		return restore_signalfd(c, f);
	if (ps_fd_kind_is(f, "inotify"))
		return restore_inotify(c, f);
	return ps_rfail(c, -ENOTSUP, "fd %d (%s): not supported", f->fd, f->kind);
}
