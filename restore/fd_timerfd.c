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

/* The stub's clock now: with -o timens the stub already lives in the time
 * namespace whose clocks the restored process reads. */
static int stub_clock_ns(struct ps_rctx *c, const struct ps_fd *f, uint64_t *ns)
{
	struct timespec ts = { 0, 0 };
	uint64_t at = ps_rput(c, 0, &ts, sizeof(ts));
	char what[96];
	long rc;

	if (!at)
		return -EIO;
	snprintf(what, sizeof(what), "fd %d: clock_gettime(%d)", f->fd, f->u.timerfd.clock);
	rc = ps_rcall(c, what, SYS_clock_gettime, (uint64_t)f->u.timerfd.clock, at, 0, 0, 0, 0);
	if (rc < 0)
		return (int)rc;
	if (ps_rget(c, at, &ts, sizeof(ts)) < 0)
		return ps_rfail(c, -EIO, "fd %d: reading the stub's clock back", f->fd);
	*ns = (uint64_t)ts.tv_sec * PS_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	return 0;
}

/*
 * When the timer next fires, as timerfd_settime takes it. A relative timer
 * resumes with the time it had left at the checkpoint (the time the process
 * was gone does not count, as for its sleeps); an absolute one keeps its
 * expiry. fdinfo shows a time left of 0 for a periodic timer that expired
 * and was not read yet: the kernel moves it to its next period only when it
 * is read. Its next expiry was at most a period away, so it is armed for a
 * period from now, its unread expiration being kept in ticks.
 */
static int next_expiry(struct ps_rctx *c, const struct ps_fd *f, struct timespec *out)
{
	const struct ps_timerfd *t = &f->u.timerfd;
	int abs = (t->settime_flags & TFD_TIMER_ABSTIME) != 0;
	uint64_t now = 0;
	int rc;

	if (t->value_ns) {
		*out = ts_of(abs ? t->expires_ns : t->value_ns);
		return 0;
	}
	if (!t->interval_ns || !abs) {
		*out = ts_of(t->interval_ns);
		return 0;
	}
	rc = stub_clock_ns(c, f, &now);
	*out = ts_of(now + t->interval_ns);
	return rc;
}

/*
 * timerfd_settime is called whenever the timer is armed or was set with
 * flags: a disarmed timer keeps the flags it was last set with, and fdinfo
 * shows them. It clears the expiration count, so the unread expirations
 * are put back after it with TFD_IOC_SET_TICKS, which exists for
 * checkpoint/restore.
 */
static int arm_timerfd(struct ps_rctx *c, const struct ps_fd *f, long fd)
{
	const struct ps_timerfd *t = &f->u.timerfd;
	struct itimerspec its = { ts_of(t->interval_ns), { 0, 0 } };
	char what[96];
	uint64_t at;
	long rc;

	if (t->value_ns || t->interval_ns || t->settime_flags) {
		rc = next_expiry(c, f, &its.it_value);
		at = rc < 0 ? 0 : ps_rput(c, 0, &its, sizeof(its));
		if (!at)
			return rc < 0 ? (int)rc : -EIO;
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
