/* memfds: made again with their name, filled from their saved bytes, given
 * their seals (restore/fd_content.c does what deleted files share). */
#include <errno.h>
#include <string.h>

#include "restore/fd_restore.h"

/* memfd_create takes names of up to 249 bytes ("memfd:" makes 255). */
int ps_validate_fd_memfd(const struct ps_check *v, const struct ps_fd *f)
{
	static const char prefix[] = "/memfd:";
	int rc = ps_validate_fd_content(v, f);

	if (rc)
		return rc;
	if (strncmp(f->path.data, prefix, sizeof(prefix) - 1) ||
	    f->path.len - (sizeof(prefix) - 1) > 249)
		return ps_refuse(v, -EINVAL, "fd %d: \"%s\" is not a memfd name", f->fd,
				    f->path.data);
	return ps_validate_fd_content_owner(v, f);
}

int ps_restore_fd_memfd(struct ps_rctx *c, const struct ps_fd *f)
{
	long nfd = ps_restore_content_fd(c, f, f->flags & PS_FD_KEPT_FLAGS);
	int rc;

	if (nfd < 0)
		return (int)nfd;
	rc = ps_fd_move(c, f, nfd);
	return rc ? rc : ps_fd_seek(c, f);
}
