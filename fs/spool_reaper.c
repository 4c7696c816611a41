/* The spool's background thread: once a second it ends the early fill of an
 * image abandoned halfway and removes the files of a restored, quiet image. */
#include <pthread.h>
#include <time.h>

#include "fs/spool_dir.h"
#include "fs/spool_reaper.h"
#include "fs/spool_restore.h"
#include "fs/spool_status.h"
#include "restore/restorer.h"

static struct {
	pthread_mutex_t lock;      /* the fields below */
	pthread_cond_t stop;       /* stopping was set */
	pthread_t thread;
	int started, stopping;
} Q = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.stop = PTHREAD_COND_INITIALIZER,
};

/* One piece of work, if there is one: 1 if it did some. */
static int reap_one(void)
{
	char key[PS_SPOOL_KEY_MAX];
	struct ps_prefill *p = ps_spool_take_idle_fill();

	if (p) {
		ps_restore_prefill_abandon(p);
		return 1;
	}
	if (ps_spool_take_tidy(key)) {
		ps_spool_remove_listed(key);
		ps_spool_image_unclaim(key, NULL, 1, 0);
		return 1;
	}
	return 0;
}

static int stopping(void)
{
	int s;

	pthread_mutex_lock(&Q.lock);
	s = Q.stopping;
	pthread_mutex_unlock(&Q.lock);
	return s;
}

/* A second, or until stopped. */
static void wait_a_second(void)
{
	struct timespec tick;

	pthread_mutex_lock(&Q.lock);
	clock_gettime(CLOCK_MONOTONIC, &tick);
	tick.tv_sec++;
	if (!Q.stopping)
		pthread_cond_timedwait(&Q.stop, &Q.lock, &tick);
	pthread_mutex_unlock(&Q.lock);
}

static void *reaper_main(void *arg)
{
	(void)arg;
	while (!stopping())
		if (!reap_one())
			wait_a_second();
	return NULL;
}

/* Lock held. The wait is on CLOCK_MONOTONIC, immune to clock jumps. */
static int start_thread(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_destroy(&Q.stop);
	pthread_cond_init(&Q.stop, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&Q.thread, NULL, reaper_main, NULL) != 0)
		return -1;
	Q.started = 1;
	return 0;
}

int ps_spool_reaper_start(void)
{
	int rc;

	pthread_mutex_lock(&Q.lock);
	rc = Q.started ? 0 : start_thread();
	pthread_mutex_unlock(&Q.lock);
	return rc;
}

void ps_spool_reaper_stop(void)
{
	int started;

	pthread_mutex_lock(&Q.lock);
	Q.stopping = 1;
	pthread_cond_broadcast(&Q.stop);
	started = Q.started;
	pthread_mutex_unlock(&Q.lock);
	if (started)
		pthread_join(Q.thread, NULL);
	Q.started = 0;
}
