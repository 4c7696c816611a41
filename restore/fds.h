/* Recreating fds.json in the stub: every inherited descriptor closed, then
 * each saved one made again by its kind (image/fd_kinds.c) at its number. */
#ifndef PROCSNAP_RESTORE_FDS_H
#define PROCSNAP_RESTORE_FDS_H

#include "restore/rctx.h"

int ps_restore_fds(struct ps_rctx *c);

#endif
