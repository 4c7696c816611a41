/* fds.json: a timerfd's "timerfd" object: clock, flags, time left, period,
 * absolute expiry and unread expirations. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>

#include "image/fd_codec.h"

static json_t *encode_timerfd(const struct ps_timerfd *t)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "clock", json_integer(t->clock));
	rc |= json_object_set_new(o, "abstime", json_boolean(t->settime_flags & TFD_TIMER_ABSTIME));
	rc |= json_object_set_new(o, "cancel_on_set",
				  json_boolean(t->settime_flags & TFD_TIMER_CANCEL_ON_SET));
	rc |= json_object_set_new(o, "value_ns", ps_json_count(t->value_ns));
	rc |= json_object_set_new(o, "interval_ns", ps_json_count(t->interval_ns));
	rc |= json_object_set_new(o, "expires_ns", ps_json_count(t->expires_ns));
	rc |= json_object_set_new(o, "ticks", ps_json_count(t->ticks));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int ps_encode_fd_timerfd(json_t *o, const struct ps_fd *f)
{
	if (f->is_dup || !f->supported)
		return 0;
	return json_object_set_new(o, "timerfd", encode_timerfd(&f->u.timerfd)) ? -ENOMEM : 0;
}

/* Nanoseconds that fit a struct timespec's seconds as timerfd_settime takes. */
static int check_ns(uint64_t ns, const char *field, struct ps_jerr *e)
{
	if (ns / PS_NSEC_PER_SEC > (uint64_t)INT64_MAX / 2)
		return ps_jerr_fail(e, "field \"timerfd.%s\" is too far in the future", field);
	return 0;
}

int ps_decode_fd_timerfd(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	struct ps_timerfd *t = &f->u.timerfd;
	int abstime, cancel;
	long long clock;
	const json_t *o;

	if (f->is_dup || !f->supported)
		return 0;
	if (ps_jget_object(j, "timerfd", &o, e) ||
	    ps_jget_int(o, "clock", 0, 63, &clock, e) ||
	    ps_jget_bool(o, "abstime", &abstime, e) ||
	    ps_jget_bool(o, "cancel_on_set", &cancel, e) ||
	    ps_jget_count(o, "value_ns", &t->value_ns, e) ||
	    ps_jget_count(o, "interval_ns", &t->interval_ns, e) ||
	    ps_jget_count(o, "expires_ns", &t->expires_ns, e) ||
	    ps_jget_count(o, "ticks", &t->ticks, e) ||
	    check_ns(t->value_ns, "value_ns", e) || check_ns(t->interval_ns, "interval_ns", e) ||
	    check_ns(t->expires_ns, "expires_ns", e))
		return -EINVAL;
	t->clock = (int)clock;
	t->settime_flags = (abstime ? TFD_TIMER_ABSTIME : 0) | (cancel ? TFD_TIMER_CANCEL_ON_SET : 0);
	return 0;
}
