/* Capture of timerfds: clock, flags, time left, period and unread
 * expirations, from fdinfo; an absolute timer's expiry on its own clock. */
#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>

#include "backend/fd_capture.h"
#include "backend/proc_parse.h"

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
	if (!(f->u.timerfd.settime_flags & TFD_TIMER_ABSTIME) || f->u.timerfd.value_ns == 0)
		return 0;
	if (clock_gettime(f->u.timerfd.clock, &now) < 0)
		return ps_fd_unsupported(f, "cannot read the timer's clock: %s", strerror(errno));
	f->u.timerfd.expires_ns = (uint64_t)now.tv_sec * PS_NSEC_PER_SEC +
				  (uint64_t)now.tv_nsec + f->u.timerfd.value_ns;
	return 0;
}
