/* The table of held snapshots (pid -> snapshot, use count, expiry) and the
 * reaper thread that releases each one once its hold time has run out. */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fuse_log.h>

#include "fs/holds.h"
#include "backend/proc_parse.h"
#include "backend/snapshot.h"

enum hold_state {
	HOLD_TAKING,     /* one thread is in ps_snapshot_take; others wait */
	HOLD_READY,      /* snap is valid */
	HOLD_FAILED,     /* take failed; unlinked, freed by its last waiter */
	HOLD_RELEASING,  /* the reaper is releasing it; a new get waits */
};

struct ps_hold {
	struct ps_hold *next;       /* in the table */
	struct ps_hold *reap_next;  /* in the reaper's batch */
	pid_t pid;
	enum hold_state state;
	struct ps_snapshot *snap;
	int error;                  /* -errno when HOLD_FAILED */
	char why[PS_HOLD_WHY_MAX];  /* and the backend's sentence */
	unsigned users;             /* open handles + threads using or waiting */
	int stale;                  /* its process has died: new gets of the pid
				       take a new snapshot, of whoever has it now */
	int64_t expiry_ns;          /* CLOCK_MONOTONIC; meaningful when users == 0 */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;     /* a hold changed state, for waiters */
	pthread_cond_t wake_reaper; /* a hold became idle, or stop */
	struct ps_hold *list;
	int64_t hold_ns;
	int running;
	pthread_t reaper;
} T = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.changed = PTHREAD_COND_INITIALIZER,
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct ps_hold *find_linked(pid_t pid)
{
	struct ps_hold *h;

	for (h = T.list; h; h = h->next)
		if (h->pid == pid && !h->stale)
			return h;
	return NULL;
}

static void unlink_hold(struct ps_hold *h)
{
	struct ps_hold **pp;

	for (pp = &T.list; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			return;
		}
	}
}

/* Called with the lock held by a thread that waited on a failed take:
 * the failure and its sentence become that thread's. */
static int drop_failed(struct ps_hold *h, char *why, size_t whylen)
{
	int rc = h->error;

	snprintf(why, whylen, "%s", h->why);
	if (--h->users == 0)
		free(h);
	return rc;
}

/* Join an existing hold: wait out a take in progress. Lock held. */
static int join_hold(struct ps_hold *h, struct ps_hold **out, char *why, size_t whylen)
{
	h->users++;
	while (h->state == HOLD_TAKING)
		pthread_cond_wait(&T.changed, &T.lock);
	if (h->state == HOLD_FAILED)
		return drop_failed(h, why, whylen);
	*out = h;
	return 0;
}

/* Take the snapshot for a new hold, with the lock dropped: freezing a
 * process can take a while and must not stall other pids. */
static int take_new(pid_t pid, struct ps_hold **out, char *why, size_t whylen)
{
	struct ps_hold *h = calloc(1, sizeof(*h));
	int rc;

	if (!h) {
		snprintf(why, whylen, "out of memory for the snapshot of process %d", (int)pid);
		return -ENOMEM;
	}
	h->pid = pid;
	h->state = HOLD_TAKING;
	h->users = 1;
	h->next = T.list;
	T.list = h;

	pthread_mutex_unlock(&T.lock);
	rc = ps_snapshot_take(pid, &h->snap, h->why, sizeof(h->why));
	if (rc == 0 && !h->snap)
		rc = -EIO;
	pthread_mutex_lock(&T.lock);

	if (rc < 0) {
		if (!h->why[0])
			snprintf(h->why, sizeof(h->why), "snapshot of process %d failed: %s",
				 (int)pid, strerror(-rc));
		fuse_log(FUSE_LOG_ERR, "procsnap: snapshot of pid %d failed: %s\n", (int)pid, h->why);
		h->state = HOLD_FAILED;
		h->error = rc;
		unlink_hold(h);
		pthread_cond_broadcast(&T.changed);
		return drop_failed(h, why, whylen);
	}
	h->state = HOLD_READY;
	pthread_cond_broadcast(&T.changed);
	*out = h;
	return 0;
}

int ps_holds_get(pid_t pid, struct ps_hold **out, char *why, size_t whylen)
{
	struct ps_hold *h;
	int rc;

	pthread_mutex_lock(&T.lock);
	if (!T.running) {
		pthread_mutex_unlock(&T.lock);
		snprintf(why, whylen, "procsnap is shutting down");
		return -EIO;
	}
	/* A hold being released must be gone before a new take of the same
	 * pid: the backend cannot seize a process it still holds. */
	while ((h = find_linked(pid)) && h->state == HOLD_RELEASING)
		pthread_cond_wait(&T.changed, &T.lock);
	/* A snapshot held past its process's death (kill -9 after cp -r) must
	 * not be served for the next process with that pid: a restore of it,
	 * moments later. It stays for its open handles and is released as
	 * usual. */
	if (h && h->state == HOLD_READY && !ps_snapshot_is_current(h->snap)) {
		h->stale = 1;
		h = NULL;
	}
	rc = h ? join_hold(h, out, why, whylen) : take_new(pid, out, why, whylen);
	pthread_mutex_unlock(&T.lock);
	return rc;
}

int ps_holds_has_current(pid_t pid)
{
	struct ps_hold *h;
	int yes;

	pthread_mutex_lock(&T.lock);
	h = find_linked(pid);
	yes = h && h->state == HOLD_READY && ps_snapshot_is_current(h->snap);
	pthread_mutex_unlock(&T.lock);
	return yes;
}

struct ps_snapshot *ps_hold_snapshot(const struct ps_hold *h)
{
	return h->snap;
}

void ps_holds_put(struct ps_hold *h)
{
	pthread_mutex_lock(&T.lock);
	if (--h->users == 0) {
		h->expiry_ns = now_ns() + T.hold_ns;
		pthread_cond_signal(&T.wake_reaper);
	}
	pthread_mutex_unlock(&T.lock);
}

/* Mark every idle hold whose time is up as releasing and chain them into a
 * batch; *next_ns gets the earliest deadline still pending. Lock held. */
static struct ps_hold *collect_expired(int64_t now, int64_t *next_ns)
{
	struct ps_hold *h, *batch = NULL;

	*next_ns = INT64_MAX;
	for (h = T.list; h; h = h->next) {
		if (h->state != HOLD_READY || h->users)
			continue;
		if (h->expiry_ns > now) {
			if (h->expiry_ns < *next_ns)
				*next_ns = h->expiry_ns;
			continue;
		}
		h->state = HOLD_RELEASING;
		h->reap_next = batch;
		batch = h;
	}
	return batch;
}

/* Thaw the batch with the lock dropped, then forget it. Lock held. */
static void release_batch(struct ps_hold *batch)
{
	struct ps_hold *h, *next;

	pthread_mutex_unlock(&T.lock);
	for (h = batch; h; h = h->reap_next)
		ps_snapshot_release(h->snap);
	pthread_mutex_lock(&T.lock);
	for (h = batch; h; h = next) {
		next = h->reap_next;
		unlink_hold(h);
		free(h);
	}
	pthread_cond_broadcast(&T.changed);
}

static void wait_until(int64_t deadline_ns)
{
	struct timespec ts;

	if (deadline_ns == INT64_MAX) {
		pthread_cond_wait(&T.wake_reaper, &T.lock);
		return;
	}
	ts.tv_sec = deadline_ns / 1000000000;
	ts.tv_nsec = deadline_ns % 1000000000;
	pthread_cond_timedwait(&T.wake_reaper, &T.lock, &ts);
}

static void *reaper_main(void *arg)
{
	struct ps_hold *batch;
	int64_t next_ns;

	(void)arg;
	pthread_mutex_lock(&T.lock);
	while (T.running) {
		batch = collect_expired(now_ns(), &next_ns);
		if (batch) {
			release_batch(batch);
			continue;
		}
		wait_until(next_ns);
	}
	pthread_mutex_unlock(&T.lock);
	return NULL;
}

/* The reaper sleeps on CLOCK_MONOTONIC deadlines, immune to clock jumps. */
static int init_reaper_cond(void)
{
	pthread_condattr_t attr;
	int rc;

	rc = pthread_condattr_init(&attr);
	if (rc)
		return rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_cond_init(&T.wake_reaper, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}

int ps_holds_start(double hold_seconds, char *err, size_t errlen)
{
	int rc;

	T.hold_ns = (int64_t)(hold_seconds * 1e9);
	rc = init_reaper_cond();
	if (rc) {
		snprintf(err, errlen, "cannot set up the hold timer: %s", strerror(rc));
		return -rc;
	}
	T.running = 1;
	rc = pthread_create(&T.reaper, NULL, reaper_main, NULL);
	if (rc) {
		T.running = 0;
		pthread_cond_destroy(&T.wake_reaper);
		snprintf(err, errlen, "cannot start the hold reaper thread: %s", strerror(rc));
		return -rc;
	}
	return 0;
}

void ps_holds_stop(void)
{
	struct ps_hold *h, *next;

	pthread_mutex_lock(&T.lock);
	if (!T.running) {
		pthread_mutex_unlock(&T.lock);
		return;
	}
	T.running = 0;
	pthread_cond_signal(&T.wake_reaper);
	pthread_mutex_unlock(&T.lock);
	pthread_join(T.reaper, NULL);

	/* No request runs any more, so every hold is READY (nothing is taking
	 * or releasing): thaw them all, open handles or not. */
	for (h = T.list; h; h = next) {
		next = h->next;
		if (h->state == HOLD_READY)
			ps_snapshot_release(h->snap);
		free(h);
	}
	T.list = NULL;
	pthread_cond_destroy(&T.wake_reaper);
}
