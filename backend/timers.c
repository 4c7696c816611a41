/* Capture of the timers part: the POSIX timers /proc/<pid>/timers lists, then
 * the three interval timers and each POSIX timer's time, read inside the target. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "backend/part_capture.h"
#include "backend/proc_parse.h"

static int timers_read_failed(pid_t pid, int rc, char *err, size_t errlen)
{
	if (rc == -EINVAL)
		snprintf(err, errlen, "parsing /proc/%d/timers: %s (the text is not in the "
			 "expected format)", (int)pid, strerror(-rc));
	else
		snprintf(err, errlen, "reading /proc/%d/timers: %s", (int)pid, strerror(-rc));
	if (rc == -ENOENT && errlen > 0)
		snprintf(err + strlen(err), errlen - strlen(err),
			 " (the kernel needs CONFIG_CHECKPOINT_RESTORE)");
	return rc;
}

static int parse_timers(const char *text, size_t len, void *arg)
{
	struct ps_process *p = arg;

	(void)len;
	return ps_parse_timers(text, &p->timers, &p->ntimers);
}

int ps_capture_timers_proc(pid_t pid, struct ps_process *p, char *err, size_t errlen)
{
	int rc;

	free(p->timers);
	p->timers = NULL;
	p->ntimers = 0;
	rc = ps_proc_parse(pid, "timers", parse_timers, p);
	return rc < 0 ? timers_read_failed(pid, rc, err, errlen) : 0;
}

int ps_capture_timers(struct ps_capture *c, char *err, size_t errlen)
{
	return ps_capture_timers_proc(c->frozen.pid, &c->model.proc, err, errlen);
}

static uint64_t timeval_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * PS_NSEC_PER_SEC + (uint64_t)tv->tv_usec * 1000ULL;
}

static uint64_t timespec_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * PS_NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

static int remote_itimers(struct ps_remote *r, uint64_t scratch, struct ps_process *p,
			  char *err, size_t errlen)
{
	for (int which = 0; which < 3; which++) {
		struct itimerval itv;
		int e = ps_capture_read_call(r, SYS_getitimer, which, scratch, scratch, &itv,
					     sizeof(itv), "getitimer", err, errlen);

		if (e < 0)
			return e;
		p->itimers[which].value_ns = timeval_ns(&itv.it_value);
		p->itimers[which].interval_ns = timeval_ns(&itv.it_interval);
	}
	return 0;
}

static int remote_posix_timers(struct ps_remote *r, uint64_t scratch, struct ps_process *p,
			       char *err, size_t errlen)
{
	for (size_t i = 0; i < p->ntimers; i++) {
		struct ps_posix_timer *t = &p->timers[i];
		struct itimerspec its;
		long ret;
		int e = ps_capture_read_call(r, SYS_timer_gettime, t->id, scratch, scratch, &its,
					     sizeof(its), "timer_gettime", err, errlen);

		if (e < 0)
			return e;
		t->value_ns = timespec_ns(&its.it_value);
		t->interval_ns = timespec_ns(&its.it_interval);
		e = ps_capture_call(r, SYS_timer_getoverrun, t->id, 0, 0, &ret, err, errlen);
		if (e < 0)
			return e;
		t->overrun = ret < 0 ? 0 : (int)ret;
	}
	return 0;
}

int ps_capture_timers_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
			     size_t thread, char *err, size_t errlen)
{
	int e;

	if (thread != 0)
		return 0;
	e = remote_itimers(r, scratch, &m->proc, err, errlen);
	return e ? e : remote_posix_timers(r, scratch, &m->proc, err, errlen);
}
