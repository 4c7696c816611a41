/* What the socket target programs share: a received buffer as printable
 * text for their messages, and waiting for and reading a line. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "socktext.h"

#define SHOWN_MAX 120

const char *shown(const void *buf, ssize_t n)
{
	static char text[6][SHOWN_MAX * 4 + 8];
	static unsigned which;
	const unsigned char *b = buf;
	char *t = text[which++ % 6], *p = t;
	ssize_t i;

	for (i = 0; i < n && i < SHOWN_MAX; i++) {
		if (b[i] == '\n')
			p += sprintf(p, "\\n");
		else if (b[i] < 0x20 || b[i] >= 0x7f || b[i] == '\\')
			p += sprintf(p, "\\x%02x", b[i]);
		else
			*p++ = (char)b[i];
	}
	strcpy(p, i < n ? "..." : "");
	return t;
}

int wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, WAIT_MS) == 1;
}

ssize_t recv_line(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got + 1 < size && wait_readable(fd)) {
		n = recv(fd, buf + got, 1, MSG_DONTWAIT);
		if (n <= 0)
			break;
		if (buf[got++] == '\n')
			break;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}
