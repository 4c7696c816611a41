/* Checks and restore of the timers part: the interval timers, and POSIX timers
 * made again with their ids, clocks, notification, remaining time and interval. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "restore/part_restore.h"
#include "restore/validate.h"

/* Linux 6.17: while on, timer_create takes the id to give the new timer
 * from its third argument instead of choosing one. */
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif


/* The kernel's struct sigevent on x86_64 (64 bytes); glibc's names its
 * thread-id member differently across versions. */
struct kernel_sigevent {
	uint64_t value;
	int32_t signo;
	int32_t notify;
	int32_t tid;
	int32_t pad[11];
};

static int restore_ids_mode(struct ps_rctx *c, int on)
{
	long rc = ps_rcall(c, on ? "prctl(PR_TIMER_CREATE_RESTORE_IDS)" :
			   "prctl(PR_TIMER_CREATE_RESTORE_IDS, OFF)", SYS_prctl,
			   PR_TIMER_CREATE_RESTORE_IDS,
			   on ? PR_TIMER_CREATE_RESTORE_IDS_ON : PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0,
			   0, 0);

	if (rc == -EINVAL && on)
		return ps_rfail(c, -ENOTSUP, "restoring POSIX timers with their ids needs Linux "
				"6.17 or later (PR_TIMER_CREATE_RESTORE_IDS)");
	return rc < 0 ? (int)rc : 0;
}

static int create_timer(struct ps_rctx *c, const struct ps_posix_timer *t)
{
	struct kernel_sigevent ev = { t->sigval, t->signo, t->notify, t->notify_tid, { 0 } };
	int32_t id = t->id;
	uint64_t ev_at = ps_rput(c, 0, &ev, sizeof(ev));
	uint64_t id_at = ps_rput(c, sizeof(ev), &id, sizeof(id));
	char what[96];
	long rc;

	if (!ev_at || !id_at)
		return -EIO;
	snprintf(what, sizeof(what), "timer_create of POSIX timer %d (clock %d)", t->id, t->clock);
	rc = ps_rcall(c, what, SYS_timer_create, (uint64_t)(int64_t)t->clock, ev_at, id_at, 0, 0, 0);
	if (rc < 0)
		return (int)rc;
	if (ps_rget(c, id_at, &id, sizeof(id)) < 0)
		return -EIO;
	if (id != t->id)
		return ps_rfail(c, -EBUSY, "timer_create gave POSIX timer %d the id %d", t->id, id);
	return 0;
}

static struct timespec ts_of(uint64_t ns)
{
	return (struct timespec){ (time_t)(ns / PS_NSEC_PER_SEC), (long)(ns % PS_NSEC_PER_SEC) };
}

/* Relative: the time the process was gone does not elapse for it, as for
 * its itimers and sleeps. The overrun count has no interface to set it and
 * starts again from 0. */
static int arm_timer(struct ps_rctx *c, const struct ps_posix_timer *t)
{
	struct itimerspec its = { ts_of(t->interval_ns), ts_of(t->value_ns) };
	uint64_t at;
	char what[64];
	long rc;

	if (t->value_ns == 0)
		return 0;
	at = ps_rput(c, 0, &its, sizeof(its));
	if (!at)
		return -EIO;
	snprintf(what, sizeof(what), "timer_settime of POSIX timer %d", t->id);
	rc = ps_rcall(c, what, SYS_timer_settime, (uint64_t)t->id, 0, at, 0, 0, 0);
	return rc < 0 ? (int)rc : 0;
}

int ps_restore_posix_timers(struct ps_rctx *c)
{
	const struct ps_process *p = &c->m->proc;
	int rc, off;

	if (p->ntimers == 0)
		return 0;
	rc = restore_ids_mode(c, 1);
	if (rc)
		return rc;
	for (size_t i = 0; rc == 0 && i < p->ntimers; i++)
		rc = create_timer(c, &p->timers[i]);
	off = restore_ids_mode(c, 0);
	for (size_t i = 0; rc == 0 && i < p->ntimers; i++)
		rc = arm_timer(c, &p->timers[i]);
	return rc ? rc : off;
}

/* Rounded up to whole microseconds: a remaining time below 1 us must not
 * become 0, which would disarm the timer. */
static struct timeval ns_to_timeval(uint64_t ns)
{
	uint64_t us = ns / 1000 + (ns % 1000 != 0);

	return (struct timeval){ (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };
}

/* A fork starts with all three timers disarmed, so a saved 0 needs nothing.
 * ITIMER_REAL counts from now: the time the process spent checkpointed
 * does not elapse for it, as for every other relative timeout. */
int ps_restore_itimers(struct ps_rctx *c)
{
	static const char *const names[3] = { "ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF" };
	char what[64];

	for (int which = 0; which < 3; which++) {
		const struct ps_itimer *t = &c->m->proc.itimers[which];
		struct itimerval itv = { ns_to_timeval(t->interval_ns), ns_to_timeval(t->value_ns) };
		uint64_t addr;
		long rc;

		if (t->value_ns == 0)
			continue;
		addr = ps_rput(c, 0, &itv, sizeof(itv));
		if (!addr)
			return -EIO;
		snprintf(what, sizeof(what), "setitimer(%s)", names[which]);
		rc = ps_rcall(c, what, SYS_setitimer, (uint64_t)which, addr, 0, 0, 0, 0);
		if (rc < 0)
			return (int)rc;
	}
	return 0;
}

static int has_thread(const struct ps_model *m, pid_t tid)
{
	for (size_t i = 0; i < m->nthreads; i++)
		if (m->threads[i].tid == tid)
			return 1;
	return 0;
}

int ps_validate_timers(const struct ps_check *v)
{
	const struct ps_process *p = &v->m->proc;

	for (size_t i = 0; i < p->ntimers; i++) {
		const struct ps_posix_timer *t = &p->timers[i];

		if ((t->notify & SIGEV_THREAD_ID) && !has_thread(v->m, t->notify_tid))
			return ps_refuse(v, -EINVAL, "POSIX timer %d signals thread %d, which is "
					 "not in the image", t->id, t->notify_tid);
		if (i && t->id <= p->timers[i - 1].id)
			return ps_refuse(v, -EINVAL, "POSIX timer %d is listed twice or out of order",
					 t->id);
	}
	return 0;
}
