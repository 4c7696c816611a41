/* waits: blocked in epoll_wait (a thread) and sigtimedwait (main), two waits
 * the kernel ends with EINTR when their thread is merely stopped. With a
 * FIFO path as argument, the epoll watches that FIFO (opened O_RDWR). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define WAIT_S 4
#define EPOLL_DATA 0x5eed0000feedULL

static int ep = -1;

static void *epoll_waiter(void *unused)
{
	struct epoll_event ev = { 0 };
	int r = epoll_wait(ep, &ev, 1, WAIT_S * 1000);

	(void)unused;
	printf("epoll_wait %d %s data=%llx\n", r, r < 0 ? strerror(errno) : "ok",
	       (unsigned long long)ev.data.u64);
	fflush(stdout);
	return NULL;
}

static int watch_fifo(const char *path)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EPOLL_DATA };
	int fd = open(path, O_RDWR);

	return fd < 0 ? -1 : epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
	struct timespec timeout = { WAIT_S, 0 };
	pthread_t t;
	sigset_t set;
	int r;

	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || (argc > 1 && watch_fifo(argv[1]) < 0)) {
		perror("waits: setting up the epoll");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&t, NULL, epoll_waiter, NULL);
	printf("READY pid=%d\n", getpid());
	fflush(stdout);
	r = sigtimedwait(&set, NULL, &timeout);
	printf("sigtimedwait %d %s\n", r, r < 0 ? strerror(errno) : "signal");
	fflush(stdout);
	pthread_join(t, NULL);
	return 0;
}
