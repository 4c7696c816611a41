/* Sockets in the stub: unix pairs with their unread messages, bound and
 * listening unix and TCP sockets, UDP sockets. */
#ifndef PROCSNAP_RESTORE_SOCKETS_H
#define PROCSNAP_RESTORE_SOCKETS_H

#include "restore/rctx.h"

/* f's socket. A lone socket is left at *nfd for the caller to move to
 * f->fd; both ends of a pair are placed at their fds here (*nfd = -1).
 * 0 or -errno with err filled. */
int ps_restore_socket(struct ps_rctx *c, const struct ps_fd *f, long *nfd);

/* listen() of the listening unix sockets: after the credentials are the
 * process's own, since listen() records them for every client. */
int ps_listen_unix_sockets(struct ps_rctx *c);

#endif
