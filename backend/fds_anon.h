/* The own state of eventfd, timerfd, signalfd and inotify descriptors, from
 * fdinfo (epoll's registrations are read by fds.c with the common lines). */
#ifndef PROCSNAP_FDS_ANON_H
#define PROCSNAP_FDS_ANON_H

#include <sys/types.h>

#include "image/model.h"

/* Anonymous-inode kinds procsnap saves and restores. */
int ps_anon_kind_known(const char *kind);

/* Fill f's kind-specific state from its fdinfo text. A state that cannot
 * be read marks f unsupported with the reason; only -ENOMEM fails. */
int ps_capture_anon_state(pid_t pid, struct ps_fd *f, const char *fdinfo);

#endif
