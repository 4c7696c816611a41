/* restore/: every operation on the staged images in the spool (each user's
 * own, confined beneath the spool, never following a symlink), each image's
 * writers, status, restore and cleanup. */
#define FUSE_USE_VERSION 314

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fuse.h>
#include <jansson.h>

#include "image/codec.h"
#include "backend/fileio.h"
#include "image/image_limits.h"
#include "image/json_util.h"
#include "fs/image_state.h"
#include "fs/restore_dir.h"
#include "fs/spool_ns.h"
#include "fs/spool_writer.h"
#include "image/image_read.h"
#include "restore/prefill.h"

#define STATUS_NAME PS_STATE_NAME
#define RESULT_MAX PS_RESULT_MAX
#define STATUS_MAX (RESULT_MAX + 64)  /* a result or a reason, a prefix, a newline */
#define KEY_MAX (NAME_MAX + 16)       /* "<uid>/<name>": an image, below images/ */

/*
 * procsnap reads an image's image.json whole to know what the image lists,
 * at every close of a file written into it and at every read of its status:
 * one at a time (so that many cannot add up), and none bigger than this. A
 * real one lists some 90 bytes per file: the decoder's own bound
 * (image_limits.h) is room for every file an image may list.
 */
#define IMAGE_JSON_MAX ((unsigned)PS_MAX_IMAGE_JSON_SIZE)
/* Parsing a big one leaves freed memory spread over malloc's arenas. */
#define TRIM_AFTER (1u << 20)

/* What is known of one image (a directory at the top of a user's
 * namespace) beyond its files: who is writing it, how its restore went. */
struct image {
	struct image *next;
	char key[KEY_MAX];           /* "<uid>/<name>" */
	unsigned writers;            /* handles open for writing below it */
	unsigned waiters;            /* threads waiting for its restore to end */
	int running;                 /* its restore (or its cleanup) runs now */
	struct ps_image_state state; /* as kept in the spool (image_state.h) */
	int unsaved;                 /* state differs from the spool's: keep it here */
	int tidy;                    /* restored: its files go once it is quiet */
	struct ps_prefill *prefill;  /* memory filled while it is copied in */
	struct timespec idle_since;  /* when its last writer closed */
	struct timespec changed_at;  /* when it was last written or changed */
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
	int is_root;               /* restore/ itself: the caller's namespace */
	int all_users;             /* ... opened by root: lists everyone's */
	char image[KEY_MAX];       /* the image it lies in, "" if none */
	char *text;                /* status content */
	size_t len;
};

static struct {
	int fd;                    /* the spool's images/: a directory per uid */
	int tmp_fd;                /* the spool's tmp/: state files being written */
	char *path;                /* images/'s absolute path */
	int shared;
	int keep_staged;
	ps_restore_fn hook;
	pthread_mutex_t lock;      /* images and their fields */
	pthread_cond_t done;       /* a restore finished */
	pthread_mutex_t parse_lock;  /* one image.json read and parsed at a time */
	struct image *images;
	pthread_t idle_reaper;     /* ends early fills of abandoned copies */
	int reaper_started, stopping;
	pthread_cond_t stop;
} R = {
	.fd = -1,
	.tmp_fd = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.parse_lock = PTHREAD_MUTEX_INITIALIZER,
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
static void abandon_prefill(const char *key);
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

/* spool/<name>, made 0700 if missing, opened as a directory. */
static int open_spool_dir(int spool_fd, const char *spool, const char *name, char *err,
			  size_t errlen)
{
	int fd;

	if (mkdirat(spool_fd, name, 0700) < 0 && errno != EEXIST) {
		fd = -errno;
		snprintf(err, errlen, "cannot create %s/%s: %s", spool, name, strerror(errno));
		return fd;
	}
	fd = openat(spool_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fd = -errno;
		snprintf(err, errlen, "cannot open %s/%s: %s", spool, name, strerror(errno));
	}
	return fd;
}

/* images/ for the images, tmp/ for state files on their way into them. */
static int open_spool(const char *spool, char *err, size_t errlen)
{
	int spool_fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (spool_fd < 0) {
		int rc = -errno;

		snprintf(err, errlen, "cannot open spool directory %s: %s", spool, strerror(errno));
		return rc;
	}
	R.fd = open_spool_dir(spool_fd, spool, "images", err, errlen);
	if (R.fd >= 0)
		R.tmp_fd = open_spool_dir(spool_fd, spool, "tmp", err, errlen);
	close(spool_fd);
	return R.fd < 0 ? R.fd : R.tmp_fd < 0 ? R.tmp_fd : 0;
}

int ps_restore_dir_init(const char *spool, int shared, int keep_staged, char *err, size_t errlen)
{
	char *real;
	int rc = make_dirs(spool);

	if (rc < 0) {
		snprintf(err, errlen, "cannot create spool directory %s: %s", spool, strerror(-rc));
		return rc;
	}
	real = realpath(spool, NULL);
	if (!real) {
		rc = -errno;
		snprintf(err, errlen, "bad spool directory %s: %s", spool, strerror(errno));
		return rc;
	}
	rc = open_spool(real, err, errlen);
	if (rc == 0 && asprintf(&R.path, "%s/images", real) < 0) {
		R.path = NULL;
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	free(real);
	R.shared = shared;
	R.keep_staged = keep_staged;
	return rc;
}

void ps_restore_dir_sweep(void)
{
	int fd = fcntl(R.tmp_fd, F_DUPFD_CLOEXEC, 0);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (de->d_type != DT_DIR)
			unlinkat(R.tmp_fd, de->d_name, 0);
	closedir(d);
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
	if (R.tmp_fd >= 0)
		close(R.tmp_fd);
	R.fd = R.tmp_fd = -1;
	free(R.path);
	R.path = NULL;
}

void ps_restore_dir_set_hook(ps_restore_fn fn)
{
	R.hook = fn;
}

/* ---- paths, confined beneath the spool's images/ ---- */

/* openat2 resolves path inside images/ or fails: no "..", no symlink, no
 * magic link, whatever is on disk. */
static int open_beneath(const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, R.fd, *path ? path : ".", &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int valid_base(const char *base)
{
	size_t len = strlen(base);

	return len && len <= NAME_MAX && strcmp(base, ".") && strcmp(base, "..");
}

/* Open the directory holding path's last component (O_PATH, beneath
 * images/) for the *at() calls; *base is that component. */
static int open_parent(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	size_t len;

	*base = slash ? slash + 1 : path;
	if (!valid_base(*base))
		return -EINVAL;
	len = slash ? (size_t)(slash - path) : 0;
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, len);
	dir[len] = '\0';
	return open_beneath(dir, O_PATH | O_DIRECTORY, 0);
}

/* The caller's place for rel (spool_ns.h). */
static int place(const char *rel, struct ps_place *p)
{
	return ps_ns_place(rel, fuse_get_context()->uid, p);
}

/* The image path is or lies in: "1001/img" for "1001/img" and "1001/img/x". */
static int image_key(const char *path, char key[KEY_MAX])
{
	const char *slash = strchr(path, '/');
	size_t len;

	if (!slash || !slash[1])
		return 0;
	len = (size_t)(slash + 1 - path) + strcspn(slash + 1, "/");
	if (len >= KEY_MAX)
		return 0;
	memcpy(key, path, len);
	key[len] = '\0';
	return 1;
}

/* What of path lies below its image: "x/y" of "1001/img/x/y"; NULL for the
 * image itself and above. */
static const char *below_image(const char *path)
{
	const char *slash = strchr(path, '/');

	slash = slash ? strchr(slash + 1, '/') : NULL;
	return slash ? slash + 1 : NULL;
}

/* The image path lies strictly inside of, if any. */
static int inside_image(const char *path, char key[KEY_MAX])
{
	return below_image(path) && image_key(path, key);
}

/* "<uid>/<name>": the top of a namespace, where images are. */
static int is_top(const char *path)
{
	return strchr(path, '/') && !below_image(path);
}

static int is_image_dir(const char *key)
{
	struct stat st;

	return fstatat(R.fd, key, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* "<uid>/img/status" where img is a directory: the virtual status file. */
static int is_status(const char *path)
{
	const char *below = below_image(path);
	char key[KEY_MAX];

	return below && !strcmp(below, STATUS_NAME) && image_key(path, key) && is_image_dir(key);
}

static int image_path(const char *key, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", R.path, key) < (int)len ? 0 : -ENAMETOOLONG;
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

/* ---- image.json, read by the FUSE layer ---- */

/* A parse of a big image.json freed its memory to malloc, which keeps it
 * unless told: give it back to the kernel. */
static void after_parse(off_t size)
{
	if (size >= (off_t)TRIM_AFTER)
		malloc_trim(0);
}

/* image.json's size, or -errno (-ENOENT: not there yet). */
static off_t image_json_size(const char *key)
{
	char path[KEY_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/image.json", key);
	if (fstatat(R.fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return S_ISREG(st.st_mode) ? st.st_size : 0;
}

static int too_big(off_t size, char *err, size_t errlen)
{
	if (size <= (off_t)IMAGE_JSON_MAX)
		return 0;
	snprintf(err, errlen, "image.json is %lld bytes, more than the %u procsnap reads",
		 (long long)size, IMAGE_JSON_MAX);
	return 1;
}

/* ps_image_check_complete, for an image.json of bounded size, one at a time.
 * -EFBIG when it is too big; otherwise as ps_image_check_complete. */
static int check_complete(const char *key, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	off_t size = image_json_size(key);
	int rc;

	if (too_big(size, err, errlen))
		return -EFBIG;
	rc = image_path(key, dir, sizeof(dir));
	if (rc < 0) {
		snprintf(err, errlen, "image name too long");
		return rc;
	}
	pthread_mutex_lock(&R.parse_lock);
	rc = ps_image_check_complete(dir, err, errlen);
	after_parse(size);
	pthread_mutex_unlock(&R.parse_lock);
	return rc;
}

/* The first size bytes of fd, read whole, or NULL. */
static char *read_whole(int fd, size_t size)
{
	char *buf = malloc(size + 1);
	size_t got = 0;
	ssize_t n;

	if (!buf)
		return NULL;
	while (got < size && (n = pread(fd, buf + got, size - got, (off_t)got)) > 0)
		got += (size_t)n;
	if (got < size) {
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	return buf;
}

/* key's image.json decoded into meta (what the image is of, the files it
 * lists): 0, or -errno; meta is the caller's to free either way. */
static int read_meta(const char *key, struct ps_image_meta *meta)
{
	char path[KEY_MAX + 16], err[256], *text;
	json_t *j = NULL;
	struct stat st;
	int fd, rc = -EINVAL;

	snprintf(path, sizeof(path), "%s/image.json", key);
	fd = open_beneath(path, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || too_big(st.st_size, err, sizeof(err))) {
		close(fd);
		return -EINVAL;
	}
	pthread_mutex_lock(&R.parse_lock);
	text = read_whole(fd, (size_t)st.st_size);
	if (text)
		j = ps_json_load(text, (size_t)st.st_size, "image.json", PS_MAX_IMAGE_JSON_MEMORY,
				 err, sizeof(err));
	free(text);
	if (j)
		rc = ps_decode_image_meta(j, meta, err, sizeof(err));
	json_decref(j);
	after_parse(st.st_size);
	pthread_mutex_unlock(&R.parse_lock);
	close(fd);
	return rc;
}

/* The pid image.json is of, or 0 if it cannot tell. Only asked after a
 * procsnap was killed during a restore (load_state). */
static pid_t image_json_pid(const char *key)
{
	struct ps_image_meta meta = { 0 };
	pid_t pid = read_meta(key, &meta) == 0 ? meta.pid : 0;

	ps_image_meta_free(&meta);
	return pid;
}

/* ---- image state ---- */

/*
 * A restored image's files leave the spool once the image has been quiet
 * this long: no writer, no change. Not at once: a copy tool may still set
 * the modes and times of the files it wrote, by name, after the close that
 * restored the image (touch does, and rsync does for the files it found
 * unchanged).
 */
#define TIDY_QUIET 2

static void mark_changed(struct image *im)
{
	clock_gettime(CLOCK_MONOTONIC, &im->changed_at);
}

/* Lock held. */
static void mark_tidy(struct image *im)
{
	if (R.keep_staged || start_idle_reaper() < 0)
		return;
	im->tidy = 1;
	mark_changed(im);
}

/* The image's state as the spool keeps it: a restore that was running when
 * a procsnap before this one was killed is judged now, once. */
static void load_state(struct image *im)
{
	int fd = open_beneath(im->key, O_PATH | O_DIRECTORY, 0);

	if (fd < 0)
		return;
	if (ps_state_load(fd, &im->state) == 0 && im->state.kind == PS_STATE_RESTORING) {
		ps_state_settle_interrupted(&im->state, image_json_pid(im->key));
		im->unsaved = ps_state_save(fd, R.tmp_fd, &im->state) < 0;
		fuse_log(FUSE_LOG_INFO, "procsnap: %s was being restored when procsnap stopped: %s\n",
			 im->key, im->state.result);
	}
	close(fd);
	/* files a procsnap killed before their cleanup left behind */
	if (ps_state_process_lives(&im->state))
		mark_tidy(im);
}

static int save_state(const char *key, const struct ps_image_state *st)
{
	int fd = open_beneath(key, O_PATH | O_DIRECTORY, 0);
	int rc;

	if (fd < 0)
		return fd;
	rc = ps_state_save(fd, R.tmp_fd, st);
	close(fd);
	if (rc < 0)
		fuse_log(FUSE_LOG_ERR, "procsnap: cannot keep the state of %s in the spool: %s\n", key,
			 strerror(-rc));
	return rc;
}

static struct image *image_find(const char *key)
{
	struct image *im;

	for (im = R.images; im; im = im->next)
		if (!strcmp(im->key, key))
			return im;
	return NULL;
}

/* The entry of key, read from the spool if procsnap has none. Lock held:
 * an entry is made and loaded under it, so that no other thread sees it
 * half-loaded, nor a restore's own state as one that was interrupted. */
static struct image *image_get(const char *key)
{
	struct image *im = image_find(key);

	if (im)
		return im;
	im = calloc(1, sizeof(*im));
	if (!im)
		return NULL;
	snprintf(im->key, sizeof(im->key), "%s", key);
	load_state(im);
	im->next = R.images;
	R.images = im;
	return im;
}

/* Drop an entry that says nothing the spool does not. Lock held. */
static void image_trim(struct image *im)
{
	struct image **pp;

	if (im->writers || im->waiters || im->running || im->prefill || im->unsaved || im->tidy)
		return;
	for (pp = &R.images; *pp; pp = &(*pp)->next) {
		if (*pp == im) {
			*pp = im->next;
			free(im);
			return;
		}
	}
}

/* A restored image whose process runs is done with: writing into it again
 * (rsync -a once more, after a remount) restores nothing and keeps saying
 * so. Any other outcome is forgotten when the image changes: a failed
 * image is retried, one whose process has gone may be restored again.
 * Lock held. */
static void image_changes(struct image *im)
{
	int fd;

	if (im->state.kind == PS_STATE_NONE || ps_state_process_lives(&im->state))
		return;
	memset(&im->state, 0, sizeof(im->state));
	fd = open_beneath(im->key, O_PATH | O_DIRECTORY, 0);
	im->unsaved = fd >= 0 && ps_state_remove(fd) < 0;
	if (fd >= 0)
		close(fd);
}

/* The image changed by path (a file made, removed, renamed, cut). */
static void image_forget(const char *key)
{
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_get(key);
	if (im)
		mark_changed(im);
	if (im && !im->running) {
		image_changes(im);
		image_trim(im);
	}
	pthread_mutex_unlock(&R.lock);
}

/* Something of the image was set (a mode, an owner): not a change of what
 * it holds, but the image is not quiet. */
static void image_touch(const char *key)
{
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_find(key);
	if (im)
		mark_changed(im);
	pthread_mutex_unlock(&R.lock);
}

/* The image is gone, or another one is in its place (rmdir, rename): what
 * procsnap knows of it is read from the spool again. */
static void image_reload(const char *key)
{
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_find(key);
	if (im && !im->running) {
		memset(&im->state, 0, sizeof(im->state));
		im->unsaved = 0;
		load_state(im);
		image_trim(im);
	}
	pthread_mutex_unlock(&R.lock);
}

/* A writer opens: wait for a restore in progress to finish reading the
 * image, then count the writer. */
static int image_begin_write(const char *key)
{
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_get(key);
	if (im) {
		im->waiters++;
		while (im->running)
			pthread_cond_wait(&R.done, &R.lock);
		im->waiters--;
		image_changes(im);
		im->writers++;
	}
	pthread_mutex_unlock(&R.lock);
	return im ? 0 : -ENOMEM;
}

static void image_end_write(const char *key)
{
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_find(key);
	if (im && im->writers) {
		im->writers--;
		clock_gettime(CLOCK_MONOTONIC, &im->idle_since);
		mark_changed(im);
		image_trim(im);
	}
	pthread_mutex_unlock(&R.lock);
}

enum claim {
	CLAIM_NONE,      /* being written by others, running, or settled */
	CLAIM_RESTORE,   /* never restored (or changed since): restore it */
	CLAIM_CLEANUP,   /* restored, its process runs: only its files to remove */
};

/* Claim the right to restore key, or to remove its staged files: no other
 * writer than the caller's own (own = 1 from a flush, 0 from a rename or a
 * change by path), nothing running. Sets running. */
static enum claim image_claim(const char *key, unsigned own)
{
	enum claim c = CLAIM_NONE;
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_get(key);
	if (im && im->writers <= own && !im->running) {
		if (im->state.kind == PS_STATE_NONE)
			c = CLAIM_RESTORE;
		else if (!R.keep_staged && ps_state_process_lives(&im->state))
			c = CLAIM_CLEANUP;
	}
	if (c != CLAIM_NONE)
		im->running = 1;
	if (im)
		image_trim(im);
	pthread_mutex_unlock(&R.lock);
	return c;
}

/* End a claim; st (NULL: unchanged) is the image's state now, and saved
 * whether it is in the spool; tidy: its staged files are to go. */
static void image_unclaim(const char *key, const struct ps_image_state *st, int saved, int tidy)
{
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_find(key);
	if (im) {
		im->running = 0;
		if (st) {
			im->state = *st;
			im->unsaved = !saved;
		}
		if (tidy)
			mark_tidy(im);
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
static struct ps_prefill *take_prefill(const char *key)
{
	struct ps_prefill *p = NULL;
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_find(key);
	if (im) {
		p = im->prefill;
		im->prefill = NULL;
	}
	pthread_mutex_unlock(&R.lock);
	return p;
}

/* Run the restorer on the complete image key: its state afterwards. */
static int run_hook(const char *key, struct ps_image_state *st)
{
	char dir[PATH_MAX], err[RESULT_MAX - 16] = "", result[RESULT_MAX];
	struct ps_prefill *prefill = take_prefill(key);
	pid_t pid = 0;
	int rc = image_path(key, dir, sizeof(dir));

	if (rc == 0)
		rc = R.hook(dir, prefill, &pid, err, sizeof(err));
	if (prefill)
		ps_prefill_put(prefill);
	one_line(err);
	if (rc == 0 && pid > 0) {
		snprintf(result, sizeof(result), "restored %d%s%s", (int)pid, err[0] ? "; " : "", err);
		ps_state_set_restored(st, pid, result);
		return 0;
	}
	if (rc >= 0)
		rc = -EIO;  /* a restorer that claims success without a pid */
	snprintf(result, sizeof(result), "failed: %s", err[0] ? err : strerror(-rc));
	ps_state_set_failed(st, result);
	return rc;
}

/* Unlink key/name, never following a symlink out of the image. */
static void unlink_in(const char *key, const char *name)
{
	char path[PATH_MAX];
	const char *base;
	int dfd;

	if (snprintf(path, sizeof(path), "%s/%s", key, name) >= (int)sizeof(path))
		return;
	dfd = open_parent(path, &base);
	if (dfd < 0)
		return;
	unlinkat(dfd, base, 0);
	close(dfd);
}

/* The files image.json lists, then image.json: the directories stay (a
 * copy tool still sets their modes and times once their files are
 * written), and so does any file the image does not list (rsync's
 * temporary file, in flight to its name). */
static void remove_listed(const char *key)
{
	struct ps_image_meta meta = { 0 };

	if (read_meta(key, &meta) == 0) {
		for (size_t i = 0; i < meta.nfiles; i++)
			unlink_in(key, meta.files[i].name);
		unlink_in(key, "image.json");
	}
	ps_image_meta_free(&meta);
}

/* A complete image is checked and restored, its state in the spool while
 * the restore runs (a procsnap killed then is found out by the next one,
 * image_state.h). Returns the restore's error for the close() or rename()
 * that completed the image, *st its state now: PS_STATE_NONE if it is not
 * complete yet. */
static int restore_claimed(const char *key, struct ps_image_state *st)
{
	char err[RESULT_MAX - 16], result[RESULT_MAX];
	int rc = check_complete(key, err, sizeof(err));

	memset(st, 0, sizeof(*st));
	/* -EINVAL: not missing bytes but a broken image (image.json that does
	 * not parse, a file longer than listed), -EFBIG: image.json too big:
	 * that is a failed restore, and the close() that finished writing it
	 * says so. */
	if (rc == -EINVAL || rc == -EFBIG) {
		one_line(err);
		snprintf(result, sizeof(result), "failed: %s", err);
		ps_state_set_failed(st, result);
	} else if (rc != 0) {
		return 0;
	} else {
		ps_state_set_restoring(st);
		save_state(key, st);
		rc = run_hook(key, st);
	}
	fuse_log(rc ? FUSE_LOG_ERR : FUSE_LOG_INFO, "procsnap: restore of %s: %s\n", key, st->result);
	return rc;
}

/* If image key is now complete and nobody else is writing it, restore it
 * here, synchronously, so the close() or rename() that completed it
 * reports the outcome. Once restored, its files leave the spool (unless
 * -o keep_staged) when it is quiet (TIDY_QUIET). */
static int maybe_restore(const char *key, unsigned own)
{
	struct ps_image_state st;
	char err[RESULT_MAX];
	enum claim c;
	int rc, saved;

	if (!is_image_dir(key))
		return 0;
	c = image_claim(key, own);
	if (c == CLAIM_NONE)
		return 0;
	if (c == CLAIM_CLEANUP) {
		/* written once more after its restore: nothing to restore */
		image_unclaim(key, NULL, 1, check_complete(key, err, sizeof(err)) == 0);
		return 0;
	}
	rc = restore_claimed(key, &st);
	if (st.kind == PS_STATE_NONE) {
		image_unclaim(key, NULL, 1, 0);
		return 0;
	}
	saved = save_state(key, &st) == 0;
	image_unclaim(key, &st, saved, rc == 0);
	/* The kernel takes ENOSYS from FLUSH to mean "no flush op" and stops
	 * sending any flush on this mount, and returns 0 to close(). */
	return rc == -ENOSYS ? -EOPNOTSUPP : rc;
}

/* ---- status ---- */

/* The recorded outcome, or that a restore is running. Takes the lock. */
static int recorded_status(const char *key, char *out, size_t len, unsigned *writers)
{
	struct image *im;
	int found = 1;

	pthread_mutex_lock(&R.lock);
	im = image_get(key);
	*writers = im ? im->writers : 0;
	if (!im)
		found = 0;
	else if (im->state.kind == PS_STATE_RESTORED && ps_state_process_lives(&im->state))
		snprintf(out, len, "%s\n", im->state.result);
	else if (im->state.kind == PS_STATE_RESTORED)
		snprintf(out, len, "%s; process %d has exited since\n", im->state.result,
			 (int)im->state.pid);
	else if (im->state.kind == PS_STATE_FAILED)
		snprintf(out, len, "%s\n", im->state.result);
	else if (im->running)
		snprintf(out, len, "incomplete: restore in progress\n");
	else
		found = 0;
	if (im)
		image_trim(im);
	pthread_mutex_unlock(&R.lock);
	return found;
}

static void status_text(const char *key, char *out, size_t len)
{
	char err[RESULT_MAX - 16] = "";
	unsigned writers;
	int rc;

	if (recorded_status(key, out, len, &writers))
		return;
	rc = check_complete(key, err, sizeof(err));
	one_line(err);
	if (rc < 0)
		snprintf(out, len, "incomplete: %s\n", err[0] ? err : strerror(-rc));
	else if (writers)
		snprintf(out, len, "incomplete: %u file%s still open for writing\n",
			 writers, writers == 1 ? "" : "s");
	else
		snprintf(out, len, "incomplete: every file is present, but none was written since "
			 "this procsnap started; touch image.json to restore it\n");
}

static int status_stat(const char *key, const char *text, struct stat *st)
{
	if (fstatat(R.fd, key, st, AT_SYMLINK_NOFOLLOW) < 0)
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
		st->st_mode = S_IFDIR | 01777;  /* anyone stages, each in a namespace of their own */
	return 0;
}

int ps_restore_getattr(const char *rel, struct ps_restore_handle *h, struct stat *st)
{
	char key[KEY_MAX], text[STATUS_MAX];
	struct ps_place p;
	const char *base;
	int fd, rc;

	if (h && h->fd < 0)
		return status_stat(h->image, h->text, st);
	if (h && h->is_root)
		return spool_stat(st);
	if (h)
		return settle(h) < 0 || fstat(h->fd, st) < 0 ? -errno : 0;
	if (!*rel)
		return spool_stat(st);
	rc = place(rel, &p);
	if (rc < 0)
		return rc;
	if (is_status(p.path) && image_key(p.path, key)) {
		status_text(key, text, sizeof(text));
		return status_stat(key, text, st);
	}
	/* lstat: a symlink planted in the spool shows as one (and can be
	 * removed) but is never followed */
	fd = open_parent(p.path, &base);
	if (fd < 0)
		return fd;
	if (fstatat(fd, base, st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Mutations in or of an image invalidate its state. */
static void changed(const char *path)
{
	char key[KEY_MAX];

	if (image_key(path, key))
		image_forget(key);
}

/* A mode or an owner set by path: the image is not quiet. */
static void touched(const char *path)
{
	char key[KEY_MAX];

	if (image_key(path, key))
		image_touch(key);
}

/* Removed, renamed or cut by path: no mirror of the image can be trusted. */
static void changed_behind(const char *path)
{
	char key[KEY_MAX];

	if (image_key(path, key))
		abandon_prefill(key);
}

/* Where a path is to be made: the caller's own namespace, which exists. */
static int place_to_write(const char *rel, struct ps_place *p)
{
	int rc = place(rel, p);

	if (rc == 0 && p->foreign)
		rc = -EPERM;
	if (rc == 0 && strchr(p->path, '/'))
		rc = ps_ns_ensure(R.fd, p->path);
	return rc;
}

int ps_restore_mkdir(const char *rel, mode_t mode)
{
	struct ps_place p;
	const char *base;
	int dfd, rc;

	(void)mode;   /* private_mode() */
	if (!*rel)
		return -EEXIST;
	rc = place_to_write(rel, &p);
	if (rc < 0)
		return rc;
	if (is_status(p.path))
		return -EEXIST;
	dfd = open_parent(p.path, &base);
	if (dfd < 0)
		return dfd;
	if (mkdirat(dfd, base, private_mode(0, 1)) < 0)
		rc = -errno;
	else if ((rc = give_to_caller(dfd, base)) < 0)
		unlinkat(dfd, base, AT_REMOVEDIR);
	close(dfd);
	if (!rc)
		changed(p.path);
	return rc;
}

/* Unlinking status succeeds and does nothing, so that rm -r of an image
 * works; status is back as long as the image is. */
int ps_restore_unlink(const char *rel)
{
	struct ps_place p;
	const char *base;
	int dfd, rc;

	if (!*rel)
		return -EISDIR;
	rc = place(rel, &p);
	if (rc < 0)
		return rc;
	if (is_status(p.path))
		return 0;
	dfd = open_parent(p.path, &base);
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, base, 0) < 0)
		rc = -errno;
	close(dfd);
	if (!rc)
		changed(p.path);
	changed_behind(p.path);
	return rc;
}

/* An image's directory holding nothing but its state file: the state
 * goes, and the directory can. */
static void drop_lone_state(int dfd, const char *base)
{
	int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	int others = 0;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while (!others && (de = readdir(d)))
		others = strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			 strcmp(de->d_name, STATUS_NAME);
	if (!others)
		ps_state_remove(dirfd(d));
	closedir(d);
}

int ps_restore_rmdir(const char *rel)
{
	char key[KEY_MAX];
	struct ps_place p;
	const char *base;
	int dfd, rc;

	if (!*rel)
		return -EBUSY;
	rc = place(rel, &p);
	if (rc < 0)
		return rc;
	dfd = open_parent(p.path, &base);
	if (dfd < 0)
		return dfd;
	if (is_top(p.path))
		drop_lone_state(dfd, base);
	if (unlinkat(dfd, base, AT_REMOVEDIR) < 0)
		rc = -errno;
	close(dfd);
	if (!rc && is_top(p.path) && image_key(p.path, key))
		image_reload(key);
	else if (!rc)
		changed(p.path);
	changed_behind(p.path);
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

/* An image renamed or replaced takes its state file along: what procsnap
 * knows of both names is read again. A file renamed inside images
 * changes them. */
static void renamed(const char *path)
{
	char key[KEY_MAX];

	if (is_top(path) && image_key(path, key))
		image_reload(key);
	else
		changed(path);
}

/* rsync writes a temporary name and renames it into place: that rename
 * may be what completes the image, so it may start the restore. */
int ps_restore_rename(const char *from, const char *to, unsigned int flags)
{
	struct ps_place pf, pt;
	char key[KEY_MAX];
	int rc;

	if (!*from || !*to)
		return -EBUSY;
	rc = place_to_write(from, &pf);
	if (rc == 0)
		rc = place_to_write(to, &pt);
	if (rc < 0)
		return rc;
	if (is_status(pf.path) || is_status(pt.path))
		return -EPERM;
	changed_behind(pf.path);
	changed_behind(pt.path);
	rc = rename_at(pf.path, pt.path, flags);
	if (rc < 0)
		return rc;
	renamed(pf.path);
	renamed(pt.path);
	return image_key(pt.path, key) ? maybe_restore(key, 0) : 0;
}

static int truncate_path(const char *path, off_t size)
{
	int fd = open_beneath(path, O_WRONLY, 0);
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
	char key[KEY_MAX];
	struct ps_place p;
	int rc;

	if (h && h->fd < 0)
		return -EACCES;
	if (h) {
		stop_mirror(h);
		return settle(h) < 0 || ftruncate(h->fd, size) < 0 ? -errno : 0;
	}
	rc = place_to_write(rel, &p);
	if (rc < 0)
		return rc;
	if (is_status(p.path))
		return -EACCES;
	changed_behind(p.path);
	rc = truncate_path(p.path, size);
	if (rc < 0)
		return rc;
	changed(p.path);
	/* Without an open handle no flush follows: look now. */
	return inside_image(p.path, key) ? maybe_restore(key, 0) : 0;
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
int ps_restore_chmod(const char *rel, struct ps_restore_handle *h, mode_t mode)
{
	struct ps_place p;
	const char *base;
	int dfd, rc;

	if (h && h->fd < 0)
		return 0;
	if (h)
		return fchmod_private(h->fd, mode);
	if (!*rel)
		return -EPERM;
	rc = place_to_write(rel, &p);
	if (rc < 0)
		return rc;
	if (is_status(p.path))
		return 0;
	dfd = open_parent(p.path, &base);
	if (dfd < 0)
		return dfd;
	rc = chmod_private(dfd, base, mode);
	close(dfd);
	touched(p.path);
	return rc;
}

int ps_restore_chown(const char *rel, struct ps_restore_handle *h, uid_t uid, gid_t gid)
{
	struct ps_place p;
	const char *base;
	int dfd, rc;

	if (h && h->fd < 0)
		return -EPERM;
	if (h)
		return fchown(h->fd, uid, gid) < 0 ? -errno : 0;
	if (!*rel)
		return -EPERM;
	rc = place_to_write(rel, &p);
	if (rc < 0)
		return rc;
	if (is_status(p.path))
		return -EPERM;
	dfd = open_parent(p.path, &base);
	if (dfd < 0)
		return dfd;
	if (fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	close(dfd);
	touched(p.path);
	return rc;
}

/* touch of a file of an image (image.json, say) is a change like a write:
 * a failed image is retried. */
int ps_restore_utimens(const char *rel, struct ps_restore_handle *h, const struct timespec tv[2])
{
	char key[KEY_MAX];
	struct ps_place p;
	const char *base;
	int dfd, rc;

	if (h && h->fd < 0)
		return -EPERM;
	if (h)
		return settle(h) < 0 || futimens(h->fd, tv) < 0 ? -errno : 0;
	if (!*rel)
		return -EPERM;
	rc = place_to_write(rel, &p);
	if (rc < 0)
		return rc;
	if (is_status(p.path))
		return -EPERM;
	dfd = open_parent(p.path, &base);
	if (dfd < 0)
		return dfd;
	if (utimensat(dfd, base, tv, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	close(dfd);
	if (rc < 0 || !inside_image(p.path, key))
		return rc;
	image_forget(key);
	return maybe_restore(key, 0);
}

int ps_restore_statfs(struct statvfs *st)
{
	return fstatvfs(R.fd, st) < 0 ? -errno : 0;
}

/* ---- handles ---- */

static struct ps_restore_handle *handle_new(const char *path)
{
	struct ps_restore_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->fd = -1;
	h->direct_fd = -1;
	if (!inside_image(path, h->image))
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

static int open_status(const char *path, int flags, struct ps_restore_handle **out)
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
	image_key(path, h->image);
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

/* path is "<uid>/<image>/memory/<start>-<end>", the pages of that mapping. */
static int memory_range(const char *path, uint64_t *start, uint64_t *end)
{
	const char *p = below_image(path);
	char *dash, *stop;

	if (!p || strncmp(p, "memory/", 7) != 0 || !isxdigit((unsigned char)p[7]))
		return 0;
	p += 7;
	*start = strtoull(p, &dash, 16);
	if (dash == p || *dash != '-')
		return 0;
	if (!isxdigit((unsigned char)dash[1]))
		return 0;
	*end = strtoull(dash + 1, &stop, 16);
	return stop != dash + 1 && !*stop && *start < *end && *end <= USER_END &&
	       !((*start | *end) & (DIRECT_ALIGN - 1)) && *end - *start >= MIRROR_MIN;
}

/* Only an image that may restore is worth one: not one restored already,
 * whose process runs (image_changes()). */
static struct ps_prefill *image_prefill(const char *key)
{
	struct ps_prefill *p = NULL;
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = image_find(key);
	if (im && im->state.kind != PS_STATE_NONE)
		im = NULL;
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
static void start_mirror(struct ps_restore_handle *h, const char *path)
{
	uint64_t start, end;
	struct stat st;

	if (h->direct_fd < 0 || !h->image[0] || !memory_range(path, &start, &end) ||
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

/* A restored image quiet for TIDY_QUIET seconds: claimed (so that no
 * writer comes in while its files go), its key in key. Lock held. */
static int take_tidy(const struct timespec *now, char key[KEY_MAX])
{
	for (struct image *im = R.images; im; im = im->next) {
		if (!im->tidy || im->writers || im->running ||
		    now->tv_sec - im->changed_at.tv_sec < TIDY_QUIET)
			continue;
		im->tidy = 0;
		im->running = 1;
		snprintf(key, KEY_MAX, "%s", im->key);
		return 1;
	}
	return 0;
}

static void *idle_reaper_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&R.lock);
	while (!R.stopping) {
		struct timespec now, tick;
		struct ps_prefill *p;
		char key[KEY_MAX];

		clock_gettime(CLOCK_MONOTONIC, &now);
		p = take_idle(&now);
		if (p) {
			pthread_mutex_unlock(&R.lock);
			ps_prefill_abandon(p);
			ps_prefill_put(p);
			pthread_mutex_lock(&R.lock);
			continue;
		}
		if (take_tidy(&now, key)) {
			pthread_mutex_unlock(&R.lock);
			remove_listed(key);
			image_unclaim(key, NULL, 1, 0);
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
static void abandon_prefill(const char *key)
{
	struct ps_prefill *p = NULL;
	struct image *im;

	if (!key[0])
		return;
	pthread_mutex_lock(&R.lock);
	im = image_find(key);
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
	struct ps_place p;
	int rc = is_write(flags) ? place_to_write(rel, &p) : place(rel, &p);

	if (rc < 0)
		return rc;
	if (is_status(p.path))
		return open_status(p.path, flags, out);
	h = handle_new(p.path);
	if (!h)
		return -ENOMEM;
	if (is_write(flags) && (rc = begin_write(h)) < 0) {
		handle_free(h);
		return rc;
	}
	h->fd = open_beneath(p.path, spool_flags(flags), 0);
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

static int create_at(const char *path, mode_t mode, int flags)
{
	const char *base;
	int dfd, fd, rc;

	dfd = open_parent(path, &base);
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

int ps_restore_create(const char *rel, mode_t mode, int flags, struct ps_restore_handle **out)
{
	struct ps_restore_handle *h;
	struct ps_place p;
	int rc;

	if (!*rel)
		return -EEXIST;
	rc = place_to_write(rel, &p);
	if (rc < 0)
		return rc;
	if (is_status(p.path))
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
	start_mirror(h, p.path);
	*out = h;
	return 0;
}

int ps_restore_opendir(const char *rel, struct ps_restore_handle **out)
{
	struct ps_restore_handle *h;
	struct ps_place p;
	int rc = place(rel, &p);

	/* restore/ itself is the caller's namespace, made on first sight */
	if (rc == 0 && !*rel)
		rc = ps_ns_ensure(R.fd, p.path);
	if (rc < 0)
		return rc;
	h = handle_new(p.path);
	if (!h)
		return -ENOMEM;
	h->fd = open_beneath(p.path, O_RDONLY | O_DIRECTORY, 0);
	if (h->fd < 0) {
		rc = h->fd;
		free(h);
		return rc;
	}
	h->image_top = is_top(p.path);
	h->is_root = !*rel;
	h->all_users = h->is_root && fuse_get_context()->uid == 0;
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
		/* the virtual status stands for the state file of that name */
		if (image_top && !strcmp(de->d_name, STATUS_NAME))
			continue;
		if (fn(ctx, de->d_name, (mode_t)DTTOIF(de->d_type)))
			return 1;
	}
	if (image_top)
		return fn(ctx, STATUS_NAME, S_IFREG);
	return 0;
}

/* restore/ as root sees it: its own images, then everyone else's. */
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
	if (rc == 0 && h->all_users)
		return ps_ns_list_others(R.fd, fn, ctx);
	return 0;
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
