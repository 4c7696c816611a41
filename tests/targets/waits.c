/* waits: blocked in epoll_wait (a thread) and sigtimedwait (main), two waits
 * the kernel ends with EINTR when their thread is merely stopped. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define WAIT_S 4

static void *epoll_waiter(void *unused)
{
	struct epoll_event ev;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int r = epoll_wait(ep, &ev, 1, WAIT_S * 1000);

	(void)unused;
	printf("epoll_wait %d %s\n", r, r < 0 ? strerror(errno) : "timeout");
	fflush(stdout);
	return NULL;
}

int main(void)
{
	struct timespec timeout = { WAIT_S, 0 };
	pthread_t t;
	sigset_t set;
	int r;

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
