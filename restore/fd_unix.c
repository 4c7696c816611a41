/* What only unix sockets have at restore: the socket files they bind and
 * connect to, probed as the caller, and listen() once the creds are set. */
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "restore/fd_restore.h"

/* The socket file a's path names, or NULL (unnamed or abstract: no file). */
static const char *socket_file(const struct ps_sockaddr *a, char *buf, size_t len)
{
	const struct sockaddr_un *un = (const void *)a->sa;

	if (a->len <= offsetof(struct sockaddr_un, sun_path) + 1 || un->sun_path[0] == '\0')
		return NULL;
	snprintf(buf, len, "%.*s", (int)sizeof(un->sun_path), un->sun_path);
	return buf;
}

/* The socket file binding it again makes, or NULL. */
static const char *file_bound(const struct ps_fd *f, char *buf, size_t len)
{
	if (f->u.sock.state == PS_SOCK_UNBOUND)
		return NULL;
	return socket_file(&f->u.sock.local, buf, len);
}

/* The socket file a datagram socket connects to again, or NULL. */
static const char *file_connected_to(const struct ps_fd *f, char *buf, size_t len)
{
	const struct ps_socket *s = &f->u.sock;

	if (s->state != PS_SOCK_CONNECTED || s->peer_fd >= 0)
		return NULL;
	return socket_file(&s->peer, buf, len);
}

int ps_probe_fd_unix(struct ps_probes *ps, const struct ps_fd *f)
{
	char who[32], buf[PS_PATH_MAX];
	const char *path = file_bound(f, buf, sizeof(buf));
	int rc = 0;

	snprintf(who, sizeof(who), "fd %d", f->fd);
	if (path)
		rc = ps_probe_add(ps, who, path, W_OK | X_OK, 1, "bind a socket to %s", path);
	path = file_connected_to(f, buf, sizeof(buf));
	if (!rc && path)
		rc = ps_probe_add(ps, who, path, W_OK, 0, "connect to %s", path);
	return rc;
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

		if (f->is_dup || f->kind != PS_FD_KIND_UNIX || f->u.sock.state != PS_SOCK_LISTENING)
			continue;
		snprintf(what, sizeof(what), "fd %d: listen", f->fd);
		rc = ps_rcall(c, what, SYS_listen, (uint64_t)f->fd, f->u.sock.backlog, 0, 0, 0, 0);
		if (rc < 0)
			return (int)rc;
	}
	return 0;
}
