/* fds.json: a signalfd's "sigmask", the signals it reads (bit n-1 for
 * signal n). */
#include <errno.h>
#include <stdint.h>

#include "image/fd_codec.h"

int ps_encode_fd_signalfd(json_t *o, const struct ps_fd *f)
{
	if (f->is_dup || !f->supported)
		return 0;
	return json_object_set_new(o, "sigmask", ps_json_hex(f->u.sigmask)) ? -ENOMEM : 0;
}

int ps_decode_fd_signalfd(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	if (f->is_dup || !f->supported)
		return 0;
	return ps_jget_hex(j, "sigmask", UINT64_MAX, &f->u.sigmask, e) ? -EINVAL : 0;
}
