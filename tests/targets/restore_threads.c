/* restore_threads: N threads (the main one, thread 0, included) each count steps
 * in their own slot and add every step to one shared atomic total. On SIGUSR2
 * the main thread checks that every thread is alive, has its own identity and
 * is still advancing, then pauses them all and checks that the total is
 * exactly the sum of the per-thread counts: a thread state lost, replayed or
 * given to the wrong thread by a restore breaks that sum or a self-check.
 *
 * One step of thread i:   mine++ (a local)  ->  count[i] = mine  ->  total++
 * with a sleep between the last two. A checkpoint catches about half the
 * threads between them: in an image,
 * 0 <= sum(count) - total <= N. Once every thread has finished its step
 * (the pause), sum(count) == total exactly, and each thread's local `mine`
 * (in its registers or on its stack) equals its count[i] (in memory). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define MAX_THREADS 128

struct slot {
	_Atomic uint64_t count;     /* steps done; written by its own thread only */
	_Atomic uint64_t acked;     /* the last pause generation it acknowledged */
	pid_t tid;                  /* gettid() when it started */
	pthread_t self;             /* pthread_self() when it started */
	uintptr_t stack_lo, stack_hi;   /* its stack (workers) */
	char name[16];              /* the name it was given */
	char err[160];              /* why its last self-check failed, "" if it passed */
} __attribute__((aligned(64)));

static struct slot slots[MAX_THREADS];
static _Atomic uint64_t total;          /* every step of every thread, once */
static _Atomic uint64_t pause_gen;      /* bumped for each pause */
static _Atomic int pausing;             /* set while the main thread checks */
static uint64_t last_seen[MAX_THREADS]; /* counts at the end of the last verify */
static unsigned verifies;               /* verifications done, restores included */
static long nthreads;
static pthread_barrier_t started;
static volatile sig_atomic_t verify_requested;
static const char *results;
#define report(...) report_to(results, __VA_ARGS__)
static __thread long my_index = -1;     /* in TLS: fs_base must be this thread's */

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}


static void sleep_ns(long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Thread i's name: three shapes, the longest a comm can hold (15) among them. */
static void name_of(long i, char *buf, size_t len)
{
	unsigned u = (unsigned)i % 1000u;   /* i < MAX_THREADS anyway */

	switch (u % 3) {
	case 0: snprintf(buf, len, "cnt-%u", u); break;
	case 1: snprintf(buf, len, "w %u:x", u); break;
	default: snprintf(buf, len, "thread%09u", u); break;
	}
}

/* Run by each thread on itself while it is paused, all its steps done. */
static void self_check(long i, uint64_t mine, const void *on_stack)
{
	struct slot *s = &slots[i];
	uint64_t count = atomic_load(&s->count);
	pid_t tid = gettid();
	char comm[64] = "", path[64], want[sizeof(s->name)];
	int fd;
	ssize_t n;

	s->err[0] = '\0';
	if (my_index != i)
		snprintf(s->err, sizeof(s->err), "TLS says index %ld (fs_base of another thread?)", my_index);
	else if (tid != s->tid)
		snprintf(s->err, sizeof(s->err), "gettid() is %d, was %d", (int)tid, (int)s->tid);
	else if (!pthread_equal(pthread_self(), s->self))
		snprintf(s->err, sizeof(s->err), "pthread_self() changed");
	else if (mine != count)
		snprintf(s->err, sizeof(s->err), "its local count %" PRIu64 " != its slot %" PRIu64
			 " (registers and memory from different instants)", mine, count);
	else if (i > 0 && ((uintptr_t)on_stack < s->stack_lo || (uintptr_t)on_stack >= s->stack_hi))
		snprintf(s->err, sizeof(s->err), "runs on stack %p, outside its own %#lx-%#lx",
			 on_stack, (unsigned long)s->stack_lo, (unsigned long)s->stack_hi);
	if (s->err[0] || i == 0)
		return;
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;
	if (fd >= 0)
		close(fd);
	comm[n > 0 ? n : 0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	memcpy(want, s->name, sizeof(want));
	want[sizeof(want) - 1] = '\0';
	if (strcmp(comm, want) != 0)
		snprintf(s->err, sizeof(s->err), "its comm is '%.20s', not '%s'", comm, want);
}

/* One step, then the pause if one is asked for. */
static void step(long i, uint64_t *mine)
{
	volatile unsigned burn = 0;
	uint64_t g;

	if (atomic_load(&pausing)) {
		g = atomic_load(&pause_gen);
		if (atomic_load(&slots[i].acked) != g) {
			self_check(i, *mine, &g);
			atomic_store(&slots[i].acked, g);
		}
		while (atomic_load(&pausing))
			sleep_ns(100 * 1000);
	}
	(*mine)++;
	atomic_store_explicit(&slots[i].count, *mine, memory_order_relaxed);
	/* Half of the time between the two halves of the step: a checkpoint
	 * catches about half the threads here, asleep or spinning, and the
	 * restored thread must finish the step exactly once. */
	for (int k = 0; k < 1000; k++)
		burn += (unsigned)k;
	sleep_ns(500 * 1000);
	atomic_fetch_add(&total, 1);
	for (int k = 0; k < 1000; k++)
		burn += (unsigned)k;
	sleep_ns(500 * 1000);
}

static void *worker(void *arg)
{
	long i = (long)arg;
	struct slot *s = &slots[i];
	pthread_attr_t attr;
	void *stack;
	size_t size;
	uint64_t mine = 0;

	my_index = i;
	s->tid = gettid();
	s->self = pthread_self();
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &stack, &size);
		s->stack_lo = (uintptr_t)stack;
		s->stack_hi = (uintptr_t)stack + size;
		pthread_attr_destroy(&attr);
	}
	name_of(i, s->name, sizeof(s->name));
	prctl(PR_SET_NAME, s->name, 0, 0, 0);
	pthread_barrier_wait(&started);
	for (;;)
		step(i, &mine);
	return NULL;
}

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int fail(const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report("FAIL verify %u: %s", verifies, msg);
	return -1;
}

/* Every worker still advances: up to 2 s for one step each, 200 ms at least. */
static int check_advancing(uint64_t *before)
{
	long long start = now_ns(), waited;
	long i;

	for (i = 1; i < nthreads; i++) {
		before[i] = atomic_load(&slots[i].count);
		if (before[i] < last_seen[i])
			return fail("thread %ld (tid %d) count went back from %" PRIu64 " to %" PRIu64,
				    i, (int)slots[i].tid, last_seen[i], before[i]);
	}
	sleep_ns(200 * 1000 * 1000);
	for (i = 1; i < nthreads; i++) {
		while (atomic_load(&slots[i].count) <= before[i]) {
			waited = now_ns() - start;
			if (waited > 2000LL * 1000 * 1000)
				return fail("thread %ld (tid %d) stuck at %" PRIu64 " for %.2f s", i,
					    (int)slots[i].tid, before[i], waited / 1e9);
			sleep_ns(10 * 1000 * 1000);
		}
	}
	return 0;
}

/* Pause every worker after a whole step; they check themselves meanwhile. */
static int check_paused(uint64_t *sum_out)
{
	uint64_t g = atomic_load(&pause_gen) + 1, sum = 0, t, c;
	long long start = now_ns();
	long i;
	int e = 0;

	atomic_store(&pause_gen, g);
	atomic_store(&pausing, 1);
	for (i = 1; i < nthreads && e == 0; i++)
		while (atomic_load(&slots[i].acked) != g) {
			if (now_ns() - start > 5000LL * 1000 * 1000) {
				e = fail("thread %ld (tid %d) did not pause in 5 s", i, (int)slots[i].tid);
				break;
			}
			sleep_ns(1000 * 1000);
		}
	for (i = 1; i < nthreads && e == 0; i++)
		if (slots[i].err[0])
			e = fail("thread %ld (tid %d, %s): %s", i, (int)slots[i].tid, slots[i].name,
				 slots[i].err);
	if (e == 0) {
		t = atomic_load(&total);
		for (i = 0; i < nthreads; i++) {
			c = atomic_load(&slots[i].count);
			sum += c;
			if (c < last_seen[i] && e == 0)
				e = fail("thread %ld count went back from %" PRIu64 " to %" PRIu64, i,
					 last_seen[i], c);
			last_seen[i] = c;
		}
		if (e == 0 && sum != t)
			e = fail("total is %" PRIu64 " but the threads' counts add up to %" PRIu64
				 " (%+" PRId64 "): a step lost or done twice", t, sum, (int64_t)(sum - t));
	}
	*sum_out = sum;
	atomic_store(&pausing, 0);
	return e;
}

static void verify(uint64_t mine)
{
	uint64_t before[MAX_THREADS], sum = 0, min = UINT64_MAX;
	int tasks;

	verifies++;
	tasks = count_tasks();
	if (tasks != nthreads) {
		fail("%d threads in /proc/self/task, want %ld", tasks, nthreads);
		return;
	}
	if (gettid() != getpid() || gettid() != slots[0].tid || my_index != 0) {
		fail("main thread: gettid %d, getpid %d, was %d, TLS index %ld", (int)gettid(),
		     (int)getpid(), (int)slots[0].tid, my_index);
		return;
	}
	if (mine != atomic_load(&slots[0].count)) {
		fail("main thread: local count %" PRIu64 " != its slot %" PRIu64, mine,
		     atomic_load(&slots[0].count));
		return;
	}
	if (check_advancing(before) < 0 || check_paused(&sum) < 0)
		return;
	for (long i = 0; i < nthreads; i++)
		if (last_seen[i] < min)
			min = last_seen[i];
	report("OK verify %u: %ld threads alive and advancing, total %" PRIu64
	       " == sum of counts, smallest count %" PRIu64, verifies, nthreads, sum, min);
}

/* Usage: restore_threads RESULTS N [NAME]: N threads in all (2..128), main
 * included; NAME, if given, is the main thread's (and so the process's) name. */
int main(int argc, char **argv)
{
	struct sigaction sa;
	uint64_t mine = 0;

	if (argc < 3 || argc > 4 || (nthreads = strtol(argv[2], NULL, 10)) < 2 || nthreads > MAX_THREADS) {
		fprintf(stderr, "usage: restore_threads RESULTS N (2..%d) [NAME]\n", MAX_THREADS);
		return 2;
	}
	if (argc == 4)
		prctl(PR_SET_NAME, argv[3], 0, 0, 0);
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	results = argv[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	my_index = 0;
	slots[0].tid = gettid();
	slots[0].self = pthread_self();
	pthread_barrier_init(&started, NULL, (unsigned)nthreads);
	for (long i = 1; i < nthreads; i++) {
		pthread_t t;
		pthread_attr_t attr;

		/* Small stacks: 100 threads of 8 MiB each are no harder, only bigger. */
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		if (pthread_create(&t, &attr, worker, (void *)i) != 0) {
			fprintf(stderr, "restore_threads: pthread_create of thread %ld failed\n", i);
			return 1;
		}
		pthread_attr_destroy(&attr);
	}
	pthread_barrier_wait(&started);   /* every worker has its tid and name */
	printf("READY pid=%d n=%ld counts=%p stride=%zu total=%p tids=", (int)getpid(), nthreads,
	       (void *)&slots[0].count, sizeof(struct slot), (void *)&total);
	for (long i = 0; i < nthreads; i++)
		printf("%s%d", i ? "," : "", (int)slots[i].tid);
	printf("\n");
	fflush(stdout);

	for (;;) {
		if (verify_requested) {
			verify_requested = 0;
			verify(mine);
		}
		step(0, &mine);
	}
}
