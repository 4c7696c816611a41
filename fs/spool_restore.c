/* The restore trigger: image.json of a staged image read through the
 * restorer, a complete image claimed and restored, a restored one tidied. */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fuse.h>

#include "image/image_limits.h"
#include "fs/image_state.h"
#include "fs/spool_dir.h"
#include "fs/spool_progress.h"
#include "fs/spool_restore.h"
#include "fs/spool_status.h"
#include "restore/restorer.h"

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

static ps_spool_restore_fn restorer;
static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;

void ps_spool_set_restorer(ps_spool_restore_fn fn)
{
	restorer = fn;
}

/* ---- image.json, one at a time ---- */

/* image.json's size, or -errno (-ENOENT: not there yet). */
static off_t image_json_size(const char *key)
{
	char path[PS_SPOOL_KEY_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/image.json", key);
	if (fstatat(ps_spool_images_fd(), path, &st, AT_SYMLINK_NOFOLLOW) < 0)
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

/* Take the lock for a read of key's image.json: 0 with *size its size (or
 * -errno if there is none), or -EFBIG, the lock not taken, if it is too big. */
static int parse_begin(const char *key, off_t *size, char *err, size_t errlen)
{
	*size = image_json_size(key);
	if (too_big(*size, err, errlen))
		return -EFBIG;
	pthread_mutex_lock(&parse_lock);
	return 0;
}

/* A parse of a big image.json freed its memory to malloc, which keeps it
 * unless told: give it back to the kernel. */
static void parse_end(off_t size)
{
	if (size >= (off_t)TRIM_AFTER)
		malloc_trim(0);
	pthread_mutex_unlock(&parse_lock);
}

int ps_spool_check_complete(const char *key, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	off_t size;
	int rc = parse_begin(key, &size, err, errlen);

	if (rc < 0)
		return rc;
	rc = ps_spool_image_path(key, dir, sizeof(dir));
	if (rc < 0)
		snprintf(err, errlen, "image name too long");
	else
		rc = ps_restore_check_staged(dir, err, errlen);
	parse_end(size);
	return rc;
}

/* key's directory, for the restorer to read image.json in: never through
 * a symlink. fd or -errno. */
static int open_image(const char *key)
{
	return ps_spool_open_beneath(key, O_RDONLY | O_DIRECTORY, 0);
}

/* Only asked after a procsnap was killed during a restore (spool_status.c). */
pid_t ps_spool_staged_pid(const char *key)
{
	char err[256];
	off_t size;
	pid_t pid = 0;
	int fd;

	if (parse_begin(key, &size, err, sizeof(err)) < 0)
		return 0;
	fd = open_image(key);
	if (fd >= 0) {
		pid = ps_restore_staged_pid(fd);
		close(fd);
	}
	parse_end(size);
	return pid;
}

/* The files key's image.json lists, for the progress of its copy. */
static int list_staged(const char *key, ps_progress_file_fn fn, void *ctx)
{
	char err[256];
	off_t size;
	int fd, rc;

	rc = parse_begin(key, &size, err, sizeof(err));
	if (rc < 0)
		return rc;
	fd = open_image(key);
	rc = fd < 0 ? fd : ps_restore_staged_files(fd, fn, ctx);
	if (fd >= 0)
		close(fd);
	parse_end(size);
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
	dfd = ps_spool_open_parent(path, &base);
	if (dfd < 0)
		return;
	unlinkat(dfd, base, 0);
	close(dfd);
}

static void unlink_listed(void *key, const char *name, uint64_t size)
{
	unlink_in(key, name);
}

/* The directories stay (a copy tool still sets their modes and times once
 * their files are written), and so does any file the image does not list
 * (rsync's temporary file, in flight to its name). */
void ps_spool_remove_listed(const char *key)
{
	char err[256];
	off_t size;
	int fd, rc = -EBADF;

	if (parse_begin(key, &size, err, sizeof(err)) < 0)
		return;
	fd = open_image(key);
	if (fd >= 0) {
		rc = ps_restore_staged_files(fd, unlink_listed, (void *)key);
		close(fd);
	}
	parse_end(size);
	if (rc == 0)
		unlink_in(key, "image.json");
}

/* ---- the restore ---- */

/* Run the restorer on the complete image key: its state afterwards. The
 * restore spends the image's early fill, whatever its outcome. */
static int run_restorer(const char *key, struct ps_image_state *st)
{
	char dir[PATH_MAX], err[PS_RESULT_MAX - 16] = "";
	struct ps_prefill *prefill = ps_spool_image_take_fill(key);
	pid_t pid = 0;
	int rc = ps_spool_image_path(key, dir, sizeof(dir));

	if (rc == 0)
		rc = restorer(dir, prefill, &pid, err, sizeof(err));
	if (prefill)
		ps_restore_prefill_put(prefill);
	if (rc == 0 && pid > 0) {
		ps_spool_state_restored(st, pid, err);
		return 0;
	}
	if (rc >= 0)
		rc = -EIO;  /* a restorer that claims success without a pid */
	ps_spool_state_failed(st, err[0] ? err : strerror(-rc));
	return rc;
}

/* A complete image is checked and restored, its state in the spool while
 * the restore runs (a procsnap killed then is found out by the next one,
 * image_state.h). Returns the restore's error for the close() or rename()
 * that completed the image, *st its state now: PS_STATE_NONE if it is not
 * complete yet. */
static int restore_claimed(const char *key, struct ps_image_state *st)
{
	char err[PS_RESULT_MAX - 16];
	int rc;

	memset(st, 0, sizeof(*st));
	if (!ps_progress_may_be_complete(key, list_staged))
		return 0;
	rc = ps_spool_check_complete(key, err, sizeof(err));
	/* Complete, or not after all (a file went behind the cursor): look
	 * again from the start next time. */
	ps_progress_forget(key);
	/* -EINVAL: not missing bytes but a broken image (image.json that does
	 * not parse, a file longer than listed), -EFBIG: image.json too big:
	 * that is a failed restore, and the close() that finished writing it
	 * says so. */
	if (rc == -EINVAL || rc == -EFBIG) {
		ps_spool_state_failed(st, err);
	} else if (rc != 0) {
		return 0;
	} else {
		ps_state_set_restoring(st);
		ps_spool_save_state(key, st);
		rc = run_restorer(key, st);
	}
	fuse_log(rc ? FUSE_LOG_ERR : FUSE_LOG_INFO, "procsnap: restore of %s: %s\n", key, st->result);
	return rc;
}

/* Once restored, the image's files leave the spool (unless -o
 * keep_staged) when it is quiet (spool_status.c). */
int ps_spool_maybe_restore(const char *key, unsigned own)
{
	struct ps_image_state st;
	char err[PS_RESULT_MAX];
	enum ps_spool_claim c;
	int rc, saved;

	if (!ps_spool_is_image_dir(key))
		return 0;
	c = ps_spool_image_claim(key, own);
	if (c == PS_SPOOL_CLAIM_NONE)
		return 0;
	if (c == PS_SPOOL_CLAIM_CLEANUP) {
		/* written once more after its restore: nothing to restore */
		ps_spool_image_unclaim(key, NULL, 1, ps_spool_check_complete(key, err, sizeof(err)) == 0);
		return 0;
	}
	rc = restore_claimed(key, &st);
	if (st.kind == PS_STATE_NONE) {
		ps_spool_image_unclaim(key, NULL, 1, 0);
		return 0;
	}
	saved = ps_spool_save_state(key, &st) == 0;
	ps_spool_image_unclaim(key, &st, saved, rc == 0);
	/* The kernel takes ENOSYS from FLUSH to mean "no flush op" and stops
	 * sending any flush on this mount, and returns 0 to close(). */
	return rc == -ENOSYS ? -EOPNOTSUPP : rc;
}
