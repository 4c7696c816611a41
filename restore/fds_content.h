/* Files whose bytes are in the image (fds/<n>): a file deleted while open
 * and a memfd, made again in the stub and filled from procsnap. */
#ifndef PROCSNAP_RESTORE_FDS_CONTENT_H
#define PROCSNAP_RESTORE_FDS_CONTENT_H

#include "restore/rctx.h"

/* The new descriptor (any number; the caller moves it to f->fd), opened
 * with flags (O_ACCMODE and status flags), or -errno with err filled. */
long ps_restore_content_fd(struct ps_rctx *c, const struct ps_fd *f, int flags);

#endif
