/* Capture of sockets, what the unix and inet kinds share: family, type,
 * addresses and options, read through a pidfd_getfd dup of the socket. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/fd_capture.h"
#include "image/fd_kinds.h"

int ps_sockopt_int(int fd, int level, int name)
{
	int v = 0;
	socklen_t len = sizeof(v);

	return getsockopt(fd, level, name, &v, &len) < 0 ? -1 : v;
}

static void read_options(int fd, struct ps_socket *s)
{
	struct ps_sockopts *o = &s->opts;

	o->reuseaddr = ps_sockopt_int(fd, SOL_SOCKET, SO_REUSEADDR) > 0;
	o->reuseport = ps_sockopt_int(fd, SOL_SOCKET, SO_REUSEPORT) > 0;
	o->keepalive = ps_sockopt_int(fd, SOL_SOCKET, SO_KEEPALIVE) > 0;
	o->broadcast = ps_sockopt_int(fd, SOL_SOCKET, SO_BROADCAST) > 0;
	o->passcred = ps_sockopt_int(fd, SOL_SOCKET, SO_PASSCRED) > 0;
	o->oobinline = ps_sockopt_int(fd, SOL_SOCKET, SO_OOBINLINE) > 0;
	o->rcvbuf = ps_sockopt_int(fd, SOL_SOCKET, SO_RCVBUF);
	o->sndbuf = ps_sockopt_int(fd, SOL_SOCKET, SO_SNDBUF);
	if (s->family != AF_UNIX && s->type == SOCK_STREAM)
		o->nodelay = ps_sockopt_int(fd, IPPROTO_TCP, TCP_NODELAY) > 0;
	if (s->family == AF_INET6)
		o->v6only = ps_sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY) > 0;
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

static int unsupported_family(struct ps_fd *f, int family)
{
	return ps_fd_unsupported(f, "sockets of address family %d are not saved", family);
}

static int capture_socket(int fd, struct ps_fd *f)
{
	struct ps_socket *s = &f->u.sock;
	int family = ps_sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);

	if (family != AF_UNIX && family != AF_INET && family != AF_INET6)
		return unsupported_family(f, family);
	f->kind = family == AF_UNIX ? PS_FD_KIND_UNIX : PS_FD_KIND_INET;
	s->family = family;
	s->type = ps_sockopt_int(fd, SOL_SOCKET, SO_TYPE);
	s->protocol = ps_sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL);
	s->peer_fd = -1;
	if (s->type != SOCK_STREAM && s->type != SOCK_DGRAM &&
	    (s->type != SOCK_SEQPACKET || s->family != AF_UNIX))
		return ps_fd_unsupported(f, "sockets of type %d are not saved", s->type);
	read_addresses(fd, s);
	read_options(fd, s);
	if (s->family == AF_UNIX)
		return ps_capture_unix_socket(fd, f);
	return ps_capture_inet_socket(fd, f);
}

static int capture_through_dup(int pidfd, struct ps_fd *f)
{
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, f->fd, 0), rc;

	if (fd < 0)
		return ps_fd_unsupported(f, "pidfd_getfd of the socket failed");
	rc = capture_socket(fd, f);
	close(fd);
	return rc;
}

/* The socket is read through procsnap's own dup of it (pidfd_getfd); a
 * socket's unread messages go into its data file. One that cannot be
 * restored keeps no state (fds.json has none for it): it is of no kind. */
int ps_capture_fd_socket(struct ps_fd_capture *cx, struct ps_fd *f)
{
	int pidfd, rc;

	if (f->is_dup)
		return 0;
	f->u.sock.peer_fd = -1;
	pidfd = ps_fd_capture_pidfd(cx);
	if (pidfd < 0)
		rc = ps_fd_unsupported(f, "pidfd_open of the process failed");
	else
		rc = capture_through_dup(pidfd, f);
	if (rc == 0 && f->nbytes)
		rc = ps_fd_name_data(f);
	if (rc == 0 && !f->supported)
		rc = ps_fd_make_other(f);
	return rc;
}
