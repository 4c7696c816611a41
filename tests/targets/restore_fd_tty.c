/* restore_fd_tty: runs with stdin, stdout and stderr on a terminal (a pty slave the test
 * made); on SIGUSR2 reports where fds 0-2 lead, isatty() of each, and that they carry data. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define LINK_BUF 128
#define STDIN_WAIT_MS 5000   /* how long verify waits for the line the test types */

static volatile sig_atomic_t verify_requested;

static void on_usr2(int sig)
{
	verify_requested = 1;
}

static const char *access_mode(int fd)
{
	switch (fcntl(fd, F_GETFL) & O_ACCMODE) {
	case O_RDONLY:
		return "r";
	case O_WRONLY:
		return "w";
	case O_RDWR:
		return "rw";
	}
	return "?";
}

/* Where fd leads (its /proc/self/fd link) into buf; 0 when it can be read. */
static int fd_link(int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 && (size_t)n < size - 1 ? 0 : -1;
}

/* One line from stdin, waiting up to STDIN_WAIT_MS: its text without the newline,
 * "EOF" (as /dev/null gives), "none" (nothing came) or "error:<why>". Unprintable
 * bytes become '?', so that the text fits in the results line. */
static void read_stdin(char *out, size_t size)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	char buf[64];
	ssize_t n, i;

	if (poll(&p, 1, STDIN_WAIT_MS) != 1) {
		snprintf(out, size, "none");
		return;
	}
	n = read(0, buf, sizeof(buf) - 1);
	if (n < 0) {
		snprintf(out, size, "error:%s", strerror(errno));
		return;
	}
	if (n == 0) {
		snprintf(out, size, "EOF");
		return;
	}
	if (buf[n - 1] == '\n')
		n--;
	for (i = 0; i < n; i++)
		if (buf[i] <= ' ' || buf[i] > '~')
			buf[i] = '?';
	buf[n] = '\0';
	snprintf(out, size, "%s", buf);
}

/* Once only: it consumes the line on stdin. */
static void verify(const char *results)
{
	static int done;
	char link[3][LINK_BUF], in[80], msg[64];
	const char *tty_name;
	int fd, tty[3], len;

	FAIL_IF(results, done++, "verification runs once only: the first one read stdin");
	for (fd = 0; fd < 3; fd++) {
		FAIL_IF(results, fd_link(fd, link[fd], sizeof(link[fd])) != 0,
			"readlink /proc/self/fd/%d: %s (got '%s')", fd, strerror(errno), link[fd]);
		tty[fd] = isatty(fd);
	}
	/* The three were one open file (the test opened the slave once): they still lead
	 * to the same place, all terminals or none. */
	FAIL_IF(results, strcmp(link[1], link[0]) || strcmp(link[2], link[0]),
		"fds 0, 1, 2 lead to '%s', '%s', '%s', want one place", link[0], link[1], link[2]);
	FAIL_IF(results, tty[1] != tty[0] || tty[2] != tty[0], "isatty of fds 0, 1, 2: %d %d %d, want equal",
		tty[0], tty[1], tty[2]);
	if (tty[0]) {
		tty_name = ttyname(0);
		FAIL_IF(results, !tty_name || strcmp(tty_name, link[0]),
			"ttyname(0) is '%s', fd 0 leads to '%s'", tty_name ? tty_name : strerror(errno), link[0]);
	}
	/* Both outputs take data: the test finds these lines at the other end of a pty. */
	for (fd = 1; fd < 3; fd++) {
		len = snprintf(msg, sizeof(msg), "VERIFY-FD%d pid=%d\n", fd, (int)getpid());
		FAIL_IF(results, write(fd, msg, (size_t)len) != len, "write to fd %d (%s): %s", fd, link[fd],
			strerror(errno));
	}
	read_stdin(in, sizeof(in));
	report_to(results, "OK fd0=%s tty0=%d mode0=%s fd1=%s tty1=%d mode1=%s fd2=%s tty2=%d mode2=%s "
		  "stdin=%s", link[0], tty[0], access_mode(0), link[1], tty[1], access_mode(1), link[2],
		  tty[2], access_mode(2), in);
}

/* Usage: restore_fd_tty RESULTS READYFILE (stdout is the terminal, so the READY line
 * goes to READYFILE) */
int main(int argc, char **argv)
{
	char link[LINK_BUF];
	struct sigaction sa;

	if (argc != 3) {
		fprintf(stderr, "usage: restore_fd_tty RESULTS READYFILE\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	if (fd_link(0, link, sizeof(link)) != 0 || !isatty(0)) {
		fprintf(stderr, "restore_fd_tty: stdin (%s) is not a terminal\n", link);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	report_to(argv[2], "READY pid=%d tty=%s", (int)getpid(), link);
	serve_verify(&verify_requested, verify, argv[1]);
}
