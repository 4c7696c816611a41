/* fds.json: an epoll fd's "epoll" array, one registration each: the
 * watched fd's number and inode, the events and the program's data. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "image/fd_codec.h"

static json_t *encode_epoll(const struct ps_fd *f)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < f->u.epoll.ntargets; i++) {
		const struct ps_epoll_target *t = &f->u.epoll.targets[i];
		json_t *o = json_object();
		int rc = 0;

		rc |= json_object_set_new(o, "fd", json_integer(t->fd));
		rc |= json_object_set_new(o, "events", ps_json_hex(t->events));
		rc |= json_object_set_new(o, "data", ps_json_hex(t->data));
		rc |= json_object_set_new(o, "ino", ps_json_count(t->ino));
		if (rc || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Written in every entry of an epoll fd, dups and unsupported ones too. */
int ps_encode_fd_epoll(json_t *o, const struct ps_fd *f)
{
	return json_object_set_new(o, "epoll", encode_epoll(f)) ? -ENOMEM : 0;
}

static int decode_epoll_target(const json_t *j, struct ps_epoll_target *t, struct ps_jerr *e)
{
	long long fd;
	uint64_t events;

	if (ps_jv_object(j, "epoll[]", e) ||
	    ps_jget_int(j, "fd", 0, INT_MAX, &fd, e) ||
	    ps_jget_hex(j, "events", UINT32_MAX, &events, e) ||
	    ps_jget_hex(j, "data", UINT64_MAX, &t->data, e) ||
	    ps_jget_count(j, "ino", &t->ino, e))
		return -EINVAL;
	t->fd = (int)fd;
	t->events = (uint32_t)events;
	return 0;
}

/* An epoll fd's registrations (in a dup's entry too). */
int ps_decode_fd_epoll(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	const json_t *a;
	size_t n;

	if (!ps_jhas(j, "epoll"))
		return 0;
	if (ps_jget_array_max(j, "epoll", PS_MAX_EPOLL, "registrations an epoll fd may have",
			      &a, &n, e))
		return -EINVAL;
	f->u.epoll.targets = calloc(n ? n : 1, sizeof(*f->u.epoll.targets));
	if (!f->u.epoll.targets)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		size_t mark = ps_jerr_push(e, "epoll entry %zu", i);

		if (decode_epoll_target(json_array_get(a, i), &f->u.epoll.targets[i], e))
			return -EINVAL;
		f->u.epoll.ntargets = i + 1;
		ps_jerr_pop(e, mark);
	}
	return 0;
}
