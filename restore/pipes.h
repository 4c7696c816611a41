/* Pipes and FIFOs in the stub with their unread bytes; a pipe a live
 * process still holds the other end of is joined, not made anew. */
#ifndef PROCSNAP_RESTORE_PIPES_H
#define PROCSNAP_RESTORE_PIPES_H

#include "restore/rctx.h"

/* Every fd of f's pipe, when f is its lowest; nothing for the others. */
int ps_restore_pipe(struct ps_rctx *c, const struct ps_fd *f);

/* f, a FIFO already open at f->fd, gets its saved bytes back. */
int ps_refill_fifo(struct ps_rctx *c, const struct ps_fd *f);

#endif
