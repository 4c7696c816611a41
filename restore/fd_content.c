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

#include "restore/as_caller.h"
#include "backend/fileio.h"
#include "restore/fd_restore.h"

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
 * file was in (so on the same filesystem, under the same quotas), as the
 * caller. O_EXCL: like the deleted file, it can never be linked into a
 * directory again. Mode 0600 until its own is given, after it was filled
 * and opened again with its flags. */
static long create_unlinked(struct ps_rctx *c, const struct ps_fd *f)
{
	char *copy = strdup(f->path.data), who[32];
	long fd;

	if (!copy)
		return ps_rfail(c, -ENOMEM, "out of memory");
	snprintf(who, sizeof(who), "fd %d", f->fd);
	fd = ps_caller_open(c, who, dirname(copy), O_TMPFILE | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	free(copy);
	return fd;
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
	struct stat st;
	char *buf;
	int src, rc;

	src = ps_image_open(c, f->data);
	if (src < 0 || fstat(src, &st) < 0 || (uint64_t)st.st_size != f->u.content.size) {
		rc = errno;
		if (src >= 0)
			close(src);
		return ps_rfail(c, -EIO, "fd %d: cannot read %s: %s", f->fd, f->data,
				src >= 0 ? "its size is not the one fds.json gives" : strerror(rc));
	}
	buf = malloc(COPY_CHUNK);
	rc = buf ? copy_runs(src, dst, f->u.content.size, buf) : -ENOMEM;
	free(buf);
	close(src);
	if (rc == 0 && ftruncate(dst, (off_t)f->u.content.size) < 0)
		rc = -errno;
	if (rc < 0)
		return ps_rfail(c, rc, "fd %d: writing the saved content of %s: %s", f->fd,
				f->path.data, strerror(-rc));
	return 0;
}

static int fill(struct ps_rctx *c, const struct ps_fd *f, long fd)
{
	int local = ps_rgrab(c, fd), rc;

	if (local < 0)
		return local;
	rc = fill_from_image(c, f, local);
	close(local);
	return rc;
}

/* In the stub, so that the kernel decides what a caller other than root
 * may give its own file (validation asked for no less). */
static int give_owner_and_mode(struct ps_rctx *c, const struct ps_fd *f, long fd)
{
	const struct ps_fd_content *ct = &f->u.content;
	char who[32], deed[PS_PATH_MAX + 96];
	long rc;

	snprintf(who, sizeof(who), "fd %d", f->fd);
	snprintf(deed, sizeof(deed), "give the recreated %s its owner %u:%u", f->path.data, ct->uid,
		 ct->gid);
	rc = ps_caller_call(c, who, deed, SYS_fchown, (uint64_t)fd, ct->uid, ct->gid, 0, 0, 0);
	snprintf(deed, sizeof(deed), "give the recreated %s its mode %04o", f->path.data,
		 f->mode & 07777);
	if (rc >= 0)
		rc = ps_caller_call(c, who, deed, SYS_fchmod, (uint64_t)fd, f->mode & 07777, 0, 0, 0,
				    0);
	return rc < 0 ? (int)rc : 0;
}

/* Last: a seal may forbid what comes before it. F_ADD_SEALS takes a
 * writable descriptor. */
static int add_seals(struct ps_rctx *c, const struct ps_fd *f, long fd)
{
	int local, rc = 0;

	if (!f->u.content.seals)
		return 0;
	local = ps_rgrab(c, fd);
	if (local < 0)
		return local;
	if (fcntl(local, F_ADD_SEALS, f->u.content.seals) < 0)
		rc = ps_rfail(c, -errno, "fd %d: F_ADD_SEALS %#x on %s: %s", f->fd, f->u.content.seals,
			      f->path.data, strerror(errno));
	close(local);
	return rc;
}

/*
 * Both ways of making the file give an O_RDWR descriptor; one with other
 * flags (read-only, O_APPEND...) is a new open of it through the magic link
 * /proc/self/fd/<n>, which reaches even a file without a name. That comes
 * before the file's own mode, which may not let its owner open it so.
 */
static long reopen_with_flags(struct ps_rctx *c, const struct ps_fd *f, long fd, int flags)
{
	char link[64], who[32];
	uint64_t at;

	if (flags == O_RDWR)
		return fd;
	snprintf(link, sizeof(link), "/proc/self/fd/%ld", fd);
	at = ps_rput(c, 0, link, strlen(link) + 1);
	if (!at)
		return -EIO;
	snprintf(who, sizeof(who), "fd %d", f->fd);
	return ps_caller_call(c, who, "open the recreated file again with its flags", SYS_openat,
			      (uint64_t)(int64_t)AT_FDCWD, at, (uint64_t)(flags | O_CLOEXEC), 0, 0, 0);
}

/* Content, then the descriptor with its flags, then owner and mode, then
 * the seals, all through the O_RDWR descriptor it was made with. */
static long make_and_fill(struct ps_rctx *c, const struct ps_fd *f, long rw, int flags)
{
	long fd;
	int rc = fill(c, f, rw);

	if (rc < 0)
		return rc;
	fd = reopen_with_flags(c, f, rw, flags);
	if (fd < 0)
		return fd;
	rc = give_owner_and_mode(c, f, rw);
	if (rc == 0)
		rc = add_seals(c, f, rw);
	if (rc == 0)
		return fd;
	if (fd != rw)
		ps_rcall(c, "close", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
	return rc;
}

long ps_restore_content_fd(struct ps_rctx *c, const struct ps_fd *f, int flags)
{
	long rw = f->kind == PS_FD_KIND_MEMFD ? create_memfd(c, f) : create_unlinked(c, f), fd;

	if (rw < 0)
		return rw;
	fd = make_and_fill(c, f, rw, flags);
	if (fd != rw)
		ps_rcall(c, "close", SYS_close, (uint64_t)rw, 0, 0, 0, 0, 0);
	if (fd < 0)
		return fd;
	/* made close-on-exec; dup3 to its number gives it its own flag, but
	 * it may already be at its number */
	if (fd == f->fd && !f->cloexec &&
	    ps_rcall(c, "fcntl(F_SETFD)", SYS_fcntl, (uint64_t)fd, F_SETFD, 0, 0, 0, 0) < 0)
		return -EIO;
	return fd;
}

/* ---- checks ---- */

/* procsnap makes the file and gives it the saved owner and mode: for a
 * caller other than root, only its own, and never set-id (a set-uid memfd
 * owned by root could be run with fexecve). */
int ps_validate_fd_content_owner(const struct ps_check *v, const struct ps_fd *f)
{
	if (v->uid == 0)
		return 0;
	if (f->u.content.uid != v->uid || f->u.content.gid != v->gid)
		return ps_refuse(v, -EPERM, "fd %d: %s belonged to %u:%u, and uid %u may only "
				    "restore files of its own", f->fd, f->path.data,
				    f->u.content.uid, f->u.content.gid, (unsigned)v->uid);
	if (f->mode & (S_ISUID | S_ISGID))
		return ps_refuse(v, -EPERM, "fd %d: %s is set-user-ID or set-group-ID: only root "
				    "may restore it", f->fd, f->path.data);
	return 0;
}

int ps_validate_fd_content(const struct ps_check *v, const struct ps_fd *f)
{
	if (!f->data)
		return ps_refuse(v, -EINVAL, "fd %d: a %s without its content file (\"data\")",
				    f->fd, ps_fd_label(f));
	if (f->path.data[0] != '/')
		return ps_refuse(v, -EINVAL, "fd %d: its path \"%s\" is not absolute", f->fd,
				    f->path.data);
	return 0;
}
