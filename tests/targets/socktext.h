/* What the socket target programs share: a received buffer as printable
 * text for their messages, and waiting for and reading a line. */
#ifndef PROCSNAP_TARGET_SOCKTEXT_H
#define PROCSNAP_TARGET_SOCKTEXT_H

#include <sys/types.h>

/* How long a target waits for data or a connection still in flight. */
#define WAIT_MS 5000

/* The first 120 bytes of buf as C-escaped text; six calls can share one
 * message before the first one's text is reused. */
const char *shown(const void *buf, ssize_t n);

/* Whether fd becomes readable within WAIT_MS. */
int wait_readable(int fd);

/* A line ending in '\n' from a stream socket, NUL-terminated in buf; its
 * length (0 when nothing came within WAIT_MS). */
ssize_t recv_line(int fd, char *buf, size_t size);

#endif
