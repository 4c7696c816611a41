/* What only the kernel's socket diagnostics (NETLINK_SOCK_DIAG) tell about a
 * socket: a unix socket's peer and queue, a TCP listener's backlog. */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/sock_diag.h"

#define REPLY_SIZE 32768

static int diag_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return fd < 0 ? -errno : fd;
}

static int send_request(int fd, void *req, size_t len)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (sendto(fd, req, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) != (ssize_t)len)
		return -errno;
	return 0;
}

/* Calls fn for every reply message until NLMSG_DONE (a dump) or the first
 * reply (an exact query). fn returns nonzero to stop early. */
static int read_replies(int fd, int dump, int (*fn)(const struct nlmsghdr *h, void *arg),
			void *arg)
{
	static __thread char buf[REPLY_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : -EIO;
			}
			if (fn(h, arg) || !dump)
				return 0;
		}
	}
}

/* ---- unix ---- */

static int parse_unix(const struct nlmsghdr *h, void *arg)
{
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	struct ps_unix_diag *out = arg;
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	const struct rtattr *a = (const struct rtattr *)(m + 1);

	if (m->udiag_ino != out->ino)
		return 0;
	out->found = 1;
	out->state = m->udiag_state;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
			memcpy(&out->peer_ino, RTA_DATA(a), sizeof(uint32_t));
		} else if (a->rta_type == UNIX_DIAG_RQLEN &&
			   RTA_PAYLOAD(a) >= sizeof(struct unix_diag_rqlen)) {
			const struct unix_diag_rqlen *q = RTA_DATA(a);

			out->rqueue = q->udiag_rqueue;
			out->wqueue = q->udiag_wqueue;
		} else if (a->rta_type == UNIX_DIAG_SHUTDOWN && RTA_PAYLOAD(a) >= 1) {
			out->shutdown = *(const uint8_t *)RTA_DATA(a);
		}
	}
	return 1;
}

/* An exact query by inode: the cookie "none" lets the kernel match on the
 * inode alone. */
int ps_unix_diag(uint32_t ino, struct ps_unix_diag *out)
{
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0U, .udiag_ino = ino,
		       .udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN,
		       .udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
	};
	int fd = diag_socket(), rc;

	memset(out, 0, sizeof(*out));
	out->ino = ino;
	if (fd < 0)
		return fd;
	rc = send_request(fd, &req, sizeof(req));
	if (rc == 0)
		rc = read_replies(fd, 0, parse_unix, out);
	close(fd);
	if (rc == 0 && !out->found)
		rc = -ENOENT;
	return rc;
}

/* ---- TCP listeners ---- */

struct listen_search {
	uint32_t ino;
	int found;
	uint32_t backlog;
};

static int parse_inet(const struct nlmsghdr *h, void *arg)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	struct listen_search *s = arg;

	if (m->idiag_inode != s->ino)
		return 0;
	/* for a listener, idiag_wqueue is sk_max_ack_backlog */
	s->found = 1;
	s->backlog = m->idiag_wqueue;
	return 1;
}

int ps_tcp_listen_backlog(int family, uint32_t ino, uint32_t *backlog)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = 1U << TCP_LISTEN },
	};
	struct listen_search s = { ino, 0, 0 };
	int fd = diag_socket(), rc;

	if (fd < 0)
		return fd;
	rc = send_request(fd, &req, sizeof(req));
	if (rc == 0)
		rc = read_replies(fd, 1, parse_inet, &s);
	close(fd);
	if (rc == 0 && !s.found)
		rc = -ENOENT;
	if (rc == 0)
		*backlog = s.backlog;
	return rc;
}
