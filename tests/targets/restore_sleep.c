/* restore_sleep: a process asleep in a syscall (nanosleep, pause, a FIFO read, or
 * usleep loops, a futex and a poll with timeouts) reports how they returned. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define SLEEP_SEC 4
#define WAIT_SEC 3                    /* the futex's and the poll's timeout */
#define LOOP_US 5000                  /* each usleep of the loops */
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

/* One usleep loop (in the main thread and in another): usleep is
 * nanosleep(req, NULL), with no remaining-time pointer; none may fail. */
struct loop {
	long rounds, failures;
	int first_errno;
};

static struct loop loops[2];
static const char *stop_file;
static char futex_result[200] = "futex still waiting", poll_result[200] = "poll still waiting";
static char usleep_result[200] = "usleep still waiting";

static void run_loop(struct loop *l)
{
	while (access(stop_file, F_OK) != 0) {
		if (usleep(LOOP_US) != 0 && l->failures++ == 0)
			l->first_errno = errno;
		l->rounds++;
	}
}

static void *other_loop(void *arg)
{
	run_loop(arg);
	return NULL;
}

/* A timed wait that nothing wakes must end by its timeout, not before
 * (measured on CLOCK_MONOTONIC) and not with EINTR. */
static void judge_wait(char *out, size_t len, const char *what, int rc, int e, int want_rc,
		       int want_errno, long long start)
{
	long long elapsed = now_ns() - start;

	if (rc != want_rc || (want_rc < 0 && e != want_errno))
		snprintf(out, len, "FAIL %s returned %d (%s) after %.3f s", what, rc, strerror(e),
			 elapsed / 1e9);
	else if (elapsed < WAIT_SEC * 1000000000LL - SLACK_NS)
		snprintf(out, len, "FAIL %s timed out after only %.3f s of %d s", what, elapsed / 1e9,
			 WAIT_SEC);
	else
		snprintf(out, len, "OK %s timed out after %.3f s", what, elapsed / 1e9);
}

/* FUTEX_WAIT's timeout is relative, read from memory. */
static void *futex_waiter(void *arg)
{
	static uint32_t word;
	struct timespec timeout = { WAIT_SEC, 0 };
	long long start = now_ns();
	int rc = (int)syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &timeout, NULL, 0);

	judge_wait(futex_result, sizeof(futex_result), "futex", rc, errno, -1, ETIMEDOUT, start);
	return arg;
}

/* One long usleep, which a stop before the checkpoint leaves inside
 * restart_syscall. */
static void *long_sleeper(void *arg)
{
	long long start = now_ns();
	int rc = usleep(WAIT_SEC * 1000000);

	judge_wait(usleep_result, sizeof(usleep_result), "usleep", rc, errno, 0, 0, start);
	return arg;
}

/* poll's timeout is in milliseconds, in a register. */
static void *poll_waiter(void *arg)
{
	long long start = now_ns();
	int rc = poll(NULL, 0, WAIT_SEC * 1000);

	judge_wait(poll_result, sizeof(poll_result), "poll", rc, errno, 0, 0, start);
	return arg;
}

static int loop_ok(char *out, size_t len, const char *name, const struct loop *l)
{
	if (l->failures)
		snprintf(out, len, "FAIL usleep in the %s thread: %ld of %ld calls failed, the first with %s",
			 name, l->failures, l->rounds, strerror(l->first_errno));
	else if (l->rounds == 0)
		snprintf(out, len, "FAIL usleep in the %s thread never returned", name);
	return l->failures == 0 && l->rounds > 0;
}

/* Until STOP exists, usleep loops in the main thread and another; a
 * futex, a poll and a usleep wait WAIT_SEC in three more. Then one line
 * says it all. */
static void mode_loops(void)
{
	pthread_t other, fw, pw, lw;
	char bad[300];

	pthread_create(&other, NULL, other_loop, &loops[1]);
	pthread_create(&fw, NULL, futex_waiter, NULL);
	pthread_create(&pw, NULL, poll_waiter, NULL);
	pthread_create(&lw, NULL, long_sleeper, NULL);
	ready("loops");
	run_loop(&loops[0]);
	pthread_join(other, NULL);
	pthread_join(fw, NULL);
	pthread_join(pw, NULL);
	pthread_join(lw, NULL);
	if (!loop_ok(bad, sizeof(bad), "main", &loops[0]) || !loop_ok(bad, sizeof(bad), "other", &loops[1]))
		report_to(results, "%s", bad);
	else if (futex_result[0] != 'O')
		report_to(results, "%s", futex_result);
	else if (poll_result[0] != 'O')
		report_to(results, "%s", poll_result);
	else if (usleep_result[0] != 'O')
		report_to(results, "%s", usleep_result);
	else
		report_to(results, "OK usleep loops of %ld and %ld rounds, no EINTR; %s; %s; %s", loops[0].rounds,
			  loops[1].rounds, futex_result + 3, poll_result + 3, usleep_result + 3);
}

/* Usage: restore_sleep nanosleep|pause RESULTS, or restore_sleep fifo RESULTS FIFO,
 * or restore_sleep loops RESULTS STOP */
int main(int argc, char **argv)
{
	int four = argc > 1 && (strcmp(argv[1], "fifo") == 0 || strcmp(argv[1], "loops") == 0);

	if (argc < 3 || four != (argc == 4)) {
		fprintf(stderr, "usage: restore_sleep nanosleep|pause RESULTS | fifo RESULTS FIFO | "
			"loops RESULTS STOP\n");
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
	else if (strcmp(argv[1], "loops") == 0) {
		stop_file = argv[3];
		mode_loops();
	}
	else {
		fprintf(stderr, "restore_sleep: unknown mode %s\n", argv[1]);
		return 2;
	}
	for (;;)   /* reported: wait to be killed */
		pause();
}
