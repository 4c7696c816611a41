/* Each staged image's state as procsnap knows it (writers, a running restore,
 * its outcome, its early fill) and the status file made of it. */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fuse.h>

#include "fs/image_state.h"
#include "fs/spool_dir.h"
#include "fs/spool_reaper.h"
#include "fs/spool_restore.h"
#include "fs/spool_status.h"
#include "restore/restorer.h"

/*
 * A restored image's files leave the spool once the image has been quiet
 * this long: no writer, no change. Not at once: a copy tool may still set
 * the modes and times of the files it wrote, by name, after the close that
 * restored the image (touch does, and rsync does for the files it found
 * unchanged).
 */
#define TIDY_QUIET 2

/*
 * A copy that stopped halfway (interrupted, the disk full) leaves its
 * image incomplete: its early fill, memory held by a nursery, is let go
 * once no writer has had the image open for PREFILL_IDLE seconds. A
 * later completion restores from the spool as without an early fill.
 */
#define PREFILL_IDLE 30

/* What is known of one image (a directory at the top of a user's
 * namespace) beyond its files: who is writing it, how its restore went. */
struct image {
	struct image *next;
	char key[PS_SPOOL_KEY_MAX];  /* "<uid>/<name>" */
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

static struct {
	pthread_mutex_t lock;      /* images and their fields */
	pthread_cond_t done;       /* a restore finished */
	struct image *images;
} R = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

void ps_spool_images_fini(void)
{
	struct image *im, *next;

	for (im = R.images; im; im = next) {
		next = im->next;
		if (im->prefill)
			ps_restore_prefill_put(im->prefill);
		free(im);
	}
	R.images = NULL;
}

/* ---- the state in the spool ---- */

/* Lock held. */
static void mark_changed(struct image *im)
{
	clock_gettime(CLOCK_MONOTONIC, &im->changed_at);
}

/* Lock held. */
static void mark_tidy(struct image *im)
{
	if (ps_spool_keep_staged() || ps_spool_reaper_start() < 0)
		return;
	im->tidy = 1;
	mark_changed(im);
}

/* The image's state as the spool keeps it: a restore that was running when
 * a procsnap before this one was killed is judged now, once. */
static void load_state(struct image *im)
{
	int fd = ps_spool_open_beneath(im->key, O_PATH | O_DIRECTORY, 0);

	if (fd < 0)
		return;
	if (ps_state_load(fd, &im->state) == 0 && im->state.kind == PS_STATE_RESTORING) {
		ps_state_settle_interrupted(&im->state, ps_spool_staged_pid(im->key));
		im->unsaved = ps_state_save(fd, ps_spool_tmp_fd(), &im->state) < 0;
		fuse_log(FUSE_LOG_INFO, "procsnap: %s was being restored when procsnap stopped: %s\n",
			 im->key, im->state.result);
	}
	close(fd);
	/* files a procsnap killed before their cleanup left behind */
	if (ps_state_process_lives(&im->state))
		mark_tidy(im);
}

int ps_spool_save_state(const char *key, const struct ps_image_state *st)
{
	int fd = ps_spool_open_beneath(key, O_PATH | O_DIRECTORY, 0);
	int rc;

	if (fd < 0)
		return fd;
	rc = ps_state_save(fd, ps_spool_tmp_fd(), st);
	close(fd);
	if (rc < 0)
		fuse_log(FUSE_LOG_ERR, "procsnap: cannot keep the state of %s in the spool: %s\n", key,
			 strerror(-rc));
	return rc;
}

/* Status is one line: an error sentence must not break it. */
static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

void ps_spool_state_restored(struct ps_image_state *st, pid_t pid, const char *note)
{
	char line[PS_RESULT_MAX];

	snprintf(line, sizeof(line), "restored %d%s%s", (int)pid, note[0] ? "; " : "", note);
	one_line(line);
	ps_state_set_restored(st, pid, line);
}

void ps_spool_state_failed(struct ps_image_state *st, const char *why)
{
	char line[PS_RESULT_MAX];

	snprintf(line, sizeof(line), "failed: %s", why);
	one_line(line);
	ps_state_set_failed(st, line);
}

/* ---- the images procsnap knows ---- */

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

	if (!im || im->writers || im->waiters || im->running || im->prefill || im->unsaved ||
	    im->tidy)
		return;
	for (pp = &R.images; *pp; pp = &(*pp)->next) {
		if (*pp == im) {
			*pp = im->next;
			free(im);
			return;
		}
	}
}

/* Take the lock and key's entry: one procsnap knows already (find), or
 * read from the spool if it knows none (get). NULL (the lock still taken)
 * if there is none, or no memory for one. */
static struct image *lock_found(const char *key)
{
	pthread_mutex_lock(&R.lock);
	return image_find(key);
}

static struct image *lock_got(const char *key)
{
	pthread_mutex_lock(&R.lock);
	return image_get(key);
}

/* Let the lock go, and im (may be NULL) if it says nothing the spool does not. */
static void unlock_trimmed(struct image *im)
{
	image_trim(im);
	pthread_mutex_unlock(&R.lock);
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
	fd = ps_spool_open_beneath(im->key, O_PATH | O_DIRECTORY, 0);
	im->unsaved = fd >= 0 && ps_state_remove(fd) < 0;
	if (fd >= 0)
		close(fd);
}

void ps_spool_image_changed(const char *key)
{
	struct image *im = lock_got(key);

	if (im)
		mark_changed(im);
	if (im && !im->running)
		image_changes(im);
	unlock_trimmed(im);
}

void ps_spool_image_touched(const char *key)
{
	struct image *im = lock_found(key);

	if (im)
		mark_changed(im);
	pthread_mutex_unlock(&R.lock);
}

void ps_spool_image_reload(const char *key)
{
	struct image *im = lock_found(key);

	if (im && !im->running) {
		memset(&im->state, 0, sizeof(im->state));
		im->unsaved = 0;
		/* An image removed while its files waited to be tidied: a new
		 * one of the same name must not lose its files to that. */
		im->tidy = 0;
		load_state(im);
	}
	unlock_trimmed(im);
}

int ps_spool_image_begin_write(const char *key)
{
	struct image *im = lock_got(key);

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

void ps_spool_image_end_write(const char *key)
{
	struct image *im = lock_found(key);

	if (im && im->writers) {
		im->writers--;
		clock_gettime(CLOCK_MONOTONIC, &im->idle_since);
		mark_changed(im);
	}
	unlock_trimmed(im);
}

enum ps_spool_claim ps_spool_image_claim(const char *key, unsigned own)
{
	enum ps_spool_claim c = PS_SPOOL_CLAIM_NONE;
	struct image *im = lock_got(key);

	if (im && im->writers <= own && !im->running) {
		if (im->state.kind == PS_STATE_NONE)
			c = PS_SPOOL_CLAIM_RESTORE;
		else if (!ps_spool_keep_staged() && ps_state_process_lives(&im->state))
			c = PS_SPOOL_CLAIM_CLEANUP;
	}
	if (c != PS_SPOOL_CLAIM_NONE)
		im->running = 1;
	unlock_trimmed(im);
	return c;
}

void ps_spool_image_unclaim(const char *key, const struct ps_image_state *st, int saved, int tidy)
{
	struct image *im = lock_found(key);

	if (im) {
		im->running = 0;
		if (st) {
			im->state = *st;
			im->unsaved = !saved;
		}
		if (tidy)
			mark_tidy(im);
	}
	pthread_cond_broadcast(&R.done);
	unlock_trimmed(im);
}

/* ---- its early fill ---- */

/* Only an image that may restore is worth one: not one restored already,
 * whose process runs (image_changes()), nor one being restored. */
struct ps_prefill *ps_spool_image_fill(const char *key)
{
	struct ps_prefill *p = NULL;
	struct image *im = lock_found(key);

	if (im && (im->state.kind != PS_STATE_NONE || im->running)) {
		pthread_mutex_unlock(&R.lock);
		return NULL;
	}
	if (im && !im->prefill && ps_spool_reaper_start() == 0)
		im->prefill = ps_restore_prefill_new();
	if (im && im->prefill) {
		p = im->prefill;
		ps_restore_prefill_get(p);
	}
	pthread_mutex_unlock(&R.lock);
	return p;
}

/* The restore spends it, whatever its outcome; a change no mirror saw
 * makes it worthless. */
struct ps_prefill *ps_spool_image_take_fill(const char *key)
{
	struct ps_prefill *p = NULL;
	struct image *im = lock_found(key);

	if (im) {
		p = im->prefill;
		im->prefill = NULL;
	}
	unlock_trimmed(im);
	return p;
}

/* An image no writer has open and no restore (or cleanup) holds. */
static int quiet(const struct image *im)
{
	return !im->writers && !im->running;
}

/* Its early fill, of a copy abandoned halfway, is due to go. */
static int fill_abandoned(const struct image *im, time_t now)
{
	return im->prefill && quiet(im) && now - im->idle_since.tv_sec >= PREFILL_IDLE;
}

/* Restored, its files are due to leave the spool. */
static int tidy_due(const struct image *im, time_t now)
{
	return im->tidy && quiet(im) && now - im->changed_at.tv_sec >= TIDY_QUIET;
}

/* The first image for which due() holds now, or NULL. Lock held. */
static struct image *first_due(int (*due)(const struct image *im, time_t now))
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (struct image *im = R.images; im; im = im->next)
		if (due(im, now.tv_sec))
			return im;
	return NULL;
}

struct ps_prefill *ps_spool_take_idle_fill(void)
{
	struct ps_prefill *p = NULL;
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = first_due(fill_abandoned);
	if (im) {
		p = im->prefill;
		im->prefill = NULL;
	}
	unlock_trimmed(im);
	return p;
}

int ps_spool_take_tidy(char key[PS_SPOOL_KEY_MAX])
{
	struct image *im;

	pthread_mutex_lock(&R.lock);
	im = first_due(tidy_due);
	if (im) {
		im->tidy = 0;
		im->running = 1;
		snprintf(key, PS_SPOOL_KEY_MAX, "%s", im->key);
	}
	pthread_mutex_unlock(&R.lock);
	return im != NULL;
}

/* ---- status ---- */

/* The recorded outcome, or that a restore is running: 1, or 0 if there is
 * none to show. *writers: the image's writers now. */
static int recorded_status(const char *key, char *out, size_t len, unsigned *writers)
{
	struct image *im = lock_got(key);
	int found = 1;

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
	unlock_trimmed(im);
	return found;
}

void ps_spool_status_text(const char *key, char *out, size_t len)
{
	char err[PS_RESULT_MAX - 16] = "";
	unsigned writers;
	int rc;

	if (recorded_status(key, out, len, &writers))
		return;
	rc = ps_spool_check_complete(key, err, sizeof(err));
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

int ps_spool_status_stat(const char *key, const char *text, struct stat *st)
{
	if (fstatat(ps_spool_images_fd(), key, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = (off_t)strlen(text);
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}
