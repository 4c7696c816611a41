/* Capture of inet and inet6 sockets: TCP listeners and unconnected TCP
 * sockets, UDP sockets; a TCP connection is listed with why it is not saved. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>

#include "backend/fd_capture.h"
#include "backend/sock_diag.h"

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
	struct ps_socket *s = &f->u.sock;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	char here[80], there[80];

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return ps_fd_unsupported(f, "TCP_INFO of the socket cannot be read");
	if (ti.tcpi_state == TCP_LISTEN) {
		s->state = PS_SOCK_LISTENING;
		if (ps_tcp_listen_backlog(s->family, (uint32_t)f->ino, &s->backlog) < 0)
			return ps_fd_unsupported(f, "the backlog of the listening socket cannot be "
						 "read");
		return 0;
	}
	if (ti.tcpi_state == TCP_CLOSE) {
		s->state = inet_port(&s->local) ? PS_SOCK_BOUND : PS_SOCK_UNBOUND;
		return 0;
	}
	ps_sockaddr_describe(s->family, &s->local, here, sizeof(here));
	ps_sockaddr_describe(s->family, &s->peer, there, sizeof(there));
	return ps_fd_unsupported(f, "%s TCP connection %s -> %s: restoring it needs TCP repair, "
				 "which procsnap does not do yet", tcp_state_name(ti.tcpi_state),
				 here, there);
}

/* Unread datagrams of a UDP socket are not saved: their senders' addresses
 * could not be given back. */
static int capture_udp(struct ps_fd *f)
{
	struct ps_socket *s = &f->u.sock;

	if (s->peer.len)
		s->state = PS_SOCK_CONNECTED;
	else
		s->state = inet_port(&s->local) ? PS_SOCK_BOUND : PS_SOCK_UNBOUND;
	return 0;
}

int ps_capture_inet_socket(int fd, struct ps_fd *f)
{
	const struct ps_socket *s = &f->u.sock;

	if (s->type == SOCK_STREAM && s->protocol == IPPROTO_TCP)
		return capture_tcp(fd, f);
	if (s->type == SOCK_DGRAM && s->protocol == IPPROTO_UDP)
		return capture_udp(f);
	return ps_fd_unsupported(f, "inet sockets of protocol %d are not saved", s->protocol);
}
