/* The restore side of each descriptor kind, for the table of kinds
 * (image/fd_kinds.c): its checks before a restore, its making in the stub. */
#ifndef PROCSNAP_FD_RESTORE_H
#define PROCSNAP_FD_RESTORE_H

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "image/parts.h"
#include "restore/rctx.h"
#include "restore/validate.h"

/* The open flags a reopen keeps. Dropped: O_CREAT, O_EXCL, O_TRUNC (the
 * kernel clears them after open anyway, and a forged O_TRUNC must not empty
 * a file), __O_TMPFILE (it would make a new file), and O_ASYNC (open()
 * ignores it; it needs F_SETOWN, whose owner is not saved). O_LARGEFILE
 * is forced by the kernel on 64-bit. */
#define PS_FD_KEPT_FLAGS (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | \
			  O_NOATIME | O_NOFOLLOW | O_DIRECTORY | O_PATH)

/* ---- the checks every kind shares (restore/fd_check.c) ---- */

/* Every fd of the image checked by its kind, after what all share (the
 * open-file limit, dups, unsupported fds). 0 or -errno with the sentence. */
int ps_validate_fds(const struct ps_check *v);
/* The kinds' checks of the files they name, run as the caller. */
int ps_validate_fd_files(const struct ps_check *v);
/* The fd numbered n in fds, or NULL. */
const struct ps_fd *ps_fd_numbered(const struct ps_fds *fds, int n);
/* fds.json's kind of f for sentences, or its type's name when it has none. */
const char *ps_fd_label(const struct ps_fd *f);
/* f's path is absolute (it is opened again by it). */
int ps_fd_check_absolute(const struct ps_check *v, const struct ps_fd *f);
/* f's path leads to a file of type want (S_IFREG...), as at the checkpoint. */
int ps_fd_check_path(const struct ps_check *v, const struct ps_fd *f, mode_t want);

/* ---- what a restore reaches as the caller (restore/validate.c probes it
 * with the caller's rights first, for a sentence before anything is made) ---- */

struct ps_probes;
/* One probe of path (with is_dir: of the directory path is in) for mode
 * (R_OK | W_OK | X_OK, or F_OK), by who ("fd 3"). deed_fmt is printf-style
 * over named, then the mode in words ("open %s for %s"). 0 or -ENOMEM. */
int ps_probe_add(struct ps_probes *ps, const char *who, const char *path, int mode, int is_dir,
		 const char *deed_fmt, const char *named);
/* The directory path is in ("." for a bare name); malloc'd, NULL on ENOMEM. */
char *ps_path_dir(const char *path);

/* ---- placing a made descriptor (restore/fds.c) ---- */

/* Move the descriptor from nfd to f->fd (nothing when it is there). */
int ps_fd_move(struct ps_rctx *c, const struct ps_fd *f, long nfd);
/* fcntl(F_SETFL) of f's saved status flags on f->fd. */
int ps_fd_setfl(struct ps_rctx *c, const struct ps_fd *f);
/* lseek of f->fd to its saved offset (an O_PATH fd has none). */
int ps_fd_seek(struct ps_rctx *c, const struct ps_fd *f);
/* O_NONBLOCK and O_CLOEXEC as the calls that make an fd take them
 * (eventfd2, timerfd_create, signalfd4, inotify_init1). */
uint64_t ps_fd_create_flags(const struct ps_fd *f);

/* ---- files opened again by their path (restore/fd_reopen.c) ---- */

/* f's file opened in the stub (O_NONBLOCK, O_NOCTTY, at the lowest free
 * number) and checked to be the file the image says; *st its stat. The new
 * descriptor, or -errno with the sentence. */
long ps_fd_reopen(struct ps_rctx *c, const struct ps_fd *f, struct stat *st);
/* Opening f's path again, with its access mode, as a probe. */
int ps_fd_probe_reopen(struct ps_probes *ps, const struct ps_fd *f);
/* The reopened nfd moved to f->fd, blocking again if it was. */
int ps_fd_place_reopened(struct ps_rctx *c, const struct ps_fd *f, long nfd);
/* A file opened O_NONBLOCK gets back the blocking it had. */
int ps_fd_restore_blocking(struct ps_rctx *c, const struct ps_fd *f);

/* ---- files whose bytes are in the image (restore/fd_content.c) ---- */

/* The new descriptor (any number; the caller moves it to f->fd), opened
 * with flags (O_ACCMODE and status flags), or -errno with err filled. */
long ps_restore_content_fd(struct ps_rctx *c, const struct ps_fd *f, int flags);
/* Its content file is named, its path absolute. */
int ps_validate_fd_content(const struct ps_check *v, const struct ps_fd *f);
/* Its owner is one the caller may give it. */
int ps_validate_fd_content_owner(const struct ps_check *v, const struct ps_fd *f);

/* ---- the kinds: validate, check of the files, restore ---- */

int ps_validate_fd_other(const struct ps_check *v, const struct ps_fd *f);
int ps_restore_fd_other(struct ps_rctx *c, const struct ps_fd *f);
int ps_validate_fd_file(const struct ps_check *v, const struct ps_fd *f);
int ps_probe_fd_file(struct ps_probes *ps, const struct ps_fd *f);
int ps_check_fd_file_path(const struct ps_check *v, const struct ps_fd *f);
int ps_restore_fd_file(struct ps_rctx *c, const struct ps_fd *f);
int ps_validate_fd_dir(const struct ps_check *v, const struct ps_fd *f);
int ps_probe_fd_dir(struct ps_probes *ps, const struct ps_fd *f);
int ps_check_fd_dir_path(const struct ps_check *v, const struct ps_fd *f);
int ps_restore_fd_dir(struct ps_rctx *c, const struct ps_fd *f);
int ps_validate_fd_tty(const struct ps_check *v, const struct ps_fd *f);
int ps_restore_fd_tty(struct ps_rctx *c, const struct ps_fd *f);
int ps_validate_fd_pipe(const struct ps_check *v, const struct ps_fd *f);
int ps_probe_fd_pipe(struct ps_probes *ps, const struct ps_fd *f);
int ps_check_fd_fifo_path(const struct ps_check *v, const struct ps_fd *f);
/* Every fd of f's pipe, when f is its lowest; a FIFO reopened and refilled. */
int ps_restore_fd_pipe(struct ps_rctx *c, const struct ps_fd *f);
/* unix and inet (restore/fd_socket.c, what they share). */
int ps_validate_fd_socket(const struct ps_check *v, const struct ps_fd *f);
/* A lone socket at f->fd; both ends of a pair, with the lower fd. */
int ps_restore_fd_socket(struct ps_rctx *c, const struct ps_fd *f);
/* unix only (restore/fd_unix.c): the socket file it binds, the one it
 * connects to. */
int ps_probe_fd_unix(struct ps_probes *ps, const struct ps_fd *f);
/* listen() of the listening unix sockets: after the credentials are the
 * process's own, since listen() records them for every client. */
int ps_listen_unix_sockets(struct ps_rctx *c);
int ps_restore_fd_eventfd(struct ps_rctx *c, const struct ps_fd *f);
int ps_validate_fd_timerfd(const struct ps_check *v, const struct ps_fd *f);
int ps_restore_fd_timerfd(struct ps_rctx *c, const struct ps_fd *f);
int ps_restore_fd_signalfd(struct ps_rctx *c, const struct ps_fd *f);
int ps_probe_fd_inotify(struct ps_probes *ps, const struct ps_fd *f);
int ps_restore_fd_inotify(struct ps_rctx *c, const struct ps_fd *f);
int ps_validate_fd_memfd(const struct ps_check *v, const struct ps_fd *f);
int ps_restore_fd_memfd(struct ps_rctx *c, const struct ps_fd *f);
int ps_validate_fd_epoll(const struct ps_check *v, const struct ps_fd *f);
int ps_restore_fd_epoll(struct ps_rctx *c, const struct ps_fd *f);
/* Its registrations, once every fd exists (it may watch one above it). */
int ps_register_fd_epoll(struct ps_rctx *c, const struct ps_fd *f);

/* Every inherited descriptor of the stub closed, then each saved one made
 * again by its kind at its number: the fds part's restore (restore/fds.c). */
int ps_restore_fds(struct ps_rctx *c);

#endif
