/* restore_threads_block: threads parked in blocking calls, each of which must
 * carry on after a restore exactly as if nothing had happened:
 *   sleep     nanosleep(3 s) with rem: returns 0, never early, never EINTR
 *   join      pthread_join of `exiter`, which waits on a condition variable
 *   exiter    pthread_cond_wait until the main thread tells it to exit
 *   barrier   pthread_barrier_wait, the main thread being the other party
 *   read      read() of a FIFO opened O_RDWR: returns what the test writes
 *   mutex     pthread_mutex_lock of a mutex the main thread holds
 *   suspend   sigsuspend() with a narrower mask than its own: returns after
 *             the handler of the signal the main thread sends it, with its
 *             own mask back
 * and the main thread in pause() until SIGUSR2. A call that returns before
 * its cause is reported at once as a FAIL line. On SIGUSR2 the main thread
 * releases them all (the FIFO is the test's to write), waits for every
 * thread, joins them and reports. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define SLEEP_SEC 3
#define SLACK_NS (20 * 1000 * 1000)
#define FIFO_MSG "hello-threads\n"
#define SIG_WAKE (SIGRTMIN + 3)

enum { T_SLEEP, T_JOIN, T_EXITER, T_BARRIER, T_READ, T_MUTEX, T_SUSPEND, NT };
static const char *const role[NT] = { "sleep", "join", "exiter", "barrier", "read", "mutex", "suspend" };
static const int want_nr[NT] = { 230, 202, 202, 202, 0, 202, 130 };   /* x86_64 syscall numbers */

static pthread_t th[NT];
static pid_t tids[NT];
static _Atomic int parked[NT];          /* about to block */
static _Atomic int done[NT];            /* returned, result[] written */
static char result[NT][200];            /* "" if fine, else why not */

/* What the main thread has done, so a thread can tell a return too early. */
static _Atomic int exit_now, at_barrier, unlocked, woke_suspend, suspend_handled;

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t bar;
static int barrier_serial[2];           /* [0] main, [1] the barrier thread */
static int fifo_fd;
static double sleep_start, sleep_end;   /* CLOCK_REALTIME, seconds */
static const char *results;
#define report(...) report_to(results, __VA_ARGS__)
static volatile sig_atomic_t verify_requested;


static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Thread i is done: fine if why is NULL; else FAIL at once, not at verify. */
static void finish(int i, const char *why, ...)
{
	va_list ap;

	if (why) {
		va_start(ap, why);
		vsnprintf(result[i], sizeof(result[i]), why, ap);
		va_end(ap);
		report("FAIL %s thread (tid %d): %s", role[i], (int)tids[i], result[i]);
	}
	atomic_store(&done[i], 1);
}

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static void on_wake(int sig)
{
	(void)sig;
	atomic_store(&suspend_handled, gettid() == tids[T_SUSPEND] ? 1 : -1);
}

static void *t_sleep(void *arg)
{
	struct timespec req = { SLEEP_SEC, 0 }, rem = { 0, 0 };
	double mono0, mono1;
	int rc, e;

	(void)arg;
	mono0 = now(CLOCK_MONOTONIC);
	sleep_start = now(CLOCK_REALTIME);
	atomic_store(&parked[T_SLEEP], 1);
	rc = nanosleep(&req, &rem);
	e = errno;
	sleep_end = now(CLOCK_REALTIME);
	mono1 = now(CLOCK_MONOTONIC);
	if (rc != 0)
		finish(T_SLEEP, "nanosleep returned %d (%s) after %.3f s, rem %ld.%09ld", rc, strerror(e),
		       mono1 - mono0, (long)rem.tv_sec, rem.tv_nsec);
	else if (mono1 - mono0 < SLEEP_SEC - SLACK_NS / 1e9)
		finish(T_SLEEP, "nanosleep returned 0 after only %.3f s of %d s", mono1 - mono0, SLEEP_SEC);
	else
		finish(T_SLEEP, NULL);
	return NULL;
}

static void *t_exiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	atomic_store(&parked[T_EXITER], 1);
	while (!atomic_load(&exit_now))
		pthread_cond_wait(&c, &m);   /* a spurious wakeup is allowed: it loops */
	pthread_mutex_unlock(&m);
	finish(T_EXITER, NULL);
	return (void *)0xc0ffee;
}

static void *t_join(void *arg)
{
	void *ret = NULL;
	int rc;

	(void)arg;
	atomic_store(&parked[T_JOIN], 1);
	rc = pthread_join(th[T_EXITER], &ret);
	if (rc != 0)
		finish(T_JOIN, "pthread_join returned %s", strerror(rc));
	else if (!atomic_load(&exit_now))
		finish(T_JOIN, "pthread_join returned before the exiter was told to exit");
	else if (ret != (void *)0xc0ffee)
		finish(T_JOIN, "pthread_join gave %p, not 0xc0ffee", ret);
	else
		finish(T_JOIN, NULL);
	return NULL;
}

static void *t_barrier(void *arg)
{
	int rc;

	(void)arg;
	atomic_store(&parked[T_BARRIER], 1);
	rc = pthread_barrier_wait(&bar);
	barrier_serial[1] = rc == PTHREAD_BARRIER_SERIAL_THREAD;
	if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
		finish(T_BARRIER, "pthread_barrier_wait returned %s", strerror(rc));
	else if (!atomic_load(&at_barrier))
		finish(T_BARRIER, "pthread_barrier_wait returned before the main thread got there");
	else
		finish(T_BARRIER, NULL);
	return NULL;
}

static void *t_read(void *arg)
{
	char buf[64];
	ssize_t n;
	int e;

	(void)arg;
	atomic_store(&parked[T_READ], 1);
	n = read(fifo_fd, buf, sizeof(buf) - 1);
	e = errno;
	if (n < 0)
		finish(T_READ, "read of the FIFO returned -1 (%s)", strerror(e));
	else if (n == 0)
		finish(T_READ, "read of the FIFO returned 0 (end of file)");
	else if (buf[n] = '\0', strcmp(buf, FIFO_MSG) != 0)
		finish(T_READ, "read of the FIFO returned '%.*s', not '%.*s'", (int)strcspn(buf, "\n"),
		       buf, (int)strcspn(FIFO_MSG, "\n"), FIFO_MSG);
	else
		finish(T_READ, NULL);
	return NULL;
}

static void *t_mutex(void *arg)
{
	int rc;

	(void)arg;
	atomic_store(&parked[T_MUTEX], 1);
	rc = pthread_mutex_lock(&held);
	if (rc != 0)
		finish(T_MUTEX, "pthread_mutex_lock returned %s", strerror(rc));
	else if (!atomic_load(&unlocked))
		finish(T_MUTEX, "got the mutex while the main thread still held it");
	else
		finish(T_MUTEX, NULL);
	if (rc == 0)
		pthread_mutex_unlock(&held);
	return NULL;
}

static char *maskstr(const sigset_t *s, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int sig = 1; sig < 65 && n < len; sig++)
		if (sigismember(s, sig) == 1)
			n += (size_t)snprintf(buf + n, len - n, "%s%d", n ? "," : "", sig);
	return buf;
}

/* Own mask: SIGUSR1, SIGUSR2 and SIG_WAKE blocked; waits with only SIG_WAKE
 * let through. The kernel puts the thread's own mask back when sigsuspend
 * returns (after the handler): SIG_WAKE must be blocked again. */
static void *t_suspend(void *arg)
{
	sigset_t own, during, after;
	char a[128], b[128];
	int rc, e;

	(void)arg;
	sigemptyset(&own);
	sigaddset(&own, SIGUSR1);
	sigaddset(&own, SIGUSR2);
	sigaddset(&own, SIG_WAKE);
	pthread_sigmask(SIG_SETMASK, &own, NULL);
	during = own;
	sigdelset(&during, SIG_WAKE);
	atomic_store(&parked[T_SUSPEND], 1);
	rc = sigsuspend(&during);
	e = errno;
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	if (!atomic_load(&woke_suspend))
		finish(T_SUSPEND, "sigsuspend returned %d (%s) before the signal was sent", rc, strerror(e));
	else if (atomic_load(&suspend_handled) != 1)
		finish(T_SUSPEND, "sigsuspend returned but the handler %s", suspend_handled ?
		       "ran in another thread" : "did not run");
	else if (rc != -1 || e != EINTR)
		finish(T_SUSPEND, "sigsuspend returned %d (%s), not -1 EINTR", rc, strerror(e));
	else if (!sigismember(&after, SIG_WAKE) || !sigismember(&after, SIGUSR1) || !sigismember(&after, SIGUSR2))
		finish(T_SUSPEND, "after sigsuspend its mask is {%s}, not its own {%s}: the mask it waited "
		       "with became its mask", maskstr(&after, a, sizeof(a)), maskstr(&own, b, sizeof(b)));
	else
		finish(T_SUSPEND, NULL);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void verify(void)
{
	char msg[1024] = "";
	size_t n = 0;
	int i, rc, missing = 0;

	/* Release everyone but the reader (the test has written the FIFO) and
	 * the sleeper (its time is its own). */
	pthread_mutex_lock(&m);
	atomic_store(&exit_now, 1);
	pthread_cond_broadcast(&c);
	pthread_mutex_unlock(&m);
	atomic_store(&woke_suspend, 1);
	pthread_kill(th[T_SUSPEND], SIG_WAKE);
	atomic_store(&unlocked, 1);
	pthread_mutex_unlock(&held);
	atomic_store(&at_barrier, 1);
	rc = pthread_barrier_wait(&bar);
	barrier_serial[0] = rc == PTHREAD_BARRIER_SERIAL_THREAD;
	for (int k = 0; k < 800; k++) {   /* 8 s */
		missing = 0;
		for (i = 0; i < NT; i++)
			missing += !atomic_load(&done[i]);
		if (!missing)
			break;
		sleep_ms(10);
	}
	for (i = 0; i < NT; i++) {
		if (!atomic_load(&done[i]))
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s (tid %d) never returned; ",
					      role[i], (int)tids[i]);
		else if (result[i][0])
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s: %s; ", role[i], result[i]);
		if (n >= sizeof(msg))
			break;
	}
	if (!msg[0] && barrier_serial[0] + barrier_serial[1] != 1)
		snprintf(msg, sizeof(msg), "%d parties of the barrier got PTHREAD_BARRIER_SERIAL_THREAD, not 1",
			 barrier_serial[0] + barrier_serial[1]);
	if (msg[0]) {
		report("FAIL %s", msg);
		return;
	}
	/* Every thread but the exiter (joined by `join`) can be joined. */
	for (i = 0; i < NT; i++) {
		if (i == T_EXITER)
			continue;
		rc = pthread_join(th[i], NULL);
		if (rc != 0) {
			report("FAIL pthread_join of the %s thread: %s", role[i], strerror(rc));
			return;
		}
	}
	report("OK all %d blocked calls returned as they should, all threads joined; "
	       "slept_from=%.6f woke=%.6f slept=%.3f", NT, sleep_start, sleep_end, sleep_end - sleep_start);
}

static void *(*const fn[NT])(void *) = { t_sleep, t_join, t_exiter, t_barrier, t_read, t_mutex, t_suspend };

static void *start(void *arg)
{
	long i = (long)arg;

	tids[i] = gettid();
	return fn[i](NULL);
}

/* Usage: restore_threads_block RESULTS FIFO */
int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t usr2;
	int i, k, nr, waits;

	if (argc != 3) {
		fprintf(stderr, "usage: restore_threads_block RESULTS FIFO\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	results = argv[1];
	fifo_fd = open(argv[2], O_RDWR);
	if (fifo_fd < 0) {
		perror(argv[2]);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_wake;
	sigaction(SIG_WAKE, &sa, NULL);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_mutex_lock(&held);

	/* SIGUSR2 is for the main thread: the others are born with it blocked. */
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	for (i = 0; i < NT; i++) {
		/* join needs the exiter's pthread_t: the exiter is created first */
		k = i == T_JOIN ? T_EXITER : i == T_EXITER ? T_JOIN : i;
		if (pthread_create(&th[k], NULL, start, (void *)(long)k) != 0) {
			fprintf(stderr, "restore_threads_block: pthread_create failed\n");
			return 1;
		}
	}
	pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);

	/* READY only once each thread is blocked in its syscall (5 s at most). */
	for (i = 0, waits = 0; i < NT; ) {
		nr = atomic_load(&parked[i]) ? thread_syscall(tids[i]) : -2;
		if (nr == want_nr[i]) {
			i++;
			continue;
		}
		if (++waits > 5000) {
			fprintf(stderr, "restore_threads_block: the %s thread is in syscall %d, not %d\n",
				role[i], nr, want_nr[i]);
			return 1;
		}
		sleep_ms(1);
	}
	printf("READY pid=%d sleep_start=%.6f", (int)getpid(), sleep_start);
	for (i = 0; i < NT; i++)
		printf(" %s=%d", role[i], (int)tids[i]);
	printf("\n");
	fflush(stdout);

	while (!verify_requested)
		pause();
	verify();
	for (;;)   /* reported: wait to be killed */
		pause();
}
