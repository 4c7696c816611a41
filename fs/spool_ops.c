/* restore/: the FUSE operations on the staged images in the spool (each
 * user's own, confined beneath the spool, never following a symlink). */
#define FUSE_USE_VERSION 314

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fuse.h>

#include "backend/fileio.h"
#include "fs/image_state.h"
#include "fs/spool_dir.h"
#include "fs/spool_ns.h"
#include "fs/spool_ops.h"
#include "fs/spool_prefill.h"
#include "fs/spool_restore.h"
#include "fs/spool_status.h"
#include "fs/spool_writer.h"

struct ps_spool_handle {
	int fd;                    /* -1 for a status file */
	int direct_fd;             /* the same file with O_DIRECT, -1 if none */
	struct ps_spool_writes writes;  /* aligned writes not yet on disk */
	struct ps_spool_mirror mirror;  /* its aligned writes into the early fill */
	int writer;                /* counted in its image's writers */
	int image_top;             /* an image's own directory: lists status */
	int is_root;               /* restore/ itself: the caller's namespace */
	int all_users;             /* ... opened by root: lists everyone's */
	char image[PS_SPOOL_KEY_MAX];  /* the image it lies in, "" if none */
	char *text;                /* status content */
	size_t len;
};

/* Let h's queued writes reach the disk: 0, or -1 with errno the first
 * failure among them; the file then ends where that write began. */
static int settle(struct ps_spool_handle *h)
{
	off_t failed_at = 0;
	struct stat st;
	int rc = ps_spool_settle(&h->writes, &failed_at);

	if (rc == 0)
		return 0;
	if (fstat(h->fd, &st) == 0 && st.st_size > failed_at && ftruncate(h->fd, failed_at) < 0)
		fuse_log(FUSE_LOG_ERR, "procsnap: cannot cut a staged file after a failed write: %s\n",
			strerror(errno));
	errno = -rc;
	return -1;
}

/* The caller's place for rel (spool_ns.h). */
static int place(const char *rel, struct ps_place *p)
{
	return ps_ns_place(rel, fuse_get_context()->uid, p);
}

/* Where a path is to be made: the caller's own namespace, which exists. */
static int place_to_write(const char *rel, struct ps_place *p)
{
	int rc = place(rel, p);

	if (rc == 0 && p->foreign)
		rc = -EPERM;
	if (rc == 0 && strchr(p->path, '/'))
		rc = ps_ns_ensure(ps_spool_images_fd(), p->path);
	return rc;
}

/* Where an operation by path acts: rel's place, the directory holding it
 * (opened beneath images/) and its last component there. */
struct target {
	struct ps_place p;
	int dfd;
	const char *base;
};

enum {
	TARGET_WRITE = 1,         /* in the caller's own namespace, made if missing */
	TARGET_STATUS_APART = 2,  /* a status file is not opened but reported */
};
#define TARGET_IS_STATUS 1

/* Place rel and open its directory (how: TARGET_* bits): 0 with t->dfd for
 * the caller to close, TARGET_IS_STATUS (nothing open, t->p set) for a
 * status file kept apart, or -errno. */
static int target_open(const char *rel, int how, struct target *t)
{
	int rc = (how & TARGET_WRITE) ? place_to_write(rel, &t->p) : place(rel, &t->p);

	if (rc < 0)
		return rc;
	if ((how & TARGET_STATUS_APART) && ps_spool_is_status(t->p.path))
		return TARGET_IS_STATUS;
	t->dfd = ps_spool_open_parent(t->p.path, &t->base);
	return t->dfd < 0 ? t->dfd : 0;
}

/* With allow_other, what a caller creates is theirs, as on any disk. */
static int give_to_caller(int dirfd, const char *base)
{
	struct fuse_context *ctx = fuse_get_context();

	if (!ps_spool_shared() || !ctx || ctx->uid == geteuid())
		return 0;
	if (fchownat(dirfd, base, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/*
 * Staged images are their owner's alone, whatever modes the copy tool asks
 * for (cp -a of a world-readable image, say): no bit for group or others.
 * And their owner can always write them again, to fix and retry a failed
 * restore, also after cp -r of a read-only tree.
 */
static mode_t private_mode(mode_t mode, int is_dir)
{
	return is_dir ? S_IRWXU : (mode & S_IRWXU) | S_IRUSR | S_IWUSR;
}

/* ---- namespace operations ---- */

static int spool_stat(struct stat *st)
{
	if (fstat(ps_spool_images_fd(), st) < 0)
		return -errno;
	if (ps_spool_shared())
		st->st_mode = S_IFDIR | 01777;  /* anyone stages, each in a namespace of their own */
	return 0;
}

int ps_spool_getattr(const char *rel, struct ps_spool_handle *h, struct stat *st)
{
	char key[PS_SPOOL_KEY_MAX], text[PS_SPOOL_STATUS_MAX];
	struct target t;
	int rc;

	if (h && h->fd < 0)
		return ps_spool_status_stat(h->image, h->text, st);
	if (h && h->is_root)
		return spool_stat(st);
	if (h)
		return settle(h) < 0 || fstat(h->fd, st) < 0 ? -errno : 0;
	if (!*rel)
		return spool_stat(st);
	rc = target_open(rel, TARGET_STATUS_APART, &t);
	if (rc == TARGET_IS_STATUS) {
		ps_spool_image_key(t.p.path, key);
		ps_spool_status_text(key, text, sizeof(text));
		return ps_spool_status_stat(key, text, st);
	}
	if (rc != 0)
		return rc;
	/* lstat: a symlink planted in the spool shows as one (and can be
	 * removed) but is never followed */
	if (fstatat(t.dfd, t.base, st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	close(t.dfd);
	return rc;
}

/* fn with the image path is or lies in, if any. */
static void tell_image(const char *path, void (*fn)(const char *key))
{
	char key[PS_SPOOL_KEY_MAX];

	if (ps_spool_image_key(path, key))
		fn(key);
}

/* Mutations in or of an image invalidate its state. */
static void changed(const char *path)
{
	tell_image(path, ps_spool_image_changed);
}

/* A mode or an owner set by path: the image is not quiet. */
static void touched(const char *path)
{
	tell_image(path, ps_spool_image_touched);
}

/* Removed, renamed or cut by path: no mirror of the image can be trusted. */
static void changed_behind(const char *path)
{
	tell_image(path, ps_spool_abandon_fill);
}

int ps_spool_mkdir(const char *rel, mode_t mode)
{
	struct target t;
	int rc;

	(void)mode;   /* private_mode() */
	if (!*rel)
		return -EEXIST;
	rc = target_open(rel, TARGET_WRITE | TARGET_STATUS_APART, &t);
	if (rc != 0)
		return rc == TARGET_IS_STATUS ? -EEXIST : rc;
	if (mkdirat(t.dfd, t.base, private_mode(0, 1)) < 0)
		rc = -errno;
	else if ((rc = give_to_caller(t.dfd, t.base)) < 0)
		unlinkat(t.dfd, t.base, AT_REMOVEDIR);
	close(t.dfd);
	if (!rc)
		changed(t.p.path);
	return rc;
}

/* A name removed or renamed: an image itself takes its state file along,
 * so what procsnap knows of that name is read again; a file or directory
 * inside an image changes it. */
static void name_gone(const char *path)
{
	char key[PS_SPOOL_KEY_MAX];

	if (ps_spool_is_top(path) && ps_spool_image_key(path, key))
		ps_spool_image_reload(key);
	else
		changed(path);
}

/* Remove t's name (flags: unlinkat's) and close t: then gone(path) tells
 * its image, and no mirror of the image can be trusted. 0 or -errno. */
static int remove_target(struct target *t, int flags, void (*gone)(const char *path))
{
	int rc = unlinkat(t->dfd, t->base, flags) < 0 ? -errno : 0;

	close(t->dfd);
	if (!rc)
		gone(t->p.path);
	changed_behind(t->p.path);
	return rc;
}

/* Unlinking status succeeds and does nothing, so that rm -r of an image
 * works; status is back as long as the image is. */
int ps_spool_unlink(const char *rel)
{
	struct target t;
	int rc;

	if (!*rel)
		return -EISDIR;
	rc = target_open(rel, TARGET_STATUS_APART, &t);
	if (rc != 0)
		return rc == TARGET_IS_STATUS ? 0 : rc;
	return remove_target(&t, 0, changed);
}

/* An image's directory holding nothing but its state file: the state
 * goes, and the directory can. */
static void drop_lone_state(int dfd, const char *base)
{
	DIR *d = ps_spool_dir_stream(dfd, base);
	struct dirent *de;
	int others = 0;

	if (!d)
		return;
	while (!others && (de = readdir(d)))
		others = strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			 strcmp(de->d_name, PS_STATE_NAME);
	if (!others)
		ps_state_remove(dirfd(d));
	closedir(d);
}

int ps_spool_rmdir(const char *rel)
{
	struct target t;
	int rc;

	if (!*rel)
		return -EBUSY;
	rc = target_open(rel, 0, &t);
	if (rc < 0)
		return rc;
	if (ps_spool_is_top(t.p.path))
		drop_lone_state(t.dfd, t.base);
	return remove_target(&t, AT_REMOVEDIR, name_gone);
}

static int rename_at(const char *from, const char *to, unsigned int flags)
{
	const char *fbase, *tbase;
	int fdfd, tdfd, rc = 0;

	fdfd = ps_spool_open_parent(from, &fbase);
	if (fdfd < 0)
		return fdfd;
	tdfd = ps_spool_open_parent(to, &tbase);
	if (tdfd < 0) {
		close(fdfd);
		return tdfd;
	}
	if (renameat2(fdfd, fbase, tdfd, tbase, flags) < 0)
		rc = -errno;
	close(fdfd);
	close(tdfd);
	return rc;
}

/* rsync writes a temporary name and renames it into place: that rename
 * may be what completes the image, so it may start the restore. */
int ps_spool_rename(const char *from, const char *to, unsigned int flags)
{
	struct ps_place pf, pt;
	char key[PS_SPOOL_KEY_MAX];
	int rc;

	if (!*from || !*to)
		return -EBUSY;
	rc = place_to_write(from, &pf);
	if (rc == 0)
		rc = place_to_write(to, &pt);
	if (rc < 0)
		return rc;
	if (ps_spool_is_status(pf.path) || ps_spool_is_status(pt.path))
		return -EPERM;
	changed_behind(pf.path);
	changed_behind(pt.path);
	rc = rename_at(pf.path, pt.path, flags);
	if (rc < 0)
		return rc;
	name_gone(pf.path);
	name_gone(pt.path);
	return ps_spool_image_key(pt.path, key) ? ps_spool_maybe_restore(key, 0) : 0;
}

static int truncate_path(const char *path, off_t size)
{
	int fd = ps_spool_open_beneath(path, O_WRONLY, 0);
	int rc = 0;

	if (fd < 0)
		return fd;
	if (ftruncate(fd, size) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int ps_spool_truncate(const char *rel, struct ps_spool_handle *h, off_t size)
{
	char key[PS_SPOOL_KEY_MAX];
	struct ps_place p;
	int rc;

	if (h && h->fd < 0)
		return -EACCES;
	if (h) {
		ps_spool_mirror_stop(&h->mirror);
		return settle(h) < 0 || ftruncate(h->fd, size) < 0 ? -errno : 0;
	}
	rc = place_to_write(rel, &p);
	if (rc < 0)
		return rc;
	if (ps_spool_is_status(p.path))
		return -EACCES;
	changed_behind(p.path);
	rc = truncate_path(p.path, size);
	if (rc < 0)
		return rc;
	changed(p.path);
	/* Without an open handle no flush follows: look now. */
	return ps_spool_inside_image(p.path, key) ? ps_spool_maybe_restore(key, 0) : 0;
}

/* The mode asked for, made private (private_mode()). */
static int chmod_private(int dfd, const char *base, mode_t mode)
{
	struct stat st;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -EOPNOTSUPP;   /* as chmod of a symlink itself is */
	mode = private_mode(mode, S_ISDIR(st.st_mode));
	return fchmodat(dfd, base, mode, 0) < 0 ? -errno : 0;
}

static int fchmod_private(int fd, mode_t mode)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || fchmod(fd, private_mode(mode, S_ISDIR(st.st_mode))) < 0)
		return -errno;
	return 0;
}

/* status is read-only and stays so, but chmod of it succeeds: chmod -R of
 * an image (u+w to fix it) must not fail on it. */
int ps_spool_chmod(const char *rel, struct ps_spool_handle *h, mode_t mode)
{
	struct target t;
	int rc;

	if (h && h->fd < 0)
		return 0;
	if (h)
		return fchmod_private(h->fd, mode);
	if (!*rel)
		return -EPERM;
	rc = target_open(rel, TARGET_WRITE | TARGET_STATUS_APART, &t);
	if (rc != 0)
		return rc == TARGET_IS_STATUS ? 0 : rc;
	rc = chmod_private(t.dfd, t.base, mode);
	close(t.dfd);
	touched(t.p.path);
	return rc;
}

int ps_spool_chown(const char *rel, struct ps_spool_handle *h, uid_t uid, gid_t gid)
{
	struct target t;
	int rc;

	if (h && h->fd < 0)
		return -EPERM;
	if (h)
		return fchown(h->fd, uid, gid) < 0 ? -errno : 0;
	if (!*rel)
		return -EPERM;
	rc = target_open(rel, TARGET_WRITE | TARGET_STATUS_APART, &t);
	if (rc != 0)
		return rc == TARGET_IS_STATUS ? -EPERM : rc;
	if (fchownat(t.dfd, t.base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	close(t.dfd);
	touched(t.p.path);
	return rc;
}

/* touch of a file of an image (image.json, say) is a change like a write:
 * a failed image is retried. */
int ps_spool_utimens(const char *rel, struct ps_spool_handle *h, const struct timespec tv[2])
{
	char key[PS_SPOOL_KEY_MAX];
	struct target t;
	int rc;

	if (h && h->fd < 0)
		return -EPERM;
	if (h)
		return settle(h) < 0 || futimens(h->fd, tv) < 0 ? -errno : 0;
	if (!*rel)
		return -EPERM;
	rc = target_open(rel, TARGET_WRITE | TARGET_STATUS_APART, &t);
	if (rc != 0)
		return rc == TARGET_IS_STATUS ? -EPERM : rc;
	if (utimensat(t.dfd, t.base, tv, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	close(t.dfd);
	if (rc < 0 || !ps_spool_inside_image(t.p.path, key))
		return rc;
	ps_spool_image_changed(key);
	return ps_spool_maybe_restore(key, 0);
}

int ps_spool_statfs(struct statvfs *st)
{
	return fstatvfs(ps_spool_images_fd(), st) < 0 ? -errno : 0;
}

/* ---- handles ---- */

static struct ps_spool_handle *handle_new(const char *path)
{
	struct ps_spool_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->fd = -1;
	h->direct_fd = -1;
	if (!ps_spool_inside_image(path, h->image))
		h->image[0] = '\0';
	h->mirror.image = h->image;
	return h;
}

static void handle_free(struct ps_spool_handle *h)
{
	/* flush, which comes first, has reported a failure */
	if (h->fd >= 0)
		settle(h);
	ps_spool_mirror_end(&h->mirror);
	if (h->writer)
		ps_spool_image_end_write(h->image);
	if (h->fd >= 0)
		close(h->fd);
	if (h->direct_fd >= 0)
		close(h->direct_fd);
	free(h->text);
	free(h);
}

static int open_status(const char *path, int flags, struct ps_spool_handle **out)
{
	char text[PS_SPOOL_STATUS_MAX];
	struct ps_spool_handle *h;

	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EACCES;
	h = handle_new(path);
	if (!h)
		return -ENOMEM;
	ps_spool_status_text(h->image, text, sizeof(text));
	h->text = strdup(text);
	if (!h->text) {
		handle_free(h);
		return -ENOMEM;
	}
	h->len = strlen(text);
	*out = h;
	return 0;
}

static int is_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* Flags that mean something on the spool file; O_CREAT and O_EXCL belong
 * to create, O_DIRECT would impose alignment on FUSE's buffers. */
static int spool_flags(int flags)
{
	return flags & (O_ACCMODE | O_TRUNC | O_APPEND | O_SYNC | O_DSYNC | O_NONBLOCK);
}

/*
 * A second descriptor of the spool file, with O_DIRECT, for the writes that
 * are block-aligned (a copy tool writes a memory file in aligned chunks):
 * their bytes go to the disk without settling in the page cache, so a
 * restore of a big image fills fresh memory once (the process's pages), not
 * twice. Reopened through /proc/self/fd so it is the same file. tmpfs takes
 * O_DIRECT and stays in memory as it must; a file system without O_DIRECT
 * refuses it and all writes stay buffered. O_APPEND handles stay buffered:
 * their offsets are the kernel's, not the request's.
 */
static void open_direct(struct ps_spool_handle *h, int flags)
{
	if (!(flags & O_APPEND))
		h->direct_fd = ps_reopen(h->fd, O_WRONLY | O_DIRECT);
}

/* Count h as a writer of its image when it writes inside one. */
static int begin_write(struct ps_spool_handle *h)
{
	int rc;

	if (!h->image[0])
		return 0;
	rc = ps_spool_image_begin_write(h->image);
	if (rc == 0)
		h->writer = 1;
	return rc;
}

int ps_spool_open(const char *rel, int flags, struct ps_spool_handle **out)
{
	struct ps_spool_handle *h;
	struct ps_place p;
	int rc = is_write(flags) ? place_to_write(rel, &p) : place(rel, &p);

	if (rc < 0)
		return rc;
	if (ps_spool_is_status(p.path))
		return open_status(p.path, flags, out);
	h = handle_new(p.path);
	if (!h)
		return -ENOMEM;
	if (is_write(flags) && (rc = begin_write(h)) < 0) {
		handle_free(h);
		return rc;
	}
	h->fd = ps_spool_open_beneath(p.path, spool_flags(flags), 0);
	if (h->fd < 0) {
		rc = h->fd;
		handle_free(h);
		return rc;
	}
	if (is_write(flags)) {
		open_direct(h, flags);
		ps_spool_abandon_fill(h->image);
	}
	*out = h;
	return 0;
}

static int create_at(const char *path, mode_t mode, int flags)
{
	const char *base;
	int dfd, fd, rc;

	dfd = ps_spool_open_parent(path, &base);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, base, spool_flags(flags) | (flags & O_EXCL) | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    private_mode(mode, 0));
	if (fd < 0) {
		rc = -errno;
		close(dfd);
		return rc;
	}
	rc = give_to_caller(dfd, base);
	if (rc < 0) {
		close(fd);
		unlinkat(dfd, base, 0);
		fd = rc;
	}
	close(dfd);
	return fd;
}

int ps_spool_create(const char *rel, mode_t mode, int flags, struct ps_spool_handle **out)
{
	struct ps_spool_handle *h;
	struct ps_place p;
	int rc;

	if (!*rel)
		return -EEXIST;
	rc = place_to_write(rel, &p);
	if (rc < 0)
		return rc;
	if (ps_spool_is_status(p.path))
		return -EEXIST;
	h = handle_new(p.path);
	if (!h)
		return -ENOMEM;
	rc = begin_write(h);
	if (rc == 0)
		rc = h->fd = create_at(p.path, mode, flags);
	if (rc < 0) {
		handle_free(h);
		return rc;
	}
	open_direct(h, flags);
	changed(p.path);
	if (h->direct_fd >= 0)
		ps_spool_mirror_start(&h->mirror, h->fd, p.path);
	*out = h;
	return 0;
}

int ps_spool_opendir(const char *rel, struct ps_spool_handle **out)
{
	struct ps_spool_handle *h;
	struct ps_place p;
	int rc = place(rel, &p);

	/* restore/ itself is the caller's namespace, made on first sight */
	if (rc == 0 && !*rel)
		rc = ps_ns_ensure(ps_spool_images_fd(), p.path);
	if (rc < 0)
		return rc;
	h = handle_new(p.path);
	if (!h)
		return -ENOMEM;
	h->fd = ps_spool_open_beneath(p.path, O_RDONLY | O_DIRECTORY, 0);
	if (h->fd < 0) {
		rc = h->fd;
		free(h);
		return rc;
	}
	h->image_top = ps_spool_is_top(p.path);
	h->is_root = !*rel;
	h->all_users = h->is_root && fuse_get_context()->uid == 0;
	*out = h;
	return 0;
}

ssize_t ps_spool_read(struct ps_spool_handle *h, char *buf, size_t size, off_t off)
{
	ssize_t n;

	if (h->fd >= 0) {
		n = settle(h) < 0 ? -1 : pread(h->fd, buf, size, off);
		return n < 0 ? -errno : n;
	}
	if (off < 0)
		return -EINVAL;
	if ((size_t)off >= h->len)
		return 0;
	n = (ssize_t)(h->len - (size_t)off < size ? h->len - (size_t)off : size);
	memcpy(buf, h->text + off, (size_t)n);
	return n;
}

/* Aligned writes go behind (spool_writer.c) to the O_DIRECT descriptor;
 * any other write first lets those settle, so that writes land in order. */
ssize_t ps_spool_write_buf(struct ps_spool_handle *h, struct fuse_bufvec *src, off_t off)
{
	size_t size = fuse_buf_size(src);
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);

	if (h->fd < 0)
		return -EBADF;
	if (h->direct_fd >= 0 && size <= PS_SPOOL_WRITE_MAX &&
	    !((off | (off_t)size) & (PS_SPOOL_DIRECT_ALIGN - 1)))
		return ps_spool_write_behind(&h->writes, h->direct_fd, h->fd, src, off,
					     h->mirror.fill ? ps_spool_mirror_tee : NULL, &h->mirror);
	ps_spool_mirror_stop(&h->mirror);
	if (settle(h) < 0)
		return -errno;
	dst.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	dst.buf[0].fd = h->fd;
	dst.buf[0].pos = off;
	return fuse_buf_copy(&dst, src, FUSE_BUF_SPLICE_NONBLOCK);
}

off_t ps_spool_lseek(struct ps_spool_handle *h, off_t off, int whence)
{
	off_t r;

	if (h->fd >= 0) {
		r = settle(h) < 0 ? -1 : lseek(h->fd, off, whence);
		return r < 0 ? -errno : r;
	}
	/* status: all data, no hole but the one at its end */
	if (off < 0 || (size_t)off >= h->len)
		return (whence == SEEK_DATA || whence == SEEK_HOLE) ? -ENXIO : off;
	return whence == SEEK_HOLE ? (off_t)h->len : off;
}

int ps_spool_fallocate(struct ps_spool_handle *h, int mode, off_t off, off_t len)
{
	if (h->fd < 0)
		return -EBADF;
	ps_spool_mirror_stop(&h->mirror);
	return settle(h) < 0 || fallocate(h->fd, mode, off, len) < 0 ? -errno : 0;
}

int ps_spool_fsync(struct ps_spool_handle *h, int datasync)
{
	if (h->fd < 0)
		return 0;
	if (settle(h) < 0 || (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0)
		return -errno;
	return 0;
}

static int list_entries(DIR *d, int image_top, ps_spool_dirent_fn fn, void *ctx)
{
	struct dirent *de;

	while ((de = readdir(d))) {
		/* the virtual status stands for the state file of that name */
		if (image_top && !strcmp(de->d_name, PS_STATE_NAME))
			continue;
		if (fn(ctx, de->d_name, (mode_t)DTTOIF(de->d_type)))
			return 1;
	}
	if (image_top)
		return fn(ctx, PS_STATE_NAME, S_IFREG);
	return 0;
}

/* restore/ as root sees it: its own images, then everyone else's. */
int ps_spool_readdir(struct ps_spool_handle *h, ps_spool_dirent_fn fn, void *ctx)
{
	DIR *d = ps_spool_dir_stream(h->fd, NULL);
	int rc;

	if (!d)
		return -errno;
	rc = list_entries(d, h->image_top, fn, ctx);
	closedir(d);
	if (rc == 0 && h->all_users)
		return ps_ns_list_others(ps_spool_images_fd(), fn, ctx);
	return 0;
}

int ps_spool_flush(struct ps_spool_handle *h)
{
	if (h->fd >= 0 && settle(h) < 0)
		return -errno;
	if (!h->writer)
		return 0;
	return ps_spool_maybe_restore(h->image, 1);
}

void ps_spool_release(struct ps_spool_handle *h)
{
	handle_free(h);
}
