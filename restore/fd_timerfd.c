/* timerfds made again in the stub on their clock, armed with the time they
 * had left (or their absolute expiry), with their unread expirations. */
#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>

#include "restore/fd_restore.h"

/* <linux/timerfd.h>, which clashes with glibc's fcntl.h: _IOW('T', 0, __u64) */
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

/* The clocks timerfd_create takes. */
int ps_validate_fd_timerfd(const struct ps_check *v, const struct ps_fd *f)
{
	switch (f->u.timerfd.clock) {
	case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME:
	case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
		return 0;
	default:
		return ps_refuse(v, -EINVAL, "fd %d: a timerfd on clock %d, which timerfds "
				    "cannot use", f->fd, f->u.timerfd.clock);
	}
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
	const struct ps_timerfd *t = &f->u.timerfd;
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

	snprintf(what, sizeof(what), "fd %d: timerfd_create(clock %d)", f->fd, f->u.timerfd.clock);
	fd = ps_rcall(c, what, SYS_timerfd_create, (uint64_t)f->u.timerfd.clock, ps_fd_create_flags(f), 0,
		      0, 0, 0);
	if (fd < 0)
		return fd;
	rc = arm_timerfd(c, f, fd);
	return rc < 0 ? rc : fd;
}

int ps_restore_fd_timerfd(struct ps_rctx *c, const struct ps_fd *f)
{
	long fd = restore_timerfd(c, f);

	if (fd < 0)
		return (int)fd;
	return ps_fd_move(c, f, fd);
}
