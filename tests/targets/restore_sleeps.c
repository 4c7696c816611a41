/* restore_sleeps: nine threads, each blocked in one timed or signal wait (relative and absolute
 * sleeps, sigsuspend, sigwaitinfo, poll, select, epoll_wait); on SIGUSR2 checks how each returned.
 *
 * Each wait thread records when its call began and returned (CLOCK_MONOTONIC, and CLOCK_REALTIME
 * for the absolute sleeps) and with what result; the main thread ticks every 10 ms and records
 * the longest gap between two ticks, which is the time the process was frozen or dead (checkpoint
 * to restore). verify() checks what needs no outside knowledge (results, no EINTR, nothing woke
 * before its time or its signal, the descriptors still work) and reports every time, relative to
 * base (CLOCK_MONOTONIC at startup), for the test to compare with its own clocks:
 *   nanosleep       raw nanosleep(2) (syscall 35; glibc would use clock_nanosleep) of 5 s, with rem
 *   clock_rel       clock_nanosleep(CLOCK_MONOTONIC, 0, 5 s); both take the restart-block path
 *   clock_abs       clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, base_real + 6 s)
 *   clock_abs_past  the same to base_real + 2 s: a deadline the test lets pass while the process
 *                   is dead, so the restored sleep must end at once
 *   sigsuspend      lets only SIG_SUSPEND (SIGRTMIN+6) through; its handler records the thread
 *   sigwaitinfo     for SIG_WAIT (SIGRTMIN+7), blocked in every thread
 *   poll            an empty pipe, 5000 ms
 *   select          another empty pipe, 5 s
 *   epoll_wait      an epoll watching a third empty pipe, 5000 ms
 * SIGUSR2, SIG_SUSPEND and SIG_WAIT are blocked in every thread but the one each is for, so no
 * handler interrupts a wait it is not meant for. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define WAIT_SEC 5              /* every relative sleep and timeout */
#define ABS_SEC 6               /* clock_abs: deadline base_real + 6 s */
#define ABS_PAST_SEC 2          /* clock_abs_past: base_real + 2 s */
#define SLACK 0.02              /* clock granularity, seconds */
#define EPOLL_DATA 0x5eed5eedULL
#define SIG_SUSPEND (SIGRTMIN + 6)
#define SIG_WAIT (SIGRTMIN + 7)

enum { T_NANO, T_CLK_REL, T_ABS, T_ABS_PAST, T_SUSPEND, T_SIGWAIT, T_POLL, T_SELECT, T_EPOLL, NT };
static const char *const role[NT] = { "nanosleep", "clock_rel", "clock_abs", "clock_abs_past",
				      "sigsuspend", "sigwaitinfo", "poll", "select", "epoll_wait" };
/* The x86_64 syscalls each thread may be blocked in (glibc picks poll or ppoll and so on). */
static const int want_nr[NT][3] = {
	{ SYS_nanosleep }, { SYS_clock_nanosleep }, { SYS_clock_nanosleep }, { SYS_clock_nanosleep },
	{ SYS_rt_sigsuspend }, { SYS_rt_sigtimedwait }, { SYS_poll, SYS_ppoll },
	{ SYS_select, SYS_pselect6 }, { SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2 },
};

struct wait {
	pid_t tid;
	int nr;                 /* the syscall it was seen blocked in before READY */
	_Atomic int parked;     /* about to block */
	_Atomic int done;       /* returned: the fields below are written */
	double start, end;      /* CLOCK_MONOTONIC, seconds */
	double end_real;        /* CLOCK_REALTIME, seconds */
	long rc;
	int err;
	int events;             /* poll: revents; select: the fd still set */
};

static struct wait w[NT];
static pthread_t th[NT];
static double base, base_real;          /* CLOCK_MONOTONIC, CLOCK_REALTIME at startup */
static struct timespec base_real_ts;    /* base_real, exactly: the absolute deadlines */
static double gap_from, gap_to;         /* the main thread's longest pause between ticks */
static int pipes[3][2];                 /* [0] poll, [1] select, [2] epoll */
static int epfd;
static const char *results;
static volatile sig_atomic_t verify_requested;

/* What the SIG_SUSPEND handler saw; sigwaitinfo's siginfo. */
static _Atomic int suspend_runs;
static _Atomic pid_t suspend_tid, suspend_pid;
static _Atomic int suspend_code;
static siginfo_t waited;
static sigset_t suspend_after;          /* the sigsuspend thread's mask once it returned */

static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_usr2(int sig)
{
	verify_requested = 1;
}

static void on_suspend(int sig, siginfo_t *si, void *uc)
{
	atomic_fetch_add(&suspend_runs, 1);
	atomic_store(&suspend_tid, gettid());
	atomic_store(&suspend_pid, si->si_pid);
	atomic_store(&suspend_code, si->si_code);
}

static void begin(int i)
{
	w[i].start = now(CLOCK_MONOTONIC);
	atomic_store(&w[i].parked, 1);
}

/* Called right after the call returns, with its errno. */
static void end(int i, long rc, int err)
{
	w[i].err = err;
	w[i].end = now(CLOCK_MONOTONIC);
	w[i].end_real = now(CLOCK_REALTIME);
	w[i].rc = rc;
	atomic_store(&w[i].done, 1);
}

/* The raw nanosleep syscall: glibc's nanosleep() is clock_nanosleep. */
static void t_nano(void)
{
	struct timespec req = { WAIT_SEC, 0 }, rem = { 0, 0 };
	long rc;

	begin(T_NANO);
	rc = syscall(SYS_nanosleep, &req, &rem);
	end(T_NANO, rc, errno);
}

/* clock_nanosleep returns the error number itself, errno is not set. */
static void t_clk_rel(void)
{
	struct timespec req = { WAIT_SEC, 0 }, rem = { 0, 0 };
	int rc;

	begin(T_CLK_REL);
	rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
	end(T_CLK_REL, rc, rc);
}

static void t_abs(int i, int sec)
{
	struct timespec at = { base_real_ts.tv_sec + sec, base_real_ts.tv_nsec };
	int rc;

	begin(i);
	rc = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL);
	end(i, rc, rc);
}

/* Own mask blocks SIG_SUSPEND (inherited); the wait lets only it through. */
static void t_suspend(void)
{
	sigset_t during;
	int rc, e;

	pthread_sigmask(SIG_SETMASK, NULL, &during);
	sigdelset(&during, SIG_SUSPEND);
	begin(T_SUSPEND);
	rc = sigsuspend(&during);
	e = errno;
	pthread_sigmask(SIG_SETMASK, NULL, &suspend_after);
	end(T_SUSPEND, rc, e);
}

static void t_sigwait(void)
{
	sigset_t set;
	int rc;

	sigemptyset(&set);
	sigaddset(&set, SIG_WAIT);
	begin(T_SIGWAIT);
	rc = sigwaitinfo(&set, &waited);
	end(T_SIGWAIT, rc, errno);
}

static void t_poll(void)
{
	struct pollfd p = { .fd = pipes[0][0], .events = POLLIN };
	int rc, e;

	begin(T_POLL);
	rc = poll(&p, 1, WAIT_SEC * 1000);
	e = errno;
	w[T_POLL].events = p.revents;
	end(T_POLL, rc, e);
}

static void t_select(void)
{
	struct timeval tv = { WAIT_SEC, 0 };
	fd_set rfds;
	int rc, e;

	FD_ZERO(&rfds);
	FD_SET(pipes[1][0], &rfds);
	begin(T_SELECT);
	rc = select(pipes[1][0] + 1, &rfds, NULL, NULL, &tv);
	e = errno;
	w[T_SELECT].events = FD_ISSET(pipes[1][0], &rfds);
	end(T_SELECT, rc, e);
}

static void t_epoll(void)
{
	struct epoll_event ev;
	int rc;

	begin(T_EPOLL);
	rc = epoll_wait(epfd, &ev, 1, WAIT_SEC * 1000);
	end(T_EPOLL, rc, errno);
}

static void *start(void *arg)
{
	long i = (long)arg;

	w[i].tid = gettid();
	switch (i) {
	case T_NANO: t_nano(); break;
	case T_CLK_REL: t_clk_rel(); break;
	case T_ABS: t_abs(T_ABS, ABS_SEC); break;
	case T_ABS_PAST: t_abs(T_ABS_PAST, ABS_PAST_SEC); break;
	case T_SUSPEND: t_suspend(); break;
	case T_SIGWAIT: t_sigwait(); break;
	case T_POLL: t_poll(); break;
	case T_SELECT: t_select(); break;
	case T_EPOLL: t_epoll(); break;
	}
	return NULL;
}

static int wanted(int i, int nr)
{
	for (int k = 0; k < 3; k++)
		if (want_nr[i][k] && want_nr[i][k] == nr)
			return 1;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A timed wait: the result of a timeout (0; for the sleeps, no error)
 * and not before its time: relative ones waited at least WAIT_SEC
 * (CLOCK_MONOTONIC), absolute ones woke at or after their deadline
 * (CLOCK_REALTIME). Writes why not to why. */
static int check_wait(int i, char *why, size_t len)
{
	const struct wait *t = &w[i];
	int deadline = i == T_ABS ? ABS_SEC : i == T_ABS_PAST ? ABS_PAST_SEC : 0;
	double took = t->end - t->start;

	if (t->rc != 0)   /* raw syscall, poll, select, epoll_wait: -1 and errno; clock_nanosleep: the error */
		return snprintf(why, len, "returned %ld (%s), want 0 (%s)", t->rc,
				t->rc < 0 || i == T_CLK_REL || deadline ? strerror(t->err) : "ready",
				i < T_SUSPEND ? "slept its time" : "timed out");
	if (t->events)
		return snprintf(why, len, "timed out, yet reports the empty pipe ready (0x%x)", t->events);
	if (deadline && t->end_real < base_real + deadline - SLACK)
		return snprintf(why, len, "woke at realtime base+%.3f s, before its deadline base+%d s",
				t->end_real - base_real, deadline);
	if (!deadline && took < WAIT_SEC - SLACK)
		return snprintf(why, len, "returned after %.3f s, before its %d s were up", took, WAIT_SEC);
	return 0;
}

/* sigsuspend: -1 EINTR after its handler ran once, in its thread, for a
 * kill() (SI_USER), and its own mask back; sigwaitinfo: the signal. */
static int check_signals(char *why, size_t len)
{
	const struct wait *s = &w[T_SUSPEND], *q = &w[T_SIGWAIT];

	if (atomic_load(&suspend_runs) != 1 || atomic_load(&suspend_tid) != s->tid)
		return snprintf(why, len, "sigsuspend: the SIGRTMIN+6 handler ran %d times, last in tid %d, "
				"want once in tid %d", atomic_load(&suspend_runs), (int)atomic_load(&suspend_tid),
				(int)s->tid);
	if (s->rc != -1 || s->err != EINTR)
		return snprintf(why, len, "sigsuspend returned %ld (%s), want -1 EINTR", s->rc, strerror(s->err));
	if (atomic_load(&suspend_code) != SI_USER)
		return snprintf(why, len, "sigsuspend: the signal has si_code %d, want SI_USER (%d): not kill()",
				atomic_load(&suspend_code), SI_USER);
	if (!sigismember(&suspend_after, SIG_SUSPEND) || !sigismember(&suspend_after, SIGUSR2))
		return snprintf(why, len, "after sigsuspend SIGRTMIN+6 blocked %d, SIGUSR2 blocked %d: "
				"want both, its own mask back", sigismember(&suspend_after, SIG_SUSPEND),
				sigismember(&suspend_after, SIGUSR2));
	if (q->rc != SIG_WAIT || waited.si_signo != SIG_WAIT || waited.si_code != SI_USER)
		return snprintf(why, len, "sigwaitinfo returned %ld (%s) signo %d code %d, want %d, SI_USER (%d)",
				q->rc, q->rc < 0 ? strerror(q->err) : "-", waited.si_signo, waited.si_code,
				SIG_WAIT, SI_USER);
	return 0;
}

/* The pipes are still empty pipes, and work; the epoll still has its
 * registration: each of them written, then seen readable through its own
 * wait, then read back. */
static int check_fds(char *why, size_t len)
{
	struct epoll_event ev = { 0 };
	struct pollfd p;
	struct stat st;
	char c;
	int i, n;

	for (i = 0; i < 3; i++) {
		if (fstat(pipes[i][0], &st) != 0 || !S_ISFIFO(st.st_mode))
			return snprintf(why, len, "fd %d is no longer a pipe", pipes[i][0]);
		fcntl(pipes[i][0], F_SETFL, O_NONBLOCK);
		n = (int)read(pipes[i][0], &c, 1);
		if (n != -1 || errno != EAGAIN)
			return snprintf(why, len, "pipe %d held data (read returned %d, %s), want empty",
					pipes[i][0], n, n < 0 ? strerror(errno) : "-");
		if (write(pipes[i][1], "x", 1) != 1)
			return snprintf(why, len, "write to pipe fd %d: %s", pipes[i][1], strerror(errno));
	}
	n = epoll_wait(epfd, &ev, 1, 0);
	if (n != 1 || ev.data.u64 != EPOLL_DATA || !(ev.events & EPOLLIN))
		return snprintf(why, len, "epoll fd %d: epoll_wait gave %d events (data 0x%llx events 0x%x), "
				"want 1 EPOLLIN with 0x%llx", epfd, n, (unsigned long long)ev.data.u64,
				ev.events, EPOLL_DATA);
	p = (struct pollfd){ .fd = pipes[0][0], .events = POLLIN };
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
		return snprintf(why, len, "poll of pipe %d after a write: revents 0x%x, want POLLIN",
				pipes[0][0], p.revents);
	for (i = 0; i < 3; i++)
		if (read(pipes[i][0], &c, 1) != 1 || c != 'x')
			return snprintf(why, len, "pipe %d did not give back the byte written", pipes[i][0]);
	return 0;
}

/* Once only: it consumes the signals and the pipes' bytes. */
static void verify(void)
{
	char msg[480], why[200] = "";
	size_t n = 0;
	int i, missing = 0;

	/* The sleeps need their time (the test asks when they should be over). */
	for (int k = 0; k < 800; k++) {   /* 8 s */
		missing = 0;
		for (i = 0; i < NT; i++)
			missing += !atomic_load(&w[i].done);
		if (!missing)
			break;
		sleep_ms(10);
	}
	for (i = 0; i < NT; i++)
		FAIL_IF(results, !atomic_load(&w[i].done), "%s (tid %d) never returned: it is in syscall %d",
			role[i], (int)w[i].tid, thread_syscall(w[i].tid));
	for (i = 0; i < NT; i++)
		FAIL_IF(results, i != T_SUSPEND && i != T_SIGWAIT && check_wait(i, why, sizeof(why)),
			"%s (tid %d): %s", role[i], (int)w[i].tid, why);
	FAIL_IF(results, check_signals(why, sizeof(why)), "%s", why);
	FAIL_IF(results, check_fds(why, sizeof(why)), "%s", why);

	/* All fine: the times, relative to base, for the test. */
	n += (size_t)snprintf(msg + n, sizeof(msg) - n, "base=%.6f base_real=%.6f gap=%.3f..%.3f",
			      base, base_real, gap_from ? gap_from - base : 0, gap_to ? gap_to - base : 0);
	for (i = 0; i < NT && n < sizeof(msg); i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, " %s=%.3f..%.3f", role[i],
				      w[i].start - base, w[i].end - base);
	if (n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, " abs_real=%.3f abs_past_real=%.3f kill_pid=%d,%d",
			 w[T_ABS].end_real - base_real, w[T_ABS_PAST].end_real - base_real,
			 (int)atomic_load(&suspend_pid), (int)waited.si_pid);
	report_to(results, "OK %d waits fine: %s", NT, msg);
}

static int setup(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EPOLL_DATA };
	struct sigaction sa;
	sigset_t set;

	for (int i = 0; i < 3; i++)
		if (pipe(pipes[i]) != 0)
			return -1;
	epfd = epoll_create1(0);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, pipes[2][0], &ev) != 0)
		return -1;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_sigaction = on_suspend;
	sa.sa_flags = SA_SIGINFO;       /* no SA_RESTART: sigsuspend returns EINTR anyway */
	sigaction(SIG_SUSPEND, &sa, NULL);

	/* Every thread is born with the three blocked; the main thread then
	 * takes SIGUSR2 back. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIG_SUSPEND);
	sigaddset(&set, SIG_WAIT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (long i = 0; i < NT; i++)
		if (pthread_create(&th[i], NULL, start, (void *)i) != 0)
			return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}

/* READY only once each thread is blocked in its syscall (5 s at most). */
static int wait_parked(void)
{
	int i, nr, waits;

	for (i = 0, waits = 0; i < NT;) {
		nr = atomic_load(&w[i].parked) ? thread_syscall(w[i].tid) : -2;
		if (wanted(i, nr)) {
			w[i].nr = nr;
			i++;
			continue;
		}
		if (++waits > 5000) {
			fprintf(stderr, "restore_sleeps: the %s thread is in syscall %d, not %d\n",
				role[i], nr, want_nr[i][0]);
			return -1;
		}
		sleep_ms(1);
	}
	return 0;
}

static void ready(void)
{
	char line[640];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "READY pid=%d sig_suspend=%d sig_wait=%d base=%.6f base_real=%.6f",
			     (int)getpid(), SIG_SUSPEND, SIG_WAIT, base, base_real);
	for (int i = 0; i < NT && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%d/%d", role[i], (int)w[i].tid, w[i].nr);
	printf("%s\n", line);
	fflush(stdout);
}

/* Usage: restore_sleeps RESULTS */
int main(int argc, char **argv)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	double last, t;

	if (argc != 2) {
		fprintf(stderr, "usage: restore_sleeps RESULTS\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	results = argv[1];
	base = now(CLOCK_MONOTONIC);
	clock_gettime(CLOCK_REALTIME, &base_real_ts);
	base_real = (double)base_real_ts.tv_sec + base_real_ts.tv_nsec / 1e9;
	if (setup() != 0) {
		perror("restore_sleeps: setup");
		return 1;
	}
	if (wait_parked() != 0)
		return 1;
	ready();

	/* Ticks every 10 ms: the longest gap between two is when the process
	 * did not run (frozen for the checkpoint, then dead until restored). */
	last = now(CLOCK_MONOTONIC);
	for (;;) {
		if (verify_requested) {
			verify_requested = 0;
			verify();
		}
		nanosleep(&tick, NULL);
		t = now(CLOCK_MONOTONIC);
		if (t - last > gap_to - gap_from) {
			gap_from = last;
			gap_to = t;
		}
		last = t;
	}
}
