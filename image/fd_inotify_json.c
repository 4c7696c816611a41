/* fds.json: an inotify fd's "watches": each watch's number, mask, and the
 * path and identity of the inode it watches. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "image/fd_codec.h"

static json_t *encode_watches(const struct ps_fd *f)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < f->u.inotify.nwatches; i++) {
		const struct ps_inotify_watch *w = &f->u.inotify.watches[i];
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

int ps_encode_fd_inotify(json_t *o, const struct ps_fd *f)
{
	if (f->is_dup || !f->supported)
		return 0;
	return json_object_set_new(o, "watches", encode_watches(f)) ? -ENOMEM : 0;
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
int ps_decode_fd_inotify(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	const json_t *a;
	size_t n;

	if (f->is_dup || !f->supported)
		return 0;
	if (ps_jget_array_max(j, "watches", PS_MAX_WATCHES, "watches an inotify fd may have",
			      &a, &n, e))
		return -EINVAL;
	f->u.inotify.watches = calloc(n ? n : 1, sizeof(*f->u.inotify.watches));
	if (!f->u.inotify.watches)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		size_t mark = ps_jerr_push(e, "watch %zu", i);

		f->u.inotify.nwatches = i + 1;
		if (decode_watch(json_array_get(a, i), &f->u.inotify.watches[i], e))
			return -EINVAL;
		if (i && f->u.inotify.watches[i].wd <= f->u.inotify.watches[i - 1].wd)
			return ps_jerr_fail(e, "watches must be in increasing wd order");
		ps_jerr_pop(e, mark);
	}
	return 0;
}
