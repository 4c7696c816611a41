/* Recreating files whose bytes are in the image (fds/<n>): a file deleted
 * while open, as a new unlinked file, and a memfd, with its name and seals. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/fileio.h"
#include "fds_content.h"

#define COPY_CHUNK (1 << 20)
#define MEMFD_PREFIX "/memfd:"

/* A memfd is made with sealing allowed whatever it had: one that did not
 * allow it has F_SEAL_SEAL among its saved seals, which are added last. */
static long create_memfd(struct ps_rctx *c, const struct ps_fd *f)
{
	const char *name = f->path.data + strlen(MEMFD_PREFIX);
	char what[PS_PATH_MAX + 64];
	uint64_t at = ps_rput(c, 0, name, strlen(name) + 1);

	if (!at)
		return -EIO;
	snprintf(what, sizeof(what), "fd %d: memfd_create(\"%s\")", f->fd, name);
	return ps_rcall(c, what, SYS_memfd_create, at, MFD_ALLOW_SEALING | MFD_CLOEXEC, 0, 0, 0, 0);
}

/* O_TMPFILE makes a file that never had a name, in the directory the deleted
 * file was in (so on the same filesystem, under the same quotas). O_EXCL:
 * like the deleted file, it can never be linked into a directory again. */
static long create_unlinked(struct ps_rctx *c, const struct ps_fd *f)
{
	char *copy = strdup(f->path.data), what[PS_PATH_MAX + 96];
	const char *dir;
	uint64_t at;

	if (!copy)
		return ps_rfail(c, -ENOMEM, "out of memory");
	dir = dirname(copy);
	snprintf(what, sizeof(what), "fd %d: creating an unlinked file in %s for the deleted %s",
		 f->fd, dir, f->path.data);
	at = ps_rput(c, 0, dir, strlen(dir) + 1);
	free(copy);
	if (!at)
		return -EIO;
	return ps_rcall(c, what, SYS_openat, (uint64_t)(int64_t)AT_FDCWD, at,
			O_TMPFILE | O_EXCL | O_RDWR | O_CLOEXEC, f->mode & 07777, 0, 0);
}

/* The data runs of src (its holes stay holes) into dst, then dst cut to size. */
static int copy_runs(int src, int dst, uint64_t size, char *buf)
{
	off_t at = 0;

	while ((uint64_t)at < size) {
		off_t data = lseek(src, at, SEEK_DATA), hole;

		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		for (at = data; at < hole;) {
			ssize_t n = pread(src, buf, COPY_CHUNK, at);
			int rc;

			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			rc = ps_write_all(dst, buf, (size_t)n, at);
			if (rc < 0)
				return rc;
			at += n;
		}
	}
	return 0;
}

static int fill_from_image(struct ps_rctx *c, const struct ps_fd *f, int dst)
{
	char path[PS_PATH_MAX];
	struct stat st;
	char *buf;
	int src, rc;

	snprintf(path, sizeof(path), "%s/%s", c->dir, f->data);
	src = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0 || fstat(src, &st) < 0 || (uint64_t)st.st_size != f->size) {
		rc = errno;
		if (src >= 0)
			close(src);
		return ps_rfail(c, -EIO, "fd %d: cannot read %s: %s", f->fd, f->data,
				src >= 0 ? "its size is not the one fds.json gives" : strerror(rc));
	}
	buf = malloc(COPY_CHUNK);
	rc = buf ? copy_runs(src, dst, f->size, buf) : -ENOMEM;
	free(buf);
	close(src);
	if (rc == 0 && ftruncate(dst, (off_t)f->size) < 0)
		rc = -errno;
	if (rc < 0)
		return ps_rfail(c, rc, "fd %d: writing the saved content of %s: %s", f->fd,
				f->path.data, strerror(-rc));
	return 0;
}

/* Content, owner and mode, then the seals (a seal may forbid the rest). */
static int fill(struct ps_rctx *c, const struct ps_fd *f, long fd)
{
	int local = ps_rgrab(c, fd), rc;

	if (local < 0)
		return local;
	rc = fill_from_image(c, f, local);
	if (rc == 0 && (fchown(local, f->uid, f->gid) < 0 || fchmod(local, f->mode & 07777) < 0))
		rc = ps_rfail(c, -errno, "fd %d: giving the recreated %s its owner %u:%u and mode "
			      "%04o: %s", f->fd, f->path.data, f->uid, f->gid, f->mode & 07777,
			      strerror(errno));
	if (rc == 0 && f->seals && fcntl(local, F_ADD_SEALS, f->seals) < 0)
		rc = ps_rfail(c, -errno, "fd %d: F_ADD_SEALS %#x on %s: %s", f->fd, f->seals,
			      f->path.data, strerror(errno));
	close(local);
	return rc;
}

/*
 * Both ways of making the file give an O_RDWR descriptor; one with other
 * flags (read-only, O_APPEND...) is a new open of it through the magic link
 * /proc/self/fd/<n>, which reaches even a file without a name.
 */
static long reopen_with_flags(struct ps_rctx *c, const struct ps_fd *f, long fd, int flags)
{
	char link[64], what[96];
	uint64_t at;
	long nfd;

	if (flags == O_RDWR)
		return fd;
	snprintf(link, sizeof(link), "/proc/self/fd/%ld", fd);
	at = ps_rput(c, 0, link, strlen(link) + 1);
	if (!at)
		return -EIO;
	snprintf(what, sizeof(what), "fd %d: opening the recreated file again with its flags",
		 f->fd);
	nfd = ps_rcall(c, what, SYS_openat, (uint64_t)(int64_t)AT_FDCWD, at,
		       (uint64_t)(flags | O_CLOEXEC), 0, 0, 0);
	ps_rcall(c, "close", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
	return nfd;
}

long ps_restore_content_fd(struct ps_rctx *c, const struct ps_fd *f, int flags)
{
	long fd = ps_fd_kind_is(f, "memfd") ? create_memfd(c, f) : create_unlinked(c, f);
	int rc;

	if (fd < 0)
		return fd;
	rc = fill(c, f, fd);
	if (rc < 0)
		return rc;
	fd = reopen_with_flags(c, f, fd, flags);
	/* made close-on-exec; dup3 to its number gives it its own flag, but
	 * it may already be at its number */
	if (fd == f->fd && !f->cloexec &&
	    ps_rcall(c, "fcntl(F_SETFD)", SYS_fcntl, (uint64_t)fd, F_SETFD, 0, 0, 0, 0) < 0)
		return -EIO;
	return fd;
}
