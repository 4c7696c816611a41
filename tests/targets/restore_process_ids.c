/* restore_process_ids: a restored process must have its old pid and tid, for the kernel and for
 * glibc, which caches the tid in struct pthread (raise, pthread_kill use it). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static volatile sig_atomic_t verify_requested, usr1_count;
static pid_t ready_pid;

static void on_usr2(int sig)
{
	verify_requested = 1;
}

static void on_usr1(int sig)
{
	usr1_count++;
}

static void verify(const char *results)
{
	pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
	char self[32] = "";
	int before, rc;
	ssize_t n;

	FAIL_IF(results, pid != ready_pid, "getpid() is %d, was %d at READY", (int)pid, (int)ready_pid);
	FAIL_IF(results, tid != pid, "gettid() is %d, getpid() %d: the main thread's tid must be the pid",
		(int)tid, (int)pid);
	n = readlink("/proc/self", self, sizeof(self) - 1);
	FAIL_IF(results, n <= 0 || atoi(self) != pid, "/proc/self is '%s', not %d", n > 0 ? self : "?", (int)pid);

	/* glibc's raise() and pthread_kill() send to the tid cached in struct
	 * pthread: a wrong tid fails (ESRCH) or signals another thread. */
	before = usr1_count;
	rc = raise(SIGUSR1);
	FAIL_IF(results, rc != 0, "raise(SIGUSR1) returned %d (%s): glibc's cached tid is stale", rc, strerror(errno));
	FAIL_IF(results, usr1_count != before + 1, "raise(SIGUSR1) returned 0 but the handler did not run");
	rc = pthread_kill(pthread_self(), SIGUSR1);
	FAIL_IF(results, rc != 0, "pthread_kill(self, SIGUSR1) returned %s: glibc's cached tid is stale", strerror(rc));
	FAIL_IF(results, usr1_count != before + 2, "pthread_kill(self, SIGUSR1) returned 0 but the handler did not run");

	report_to(results, "OK pid=%d tid=%d pgid=%d sid=%d; raise and pthread_kill reach the handler",
	       (int)pid, (int)tid, (int)getpgrp(), (int)getsid(0));
}

/* Usage: restore_process_ids RESULTS */
int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc != 2) {
		fprintf(stderr, "usage: restore_process_ids RESULTS\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	ready_pid = getpid();

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);

	printf("READY pid=%d tid=%d pgid=%d sid=%d\n", (int)ready_pid, (int)syscall(SYS_gettid),
	       (int)getpgrp(), (int)getsid(0));
	fflush(stdout);

	serve_verify(&verify_requested, verify, argv[1]);
}
