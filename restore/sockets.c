/* Recreating sockets: each made in the stub (its owner and pid are the
 * process's), then bound, connected and refilled by procsnap through a dup. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "sockets.h"

static const char *family_name(int family)
{
	return family == AF_UNIX ? "unix" : family == AF_INET ? "TCP/UDP (IPv4)" : "TCP/UDP (IPv6)";
}

static uint64_t type_flags(const struct ps_fd *f)
{
	return (uint64_t)f->sock->type | (f->cloexec ? SOCK_CLOEXEC : 0) |
	       ((f->flags & O_NONBLOCK) ? SOCK_NONBLOCK : 0);
}

/* ---- options ---- */

static int set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v));
}

/* A buffer size is set only where it differs from what a new socket has:
 * setting it also stops the kernel from tuning it, which the process did
 * not ask for. The kernel doubles what it is given, hence the halving. */
static int set_buffer(int fd, int name, int saved)
{
	int now = 0;
	socklen_t len = sizeof(now);

	if (getsockopt(fd, SOL_SOCKET, name, &now, &len) < 0 || now == saved)
		return 0;
	return set_int(fd, SOL_SOCKET, name == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE,
		       saved / 2);
}

static int apply_options(struct ps_rctx *c, const struct ps_fd *f, int fd)
{
	const struct ps_socket *s = f->sock;
	const struct ps_sockopts *o = &s->opts;
	int inet = s->family != AF_UNIX;

	/* SO_PASSCRED is refused on inet sockets (Linux 6.16), SO_BROADCAST
	 * is for datagrams over IP */
	if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, o->reuseaddr) < 0 ||
	    set_int(fd, SOL_SOCKET, SO_REUSEPORT, o->reuseport) < 0 ||
	    set_int(fd, SOL_SOCKET, SO_KEEPALIVE, o->keepalive) < 0 ||
	    (inet && set_int(fd, SOL_SOCKET, SO_BROADCAST, o->broadcast) < 0) ||
	    (!inet && set_int(fd, SOL_SOCKET, SO_PASSCRED, o->passcred) < 0) ||
	    set_int(fd, SOL_SOCKET, SO_OOBINLINE, o->oobinline) < 0 ||
	    (inet && s->type == SOCK_STREAM && set_int(fd, IPPROTO_TCP, TCP_NODELAY, o->nodelay) < 0) ||
	    (s->family == AF_INET6 && set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, o->v6only) < 0) ||
	    set_buffer(fd, SO_RCVBUF, o->rcvbuf) < 0 || set_buffer(fd, SO_SNDBUF, o->sndbuf) < 0)
		return ps_rfail(c, -errno, "fd %d: setting the socket's options: %s", f->fd,
				strerror(errno));
	return 0;
}

/* ---- queued messages ---- */

static int read_data(struct ps_rctx *c, const struct ps_fd *f, char **out, size_t *len)
{
	char path[PS_PATH_MAX];
	size_t want = 0, got = 0;
	char *buf;
	int fd;

	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < f->sock->nmsgs; i++)
		want += f->sock->msgs[i];
	if (!want)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", c->dir, f->data ? f->data : "");
	fd = f->data ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
	buf = malloc(want);
	while (fd >= 0 && buf && got < want) {
		ssize_t n = read(fd, buf + got, want - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (!buf || got != want) {
		free(buf);
		return ps_rfail(c, -EIO, "fd %d: its unread messages (%zu bytes) are not all in %s",
				f->fd, want, f->data ? f->data : "the image");
	}
	*out = buf;
	*len = want;
	return 0;
}

/* f's unread messages, sent again from `from` (its peer's end, or an unnamed
 * socket sending to f's address), one send each so datagram boundaries stay. */
static int refill(struct ps_rctx *c, const struct ps_fd *f, int from,
		  const struct ps_sockaddr *to)
{
	size_t len, at = 0;
	char *buf;
	int rc = read_data(c, f, &buf, &len);

	for (size_t i = 0; rc == 0 && i < f->sock->nmsgs; i++) {
		size_t n = f->sock->msgs[i];
		ssize_t sent = to ? sendto(from, buf + at, n, MSG_DONTWAIT,
					   (const struct sockaddr *)to->sa, to->len)
				  : send(from, buf + at, n, MSG_DONTWAIT);

		if (sent != (ssize_t)n)
			rc = ps_rfail(c, sent < 0 ? -errno : -EIO, "fd %d: putting back its unread "
				      "message %zu (%zu bytes): %s", f->fd, i, n,
				      sent < 0 ? strerror(errno) : "sent short");
		at += n;
	}
	free(buf);
	return rc;
}

/* ---- binding ---- */

/*
 * A path socket's file stays behind when its process dies; bind() would find
 * it in use. It is removed only if it is a socket nobody listens on (connect
 * is refused), and its owner and mode are given to the new file: bind makes
 * it with procsnap's identity and umask.
 */
static int bind_unix_path(struct ps_rctx *c, const struct ps_fd *f, int fd, const char *path)
{
	const struct ps_sockaddr *a = &f->sock->local;
	struct stat old;
	int had = lstat(path, &old) == 0, probe;

	if (had && !S_ISSOCK(old.st_mode))
		return ps_rfail(c, -EEXIST, "fd %d: cannot bind to %s: a file that is not a socket is "
				"there", f->fd, path);
	if (had) {
		probe = socket(AF_UNIX, f->sock->type | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (const struct sockaddr *)a->sa, a->len) == 0) {
			close(probe);
			return ps_rfail(c, -EADDRINUSE, "fd %d: %s is in use: a process listens on it",
					f->fd, path);
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	if (bind(fd, (const struct sockaddr *)a->sa, a->len) < 0)
		return ps_rfail(c, -errno, "fd %d: bind to %s: %s", f->fd, path, strerror(errno));
	if (had && (lchown(path, old.st_uid, old.st_gid) < 0 || chmod(path, old.st_mode & 07777) < 0))
		return ps_rfail(c, -errno, "fd %d: giving %s its owner and mode back: %s", f->fd, path,
				strerror(errno));
	return 0;
}

/* TIME_WAIT leftovers of the process's own connections would make bind fail
 * with EADDRINUSE: SO_REUSEADDR is on for the bind, then as it was saved. */
static int bind_inet(struct ps_rctx *c, const struct ps_fd *f, int fd)
{
	const struct ps_sockaddr *a = &f->sock->local;
	char where[96];
	int rc;

	set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	rc = bind(fd, (const struct sockaddr *)a->sa, a->len);
	if (rc < 0) {
		ps_sockaddr_describe(f->sock->family, a, where, sizeof(where));
		return ps_rfail(c, -errno, "fd %d: bind to %s: %s", f->fd, where, strerror(errno));
	}
	set_int(fd, SOL_SOCKET, SO_REUSEADDR, f->sock->opts.reuseaddr);
	return 0;
}

static int bind_local(struct ps_rctx *c, const struct ps_fd *f, int fd)
{
	const struct ps_socket *s = f->sock;
	const struct sockaddr_un *un = (const void *)s->local.sa;
	char path[sizeof(un->sun_path) + 1], where[128];

	if (s->family != AF_UNIX)
		return bind_inet(c, f, fd);
	if (s->local.len <= offsetof(struct sockaddr_un, sun_path))
		return 0;
	if (un->sun_path[0] != '\0') {
		snprintf(path, sizeof(path), "%.*s", (int)sizeof(un->sun_path), un->sun_path);
		return bind_unix_path(c, f, fd, path);
	}
	if (bind(fd, (const struct sockaddr *)s->local.sa, s->local.len) < 0) {
		ps_sockaddr_describe(s->family, &s->local, where, sizeof(where));
		return ps_rfail(c, -errno, "fd %d: bind to %s: %s", f->fd, where, strerror(errno));
	}
	return 0;
}

/* ---- one socket ---- */

/* Whether the socket had a name of its own: bound or listening, or a
 * connected one that was bound (a unix name, or the port a connect chose). */
static int binds(const struct ps_socket *s)
{
	if (s->state == PS_SOCK_BOUND || s->state == PS_SOCK_LISTENING)
		return 1;
	if (s->state != PS_SOCK_CONNECTED || !s->local.len)
		return 0;
	return s->family != AF_UNIX || s->local.len > sizeof(sa_family_t);
}

/* Bound, listening (TCP), connected (UDP, or unix datagrams to a named peer),
 * unread datagrams of a bound unix socket sent back to it. */
static int set_up(struct ps_rctx *c, const struct ps_fd *f, int fd)
{
	const struct ps_socket *s = f->sock;
	char where[128];
	int tmp, rc = apply_options(c, f, fd);

	if (rc == 0 && binds(s))
		rc = bind_local(c, f, fd);
	if (rc == 0 && s->state == PS_SOCK_LISTENING && s->family != AF_UNIX &&
	    listen(fd, (int)s->backlog) < 0)
		rc = ps_rfail(c, -errno, "fd %d: listen: %s", f->fd, strerror(errno));
	if (rc == 0 && s->state == PS_SOCK_CONNECTED &&
	    connect(fd, (const struct sockaddr *)s->peer.sa, s->peer.len) < 0) {
		ps_sockaddr_describe(s->family, &s->peer, where, sizeof(where));
		rc = ps_rfail(c, -errno, "fd %d: connecting again to %s: %s", f->fd, where,
			      strerror(errno));
	}
	if (rc == 0 && s->nmsgs) {
		tmp = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		rc = tmp < 0 ? ps_rfail(c, -errno, "socket: %s", strerror(errno))
			     : refill(c, f, tmp, &s->local);
		if (tmp >= 0)
			close(tmp);
	}
	return rc;
}

static long restore_single(struct ps_rctx *c, const struct ps_fd *f)
{
	const struct ps_socket *s = f->sock;
	char what[96];
	long fd;
	int local, rc;

	snprintf(what, sizeof(what), "fd %d: socket(%s)", f->fd, family_name(s->family));
	fd = ps_rcall(c, what, SYS_socket, (uint64_t)s->family, type_flags(f), (uint64_t)s->protocol,
		      0, 0, 0);
	if (fd < 0)
		return fd;
	local = ps_rgrab(c, fd);
	if (local < 0)
		return local;
	rc = set_up(c, f, local);
	close(local);
	return rc < 0 ? rc : fd;
}

/* ---- pairs ---- */

static int shut(struct ps_rctx *c, const struct ps_fd *f, int fd)
{
	static const int how[] = { -1, SHUT_RD, SHUT_WR, SHUT_RDWR };
	int bits = f->sock->shutdown & 3;

	if (!bits || shutdown(fd, how[bits]) == 0)
		return 0;
	return ps_rfail(c, -errno, "fd %d: shutdown: %s", f->fd, strerror(errno));
}

/* The pair's two ends, moved above every saved fd, and procsnap's dups. */
struct pair {
	long end[2];
	int local[2];
};

static int make_pair(struct ps_rctx *c, const struct ps_fd *f, struct pair *p)
{
	const struct ps_fds *fds = &c->m->fds;
	int high = fds->items[fds->count - 1].fd + 1, sv[2];
	char what[96];
	long rc;

	snprintf(what, sizeof(what), "fd %d: socketpair(%s)", f->fd, family_name(f->sock->family));
	rc = ps_rcall(c, what, SYS_socketpair, AF_UNIX, (uint64_t)f->sock->type | SOCK_CLOEXEC, 0,
		      c->scratch, 0, 0);
	if (rc < 0 || (rc = ps_rget(c, c->scratch, sv, sizeof(sv))) < 0)
		return (int)rc;
	for (int i = 0; i < 2; i++) {
		p->end[i] = ps_rcall(c, "moving a new socket", SYS_fcntl, (uint64_t)sv[i],
				     F_DUPFD_CLOEXEC, (uint64_t)high, 0, 0, 0);
		ps_rcall(c, "close", SYS_close, (uint64_t)sv[i], 0, 0, 0, 0, 0);
		if (p->end[i] < 0)
			return (int)p->end[i];
		p->local[i] = ps_rgrab(c, p->end[i]);
		if (p->local[i] < 0)
			return p->local[i];
	}
	return 0;
}

static int place(struct ps_rctx *c, const struct ps_fd *f, long end)
{
	char what[64];
	long rc;

	snprintf(what, sizeof(what), "fd %d: dup3 of a new socket", f->fd);
	rc = ps_rcall(c, what, SYS_dup3, (uint64_t)end, (uint64_t)f->fd, f->cloexec ? O_CLOEXEC : 0,
		      0, 0, 0);
	if (rc >= 0)
		rc = ps_rcall(c, what, SYS_fcntl, (uint64_t)f->fd, F_SETFL,
			      (uint64_t)(f->flags & O_NONBLOCK), 0, 0, 0);
	return rc < 0 ? (int)rc : 0;
}

/*
 * Both ends of a connection inside the process come back as a socketpair
 * (the names a connect/accept pair had are not given back). Each end's
 * unread messages are sent from the other end; a "disconnected" socket's
 * other end is made only for that and closed after.
 */
static int restore_pair(struct ps_rctx *c, const struct ps_fd *f, const struct ps_fd *peer)
{
	struct pair p = { { -1, -1 }, { -1, -1 } };
	int rc = make_pair(c, f, &p);

	if (rc == 0)
		rc = refill(c, f, p.local[1], NULL);
	if (rc == 0 && peer)
		rc = refill(c, peer, p.local[0], NULL);
	if (rc == 0)
		rc = apply_options(c, f, p.local[0]);
	if (rc == 0 && peer)
		rc = apply_options(c, peer, p.local[1]);
	if (rc == 0)
		rc = shut(c, f, p.local[0]);
	if (rc == 0 && peer)
		rc = shut(c, peer, p.local[1]);
	if (rc == 0)
		rc = place(c, f, p.end[0]);
	if (rc == 0 && peer)
		rc = place(c, peer, p.end[1]);
	for (int i = 0; i < 2; i++) {
		if (p.local[i] >= 0)
			close(p.local[i]);
		if (p.end[i] >= 0)
			ps_rcall(c, "close", SYS_close, (uint64_t)p.end[i], 0, 0, 0, 0, 0);
	}
	return rc;
}

static const struct ps_fd *fd_numbered(const struct ps_fds *fds, int n)
{
	for (size_t i = 0; i < fds->count; i++)
		if (fds->items[i].fd == n)
			return &fds->items[i];
	return NULL;
}

int ps_restore_socket(struct ps_rctx *c, const struct ps_fd *f, long *nfd)
{
	const struct ps_socket *s = f->sock;

	*nfd = -1;
	if (s->state == PS_SOCK_DISCONNECTED)
		return restore_pair(c, f, NULL);
	if (s->state == PS_SOCK_CONNECTED && s->peer_fd >= 0) {
		/* made with the lower fd of the two */
		if (s->peer_fd < f->fd)
			return 0;
		return restore_pair(c, f, fd_numbered(&c->m->fds, s->peer_fd));
	}
	*nfd = restore_single(c, f);
	return *nfd < 0 ? (int)*nfd : 0;
}

/* listen() records who listens (SO_PEERCRED of every client that connects):
 * it runs once the process has its own credentials, never as root. */
int ps_listen_unix_sockets(struct ps_rctx *c)
{
	const struct ps_fds *fds = &c->m->fds;

	for (size_t i = 0; i < fds->count; i++) {
		const struct ps_fd *f = &fds->items[i];
		char what[64];
		long rc;

		if (f->is_dup || !f->sock || f->sock->family != AF_UNIX ||
		    f->sock->state != PS_SOCK_LISTENING)
			continue;
		snprintf(what, sizeof(what), "fd %d: listen", f->fd);
		rc = ps_rcall(c, what, SYS_listen, (uint64_t)f->fd, f->sock->backlog, 0, 0, 0, 0);
		if (rc < 0)
			return (int)rc;
	}
	return 0;
}
