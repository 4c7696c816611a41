/* How far a staged image's copy has come: the files image.json lists, read
 * once, and how many of them (in its order) are already there whole. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/spool_dir.h"
#include "fs/spool_progress.h"

/*
 * Why: every close of a file written into an image asks whether the image
 * is now complete, and the full answer parses image.json and looks at every
 * file it lists. For an image of 20,000 memory files that is 20,000 parses
 * of a 2 MB image.json and 200 million stats: minutes. Here image.json is
 * listed once per version of it, and a cursor remembers how many listed
 * files (in image.json's order) were there whole; each close moves it on
 * from where it stopped, so a whole copy costs one look at each file. Only
 * when the cursor reaches the end does the full check run.
 */

/* Images followed at once: more are copied in together only by hand. */
#define MAX_FOLLOWED 8

struct listed {
	char *name;
	uint64_t size;
};

struct progress {
	struct progress *next;
	char key[PS_SPOOL_KEY_MAX];
	struct stat json;        /* image.json as it was when listed */
	struct listed *files;
	size_t n, cap;
	size_t done;             /* files[0..done) were there whole */
	int broken;              /* out of memory while listing */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct progress *followed;

static void progress_free(struct progress *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->files[i].name);
	free(p->files);
	free(p);
}

/* Unlink and free key's entry, if any. Lock held. */
static void drop(const char *key)
{
	for (struct progress **pp = &followed; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->key, key)) {
			struct progress *p = *pp;

			*pp = p->next;
			progress_free(p);
			return;
		}
	}
}

/* Make room for one more entry: the one followed longest goes. Lock held. */
static void drop_oldest_if_full(void)
{
	struct progress **pp = &followed;

	for (size_t n = 0; *pp && n + 1 < MAX_FOLLOWED; n++)
		pp = &(*pp)->next;
	while (*pp) {
		struct progress *p = *pp;

		*pp = p->next;
		progress_free(p);
	}
}

static void add_listed(void *ctx, const char *name, uint64_t size)
{
	struct progress *p = ctx;

	if (p->broken)
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct listed *grown = realloc(p->files, cap * sizeof(*grown));

		if (!grown) {
			p->broken = 1;
			return;
		}
		p->files = grown;
		p->cap = cap;
	}
	p->files[p->n].name = strdup(name);
	if (!p->files[p->n].name) {
		p->broken = 1;
		return;
	}
	p->files[p->n++].size = size;
}

/* The same image.json as when it was listed: same inode, size and times. */
static int same_json(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* key's entry for this image.json, listed now if it is new or changed;
 * NULL if it cannot be listed. Lock held. */
static struct progress *entry_for(const char *key, const struct stat *json,
				   ps_progress_list_fn list)
{
	struct progress *p;

	for (p = followed; p; p = p->next)
		if (!strcmp(p->key, key))
			break;
	if (p && same_json(&p->json, json))
		return p;
	drop(key);
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	snprintf(p->key, sizeof(p->key), "%s", key);
	p->json = *json;
	if (list(key, add_listed, p) < 0 || p->broken) {
		progress_free(p);
		return NULL;
	}
	drop_oldest_if_full();
	p->next = followed;
	followed = p;
	return p;
}

/* 1: there whole; 0: missing or short; -1: for the full check to judge. A
 * symlink is not followed: it is not a file of the image (the full check
 * refuses it). */
static int file_state(int dirfd, const struct listed *f)
{
	struct stat st;

	if (fstatat(dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > f->size)
		return -1;
	return (uint64_t)st.st_size == f->size;
}

static int advance(struct progress *p, int dirfd)
{
	while (p->done < p->n) {
		int s = file_state(dirfd, &p->files[p->done]);

		if (s <= 0)
			return s < 0;
		p->done++;
	}
	return 1;
}

int ps_progress_may_be_complete(const char *key, ps_progress_list_fn list)
{
	struct progress *p;
	struct stat json;
	int dirfd = ps_spool_open_beneath(key, O_RDONLY | O_DIRECTORY, 0), rc = 1;

	if (dirfd < 0)
		return 1;
	if (fstatat(dirfd, "image.json", &json, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = errno == ENOENT ? 0 : 1;
	} else if (S_ISREG(json.st_mode)) {
		pthread_mutex_lock(&lock);
		p = entry_for(key, &json, list);
		if (p)
			rc = advance(p, dirfd);
		pthread_mutex_unlock(&lock);
	}
	close(dirfd);
	return rc;
}

void ps_progress_forget(const char *key)
{
	pthread_mutex_lock(&lock);
	drop(key);
	pthread_mutex_unlock(&lock);
}

void ps_progress_fini(void)
{
	pthread_mutex_lock(&lock);
	while (followed) {
		struct progress *p = followed;

		followed = p->next;
		progress_free(p);
	}
	pthread_mutex_unlock(&lock);
}
