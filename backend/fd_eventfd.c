/* Capture of eventfds: the counter and whether reads take one at a time
 * (EFD_SEMAPHORE), from fdinfo. */
#include "backend/fd_capture.h"
#include "backend/proc_parse.h"

int ps_capture_fd_eventfd(struct ps_fd_capture *cx, struct ps_fd *f)
{
	if (ps_parse_eventfd(cx->fdinfo, &f->u.eventfd) < 0)
		return ps_fd_unsupported(f, "its fdinfo has no eventfd-count/semaphore lines");
	return 0;
}
