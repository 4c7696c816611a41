/* attack: the process of the user who attacks in tests/e2e/attack.sh, with
 * one object of each kind an image names: on SIGUSR2 it says what it holds. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "report.h"

/* fd 3: a file of the user's; 4: a unix datagram socket bound in her
 * directory; 5: inotify watching that directory; 6: a FIFO of hers; 7: a
 * file of hers deleted while open, mode 0440. */
enum { FILE_FD = 3, SOCK_FD, WATCH_FD, FIFO_FD, GONE_FD };
#define GONE_TEXT "gone but open"

static volatile sig_atomic_t verify_requested;
static const char *dir;

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "attack: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void place(int fd, int at, const char *what)
{
	if (fd < 0)
		die(what);
	if (fd != at && (dup2(fd, at) < 0 || close(fd) < 0))
		die(what);
}

static struct sockaddr_un sock_name(void)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	snprintf(un.sun_path, sizeof(un.sun_path), "%s/sock", dir);
	return un;
}

/* What fd 3 reads from its start, its first line. */
static void first_line(char *buf, size_t len)
{
	ssize_t n = pread(FILE_FD, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void verify(const char *results)
{
	struct sockaddr_un want = sock_name(), got;
	socklen_t len = sizeof(got);
	char text[64];
	struct stat st;

	FAIL_IF(results, getsockname(SOCK_FD, (struct sockaddr *)&got, &len) < 0 ||
		strcmp(got.sun_path, want.sun_path) != 0, "fd 4 is not bound to %s", want.sun_path);
	FAIL_IF(results, fcntl(WATCH_FD, F_GETFD) < 0, "fd 5 is not open");
	FAIL_IF(results, fstat(FIFO_FD, &st) < 0 || !S_ISFIFO(st.st_mode), "fd 6 is not a FIFO");
	FAIL_IF(results, fstat(GONE_FD, &st) < 0 || st.st_nlink != 0 || st.st_uid != getuid() ||
		(st.st_mode & 07777) != 0440, "fd 7 is not her deleted file, mode 0440");
	FAIL_IF(results, pread(GONE_FD, text, sizeof(text), 0) != (ssize_t)strlen(GONE_TEXT) ||
		memcmp(text, GONE_TEXT, strlen(GONE_TEXT)) != 0, "fd 7 lost its content");
	first_line(text, sizeof(text));
	report_to(results, "OK fd3=%s", text);
}

int main(int argc, char **argv)
{
	struct sockaddr_un un;
	char path[256];
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: attack RESULTS DIR\n");
		return 2;
	}
	dir = argv[2];
	snprintf(path, sizeof(path), "%s/harmless", dir);
	place(open(path, O_RDONLY), FILE_FD, "open harmless");
	un = sock_name();
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0)
		die("bind");
	place(fd, SOCK_FD, "socket");
	fd = inotify_init1(0);
	if (fd < 0 || inotify_add_watch(fd, dir, IN_CREATE) < 0)
		die("inotify");
	place(fd, WATCH_FD, "inotify");
	snprintf(path, sizeof(path), "%s/fifo", dir);
	if (mkfifo(path, 0600) < 0 && errno != EEXIST)
		die("mkfifo");
	place(open(path, O_RDWR), FIFO_FD, "open fifo");
	snprintf(path, sizeof(path), "%s/gone", dir);
	place(open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), GONE_FD, "open gone");
	if (write(GONE_FD, GONE_TEXT, strlen(GONE_TEXT)) < 0 || fchmod(GONE_FD, 0440) < 0 ||
	    unlink(path) < 0)
		die("gone");
	signal(SIGUSR2, on_usr2);
	printf("READY pid=%d\n", (int)getpid());
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
