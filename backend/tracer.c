/* The tracer thread and its job queue: one thread owns every ptrace call
 * (the kernel ties a tracee to the thread that attached, not the process). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend/freeze.h"
#include "backend/tracer.h"

struct job {
	ps_tracer_fn fn;
	void *arg;
	int result;
	int done;
	struct job *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queued = PTHREAD_COND_INITIALIZER;
static pthread_cond_t finished = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;
static pthread_t thread;
static int running, stopping;   /* written under lock; read under it by callers */
/* Set in the tracer thread itself: a job that calls ps_tracer_call again
 * runs inline, and asking needs no lock. */
static __thread int on_tracer;

static struct job *take_job(void)
{
	struct job *j;

	pthread_mutex_lock(&lock);
	while (!head && !stopping) {
		struct timespec tick;

		/* Wake up now and then for chores only this thread can do. */
		clock_gettime(CLOCK_REALTIME, &tick);
		tick.tv_nsec += 100 * 1000 * 1000;
		if (tick.tv_nsec >= 1000000000L) {
			tick.tv_sec++;
			tick.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&queued, &lock, &tick) == ETIMEDOUT) {
			pthread_mutex_unlock(&lock);
			ps_freeze_idle();
			pthread_mutex_lock(&lock);
		}
	}
	j = head;
	if (j) {
		head = j->next;
		if (!head)
			tail = NULL;
	}
	pthread_mutex_unlock(&lock);
	return j;
}

static void *tracer_main(void *unused)
{
	struct job *j;

	(void)unused;
	on_tracer = 1;
	while ((j = take_job())) {
		int r = j->fn(j->arg);

		pthread_mutex_lock(&lock);
		j->result = r;
		j->done = 1;
		pthread_cond_broadcast(&finished);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int ps_tracer_start(char *err, size_t errlen)
{
	int r = 0;

	pthread_mutex_lock(&lock);
	if (!running) {
		stopping = 0;
		r = pthread_create(&thread, NULL, tracer_main, NULL);
		running = r == 0;
	}
	pthread_mutex_unlock(&lock);
	if (r) {
		snprintf(err, errlen, "cannot start the tracer thread: %s", strerror(r));
		return -r;
	}
	return 0;
}

void ps_tracer_stop(void)
{
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	stopping = 1;
	pthread_cond_broadcast(&queued);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	pthread_mutex_lock(&lock);
	running = 0;
	pthread_mutex_unlock(&lock);
}

int ps_tracer_call(ps_tracer_fn fn, void *arg)
{
	struct job j = { .fn = fn, .arg = arg };

	if (on_tracer)
		return fn(arg);
	pthread_mutex_lock(&lock);
	if (!running || stopping) {
		pthread_mutex_unlock(&lock);
		return -ESHUTDOWN;
	}
	if (tail)
		tail->next = &j;
	else
		head = &j;
	tail = &j;
	pthread_cond_signal(&queued);
	while (!j.done)
		pthread_cond_wait(&finished, &lock);
	pthread_mutex_unlock(&lock);
	return j.result;
}
