/* Writing a whole buffer to a file, a pipe or a socket (retried after
 * EINTR and short writes), and opening a file we hold again. */
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

#endif
