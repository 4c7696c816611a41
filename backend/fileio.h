/* Writing a whole buffer to a file, a pipe or a socket (retried after
 * EINTR and short writes), opening a file we hold again, and opening a path
 * confined beneath a directory. */
#ifndef PROCSNAP_FILEIO_H
#define PROCSNAP_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* All len bytes of buf to fd: at offset off (pwrite) when off >= 0, at the
 * fd's position (write) when off < 0, as a pipe needs. 0 or -errno. */
int ps_write_all(int fd, const void *buf, size_t len, off_t off);

/* The file of fd opened again with flags (O_CLOEXEC added), through the
 * magic link /proc/self/fd/<fd>: the very same file, even one without a
 * name any more. The new fd, or -1 with errno. */
int ps_reopen(int fd, int flags);

/* The one confinement of a path below a directory procsnap does not trust
 * (a user's staged image, the spool): path opened relative to dirfd with
 * openat2, refused (-EXDEV, -ELOOP) if resolving it would leave dirfd or
 * follow any symlink or magic link, whatever is swapped in on disk. The
 * new fd (O_CLOEXEC added), or -errno. */
int ps_open_beneath(int dirfd, const char *path, int flags, mode_t mode);

/* The directory holding path's last part, opened O_PATH beneath dirfd as
 * above, with *base set to that last part (not ".", "..", nor empty). */
int ps_open_parent_beneath(int dirfd, const char *path, const char **base);

#endif
