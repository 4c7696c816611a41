/* restore_fd_unix: holds unix sockets of every kind: stream, datagram and seqpacket pairs with
 * unread data, listeners bound to a path and to abstract names; checks data, names and flags. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "socktext.h"

/* A failed check sets failed, so that verify stops after the first FAIL line. */
#define CHECK(bad, ...) FAIL_IF(results, (bad) && (failed = 1), __VA_ARGS__)

static volatile sig_atomic_t verify_requested;
static const char *results;
static int failed;

/* Every descriptor, and the flags it was given. */
struct sock {
	const char *name;
	int fd, type, cloexec, nonblock;
};

enum { STREAM_A, STREAM_B, DGRAM_A, DGRAM_B, SEQ_A, SEQ_B, LISTEN, ABS_STREAM, ABS_DGRAM, OUTSIDE, NSOCKS };
static struct sock socks[NSOCKS] = {
	[STREAM_A] = { "stream_a", -1, SOCK_STREAM, 1, 0 },
	[STREAM_B] = { "stream_b", -1, SOCK_STREAM, 0, 0 },
	[DGRAM_A] = { "dgram_a", -1, SOCK_DGRAM, 0, 0 },
	[DGRAM_B] = { "dgram_b", -1, SOCK_DGRAM, 1, 0 },
	[SEQ_A] = { "seq_a", -1, SOCK_SEQPACKET, 1, 0 },
	[SEQ_B] = { "seq_b", -1, SOCK_SEQPACKET, 0, 0 },
	[LISTEN] = { "listen", -1, SOCK_STREAM, 1, 1 },
	[ABS_STREAM] = { "abs_stream", -1, SOCK_STREAM, 0, 0 },
	[ABS_DGRAM] = { "abs_dgram", -1, SOCK_DGRAM, 1, 0 },
	[OUTSIDE] = { "outside", -1, SOCK_STREAM, 0, 0 },
};

/* The three datagrams queued B->A: sizes and a pattern of their own each. */
static const size_t dgram_sizes[3] = { 1, 100, 3000 };

/* The addresses, built once at start (with the pid of then). */
static struct sockaddr_un path_addr, abs_stream_addr, abs_dgram_addr, outside_addr;
static socklen_t path_len, abs_stream_len, abs_dgram_len, outside_len;

static void on_usr2(int sig)
{
	verify_requested = 1;
}

static unsigned char pattern(int dgram, size_t i)
{
	return (unsigned char)(dgram * 101 + i * 7 + 3);
}

/* A path name: sun_path with its NUL. An abstract one: a leading NUL, no trailing one. */
static socklen_t make_addr(struct sockaddr_un *a, const char *name, int abstract)
{
	size_t len = strlen(name);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (len + 2 > sizeof(a->sun_path)) {
		fprintf(stderr, "restore_fd_unix: socket name too long: %s\n", name);
		exit(1);
	}
	memcpy(a->sun_path + abstract, name, len);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + len + !abstract);
}

/* Abstract names print with their leading NUL as '@', as ss does. */
static const char *addr_text(const struct sockaddr_un *a, socklen_t len)
{
	size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
	char name[sizeof(a->sun_path) + 1];

	if (n > sizeof(a->sun_path))
		n = sizeof(a->sun_path);
	memcpy(name, a->sun_path, n);
	if (n && name[0] == '\0')
		name[0] = '@';
	else if (n && name[n - 1] == '\0')
		n--;   /* a path's NUL */
	return shown(name, (ssize_t)n);
}

/* Receives up to len bytes from a stream socket, waiting up to WAIT_MS for each part. */
static ssize_t recv_stream(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len && wait_readable(fd)) {
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void check_flags(void)
{
	int i, fl, type, domain, acc;
	socklen_t len;

	for (i = 0; i < NSOCKS; i++) {
		struct sock *s = &socks[i];

		if (s->fd < 0)
			continue;
		fl = fcntl(s->fd, F_GETFD);
		CHECK(fl < 0, "%s fd %d: F_GETFD: %s", s->name, s->fd, strerror(errno));
		CHECK(!!(fl & FD_CLOEXEC) != s->cloexec, "%s fd %d: FD_CLOEXEC is %d, want %d",
		      s->name, s->fd, !!(fl & FD_CLOEXEC), s->cloexec);
		fl = fcntl(s->fd, F_GETFL);
		CHECK(!!(fl & O_NONBLOCK) != s->nonblock, "%s fd %d: O_NONBLOCK is %d, want %d (flags 0%o)",
		      s->name, s->fd, !!(fl & O_NONBLOCK), s->nonblock, (unsigned)fl);
		CHECK((fl & O_ACCMODE) != O_RDWR, "%s fd %d: access mode 0%o, want O_RDWR", s->name, s->fd,
		      (unsigned)(fl & O_ACCMODE));
		len = sizeof(domain);
		CHECK(getsockopt(s->fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0,
		      "%s fd %d: SO_DOMAIN: %s (is it a socket?)", s->name, s->fd, strerror(errno));
		CHECK(domain != AF_UNIX, "%s fd %d: domain %d, want AF_UNIX", s->name, s->fd, domain);
		len = sizeof(type);
		getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &type, &len);
		CHECK(type != s->type, "%s fd %d: SO_TYPE %d, want %d", s->name, s->fd, type, s->type);
		len = sizeof(acc);
		getsockopt(s->fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len);
		CHECK(acc != (i == LISTEN || i == ABS_STREAM), "%s fd %d: SO_ACCEPTCONN %d, want %d",
		      s->name, s->fd, acc, i == LISTEN || i == ABS_STREAM);
	}
}

static void check_fionread(int fd, const char *name, int want)
{
	int n = -1;

	CHECK(ioctl(fd, FIONREAD, &n) != 0, "FIONREAD on %s: %s", name, strerror(errno));
	CHECK(n != want, "FIONREAD on %s is %d, want %d", name, n, want);
}

/* The unread bytes both ways, then new bytes both ways. */
static void check_stream(void)
{
	int a = socks[STREAM_A].fd, b = socks[STREAM_B].fd;
	char buf[64] = "";
	ssize_t n;

	check_fionread(a, "stream_a", 16);
	if (failed)
		return;
	check_fionread(b, "stream_b", 6);
	if (failed)
		return;
	n = recv_stream(a, buf, 16);
	CHECK(n != 16 || memcmp(buf, "from-b-1from-b-2", 16) != 0,
	      "stream_a read %zd bytes '%s', want 16 'from-b-1from-b-2'", n, shown(buf, n));
	n = recv(a, buf, sizeof(buf), MSG_DONTWAIT);
	CHECK(n >= 0 || errno != EAGAIN, "stream_a holds more than its 16 bytes: recv returned %zd (%s)",
	      n, n < 0 ? strerror(errno) : "data");
	n = recv_stream(b, buf, 6);
	CHECK(n != 6 || memcmp(buf, "from-a", 6) != 0, "stream_b read %zd bytes '%s', want 6 'from-a'",
	      n, shown(buf, n));

	CHECK(send(a, "new-a2b", 7, MSG_DONTWAIT) != 7, "send on stream_a after the restore: %s", strerror(errno));
	n = recv_stream(b, buf, 7);
	CHECK(n != 7 || memcmp(buf, "new-a2b", 7) != 0, "stream_b got %zd bytes '%s' of new data, want 'new-a2b'",
	      n, shown(buf, n));
	CHECK(send(b, "new-b2a", 7, MSG_DONTWAIT) != 7, "send on stream_b after the restore: %s", strerror(errno));
	n = recv_stream(a, buf, 7);
	CHECK(n != 7 || memcmp(buf, "new-b2a", 7) != 0, "stream_a got %zd bytes '%s' of new data, want 'new-b2a'",
	      n, shown(buf, n));
}

/* One datagram of at most 8 KiB, without waiting: its size, -1 with errno, or -2 if truncated. */
static ssize_t recv_dgram(int fd, unsigned char *buf, size_t size)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);

	return n >= 0 && (m.msg_flags & MSG_TRUNC) ? -2 : n;
}

static const char *recv_error(ssize_t n)
{
	return n == -1 ? strerror(errno) : n == -2 ? "truncated" : "a datagram";
}

/* Three datagrams, separate, in order, whole; then nothing; then new ones both ways. */
static void check_dgram(void)
{
	int a = socks[DGRAM_A].fd, b = socks[DGRAM_B].fd, i;
	unsigned char buf[8192];
	size_t j;
	ssize_t n;

	check_fionread(a, "dgram_a (the first datagram's size)", 1);
	if (failed)
		return;
	for (i = 0; i < 3; i++) {
		n = recv_dgram(a, buf, sizeof(buf));
		CHECK(n != (ssize_t)dgram_sizes[i], "datagram %d on dgram_a: recv returned %zd (%s), want %zu bytes",
		      i + 1, n, recv_error(n), dgram_sizes[i]);
		for (j = 0; j < dgram_sizes[i]; j++)
			CHECK(buf[j] != pattern(i, j), "datagram %d on dgram_a: byte %zu is 0x%02x, want 0x%02x",
			      i + 1, j, buf[j], pattern(i, j));
	}
	n = recv_dgram(a, buf, sizeof(buf));
	CHECK(n >= 0 || errno != EAGAIN, "dgram_a holds a 4th datagram: recv returned %zd (%s), want EAGAIN",
	      n, recv_error(n));

	CHECK(send(a, "dg-a2b", 6, 0) != 6, "send on dgram_a after the restore: %s", strerror(errno));
	CHECK(!wait_readable(b), "dgram_b got nothing in %d ms after a send on dgram_a", WAIT_MS);
	n = recv_dgram(b, buf, sizeof(buf));
	CHECK(n != 6 || memcmp(buf, "dg-a2b", 6) != 0, "dgram_b got %zd bytes, want the 6 of 'dg-a2b'", n);
	CHECK(send(b, "dg-b2a!", 7, 0) != 7, "send on dgram_b after the restore: %s", strerror(errno));
	CHECK(!wait_readable(a), "dgram_a got nothing in %d ms after a send on dgram_b", WAIT_MS);
	n = recv_dgram(a, buf, sizeof(buf));
	CHECK(n != 7 || memcmp(buf, "dg-b2a!", 7) != 0, "dgram_a got %zd bytes, want the 7 of 'dg-b2a!'", n);
}

/* Two messages A->B with their boundaries; then one B->A. */
static void check_seqpacket(void)
{
	static const char *const want[2] = { "seq-one", "seq-two-longer" };
	int a = socks[SEQ_A].fd, b = socks[SEQ_B].fd, i;
	unsigned char buf[256];
	ssize_t n;

	check_fionread(b, "seq_b (both messages)", 21);
	if (failed)
		return;
	for (i = 0; i < 2; i++) {
		n = recv_dgram(b, buf, sizeof(buf));
		CHECK(n != (ssize_t)strlen(want[i]) || memcmp(buf, want[i], strlen(want[i])) != 0,
		      "message %d on seq_b: %zd bytes '%s', want %zu '%s'", i + 1, n,
		      shown(buf, n), strlen(want[i]), want[i]);
	}
	n = recv_dgram(b, buf, sizeof(buf));
	CHECK(n >= 0 || errno != EAGAIN, "seq_b holds a 3rd message: recv returned %zd (%s), want EAGAIN",
	      n, recv_error(n));
	CHECK(send(b, "seq-back", 8, 0) != 8, "send on seq_b after the restore: %s", strerror(errno));
	CHECK(!wait_readable(a), "seq_a got nothing in %d ms after a send on seq_b", WAIT_MS);
	n = recv_dgram(a, buf, sizeof(buf));
	CHECK(n != 8 || memcmp(buf, "seq-back", 8) != 0, "seq_a got %zd bytes, want the 8 of 'seq-back'", n);
}

static void check_name(int fd, const char *name, const struct sockaddr_un *want, socklen_t want_len)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);

	memset(&a, 0, sizeof(a));
	CHECK(getsockname(fd, (struct sockaddr *)&a, &len) != 0, "getsockname of %s: %s", name, strerror(errno));
	CHECK(len != want_len || memcmp(&a, want, len) != 0, "%s is bound to '%s' (length %u), want '%s' (length %u)",
	      name, addr_text(&a, len), (unsigned)len, addr_text(want, want_len), (unsigned)want_len);
}

/* Connects a fresh client to a listener, accepts it, and sends one byte each way. */
static void check_connect_accept(int lfd, const char *name, const struct sockaddr_un *addr, socklen_t len)
{
	int c, s;
	char x = 0;

	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c < 0, "socket: %s", strerror(errno));
	CHECK(connect(c, (const struct sockaddr *)addr, len) != 0, "connect to %s '%s': %s", name,
	      addr_text(addr, len), strerror(errno));
	CHECK(!wait_readable(lfd), "%s: no connection to accept %d ms after a connect", name, WAIT_MS);
	s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(s < 0, "accept on %s: %s", name, strerror(errno));
	CHECK(send(c, "c", 1, 0) != 1 || recv_stream(s, &x, 1) != 1 || x != 'c',
	      "%s: the accepted connection did not get the client's byte (got 0x%02x)", name, (unsigned char)x);
	CHECK(send(s, "s", 1, 0) != 1 || recv_stream(c, &x, 1) != 1 || x != 's',
	      "%s: the client did not get the accepted connection's byte (got 0x%02x)", name, (unsigned char)x);
	close(c);
	close(s);
}

/* The listener on a path: the test's client connected before SIGUSR2 and waits for an
 * answer; then one of our own. The listener is non-blocking: then accept says EAGAIN. */
static void check_path_listener(void)
{
	int lfd = socks[LISTEN].fd, c;
	char line[64];
	ssize_t n;

	check_name(lfd, "listen", &path_addr, path_len);
	if (failed)
		return;
	CHECK(!wait_readable(lfd), "listen: the test's connection is not there to accept after %d ms", WAIT_MS);
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(c < 0, "accept of the test's connection on listen: %s", strerror(errno));
	n = recv_line(c, line, sizeof(line));
	CHECK(n != 4 || strcmp(line, "ext\n") != 0, "the test's connection sent %zd bytes '%s', want 'ext\\n'", n,
	      shown(line, n));
	CHECK(send(c, "ack\n", 4, 0) != 4, "answering the test's connection: %s", strerror(errno));
	close(c);
	check_connect_accept(lfd, "listen", &path_addr, path_len);
	if (failed)
		return;
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(c >= 0 || errno != EAGAIN, "a 3rd accept on the non-blocking listen returned %d (%s), want EAGAIN",
	      c, c < 0 ? strerror(errno) : "a connection");
}

/* A datagram from a fresh unbound socket to the abstract name reaches the restored socket. */
static void check_abs_dgram(void)
{
	int d = socks[ABS_DGRAM].fd, s;
	unsigned char buf[64];
	ssize_t n;

	check_name(d, "abs_dgram", &abs_dgram_addr, abs_dgram_len);
	if (failed)
		return;
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s < 0, "socket: %s", strerror(errno));
	CHECK(sendto(s, "abs-dgram", 9, 0, (struct sockaddr *)&abs_dgram_addr, abs_dgram_len) != 9,
	      "sendto '%s': %s", addr_text(&abs_dgram_addr, abs_dgram_len), strerror(errno));
	close(s);
	CHECK(!wait_readable(d), "abs_dgram got nothing in %d ms after a sendto its name", WAIT_MS);
	n = recv_dgram(d, buf, sizeof(buf));
	CHECK(n != 9 || memcmp(buf, "abs-dgram", 9) != 0, "abs_dgram got %zd bytes, want the 9 of 'abs-dgram'", n);
}

/* Still connected to the listener outside the process (no restore comes this far). */
static void check_outside(void)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);

	memset(&a, 0, sizeof(a));
	CHECK(getpeername(socks[OUTSIDE].fd, (struct sockaddr *)&a, &len) != 0, "getpeername of outside: %s",
	      strerror(errno));
	CHECK(len != outside_len || memcmp(&a, &outside_addr, len) != 0, "outside's peer is '%s', want '%s'",
	      addr_text(&a, len), addr_text(&outside_addr, outside_len));
}

/* Once only: it reads the queued data and the test's connection. */
static void verify(void)
{
	failed = 0;
	check_flags();
	if (!failed)
		check_stream();
	if (!failed)
		check_dgram();
	if (!failed)
		check_seqpacket();
	if (!failed)
		check_path_listener();
	if (!failed)
		check_name(socks[ABS_STREAM].fd, "abs_stream", &abs_stream_addr, abs_stream_len);
	if (!failed)
		check_connect_accept(socks[ABS_STREAM].fd, "abs_stream", &abs_stream_addr, abs_stream_len);
	if (!failed)
		check_abs_dgram();
	if (!failed && socks[OUTSIDE].fd >= 0)
		check_outside();
	if (!failed)
		report_to(results, "OK stream pair 16+6 unread bytes, 3 datagrams (1, 100, 3000 bytes), "
			  "2 seqpackets, all in order; new data both ways; '%s' and '%s' accept; "
			  "'%s' receives; flags kept", addr_text(&path_addr, path_len),
			  addr_text(&abs_stream_addr, abs_stream_len), addr_text(&abs_dgram_addr, abs_dgram_len));
}

static void die(const char *what)
{
	fprintf(stderr, "restore_fd_unix: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Sets FD_CLOEXEC and O_NONBLOCK as the table says. */
static void set_flags(struct sock *s)
{
	if (fcntl(s->fd, F_SETFD, s->cloexec ? FD_CLOEXEC : 0) != 0 ||
	    fcntl(s->fd, F_SETFL, s->nonblock ? O_NONBLOCK : 0) != 0)
		die("fcntl");
}

static void make_pair(int type, int a, int b)
{
	int sv[2];

	if (socketpair(AF_UNIX, type, 0, sv) != 0)
		die("socketpair");
	socks[a].fd = sv[0];
	socks[b].fd = sv[1];
	set_flags(&socks[a]);
	set_flags(&socks[b]);
}

static int bound_socket(int idx, const struct sockaddr_un *addr, socklen_t len, int backlog)
{
	struct sock *s = &socks[idx];

	s->fd = socket(AF_UNIX, s->type, 0);
	if (s->fd < 0 || bind(s->fd, (const struct sockaddr *)addr, len) != 0)
		die(addr_text(addr, len));
	if (backlog && listen(s->fd, backlog) != 0)
		die("listen");
	set_flags(s);
	return s->fd;
}

/* The data left unread at the checkpoint. */
static void queue_data(void)
{
	unsigned char buf[3000];
	size_t j;
	int i;

	if (send(socks[STREAM_B].fd, "from-b-1", 8, 0) != 8 || send(socks[STREAM_B].fd, "from-b-2", 8, 0) != 8 ||
	    send(socks[STREAM_A].fd, "from-a", 6, 0) != 6)
		die("send on the stream pair");
	for (i = 0; i < 3; i++) {
		for (j = 0; j < dgram_sizes[i]; j++)
			buf[j] = pattern(i, j);
		if (send(socks[DGRAM_B].fd, buf, dgram_sizes[i], 0) != (ssize_t)dgram_sizes[i])
			die("send on the datagram pair");
	}
	if (send(socks[SEQ_A].fd, "seq-one", 7, 0) != 7 || send(socks[SEQ_A].fd, "seq-two-longer", 14, 0) != 14)
		die("send on the seqpacket pair");
}

/* Usage: restore_fd_unix RESULTS DIR [outside=PATH]: DIR gets listen.sock; PATH is a
 * listener outside the process, to which a stream socket connects (opened first). */
int main(int argc, char **argv)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	char name[128], outside_text[32] = "";
	struct sigaction sa;

	if (argc != 3 && !(argc == 4 && strncmp(argv[3], "outside=", 8) == 0)) {
		fprintf(stderr, "usage: restore_fd_unix RESULTS DIR [outside=PATH]\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	results = argv[1];

	/* First, so that it is fd 3, the first socket a restore meets. */
	if (argc == 4) {
		outside_len = make_addr(&outside_addr, argv[3] + 8, 0);
		socks[OUTSIDE].fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (socks[OUTSIDE].fd < 0 ||
		    connect(socks[OUTSIDE].fd, (struct sockaddr *)&outside_addr, outside_len) != 0)
			die(argv[3]);
		set_flags(&socks[OUTSIDE]);
		snprintf(outside_text, sizeof(outside_text), " outside=%d", socks[OUTSIDE].fd);
	}

	make_pair(SOCK_STREAM, STREAM_A, STREAM_B);
	make_pair(SOCK_DGRAM, DGRAM_A, DGRAM_B);
	make_pair(SOCK_SEQPACKET, SEQ_A, SEQ_B);
	snprintf(name, sizeof(name), "%s/listen.sock", argv[2]);
	path_len = make_addr(&path_addr, name, 0);
	bound_socket(LISTEN, &path_addr, path_len, 5);
	snprintf(name, sizeof(name), "procsnap-test-%d-stream", (int)getpid());
	abs_stream_len = make_addr(&abs_stream_addr, name, 1);
	bound_socket(ABS_STREAM, &abs_stream_addr, abs_stream_len, 3);
	snprintf(name, sizeof(name), "procsnap-test-%d-dgram", (int)getpid());
	abs_dgram_len = make_addr(&abs_dgram_addr, name, 1);
	bound_socket(ABS_DGRAM, &abs_dgram_addr, abs_dgram_len, 0);
	queue_data();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	printf("READY pid=%d stream_a=%d stream_b=%d dgram_a=%d dgram_b=%d seq_a=%d seq_b=%d listen=%d "
	       "abs_stream=%d abs_dgram=%d%s path=%s\n", (int)getpid(), socks[STREAM_A].fd, socks[STREAM_B].fd,
	       socks[DGRAM_A].fd, socks[DGRAM_B].fd, socks[SEQ_A].fd, socks[SEQ_B].fd, socks[LISTEN].fd,
	       socks[ABS_STREAM].fd, socks[ABS_DGRAM].fd, outside_text, path_addr.sun_path);
	fflush(stdout);
	for (;;) {
		if (verify_requested) {
			verify_requested = 0;
			verify();
		}
		nanosleep(&tick, NULL);
	}
}
