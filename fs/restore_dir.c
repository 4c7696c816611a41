/* restore/: every operation on the spool directory (confined beneath it,
 * never following a symlink), each image's writers, status and restore. */
#define FUSE_USE_VERSION 314

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fuse.h>

#include "backend/fileio.h"
#include "fs/restore_dir.h"
#include "fs/spool_writer.h"
#include "restore/image_read.h"
#include "restore/prefill.h"

#define STATUS_NAME "status"
#define RESULT_MAX 1024
#define STATUS_MAX (RESULT_MAX + 64)  /* a result or a reason, a prefix, a newline */

/* What is known of one image (top-level entry of restore/) beyond its
 * files: who is still writing it and how its last restore went. */
struct image {
	struct image *next;
	char name[NAME_MAX + 1];
	unsigned writers;          /* handles open for writing below it */
	int running;               /* its restore is running now */
	char result[RESULT_MAX];   /* "restored <pid>", "failed: ...", or "" */
	struct ps_prefill *prefill;  /* memory filled while it is copied in */
	struct timespec idle_since;  /* when its last writer closed */
};

/* O_DIRECT wants offsets, sizes and buffers aligned to the logical block
 * size; a page covers every block device's. */
#define DIRECT_ALIGN 4096

struct ps_restore_handle {
	int fd;                    /* -1 for a status file */
	int direct_fd;             /* the same file with O_DIRECT, -1 if none */
	struct ps_spool_writes writes;  /* aligned writes not yet on disk */
	struct ps_prefill *prefill;     /* mirrors its aligned writes, or NULL */
	uint64_t region;                /* there: the mapping's start */
	int writer;                /* counted in its image's writers */
	int image_top;             /* an image's own directory: lists status */
	int is_root;               /* restore/ itself */
	char image[NAME_MAX + 1];  /* the image it lies in, "" if none */
	char *text;                /* status content */
	size_t len;
};

static struct {
	int fd;                    /* the spool directory */
	char *path;                /* its absolute path */
	int shared;
	ps_restore_fn hook;
	pthread_mutex_t lock;      /* images and their fields */
	pthread_cond_t done;       /* a restore finished */
	struct image *images;
	pthread_t idle_reaper;     /* ends early fills of abandoned copies */
	int reaper_started, stopping;
	pthread_cond_t stop;
} R = {
	.fd = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.stop = PTHREAD_COND_INITIALIZER,
};

/* Let h's queued writes reach the disk: 0, or -1 with errno the first
 * failure among them; the file then ends where that write began. */
static int settle(struct ps_restore_handle *h)
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

/* the early fill of images (below) */
static void abandon_prefill(const char *name);
static void stop_mirror(struct ps_restore_handle *h);
static int start_idle_reaper(void);
static void stop_idle_reaper(void);

/* ---- the spool directory ---- */

/* mkdir -p with mode 0700: staged images may hold other users' memory. */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int ps_restore_dir_init(const char *spool, int shared, char *err, size_t errlen)
{
	int rc = make_dirs(spool);

	if (rc < 0) {
		snprintf(err, errlen, "cannot create spool directory %s: %s", spool, strerror(-rc));
		return rc;
	}
	R.path = realpath(spool, NULL);
	if (!R.path) {
		rc = -errno;
		snprintf(err, errlen, "bad spool directory %s: %s", spool, strerror(errno));
		return rc;
	}
	R.fd = open(R.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (R.fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open spool directory %s: %s", R.path, strerror(errno));
		free(R.path);
		R.path = NULL;
		return rc;
	}
	R.shared = shared;
	return 0;
}

void ps_restore_dir_fini(void)
{
	struct image *im, *next;

	stop_idle_reaper();
	for (im = R.images; im; im = next) {
		next = im->next;
		if (im->prefill)
			ps_prefill_put(im->prefill);
		free(im);
	}
	R.images = NULL;
	if (R.fd >= 0)
		close(R.fd);
	R.fd = -1;
	free(R.path);
	R.path = NULL;
}

void ps_restore_dir_set_hook(ps_restore_fn fn)
{
	R.hook = fn;
}

/* ---- paths, confined beneath the spool ---- */

/* openat2 resolves rel inside the spool or fails: no "..", no symlink,
 * no magic link, whatever is on disk. */
static int open_beneath(const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, R.fd, *rel ? rel : ".", &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int valid_base(const char *base)
{
	size_t len = strlen(base);

	return len && len <= NAME_MAX && strcmp(base, ".") && strcmp(base, "..");
}

/* Open the directory holding rel's last component (O_PATH, beneath the
 * spool) for the *at() calls; *base is that component. */
static int open_parent(const char *rel, const char **base)
{
	const char *slash = strrchr(rel, '/');
	char dir[PATH_MAX];
	size_t len;

	*base = slash ? slash + 1 : rel;
	if (!valid_base(*base))
		return -EINVAL;
	len = slash ? (size_t)(slash - rel) : 0;
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, rel, len);
	dir[len] = '\0';
	return open_beneath(dir, O_PATH | O_DIRECTORY, 0);
}

/* The first component of rel: the image rel lies in or is. */
static int top_name(const char *rel, char name[NAME_MAX + 1])
{
	size_t len = strcspn(rel, "/");

	if (len == 0 || len > NAME_MAX)
		return 0;
	memcpy(name, rel, len);
	name[len] = '\0';
	return 1;
}

/* The image rel lies strictly inside of ("img" for "img/x"), if any. */
static int inside_image(const char *rel, char name[NAME_MAX + 1])
{
	return strchr(rel, '/') && top_name(rel, name);
}

static int is_image_dir(const char *name)
{
	struct stat st;

	return fstatat(R.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* "img/status" where img is a directory: the virtual status file. */
static int is_status(const char *rel)
{
	char name[NAME_MAX + 1];
	const char *slash = strchr(rel, '/');

	if (!slash || strcmp(slash + 1, STATUS_NAME))
		return 0;
	return top_name(rel, name) && is_image_dir(name);
}

static int image_path(const char *name, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", R.path, name) < (int)len ? 0 : -ENAMETOOLONG;
}

/* With allow_other, what a caller creates is theirs, as on any disk. */
static int give_to_caller(int dirfd, const char *base)
{
	struct fuse_context *ctx = fuse_get_context();

	if (!R.shared || !ctx || ctx->uid == geteuid())
		return 0;
	if (fchownat(dirfd, base, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/* ---- image state ---- */

static struct image *image_find(const char *name)
{
	struct image *im;

	for (im = R.images; im; im = im->next)
		if (!strcmp(im->name, name))
			return im;
	return NULL;
}

static struct image *image_get(const char *name)
{
	struct image *im = image_find(name);

	if (im)
		return im;
	im = calloc(1, sizeof(*im));
	if (!im)
		return NULL;
	snprintf(im->name, sizeof(im->name), "%s", name);
	im->next = R.images;
	R.images = im;
	return im;
}

/* Drop an entry that says nothing any more. Lock held. */
static void image_trim(struct image *im)
{
	struct image **pp;

	if (im->writers || im->running || im->result[0] || im->prefill)
		return;
	for (pp = &R.images; *pp; pp = &(*pp)->next) {
		if (*pp == im) {
			*pp = im->next;
			free(im);
			return;
		}
	}
}

/* The image changed, so its last result no longer describes it: a fixed
 * image gets retried, a removed one starts afresh. */
static void image_forget(const char *name)
{
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_find(name);
	if (im && !im->running) {
		im->result[0] = '\0';
		image_trim(im);
	}
	pthread_mutex_unlock(&R.lock);
}

/* A writer opens: wait for a restore in progress to finish reading the
 * image, then count the writer. */
static int image_begin_write(const char *name)
{
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_get(name);
	while (im && im->running)
		pthread_cond_wait(&R.done, &R.lock);
	if (im) {
		im->writers++;
		im->result[0] = '\0';
	}
	pthread_mutex_unlock(&R.lock);
	return im ? 0 : -ENOMEM;
}

static void image_end_write(const char *name)
{
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_find(name);
	if (im && im->writers) {
		im->writers--;
		clock_gettime(CLOCK_MONOTONIC, &im->idle_since);
		image_trim(im);
	}
	pthread_mutex_unlock(&R.lock);
}

/* Claim the right to restore name: no other writer than the caller's own
 * (own = 1 from a flush, 0 from a rename), no restore running, no result
 * yet. Sets running. */
static int image_claim(const char *name, unsigned own)
{
	struct image *im;
	int ok;

	pthread_mutex_lock(&R.lock);
	im = image_get(name);
	ok = im && im->writers <= own && !im->running && !im->result[0];
	if (ok)
		im->running = 1;
	pthread_mutex_unlock(&R.lock);
	return ok;
}

/* End a claim, recording result ("" when the image was not complete). */
static void image_unclaim(const char *name, const char *result)
{
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_find(name);
	if (im) {
		im->running = 0;
		snprintf(im->result, sizeof(im->result), "%s", result);
		image_trim(im);
	}
	pthread_cond_broadcast(&R.done);
	pthread_mutex_unlock(&R.lock);
}

/* Status is one line: an error sentence must not break it. */
static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

/* The restore spends the image's early fill, whatever its outcome. */
static struct ps_prefill *take_prefill(const char *name)
{
	struct ps_prefill *p = NULL;
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_find(name);
	if (im) {
		p = im->prefill;
		im->prefill = NULL;
	}
	pthread_mutex_unlock(&R.lock);
	return p;
}

static int run_hook(const char *dir, const char *name, char *result, size_t len)
{
	char err[RESULT_MAX - 16] = "";
	struct ps_prefill *prefill = take_prefill(name);
	pid_t pid = 0;
	int rc;

	rc = R.hook(dir, prefill, &pid, err, sizeof(err));
	if (prefill)
		ps_prefill_put(prefill);
	if (rc == 0 && pid > 0) {
		one_line(err);
		snprintf(result, len, "restored %d%s%s", (int)pid, err[0] ? "; " : "", err);
		return 0;
	}
	if (rc >= 0)
		rc = -EIO;  /* a restorer that claims success without a pid */
	one_line(err);
	snprintf(result, len, "failed: %s", err[0] ? err : strerror(-rc));
	return rc;
}

/* If image name is now complete and nobody else is writing it, restore it
 * here, synchronously, so the close() or rename() that completed it
 * reports the outcome. */
static int maybe_restore(const char *name, unsigned own)
{
	char dir[PATH_MAX], err[RESULT_MAX - 16], result[RESULT_MAX] = "";
	int rc;

	if (image_path(name, dir, sizeof(dir)) < 0 || !is_image_dir(name))
		return 0;
	if (!image_claim(name, own))
		return 0;
	rc = ps_image_check_complete(dir, err, sizeof(err));
	/* -EINVAL: not missing bytes but a broken image (image.json that does
	 * not parse, a file longer than listed): that is a failed restore, and
	 * the close() that finished writing it says so. */
	if (rc == -EINVAL) {
		one_line(err);
		snprintf(result, sizeof(result), "failed: %s", err);
		fuse_log(FUSE_LOG_ERR, "procsnap: restore of %s: %s\n", name, result);
		image_unclaim(name, result);
		return rc;
	}
	if (rc != 0) {
		image_unclaim(name, "");
		return 0;
	}
	rc = run_hook(dir, name, result, sizeof(result));
	fuse_log(rc ? FUSE_LOG_ERR : FUSE_LOG_INFO, "procsnap: restore of %s: %s\n", name, result);
	image_unclaim(name, result);
	/* The kernel takes ENOSYS from FLUSH to mean "no flush op" and stops
	 * sending any flush on this mount, and returns 0 to close(). */
	return rc == -ENOSYS ? -EOPNOTSUPP : rc;
}

/* ---- status ---- */

/* The recorded outcome, or that a restore is running. Takes the lock. */
static int recorded_status(const char *name, char *out, size_t len, unsigned *writers)
{
	struct image *im;
	int found = 0;

	pthread_mutex_lock(&R.lock);
	im = image_find(name);
	*writers = im ? im->writers : 0;
	if (im && im->running) {
		snprintf(out, len, "incomplete: restore in progress\n");
		found = 1;
	} else if (im && im->result[0]) {
		snprintf(out, len, "%s\n", im->result);
		found = 1;
	}
	pthread_mutex_unlock(&R.lock);
	return found;
}

static void status_text(const char *name, char *out, size_t len)
{
	char dir[PATH_MAX], err[RESULT_MAX - 16] = "";
	unsigned writers;
	int rc;

	if (recorded_status(name, out, len, &writers))
		return;
	if (image_path(name, dir, sizeof(dir)) < 0) {
		snprintf(out, len, "incomplete: image name too long\n");
		return;
	}
	rc = ps_image_check_complete(dir, err, sizeof(err));
	one_line(err);
	if (rc < 0)
		snprintf(out, len, "incomplete: %s\n", err[0] ? err : strerror(-rc));
	else if (writers)
		snprintf(out, len, "incomplete: %u file%s still open for writing\n",
			 writers, writers == 1 ? "" : "s");
	else
		snprintf(out, len, "incomplete: every file is present but none was written "
			 "since procsnap started; copy one again to restore\n");
}

static int status_stat(const char *name, const char *text, struct stat *st)
{
	if (fstatat(R.fd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = (off_t)strlen(text);
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

/* ---- namespace operations ---- */

static int spool_stat(struct stat *st)
{
	if (fstat(R.fd, st) < 0)
		return -errno;
	if (R.shared)
		st->st_mode = S_IFDIR | 01777;  /* like /tmp: anyone stages, owners remove */
	return 0;
}

int ps_restore_getattr(const char *rel, struct ps_restore_handle *h, struct stat *st)
{
	char name[NAME_MAX + 1], text[STATUS_MAX];
	const char *base;
	int fd, rc = 0;

	if (h && h->fd < 0)
		return status_stat(h->image, h->text, st);
	if (h && h->is_root)
		return spool_stat(st);
	if (h)
		return settle(h) < 0 || fstat(h->fd, st) < 0 ? -errno : 0;
	if (is_status(rel) && top_name(rel, name)) {
		status_text(name, text, sizeof(text));
		return status_stat(name, text, st);
	}
	if (!*rel)
		return spool_stat(st);
	/* lstat: a symlink planted in the spool shows as one (and can be
	 * removed) but is never followed */
	fd = open_parent(rel, &base);
	if (fd < 0)
		return fd;
	if (fstatat(fd, base, st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Mutations of the top level or inside an image invalidate its result. */
static void changed(const char *rel)
{
	char name[NAME_MAX + 1];

	if (top_name(rel, name))
		image_forget(name);
}

/* Removed, renamed or cut by path: no mirror of the image can be trusted. */
static void changed_behind(const char *rel)
{
	char name[NAME_MAX + 1];

	if (top_name(rel, name))
		abandon_prefill(name);
}

int ps_restore_mkdir(const char *rel, mode_t mode)
{
	const char *base;
	int dfd, rc = 0;

	if (!*rel)
		return -EEXIST;
	if (is_status(rel))
		return -EEXIST;
	dfd = open_parent(rel, &base);
	if (dfd < 0)
		return dfd;
	if (mkdirat(dfd, base, mode) < 0)
		rc = -errno;
	else if ((rc = give_to_caller(dfd, base)) < 0)
		unlinkat(dfd, base, AT_REMOVEDIR);
	close(dfd);
	if (!rc)
		changed(rel);
	return rc;
}

/* Unlinking status succeeds and does nothing, so that rm -r of an image
 * works; status is back as long as the image is. */
int ps_restore_unlink(const char *rel)
{
	const char *base;
	int dfd, rc = 0;

	if (!*rel)
		return -EISDIR;
	if (is_status(rel))
		return 0;
	dfd = open_parent(rel, &base);
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, base, 0) < 0)
		rc = -errno;
	close(dfd);
	if (!rc)
		changed(rel);
	changed_behind(rel);
	return rc;
}

int ps_restore_rmdir(const char *rel)
{
	const char *base;
	int dfd, rc = 0;

	if (!*rel)
		return -EBUSY;
	dfd = open_parent(rel, &base);
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, base, AT_REMOVEDIR) < 0)
		rc = -errno;
	close(dfd);
	if (!rc)
		changed(rel);
	changed_behind(rel);
	return rc;
}

static int rename_at(const char *from, const char *to, unsigned int flags)
{
	const char *fbase, *tbase;
	int fdfd, tdfd, rc = 0;

	fdfd = open_parent(from, &fbase);
	if (fdfd < 0)
		return fdfd;
	tdfd = open_parent(to, &tbase);
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
int ps_restore_rename(const char *from, const char *to, unsigned int flags)
{
	char name[NAME_MAX + 1];
	int rc;

	if (!*from || !*to)
		return -EBUSY;
	if (is_status(from) || is_status(to))
		return -EPERM;
	changed_behind(from);
	changed_behind(to);
	rc = rename_at(from, to, flags);
	if (rc < 0)
		return rc;
	changed(from);
	changed(to);
	return top_name(to, name) ? maybe_restore(name, 0) : 0;
}

static int truncate_path(const char *rel, off_t size)
{
	int fd = open_beneath(rel, O_WRONLY, 0);
	int rc = 0;

	if (fd < 0)
		return fd;
	if (ftruncate(fd, size) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int ps_restore_truncate(const char *rel, struct ps_restore_handle *h, off_t size)
{
	char name[NAME_MAX + 1];
	int rc;

	if (h && h->fd < 0)
		return -EACCES;
	if (h) {
		stop_mirror(h);
		return settle(h) < 0 || ftruncate(h->fd, size) < 0 ? -errno : 0;
	}
	if (is_status(rel))
		return -EACCES;
	changed_behind(rel);
	rc = truncate_path(rel, size);
	if (rc < 0)
		return rc;
	changed(rel);
	/* Without an open handle no flush follows: look now. */
	return inside_image(rel, name) ? maybe_restore(name, 0) : 0;
}

int ps_restore_chmod(const char *rel, struct ps_restore_handle *h, mode_t mode)
{
	const char *base;
	int dfd, rc = 0;

	if (h && h->fd < 0)
		return -EPERM;
	if (h)
		return fchmod(h->fd, mode) < 0 ? -errno : 0;
	if (!*rel || is_status(rel))
		return -EPERM;
	dfd = open_parent(rel, &base);
	if (dfd < 0)
		return dfd;
	if (fchmodat(dfd, base, mode, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	close(dfd);
	return rc;
}

int ps_restore_chown(const char *rel, struct ps_restore_handle *h, uid_t uid, gid_t gid)
{
	const char *base;
	int dfd, rc = 0;

	if (h && h->fd < 0)
		return -EPERM;
	if (h)
		return fchown(h->fd, uid, gid) < 0 ? -errno : 0;
	if (!*rel || is_status(rel))
		return -EPERM;
	dfd = open_parent(rel, &base);
	if (dfd < 0)
		return dfd;
	if (fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	close(dfd);
	return rc;
}

int ps_restore_utimens(const char *rel, struct ps_restore_handle *h, const struct timespec tv[2])
{
	const char *base;
	int dfd, rc = 0;

	if (h && h->fd < 0)
		return -EPERM;
	if (h)
		return settle(h) < 0 || futimens(h->fd, tv) < 0 ? -errno : 0;
	if (!*rel || is_status(rel))
		return -EPERM;
	dfd = open_parent(rel, &base);
	if (dfd < 0)
		return dfd;
	if (utimensat(dfd, base, tv, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	close(dfd);
	return rc;
}

int ps_restore_statfs(struct statvfs *st)
{
	return fstatvfs(R.fd, st) < 0 ? -errno : 0;
}

/* ---- handles ---- */

static struct ps_restore_handle *handle_new(const char *rel)
{
	struct ps_restore_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->fd = -1;
	h->direct_fd = -1;
	if (!inside_image(rel, h->image))
		h->image[0] = '\0';
	return h;
}

static void handle_free(struct ps_restore_handle *h)
{
	/* flush, which comes first, has reported a failure */
	if (h->fd >= 0)
		settle(h);
	if (h->prefill)
		ps_prefill_put(h->prefill);
	if (h->writer)
		image_end_write(h->image);
	if (h->fd >= 0)
		close(h->fd);
	if (h->direct_fd >= 0)
		close(h->direct_fd);
	free(h->text);
	free(h);
}

static int open_status(const char *rel, int flags, struct ps_restore_handle **out)
{
	char text[STATUS_MAX];
	struct ps_restore_handle *h;

	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EACCES;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = -1;
	h->direct_fd = -1;
	top_name(rel, h->image);
	status_text(h->image, text, sizeof(text));
	h->text = strdup(text);
	if (!h->text) {
		free(h);
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
static void open_direct(struct ps_restore_handle *h, int flags)
{
	if (!(flags & O_APPEND))
		h->direct_fd = ps_reopen(h->fd, O_WRONLY | O_DIRECT);
}

/* ---- early fill (restore/prefill.c) ---- */

/* Worth a nursery round trip and its mapping: big memory files only. */
#define MIRROR_MIN (4ULL << 20)
#define USER_END 0x7ffffffff000ULL

/* rel is "<image>/memory/<start>-<end>", the pages of that mapping. */
static int memory_range(const char *rel, uint64_t *start, uint64_t *end)
{
	const char *p = strchr(rel, '/');
	char *dash, *stop;

	if (!p || strncmp(p, "/memory/", 8) != 0 || !isxdigit((unsigned char)p[8]))
		return 0;
	p += 8;
	*start = strtoull(p, &dash, 16);
	if (dash == p || *dash != '-')
		return 0;
	if (!isxdigit((unsigned char)dash[1]))
		return 0;
	*end = strtoull(dash + 1, &stop, 16);
	return stop != dash + 1 && !*stop && *start < *end && *end <= USER_END &&
	       !((*start | *end) & (DIRECT_ALIGN - 1)) && *end - *start >= MIRROR_MIN;
}

static struct ps_prefill *image_prefill(const char *name)
{
	struct ps_prefill *p = NULL;
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_find(name);
	if (im && !im->running && !im->prefill && start_idle_reaper() == 0)
		im->prefill = ps_prefill_new();
	if (im && !im->running && im->prefill) {
		p = im->prefill;
		ps_prefill_get(p);
	}
	pthread_mutex_unlock(&R.lock);
	return p;
}

/*
 * A memory file created here with O_DIRECT writes: its aligned writes are
 * copied into the image's nursery too, at the mapping's address, so the
 * restore finds those pages already in place. Only a file this handle
 * created and wrote alone is mirrored; anything else that touches it, or
 * the image, stops that (stop_mirror, abandon_prefill).
 */
static void start_mirror(struct ps_restore_handle *h, const char *rel)
{
	uint64_t start, end;
	struct stat st;

	if (h->direct_fd < 0 || !h->image[0] || !memory_range(rel, &start, &end) ||
	    fstat(h->fd, &st) < 0)
		return;
	h->prefill = image_prefill(h->image);
	if (!h->prefill)
		return;
	if (ps_prefill_region(h->prefill, start, end, st.st_dev, st.st_ino) < 0) {
		ps_prefill_put(h->prefill);
		h->prefill = NULL;
		return;
	}
	h->region = start;
}

/*
 * A copy that stopped halfway (interrupted, the disk full) leaves its
 * image incomplete: its early fill, memory held by a nursery, is let go
 * once no writer has had the image open for PREFILL_IDLE seconds. A
 * later completion restores from the spool as without an early fill.
 */
#define PREFILL_IDLE 30

static struct ps_prefill *take_idle(const struct timespec *now)
{
	struct ps_prefill *p = NULL;

	for (struct image *im = R.images; im && !p; im = im->next) {
		if (!im->prefill || im->writers || im->running ||
		    now->tv_sec - im->idle_since.tv_sec < PREFILL_IDLE)
			continue;
		p = im->prefill;
		im->prefill = NULL;
		image_trim(im);
	}
	return p;
}

static void *idle_reaper_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&R.lock);
	while (!R.stopping) {
		struct timespec now, tick;
		struct ps_prefill *p;

		clock_gettime(CLOCK_MONOTONIC, &now);
		p = take_idle(&now);
		if (p) {
			pthread_mutex_unlock(&R.lock);
			ps_prefill_abandon(p);
			ps_prefill_put(p);
			pthread_mutex_lock(&R.lock);
			continue;
		}
		tick = (struct timespec){ now.tv_sec + 1, now.tv_nsec };
		pthread_cond_timedwait(&R.stop, &R.lock, &tick);
	}
	pthread_mutex_unlock(&R.lock);
	return NULL;
}

/* Lock held. The reaper waits on CLOCK_MONOTONIC, immune to clock jumps. */
static int start_idle_reaper(void)
{
	pthread_condattr_t attr;

	if (R.reaper_started)
		return 0;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_destroy(&R.stop);
	pthread_cond_init(&R.stop, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&R.idle_reaper, NULL, idle_reaper_main, NULL) != 0)
		return -1;
	R.reaper_started = 1;
	return 0;
}

static void stop_idle_reaper(void)
{
	pthread_mutex_lock(&R.lock);
	R.stopping = 1;
	pthread_cond_broadcast(&R.stop);
	pthread_mutex_unlock(&R.lock);
	if (R.reaper_started)
		pthread_join(R.idle_reaper, NULL);
	R.reaper_started = 0;
}

/* spool_writer.c's tee: runs in a writer thread, h alive until settled */
static void mirror(void *ctx, int ok, off_t off, const void *buf, size_t len)
{
	struct ps_restore_handle *h = ctx;

	if (ok)
		ps_prefill_write(h->prefill, h->region, (uint64_t)off, buf, len);
	else
		abandon_prefill(h->image);   /* the copy fails: free its memory now */
}

static void stop_mirror(struct ps_restore_handle *h)
{
	if (h->prefill)
		ps_prefill_drop(h->prefill, h->region);
}

/* Something changed in the image that no mirror saw. */
static void abandon_prefill(const char *name)
{
	struct ps_prefill *p = NULL;
	struct image *im;

	if (!name[0])
		return;
	pthread_mutex_lock(&R.lock);
	im = image_find(name);
	if (im) {
		p = im->prefill;
		im->prefill = NULL;
		image_trim(im);
	}
	pthread_mutex_unlock(&R.lock);
	if (p) {
		ps_prefill_abandon(p);
		ps_prefill_put(p);
	}
}

/* Count h as a writer of its image when it writes inside one. */
static int begin_write(struct ps_restore_handle *h)
{
	int rc;

	if (!h->image[0])
		return 0;
	rc = image_begin_write(h->image);
	if (rc == 0)
		h->writer = 1;
	return rc;
}

int ps_restore_open(const char *rel, int flags, struct ps_restore_handle **out)
{
	struct ps_restore_handle *h;
	int rc;

	if (is_status(rel))
		return open_status(rel, flags, out);
	h = handle_new(rel);
	if (!h)
		return -ENOMEM;
	if (is_write(flags) && (rc = begin_write(h)) < 0) {
		handle_free(h);
		return rc;
	}
	h->fd = open_beneath(rel, spool_flags(flags), 0);
	if (h->fd < 0) {
		rc = h->fd;
		handle_free(h);
		return rc;
	}
	if (is_write(flags)) {
		open_direct(h, flags);
		abandon_prefill(h->image);
	}
	*out = h;
	return 0;
}

static int create_at(const char *rel, mode_t mode, int flags)
{
	const char *base;
	int dfd, fd, rc;

	dfd = open_parent(rel, &base);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, base, spool_flags(flags) | (flags & O_EXCL) | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
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

int ps_restore_create(const char *rel, mode_t mode, int flags, struct ps_restore_handle **out)
{
	struct ps_restore_handle *h;
	int rc;

	if (!*rel || is_status(rel))
		return -EEXIST;
	h = handle_new(rel);
	if (!h)
		return -ENOMEM;
	rc = begin_write(h);
	if (rc == 0)
		rc = h->fd = create_at(rel, mode, flags);
	if (rc < 0) {
		handle_free(h);
		return rc;
	}
	open_direct(h, flags);
	changed(rel);
	start_mirror(h, rel);
	*out = h;
	return 0;
}

int ps_restore_opendir(const char *rel, struct ps_restore_handle **out)
{
	struct ps_restore_handle *h = handle_new(rel);

	if (!h)
		return -ENOMEM;
	h->fd = open_beneath(rel, O_RDONLY | O_DIRECTORY, 0);
	if (h->fd < 0) {
		int rc = h->fd;

		free(h);
		return rc;
	}
	h->image_top = *rel && !strchr(rel, '/');
	h->is_root = !*rel;
	*out = h;
	return 0;
}

ssize_t ps_restore_read(struct ps_restore_handle *h, char *buf, size_t size, off_t off)
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
ssize_t ps_restore_write_buf(struct ps_restore_handle *h, struct fuse_bufvec *src, off_t off)
{
	size_t size = fuse_buf_size(src);
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);

	if (h->fd < 0)
		return -EBADF;
	if (h->direct_fd >= 0 && size <= PS_SPOOL_WRITE_MAX &&
	    !((off | (off_t)size) & (DIRECT_ALIGN - 1)))
		return ps_spool_write_behind(&h->writes, h->direct_fd, h->fd, src, off,
					     h->prefill ? mirror : NULL, h);
	stop_mirror(h);
	if (settle(h) < 0)
		return -errno;
	dst.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	dst.buf[0].fd = h->fd;
	dst.buf[0].pos = off;
	return fuse_buf_copy(&dst, src, FUSE_BUF_SPLICE_NONBLOCK);
}

off_t ps_restore_lseek(struct ps_restore_handle *h, off_t off, int whence)
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

int ps_restore_fallocate(struct ps_restore_handle *h, int mode, off_t off, off_t len)
{
	if (h->fd < 0)
		return -EBADF;
	stop_mirror(h);
	return settle(h) < 0 || fallocate(h->fd, mode, off, len) < 0 ? -errno : 0;
}

int ps_restore_fsync(struct ps_restore_handle *h, int datasync)
{
	if (h->fd < 0)
		return 0;
	if (settle(h) < 0 || (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0)
		return -errno;
	return 0;
}

static int list_entries(DIR *d, int image_top, ps_restore_dirent_fn fn, void *ctx)
{
	struct dirent *de;

	while ((de = readdir(d))) {
		/* the virtual status shadows a stray file of that name */
		if (image_top && !strcmp(de->d_name, STATUS_NAME))
			continue;
		if (fn(ctx, de->d_name, (mode_t)DTTOIF(de->d_type)))
			return 0;
	}
	if (image_top)
		fn(ctx, STATUS_NAME, S_IFREG);
	return 0;
}

int ps_restore_readdir(struct ps_restore_handle *h, ps_restore_dirent_fn fn, void *ctx)
{
	int fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
	DIR *d;
	int rc;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rewinddir(d);
	rc = list_entries(d, h->image_top, fn, ctx);
	closedir(d);
	return rc;
}

int ps_restore_flush(struct ps_restore_handle *h)
{
	if (h->fd >= 0 && settle(h) < 0)
		return -errno;
	if (!h->writer)
		return 0;
	return maybe_restore(h->image, 1);
}

void ps_restore_release(struct ps_restore_handle *h)
{
	handle_free(h);
}
