/* restore_sleep: a process asleep in a syscall (nanosleep, pause or a FIFO read)
 * reports to RESULTS how that call returned: a restore must not cut it short. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define SLEEP_SEC 4
#define SLACK_NS (20 * 1000 * 1000)   /* clock granularity: 20 ms */

static volatile sig_atomic_t got_usr1;
static const char *results;

static void on_usr1(int sig)
{
	got_usr1 = 1;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void ready(const char *mode)
{
	printf("READY pid=%d mode=%s\n", (int)getpid(), mode);
	fflush(stdout);
}

/* A relative 4 s nanosleep, with rem (as glibc's sleep passes): it must
 * return 0, not EINTR, and only when 4 s have passed since it started. */
static void mode_nanosleep(void)
{
	struct timespec req = { SLEEP_SEC, 0 }, rem = { 0, 0 };
	long long start, elapsed;
	int rc, e;

	start = now_ns();
	ready("nanosleep");
	rc = nanosleep(&req, &rem);
	e = errno;
	elapsed = now_ns() - start;
	if (rc != 0)
		report_to(results, "FAIL nanosleep returned %d (%s) after %.3f s, rem=%ld.%09ld", rc, strerror(e),
		       elapsed / 1e9, (long)rem.tv_sec, rem.tv_nsec);
	else if (elapsed < SLEEP_SEC * 1000000000LL - SLACK_NS)
		report_to(results, "FAIL nanosleep returned 0 after only %.3f s of %d s", elapsed / 1e9, SLEEP_SEC);
	else
		report_to(results, "OK nanosleep returned 0 after %.3f s (asked %d s)", elapsed / 1e9, SLEEP_SEC);
}

/* pause() returns only when a handler has run: here the SIGUSR1 the test
 * sends after the restore, never earlier. */
static void mode_pause(void)
{
	struct sigaction sa;
	int rc, e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	ready("pause");
	rc = pause();
	e = errno;
	if (!got_usr1)
		report_to(results, "FAIL pause returned %d (%s) before any SIGUSR1", rc, strerror(e));
	else if (rc != -1 || e != EINTR)
		report_to(results, "FAIL pause returned %d (%s) after SIGUSR1, expected -1 EINTR", rc, strerror(e));
	else
		report_to(results, "OK pause returned EINTR after the SIGUSR1 handler ran");
}

/* A blocking read() of a FIFO opened O_RDWR: it must return the line the
 * test writes after the restore, not EINTR or EOF. */
static void mode_fifo(const char *fifo)
{
	char buf[256];
	ssize_t n;
	int fd, e;

	fd = open(fifo, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "restore_sleep: %s: %s\n", fifo, strerror(errno));
		exit(1);
	}
	printf("READY pid=%d mode=fifo fd=%d\n", (int)getpid(), fd);
	fflush(stdout);
	n = read(fd, buf, sizeof(buf) - 1);
	e = errno;
	if (n < 0)
		report_to(results, "FAIL read of the fifo returned -1 (%s)", strerror(e));
	else if (n == 0)
		report_to(results, "FAIL read of the fifo returned 0 (end of file)");
	else {
		buf[n] = '\0';
		report_to(results, "OK read: %.*s", (int)strcspn(buf, "\n"), buf);
	}
}

/* Usage: restore_sleep nanosleep|pause RESULTS, or restore_sleep fifo RESULTS FIFO */
int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "fifo") == 0) != (argc == 4)) {
		fprintf(stderr, "usage: restore_sleep nanosleep|pause RESULTS | fifo RESULTS FIFO\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	results = argv[2];
	if (strcmp(argv[1], "nanosleep") == 0)
		mode_nanosleep();
	else if (strcmp(argv[1], "pause") == 0)
		mode_pause();
	else if (strcmp(argv[1], "fifo") == 0)
		mode_fifo(argv[3]);
	else {
		fprintf(stderr, "restore_sleep: unknown mode %s\n", argv[1]);
		return 2;
	}
	for (;;)   /* reported: wait to be killed */
		pause();
}
