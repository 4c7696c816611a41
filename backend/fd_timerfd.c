/* Capture of timerfds: clock, flags, time left, period and unread
 * expirations, from fdinfo; an absolute timer's expiry on its own clock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "backend/fd_capture.h"
#include "backend/proc_parse.h"

/*
 * A periodic timer that expired and was not read shows "ticks: 1" and
 * "it_value: (0, 0)" in fdinfo however many periods have passed: the
 * kernel counts the missed periods (and re-arms the timer for the next one)
 * only when the timer is read or timerfd_gettime asks for it. So
 * timerfd_gettime is called on procsnap's dup of it (pidfd_getfd: the same
 * timer) and fdinfo read again. That bookkeeping is the kernel's own, which
 * the program's next read would have done: the program sees no difference,
 * whether procsnap goes on or dies here.
 */
static int count_missed_periods(struct ps_fd_capture *cx, struct ps_fd *f)
{
	int pidfd = ps_fd_capture_pidfd(cx), fd, rc;
	struct itimerspec its;
	char path[64], *text;
	size_t len;

	if (pidfd < 0)
		return ps_fd_unsupported(f, "pidfd_open of the process failed");
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, f->fd, 0);
	if (fd < 0)
		return ps_fd_unsupported(f, "pidfd_getfd of the timerfd failed: %s", strerror(errno));
	rc = timerfd_gettime(fd, &its);
	close(fd);
	if (rc < 0)
		return ps_fd_unsupported(f, "timerfd_gettime: %s", strerror(errno));
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)cx->pid, f->fd);
	if (ps_read_file(path, &text, &len) < 0)
		return ps_fd_unsupported(f, "its fdinfo could not be read again");
	rc = ps_parse_timerfd(text, &f->u.timerfd);
	free(text);
	return rc < 0 ? ps_fd_unsupported(f, "its fdinfo has no readable timerfd lines") : 0;
}

/*
 * fdinfo shows an absolute timer's time left, not its expiry: the expiry is
 * now on the timer's own clock plus that. The time between the kernel's
 * reading and ours (the other fds are listed in between) makes it fire that
 * much late, never early.
 */
int ps_capture_fd_timerfd(struct ps_fd_capture *cx, struct ps_fd *f)
{
	struct timespec now;

	if (ps_parse_timerfd(cx->fdinfo, &f->u.timerfd) < 0)
		return ps_fd_unsupported(f, "its fdinfo has no readable timerfd lines");
	if (f->u.timerfd.interval_ns && !f->u.timerfd.value_ns && count_missed_periods(cx, f) < 0)
		return -ENOMEM;
	if (!f->supported)
		return 0;
	if (!(f->u.timerfd.settime_flags & TFD_TIMER_ABSTIME) || f->u.timerfd.value_ns == 0)
		return 0;
	if (clock_gettime(f->u.timerfd.clock, &now) < 0)
		return ps_fd_unsupported(f, "cannot read the timer's clock: %s", strerror(errno));
	f->u.timerfd.expires_ns = (uint64_t)now.tv_sec * PS_NSEC_PER_SEC +
				  (uint64_t)now.tv_nsec + f->u.timerfd.value_ns;
	return 0;
}
