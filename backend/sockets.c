/* Capture of sockets: family, type, addresses, options, the peer inside the
 * process and the unread messages, read through a pidfd_getfd dup. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend/sock_diag.h"
#include "backend/sockets.h"

/* The largest message peeked: above any default socket buffer (wmem_max
 * is 208 KiB) with room for raised ones. */
#define PEEK_MAX (8 << 20)

static int unsupported(struct ps_fd *f, const char *reason)
{
	f->supported = 0;
	free(f->unsupported_reason);
	f->unsupported_reason = strdup(reason);
	return f->unsupported_reason ? 0 : -ENOMEM;
}

static int sockopt_int(int fd, int level, int name)
{
	int v = 0;
	socklen_t len = sizeof(v);

	return getsockopt(fd, level, name, &v, &len) < 0 ? -1 : v;
}

static void read_options(int fd, struct ps_socket *s)
{
	struct ps_sockopts *o = &s->opts;

	o->reuseaddr = sockopt_int(fd, SOL_SOCKET, SO_REUSEADDR) > 0;
	o->reuseport = sockopt_int(fd, SOL_SOCKET, SO_REUSEPORT) > 0;
	o->keepalive = sockopt_int(fd, SOL_SOCKET, SO_KEEPALIVE) > 0;
	o->broadcast = sockopt_int(fd, SOL_SOCKET, SO_BROADCAST) > 0;
	o->passcred = sockopt_int(fd, SOL_SOCKET, SO_PASSCRED) > 0;
	o->oobinline = sockopt_int(fd, SOL_SOCKET, SO_OOBINLINE) > 0;
	o->rcvbuf = sockopt_int(fd, SOL_SOCKET, SO_RCVBUF);
	o->sndbuf = sockopt_int(fd, SOL_SOCKET, SO_SNDBUF);
	if (s->family != AF_UNIX && s->type == SOCK_STREAM)
		o->nodelay = sockopt_int(fd, IPPROTO_TCP, TCP_NODELAY) > 0;
	if (s->family == AF_INET6)
		o->v6only = sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY) > 0;
}

static void read_addresses(int fd, struct ps_socket *s)
{
	socklen_t len = PS_SOCKADDR_MAX;

	if (getsockname(fd, (struct sockaddr *)s->local.sa, &len) == 0 && len <= PS_SOCKADDR_MAX)
		s->local.len = len;
	len = PS_SOCKADDR_MAX;
	if (getpeername(fd, (struct sockaddr *)s->peer.sa, &len) == 0 && len <= PS_SOCKADDR_MAX)
		s->peer.len = len;
}

/* A unix address has a name beyond the family: a path or an abstract one. */
static int unix_named(const struct ps_sockaddr *a)
{
	return a->len > sizeof(sa_family_t);
}

/* An inet address with a port: bound. */
static int inet_port(const struct ps_sockaddr *a)
{
	const struct sockaddr_in *in = (const void *)a->sa;
	const struct sockaddr_in6 *in6 = (const void *)a->sa;

	if (a->len == sizeof(*in) && in->sin_family == AF_INET)
		return ntohs(in->sin_port);
	if (a->len == sizeof(*in6) && in6->sin6_family == AF_INET6)
		return ntohs(in6->sin6_port);
	return 0;
}

/* ---- unread messages ---- */

static int add_message(struct ps_fd *f, const char *data, size_t len)
{
	struct ps_socket *s = f->sock;
	uint32_t *msgs = realloc(s->msgs, (s->nmsgs + 1) * sizeof(*msgs));
	char *bytes = realloc(f->bytes, f->nbytes + len + 1);

	if (msgs)
		s->msgs = msgs;
	if (bytes)
		f->bytes = bytes;
	if (!msgs || !bytes)
		return -ENOMEM;
	memcpy(f->bytes + f->nbytes, data, len);
	f->nbytes += len;
	s->msgs[s->nmsgs++] = (uint32_t)len;
	return 0;
}

/* Descriptors in flight: peeking installs them here too; they are closed
 * and the socket refused (passing them on is not supported). */
static int carries_fds(struct msghdr *mh)
{
	int found = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		found = 1;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
	return found;
}

/* One MSG_PEEK: its length, 0 when the queue is empty, -EMSGSIZE for a
 * message carrying fds or too long, or -errno. */
static ssize_t peek_one(int fd, char *buf, size_t size)
{
	char control[CMSG_SPACE(253 * sizeof(int))];
	struct iovec iov = { buf, size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			     .msg_controllen = sizeof(control) };
	ssize_t n = recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (carries_fds(&mh) || (size_t)n > size)
		return -EMSGSIZE;
	return n;
}

/*
 * SO_PEEK_OFF makes each MSG_PEEK move on past what it returned, so the
 * queued datagrams come one by one without being consumed. It is the
 * socket's own setting (shared with the process through our dup): it is put
 * back as it was. A stream socket's whole queue comes in one peek (the kernel
 * peeks across its buffers, stopping only at one that carries fds).
 */
static int peek_queue(int fd, struct ps_fd *f)
{
	int stream = f->sock->type == SOCK_STREAM, off = sockopt_int(fd, SOL_SOCKET, SO_PEEK_OFF);
	int zero = 0, rc = 0;
	char *buf = malloc(PEEK_MAX);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	if (!stream && setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0) {
		free(buf);
		return unsupported(f, "SO_PEEK_OFF, needed to read its unread messages, was refused");
	}
	while ((n = peek_one(fd, buf, PEEK_MAX)) > 0 && (rc = add_message(f, buf, (size_t)n)) == 0)
		if (stream)
			break;
	if (!stream)
		setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
	free(buf);
	if (rc < 0)
		return rc;
	if (n == -EMSGSIZE)
		return unsupported(f, "a message waiting in it carries file descriptors or is "
				   "larger than 8 MiB: saving those is not supported");
	if (n < 0)
		return unsupported(f, "peeking at its unread messages failed");
	return 0;
}

/* ---- by family ---- */

static int capture_unix(int fd, struct ps_fd *f)
{
	struct ps_socket *s = f->sock;
	struct ps_unix_diag d;
	int rc = ps_unix_diag((uint32_t)f->ino, &d);

	if (rc < 0)
		return unsupported(f, rc == -ENOENT ? "the socket is not in procsnap's network "
				   "namespace" : "the kernel's socket diagnostics failed for it");
	s->shutdown = d.shutdown;
	if (d.state == TCP_LISTEN) {
		s->state = PS_SOCK_LISTENING;
		s->backlog = d.wqueue;
		return 0;
	}
	if (d.peer_ino)
		s->state = PS_SOCK_CONNECTED;   /* the peer is found by ps_capture_sockets */
	else if (s->type != SOCK_DGRAM && d.state == TCP_CLOSE && s->shutdown == 3)
		s->state = PS_SOCK_DISCONNECTED;
	else
		s->state = unix_named(&s->local) ? PS_SOCK_BOUND : PS_SOCK_UNBOUND;
	s->peer_ino = d.peer_ino;
	return peek_queue(fd, f);
}

static const char *tcp_state_name(int st)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "an established", [TCP_SYN_SENT] = "a connecting (SYN sent)",
		[TCP_SYN_RECV] = "a half-open (SYN received)", [TCP_FIN_WAIT1] = "a closing",
		[TCP_FIN_WAIT2] = "a closing", [TCP_TIME_WAIT] = "a closed (time wait)",
		[TCP_CLOSE_WAIT] = "a half-closed (close wait)", [TCP_LAST_ACK] = "a closing",
		[TCP_CLOSING] = "a closing",
	};

	return st > 0 && st < (int)(sizeof(names) / sizeof(names[0])) && names[st] ? names[st]
										      : "a connected";
}

static int capture_tcp(int fd, struct ps_fd *f)
{
	struct ps_socket *s = f->sock;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	char reason[256], here[80], there[80];

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return unsupported(f, "TCP_INFO of the socket cannot be read");
	if (ti.tcpi_state == TCP_LISTEN) {
		s->state = PS_SOCK_LISTENING;
		if (ps_tcp_listen_backlog(s->family, (uint32_t)f->ino, &s->backlog) < 0)
			return unsupported(f, "the backlog of the listening socket cannot be read");
		return 0;
	}
	if (ti.tcpi_state == TCP_CLOSE) {
		s->state = inet_port(&s->local) ? PS_SOCK_BOUND : PS_SOCK_UNBOUND;
		return 0;
	}
	ps_sockaddr_describe(s->family, &s->local, here, sizeof(here));
	ps_sockaddr_describe(s->family, &s->peer, there, sizeof(there));
	snprintf(reason, sizeof(reason), "%s TCP connection %s -> %s: restoring it needs TCP "
		 "repair, which procsnap does not do yet", tcp_state_name(ti.tcpi_state), here,
		 there);
	return unsupported(f, reason);
}

/* Unread datagrams of a UDP socket are not saved: their senders' addresses
 * could not be given back. */
static int capture_udp(struct ps_fd *f)
{
	struct ps_socket *s = f->sock;

	if (s->peer.len)
		s->state = PS_SOCK_CONNECTED;
	else
		s->state = inet_port(&s->local) ? PS_SOCK_BOUND : PS_SOCK_UNBOUND;
	return 0;
}

static int capture_socket(int fd, struct ps_fd *f)
{
	struct ps_socket *s = f->sock;
	char reason[128];

	s->family = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);
	s->type = sockopt_int(fd, SOL_SOCKET, SO_TYPE);
	s->protocol = sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL);
	s->peer_fd = -1;
	if (s->family != AF_UNIX && s->family != AF_INET && s->family != AF_INET6) {
		snprintf(reason, sizeof(reason), "sockets of address family %d are not saved",
			 s->family);
		return unsupported(f, reason);
	}
	if (s->type != SOCK_STREAM && s->type != SOCK_DGRAM &&
	    (s->type != SOCK_SEQPACKET || s->family != AF_UNIX)) {
		snprintf(reason, sizeof(reason), "sockets of type %d are not saved", s->type);
		return unsupported(f, reason);
	}
	read_addresses(fd, s);
	read_options(fd, s);
	if (s->family == AF_UNIX)
		return capture_unix(fd, f);
	if (s->type == SOCK_STREAM && s->protocol == IPPROTO_TCP)
		return capture_tcp(fd, f);
	if (s->type == SOCK_DGRAM && s->protocol == IPPROTO_UDP)
		return capture_udp(f);
	snprintf(reason, sizeof(reason), "inet sockets of protocol %d are not saved", s->protocol);
	return unsupported(f, reason);
}

/* ---- peers ---- */

static struct ps_fd *fd_with_ino(struct ps_fd *items, size_t n, uint64_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (items[i].sock && !items[i].is_dup && items[i].ino == ino)
			return &items[i];
	return NULL;
}

/*
 * A connected unix socket is restorable when its peer is a socket of this
 * process (socketpair, or both ends of a connection) or, for a datagram
 * socket, a named socket elsewhere that it can connect to again (syslog's
 * /dev/log). A stream connected to another process cannot be rebuilt.
 */
static int find_peer(struct ps_fd *items, size_t n, struct ps_fd *f)
{
	struct ps_socket *s = f->sock;
	struct ps_fd *p;

	if (s->family != AF_UNIX || s->state != PS_SOCK_CONNECTED)
		return 0;
	p = fd_with_ino(items, n, s->peer_ino);
	if (p && p->sock && p->supported) {
		s->peer_fd = p->fd;
		return 0;
	}
	if (s->type == SOCK_DGRAM && unix_named(&s->peer))
		return 0;
	return unsupported(f, "the unix socket is connected to a socket of another process: "
			   "restoring that connection is not supported");
}

static int capture_one(int pidfd, struct ps_fd *f)
{
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, f->fd, 0), rc;

	if (fd < 0)
		return unsupported(f, "pidfd_getfd of the socket failed");
	f->sock = calloc(1, sizeof(*f->sock));
	rc = f->sock ? capture_socket(fd, f) : -ENOMEM;
	close(fd);
	return rc;
}

int ps_capture_sockets(pid_t pid, struct ps_fd *items, size_t n)
{
	int pidfd = -1, rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (items[i].type != PS_FD_SOCKET || !items[i].supported || items[i].is_dup)
			continue;
		if (pidfd < 0)
			pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		rc = pidfd < 0 ? unsupported(&items[i], "pidfd_open of the process failed")
			       : capture_one(pidfd, &items[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (items[i].sock && items[i].supported)
			rc = find_peer(items, n, &items[i]);
	return rc;
}
