/* fds.json: the fields of a file whose bytes are in the image (a file
 * deleted while open, a memfd): size, owner, and a memfd's seals. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "image/fd_codec.h"

int ps_encode_fd_content(json_t *o, const struct ps_fd *f)
{
	int rc = 0;

	if (f->is_dup || !f->supported || !ps_fd_has_content(f))
		return 0;
	rc |= json_object_set_new(o, "size", ps_json_count(f->u.content.size));
	rc |= json_object_set_new(o, "uid", json_integer(f->u.content.uid));
	rc |= json_object_set_new(o, "gid", json_integer(f->u.content.gid));
	if (f->kind == PS_FD_KIND_MEMFD)
		rc |= json_object_set_new(o, "seals", ps_json_hex(f->u.content.seals));
	return rc ? -ENOMEM : 0;
}

int ps_decode_fd_content(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	long long uid, gid;
	uint64_t seals = 0;

	if (f->is_dup || !f->supported || !ps_fd_has_content(f))
		return 0;
	if (ps_jget_count(j, "size", &f->u.content.size, e) ||
	    ps_jget_int(j, "uid", 0, UINT32_MAX - 1, &uid, e) ||
	    ps_jget_int(j, "gid", 0, UINT32_MAX - 1, &gid, e))
		return -EINVAL;
	if (f->u.content.size > INT64_MAX)
		return ps_jerr_fail(e, "field \"size\" is beyond any file size");
	if (f->kind == PS_FD_KIND_MEMFD && ps_jget_hex(j, "seals", 0x3f, &seals, e))
		return -EINVAL;
	f->u.content.uid = (uint32_t)uid;
	f->u.content.gid = (uint32_t)gid;
	f->u.content.seals = (uint32_t)seals;
	return 0;
}
