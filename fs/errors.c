/* The table of refusal sentences behind /.errors/<pid>: per caller uid and
 * pid, bounded in size, oldest entries dropped first. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fs/errors.h"

struct entry {
	int used;
	uid_t uid;
	pid_t pid;
	struct timespec when;        /* CLOCK_REALTIME: shown as the file's mtime */
	unsigned long long seq;      /* order of noting: the smallest goes first */
	char text[PS_ERRORS_TEXT_MAX];
};

static struct {
	pthread_mutex_t lock;
	struct entry e[PS_ERRORS_MAX];
	unsigned long long seq;
} E = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct entry *find(uid_t uid, pid_t pid)
{
	for (size_t i = 0; i < PS_ERRORS_MAX; i++)
		if (E.e[i].used && E.e[i].uid == uid && E.e[i].pid == pid)
			return &E.e[i];
	return NULL;
}

/* A free slot, else the oldest of uid's own once it has its share, else
 * the oldest of all. Lock held. */
static struct entry *slot_for(uid_t uid)
{
	struct entry *oldest = NULL, *oldest_own = NULL, *free_slot = NULL;
	unsigned own = 0;

	for (size_t i = 0; i < PS_ERRORS_MAX; i++) {
		struct entry *x = &E.e[i];

		if (!x->used) {
			free_slot = free_slot ? free_slot : x;
			continue;
		}
		if (!oldest || x->seq < oldest->seq)
			oldest = x;
		if (x->uid != uid)
			continue;
		own++;
		if (!oldest_own || x->seq < oldest_own->seq)
			oldest_own = x;
	}
	if (own >= PS_ERRORS_PER_UID)
		return oldest_own;
	return free_slot ? free_slot : oldest;
}

void ps_errors_note(uid_t uid, pid_t pid, int err, const char *sentence)
{
	struct entry *x;

	pthread_mutex_lock(&E.lock);
	x = find(uid, pid);
	if (!x)
		x = slot_for(uid);
	x->used = 1;
	x->uid = uid;
	x->pid = pid;
	x->seq = ++E.seq;
	clock_gettime(CLOCK_REALTIME, &x->when);
	snprintf(x->text, sizeof(x->text), "%s: %s\n", strerror(-err),
		 sentence && *sentence ? sentence : "no reason given");
	pthread_mutex_unlock(&E.lock);
}

void ps_errors_clear(uid_t uid, pid_t pid)
{
	struct entry *x;

	pthread_mutex_lock(&E.lock);
	x = find(uid, pid);
	if (x)
		x->used = 0;
	pthread_mutex_unlock(&E.lock);
}

int ps_errors_text(uid_t uid, pid_t pid, char *buf, size_t len, struct timespec *when)
{
	struct entry *x;

	pthread_mutex_lock(&E.lock);
	x = find(uid, pid);
	if (x) {
		snprintf(buf, len, "%s", x->text);
		*when = x->when;
	}
	pthread_mutex_unlock(&E.lock);
	return x ? 0 : -ENOENT;
}

void ps_errors_list(uid_t uid, int (*fn)(void *ctx, pid_t pid), void *ctx)
{
	pid_t pids[PS_ERRORS_PER_UID];
	size_t n = 0;

	/* collected first: fn fills a FUSE buffer, not under our lock */
	pthread_mutex_lock(&E.lock);
	for (size_t i = 0; i < PS_ERRORS_MAX && n < PS_ERRORS_PER_UID; i++)
		if (E.e[i].used && E.e[i].uid == uid)
			pids[n++] = E.e[i].pid;
	pthread_mutex_unlock(&E.lock);
	for (size_t i = 0; i < n; i++)
		if (fn(ctx, pids[i]))
			return;
}
