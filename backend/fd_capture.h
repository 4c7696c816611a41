/* Capture of each descriptor kind's own state from the live process, for
 * the table of kinds (image/fd_kinds.c); backend/fds.c lists the fds. */
#ifndef PROCSNAP_FD_CAPTURE_H
#define PROCSNAP_FD_CAPTURE_H

#include <sys/types.h>

#include "image/model.h"

/* What a kind's capture may look at besides its own fd. */
struct ps_fd_capture {
	pid_t pid;                 /* the process, frozen */
	int dirfd;                 /* /proc/<pid>/fd */
	int pidfd;                 /* -1 until a kind asks for it (ps_fd_capture_pidfd) */
	const char *fdinfo;        /* /proc/<pid>/fdinfo/<n> of the fd being captured */
	struct ps_fd *items;       /* every fd of the process, in fd order */
	size_t n;
};

/* ---- shared (backend/fds.c) ---- */

/* f is listed but not restorable, for the reason given (printf-style).
 * 0, or -ENOMEM. */
int ps_fd_unsupported(struct ps_fd *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* f's bytes go into its data file, fds/<n>. 0, or -ENOMEM. */
int ps_fd_name_data(struct ps_fd *f);
/* A pidfd of the process, opened once for every kind that needs one. */
int ps_fd_capture_pidfd(struct ps_fd_capture *cx);

/* ---- the kinds ---- */

int ps_capture_fd_file(struct ps_fd_capture *cx, struct ps_fd *f);     /* fd_content.c */
int ps_capture_fd_memfd(struct ps_fd_capture *cx, struct ps_fd *f);    /* fd_content.c */
int ps_capture_fd_pipe(struct ps_fd_capture *cx, struct ps_fd *f);
/* unix and inet: which one f is shows once the socket is looked at. */
int ps_capture_fd_socket(struct ps_fd_capture *cx, struct ps_fd *f);   /* fd_socket.c */
int ps_capture_fd_eventfd(struct ps_fd_capture *cx, struct ps_fd *f);
int ps_capture_fd_timerfd(struct ps_fd_capture *cx, struct ps_fd *f);
int ps_capture_fd_signalfd(struct ps_fd_capture *cx, struct ps_fd *f);
int ps_capture_fd_inotify(struct ps_fd_capture *cx, struct ps_fd *f);
int ps_capture_fd_epoll(struct ps_fd_capture *cx, struct ps_fd *f);

/* Family parts of a socket's capture (fd_socket.c reads what all share):
 * sfd is procsnap's dup of the socket. */
/* getsockopt of an int option, -1 when it fails. */
int ps_sockopt_int(int fd, int level, int name);
int ps_capture_unix_socket(int sfd, struct ps_fd *f);
int ps_capture_inet_socket(int sfd, struct ps_fd *f);
/* A unix socket's peer among the process's fds, once all are captured. */
int ps_link_fd_unix(struct ps_fd_capture *cx, struct ps_fd *f);

/* Every open descriptor of a stopped process into fds, each by its kind:
 * the fds part's capture (backend/fds.c). */
int ps_capture_fds(pid_t pid, struct ps_fds *fds, char *err, size_t errlen);

#endif
