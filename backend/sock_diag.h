/* Socket facts only NETLINK_SOCK_DIAG gives: a unix socket's peer, queue and
 * shutdown state, a TCP listener's backlog. */
#ifndef PROCSNAP_SOCK_DIAG_H
#define PROCSNAP_SOCK_DIAG_H

#include <stdint.h>

struct ps_unix_diag {
	uint32_t ino;
	int found;
	int state;               /* TCP_LISTEN, TCP_ESTABLISHED, TCP_CLOSE... */
	uint32_t peer_ino;       /* 0: no peer */
	uint32_t rqueue;         /* listener: pending connections; else queued bytes */
	uint32_t wqueue;         /* listener: its backlog */
	int shutdown;            /* SHUT_RD + 1 | SHUT_WR + 1 bits, as the kernel keeps them */
};

/* The unix socket with inode ino (in procsnap's network namespace).
 * 0, -ENOENT when there is none, or another -errno. */
int ps_unix_diag(uint32_t ino, struct ps_unix_diag *out);

/* The backlog of the listening TCP socket (AF_INET or AF_INET6) ino. */
int ps_tcp_listen_backlog(int family, uint32_t ino, uint32_t *backlog);

#endif
