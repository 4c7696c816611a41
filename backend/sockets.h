/* Capture of sockets (unix, TCP, UDP): what restore needs to make each one
 * again, or the reason it cannot. */
#ifndef PROCSNAP_SOCKETS_H
#define PROCSNAP_SOCKETS_H

#include <sys/types.h>

#include "image/model.h"

/* Fill the sock of every socket among the n fds of process pid (frozen),
 * with its unread messages as the fd's bytes; a socket that cannot be
 * restored is marked unsupported with the reason. Only -ENOMEM fails. */
int ps_capture_sockets(pid_t pid, struct ps_fd *items, size_t n);

#endif
