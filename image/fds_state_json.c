/* fds.json: the state of each descriptor beyond its file (eventfd, timerfd,
 * signalfd, inotify, memfd seals, saved content, shared open files). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>

#include "image/fds_state_json.h"
#include "image/socket_json.h"


/* ---- encoding ---- */

static json_t *encode_eventfd(const struct ps_eventfd *ev)
{
	json_t *o = json_object();

	if (json_object_set_new(o, "count", ps_json_count(ev->count)) ||
	    json_object_set_new(o, "semaphore", json_boolean(ev->semaphore))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

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

static json_t *encode_watches(const struct ps_fd *f)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < f->nwatches; i++) {
		const struct ps_inotify_watch *w = &f->watches[i];
		json_t *o = json_object();
		int rc = 0;

		rc |= json_object_set_new(o, "wd", json_integer(w->wd));
		rc |= json_object_set_new(o, "mask", ps_json_hex(w->mask));
		rc |= json_object_set_new(o, "path", ps_json_bytes(w->path.data, w->path.len));
		rc |= json_object_set_new(o, "dev", ps_json_dev(w->dev_major, w->dev_minor));
		rc |= json_object_set_new(o, "ino", ps_json_count(w->ino));
		if (rc || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int encode_content(json_t *o, const struct ps_fd *f)
{
	int rc = 0;

	rc |= json_object_set_new(o, "size", ps_json_count(f->size));
	rc |= json_object_set_new(o, "uid", json_integer(f->uid));
	rc |= json_object_set_new(o, "gid", json_integer(f->gid));
	if (ps_fd_kind_is(f, "memfd"))
		rc |= json_object_set_new(o, "seals", ps_json_hex(f->seals));
	return rc;
}

int ps_encode_fd_state(json_t *o, const struct ps_fd *f)
{
	int rc = 0;

	if (f->is_dup)
		return json_object_set_new(o, "dup_of", json_integer(f->dup_of));
	if (!f->supported)
		return 0;
	if (ps_fd_has_content(f))
		rc |= encode_content(o, f);
	if (ps_fd_kind_is(f, "eventfd"))
		rc |= json_object_set_new(o, "eventfd", encode_eventfd(&f->eventfd));
	else if (ps_fd_kind_is(f, "timerfd"))
		rc |= json_object_set_new(o, "timerfd", encode_timerfd(&f->timerfd));
	else if (ps_fd_kind_is(f, "signalfd"))
		rc |= json_object_set_new(o, "sigmask", ps_json_hex(f->sigmask));
	else if (ps_fd_kind_is(f, "inotify"))
		rc |= json_object_set_new(o, "watches", encode_watches(f));
	else if (f->sock)
		rc |= json_object_set_new(o, "socket", ps_encode_socket(f->sock));
	return rc ? -ENOMEM : 0;
}

/* ---- decoding ---- */

static int decode_eventfd(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	const json_t *o;

	if (ps_jget_object(j, "eventfd", &o, e) ||
	    ps_jget_count(o, "count", &f->eventfd.count, e) ||
	    ps_jget_bool(o, "semaphore", &f->eventfd.semaphore, e))
		return -EINVAL;
	/* the counter's ceiling: a write that would reach 2^64-1 blocks */
	if (f->eventfd.count == UINT64_MAX)
		return ps_jerr_fail(e, "field \"eventfd.count\" is above an eventfd's maximum");
	return 0;
}

/* Nanoseconds that fit a struct timespec's seconds as timerfd_settime takes. */
static int check_ns(uint64_t ns, const char *field, struct ps_jerr *e)
{
	if (ns / PS_NSEC_PER_SEC > (uint64_t)INT64_MAX / 2)
		return ps_jerr_fail(e, "field \"timerfd.%s\" is too far in the future", field);
	return 0;
}

static int decode_timerfd(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	struct ps_timerfd *t = &f->timerfd;
	int abstime, cancel;
	long long clock;
	const json_t *o;

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

static int decode_watch(const json_t *j, struct ps_inotify_watch *w, struct ps_jerr *e)
{
	long long wd;
	uint64_t mask;

	if (ps_jv_object(j, "watches[]", e) ||
	    ps_jget_int(j, "wd", 1, INT_MAX, &wd, e) ||
	    ps_jget_hex(j, "mask", UINT32_MAX, &mask, e) ||
	    ps_jget_path(j, "path", 1, &w->path, e) ||
	    ps_jget_dev(j, "dev", &w->dev_major, &w->dev_minor, e) ||
	    ps_jget_count(j, "ino", &w->ino, e))
		return -EINVAL;
	w->wd = (int)wd;
	w->mask = (uint32_t)mask;
	return 0;
}

/* Watches in increasing wd order: restore recreates them in that order so
 * the kernel hands out the same numbers. */
static int decode_watches(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	const json_t *a;
	size_t n;

	if (ps_jget_array_max(j, "watches", PS_MAX_WATCHES, "watches an inotify fd may have",
			      &a, &n, e))
		return -EINVAL;
	f->watches = calloc(n ? n : 1, sizeof(*f->watches));
	if (!f->watches)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		size_t mark = ps_jerr_push(e, "watch %zu", i);

		f->nwatches = i + 1;
		if (decode_watch(json_array_get(a, i), &f->watches[i], e))
			return -EINVAL;
		if (i && f->watches[i].wd <= f->watches[i - 1].wd)
			return ps_jerr_fail(e, "watches must be in increasing wd order");
		ps_jerr_pop(e, mark);
	}
	return 0;
}

static int decode_content(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	long long uid, gid;
	uint64_t seals = 0;

	if (ps_jget_count(j, "size", &f->size, e) ||
	    ps_jget_int(j, "uid", 0, UINT32_MAX - 1, &uid, e) ||
	    ps_jget_int(j, "gid", 0, UINT32_MAX - 1, &gid, e))
		return -EINVAL;
	if (f->size > INT64_MAX)
		return ps_jerr_fail(e, "field \"size\" is beyond any file size");
	if (ps_fd_kind_is(f, "memfd") && ps_jget_hex(j, "seals", 0x3f, &seals, e))
		return -EINVAL;
	f->uid = (uint32_t)uid;
	f->gid = (uint32_t)gid;
	f->seals = (uint32_t)seals;
	return 0;
}

static int decode_dup(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	long long of;

	if (ps_jget_int(j, "dup_of", 0, INT_MAX, &of, e))
		return -EINVAL;
	if (of >= f->fd)
		return ps_jerr_fail(e, "field \"dup_of\" must name a lower fd than %d", f->fd);
	f->is_dup = 1;
	f->dup_of = (int)of;
	return 0;
}

int ps_decode_fd_state(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	if (ps_jhas(j, "dup_of"))
		return decode_dup(j, f, e);
	if (!f->supported)
		return 0;
	if (ps_fd_has_content(f) && decode_content(j, f, e))
		return -EINVAL;
	if (ps_fd_kind_is(f, "eventfd"))
		return decode_eventfd(j, f, e);
	if (ps_fd_kind_is(f, "timerfd"))
		return decode_timerfd(j, f, e);
	if (ps_fd_kind_is(f, "signalfd"))
		return ps_jget_hex(j, "sigmask", UINT64_MAX, &f->sigmask, e) ? -EINVAL : 0;
	if (ps_fd_kind_is(f, "inotify"))
		return decode_watches(j, f, e);
	if (f->type == PS_FD_SOCKET)
		return ps_decode_socket(j, f, e);
	return 0;
}
