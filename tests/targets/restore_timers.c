/* restore_timers: holds an ITIMER_REAL one-shot, ITIMER_VIRTUAL/PROF and four POSIX timers (signal
 * with a value, periodic to one thread, SIGEV_NONE, disarmed); on SIGUSR2 checks ids, times, signals. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

/* Linux 6.17 (not in every libc's headers yet): GET says whether timer_create
 * takes the id to give from its caller. A restore turns it on, then off. */
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#endif
#define RESTORE_IDS_GET 2

/* glibc before 2.35 names the thread of SIGEV_THREAD_ID only by its union member. */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define NS 1000000000LL
#define ONESHOT_S 3                 /* ITIMER_REAL and timer a: fire once, 3 s after the start */
#define PERIOD_NS (NS / 2)          /* timer b: every 500 ms */
#define NONE_S 60                   /* timer c: SIGEV_NONE, read only with timer_gettime */
#define CPU_S 100                   /* ITIMER_VIRTUAL and ITIMER_PROF, each with a 1 s interval */
#define CPU_MIN_S 90                /* this program never uses 10 s of CPU */
#define CPU_SLACK_NS 50000000LL     /* 50 ms: CPU clocks are sampled at ticks, not exactly */
#define VALUE_A 1234
#define VALUE_B 4321
#define LATE_NS (4 * NS)            /* a one-shot fires within 4 s of the restore mark */
#define RATE_WINDOW_NS (5 * NS / 2) /* timer b is watched for 2.5 s: 5 signals expected */
#define RATE_MIN 3
#define RATE_MAX 8

static volatile sig_atomic_t verify_requested;
static volatile sig_atomic_t real_count, a_count, a_value, a_code, a_timerid;
static volatile sig_atomic_t misdelivered, cpu_fired;
static volatile int64_t real_at, a_at, mark_at;   /* CLOCK_MONOTONIC ns; 0: not yet */
static int64_t t0;                                 /* CLOCK_MONOTONIC at READY */

static int sig_a, sig_b, sig_d;
static timer_t tm_a, tm_b, tm_c, tm_d, tm_deleted;
static struct itimerval ready_virtual, ready_prof;

/* Written by the thread that timer b signals, read by verify(). */
static atomic_int worker_tid, id_b, b_count, b_bad, b_bad_code, b_bad_value, b_bad_timerid;

static char why[400];   /* the reason a check below failed */
#define BAD(...) (snprintf(why, sizeof(why), __VA_ARGS__), false)

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * NS + ts->tv_nsec;
}

static int64_t tv_ns(const struct timeval *tv)
{
	return tv->tv_sec * NS + tv->tv_usec * 1000LL;
}

static double secs(int64_t ns)
{
	return (double)ns / NS;
}

/* glibc's timer_t of a timer that is not SIGEV_THREAD is the kernel's id. */
static int kid(timer_t t)
{
	return (int)(intptr_t)t;
}

/* ---- signal handlers: they only record ---- */

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

/* The test sends SIGUSR1 as soon as the restore returns: the restore mark. */
static void on_usr1(int sig)
{
	(void)sig;
	if (!mark_at)
		mark_at = now_ns();
}

static void on_alrm(int sig)
{
	(void)sig;
	real_count++;
	real_at = now_ns();
}

static void on_timer_a(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	a_count++;
	a_value = si->si_value.sival_int;
	a_code = si->si_code;
	a_timerid = si->si_timerid;
	a_at = now_ns();
}

/* Timer b's signal is blocked in every thread but the one it is for, which
 * takes it with sigwaitinfo: it reaches this handler only if it was sent to
 * the process, or to the main thread, instead of that thread. */
static void on_misdelivered(int sig)
{
	(void)sig;
	misdelivered++;
}

/* ITIMER_VIRTUAL and ITIMER_PROF must not fire: 100 s of CPU are never used. */
static void on_cpu_timer(int sig)
{
	(void)sig;
	cpu_fired++;
}

/* ---- the thread timer b signals ---- */

static void *worker(void *arg)
{
	sigset_t set;
	siginfo_t si;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, sig_b);
	atomic_store(&worker_tid, (int)syscall(SYS_gettid));
	for (;;) {
		if (sigwaitinfo(&set, &si) != sig_b)
			continue;
		if (si.si_code == SI_TIMER && si.si_value.sival_int == VALUE_B &&
		    si.si_timerid == atomic_load(&id_b)) {
			atomic_fetch_add(&b_count, 1);
			continue;
		}
		atomic_store(&b_bad_code, si.si_code);
		atomic_store(&b_bad_value, si.si_value.sival_int);
		atomic_store(&b_bad_timerid, si.si_timerid);
		atomic_fetch_add(&b_bad, 1);
	}
	return NULL;
}

/* ---- verification ---- */

/* Every saved id still names its timer; the deleted one names none. */
static bool check_ids(void)
{
	const timer_t live[] = { tm_a, tm_b, tm_c, tm_d };
	const char *names = "abcd";
	struct itimerspec its;

	for (int i = 0; i < 4; i++)
		if (timer_gettime(live[i], &its) != 0)
			return BAD("timer_gettime of timer %c (id %d): %s", names[i], kid(live[i]),
				   strerror(errno));
	if (timer_gettime(tm_deleted, &its) == 0)
		return BAD("the deleted timer id %d exists again", kid(tm_deleted));
	if (errno != EINVAL)
		return BAD("timer_gettime of the deleted id %d: %s, want EINVAL", kid(tm_deleted),
			   strerror(errno));
	return true;
}

/* timer_create is back to normal: not left in restore-ids mode, and a new
 * timer gets an id of its own. The id given to the raw syscall is one in use,
 * which restore-ids mode would try to take (EBUSY); normal mode ignores it. */
static bool check_new_timer(int *new_id)
{
	struct sigevent sev;
	long mode = prctl(PR_TIMER_CREATE_RESTORE_IDS, RESTORE_IDS_GET, 0, 0, 0);
	int id = kid(tm_a);

	if (mode == -1 && errno == EINVAL)
		mode = 0;   /* a kernel before 6.17 has no such mode */
	if (mode != 0)
		return BAD("prctl(PR_TIMER_CREATE_RESTORE_IDS, GET) is %ld, want 0 (off)", mode);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_NONE;
	if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id) != 0)
		return BAD("timer_create of a new timer: %s", strerror(errno));
	*new_id = id;
	syscall(SYS_timer_delete, id);
	if (id == kid(tm_a) || id == kid(tm_b) || id == kid(tm_c) || id == kid(tm_d))
		return BAD("a new timer got id %d, which a restored timer has", id);
	return true;
}

/* Timer c (SIGEV_NONE, 60 s one-shot on CLOCK_REALTIME) still runs down: at
 * most what is left of 60 s since the later of its arming and the mark. */
static bool check_none(int64_t ref, int64_t *left)
{
	struct itimerspec its;
	int64_t max;

	if (timer_gettime(tm_c, &its) != 0)
		return BAD("timer_gettime of timer c: %s", strerror(errno));
	*left = ts_ns(&its.it_value);
	max = NONE_S * NS - (now_ns() - ref) + NS / 10;   /* 0.1 s for clock rates */
	if (*left <= 0 || *left > max)
		return BAD("timer c has %.3f s left, want more than 0 and at most %.3f s", secs(*left),
			   secs(max));
	if (ts_ns(&its.it_interval) != 0)
		return BAD("timer c has interval %.9f s, want 0", secs(ts_ns(&its.it_interval)));
	return true;
}

/* Timer d was never armed. */
static bool check_unarmed(void)
{
	struct itimerspec its;

	if (timer_gettime(tm_d, &its) != 0)
		return BAD("timer_gettime of timer d: %s", strerror(errno));
	if (ts_ns(&its.it_value) != 0 || ts_ns(&its.it_interval) != 0)
		return BAD("the never armed timer d shows %.9f s left, interval %.9f s, want 0/0",
			   secs(ts_ns(&its.it_value)), secs(ts_ns(&its.it_interval)));
	return true;
}

/* A CPU-time itimer: its interval as set, its value no more than at READY
 * (CPU time only passes) and not far below. */
static bool check_cpu_itimer(int which, const char *name, const struct itimerval *ready, double *left)
{
	struct itimerval now;

	if (getitimer(which, &now) != 0)
		return BAD("getitimer(%s): %s", name, strerror(errno));
	*left = secs(tv_ns(&now.it_value));
	if (tv_ns(&now.it_interval) != NS)
		return BAD("%s interval is %.6f s, want 1 s", name, secs(tv_ns(&now.it_interval)));
	if (tv_ns(&now.it_value) > tv_ns(&ready->it_value) + CPU_SLACK_NS)
		return BAD("%s has %.6f s left, more than the %.6f s it had at READY", name, *left,
			   secs(tv_ns(&ready->it_value)));
	if (tv_ns(&now.it_value) < CPU_MIN_S * NS)
		return BAD("%s has %.6f s left, want at least %d s", name, *left, CPU_MIN_S);
	return true;
}

/* Fired once, after the mark (or READY), within 4 s of it. */
static bool check_fired(const char *name, int count, int64_t at, int64_t ref)
{
	if (count != 1)
		return BAD("%s fired %d times, want once (%.3f s after the %s)", name, count,
			   secs(now_ns() - ref), mark_at ? "restore mark" : "start");
	if (at <= ref)
		return BAD("%s fired %.3f s before the %s", name, secs(ref - at),
			   mark_at ? "restore mark" : "start");
	if (at - ref > LATE_NS)
		return BAD("%s fired %.3f s after the %s, want at most %.1f s", name, secs(at - ref),
			   mark_at ? "restore mark" : "start", secs(LATE_NS));
	return true;
}

/* ITIMER_REAL and timer a: one expiry each, timer a's with its value and id;
 * both disarmed now. */
static bool check_oneshots(int64_t ref)
{
	struct itimerspec its;
	struct itimerval itv;

	if (!check_fired("ITIMER_REAL", real_count, real_at, ref) ||
	    !check_fired("timer a", a_count, a_at, ref))
		return false;
	if (a_value != VALUE_A || a_code != SI_TIMER || a_timerid != kid(tm_a))
		return BAD("timer a's signal: value %d si_code %d si_timerid %d, want %d, SI_TIMER (%d), %d",
			   (int)a_value, (int)a_code, (int)a_timerid, VALUE_A, SI_TIMER, kid(tm_a));
	if (getitimer(ITIMER_REAL, &itv) != 0 || tv_ns(&itv.it_value) || tv_ns(&itv.it_interval))
		return BAD("ITIMER_REAL is still armed after firing: %.6f s left, interval %.6f s",
			   secs(tv_ns(&itv.it_value)), secs(tv_ns(&itv.it_interval)));
	if (timer_gettime(tm_a, &its) != 0 || ts_ns(&its.it_value) || ts_ns(&its.it_interval))
		return BAD("timer a is still armed after firing: %.9f s left, interval %.9f s",
			   secs(ts_ns(&its.it_value)), secs(ts_ns(&its.it_interval)));
	return true;
}

static void sleep_until(int64_t when)
{
	struct timespec ts = { when / NS, when % NS };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Timer b keeps its 500 ms period and signals its thread only, with its value. */
static bool check_periodic(int *seen)
{
	struct itimerspec its;
	int before;

	if (timer_gettime(tm_b, &its) != 0)
		return BAD("timer_gettime of timer b: %s", strerror(errno));
	if (ts_ns(&its.it_interval) != PERIOD_NS)
		return BAD("timer b has interval %.9f s, want 0.5 s", secs(ts_ns(&its.it_interval)));
	if (ts_ns(&its.it_value) <= 0 || ts_ns(&its.it_value) > PERIOD_NS)
		return BAD("timer b has %.9f s to its next expiry, want in (0, 0.5] s",
			   secs(ts_ns(&its.it_value)));
	before = atomic_load(&b_count);
	sleep_until(now_ns() + RATE_WINDOW_NS);
	*seen = atomic_load(&b_count) - before;
	if (atomic_load(&b_bad))
		return BAD("thread %d got %d SIGRTMIN+4 not from timer b: si_code %d value %d si_timerid %d",
			   atomic_load(&worker_tid), atomic_load(&b_bad), atomic_load(&b_bad_code),
			   atomic_load(&b_bad_value), atomic_load(&b_bad_timerid));
	if (misdelivered)
		return BAD("timer b's signal reached the main thread %d times, want 0 (all to thread %d)",
			   (int)misdelivered, atomic_load(&worker_tid));
	if (*seen < RATE_MIN || *seen > RATE_MAX)
		return BAD("thread %d got %d signals of timer b in %.1f s, want %d to %d (every 0.5 s)",
			   atomic_load(&worker_tid), *seen, secs(RATE_WINDOW_NS), RATE_MIN, RATE_MAX);
	return true;
}

/* Once only: it takes 2.5 s, and the one-shots' counts are final. */
static void verify(const char *results)
{
	static int done;
	int64_t ref = mark_at ? mark_at : t0, c_left = 0;
	double virt = 0, prof = 0;
	int seen = 0, new_id = -1;

	FAIL_IF(results, done++, "verification runs once only");
	FAIL_IF(results, !check_none(ref, &c_left), "%s", why);
	FAIL_IF(results, !check_ids(), "%s", why);
	FAIL_IF(results, !check_new_timer(&new_id), "%s", why);
	FAIL_IF(results, !check_unarmed(), "%s", why);
	FAIL_IF(results, cpu_fired, "ITIMER_VIRTUAL or ITIMER_PROF fired %d times", (int)cpu_fired);
	FAIL_IF(results, !check_cpu_itimer(ITIMER_VIRTUAL, "ITIMER_VIRTUAL", &ready_virtual, &virt), "%s", why);
	FAIL_IF(results, !check_cpu_itimer(ITIMER_PROF, "ITIMER_PROF", &ready_prof, &prof), "%s", why);
	FAIL_IF(results, !check_oneshots(ref), "%s", why);
	FAIL_IF(results, !check_periodic(&seen), "%s", why);

	report_to(results, "OK ids a=%d b=%d c=%d d=%d kept, %d gone, new %d; mark=%s "
		  "real_after_mark=%.3f a_after_mark=%.3f a_value=%d; b: %d signals in %.1f s to tid %d; "
		  "c_left=%.3f; d 0/0; virtual=%.3f prof=%.3f interval 1 s",
		  kid(tm_a), kid(tm_b), kid(tm_c), kid(tm_d), kid(tm_deleted), new_id,
		  mark_at ? "yes" : "no", secs(real_at - ref), secs(a_at - ref), (int)a_value, seen,
		  secs(RATE_WINDOW_NS), atomic_load(&worker_tid), secs(c_left), virt, prof);
}

/* ---- setup ---- */

static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void install_handlers(void)
{
	struct sigaction sa;

	handle(SIGUSR2, on_usr2);
	handle(SIGUSR1, on_usr1);
	handle(SIGALRM, on_alrm);
	handle(sig_b, on_misdelivered);
	handle(SIGVTALRM, on_cpu_timer);
	handle(SIGPROF, on_cpu_timer);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_timer_a;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(sig_a, &sa, NULL);
}

/* The worker starts with every signal blocked, so that process-wide signals
 * (SIGALRM, SIGUSR1...) go to the main thread, and it takes timer b's with
 * sigwaitinfo. Returns its tid. */
static int start_worker(void)
{
	const struct timespec tick = { 0, 1000 * 1000 };
	sigset_t all, old;
	pthread_t th;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&th, NULL, worker, NULL) != 0)
		return -1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	while (!atomic_load(&worker_tid))
		nanosleep(&tick, NULL);
	return atomic_load(&worker_tid);
}

static int create(clockid_t clock, int notify, int sig, int value, int tid, timer_t *out)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = notify;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_int = value;
	if (notify == SIGEV_THREAD_ID)
		sev.sigev_notify_thread_id = tid;
	if (timer_create(clock, &sev, out) != 0) {
		perror("restore_timers: timer_create");
		return -1;
	}
	return 0;
}

/* a, then an extra one deleted at once, then b, c, d: the ids have a gap. */
static int create_timers(int tid)
{
	if (create(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig_a, VALUE_A, 0, &tm_a) ||
	    create(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0, &tm_deleted) || timer_delete(tm_deleted) ||
	    create(CLOCK_MONOTONIC, SIGEV_THREAD_ID, sig_b, VALUE_B, tid, &tm_b) ||
	    create(CLOCK_REALTIME, SIGEV_NONE, 0, 0, 0, &tm_c) ||
	    create(CLOCK_BOOTTIME, SIGEV_SIGNAL, sig_d, 0, 0, &tm_d))
		return -1;
	atomic_store(&id_b, kid(tm_b));
	return 0;
}

/* All relative, armed back to back: the one-shots fire 3 s from now. */
static int arm_timers(void)
{
	const struct itimerval cpu = { { 1, 0 }, { CPU_S, 0 } };
	const struct itimerval real = { { 0, 0 }, { ONESHOT_S, 0 } };
	const struct itimerspec once = { { 0, 0 }, { ONESHOT_S, 0 } };
	const struct itimerspec every = { { 0, PERIOD_NS }, { 0, PERIOD_NS } };
	const struct itimerspec none = { { 0, 0 }, { NONE_S, 0 } };

	if (setitimer(ITIMER_VIRTUAL, &cpu, NULL) || setitimer(ITIMER_PROF, &cpu, NULL) ||
	    getitimer(ITIMER_VIRTUAL, &ready_virtual) || getitimer(ITIMER_PROF, &ready_prof) ||
	    setitimer(ITIMER_REAL, &real, NULL) || timer_settime(tm_a, 0, &once, NULL) ||
	    timer_settime(tm_b, 0, &every, NULL) || timer_settime(tm_c, 0, &none, NULL)) {
		perror("restore_timers: arming the timers");
		return -1;
	}
	return 0;
}

/* Usage: restore_timers RESULTS. alarm() is not used: it is ITIMER_REAL. */
int main(int argc, char **argv)
{
	int tid;

	if (argc != 2) {
		fprintf(stderr, "usage: restore_timers RESULTS\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	sig_a = SIGRTMIN + 3;
	sig_b = SIGRTMIN + 4;
	sig_d = SIGRTMIN + 5;
	install_handlers();
	tid = start_worker();
	if (tid < 0 || create_timers(tid) || arm_timers())
		return 1;
	t0 = now_ns();

	printf("READY pid=%d worker=%d a=%d b=%d c=%d d=%d deleted=%d sig_a=%d sig_b=%d sig_d=%d\n",
	       (int)getpid(), tid, kid(tm_a), kid(tm_b), kid(tm_c), kid(tm_d), kid(tm_deleted),
	       sig_a, sig_b, sig_d);
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
