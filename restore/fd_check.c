/* The checks of fds.json every descriptor kind shares, and the loops that
 * run each fd's kind's checks (restore/validate.c calls them). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "backend/sentence.h"
#include "image/fd_kinds.h"
#include "restore/fd_restore.h"

const struct ps_fd *ps_fd_numbered(const struct ps_fds *fds, int n)
{
	for (size_t i = 0; i < fds->count; i++)
		if (fds->items[i].fd == n)
			return &fds->items[i];
	return NULL;
}

const char *ps_fd_label(const struct ps_fd *f)
{
	static const char *const names[] = {
		[PS_FD_REG] = "file", [PS_FD_DIR] = "directory", [PS_FD_CHR] = "char",
		[PS_FD_BLK] = "block", [PS_FD_PIPE] = "pipe", [PS_FD_FIFO] = "fifo",
		[PS_FD_SOCKET] = "socket", [PS_FD_ANON] = "anon", [PS_FD_OTHER] = "unknown",
	};
	const char *kind = ps_fd_kind_json_name(f);

	return kind ? kind : names[f->type];
}

int ps_fd_check_absolute(const struct ps_check *v, const struct ps_fd *f)
{
	if (f->path.data[0] != '/')
		return ps_refuse(v, -EINVAL, "fd %d: its path \"%s\" is not absolute", f->fd,
				    f->path.data);
	return 0;
}

int ps_fd_check_path(const struct ps_check *v, const struct ps_fd *f, mode_t want)
{
	struct stat st;

	if (stat(f->path.data, &st) < 0) {
		if (errno == ENOENT)
			return ps_refuse(v, -ENOENT, "fd %d: %s is missing", f->fd, f->path.data);
		return ps_refuse(v, -errno, "fd %d: %s: %s", f->fd, f->path.data,
				    strerror(errno));
	}
	if ((st.st_mode & S_IFMT) != want)
		return ps_refuse(v, -ESTALE, "fd %d: %s is no longer a %s", f->fd, f->path.data,
				    want == S_IFDIR ? "directory" : want == S_IFIFO ? "FIFO"
				    : "regular file");
	return 0;
}

/* A dup of an fd before it, which is itself restored (not another dup). */
static int check_dup(const struct ps_check *v, const struct ps_fd *f)
{
	const struct ps_fd *o = ps_fd_numbered(&v->m->fds, f->dup_of);

	if (!o || o->is_dup || o->type != f->type)
		return ps_refuse(v, -EINVAL, "fd %d: it shares the open file of fd %d, which is "
				    "not in fds.json as such", f->fd, f->dup_of);
	return 0;
}

static int check_fd(const struct ps_check *v, const struct ps_fd *f, rlim_t nofile)
{
	const struct ps_fd_kind_ops *ops = ps_fd_ops(f);

	if ((rlim_t)f->fd >= nofile)
		return ps_refuse(v, -EMFILE, "fd %d is above the open-file limit procsnap runs "
				    "with (hard %llu)", f->fd, (unsigned long long)nofile);
	if (f->is_dup)
		return check_dup(v, f);
	if (!f->supported)
		return ps_refuse(v, -ENOTSUP, "fd %d (%s): %s", f->fd, ps_fd_label(f),
				    f->unsupported_reason ? f->unsupported_reason : "not supported");
	return ops->validate ? ops->validate(v, f) : 0;
}

int ps_validate_fds(const struct ps_check *v)
{
	struct rlimit lim;
	int rc = 0;

	if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
		return ps_refuse(v, -errno, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	for (size_t i = 0; !rc && i < v->m->fds.count; i++)
		rc = check_fd(v, &v->m->fds.items[i], lim.rlim_max);
	return rc;
}

int ps_validate_fd_files(const struct ps_check *v)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < v->m->fds.count; i++) {
		const struct ps_fd *f = &v->m->fds.items[i];
		const struct ps_fd_kind_ops *ops = ps_fd_ops(f);

		if (!f->is_dup && f->supported && ops->validate_files)
			rc = ops->validate_files(v, f);
	}
	return rc;
}
