/* Directories: opened again by their path (O_DIRECTORY), their offset left
 * at the start (it is a cookie of their filesystem). */
#include <sys/stat.h>

#include "restore/fd_restore.h"

int ps_validate_fd_dir(const struct ps_check *v, const struct ps_fd *f)
{
	return ps_fd_check_absolute(v, f);
}

int ps_check_fd_dir_path(const struct ps_check *v, const struct ps_fd *f)
{
	return ps_fd_check_path(v, f, S_IFDIR);
}

int ps_probe_fd_dir(struct ps_probes *ps, const struct ps_fd *f)
{
	return ps_fd_probe_reopen(ps, f);
}

int ps_restore_fd_dir(struct ps_rctx *c, const struct ps_fd *f)
{
	struct stat st;
	long nfd = ps_fd_reopen(c, f, &st);

	if (nfd < 0)
		return (int)nfd;
	return ps_fd_place_reopened(c, f, nfd);
}
