/* Capture of unix sockets: their state from the kernel's socket
 * diagnostics, their unread messages, and their peer inside the process. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/fd_capture.h"
#include "backend/sock_diag.h"
#include "image/fd_kinds.h"

/* The largest message peeked: above any default socket buffer (wmem_max
 * is 208 KiB) with room for raised ones. */
#define PEEK_MAX (8 << 20)

/* A unix address has a name beyond the family: a path or an abstract one. */
static int unix_named(const struct ps_sockaddr *a)
{
	return a->len > sizeof(sa_family_t);
}

/* ---- unread messages ---- */

static int add_message(struct ps_fd *f, const char *data, size_t len)
{
	struct ps_socket *s = &f->u.sock;
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
	int stream = f->u.sock.type == SOCK_STREAM, off = ps_sockopt_int(fd, SOL_SOCKET, SO_PEEK_OFF);
	int zero = 0, rc = 0;
	char *buf = malloc(PEEK_MAX);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	if (!stream && setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0) {
		free(buf);
		return ps_fd_unsupported(f, "SO_PEEK_OFF, needed to read its unread messages, was "
					 "refused");
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
		return ps_fd_unsupported(f, "a message waiting in it carries file descriptors or is "
					 "larger than 8 MiB: saving those is not supported");
	if (n < 0)
		return ps_fd_unsupported(f, "peeking at its unread messages failed");
	return 0;
}

/* ---- the socket ---- */

int ps_capture_unix_socket(int fd, struct ps_fd *f)
{
	struct ps_socket *s = &f->u.sock;
	struct ps_unix_diag d;
	int rc = ps_unix_diag((uint32_t)f->ino, &d);

	if (rc < 0)
		return ps_fd_unsupported(f, "%s", rc == -ENOENT
					 ? "the socket is not in procsnap's network namespace"
					 : "the kernel's socket diagnostics failed for it");
	s->shutdown = d.shutdown;
	if (d.state == TCP_LISTEN) {
		s->state = PS_SOCK_LISTENING;
		s->backlog = d.wqueue;
		return 0;
	}
	if (d.peer_ino)
		s->state = PS_SOCK_CONNECTED;   /* the peer is found by ps_link_fd_unix */
	else if (s->type != SOCK_DGRAM && d.state == TCP_CLOSE && s->shutdown == 3)
		s->state = PS_SOCK_DISCONNECTED;
	else
		s->state = unix_named(&s->local) ? PS_SOCK_BOUND : PS_SOCK_UNBOUND;
	s->peer_ino = d.peer_ino;
	return peek_queue(fd, f);
}

/* ---- peers ---- */

static struct ps_fd *fd_with_ino(struct ps_fd *items, size_t n, uint64_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (ps_fd_is_socket(&items[i]) && !items[i].is_dup && items[i].ino == ino)
			return &items[i];
	return NULL;
}

/*
 * A connected unix socket is restorable when its peer is a socket of this
 * process (socketpair, or both ends of a connection) or, for a datagram
 * socket, a named socket elsewhere that it can connect to again (syslog's
 * /dev/log). A stream connected to another process cannot be rebuilt.
 */
int ps_link_fd_unix(struct ps_fd_capture *cx, struct ps_fd *f)
{
	struct ps_socket *s = &f->u.sock;
	struct ps_fd *p;

	if (f->is_dup || !f->supported || s->state != PS_SOCK_CONNECTED)
		return 0;
	p = fd_with_ino(cx->items, cx->n, s->peer_ino);
	if (p && p->supported) {
		s->peer_fd = p->fd;
		return 0;
	}
	if (s->type == SOCK_DGRAM && unix_named(&s->peer))
		return 0;
	if (ps_fd_unsupported(f, "the unix socket is connected to a socket of another process: "
			      "restoring that connection is not supported"))
		return -ENOMEM;
	return ps_fd_make_other(f);   /* its state is not saved */
}

