/* Files opened again by their path in the stub (regular files, devices,
 * directories, terminals, FIFOs), checked to be the file the image names. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "restore/as_caller.h"
#include "restore/fd_restore.h"

/* Every open is O_NONBLOCK (as_caller.c): a FIFO, a lease or a modem line
 * must never keep the stub waiting inside our syscall. */
static int open_flags(const struct ps_fd *f)
{
	int flags = f->flags & PS_FD_KEPT_FLAGS;

	if (f->type == PS_FD_DIR)
		flags |= O_DIRECTORY;
	return flags;
}

int ps_fd_restore_blocking(struct ps_rctx *c, const struct ps_fd *f)
{
	if (f->flags & (O_NONBLOCK | O_PATH))
		return 0;
	return ps_fd_setfl(c, f);
}

static const char *type_word(mode_t type)
{
	return type == S_IFDIR ? "directory" : type == S_IFIFO ? "FIFO" :
	       type == S_IFCHR ? "character device" : "regular file";
}

/* What the path led to is what the image says f was: the same kind of
 * file, and for a device the same device (a path swapped since the
 * checkpoint, or a forged type, is refused rather than trusted). */
static int check_opened(struct ps_rctx *c, const struct ps_fd *f, const struct stat *st)
{
	mode_t want = f->type == PS_FD_DIR ? S_IFDIR : f->type == PS_FD_FIFO ? S_IFIFO :
		      f->type == PS_FD_CHR ? S_IFCHR : S_IFREG;

	if ((st->st_mode & S_IFMT) != want)
		return ps_rfail(c, -ESTALE, "fd %d: %s is no longer a %s", f->fd, f->path.data,
				type_word(want));
	if (want == S_IFCHR && (major(st->st_rdev) != f->rdev_major ||
				minor(st->st_rdev) != f->rdev_minor))
		return ps_rfail(c, -ESTALE, "fd %d: %s is now device %u:%u, not %u:%u as at the "
				"checkpoint", f->fd, f->path.data, major(st->st_rdev),
				minor(st->st_rdev), f->rdev_major, f->rdev_minor);
	return 0;
}

/* O_NOCTTY always: the restored process must not pick up a controlling
 * terminal by reopening one. */
long ps_fd_reopen(struct ps_rctx *c, const struct ps_fd *f, struct stat *st)
{
	int flags = open_flags(f) | O_NOCTTY | (f->cloexec ? O_CLOEXEC : 0);
	char who[32];
	long nfd;
	int rc;

	snprintf(who, sizeof(who), "fd %d", f->fd);
	nfd = ps_caller_open(c, who, f->path.data, flags, 0);
	if (nfd < 0)
		return nfd;
	rc = ps_caller_fstat(c, who, nfd, st);
	if (rc == 0)
		rc = check_opened(c, f, st);
	if (rc == 0)
		return nfd;
	ps_rcall(c, "close", SYS_close, (uint64_t)nfd, 0, 0, 0, 0, 0);
	return rc;
}

int ps_fd_place_reopened(struct ps_rctx *c, const struct ps_fd *f, long nfd)
{
	int rc = ps_fd_move(c, f, nfd);

	return rc ? rc : ps_fd_restore_blocking(c, f);
}

static int access_mode(const struct ps_fd *f)
{
	if (f->flags & O_PATH)
		return F_OK;
	switch (f->flags & O_ACCMODE) {
	case O_WRONLY:
		return W_OK;
	case O_RDWR:
		return R_OK | W_OK;
	default:
		return R_OK;
	}
}

int ps_fd_probe_reopen(struct ps_probes *ps, const struct ps_fd *f)
{
	int mode = access_mode(f);
	char who[32];

	snprintf(who, sizeof(who), "fd %d", f->fd);
	return ps_probe_add(ps, who, f->path.data, mode, 0,
			    mode == F_OK ? "reach %s" : "open %s for %s", f->path.data);
}
