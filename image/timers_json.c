/* The timers part's keys, the last of process.json: "itimers" (the three
 * interval timers) and "timers" (POSIX timers, with the ids they had). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "image/codec.h"
#include "image/json_util.h"

static const char *const itimer_names[3] = { "real", "virtual", "prof" };

/* Clocks of timer_create; CPU-time clocks of other tasks are negative
 * numbers with no name and are written as numbers. */
static const struct ps_name clock_names[] = {
	{ 0, "CLOCK_REALTIME" }, { 1, "CLOCK_MONOTONIC" },
	{ 2, "CLOCK_PROCESS_CPUTIME_ID" }, { 3, "CLOCK_THREAD_CPUTIME_ID" },
	{ 4, "CLOCK_MONOTONIC_RAW" }, { 5, "CLOCK_REALTIME_COARSE" },
	{ 6, "CLOCK_MONOTONIC_COARSE" }, { 7, "CLOCK_BOOTTIME" },
	{ 8, "CLOCK_REALTIME_ALARM" }, { 9, "CLOCK_BOOTTIME_ALARM" },
	{ 11, "CLOCK_TAI" }, { 0, NULL },
};

/* sigev_notify as the kernel keeps it (SIGEV_THREAD is glibc's, built on
 * SIGEV_THREAD_ID). */
#define NOTIFY_SIGNAL 0
#define NOTIFY_NONE 1
#define NOTIFY_THREAD_ID 4
static const struct ps_name notify_names[] = {
	{ NOTIFY_SIGNAL, "signal" }, { NOTIFY_NONE, "none" },
	{ NOTIFY_THREAD_ID, "thread_id" }, { 0, NULL },
};

/* ---- encoding ---- */

static json_t *encode_itimers(const struct ps_itimer *it)
{
	json_t *o = json_object();
	int rc = 0;

	for (int i = 0; i < 3; i++)
		rc |= json_object_set_new(o, itimer_names[i], json_pack("{s:o,s:o}",
				"value_ns", ps_json_count(it[i].value_ns),
				"interval_ns", ps_json_count(it[i].interval_ns)));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_timer(const struct ps_posix_timer *t)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "id", json_integer(t->id));
	rc |= json_object_set_new(o, "clock", ps_json_enum(t->clock, clock_names));
	rc |= json_object_set_new(o, "notify", ps_json_enum(t->notify, notify_names));
	rc |= json_object_set_new(o, "signo", json_integer(t->signo));
	rc |= json_object_set_new(o, "sigval", ps_json_hex(t->sigval));
	rc |= json_object_set_new(o, "notify_tid", json_integer(t->notify_tid));
	rc |= json_object_set_new(o, "value_ns", ps_json_count(t->value_ns));
	rc |= json_object_set_new(o, "interval_ns", ps_json_count(t->interval_ns));
	rc |= json_object_set_new(o, "overrun", json_integer(t->overrun));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_posix_timers(const struct ps_process *p)
{
	json_t *a = json_array();
	int rc = 0;

	for (size_t i = 0; i < p->ntimers; i++)
		rc |= json_array_append_new(a, encode_timer(&p->timers[i]));
	if (rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int ps_encode_timers(const struct ps_process *p, json_t *process)
{
	int rc = json_object_set_new(process, "itimers", encode_itimers(p->itimers));

	rc |= json_object_set_new(process, "timers", encode_posix_timers(p));
	return rc ? -ENOMEM : 0;
}

/* ---- decoding ---- */

static int decode_itimer(const json_t *o, int i, struct ps_itimer *it, struct ps_jerr *e)
{
	const json_t *t;
	size_t mark;

	if (ps_jget_object(o, itimer_names[i], &t, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "%s", itimer_names[i]);
	if (ps_jget_count(t, "value_ns", &it->value_ns, e) ||
	    ps_jget_count(t, "interval_ns", &it->interval_ns, e))
		return -EINVAL;
	ps_jerr_pop(e, mark);
	return 0;
}

static int decode_itimers(const json_t *j, struct ps_itimer *it, struct ps_jerr *e)
{
	const json_t *o;
	size_t mark;

	if (ps_jget_object(j, "itimers", &o, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "itimers");
	for (int i = 0; i < 3; i++)
		if (decode_itimer(o, i, &it[i], e))
			return -EINVAL;
	ps_jerr_pop(e, mark);
	return 0;
}

/* How the timer notifies decides which of signo and notify_tid must be set. */
static int decode_timer_notify(const json_t *v, struct ps_posix_timer *t, struct ps_jerr *e)
{
	long long notify, signo, tid;
	int signals = 0;

	if (ps_jget_enum(v, "notify", notify_names, 0, &notify, e))
		return -EINVAL;
	signals = notify != NOTIFY_NONE;
	if (ps_jget_int(v, "signo", signals ? 1 : 0, PS_NSIG, &signo, e) ||
	    ps_jget_int(v, "notify_tid", notify == NOTIFY_THREAD_ID ? 1 : 0, PS_PID_MAX, &tid, e))
		return -EINVAL;
	t->notify = (int)notify;
	t->signo = (int)signo;
	t->notify_tid = (pid_t)tid;
	return 0;
}

static int decode_timer(const json_t *v, struct ps_posix_timer *t, struct ps_jerr *e)
{
	long long id, clock, overrun;

	if (ps_jv_object(v, "timers[]", e) ||
	    ps_jget_int(v, "id", 0, INT32_MAX, &id, e) ||
	    ps_jget_enum(v, "clock", clock_names, 1, &clock, e) ||
	    decode_timer_notify(v, t, e) ||
	    ps_jget_hex(v, "sigval", UINT64_MAX, &t->sigval, e) ||
	    ps_jget_count(v, "value_ns", &t->value_ns, e) ||
	    ps_jget_count(v, "interval_ns", &t->interval_ns, e) ||
	    ps_jget_int(v, "overrun", 0, INT32_MAX, &overrun, e))
		return -EINVAL;
	if (clock < INT32_MIN || clock > INT32_MAX)
		return ps_jerr_fail(e, "field \"clock\" is %lld, not a clockid_t", clock);
	t->id = (int)id;
	t->clock = (int)clock;
	t->overrun = (int)overrun;
	return 0;
}

static int decode_posix_timers(const json_t *j, struct ps_process *p, struct ps_jerr *e)
{
	const json_t *a;
	size_t n;

	if (ps_jget_array_max(j, "timers", PS_MAX_TIMERS, "POSIX timers a process may have",
			      &a, &n, e))
		return -EINVAL;
	p->timers = calloc(n ? n : 1, sizeof(*p->timers));
	if (!p->timers)
		return ps_jerr_nomem(e);
	p->ntimers = n;
	for (size_t i = 0; i < n; i++) {
		size_t mark = ps_jerr_push(e, "timers[%zu]", i);
		if (decode_timer(json_array_get(a, i), &p->timers[i], e))
			return -EINVAL;
		ps_jerr_pop(e, mark);
	}
	return 0;
}

int ps_decode_timers(const json_t *process, struct ps_process *p, struct ps_jerr *e)
{
	if (decode_itimers(process, p->itimers, e) || decode_posix_timers(process, p, e))
		return -EINVAL;
	return 0;
}
