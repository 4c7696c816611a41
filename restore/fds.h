/* Recreating fds.json in the stub: every inherited descriptor closed, then
 * each saved one reopened at its number with its flags and position. */
#ifndef PROCSNAP_RESTORE_FDS_H
#define PROCSNAP_RESTORE_FDS_H

#include "restore/rctx.h"

int ps_restore_fds(struct ps_rctx *c);

/* A terminal (virtual console, /dev/tty, /dev/console, pty slave): one that
 * is gone, or is not the caller's any more, becomes /dev/null. */
int ps_fd_is_terminal(const struct ps_fd *f);

#endif
