/* eventfd, timerfd, signalfd and inotify descriptors, made again in the
 * stub with their saved state. */
#ifndef PROCSNAP_RESTORE_FDS_ANON_H
#define PROCSNAP_RESTORE_FDS_ANON_H

#include "restore/rctx.h"

/* One of the kinds this file makes. */
int ps_anon_restorable(const struct ps_fd *f);

/* The new descriptor (any number; the caller moves it to f->fd), or -errno
 * with err filled. */
long ps_restore_anon_fd(struct ps_rctx *c, const struct ps_fd *f);

#endif
