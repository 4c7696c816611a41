/* restore_fd_pipe_fifo: half pipes (a read end holding "abc", a lone write end), a 1 MiB pipe with 200000 bytes, a FIFO
 * with "fifo-data\n", stdin from another process's pipe; on SIGUSR2 checks bytes, sizes, flags, EOF, EPIPE. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define HALF_TEXT "abc"
#define BIG_SIZE (1 << 20)      /* F_SETPIPE_SZ */
#define BIG_BYTES 200000        /* more than a default 64 KiB pipe holds */
#define FIFO_TEXT "fifo-data\n"
#define STDIN_BEFORE "before\n"
#define STDIN_AFTER "after\n"
#define STDIN_WAIT_MS 10000     /* for the test's line to come through the writer */

static volatile sig_atomic_t verify_requested;
static int half_r, half_w, big_r, big_w, fifo_fd;
static ino_t stdin_ino, fifo_ino;
static char stdin_before[64];   /* what stdin gave before READY */

static void on_usr2(int sig)
{
	verify_requested = 1;
}

/* Byte i of the big pipe's contents. */
static char pattern(size_t i)
{
	return (char)('a' + (i * 7 + i / 26) % 26);
}

static void die(const char *what)
{
	fprintf(stderr, "restore_fd_pipe_fifo: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- setup ---- */

static void setup_half_pipes(void)
{
	int p[2];

	/* The read end alone, holding bytes: after them, EOF (no writer). */
	if (pipe(p) != 0 || write(p[1], HALF_TEXT, strlen(HALF_TEXT)) != (ssize_t)strlen(HALF_TEXT))
		die("half pipe (read end)");
	close(p[1]);
	half_r = p[0];
	/* The write end alone: writes fail with EPIPE (SIGPIPE ignored). */
	if (pipe(p) != 0)
		die("half pipe (write end)");
	close(p[0]);
	half_w = p[1];
	signal(SIGPIPE, SIG_IGN);
}

static void setup_big_pipe(void)
{
	static char buf[BIG_BYTES];
	int p[2];

	if (pipe(p) != 0 || fcntl(p[1], F_SETPIPE_SZ, BIG_SIZE) < 0)
		die("pipe of 1 MiB");
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	if (write(p[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		die("filling the pipe of 1 MiB");
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) != 0)   /* the read end only */
		die("O_NONBLOCK");
	big_r = p[0];
	big_w = p[1];
}

static void setup_fifo(const char *path)
{
	struct stat st;

	fifo_fd = open(path, O_RDWR);   /* both ends at once: never blocks */
	if (fifo_fd < 0 || fstat(fifo_fd, &st) != 0 ||
	    write(fifo_fd, FIFO_TEXT, strlen(FIFO_TEXT)) != (ssize_t)strlen(FIFO_TEXT))
		die(path);
	fifo_ino = st.st_ino;
}

/* stdin is a pipe written by another process: read its first line now. */
static void setup_stdin(void)
{
	struct stat st;
	size_t n = 0;

	if (fstat(0, &st) != 0 || !S_ISFIFO(st.st_mode)) {
		fprintf(stderr, "restore_fd_pipe_fifo: stdin is not a pipe\n");
		exit(1);
	}
	stdin_ino = st.st_ino;
	while (n < sizeof(stdin_before) - 1 && (n == 0 || stdin_before[n - 1] != '\n')) {
		ssize_t r = read(0, stdin_before + n, 1);   /* byte by byte: leave the rest in the pipe */

		if (r <= 0)
			die("reading the first line of stdin");
		n += (size_t)r;
	}
}

/* ---- verify: each check says why it failed in why[WHY_LEN] (CHECK_WHY) ---- */

/* Non-blocking from here, so that a writer the restore wrongly left in
 * place shows up as EAGAIN instead of hanging the verification. */
static int set_nonblock(int fd, char *why)
{
	int fl = fcntl(fd, F_GETFL);

	CHECK_WHY(fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0, "fd %d: F_SETFL: %s", fd, strerror(errno));
	return 0;
}

static int check_half_read(char *why)
{
	char buf[16] = "";
	ssize_t n;

	if (set_nonblock(half_r, why))
		return -1;
	n = read(half_r, buf, sizeof(buf) - 1);
	CHECK_WHY(n != (ssize_t)strlen(HALF_TEXT) || memcmp(buf, HALF_TEXT, n) != 0,
	      "fd %d (half read end): read returned %zd '%s' (%s), want 3 'abc'", half_r, n, n > 0 ? buf : "",
	      n < 0 ? strerror(errno) : "ok");
	n = read(half_r, buf, sizeof(buf));
	CHECK_WHY(n != 0, "fd %d (half read end): read after 'abc' returned %zd (%s), want 0: EOF, no writer", half_r, n,
	      n < 0 ? strerror(errno) : "bytes");
	return 0;
}

static int check_half_write(char *why)
{
	struct sigaction sa;
	ssize_t n;

	/* With SIGPIPE at its default the write below would kill the process. */
	CHECK_WHY(sigaction(SIGPIPE, NULL, &sa) != 0 || sa.sa_handler != SIG_IGN, "SIGPIPE is no longer ignored");
	n = write(half_w, "x", 1);
	CHECK_WHY(n != -1 || errno != EPIPE,
	      "fd %d (half write end): write returned %zd (%s), want -1 EPIPE: a reader exists",
	      half_w, n, n < 0 ? strerror(errno) : "written");
	return 0;
}

static int check_big_pipe(char *why)
{
	static char buf[BIG_BYTES + 1];
	int size = fcntl(big_r, F_GETPIPE_SZ), rfl = fcntl(big_r, F_GETFL), wfl = fcntl(big_w, F_GETFL);
	size_t got = 0;
	ssize_t n;
	struct stat r, w;

	CHECK_WHY(size != BIG_SIZE, "fd %d (big pipe): F_GETPIPE_SZ %d, want %d", big_r, size, BIG_SIZE);
	CHECK_WHY(rfl < 0 || !(rfl & O_NONBLOCK), "fd %d (big read end): flags 0%o lack O_NONBLOCK", big_r, rfl);
	CHECK_WHY(wfl < 0 || (wfl & O_NONBLOCK), "fd %d (big write end): flags 0%o, want no O_NONBLOCK", big_w, wfl);
	CHECK_WHY(fstat(big_r, &r) != 0 || fstat(big_w, &w) != 0 || r.st_ino != w.st_ino,
	      "fds %d and %d (big pipe): pipe inodes %lu and %lu: not one pipe",
	      big_r, big_w, (unsigned long)r.st_ino,
	      (unsigned long)w.st_ino);
	while ((n = read(big_r, buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n;
	CHECK_WHY(n != -1 || errno != EAGAIN, "fd %d (big read end): read after %zu bytes returned %zd (%s), want EAGAIN",
	      big_r, got, n, n < 0 ? strerror(errno) : "EOF");
	CHECK_WHY(got != BIG_BYTES, "fd %d (big pipe): held %zu bytes, want %d", big_r, got, BIG_BYTES);
	for (size_t i = 0; i < got; i++)
		CHECK_WHY(buf[i] != pattern(i), "fd %d (big pipe): byte %zu is 0x%02x, want 0x%02x", big_r, i,
		      (unsigned char)buf[i], (unsigned char)pattern(i));
	/* Both ends are of one pipe: what goes in one comes out of the other. */
	n = write(big_w, "z", 1);
	CHECK_WHY(n != 1, "fd %d (big write end): write returned %zd (%s)", big_w, n, n < 0 ? strerror(errno) : "0");
	n = read(big_r, buf, 2);
	CHECK_WHY(n != 1 || buf[0] != 'z',
	      "fd %d (big read end): read %zd bytes after a write of 'z' to fd %d, want 1 'z'",
	      big_r, n, big_w);
	return 0;
}

static int check_fifo(char *why)
{
	char buf[64] = "";
	struct stat st;
	ssize_t n;

	CHECK_WHY(fstat(fifo_fd, &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_ino != fifo_ino,
	      "fd %d (FIFO): mode 0%o inode %lu, want a FIFO with inode %lu", fifo_fd, st.st_mode,
	      (unsigned long)st.st_ino, (unsigned long)fifo_ino);
	CHECK_WHY((fcntl(fifo_fd, F_GETFL) & O_ACCMODE) != O_RDWR, "fd %d (FIFO): not O_RDWR", fifo_fd);
	if (set_nonblock(fifo_fd, why))
		return -1;
	n = read(fifo_fd, buf, sizeof(buf) - 1);
	CHECK_WHY(n != (ssize_t)strlen(FIFO_TEXT) || memcmp(buf, FIFO_TEXT, n) != 0,
	      "fd %d (FIFO): read returned %zd '%s' (%s), want 10 'fifo-data\\n'", fifo_fd, n, n > 0 ? buf : "",
	      n < 0 ? strerror(errno) : "ok");
	n = read(fifo_fd, buf, sizeof(buf));
	CHECK_WHY(n != -1 || errno != EAGAIN,
	      "fd %d (FIFO): read after its data returned %zd (%s), want EAGAIN", fifo_fd, n,
	      n < 0 ? strerror(errno) : "more bytes");
	return 0;
}

/* stdin is still the pipe the other process writes: the line the test sent
 * after the restore arrives (within STDIN_WAIT_MS). */
static int check_stdin(char *why)
{
	char buf[64] = "";
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	struct stat st;
	size_t n = 0;

	CHECK_WHY(strcmp(stdin_before, STDIN_BEFORE) != 0,
	      "stdin gave '%s' before READY, want 'before\\n'", stdin_before);
	CHECK_WHY(fstat(0, &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_ino != stdin_ino,
	      "stdin: mode 0%o pipe inode %lu, want the writer's pipe %lu", st.st_mode, (unsigned long)st.st_ino,
	      (unsigned long)stdin_ino);
	CHECK_WHY((fcntl(0, F_GETFL) & O_ACCMODE) != O_RDONLY, "stdin: not O_RDONLY");
	while (n < sizeof(buf) - 1 && (n == 0 || buf[n - 1] != '\n')) {
		int ready = poll(&pfd, 1, STDIN_WAIT_MS);
		ssize_t r;

		CHECK_WHY(ready <= 0, "stdin: %s after %zu bytes '%s', want 'after\\n'",
		      ready < 0 ? strerror(errno) : "nothing for 10 s", n, buf);
		r = read(0, buf + n, sizeof(buf) - 1 - n);
		CHECK_WHY(r <= 0, "stdin: read returned %zd (%s) after %zu bytes '%s', want 'after\\n'", r,
		      r < 0 ? strerror(errno) : "EOF: no writer", n, buf);
		n += (size_t)r;
	}
	CHECK_WHY(strcmp(buf, STDIN_AFTER) != 0, "stdin gave '%s', want 'after\\n'", buf);
	return 0;
}

/* Once only: it drains the pipes. */
static void verify(const char *results)
{
	static int done;
	char why[WHY_LEN] = "";

	FAIL_IF(results, done++, "verification runs once only: the first one drained the pipes");
	FAIL_IF(results, check_half_read(why), "%s", why);
	FAIL_IF(results, check_half_write(why), "%s", why);
	FAIL_IF(results, check_big_pipe(why), "%s", why);
	FAIL_IF(results, check_fifo(why), "%s", why);
	FAIL_IF(results, check_stdin(why), "%s", why);
	report_to(results, "OK half pipes: 'abc' then EOF, EPIPE; %d bytes back from a pipe of %d, O_NONBLOCK on "
		  "its read end only; the FIFO's 'fifo-data'; 'after' on stdin from the live writer",
	      BIG_BYTES, BIG_SIZE);
}

/* Usage: restore_fd_pipe_fifo RESULTS FIFO_PATH */
int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc != 3) {
		fprintf(stderr, "usage: restore_fd_pipe_fifo RESULTS FIFO_PATH\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	setup_stdin();
	setup_half_pipes();
	setup_big_pipe();
	setup_fifo(argv[2]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	printf("READY pid=%d half_r=%d half_w=%d big_r=%d big_w=%d fifo=%d stdin_ino=%lu\n", (int)getpid(), half_r,
	       half_w, big_r, big_w, fifo_fd, (unsigned long)stdin_ino);
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
