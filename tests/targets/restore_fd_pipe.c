/* restore_fd_pipe: holds both ends of a pipe (neither is stdin nor stdout) with 6 bytes
 * in its buffer; on SIGUSR2 checks the bytes are still there. With "ptmx", it
 * also holds a pseudo-terminal master, which procsnap cannot restore. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t verify_requested;

static void on_usr2(int sig)
{
	verify_requested = 1;
}

static void verify(const char *results, int rfd)
{
	char buf[16] = "", line[128];
	ssize_t n;
	int fd, len;

	fcntl(rfd, F_SETFL, O_NONBLOCK);
	n = read(rfd, buf, sizeof(buf) - 1);
	if (n == 6 && memcmp(buf, "hello\n", 6) == 0)
		len = snprintf(line, sizeof(line), "OK the pipe still holds 'hello'\n");
	else
		len = snprintf(line, sizeof(line), "FAIL read of the pipe returned %zd (%s)\n", n,
			       n < 0 ? strerror(errno) : "wrong bytes");
	fd = open(results, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)len) != len)
		fprintf(stderr, "restore_fd_pipe: cannot write %s: %s\n", results, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Usage: restore_fd_pipe RESULTS [ptmx] */
int main(int argc, char **argv)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct sigaction sa;
	int p[2], ptmx = -1;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: restore_fd_pipe RESULTS [ptmx]\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	if (pipe(p) != 0 || write(p[1], "hello\n", 6) != 6) {
		perror("restore_fd_pipe: pipe");
		return 1;
	}
	if (argc == 3 && strcmp(argv[2], "ptmx") == 0)
		ptmx = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	printf("READY pid=%d rfd=%d wfd=%d ptmx=%d\n", (int)getpid(), p[0], p[1], ptmx);
	fflush(stdout);
	for (;;) {
		if (verify_requested) {
			verify_requested = 0;
			verify(argv[1], p[0]);
		}
		nanosleep(&tick, NULL);
	}
}
