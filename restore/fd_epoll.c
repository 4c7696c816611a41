/* epoll descriptors made again in the stub; their registrations added once
 * every descriptor exists, each checked to watch the file it watched. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

#include "restore/fd_restore.h"

/* Each registration names a descriptor by number, as epoll_ctl did: the
 * file behind that number must still be the one registered (an fd closed
 * or replaced after epoll_ctl leaves a registration no number can name). */
int ps_validate_fd_epoll(const struct ps_check *v, const struct ps_fd *f)
{
	for (size_t i = 0; i < f->u.epoll.ntargets; i++) {
		const struct ps_epoll_target *t = &f->u.epoll.targets[i];
		const struct ps_fd *w = ps_fd_numbered(&v->m->fds, t->fd);

		if (!w || w->ino != t->ino)
			return ps_refuse(v, -ENOTSUP, "fd %d (eventpoll) watches a file that is "
					    "no longer open at fd %d: restoring that is not "
					    "supported", f->fd, t->fd);
	}
	return 0;
}

/* epoll_create1 takes no O_NONBLOCK: it is set after. */
int ps_restore_fd_epoll(struct ps_rctx *c, const struct ps_fd *f)
{
	char what[64];
	long nfd;
	int rc;

	snprintf(what, sizeof(what), "fd %d: epoll_create1", f->fd);
	nfd = ps_rcall(c, what, SYS_epoll_create1, f->cloexec ? EPOLL_CLOEXEC : 0, 0, 0, 0, 0, 0);
	if (nfd < 0)
		return (int)nfd;
	rc = ps_fd_move(c, f, nfd);
	if (rc || !(f->flags & O_NONBLOCK))
		return rc;
	return ps_fd_setfl(c, f);
}

/* struct epoll_event is packed on x86_64: 4 bytes of events, 8 of data. */
struct packed_epoll_event {
	uint32_t events;
	uint64_t data;
} __attribute__((packed));

/* Registrations go in once every descriptor exists, watched ones included
 * (an epoll fd may come before what it watches, or watch another epoll). */
int ps_register_fd_epoll(struct ps_rctx *c, const struct ps_fd *f)
{
	for (size_t i = 0; i < f->u.epoll.ntargets; i++) {
		const struct ps_epoll_target *t = &f->u.epoll.targets[i];
		struct packed_epoll_event ev = { t->events, t->data };
		uint64_t at = ps_rput(c, 0, &ev, sizeof(ev));
		char what[96];
		long rc;

		if (!at)
			return -EIO;
		snprintf(what, sizeof(what), "fd %d: epoll_ctl(EPOLL_CTL_ADD) of fd %d", f->fd, t->fd);
		rc = ps_rcall(c, what, SYS_epoll_ctl, (uint64_t)f->fd, EPOLL_CTL_ADD,
			      (uint64_t)t->fd, at, 0, 0);
		if (rc < 0)
			return (int)rc;
	}
	return 0;
}
