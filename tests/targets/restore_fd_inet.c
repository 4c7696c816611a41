/* restore_fd_inet: holds TCP listeners on 127.0.0.1 and ::1, a bound UDP socket and a connected
 * one (with "established", both ends of a TCP connection); checks names, options, data flow. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "socktext.h"

#define UDP_RCVBUF 262144
#define UDPC_SNDBUF 16384   /* under any wmem_max: a restore that doubles it shows */

/* A failed check sets failed, so that verify stops after the first FAIL line. */
#define CHECK(bad, ...) FAIL_IF(results, (bad) && (failed = 1), __VA_ARGS__)

static volatile sig_atomic_t verify_requested;
static const char *results;
static int failed;

/* Every descriptor, its flags, and its address as getsockname gave it at the start. */
struct sock {
	const char *name;
	int fd, family, type, cloexec, nonblock;
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

enum { TCP4, TCP6, UDP, UDPC, CLI, SRV, NSOCKS };
static struct sock socks[NSOCKS] = {
	[TCP4] = { "tcp4", -1, AF_INET, SOCK_STREAM, 0, 1, { 0 }, 0 },
	[TCP6] = { "tcp6", -1, AF_INET6, SOCK_STREAM, 1, 1, { 0 }, 0 },
	[UDP] = { "udp", -1, AF_INET, SOCK_DGRAM, 1, 0, { 0 }, 0 },
	[UDPC] = { "udp_connected", -1, AF_INET, SOCK_DGRAM, 0, 0, { 0 }, 0 },
	[CLI] = { "tcp_client", -1, AF_INET, SOCK_STREAM, 0, 0, { 0 }, 0 },
	[SRV] = { "tcp_accepted", -1, AF_INET, SOCK_STREAM, 1, 0, { 0 }, 0 },
};

/* What getsockopt said at the start: the kernel doubles what was set. */
static int udp_rcvbuf, udpc_sndbuf;

static void on_usr2(int sig)
{
	verify_requested = 1;
}

static const char *addr_text(const struct sockaddr_storage *a)
{
	static char text[4][INET6_ADDRSTRLEN + 16];   /* up to 4 in one message */
	static unsigned which;
	char *t = text[which++ % 4], ip[INET6_ADDRSTRLEN] = "?";

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(t, sizeof(text[0]), "%s:%u", ip, ntohs(in->sin_port));
	} else if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(t, sizeof(text[0]), "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(t, sizeof(text[0]), "(family %d)", a->ss_family);
	}
	return t;
}

static unsigned port_of(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)a)->sin6_port)
					: ntohs(((const struct sockaddr_in *)a)->sin_port);
}

/* Same family, address and port (sockaddr_in's padding is zero from the kernel). */
static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
		      sizeof(struct in6_addr)) == 0 && port_of(a) == port_of(b);
}

static int is_loopback(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
	return a->ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

static int sockopt(int fd, int level, int opt)
{
	socklen_t len = sizeof(int);
	int v = -1;

	if (getsockopt(fd, level, opt, &v, &len) != 0)
		return -1;
	return v;
}

static void check_flags(void)
{
	int i, fl, acc;

	for (i = 0; i < NSOCKS; i++) {
		struct sock *s = &socks[i];
		int proto = s->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;

		if (s->fd < 0)
			continue;
		fl = fcntl(s->fd, F_GETFD);
		CHECK(fl < 0, "%s fd %d: F_GETFD: %s", s->name, s->fd, strerror(errno));
		CHECK(!!(fl & FD_CLOEXEC) != s->cloexec, "%s fd %d: FD_CLOEXEC is %d, want %d",
		      s->name, s->fd, !!(fl & FD_CLOEXEC), s->cloexec);
		fl = fcntl(s->fd, F_GETFL);
		CHECK(!!(fl & O_NONBLOCK) != s->nonblock, "%s fd %d: O_NONBLOCK is %d, want %d (flags 0%o)",
		      s->name, s->fd, !!(fl & O_NONBLOCK), s->nonblock, (unsigned)fl);
		CHECK(sockopt(s->fd, SOL_SOCKET, SO_DOMAIN) != s->family, "%s fd %d: SO_DOMAIN %d, want %d",
		      s->name, s->fd, sockopt(s->fd, SOL_SOCKET, SO_DOMAIN), s->family);
		CHECK(sockopt(s->fd, SOL_SOCKET, SO_TYPE) != s->type, "%s fd %d: SO_TYPE %d, want %d",
		      s->name, s->fd, sockopt(s->fd, SOL_SOCKET, SO_TYPE), s->type);
		CHECK(sockopt(s->fd, SOL_SOCKET, SO_PROTOCOL) != proto, "%s fd %d: SO_PROTOCOL %d, want %d",
		      s->name, s->fd, sockopt(s->fd, SOL_SOCKET, SO_PROTOCOL), proto);
		acc = sockopt(s->fd, SOL_SOCKET, SO_ACCEPTCONN);
		CHECK(acc != (i == TCP4 || i == TCP6), "%s fd %d: SO_ACCEPTCONN %d, want %d",
		      s->name, s->fd, acc, i == TCP4 || i == TCP6);
	}
}

/* getsockname as at the start; getpeername of the connected ones. */
static void check_names(void)
{
	struct sockaddr_storage a;
	socklen_t len;
	int i;

	for (i = 0; i < NSOCKS; i++) {
		struct sock *s = &socks[i];

		if (s->fd < 0)
			continue;
		memset(&a, 0, sizeof(a));
		len = sizeof(a);
		CHECK(getsockname(s->fd, (struct sockaddr *)&a, &len) != 0, "getsockname of %s: %s", s->name,
		      strerror(errno));
		CHECK(!same_addr(&a, &s->addr), "%s is bound to %s, want %s", s->name, addr_text(&a),
		      addr_text(&s->addr));
	}
	memset(&a, 0, sizeof(a));
	len = sizeof(a);
	CHECK(getpeername(socks[UDPC].fd, (struct sockaddr *)&a, &len) != 0, "getpeername of udp_connected: %s",
	      strerror(errno));
	CHECK(!same_addr(&a, &socks[UDP].addr), "udp_connected is connected to %s, want %s", addr_text(&a),
	      addr_text(&socks[UDP].addr));
}

static void check_option(int idx, int level, int opt, const char *name, int want)
{
	int v = sockopt(socks[idx].fd, level, opt);

	CHECK(v != want, "%s fd %d: %s is %d, want %d", socks[idx].name, socks[idx].fd, name, v, want);
}

/* The options set at the start, and on tcp6 the ones never set (a restore may set
 * SO_REUSEADDR to bind again, but must put it back). */
static void check_options(void)
{
	check_option(TCP4, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1);
	if (!failed)
		check_option(TCP4, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1);
	if (!failed)
		check_option(TCP4, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1);
	if (!failed && socks[TCP6].fd >= 0)
		check_option(TCP6, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", 1);
	if (!failed && socks[TCP6].fd >= 0)
		check_option(TCP6, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 0);
	if (!failed && socks[TCP6].fd >= 0)
		check_option(TCP6, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 0);
	if (!failed)
		check_option(UDP, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF (as read at the start)", udp_rcvbuf);
	if (!failed)
		check_option(UDPC, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF (as read at the start)", udpc_sndbuf);
}

/* The test's client connected and sent "<name>\n": accept it, read it, answer it. */
static void check_accept(int idx)
{
	struct sock *l = &socks[idx];
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	char line[64], want[64], ack[64];
	ssize_t n;
	int c;

	CHECK(!wait_readable(l->fd), "%s: the test's connection is not there to accept after %d ms", l->name, WAIT_MS);
	memset(&peer, 0, sizeof(peer));
	c = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	CHECK(c < 0, "accept of the test's connection on %s: %s", l->name, strerror(errno));
	CHECK(!is_loopback(&peer), "%s accepted a connection from %s, want loopback", l->name, addr_text(&peer));
	snprintf(want, sizeof(want), "%s\n", l->name);
	n = recv_line(c, line, sizeof(line));
	CHECK(strcmp(line, want) != 0, "the test's connection to %s sent %zd bytes '%s', want '%s'", l->name, n,
	      shown(line, n), shown(want, (ssize_t)strlen(want)));
	n = snprintf(ack, sizeof(ack), "ack-%s\n", l->name);
	CHECK(send(c, ack, (size_t)n, 0) != n, "answering the test's connection to %s: %s", l->name, strerror(errno));
	close(c);
	c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(c >= 0 || errno != EAGAIN, "a 2nd accept on the non-blocking %s returned %d (%s), want EAGAIN",
	      l->name, c, c < 0 ? strerror(errno) : "a connection");
}

/* One datagram on fd within WAIT_MS: its text and sender. */
static ssize_t recv_dgram(int fd, char *buf, size_t size, struct sockaddr_storage *from)
{
	socklen_t len = sizeof(*from);
	ssize_t n;

	memset(from, 0, sizeof(*from));
	buf[0] = '\0';
	if (!wait_readable(fd))
		return -1;
	n = recvfrom(fd, buf, size - 1, MSG_DONTWAIT, (struct sockaddr *)from, &len);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* The test's datagram; one from udp_connected; one back to it. */
static void check_udp(void)
{
	struct sockaddr_storage from;
	char buf[64];
	ssize_t n;

	n = recv_dgram(socks[UDP].fd, buf, sizeof(buf), &from);
	CHECK(n != 8 || strcmp(buf, "udp-ext\n") != 0, "udp: the test's datagram is %zd bytes '%s', want 'udp-ext\\n'",
	      n, shown(buf, n));
	CHECK(!is_loopback(&from), "udp: the test's datagram came from %s", addr_text(&from));
	CHECK(send(socks[UDPC].fd, "udp-int", 7, 0) != 7, "send on udp_connected: %s", strerror(errno));
	n = recv_dgram(socks[UDP].fd, buf, sizeof(buf), &from);
	CHECK(n != 7 || strcmp(buf, "udp-int") != 0, "udp: udp_connected's datagram is %zd bytes '%s', want 'udp-int'",
	      n, shown(buf, n));
	CHECK(!same_addr(&from, &socks[UDPC].addr), "udp: udp_connected's datagram came from %s, want %s",
	      addr_text(&from), addr_text(&socks[UDPC].addr));
	CHECK(sendto(socks[UDP].fd, "udp-back", 8, 0, (struct sockaddr *)&socks[UDPC].addr, socks[UDPC].addr_len) != 8,
	      "sendto udp_connected from udp: %s", strerror(errno));
	n = recv_dgram(socks[UDPC].fd, buf, sizeof(buf), &from);
	CHECK(n != 8 || strcmp(buf, "udp-back") != 0, "udp_connected got %zd bytes '%s' from its peer, want 'udp-back'",
	      n, shown(buf, n));
}

/* The bytes left unread both ways at the checkpoint, then new ones both ways. */
static void check_established(void)
{
	int c = socks[CLI].fd, s = socks[SRV].fd;
	char line[64];
	ssize_t n;

	n = recv_line(s, line, sizeof(line));
	CHECK(strcmp(line, "c2s-queued\n") != 0, "tcp_accepted read %zd bytes '%s', want the queued 'c2s-queued\\n'",
	      n, shown(line, n));
	n = recv_line(c, line, sizeof(line));
	CHECK(strcmp(line, "s2c-queued\n") != 0, "tcp_client read %zd bytes '%s', want the queued 's2c-queued\\n'",
	      n, shown(line, n));
	CHECK(send(c, "c2s-new\n", 8, 0) != 8, "send on tcp_client after the restore: %s", strerror(errno));
	n = recv_line(s, line, sizeof(line));
	CHECK(strcmp(line, "c2s-new\n") != 0, "tcp_accepted read %zd bytes '%s', want 'c2s-new\\n'", n,
	      shown(line, n));
	CHECK(send(s, "s2c-new\n", 8, 0) != 8, "send on tcp_accepted after the restore: %s", strerror(errno));
	n = recv_line(c, line, sizeof(line));
	CHECK(strcmp(line, "s2c-new\n") != 0, "tcp_client read %zd bytes '%s', want 's2c-new\\n'", n,
	      shown(line, n));
}

/* Once only: it reads the test's connections and datagram. */
static void verify(void)
{
	failed = 0;
	check_flags();
	if (!failed)
		check_names();
	if (!failed)
		check_options();
	if (!failed)
		check_accept(TCP4);
	if (!failed && socks[TCP6].fd >= 0)
		check_accept(TCP6);
	if (!failed)
		check_udp();
	if (!failed && socks[CLI].fd >= 0)
		check_established();
	if (!failed)
		report_to(results, "OK %s%s%s accepted and answered; udp %s got 2 datagrams, rcvbuf %d; "
			  "udp_connected to %s; options and flags kept%s", addr_text(&socks[TCP4].addr),
			  socks[TCP6].fd >= 0 ? " and " : " (no IPv6 listener)",
			  socks[TCP6].fd >= 0 ? addr_text(&socks[TCP6].addr) : "",
			  addr_text(&socks[UDP].addr), udp_rcvbuf, addr_text(&socks[UDPC].addr),
			  socks[CLI].fd >= 0 ? "; the established connection carried its queued and new bytes" : "");
}

static void die(const char *what)
{
	fprintf(stderr, "restore_fd_inet: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void set_int(int fd, int level, int opt, int v, const char *name)
{
	if (setsockopt(fd, level, opt, &v, sizeof(v)) != 0)
		die(name);
}

/* Sets FD_CLOEXEC and O_NONBLOCK as the table says, and records the bound address. */
static void finish(struct sock *s)
{
	s->addr_len = sizeof(s->addr);
	if (fcntl(s->fd, F_SETFD, s->cloexec ? FD_CLOEXEC : 0) != 0 ||
	    fcntl(s->fd, F_SETFL, s->nonblock ? O_NONBLOCK : 0) != 0)
		die("fcntl");
	if (getsockname(s->fd, (struct sockaddr *)&s->addr, &s->addr_len) != 0)
		die("getsockname");
}

static void bind_loopback(struct sock *s)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (bind(s->fd, (struct sockaddr *)&in, sizeof(in)) != 0)
		die("bind 127.0.0.1:0");
}

static void make_tcp4(void)
{
	struct sock *s = &socks[TCP4];

	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->fd < 0)
		die("socket");
	set_int(s->fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	set_int(s->fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	set_int(s->fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
	bind_loopback(s);
	if (listen(s->fd, 7) != 0)
		die("listen");
	finish(s);
}

/* Without IPv6 on lo, no tcp6: the test says so. */
static void make_tcp6(void)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sock *s = &socks[TCP6];

	s->fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (s->fd < 0 && errno == EAFNOSUPPORT)
		return;
	if (s->fd < 0)
		die("socket(AF_INET6)");
	set_int(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
	if (bind(s->fd, (struct sockaddr *)&in6, sizeof(in6)) != 0) {
		if (errno != EADDRNOTAVAIL)
			die("bind [::1]:0");
		close(s->fd);
		s->fd = -1;
		return;
	}
	if (listen(s->fd, 4) != 0)
		die("listen");
	finish(s);
}

static void make_udp(void)
{
	struct sock *u = &socks[UDP], *c = &socks[UDPC];
	socklen_t len = sizeof(int);

	u->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (u->fd < 0)
		die("socket");
	set_int(u->fd, SOL_SOCKET, SO_RCVBUF, UDP_RCVBUF, "SO_RCVBUF");
	bind_loopback(u);
	finish(u);
	if (getsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &udp_rcvbuf, &len) != 0)
		die("SO_RCVBUF");

	c->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (c->fd < 0)
		die("socket");
	set_int(c->fd, SOL_SOCKET, SO_SNDBUF, UDPC_SNDBUF, "SO_SNDBUF");
	bind_loopback(c);
	if (connect(c->fd, (struct sockaddr *)&u->addr, u->addr_len) != 0)
		die("connect udp");
	finish(c);
	len = sizeof(int);
	if (getsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &udpc_sndbuf, &len) != 0)
		die("SO_SNDBUF");
}

/* Both ends of a TCP connection to our own listener, with bytes unread both ways. */
static void make_established(void)
{
	struct sock *c = &socks[CLI], *s = &socks[SRV];

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&socks[TCP4].addr, socks[TCP4].addr_len) != 0)
		die("connect to tcp4");
	if (!wait_readable(socks[TCP4].fd))
		die("no connection to accept on tcp4");
	s->fd = accept4(socks[TCP4].fd, NULL, NULL, 0);
	if (s->fd < 0)
		die("accept on tcp4");
	finish(c);
	finish(s);
	if (send(c->fd, "c2s-queued\n", 11, 0) != 11 || send(s->fd, "s2c-queued\n", 11, 0) != 11)
		die("send on the established connection");
}

static void port_field(char *buf, size_t size, const char *key, int idx)
{
	if (socks[idx].fd >= 0)
		snprintf(buf, size, " %s=%u", key, port_of(&socks[idx].addr));
	else
		snprintf(buf, size, " %s=none", key);
}

/* Usage: restore_fd_inet RESULTS [established] */
int main(int argc, char **argv)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	char tcp6[32], conn[64] = "";
	struct sigaction sa;

	if (argc != 2 && !(argc == 3 && strcmp(argv[2], "established") == 0)) {
		fprintf(stderr, "usage: restore_fd_inet RESULTS [established]\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	results = argv[1];

	make_tcp4();
	make_tcp6();
	make_udp();
	if (argc == 3) {
		make_established();
		snprintf(conn, sizeof(conn), " cli=%d srv=%d cli_port=%u", socks[CLI].fd, socks[SRV].fd,
			 port_of(&socks[CLI].addr));
	}
	port_field(tcp6, sizeof(tcp6), "tcp6_port", TCP6);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	printf("READY pid=%d tcp=%d tcp_port=%u tcp6=%d%s udp=%d udp_port=%u udp_rcvbuf=%d udpc=%d udpc_port=%u%s\n",
	       (int)getpid(), socks[TCP4].fd, port_of(&socks[TCP4].addr), socks[TCP6].fd, tcp6, socks[UDP].fd,
	       port_of(&socks[UDP].addr), udp_rcvbuf, socks[UDPC].fd, port_of(&socks[UDPC].addr), conn);
	fflush(stdout);
	for (;;) {
		if (verify_requested) {
			verify_requested = 0;
			verify();
		}
		nanosleep(&tick, NULL);
	}
}
