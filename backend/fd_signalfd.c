/* Capture of signalfds: the mask of signals they read, from fdinfo's
 * "sigmask:" line. */
#include "backend/fd_capture.h"
#include "backend/proc_parse.h"

int ps_capture_fd_signalfd(struct ps_fd_capture *cx, struct ps_fd *f)
{
	if (ps_parse_signalfd(cx->fdinfo, &f->u.sigmask) < 0)
		return ps_fd_unsupported(f, "its fdinfo has no sigmask line");
	return 0;
}
