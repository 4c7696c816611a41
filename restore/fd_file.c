/* Regular files and device files other than terminals: opened again by
 * their path, or, deleted while open, made again from their saved bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "restore/fd_restore.h"

int ps_validate_fd_file(const struct ps_check *v, const struct ps_fd *f)
{
	int rc;

	if (!ps_fd_has_content(f))
		return ps_fd_check_absolute(v, f);
	rc = ps_validate_fd_content(v, f);
	return rc ? rc : ps_validate_fd_content_owner(v, f);
}

/* A device file's node is checked when it is opened (fd_reopen.c). */
int ps_check_fd_file_path(const struct ps_check *v, const struct ps_fd *f)
{
	if (f->type != PS_FD_REG || ps_fd_has_content(f))
		return 0;
	return ps_fd_check_path(v, f, S_IFREG);
}

/* A deleted file is made again in its directory; any other is opened. */
int ps_probe_fd_file(struct ps_probes *ps, const struct ps_fd *f)
{
	char who[32], *dir;
	int rc;

	if (!ps_fd_has_content(f))
		return ps_fd_probe_reopen(ps, f);
	dir = ps_path_dir(f->path.data);
	if (!dir)
		return -ENOMEM;
	snprintf(who, sizeof(who), "fd %d", f->fd);
	rc = ps_probe_add(ps, who, f->path.data, W_OK | X_OK, 1, "make a file in %s", dir);
	free(dir);
	return rc;
}

int ps_restore_fd_file(struct ps_rctx *c, const struct ps_fd *f)
{
	struct stat st;
	long nfd;
	int rc;

	if (ps_fd_has_content(f))
		nfd = ps_restore_content_fd(c, f, f->flags & PS_FD_KEPT_FLAGS);
	else
		nfd = ps_fd_reopen(c, f, &st);
	if (nfd < 0)
		return (int)nfd;
	rc = ps_fd_place_reopened(c, f, nfd);
	if (rc || f->type != PS_FD_REG)
		return rc;
	return ps_fd_seek(c, f);
}
