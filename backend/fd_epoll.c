/* Capture of epoll descriptors: the descriptors each one watches, from the
 * "tfd:" lines of its fdinfo. */
#include "backend/fd_capture.h"
#include "backend/proc_parse.h"

int ps_capture_fd_epoll(struct ps_fd_capture *cx, struct ps_fd *f)
{
	return ps_parse_epoll_targets(cx->fdinfo, &f->u.epoll.targets, &f->u.epoll.ntargets);
}
