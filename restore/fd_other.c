/* Descriptors of no kind procsnap restores (block devices, io_uring, ...),
 * or whose entry names a kind its type does not go with: refused. */
#include <errno.h>

#include "image/fd_kinds.h"
#include "restore/fd_restore.h"

int ps_validate_fd_other(const struct ps_check *v, const struct ps_fd *f)
{
	return ps_refuse(v, -ENOTSUP, "fd %d (%s): not supported yet", f->fd, ps_fd_label(f));
}

int ps_restore_fd_other(struct ps_rctx *c, const struct ps_fd *f)
{
	const char *kind = ps_fd_kind_json_name(f);

	return ps_rfail(c, -ENOTSUP, "fd %d (%s): not supported yet", f->fd, kind ? kind : "?");
}
