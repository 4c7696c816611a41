/* fds.json: an eventfd's "eventfd" object, its counter and whether reads
 * take one at a time. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "image/fd_codec.h"

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

int ps_encode_fd_eventfd(json_t *o, const struct ps_fd *f)
{
	if (f->is_dup || !f->supported)
		return 0;
	return json_object_set_new(o, "eventfd", encode_eventfd(&f->u.eventfd)) ? -ENOMEM : 0;
}

int ps_decode_fd_eventfd(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	const json_t *o;

	if (f->is_dup || !f->supported)
		return 0;
	if (ps_jget_object(j, "eventfd", &o, e) ||
	    ps_jget_count(o, "count", &f->u.eventfd.count, e) ||
	    ps_jget_bool(o, "semaphore", &f->u.eventfd.semaphore, e))
		return -EINVAL;
	/* the counter's ceiling: a write that would reach 2^64-1 blocks */
	if (f->u.eventfd.count == UINT64_MAX)
		return ps_jerr_fail(e, "field \"eventfd.count\" is above an eventfd's maximum");
	return 0;
}
