/* restore_threads_life: the life of threads goes on after a restore. K workers
 * wait for commands on a condition variable, one more thread waits to be told
 * to exit, and a thread was created and joined before the checkpoint (so
 * glibc's stack cache holds a stack for reuse). On SIGUSR2 the main thread
 * checks that:
 *   - every thread's gettid(), TLS (fs_base) and pthread_self() are what
 *     they were before (glibc keeps tids in memory: they must be true);
 *   - raise() in each thread runs the handler in that thread;
 *   - pthread_kill() and tgkill() of each worker reach that very worker;
 *   - the exiting thread exits and pthread_join returns its value (the
 *     kernel's clear_child_tid futex wake reaches the joiner);
 *   - new threads can be created (one on the cached stack), get fresh tids,
 *     and are joined with their values;
 *   - /proc/self/task then holds exactly the main thread and the workers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define K 4            /* workers */
#define NEW 8          /* threads created after the restore */
#define MAXT 64

static pthread_t self_of[K + 1];        /* [0] main, [1..K] workers */
static pid_t tid_of[K + 1];
static _Atomic int hits[K + 1];         /* SIGUSR1 handler runs, per thread */
static _Atomic pid_t hit_tid[K + 1];    /* gettid() in the last one */
static __thread int my_index = -1;      /* -1 in threads born after the setup */

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cmd_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static unsigned cmd_gen;                /* bumped for each command */
static int exit_now;
static unsigned done_gen[K + 1];
static char why[K + 1][160];            /* a worker's failed self-check */
static pthread_t exiter;
static pid_t exiter_tid, early_tid;
static void *early_stack;               /* the stack of the thread joined before the checkpoint */

static const char *results;
#define report(...) report_to(results, __VA_ARGS__)
static volatile sig_atomic_t verify_requested;

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	if (my_index >= 0 && my_index <= K) {
		atomic_store(&hit_tid[my_index], gettid());
		atomic_fetch_add(&hits[my_index], 1);
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The identity checks and a raise(), in the calling thread i; "" if fine. */
static void self_check(int i, char *out, size_t len)
{
	int before = atomic_load(&hits[i]);

	out[0] = '\0';
	if (my_index != i)
		snprintf(out, len, "TLS index %d, not %d", my_index, i);
	else if (gettid() != tid_of[i])
		snprintf(out, len, "gettid() %d, was %d", (int)gettid(), (int)tid_of[i]);
	else if (!pthread_equal(pthread_self(), self_of[i]))
		snprintf(out, len, "pthread_self() changed");
	else if (raise(SIGUSR1) != 0)
		snprintf(out, len, "raise: %s", strerror(errno));
	else if (atomic_load(&hits[i]) != before + 1 || atomic_load(&hit_tid[i]) != tid_of[i])
		snprintf(out, len, "raise(SIGUSR1): the handler ran %d times here (want 1)",
			 atomic_load(&hits[i]) - before);
}

static void *worker(void *arg)
{
	int i = (int)(long)arg;
	unsigned seen = 0;

	my_index = i;
	tid_of[i] = gettid();
	self_of[i] = pthread_self();
	pthread_mutex_lock(&m);
	for (;;) {
		while (cmd_gen == seen)
			pthread_cond_wait(&cmd_cv, &m);
		seen = cmd_gen;
		pthread_mutex_unlock(&m);
		self_check(i, why[i], sizeof(why[i]));
		pthread_mutex_lock(&m);
		done_gen[i] = seen;
		pthread_cond_broadcast(&done_cv);
	}
	return NULL;
}

static void *exiting(void *arg)
{
	(void)arg;
	exiter_tid = gettid();
	pthread_mutex_lock(&m);
	while (!exit_now)
		pthread_cond_wait(&cmd_cv, &m);
	pthread_mutex_unlock(&m);
	return (void *)0xdead;
}

static void *early(void *arg)
{
	pthread_attr_t attr;
	size_t size;

	(void)arg;
	early_tid = gettid();
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &early_stack, &size);
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

struct born {
	long n;
	pid_t tid;
	int tls;
	void *stack;
	_Atomic int signalled;
};

static __thread _Atomic int *born_hit;

static void on_usr1_new(int sig)
{
	(void)sig;
	if (born_hit)
		atomic_fetch_add(born_hit, 1);
}

static void *newborn(void *arg)
{
	struct born *b = arg;
	pthread_attr_t attr;
	size_t size;
	char name[16];

	b->tid = gettid();
	b->tls = my_index;
	born_hit = &b->signalled;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &b->stack, &size);
		pthread_attr_destroy(&attr);
	}
	snprintf(name, sizeof(name), "new%ld", b->n % 1000);
	pthread_setname_np(pthread_self(), name);
	raise(SIGUSR1);
	return (void *)(b->n * 7 + 1);
}

static int count_tasks(pid_t *tids, int max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && n < max)
			tids[n++] = (pid_t)atoi(e->d_name);
	closedir(d);
	return n;
}

static int has(const pid_t *tids, int n, pid_t t)
{
	for (int i = 0; i < n; i++)
		if (tids[i] == t)
			return 1;
	return 0;
}

/* Every check, in order; the first failure is the answer. */
static const char *check(char *msg, size_t len)
{
	struct sigaction sa;
	struct timespec deadline;
	pid_t tids[MAXT];
	struct born b[NEW];
	pthread_t t[NEW];
	void *ret;
	unsigned gen;
	int i, n, rc, before, reused = 0;

	/* The main thread itself. */
	if (getpid() != tid_of[0])
		return snprintf(msg, len, "getpid() %d, was %d", (int)getpid(), (int)tid_of[0]), msg;
	self_check(0, msg, len);
	if (msg[0])
		return msg;

	/* Each worker checks itself and raises a signal in itself. */
	pthread_mutex_lock(&m);
	gen = ++cmd_gen;
	pthread_cond_broadcast(&cmd_cv);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	for (i = 1; i <= K; i++)
		while (done_gen[i] != gen)
			if (pthread_cond_timedwait(&done_cv, &m, &deadline) == ETIMEDOUT) {
				pthread_mutex_unlock(&m);
				return snprintf(msg, len, "worker %d (tid %d) did not answer in 5 s", i,
						(int)tid_of[i]), msg;
			}
	pthread_mutex_unlock(&m);
	for (i = 1; i <= K; i++)
		if (why[i][0])
			return snprintf(msg, len, "worker %d (tid %d): %s", i, (int)tid_of[i], why[i]), msg;

	/* pthread_kill (glibc's tid) and tgkill (the kernel's) reach each worker. */
	for (int how = 0; how < 2; how++)
		for (i = 1; i <= K; i++) {
			before = atomic_load(&hits[i]);
			rc = how == 0 ? pthread_kill(self_of[i], SIGUSR1)
				      : (syscall(SYS_tgkill, getpid(), tid_of[i], SIGUSR1) == 0 ? 0 : errno);
			if (rc != 0)
				return snprintf(msg, len, "%s of worker %d (tid %d): %s",
						how ? "tgkill" : "pthread_kill", i, (int)tid_of[i], strerror(rc)), msg;
			for (int k = 0; k < 200 && atomic_load(&hits[i]) == before; k++)
				sleep_ms(10);
			if (atomic_load(&hits[i]) != before + 1 || atomic_load(&hit_tid[i]) != tid_of[i])
				return snprintf(msg, len, "%s of worker %d (tid %d): its handler ran %d times, "
						"last in tid %d", how ? "tgkill" : "pthread_kill", i, (int)tid_of[i],
						atomic_load(&hits[i]) - before, (int)atomic_load(&hit_tid[i])), msg;
		}

	/* The exiting thread exits; its joiner wakes on clear_child_tid. */
	pthread_mutex_lock(&m);
	exit_now = 1;
	pthread_cond_broadcast(&cmd_cv);
	pthread_mutex_unlock(&m);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	rc = pthread_timedjoin_np(exiter, &ret, &deadline);
	if (rc == ETIMEDOUT)
		return snprintf(msg, len, "pthread_join of the exiting thread (tid %d) timed out after 5 s: "
				"its exit did not wake the joiner (clear_child_tid)", (int)exiter_tid), msg;
	if (rc != 0 || ret != (void *)0xdead)
		return snprintf(msg, len, "pthread_join of the exiting thread: %s, value %p", strerror(rc), ret), msg;

	/* New threads: fresh tids and TLS, a working signal, joined with their
	 * values; the first reuses the stack of the thread joined before. */
	memset(b, 0, sizeof(b));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1_new;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	n = count_tasks(tids, MAXT);
	for (i = 0; i < NEW; i++) {
		b[i].n = i;
		rc = pthread_create(&t[i], NULL, newborn, &b[i]);
		if (rc != 0)
			return snprintf(msg, len, "pthread_create of new thread %d: %s", i, strerror(rc)), msg;
	}
	for (i = 0; i < NEW; i++) {
		rc = pthread_join(t[i], &ret);
		if (rc != 0 || ret != (void *)(b[i].n * 7 + 1))
			return snprintf(msg, len, "pthread_join of new thread %d: %s, value %p", i,
					strerror(rc), ret), msg;
		if (b[i].tid <= 0 || has(tids, n, b[i].tid) || b[i].tid == exiter_tid)
			return snprintf(msg, len, "new thread %d got tid %d, already taken", i, (int)b[i].tid), msg;
		for (int j = 0; j < i; j++)
			if (b[j].tid == b[i].tid)
				return snprintf(msg, len, "new threads %d and %d both got tid %d", j, i,
						(int)b[i].tid), msg;
		if (b[i].tls != -1)
			return snprintf(msg, len, "new thread %d sees TLS index %d, not its own -1", i, b[i].tls), msg;
		if (atomic_load(&b[i].signalled) != 1)
			return snprintf(msg, len, "new thread %d: raise ran its handler %d times", i,
					atomic_load(&b[i].signalled)), msg;
		reused += b[i].stack == early_stack;
	}
	if (reused != 1)
		return snprintf(msg, len, "%d new threads got the cached stack of the thread joined before, "
				"not 1: is glibc's stack cache intact?", reused), msg;
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);

	/* Left: the main thread and the workers, nothing else. */
	for (int k = 0; k < 200; k++) {   /* an exit shows in /proc a moment after the join */
		n = count_tasks(tids, MAXT);
		if (n == K + 1)
			break;
		sleep_ms(10);
	}
	if (n != K + 1)
		return snprintf(msg, len, "%d threads in /proc/self/task after the joins, want %d", n, K + 1), msg;
	for (i = 0; i <= K; i++)
		if (!has(tids, n, tid_of[i]))
			return snprintf(msg, len, "tid %d is not in /proc/self/task", (int)tid_of[i]), msg;
	snprintf(msg, len, "%d new threads created and joined (%d on the cached stack), "
		 "exiting thread joined, signals reached every thread", NEW, reused);
	return NULL;
}

/* Usage: restore_threads_life RESULTS */
int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t usr2;
	pthread_t t;
	char msg[400];

	if (argc != 2) {
		fprintf(stderr, "usage: restore_threads_life RESULTS\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	results = argv[1];
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	my_index = 0;
	tid_of[0] = gettid();
	self_of[0] = pthread_self();

	/* SIGUSR2 is for the main thread: the others are born with it blocked. */
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	for (long i = 1; i <= K; i++)
		if (pthread_create(&t, NULL, worker, (void *)i) != 0) {
			fprintf(stderr, "restore_threads_life: pthread_create failed\n");
			return 1;
		}
	if (pthread_create(&exiter, NULL, exiting, NULL) != 0) {
		fprintf(stderr, "restore_threads_life: pthread_create failed\n");
		return 1;
	}
	/* Last: its stack stays in glibc's cache, free, across the checkpoint. */
	if (pthread_create(&t, NULL, early, NULL) != 0 || pthread_join(t, NULL) != 0) {
		fprintf(stderr, "restore_threads_life: the early thread failed\n");
		return 1;
	}
	for (int k = 0, left = 1; left; k++) {   /* every thread has its tid */
		left = !exiter_tid;
		for (int i = 1; i <= K; i++)
			left += !tid_of[i];
		if (left && k == 500) {
			fprintf(stderr, "restore_threads_life: threads did not start in 5 s\n");
			return 1;
		}
		if (left)
			sleep_ms(10);
	}
	pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);

	printf("READY pid=%d exiter=%d early=%d workers=", (int)getpid(), (int)exiter_tid, (int)early_tid);
	for (int i = 1; i <= K; i++)
		printf("%s%d", i > 1 ? "," : "", (int)tid_of[i]);
	printf("\n");
	fflush(stdout);

	while (!verify_requested)
		pause();
	if (check(msg, sizeof(msg)))
		report("FAIL %s", msg);
	else
		report("OK %s", msg);
	for (;;)   /* reported: wait to be killed */
		pause();
}
