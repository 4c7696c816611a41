/* Sockets, what the unix and inet kinds share: each made, bound and
 * connected in the stub (as the caller), its options and unread messages set
 * by procsnap through a dup; and their checks before a restore. */
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

#include "restore/as_caller.h"
#include "backend/sock_diag.h"
#include "restore/fd_restore.h"

static const char *family_name(int family)
{
	return family == AF_UNIX ? "unix" : family == AF_INET ? "TCP/UDP (IPv4)" : "TCP/UDP (IPv6)";
}

static uint64_t type_flags(const struct ps_fd *f)
{
	return (uint64_t)f->u.sock.type | (f->cloexec ? SOCK_CLOEXEC : 0) |
	       ((f->flags & O_NONBLOCK) ? SOCK_NONBLOCK : 0);
}

/* ---- options ---- */

static int call_ok(long rc)
{
	return rc < 0 ? (int)rc : 0;
}

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
	const struct ps_socket *s = &f->u.sock;
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
	size_t want = 0, got = 0;
	char *buf;
	int fd;

	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < f->u.sock.nmsgs; i++)
		want += f->u.sock.msgs[i];
	if (!want)
		return 0;
	fd = f->data ? ps_image_open(c, f->data) : -1;
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

/* f's unread messages, sent again from `from` (its peer's end, or a socket
 * connected to f), one send each so datagram boundaries stay. */
static int refill(struct ps_rctx *c, const struct ps_fd *f, int from)
{
	size_t len, at = 0;
	char *buf;
	int rc = read_data(c, f, &buf, &len);

	for (size_t i = 0; rc == 0 && i < f->u.sock.nmsgs; i++) {
		size_t n = f->u.sock.msgs[i];
		ssize_t sent = send(from, buf + at, n, MSG_DONTWAIT);

		if (sent != (ssize_t)n)
			rc = ps_rfail(c, sent < 0 ? -errno : -EIO, "fd %d: putting back its unread "
				      "message %zu (%zu bytes): %s", f->fd, i, n,
				      sent < 0 ? strerror(errno) : "sent short");
		at += n;
	}
	free(buf);
	return rc;
}

/* ---- names, reached from the stub as the caller ---- */

/* The file a unix address names, or NULL (abstract, unnamed, not unix). */
static const char *unix_path(const struct ps_socket *s, const struct ps_sockaddr *a,
			     char *buf, size_t len)
{
	const struct sockaddr_un *un = (const void *)a->sa;

	if (s->family != AF_UNIX || a->len <= offsetof(struct sockaddr_un, sun_path) + 1 ||
	    un->sun_path[0] == '\0')
		return NULL;
	snprintf(buf, len, "%.*s", (int)sizeof(un->sun_path), un->sun_path);
	return buf;
}

/* syscall nr (bind, connect) of the stub's socket fd to the address a,
 * as the caller: the kernel checks the caller's right to make the socket
 * file (bind) or to write to it (connect). verb says which ("bind a socket
 * to", "connect to"). */
static long to_address(struct ps_rctx *c, const struct ps_fd *f, long nr, long fd,
		       const struct ps_sockaddr *a, const char *verb)
{
	char who[32], where[128], deed[192], path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	char link[64];
	const char *file = unix_path(&f->u.sock, a, path, sizeof(path));
	uint64_t at;

	snprintf(who, sizeof(who), "fd %d", f->fd);
	if (c->uid && file && ps_proc_link_in(file, link, sizeof(link)))
		return ps_rfail(c, -EPERM, "%s: %s goes through %s into a process's files: only "
				"root may restore such a path", who, file, link);
	at = ps_rput(c, 0, a->sa, a->len);
	if (!at)
		return -EIO;
	ps_sockaddr_describe(f->u.sock.family, a, where, sizeof(where));
	snprintf(deed, sizeof(deed), "%s %s", verb, where);
	return ps_caller_call(c, who, deed, nr, (uint64_t)fd, at, a->len, 0, 0, 0);
}

/* The file at path, not following a symlink, as the caller sees it: 0,
 * -ENOENT when there is none, or another -errno with err filled. */
static int look_at(struct ps_rctx *c, const struct ps_fd *f, const char *path, struct stat *st)
{
	uint64_t at = ps_rput(c, 0, path, strlen(path) + 1), out = c->scratch + 2048;
	char who[32], deed[160];
	long rc;

	if (!at)
		return -EIO;
	snprintf(who, sizeof(who), "fd %d", f->fd);
	snprintf(deed, sizeof(deed), "look at %s", path);
	rc = ps_caller_call(c, who, deed, SYS_newfstatat, (uint64_t)(int64_t)AT_FDCWD, at, out,
			    AT_SYMLINK_NOFOLLOW, 0, 0);
	return rc < 0 ? (int)rc : ps_rget(c, out, st, sizeof(*st));
}

/* Whether a process still has the socket file at f's name: a connect from
 * a new socket of the same type says so (non-blocking: a listener whose
 * backlog is full answers EAGAIN, in use too). Refused means no one. */
static int check_unused(struct ps_rctx *c, const struct ps_fd *f, const char *path)
{
	long probe = ps_rcall(c, "socket to see whether a socket file is in use", SYS_socket,
			      AF_UNIX, (uint64_t)f->u.sock.type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, 0,
			      0, 0);
	long rc;

	if (probe < 0)
		return (int)probe;
	rc = to_address(c, f, SYS_connect, probe, &f->u.sock.local, "connect to");
	ps_rcall(c, "close", SYS_close, (uint64_t)probe, 0, 0, 0, 0, 0);
	if (rc == 0 || rc == -EAGAIN)
		return ps_rfail(c, -EADDRINUSE, "fd %d: %s is in use: a process listens on it",
				f->fd, path);
	return rc == -EACCES || rc == -EPERM ? (int)rc : 0;
}

/* A stale socket file goes, and the new one gets its owner and mode back
 * (bind makes it with the stub's identity and umask), as the caller. */
static int replace_stale(struct ps_rctx *c, const struct ps_fd *f, long fd, const char *path,
			 const struct stat *old)
{
	uint64_t at = ps_rput(c, 0, path, strlen(path) + 1);
	char who[32], deed[192];
	long rc;

	snprintf(who, sizeof(who), "fd %d", f->fd);
	snprintf(deed, sizeof(deed), "remove the stale socket %s", path);
	rc = at ? ps_caller_call(c, who, deed, SYS_unlink, at, 0, 0, 0, 0, 0) : -EIO;
	if (rc < 0 && rc != -ENOENT)
		return (int)rc;
	rc = to_address(c, f, SYS_bind, fd, &f->u.sock.local, "bind a socket to");
	if (rc < 0)
		return (int)rc;
	at = ps_rput(c, 0, path, strlen(path) + 1);
	if (!at)
		return -EIO;
	snprintf(deed, sizeof(deed), "give %s its owner %u:%u back", path, (unsigned)old->st_uid,
		 (unsigned)old->st_gid);
	rc = ps_caller_call(c, who, deed, SYS_fchownat, (uint64_t)(int64_t)AT_FDCWD, at,
			    old->st_uid, old->st_gid, AT_SYMLINK_NOFOLLOW, 0);
	snprintf(deed, sizeof(deed), "give %s its mode %04o back", path,
		 (unsigned)(old->st_mode & 07777));
	if (rc >= 0)
		rc = ps_caller_call(c, who, deed, SYS_fchmodat, (uint64_t)(int64_t)AT_FDCWD, at,
				    old->st_mode & 07777, 0, 0, 0);
	return call_ok(rc);
}

/*
 * A path socket's file stays behind when its process dies; bind() would find
 * it in use. It is removed only if it is a socket nobody listens on.
 */
static int bind_unix_path(struct ps_rctx *c, const struct ps_fd *f, long fd, const char *path)
{
	struct stat old;
	int rc = look_at(c, f, path, &old);

	if (rc == -ENOENT)
		return call_ok(to_address(c, f, SYS_bind, fd, &f->u.sock.local, "bind a socket to"));
	if (rc < 0)
		return rc;
	if (!S_ISSOCK(old.st_mode))
		return ps_rfail(c, -EEXIST, "fd %d: cannot bind to %s: a file that is not a socket is "
				"there", f->fd, path);
	rc = check_unused(c, f, path);
	return rc < 0 ? rc : replace_stale(c, f, fd, path, &old);
}

/* TIME_WAIT leftovers of the process's own connections would make bind fail
 * with EADDRINUSE: SO_REUSEADDR is on for the bind, then as it was saved. */
static int bind_inet(struct ps_rctx *c, const struct ps_fd *f, long fd, int local)
{
	long rc;

	set_int(local, SOL_SOCKET, SO_REUSEADDR, 1);
	rc = to_address(c, f, SYS_bind, fd, &f->u.sock.local, "bind to");
	set_int(local, SOL_SOCKET, SO_REUSEADDR, f->u.sock.opts.reuseaddr);
	return call_ok(rc);
}

static int bind_local(struct ps_rctx *c, const struct ps_fd *f, long fd, int local)
{
	const struct ps_socket *s = &f->u.sock;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	const char *file = unix_path(s, &s->local, path, sizeof(path));

	if (s->family != AF_UNIX)
		return bind_inet(c, f, fd, local);
	if (file)
		return bind_unix_path(c, f, fd, file);
	if (s->local.len <= offsetof(struct sockaddr_un, sun_path))
		return 0;
	return call_ok(to_address(c, f, SYS_bind, fd, &s->local, "bind to"));
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

/*
 * Unread datagrams of a bound socket go back to it from a new socket the
 * stub connects to its name, as the caller. The name is only a way there
 * and may have changed hands since the bind, so sock_diag must say that the
 * peer reached is f's own socket before procsnap sends through a dup.
 */
static int check_reached(struct ps_rctx *c, const struct ps_fd *f, int own, int from)
{
	struct ps_unix_diag d;
	struct stat a, b;
	int rc;

	if (fstat(own, &a) < 0 || fstat(from, &b) < 0)
		return ps_rfail(c, -errno, "fd %d: fstat of a socket: %s", f->fd, strerror(errno));
	rc = ps_unix_diag((uint32_t)b.st_ino, &d);
	if (rc < 0)
		return ps_rfail(c, rc, "fd %d: sock_diag of the socket its unread messages go back "
				"from: %s", f->fd, strerror(-rc));
	if (d.peer_ino != (uint32_t)a.st_ino)
		return ps_rfail(c, -ESTALE, "fd %d: its name is another socket's now: its unread "
				"messages cannot be sent back to it", f->fd);
	return 0;
}

static int refill_by_name(struct ps_rctx *c, const struct ps_fd *f, int own)
{
	long tmp = ps_rcall(c, "socket for the unread messages", SYS_socket, AF_UNIX,
			    SOCK_DGRAM | SOCK_CLOEXEC, 0, 0, 0, 0);
	int from = -1;
	long rc;

	if (tmp < 0)
		return (int)tmp;
	rc = to_address(c, f, SYS_connect, tmp, &f->u.sock.local, "connect to");
	if (rc >= 0)
		rc = from = ps_rgrab(c, tmp);
	if (rc >= 0)
		rc = check_reached(c, f, own, from);
	if (rc >= 0)
		rc = refill(c, f, from);
	if (from >= 0)
		close(from);
	ps_rcall(c, "close", SYS_close, (uint64_t)tmp, 0, 0, 0, 0, 0);
	return call_ok(rc);
}

/* Bound, listening (TCP), connected (UDP, or unix datagrams to a named peer),
 * unread datagrams of a bound unix socket sent back to it. fd is the
 * socket in the stub, local procsnap's dup of it. */
static int set_up(struct ps_rctx *c, const struct ps_fd *f, long fd, int local)
{
	const struct ps_socket *s = &f->u.sock;
	int rc = apply_options(c, f, local);

	if (rc == 0 && binds(s))
		rc = bind_local(c, f, fd, local);
	if (rc == 0 && s->state == PS_SOCK_LISTENING && s->family != AF_UNIX &&
	    listen(local, (int)s->backlog) < 0)
		rc = ps_rfail(c, -errno, "fd %d: listen: %s", f->fd, strerror(errno));
	if (rc == 0 && s->state == PS_SOCK_CONNECTED)
		rc = call_ok(to_address(c, f, SYS_connect, fd, &s->peer, "connect again to"));
	if (rc == 0 && s->nmsgs)
		rc = refill_by_name(c, f, local);
	return rc;
}

static long restore_single(struct ps_rctx *c, const struct ps_fd *f)
{
	const struct ps_socket *s = &f->u.sock;
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
	rc = set_up(c, f, fd, local);
	close(local);
	return rc < 0 ? rc : fd;
}

/* ---- pairs ---- */

static int shut(struct ps_rctx *c, const struct ps_fd *f, int fd)
{
	static const int how[] = { -1, SHUT_RD, SHUT_WR, SHUT_RDWR };
	int bits = f->u.sock.shutdown & 3;

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

	snprintf(what, sizeof(what), "fd %d: socketpair(%s)", f->fd, family_name(f->u.sock.family));
	rc = ps_rcall(c, what, SYS_socketpair, AF_UNIX, (uint64_t)f->u.sock.type | SOCK_CLOEXEC, 0,
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
	return call_ok(rc);
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
		rc = refill(c, f, p.local[1]);
	if (rc == 0 && peer)
		rc = refill(c, peer, p.local[0]);
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

/* Both ends of a pair are placed at their fds by restore_pair; a lone
 * socket is moved to its number. */
int ps_restore_fd_socket(struct ps_rctx *c, const struct ps_fd *f)
{
	const struct ps_socket *s = &f->u.sock;
	long nfd;

	if (s->state == PS_SOCK_DISCONNECTED)
		return restore_pair(c, f, NULL);
	if (s->state == PS_SOCK_CONNECTED && s->peer_fd >= 0) {
		/* made with the lower fd of the two */
		if (s->peer_fd < f->fd)
			return 0;
		return restore_pair(c, f, ps_fd_numbered(&c->m->fds, s->peer_fd));
	}
	nfd = restore_single(c, f);
	if (nfd < 0)
		return (int)nfd;
	return ps_fd_move(c, f, nfd);
}

/* ---- checks ---- */

static int unix_has_name(const struct ps_sockaddr *a)
{
	return a->len > offsetof(struct sockaddr_un, sun_path);
}

static int addr_fits(const struct ps_socket *s, const struct ps_sockaddr *a)
{
	sa_family_t fam;

	if (a->len == 0)
		return 1;
	memcpy(&fam, a->sa, sizeof(fam));
	return a->len >= sizeof(fam) && fam == s->family;
}

/* procsnap binds as root: a privileged port is refused to other callers. */
static int inet_port_of(const struct ps_sockaddr *a)
{
	const struct sockaddr_in *in = (const void *)a->sa;
	const struct sockaddr_in6 *in6 = (const void *)a->sa;

	if (a->len >= sizeof(*in) && in->sin_family == AF_INET)
		return ntohs(in->sin_port);
	if (a->len >= sizeof(*in6) && in6->sin6_family == AF_INET6)
		return ntohs(in6->sin6_port);
	return 0;
}

/* The other end names this fd back, and is the same kind of socket. */
static int check_socket_peer(const struct ps_check *v, const struct ps_fd *f)
{
	const struct ps_fd *p = ps_fd_numbered(&v->m->fds, f->u.sock.peer_fd);

	if (!p || p->is_dup || !ps_fd_is_socket(p) || p->u.sock.peer_fd != f->fd ||
	    p->u.sock.type != f->u.sock.type || p->u.sock.family != AF_UNIX)
		return ps_refuse(v, -EINVAL, "fd %d: its socket's peer, fd %d, is not a socket "
				    "connected back to it", f->fd, f->u.sock.peer_fd);
	return 0;
}

static int check_socket_state(const struct ps_check *v, const struct ps_fd *f)
{
	const struct ps_socket *s = &f->u.sock;
	int unix_ = s->family == AF_UNIX;

	switch (s->state) {
	case PS_SOCK_LISTENING:
		if (s->type == SOCK_DGRAM || !(unix_ ? unix_has_name(&s->local) : s->local.len != 0))
			return ps_refuse(v, -EINVAL, "fd %d: a listening socket without an "
					    "address", f->fd);
		return 0;
	case PS_SOCK_CONNECTED:
		if (s->peer_fd >= 0)
			return unix_ ? check_socket_peer(v, f)
				     : ps_refuse(v, -EINVAL, "fd %d: only unix sockets pair",
						    f->fd);
		if (!s->peer.len || (unix_ && (s->type != SOCK_DGRAM || !unix_has_name(&s->peer))) ||
		    (!unix_ && s->type != SOCK_DGRAM))
			return ps_refuse(v, -EINVAL, "fd %d: a connected socket whose peer "
					    "cannot be connected to again", f->fd);
		return 0;
	case PS_SOCK_DISCONNECTED:
		return unix_ && s->type != SOCK_DGRAM ? 0
			: ps_refuse(v, -EINVAL, "fd %d: only unix stream sockets can lose "
				       "their peer", f->fd);
	default:
		return 0;
	}
}

/* Unread messages go back through the peer, or to the socket's own name. */
/*
 * The messages' lengths add up to their data file's size as image.json
 * lists it (the reader has checked the file against that size, and the
 * size against the image's limits): restore reads that many bytes into
 * memory at once, so a forged list of lengths must not decide how much.
 */
static int check_socket_data_size(const struct ps_check *v, const struct ps_fd *f)
{
	const struct ps_socket *s = &f->u.sock;
	const struct ps_image_file *data = f->data ? ps_image_file_find(&v->m->meta, f->data) : NULL;
	uint64_t total = 0;

	for (size_t i = 0; i < s->nmsgs; i++)
		total += s->msgs[i];   /* each below 2^32, at most PS_MAX_MESSAGES of them */
	if (!data || data->size != total)
		return ps_refuse(v, -EINVAL, "fd %d: its unread messages add up to %llu bytes, but "
				    "image.json lists %s with %llu", f->fd, (unsigned long long)total,
				    f->data ? f->data : "no data file",
				    (unsigned long long)(data ? data->size : 0));
	return 0;
}

static int check_socket_messages(const struct ps_check *v, const struct ps_fd *f)
{
	const struct ps_socket *s = &f->u.sock;

	if (!s->nmsgs)
		return 0;
	if (s->family != AF_UNIX || s->state == PS_SOCK_LISTENING ||
	    (s->state != PS_SOCK_DISCONNECTED && s->peer_fd < 0 &&
	     !(s->type == SOCK_DGRAM && unix_has_name(&s->local))))
		return ps_refuse(v, -EINVAL, "fd %d: unread messages on a socket they cannot be "
				    "sent back to", f->fd);
	if (s->type == SOCK_STREAM && s->nmsgs != 1)
		return ps_refuse(v, -EINVAL, "fd %d: a stream socket's unread bytes are one run",
				    f->fd);
	return check_socket_data_size(v, f);
}

int ps_validate_fd_socket(const struct ps_check *v, const struct ps_fd *f)
{
	const struct ps_socket *s = &f->u.sock;
	int ok_type = s->family == AF_UNIX
		? s->type == SOCK_STREAM || s->type == SOCK_DGRAM || s->type == SOCK_SEQPACKET
		: (s->type == SOCK_STREAM && s->protocol == IPPROTO_TCP) ||
		  (s->type == SOCK_DGRAM && s->protocol == IPPROTO_UDP);

	/* the decoder always gives a family; a model built otherwise may not */
	if (s->family == AF_UNSPEC)
		return ps_refuse(v, -EINVAL, "fd %d: a socket without its state (\"socket\")",
				    f->fd);
	if (!ok_type)
		return ps_refuse(v, -EINVAL, "fd %d: a socket of a family, type or protocol "
				    "procsnap does not restore", f->fd);
	if (!addr_fits(s, &s->local) || !addr_fits(s, &s->peer))
		return ps_refuse(v, -EINVAL, "fd %d: a socket address of another family", f->fd);
	if (v->uid != 0 && s->family != AF_UNIX && s->state != PS_SOCK_UNBOUND &&
	    inet_port_of(&s->local) > 0 && inet_port_of(&s->local) < 1024)
		return ps_refuse(v, -EACCES, "fd %d: bound to port %d, which only root may "
				    "bind", f->fd, inet_port_of(&s->local));
	if (check_socket_state(v, f))
		return -EINVAL;
	return check_socket_messages(v, f);
}
