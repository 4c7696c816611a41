/* fds.json: a pipe's or FIFO's "pipe_size", its capacity (its unread
 * bytes are its data file). */
#include <errno.h>

#include "image/fd_codec.h"

/* Written with every fd of the pipe whose size was read (0: not read). */
int ps_encode_fd_pipe(json_t *o, const struct ps_fd *f)
{
	if (!f->u.pipe_size)
		return 0;
	return json_object_set_new(o, "pipe_size", json_integer(f->u.pipe_size)) ? -ENOMEM : 0;
}

/* A pipe's capacity (F_GETPIPE_SZ): a page up to the largest the kernel
 * allows by default (pipe-max-size, 1 MiB) times a margin. */
int ps_decode_fd_pipe(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	long long size;

	if (!ps_jhas(j, "pipe_size"))
		return 0;
	if (ps_jget_int(j, "pipe_size", 4096, 1 << 30, &size, e))
		return -EINVAL;
	f->u.pipe_size = (uint32_t)size;
	return 0;
}
